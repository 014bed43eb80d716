#!/usr/bin/python3
"""Paper-scale synthetic simulation series on a refined tetrahedral mesh, fast and streaming.

    /usr/bin/python3 examples/make_paper_scale.py OUTDIR --preset paper-2
    /usr/bin/python3 examples/make_paper_scale.py OUTDIR --points 2000000 --steps 24 \\
        --variables velocity,concentration,multiscale --pieces 4

Writes OUTDIR/NAME.pvd listing one VTK XML UnstructuredGrid per step (NAME_0000.vtu, ...,
appended raw binary data, UInt64 headers), or with --pieces P one NAME_0000.pvtu per step whose
P pieces NAME_0000/NAME_0000_p.vtu each hold a spatial slab of the cells with their own points
(VTK's partitioned format, as parallel simulations write it). Readable by ParaView and, for the
plain .pvd of .vtu, by mcinr-vtk. Needs only numpy (no VTK). It is the input of the memory,
MPI and quality benchmarks (issue 16).

The MC-INR paper's datasets are 1.28 M points x 30 steps x 11 variables, 5.25 M x 30 x 4 and
12.4 M x 5 x 8 (38 to 158 M point-steps); the presets reproduce those shapes:

    preset    points    steps  components                                      point-steps
    small     20 000    4      all 11                                          8.0e4
    paper-1   1.28 M    30     all 11                                          3.8e7
    paper-2   5.25 M    30     velocity(3) + concentration                     1.6e8
    paper-3   12.4 M    5      velocity(3) + vorticity(3) + concentration
                               + pressure                                      6.2e7

--points, --steps and --variables given with a preset override it.

Mesh: the box [0,2]x[0,1]x[0,1], nx x ny x nz points with nx = 2(ny-1)+1, ny = nz chosen so
that the count is close to --points (the actual count is printed), graded (spacing 0.7x the
mean in the middle of each axis, 1.3x at the walls), interior points jittered by up to
--jitter of a cell in each direction (deterministic in --seed), every hexahedron split into 6
tetrahedra (the table examples/make_analytic.py uses): about 6 tets per point. Every tet is
checked to have a positive volume with the Float32 coordinates that are written. The mesh is
built once, vectorised; each step is computed in fixed chunks of points (threads, numpy
releases the GIL) into one set of Float32 arrays that is reused, then streamed to a temporary
file that is renamed: memory = the mesh + one step of fields (+ the compressed blocks of one
step with --compress zlib).

Point data (Float32), t in [0, 1] over the steps; the features are thin compared with the mesh
spacing at paper scale and do not depend on the resolution:
  velocity (3)       two counter-rotating Lamb-Oseen vortices (axes along z, drifting, cores
                     spreading in time) on an unsteady ABC (Beltrami) background flow
  vorticity (3)      the exact curl of velocity
  concentration      a moving front 0.5(1 + tanh(-phi/w)), w = --front-width (0.01, about one
                     cell at 1.3 M points), wrinkled at two scales, sweeping x from 0.2 to 1.8
  pressure           smooth: a large-scale mode breathing in time minus the vortices' core dips
  multiscale         5 octaves (wavelengths 0.67 down to 0.04) of 3 plane waves each, random
                     seeded directions and phases, each octave moving at its own speed
  temperature        a spherical blast wave: a sharp shock (width 0.004) expanding from
                     (1.4, 0.5, 0.5) with a decaying hot tail behind it
  tracer             spiral arms wound up by the first vortex (fine, tightening structure)
Every step also holds a TimeValue field-data array; the .pvd gives the times.

Cost: about 270-300 bytes are written per point and step (connectivity 6 tets x 4 x 8 bytes,
offsets, types and points repeated in every step, then 4 bytes per component), so 10^8
point-steps is about 27 GB of .vtu (about 16 GB with --index-type Int32); the fields take a few
percent of the time (numpy's SIMD transcendentals), writing the rest. Measured on this project's
2-core, 23 GB machine (numpy 1.24, 2 threads, a virtual disk that sustains 1.3 GB/s with
fdatasync), /usr/bin/time -v:
    428 k points x 24 steps x 11 comp. (1.03e7 point-steps, 3.0 GB)   6-9 s, 1.1-1.7e6 pt-steps/s, 0.21 GB RSS
    2.11 M points x 5 steps x 11 comp. (1.06e7 point-steps, 3.1 GB)   7.0 s, 1.5e6 pt-steps/s, 0.71 GB RSS
    paper-2 mesh (5.24 M points, 30.9 M tets), 1 step (1.4 GB)         4.4 s (mesh 3.6 s), 1.46 GB RSS
    428 k x 24 x 11, --pieces 4 --index-type Int32 (1.8 GB)            7.3 s, 0.18 GB RSS
    428 k x 4 x 11, --compress zlib (0.13 GB instead of 0.5 GB)         5.7 s (mesh compressed once: 3 s)
Extrapolated: 10^8 point-steps (paper-2: 1.6e8, 43 GB) takes about 27 GB / 1.3 GB/s ~ 0.5 min of
writing per 10^8 plus the fields, i.e. 1-3 minutes at this disk's speed and still under 10
minutes at 100 MB/s: well under 30 minutes. Peak RSS = mesh (~40 bytes per tet, ~0.27 GB per
million points) + one step (4 bytes per point and component): 1.5 GB for paper-2, ~3.5 GB for
paper-3. The part of the run that is not page cache scales linearly with the written bytes.

Determinism: the same arguments (incl. --seed) give byte-identical files on the same machine
and numpy version, whatever --threads (chunk boundaries are fixed).
"""
import argparse
import math
import os
import re
import shutil
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_analytic import HEX_TETS, VTK_TETRA, encode as zlib_encode  # noqa: E402

