"""OpenBLAS's thread count, for an OpenBLAS that libmcinr links (libraries up to 1.3).

numpy, scipy, VTK and a wheel's bundled libmcinr may each load a different libopenblas into one
process; OPENBLAS_NUM_THREADS only reaches them before they load. These functions look
`openblas_set_num_threads` / `openblas_get_num_threads` up through the decoder library's own
handle (dlsym on libmcinr: the library and its dependencies, so the OpenBLAS it was linked
against, bundled or system), never through the process's global symbol table.

Since library 1.4 the decoder calls no BLAS (its products are its own kernel) and libmcinr links
none, so there is nothing to set: blas_library_path, get_blas_threads and set_blas_threads raise
BlasError, and blas_threads(n), kept for scripts written for 1.3, runs its block unchanged with a
DeprecationWarning. With a libmcinr that links OpenBLAS they work as before.
"""
import contextlib
import ctypes
import warnings

from . import capi


class BlasError(capi.LibraryError):
    """The decoder library's BLAS has no OpenBLAS thread control (not OpenBLAS)."""


def _function(name, library):
    lib = capi.load_library(library)
    try:
        fn = getattr(lib._dll, name)  # dlsym(libmcinr's handle, name)
    except AttributeError:
        raise BlasError("%s: %s not found through the library (is its BLAS OpenBLAS?)" % (lib.path, name)) from None
    return fn


def blas_library_path(library=None):
    """The file of the OpenBLAS that libmcinr calls (where its openblas_get_num_threads lives)."""
    fn = _function("openblas_get_num_threads", library)

    class DlInfo(ctypes.Structure):
        _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                    ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]

    libc = ctypes.CDLL(None)
    libc.dladdr.argtypes, libc.dladdr.restype = [ctypes.c_void_p, ctypes.POINTER(DlInfo)], ctypes.c_int
    info = DlInfo()
    if not libc.dladdr(ctypes.cast(fn, ctypes.c_void_p), ctypes.byref(info)) or not info.dli_fname:
        raise BlasError("dladdr could not place openblas_get_num_threads")
    return info.dli_fname.decode()


def get_blas_threads(library=None):
    """OpenBLAS's current thread count, as libmcinr's OpenBLAS sees it."""
    fn = _function("openblas_get_num_threads", library)
    fn.restype, fn.argtypes = ctypes.c_int, []
    return fn()


def set_blas_threads(n, library=None):
    """Sets libmcinr's OpenBLAS to n threads (process-wide for that OpenBLAS); returns the
    previous count."""
    if int(n) < 1:
        raise ValueError("OpenBLAS needs at least one thread, got %r" % (n,))
    previous = get_blas_threads(library)
    fn = _function("openblas_set_num_threads", library)
    fn.restype, fn.argtypes = None, [ctypes.c_int]
    fn(int(n))
    return previous


@contextlib.contextmanager
def blas_threads(n, library=None):
    """`with mcinr.blas_threads(1): ...` runs the block with libmcinr's OpenBLAS at n threads
    and restores the previous count; without an OpenBLAS in libmcinr (library 1.4 and later,
    whose decoder calls no BLAS) it runs the block as it is, with a DeprecationWarning."""
    if int(n) < 1:
        raise ValueError("OpenBLAS needs at least one thread, got %r" % (n,))
    try:
        previous = set_blas_threads(n, library)
    except BlasError:
        warnings.warn("mcinr.blas_threads: libmcinr %s calls no BLAS; nothing to set" % capi.load_library(library).version,
                      DeprecationWarning, stacklevel=3)
        yield
        return
    try:
        yield
    finally:
        set_blas_threads(previous, library)
