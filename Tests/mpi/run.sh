#!/usr/bin/env bash
# Distributed training on MPI (issue 18), end to end with Open MPI's mpirun:
#  - the same input, seed and options give byte-identical .mci files on 1 process (no mpirun),
#    mpirun -np 1, 2 and 3 (three configurations: splits kept and undone; error-bounded mode;
#    seam blending, whose band points other ranks hold);
#  - a .pvd series of .pvtu steps (3 pieces each) trains, on 1 and 3 ranks, to the same bytes, with
#    the pieces' points and cells concatenated;
#  - faults end the job cleanly (non-zero exit, one message naming the rank, no .mci, in
#    seconds): a truncated step read by the last rank, a rank killed by SIGKILL mid-training,
#    a full disk at write time (a 64 KiB tmpfs; as non-root a file-size limit instead);
#  - the binary has no link-time MPI dependency and names the library when it cannot load it.
# Prints 'ok ...' lines; non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
if ! command -v mpirun >/dev/null; then
    echo "-- mpi: skipped (no mpirun: scripts/setup installs openmpi-bin)"; exit 0
fi
BIN="$(swift build -c release --show-bin-path)/mcinr-vtk"
swift build -c release --product mcinr-vtk 2>&1 | tail -n 1
TMP="$(mktemp -d /tmp/mcinr-mpi.XXXXXX)"
cleanup() { mountpoint -q "$TMP/full" 2>/dev/null && umount "$TMP/full"; rm -rf "$TMP"; }
trap cleanup EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN=(mpirun --oversubscribe)
fail() { echo "FAIL: $*"; exit 1; }

"$PY" examples/make_paper_scale.py "$TMP/vtu" --points 6000 --steps 5 --variables velocity,pressure --quiet >/dev/null
"$PY" examples/make_paper_scale.py "$TMP/pvtu" --points 6000 --steps 5 --variables velocity,pressure --pieces 3 --quiet >/dev/null

# 1. Same bytes for any number of ranks.
SPLITS=(--time-budget 0 --max-epochs 4 --seed 5 --clusters 4 --width 12 --meta-steps 2 --threshold 0 --max-splits 4 --split-gain 0.5 -q)
BOUNDED=(--time-budget 0 --max-epochs 3 --seed 9 --clusters 5 --width 8 --meta-steps 1 --max-rel-error 0.01 --threads 1 -q)
SEAMS=("${SPLITS[@]}" --seam-margin auto --seam-epochs 2)   # rank 0 measures the mesh; band points come from other ranks
for name in SPLITS BOUNDED SEAMS; do
    declare -n opts=$name
    "$BIN" train "$TMP/vtu/series.pvd" -o "$TMP/$name-serial.mci" "${opts[@]}" --json > "$TMP/$name-serial.json"
    for r in 1 2 3; do
        "${MPIRUN[@]}" -np $r "$BIN" train "$TMP/vtu/series.pvd" -o "$TMP/$name-$r.mci" "${opts[@]}" --json > "$TMP/$name-$r.json"
        cmp -s "$TMP/$name-serial.mci" "$TMP/$name-$r.mci" || fail "$name: $r rank(s) wrote different bytes from one process"
    done
    echo "ok same bytes on 1 process and 1, 2, 3 ranks ($name)"
done
"$PY" - "$TMP" <<'PYEOF'
import json, sys
tmp = sys.argv[1]
s = json.load(open(f"{tmp}/SPLITS-serial.json"))
undone = s["splits"] < 4  # --max-splits 4 made; the split gain undid some
assert s["networks"] > 4 and s["splits"] >= 1, ("the split configuration must keep a split", s["splits"])
b = json.load(open(f"{tmp}/BOUNDED-3.json"))
assert b["error_bound"]["residual_bytes"] > 0, "error-bounded mode must store a residual"
m = json.load(open(f"{tmp}/SPLITS-3.json"))["mpi"]
assert m["ranks"] == 3 and len(m["per_rank"]) == 3, m
for r in m["per_rank"]:
    phases = {p["phase"]: p for p in r["phases"]}
    assert phases["redistribution"]["sent_bytes"] > 0 and phases["exchange"]["received_bytes"] > 0, r
    assert phases["training"]["seconds"] > 0, r
    assert r["peak_rss_bytes"] > 0
