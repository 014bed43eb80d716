#!/usr/bin/env bash
# ParaView plugin tests (pvpython, no X needed):
#   plugin/tests/run.sh [model.mci [ground_truth.pvd]]
# Without arguments: a small model from tools/make_test_mci.py (synthetic tet mesh), and, when
# the vessel-small dataset is present (or MCINR_VESSEL_PVD points to a .pvd), a model carrying
# the vessel mesh, checked against the .pvd's point/cell counts, arrays and time steps.
# Needs plugin/build (plugin/build.sh, run by scripts/setup).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${MCINR_PLUGIN_BUILD:-$root/plugin/build}"  # override to test another build dir

plugin_so="$(find "$build" -name 'MCINRReaderPlugin.so' -print -quit 2>/dev/null || true)"
lib="$build/lib/libmcinr.so"
if [ -z "$plugin_so" ] || [ ! -f "$lib" ]; then
    echo "run.sh: plugin not built; building it (plugin/build.sh)"
    "$root/plugin/build.sh" >/dev/null
    plugin_so="$(find "$build" -name 'MCINRReaderPlugin.so' -print -quit)"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/mcinr-plugin-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
pvpython_run() { env -u VIRTUAL_ENV -u PYTHONPATH pvpython "$@"; }

shots="$build/screenshots"
# Runs a command under a fresh Xvfb, output in $log. Under load a fresh Xvfb sometimes
# refuses the first GLX window ("bad X server connection", abort); that says nothing about
# the plugin, so try again (5 times at most).
with_xvfb() {  # log command...
    local log="$1" attempt
    shift
    for attempt in 1 2 3 4 5; do
        # A random display number: other Xvfb servers on this
        # machine (parallel jobs) must not collide with ours.
        if xvfb-run -a -n $((200 + RANDOM % 600)) -s '-screen 0 1280x1024x24' "$@" >"$log" 2>&1; then
            return 0
        fi
        grep -q "bad X server connection" "$log" || return 1
        echo "-- X server refused the window, retrying ($attempt)"
        sleep $((2 * attempt))
    done
    return 1
}

screenshot() {  # name mci [pvd]
    command -v xvfb-run >/dev/null || { echo "-- screenshot: skipped (no xvfb-run)"; return 0; }
    mkdir -p "$shots"
    local args=(--plugin "$plugin_so" --mci "$2" --out "$shots/$1.png")
    [ -n "${3:-}" ] && args+=(--pvd "$3")
    local log="$work/screenshot-$1.log"
    if with_xvfb "$log" env -u VIRTUAL_ENV -u PYTHONPATH pvpython "$here/screenshot.py" "${args[@]}"; then
        grep "^screenshot:" "$log"
    else
        cat "$log" >&2
        return 1
    fi
}

# The Qt client: finds the plugin through PV_PLUGIN_PATH, opens the file via the reader factory.
gui_smoke() {  # mci
    command -v xvfb-run >/dev/null || { echo "-- GUI: skipped (no xvfb-run)"; return 0; }
    local log="$work/gui.log"
    with_xvfb "$log" env -u VIRTUAL_ENV -u PYTHONPATH PV_PLUGIN_PATH="$(dirname "$plugin_so")" \
        MCINR_SMOKE_MCI="$1" paraview --script="$here/gui_smoke.py" --exit || true
    if grep -q "MCINR-GUI-SMOKE reader=MCINRReader points=[1-9]" "$log"; then
        echo "-- GUI: $(grep -o 'MCINR-GUI-SMOKE.*' "$log")"
    else
        cat "$log" >&2
        echo "-- GUI: the ParaView client did not read $1 with the plugin" >&2
        return 1
    fi
}

run_case() {  # name mci [pvd] [other-mci]
    local name="$1" mci="$2" pvd="${3:-}" other="${4:-}"
    echo "-- $name: $mci${pvd:+ vs $pvd}"
    local args=(--plugin "$plugin_so" --lib "$lib" --mci "$mci" --workdir "$work/$name")
    [ -n "$pvd" ] && args+=(--pvd "$pvd")
    [ -n "$other" ] && args+=(--other-mci "$other")
    pvpython_run "$here/test_reader.py" "${args[@]}"
}

