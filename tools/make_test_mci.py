#!/usr/bin/env python3
"""Write a valid .mci test file (docs/mci-format.md) with random networks, no numpy needed.

Usage:
  python3 tools/make_test_mci.py out.mci [--mesh tiny|vessel|none] [--arch coordnetb|coordnet|siren]
                                 [--width 16] [--clusters 3] [--split] [--pe 2] [--seed 1]
                                 [--reference ref.txt [--ref-points 50]]
                                 [--encoding f32|f16|int8] [--compress-nets]
                                 [--residual-predicted REF | --residual-linear REF [--plane [--blend [--quadratic]]] [--anchor]]

The model has the vessel-small variables (velocity(3), pressure, temperature, tracer), its 12
time steps, and one small random network per leaf of the cluster tree. `--mesh vessel` embeds
the real vessel-small mesh (read from /work/shared/datasets/vessel-small/vessel_0000.vtu with
plain zlib; 33k points, 159k tets); `--mesh tiny` embeds a synthetic 2×2×2-cube tet mesh.
The networks are random (SIREN initialisation), so the decoded values are smooth noise within
roughly the stored ranges: good for plumbing tests, not for accuracy.

`--encoding` stores the weights as float32 (format 1.0), float16 or int8 per row (1.1), and
`--compress-nets` stores NETS zlib-compressed (section flag bit 1, 1.1); the reference values
then use the weights as the file stores them (dequantised here, independently of the decoder).

`--residual-predicted REF` adds a RESIDUAL section of type 7 (format 1.2): random indices
coded as differences from a mix of predictors (time, mesh neighbours, both, none),
zstd-compressed through ctypes on the system libzstd (no pip module) or range-coded (coders 1
and 2 by turns, this file's own LZMA-style encoder, checked by its own decoder). It writes the expected index
or escaped value of every point of every step and component to REF (`t c i q INDEX`,
`t c i d INDEX` for a data stream, or `t c i e VALUE`), computed with its own reconstruction
here, independent of the C decoder. (Type 6, the RESIDUAL of format 1.1, is retired: no
writer produced it, and decoders reject it.) `--mesh grid` embeds a
4×4×4-point tet grid plus cells that test the neighbour rule (a 1-point cell, a 40-point
cell, a 65-point cell, a cell with a repeated point).

`--residual-linear REF` adds a RESIDUAL section of type 7 that uses the linear predictor
(predictor bit 3, format 1.4: seven Q12 weights per stream over the point's indices at the
last three steps of its chain and its neighbours' sums) besides the time and mesh predictors:
chains of linear streams with and without the time bit, with the data bit, after non-linear
steps (one of them an empty stream that repeats the previous step), with escapes, weights at
±2^20, and linear streams whose codes are empty (28 bytes: the weights alone); zstd and range
coder. REF lists the indices as for --residual-predicted, from this file's own reconstruction.
With `--plane` (format 1.6) the linear streams of components 0, 2, 3 and 5 also set the plane
bit (predictor bit 4): their neighbour terms are the least-squares plane through the earlier
neighbours at the point, with Q16 weights this file computes from the spec alone
(plane_weights), so a decoder that rounds differently reconstructs other indices. With
`--blend` too (format 1.7) those of components 0 and 3 set the blend bit (predictor bit 5),
and with `--quadratic` too (format 1.8) those of component 3 the quadratic bit (predictor bit 6),
with supports and Q16 weights this file computes from the spec alone (quadratic_support).
With `--anchor` (format 1.9) the time + linear streams of block 0 of components 0, 2, 3, 4 and 5
(ANCHOR_COMPONENTS, combined with whichever of the above are on) set the anchor bit (predictor
bit 7): their level h3 is step 8 of the component, with random non-zero w3 and v3 (not in
EXTREME_WEIGHTS) at any chain position.
`--plane-weights OUT` writes those weights for every point of the file's mesh (the C tests
compare them with the C decoder's on vessel-small's float32 geometry).

`--range-streams DIR` writes, for the file's mesh, the crafted range-coded streams the C tests
build hostile and extreme RESIDUAL payloads from (range_stream_cases: one NAME.rc each), so the
C tests need no range encoder of their own.

`--hostile KIND [--hostile-size N]` writes a hostile file instead: small, and valid except
for what KIND names, but asking a reader for far more memory or work than its size (nested
compression, RESIDUAL chains without restarts or whose validation work is out of proportion,
compressed weights or trees that inflate enormously, an overflowing bounding box; the list:
HOSTILE_KINDS). The C, CLI and ParaView tests check that each is answered within bounded time
and memory (docs/mci-format.md, "Limits").

`--reference` also writes decoded values computed here by a naive double-precision evaluation
(an implementation independent of the C decoder), one point per line:
`x y z t v_0 ... v_{C-1}` (17 significant digits), at random points of the bounding box
(plus the mesh points first, when there is a mesh) and random times.
"""
import argparse
import json
import math
import random
import re
import struct
import zlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # mesh_codec.py

MAGIC = b"MCINR\x00\r\n"
META, JSON, TREE, NETS, MESH, RESIDUAL_PREDICTED, MESHC, MESHX, NEIGHBOURS = 1, 2, 3, 4, 5, 7, 8, 10, 11  # 6 is retired
VESSEL = "/work/shared/datasets/vessel-small"
VESSEL_TIMES = [10.0 * (i + 1) / 3.0 for i in range(12)]
VARIABLES = [("velocity", 3), ("pressure", 1), ("temperature", 1), ("tracer", 1)]
RANGES = [(-1.4, 1.4), (-1.4, 1.4), (-1.4, 1.4), (0.42, 360.6), (0.446, 1.0), (0.0, 8.84e-5)]
SINE, RESBLOCK, LINEAR = 1, 2, 3
TET = 10


