"""Open .mci files in ParaView (pvpython + the MCINRReader plugin of plugin/build, or of
$MCINR_PLUGIN_BUILD) and time the
open plus the information pass (best of 5) and the open plus the first time step (best of 3); then compare the first two files' points, first point
array and cells (docs/benchmarks/mesh.md, Speed):
    pvpython benchmarks/mesh/paraview_open.py MESHC.mci MESH.mci [--apply-after SECONDS]
With --apply-after, also the GUI's order of events: the information pass (File > Open, the
Properties panel), a pause of SECONDS (the user choosing arrays and pressing Apply), then the
first time step, timed from Apply to its output (best of 3), with the reader's PrefetchMesh
on (its default: a MESHC mesh is decoded in the background during the pause) and off.
"""
import os, sys, time
import numpy as np
from paraview.simple import LoadPlugin, OpenDataFile
from paraview import servermanager
from vtkmodules.util.numpy_support import vtk_to_numpy
# MCINR_PLUGIN_BUILD: another build folder of plugin/ (default plugin/build)
build = os.environ.get("MCINR_PLUGIN_BUILD", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../plugin/build"))
LoadPlugin(os.path.join(build, "lib/paraview-5.11/plugins/MCINRReaderPlugin/MCINRReaderPlugin.so"), ns=globals())
from paraview.simple import Delete
args = sys.argv[1:]
apply_after = None
if "--apply-after" in args:
    k = args.index("--apply-after")
    apply_after = float(args[k + 1])
    del args[k:k + 2]
out = {}
for name in args:
    info = 1e9  # the information pass alone (time steps, arrays): what File > Open shows first
    for r in range(5):
        t0 = time.time()
        src = OpenDataFile(name)
        src.UpdatePipelineInformation()
        info = min(info, time.time() - t0)
        Delete(src)
    best = 1e9
    for r in range(3):
        t0 = time.time()
        src = OpenDataFile(name)
        src.UpdatePipeline(time=10.0 / 3.0)
        best = min(best, time.time() - t0)
        g = servermanager.Fetch(src)
        if r < 2: 
            from paraview.simple import Delete; Delete(src)
    pts = vtk_to_numpy(g.GetPoints().GetData()); cells = g.GetNumberOfCells()
    conn = vtk_to_numpy(g.GetCells().GetConnectivityArray())
    arr = vtk_to_numpy(g.GetPointData().GetArray(0))
    out[name] = (pts, conn, arr)
    print(name, "points", len(pts), "cells", cells, "open+information %.3f s" % info, "open+decode %.3f s" % best)
    if apply_after is not None:
        after = {}
        for r in range(3):
            for prefetch in (1, 0):  # interleaved
                src = servermanager.sources.MCINRReader()  # the property set before the file is opened
                src.PrefetchMesh = prefetch
                src.FileName = name
                src.UpdatePipelineInformation()
                time.sleep(apply_after)
                t0 = time.time()
                src.UpdatePipeline(time=10.0 / 3.0)
                after[prefetch] = min(after.get(prefetch, 1e9), time.time() - t0)
                Delete(src)
        print(name, "Apply %.1f s after the information pass: first step %.3f s with PrefetchMesh, %.3f s without"
              % (apply_after, after[1], after[0]))
a, b = list(out.values())
print("points equal:", np.array_equal(a[0], b[0]), " first array equal:", np.array_equal(a[2], b[2]),
      " cells as sets equal:", np.array_equal(np.sort(np.sort(a[1].reshape(-1,4),1),0), np.sort(np.sort(b[1].reshape(-1,4),1),0)))
