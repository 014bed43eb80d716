"""Tests of the plain-VTK reader module under Debian's VTK 9.1 (run by test.sh, which sets
PYTHONPATH and LD_LIBRARY_PATH to the unpacked libvtk9-dev / python3-vtk9 and the install).

The wrapped C++ vtkMCINRReader (mcinr_vtk) must give exactly what the C decoder gives through
python/mcinr (points, cells, time steps, and every array at stored and between times with
array selection); so must the C++ example linked through find_package(mcinr-vtk), and the
Python VTK algorithm mcinr.vtk_reader under this VTK. A bad file fails the request with the
decoder's message, no crash.
"""
import argparse
import os
import subprocess
import sys

import numpy as np

FAILURES = []


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message, flush=True)
    if not condition:
        FAILURES.append(message)
    return bool(condition)


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def cases(times, names):
    out = [(times[0], None), (times[-1], None)]
    if len(times) > 1:
        out += [(0.5 * (times[0] + times[1]), None), (times[1], [names[-1]])]
    if len(names) > 2:
        out.append((times[-1], [names[0], names[2]]))
    return out


def run_reader(reader, time, selection, names):
    from vtkmodules.util.numpy_support import vtk_to_numpy
    reader.EnableAllPointArrays()
    if selection is not None:
        reader.DisableAllPointArrays()
        for n in selection:
            reader.SetPointArrayStatus(n, 1)
    ok = reader.UpdateTimeStep(time)
    grid = reader.GetOutput()
    pd = grid.GetPointData()
    return ok, grid, {pd.GetArrayName(i): vtk_to_numpy(pd.GetArray(i)) for i in range(pd.GetNumberOfArrays())}


def test_model(path, args, lib):
    import mcinr
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline as SDDP
    from mcinr_vtk import vtkMCINRReader
    from mcinr.vtk_reader import vtkMCINRReader as PythonReader

    f = mcinr.open(path, library=lib)
    names = list(f.variables)
    times = [float(t) for t in f.times]
    print("-- %s: %d points, %s, %d steps" % (os.path.basename(path), f.num_points, names, len(times)))
    readers = {"C++ reader (mcinr_vtk)": vtkMCINRReader(), "Python algorithm (mcinr.vtk_reader)": PythonReader(library=lib)}
    for label, r in readers.items():
        r.SetFileName(path)
        r.SetNumberOfThreads(2)
        r.UpdateInformation()
        info = r.GetOutputInformation(0)
        steps = [info.Get(SDDP.TIME_STEPS(), i) for i in range(info.Length(SDDP.TIME_STEPS()))]
        check(steps == times, "%s: TIME_STEPS equal the decoder's times" % label)
        check([r.GetPointArrayName(i) for i in range(r.GetNumberOfPointArrays())] == names,
              "%s: point arrays %s" % (label, names))
        for k, (time, selection) in enumerate(cases(times, names)):
            ok, grid, got = run_reader(r, time, selection, names)
            want = f.decode_mesh(time, selection, num_threads=1)
            check(ok and list(got) == list(want) and all(same(got[n], want[n]) for n in want),
                  "%s: t=%r %s equals the C decoder bit for bit" % (label, time, selection or "all"))
            if k == 0:
                cells = grid.GetCells()
                check(same(vtk_to_numpy(grid.GetPoints().GetData()), f.points)
                      and same(vtk_to_numpy(grid.GetCellTypesArray()), f.cells.types)
                      and same(vtk_to_numpy(cells.GetOffsetsArray()).astype(np.int64), f.cells.offsets)
                      and same(vtk_to_numpy(cells.GetConnectivityArray()).astype(np.int64), f.cells.connectivity),
                      "%s: points and cells equal the decoder's mesh" % label)
        if f.has_residual:
            ok, _, got = run_reader(r, times[0], None, names)
            net = f.decode_mesh(times[0], network_only=True, num_threads=1)
            check(ok and any(not same(got[n], net[n]) for n in names), "%s: the residual applies at a stored step" % label)

    # the C++ example, linked through find_package(mcinr-vtk)
    for time, name in ((times[0], names[-1]), (0.5 * (times[0] + times[-1]), names[0])):
        proc = subprocess.run([args.example, path, repr(time), name], capture_output=True, text=True)
        lines = proc.stdout.splitlines()
        want = f.decode_mesh(time, [name], num_threads=1)[name]
        if not check(proc.returncode == 0 and lines, "C++ example: %s at t=%r ran (%s)"
                     % (name, time, lines[0] if lines else proc.stderr.strip()[-200:])):
            continue
        head = dict(zip(lines[0].split()[::2], lines[0].split()[1::2]))
        got = np.array([[float(x) for x in line.split()] for line in lines[1:]], dtype=np.float32)
        got = got.reshape(want.shape)
        check(int(head["points"]) == f.num_points and int(head["cells"]) == f.num_cells
              and int(head["steps"]) == len(times) and int(head["arrays"]) == 1 and same(got, want),
              "C++ example: %s at t=%r equals the C decoder bit for bit (%d values)" % (name, time, want.size))
    f.close()


