"""Minimal ctypes binding of the C decoder (libmcinr.so built in plugin/build) for the tests:
the reader's output is compared with what mcinr_decode_mesh returns for the same file."""
import ctypes
import ctypes.util
import struct

MESH_SECTION = 5
RESIDUAL_SECTIONS = (6, 7)  # types 6 and 7 (predicted), stored at the mesh points: invalid without a MESH


def _openblas():
    """The process's OpenBLAS (the one libmcinr.so is linked to), or None."""
    name = ctypes.util.find_library("openblas")
    if not name:
        return None
    blas = ctypes.CDLL(name)
    blas.openblas_get_num_threads.restype = ctypes.c_int
    blas.openblas_set_num_threads.argtypes = [ctypes.c_int]
    return blas


class DecoderError(RuntimeError):
    pass


class _Options(ctypes.Structure):
    _fields_ = [("num_threads", ctypes.c_int),
                ("progress", ctypes.c_void_p),
                ("user_data", ctypes.c_void_p),
                ("network_only", ctypes.c_int)]  # format 1.1: 1 = skip the RESIDUAL


class Model:
    """An opened .mci model; raises DecoderError with the decoder's message on failure."""

    def __init__(self, lib_path, mci_path):
        lib = ctypes.CDLL(lib_path)
        self._lib = lib
        sz, vp = ctypes.c_size_t, ctypes.c_void_p
        lib.mcinr_open_file.argtypes = [ctypes.c_char_p, ctypes.POINTER(vp), ctypes.c_char_p, sz]
        lib.mcinr_open_file.restype = ctypes.c_int
        lib.mcinr_close.argtypes = [vp]
        for name in ("mcinr_num_variables", "mcinr_num_components", "mcinr_num_times",
                     "mcinr_mesh_num_points", "mcinr_mesh_num_cells",
                     "mcinr_mesh_connectivity_size"):
            getattr(lib, name).argtypes = [vp]
            getattr(lib, name).restype = sz
        lib.mcinr_has_mesh.argtypes = [vp]
        lib.mcinr_has_mesh.restype = ctypes.c_int
        lib.mcinr_variable_name.argtypes = [vp, sz]
        lib.mcinr_variable_name.restype = ctypes.c_char_p
        lib.mcinr_variable_components.argtypes = [vp, sz]
        lib.mcinr_variable_components.restype = sz
        lib.mcinr_variable_first_component.argtypes = [vp, sz]
        lib.mcinr_variable_first_component.restype = sz
        lib.mcinr_times.argtypes = [vp]
        lib.mcinr_times.restype = ctypes.POINTER(ctypes.c_double)
        lib.mcinr_metadata_json.argtypes = [vp]
        lib.mcinr_metadata_json.restype = ctypes.c_char_p
        lib.mcinr_mesh_points.argtypes = [vp, ctypes.POINTER(ctypes.c_double)]
        lib.mcinr_mesh_points.restype = ctypes.c_int
        lib.mcinr_mesh_cells.argtypes = [vp, ctypes.POINTER(ctypes.c_uint8),
                                         ctypes.POINTER(ctypes.c_int64),
                                         ctypes.POINTER(ctypes.c_int64)]
        lib.mcinr_mesh_cells.restype = ctypes.c_int
        lib.mcinr_decode_mesh.argtypes = [vp, ctypes.c_double, ctypes.POINTER(sz), sz,
                                          ctypes.POINTER(ctypes.c_float),
                                          ctypes.POINTER(_Options), ctypes.c_char_p, sz]
        lib.mcinr_decode_mesh.restype = ctypes.c_int
        lib.mcinr_status_string.argtypes = [ctypes.c_int]
        lib.mcinr_status_string.restype = ctypes.c_char_p

        self._handle = vp()
        err = ctypes.create_string_buffer(1024)
        status = lib.mcinr_open_file(mci_path.encode(), ctypes.byref(self._handle), err, 1024)
        if status != 0:
            raise DecoderError("%s: %s" % (lib.mcinr_status_string(status).decode(),
                                           err.value.decode(errors="replace")))

    def close(self):
        if self._handle:
            self._lib.mcinr_close(self._handle)
            self._handle = ctypes.c_void_p()

    def variables(self):
        """[(name, first_component, components)] in file order."""
        lib, h = self._lib, self._handle
        return [(lib.mcinr_variable_name(h, v).decode(),
                 lib.mcinr_variable_first_component(h, v),
                 lib.mcinr_variable_components(h, v))
                for v in range(lib.mcinr_num_variables(h))]

    def num_components(self):
        return self._lib.mcinr_num_components(self._handle)

    def times(self):
        n = self._lib.mcinr_num_times(self._handle)
        ptr = self._lib.mcinr_times(self._handle)
        return [ptr[i] for i in range(n)]

    def metadata_json(self):
        return self._lib.mcinr_metadata_json(self._handle).decode()

    def has_mesh(self):
        return bool(self._lib.mcinr_has_mesh(self._handle))

    def status_string(self, status):
        return self._lib.mcinr_status_string(status).decode()

    def mesh_point_type(self):
        """1 = float32, 2 = float64, None when the decoder has no mcinr_mesh_point_type."""
        fn = getattr(self._lib, "mcinr_mesh_point_type", None)
        if fn is None:
            return None
        fn.argtypes = [ctypes.c_void_p]
        fn.restype = ctypes.c_int
        return fn(self._handle)

    def mesh(self):
        """(points as flat list xyz, types, offsets, connectivity)."""
        lib, h = self._lib, self._handle
        n = lib.mcinr_mesh_num_points(h)
        m = lib.mcinr_mesh_num_cells(h)
        k = lib.mcinr_mesh_connectivity_size(h)
        pts = (ctypes.c_double * (3 * n))()
        types = (ctypes.c_uint8 * m)()
        offs = (ctypes.c_int64 * (m + 1))()
        conn = (ctypes.c_int64 * k)()
        if lib.mcinr_mesh_points(h, pts) != 0 or lib.mcinr_mesh_cells(h, types, offs, conn) != 0:
            raise DecoderError("mesh query failed")
        return pts, types, offs, conn

    def has_residual(self):
        """True for an error-bounded model (RESIDUAL section)."""
        self._lib.mcinr_has_residual.argtypes = [ctypes.c_void_p]
        self._lib.mcinr_has_residual.restype = ctypes.c_int
        return self._lib.mcinr_has_residual(self._handle) != 0

    def residual_max_error(self, component):
        """E_c of an error-bounded model."""
        lib = self._lib
        lib.mcinr_residual_max_error.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_double)]
        lib.mcinr_residual_max_error.restype = ctypes.c_int
        e = ctypes.c_double()
        if lib.mcinr_residual_max_error(self._handle, component, ctypes.byref(e)) != 0:
            raise DecoderError("component %d has no error bound" % component)
        return e.value

    def decode_mesh(self, time, components=None, num_threads=2, network_only=False):
        """Flat point-major float32 ctypes array, len = points × components; with the
        residual at stored steps of an error-bounded model unless network_only."""
        lib, h = self._lib, self._handle
        n = lib.mcinr_mesh_num_points(h)
        if components is None:
            components = list(range(self.num_components()))
        comp = (ctypes.c_size_t * len(components))(*components)
        out = (ctypes.c_float * (n * len(components)))()
        opts = _Options(num_threads, None, None, 1 if network_only else 0)
        err = ctypes.create_string_buffer(1024)
        # Like vtkMCINRReader: OpenBLAS single-threaded during the decode (its results
        # depend on its thread count in the last bit).
        blas = _openblas()
        previous = blas.openblas_get_num_threads() if blas else 0
        if previous > 1:
            blas.openblas_set_num_threads(1)
        try:
            status = lib.mcinr_decode_mesh(h, time, comp, len(components), out,
                                           ctypes.byref(opts), err, 1024)
        finally:
            if previous > 1:
                blas.openblas_set_num_threads(previous)
        if status != 0:
            raise DecoderError(err.value.decode(errors="replace"))
        return out