if [ $# -ge 1 ]; then
    run_case given "$1" "${2:-}"
    screenshot given "$1" "${2:-}"
    gui_smoke "$1"
    exit 0
fi

generator="$root/tools/make_test_mci.py"
if [ ! -f "$generator" ]; then
    echo "run.sh: $generator not found; pass a model: run.sh model.mci [truth.pvd]" >&2
    exit 1
fi
python3 "$generator" "$work/tiny.mci" --mesh tiny --seed 1 >/dev/null
python3 "$generator" "$work/tiny-other.mci" --mesh tiny --seed 2 >/dev/null
run_case tiny "$work/tiny.mci" "" "$work/tiny-other.mci"
# error-bounded (RESIDUAL type 7: predicted indices, zstd and range-coded streams, format 1.2):
# the reader must return what mcinr_decode_mesh does
python3 "$generator" "$work/residual-predicted.mci" --mesh tiny --seed 4 \
    --residual-predicted "$work/residual-predicted.codes" >/dev/null
run_case residual-predicted "$work/residual-predicted.mci"
# ... and with the linear, plane and blend predictors (format 1.7): chains of up to 8 steps
python3 "$generator" "$work/residual-blend.mci" --mesh tiny --width 2 --pe 0 --clusters 1 --seed 20 \
    --residual-linear "$work/residual-blend.codes" --plane --blend >/dev/null
run_case residual-blend "$work/residual-blend.mci"
# parallel reading (issue 20): pvbatch under mpiexec with 2 and 3 ranks, each rank decoding its
# piece of a MESHC file of 10 chunks (60000 cells of the vessel mesh with all its points, so the
# last chunk lists points no cell uses; with a RESIDUAL), checked against the serial output (~35 s);
# then with 3 ranks a file with a MESHX index (a block of tets in 24 chunks), whose pieces decode
# only the chunks near them (~15 s)
if command -v mpiexec >/dev/null && command -v pvbatch >/dev/null; then
    python3 "$generator" "$work/parallel.mci" --mesh vessel --mesh-cells 60000 --clusters 8 --width 16 --split \
        --mesh-coding meshc --chunk-cells 6000 --residual-predicted "$work/parallel.codes" --seed 7 >/dev/null
    python3 "$generator" "$work/indexed.mci" --mesh block --clusters 8 --width 16 --split --mesh-coding meshc \
        --chunk-cells 2000 --mesh-index 6 --seed 7 >/dev/null
    for case in parallel:2 parallel:3 indexed:3; do
        name=${case%:*} ranks=${case#*:}
        echo "-- parallel: mpiexec -np $ranks pvbatch ($name.mci)"
        out="$work/$name-$ranks"
        mkdir -p "$out"
        mpi_root=()
        [ "$(id -u)" = 0 ] && mpi_root=(--allow-run-as-root)
        timeout 300 env -u VIRTUAL_ENV -u PYTHONPATH mpiexec "${mpi_root[@]}" --oversubscribe -np "$ranks" \
            pvbatch "$here/test_parallel.py" dump --plugin "$plugin_so" --mci "$work/$name.mci" \
            --out "$out" --ranks "$ranks" >"$out.log" 2>&1 \
            || { cat "$out.log" >&2; exit 1; }
        if pvpython_run "$here/test_parallel.py" check --plugin "$plugin_so" --lib "$lib" \
            --mci "$work/$name.mci" --out "$out" --ranks "$ranks" >"$out-check.log" 2>&1; then
            grep -v "^ok" "$out-check.log" || true
        else
            cat "$out-check.log" >&2
            exit 1
        fi
    done
else
    echo "-- parallel: skipped (no mpiexec or pvbatch)"
fi
# hostile files (issue 24): each refused with an error (or, valid, read) in bounded time, no
# crash; TrustLargeFiles; an open aborted while it validates
mkdir -p "$work/hostile"
for kind in nested-mesh empty-streams stream-work long-chain weights wide-tree deep-tree huge-bbox large-mesh; do
    python3 "$generator" "$work/hostile/$kind.mci" --hostile "$kind" >/dev/null
done
echo "-- hostile files"
timeout 300 env -u VIRTUAL_ENV -u PYTHONPATH pvpython "$here/test_hostile.py" --plugin "$plugin_so" \
    --dir "$work/hostile" --good "$work/tiny.mci" --bounded "$work/residual-predicted.mci"
screenshot tiny "$work/tiny.mci"
gui_smoke "$work/tiny.mci"

vessel_pvd="${MCINR_VESSEL_PVD:-$root/../shared/datasets/vessel-small/vessel.pvd}"
if [ -f "$vessel_pvd" ]; then
    # A model trained by the CLI on the shared dataset (short budget: this checks the plugin,
    # not the quality), error-bounded (so the reader's values are also checked against the
    # bound and the .pvd), and what `mcinr-vtk export` writes for it.
    cli="$(cd "$root" && swift build -c release --show-bin-path)/mcinr-vtk"
    "$cli" train "$vessel_pvd" -o "$work/vessel.mci" --clusters 2 --width 8 --trunk-blocks 1 \
        --branch-blocks 1 --max-epochs 3 --meta-steps 1 --max-rel-error 1e-3 -q >/dev/null
    "$cli" export "$work/vessel.mci" --vtu "$work/vessel-export" >/dev/null 2>&1
    echo "-- vessel: model trained by mcinr-vtk on $vessel_pvd"
    local_args=(--plugin "$plugin_so" --lib "$lib" --mci "$work/vessel.mci" --workdir "$work/vessel"
                --pvd "$vessel_pvd" --exported-pvd "$work/vessel-export/vessel.pvd")
    pvpython_run "$here/test_reader.py" "${local_args[@]}"
    screenshot vessel "$work/vessel.mci" "$vessel_pvd"
else
    echo "-- vessel: skipped ($vessel_pvd not found)"
fi
