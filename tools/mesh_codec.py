#!/usr/bin/env python3
"""Reference implementation of the MESHC section (type 8, format 1.3; docs/mci-format.md,
"MESHC"): a mesh coded in chunks that decode independently, each a range-coded face
traversal of its tetrahedra plus a generic path for every other cell, with lossless
coordinates predicted from the traversal.

Written from the spec alone, independently of the Swift writer (Sources/MCIFormat/MeshCoding)
and the C decoder (CShim/src/mesh_codec.c): tools/make_test_mci.py embeds meshes with
`encode_section`, and the C tests compare the C decoder's output with `decode_section` here
and with the mesh given to the encoder. Pure Python (no numpy), so slow: a few seconds per
100 k tets.

    python3 tools/mesh_codec.py VTU [--chunk-cells K] [--f64]   # sizes and a round trip
    python3 tools/mesh_codec.py RAW --encode-raw OUT [--chunk-cells K]   # a payload from raw arrays
"""
import bisect
import itertools
import os
import math
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# the one Python range coder (LZMA's, RESIDUAL coder 1), shared with the rest of the test generator
from make_test_mci import RangeDecoder, RangeEncoder  # noqa: E402

TET = 10
MAX_ADJ = 64        # adj(v) keeps the first 64 distinct points that share a tet with v
CAND_CONTEXTS = 16  # unary candidate bits: probability per position, the last shared
PERMS = list(itertools.permutations(range(4)))  # lexicographic: symbol s is PERMS[s]
BUCKETS = 9         # coordinate contexts by the prediction's exponent
HEADER = 48
ENTRY = 40


class FormatError(ValueError):
    pass


class IntModel:
    """X[64] unary exponent, M[64][3] leading mantissa bits, G sign."""

    def __init__(self):
        self.X = [1024] * 64
        self.M = [1024] * (64 * 3)
        self.G = [1024]


def put_uint(enc, mod, m):
    assert 0 <= m < (1 << 64) - 1
    e = (m + 1).bit_length() - 1
    for j in range(e):
        enc.bit(mod.X, j, 1)
    enc.bit(mod.X, e, 0)
    r = m + 1 - (1 << e)
    if e >= 1:
        first = (r >> (e - 1)) & 1
        enc.bit(mod.M, 3 * e, first)
        if e >= 2:
            enc.bit(mod.M, 3 * e + 1 + first, (r >> (e - 2)) & 1)
            for b in range(e - 3, -1, -1):
                enc.fixed((r >> b) & 1)


def get_uint(dec, mod):
    e = 0
    while dec.bit(mod.X, e):
        e += 1
        if e == 64:
            raise FormatError("integer exponent of 64")
    r = 0
    for b in range(e):
        if b == 0:
            bit = dec.bit(mod.M, 3 * e)
        elif b == 1:
            bit = dec.bit(mod.M, 3 * e + 1 + r)
        else:
            bit = dec.fixed()
        r = r << 1 | bit
    return (1 << e) + r - 1


def put_sint(enc, mod, d):
    put_uint(enc, mod, abs(d))
    if d:
        enc.bit(mod.G, 0, 1 if d < 0 else 0)


def get_sint(dec, mod):
    m = get_uint(dec, mod)
    if m and dec.bit(mod.G, 0):
        return -m
    return m


def put_tree(enc, probs, bits, s):
    node = 1
    for b in range(bits - 1, -1, -1):
        bit = (s >> b) & 1
        enc.bit(probs, node, bit)
        node = node * 2 + bit


def get_tree(dec, probs, bits):
    node = 1
    for _ in range(bits):
        node = node * 2 + dec.bit(probs, node)
    return node - (1 << bits)


# ---- coordinates: ordered integers of the bit patterns, predictions ----

def ordered(bits, width):
    sign = 1 << (width - 1)
    return bits if bits < sign else -1 - (bits & (sign - 1))


def unordered(o, width):
    sign = 1 << (width - 1)
    return o if o >= 0 else (-1 - o) | sign


def wrap(v, width):
    v &= (1 << width) - 1
    return v - (1 << width) if v >> (width - 1) else v


def to_bits(x, width):
    if width == 64:
        return struct.unpack("<Q", struct.pack("<d", x))[0]
    try:
        return struct.unpack("<I", struct.pack("<f", x))[0]
    except OverflowError:  # beyond the float range after rounding: ±infinity
        return 0xFF800000 if x < 0 else 0x7F800000


