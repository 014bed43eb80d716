# Locates the C decoder sources (../CShim) and its link dependencies. Sets
#   MCINR_DECODER_SOURCES, MCINR_DECODER_INCLUDE_DIRS, MCINR_DECODER_LIBRARIES.
set(MCINR_CSHIM_DIR "${CMAKE_CURRENT_LIST_DIR}/../../CShim" CACHE PATH "The CShim directory (C decoder)")
get_filename_component(MCINR_CSHIM_DIR "${MCINR_CSHIM_DIR}" ABSOLUTE)
# The decoder (src/) and the forward kernels it evaluates networks with (kernels/).
file(GLOB MCINR_DECODER_SOURCES CONFIGURE_DEPENDS "${MCINR_CSHIM_DIR}/src/*.c" "${MCINR_CSHIM_DIR}/kernels/*.c")
if (NOT MCINR_DECODER_SOURCES)
  message(FATAL_ERROR "No C decoder sources found in ${MCINR_CSHIM_DIR}/src")
endif ()
set(MCINR_DECODER_INCLUDE_DIRS "${MCINR_CSHIM_DIR}/include" "${MCINR_CSHIM_DIR}/kernels/include" "${MCINR_CSHIM_DIR}/src")

# No BLAS: since library 1.4 the decoder's products are its own kernel (CShim/kernels).
find_package(PkgConfig QUIET)

# System zlib (VTK's own vtkzlib has mangled symbols, so the two do not clash).
find_package(ZLIB REQUIRED)
# zstd (RESIDUAL type 7, format 1.2): pkg-config (libzstd.pc), then a plain search.
if (PkgConfig_FOUND)
  pkg_check_modules(ZSTD QUIET IMPORTED_TARGET libzstd)
endif ()
if (TARGET PkgConfig::ZSTD)
  set(_mcinr_zstd PkgConfig::ZSTD)
else ()
  find_library(ZSTD_LIBRARY NAMES zstd REQUIRED)
  find_path(ZSTD_INCLUDE_DIR NAMES zstd.h REQUIRED)
  set(_mcinr_zstd "${ZSTD_LIBRARY}")
  list(APPEND MCINR_DECODER_INCLUDE_DIRS "${ZSTD_INCLUDE_DIR}")
endif ()
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_library(MCINR_LIBM m)

set(MCINR_DECODER_LIBRARIES ZLIB::ZLIB ${_mcinr_zstd} Threads::Threads)
if (MCINR_LIBM)
  list(APPEND MCINR_DECODER_LIBRARIES "${MCINR_LIBM}")
endif ()
