"""Parallel reading tests of the MC-INR reader (issue 20).

Two halves, run by plugin/tests/run.sh:

  mpiexec -np N pvbatch test_parallel.py dump --plugin P.so --mci M.mci --out DIR --ranks N
      (rank 0 runs the script, every rank runs the pipeline) checks that pvbatch really runs N
      MPI ranks, then, through a ProgrammableFilter that runs on every rank, writes each rank's
      piece to DIR/<tag>-<rank>.npz: at a stored step (t0), after switching to another step
      (t1: the mesh must not be decoded again), and with one ghost level asked for by the
      filter (g1), with the point gradient of a field computed on the rank's piece.

  pvpython test_parallel.py check --plugin P.so --lib libmcinr.so --mci M.mci --out DIR --ranks N
      reads the file serially (one piece: the whole mesh) and checks against the dumps: the
      union of the pieces' own cells is the serial mesh's cells (by global point ids), every
      rank's points have the serial coordinates and array values bit for bit at their global
      ids, the points not marked duplicate are every point once, every rank decoded only its
      share (its points' values; own mesh chunks adding up to the file's chunks and no other chunk
      without ghost levels, never the whole mesh; no chunk at the step switch), and with one ghost
      level the gradient at each rank's own points equals the
      serial gradient (and differs at piece boundaries without ghost cells), and a Contour over
      the pieces (ghost cells removed) has the serial contour's triangles.
"""
import argparse
import glob
import os
import sys

import numpy as np

# Written into the ProgrammableFilter: runs on every rank, writes that rank's piece.
DUMP_SCRIPT = r"""
import numpy as np
from vtkmodules.vtkParallelCore import vtkMultiProcessController
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkFiltersGeneral import vtkGradientFilter
from vtkmodules.vtkCommonDataModel import vtkDataObject
inp = self.GetInputDataObject(0, 0)
out = self.GetOutputDataObject(0)
out.ShallowCopy(inp)
ctrl = vtkMultiProcessController.GetGlobalController()
rank = ctrl.GetLocalProcessId() if ctrl else 0
ranks = ctrl.GetNumberOfProcesses() if ctrl else 1
d = {"rank": rank, "ranks": ranks}
n = inp.GetNumberOfPoints()
d["points"] = vtk_to_numpy(inp.GetPoints().GetData()).copy() if n else np.zeros((0, 3))
gids = inp.GetPointData().GetGlobalIds()
d["gids"] = vtk_to_numpy(gids).astype(np.int64) if gids is not None and n else np.zeros(0, np.int64)
for i in range(inp.GetPointData().GetNumberOfArrays()):
    a = inp.GetPointData().GetArray(i)
    if a is not None and a.GetName() not in ("vtkGlobalIds",):
        d["array_" + a.GetName()] = vtk_to_numpy(a).copy()
for i in range(inp.GetCellData().GetNumberOfArrays()):
    a = inp.GetCellData().GetArray(i)
    if a is not None:
        d["cell_" + a.GetName()] = vtk_to_numpy(a).copy()
if inp.GetNumberOfCells():
    d["types"] = vtk_to_numpy(inp.GetCellTypesArray()).copy()
    d["offsets"] = vtk_to_numpy(inp.GetCells().GetOffsetsArray()).astype(np.int64)
    d["conn"] = vtk_to_numpy(inp.GetCells().GetConnectivityArray()).astype(np.int64)
else:
    d["types"] = np.zeros(0, np.uint8); d["offsets"] = np.zeros(1, np.int64); d["conn"] = np.zeros(0, np.int64)
fd = inp.GetFieldData().GetArray("MCINR_piece_decoded")
d["counters"] = vtk_to_numpy(fd).copy() if fd is not None else np.zeros(0)
d["ghost_levels"] = inp.GetInformation().Get(vtkDataObject.DATA_NUMBER_OF_GHOST_LEVELS()) or 0
if GRADIENT_OF and n:
    g = vtkGradientFilter()
    g.SetInputData(inp)
    g.SetInputArrayToProcess(0, 0, 0, 0, GRADIENT_OF)
    g.SetResultArrayName("grad")
    g.Update()
    d["grad"] = vtk_to_numpy(g.GetOutput().GetPointData().GetArray("grad")).copy()
np.savez(OUT_DIR + "/" + TAG + "-%d.npz" % rank, **d)
"""

# Asks the reader for GHOSTS ghost levels (RequestUpdateExtent of the ProgrammableFilter).
GHOST_SCRIPT = r"""
from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline as sddp
info = self.GetInputInformation(0, 0)
info.Set(sddp.UPDATE_NUMBER_OF_GHOST_LEVELS(), GHOSTS)
"""

