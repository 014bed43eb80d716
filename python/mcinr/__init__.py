"""mcinr: read MC-INR models (.mci files) from Python through the one C decoder (libmcinr).

    import mcinr
    with mcinr.Model("model.mci") as m:          # library: $MCINR_LIBRARY or mcinr.build_library(DIR)
        values = m.decode_mesh(m.times[0])       # N × C float32, components m.component_names
        mesh = m.mesh()                          # points N×3, VTK types / offsets / connectivity

Modules: `capi` (the ctypes binding of mcinr.h), `metrics` (PSNR, NRMSE, R² as the CLI reports
them), `testing` (section edits of .mci files for hostile-file tests; not for normal use).
"""
from .capi import (DecodeOptions, DecoderError, Library, LibraryError, Mesh, Model, Status, Variable,
                   build_library, component_names, library_path, load_library, status_string, version)

__all__ = ["DecodeOptions", "DecoderError", "Library", "LibraryError", "Mesh", "Model", "Status", "Variable",
           "build_library", "component_names", "library_path", "load_library", "status_string", "version"]
