"""Renders a decoded array of an .mci model (on a slice through the middle of the mesh) next
to the same slice of the ground truth .pvd when given, saves a PNG, and checks that the image
is not blank (pixel variance and number of distinct colours).

  xvfb-run -a -s '-screen 0 1280x1024x24' pvpython screenshot.py --plugin MCINRReaderPlugin.so \
      --mci model.mci [--pvd truth.pvd] [--array temperature] [--time T] --out shot.png
"""
import argparse
import os
import sys

import numpy as np

from paraview import servermanager
from paraview.simple import (ColorBy, CreateView, GetColorTransferFunction, GetScalarBar,
                             Hide, LoadPlugin,
                             OpenDataFile, PVDReader, Render, SaveScreenshot, Show, Slice, Text,
                             Transform)
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOImage import vtkPNGReader


def image_stats(path):
    """(standard deviation of the pixel values, number of distinct RGB colours) of a PNG."""
    reader = vtkPNGReader()
    reader.SetFileName(path)
    reader.Update()
    image = reader.GetOutput()
    pixels = vtk_to_numpy(image.GetPointData().GetScalars())[:, :3].astype(np.int64)
    colours = np.unique(pixels[:, 0] * 65536 + pixels[:, 1] * 256 + pixels[:, 2]).size
    return float(pixels.std()), colours


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--mci", required=True)
    ap.add_argument("--pvd")
    ap.add_argument("--array", help="variable to show (default: temperature, else the first)")
    ap.add_argument("--time", type=float, help="time to show (default: the first stored step)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--min-colours", type=int, default=32)
    args = ap.parse_args()

    LoadPlugin(args.plugin, ns=globals())
    model = OpenDataFile(args.mci)
    model.UpdatePipelineInformation()
    names = list(model.PointArrayStatus)
    array = args.array or ("temperature" if "temperature" in names else names[0])
    if array not in names:
        print("screenshot: %s has no variable %s (has %s)" % (args.mci, array, names))
        return 1
    model.PointArrayStatus = [array]
    time = args.time if args.time is not None else list(model.TimestepValues)[0]
    model.UpdatePipeline(time)

    # Slice through the centre, normal to the thinnest axis, so the cut shows the interior.
    bounds = model.GetDataInformation().GetBounds()
    extent = [bounds[2 * i + 1] - bounds[2 * i] for i in range(3)]
    centre = [0.5 * (bounds[2 * i] + bounds[2 * i + 1]) for i in range(3)]
    normal_axis = int(np.argmin(extent))
    normal = [1.0 if i == normal_axis else 0.0 for i in range(3)]
    in_plane = [i for i in range(3) if i != normal_axis]
    shift_axis = min(in_plane, key=lambda i: extent[i])  # side by side along the shorter side

    view = CreateView("RenderView")
    view.ViewSize = [1200, 600]
    view.ViewTime = time  # any time, also between steps: set on the view, not by snapping
    view.OrientationAxesVisibility = 0
    view.Background = [1.0, 1.0, 1.0]
    try:
        view.UseColorPaletteForBackground = 0
    except AttributeError:
        pass

    def show_slice(source, offset):
        cut = Slice(Input=source)
        cut.SliceType = "Plane"
        cut.SliceType.Origin = centre
        cut.SliceType.Normal = normal
        shown = cut
        if offset:
            shown = Transform(Input=cut)
            shown.Transform = "Transform"
            translate = [0.0, 0.0, 0.0]
            translate[shift_axis] = offset
            shown.Transform.Translate = translate
        display = Show(shown, view)
        ColorBy(display, ("POINTS", array, "Magnitude"))
        return shown

    shown = [show_slice(model, 0.0)]
    labels = [("MC-INR decoded: %s, t = %g" % (array, time), "Upper Left Corner")]
    if args.pvd:
        truth = PVDReader(FileName=args.pvd)
        truth.UpdatePipeline(time)
        shown.append(show_slice(truth, 1.15 * extent[shift_axis]))
        labels.append(("ground truth (.pvd)", "Upper Right Corner"))
    for text, where in labels:
        label = Text(Text=text)
        label_display = Show(label, view)
        label_display.WindowLocation = where
        label_display.FontSize = 14
        label_display.Color = [0.0, 0.0, 0.0]

    # One colour map for both, rescaled explicitly to the data shown at this time.
    lo, hi = np.inf, -np.inf
    for source in shown:
        source.UpdatePipeline(time)
        info = source.GetDataInformation().GetPointDataInformation().GetArrayInformation(array)
        if info is not None:
            r = info.GetComponentRange(-1)
            lo, hi = min(lo, r[0]), max(hi, r[1])
    lut = GetColorTransferFunction(array)
    if np.isfinite(lo) and hi > lo:
        lut.RescaleTransferFunction(lo, hi)
    display = servermanager.GetRepresentation(shown[0], view)
    display.SetScalarBarVisibility(view, True)
    bar = GetScalarBar(lut, view)
    bar.Title = array
    bar.ComponentTitle = ""
    bar.TitleColor = [0.0, 0.0, 0.0]
    bar.LabelColor = [0.0, 0.0, 0.0]

    view.ResetCamera()
    camera = view.GetActiveCamera()
    position = list(centre)
    position[normal_axis] += 10.0 * max(extent)
    camera.SetFocalPoint(*centre)
    camera.SetPosition(*position)
    up_axis = [i for i in in_plane if i != shift_axis][0]  # the two slices sit side by side
    camera.SetViewUp(*[1.0 if i == up_axis else 0.0 for i in range(3)])
    view.ResetCamera()
    Render(view)
    SaveScreenshot(args.out, view, ImageResolution=[1200, 600])

    images = [args.out]
    if len(shown) > 1:
        # The ground truth alone would make the picture look busy: check the decoded slice
        # on its own too.
        Hide(shown[1], view)
        decoded_only = os.path.splitext(args.out)[0] + "-decoded.png"
        Render(view)
        SaveScreenshot(decoded_only, view, ImageResolution=[1200, 600])
        images.append(decoded_only)
    ok = True
    for image in images:
        std, colours = image_stats(image)
        good = std > 5.0 and colours >= args.min_colours
        ok = ok and good
        print("screenshot: %s (pixel std %.1f, %d colours) %s" % (image, std, colours,
                                                                "ok" if good else "LOOKS BLANK"))
    return 0 if ok else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave without pvpython's teardown: after sys.exit() it destroys the render window's GLX
    # context in an order Xvfb rejects (GLXBadContext, exit status 1) although all went well.
    os._exit(code)
