"""The README's picture: an .mci model read with pyvista.read (mcinr's reader), rendered off
screen. Run with the package installed (python/tests/package.sh leaves a venv):

  xvfb-run -a out/python-package/venv/bin/python python/examples/picture.py MODEL.mci OUT.png [--time T]

Left: temperature on the vessel cut open at y = 0 at time T (default: the stored step nearest
20); right: the tracer there. The model is what `mcinr-vtk train` wrote for vessel-small
(README quick start).
"""
import argparse

import numpy as np
import pyvista as pv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mci")
    ap.add_argument("out")
    ap.add_argument("--time", type=float, default=20.0)
    args = ap.parse_args()
    reader = pv.get_reader(args.mci)                      # mcinr's MCINRReader (entry point)
    times = np.array(reader.time_values)
    t = float(times[np.argmin(abs(times - args.time))])
    reader.set_active_time_value(t)
    grid = reader.read()                                  # UnstructuredGrid, float32 point arrays
    half = grid.clip(normal="y", origin=(0, 0, 0), invert=False)
    pv.OFF_SCREEN = True
    plot = pv.Plotter(shape=(1, 2), off_screen=True, window_size=(1400, 640), border=False)
    for col, (name, cmap) in enumerate((("temperature", "coolwarm"), ("tracer", "viridis"))):
        plot.subplot(0, col)
        plot.add_mesh(grid.outline(), color="grey")
        plot.add_mesh(half, scalars=name, cmap=cmap, show_edges=False,
                      scalar_bar_args={"title": name, "vertical": False, "position_x": 0.2, "width": 0.6})
        plot.add_text("%s, t = %.2f" % (name, t), font_size=11)
        plot.camera_position = [(3.2, -6.4, 3.4), (0.0, 0.0, 1.0), (0.0, 0.0, 1.0)]
    plot.screenshot(args.out)
    print("picture: %s (t = %g, %d points, %d cells)" % (args.out, t, grid.n_points, grid.n_cells))


if __name__ == "__main__":
    main()
