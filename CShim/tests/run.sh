#!/usr/bin/env bash
# Builds the C decoder tests and the libFuzzer harness (with its structure-aware mutator) with
# AddressSanitizer and UndefinedBehaviorSanitizer (any finding aborts) and runs both; checks
# every hostile file of tools/make_test_mci.py --hostile under ulimit -v and timeout.
#   CShim/tests/run.sh                 # tests + 60 s of fuzzing
#   FUZZ_SECONDS=10 CShim/tests/run.sh
# Needs clang with compiler-rt (Debian clang-14, or the Swift toolchain's clang), python3,
# zlib and zstd (no BLAS: the decoder's products are its own kernel). Build outputs go to
# $BUILD_DIR (default: a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/../.."
FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
CC="${CC:-}"
if [ -z "$CC" ]; then
    for c in clang-14 clang /opt/swift/usr/bin/clang; do
        if command -v "$c" >/dev/null 2>&1; then CC="$c"; break; fi
    done
fi
[ -n "$CC" ] || { echo "run.sh: no clang found" >&2; exit 1; }
OWN_BUILD_DIR=0
if [ -z "${BUILD_DIR:-}" ]; then BUILD_DIR="$(mktemp -d /tmp/mcinr-ctest.XXXXXX)"; OWN_BUILD_DIR=1; fi
mkdir -p "$BUILD_DIR"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# EXTRA_CFLAGS: e.g. -mavx2 -mfma if the kernels ever need them.
CFLAGS="-std=c99 -D_GNU_SOURCE -g -O1 -Wall -Wextra -ICShim/include -ICShim/kernels/include ${EXTRA_CFLAGS:-}"
LIBS="-lz -lzstd -lpthread -lm"
SOURCES=$(ls CShim/src/*.c CShim/kernels/*.c)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# Embedders compile the decoder with their own flags: each source must declare what it uses
# under strict C99 too (no _GNU_SOURCE; an implicitly declared strdup returns a truncated int).
echo "-- strict C99 compile"
for f in $SOURCES; do
    $CC -std=c99 -pedantic -Werror=implicit-function-declaration -ICShim/include -ICShim/kernels/include \
        -fsyntax-only "$f"
done

echo "-- test files ($BUILD_DIR)"
D="$BUILD_DIR/data"
mkdir -p "$D"
GEN=tools/make_test_mci.py
python3 $GEN "$D/tiny.mci" --mesh tiny --split --reference "$D/tiny.ref" --ref-points 60 --seed 1
python3 $GEN "$D/siren.mci" --mesh none --arch siren --width 24 --clusters 2 --reference "$D/siren.ref" --seed 2
python3 $GEN "$D/coordnet.mci" --mesh tiny --arch coordnet --width 12 --clusters 4 --split \
    --reference "$D/coordnet.ref" --seed 3
python3 $GEN "$D/small.mci" --mesh tiny --split --width 3 --pe 1 --clusters 3 --seed 4
python3 $GEN "$D/wide.mci" --mesh none --arch siren --width 64 --clusters 2 --seed 12
# format 1.1: tiny.mci's networks in float16 / int8, NETS plain and zlib-compressed
for enc in f16 int8; do
    python3 $GEN "$D/tiny_$enc.mci" --mesh tiny --split --reference "$D/tiny_$enc.ref" --ref-points 60 --seed 1 \
        --encoding $enc
    python3 $GEN "$D/tiny_${enc}z.mci" --mesh tiny --split --reference "$D/tiny_${enc}z.ref" --ref-points 60 --seed 1 \
        --encoding $enc --compress-nets
done
python3 $GEN "$D/small_int8.mci" --mesh tiny --split --width 3 --pe 1 --clusters 3 --seed 4 --encoding int8
python3 $GEN "$D/small_f16z.mci" --mesh tiny --split --width 3 --pe 1 --clusters 3 --seed 4 --encoding f16 \
    --compress-nets
# format 1.2: RESIDUAL type 7 (predicted indices, zstd and range coder)
python3 $GEN "$D/residual_predicted.mci" --mesh grid --split --width 8 --residual-predicted "$D/residual_predicted.res" \
    --seed 9
# (+ the crafted range-coded streams of the C tests for its mesh, so they need no encoder of their own)
python3 $GEN "$D/small_residual_predicted.mci" --mesh tiny --width 2 --pe 0 --clusters 1 \
    --residual-predicted "$D/small_residual_predicted.res" --seed 10 --range-streams "$D/rc"
# format 1.4: the linear residual predictor (RESIDUAL predictor bit 3), on the same two meshes
python3 $GEN "$D/residual_linear.mci" --mesh grid --split --width 8 --residual-linear "$D/residual_linear.res" --seed 15
python3 $GEN "$D/small_residual_linear.mci" --mesh tiny --width 2 --pe 0 --clusters 1 \
    --residual-linear "$D/small_residual_linear.res" --seed 16
# format 1.6: the plane predictor (RESIDUAL predictor bit 4), weights from the reference's own arithmetic
python3 $GEN "$D/residual_plane.mci" --mesh grid --split --width 8 --residual-linear "$D/residual_plane.res" --plane --seed 18
python3 $GEN "$D/small_residual_plane.mci" --mesh tiny --width 2 --pe 0 --clusters 1 \
    --residual-linear "$D/small_residual_plane.res" --plane --seed 19
# format 1.7: the blend predictor (RESIDUAL predictor bit 5)
python3 $GEN "$D/residual_blend.mci" --mesh grid --split --width 8 --residual-linear "$D/residual_blend.res" --plane --blend --seed 21
python3 $GEN "$D/small_residual_blend.mci" --mesh tiny --width 2 --pe 0 --clusters 1 \
    --residual-linear "$D/small_residual_blend.res" --plane --blend --seed 22
# format 1.8: the quadratic predictor (RESIDUAL predictor bit 6)
python3 $GEN "$D/residual_quad.mci" --mesh grid --split --width 8 --residual-linear "$D/residual_quad.res" --plane --blend \
    --quadratic --seed 23
python3 $GEN "$D/small_residual_quad.mci" --mesh tiny --width 2 --pe 0 --clusters 1 \
    --residual-linear "$D/small_residual_quad.res" --plane --blend --quadratic --seed 24
# format 1.9: the anchor (RESIDUAL predictor bit 7)
python3 $GEN "$D/residual_anchor.mci" --mesh grid --split --width 8 --residual-linear "$D/residual_anchor.res" --plane --blend \
    --quadratic --anchor --seed 25
python3 $GEN "$D/small_residual_anchor.mci" --mesh tiny --width 2 --pe 0 --clusters 1 \
    --residual-linear "$D/small_residual_anchor.res" --anchor --seed 26
# format 1.10: the NEIGHBOURS section (lists shorter than K extended one neighbour step)
python3 $GEN "$D/residual_nb.mci" --mesh grid --split --width 8 --residual-linear "$D/residual_nb.res" --plane --blend \
    --quadratic --anchor --neighbours 5 --seed 27
python3 $GEN "$D/small_residual_nb.mci" --mesh tiny --width 2 --pe 0 --clusters 1 \
    --residual-linear "$D/small_residual_nb.res" --neighbours 3 --seed 28
python3 $GEN "$D/vessel_plane_nb5.mci" --mesh vessel --width 2 --pe 0 --clusters 1 --neighbours 5 \
    --plane-weights "$D/vessel_plane_nb5.txt" --quadratic-support "$D/vessel_plane_nb5.quad.txt" --seed 20
python3 $GEN "$D/vessel_plane.mci" --mesh vessel --width 2 --pe 0 --clusters 1 --plane-weights "$D/vessel_plane.txt" \
    --quadratic-support "$D/vessel_plane.quad.txt" --seed 20

# format 1.3: MESHC (type 8), coded by the reference coder tools/mesh_codec.py, with the reference
# decoder's chunks (.dump) and the same mesh as MESH type 5 (_zlib): tets only; tets + generic cells;
# float64; vessel-small's first 25000 cells with all its points (lone points); with a RESIDUAL
meshc() { # NAME ARGS...
    local name=$1; shift
    python3 $GEN "$D/$name.mci" --mesh-coding meshc --mesh-dump "$D/$name.dump" "$@"
    python3 $GEN "$D/${name}_zlib.mci" "$@"
}
meshc meshc_tiny --mesh tiny --chunk-cells 20 --seed 1
meshc meshc_grid --mesh grid --chunk-cells 60 --seed 1
meshc meshc_grid64 --mesh grid --mesh-f64 --chunk-cells 50 --seed 1
meshc meshc_vessel --mesh vessel --mesh-cells 25000 --chunk-cells 10000 --seed 1
python3 $GEN "$D/meshc_residual.mci" --mesh grid --split --width 8 --mesh-coding meshc --chunk-cells 100 \
    --residual-predicted "$D/meshc_residual.res" --seed 9
python3 $GEN "$D/meshc_residual_zlib.mci" --mesh grid --split --width 8 --residual-predicted "$D/meshc_residual.res" \
    --seed 9

# two hostile files for the open options' tests (the others: below, under ulimit and timeout)
python3 $GEN "$D/wide-tree-5000.mci" --hostile wide-tree --hostile-size 5000
python3 $GEN "$D/large-mesh.mci" --hostile large-mesh

echo "-- C tests (ASan + UBSan, $CC)"
$CC $CFLAGS $SAN $SOURCES CShim/tests/test_decoder.c $LIBS -o "$BUILD_DIR/test_decoder"
"$BUILD_DIR/test_decoder" "$D"

echo "-- MESHC tests: C decoder vs the reference coder (ASan + UBSan)"
$CC $CFLAGS $SAN $SOURCES CShim/tests/test_mesh_codec.c $LIBS -o "$BUILD_DIR/test_mesh_codec"
"$BUILD_DIR/test_mesh_codec" "$D"

echo "-- pieces tests: mcinr_piece_build, mcinr_decode_mesh_points (ASan + UBSan)"
python3 $GEN "$D/pieces_vessel.mci" --mesh vessel --clusters 16 --width 16 --mesh-coding meshc --chunk-cells 8000 \
    --seed 5
python3 $GEN "$D/pieces_indexed.mci" --mesh block --clusters 16 --width 16 --mesh-coding meshc \
    --chunk-cells 2000 --mesh-index 6 --seed 5  # with a MESHX index: a piece decodes only the chunks near it
python3 CShim/tests/make_bad_meshc.py "$D"  # pieces_unlisted.mci, pieces_moved.mci, index_*.mci
$CC $CFLAGS $SAN $SOURCES CShim/tests/test_pieces.c $LIBS -o "$BUILD_DIR/test_pieces"
"$BUILD_DIR/test_pieces" "$D"

echo "-- C tests, concurrent decodes (ThreadSanitizer)"
$CC $CFLAGS -fsanitize=thread -fno-sanitize-recover=all $SOURCES CShim/tests/test_decoder.c $LIBS \
    -o "$BUILD_DIR/test_decoder_tsan"
TSAN_OPTIONS="halt_on_error=1" "$BUILD_DIR/test_decoder_tsan" "$D" --threads-only
$CC $CFLAGS -fsanitize=thread -fno-sanitize-recover=all $SOURCES CShim/tests/test_mesh_codec.c $LIBS \
    -o "$BUILD_DIR/test_mesh_codec_tsan"
TSAN_OPTIONS="halt_on_error=1" "$BUILD_DIR/test_mesh_codec_tsan" "$D" --threads-only

echo "-- hostile files (tools/make_test_mci.py --hostile): answered in bounded memory (ulimit -v) and time (timeout)"
# a plain build: the sanitizers' shadow memory does not fit under ulimit -v
$CC -std=c99 -D_GNU_SOURCE -O2 -Wall -Wextra -ICShim/include -ICShim/kernels/include $SOURCES \
    CShim/tests/hostile_open.c $LIBS -o "$BUILD_DIR/hostile_open"
H="$BUILD_DIR/hostile"
mkdir -p "$H"
for kind in nested-mesh empty-streams stream-work long-chain weights wide-tree deep-tree huge-bbox large-mesh; do
    python3 $GEN "$H/$kind.mci" --hostile $kind
done
python3 $GEN "$H/weights-1024.mci" --hostile weights --hostile-size 1024
python3 $GEN "$H/wide-tree-5000.mci" --hostile wide-tree --hostile-size 5000
python3 $GEN "$H/deep-tree-100.mci" --hostile deep-tree --hostile-size 100
# FILE STATUS NEEDLE [trust]: the status and message of the open, under 768 MiB of address space
# and 10 s (the decoder before these limits needed up to 1.4 GB, 21 s, or hours on these files)
hostile() {
    if ! ( ulimit -v 786432; timeout 10 "$BUILD_DIR/hostile_open" "$@" ); then
        echo "run.sh: hostile file check failed: $*" >&2
        exit 1
    fi
}
hostile "$H/nested-mesh.mci" 2 "section MESH: stored compressed (flag bit 1), but its content is already compressed"
hostile "$H/empty-streams.mci" 0 ""  # valid: 40000 steps of empty streams cost nothing
hostile "$H/stream-work.mci" 9 "section RESIDUAL: validating 10000 non-empty streams of 300000 values each"
hostile "$H/long-chain.mci" 2 "section RESIDUAL: stream of step 8 component 0 predicts from the previous step"
hostile "$H/weights.mci" 9 "section NETS: inflating the section would bring the memory"
hostile "$H/weights-1024.mci" 9 "section NETS: the weights of 1 networks"
hostile "$H/wide-tree.mci" 9 "section TREE: 200000 top-level nodes, beyond the limit of 4096"
hostile "$H/deep-tree.mci" 9 "section TREE: node 129 lies at depth 65, beyond the limit of 64"
hostile "$H/huge-bbox.mci" 2 "section META: the bounding box on axis 0, [-1e+308, 1e+308], is too large"
hostile "$H/large-mesh.mci" 9 "section MESH: inflating the mesh would bring the memory"
hostile "$H/deep-tree-100.mci" 9 "trust_large_files (C: mcinr_open_file_ex; CLI: --trust-large-files"
# trusted: the limits lifted, legitimately large files open and decode; format errors stay errors
hostile "$H/large-mesh.mci" 0 "" trust
hostile "$H/weights-1024.mci" 0 "" trust
hostile "$H/wide-tree-5000.mci" 0 "" trust
hostile "$H/deep-tree-100.mci" 0 "" trust
hostile "$H/nested-mesh.mci" 2 "nested compression is not allowed" trust
hostile "$H/long-chain.mci" 2 "every prediction chain restarts at the multiples of 8 steps" trust
hostile "$H/huge-bbox.mci" 2 "is too large" trust

echo "-- fuzzing for ${FUZZ_SECONDS}s"
$CC $CFLAGS $SAN -fsanitize=fuzzer $SOURCES CShim/fuzz/fuzz_open_decode.c $LIBS -o "$BUILD_DIR/fuzz_open_decode"
CORPUS="$BUILD_DIR/corpus"
mkdir -p "$CORPUS"
cp "$D/small.mci" "$CORPUS/"
python3 $GEN "$CORPUS/siren.mci" --mesh none --arch siren --width 2 --pe 0 --clusters 1 --seed 5
python3 $GEN "$CORPUS/coordnet.mci" --mesh tiny --arch coordnet --width 2 --pe 1 --clusters 2 --split --seed 6
cp "$D/small_int8.mci" "$D/small_f16z.mci" "$CORPUS/"
python3 $GEN "$CORPUS/siren_f16.mci" --mesh none --arch siren --width 2 --pe 0 --clusters 1 --seed 7 --encoding f16
python3 $GEN "$CORPUS/coordnet_int8z.mci" --mesh none --arch coordnet --width 2 --pe 1 --clusters 2 --seed 8 \
    --encoding int8 --compress-nets
cp "$D/small_residual_predicted.mci" "$CORPUS/"
# MESHC (type 8): tets in two chunks; tets and generic cells in small chunks
python3 $GEN "$CORPUS/meshc_tiny.mci" --mesh tiny --width 1 --pe 0 --clusters 1 --seed 13 --mesh-coding meshc \
    --chunk-cells 30
python3 $GEN "$CORPUS/meshc_grid.mci" --mesh grid --width 1 --pe 0 --clusters 1 --seed 14 --mesh-coding meshc \
    --chunk-cells 80
# MESHX (type 10, format 1.5): the index of those chunks
python3 $GEN "$CORPUS/meshx_tiny.mci" --mesh tiny --width 1 --pe 0 --clusters 2 --split --seed 15 --mesh-coding meshc \
    --chunk-cells 12 --mesh-index 2
# a small type 7 file whose streams are mostly range-coded (coders 1 and 2) and zstd otherwise
python3 $GEN "$CORPUS/rc_predicted.mci" --mesh tiny --width 1 --pe 0 --clusters 1 --seed 11 \
    --residual-predicted "$BUILD_DIR/rc_predicted.res"
# linear residual predictor (format 1.4): its chains, weights and empty codes
cp "$D/small_residual_linear.mci" "$CORPUS/"
cp "$D/small_residual_plane.mci" "$CORPUS/"
cp "$D/small_residual_blend.mci" "$D/small_residual_quad.mci" "$D/small_residual_anchor.mci" "$D/small_residual_nb.mci" \
    "$CORPUS/"
python3 $GEN "$CORPUS/rc_linear.mci" --mesh tiny --width 1 --pe 0 --clusters 1 --seed 17 \
    --residual-linear "$BUILD_DIR/rc_linear.res"
# small hostile files as seeds: mutants of them probe the limits (fuzz_open_decode.c: trusted too)
python3 $GEN "$CORPUS/nested-mesh.mci" --hostile nested-mesh --hostile-size 100000
cp "$H/huge-bbox.mci" "$H/long-chain.mci" "$H/weights-1024.mci" "$H/wide-tree-5000.mci" "$CORPUS/"
python3 $GEN "$CORPUS/deep-tree.mci" --hostile deep-tree --hostile-size 70
"$BUILD_DIR/fuzz_open_decode" -max_total_time="$FUZZ_SECONDS" -max_len=16384 -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$BUILD_DIR/" "$CORPUS" 2>&1 | tail -n 25
echo "-- C decoder: all passed"
# a temporary build dir is kept on failure (set -e exits before this) for the artifacts
if [ "$OWN_BUILD_DIR" = 1 ]; then rm -rf "$BUILD_DIR"; fi
