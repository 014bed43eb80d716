#!/usr/bin/env python3
"""How long error-bounded `train` takes besides the training, build against build (issue #23:
compression throughput).

Each build trains the same series for a fixed number of epochs (`--time-budget 0`, so the
networks, and therefore the files, are the same with every build that leaves the coding's bytes
alone), then codes the residual of every network and weight encoding it tries. The builds run
alternately, bound by bound, on the same machine in one session; the table gives the whole run's
wall time, the training's (`train --json` "seconds", the kept network's; the smaller network's
is in the wall time), the kept residual's stages (`error_bound.seconds`: planning, coding,
verifying), the CPU seconds of the whole run (user + system: what a better-balanced schedule
cannot change, what less work does) and whether the files are byte-identical to the first
build's. With `--repeats N` the builds alternate N times per bound and each keeps its fastest
run (by wall time).

    python3 coding_speed.py SERIES.pvd --build OLD=path/to/mcinr-vtk --build NEW=path/to/mcinr-vtk \\
        [--bounds 1e-2 1e-3 1e-4 1e-5] [--epochs 2] [--repeats 1] [--work DIR] [--out report.md]
"""
import argparse
import filecmp
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time


def run(binary, series, bound, epochs, out):
    cmd = [binary, "train", series, "-o", out, "-q", "--json", "--threads", "2", "--seed", "1",
           "--max-rel-error", str(bound), "--time-budget", "0", "--max-epochs", str(epochs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        sys.exit(f"coding_speed: {' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    summary = json.loads(done.stdout)
    stages = summary["error_bound"].get("seconds", {})
    return {"wall": wall, "cpu": cpu, "training": summary["seconds"], "stages": stages,
            "residuals": len(summary.get("weight_encodings_tried", [None])) * len(summary.get("networks_tried", [None])),
            "bytes": os.path.getsize(out)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("series")
    ap.add_argument("--build", action="append", required=True, help="NAME=BINARY (two or more; the first is the baseline)")
    ap.add_argument("--bounds", type=float, nargs="+", default=[1e-2, 1e-3, 1e-4, 1e-5])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1, help="runs of each build per bound, alternating; the fastest kept")
    ap.add_argument("--work", default=None)
    ap.add_argument("--out", default=None, help="write the table there too (markdown)")
    args = ap.parse_args()
    builds = [b.split("=", 1) for b in args.build]
    for name, binary in builds:
        if not os.access(binary, os.X_OK):
            sys.exit(f"coding_speed: build {name}: {binary} is not an executable")
    work = args.work or tempfile.mkdtemp(prefix="coding-speed-")
    os.makedirs(work, exist_ok=True)
    rows = []
    for bound in args.bounds:
        results = {}
        for _ in range(max(1, args.repeats)):
            for name, binary in builds:
                out = os.path.join(work, f"{name}-{bound:g}.mci")
                r = run(binary, args.series, bound, args.epochs, out)
                print(f"[coding_speed] {bound:g} {name}: wall {r['wall']:.1f} s, CPU {r['cpu']:.1f} s, training {r['training']:.1f} s, "
                      f"stages {({k: round(v, 1) for k, v in r['stages'].items()})}", flush=True)
                if name not in results or r["wall"] < results[name]["wall"]:
                    results[name] = r
        base = os.path.join(work, f"{builds[0][0]}-{bound:g}.mci")
        for name, _ in builds:
            same = filecmp.cmp(base, os.path.join(work, f"{name}-{bound:g}.mci"), shallow=False)
            rows.append((bound, name, results[name], same, results[builds[0][0]]))
    lines = [f"`{os.path.basename(args.series)}`, {args.epochs} epochs, `--threads 2`, {platform.processor() or platform.machine()}, "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
             + (f", fastest of {args.repeats} runs per build" if args.repeats > 1 else ""),
             "",
             "| R | build | wall s | CPU s | training s | wall − training s | kept residual: planning / coding / verifying s | residuals coded | file bytes | same bytes as the first build | wall / first build's | CPU / first build's |",
             "|---|---|---:|---:|---:|---:|---|---:|---:|---|---:|---:|"]
    for bound, name, r, same, base in rows:
        st = r["stages"]
        stages = " / ".join(f"{st[k]:.1f}" for k in ("planning", "coding", "verifying")) if st else "—"
        lines.append(f"| {bound:g} | {name} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['training']:.1f} | {r['wall'] - r['training']:.1f} | {stages} | "
                     f"{r['residuals']} | {r['bytes']} | {'yes' if same else 'no'} | {r['wall'] / base['wall']:.2f} | {r['cpu'] / base['cpu']:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