# name -> number of components, in file order
VARIABLES = {"velocity": 3, "vorticity": 3, "concentration": 1, "pressure": 1,
             "multiscale": 1, "temperature": 1, "tracer": 1}
PRESETS = {
    "small": dict(points=20_000, steps=4, variables=list(VARIABLES)),
    "paper-1": dict(points=1_280_000, steps=30, variables=list(VARIABLES)),
    "paper-2": dict(points=5_250_000, steps=30, variables=["velocity", "concentration"]),
    "paper-3": dict(points=12_400_000, steps=5, variables=["velocity", "vorticity", "concentration", "pressure"]),
}
CHUNK = 1 << 17               # points per field chunk: fixed, so the output does not depend on --threads
GRADING = 0.3                 # spacing = (1 - GRADING cos 2 pi u) x mean along each axis
BOX = (2.0, 1.0, 1.0)


# ---------------------------------------------------------------- mesh

def grid_shape(points):
    """nx = 2 ny - 1, nz = ny (cells roughly cubic on the 2x1x1 box), nx*ny*nz ~ points."""
    best = None
    m0 = max(2, int(round((points / 2) ** (1 / 3))))
    for m in range(max(2, m0 - 2), m0 + 3):
        n = (2 * m - 1) * m * m
        if best is None or abs(n - points) < abs(best[0] * best[1] * best[2] - points):
            best = (2 * m - 1, m, m)
    return best


def graded(u, length):
    """Monotone map [0,1] -> [0,length], denser in the middle (slope 1 -/+ GRADING)."""
    return length * (u - GRADING * np.sin(2 * np.pi * u) / (2 * np.pi))


def oriented_table():
    """HEX_TETS with each tet's first two corners swapped where the unit cube's tet is negative."""
    cube = np.array([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1)], float)
    out = []
    for t in HEX_TETS:
        a, b, c, d = cube[list(t)]
        out.append((t[1], t[0], t[2], t[3]) if np.dot(np.cross(b - a, c - a), d - a) < 0 else t)
    return np.array(out)


def build_points(nx, ny, nz, jitter, seed):
    """Float32 points, id = i + nx*(j + ny*k). A point is jittered along an axis only where it is
    not on a wall normal to that axis, so wall points slide within their wall, edges stay edges."""
    rng = np.random.default_rng(seed)
    n = nx * ny * nz
    pts = np.empty((n, 3), np.float32)
    for axis, (count, length) in enumerate(zip((nx, ny, nz), BOX)):
        shape = [1, 1, 1]
        shape[2 - axis] = count           # arrays are indexed [k, j, i]
        u = np.broadcast_to((np.arange(count, dtype=np.float64) / (count - 1)).reshape(shape), (nz, ny, nx))
        u = u.ravel().copy()
        idx = np.broadcast_to(np.arange(count).reshape(shape), (nz, ny, nx)).ravel()
        interior = (idx > 0) & (idx < count - 1)
        u[interior] += rng.uniform(-jitter, jitter, int(interior.sum())) / (count - 1)
        pts[:, axis] = graded(u, length)
    return pts


