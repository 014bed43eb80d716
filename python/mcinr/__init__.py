"""mcinr: read MC-INR models (.mci files) from Python through the one C decoder (libmcinr).

    import mcinr
    with mcinr.open("model.mci") as f:              # a path or the bytes of a file
        v = f.decode_mesh(f.times[0])               # {"temperature": N float32, "velocity": N×3, ...}
        points, cells = f.points, f.cells           # the embedded mesh as numpy arrays

Modules: `file` (the numpy API: mcinr.open / mcinr.File), `capi` (the ctypes binding of mcinr.h:
mcinr.Model, components by index), `threads` (OpenBLAS thread control, for scripts written for library 1.3;
the decoder calls no BLAS since 1.4),
`vtk_reader` (vtkMCINRReader, a VTK algorithm; needs vtk), `pyvista_reader` (pyvista.read of
.mci; needs pyvista), `metrics` (PSNR, NRMSE, R² as the CLI reports them), `testing` (section
edits of .mci files for hostile-file tests; not for normal use).

The library: an explicit `library=` path, else $MCINR_LIBRARY, else the libmcinr.so installed
with the package (a wheel), else, in a checkout, one built from CShim/ into out/python-lib.
"""
from .capi import (DecodeOptions, DecoderError, Library, LibraryError, Mesh, Model, Status, Variable,
                   build_library, component_names, library_path, load_library, status_string, version)
from .file import Cells, File, open  # noqa: A004, F401 (mcinr.open, like gzip.open; not in __all__)
from .threads import BlasError, blas_library_path, blas_threads, get_blas_threads, set_blas_threads

__version__ = "0.1.0"

__all__ = ["BlasError", "Cells", "DecodeOptions", "DecoderError", "File", "Library", "LibraryError", "Mesh", "Model",
           "Status", "Variable", "blas_library_path", "blas_threads", "build_library", "component_names",
           "get_blas_threads", "library_path", "load_library", "set_blas_threads", "status_string", "version"]
