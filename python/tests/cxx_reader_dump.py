"""What the C++ vtkMCINRReader gives, for the Python package's tests (python/tests/package.sh).

  pvpython cxx_reader_dump.py --plugin MCINRReaderPlugin.so --mci model.mci --out ref.npz
                             [--mci other.mci --out other.npz ...]

Loads the ParaView plugin, takes its reader's VTK object (the C++ class, in this process) and
writes to an .npz: the time steps, the mesh (points, cell types, offsets, connectivity) and the
point arrays of every case in CASES (a time and an array selection), exactly as VTK holds them.
"""
import argparse
import json

import numpy as np
from paraview.simple import LoadPlugin, OpenDataFile
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline as SDDP


def cases(times, names):
    """(key, time, selection or None for all): stored steps, a time between steps, selections."""
    out = [("all-first", times[0], None), ("all-last", times[-1], None)]
    if len(times) > 1:
        out.append(("all-between", 0.5 * (times[0] + times[1]), None))
        out.append(("one-second", times[1], [names[-1]]))
    if len(names) > 2:
        out.append(("two-last", times[-1], [names[0], names[2]]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--mci", required=True, action="append")
    ap.add_argument("--out", required=True, action="append")
    args = ap.parse_args()
    if len(args.mci) != len(args.out):
        ap.error("one --out per --mci")
    LoadPlugin(args.plugin, ns=globals())
    for mci, out in zip(args.mci, args.out):
        dump(mci, out)


def dump(mci, path):
    proxy = OpenDataFile(mci)
    proxy.NumberOfThreads = 2
    proxy.UpdatePipelineInformation()
    times = [float(t) for t in proxy.TimestepValues]
    names = list(proxy.PointArrayStatus)  # every variable is enabled by default
    reader = proxy.GetClientSideObject()  # the C++ vtkMCINRReader (in this process)
    out = {"times": np.array(times), "names": np.array(names)}
    index = []
    for key, time, selection in cases(times, names):
        proxy.PointArrayStatus = names if selection is None else selection
        proxy.UpdatePipeline(time)
        if reader.GetOutputInformation(0).Get(SDDP.UPDATE_TIME_STEP()) != time:
            raise SystemExit("cxx_reader_dump: the C++ reader did not run at t=%r" % time)
        grid = reader.GetOutputDataObject(0)
        if key == "all-first":
            cells = grid.GetCells()
            out["points"] = vtk_to_numpy(grid.GetPoints().GetData()).copy()
            out["types"] = vtk_to_numpy(grid.GetCellTypesArray()).copy()
            out["offsets"] = vtk_to_numpy(cells.GetOffsetsArray()).astype(np.int64)
            out["connectivity"] = vtk_to_numpy(cells.GetConnectivityArray()).astype(np.int64)
        pd = grid.GetPointData()
        arrays = [pd.GetArrayName(i) for i in range(pd.GetNumberOfArrays())]
        for n in arrays:
            out["%s/%s" % (key, n)] = vtk_to_numpy(pd.GetArray(n)).copy()
        index.append({"key": key, "time": time, "selection": selection, "arrays": arrays})
    out["cases"] = np.array(json.dumps(index))
    np.savez(path, **out)
    print("cxx_reader_dump: %s: %d cases, %d points" % (mci, len(index), len(out["points"])))


if __name__ == "__main__":
    main()
