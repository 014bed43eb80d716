"""Tests of the installed `mcinr` package (a wheel in a fresh venv; python/tests/package.sh).

  python test_package.py --model vessel.mci vessel.npz [--model other.mci other.npz ...]
                         --workdir DIR

Each .npz is what the C++ vtkMCINRReader (ParaView plugin, cxx_reader_dump.py) gave for the
model: time steps, mesh and point arrays for several times and array selections. The numpy
API, the VTK algorithm (mcinr.vtk_reader) and pyvista.read must give exactly the same bits.
Then: bad files raise Python exceptions carrying the decoder's message (no crash), the wheel
bundles no BLAS, and a 1.3 script's OpenBLAS thread control still runs.
"""
import argparse
import json
import os
import sys
import warnings

import numpy as np

FAILURES = []


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message, flush=True)
    if not condition:
        FAILURES.append(message)
    return bool(condition)


def same(a, b):
    """Bit for bit: dtype, shape and every byte."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def load_reference(path):
    d = np.load(path)
    cases = json.loads(str(d["cases"]))
    for c in cases:
        c["values"] = {n: d["%s/%s" % (c["key"], n)] for n in c["arrays"]}
    return {"times": d["times"], "names": [str(n) for n in d["names"]], "points": d["points"],
            "types": d["types"], "offsets": d["offsets"], "connectivity": d["connectivity"], "cases": cases}


# ---- installation ----

def test_installation(args):
    import mcinr
    here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    package = os.path.realpath(os.path.dirname(mcinr.__file__))
    check(not package.startswith(os.path.dirname(here)), "mcinr is the installed package (%s)" % package)
    check(os.path.dirname(mcinr.library_path()) == package, "the bundled libmcinr.so is used: %s" % mcinr.library_path())
    # the decoder calls no BLAS (library 1.4): the wheel bundles none, and a 1.3 script's
    # `with mcinr.blas_threads(1):` still runs, with a DeprecationWarning
    libs = os.listdir(package + ".libs") if os.path.isdir(package + ".libs") else []
    check(not any("blas" in name for name in libs), "the wheel bundles no BLAS: %s" % libs)
    try:
        mcinr.blas_library_path()
        check(False, "blas_library_path raises BlasError without an OpenBLAS in libmcinr")
    except mcinr.BlasError:
        check(True, "blas_library_path raises BlasError (libmcinr links no BLAS)")
    import warnings
    ran = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with mcinr.blas_threads(1):
            ran = True
    check(ran and any(issubclass(w.category, DeprecationWarning) for w in caught),
          "blas_threads(1) runs its block with a DeprecationWarning")
    try:
        mcinr.set_blas_threads(0)
        check(False, "set_blas_threads(0) raises")
    except ValueError:
        check(True, "set_blas_threads(0) raises ValueError")


# ---- the numpy API ----

def test_numpy(mci, ref):
    import mcinr
    with mcinr.open(mci) as f:
        check(list(f.variables) == ref["names"], "numpy: variables %s" % list(f.variables))
        check(same(f.times, ref["times"]), "numpy: times equal the C++ reader's TIME_STEPS (%d)" % len(f.times))
        check(same(f.points, ref["points"]), "numpy: points equal the C++ reader's (%s %s)"
              % (f.points.dtype, f.points.shape))
        cells = f.cells
        check(same(cells.types, ref["types"]) and same(cells.offsets, ref["offsets"])
              and same(cells.connectivity, ref["connectivity"]), "numpy: cells equal the C++ reader's (%d)"
              % len(cells.types))
        lo, hi = f.bounds
        check(lo.shape == (3,) and np.all(lo <= hi), "numpy: bounds %s .. %s" % (lo, hi))
        for case in ref["cases"]:
            got = f.decode_mesh(case["time"], case["selection"], num_threads=2)
            check(list(got) == case["arrays"] and all(same(got[n], case["values"][n]) for n in case["arrays"]),
                  "numpy: decode_mesh(%r, %s) equals the C++ reader bit for bit" % (case["time"], case["selection"]))
        one = f.decode_mesh(ref["cases"][0]["time"], num_threads=1)
        check(all(same(one[n], ref["cases"][0]["values"][n]) for n in one), "numpy: one thread gives the same bits")
        # decode at arbitrary points: the mesh points at a time between steps (network alone)
        between = [c for c in ref["cases"] if c["key"] == "all-between"]
        if between:
            c = between[0]
            got = f.decode(f.points.astype(np.float64), c["time"])
            check(all(same(got[n], c["values"][n]) for n in c["arrays"]),
                  "numpy: decode(mesh points, %r) equals decode_mesh there" % c["time"])
            sub = f.decode(f.points[:7], c["time"], [ref["names"][-1]])
            check(same(sub[ref["names"][-1]], c["values"][ref["names"][-1]][:7]),
                  "numpy: decode(7 points, one variable) equals the same rows")
        bound = f.error_bound
        if f.has_residual:
            check(set(bound) == set(ref["names"]) and all(np.all(np.asarray(e) > 0) for e in bound.values()),
                  "numpy: error_bound per variable %s" % {k: np.round(v, 6).tolist() for k, v in bound.items()})
            t = ref["times"][0]
            net = f.decode_mesh(t, network_only=True)
            full = f.decode_mesh(t)
            check(any(not same(net[n], full[n]) for n in net), "numpy: the residual applies at a stored step")
        else:
            check(bound is None, "numpy: error_bound is None without a residual")
        try:
            f.decode_mesh(ref["times"][0], ["no-such-variable"])
            check(False, "numpy: an unknown variable raises KeyError")
        except KeyError as e:
            check("no-such-variable" in str(e), "numpy: an unknown variable raises KeyError")
    data = open(mci, "rb").read()
    with mcinr.open(data) as g:
        c = ref["cases"][0]
        got = g.decode_mesh(c["time"])
        check(g.path is None and all(same(got[n], c["values"][n]) for n in c["arrays"]),
              "numpy: a model opened from bytes decodes the same")


# ---- the VTK algorithm ----

def test_vtk(mci, ref):
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline as SDDP

    from mcinr.vtk_reader import vtkMCINRReader
    r = vtkMCINRReader()
    check(r.CanReadFile(mci) == 1, "vtk: CanReadFile")
    r.SetFileName(mci)
    r.SetNumberOfThreads(2)
    r.UpdateInformation()
    info = r.GetOutputInformation(0)
    steps = [info.Get(SDDP.TIME_STEPS(), i) for i in range(info.Length(SDDP.TIME_STEPS()))]
    check(same(np.array(steps), ref["times"]), "vtk: TIME_STEPS equal the C++ reader's")
    rng = [info.Get(SDDP.TIME_RANGE(), i) for i in range(2)]
    check(rng == [steps[0], steps[-1]], "vtk: TIME_RANGE")
    names = [r.GetPointArrayName(i) for i in range(r.GetNumberOfPointArrays())]
    check(names == ref["names"], "vtk: point arrays %s" % names)
    for k, case in enumerate(ref["cases"]):
        r.EnableAllPointArrays()
        if case["selection"] is not None:
            r.DisableAllPointArrays()
            for n in case["selection"]:
                r.SetPointArrayStatus(n, 1)
        ok = r.UpdateTimeStep(case["time"])
        grid = r.GetOutput()
        pd = grid.GetPointData()
        arrays = [pd.GetArrayName(i) for i in range(pd.GetNumberOfArrays())]
        vals = {n: vtk_to_numpy(pd.GetArray(n)) for n in arrays}
        check(ok and arrays == case["arrays"] and all(same(vals[n], case["values"][n]) for n in arrays),
              "vtk: UpdateTimeStep(%r) with %s equals the C++ reader bit for bit" % (case["time"], case["selection"]))
        check(r.GetDecodedTime() == case["time"]
              and grid.GetFieldData().GetArray("MCINR_time").GetValue(0) == case["time"],
              "vtk: decoded time %r (GetDecodedTime, MCINR_time)" % case["time"])
        if k == 0:
            cells = grid.GetCells()
            with warnings.catch_warnings():  # GetCellTypesArray: deprecated in VTK 9.6, the only name in 9.1
                warnings.simplefilter("ignore", DeprecationWarning)
                types = vtk_to_numpy(grid.GetCellTypesArray())
            check(same(vtk_to_numpy(grid.GetPoints().GetData()), ref["points"])
                  and same(types, ref["types"])
                  and same(vtk_to_numpy(cells.GetOffsetsArray()).astype(np.int64), ref["offsets"])
                  and same(vtk_to_numpy(cells.GetConnectivityArray()).astype(np.int64), ref["connectivity"]),
                  "vtk: points and cells equal the C++ reader's")
            check(grid.GetFieldData().GetAbstractArray("MCINR_metadata") is not None, "vtk: MCINR_metadata field data")


# ---- pyvista ----

def test_pyvista(mci, ref):
    import pyvista as pv
    from mcinr.pyvista_reader import MCINRReader
    grid = pv.read(mci)
    first = ref["cases"][0]
    check(isinstance(grid, pv.UnstructuredGrid) and grid.n_points == len(ref["points"])
          and grid.n_cells == len(ref["types"]), "pyvista: read() gives an UnstructuredGrid (%d points, %d cells)"
          % (grid.n_points, grid.n_cells))
    check(all(same(grid.point_data[n], first["values"][n]) for n in first["arrays"])
          and same(grid.points, ref["points"]), "pyvista: read() equals the C++ reader at the first step")
    reader = pv.get_reader(mci)
    check(isinstance(reader, MCINRReader), "pyvista: get_reader gives the entry point's MCINRReader")
    check(same(np.array(reader.time_values), ref["times"]) and reader.number_time_points == len(ref["times"]),
          "pyvista: time_values equal the stored times")
    check(reader.point_array_names == ref["names"], "pyvista: point_array_names")
    for case in ref["cases"][1:]:
        reader.enable_all_point_arrays()
        if case["selection"] is not None:
            for n in ref["names"]:
                if n not in case["selection"]:
                    reader.disable_point_array(n)
        reader.set_active_time_value(case["time"])
        g = reader.read()
        check(list(g.point_data.keys()) == case["arrays"]
              and all(same(g.point_data[n], case["values"][n]) for n in case["arrays"])
              and reader.active_time_value == case["time"],
              "pyvista: time %r with %s equals the C++ reader bit for bit" % (case["time"], case["selection"]))
    # a grid read earlier keeps its values when the reader moves on
    reader.enable_all_point_arrays()
    reader.set_active_time_point(0)
    g0 = reader.read()
    reader.set_active_time_value(ref["cases"][1]["time"])
    g1 = reader.read()
    name = ref["names"][-1]
    check(same(g0.point_data[name], first["values"][name]) and same(g1.point_data[name], ref["cases"][1]["values"][name]),
          "pyvista: a grid read earlier keeps its values after the next read()")
    reader.set_active_time_point(len(ref["times"]) - 1)
    check(reader.active_time_point == len(ref["times"]) - 1, "pyvista: set_active_time_point")


# ---- bad files ----

def test_bad_files(good, workdir):
    import pyvista as pv

    import mcinr
    from mcinr import testing
    from mcinr.vtk_reader import vtkMCINRReader
    data = open(good, "rb").read()
    bad = {"truncated": data[:len(data) // 2], "garbage": b"not an mci file at all" * 10,
           "checksum": testing.flip_payload_byte(data)}
    paths = {}
    for name, content in bad.items():
        paths[name] = os.path.join(workdir, "bad-%s.mci" % name)
        with open(paths[name], "wb") as f:
            f.write(content)
    paths["missing"] = os.path.join(workdir, "no-such-file.mci")
    for name, path in paths.items():
        try:
            mcinr.open(path)
            check(False, "bad file (%s): mcinr.open raises" % name)
        except mcinr.DecoderError as e:
            check(path in str(e), "bad file (%s): mcinr.open raises DecoderError: %s" % (name, e))
        r = vtkMCINRReader()
        messages = []
        r.AddObserver("ErrorEvent", lambda obj, ev: messages.append(ev))
        r.SetFileName(path)
        ok = r.UpdateTimeStep(0.0)
        check(not ok and r.GetLastError() and r.GetOutput().GetNumberOfPoints() == 0 and messages,
              "bad file (%s): the VTK algorithm fails the request, output empty: %s" % (name, r.GetLastError()))
        try:
            pv.read(path)
            check(False, "bad file (%s): pyvista.read raises" % name)
        except (mcinr.DecoderError, FileNotFoundError) as e:
            check(name != "missing" or isinstance(e, FileNotFoundError),
                  "bad file (%s): pyvista.read raises %s" % (name, type(e).__name__))
    for name in ("truncated", "garbage", "checksum"):
        try:
            mcinr.open(bad[name])
            check(False, "bad bytes (%s): mcinr.open raises" % name)
        except mcinr.DecoderError as e:
            check(e.status != mcinr.Status.OK, "bad bytes (%s): DecoderError %s" % (name, e.status_string))
    meshless = os.path.join(workdir, "meshless.mci")
    testing.strip_mesh_section(good, meshless)
    with mcinr.open(meshless) as f:
        try:
            f.decode_mesh(f.times[0])
            check(False, "no mesh: decode_mesh raises")
        except mcinr.DecoderError as e:
            check(e.status == mcinr.Status.NO_MESH, "no mesh: decode_mesh raises DecoderError NO_MESH")
        got = f.decode(np.zeros((2, 3)), f.times[0])
        check(all(v.shape[0] == 2 for v in got.values()), "no mesh: decode at given points still works")
    try:
        pv.read(meshless)
        check(False, "no mesh: pyvista.read raises")
    except mcinr.DecoderError as e:
        check("mesh" in str(e), "no mesh: pyvista.read raises DecoderError: %s" % e)
    # a cell whose size does not fit its type: rejected before VTK sees it
    short = os.path.join(workdir, "short-tetra.mci")

    def short_tetra(types, offsets, conn):  # the first cell: a tetrahedron with 3 points
        del conn[offsets[0] - 1]
        types[0] = 10
        offsets[:] = [o - 1 for o in offsets]

    try:
        testing.rewrite_mesh(good, short, short_tetra)
    except Exception as e:  # noqa: BLE001 (the fixture could not be written: say so)
        check(False, "short tetrahedron fixture: %s" % e)
        return
    try:
        with mcinr.open(short) as f:
            f.cells
        check(False, "a 3-point tetrahedron raises")
    except mcinr.DecoderError as e:
        check("cell 0" in str(e), "a 3-point tetrahedron raises DecoderError: %s" % e)


# ---- the README's example ----

def test_readme(readme, mci, workdir):
    """Runs the first ```python block of README.md's "## Python" section on `mci` (off screen)."""
    import pyvista as pv
    text = open(readme).read()
    section = text[text.index("\n## Python\n"):]
    start = section.index("```python\n") + len("```python\n")
    code = section[start:section.index("```", start)]
    check(code.count("\n") <= 6, "README: the Python example has %d lines" % code.count("\n"))
    pv.OFF_SCREEN = True
    cwd = os.getcwd()
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    try:
        os.symlink(os.path.abspath(mci), "model.mci")
        scope = {}
        exec(compile(code, "README.md (Python)", "exec"), scope)
        check(scope["temp"].dtype == np.float32 and isinstance(scope["grid"], pv.UnstructuredGrid),
              "README: the Python example runs (numpy values, pyvista grid, plot off screen)")
    finally:
        os.chdir(cwd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", nargs=2, action="append", required=True, metavar=("MCI", "NPZ"))
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--bundled-blas", action="store_true", help="ignored (libraries before 1.4 linked OpenBLAS)")
    ap.add_argument("--readme", help="README.md: run its Python example on the first model")
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    print("python %s, numpy %s" % (sys.version.split()[0], np.__version__))
    test_installation(args)
    for mci, npz in args.model:
        print("-- %s" % os.path.basename(mci))
        ref = load_reference(npz)
        test_numpy(mci, ref)
        test_vtk(mci, ref)
        test_pyvista(mci, ref)
    test_bad_files(args.model[0][0], args.workdir)
    if args.readme:
        test_readme(args.readme, args.model[0][0], os.path.join(args.workdir, "readme"))
    if FAILURES:
        print("test_package.py: %d FAILED" % len(FAILURES))
        sys.exit(1)
    print("test_package.py: OK")


if __name__ == "__main__":
    main()
