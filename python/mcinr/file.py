"""The numpy API of mcinr: an opened .mci model with variables by name.

    import mcinr
    with mcinr.open("model.mci") as f:             # a path, or the bytes of a file
        f.variables                                # {"velocity": 3, "pressure": 1, ...}
        f.times, f.bounds                          # stored times (float64), (min xyz, max xyz)
        f.points, f.cells                          # mesh: N×3, Cells(types, offsets, connectivity)
        v = f.decode_mesh(f.times[0])              # {"velocity": N×3, "pressure": N, ...} float32
        w = f.decode(xyz, 12.5, ["temperature"])   # at any points (n×3) and any time
        f.error_bound                              # {"pressure": E, ...} (error-bounded models)
        pc = f.read_piece(1, 4, ghost_levels=1, time=f.times[0])   # piece 1 of 4 (parallel readers)
        pc.point_ids, pc.points, pc.cells, pc.values["pressure"], pc.cell_ghost_levels

Everything goes through the one C decoder (capi.Model: the ctypes binding of mcinr.h); its
errors raise mcinr.DecoderError with the decoder's message.
"""
import ctypes
import os
from collections import namedtuple

import numpy as np

from . import capi

Cells = namedtuple("Cells", "types offsets connectivity")
Piece = namedtuple("Piece", "point_ids points cells cell_ghost_levels point_duplicate values evaluated")
Piece.__doc__ = """Piece p of n of the mesh (File.read_piece; mcinr.h, "Pieces"): point_ids (int64,
increasing global ids: indices into File.points), points (n×3 float64), cells (Cells, indices into
this piece's points; own cells first, then ghost cells), cell_ghost_levels (uint8: 0 own, l ghost
level l), point_duplicate (uint8: 1 for a point another piece owns; all 0 without ghost levels),
values ({name: array} at the piece's points, bit for bit those of decode_mesh; {} without a time)
and evaluated (points the networks ran on)."""

_PIECE_FUNCTIONS = {  # name: (restype, argtypes), as in mcinr.h ("Pieces")
    "mcinr_piece_build": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int,
                                         ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p,
                                         ctypes.c_size_t]),
    "mcinr_piece_free": (None, [ctypes.c_void_p]),
    "mcinr_piece_num_points": (ctypes.c_size_t, [ctypes.c_void_p]),
    "mcinr_piece_num_cells": (ctypes.c_size_t, [ctypes.c_void_p]),
    "mcinr_piece_connectivity_size": (ctypes.c_size_t, [ctypes.c_void_p]),
    "mcinr_piece_point_ids": (ctypes.c_void_p, [ctypes.c_void_p]),
    "mcinr_piece_points": (ctypes.c_void_p, [ctypes.c_void_p]),
    "mcinr_piece_cell_types": (ctypes.c_void_p, [ctypes.c_void_p]),
    "mcinr_piece_offsets": (ctypes.c_void_p, [ctypes.c_void_p]),
    "mcinr_piece_connectivity": (ctypes.c_void_p, [ctypes.c_void_p]),
    "mcinr_piece_cell_ghost_levels": (ctypes.c_void_p, [ctypes.c_void_p]),
    "mcinr_piece_point_duplicate": (ctypes.c_void_p, [ctypes.c_void_p]),
    "mcinr_piece_decode": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_double, ctypes.c_void_p,
                                          ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p,
                                          ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p, ctypes.c_size_t]),
    "mcinr_decode_mesh_points": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_double, ctypes.c_void_p, ctypes.c_size_t,
                                                ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p,
                                                ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p, ctypes.c_size_t]),
}