def from_bits(b, width):
    if width == 64:
        return struct.unpack("<d", struct.pack("<Q", b))[0]
    return struct.unpack("<f", struct.pack("<I", b))[0]


def is_finite_bits(b, width):
    if width == 64:
        return (b >> 52) & 0x7FF != 0x7FF
    return (b >> 23) & 0xFF != 0xFF


def face_prediction(a, b, c, o, width):
    """Per axis: ((s + s) / 3) − o with s = (a + b) + c in double, rounded to the point type."""
    out = []
    for ax in range(3):
        va, vb, vc, vo = (from_bits(p[ax], width) for p in (a, b, c, o))
        s = (va + vb) + vc
        out.append(to_bits((s + s) / 3.0 - vo, width))
    return out


def bucket(bits, width):
    """min(max(exponent field − (119 or 1015), 0), 8): small predictions (near 0) have more
    representable values around them, so larger differences of ordered integers."""
    e = (bits >> 23) & 0xFF if width == 32 else (bits >> 52) & 0x7FF
    e -= 119 if width == 32 else 1015
    return min(max(e, 0), BUCKETS - 1)


def parity(seq):
    inv = 0
    for i in range(len(seq)):
        for j in range(i + 1, len(seq)):
            inv += seq[i] > seq[j]
    return inv & 1


# ---- one chunk ----

class Models:
    def __init__(self):
        self.face = [1024]
        self.start_new = [1024]
        self.gen_new = [1024]
        self.apex_new = [1024] * 4
        self.cand = [1024] * CAND_CONTEXTS
        self.expl = IntModel()
        self.expl_gen = IntModel()
        self.gid = IntModel()
        # [face-predicted, previous][axis][bucket of the prediction's exponent]
        self.coord = [[[IntModel() for _ in range(BUCKETS)] for _ in range(3)] for _ in range(2)]
        self.perm = [[1024] * 32 for _ in range(3)]
        self.type = [1024] * 256
        self.size = IntModel()


class ChunkState:
    """What encoder and decoder both know: points introduced so far, tets, faces, adjacency."""

    def __init__(self, width):
        self.width = width
        self.gid = []        # local → global id
        self.xyz = []        # local → [bits x, y, z]
        self.frame, self.orig, self.p = [], [], []
        self.faces = {}
        self.queue = []
        self.head = 0
        self.adj = []

    def introduce(self, gid, bits):
        self.gid.append(gid)
        self.xyz.append(bits)
        self.adj.append([])
        return len(self.gid) - 1

    def previous(self):
        return self.xyz[-1] if self.xyz else [0, 0, 0]

    def previous_gid(self):
        return self.gid[-1] if self.gid else 0

    def add_tet(self, frame, orig):
        t = len(self.frame)
        self.frame.append(frame)
        self.orig.append(orig)
        g = self.gid
        self.p.append(parity([g[v] for v in frame]) ^ parity([g[v] for v in orig]))
        for k in range(4):
            key = tuple(sorted(frame[:k] + frame[k + 1:]))
            c = self.faces.get(key, 0) + 1
            self.faces[key] = c
            if c == 1:
                self.queue.append((t, k))
        for i in range(4):
            a = self.adj[frame[i]]
            for j in range(4):
                if j != i and len(a) < MAX_ADJ and frame[j] not in a:
                    a.append(frame[j])

    def candidates(self, t, k):
        f = self.frame[t]
        face = f[:k] + f[k + 1:]
        count, order = {}, []
        for v in face:
            for x in self.adj[v]:
                if x not in count:
                    count[x] = 0
                    order.append(x)
                count[x] += 1
        skip = set(face) | {f[k]}
        return ([x for x in order if count[x] == 3 and x not in skip] +
                [x for x in order if count[x] == 2 and x not in skip])

    def face_key(self, t, k):
        f = self.frame[t]
        return tuple(sorted(f[:k] + f[k + 1:]))


