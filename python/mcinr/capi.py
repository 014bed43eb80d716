"""The ctypes binding of the C decoder (CShim/include/mcinr.h, library version 1.x).

This is the only Python code that calls libmcinr: tests, benchmarks and the Python package
all go through it. It never changes process-wide state (no OpenBLAS thread count, no
signal handlers); the decoder's own threads are set per call with `num_threads`.

Finding the library (`load_library`): an explicit path, else the environment variable
MCINR_LIBRARY, else a libmcinr.so installed next to this module (a wheel). In a checkout,
`build_library(out_dir)` compiles one from CShim's sources (the decoder and the forward
kernels it needs); it is the one place that builds libmcinr.so for Python.
"""
import ctypes
import enum
import json
import os
import subprocess
import tempfile
import threading
from collections import namedtuple

import numpy as np

ENV_LIBRARY = "MCINR_LIBRARY"
API_MAJOR = 1  # the mcinr.h major version this binding is written against
LIBRARY_NAME = "libmcinr.so"
_ERR_LEN = 1024


class Status(enum.IntEnum):
    """mcinr_status."""
    OK = 0
    IO = 1
    FORMAT = 2
    VERSION = 3
    CHECKSUM = 4
    NOMEM = 5
    ARGUMENT = 6
    NO_MESH = 7
    ABORTED = 8
    LIMIT = 9  # beyond the limits for untrusted files (docs/mci-format.md, "Limits")


class DecoderError(RuntimeError):
    """A call of the C decoder failed. `str(e)` is the decoder's message (for an open, it
    starts with the file's path); `e.status` is the Status, `e.status_string` its short text."""

    def __init__(self, status, message, status_string=""):
        try:
            status = Status(status)
        except ValueError:
            pass
        self.status, self.status_string, self._message = status, status_string, message
        super().__init__(message or status_string or "mcinr status %d" % int(status))

    def __reduce__(self):  # picklable (multiprocessing): the constructor's arguments
        return (type(self), (int(self.status), self._message, self.status_string))


class LibraryError(OSError):
    """libmcinr could not be found, built or loaded, or is of an incompatible version."""


# ---- the library ----

_PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_double)


class DecodeOptions(ctypes.Structure):
    """mcinr_decode_options (1.0). struct_size is set to this structure's size, not by
    mcinr_decode_options_init: a newer library with a larger struct would write past it."""
    _fields_ = [("struct_size", ctypes.c_size_t),
                ("num_threads", ctypes.c_int),
                ("progress", _PROGRESS_FN),
                ("user_data", ctypes.c_void_p),
                ("network_only", ctypes.c_int),
                ("trust_large_files", ctypes.c_int),  # open only (mcinr_open_*_ex); 0: the limits enforced
                ("validate_residual", ctypes.c_int)]  # open only (1.8.0); 0: streams checked when decoded


