#!/usr/bin/env bash
# The plain-VTK reader module against Debian's VTK 9.1 (libvtk9-dev), next to ParaView (≈ 30 s,
# 15 s more the first time). libvtk9-dev cannot be installed beside python3-paraview (it would
# remove ParaView's Python), so its packages are fetched with `apt-get download` and unpacked
# with `dpkg -x` into a private prefix, out/vtk9.1/prefix (kept between runs; out/ is ignored
# by git). Then:
#   1. plugin/vtk-only/build.sh against that VTK, installed into out/vtk-only/install;
#   2. cxx-example/ configured with find_package(mcinr-vtk) against the install, built, run;
#   3. test_vtk91.py with /usr/bin/python3 and Debian's VTK Python (LD_LIBRARY_PATH and
#      PYTHONPATH set for that command only): the wrapped C++ vtkMCINRReader gives exactly what
#      the C decoder gives (python/mcinr), at stored and between times, with array selection;
#      the C++ example's values too; mcinr.vtk_reader (the Python algorithm) matches under 9.1;
#      UpdatePiece(p, n, ghosts) gives pieces whose union is the whole output bit for bit.
#   MCINR_CSHIM_DIR=/path/CShim  build the decoder from other CShim sources (development)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/out/vtk9.1"
prefix="$cache/prefix"
out="$root/out/vtk-only"
cshim="${MCINR_CSHIM_DIR:-$root/CShim}"
PACKAGES=(libvtk9-dev libvtk9.1 vtk9 python3-vtk9 libvtk9.1-qt libtbb12 libtbb-dev libtbbmalloc2 libtbbbind-2-5)
start=$SECONDS
work="$(mktemp -d "${TMPDIR:-/tmp}/mcinr-vtk91-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# ---- 1. Debian's VTK 9.1 SDK in a private prefix ----
stamp="$prefix/.packages"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "${PACKAGES[*]}" ]; then
    echo "-- Debian VTK 9.1: apt-get download ${PACKAGES[*]}"
    rm -rf "$cache"
    mkdir -p "$cache/debs" "$prefix"
    chmod 777 "$cache/debs"  # apt's _apt user writes the downloads
    if ! (cd "$cache/debs" && apt-get download -qq "${PACKAGES[@]}" >"$work/apt.log" 2>&1); then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        $SUDO apt-get update -qq
        (cd "$cache/debs" && apt-get download -qq "${PACKAGES[@]}" >"$work/apt.log" 2>&1) \
            || { cat "$work/apt.log" >&2; exit 1; }
    fi
    for deb in "$cache"/debs/*.deb; do
        dpkg -x "$deb" "$prefix"
    done
    echo "${PACKAGES[*]}" >"$stamp"
fi
vtk_dir="$prefix/usr/lib/x86_64-linux-gnu/cmake/vtk-9.1"
[ -f "$vtk_dir/vtk-config.cmake" ] || { echo "test.sh: no VTK CMake package in $vtk_dir" >&2; exit 1; }
libs="$prefix/usr/lib/x86_64-linux-gnu"

# ---- 2. the module, installed; the C++ example through find_package(mcinr-vtk) ----
echo "-- build and install plugin/vtk-only against $vtk_dir"
MCINR_VTK_ONLY_BUILD="$out/build" VTK_DIR="$vtk_dir" MCINR_CSHIM_DIR="$cshim" "$here/build.sh" \
    -DCMAKE_INSTALL_PREFIX="$out/install" >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
rm -rf "$out/install"
cmake --install "$out/build" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }
[ -f "$out/install/lib/cmake/mcinr-vtk/mcinr-vtk-config.cmake" ] \
    || { echo "test.sh: the install has no lib/cmake/mcinr-vtk/mcinr-vtk-config.cmake" >&2; exit 1; }
echo "-- C++ example: find_package(mcinr-vtk) from the install"
rm -rf "$out/example"
(cmake -S "$here/cxx-example" -B "$out/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
     -DCMAKE_PREFIX_PATH="$out/install;$prefix/usr" -DVTK_DIR="$vtk_dir" \
 && cmake --build "$out/example") >"$work/example.log" 2>&1 || { tail -n 40 "$work/example.log" >&2; exit 1; }

# ---- 3. the tests ----
pypath="$prefix/usr/lib/python3/dist-packages:$out/install/lib/python3/dist-packages:$root/python"
python3 "$root/tools/make_test_mci.py" "$work/vessel.mci" --mesh vessel --seed 3 >/dev/null \
    || { echo "test.sh: tools/make_test_mci.py --mesh vessel failed (the vessel-small dataset?)" >&2; exit 1; }
python3 "$root/tools/make_test_mci.py" "$work/bounded.mci" --mesh tiny --seed 4 \
    --residual-predicted "$work/bounded.codes" >/dev/null
# pieces (UpdatePiece): a MESHC file of 8 chunks with a residual; the MESH vessel file (one chunk)
python3 "$root/tools/make_test_mci.py" "$work/chunked.mci" --mesh vessel --mesh-coding meshc --chunk-cells 20000 \
    --residual-predicted "$work/chunked.codes" --seed 5 >/dev/null
lib_args=()
[ -n "${MCINR_CSHIM_DIR:-}" ] && lib_args=(--cshim "$MCINR_CSHIM_DIR")
echo "-- test_vtk91.py (/usr/bin/python3, Debian's VTK 9.1 Python)"
env -u VIRTUAL_ENV -u MCINR_LIBRARY LD_LIBRARY_PATH="$libs:$out/install/lib" PYTHONPATH="$pypath" \
    /usr/bin/python3 "$here/test_vtk91.py" --example "$out/example/mcinr_vtk_example" \
    --install "$out/install" --prefix "$prefix" --workdir "$work" "${lib_args[@]}" \
    --mci "$work/vessel.mci" --mci "$work/bounded.mci" --pieces-mci "$work/chunked.mci" --pieces-mci "$work/vessel.mci"
echo "plugin/vtk-only/test.sh: OK ($((SECONDS - start)) s)"
