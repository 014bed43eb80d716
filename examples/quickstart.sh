#!/usr/bin/env bash
# The quick start: on the bundled vessel dataset, train an MC-INR model with settings that
# finish in a few minutes on 2 cores, print its metrics, export the decoded fields with error
# maps, and render ground truth / decoded / error side by side to a PNG.
#
#   examples/quickstart.sh [DATASET.pvd] [OUTDIR]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/datasets/vessel-small/vessel.pvd}"
out="${2:-$here/out/quickstart}"
"$here/scripts/setup"
if [ $# -eq 0 ] && [ ! -f "$data" ]; then
    # No shared dataset next to this checkout: use the bundled analytic generator instead.
    data="$out/analytic/analytic.pvd"
    echo "quickstart: $here/../shared not found; generating the analytic example into $out/analytic"
    /usr/bin/python3 "$here/examples/make_analytic.py" "$out/analytic" --name analytic >/dev/null
fi
[ -f "$data" ] || { echo "quickstart: dataset not found: $data" >&2; exit 1; }
bin="$(cd "$here" && swift build -c release --show-bin-path)/mcinr-vtk"
mkdir -p "$out"

echo "== train (90 s on 2 cores)"
"$bin" train "$data" -o "$out/model.mci" --time-budget 90
echo "== info"
"$bin" info "$out/model.mci"
echo "== export with error maps"
"$bin" export "$out/model.mci" --vtu "$out/decoded" --ground-truth "$data" --include-ground-truth
echo "== render ground truth / decoded / error"
xvfb-run -a -n $((200 + RANDOM % 600)) -s '-screen 0 1600x600x24' env -u VIRTUAL_ENV -u PYTHONPATH \
    pvpython "$here/examples/render_comparison.py" "$out/decoded/model.pvd" "$out/comparison.png" temperature
echo "quickstart: done — model $out/model.mci, decoded VTU in $out/decoded, picture $out/comparison.png"