def _piece_functions(library):
    """The pieces functions of a loaded capi.Library (declared once per library)."""
    table = getattr(library, "_mcinr_piece_functions", None)
    if table is None:
        table = {}
        for name, (restype, argtypes) in _PIECE_FUNCTIONS.items():
            try:
                fn = getattr(library._dll, name)
            except AttributeError:
                raise capi.LibraryError("%s has no %s (a libmcinr older than the pieces API)"
                                        % (library.path, name)) from None
            fn.restype, fn.argtypes = restype, argtypes
            table[name] = fn
        library._mcinr_piece_functions = table
    return table


def _copy(pointer, count, dtype, shape=None):
    """A numpy copy of `count` values of `dtype` at a C pointer (NULL: an empty array)."""
    if not pointer or count == 0:
        return np.zeros(shape if shape is not None else (0,), dtype=dtype)
    buf = (ctypes.c_char * (count * np.dtype(dtype).itemsize)).from_address(pointer)
    out = np.frombuffer(buf, dtype=dtype).copy()
    return out.reshape(shape) if shape is not None else out
Cells.__doc__ = """The mesh's cells, VTK style: types (M uint8, VTK cell type ids), offsets (M+1
int64, from 0) and connectivity (int64 point indices)."""

def default_threads():
    """The decoder threads used when num_threads is None: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def open(source, library=None):  # noqa: A001 (mcinr.open, like gzip.open)
    """Opens an .mci model: `source` is a path (str or os.PathLike) or the bytes of a file
    (bytes, bytearray, memoryview). Returns a File; DecoderError when it cannot be read."""
    return File(source, library=library)


class File:
    """An opened .mci model. Use it in a `with` block or close() it. Variables are addressed
    by name; decoded values are float32 numpy arrays (a scalar variable gives shape (n,), a
    k-component one (n, k)). The underlying capi.Model is `model`."""

    def __init__(self, source, library=None):
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.model = capi.Model.from_bytes(bytes(source), library=library)
        else:
            self.model = capi.Model(source, library=library)
        self._variables = self.model.variables
        self._mesh = None

    # ---- lifetime ----

    def close(self):
        self.model.close()
        self._mesh = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<mcinr.File %s: %s>" % (self.model.path or "memory buffer",
                                         ", ".join("%s(%d)" % kv for kv in self.variables.items()))

    # ---- what the file holds ----

    @property
    def path(self):
        """The file's path (None when opened from bytes)."""
        return self.model.path

    @property
    def variables(self):
        """{name: number of components} in file order."""
        return {v.name: v.components for v in self._variables}

    @property
    def times(self):
        """The stored times (float64 array): decode_mesh at exactly one of them adds an
        error-bounded model's residual."""
        return np.array(self.model.times, dtype=np.float64)

    @property
    def time_interval(self):
        """(first, last) time the model was trained on."""
        return self.model.time_interval

    @property
    def bounds(self):
        """(min xyz, max xyz) of the training data: two float64 arrays of 3."""
        return self.model.bounds

    def range(self, variable):
        """(min, max) of each component of a variable over the stored steps: two float64
        arrays of the variable's number of components."""
        v = self._variable(variable)
        lo, hi = zip(*(self.model.component_range(v.first_component + k) for k in range(v.components)))
        return np.array(lo), np.array(hi)

    @property
    def metadata(self):
        """The file's JSON metadata (a dict; {} without one)."""
        return self.model.metadata

    # ---- mesh ----

    @property
    def has_mesh(self):
        return self.model.has_mesh

    def _load_mesh(self):
        if self._mesh is None:
            mesh = self.model.mesh()  # DecoderError (NO_MESH) without one
            check_cells(mesh.types, mesh.offsets, mesh.connectivity, mesh.points.shape[0],
                        self.model.path or "memory buffer", self.model.library)
            points = mesh.points.astype(np.float32) if self.model.mesh_point_type == 1 else mesh.points
            self._mesh = (points, Cells(mesh.types, mesh.offsets, mesh.connectivity))
        return self._mesh

    @property
    def points(self):
        """The embedded mesh's points, N×3, in the precision the file stores them (float32 or
        float64). DecoderError (Status.NO_MESH) without a mesh."""
        return self._load_mesh()[0]

    @property
    def cells(self):
        """The embedded mesh's cells (Cells: VTK types, offsets, connectivity), checked: every
        cell has a size its VTK type allows (DecoderError, Status.FORMAT, otherwise)."""
        return self._load_mesh()[1]

    @property
    def num_points(self):
        return self.model.num_points

    @property
    def num_cells(self):
        return self.model.num_cells

    # ---- error-bounded models ----

    @property
    def has_residual(self):
        return self.model.has_residual

    @property
    def error_bound(self):
        """{name: E} for an error-bounded model: decode_mesh at a stored time is within E of
        the training data (E a float for a scalar, a float64 array per component otherwise);
        None for a model without a residual."""
        if not self.model.has_residual:
            return None
        out = {}
        for v in self._variables:
            e = np.array([self.model.residual_max_error(v.first_component + k) for k in range(v.components)])
            out[v.name] = float(e[0]) if v.components == 1 else e
        return out

    # ---- decoding ----

    def _variable(self, name):
        for v in self._variables:
            if v.name == name:
                return v
        raise KeyError("%s: no variable %r (variables: %s)" % (self.model.path or "memory buffer", name,
                                                                ", ".join(v.name for v in self._variables)))

    def _selected(self, variables):
        if variables is None:
            return list(self._variables)
        if isinstance(variables, str):
            variables = [variables]
        return [self._variable(name) for name in variables]

    def _split(self, selected, block):
        out, column = {}, 0
        for v in selected:
            part = block[:, column:column + v.components]
            out[v.name] = np.ascontiguousarray(part[:, 0] if v.components == 1 else part)
            column += v.components
        return out

    @staticmethod
    def _components(selected):
        return [v.first_component + k for v in selected for k in range(v.components)]

    def decode(self, points, time, variables=None, num_threads=None, progress=None):
        """Values at `points` (n×3, original coordinates) at `time` (any value): {name: array}
        for `variables` (names; all when None). The network alone (no residual). One decoder
        call for all of them, so shared network parts run once per point.
        num_threads: decoder threads (None: every CPU; the values do not depend on it).
        progress(fraction): see capi.Model.decode (a truthy return aborts)."""
        selected = self._selected(variables)
        block = self.model.decode(points, time, self._components(selected),
                                  num_threads=default_threads() if num_threads is None else num_threads,
                                  progress=progress)
        return self._split(selected, block)

    def decode_mesh(self, time, variables=None, num_threads=None, network_only=False, progress=None):
        """Values at every mesh point at `time`: {name: array of N (or N×k)}. At a stored time
        of an error-bounded model the residual is added (unless network_only), so the values
        are within error_bound of the training data. DecoderError (NO_MESH) without a mesh."""
        selected = self._selected(variables)
        block = self.model.decode_mesh(time, self._components(selected),
                                       num_threads=default_threads() if num_threads is None else num_threads,
                                       network_only=network_only, progress=progress)
        return self._split(selected, block)


    def read_piece(self, piece, num_pieces, ghost_levels=0, time=None, variables=None, num_threads=None,
                   network_only=False):
        """Piece `piece` of `num_pieces` with `ghost_levels` layers of ghost cells (a Piece), and
        with `time` given its values at its points only (mcinr_piece_decode: bit for bit those
        of decode_mesh). What a parallel reader's rank reads: a MESHC file is decoded chunk by
        chunk (the piece's own chunks, and for each ghost level the chunks that may hold its
        ghost cells), never whole.
        DecoderError with the decoder's message on failure."""
        lib = self.model._lib
        fns = _piece_functions(lib)
        threads = default_threads() if num_threads is None else int(num_threads)
        opts = capi.DecodeOptions(ctypes.sizeof(capi.DecodeOptions), threads, capi._PROGRESS_FN(), None,
                                  1 if network_only else 0)
        err = ctypes.create_string_buffer(1024)
        handle = ctypes.c_void_p()
        status = fns["mcinr_piece_build"](self.model._h, int(piece), int(num_pieces), int(ghost_levels),
                                          ctypes.byref(opts), ctypes.byref(handle), err, len(err))
        self.model._check(status, err)
        try:
            h = handle
            n = fns["mcinr_piece_num_points"](h)
            m = fns["mcinr_piece_num_cells"](h)
            k = fns["mcinr_piece_connectivity_size"](h)
            ids = _copy(fns["mcinr_piece_point_ids"](h), n, np.int64)
            points = _copy(fns["mcinr_piece_points"](h), 3 * n, np.float64, (n, 3))
            cells = Cells(_copy(fns["mcinr_piece_cell_types"](h), m, np.uint8),
                          _copy(fns["mcinr_piece_offsets"](h), m + 1, np.int64),
                          _copy(fns["mcinr_piece_connectivity"](h), k, np.int64))
            levels = _copy(fns["mcinr_piece_cell_ghost_levels"](h), m, np.uint8)
            duplicate = _copy(fns["mcinr_piece_point_duplicate"](h), n, np.uint8)
            values, evaluated = {}, 0
            if time is not None:  # at the coordinates the piece gathered (mcinr_piece_decode)
                selected = self._selected(variables)
                comp = np.ascontiguousarray(self._components(selected), dtype=np.uintp)
                block = np.empty((n, comp.size), dtype=np.float32)
                count = ctypes.c_size_t()
                if n and comp.size:
                    status = fns["mcinr_piece_decode"](h, self.model._h, float(time), comp.ctypes.data, comp.size,
                                                       block.ctypes.data, ctypes.byref(opts), ctypes.byref(count),
                                                       err, len(err))
                    self.model._check(status, err)
                values, evaluated = self._split(selected, block), count.value
        finally:
            fns["mcinr_piece_free"](handle)
        return Piece(ids, points, cells, levels, duplicate, values, evaluated)