def encode_chunk(tets, others, lone, points, width):
    """tets: list of 4-tuples of global ids (original order, distinct); others: list of (type,
    [global ids]); lone: global ids of points no cell of the chunk uses; points[g] = [bits].
    Returns (stream, number of points)."""
    enc, md, st = RangeEncoder(), Models(), ChunkState(width)
    local = {}

    def new_point(g, pred, kind, ref):
        put_sint(enc, md.gid, g - ref)
        for ax in range(3):
            d = wrap(ordered(points[g][ax], width) - ordered(pred[ax], width), width)
            put_sint(enc, md.coord[kind][ax][bucket(pred[ax], width)], d)
        local[g] = st.introduce(g, points[g])
        return local[g]

    def vertex(g, flag, expl):
        if g in local:
            enc.bit(flag, 0, 0)
            put_uint(enc, expl, len(st.gid) - 1 - local[g])
            return local[g]
        enc.bit(flag, 0, 1)
        return new_point(g, st.previous(), 1, st.previous_gid())

    # face → uncoded tets (in chunk order)
    by_face = {}
    for i, t in enumerate(tets):
        for k in range(4):
            by_face.setdefault(tuple(sorted(t[:k] + t[k + 1:])), []).append(i)
    coded = [False] * len(tets)
    next_start = 0
    done = 0
    while done < len(tets):
        if st.head == len(st.queue):
            while coded[next_start]:
                next_start += 1
            i = next_start
            vs = [vertex(g, md.start_new, md.expl) for g in tets[i]]
            coded[i] = True
            done += 1
            st.add_tet(vs, vs)
            continue
        t, k = st.queue[st.head]
        st.head += 1
        key = st.face_key(t, k)
        if st.faces[key] >= 2:
            continue
        gkey = tuple(sorted(st.gid[v] for v in key))
        nxt = next((i for i in by_face.get(gkey, ()) if not coded[i]), None)
        enc.bit(md.face, 0, 0 if nxt is None else 1)
        if nxt is None:
            continue
        f = st.frame[t]
        face = [v for j, v in enumerate(f) if j != k]
        apex_g = next(g for g in tets[nxt] if g not in (st.gid[v] for v in face))
        cands = st.candidates(t, k)
        ctx = min(len(cands), 3)
        if apex_g not in local:
            enc.bit(md.apex_new, ctx, 1)
            pred = face_prediction(st.xyz[face[0]], st.xyz[face[1]], st.xyz[face[2]], st.xyz[f[k]], width)
            apex = new_point(apex_g, pred, 0, min(st.gid[v] for v in face))
        else:
            enc.bit(md.apex_new, ctx, 0)
            apex = local[apex_g]
            j = cands.index(apex) if apex in cands else len(cands)
            for q in range(j):
                enc.bit(md.cand, min(q, CAND_CONTEXTS - 1), 1)
            if j < len(cands):
                enc.bit(md.cand, min(j, CAND_CONTEXTS - 1), 0)
            else:
                put_uint(enc, md.expl, len(st.gid) - 1 - apex)
        frame = list(f)
        frame[k] = apex
        S = sorted(frame, key=lambda v: st.gid[v])
        h = parity([st.gid[v] for v in frame]) ^ st.p[t] ^ 1
        orig = [local[g] for g in tets[nxt]]
        sigma = tuple(S.index(v) for v in orig)
        put_tree(enc, md.perm[h], 5, PERMS.index(sigma))
        coded[nxt] = True
        done += 1
        st.add_tet(frame, orig)
    for kind, cell in others:
        put_tree(enc, md.type, 8, kind)
        put_uint(enc, md.size, len(cell))
        for g in cell:
            vertex(g, md.gen_new, md.expl_gen)
    for g in lone:
        assert g not in local
        new_point(g, st.previous(), 1, st.previous_gid())
    return enc.finish(), len(st.gid)


