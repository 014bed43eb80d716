#!/usr/bin/env python3
"""Decoding a step through Python vs the C decoder alone, measured in one run.

  python3 benchmarks/python_decode.py [--mci MODEL ...] [--threads 1,2] [--rounds 5] [--repeats 5]
                                      [--out docs/benchmarks/python.md]

Both sides use the same libmcinr.so: the one `import mcinr` loads (the installed wheel's, or in
a checkout the dev build from CShim/), and a small C program (python_decode.c, compiled here
against that library) calling mcinr_decode_mesh directly. Python's side is what a user writes:
`mcinr.File.decode_mesh(t, num_threads=T)`, which returns one numpy array per variable (the
decode, plus the split into arrays). Rounds alternate C and Python; each time is the best of
`repeats` calls in a round, and the table gives the median over rounds (the machine is shared).
Models: every --mci, default the vessel-small mesh with random networks
(tools/make_test_mci.py --mesh vessel) and out/quickstart/model.mci when present (the README's
quick-start model, trained with the defaults).
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))  # a checkout; an installed mcinr wins if first on sys.path
import mcinr  # noqa: E402


def compile_c(lib, work):
    exe = os.path.join(work, "python_decode")
    include = os.path.join(ROOT, "CShim", "include")
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-std=c99", "-I" + include,
                    os.path.join(ROOT, "benchmarks", "python_decode.c"), "-o", exe,
                    "-L" + os.path.dirname(lib), "-l:" + os.path.basename(lib),
                    "-Wl,-rpath," + os.path.dirname(lib)], check=True)
    return exe


def c_round(exe, mci, step, threads, repeats):
    out = subprocess.run([exe, mci, str(step), str(threads), str(repeats)], check=True,
                         capture_output=True, text=True).stdout.split()
    return min(float(x) for x in out)


def python_round(f, time_value, threads, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        f.decode_mesh(time_value, num_threads=threads)
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mci", action="append")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--step", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks", "python.md"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="mcinr-python-bench-")
    models = args.mci
    if not models:
        models = [os.path.join(work, "vessel-random.mci")]
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "make_test_mci.py"), models[0], "--mesh", "vessel",
                        "--seed", "3"], check=True, stdout=subprocess.DEVNULL)
        quick = os.path.join(ROOT, "out", "quickstart", "model.mci")
        if os.path.exists(quick):
            models.append(quick)
    lib = mcinr.library_path()
    exe = compile_c(lib, work)
    rows = []
    for mci in models:
        f = mcinr.open(mci)
        t = f.times[args.step]
        f.decode_mesh(t, num_threads=1)  # warm: pages, OpenBLAS's buffers
        for threads in [int(x) for x in args.threads.split(",")]:
            c_times, py_times = [], []
            for _ in range(args.rounds):
                c_times.append(c_round(exe, mci, args.step, threads, args.repeats))
                py_times.append(python_round(f, t, threads, args.repeats))
            c_ms, py_ms = 1e3 * statistics.median(c_times), 1e3 * statistics.median(py_times)
            rows.append((os.path.basename(mci), f.num_points, sum(f.variables.values()), f.model.num_networks, threads,
                         c_ms, py_ms, 100.0 * (py_ms / c_ms - 1.0)))
            print("%-22s %6d points × %d  %d thread(s): C %.2f ms, Python %.2f ms (%+.1f %%)"
                  % (rows[-1][0], rows[-1][1], rows[-1][2], threads, c_ms, py_ms, rows[-1][7]), flush=True)
        f.close()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    lines = ["# Decoding a step through Python vs the C decoder alone",
             "",
             "Written by `benchmarks/python_decode.py` (%s, %s, %d CPUs, Python %s, numpy %s, library %s)."
             % (time.strftime("%Y-%m-%d"), cpu, os.cpu_count(), platform.python_version(),
                mcinr.file.np.__version__, os.path.relpath(lib, ROOT) if lib.startswith(ROOT) else lib),
             "",
             "Every component at every mesh point of stored step %d. *C*: `mcinr_decode_mesh` called from a C"
             " program linked to the same libmcinr.so; *Python*: `mcinr.open(path).decode_mesh(t, num_threads=T)`,"
             " which returns one numpy array per variable. Each time is the best of %d calls, the median over %d"
             " rounds that alternate C and Python in one run (shared machine: ±10 %% between runs)."
             % (args.step, args.repeats, args.rounds),
             "",
             "| model | points | components | networks | threads | C decoder (ms) | Python (ms) | Python overhead |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append("| %s | %d | %d | %d | %d | %.2f | %.2f | %+.1f %% |" % r)
    worst = max(r[7] for r in rows)
    lines += ["", "Largest overhead: %+.1f %% (limit: 10 %%): %s." % (worst, "within" if worst <= 10 else "OVER THE LIMIT"),
              ""]
    with open(args.out, "w") as out:
        out.write("\n".join(lines))
    print("wrote %s" % args.out)
    return 0 if worst <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