FAILURES = []


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message, flush=True)
    if not condition:
        FAILURES.append(message)
    return condition


def dump(args):
    from paraview import servermanager
    from paraview.simple import LoadPlugin, OpenDataFile, ProgrammableFilter
    pm = servermanager.vtkProcessModule.GetProcessModule()
    partitions = pm.GetNumberOfLocalPartitions()
    check(partitions == args.ranks, f"pvbatch runs {partitions} MPI ranks (expected {args.ranks})")
    LoadPlugin(args.plugin, ns=globals())
    reader = OpenDataFile(args.mci)
    check(reader is not None and reader.GetXMLName() == "MCINRReader", "the .mci opens with the MCINRReader")
    times = list(reader.TimestepValues)
    field = reader.PointData.keys()[0] if reader.PointData.keys() else ""

    def run(tag, time, ghosts, gradient):
        script = (DUMP_SCRIPT.replace("OUT_DIR", repr(args.out)).replace("TAG", repr(tag))
                  .replace("GRADIENT_OF", repr(gradient)))
        pf = ProgrammableFilter(Input=reader, Script=script,
                                RequestUpdateExtentScript=GHOST_SCRIPT.replace("GHOSTS", str(ghosts)))
        pf.UpdatePipeline(time)
        return pf

    run("t0", times[0], 0, field)
    run("t1", times[1], 0, "")
    run("g1", times[0], 1, field)
    with open(os.path.join(args.out, "meta.txt"), "w") as f:
        f.write(f"{times[0]!r} {times[1]!r} {field}\n")
    return 0


def load(out, tag, ranks):
    files = sorted(glob.glob(os.path.join(out, f"{tag}-*.npz")))
    check(len(files) == ranks, f"{tag}: {len(files)} rank files (expected {ranks})")
    return [dict(np.load(f)) for f in files]


def cells_of(d, gids, own_only):
    """Cells as (type, global ids...) tuples; with own_only, without the ghost cells."""
    types, off, conn = d["types"], d["offsets"], d["conn"]
    ghost = d.get("cell_vtkGhostType")
    out = []
    for c in range(len(types)):
        if own_only and ghost is not None and ghost[c]:
            continue
        out.append((int(types[c]),) + tuple(int(g) for g in gids[conn[off[c]:off[c + 1]]]))
    return out


def serial_output(args, time):
    from paraview import servermanager
    from paraview.simple import LoadPlugin, OpenDataFile
    LoadPlugin(args.plugin, ns=globals())
    reader = OpenDataFile(args.mci)
    reader.UpdatePipeline(time)
    return reader, servermanager.Fetch(reader)