def decode_chunk(data, n_points, n_tets, n_others, other_conn, N, width):
    """Returns (gids, point bits, cells as (type, [local ids])): tets first, in traversal order."""
    dec, md, st = RangeDecoder(data), Models(), ChunkState(width)
    seen = set()

    def new_point(pred, kind, ref):
        if len(st.gid) >= n_points:
            raise FormatError("more points than the chunk table says")
        g = ref + get_sint(dec, md.gid)
        if not 0 <= g < N or g in seen:
            raise FormatError("point id %d out of range or repeated" % g)
        seen.add(g)
        bits = []
        for ax in range(3):
            o = wrap(ordered(pred[ax], width) + get_sint(dec, md.coord[kind][ax][bucket(pred[ax], width)]), width)
            b = unordered(o, width)
            if not is_finite_bits(b, width):
                raise FormatError("non-finite coordinate")
            bits.append(b)
        return st.introduce(g, bits)

    def existing(expl):
        v = get_uint(dec, expl)
        if v >= len(st.gid):
            raise FormatError("reference to a point not yet introduced")
        return len(st.gid) - 1 - v

    def vertex(flag, expl):
        if dec.bit(flag, 0):
            return new_point(st.previous(), 1, st.previous_gid())
        return existing(expl)

    while len(st.frame) < n_tets:
        if st.head == len(st.queue):
            vs = [vertex(md.start_new, md.expl) for _ in range(4)]
            if len(set(vs)) != 4:
                raise FormatError("a tet with a repeated point")
            st.add_tet(vs, vs)
            continue
        t, k = st.queue[st.head]
        st.head += 1
        if st.faces[st.face_key(t, k)] >= 2 or not dec.bit(md.face, 0):
            continue
        f = st.frame[t]
        face = [v for j, v in enumerate(f) if j != k]
        cands = st.candidates(t, k)
        if dec.bit(md.apex_new, min(len(cands), 3)):
            pred = face_prediction(st.xyz[face[0]], st.xyz[face[1]], st.xyz[face[2]], st.xyz[f[k]], width)
            apex = new_point(pred, 0, min(st.gid[v] for v in face))
        else:
            j = 0
            while j < len(cands) and dec.bit(md.cand, min(j, CAND_CONTEXTS - 1)):
                j += 1
            apex = cands[j] if j < len(cands) else existing(md.expl)
            if apex in face:
                raise FormatError("apex on its own face")
        frame = list(f)
        frame[k] = apex
        S = sorted(frame, key=lambda v: st.gid[v])
        h = parity([st.gid[v] for v in frame]) ^ st.p[t] ^ 1
        s = get_tree(dec, md.perm[h], 5)
        if s >= 24:
            raise FormatError("permutation symbol %d" % s)
        st.add_tet(frame, [S[i] for i in PERMS[s]])
    cells = [(TET, list(o)) for o in st.orig]
    total = 0
    for _ in range(n_others):
        kind = get_tree(dec, md.type, 8)
        size = get_uint(dec, md.size)
        total += size
        if total > other_conn:
            raise FormatError("generic cells longer than the chunk table says")
        cells.append((kind, [vertex(md.gen_new, md.expl_gen) for _ in range(size)]))
    if total != other_conn:
        raise FormatError("generic cells shorter than the chunk table says")
    while len(st.gid) < n_points:
        new_point(st.previous(), 1, st.previous_gid())
    if dec.pos != len(data):
        raise FormatError("%d bytes read of %d" % (dec.pos, len(data)))
    return st.gid, st.xyz, cells


# ---- the section ----

def morton_order(points_f, types, offsets, conn):
    """Cells sorted by the Morton code of their centroid (21 bits per axis in the bounding box),
    ties by cell index: the writer's chunk order."""
    lo = [min(p[a] for p in points_f) for a in range(3)]
    hi = [max(p[a] for p in points_f) for a in range(3)]

    def spread(v):
        out = 0
        for b in range(21):
            out |= ((v >> b) & 1) << (3 * b)
        return out

    keys = []
    for c in range(len(types)):
        vs = conn[offsets[c]:offsets[c + 1]]
        code = 0
        for a in range(3):
            if vs:
                m = sum(points_f[v][a] for v in vs) / len(vs)
            else:
                m = lo[a]
            q = 0 if hi[a] <= lo[a] else int((m - lo[a]) / (hi[a] - lo[a]) * 2097151.0)
            code |= spread(max(0, min(q, 2097151))) << a
        keys.append((code, c))
    keys.sort()
    return [c for _, c in keys]