def cell_point_counts(library):
    """Per VTK type 0...255: the exact point count (0: variable, -1: unsupported) and the
    minimum, from the decoder's one table (mcinr_cell_point_count), which the C++ reader uses
    too: a file cannot hand VTK a tetrahedron with three points."""
    exact = np.empty(256, dtype=np.int64)
    minimum = np.empty(256, dtype=np.int64)
    least = ctypes.c_int()
    for t in range(256):
        exact[t] = library.mcinr_cell_point_count(t, ctypes.byref(least))
        minimum[t] = least.value
    return exact, minimum


def check_cells(types, offsets, connectivity, num_points, name, library):
    """DecoderError (Status.FORMAT) unless every cell's size fits its VTK type, the offsets run
    from 0 to len(connectivity) without decreasing, and every index is a point."""
    fail = lambda message: capi.DecoderError(capi.Status.FORMAT, "%s: %s" % (name, message), "format error")  # noqa: E731
    if offsets.size != types.size + 1 or offsets[0] != 0 or offsets[-1] != connectivity.size:
        raise fail("inconsistent cell offsets")
    sizes = np.diff(offsets)
    exact, minimum = cell_point_counts(library)
    want, least = exact[types], minimum[types]
    bad = np.flatnonzero((want < 0) | ((want > 0) & (sizes != want)) | (sizes < least))
    if bad.size:
        c = int(bad[0])
        if want[c] < 0:
            raise fail("cell %d has VTK cell type %d, which is not supported" % (c, types[c]))
        raise fail("cell %d of VTK type %d has %d points" % (c, types[c], sizes[c]))
    if connectivity.size and (connectivity.min() < 0 or connectivity.max() >= num_points):
        raise fail("the cells refer to point %d, but there are %d points"
                   % (connectivity.max() if connectivity.max() >= num_points else connectivity.min(), num_points))
