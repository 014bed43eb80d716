#!/usr/bin/env bash
# examples/make_paper_scale.py, checked with ParaView's VTK (the reference reader): a small case,
# plain and --pieces 3 (and --compress zlib --index-type Int32); point and cell counts as printed,
# every array's components and tuples, finite values, only tetrahedra, all of positive volume,
# the pieces' cells add up to the plain file's and carry the same values, and the same seed gives
# byte-identical files (a different seed does not). Prints 'ok ...' lines; non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
if ! "$PY" -c "import vtk, numpy" 2>/dev/null; then
    echo "-- paper-scale generator: skipped (no ParaView VTK for $PY)"; exit 0
fi
TMP="$(mktemp -d /tmp/mcinr-paper-scale.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
GEN=(examples/make_paper_scale.py --points 3000 --steps 3 --quiet)
"$PY" "${GEN[@]}" "$TMP/plain" > "$TMP/plain.txt"
"$PY" "${GEN[@]}" "$TMP/again" --threads 1 > /dev/null
"$PY" "${GEN[@]}" "$TMP/seed2" --seed 2 > /dev/null
"$PY" "${GEN[@]}" "$TMP/pieces" --pieces 3 > "$TMP/pieces.txt"
"$PY" "${GEN[@]}" "$TMP/zlib" --pieces 2 --compress zlib --index-type Int32 \
    --variables velocity,concentration,tracer > "$TMP/zlib.txt"
"$PY" examples/make_paper_scale.py --help | grep -q -- "--preset" || { echo "FAIL: --help"; exit 1; }

"$PY" - "$TMP" <<'EOF'
import glob, os, re, sys, xml.etree.ElementTree as ET
import numpy as np
import vtk
from vtk.util.numpy_support import vtk_to_numpy

tmp = sys.argv[1]
fails = []

def check(cond, msg, quiet=False):
    if not cond or not quiet:
        print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        fails.append(msg)

COMPS = {"velocity": 3, "vorticity": 3, "concentration": 1, "pressure": 1, "multiscale": 1, "temperature": 1, "tracer": 1}

def printed(case):
    text = open(os.path.join(tmp, case + ".txt")).read()
    m = re.search(r"(\d+) points, (\d+) tets, (\d+) steps, (\d+) components, (\d+) pieces", text)
    return tuple(int(g) for g in m.groups()), text

def pvd_files(case):
    root = ET.parse(os.path.join(tmp, case, "series.pvd")).getroot()
    return [(float(d.get("timestep")), os.path.join(tmp, case, d.get("file"))) for d in root.iter("DataSet")]

def read(path):
    r = vtk.vtkXMLPUnstructuredGridReader() if path.endswith(".pvtu") else vtk.vtkXMLUnstructuredGridReader()
    r.SetFileName(path)
    r.Update()
    if r.GetErrorCode() != 0:
        raise RuntimeError(f"VTK could not read {path}")
    return r.GetOutput()

def grid_checks(case, g, path, npts, ncells, names, time):
    tag = f"{case}/{os.path.basename(path)}"
    nfail = len(fails)
    check(g.GetNumberOfPoints() == npts and g.GetNumberOfCells() == ncells,
          f"{tag}: {g.GetNumberOfPoints()} points, {g.GetNumberOfCells()} cells as printed ({npts}, {ncells})", True)
    types = vtk_to_numpy(g.GetCellTypesArray())
    check(bool((types == vtk.VTK_TETRA).all()), f"{tag}: all cells are tetrahedra", True)
    pts = vtk_to_numpy(g.GetPoints().GetData()).astype(np.float64)
    conn = vtk_to_numpy(g.GetCells().GetConnectivityArray()).reshape(-1, 4)
    offs = vtk_to_numpy(g.GetCells().GetOffsetsArray())
    check(bool((np.diff(offs) == 4).all()) and conn.min() >= 0 and conn.max() < npts, f"{tag}: 4 valid point ids per cell", True)
    a, b, c, d = (pts[conn[:, q]] for q in range(4))
    vol = np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a) / 6
    check(bool((vol > 0).all()), f"{tag}: every tet has a positive volume (min {vol.min():.3g})", True)
    pd = g.GetPointData()
    got = sorted(pd.GetArrayName(i) for i in range(pd.GetNumberOfArrays()))
    check(got == sorted(names), f"{tag}: arrays {got}", True)
    for n in names:
        arr = pd.GetArray(n)
        v = vtk_to_numpy(arr)
        check(arr.GetNumberOfComponents() == COMPS[n] and arr.GetNumberOfTuples() == npts and np.isfinite(v).all()
              and arr.GetDataType() == vtk.VTK_FLOAT,
              f"{tag}: {n}: {arr.GetNumberOfComponents()} components x {arr.GetNumberOfTuples()} tuples, Float32, finite", True)
    if time is not None:
        tv = g.GetFieldData().GetArray("TimeValue")
        check(tv is not None and tv.GetValue(0) == time, f"{tag}: TimeValue {time}", True)
    if len(fails) == nfail:
        print(f"ok   {tag}: {npts} points, {ncells} cells as printed, all tetrahedra of positive volume (min {vol.min():.2g}), "
              f"{len(names)} Float32 arrays with the right components and tuples, finite, TimeValue {time}")
    return pts, pd

