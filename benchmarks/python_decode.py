#!/usr/bin/env python3
"""Decoding a step through Python vs the C decoder alone, measured in one run.

  python3 benchmarks/python_decode.py [--mci MODEL ...] [--threads 1,2] [--rounds 5] [--repeats 5]
                                      [--out docs/benchmarks/python.md]

Both sides use the same libmcinr.so: the one `import mcinr` loads (an installed wheel's, e.g.
with out/python-package/venv/bin/python after python/tests/package.sh; else this checkout's
python/ with $MCINR_LIBRARY or the dev build from CShim/), and a small C program (python_decode.c, compiled here
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
try:
    import mcinr  # an installed package (a wheel: its bundled libmcinr.so and OpenBLAS)
except ImportError:  # this checkout's python/ (the library: $MCINR_LIBRARY or the dev build)
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import mcinr


def compile_c(lib, work):
    exe = os.path.join(work, "python_decode")
    include = os.path.join(ROOT, "CShim", "include")
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-std=c99", "-I" + include,
                    os.path.join(ROOT, "benchmarks", "python_decode.c"), "-o", exe,
                    "-L" + os.path.dirname(lib), "-l:" + os.path.basename(lib),
                    "-Wl,-rpath," + os.path.dirname(lib)], check=True)
    return exe


def c_round(exe, mci, step, threads, repeats):
    """(best wall, best CPU) of `repeats` calls in one C process."""
    out = subprocess.run([exe, mci, str(step), str(threads), str(repeats)], check=True,
                         capture_output=True, text=True).stdout.split()
    return min(float(x) for x in out[0::2]), min(float(x) for x in out[1::2])


def python_round(f, time_value, threads, repeats):
    """(best wall, best CPU) of `repeats` calls; CPU as the C side counts it (the calling
    thread's with one decoder thread, the process's otherwise)."""
    cpu = time.thread_time if threads == 1 else time.process_time
    wall_best = cpu_best = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), cpu()
        f.decode_mesh(time_value, num_threads=threads)
        c1, t1 = cpu(), time.perf_counter()
        wall_best, cpu_best = min(wall_best, t1 - t0), min(cpu_best, c1 - c0)
    return wall_best, cpu_best


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
            c_runs, py_runs = [], []
            for _ in range(args.rounds):
                c_runs.append(c_round(exe, mci, args.step, threads, args.repeats))
                py_runs.append(python_round(f, t, threads, args.repeats))
            med = lambda runs, k: 1e3 * statistics.median(r[k] for r in runs)  # noqa: E731
            c_cpu, py_cpu, c_wall, py_wall = med(c_runs, 1), med(py_runs, 1), med(c_runs, 0), med(py_runs, 0)
            rows.append((os.path.basename(mci), f.num_points, sum(f.variables.values()), f.model.num_networks, threads,
                         c_cpu, py_cpu, 100.0 * (py_cpu / c_cpu - 1.0), c_wall, py_wall, 100.0 * (py_wall / c_wall - 1.0)))
            print("%-20s %6d points × %d  %d thread(s): CPU C %.2f ms, Python %.2f ms (%+.1f %%); "
                  "wall C %.2f ms, Python %.2f ms (%+.1f %%)" % ((rows[-1][0], rows[-1][1], rows[-1][2]) + rows[-1][4:]),
                  flush=True)
        f.close()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    lines = ["# Decoding a step through Python vs the C decoder alone",
             "",
             "Written by `benchmarks/python_decode.py` (%s, %s, %d CPUs, Python %s, numpy %s, library %s)."
             % (time.strftime("%Y-%m-%d"), cpu, os.cpu_count(), platform.python_version(),
                mcinr.file.np.__version__, os.path.relpath(lib, ROOT) if lib.startswith(ROOT) else lib),
             "",
             "Every component at every mesh point of stored step %d. *C*: `mcinr_decode_mesh` called from a C"
             " program (`benchmarks/python_decode.c`) linked to the same libmcinr.so; *Python*:"
             " `mcinr.open(path).decode_mesh(t, num_threads=T)`, which returns one numpy array per variable."
             " Each time is the best of %d calls, the median over %d rounds that alternate C and Python in one"
             " run. The overhead is judged on CPU time (the calling thread's with one decoder thread, the"
             " process's with more), which other processes on this shared 2-core machine do not inflate;"
             " wall times are given too (noisy here: the machine is shared)."
             % (args.step, args.repeats, args.rounds),
             "",
             "Models: *vessel-random.mci* is `tools/make_test_mci.py --mesh vessel` (the vessel-small mesh,"
             " random networks of width 16); *model.mci* is `out/quickstart/model.mci`, what"
             " `examples/quickstart.sh` trains on vessel-small with the defaults.",
             "",
             "| model | points | components | networks | threads | C CPU (ms) | Python CPU (ms) | overhead (CPU) "
             "| C wall (ms) | Python wall (ms) | overhead (wall) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append("| %s | %d | %d | %d | %d | %.2f | %.2f | %+.1f %% | %.2f | %.2f | %+.1f %% |" % r)
    worst = max(r[7] for r in rows)
    lines += ["", "Largest overhead (CPU time): %+.1f %% (limit: 10 %%): %s."
              % (worst, "within" if worst <= 10 else "OVER THE LIMIT"),
              ""]
    with open(args.out, "w") as out:
        out.write("\n".join(lines))
    print("wrote %s" % args.out)
    return 0 if worst <= 10 else 1


if __name__ == "__main__":
    sys.exit(main())