_vp, _sz, _int, _dbl = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_double
_pd, _pi32, _u64 = ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_int32), ctypes.c_uint64
_SIGNATURES = {  # name: (restype, argtypes), as in mcinr.h
    "mcinr_version": (ctypes.c_char_p, []),
    "mcinr_cell_point_count": (ctypes.c_int, [ctypes.c_ubyte, ctypes.POINTER(ctypes.c_int)]),
    "mcinr_status_string": (ctypes.c_char_p, [_int]),
    "mcinr_open_file": (_int, [ctypes.c_char_p, ctypes.POINTER(_vp), ctypes.c_char_p, _sz]),
    "mcinr_open_memory": (_int, [_vp, _sz, ctypes.POINTER(_vp), ctypes.c_char_p, _sz]),
    "mcinr_open_file_ex": (_int, [ctypes.c_char_p, ctypes.POINTER(DecodeOptions), ctypes.POINTER(_vp), ctypes.c_char_p,
                                  _sz]),
    "mcinr_open_memory_ex": (_int, [_vp, _sz, ctypes.POINTER(DecodeOptions), ctypes.POINTER(_vp), ctypes.c_char_p, _sz]),
    "mcinr_close": (None, [_vp]),
    "mcinr_format_version": (None, [_vp, ctypes.POINTER(ctypes.c_uint16), ctypes.POINTER(ctypes.c_uint16)]),
    "mcinr_num_variables": (_sz, [_vp]),
    "mcinr_variable_name": (ctypes.c_char_p, [_vp, _sz]),
    "mcinr_variable_components": (_sz, [_vp, _sz]),
    "mcinr_variable_first_component": (_sz, [_vp, _sz]),
    "mcinr_num_components": (_sz, [_vp]),
    "mcinr_component_range": (_int, [_vp, _sz, _pd, _pd]),
    "mcinr_num_times": (_sz, [_vp]),
    "mcinr_times": (_pd, [_vp]),
    "mcinr_bounds": (None, [_vp, _pd, _pd]),
    "mcinr_time_interval": (None, [_vp, _pd, _pd]),
    "mcinr_training_num_points": (_u64, [_vp]),
    "mcinr_training_num_cells": (_u64, [_vp]),
    "mcinr_num_networks": (_sz, [_vp]),
    "mcinr_num_tree_nodes": (_sz, [_vp]),
    "mcinr_num_tree_top": (_sz, [_vp]),
    "mcinr_tree_node": (_int, [_vp, _sz, _pd, _pi32, _pi32, _pi32, _pi32]),
    "mcinr_route": (_sz, [_vp, _pd]),
    "mcinr_seam_margin": (ctypes.c_double, [_vp]),
    "mcinr_weight_bytes": (_u64, [_vp]),
    "mcinr_raw_field_bytes": (_u64, [_vp]),
    "mcinr_metadata_json": (ctypes.c_char_p, [_vp]),
    "mcinr_has_mesh": (_int, [_vp]),
    "mcinr_mesh_num_points": (_sz, [_vp]),
    "mcinr_mesh_num_cells": (_sz, [_vp]),
    "mcinr_mesh_connectivity_size": (_sz, [_vp]),
    "mcinr_mesh_point_type": (_int, [_vp]),
    "mcinr_mesh_points": (_int, [_vp, _vp]),
    "mcinr_mesh_cells": (_int, [_vp, _vp, _vp, _vp]),
    "mcinr_decode": (_int, [_vp, _vp, _sz, _dbl, _vp, _sz, _vp, ctypes.POINTER(DecodeOptions),
                            ctypes.c_char_p, _sz]),
    "mcinr_decode_mesh": (_int, [_vp, _dbl, _vp, _sz, _vp, ctypes.POINTER(DecodeOptions), ctypes.c_char_p, _sz]),
    "mcinr_has_residual": (_int, [_vp]),
    "mcinr_residual_max_error": (_int, [_vp, _sz, _pd]),
    "mcinr_residual_bytes": (_u64, [_vp]),
    "mcinr_residual_applies": (_int, [_vp, _dbl]),
}