def test_pieces(path, lib):
    """reader.UpdatePiece(p, n, ghosts) (VTK 9.1): the pieces' own cells are the mesh's cells,
    every piece's points, global ids and values are the whole decode's, bit for bit; ghost
    cells are marked and the points not marked duplicate are every point once."""
    import mcinr
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from mcinr_vtk import vtkMCINRReader
    f = mcinr.open(path, library=lib)
    times = [float(t) for t in f.times]
    names = list(f.variables)
    N = f.num_points
    cells = f.cells
    whole = sorted((int(cells.types[c]),) + tuple(int(i) for i in cells.connectivity[cells.offsets[c]:cells.offsets[c + 1]])
                   for c in range(f.num_cells))
    for n, ghosts in ((2, 0), (3, 1)):
        for time in (times[0], times[-1]):
            want = f.decode_mesh(time, num_threads=1)
            union, owned, ok_values = [], np.zeros(N, np.int64), True
            for p in range(n):
                r = vtkMCINRReader()
                r.SetFileName(path)
                if time == times[0]:
                    ok = r.UpdatePiece(p, n, ghosts)   # no time asked: the first step
                else:
                    ok = r.UpdateTimeStep(time, p, n, ghosts)
                grid = r.GetOutput()
                gids = vtk_to_numpy(grid.GetPointData().GetGlobalIds()).astype(np.int64)
                ok_values &= bool(ok) and same(vtk_to_numpy(grid.GetPoints().GetData()), f.points[gids])
                for name in names:
                    ok_values &= same(vtk_to_numpy(grid.GetPointData().GetArray(name)), want[name][gids])
                ghost = grid.GetCellData().GetArray("vtkGhostType")
                cghost = vtk_to_numpy(ghost) if ghost is not None else np.zeros(grid.GetNumberOfCells(), np.uint8)
                types = vtk_to_numpy(grid.GetCellTypesArray())
                off = vtk_to_numpy(grid.GetCells().GetOffsetsArray()).astype(np.int64)
                conn = vtk_to_numpy(grid.GetCells().GetConnectivityArray()).astype(np.int64)
                union += [(int(types[c]),) + tuple(int(i) for i in gids[conn[off[c]:off[c + 1]]])
                          for c in range(len(types)) if not cghost[c]]
                if ghosts:
                    pghost = vtk_to_numpy(grid.GetPointData().GetArray("vtkGhostType"))
                    owned[gids[pghost == 0]] += 1
                    ok_values &= int(np.count_nonzero(cghost)) > 0
                ok_values &= r.GetDecodedPointCount() == len(gids) and len(gids) < N
            check(ok_values, "%s: UpdatePiece(p, %d, %d) at t=%r: points, global ids and values equal the whole "
                  "decode's bit for bit, each piece decodes fewer points than the mesh's %d"
                  % (os.path.basename(path), n, ghosts, time, N))
            check(sorted(union) == whole, "%s: the %d pieces' own cells are the mesh's %d cells"
                  % (os.path.basename(path), n, len(whole)))
            if ghosts:
                check(bool(np.all(owned == 1)), "%s: the points not marked duplicate are every point once"
                      % os.path.basename(path))
    f.close()


def test_bad_file(workdir):
    from mcinr_vtk import vtkMCINRReader
    from vtkmodules.util.misc import calldata_type
    from vtkmodules.vtkCommonCore import VTK_STRING
    path = os.path.join(workdir, "garbage.mci")
    with open(path, "wb") as out:
        out.write(b"MCINR\x00\r\n" + b"\x01" * 100)
    messages = []

    @calldata_type(VTK_STRING)
    def on_error(_obj, _event, message):
        messages.append(message)

    r = vtkMCINRReader()
    r.AddObserver("ErrorEvent", on_error)
    r.GetExecutive().AddObserver("ErrorEvent", on_error)
    r.SetFileName(path)
    ok = r.UpdateTimeStep(0.0)
    check(not ok and r.GetOutput().GetNumberOfPoints() == 0 and any(path in m for m in messages),
          "bad file: the C++ reader fails with the decoder's message: %s"
          % next((m for m in messages if path in m), "(none)").strip().splitlines()[-1][:160])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mci", action="append", required=True)
    ap.add_argument("--pieces-mci", action="append", default=[], help="files for the UpdatePiece test")
    ap.add_argument("--example", required=True)
    ap.add_argument("--install", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--cshim", help="build the reference libmcinr from this CShim (default: the checkout's)")
    args = ap.parse_args()
    import vtk

    import mcinr
    import mcinr_vtk
    version = vtk.vtkVersion.GetVTKVersion()
    check(version.startswith("9.1.") and os.path.realpath(vtk.__file__).startswith(os.path.realpath(args.prefix)),
          "import vtk is Debian's VTK %s from the unpacked prefix" % version)
    check(os.path.realpath(mcinr_vtk.__file__).startswith(os.path.realpath(args.install)),
          "mcinr_vtk is the installed module (%s)" % os.path.dirname(mcinr_vtk.__file__))
    lib = None
    if args.cshim:
        lib = mcinr.build_library(os.path.join(args.workdir, "lib"), root=os.path.dirname(os.path.abspath(args.cshim)))
    for path in args.mci:
        test_model(path, args, lib)
    for path in args.pieces_mci:
        test_pieces(path, lib)
    test_bad_file(args.workdir)
    if FAILURES:
        print("test_vtk91.py: %d FAILED" % len(FAILURES))
        sys.exit(1)
    print("test_vtk91.py: OK")


if __name__ == "__main__":
    main()
