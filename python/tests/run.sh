#!/usr/bin/env bash
# Tests of python/mcinr (the ctypes binding of the C decoder) with every Python named in
# MCINR_TEST_PYTHONS (default: /usr/bin/python3, ParaView's, and python3 on PATH; the same
# interpreter is run once). Each must have numpy; any failure fails the script. ≈ 5 s each
# (the library is built from CShim into a temporary folder per run).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHONS="${MCINR_TEST_PYTHONS:-/usr/bin/python3 python3}"
seen=""
ran=0
for py in $PYTHONS; do
  exe="$(command -v "$py" || true)"
  [ -n "$exe" ] || { echo "python/tests/run.sh: $py not found" >&2; exit 1; }
  real="$("$exe" -c 'import os, sys; print(os.path.realpath(sys.executable))')"
  case " $seen " in *" $real "*) continue ;; esac
  seen="$seen $real"
  echo "-- python/tests/test_capi.py with $exe ($("$exe" -c 'import platform; print(platform.python_version())'))"
  "$exe" -c "import numpy" || { echo "python/tests/run.sh: $exe has no numpy" >&2; exit 1; }
  "$exe" python/tests/test_capi.py
  "$exe" python/tests/test_pieces.py
  ran=$((ran + 1))
done
[ $ran -gt 0 ] || { echo "python/tests/run.sh: no Python ran the tests" >&2; exit 1; }
echo "python/tests/run.sh: OK ($ran interpreter(s))"