class Library:
    """A loaded libmcinr with every function of mcinr.h declared (attribute access gives the
    ctypes function: `lib.mcinr_num_times(handle)`)."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        try:
            self._dll = ctypes.CDLL(self.path)
        except OSError as e:
            raise LibraryError("cannot load %s: %s" % (self.path, e)) from None
        for name, (restype, argtypes) in _SIGNATURES.items():
            try:
                fn = getattr(self._dll, name)
            except AttributeError:
                raise LibraryError("%s has no %s (built from other sources than mcinr.h %d.x?)"
                                   % (self.path, name, API_MAJOR)) from None
            fn.restype, fn.argtypes = restype, argtypes
            setattr(self, name, fn)
        self.version = self.mcinr_version().decode()
        if int(self.version.split(".")[0]) != API_MAJOR:
            raise LibraryError("%s is libmcinr %s; this binding needs %d.x" % (self.path, self.version, API_MAJOR))

    def status_string(self, status):
        return self.mcinr_status_string(int(status)).decode()

    def __repr__(self):
        return "<mcinr.Library %s %s>" % (self.version, self.path)


_loaded = {}
_loaded_lock = threading.Lock()


def library_path(path=None):
    """The library load_library(path) would load: `path`, else $MCINR_LIBRARY, else
    libmcinr.so next to this module (a wheel's), else in a checkout the dev build
    (build_library into <checkout>/out/python-lib, rebuilt when a source is newer). Raises
    LibraryError when there is none."""
    if path is None:
        path = os.environ.get(ENV_LIBRARY) or None
    if path is None:
        bundled = os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBRARY_NAME)
        if os.path.exists(bundled):
            path = bundled
    if path is None and source_root() is not None:
        path = build_library(os.path.join(source_root(), "out", "python-lib"))
    if path is None:
        raise LibraryError("no libmcinr: pass its path, set %s, or build one from a checkout with "
                           "mcinr.build_library(DIR) (python3 -m mcinr.capi DIR)" % ENV_LIBRARY)
    path = os.fspath(path)
    if not os.path.exists(path):
        raise LibraryError("%s: no such library" % path)
    return os.path.abspath(path)


def load_library(path=None):
    """The Library at library_path(path), loaded once per path."""
    if isinstance(path, Library):
        return path
    path = library_path(path)
    with _loaded_lock:
        if path not in _loaded:
            _loaded[path] = Library(path)
        return _loaded[path]


def source_root():
    """The checkout this module lies in (the folder holding CShim/), or None (installed)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return root if os.path.isfile(os.path.join(root, "CShim", "include", "mcinr.h")) else None


def build_library(out_dir, root=None, cc=None, force=False):
    """Compiles libmcinr.so into out_dir from a checkout's CShim sources (CShim/src: the
    decoder; CShim/kernels: the forward kernels it uses) and returns its path. Skipped when
    the library is newer than every source and header, unless `force`. `cc` defaults to $CC,
    else cc. Needs zlib and zstd (development files; no BLAS since library 1.4)."""
    root = root or source_root()
    if root is None:
        raise LibraryError("build_library needs a checkout (no CShim/ above %s)" % __file__)
    dirs = {d: os.path.join(root, "CShim", *d.split("/")) for d in ("src", "include", "kernels", "kernels/include")}
    sources = sorted(os.path.join(dirs[d], f) for d in ("src", "kernels") for f in os.listdir(dirs[d]) if f.endswith(".c"))
    inputs = sources + [os.path.join(dirs[d], f) for d in dirs for f in os.listdir(dirs[d]) if f.endswith(".h")]
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(os.path.abspath(out_dir), LIBRARY_NAME)
    if not force and os.path.exists(out) and os.path.getmtime(out) >= max(os.path.getmtime(f) for f in inputs):
        return out
    fd, tmp = tempfile.mkstemp(prefix=".libmcinr-", suffix=".so", dir=os.path.dirname(out))
    os.close(fd)
    cmd = [cc or os.environ.get("CC") or "cc", "-O3", "-std=c99", "-D_GNU_SOURCE", "-shared", "-fPIC",
           "-I" + dirs["include"], "-I" + dirs["kernels/include"], "-I" + dirs["src"], *sources,
           "-lz", "-lzstd", "-lpthread", "-lm", "-o", tmp]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise LibraryError("building %s failed (%s):\n%s" % (out, " ".join(cmd), proc.stderr.strip()))
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out


def version(library=None):
    """mcinr_version() of the library ("1.11.0")."""
    return load_library(library).version


def status_string(status, library=None):
    """mcinr_status_string: the short description of a status code."""
    return load_library(library).status_string(status)


# ---- models ----

Variable = namedtuple("Variable", "name first_component components")
Mesh = namedtuple("Mesh", "points types offsets connectivity")
Mesh.__doc__ = """The embedded mesh: points (N×3 float64), types (M uint8, VTK cell types),
offsets (M+1 int64, VTK style from 0) and connectivity (int64)."""


def component_names(variables):
    """Names of the scalar components (docs/mci-format.md, META): a scalar keeps its name, a
    3-component variable gives <name>_x, _y, _z, any other <name>_0 … <name>_<k−1>.
    `variables`: (name, components) pairs or Variable tuples."""
    out = []
    for v in variables:
        name, count = (v.name, v.components) if isinstance(v, Variable) else v
        if count == 1:
            out.append(name)
        else:
            out += ["%s_%s" % (name, "xyz"[k] if count == 3 else k) for k in range(count)]
    return out


class _Progress:
    """A Python progress callable as mcinr_progress_fn: a truthy return value aborts the decode;
    an exception in it aborts too and is raised again after the call."""

    def __init__(self, fn):
        self.fn, self.error = fn, None
        self.c_fn = _PROGRESS_FN(self._call) if fn is not None else _PROGRESS_FN()

    def _call(self, _user_data, fraction):
        try:
            return 1 if self.fn(fraction) else 0
        except BaseException as e:  # noqa: B902 (KeyboardInterrupt too: stop the decode, raise after)
            self.error = e
            return 1


class Model:
    """An opened .mci model (mcinr_model). Immutable; its queries and decodes may run from any
    number of threads at once (ctypes releases the GIL during the C calls). Close it with
    close() or a `with` block."""

    def __init__(self, path, library=None, trust_large_files=False, num_threads=1, progress=None,
                 validate_residual=False):
        """Opens the file at `path` (mcinr_open_file_ex); raises DecoderError whose message
        names the file. By default the limits for untrusted files apply (docs/mci-format.md,
        "Limits": Status.LIMIT beyond them); trust_large_files=True lifts them for a file from a
        trusted source (every format check stays). A RESIDUAL's streams are checked when a
        decode first reads them (a malformed one: DecoderError with Status.FORMAT from that
        decode); validate_residual=True reconstructs every chain now, on num_threads threads;
        progress(fraction) is called from this thread, and a truthy return (or an exception,
        raised again) aborts the open: DecoderError with Status.ABORTED."""
        self._lib = load_library(library)
        self._handle = None
        self.path = os.fspath(path)
        self._open(lambda handle, opts, err: self._lib.mcinr_open_file_ex(os.fsencode(self.path), opts, handle, err,
                                                                         _ERR_LEN),
                   trust_large_files, num_threads, progress, validate_residual)

    @classmethod
    def from_bytes(cls, data, library=None, trust_large_files=False, num_threads=1, progress=None,
                   validate_residual=False):
        """Opens a model from the bytes of an .mci file (copied by the decoder as needed); the
        options as for a path."""
        self = cls.__new__(cls)
        self._lib = load_library(library)
        self._handle = None
        self.path = None
        buf = (ctypes.c_char * len(data)).from_buffer_copy(data)
        self._open(lambda handle, opts, err: self._lib.mcinr_open_memory_ex(buf, len(data), opts, handle, err, _ERR_LEN),
                   trust_large_files, num_threads, progress, validate_residual)
        return self

    def _open(self, call, trust_large_files, num_threads, progress, validate_residual):
        handle, err = ctypes.c_void_p(), ctypes.create_string_buffer(_ERR_LEN)
        cb = _Progress(progress)
        opts = DecodeOptions(ctypes.sizeof(DecodeOptions), int(num_threads), cb.c_fn, None, 0,
                             1 if trust_large_files else 0, 1 if validate_residual else 0)
        status = call(ctypes.byref(handle), ctypes.byref(opts), err)
        if cb.error is not None:
            raise cb.error
        self._check(status, err)
        self._handle = handle

    def _check(self, status, err):
        if status != Status.OK:
            raise DecoderError(status, err.value.decode(errors="replace"), self._lib.status_string(status))

    @property
    def _h(self):
        if not self._handle:
            raise ValueError("model is closed")
        return self._handle

    def close(self):
        if self._handle:
            self._lib.mcinr_close(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", None):
            self.close()

    def __repr__(self):
        state = "closed" if not self._handle else "%d variables, %d steps" % (self.num_variables, self.num_times)
        return "<mcinr.Model %s: %s>" % (self.path or "memory buffer", state)

    @property
    def library(self):
        return self._lib

    # ---- queries ----

    @property
    def format_version(self):
        major, minor = ctypes.c_uint16(), ctypes.c_uint16()
        self._lib.mcinr_format_version(self._h, ctypes.byref(major), ctypes.byref(minor))
        return major.value, minor.value

    @property
    def num_variables(self):
        return self._lib.mcinr_num_variables(self._h)

    @property
    def variables(self):
        """[Variable(name, first_component, components)] in file order."""
        lib, h = self._lib, self._h
        return [Variable(lib.mcinr_variable_name(h, v).decode(), lib.mcinr_variable_first_component(h, v),
                         lib.mcinr_variable_components(h, v)) for v in range(self.num_variables)]

    @property
    def num_components(self):
        return self._lib.mcinr_num_components(self._h)

    @property
    def component_names(self):
        return component_names(self.variables)

    def component_range(self, component):
        """(min, max) of a component over the stored steps."""
        lo, hi = ctypes.c_double(), ctypes.c_double()
        status = self._lib.mcinr_component_range(self._h, component, ctypes.byref(lo), ctypes.byref(hi))
        if status != Status.OK:
            raise DecoderError(status, "component %d out of range (%d components)" % (component, self.num_components),
                               self._lib.status_string(status))
        return lo.value, hi.value

    @property
    def num_times(self):
        return self._lib.mcinr_num_times(self._h)

    @property
    def times(self):
        """The stored times as a list of floats: the exact doubles, so decode_mesh at one of
        them applies an error-bounded model's residual."""
        ptr = self._lib.mcinr_times(self._h)
        return [ptr[i] for i in range(self.num_times)]

    @property
    def bounds(self):
        """(min xyz, max xyz) of the training data, two float64 arrays."""
        lo, hi = np.zeros(3), np.zeros(3)
        self._lib.mcinr_bounds(self._h, lo.ctypes.data_as(_pd), hi.ctypes.data_as(_pd))
        return lo, hi

    @property
    def time_interval(self):
        lo, hi = ctypes.c_double(), ctypes.c_double()
        self._lib.mcinr_time_interval(self._h, ctypes.byref(lo), ctypes.byref(hi))
        return lo.value, hi.value

    @property
    def training_num_points(self):
        return self._lib.mcinr_training_num_points(self._h)

    @property
    def training_num_cells(self):
        return self._lib.mcinr_training_num_cells(self._h)

    @property
    def num_networks(self):
        return self._lib.mcinr_num_networks(self._h)

    @property
    def weight_bytes(self):
        return self._lib.mcinr_weight_bytes(self._h)

    @property
    def raw_field_bytes(self):
        return self._lib.mcinr_raw_field_bytes(self._h)

    @property
    def metadata_json(self):
        """The JSON metadata section as text ("{}" without one)."""
        return self._lib.mcinr_metadata_json(self._h).decode()

    @property
    def metadata(self):
        return json.loads(self.metadata_json)

    @property
    def seam_margin(self):
        """The blend margin between networks (normalised coordinates; 0: no SEAM section)."""
        return self._lib.mcinr_seam_margin(self._h)

    def route(self, xyz):
        """Index of the leaf network a point (original coordinates) is routed to."""
        p = (ctypes.c_double * 3)(*[float(v) for v in xyz])
        return self._lib.mcinr_route(self._h, p)

    # ---- mesh ----

    @property
    def has_mesh(self):
        return bool(self._lib.mcinr_has_mesh(self._h))

    @property
    def num_points(self):
        """Points of the embedded mesh (0 without one)."""
        return self._lib.mcinr_mesh_num_points(self._h)

    @property
    def num_cells(self):
        return self._lib.mcinr_mesh_num_cells(self._h)

    @property
    def mesh_point_type(self):
        """Precision the mesh points are stored with: 1 float32, 2 float64, 0 without a mesh."""
        return self._lib.mcinr_mesh_point_type(self._h)

    def mesh(self):
        """The embedded Mesh; DecoderError (Status.NO_MESH) without one."""
        lib, h = self._lib, self._h
        n, m, k = lib.mcinr_mesh_num_points(h), lib.mcinr_mesh_num_cells(h), lib.mcinr_mesh_connectivity_size(h)
        points = np.empty((n, 3), dtype=np.float64)
        types = np.empty(m, dtype=np.uint8)
        offsets = np.empty(m + 1, dtype=np.int64)
        connectivity = np.empty(k, dtype=np.int64)
        status = lib.mcinr_mesh_points(h, points.ctypes.data)
        if status == Status.OK:
            status = lib.mcinr_mesh_cells(h, types.ctypes.data, offsets.ctypes.data, connectivity.ctypes.data)
        if status != Status.OK:
            raise DecoderError(status, "%s: no embedded mesh" % (self.path or "memory buffer")
                               if status == Status.NO_MESH else "", lib.status_string(status))
        return Mesh(points, types, offsets, connectivity)

    # ---- error-bounded models ----

    @property
    def has_residual(self):
        return bool(self._lib.mcinr_has_residual(self._h))

    def residual_max_error(self, component):
        """E_c: decode_mesh at a stored step is within it of the training data."""
        e = ctypes.c_double()
        status = self._lib.mcinr_residual_max_error(self._h, component, ctypes.byref(e))
        if status != Status.OK:
            raise DecoderError(status, "component %d has no error bound (residual: %s, %d components)"
                               % (component, self.has_residual, self.num_components), self._lib.status_string(status))
        return e.value

    @property
    def residual_bytes(self):
        return self._lib.mcinr_residual_bytes(self._h)

    def residual_applies(self, time):
        return bool(self._lib.mcinr_residual_applies(self._h, time))

    # ---- decoding ----

    def _components(self, components):
        if components is None:
            return None, 0, self.num_components
        comp = np.ascontiguousarray(components, dtype=np.uintp).reshape(-1)
        return comp, comp.size, comp.size

    def _decode(self, call, rows, components, num_threads, network_only, progress, out):
        comp, count, width = self._components(components)
        if out is None:
            out = np.empty((rows, width), dtype=np.float32)
        elif (not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.shape != (rows, width)
              or not out.flags.c_contiguous or not out.flags.writeable):
            raise ValueError("out must be a writeable C-contiguous float32 array of shape (%d, %d)" % (rows, width))
        cb = _Progress(progress)
        opts = DecodeOptions(ctypes.sizeof(DecodeOptions), int(num_threads), cb.c_fn, None, 1 if network_only else 0)
        err = ctypes.create_string_buffer(_ERR_LEN)
        status = call(comp.ctypes.data if comp is not None else None, count, out.ctypes.data, ctypes.byref(opts), err)
        if cb.error is not None:
            raise cb.error
        self._check(status, err)
        return out

    def decode(self, points, time, components=None, num_threads=1, progress=None, out=None):
        """Values at `points` (n×3, original coordinates) at `time` (any value): an n × k
        float32 array, k = len(components) (all components, in order, when None), written
        into `out` when given (C-contiguous float32 n × k). Never adds a residual.
        progress(fraction) is called from this thread; a truthy return (or an exception,
        raised again) aborts the decode: DecoderError with Status.ABORTED."""
        xyz = np.ascontiguousarray(points, dtype=np.float64)
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise ValueError("points must be n×3, got shape %s" % (xyz.shape,))
        n = xyz.shape[0]
        return self._decode(lambda comp, count, out, opts, err: self._lib.mcinr_decode(
            self._h, xyz.ctypes.data, n, float(time), comp, count, out, opts, err, _ERR_LEN),
            n, components, num_threads, False, progress, out)

    def decode_mesh(self, time, components=None, num_threads=1, network_only=False, progress=None, out=None):
        """Values at every mesh point: an N × k float32 array. At a stored time (exactly one of
        `times`) of an error-bounded model the residual is added unless network_only.
        Threads, progress and `out` as in decode; DecoderError (Status.NO_MESH) without a mesh."""
        return self._decode(lambda comp, count, out, opts, err: self._lib.mcinr_decode_mesh(
            self._h, float(time), comp, count, out, opts, err, _ERR_LEN),
            self.num_points, components, num_threads, network_only, progress, out)


def _main(argv):
    """python3 -m mcinr.capi OUT_DIR: build libmcinr.so from this checkout, print its path."""
    if len(argv) != 1 or argv[0].startswith("-"):
        print(_main.__doc__)
        return 2
    print(build_library(argv[0]))
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(_main(sys.argv[1:]))
