"""Render ground truth / decoded / |error| of one variable side by side (a y slice through the middle).

Usage (headless):
  xvfb-run -a -s '-screen 0 1600x600x24' pvpython render_comparison.py DECODED.pvd OUT.png VARIABLE [TIME]
DECODED.pvd is what `mcinr-vtk export --vtu DIR --ground-truth DATA --include-ground-truth` writes:
per step the arrays VARIABLE, VARIABLE_ground_truth and VARIABLE_abs_error.
"""
import sys
from paraview.simple import (OpenDataFile, Slice, CreateView, Show, ColorBy, GetColorTransferFunction,
                             CreateLayout, SaveScreenshot, GetAnimationScene,
                             UpdatePipeline, ResetCamera)

path, png, var = sys.argv[1], sys.argv[2], sys.argv[3]
src = OpenDataFile(path)
times = list(src.TimestepValues) if hasattr(src, "TimestepValues") and src.TimestepValues else [0.0]
if not isinstance(times, list):
    times = [times]
t = float(sys.argv[4]) if len(sys.argv) > 4 else times[len(times) // 2]
scene = GetAnimationScene()
scene.UpdateAnimationUsingDataTimeSteps()
scene.AnimationTime = t

UpdatePipeline(time=t, proxy=src)
b = src.GetDataInformation().GetBounds()
center = [0.5 * (b[0] + b[1]), 0.5 * (b[2] + b[3]), 0.5 * (b[4] + b[5])]
cut = Slice(Input=src)
cut.SliceType.Origin = center  # the y = const plane through the middle of the data
cut.SliceType.Normal = [0.0, 1.0, 0.0]
UpdatePipeline(time=t, proxy=cut)

layout = CreateLayout("comparison")
layout.SplitHorizontal(0, 1.0 / 3.0)
layout.SplitHorizontal(2, 0.5)
cells = [1, 5, 6]
panels = [(var + "_ground_truth", "ground truth"), (var, "MC-INR decoded"), (var + "_abs_error", "|error|")]
rng = None
for i, (array, title) in enumerate(panels):
    view = CreateView("RenderView")
    view.ViewSize = [520, 560]
    view.OrientationAxesVisibility = 0
    view.ViewTime = t
    layout.AssignView(cells[i], view)
    d = Show(cut, view)
    ColorBy(d, ("POINTS", array))
    lut = GetColorTransferFunction(array)
    info = cut.PointData[array].GetRange(0)
    if array != var + "_abs_error":
        # Same colour range for ground truth and decoded, so the two are comparable.
        rng = info if rng is None else (min(rng[0], info[0]), max(rng[1], info[1]))
        lut.RescaleTransferFunction(rng[0], rng[1])
    else:
        lut.ApplyPreset("Inferno (matplotlib)", True)
        lut.RescaleTransferFunction(0.0, max(info[1], 1e-12))
    d.SetScalarBarVisibility(view, True)
    view.CameraPosition = [center[0], center[1] - 6, center[2]]
    view.CameraFocalPoint = center
    view.CameraViewUp = [0, 0, 1]
    ResetCamera(view)
    from paraview.simple import Text
    label = Text(Text="%s  (t = %g)" % (title, t))
    Show(label, view).FontSize = 14
# decoded and ground truth share one range
lut_dec = GetColorTransferFunction(var)
lut_gt = GetColorTransferFunction(var + "_ground_truth")
lut_dec.RescaleTransferFunction(rng[0], rng[1])
lut_gt.RescaleTransferFunction(rng[0], rng[1])
layout.SetSize(1560, 560)
SaveScreenshot(png, layout, ImageResolution=[1560, 560])
print("wrote", png)
