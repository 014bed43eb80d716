#!/usr/bin/env bash
# Builds the reader as a plain VTK module with Python wrapping into plugin/vtk-only/build.
#   plugin/vtk-only/build.sh                 # against the system VTK (Debian: libvtk9-dev)
#   VTK_DIR=/path/to/lib/cmake/vtk-9.x plugin/vtk-only/build.sh
# Then: PYTHONPATH=plugin/vtk-only/build/<python dir printed below> python3 -c \
#         "import vtk; from mcinr_vtk import vtkMCINRReader"
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$here/build"
args=(-DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE=/usr/bin/python3)
[ -n "${VTK_DIR:-}" ] && args+=("-DVTK_DIR=$VTK_DIR")
cmake -S "$here" -B "$build" -G Ninja "${args[@]}"
cmake --build "$build" --parallel "${MCINR_BUILD_JOBS:-2}"
pkg="$(find "$build" -type d -name mcinr_vtk -print -quit)"
echo "VTK module library: $(find "$build" -name 'libMCINRReader*.so' -print -quit)"
[ -n "$pkg" ] && echo "Python package: $pkg (PYTHONPATH=$(dirname "$pkg"))"