def build_tets(nx, ny, nz, i0=0, i1=None, local=False):
    """Tets of the hexes with column index i in [i0, i1), hex-major (6 consecutive tets per hex).
    local=True numbers the points of the slab i in [i0, i1] only: (i-i0) + w*(j + ny*k)."""
    i1 = nx - 1 if i1 is None else i1
    w = (i1 - i0 + 1) if local else nx
    k, j, i = np.meshgrid(np.arange(nz - 1), np.arange(ny - 1), np.arange(i0, i1), indexing="ij")
    i = i.ravel() - (i0 if local else 0)
    base = i + w * (j.ravel() + ny * k.ravel())
    del k, j, i
    offs = np.array([0, 1, 1 + w, w, w * ny, 1 + w * ny, 1 + w + w * ny, w + w * ny])  # v0..v7
    table = offs[oriented_table()]                      # (6, 4)
    tets = base[:, None, None] + table[None, :, :]      # (nhex, 6, 4)
    return tets.reshape(-1, 4)


def slab_point_ids(nx, ny, nz, i0, i1):
    k, j, i = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(i0, i1 + 1), indexing="ij")
    return (i + nx * (j + ny * k)).ravel()


def check_volumes(pts, tets, mean_volume, chunk=1 << 18):
    """Smallest tet volume (with the Float32 coordinates), relative to the whole mesh's mean."""
    vmin = np.inf
    for s in range(0, len(tets), chunk):
        t = tets[s:s + chunk]
        a = pts[t[:, 0]].astype(np.float64)
        b, c, d = (pts[t[:, q]] - a for q in (1, 2, 3))
        v = np.einsum("ij,ij->i", np.cross(b, c), d) / 6
        vmin = min(vmin, float(v.min()))
    return vmin / mean_volume


# ---------------------------------------------------------------- fields

