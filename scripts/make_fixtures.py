#!/usr/bin/python3
"""Generate the MeshIO test fixtures with the reference implementation (ParaView's VTK).

Run with ParaView's python:  /usr/bin/python3 scripts/make_fixtures.py [OUTDIR]
(default OUTDIR: Tests/MeshIOTests/Fixtures). The fixtures are small and committed; rerun only
when the set changes. Every .vtu holds the same grid and values, written with a different
encoding (ascii, binary, appended raw, appended base64), uncompressed or with VTK's zlib, LZ4
or LZMA compressor, header UInt32/UInt64.
The values follow closed formulas that the Swift tests recompute (see MeshIOFixtureTests).
"""
import math
import os
import sys

import vtk

NX, NY, NZ = 4, 3, 3          # points per axis of the box that is split into tets
BLOCK_SIZE = 96               # tiny blocks, so compressed arrays span several blocks


def build_grid(double_points=False):
    pts = vtk.vtkPoints()
    pts.SetDataTypeToDouble() if double_points else pts.SetDataTypeToFloat()

    def pid(i, j, k):
        return i + NX * (j + NY * k)

    for k in range(NZ):
        for j in range(NY):
            for i in range(NX):
                # Irregular spacing so that coordinates are not all exactly representable.
                pts.InsertNextPoint(0.3 * i + 0.01 * j * j, 0.45 * j + 0.02 * k, 0.7 * k + 0.001 * i)
    grid = vtk.vtkUnstructuredGrid()
    grid.SetPoints(pts)
    # Each hexahedron is split into 6 tetrahedra sharing the diagonal v0-v6.
    hex_tets = [(0, 1, 2, 6), (0, 2, 3, 6), (0, 3, 7, 6), (0, 7, 4, 6), (0, 4, 5, 6), (0, 5, 1, 6)]
    for k in range(NZ - 1):
        for j in range(NY - 1):
            for i in range(NX - 1):
                v = [pid(i, j, k), pid(i + 1, j, k), pid(i + 1, j + 1, k), pid(i, j + 1, k),
                     pid(i, j, k + 1), pid(i + 1, j, k + 1), pid(i + 1, j + 1, k + 1), pid(i, j + 1, k + 1)]
                for t in hex_tets:
                    ids = vtk.vtkIdList()
                    for a in t:
                        ids.InsertNextId(v[a])
                    grid.InsertNextCell(vtk.VTK_TETRA, ids)
    # One non-tetrahedral linear cell so that offsets are not a constant stride.
    ids = vtk.vtkIdList()
    for a in (0, 1, 5, 4, 16):
        ids.InsertNextId(a)
    grid.InsertNextCell(vtk.VTK_PYRAMID, ids)
    return grid


def add_arrays(grid, step=0):
    n = grid.GetNumberOfPoints()
    t = 0.25 * step
    scalar = vtk.vtkFloatArray(); scalar.SetName("scalar")
    vel = vtk.vtkFloatArray(); vel.SetName("velocity"); vel.SetNumberOfComponents(3)
    ids = vtk.vtkIntArray(); ids.SetName("ids")
    dist = vtk.vtkDoubleArray(); dist.SetName("dist")
    for p in range(n):
        x, y, z = grid.GetPoint(p)
        scalar.InsertNextValue(math.sin(3 * x + t) * math.cos(2 * y) + z)
        vel.InsertNextTuple3(x * y - t, -z + 0.125 * p, math.exp(-x) + t)
        ids.InsertNextValue(p * 7 - 40 + step)
        dist.InsertNextValue(math.sqrt(x * x + y * y + z * z) + 1e-9 * p + t)
    pd = grid.GetPointData()
    for a in (scalar, vel, ids, dist):
        pd.AddArray(a)
    quality = vtk.vtkFloatArray(); quality.SetName("cell_quality")
    for c in range(grid.GetNumberOfCells()):
        quality.InsertNextValue(0.5 * c - 3.25 + step)
    grid.GetCellData().AddArray(quality)