def check_all(args):
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkFiltersGeneral import vtkGradientFilter
    import ctypes
    t0_text, t1_text, field = open(os.path.join(args.out, "meta.txt")).read().split()
    t0, t1 = float(t0_text), float(t1_text)
    lib = ctypes.CDLL(args.lib)
    handle = ctypes.c_void_p()
    check(lib.mcinr_open_file(args.mci.encode(), ctypes.byref(handle), None, ctypes.c_size_t(0)) == 0,
          "the C decoder opens the file")
    lib.mcinr_mesh_num_chunks.restype = ctypes.c_size_t
    K = lib.mcinr_mesh_num_chunks(handle)
    indexed = lib.mcinr_mesh_index(handle, None) == 1  # MESHX: only the chunks near a piece
    lib.mcinr_close(handle)
    reader, serial = serial_output(args, t0)
    N = serial.GetNumberOfPoints()
    spoints = vtk_to_numpy(serial.GetPoints().GetData())
    sarrays = {serial.GetPointData().GetArrayName(i): vtk_to_numpy(serial.GetPointData().GetArray(i))
               for i in range(serial.GetPointData().GetNumberOfArrays())}
    sd = {"types": vtk_to_numpy(serial.GetCellTypesArray()),
          "offsets": vtk_to_numpy(serial.GetCells().GetOffsetsArray()).astype(np.int64),
          "conn": vtk_to_numpy(serial.GetCells().GetConnectivityArray()).astype(np.int64)}
    serial_cells = sorted(cells_of(sd, np.arange(N), False))

    def compare(tag, pieces, arrays, own_only):
        union = []
        for d in pieces:
            r, g = int(d["rank"]), d["gids"]
            check(len(g) == 0 or (np.all(np.diff(g) > 0) and g[0] >= 0 and g[-1] < N),
                  f"{tag} rank {r}: {len(g)} global ids, increasing, within 0 ... {N - 1}")
            check(np.array_equal(d["points"], spoints[g]), f"{tag} rank {r}: coordinates equal the serial ones")
            for name, values in arrays.items():
                got = d.get("array_" + name)
                same = got is not None and got.shape == values[g].shape and \
                    np.array_equal(got.view(np.uint32), values[g].view(np.uint32))
                check(same, f"{tag} rank {r}: '{name}' equals the serial values bit for bit")
            union += cells_of(d, g, own_only)
        check(sorted(union) == serial_cells,
              f"{tag}: the pieces' own cells ({len(union)}) are the serial cells ({len(serial_cells)})")

    t0p = load(args.out, "t0", args.ranks)
    compare("t0", t0p, sarrays, False)
    total_own_chunks = 0
    for d in t0p:
        piece, pieces, decoded, evaluated, chunks, others, prefetch = (int(v) for v in d["counters"])
        r = int(d["rank"])
        check(pieces == args.ranks and piece == r, f"t0 rank {r}: asked for piece {piece} of {pieces}")
        # a parallel reader never decodes the whole mesh in the background (PrefetchMesh)
        check(prefetch == 0, f"t0 rank {r}: mesh prefetch state {prefetch} in a parallel run (expected 0: none)")
        check(decoded == len(d["gids"]) and decoded < N,
              f"t0 rank {r}: decoded the values of its {decoded} points only (the mesh has {N})")
        # the networks run at the piece's points only (twice where a seam blends two networks)
        check(decoded <= evaluated <= 2 * decoded, f"t0 rank {r}: the networks ran at {evaluated} points")
        print(f"      rank {r}: {decoded} points, networks at {evaluated}, {chunks} own + {others} other chunks decoded")
        check(K is None or others == 0, f"t0 rank {r}: {others} other chunks decoded without ghost levels"
              f"{' (indexed)' if indexed else ''}")
        total_own_chunks += chunks
        check("cell_vtkGhostType" not in d, f"t0 rank {r}: no ghost cells without a ghost level")
    if K is not None:
        check(total_own_chunks == K, f"t0: the ranks decoded {total_own_chunks} mesh chunks, the file has {K}")
    # the step switch: fields only
    reader.UpdatePipeline(t1)
    from paraview import servermanager
    serial1 = servermanager.Fetch(reader)
    sarrays1 = {serial1.GetPointData().GetArrayName(i): vtk_to_numpy(serial1.GetPointData().GetArray(i))
                for i in range(serial1.GetPointData().GetNumberOfArrays())}
    t1p = load(args.out, "t1", args.ranks)
    compare("t1", t1p, sarrays1, False)
    for d in t1p:
        check(int(d["counters"][4]) == 0 and int(d["counters"][5]) == 0,
              f"t1 rank {int(d['rank'])}: switching the step decoded no mesh chunk")

    # one ghost level
    g1 = load(args.out, "g1", args.ranks)
    compare("g1", g1, sarrays, True)
    owned = np.zeros(N, np.int64)
    grad = vtkGradientFilter()
    grad.SetInputData(serial)
    grad.SetInputArrayToProcess(0, 0, 0, 0, field)
    grad.SetResultArrayName("grad")
    grad.Update()
    sgrad = vtk_to_numpy(grad.GetOutput().GetPointData().GetArray("grad"))
    scale = np.abs(sgrad).max()
    boundary_differs = 0
    for d, d0 in zip(g1, t0p):
        r, g = int(d["rank"]), d["gids"]
        ghost_cells = int(np.count_nonzero(d["cell_vtkGhostType"])) if "cell_vtkGhostType" in d else -1
        check(int(d["ghost_levels"]) == 1 and ghost_cells > 0,
              f"g1 rank {r}: one ghost level, {ghost_cells} ghost cells marked DUPLICATECELL")
        dup = d["array_vtkGhostType"] != 0
        owned[g[~dup]] += 1
        own = g[~dup]
        err = np.abs(d["grad"][~dup] - sgrad[own]).max() if len(own) else 0.0
        check(err <= 1e-4 * scale, f"g1 rank {r}: gradient of '{field}' at its {len(own)} own points equals the "
                                   f"serial one (max difference {err:.3g}, scale {scale:.3g})")
        # without ghost cells (t0) the gradient at points on the piece boundary differs
        pos = np.searchsorted(d0["gids"], own)
        ok = (pos < len(d0["gids"]))
        ok[ok] = d0["gids"][pos[ok]] == own[ok]
        diff0 = np.abs(d0["grad"][pos[ok]] - sgrad[own[ok]]).max(axis=1) if ok.any() else np.zeros(0)
        boundary_differs += int(np.count_nonzero(diff0 > 1e-3 * scale))
    check(np.all(owned == 1), f"g1: the points not marked DUPLICATEPOINT are every point once "
                              f"({int(np.count_nonzero(owned == 1))} of {N})")
    check(boundary_differs > 0, f"without ghost cells the gradient differs at {boundary_differs} boundary points "
                                f"(so the ghost check above can fail)")

    # Contour over the pieces (ghost cells removed: one cell's triangles do not depend on its
    # neighbours) equals the serial contour
    from vtkmodules.vtkFiltersCore import vtkContourFilter
    from vtkmodules.vtkCommonDataModel import vtkUnstructuredGrid
    from vtkmodules.vtkCommonCore import vtkPoints, vtkFloatArray
    from vtkmodules.util.numpy_support import numpy_to_vtk
    values = sarrays[field]
    level = float(np.median(values if values.ndim == 1 else values[:, 0]))

    def contour_tris(points, types, off, conn, scalars):
        ug = vtkUnstructuredGrid()
        pts = vtkPoints()
        pts.SetData(numpy_to_vtk(np.ascontiguousarray(points, dtype=np.float64), deep=1))
        ug.SetPoints(pts)
        from vtkmodules.vtkCommonDataModel import vtkCellArray
        from vtkmodules.util.numpy_support import numpy_to_vtkIdTypeArray
        ca = vtkCellArray()
        ca.SetData(numpy_to_vtkIdTypeArray(off.astype(np.int64), deep=1),
                   numpy_to_vtkIdTypeArray(conn.astype(np.int64), deep=1))
        ug.SetCells(numpy_to_vtk(types.astype(np.uint8), deep=1,
                                 array_type=3), ca)
        s = numpy_to_vtk(np.ascontiguousarray(scalars, dtype=np.float32), deep=1)
        s.SetName("s")
        ug.GetPointData().SetScalars(s)
        cf = vtkContourFilter()
        cf.SetInputData(ug)
        cf.SetValue(0, level)
        cf.Update()
        o = cf.GetOutput()
        if o.GetNumberOfCells() == 0:
            return []
        p = vtk_to_numpy(o.GetPoints().GetData())
        tris = []
        for c in range(o.GetNumberOfCells()):
            ids = o.GetCell(c).GetPointIds()
            tri = sorted(tuple(np.round(p[ids.GetId(k)], 5)) for k in range(ids.GetNumberOfIds()))
            tris.append(tuple(tri))
        return tris

    first = lambda a: a if a.ndim == 1 else a[:, 0]  # noqa: E731
    serial_tris = sorted(contour_tris(spoints, sd["types"], sd["offsets"], sd["conn"], first(values)))
    union = []
    for d in g1:
        keep = d["cell_vtkGhostType"] == 0
        off, conn = d["offsets"], d["conn"]
        sizes = np.diff(off)[keep]
        new_conn = np.concatenate([conn[off[c]:off[c + 1]] for c in np.nonzero(keep)[0]]) if keep.any() \
            else np.zeros(0, np.int64)
        new_off = np.concatenate([[0], np.cumsum(sizes)])
        union += contour_tris(d["points"], d["types"][keep], new_off, new_conn, first(d["array_" + field]))
    check(len(serial_tris) > 0 and sorted(union) == serial_tris,
          f"contour of '{field}' at {level:.4g}: the pieces give {len(union)} triangles, the serial "
          f"output {len(serial_tris)}, the same ones")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["dump", "check"])
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--mci", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ranks", type=int, required=True)
    ap.add_argument("--lib", help="libmcinr.so (check: the file's chunk count)")
    args = ap.parse_args()
    if args.mode == "dump":
        dump(args)
    else:
        failed = os.path.join(args.out, "dump-failures.txt")
        if os.path.exists(failed):
            FAILURES.extend(open(failed).read().splitlines())
            print("FAIL  dump: " + "; ".join(FAILURES), flush=True)
        check_all(args)
    if FAILURES:
        print(f"test_parallel {args.mode}: {len(FAILURES)} failure(s)", flush=True)
        if args.mode == "dump":  # pvbatch must end normally (sys.exit hangs the other ranks)
            with open(os.path.join(args.out, "dump-failures.txt"), "w") as f:
                f.write("\n".join(FAILURES) + "\n")
        return 1
    print(f"test_parallel {args.mode} ({args.ranks} ranks): all passed", flush=True)
    return 0


if __name__ == "__main__":
    code = main()
    if sys.argv[1:2] != ["dump"]:
        sys.exit(code)