class Fields:
    GAMMA = (0.5, -0.35)          # vortex circulations
    ABC = (0.25, 0.2, 0.15)       # A, B, C of the background flow
    KABC = 2 * np.pi              # its wavenumber: curl u_abc = KABC u_abc

    def __init__(self, variables, seed, front_width):
        self.variables = variables
        self.w = front_width
        rng = np.random.default_rng([seed, 1])
        self.waves = []           # (kvec, phase, omega, amplitude)
        for o in range(5):
            k = 2 * np.pi * 1.5 * 2 ** o
            for _ in range(3):
                d = rng.normal(size=3)
                d /= np.linalg.norm(d)
                self.waves.append((k * d, rng.uniform(0, 2 * np.pi), 2 * np.pi * (0.5 + 0.5 * o) * rng.choice((-1, 1)),
                                   0.6 ** o / np.sqrt(3)))

    def vortices(self, t):
        return [((0.5 + 1.0 * t, 0.45 + 0.1 * np.sin(2 * np.pi * t)), np.sqrt(0.04 ** 2 + 0.0015 * t), self.GAMMA[0]),
                ((1.5 - 0.6 * t, 0.62), np.sqrt(0.06 ** 2 + 0.0010 * t), self.GAMMA[1])]

    def compute(self, p, t, out):
        """p: (n,3) float32 chunk; out: name -> (n, c) float32 views to fill."""
        x, y, z = (p[:, q].astype(np.float64) for q in range(3))
        want = out.keys()
        cache = {}

        def vort():
            if "v" not in cache:
                res = []
                for (cx, cy), rc, g in self.vortices(t):
                    dx, dy = x - cx, y - cy
                    r2 = dx * dx + dy * dy
                    e = np.exp(-r2 / (rc * rc))
                    # v_theta / r = g/(2 pi r^2) (1 - e), -> g/(2 pi rc^2) at r = 0
                    with np.errstate(invalid="ignore", divide="ignore"):
                        f = np.where(r2 > 1e-14 * rc * rc, -np.expm1(-r2 / (rc * rc)) / r2, 1 / (rc * rc)) * (g / (2 * np.pi))
                    res.append((dx, dy, r2, e, f, rc, g))
                cache["v"] = res
            return cache["v"]

        def abc():
            if "abc" not in cache:
                A, B, C = self.ABC
                k = self.KABC
                a, b, c = 2 * np.pi * t, -np.pi * t, 0.5 * np.pi * t
                sz, cz = np.sin(k * z + a), np.cos(k * z + a)
                sx, cx = np.sin(k * x + b), np.cos(k * x + b)
                sy, cy = np.sin(k * y + c), np.cos(k * y + c)
                cache["abc"] = (A * sz + C * cy, B * sx + A * cz, C * sy + B * cx)
            return cache["abc"]

        if "velocity" in want:
            u, v, w = abc()
            u, v = u + 0.3, v.copy()
            for dx, dy, r2, e, f, rc, g in vort():
                u -= dy * f
                v += dx * f
            o = out["velocity"]
            o[:, 0], o[:, 1], o[:, 2] = u, v, w
        if "vorticity" in want:
            u, v, w = abc()
            k = self.KABC
            wz = k * w
            for dx, dy, r2, e, f, rc, g in vort():
                wz = wz + g / (np.pi * rc * rc) * e
            o = out["vorticity"]
            o[:, 0], o[:, 1], o[:, 2] = k * u, k * v, wz
        if "concentration" in want:
            phi = (x - (0.2 + 1.6 * t) - 0.08 * np.sin(2 * np.pi * (2 * y + t)) * np.cos(3 * np.pi * z)
                   - 0.02 * np.sin(2 * np.pi * 7 * y) * np.sin(2 * np.pi * 6 * z + 3 * t))
            out["concentration"][:, 0] = 0.5 * (1 + np.tanh(-phi / self.w))
        if "pressure" in want:
            pr = 0.5 * np.cos(np.pi * x / 2) * np.cos(np.pi * y) * np.cos(np.pi * z / 2) * (1 + 0.3 * np.sin(2 * np.pi * t))
            pr += 0.1 * (x - 1) * (1 - t)
            for dx, dy, r2, e, f, rc, g in vort():
                pr -= 0.5 * (g / (2 * np.pi * rc)) ** 2 * np.exp(-r2 / (4 * rc * rc))
            out["pressure"][:, 0] = pr
        if "multiscale" in want:
            m = np.zeros_like(x)
            for kv, ph, om, amp in self.waves:
                m += amp * np.sin(kv[0] * x + kv[1] * y + kv[2] * z + (ph + om * t))
            out["multiscale"][:, 0] = m
        if "temperature" in want:
            R = 0.05 + 0.45 * t
            d = R - np.sqrt((x - 1.4) ** 2 + (y - 0.5) ** 2 + (z - 0.5) ** 2)
            shock = 0.5 * (1 + np.tanh(d / 0.004))
            out["temperature"][:, 0] = 1 + 1.5 * shock * (0.3 + 0.7 * np.exp(-np.maximum(d, 0) / 0.08))
        if "tracer" in want:
            dx, dy, r2, e, f, rc, g = vort()[0]
            phase = np.arctan2(dy, dx) - f * (0.6 * t)          # f = v_theta / r = angular velocity
            r = np.sqrt(r2)
            out["tracer"][:, 0] = np.exp(-((r - 0.12) / 0.08) ** 2) * 0.5 * (1 + np.cos(2 * phase)) * (0.5 + 0.5 * z)


def compute_step(fields, pts, t, bufs, pool):
    n = len(pts)

    def job(s):
        e = min(n, s + CHUNK)
        fields.compute(pts[s:e], t, {name: b[s:e] for name, b in bufs.items()})

    list(pool.map(job, range(0, n, CHUNK)))


# ---------------------------------------------------------------- writer

class Blob:
    """One appended array: raw (UInt64 byte count + the array's bytes) or zlib blocks."""

    def __init__(self, array, compress):
        a = np.ascontiguousarray(array)
        if compress:
            self.data, self.size = zlib_encode(a, True), None
            self.size = len(self.data)
        else:
            self.data, self.size = a, 8 + a.nbytes

    def write(self, f):
        if isinstance(self.data, bytes):
            f.write(self.data)
        else:
            f.write(np.array([self.data.nbytes], "<u8").tobytes())
            f.write(memoryview(self.data.reshape(-1)).cast("B"))