def read_vtu_appended(path):
    """Points (f32 list), connectivity, offsets, types of a raw-appended zlib VTU (UInt64 header)."""
    data = open(path, "rb").read()
    marker = data.index(b'<AppendedData encoding="raw">')
    base = data.index(b"_", marker) + 1
    head = data[:marker].decode("utf-8", "replace")

    def block(name):
        m = re.search(r'<DataArray type="(\w+)"[^>]*Name="%s"[^>]*offset="(\d+)"' % name, head)
        kind, off = m.group(1), base + int(m.group(2))
        n, bs, last = struct.unpack_from("<QQQ", data, off)
        sizes = struct.unpack_from("<%dQ" % n, data, off + 24)
        pos, raw = off + 24 + 8 * n, b""
        for s in sizes:
            raw += zlib.decompress(data[pos:pos + s])
            pos += s
        fmt = {"Float32": "f", "Float64": "d", "Int32": "i", "Int64": "q", "UInt8": "B"}[kind]
        return list(struct.unpack("<%d%s" % (len(raw) // struct.calcsize(fmt), fmt), raw))

    return block("Points"), block("connectivity"), block("offsets"), block("types")


def tet_block(n):
    """An (n−1)³ block of unit cubes on [0,n−1]³ (n³ points), each cube split into 6 tets."""
    pts = []
    for k in range(n):
        for j in range(n):
            for i in range(n):
                pts += [float(i), float(j), float(k)]
    idx = lambda i, j, k: i + n * (j + n * k)
    conn, offs, types = [], [], []
    for k in range(n - 1):
        for j in range(n - 1):
            for i in range(n - 1):
                c = [idx(i + (v & 1), j + ((v >> 1) & 1), k + (v >> 2)) for v in range(8)]
                for t in ((0, 1, 3, 7), (0, 1, 5, 7), (0, 2, 3, 7), (0, 2, 6, 7), (0, 4, 5, 7), (0, 4, 6, 7)):
                    conn += [c[v] for v in t]
                    offs.append(len(conn))
                    types.append(TET)
    return pts, conn, offs, types


def tiny_mesh():
    """A 2×2×2 block of unit cubes on [0,2]³, each cube split into 6 tets."""
    return tet_block(3)


def grid_mesh():
    """A 3×3×3 block of unit cubes on [0,3]³ (64 points), each cube split into 6 tets, plus
    cells for the type 7 neighbour rule: a VERTEX (1 point: no neighbours), a POLY_VERTEX of 40
    points (so some points have more than 32 earlier neighbours), a POLY_VERTEX of 65 entries
    (ignored: more than 64 points) and a POLYGON with a repeated point."""
    pts, conn, offs, types = tet_block(4)
    extra = [(1, [13]), (2, [(7 * a + 3) % 40 + 20 for a in range(40)]), (2, [a % 64 for a in range(65)]),
             (7, [2, 50, 2, 61])]
    for kind, cell in extra:
        conn += cell
        offs.append(len(conn))
        types.append(kind)
    return pts, conn, offs, types


def f32s(values):
    return struct.pack("<%df" % len(values), *values)


def uniform(rng, n, bound):
    return [rng.uniform(-bound, bound) for _ in range(n)]


def sine_tensors(rng, fan_in, fan_out, omega, first):
    bound = 1.0 / fan_in if first else math.sqrt(6.0 / fan_in) / omega
    return [uniform(rng, fan_out * fan_in, bound), uniform(rng, fan_out, 1.0 / math.sqrt(fan_in))]


def module(rng, kind, fan_in, fan_out, omega, first=False):
    if kind == RESBLOCK:
        t = sine_tensors(rng, fan_in, fan_out, omega, first) + sine_tensors(rng, fan_out, fan_out, omega, False)
        if fan_in != fan_out:
            t += sine_tensors(rng, fan_in, fan_out, omega, first)
    else:
        t = sine_tensors(rng, fan_in, fan_out, omega, first and kind == SINE)
    return kind, fan_in, fan_out, t


def network(rng, arch, width, pe, components, omega=30.0):
    enc = 4 * (1 + 2 * pe)
    trunk, branches = [], []
    if arch == "coordnetb":
        trunk = [module(rng, RESBLOCK, enc if i == 0 else width, width, omega, i == 0) for i in range(2)]
        for _ in range(components):
            branches.append([module(rng, RESBLOCK, width, width, omega), module(rng, LINEAR, width, 1, omega)])
    elif arch == "coordnet":
        trunk = [module(rng, RESBLOCK, enc, width, omega, True), module(rng, RESBLOCK, width, width, omega)]
        branches = [[module(rng, LINEAR, width, components, omega)]]
    else:  # siren
        trunk = [module(rng, SINE, enc if i == 0 else width, width, omega, i == 0) for i in range(3)]
        branches = [[module(rng, LINEAR, width, components, omega)]]
    return trunk, branches


ENCODINGS = {"f32": 0, "f16": 1, "int8": 2}


def encode_tensor(values, rows, encoding):
    """Stored bytes of one tensor (rows > 0: a matrix) and the float32 values a reader gets
    back (docs/mci-format.md, Weight encodings)."""
    values = [f32(v) for v in values]
    if encoding == 1:
        data = struct.pack("<%de" % len(values), *values)  # binary16, round half to even
        return data, list(struct.unpack("<%de" % len(values), data))
    if encoding == 2 and rows > 0:
        cols = len(values) // rows
        scales, qs, decoded = [], [], []
        for r in range(rows):
            row = values[r * cols:(r + 1) * cols]
            scale = f32(max(abs(v) for v in row) / 127.0)
            q = [0 if scale == 0 else max(-127, min(127, int(math.floor(abs(v) / scale + 0.5)) * (1 if v >= 0 else -1)))
                 for v in row]
            scales.append(scale)
            qs += q
            decoded += [f32(k * scale) for k in q]
        return f32s(scales) + struct.pack("<%db" % len(qs), *qs), decoded
    return f32s(values), values


def encode_module(m, encoding):
    """(kind, in, out, decoded tensors, stored bytes of the module)."""
    kind, fan_in, fan_out, tensors = m
    out = struct.pack("<BBHII", kind, encoding, 0, fan_in, fan_out)
    decoded = []
    for i, t in enumerate(tensors):
        data, values = encode_tensor(t, fan_out if i % 2 == 0 else 0, encoding)
        out += data
        decoded.append(values)
    return kind, fan_in, fan_out, decoded, out


def encode_network(net, encoding):
    trunk, branches = net
    return [encode_module(m, encoding) for m in trunk], [[encode_module(m, encoding) for m in b] for b in branches]


def pack_module(m):
    return m[4]


def pack_network(net, pe, omega, in_offset, in_scale):
    trunk, branches = net
    out = f32s(in_offset) + f32s(in_scale) + struct.pack("<If", pe, omega)
    out += struct.pack("<I", len(trunk)) + b"".join(pack_module(m) for m in trunk)
    out += struct.pack("<I", len(branches))
    for b in branches:
        out += struct.pack("<I", len(b)) + b"".join(pack_module(m) for m in b)
    return out


def pack_string(s):
    b = s.encode("utf-8")
    return struct.pack("<H", len(b)) + b


def build(args):
    rng = random.Random(args.seed)
    if args.mesh == "vessel":
        pts, conn, offs, types = read_vtu_appended(VESSEL + "/vessel_0000.vtu")
    elif args.mesh == "tiny":
        pts, conn, offs, types = tiny_mesh()
    elif args.mesh == "grid":
        pts, conn, offs, types = grid_mesh()
    elif args.mesh == "block":
        pts, conn, offs, types = tet_block(21)
    else:
        pts, conn, offs, types = [], [], [], []
    if pts:
        bmin = [min(pts[i::3]) for i in range(3)]
        bmax = [max(pts[i::3]) for i in range(3)]
    else:
        bmin, bmax = [0.0, 0.0, 0.0], [2.0, 2.0, 2.0]
    npts, ncells = len(pts) // 3, len(offs)
    C = sum(c for _, c in VARIABLES)
    T = len(VESSEL_TIMES)

    meta = struct.pack("<I", len(VARIABLES))
    for name, comps in VARIABLES:
        meta += pack_string(name) + struct.pack("<I", comps)
    meta += struct.pack("<I", C) + b"".join(struct.pack("<dd", lo, hi) for lo, hi in RANGES)
    meta += struct.pack("<I", T) + struct.pack("<%dd" % T, *VESSEL_TIMES)
    meta += struct.pack("<3d", *bmin) + struct.pack("<3d", *bmax)
    meta += struct.pack("<dd", VESSEL_TIMES[0], VESSEL_TIMES[-1])
    meta += struct.pack("<QQQ", npts, ncells, npts * T * C * 4)

    # Cluster tree: K random top-level centroids in normalised space; with --split node 0 splits.
    K = args.clusters
    nodes = [[[rng.uniform(-0.8, 0.8) for _ in range(3)], -1, -1, -1, -1] for _ in range(K)]
    if args.split:
        c = nodes[0][0]
        for d in (-0.2, 0.2):
            nodes.append([[c[0] + d, c[1], c[2]], 0, -1, -1, -1])
        nodes[0][2], nodes[0][3] = K, K + 1
    leaves = [i for i, n in enumerate(nodes) if n[2] < 0]
    for net_index, i in enumerate(leaves):
        nodes[i][4] = net_index
    tree = struct.pack("<II", len(nodes), K)
    for cen, parent, c0, c1, net in nodes:
        tree += struct.pack("<3diiii", *cen, parent, c0, c1, net)

    nets = struct.pack("<I", len(leaves))
    networks = []
    encoding = ENCODINGS[args.encoding]
    for _ in leaves:
        net = encode_network(network(rng, args.arch, args.width, args.pe, C), encoding)
        offset = [rng.uniform(-0.1, 0.1) for _ in range(4)]
        scale = [rng.uniform(0.9, 1.1) for _ in range(4)]
        nets += pack_network(net, args.pe, 30.0, offset, scale)
        networks.append((net, args.pe, 30.0, [f32(v) for v in offset], [f32(v) for v in scale]))

    meta_json = json.dumps({"creator": "tools/make_test_mci.py", "method": "random " + args.arch,
                            "architecture": {"width": args.width, "pe": args.pe},
                            "training": {}, "metrics": {}, "seed": args.seed})
    if args.compress_nets:  # flag bit 1: u64 size + zlib stream
        nets_section = (NETS, 1 | 2, struct.pack("<Q", len(nets)) + zlib.compress(nets, 9))
    else:
        nets_section = (NETS, 1, nets)
    sections = [(META, 1, meta), (JSON, 0, meta_json.encode("utf-8")), (TREE, 1, tree), nets_section]
    if pts and getattr(args, "mesh_cells", None) is not None:  # the first K cells; every point kept
        k = args.mesh_cells
        conn, offs, types = conn[:offs[k - 1] if k else 0], offs[:k], types[:k]
        ncells = k
    if pts and getattr(args, "mesh_f64", False):  # full-mantissa doubles (the reference uses them too)
        pts = [v + 1e-3 * math.sin(1.7 * i + 0.3) for i, v in enumerate(pts)]
    if pts and getattr(args, "mesh_coding", "zlib") == "meshc":
        sections.append((MESHC, 1, meshc_payload(args, pts, conn, offs, types)))
        if getattr(args, "mesh_index", None):
            import mesh_codec
            sections.append((MESHX, 0, mesh_codec.index_section(sections[-1][2], args.mesh_index)))
    elif pts:
        wide = getattr(args, "mesh_f64", False)
        body = struct.pack("<QB7x", npts, 2 if wide else 1)
        body += struct.pack("<%dd" % len(pts), *pts) if wide else f32s(pts)
        body += struct.pack("<QQ", ncells, len(conn)) + bytes(types)
        body += struct.pack("<%dQ" % ncells, *offs) + struct.pack("<%dI" % len(conn), *conn)
        sections.append((MESH, 0, struct.pack("<Q", len(body)) + zlib.compress(body, 6)))
    if args.residual_predicted:
        if not pts:
            raise SystemExit("--residual-predicted needs a mesh")
        payload = predicted_residual_payload(rng, npts, T, C, residual_neighbours(args, npts, conn, offs),
                                             args.residual_predicted)
        sections.append((RESIDUAL_PREDICTED, 1, payload))
    if getattr(args, "anchor", False) and not getattr(args, "residual_linear", None):
        raise SystemExit("--anchor needs --residual-linear")
    if getattr(args, "residual_linear", None):
        if not pts or args.residual_predicted:
            raise SystemExit("--residual-linear needs a mesh and excludes --residual-predicted")
        points = [tuple(f32(v) if not getattr(args, "mesh_f64", False) else v for v in pts[3 * i:3 * i + 3])
                  for i in range(npts)]  # as the file stores them
        payload = linear_residual_payload(rng, npts, T, C, residual_neighbours(args, npts, conn, offs), args.residual_linear,
                                          points if getattr(args, "plane", False) else None,
                                          getattr(args, "blend", False), getattr(args, "quadratic", False),
                                          getattr(args, "anchor", False))
        sections.append((RESIDUAL_PREDICTED, 1, payload))
    if getattr(args, "neighbours", None):
        if not 1 <= args.neighbours <= 32:
            raise SystemExit("--neighbours takes 1 ... 32")
        if any(k == RESIDUAL_PREDICTED for k, _, _ in sections):
            sections.append((NEIGHBOURS, 1, struct.pack("<I", args.neighbours)))
        elif not getattr(args, "plane_weights", None):
            raise SystemExit("--neighbours needs a residual or --plane-weights")
    if getattr(args, "plane_weights", None):
        if not pts:
            raise SystemExit("--plane-weights needs a mesh")
        points = [tuple(f32(v) if not getattr(args, "mesh_f64", False) else v for v in pts[3 * i:3 * i + 3])
                  for i in range(npts)]
        all_nb = [sorted(nb) for nb in residual_neighbours(args, npts, conn, offs)]
        with open(args.plane_weights, "w") as out:
            for i, nb in enumerate(all_nb):
                out.write(" ".join(map(str, [i, len(nb)] + nb + (plane_weights(points, i, nb) if nb else []))) + "\n")
        if getattr(args, "quadratic_support", None):
            with open(args.quadratic_support, "w") as out:
                for i, (ids, V) in enumerate(quadratic_support(points, all_nb)):
                    out.write(" ".join(map(str, [i, len(ids)] + ids + V)) + "\n")
    if args.range_streams:
        if not pts:
            raise SystemExit("--range-streams needs a mesh")
        write_range_streams(args.range_streams, npts, residual_neighbours(args, npts, conn, offs))
    if args.reference:
        model = (bmin, bmax, (VESSEL_TIMES[0], VESSEL_TIMES[-1]), nodes, K, networks)
        write_reference(args, rng, model, pts)
    minor = 2 if args.residual_predicted else 1 if encoding != 0 or args.compress_nets else 0
    if any(k == MESHC for k, _, _ in sections):
        minor = 3
    if getattr(args, "residual_linear", None):
        minor = 9 if getattr(args, "anchor", False) else 8 if getattr(args, "quadratic", False) else 7 if getattr(args, "blend", False) else 6 if getattr(args, "plane", False) else 4
    if any(k == MESHX for k, _, _ in sections):
        minor = 5
    if any(k == NEIGHBOURS for k, _, _ in sections):
        minor = 10
    if any(k == RESIDUAL_PREDICTED and residual_uses_coder2(payload) for k, _, payload in sections):
        minor = 11
    return container(sections, minor)


def residual_uses_coder2(payload):
    """Whether a RESIDUAL payload has a non-empty stream of coder 2 (format 1.11)."""
    n, T, C = struct.unpack_from("<QII", payload, 0)
    table = 16 + 16 * C
    return any(payload[table + 24 * k + 1] == 2 and struct.unpack_from("<Q", payload, table + 24 * k + 16)[0] > 0
               for k in range(T * C))


def meshc_payload(args, pts, conn, offs, types):
    """The MESHC section (type 8, format 1.3) of the mesh, coded by tools/mesh_codec.py (the
    reference coder, written from the spec); with --mesh-dump, also its decoded chunks as text
    (mesh_codec.dump_chunks), which the C tests compare the C decoder with."""
    import mesh_codec
    wide = getattr(args, "mesh_f64", False)
    P = [pts[3 * i:3 * i + 3] for i in range(len(pts) // 3)]
    payload = mesh_codec.encode_section(P, 64 if wide else 32, list(types), [0] + list(offs), list(conn),
                                        args.chunk_cells)
    if args.mesh_dump:
        with open(args.mesh_dump, "w") as f:
            mesh_codec.dump_chunks(payload, f)
    return payload


def varint(u):
    out = bytearray()
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


def residual_bounds():
    bounds = []
    for lo, hi in RANGES:
        e = 0.01 * (hi - lo) if hi > lo else 1.0
        bounds.append((e, 2.0 * e * (1.0 - 1.0 / 64.0)))
    return bounds


def zigzag_code(d):
    """The varint of a signed value d: zigzag(d) + 1 (0 is the escape)."""
    return varint((2 * d if d >= 0 else -2 * d - 1) + 1)


def zstd_compress(data, level=19):
    """One zstd frame (with its content size) by the system libzstd, through ctypes."""
    import ctypes
    lib = ctypes.CDLL("libzstd.so.1")
    lib.ZSTD_compressBound.restype = ctypes.c_size_t
    lib.ZSTD_compressBound.argtypes = [ctypes.c_size_t]
    lib.ZSTD_compress.restype = ctypes.c_size_t
    lib.ZSTD_compress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
    lib.ZSTD_isError.restype = ctypes.c_uint
    lib.ZSTD_isError.argtypes = [ctypes.c_size_t]
    cap = lib.ZSTD_compressBound(len(data))
    out = ctypes.create_string_buffer(cap)
    n = lib.ZSTD_compress(out, cap, data, len(data), level)
    if lib.ZSTD_isError(n):
        raise SystemExit("ZSTD_compress failed")
    return out.raw[:n]


# ---- The independent reference implementation of docs/mci-format.md, RESIDUAL type 7 ----
# The neighbour rule Nb(i), the prediction and reconstruction of the indices (below) and the
# range coder (further below) are written from the spec alone, sharing no code with the two
# production copies (the C decoder, CShim/src/residual.c, and the Swift writer,
# Sources/MCIFormat/Residual). They are the oracle both are tested against: the C tests read
# the files, index lists (REF) and crafted range-coded streams (--range-streams) made here, and
# the C tests hold no copy of these rules. Keep them independent: change them only to follow
# the spec.


def neighbours(npts, conn, offs):
    """Nb(i) (docs/mci-format.md, type 7): the points j < i sharing a cell of 2 ... 64 points
    with i, the 32 largest if more. Here from every pair of each cell (the C decoder goes
    through the point-to-cell incidence)."""
    sets = [set() for _ in range(npts)]
    start = 0
    for end in offs:
        cell = conn[start:end]
        if 2 <= len(cell) <= 64:
            for a in cell:
                for b in cell:
                    if a < b:
                        sets[b].add(a)
        start = end
    return [sorted(s, reverse=True)[:32] for s in sets]


def extend_neighbours(nb, least, npts, conn, offs):
    """Nb′ (docs/mci-format.md, type 11 NEIGHBOURS, format 1.10): a list of Nb with fewer than
    `least` entries takes the earlier points one neighbour step further, j < i in Nb(m) for
    every m sharing a cell of 2 ... 64 points with i; the 32 largest. From the lists of Nb
    (descending, as neighbours() gives them) and the cells, by sets: a second implementation
    beside the C decoder's."""
    ring = [set() for _ in range(npts)]  # every point sharing such a cell, i itself included
    start = 0
    for end in offs:
        cell = conn[start:end]
        if 2 <= len(cell) <= 64:
            for a in cell:
                ring[a].update(cell)
        start = end
    out = []
    for i, lst in enumerate(nb):
        if len(lst) >= least:
            out.append(list(lst))
            continue
        found = set(lst)
        for m in ring[i]:
            found.update(j for j in nb[m] if j < i)
        out.append(sorted(found, reverse=True)[:32])
    return out


def residual_neighbours(args, npts, conn, offs):
    """Nb, or Nb′ with --neighbours K."""
    nb = neighbours(npts, conn, offs)
    return extend_neighbours(nb, args.neighbours, npts, conn, offs) if getattr(args, "neighbours", None) else nb


def predict_mean(ys, nb):
    """Mean of the neighbours' y, rounded half away from zero, in exact integers."""
    if not nb:
        return 0
    total, k = sum(ys[j] for j in nb), len(nb)
    return (2 * total + k) // (2 * k) if total >= 0 else -((-2 * total + k) // (2 * k))


def encode_step(predictor, qs, escaped, previous, nb):
    """The codes (d, or None for an escape) of one step's indices qs."""
    ys, codes = [], []
    for i, q in enumerate(qs):
        base = previous[i] if predictor & 1 else 0
        if escaped[i]:
            ys.append(-base)
            codes.append(None)
            continue
        y = q - base
        codes.append(y - (predict_mean(ys, nb[i]) if predictor & 2 else 0))
        ys.append(y)
    return codes


def reconstruct_step(predictor, codes, previous, nb):
    """The indices of one step from its codes: the decoder's side of encode_step."""
    ys, qs = [], []
    for i, d in enumerate(codes):
        base = previous[i] if predictor & 1 else 0
        if d is None:
            ys.append(-base)
            qs.append(0)
            continue
        y = d + (predict_mean(ys, nb[i]) if predictor & 2 else 0)
        ys.append(y)
        qs.append(base + y)
    return qs


# Range coders (docs/mci-format.md, type 7, "Range coder (coder 1)" and "Range coder with sign
# and occupancy contexts (coder 2)"): LZMA's binary range coder with the binarisation of one
# value (unary exponent, mantissa, sign) and the contexts from the earlier neighbours'
# differences. Part of the independent reference implementation (see above): written from the
# spec, independently of the C decoder and the Swift writer.
RC_EXPONENT_BITS = 34  # 34 ones: an escape
RC_CONTEXTS = 16
RC2_OCCUPANCY, RC2_SIGNS = 4, 5


class Probability:
    """An adaptive probability of a 0: coder 1 in 2^-11, moved by 1/32; coder 2 in 2^-15 with
    the count n of its updates (shift n + 1 for the first four, then 5)."""
    __slots__ = ("p", "n", "coder")

    def __init__(self, coder):
        self.coder, self.n = coder, 0
        self.p = 1024 if coder == 1 else 1 << 14

    def units(self):
        return 11 if self.coder == 1 else 15

    def update(self, b):
        shift = 5 if self.coder == 1 else self.n + 1
        top = 1 << self.units()
        self.p = self.p - (self.p >> shift) if b else self.p + ((top - self.p) >> shift)
        if self.coder == 2:
            self.n = min(self.n + 1, 4)


class RangeEncoder:
    """LZMA's range encoder: `low` as a Python int (33 bits), the cache byte and the count of
    pending bytes for the carry, 5 flushing shifts."""

    def __init__(self, coder=1):
        self.low, self.range, self.cache, self.cache_size = 0, 0xFFFFFFFF, 0, 1
        self.coder, self.out = coder, bytearray()

    def shift_low(self):
        if self.low < 0xFF000000 or self.low >= 1 << 32:
            carry = self.low >> 32
            temp = self.cache
            while True:
                self.out.append((temp + carry) & 0xFF)
                temp = 0xFF
                self.cache_size -= 1
                if self.cache_size == 0:
                    break
            self.cache = (self.low >> 24) & 0xFF
        self.cache_size += 1
        self.low = (self.low & 0x00FFFFFF) << 8

    def code(self, bound, b):
        if b == 0:
            self.range = bound
        else:
            self.low += bound
            self.range -= bound
        while self.range < 1 << 24:
            self.range = (self.range << 8) & 0xFFFFFFFF
            self.shift_low()

    def adaptive(self, prob, b):
        """Codes bit b with the adaptive probability prob (a Probability), updated."""
        self.code((self.range >> prob.units()) * prob.p, b)
        prob.update(b)

    def bit(self, probs, at, b):
        """Codes bit b with the coder-1 probability probs[at] (of a 0, in 2^-11): the MESHC
        chunks' bits (tools/mesh_codec.py)."""
        prob = Probability(1)
        prob.p = probs[at]
        self.adaptive(prob, b)
        probs[at] = prob.p

    def fixed(self, b):
        units = 11 if self.coder == 1 else 15
        self.code((self.range >> units) << (units - 1), b)

    def finish(self):
        for _ in range(5):
            self.shift_low()
        return bytes(self.out)


class RangeDecoder:
    """The decoder of the spec, to check every stream the generator writes."""

    def __init__(self, data, coder=1):
        if len(data) < 5 or data[0] != 0:
            raise ValueError("bad range coder start")
        self.data, self.pos, self.range, self.coder = data, 5, 0xFFFFFFFF, coder
        self.code = int.from_bytes(data[1:5], "big")

    def decode(self, bound):
        if self.code < bound:
            self.range, b = bound, 0
        else:
            self.code -= bound
            self.range -= bound
            b = 1
        while self.range < 1 << 24:  # coder 1: at most once; coder 2: up to twice
            if self.pos >= len(self.data):
                raise ValueError("read past the end")
            self.range = (self.range << 8) & 0xFFFFFFFF
            self.code = ((self.code << 8) | self.data[self.pos]) & 0xFFFFFFFF
            self.pos += 1
        return b

    def adaptive(self, prob):
        b = self.decode((self.range >> prob.units()) * prob.p)
        prob.update(b)
        return b

    def bit(self, probs, at):
        """A bit with the coder-1 probability probs[at] (the MESHC chunks')."""
        prob = Probability(1)
        prob.p = probs[at]
        b = self.adaptive(prob)
        probs[at] = prob.p
        return b

    def fixed(self):
        units = 11 if self.coder == 1 else 15
        return self.decode((self.range >> units) << (units - 1))


def rc_tables(coder):
    """X[κ][ν][34], M[34][3], G[κ][σ], every probability 1/2 (ν, σ: one level with coder 1)."""
    nu, sigma = (1, 1) if coder == 1 else (RC2_OCCUPANCY, RC2_SIGNS)
    return ([[[Probability(coder) for _ in range(RC_EXPONENT_BITS)] for _ in range(nu)] for _ in range(RC_CONTEXTS)],
            [[Probability(coder) for _ in range(3)] for _ in range(RC_EXPONENT_BITS)],
            [[Probability(coder) for _ in range(sigma)] for _ in range(RC_CONTEXTS)])


def rc_context(nb_i, ds, coder):
    """(κ, ν, σ) of a point from the differences ds of its earlier neighbours (escapes 0): κ = 0
    without any, else 1 + min(bit_length(⌊4A/k⌋), 14); coder 2 also ν (none, under half, half
    or more, all non-zero) and σ (sum of signs 0, 1, ≥ 2, −1, ≤ −2); coder 1 ν = σ = 0."""
    if not nb_i:
        return 0, 0, 0
    k = len(nb_i)
    kappa = 1 + min((4 * sum(abs(ds[j]) for j in nb_i) // k).bit_length(), 14)
    if coder == 1:
        return kappa, 0, 0
    z = sum(1 for j in nb_i if ds[j] != 0)
    g = sum((ds[j] > 0) - (ds[j] < 0) for j in nb_i)
    nu = 0 if z == 0 else 1 if 2 * z < k else 2 if z < k else 3
    sigma = 0 if g == 0 else 1 if g == 1 else 2 if g >= 2 else 3 if g == -1 else 4
    return kappa, nu, sigma


def range_encode(codes, escapes, nb, coder=1):
    """The range-coded stream (coder 1 or 2) of one step's codes (d, or None for an escape
    whose f32 bits are escapes[i])."""
    enc, (X, M, G), ds = RangeEncoder(coder), rc_tables(coder), []
    for i, d in enumerate(codes):
        kappa, nu, sigma = rc_context(nb[i], ds, coder)
        x = X[kappa][nu]
        if d is None:
            for j in range(RC_EXPONENT_BITS):
                enc.adaptive(x[j], 1)
            for b in range(31, -1, -1):
                enc.fixed((escapes[i] >> b) & 1)
            ds.append(0)
            continue
        m = abs(d)
        e = (m + 1).bit_length() - 1
        assert e < RC_EXPONENT_BITS
        r = m + 1 - (1 << e)
        for j in range(e):
            enc.adaptive(x[j], 1)
        enc.adaptive(x[e], 0)
        bits = [(r >> (e - 1 - b)) & 1 for b in range(e)]
        for b, bit in enumerate(bits):
            if b == 0:
                enc.adaptive(M[e][0], bit)
            elif b == 1:
                enc.adaptive(M[e][1 + bits[0]], bit)
            else:
                enc.fixed(bit)
        if m > 0:
            enc.adaptive(G[kappa][sigma], 1 if d < 0 else 0)
        ds.append(d)
    return enc.finish()


def range_decode(data, npts, nb, coder=1):
    """The codes (d, or ('e', f32 bits)) of a range-coded stream; checks every byte is read."""
    dec, (X, M, G), ds, codes = RangeDecoder(data, coder), rc_tables(coder), [], []
    for i in range(npts):
        kappa, nu, sigma = rc_context(nb[i], ds, coder)
        x = X[kappa][nu]
        e = 0
        while e < RC_EXPONENT_BITS and dec.adaptive(x[e]):
            e += 1
        if e == RC_EXPONENT_BITS:
            u = 0
            for _ in range(32):
                u = (u << 1) | dec.fixed()
            codes.append(("e", u))
            ds.append(0)
            continue
        r = 0
        for b in range(e):
            bit = dec.adaptive(M[e][0]) if b == 0 else dec.adaptive(M[e][1 + r]) if b == 1 else dec.fixed()
            r = (r << 1) | bit
        m = (1 << e) + r - 1
        d = -m if m > 0 and dec.adaptive(G[kappa][sigma]) else m
        codes.append(d)
        ds.append(d)
    if dec.pos != len(data):
        raise ValueError("%d bytes left after the values" % (len(data) - dec.pos))
    return codes


F32_NAN, F32_INFINITY, F32_ONE_AND_A_HALF = 0x7FC00000, 0x7F800000, 0x3FC00000


def range_stream_cases(npts):
    """The crafted range-coded streams the C tests build hostile and extreme RESIDUAL payloads
    from (CShim/tests/test_decoder.c): name → (codes, escapes), one value per mesh point: a
    difference d, or None for an escape whose f32 bits are escapes[i]."""
    big = (1 << 31) - 1
    ramp = [i % 5 - 2 for i in range(npts)]

    def with_values(changes, escapes=None):
        codes = list(ramp)
        for i, d in changes.items():
            codes[i] = d
        return codes, escapes or {}

    return {
        "ramp": with_values({}),                                    # d = i mod 5 − 2
        "nan_at_0": with_values({0: None}, {0: F32_NAN}),           # an escape that is NaN
        "inf_at_5": with_values({5: None}, {5: F32_INFINITY}),      # an escape that is +infinity
        "d_2pow33_at_0": with_values({0: 1 << 33}),                 # exponent 33
        "d_min_at_3": with_values({3: -((1 << 34) - 2)}),           # the largest magnitude
        "big_then_1": with_values({0: big, 1: 1}),                  # 2^31 through the mesh predictor
        "all_big": ([big] * npts, {}),
        "all_minus_big": ([-big] * npts, {}),
        "escape_1_5_at_3": ([None if i == 3 else 0 for i in range(npts)], {3: F32_ONE_AND_A_HALF}),
    }


def one_probability_bits():
    """The bits of one_probability.rc2: 20 times (200 zeros, then a one), then 7 zeros."""
    return ([0] * 200 + [1]) * 20 + [0] * 7


def double_normalisation_stream():
    """one_probability_bits in coder 2 with a single adaptive probability, checked by decoding
    them back here, with at least one bit after which the range needed two shifts."""
    enc, prob = RangeEncoder(2), Probability(2)
    bits = one_probability_bits()
    for b in bits:
        enc.adaptive(prob, b)
    data = enc.finish()
    dec, prob, doubled = RangeDecoder(data, 2), Probability(2), 0
    for b in bits:
        before = dec.pos
        assert dec.adaptive(prob) == b
        doubled += dec.pos - before >= 2
    assert dec.pos == len(data) and doubled > 0
    return data


def write_range_streams(directory, npts, nb):
    """Writes each crafted stream of range_stream_cases to DIRECTORY/NAME.rc in coder 1 and
    DIRECTORY/NAME.rc2 in coder 2 (the coded bytes, checked by decoding them back here)."""
    import os
    os.makedirs(directory, exist_ok=True)
    # coder 2, one adaptive probability: runs of 0s drive it toward 2^-10 for a 1, whose bit then
    # leaves the range under 2^16, so the decoder must normalise twice (at least once here)
    data = double_normalisation_stream()
    with open(os.path.join(directory, "one_probability.rc2"), "wb") as f:
        f.write(data)
    for name, (codes, escapes) in range_stream_cases(npts).items():
        for coder, suffix in ((1, ".rc"), (2, ".rc2")):
            data = range_encode(codes, escapes, nb, coder)
            want = [("e", escapes[i]) if d is None else d for i, d in enumerate(codes)]
            assert range_decode(data, npts, nb, coder) == want, name
            with open(os.path.join(directory, name + suffix), "wb") as f:
                f.write(data)


def predicted_residual_payload(rng, npts, T, C, nb, ref_path):
    """A RESIDUAL section of type 7 (docs/mci-format.md) of random indices and escapes under a
    mix of predictors: per stream (t + c) mod 4, without the time bit at steps 0 and 8 (chains
    restart at the multiples of 8 steps); the last component with the time bit at every other
    step (chains of 8 steps, as long as the writer makes);
    some steps repeat the previous indices (time predictor, all d = 0: an empty stream), some
    are all zero (empty too). Component C − 2 is a data stream throughout (predictor bit 2).
    Non-empty streams alternate between zstd (coder 0) and the range
    coder (coder 1), empty ones carry either coder byte. Steps 0 and 1 of the last component
    take the largest differences the reconstruction allows (|d| = 2^33 − 4, range-coded): step
    0 has −(2^31 − 1) at every point but the last, which has 2^31 − 1; step 1 (predictor 3)
    the opposite, so the last point's y = −(2^32 − 2) meets a neighbour mean of 2^32 − 2."""
    big = (1 << 31) - 1
    table, streams = b"", b""
    previous = [[0] * npts for _ in range(C)]
    with open(ref_path, "w") as ref:
        for t in range(T):
            for c in range(C):
                predictor = (t + c) % 4
                if c == C - 1 and t > 0:
                    predictor |= 1
                if t == 0:
                    predictor &= 2
                x = rng.random()
                extreme = c == C - 1 and t <= 1 and npts >= 2 and nb[npts - 1]
                if extreme:
                    predictor = 3 if t == 1 else 0
                    escaped = [False] * npts
                    sign = -1 if t == 0 else 1
                    qs = [sign * big] * (npts - 1) + [-sign * big]
                elif x < 0.1 and t > 0:  # the previous step's indices again, escapes kept out
                    predictor, escaped, qs = 1, [False] * npts, list(previous[c])
                elif x < 0.2:
                    escaped, qs = [False] * npts, [0] * npts
                else:
                    escaped = [rng.random() < 0.08 for _ in range(npts)]
                    qs = []
                    for i in range(npts):
                        y = rng.random()
                        if escaped[i]:
                            qs.append(0)
                        elif y < 0.6:
                            qs.append(previous[c][i] + rng.randint(-2, 2) if abs(previous[c][i]) < 1000 else 0)
                        else:
                            qs.append(rng.choice([0, 1, -1, 3, -5, 77, -1000, 100000, big, -big, big - 1, -big + 1]))
                # component C − 2 quantises the data itself at every step (data bit, docs/mci-format.md):
                # the same reconstruction, decoded as the component's minimum + q · s
                data = c == C - 2 and not extreme
                if t % 8 == 0:  # every chain restarts at the multiples of 8 steps (as the writer does)
                    predictor &= ~1
                codes = encode_step(predictor, qs, escaped, previous[c], nb)
                assert reconstruct_step(predictor, codes, previous[c], nb) == qs
                if extreme and t == 1:
                    assert codes[npts - 1] == -(1 << 33) + 4, codes[npts - 1]
                raw = bytearray()
                escape_bits = {}
                for i, d in enumerate(codes):
                    if d is None:
                        v = f32(rng.uniform(*RANGES[c]))
                        raw += b"\0" + struct.pack("<f", v)
                        escape_bits[i] = struct.unpack("<I", struct.pack("<f", v))[0]
                        ref.write("%d %d %d e %.9g\n" % (t, c, i, v))
                    else:
                        assert abs(d) <= 1 << 33
                        raw += zigzag_code(d)
                        ref.write("%d %d %d %s %d\n" % (t, c, i, "d" if data else "q", qs[i]))
                # range-coded: odd steps, coder 1 and 2 by turns; the extremes in both
                coder = (1 + t) if extreme else ((t + 2 * c) % 2) * (1 + (t // 2 + c) % 2)
                if data:
                    predictor |= 4
                if all(d == 0 for d in codes):  # stored empty: every d = 0
                    table += struct.pack("<BB6xQQ", predictor, coder, 0, 0)
                elif coder != 0:
                    z = range_encode(codes, escape_bits, nb, coder)
                    want = [("e", escape_bits[i]) if d is None else d for i, d in enumerate(codes)]
                    assert range_decode(z, npts, nb, coder) == want
                    table += struct.pack("<BB6xQQ", predictor, coder, 0, len(z))
                    streams += z
                else:
                    z = zstd_compress(bytes(raw))
                    table += struct.pack("<BB6xQQ", predictor, 0, len(raw), len(z))
                    streams += z
                previous[c] = qs
    head = struct.pack("<QII", npts, T, C) + b"".join(struct.pack("<dd", e, s) for e, s in residual_bounds())
    return head + table + streams


# Linear predictor (docs/mci-format.md, type 7, "Linear predictor (bit 3 ...; version 1.4)"):
# part of the independent reference implementation above, written from the spec alone.
LINEAR_ONE = 4096          # Q12
LINEAR_WEIGHT_LIMIT = 1 << 20
WEIGHT_NAMES = ("w1", "w2", "w3", "v0", "v1", "v2", "v3")


def round_half_away(n, d):
    """n / d to the nearest integer, halves away from zero, in exact integers (d > 0)."""
    return (2 * n + d) // (2 * d) if n >= 0 else -((-2 * n + d) // (2 * d))


# Plane weights (docs/mci-format.md, type 7, "Plane weights", version 1.6), from the spec alone:
# Python floats are IEEE binary64 and Python never fuses a multiply-add, so the operations in
# the spec's order give the spec's integers.
PLANE_MIN_PIVOT = 2.0 ** -40


def plane_weights(points, i, nb):
    """The Q16 weights of point i over its neighbours nb (ascending)."""
    k = len(nb)
    w = plane_fit(points, i, nb) if 4 <= k <= 32 else None
    if w is None:
        w = [1.0 / k] * k
    return [q16(x) for x in w]


def spread(points, i, ids):
    """s of the plane and quadratic weights: the largest |coordinate difference| (None if 0)."""
    c = points[i]
    s = 0.0
    for j in ids:
        for a in range(3):
            d = abs(points[j][a] - c[a])
            if d > s:
                s = d
    return s if s > 0.0 and math.isfinite(s) else None


def least_squares_weights(rows, cap):
    """The spec's fit (steps 3 to 6 of "Plane weights"): solve M z = e0 for the normal
    equations of the rows, w_n = z · row_n; None if singular, not finite or Σ|w| > cap."""
    D = len(rows[0])
    M = [[0.0] * D for _ in range(D)]
    r = [1.0] + [0.0] * (D - 1)
    for row in rows:
        for a in range(D):
            for b in range(a, D):
                M[a][b] = M[a][b] + row[a] * row[b]
    for a in range(1, D):
        for b in range(a):
            M[a][b] = M[b][a]
    for col in range(D):
        p = col
        for row in range(col + 1, D):
            if abs(M[row][col]) > abs(M[p][col]):
                p = row
        if not abs(M[p][col]) > PLANE_MIN_PIVOT:
            return None
        M[p], M[col] = M[col], M[p]
        r[p], r[col] = r[col], r[p]
        for row in range(col + 1, D):
            f = M[row][col] / M[col][col]
            for e in range(col + 1, D):
                M[row][e] = M[row][e] - f * M[col][e]
            r[row] = r[row] - f * r[col]
    z = [0.0] * D
    for row in reversed(range(D)):
        v = r[row]
        for e in range(row + 1, D):
            v = v - M[row][e] * z[e]
        z[row] = v / M[row][row]
    w, total = [], 0.0
    for row in rows:
        v = z[0]
        for a in range(1, D):
            v = v + z[a] * row[a]
        if not math.isfinite(v):
            return None
        w.append(v)
        total = total + abs(v)
    return w if total <= cap else None


def q16(x):
    """w · 65536 rounded to the nearest integer, halves away from zero."""
    x = x * 65536.0
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def plane_fit(points, i, nb):
    s = spread(points, i, nb)
    if s is None:
        return None
    c = points[i]
    return least_squares_weights([[1.0] + [(points[j][a] - c[a]) / s for a in range(3)] for j in nb], 8.0)


# The quadratic predictor's support (docs/mci-format.md, type 7, "Quadratic support and
# weights", version 1.8), from the spec alone.
QUAD_MAX_SUPPORT = 24
QUAD_MIN_POINTS = 12


def quadratic_support(points, nb):
    """Per point i: (ids ascending, Q16 weights), empty where the quadratic does not apply."""
    out = []
    for i in range(len(points)):
        c = points[i]
        U = set(nb[i])
        for j in nb[i]:
            U.update(nb[j])
        ids = sorted(U)
        if len(ids) > QUAD_MAX_SUPPORT:
            def dist(j):
                d = [points[j][a] - c[a] for a in range(3)]
                return (d[0] * d[0] + d[1] * d[1]) + d[2] * d[2]
            ids = sorted(sorted(ids, key=lambda j: (dist(j), -j))[:QUAD_MAX_SUPPORT])
        w = None
        s = spread(points, i, ids) if len(ids) >= QUAD_MIN_POINTS else None
        if s is not None:
            rows = []
            for j in ids:
                u, v, x = ((points[j][a] - c[a]) / s for a in range(3))
                rows.append([1.0, u, v, x, u * u, v * v, x * x, u * v, u * x, v * x])
            w = least_squares_weights(rows, 16.0)
        out.append((ids, [q16(x) for x in w]) if w is not None else ([], []))
    return out


def plane_numerator(weights, history, current, nb_i, i, plane):
    """(P, R) of the linear predictor with the plane bit: R the plane values (1/16 units) at
    steps t … t − 3 from the Q16 weights `plane` of nb_i, P = 16 (w·own) + v·R over 4096 · 16."""
    w1, w2, w3, v0, v1, v2, v3 = weights
    R = [round_half_away(sum(W * src[j] for W, j in zip(plane, nb_i)), 4096) for src in (current,) + tuple(history)]
    P = 16 * (w1 * history[0][i] + w2 * history[1][i] + w3 * history[2][i]) + v0 * R[0] + v1 * R[1] + v2 * R[2] + v3 * R[3]
    return P, R


def linear_predict(weights, history, current, nb_i, i, plane=None):
    """pred_i of the linear predictor: weights (w1, w2, w3, v0, v1, v2, v3), history[m − 1] the
    indices at step t − m, current this step's (those of the neighbours j < i are set); with
    `plane` (the Q16 weights of nb_i), the plane values replace the neighbours' sums."""
    w1, w2, w3, v0, v1, v2, v3 = weights
    if plane is not None:
        return round_half_away(plane_numerator(weights, history, current, nb_i, i, plane)[0], LINEAR_ONE * 16)
    k = len(nb_i)
    kp = max(k, 1)
    P = kp * (w1 * history[0][i] + w2 * history[1][i] + w3 * history[2][i])
    P += v0 * sum(current[j] for j in nb_i)
    for v, h in zip((v1, v2, v3), history):
        P += v * sum(h[j] for j in nb_i)
    D = LINEAR_ONE * kp
    return (2 * P + D) // (2 * D) if P >= 0 else -((-2 * P + D) // (2 * D))


def linear_reconstruct(weights, codes, history, nb, plane=None, blend=None):
    """The indices of one linear step from its codes (d, or None for an escape: index 0); with
    `blend` (a Blend of this step), the blend predictor's."""
    qs = [0] * len(codes)
    for i, d in enumerate(codes):
        if blend is not None:
            qs[i] = 0 if d is None else blend.predict(qs, i) + d
            blend.record(qs, i, d is None)
        else:
            qs[i] = 0 if d is None else linear_predict(weights, history, qs, nb[i], i, plane and plane[i]) + d
    return qs


# The blend predictor (docs/mci-format.md, type 7, "Blend predictor", version 1.7), from the
# spec alone: the five predictions in 1/16 index units, weighted by their errors at the earlier
# neighbours.
BLEND_CLAMP = 1 << 36
BLEND_ERROR_LIMIT = 1 << 24


class Blend:
    """One blend step: weights, the chain's history, Nb, the plane weights, t − t0; with
    `quad` (quadratic_support's list, format 1.8) the quadratic's two predictions too."""

    def __init__(self, weights, history, nb, plane, back, quad=None):
        self.w, self.h, self.nb, self.plane, self.back, self.quad = weights, history, nb, plane, back, quad
        # the predictions s_p that take part, by the steps the chain has
        self.use = [0, 1] + ([2, 3] if back >= 1 else []) + ([4] if back >= 2 else [])
        if quad is not None:
            self.use += [5] + ([6] if back >= 1 else [])
        self.err = [[0] * 7 for _ in nb]
        self.s = None

    def predict(self, current, i):
        h = self.h
        nb_i = self.nb[i]
        P, R = plane_numerator(self.w, h, current, nb_i, i, self.plane[i])
        b = self.back
        h1 = h[0][i] if b >= 1 else 0
        h2 = h[1][i] if b >= 2 else 0
        r1 = R[1] if b >= 1 else 0
        T0, T1 = R[0], r1
        if self.quad is not None and self.quad[i][0]:
            ids, V = self.quad[i]
            T0 = round_half_away(sum(v * current[j] for v, j in zip(V, ids)), 4096)
            T1 = round_half_away(sum(v * h[0][j] for v, j in zip(V, ids)), 4096) if b >= 1 else 0
        clamp = lambda v: max(-BLEND_CLAMP, min(BLEND_CLAMP, v))
        every = [round_half_away(P, 4096), R[0], 16 * h1, 16 * h1 + R[0] - r1, 16 * (2 * h1 - h2), T0,
                 16 * h1 + T0 - T1]
        self.s = {p: clamp(every[p]) for p in self.use}
        kp = max(len(nb_i), 1)
        E = {p: sum(self.err[j][p] for j in nb_i) // kp + 8 for p in self.use}
        least = min(E.values())
        ws = {p: (1024 * least // E[p]) ** 2 for p in self.use}
        return round_half_away(sum(ws[p] * self.s[p] for p in self.use), 16 * sum(ws.values()))

    def record(self, current, i, escaped):
        """Point i's errors, after its index is known (0 at an escape)."""
        self.err[i] = [0 if escaped or p not in self.s else min(abs(16 * current[i] - self.s[p]), BLEND_ERROR_LIMIT)
                       for p in range(7)]


# Per component c (rows) and step t (columns), the predictor of the --residual-linear file
# (12 steps, 6 components; "E" marks a linear stream whose codes are all 0, stored as its
# weights alone): long linear chains (history of 1, 2, then 3 steps); linear steps after
# time / mesh steps and after an empty stream that repeats the previous step; data streams;
# linear without the time bit (only v0); weights at ±2^20.
LINEAR_SCHEDULE = [
    [8, 9, 9, 9, 9, 9, 9, 9, 8, 9, 9, 9],
    [2, 9, 3, 9, 1, 9, 8, 9, 8, 1, 9, 9],
    [12, 13, 5, 13, 13, 4, 13, 13, 12, 13, 13, 13],
    [8, 8, 0, 8, 9, 9, 2, 9, 8, 9, 9, 9],
    [8, "9E", 9, "9E", 9, 9, "8E", "9E", 8, "9E", 9, "9E"],
    [8, 9, 9, 1, 9, 9, 9, 9, 0, 9, 9, 9],
]
EXTREME_WEIGHTS = {(5, 2): [LINEAR_WEIGHT_LIMIT, 0, 0, 0, -LINEAR_WEIGHT_LIMIT, 0, 0],
                   (5, 6): [-LINEAR_WEIGHT_LIMIT, 0, 0, 0, 0, 0, LINEAR_WEIGHT_LIMIT]}


PLANE_COMPONENTS = (0, 2, 3, 5)
BLEND_COMPONENTS = (0, 3)
QUAD_COMPONENTS = (3,)
ANCHOR_COMPONENTS = (0, 2, 3, 4, 5)  # with --anchor: their time + linear streams of block 0


def linear_residual_payload(rng, npts, T, C, nb, ref_path, points=None, blend=False, quadratic=False,
                            anchor=False):
    """A RESIDUAL section of type 7 with linear streams (LINEAR_SCHEDULE) and random indices;
    writes the expected indices and escapes to ref_path as predicted_residual_payload does.
    With `points`, the linear streams of PLANE_COMPONENTS use the plane predictor (bit 4);
    with `blend` too, those of BLEND_COMPONENTS the blend (bit 5), and with `quadratic` those of
    QUAD_COMPONENTS the quadratic too (bit 6). With `anchor` (format 1.9), the streams of
    ANCHOR_COMPONENTS in block 0 with the time and linear bits set the anchor bit (bit 7) where
    step 8 has their data bit: their level h3 is step 8 of the component, which is therefore
    generated first (a chain start: it reads no history)."""
    plane = quad = None
    if points is not None:
        nb = [sorted(n) for n in nb]  # the spec's order of the sums
        plane = [plane_weights(points, i, nb[i]) if nb[i] else [] for i in range(npts)]
        if quadratic:
            quad = quadratic_support(points, nb)
    big = (1 << 31) - 1
    limit_d = (1 << 33) - 1
    assert C == len(LINEAR_SCHEDULE) and T <= len(LINEAR_SCHEDULE[0])

    def predictor_of(t, c):
        """(predictor, empty) of the stream at (t, c); the anchor bit as the caller asks."""
        entry = LINEAR_SCHEDULE[c][t]
        empty = isinstance(entry, str)
        predictor = int(entry[:-1]) if empty else entry
        if plane is not None and predictor & 8 and c in PLANE_COMPONENTS:
            predictor |= 16
            if blend and c in BLEND_COMPONENTS:
                predictor |= 32
                if quad is not None and c in QUAD_COMPONENTS:
                    predictor |= 64
        if (anchor and c in ANCHOR_COMPONENTS and t < 8 and 8 < T and predictor & 9 == 9
                and (predictor_of(8, c)[0] & 4) == (predictor & 4)):
            predictor |= 128
        return predictor, empty

    def code_stream(t, c, predictor, empty, hist, back):
        """(table entry, stream bytes, reference lines, indices) of the stream at (t, c); hist the
        levels h1, h2, h3 (step t − 1, t − 2, and t − 3 or the anchor)."""
        stream_plane = plane if predictor & 16 else None
        data = (predictor & 4) != 0
        escaped_values = {}
        lines = []
        if predictor & 8:
            if (c, t) in EXTREME_WEIGHTS:
                w = list(EXTREME_WEIGHTS[(c, t)])
            elif empty:  # Σ|w| + Σ|v| = 1: the prediction stays within the indices it reads
                w = [1024, 1024, -512, 1024, 512, 0, 0] if not predictor & 128 else [1024, 512, -512, 1024, 512, 0, 512]
            else:
                w = [rng.choice([0, 4096, 8192, -4096, 2048, rng.randint(-12000, 12000)]) for _ in range(3)]
                w += [rng.choice([0, 2048, 4096, -1024, rng.randint(-6000, 6000)])]
                w += [rng.choice([0, 0, -2048, 1024, rng.randint(-4000, 4000)]) for _ in range(3)]
                if predictor & 128:  # w3, v3 read the anchor: non-zero
                    w[2] = rng.choice([4096, -4096, 2048, rng.randint(1, 12000)])
                    w[6] = rng.choice([-2048, 1024, rng.randint(1, 4000), -rng.randint(1, 4000)])
            for m in range(1, 4):  # nothing before the chain's start (the anchor: any t − t0)
                if m > back and not (m == 3 and predictor & 128):
                    w[m - 1] = w[3 + m] = 0
            qs, codes = [0] * npts, []
            stream_quad = quad if predictor & 64 else None
            mix = Blend(w, hist, nb, plane, back, stream_quad) if predictor & 32 else None
            for i in range(npts):
                pred = mix.predict(qs, i) if mix else linear_predict(w, hist, qs, nb[i], i,
                                                                     stream_plane and stream_plane[i])
                if empty:
                    q = pred
                    assert abs(q) < 1 << 31
                else:
                    x = rng.random()
                    if x < 0.08:
                        q = None
                    elif x < 0.55:
                        q = pred + rng.randint(-3, 3)
                    else:
                        q = rng.choice([0, 1, -1, 3, -5, 77, -1000, 100000, 2000000, big, -big, big - 1])
                    if q is not None and (abs(q) > big or abs(q - pred) > limit_d):
                        q = None  # beyond what an index or a code can hold: an escape
                if q is None:
                    codes.append(None)
                    qs[i] = 0
                else:
                    codes.append(q - pred)
                    qs[i] = q
                if mix:
                    mix.record(qs, i, q is None)
            again = Blend(w, hist, nb, plane, back, stream_quad) if predictor & 32 else None
            assert linear_reconstruct(w, codes, hist, nb, stream_plane, again) == qs
        else:
            w = None
            previous = hist[0]
            if empty or (predictor == 1 and c in (1, 5)):  # the previous step again: an empty stream
                escaped, qs = [False] * npts, list(previous)
            else:
                escaped = [rng.random() < 0.08 for _ in range(npts)]
                qs = [0 if escaped[i] else
                      previous[i] + rng.randint(-2, 2) if rng.random() < 0.6 and abs(previous[i]) < 1000 else
                      rng.choice([0, 1, -1, 3, -5, 77, -1000, 100000, big, -big]) for i in range(npts)]
            codes = encode_step(predictor, qs, escaped, previous, nb)
            assert reconstruct_step(predictor, codes, previous, nb) == qs
        raw = bytearray()
        for i, d in enumerate(codes):
            if d is None:
                v = f32(rng.uniform(*RANGES[c]))
                raw += b"\0" + struct.pack("<f", v)
                escaped_values[i] = struct.unpack("<I", struct.pack("<f", v))[0]
                lines.append("%d %d %d e %.9g\n" % (t, c, i, v))
            else:
                assert abs(d) <= limit_d
                raw += zigzag_code(d)
                lines.append("%d %d %d %s %d\n" % (t, c, i, "d" if data else "q", qs[i]))
        coder = ((t + 2 * c + (c == 4)) % 2) * (1 + (t // 2 + c) % 2)  # range-coded: coder 1 and 2 by turns
        head = struct.pack("<7i", *w) if w is not None else b""
        if all(d == 0 for d in codes):  # codes stored empty: every d = 0
            return struct.pack("<BB6xQQ", predictor, coder, 0, len(head)), head, lines, qs
        if coder != 0:
            z = range_encode(codes, escaped_values, nb, coder)
            want = [("e", escaped_values[i]) if d is None else d for i, d in enumerate(codes)]
            assert range_decode(z, npts, nb, coder) == want
            return struct.pack("<BB6xQQ", predictor, coder, 0, len(head) + len(z)), head + z, lines, qs
        z = zstd_compress(bytes(raw))
        return struct.pack("<BB6xQQ", predictor, 0, len(raw), len(head) + len(z)), head + z, lines, qs

    table, streams = b"", b""
    history = [[[0] * npts for _ in range(3)] for _ in range(C)]  # [c][m − 1]: step t − m
    starts = [0] * C  # each component's chain start t0
    ahead = {}  # with the anchor: step 8 of each component, coded first
    if anchor and 8 < T:
        for c in range(C):
            predictor, empty = predictor_of(8, c)
            assert not predictor & 1  # a chain start: it reads no history
            ahead[c] = code_stream(8, c, predictor, empty, [[0] * npts for _ in range(3)], 0)
    anchored = 0
    with open(ref_path, "w") as ref:
        for t in range(T):
            for c in range(C):
                predictor, empty = predictor_of(t, c)
                if not predictor & 1:
                    starts[c] = t
                back = t - starts[c]
                hist = history[c]
                if t == 8 and c in ahead:
                    entry, stream, lines, qs = ahead[c]
                else:
                    levels = hist
                    if predictor & 128:
                        anchored += 1
                        levels = [hist[0], hist[1], ahead[c][3]]  # h3: the anchor, step 8
                    entry, stream, lines, qs = code_stream(t, c, predictor, empty, levels, back)
                table += entry
                streams += stream
                ref.write("".join(lines))
                history[c] = [qs, hist[0], hist[1]]
    assert anchored or not anchor
    head = struct.pack("<QII", npts, T, C) + b"".join(struct.pack("<dd", e, s) for e, s in residual_bounds())
    return head + table + streams


def f32(v):
    """Rounds to float32, as stored in the file."""
    return struct.unpack("<f", struct.pack("<f", v))[0]


def evaluate(model, p, t):
    """Naive double-precision decode of one point (docs/mci-format.md, Evaluation)."""
    bmin, bmax, (t0, t1), nodes, K, networks = model
    q = [2 * (p[i] - bmin[i]) / (bmax[i] - bmin[i]) - 1 if bmax[i] > bmin[i] else 0.0 for i in range(3)]
    q.append(2 * (t - t0) / (t1 - t0) - 1 if t1 > t0 else 0.0)
    d2 = lambda n: sum((q[i] - nodes[n][0][i]) ** 2 for i in range(3))
    node = min(range(K), key=lambda n: (d2(n), n))
    while nodes[node][2] >= 0:
        c0, c1 = nodes[node][2], nodes[node][3]
        node = c1 if d2(c1) < d2(c0) else c0
    (trunk, branches), L, omega, offset, scale = networks[nodes[node][4]]
    x = [(f32(q[i]) - offset[i]) * scale[i] for i in range(4)]
    e = list(x)
    for k in range(L):
        e += [math.sin(2 ** k * math.pi * v) for v in x]
        e += [math.cos(2 ** k * math.pi * v) for v in x]

    def dense(W, b, v, n_out):
        n_in = len(v)
        return [sum(f32(W[o * n_in + i]) * v[i] for i in range(n_in)) + f32(b[o]) for o in range(n_out)]

    def sine(W, b, v, n_out):
        return [math.sin(omega * z) for z in dense(W, b, v, n_out)]

    def apply(m, v):
        kind, _, n_out, t = m[:4]
        if kind == SINE:
            return sine(t[0], t[1], v, n_out)
        if kind == LINEAR:
            return dense(t[0], t[1], v, n_out)
        y = sine(t[2], t[3], sine(t[0], t[1], v, n_out), n_out)
        skip = sine(t[4], t[5], v, n_out) if len(t) == 6 else v
        return [0.5 * (a + b) for a, b in zip(y, skip)]

    for m in trunk:
        e = apply(m, e)
    out = []
    for br in branches:
        v = e
        for m in br:
            v = apply(m, v)
        out += v
    return [(n + 1) / 2 * (hi - lo) + lo for n, (lo, hi) in zip(out, RANGES)]


def write_reference(args, rng, model, pts):
    bmin, bmax = model[0], model[1]
    points = [pts[3 * i:3 * i + 3] for i in range(min(len(pts) // 3, args.ref_points))]
    while len(points) < args.ref_points:
        points.append([rng.uniform(bmin[i], bmax[i]) for i in range(3)])
    with open(args.reference, "w") as f:
        for p in points:
            t = rng.uniform(VESSEL_TIMES[0], VESSEL_TIMES[-1])
            f.write(" ".join("%.17g" % v for v in list(p) + [t] + evaluate(model, p, t)) + "\n")


def container(sections, minor=0):
    out = MAGIC + struct.pack("<HHI", 1, minor, len(sections))
    offset = 16 + 32 * len(sections)
    table, payloads = b"", b""
    for kind, flags, payload in sections:
        table += struct.pack("<IIQQII", kind, flags, offset, len(payload), zlib.crc32(payload) & 0xFFFFFFFF, 0)
        payloads += payload
        offset += len(payload)
    return out + table + payloads



# ---- Hostile files (docs/mci-format.md, "Limits"): small files that ask a reader for far more
# memory or work than their size, each valid except for what its kind names. ----

HOSTILE_KINDS = {
    # kind: (what, default size parameter N); the defaults make each file ask the decoder of
    # format 1.2 (before the limits) for more than 1 GiB or 10 s (plain -O2 build, one thread)
    "nested-mesh": ("a compressed MESH section (flag bit 1) whose MESH body is compressed again: N zero points",
                    40000000),
    "empty-streams": ("300000 zero points and N steps of empty RESIDUAL streams (valid: costs nothing)", 40000),
    "stream-work": ("300000 zero points and N steps whose RESIDUAL streams are tiny zstd frames of 300000 codes",
                    10000),
    "long-chain": ("a RESIDUAL whose prediction chain runs through all N steps (no restart every 8)", 400),
    "weights": ("compressed NETS of int8 zero weights: one network of width N and 4 hidden layers", 8192),
    "wide-tree": ("a compressed TREE of N top-level leaves, and a mesh of 50000 points to route", 200000),
    "deep-tree": ("a compressed TREE of depth N (each node splits into a leaf and the next node), and a mesh of "
                  "50000 points to route", 20000),
    "huge-bbox": ("a bounding box of [-1e308, 1e308] on every axis (normalising inside it gives NaN)", 0),
    "large-mesh": ("a valid mesh of N zero points, more memory than the default limits allow for its size", 1500000),
}


def zlib_of_zeros(n, prefix=b"", suffix=b"", level=9):
    """zlib stream of prefix + n zero bytes + suffix, without building the n bytes at once."""
    z = zlib.compressobj(level)
    out = [z.compress(prefix)]
    chunk = bytes(1 << 20)
    left = n
    while left > 0:
        k = min(left, len(chunk))
        out.append(z.compress(chunk[:k]))
        left -= k
    out.append(z.compress(suffix))
    out.append(z.flush())
    return b"".join(out)


def minimal_meta(T, bbox=((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)), npts=0):
    meta = struct.pack("<I", 1) + pack_string("v") + struct.pack("<I", 1)
    meta += struct.pack("<I", 1) + struct.pack("<dd", 0.0, 1.0)
    meta += struct.pack("<I", T) + struct.pack("<%dd" % T, *[float(t) for t in range(T)])
    meta += struct.pack("<3d", *bbox[0]) + struct.pack("<3d", *bbox[1])
    meta += struct.pack("<dd", 0.0, float(max(T - 1, 1)))
    meta += struct.pack("<QQQ", npts, 0, npts * T * 4)
    return meta


def minimal_nets():
    """One network: no trunk, one branch of one LINEAR 4 → 1 (float32)."""
    net = f32s([0.0] * 4) + f32s([1.0] * 4) + struct.pack("<If", 0, 30.0) + struct.pack("<I", 0)
    net += struct.pack("<II", 1, 1) + struct.pack("<BBHII", LINEAR, 0, 0, 4, 1) + f32s([0.25, -0.5, 0.125, 0.0, 0.1])
    return struct.pack("<I", 1) + net


def leaf_tree():
    return struct.pack("<II", 1, 1) + struct.pack("<3diiii", 0.0, 0.0, 0.0, -1, -1, -1, 0)


def zero_mesh(npts):
    """MESH payload (u64 size + zlib) of npts points at the origin (float32) and no cells."""
    body_len = 16 + 12 * npts + 16
    return struct.pack("<Q", body_len) + zlib_of_zeros(12 * npts, struct.pack("<QB7x", npts, 1), struct.pack("<QQ", 0, 0))


def hostile(kind, n):
    """The sections of a hostile file of this kind (HOSTILE_KINDS), size parameter n."""
    T = 12
    meta_args = {}
    tree = (TREE, 1, leaf_tree())
    nets = (NETS, 1, minimal_nets())
    extra = []
    if kind == "nested-mesh":
        inner = zero_mesh(n)
        extra.append((MESH, 2, struct.pack("<Q", len(inner)) + zlib.compress(inner, 9)))
        meta_args["npts"] = n
    elif kind == "large-mesh":
        extra.append((MESH, 0, zero_mesh(n)))
        meta_args["npts"] = n
    elif kind in ("empty-streams", "stream-work", "long-chain"):
        npts = 300000 if kind != "long-chain" else 1000
        T = n
        meta_args["npts"] = npts
        extra.append((MESH, 0, zero_mesh(npts)))
        table, streams = b"", b""
        frame = zstd_compress(b"\x01" * npts) if kind == "stream-work" else b""
        for t in range(T):
            predictor = 1 if t > 0 and (kind == "long-chain" or t % 8 != 0) else 0
            if kind == "stream-work":
                predictor = 0
            table += struct.pack("<BB6xQQ", predictor, 0, len(frame) and npts, len(frame))
            streams += frame
        payload = struct.pack("<QII", npts, T, 1) + struct.pack("<dd", 0.5, 0.5) + table + streams
        extra.append((RESIDUAL_PREDICTED, 1, payload))
    elif kind == "weights":
        W, hidden = n, 4
        def zero_module(kind_, fan_in, fan_out):  # int8: per-row f32 scales (0), int8 weights (0), f32 bias (0)
            return struct.pack("<BBHII", kind_, 2, 0, fan_in, fan_out), 4 * fan_out + fan_in * fan_out + 4 * fan_out
        head = f32s([0.0] * 4) + f32s([1.0] * 4) + struct.pack("<If", 0, 30.0) + struct.pack("<I", 0)
        head += struct.pack("<II", 1, hidden + 2)
        layers = [zero_module(SINE, 4, W)] + [zero_module(SINE, W, W) for _ in range(hidden)] + [zero_module(LINEAR, W, 1)]
        z = zlib.compressobj(9)
        body = [z.compress(struct.pack("<I", 1) + head)]
        size = 4 + len(head)
        for header, zeros in layers:
            body.append(z.compress(header))
            size += len(header) + zeros
            chunk = bytes(1 << 20)
            left = zeros
            while left > 0:
                k = min(left, len(chunk))
                body.append(z.compress(chunk[:k]))
                left -= k
        body.append(z.flush())
        nets = (NETS, 1 | 2, struct.pack("<Q", size) + b"".join(body))
    elif kind == "wide-tree":
        extra.append((MESH, 0, zero_mesh(50000)))
        meta_args["npts"] = 50000
        nodes = struct.pack("<II", n, n) + struct.pack("<3diiii", 0.0, 0.0, 0.0, -1, -1, -1, 0) * n
        tree = (TREE, 1 | 2, struct.pack("<Q", len(nodes)) + zlib.compress(nodes, 9))
    elif kind == "deep-tree":
        # node 0 top; internal node 2k has children 2k+1 (a leaf) and 2k+2; the last node a leaf
        extra.append((MESH, 0, zero_mesh(50000)))
        meta_args["npts"] = 50000
        count = 2 * n + 1
        nodes = [struct.pack("<II", count, 1)]
        for i in range(count):
            parent = -1 if i == 0 else (i - 1) // 2 * 2
            if i % 2 == 0 and i < count - 1:
                nodes.append(struct.pack("<3diiii", 0.0, 0.0, 0.0, parent, i + 1, i + 2, -1))
            else:  # leaves off the path lie far away, so routing the origin descends every level
                far = 0.0 if i == count - 1 else 5.0
                nodes.append(struct.pack("<3diiii", far, far, far, parent, -1, -1, 0))
        nodes = b"".join(nodes)
        tree = (TREE, 1 | 2, struct.pack("<Q", len(nodes)) + zlib.compress(nodes, 9))
    elif kind == "huge-bbox":
        meta_args["bbox"] = ((-1e308,) * 3, (1e308,) * 3)
    else:
        raise SystemExit("unknown hostile kind %r (known: %s)" % (kind, ", ".join(sorted(HOSTILE_KINDS))))
    meta = (META, 1, minimal_meta(T, **meta_args))
    sections = [meta, (JSON, 0, b'{"creator": "tools/make_test_mci.py --hostile %s"}' % kind.encode()), tree, nets]
    sections += extra
    minor = 2 if any(k == RESIDUAL_PREDICTED for k, _, _ in sections) else 1
    return container(sections, minor)

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out")
    p.add_argument("--mesh", choices=["tiny", "grid", "block", "vessel", "none"], default="tiny",
                   help="block: 20×20×20 unit cubes of 6 tets each (9261 points, 48000 tets)")
    p.add_argument("--arch", choices=["coordnetb", "coordnet", "siren"], default="coordnetb")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--clusters", type=int, default=3)
    p.add_argument("--split", action="store_true", help="split cluster 0 into two children")
    p.add_argument("--pe", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--reference", help="also write naive reference values to this text file")
    p.add_argument("--ref-points", type=int, default=50)
    p.add_argument("--encoding", choices=sorted(ENCODINGS), default="f32", help="weight encoding")
    p.add_argument("--compress-nets", action="store_true", help="store NETS zlib-compressed")
    p.add_argument("--residual-predicted", metavar="REF",
                   help="add a RESIDUAL section of type 7 (predicted indices, zstd and range coder); "
                        "write the indices to REF")
    p.add_argument("--residual-linear", metavar="REF",
                   help="add a RESIDUAL section of type 7 with linear-predictor streams (format 1.4); write the "
                        "indices to REF")
    p.add_argument("--plane", action="store_true",
                   help="with --residual-linear: some linear streams use the plane predictor (bit 4, format 1.6)")
    p.add_argument("--blend", action="store_true",
                   help="with --plane: some plane streams use the blend predictor (bit 5, format 1.7)")
    p.add_argument("--quadratic", action="store_true",
                   help="with --blend: some blend streams use the quadratic predictor too (bit 6, format 1.8)")
    p.add_argument("--anchor", action="store_true",
                   help="with --residual-linear: the time + linear streams of block 0 of some components read "
                        "step 8 as their level h3 (anchor, bit 7, format 1.9)")
    p.add_argument("--neighbours", type=int, metavar="K",
                   help="with a residual: write a NEIGHBOURS section (format 1.10): lists of Nb shorter than K "
                        "take the earlier points one neighbour step further, in every stream and in "
                        "--plane-weights / --quadratic-support / --range-streams")
    p.add_argument("--quadratic-support", metavar="OUT",
                   help="with --plane-weights: also write the quadratic supports and weights computed here "
                        "(format 1.8): `i k j_1 … j_k V_1 … V_k`")
    p.add_argument("--plane-weights", metavar="OUT",
                   help="also write, per mesh point, Nb(i) ascending and its plane weights computed here "
                        "(format 1.6): `i k j_1 … j_k W_1 … W_k`")
    p.add_argument("--range-streams", metavar="DIR",
                   help="also write the crafted range-coded streams of the C tests for this file's mesh "
                        "(one DIR/NAME.rc per case of range_stream_cases)")
    p.add_argument("--mesh-coding", choices=["zlib", "meshc"], default="zlib",
                   help="MESH (type 5, one zlib stream) or MESHC (type 8, chunks; format 1.3)")
    p.add_argument("--chunk-cells", type=int, default=65536, help="MESHC: cells per chunk")
    p.add_argument("--mesh-f64", action="store_true",
                   help="store the points as float64, moved off the grid so that every mantissa bit counts")
    p.add_argument("--mesh-cells", type=int, metavar="K", help="keep only the first K cells of the mesh (all points)")
    p.add_argument("--mesh-dump", metavar="FILE", help="MESHC: write the reference decoder's chunks to FILE")
    p.add_argument("--mesh-index", type=int, metavar="G", help="MESHC: add its MESHX index with G boxes per axis")
    p.add_argument("--hostile", metavar="KIND",
                   help="write a hostile file instead (docs/mci-format.md, Limits): " +
                        "; ".join("%s: %s" % (k, w) for k, (w, _) in sorted(HOSTILE_KINDS.items())))
    p.add_argument("--hostile-size", type=int, metavar="N", help="the size parameter N of --hostile (default per kind)")
    args = p.parse_args()
    if args.hostile:
        n = args.hostile_size if args.hostile_size is not None else HOSTILE_KINDS.get(args.hostile, (None, 0))[1]
        data = hostile(args.hostile, n)
    else:
        data = build(args)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    import os
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
