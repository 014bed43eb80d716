#!/usr/bin/python3
"""Synthetic multi-scale, time-varying dataset on an unstructured tetrahedral mesh.

    /usr/bin/python3 examples/make_analytic.py OUTDIR [--nx 40 --ny 20 --nz 20 --steps 8]

Writes OUTDIR/analytic.pvd and OUTDIR/analytic_0000.vtu … (VTK XML UnstructuredGrid, appended
raw data, zlib blocks, UInt64 headers), readable by ParaView and by mcinr-vtk. Needs only
numpy (Debian: python3-numpy, installed by scripts/setup); no VTK.

Mesh: a box [0,2]×[0,1]×[0,1] with nx×ny×nz points, interior points jittered (deterministic
seed), every hexahedron split into 6 tetrahedra along its main diagonal (a conforming mesh).
Default: 16 000 points, 84 474 tets, 8 steps, t ∈ [0, 1].

Point data, Float32, chosen to have features at several scales that move in time:
  velocity (3)  a vortex whose axis drifts in x, plus a weak small-scale ripple
  pressure      a smooth large-scale mode plus a narrow Gaussian pulse travelling on a helix
  temperature   a sharp front (width ~ 2 cells) sweeping in x, with a fine ripple behind it
  tracer        a blob that is advected and stretched, values in [0, 1]
Every step also holds a TimeValue field-data array. Every file is written to a temporary name
in OUTDIR and renamed.
"""
import argparse
import os
import sys
import zlib

import numpy as np

VTK_TETRA = 10
BLOCK_SIZE = 32768
# A hexahedron (corners v0..v7 in VTK order) split into 6 tetrahedra around its diagonal v0-v6;
# conforming across neighbouring hexes. Shared with examples/make_paper_scale.py.
HEX_TETS = ((0, 1, 2, 6), (0, 2, 3, 6), (0, 3, 7, 6), (0, 7, 4, 6), (0, 4, 5, 6), (0, 5, 1, 6))


def build_mesh(nx, ny, nz, jitter, seed):
    xs, ys, zs = np.linspace(0, 2, nx), np.linspace(0, 1, ny), np.linspace(0, 1, nz)
    z, y, x = np.meshgrid(zs, ys, xs, indexing="ij")           # point id = i + nx*(j + ny*k)
    pts = np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1)
    rng = np.random.default_rng(seed)
    h = np.array([xs[1] - xs[0], ys[1] - ys[0], zs[1] - zs[0]])
    k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    interior = ((i > 0) & (i < nx - 1) & (j > 0) & (j < ny - 1) & (k > 0) & (k < nz - 1)).ravel()
    pts[interior] += rng.uniform(-jitter, jitter, (interior.sum(), 3)) * h
    # Hexahedron corners v0..v7 (VTK order), 6 tets around the diagonal v0-v6.
    ii, jj, kk = np.meshgrid(np.arange(nx - 1), np.arange(ny - 1), np.arange(nz - 1), indexing="ij")
    ii, jj, kk = ii.ravel(), jj.ravel(), kk.ravel()
    pid = lambda a, b, c: a + nx * (b + ny * c)
    v = np.stack([pid(ii, jj, kk), pid(ii + 1, jj, kk), pid(ii + 1, jj + 1, kk), pid(ii, jj + 1, kk),
                  pid(ii, jj, kk + 1), pid(ii + 1, jj, kk + 1), pid(ii + 1, jj + 1, kk + 1), pid(ii, jj + 1, kk + 1)], axis=1)
    tets = np.concatenate([v[:, list(t)] for t in HEX_TETS], axis=0)
    # Positive orientation (VTK's convention) for every tet.
    a, b, c, d = (pts[tets[:, q]] for q in range(4))
    neg = np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a) < 0
    tets[neg] = tets[neg][:, [1, 0, 2, 3]]
    return pts, tets


def fields(pts, t):
    x, y, z = pts[:, 0], pts[:, 1], pts[:, 2]
    # Vortex around an axis parallel to z that drifts from x=0.5 to x=1.5.
    cx, cy = 0.5 + t, 0.5
    dx, dy = x - cx, y - cy
    r2 = dx * dx + dy * dy
    swirl = 4.0 * np.exp(-r2 / 0.05)
    ripple = 0.05 * np.sin(25 * x) * np.sin(20 * z)
    velocity = np.stack([-dy * swirl + 0.3 + ripple, dx * swirl + ripple,
                         0.2 * np.sin(2 * np.pi * (z - t)) * np.exp(-r2 / 0.2)], axis=1)
    # Large-scale mode + a narrow pulse moving on a helix.
    px, py, pz = 0.4 + 1.2 * t, 0.5 + 0.3 * np.cos(2 * np.pi * t), 0.5 + 0.3 * np.sin(2 * np.pi * t)
    pulse = np.exp(-((x - px) ** 2 + (y - py) ** 2 + (z - pz) ** 2) / 0.004)
    pressure = np.cos(np.pi * x / 2) * np.cos(np.pi * y) + 2.0 * pulse
    # A sharp front sweeping in x (width 0.04, about 2 cells), rippled behind it.
    front = 0.2 + 1.6 * t + 0.1 * np.sin(2 * np.pi * y) * np.cos(np.pi * z)
    s = 0.5 * (1 + np.tanh((front - x) / 0.04))
    temperature = 0.3 + 0.7 * s + 0.05 * s * np.sin(40 * y) * np.sin(30 * z)
    # A blob carried by the drift and stretched by the vortex.
    bx = 0.3 + 1.2 * t
    ang = 3.0 * t * np.exp(-r2 / 0.05)
    rx = cx + dx * np.cos(ang) - dy * np.sin(ang)
    ry = cy + dx * np.sin(ang) + dy * np.cos(ang)
    tracer = np.exp(-((rx - bx) ** 2 / 0.02 + (ry - 0.35) ** 2 / 0.005 + (z - 0.5) ** 2 / 0.05))
    return [("velocity", velocity), ("pressure", pressure), ("temperature", temperature), ("tracer", tracer)]