def strip_mesh_section(src, dst):
    """Copy an .mci file without its MESH section, and without a RESIDUAL (type 6 or 7), which
    needs the mesh (header count and table rewritten, the payloads stay where they are: the
    spec allows payloads anywhere after the table)."""
    data = bytearray(open(src, "rb").read())
    count = struct.unpack_from("<I", data, 12)[0]
    entries = [bytes(data[16 + 32 * i:16 + 32 * (i + 1)]) for i in range(count)]
    kept = [e for e in entries if struct.unpack_from("<I", e, 0)[0] not in (MESH_SECTION,) + RESIDUAL_SECTIONS]
    if not any(struct.unpack_from("<I", e, 0)[0] == MESH_SECTION for e in entries):
        raise ValueError("%s has no MESH section to strip" % src)
    struct.pack_into("<I", data, 12, len(kept))
    table = b"".join(kept) + b"\0" * 32 * (len(entries) - len(kept))
    data[16:16 + 32 * count] = table
    open(dst, "wb").write(bytes(data))


def flip_payload_byte(data):
    """A copy of .mci bytes with one byte in the middle of the first section's payload
    inverted, so that its CRC-32 no longer matches."""
    flipped = bytearray(data)
    offset, length = struct.unpack_from("<QQ", data, 16 + 8)
    if length == 0:
        raise ValueError("first section is empty")
    flipped[offset + length // 2] ^= 0xFF
    return bytes(flipped)


def rewrite_mesh(src, dst, edit):
    """Copy an .mci file with its MESH section changed by `edit(types, offsets, connectivity)`
    (lists, edited in place); the new payload is appended with a correct CRC, so the decoder
    accepts the file and what is tested is the reader's own check of the cells."""
    import zlib
    data = bytearray(open(src, "rb").read())
    count = struct.unpack_from("<I", data, 12)[0]
    for i in range(count):
        entry = 16 + 32 * i
        if struct.unpack_from("<I", data, entry)[0] == MESH_SECTION:
            break
    else:
        raise ValueError("%s has no MESH section" % src)
    offset, length = struct.unpack_from("<QQ", data, entry + 8)
    raw = zlib.decompress(bytes(data[offset + 8:offset + length]))
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
    struct.pack_into("<QQI", data, entry + 8, new_offset, len(payload), zlib.crc32(payload) & 0xFFFFFFFF)
    open(dst, "wb").write(bytes(data))
