"""Before/after picture of a seam (issue #21): the error map |decoded − truth| of one variable
on a slice through a boundary between two networks, zoomed on it, for a model without and one
with `--seam-margin`, side by side, with the boundary (network_id) drawn as a contour line.

    mcinr-vtk export A.mci --vtu a/ --ground-truth data.pvd --network-id --times T   (and B)
    xvfb-run -a -s '-screen 0 1600x800x24' pvpython benchmarks/seams/picture.py \
        a/A.pvd b/B.pvd --array pressure --out docs/images/seams.png

(Where xvfb-run's server is not ready in time, "bad X server connection": start
`Xvfb :91 -screen 0 1600x800x24 +extension GLX &` on a free display, wait a few seconds, run
with DISPLAY=:91; "bad X server connection" there too: another display number.)
"""
import argparse

import numpy as np
from paraview import servermanager
from paraview.simple import (ColorBy, Contour, CreateView, GetColorTransferFunction, GetScalarBar, OpenDataFile,
                             Render, SaveScreenshot, Show, Slice, Text, AssignViewToLayout, CreateLayout)
from vtkmodules.util.numpy_support import vtk_to_numpy


def boundary_point(source):
    """A point where network_id changes along a mesh edge (the midpoint of the first such edge
    near the middle of the mesh), and the slice normal across the boundary there."""
    data = servermanager.Fetch(source)
    ids = vtk_to_numpy(data.GetPointData().GetArray("network_id"))
    pts = vtk_to_numpy(data.GetPoints().GetData())
    centre = pts.mean(axis=0)
    best = None
    for c in range(0, data.GetNumberOfCells(), 7):
        cell = data.GetCell(c)
        a, b = cell.GetPointId(0), cell.GetPointId(1)
        if ids[a] != ids[b]:
            mid = 0.5 * (pts[a] + pts[b])
            d = np.linalg.norm(mid - centre)
            if best is None or d < best[0]:
                best = (d, mid, pts[b] - pts[a])
    return best[1], best[2] / np.linalg.norm(best[2]), np.ptp(pts, axis=0).max()


def local_percentile(data, array, centre, radius):
    """The 99th percentile of `array` over the points within `radius` of `centre`."""
    values = vtk_to_numpy(data.GetPointData().GetArray(array))
    near = np.linalg.norm(vtk_to_numpy(data.GetPoints().GetData()) - centre, axis=1) < radius
    return float(np.percentile(values[near] if near.any() else values, 99))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--array", default="pressure")
    ap.add_argument("--zoom", type=float, default=0.12, help="view width as a fraction of the mesh's extent")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    sources = [OpenDataFile(p) for p in (args.before, args.after)]
    centre, across, extent = boundary_point(sources[0])
    # the slice contains the boundary normal: the plane is spanned by it and the view's up
    normal = np.cross(across, [0.0, 0.0, 1.0] if abs(across[2]) < 0.9 else [0.0, 1.0, 0.0])
    normal /= np.linalg.norm(normal)
    layout = CreateLayout("seams")
    error = f"{args.array}_abs_error"
    # one colour scale for both: the 99th percentile of the error over the points in view
    top = max(local_percentile(servermanager.Fetch(s), error, centre, 0.5 * args.zoom * extent) for s in sources)
    for k, (source, title) in enumerate(zip(sources, ("without seams", "with --seam-margin"))):
        view = CreateView("RenderView")
        view.ViewSize = [800, 800]
        view.OrientationAxesVisibility = 0
        AssignViewToLayout(view=view, layout=layout, hint=k)
        cut = Slice(Input=source)
        cut.SliceType.Origin = list(centre)
        cut.SliceType.Normal = list(normal)
        shown = Show(cut, view)
        ColorBy(shown, ("POINTS", error))
        lut = GetColorTransferFunction(error)
        lut.RescaleTransferFunction(0.0, top)
        shown.SetScalarBarVisibility(view, True)
        line = Show(Contour(Input=cut, ContourBy=["POINTS", "network_id"], Isosurfaces=[0.5]), view)
        ColorBy(line, None)
        line.AmbientColor = line.DiffuseColor = [1.0, 1.0, 1.0]
        line.LineWidth = 3.0
        Show(Text(Text=f"{title}: |{args.array} error|, white: network boundary"), view)
        Render(view)  # the first render resets the camera; set it afterwards
        view.CameraFocalPoint = list(centre)
        view.CameraPosition = list(centre + normal * extent)
        view.CameraViewUp = [0.0, 0.0, 1.0] if abs(normal[2]) < 0.9 else [0.0, 1.0, 0.0]
        view.CameraParallelProjection = 1
        view.CameraParallelScale = 0.5 * args.zoom * extent
        Render(view)
    SaveScreenshot(args.out, layout, ImageResolution=[1600, 800])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
