#!/usr/bin/env bash
# Builds the reader as a plain VTK module with Python wrapping into plugin/vtk-only/build.
#   plugin/vtk-only/build.sh                 # against the system VTK (Debian: libvtk9-dev)
#   VTK_DIR=/path/to/lib/cmake/vtk-9.x plugin/vtk-only/build.sh
#   MCINR_VTK_ONLY_BUILD=DIR                 # another build folder (test.sh: out/vtk-only/build)
#   MCINR_CSHIM_DIR=/path/CShim              # the decoder from other CShim sources
# Extra arguments go to CMake's configure step (e.g. -DCMAKE_INSTALL_PREFIX=...); then
# `cmake --install <build>` installs the module, its headers, the CMake package mcinr-vtk
# (lib/cmake/mcinr-vtk) and the Python package (lib/python3/dist-packages/mcinr_vtk).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${MCINR_VTK_ONLY_BUILD:-$here/build}"
args=(-DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=/usr/bin/python3)
[ -n "${VTK_DIR:-}" ] && args+=("-DVTK_DIR=$VTK_DIR")
[ -n "${MCINR_CSHIM_DIR:-}" ] && args+=("-DMCINR_CSHIM_DIR=$MCINR_CSHIM_DIR")
cmake -S "$here" -B "$build" -G Ninja "${args[@]}" "$@"
cmake --build "$build" --parallel "${MCINR_BUILD_JOBS:-2}"
pkg="$(find "$build" -type d -name mcinr_vtk -print -quit)"
echo "VTK module library: $(find "$build" -name 'libMCINRReader*.so' -print -quit)"
[ -n "$pkg" ] && echo "Python package: $pkg (PYTHONPATH=$(dirname "$pkg"))"
