"""Edits of .mci files for hostile-file tests and format studies (docs/mci-format.md): the
section table, a file without its mesh, a corrupted payload, a rewritten MESH section.
Not for reading models: that is what mcinr.Model (the C decoder) is for."""
import struct
import zlib
from collections import namedtuple

HEADER_BYTES, ENTRY_BYTES = 16, 32
META, JSON, TREE, NETS, MESH = 1, 2, 3, 4, 5
MESHC = 8  # the mesh in chunks (format 1.3, mcinr-vtk's default)
RESIDUAL_SECTIONS = (6, 7)  # type 6 (format 1.1, retired) and 7 (1.2): stored at the mesh points, invalid without MESH
NEIGHBOURS = 11  # the residual's neighbour rule (format 1.10): invalid without a RESIDUAL

Section = namedtuple("Section", "index type flags offset length crc")


def sections(data):
    """The section table of .mci bytes, as Section tuples in table order."""
    count = struct.unpack_from("<I", data, 12)[0]
    return [Section(i, *struct.unpack_from("<IIQQI", data, HEADER_BYTES + ENTRY_BYTES * i)) for i in range(count)]


def section_of_type(data, kind, what="file"):
    """The Section of type `kind`; ValueError naming `what` when there is none."""
    for s in sections(data):
        if s.type == kind:
            return s
    raise ValueError("%s has no section of type %d" % (what, kind))


def _read(path):
    with open(path, "rb") as f:
        return bytearray(f.read())


def _write(path, data):
    with open(path, "wb") as f:
        f.write(bytes(data))


def strip_mesh_section(src, dst):
    """Copy an .mci file without its MESH or MESHC section and without a RESIDUAL (which needs
    the mesh) and its NEIGHBOURS: header count and table rewritten, the payloads stay where they are (the spec
    allows payloads anywhere after the table)."""
    data = _read(src)
    if not any(s.type in (MESH, MESHC) for s in sections(data)):
        raise ValueError("%s has no MESH or MESHC section" % src)
    entries = sections(data)
    kept = [bytes(data[HEADER_BYTES + ENTRY_BYTES * s.index:HEADER_BYTES + ENTRY_BYTES * (s.index + 1)])
            for s in entries if s.type not in (MESH, MESHC, NEIGHBOURS) + RESIDUAL_SECTIONS]
    struct.pack_into("<I", data, 12, len(kept))
    data[HEADER_BYTES:HEADER_BYTES + ENTRY_BYTES * len(entries)] = (
        b"".join(kept) + b"\0" * ENTRY_BYTES * (len(entries) - len(kept)))
    _write(dst, data)


def flip_payload_byte(data):
    """A copy of .mci bytes with one byte in the middle of the first section's payload
    inverted, so that its CRC-32 no longer matches."""
    first = sections(data)[0]
    if first.length == 0:
        raise ValueError("first section is empty")
    flipped = bytearray(data)
    flipped[first.offset + first.length // 2] ^= 0xFF
    return bytes(flipped)


def rewrite_mesh(src, dst, edit):
    """Copy an .mci file with its MESH section changed by `edit(types, offsets, connectivity)`
    (lists, edited in place); the new payload is appended with a correct CRC, so the decoder
    accepts the file and what is tested is the reader's own check of the cells."""
    data = _read(src)
    mesh = section_of_type(data, MESH, src)
    raw = zlib.decompress(bytes(data[mesh.offset + 8:mesh.offset + mesh.length]))
    n, point_type = struct.unpack_from("<QB", raw, 0)
    pos = 16 + n * 3 * (4 if point_type == 1 else 8)
    m, k = struct.unpack_from("<QQ", raw, pos)
    head = raw[:pos]
    pos += 16
    types = list(raw[pos:pos + m])
    pos += m
    offsets = list(struct.unpack_from("<%dQ" % m, raw, pos))
    pos += 8 * m
    conn = list(struct.unpack_from("<%dI" % k, raw, pos))
    edit(types, offsets, conn)
    body = (head + struct.pack("<QQ", len(types), len(conn)) + bytes(types) +
            struct.pack("<%dQ" % len(offsets), *offsets) + struct.pack("<%dI" % len(conn), *conn))
    payload = struct.pack("<Q", len(body)) + zlib.compress(body)
    new_offset = len(data)
    data += payload
    struct.pack_into("<QQI", data, HEADER_BYTES + ENTRY_BYTES * mesh.index + 8, new_offset, len(payload),
                     zlib.crc32(payload) & 0xFFFFFFFF)
    _write(dst, data)


def corrupt_mesh_chunk(src, dst, chunk=0):
    """Copy an .mci file with the second half of MESHC chunk `chunk`'s stream scrambled (every
    byte XOR 0x5A) and the section's CRC-32 fixed: the file passes the open's checks of the
    chunk table, and decoding that chunk is a format error naming it."""
    data = _read(src)
    meshc = section_of_type(data, MESHC, src)
    payload = meshc.offset
    count = struct.unpack_from("<I", data, payload + 32)[0]
    sizes = [struct.unpack_from("<Q", data, payload + 48 + 40 * k)[0] for k in range(count)]
    start = payload + 48 + 40 * count + sum(sizes[:chunk])
    for i in range(start + sizes[chunk] // 2, start + sizes[chunk]):
        data[i] ^= 0x5A
    crc = zlib.crc32(bytes(data[payload:payload + meshc.length])) & 0xFFFFFFFF
    struct.pack_into("<I", data, HEADER_BYTES + ENTRY_BYTES * meshc.index + 24, crc)
    _write(dst, data)