# plain
(npts, ncells, steps, ncomp, npieces), _ = printed("plain")
files = pvd_files("plain")
check(len(files) == steps and [t for t, _ in files] == list(np.linspace(0, 1, steps)), f"plain: .pvd lists {steps} steps, t = 0..1")
check(sum(COMPS.values()) == ncomp == 11, "plain: 11 components by default")
plain = []
for t, path in files:
    pts, pd = grid_checks("plain", read(path), path, npts, ncells, list(COMPS), t)
    plain.append((pts, {n: vtk_to_numpy(pd.GetArray(n)).copy() for n in COMPS}))
for n in COMPS:
    series = np.stack([f[n] for _, f in plain])
    check(float(np.ptp(series)) > 0 and not np.array_equal(series[0], series[-1]), f"plain: {n} varies in space and time")

# pieces: each piece alone, then the .pvtu together
(pn, pc, ps, _, pp), text = printed("pieces")
check((pn, pc, ps, pp) == (npts, ncells, steps, 3), "pieces: same mesh and steps as plain, 3 pieces")
per = [int(x) for x in re.search(r"pieces \(points cells\): ([\d ]+)", text).group(1).split()]
check(sum(per[1::2]) == ncells, f"pieces: the pieces' cells add up to the plain file's ({sum(per[1::2])})")
files = pvd_files("pieces")
check(len(files) == steps and all(p.endswith(".pvtu") for _, p in files), "pieces: the .pvd lists .pvtu files")
for s, (t, path) in enumerate(files):
    srcs = [os.path.join(os.path.dirname(path), e.get("Source")) for e in ET.parse(path).getroot().iter("Piece")]
    check(len(srcs) == 3, f"pieces/{os.path.basename(path)}: 3 pieces")
    ref_pts, ref = plain[s]
    key = {tuple(p): i for i, p in enumerate(ref_pts)}
    for q, src in enumerate(srcs):
        pts, pd = grid_checks("pieces", read(src), src, per[2 * q], per[2 * q + 1], list(COMPS), t)
        idx = np.array([key.get(tuple(p), -1) for p in pts])
        same = (idx >= 0).all() and all(np.array_equal(vtk_to_numpy(pd.GetArray(n)), ref[n][idx]) for n in COMPS)
        check(bool(same), f"pieces/{os.path.basename(src)}: points and values are the plain file's")
    g = read(path)
    check(g.GetNumberOfCells() == ncells, f"pieces/{os.path.basename(path)}: vtkXMLPUnstructuredGridReader: {g.GetNumberOfCells()} cells together")

# zlib + Int32 + a subset, read by VTK
(zn, zc, zs, zcomp, zp), _ = printed("zlib")
check((zn, zc, zp, zcomp) == (npts, ncells, 2, 5), "zlib: same mesh, 2 pieces, 5 components")
for s, (t, path) in enumerate(pvd_files("zlib")):
    g = read(path)
    names = ["velocity", "concentration", "tracer"]
    ref_pts, ref = plain[s]
    pd = g.GetPointData()
    ok = g.GetNumberOfCells() == ncells and all(
        np.isfinite(vtk_to_numpy(pd.GetArray(n))).all() and pd.GetArray(n).GetNumberOfComponents() == COMPS[n] for n in names)
    check(ok, f"zlib/{os.path.basename(path)}: compressed Int32 pieces read, {g.GetNumberOfCells()} cells, finite")
    key = {tuple(p): i for i, p in enumerate(ref_pts)}
    for src in sorted(glob.glob(os.path.join(tmp, "zlib", os.path.basename(path)[:-5], "*.vtu"))):
        g = read(src)
        pts, pd = grid_checks("zlib", g, src, g.GetNumberOfPoints(), g.GetNumberOfCells(), names, t)
        idx = np.array([key.get(tuple(p), -1) for p in pts])
        same = (idx >= 0).all() and all(np.array_equal(vtk_to_numpy(pd.GetArray(n)), ref[n][idx]) for n in names)
        check(bool(same), f"zlib/{os.path.basename(src)}: points and values are the plain file's")

# determinism
def tree(case):
    root = os.path.join(tmp, case)
    return {os.path.relpath(p, root): open(p, "rb").read() for p in glob.glob(os.path.join(root, "**", "*"), recursive=True) if os.path.isfile(p)}
a, b, c = tree("plain"), tree("again"), tree("seed2")
check(a == b, f"same seed (--threads 1 and the default): {len(a)} byte-identical files")
check(a.keys() == c.keys() and any(a[k] != c[k] for k in a), "another seed: different files")
check(not glob.glob(os.path.join(tmp, "**", ".*tmp-*"), recursive=True), "no temporary files left")
if fails:
    print(f"test_make_paper_scale: {len(fails)} check(s) failed")
    sys.exit(1)
print("ok test_make_paper_scale: all checks passed")
EOF
