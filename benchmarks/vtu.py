"""Minimal reader for the point data of .pvd/.vtu series (VTK XML UnstructuredGrid).

Handles what our datasets use: appended raw or inline binary (base64) data, with or without
vtkZLibDataCompressor blocks, UInt32 or UInt64 headers, and ascii arrays. read_vtu reads the
points and the point data; read_cells reads the cells (connectivity, offsets, types) in the
same encodings, for the benchmarks that need the mesh's point graph.
"""
import base64
import os
import re
import xml.etree.ElementTree as ET
import zlib

import numpy as np

from mcinr import component_names  # python/mcinr (on sys.path: benchmarks/bench.py puts it there)

DTYPES = {"Float32": "<f4", "Float64": "<f8", "Int32": "<i4", "Int64": "<i8", "UInt8": "u1",
          "UInt32": "<u4", "UInt64": "<u8", "Int8": "i1", "Int16": "<i2", "UInt16": "<u2"}


class VTUError(Exception):
    pass


def read_series(path):
    """(times, [file paths]) of a .pvd, or ([0], [path]) of a single .vtu."""
    if not path.endswith(".pvd"):
        return [0.0], [path]
    root = ET.parse(path).getroot()
    entries = [(float(d.get("timestep", "0")), d.get("file")) for d in root.iter("DataSet")]
    entries.sort(key=lambda e: e[0])
    base = os.path.dirname(path)
    return [t for t, _ in entries], [os.path.join(base, f) for _, f in entries]


def _decode_block(raw, compressed, header):
    if not compressed:
        (size,) = np.frombuffer(raw[:header.itemsize], header)
        return raw[header.itemsize:header.itemsize + int(size)]
    nblocks = int(np.frombuffer(raw[:header.itemsize], header)[0])
    head = np.frombuffer(raw[:header.itemsize * (3 + nblocks)], header)
    sizes = head[3:].astype(np.int64)
    pos, out = header.itemsize * (3 + nblocks), []
    for s in sizes:
        out.append(zlib.decompress(raw[pos:pos + s]))
        pos += s
    return b"".join(out)


def _open_vtu(path):
    """(piece element, header dtype, compressed?, appended bytes) of one .vtu: the XML before
    any raw AppendedData is parsed, the appended bytes kept as they are."""
    with open(path, "rb") as fh:
        data = fh.read()
    marker = data.find(b"<AppendedData")
    appended = b""
    if marker >= 0:
        tag_end = data.index(b">", marker)
        if re.search(rb'encoding\s*=\s*"base64"', data[marker:tag_end]):
            raise VTUError(f"{path}: base64-encoded AppendedData is not supported (raw appended, inline binary or ascii are)")
        start = data.index(b"_", tag_end) + 1
        appended = data[start:]
        xml_text = data[:marker] + b"</VTKFile>"
    else:
        xml_text = data
    root = ET.fromstring(xml_text)
    header = np.dtype(DTYPES[root.get("header_type", "UInt32")])
    compressed = root.get("compressor") is not None
    piece = root.find("UnstructuredGrid/Piece")
    if piece is None:
        raise VTUError(f"{path}: no UnstructuredGrid/Piece element")
    return piece, header, compressed, appended