moved = sum({p["phase"]: p for p in r["phases"]}.get("rebalance", {}).get("sent_bytes", 0) for r in m["per_rank"])
assert moved > 0, "split children must move to idle ranks"
z = json.load(open(f"{tmp}/SEAMS-3.json"))["mpi"]
banded = sum({p["phase"]: p for p in r["phases"]}.get("bands", {}).get("sent_bytes", 0) for r in z["per_rank"])
assert banded > 0, "the seam round's band points must come from the ranks that hold them"
print(f"ok splits kept: {s['splits']} ({'some undone' if undone else 'none undone'}), children rebalanced ({moved} bytes moved), residual stored, per-rank traffic reported, seam bands exchanged ({banded} bytes)")
PYEOF

# 2. A .pvd of .pvtu steps: pieces concatenated, the same bytes on 1 process and 3 ranks.
PV=(--time-budget 0 --max-epochs 2 --seed 2 --clusters 3 --width 8 --meta-steps 1 -q)
"$BIN" train "$TMP/pvtu/series.pvd" -o "$TMP/pvtu-1.mci" "${PV[@]}" > /dev/null
"${MPIRUN[@]}" -np 3 "$BIN" train "$TMP/pvtu/series.pvd" -o "$TMP/pvtu-3.mci" "${PV[@]}" > /dev/null
cmp -s "$TMP/pvtu-1.mci" "$TMP/pvtu-3.mci" || fail ".pvtu series: 3 ranks wrote different bytes from one process"
"$BIN" info "$TMP/pvtu-3.mci" --json > "$TMP/pvtu-info.json"
"$PY" - "$TMP" <<'PYEOF'
import glob, json, re, sys
tmp = sys.argv[1]
info = json.load(open(f"{tmp}/pvtu-info.json"))
points = cells = 0
for piece in sorted(glob.glob(f"{tmp}/pvtu/series_0000/*.vtu")):
    head = open(piece, "rb").read(4096).decode("latin-1")
    m = re.search(r'NumberOfPoints="(\d+)" NumberOfCells="(\d+)"', head)
    points += int(m.group(1)); cells += int(m.group(2))
assert len(glob.glob(f"{tmp}/pvtu/series_0000/*.vtu")) == 3
assert (info["points"], info["cells"]) == (points, cells), (info["points"], info["cells"], points, cells)
assert len(info["times"]) == 5
print(f"ok .pvtu series (3 pieces) trains on 1 and 3 ranks to the same bytes; {points} points, {cells} cells = the pieces' sums")
PYEOF