def encode(array, compress):
    raw = np.ascontiguousarray(array).tobytes()
    if not compress:
        return np.array([len(raw)], "<u8").tobytes() + raw
    blocks = [zlib.compress(raw[o:o + BLOCK_SIZE], 6) for o in range(0, len(raw), BLOCK_SIZE)]
    header = [len(blocks), BLOCK_SIZE, len(raw) % BLOCK_SIZE] + [len(b) for b in blocks]
    return np.array(header, "<u8").tobytes() + b"".join(blocks)


def write_atomic(path, data):
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_vtu(path, pts, tets, arrays, time, compress):
    blobs, offset, lines = [], 0, []

    def add(xml_open, data):
        nonlocal offset
        blob = encode(data, compress)
        lines.append(f'{xml_open} format="appended" offset="{offset}"/>')
        blobs.append(blob)
        offset += len(blob)

    head = ['<?xml version="1.0"?>',
            '<VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64"'
            + (' compressor="vtkZLibDataCompressor">' if compress else '>'),
            '  <UnstructuredGrid>', '    <FieldData>']
    add('      <DataArray type="Float64" Name="TimeValue" NumberOfTuples="1"', np.array([time], "<f8"))
    head += lines; lines = []
    head += ['    </FieldData>', f'    <Piece NumberOfPoints="{len(pts)}" NumberOfCells="{len(tets)}">', '      <PointData>']
    for name, a in arrays:
        comps = f' NumberOfComponents="{a.shape[1]}"' if a.ndim == 2 else ""
        add(f'        <DataArray type="Float32" Name="{name}"{comps}', a.astype("<f4"))
    head += lines; lines = []
    head += ['      </PointData>', '      <Points>']
    add('        <DataArray type="Float32" Name="Points" NumberOfComponents="3"', pts.astype("<f4"))
    head += lines; lines = []
    head += ['      </Points>', '      <Cells>']
    add('        <DataArray type="Int64" Name="connectivity"', tets.astype("<i8").ravel())
    add('        <DataArray type="Int64" Name="offsets"', np.arange(4, 4 * len(tets) + 1, 4, dtype="<i8"))
    add('        <DataArray type="UInt8" Name="types"', np.full(len(tets), VTK_TETRA, "u1"))
    head += lines
    head += ['      </Cells>', '    </Piece>', '  </UnstructuredGrid>', '  <AppendedData encoding="raw">', '   _']
    data = "\n".join(head).encode() + b"".join(blobs) + b"\n  </AppendedData>\n</VTKFile>\n"
    write_atomic(path, data)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("outdir")
    p.add_argument("--nx", type=int, default=40)
    p.add_argument("--ny", type=int, default=20)
    p.add_argument("--nz", type=int, default=20)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--t-end", type=float, default=1.0, help="last time (first is 0)")
    p.add_argument("--jitter", type=float, default=0.25, help="interior point jitter, fraction of a cell")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--name", default="analytic")
    p.add_argument("--no-compress", action="store_true")
    a = p.parse_args(argv)
    if min(a.nx, a.ny, a.nz) < 2 or a.steps < 1 or not 0 <= a.jitter < 0.5:
        p.error("need nx, ny, nz >= 2, steps >= 1, 0 <= jitter < 0.5")
    os.makedirs(a.outdir, exist_ok=True)
    pts, tets = build_mesh(a.nx, a.ny, a.nz, a.jitter, a.seed)
    times = np.linspace(0, a.t_end, a.steps) if a.steps > 1 else np.array([0.0])
    entries = []
    for s, t in enumerate(times):
        name = f"{a.name}_{s:04d}.vtu"
        write_vtu(os.path.join(a.outdir, name), pts, tets, fields(pts, t), float(t), not a.no_compress)
        entries.append(f'    <DataSet timestep="{float(t)!r}" group="" part="0" file="{name}"/>')
    pvd = ['<?xml version="1.0"?>', '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">',
           '  <Collection>'] + entries + ['  </Collection>', '</VTKFile>', '']
    write_atomic(os.path.join(a.outdir, f"{a.name}.pvd"), "\n".join(pvd).encode())
    print(f"make_analytic: {len(pts)} points, {len(tets)} tets, {len(times)} steps -> {os.path.join(a.outdir, a.name + '.pvd')}")


if __name__ == "__main__":
    sys.exit(main())
