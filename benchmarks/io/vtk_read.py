"""Reference side of benchmarks/io/run: ParaView's vtkXMLUnstructuredGridReader on the same files.

Run with /usr/bin/python3 (ParaView 5.11's VTK is in its dist-packages). Prints one JSON line
per input, in the same shape as `mcinr-bench io`:
    python3 vtk_read.py [--repeat N] [--min-time S] PATH.pvd|PATH.vtu ...
Also: `--write-variants SRC.vtu OUTDIR` writes SRC as uncompressed appended raw and as ascii
(with VTK's writer), and `--decoded-bytes PATH...` prints the decoded size of every array.
"""
import json
import os
import re
import sys
import time
import xml.etree.ElementTree as ET

from vtkmodules.vtkCommonCore import vtkVersion
from vtkmodules.vtkIOXML import vtkXMLUnstructuredGridReader, vtkXMLUnstructuredGridWriter

TYPE_BYTES = {"Int8": 1, "UInt8": 1, "Int16": 2, "UInt16": 2, "Int32": 4, "UInt32": 4,
              "Int64": 8, "UInt64": 8, "Float32": 4, "Float64": 8}


def step_files(path):
    """The .vtu files of a .pvd (relative to its folder), or the file itself."""
    if not path.lower().endswith(".pvd"):
        return [path]
    folder = os.path.dirname(path)
    root = ET.parse(path).getroot()
    entries = [(float(d.get("timestep", i)), d.get("file"))
               for i, d in enumerate(root.iter("DataSet"))]
    return [f if os.path.isabs(f) else os.path.join(folder, f) for _, f in sorted(entries)]


def read(path):
    """One full read: every point/cell array (the XML reader enables all by default)."""
    r = vtkXMLUnstructuredGridReader()
    r.SetFileName(path)
    r.Update()
    out = r.GetOutput()
    if out.GetNumberOfPoints() == 0:
        raise RuntimeError(f"{path}: VTK read no points")
    return out


def decoded_bytes(path):
    """Bytes of all arrays once decoded, in the types the file declares (what the file's
    payload expands to; the denominator of the 'decoded MB/s' column)."""
    out = read(path)
    with open(path, "rb") as f:
        text = f.read()
    head = text.split(b"<AppendedData", 1)[0].decode("latin-1")
    n_points, n_cells = out.GetNumberOfPoints(), out.GetNumberOfCells()
    n_conn = out.GetCells().GetNumberOfConnectivityIds()
    total = 0
    section = None
    for m in re.finditer(r"<(PointData|CellData|Points|Cells|FieldData)\b|<DataArray\b([^>]*)>", head):
        if m.group(1):
            section = m.group(1)
            continue
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        size = TYPE_BYTES[attrs["type"]]
        comps = int(attrs.get("NumberOfComponents", "1"))
        if section == "FieldData":
            count = int(attrs.get("NumberOfTuples", "1")) * comps
        elif section in ("PointData", "Points"):
            count = n_points * comps
        elif section == "CellData":
            count = n_cells * comps
        else:  # Cells
            count = n_conn if attrs.get("Name") == "connectivity" else n_cells
        total += count * size
    return total


def best_of(files, repeats, min_time):
    for f in files:  # warm-up (page cache, lazy imports)
        read(f)
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        calls = 0
        w0, c0 = time.perf_counter(), time.process_time()
        while True:
            for f in files:
                read(f)
            calls += 1
            if time.perf_counter() - w0 >= min_time:
                break
        best_wall = min(best_wall, (time.perf_counter() - w0) / calls)
        best_cpu = min(best_cpu, (time.process_time() - c0) / calls)
    return best_wall, best_cpu


def write_variants(src, outdir):
    data = read(src)
    stem = os.path.splitext(os.path.basename(src))[0]
    written = []
    for name, setup in (("raw", lambda w: (w.SetDataModeToAppended(), w.EncodeAppendedDataOff(),
                                           w.SetCompressorTypeToNone())),
                        ("ascii", lambda w: (w.SetDataModeToAscii(), w.SetCompressorTypeToNone()))):
        path = os.path.join(outdir, f"{stem}_{name}.vtu")
        w = vtkXMLUnstructuredGridWriter()
        w.SetInputData(data)
        w.SetHeaderTypeToUInt64()
        setup(w)
        w.SetFileName(path + ".tmp")
        if not w.Write():
            raise RuntimeError(f"VTK could not write {path}")
        os.replace(path + ".tmp", path)
        written.append(path)
    print("\n".join(written))


def main(argv):
    repeats, min_time, inputs = 5, 0.3, []
    it = iter(argv)
    for a in it:
        if a == "--repeat":
            repeats = int(next(it))
        elif a == "--min-time":
            min_time = float(next(it))
        elif a == "--write-variants":
            write_variants(next(it), next(it))
            return 0
        elif a == "--decoded-bytes":
            for p in it:
                files = step_files(p)
                print(json.dumps({"input": p, "decoded_bytes": sum(decoded_bytes(f) for f in files)}))
            return 0
        else:
            inputs.append(a)
    for p in inputs:
        files = step_files(p)
        wall, cpu = best_of(files, repeats, min_time)
        print(json.dumps({"tool": "vtk", "reader": "vtkXMLUnstructuredGridReader",
                          "vtk_version": vtkVersion.GetVTKVersion(), "input": p, "files": len(files),
                          "file_bytes": sum(os.path.getsize(f) for f in files),
                          "wall_s": wall, "cpu_s": cpu, "repeats": repeats}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