def encode_section(points_f, width, types, offsets, conn, chunk_cells=65536, order=None):
    """points_f: [[x, y, z]] as floats (exactly representable in the point type); offsets: M+1
    VTK offsets. Returns the payload of a MESHC section."""
    N, M = len(points_f), len(types)
    bits = [[to_bits(v, width) for v in p] for p in points_f]
    stored = [[from_bits(b, width) for b in p] for p in bits]  # the values as the point type holds them
    order = morton_order(stored, types, offsets, conn) if order is None else order
    chunks = [order[i:i + chunk_cells] for i in range(0, M, chunk_cells)] or [[]]
    used = [False] * N
    for v in conn:
        used[v] = True
    lone = [g for g in range(N) if not used[g]]
    table, streams = b"", b""
    for ci, cells in enumerate(chunks):
        tets, others = [], []
        for c in cells:
            vs = conn[offsets[c]:offsets[c + 1]]
            if types[c] == TET and len(vs) == 4 and len(set(vs)) == 4:
                tets.append(tuple(vs))
            else:
                others.append((types[c], list(vs)))
        extra = lone if ci == len(chunks) - 1 else []
        stream, n = encode_chunk(tets, others, extra, bits, width)
        table += struct.pack("<QQQQQ", len(stream), n, len(tets), len(others), sum(len(c) for _, c in others))
        streams += stream
    head = struct.pack("<QB7xQQII", N, 1 if width == 32 else 2, M, len(conn), len(chunks), 0)
    assert len(head) == HEADER - 8
    return head + struct.pack("<Q", 0) + table + streams


def decode_section(payload):
    """Returns (N, width, chunks), chunks a list of (gids, point bits, cells) in table order."""
    N, ptype, M, conn_len, K, _ = struct.unpack_from("<QB7xQQII", payload, 0)
    width = 32 if ptype == 1 else 64
    pos = HEADER + ENTRY * K
    out = []
    if ptype not in (1, 2) or K < 1 or N < 1:
        raise FormatError("bad header")
    for k in range(K):
        size, n, t, c, g = struct.unpack_from("<QQQQQ", payload, HEADER + ENTRY * k)
        if size < 5 or t > 1 << 19 or n > N or (t and n < 4) or n + t + c + g > 400 * size:
            raise FormatError("chunk %d: table entry out of limits" % k)
        out.append(decode_chunk(payload[pos:pos + size], n, t, c, g, N, width))
        pos += size
    if pos != len(payload):
        raise FormatError("trailing bytes")
    tables = [struct.unpack_from("<QQQQQ", payload, HEADER + ENTRY * k) for k in range(K)]
    if sum(e[2] + e[3] for e in tables) != M or sum(4 * e[2] + e[4] for e in tables) != conn_len:
        raise FormatError("the chunk table does not add up to the header's counts")
    return N, width, out


def whole_mesh(payload):
    """The decoded mesh: point bits per global id, and cells (type, [global ids]) in file order."""
    N, width, chunks = decode_section(payload)
    pts = [None] * N
    cells = []
    for gids, xyz, cs in chunks:
        for g, b in zip(gids, xyz):
            if pts[g] is not None and pts[g] != b:
                raise FormatError("point %d differs between chunks" % g)
            pts[g] = b
        cells += [(kind, [gids[v] for v in vs]) for kind, vs in cs]
    if any(p is None for p in pts):
        raise FormatError("a point is in no chunk")
    return width, pts, cells