def add_all_types(grid):
    """One point array per integer type, value = f(p) inside each type's range."""
    n = grid.GetNumberOfPoints()
    kinds = [("i8", vtk.vtkSignedCharArray, lambda p: p - 20),
             ("u8", vtk.vtkUnsignedCharArray, lambda p: 200 + p),
             ("i16", vtk.vtkShortArray, lambda p: -900 * p),
             ("u16", vtk.vtkUnsignedShortArray, lambda p: 1000 * p + 7),
             ("i32", vtk.vtkIntArray, lambda p: -100000 * p),
             ("u32", vtk.vtkUnsignedIntArray, lambda p: 100000 * p + 3),
             ("i64", vtk.vtkLongLongArray, lambda p: -(p * 1000003)),
             ("u64", vtk.vtkUnsignedLongLongArray, lambda p: p * 1000003 + 1)]
    for name, cls, f in kinds:
        a = cls(); a.SetName(name)
        for p in range(n):
            a.InsertNextValue(f(p))
        grid.GetPointData().AddArray(a)


def write(grid, path, mode, compressor, header64, encode_appended=False, time_value=None):
    """compressor: None, "zlib", "lz4" or "lzma" (True means "zlib")."""
    if time_value is not None:
        tv = vtk.vtkDoubleArray(); tv.SetName("TimeValue"); tv.InsertNextValue(time_value)
        grid.GetFieldData().AddArray(tv)
    w = vtk.vtkXMLUnstructuredGridWriter()
    w.SetFileName(path)
    w.SetInputData(grid)
    {"ascii": w.SetDataModeToAscii, "binary": w.SetDataModeToBinary,
     "appended": w.SetDataModeToAppended}[mode]()
    w.SetEncodeAppendedData(1 if encode_appended else 0)
    if compressor:
        {True: w.SetCompressorTypeToZLib, "zlib": w.SetCompressorTypeToZLib,
         "lz4": w.SetCompressorTypeToLZ4, "lzma": w.SetCompressorTypeToLZMA}[compressor]()
        w.SetBlockSize(BLOCK_SIZE)
    else:
        w.SetCompressorTypeToNone()
    w.SetHeaderTypeToUInt64() if header64 else w.SetHeaderTypeToUInt32()
    if w.Write() != 1:
        sys.exit(f"make_fixtures: VTK failed to write {path}")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "MeshIOTests", "Fixtures")
    os.makedirs(out, exist_ok=True)
    variants = []
    for header64 in (False, True):
        for z in ("raw", "zlib", "lz4", "lzma"):
            h = "h64" if header64 else "h32"
            variants += [("binary", False, f"binary_{z}_{h}"),
                         ("appended", False, f"appended_raw_{z}_{h}"),
                         ("appended", True, f"appended_base64_{z}_{h}")]
    names = []
    for mode, enc, name in variants:
        g = build_grid(); add_arrays(g)
        z = name.split("_")[-2]
        write(g, os.path.join(out, name + ".vtu"), mode, None if z == "raw" else z, "h64" in name, enc)
        names.append(name)
    g = build_grid(); add_arrays(g)
    write(g, os.path.join(out, "ascii.vtu"), "ascii", False, False)
    g = build_grid(double_points=True); add_arrays(g)
    write(g, os.path.join(out, "points_f64.vtu"), "appended", True, True)
    for mode, name in (("ascii", "alltypes_ascii"), ("appended", "alltypes_appended_zlib")):
        g = build_grid(); add_arrays(g); add_all_types(g)
        write(g, os.path.join(out, name + ".vtu"), mode, mode == "appended", True)

    # A 3-step series in a sub-folder; the .pvd lists the steps out of order on purpose.
    series = os.path.join(out, "series")
    os.makedirs(series, exist_ok=True)
    times = [0.0, 0.5, 1.25]
    for s, t in enumerate(times):
        g = build_grid(); add_arrays(g, step=s)
        write(g, os.path.join(series, f"step_{s}.vtu"), "appended", s != 1, True, time_value=t)
    with open(os.path.join(out, "series.pvd"), "w") as f:
        f.write('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">\n<Collection>\n')
        for s in (2, 0, 1):
            f.write(f'<DataSet timestep="{times[s]}" group="" part="0" file="series/step_{s}.vtu"/>\n')
        f.write('</Collection>\n</VTKFile>\n')
    print(f"make_fixtures: wrote {len(names) + 4} .vtu + series.pvd (3 steps) to {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