def tmp_name(path):
    return os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp-{os.getpid()}")


def write_vtu(path, npts, ncells, time_value, point_arrays, mesh_blobs, compress):
    """point_arrays: [(name, ncomp, Blob)]; mesh_blobs: dict points/connectivity/offsets/types -> (vtk type, Blob)."""
    items, offset = [], 0

    def add(xml, blob):
        nonlocal offset
        items.append((f'{xml} format="appended" offset="{offset}"/>', blob))
        offset += blob.size

    time_blob = Blob(np.array([time_value], "<f8"), compress)
    head = ['<?xml version="1.0"?>',
            '<VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64"'
            + (' compressor="vtkZLibDataCompressor">' if compress else '>'),
            '  <UnstructuredGrid>', '    <FieldData>']
    add('      <DataArray type="Float64" Name="TimeValue" NumberOfTuples="1"', time_blob)
    head += [items[-1][0], '    </FieldData>', f'    <Piece NumberOfPoints="{npts}" NumberOfCells="{ncells}">', '      <PointData>']
    for name, comps, blob in point_arrays:
        c = f' NumberOfComponents="{comps}"' if comps > 1 else ""
        add(f'        <DataArray type="Float32" Name="{name}"{c}', blob)
        head.append(items[-1][0])
    head += ['      </PointData>', '      <Points>']
    vt, blob = mesh_blobs["points"]
    add(f'        <DataArray type="{vt}" Name="Points" NumberOfComponents="3"', blob)
    head += [items[-1][0], '      </Points>', '      <Cells>']
    for name in ("connectivity", "offsets", "types"):
        vt, blob = mesh_blobs[name]
        add(f'        <DataArray type="{vt}" Name="{name}"', blob)
        head.append(items[-1][0])
    head += ['      </Cells>', '    </Piece>', '  </UnstructuredGrid>', '  <AppendedData encoding="raw">', '   _']
    tmp = tmp_name(path)
    with open(tmp, "wb", buffering=1 << 20) as f:
        f.write("\n".join(head).encode())
        for _, blob in items:
            blob.write(f)
        f.write(b"\n  </AppendedData>\n</VTKFile>\n")
    os.replace(tmp, path)
    return os.path.getsize(path)


def write_pvtu(path, variables, sources, compress):
    lines = ['<?xml version="1.0"?>',
             '<VTKFile type="PUnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64"'
             + (' compressor="vtkZLibDataCompressor">' if compress else '>'),
             '  <PUnstructuredGrid GhostLevel="0">', '    <PPointData>']
    for name, comps in variables:
        c = f' NumberOfComponents="{comps}"' if comps > 1 else ""
        lines.append(f'      <PDataArray type="Float32" Name="{name}"{c}/>')
    lines += ['    </PPointData>', '    <PPoints>', '      <PDataArray type="Float32" Name="Points" NumberOfComponents="3"/>',
              '    </PPoints>'] + [f'    <Piece Source="{s}"/>' for s in sources] + ['  </PUnstructuredGrid>', '</VTKFile>', '']
    write_text(path, "\n".join(lines))


def write_text(path, text):
    tmp = tmp_name(path)
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def mesh_blobs(pts, tets, index_type, compress):
    it = {"Int64": "<i8", "Int32": "<i4"}[index_type]
    conn = tets if tets.dtype == np.dtype(it) else tets.astype(it)
    return {"points": ("Float32", Blob(pts, compress)),
            "connectivity": (index_type, Blob(conn.reshape(-1), compress)),
            "offsets": (index_type, Blob(np.arange(4, 4 * len(tets) + 1, 4, dtype=it), compress)),
            "types": ("UInt8", Blob(np.full(len(tets), VTK_TETRA, "u1"), compress))}


# ---------------------------------------------------------------- main