def read_vtu(path):
    """Points (n×3 float64) and {name: array n×ncomp float32} of one .vtu."""
    piece, header, compressed, appended = _open_vtu(path)
    n = int(piece.get("NumberOfPoints"))

    def array(el):
        dtype = np.dtype(DTYPES[el.get("type")])
        ncomp = int(el.get("NumberOfComponents", "1"))
        fmt = el.get("format")
        if fmt == "ascii":
            values = np.array(el.text.split(), dtype=dtype)
        elif fmt == "binary":
            blob = base64.b64decode(re.sub(rb"\s", b"", el.text.encode()))
            if compressed:
                nblocks = int(np.frombuffer(blob[:header.itemsize], header)[0])
                hlen = header.itemsize * (3 + nblocks)
                # Header and data are base64-encoded separately.
                enc_hlen = 4 * ((hlen + 2) // 3)
                head = base64.b64decode(re.sub(rb"\s", b"", el.text.encode())[:enc_hlen])
                body = base64.b64decode(re.sub(rb"\s", b"", el.text.encode())[enc_hlen:])
                values = np.frombuffer(_decode_block(head[:hlen] + body, True, header), dtype)
            else:
                values = np.frombuffer(_decode_block(blob, False, header), dtype)
        elif fmt == "appended":
            values = np.frombuffer(_decode_block(appended[int(el.get("offset")):], compressed, header), dtype)
        else:
            raise VTUError(f"{path}: array {el.get('Name')}: unsupported format {fmt}")
        if values.size != n * ncomp:
            raise VTUError(f"{path}: array {el.get('Name')}: {values.size} values, expected {n * ncomp}")
        return values.reshape(n, ncomp)

    points = array(piece.find("Points/DataArray")).astype(np.float64)
    fields = {el.get("Name"): array(el).astype(np.float32) for el in piece.findall("PointData/DataArray")}
    return points, fields


def read_step(path):
    """read_vtu of a .vtu, or of a .pvtu's pieces concatenated in order (as mcinr-vtk reads
    them): (points, {name: n × components})."""
    if not path.endswith(".pvtu"):
        return read_vtu(path)
    base = os.path.dirname(path)
    parts = [read_vtu(os.path.join(base, p.get("Source"))) for p in ET.parse(path).getroot().iter("Piece")]
    if not parts:
        raise VTUError(f"{path}: no Piece element")
    return (np.concatenate([p for p, _ in parts]),
            {name: np.concatenate([f[name] for _, f in parts]) for name in parts[0][1]})


def read_components(pvd):
    """(points n×3, names of the C scalar components, values T×n×C float32) of a series of
    .vtu or .pvtu steps, in the component order and with the names mcinr-vtk uses (arrays in
    file order, vectors split: mcinr.component_names)."""
    times, files = read_series(pvd)
    points, steps, names = None, [], None
    for f in files:
        pts, fields = read_step(f)
        if points is None:
            points = pts
            names = component_names((k, a.shape[1]) for k, a in fields.items())
        steps.append(np.concatenate(list(fields.values()), axis=1))
    return points, names, np.stack(steps)


def _data_array(path, el, header, compressed, appended):
    """The values of one DataArray element as a flat array of its type (any of the encodings above)."""
    dtype = np.dtype(DTYPES[el.get("type")])
    fmt = el.get("format")
    if fmt == "ascii":
        return np.array((el.text or "").split(), dtype=dtype)
    if fmt == "binary":
        text = re.sub(rb"\s", b"", (el.text or "").encode())
        blob = base64.b64decode(text)
        if not compressed:
            return np.frombuffer(_decode_block(blob, False, header), dtype)
        nblocks = int(np.frombuffer(blob[:header.itemsize], header)[0])
        hlen = header.itemsize * (3 + nblocks)
        enc_hlen = 4 * ((hlen + 2) // 3)   # header and data are base64-encoded separately
        head, body = base64.b64decode(text[:enc_hlen]), base64.b64decode(text[enc_hlen:])
        return np.frombuffer(_decode_block(head[:hlen] + body, True, header), dtype)
    if fmt == "appended":
        return np.frombuffer(_decode_block(appended[int(el.get("offset")):], compressed, header), dtype)
    raise VTUError(f"{path}: array {el.get('Name')}: unsupported format {fmt}")


def read_cells(path):
    """The cells of one .vtu: (connectivity, offsets, types) as int64, int64 and uint8 arrays,
    as VTK stores them: cell i's points are connectivity[offsets[i-1]:offsets[i]] (offsets[-1]
    taken as 0), types are VTK cell type codes. Polyhedra's faces are not read (their
    connectivity still lists each cell's points)."""
    piece, header, compressed, appended = _open_vtu(path)
    ncells, npoints = int(piece.get("NumberOfCells")), int(piece.get("NumberOfPoints"))
    arrays = {el.get("Name"): el for el in piece.findall("Cells/DataArray")}
    missing = [k for k in ("connectivity", "offsets", "types") if k not in arrays]
    if missing:
        raise VTUError(f"{path}: Cells: no {', '.join(missing)} array")
    conn, offsets, types = (_data_array(path, arrays[k], header, compressed, appended) for k in ("connectivity", "offsets", "types"))
    conn, offsets, types = conn.astype(np.int64), offsets.astype(np.int64), types.astype(np.uint8)
    if offsets.size != ncells or types.size != ncells:
        raise VTUError(f"{path}: Cells: {offsets.size} offsets and {types.size} types, expected {ncells}")
    if ncells and (offsets[-1] != conn.size or np.any(np.diff(offsets) < 0) or offsets[0] < 0):
        raise VTUError(f"{path}: Cells: offsets do not partition the {conn.size} connectivity entries")
    if conn.size and (conn.min() < 0 or conn.max() >= npoints):
        raise VTUError(f"{path}: Cells: connectivity refers to points outside 0 … {npoints - 1}")
    return conn, offsets, types
