#!/usr/bin/env python3
"""Open time of .mci files (mcinr_open_file_ex with the default options: before library 1.8.0
it validated every residual stream, since it checks the residual's table) with several builds
of libmcinr, interleaved, best of --repeats, on 1 and 2 decoder threads.

    python3 benchmarks/decode/open_time.py --lib before=/tmp/old/libmcinr.so --lib now=/tmp/new/libmcinr.so \
        MODEL.mci [MODEL.mci ...]

Build a library of a revision with `git archive REV CShim | tar -x -C DIR` and
`python3 -c "import mcinr; mcinr.build_library(OUT, root=DIR)"` (python/ on sys.path).
The first --lib is the baseline of the ratio column.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from mcinr import capi  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", action="append", required=True, help="NAME=PATH of a libmcinr.so (two or more)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    libs = dict(spec.split("=", 1) for spec in a.lib)
    names = list(libs)
    print("| model | threads | " + " | ".join(f"{n} (ms)" for n in names) + f" | {names[-1]} / {names[0]} |")
    print("|---|---:|" + "---:|" * (len(names) + 1))
    for path in a.models:
        for threads in a.threads:
            best = {n: float("inf") for n in names}
            for _ in range(a.repeats):
                for n in names:
                    t0 = time.perf_counter()
                    m = capi.Model(path, library=libs[n], num_threads=threads)
                    best[n] = min(best[n], time.perf_counter() - t0)
                    m.close()
            print(f"| {os.path.basename(path)} | {threads} | " + " | ".join(f"{best[n] * 1000:.0f}" for n in names)
                  + f" | {best[names[-1]] / best[names[0]]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