def fmt_time(s):
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("outdir", help="output folder (created); existing files of the same names are replaced")
    p.add_argument("--preset", choices=list(PRESETS), help="a paper shape (see above) or 'small' for tests")
    p.add_argument("--points", type=int, help="approximate number of points (default 100000); the actual count is printed")
    p.add_argument("--steps", type=int, help="number of time steps, t = 0 .. --t-end (default 8)")
    p.add_argument("--variables", help=f"comma-separated subset of {','.join(VARIABLES)} (default: all, 11 components)")
    p.add_argument("--pieces", type=int, default=0, metavar="P",
                   help="write each step as a .pvtu of P .vtu pieces (spatial slabs along x, each with its own points)")
    p.add_argument("--compress", choices=("none", "zlib"), default="none",
                   help="appended data compression: none (raw, default) or zlib (VTK's block format, 32 KiB blocks, level 6; "
                        "the mesh is compressed once, the fields every step; several times slower)")
    p.add_argument("--index-type", choices=("Int64", "Int32"), default="Int64",
                   help="connectivity/offsets type (default Int64, as VTK writes; Int32 nearly halves the files)")
    p.add_argument("--t-end", type=float, default=1.0, help="time of the last step (the first is 0; the fields' motion is defined on [0,1])")
    p.add_argument("--jitter", type=float, default=0.2, help="interior point jitter, fraction of a cell, < 0.3 (default 0.2)")
    p.add_argument("--front-width", type=float, default=0.01, help="concentration front width w (default 0.01)")
    p.add_argument("--seed", type=int, default=1, help="seed of the jitter and the multiscale waves (default 1)")
    p.add_argument("--name", default="series", help="file name stem (default series: OUTDIR/series.pvd)")
    p.add_argument("--threads", type=int, default=min(os.cpu_count() or 1, 8),
                   help="threads computing the fields (default: the cores, at most 8); the output does not depend on it")
    p.add_argument("--no-space-check", action="store_true", help="write even if the estimated size exceeds the free disk space")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    a = p.parse_args(argv)

    preset = PRESETS.get(a.preset, dict(points=100_000, steps=8, variables=list(VARIABLES)))
    points = a.points if a.points is not None else preset["points"]
    steps = a.steps if a.steps is not None else preset["steps"]
    variables = a.variables.split(",") if a.variables else preset["variables"]
    bad = [v for v in variables if v not in VARIABLES]
    if bad or len(set(variables)) != len(variables) or not variables:
        p.error(f"--variables: unknown or repeated {bad or variables}; choose from {','.join(VARIABLES)}")
    variables = [v for v in VARIABLES if v in variables]          # file order
    if points < 8 or steps < 1 or not 0 <= a.jitter < 0.3 or a.front_width <= 0 or a.pieces < 0 or a.threads < 1:
        p.error("need --points >= 8, --steps >= 1, 0 <= --jitter < 0.3, --front-width > 0, --pieces >= 0, --threads >= 1")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", a.name):
        p.error("--name: letters, digits, '_', '.', '-' only")
    nx, ny, nz = grid_shape(points)
    if a.pieces > nx - 1:
        p.error(f"--pieces: at most {nx - 1} slabs for {nx} points along x")
    compress = a.compress == "zlib"
    log = (lambda *m: None) if a.quiet else (lambda *m: print("make_paper_scale:", *m, file=sys.stderr, flush=True))
    if a.index_type == "Int32" and 6 * (nx - 1) * (ny - 1) * (nz - 1) * 4 >= 2 ** 31:
        p.error("--index-type Int32: too many cells for 32-bit offsets")

    npts = nx * ny * nz
    ncells = 6 * (nx - 1) * (ny - 1) * (nz - 1)
    ncomp = sum(VARIABLES[v] for v in variables)
    isz = 8 if a.index_type == "Int64" else 4
    per_step = npts * 12 + ncells * (5 * isz + 1) + npts * 4 * ncomp
    est = per_step * steps * (1 if a.pieces == 0 else 1.02)
    os.makedirs(a.outdir, exist_ok=True)
    free = shutil.disk_usage(a.outdir).free
    log(f"{npts} points ({nx}x{ny}x{nz}), {ncells} tets, {steps} steps, {ncomp} components "
        f"({', '.join(f'{v}:{VARIABLES[v]}' for v in variables)}), {npts * steps:.3g} point-steps, "
        f"about {est / 1e9:.2f} GB{' before compression' if compress else ''} ({free / 1e9:.1f} GB free)")
    if est > free and not compress and not a.no_space_check:
        sys.exit(f"make_paper_scale: about {est / 1e9:.1f} GB needed, {free / 1e9:.1f} GB free in {a.outdir} "
                 "(--index-type Int32, --compress zlib, fewer points/steps, or --no-space-check)")

    t0 = time.time()
    pts = build_points(nx, ny, nz, a.jitter, a.seed)
    pieces = []      # (relative file name, gather ids or None, npts, ncells, mesh blobs)
    if a.pieces == 0:
        tets = build_tets(nx, ny, nz)
        rel = check_volumes(pts, tets, np.prod(BOX) / ncells)
        if not rel > 0:
            sys.exit(f"make_paper_scale: a tet has a non-positive volume ({rel:.3g} x the mean); lower --jitter")
        pieces.append((None, None, npts, len(tets), mesh_blobs(pts, tets, a.index_type, compress)))
        del tets
    else:
        rel = np.inf
        bounds = np.linspace(0, nx - 1, a.pieces + 1).round().astype(int)
        for q, (i0, i1) in enumerate(zip(bounds[:-1], bounds[1:])):
            ids = slab_point_ids(nx, ny, nz, i0, i1)
            lp = pts[ids]
            lt = build_tets(nx, ny, nz, i0, i1, local=True)
            rel = min(rel, check_volumes(lp, lt, np.prod(BOX) / ncells))
            pieces.append((q, ids, len(ids), len(lt), mesh_blobs(lp, lt, a.index_type, compress)))
            del lp, lt
        if not rel > 0:
            sys.exit(f"make_paper_scale: a tet has a non-positive volume ({rel:.3g} x the mean); lower --jitter")
    log(f"mesh built in {time.time() - t0:.1f} s (smallest tet volume {rel:.3f} x the mean)")

    fields = Fields(variables, a.seed, a.front_width)
    bufs = {v: np.empty((npts, VARIABLES[v]), np.float32) for v in variables}
    times = np.linspace(0, a.t_end, steps) if steps > 1 else np.array([0.0])
    entries, written, t_steps = [], 0, time.time()
    with ThreadPoolExecutor(a.threads) as pool:
        for s, t in enumerate(times):
            ts = time.time()
            compute_step(fields, pts, float(t), bufs, pool)
            tc = time.time() - ts
            stem = f"{a.name}_{s:04d}"
            if a.pieces == 0:
                arrays = [(v, VARIABLES[v], Blob(bufs[v], compress)) for v in variables]
                written += write_vtu(os.path.join(a.outdir, stem + ".vtu"), npts, ncells, float(t), arrays,
                                     pieces[0][4], compress)
                fname = stem + ".vtu"
            else:
                os.makedirs(os.path.join(a.outdir, stem), exist_ok=True)
                sources = []
                for q, ids, pn, pc, blobs in pieces:
                    arrays = [(v, VARIABLES[v], Blob(bufs[v][ids], compress)) for v in variables]
                    src = f"{stem}/{stem}_{q}.vtu"
                    written += write_vtu(os.path.join(a.outdir, src), pn, pc, float(t), arrays, blobs, compress)
                    sources.append(src)
                    del arrays
                fname = stem + ".pvtu"
                write_pvtu(os.path.join(a.outdir, fname), [(v, VARIABLES[v]) for v in variables], sources, compress)
            entries.append(f'    <DataSet timestep="{float(t)!r}" group="" part="0" file="{fname}"/>')
            el = time.time() - t_steps
            eta = el / (s + 1) * (steps - s - 1)
            log(f"step {s + 1}/{steps} t={float(t):.4g}: fields {tc:.1f} s, write {time.time() - ts - tc:.1f} s, "
                f"{written / 1e9:.2f} GB so far, {npts * (s + 1) / max(el, 1e-9):.3g} point-steps/s, ETA {fmt_time(eta)}")
    pvd = ['<?xml version="1.0"?>', '<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">',
           '  <Collection>'] + entries + ['  </Collection>', '</VTKFile>', '']
    out = os.path.join(a.outdir, f"{a.name}.pvd")
    write_text(out, "\n".join(pvd))
    total = time.time() - t0
    print(f"make_paper_scale: {npts} points, {ncells} tets, {steps} steps, {ncomp} components, "
          f"{a.pieces or 1} pieces, {written} bytes, {total:.1f} s -> {out}")
    if a.pieces:
        print("make_paper_scale: pieces (points cells): " + " ".join(f"{pn} {pc}" for _, _, pn, pc, _ in pieces))


if __name__ == "__main__":
    sys.exit(main())