# 3. Faults: non-zero exit, one message naming the rank, no .mci, within seconds.
expect_failure() {  # name, expected stderr pattern, output, command...
    local name="$1" pattern="$2" out="$3"; shift 3
    local start=$SECONDS rc=0
    timeout 60 "$@" > "$TMP/fault.out" 2> "$TMP/fault.err" || rc=$?
    [ "$rc" -ne 0 ] || fail "$name: exit status 0"
    [ "$rc" -ne 124 ] || fail "$name: hung (killed by timeout after 60 s)"
    grep -qE "$pattern" "$TMP/fault.err" || { cat "$TMP/fault.err"; fail "$name: no message matching '$pattern'"; }
    [ ! -e "$out" ] || fail "$name: $out was written"
    [ -z "$(ls -A "$(dirname "$out")" | grep -E '\.mci' || true)" ] || fail "$name: a partial .mci was left in $(dirname "$out")"
    echo "ok $name: exit $rc in $((SECONDS - start)) s, '$(grep -m1 -oE "$pattern" "$TMP/fault.err")'"
}
mkdir -p "$TMP/bad" "$TMP/out-bad" "$TMP/out-kill"
cp "$TMP"/vtu/* "$TMP/bad/"
truncate -s 5000 "$TMP/bad/series_0004.vtu"    # read by rank 2 only (steps 4 of 0…4)
expect_failure "bad input on rank 2" "rank 2 of 3: error: .*series_0004.vtu.*truncated" "$TMP/out-bad/x.mci" \
    "${MPIRUN[@]}" -np 3 "$BIN" train "$TMP/bad/series.pvd" -o "$TMP/out-bad/x.mci" "${PV[@]}"

# a rank killed mid-training (a run of many epochs): mpirun ends the others
( "${MPIRUN[@]}" -np 3 "$BIN" train "$TMP/vtu/series.pvd" -o "$TMP/out-kill/k.mci" --time-budget 0 --max-epochs 100000 \
      --clusters 4 --width 12 --threads 1 -q > "$TMP/kill.out" 2> "$TMP/kill.err" ) &
launcher=$!
victim=""
for _ in $(seq 1 100); do
    sleep 0.1
    for pid in $(pgrep -P "$(pgrep -P $launcher -x mpirun || echo $launcher)" 2>/dev/null || true); do
        if tr '\0' '\n' < /proc/$pid/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1; then victim=$pid; fi
    done
    [ -n "$victim" ] && break
done
[ -n "$victim" ] || fail "rank killed: could not find rank 1"
sleep 2
kill -9 "$victim"
killed_at=$SECONDS
rc=0
timeout 60 bash -c "while kill -0 $launcher 2>/dev/null; do sleep 0.2; done" || fail "rank killed: the job still runs 60 s later"
wait $launcher || rc=$?
[ "$rc" -ne 0 ] || fail "rank killed: exit status 0"
grep -qE "rank 1 .*(signal 9|Killed)" "$TMP/kill.err" || { cat "$TMP/kill.err"; fail "rank killed: no message naming rank 1 and the signal"; }
[ ! -e "$TMP/out-kill/k.mci" ] || fail "rank killed: k.mci was written"
echo "ok rank 1 killed: the job ended $((SECONDS - killed_at)) s later, exit $rc, 'rank 1 … signal 9', no .mci"

mkdir -p "$TMP/full"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=64k tmpfs "$TMP/full" 2>/dev/null; then
    expect_failure "full disk" "rank 0 of 2: error: .*No space left on device" "$TMP/full/m.mci" \
        "${MPIRUN[@]}" -np 2 "$BIN" train "$TMP/vtu/series.pvd" -o "$TMP/full/m.mci" "${PV[@]}"
else  # not root: a file-size limit (SIGXFSZ at the write) stands for the full disk
    expect_failure "full disk (file-size limit)" "rank 0 .*(signal|File size)" "$TMP/full/m.mci" \
        bash -c "ulimit -f 64; exec ${MPIRUN[*]} -np 2 '$BIN' train '$TMP/vtu/series.pvd' -o '$TMP/full/m.mci' ${PV[*]}"
fi

# 4. No link-time MPI dependency; a clear message when the library cannot be loaded.
if ldd "$BIN" | grep -qi mpi; then fail "mcinr-vtk links an MPI library: $(ldd "$BIN" | grep -i mpi)"; fi
rc=0
MCINR_MPI_LIBRARY=/nonexistent/libmpi.so.40 OMPI_COMM_WORLD_SIZE=1 "$BIN" train "$TMP/vtu/series.pvd" -o "$TMP/none.mci" "${PV[@]}" \
    > /dev/null 2> "$TMP/nolib.err" || rc=$?
[ "$rc" -ne 0 ] && grep -q "cannot be loaded" "$TMP/nolib.err" || { cat "$TMP/nolib.err"; fail "missing MPI library: rc $rc"; }
"$BIN" train "$TMP/vtu/series.pvd" -o "$TMP/plain.mci" "${PV[@]}" > /dev/null  # no launcher: MPI never loaded
echo "ok no link-time MPI dependency; without a launcher one process, as before; a missing libmpi is named"
echo "ok mpi: all checks passed"