def index_grid(lo, hi, points, per_axis=None):
    """MESHX's splits as the Swift writer chooses them (MeshChunkIndex.grid): boxes of about equal
    edge over [lo, hi], about points / 1024 in all; `per_axis` boxes on every axis instead."""
    extent = [h - l if h > l else 0.0 for l, h in zip(lo, hi)]
    axes = [e for e in extent if e > 0]
    if not axes:
        return [[], [], []]
    if per_axis is not None:
        counts = [per_axis if e > 0 else 1 for e in extent]
    else:
        edge = (math.prod(axes) / max(1, points // 1024)) ** (1.0 / len(axes))
        while True:
            counts = [max(1, min(1024, int(math.floor(e / edge + 0.5)))) if e > 0 else 1 for e in extent]
            edge *= 1.25
            if math.prod(counts) <= 1 << 20:
                break
    splits = []
    for a in range(3):
        axis = []
        for i in range(1, counts[a]):
            v = lo[a] + extent[a] * i / counts[a]
            if not axis or v > axis[-1]:
                axis.append(v)
        splits.append(axis)
    return splits


def index_box(p, splits):
    """The box of point p: per axis the number of splits <= its coordinate."""
    index, scale = 0, 1
    for a in range(3):
        index += bisect.bisect_right(splits[a], p[a]) * scale
        scale *= len(splits[a]) + 1
    return index


def index_section(payload, per_axis=None):
    """The MESHX section (type 10, format 1.5) of a MESHC payload: the grid over the points'
    bounding box (index_grid) and per chunk the boxes its points lie in."""
    N, width, chunks = decode_section(payload)
    xyz = [[[from_bits(b, width) for b in p] for p in bits] for _, bits, _ in chunks]
    every = [p for c in xyz for p in c]
    lo = [min(p[a] for p in every) for a in range(3)]
    hi = [max(p[a] for p in every) for a in range(3)]
    splits = index_grid(lo, hi, N, per_axis)
    out = struct.pack("<I", len(chunks)) + struct.pack("<3I", *[len(x) + 1 for x in splits])
    for x in splits:
        out += struct.pack("<%dd" % len(x), *x)
    for c in xyz:
        boxes = sorted({index_box(p, splits) for p in c})
        out += struct.pack("<I%dI" % len(boxes), len(boxes), *boxes)
    return out


def dump_chunks(payload, f):
    """The decoded chunks as text, for the C tests: `meshc N WIDTH K`, then per chunk
    `chunk INDEX POINTS CELLS ENTRIES`, its points `p GID XBITS YBITS ZBITS` (hex bit patterns of
    the stored type) and its cells `c TYPE V...` (chunk-local point indices), in decoded order."""
    N, width, chunks = decode_section(payload)
    f.write("meshc %d %d %d\n" % (N, width, len(chunks)))
    for k, (gids, xyz, cells) in enumerate(chunks):
        f.write("chunk %d %d %d %d\n" % (k, len(gids), len(cells), sum(len(v) for _, v in cells)))
        for g, b in zip(gids, xyz):
            f.write("p %d %x %x %x\n" % (g, b[0], b[1], b[2]))
        for kind, vs in cells:
            f.write("c %d %s\n" % (kind, " ".join(map(str, vs))))


def encode_raw(src, dst, chunk_cells):
    """The payload of a mesh given as raw arrays (the input of benchmarks/mesh and of the Swift
    test that compares the Swift writer with this coder): u64 N, M, L, precision (1 f32, 2 f64),
    f64 points[3N], u8 types[M], i64 offsets[M + 1], i64 connectivity[L]."""
    data = open(src, "rb").read()
    N, M, L, prec = struct.unpack_from("<4Q", data, 0)
    pos = 32
    pts = struct.unpack_from("<%dd" % (3 * N), data, pos)
    pos += 24 * N
    types = list(data[pos:pos + M])
    pos += M
    offsets = list(struct.unpack_from("<%dq" % (M + 1), data, pos))
    pos += 8 * (M + 1)
    conn = list(struct.unpack_from("<%dq" % L, data, pos))
    P = [list(pts[3 * i:3 * i + 3]) for i in range(N)]
    payload = encode_section(P, 32 if prec == 1 else 64, types, offsets, conn, chunk_cells)
    open(dst, "wb").write(payload)


def main():
    import argparse
    import time
    from make_test_mci import read_vtu_appended
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("vtu", help="a .vtu (appended raw, zlib) or, with --encode-raw OUT, a raw-arrays file")
    p.add_argument("--encode-raw", metavar="OUT", help="write the MESHC payload of the raw arrays in VTU to OUT")
    p.add_argument("--chunk-cells", type=int, default=65536)
    p.add_argument("--f64", action="store_true")
    a = p.parse_args()
    if a.encode_raw:
        encode_raw(a.vtu, a.encode_raw, a.chunk_cells)
        return
    pts, conn, offs, types = read_vtu_appended(a.vtu)
    width = 64 if a.f64 else 32
    P = [[pts[3 * i + j] for j in range(3)] for i in range(len(pts) // 3)]
    offsets = [0] + list(offs)
    t0 = time.time()
    payload = encode_section(P, width, list(types), offsets, list(conn), a.chunk_cells)
    t1 = time.time()
    w, bits, cells = whole_mesh(payload)
    t2 = time.time()
    M = len(types)
    print("%d points, %d cells: %d bytes, %.3f bytes/cell (encode %.1f s, decode %.1f s)" %
          (len(P), M, len(payload), len(payload) / M, t1 - t0, t2 - t1))
    assert [[from_bits(b, width) for b in q] for q in bits] == P
    orig = sorted((types[c], tuple(conn[offsets[c]:offsets[c + 1]])) for c in range(M))
    assert sorted((k, tuple(v)) for k, v in cells) == orig
    print("round trip ok")


if __name__ == "__main__":
    main()
