#!/usr/bin/env bash
# Configures (Ninja, Release) and builds the MC-INR ParaView plugin into plugin/build, then
# prints where the plugin library is. Called by scripts/setup; safe to run again.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$here/build"
# The python3 on PATH may be pyenv's; ParaView's CMake package needs the system one.
cmake -S "$here" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DPython3_EXECUTABLE=/usr/bin/python3
cmake --build "$build" --parallel "${MCINR_BUILD_JOBS:-2}"
plugin_so="$(find "$build" -name 'MCINRReaderPlugin.so' -print -quit)"
if [ -z "$plugin_so" ]; then
    echo "build.sh: MCINRReaderPlugin.so not found under $build" >&2
    exit 1
fi
echo "MCINR ParaView plugin: $plugin_so"
echo "load it with: PV_PLUGIN_PATH=$(dirname "$plugin_so") paraview   (or Tools > Manage Plugins > Load New)"
