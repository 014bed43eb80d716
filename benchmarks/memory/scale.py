#!/usr/bin/env python3
"""Peak memory and time of train, eval and export from 10^5 to 10^8 point-steps (issue #16).

For each size the paper-scale generator writes a .pvd of .vtu steps (cached under --work),
then `mcinr-vtk train`, `eval --ground-truth` and `export --vtu --ground-truth` each run under
/usr/bin/time -v (peak resident set, wall and CPU time). The report compares peak RSS with the
target of issue #16: 1.5 x raw field bytes + 1 x the mesh, where

    raw field bytes = points x steps x components x 4      (float32, as the paper counts them)
    mesh bytes      = points x 3 x 8 + cells x (4 x 8 + 8 + 1)
                      (float64 points, Int64 connectivity and offsets, UInt8 types: the mesh as
                       VTK writes it by default and as the tool holds it in memory)

Besides the raw ratio the report gives (peak - fixed overhead) / target, the fixed overhead being
the same command's peak on ~10^4 point-steps with the same build (the "fixed" size, measured
first by every run): the target is about memory that grows with the data, and at 10^5 the
process alone (runtime, libraries, workspaces) is above 1.5 F + M.

Usage (one size at a time is fine; results accumulate in --results):
    /usr/bin/python3 benchmarks/memory/scale.py --sizes 1e5,1e6,1e7 --budget 60
    /usr/bin/python3 benchmarks/memory/scale.py --sizes 1e8 --budget 1200
    /usr/bin/python3 benchmarks/memory/scale.py --report-only
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from machine import cpu_name  # noqa: E402

TOOL = os.path.join(ROOT, ".build", "release", "mcinr-vtk")
GENERATOR = os.path.join(ROOT, "examples", "make_paper_scale.py")

# size label -> generator arguments (points x steps x components)
SHAPES = {
    # the fixed overhead: what every run holds whatever the data (runtime, libraries, thread
    # workspaces), measured on ~10^4 point-steps with the same commands and build
    "fixed": ["--points", "1000", "--steps", "8"],
    "1e5": ["--points", "12500", "--steps", "8"],
    "1e6": ["--points", "125000", "--steps", "8"],
    "1e7": ["--points", "1250000", "--steps", "8"],
    # the paper's second dataset (5.25 M points, velocity + concentration), 20 of its 30 steps
    "1e8": ["--preset", "paper-2", "--steps", "20"],
}


# the row entry of `--commands train-bounded`
BOUNDED = "train (error-bounded)"


def timed(cmd, log):
    """Runs cmd under /usr/bin/time -v; returns (peak RSS bytes, wall s, cpu s, stdout)."""
    t0 = time.time()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    wall = time.time() - t0
    with open(log, "a") as f:
        f.write("$ " + " ".join(cmd) + "\n" + p.stdout + p.stderr + "\n")
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) * 1024
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", p.stderr).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", p.stderr).group(1))
    return rss, wall, user + system, p.stdout


def shape_of(summary_line):
    m = re.search(r"make_paper_scale: (\d+) points, (\d+) tets, (\d+) steps, (\d+) components", summary_line)
    return dict(points=int(m.group(1)), cells=int(m.group(2)), steps=int(m.group(3)), components=int(m.group(4)))


def run_size(label, args, results):
    data = os.path.join(args.work, label)
    pvd = os.path.join(data, "series.pvd")
    log = os.path.join(args.work, f"{label}.log")
    open(log, "w").close()
    meta_file = os.path.join(data, "shape.json")
    if not os.path.exists(meta_file):
        shutil.rmtree(data, ignore_errors=True)
        t0 = time.time()
        p = subprocess.run(["/usr/bin/python3", GENERATOR, data] + SHAPES[label], capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(p.stderr)
        shape = shape_of(p.stdout + p.stderr)
        shape["generate_s"] = time.time() - t0
        json.dump(shape, open(meta_file, "w"))
    shape = json.load(open(meta_file))
    raw = shape["points"] * shape["steps"] * shape["components"] * 4
    mesh = shape["points"] * 24 + shape["cells"] * 41
    model = os.path.join(args.work, f"{label}.mci")
    out = os.path.join(args.work, f"{label}-export")
    row = dict(label=label, **shape, raw_field_bytes=raw, mesh_bytes=mesh, budget_s=args.budget,
               vtu_bytes=sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data)))
    commands = args.commands.split(",") if label != "fixed" else (
        ["train", "eval", "export", "export-mesh"] + ["train-bounded"] * ("train-bounded" in args.commands))
    if "train" in commands:
        rss, wall, cpu, stdout = timed([TOOL, "train", pvd, "-o", model, "--time-budget", str(args.budget), "--json", "-q"], log)
        summary = json.loads(stdout)
        row["train"] = dict(peak_rss=rss, wall_s=wall, cpu_s=cpu, training_s=summary["seconds"],
                            psnr=summary["mean"]["psnr"], ratio=summary["compression_ratio_weights"])
    if "train-bounded" in commands:
        # error-bounded mode: the residual's coding and verification come after the training
        bounded = os.path.join(args.work, f"{label}-bounded.mci")
        rss, wall, cpu, stdout = timed([TOOL, "train", pvd, "-o", bounded, "--time-budget", str(args.budget),
                                        "--max-rel-error", str(args.bound), "--json", "-q"], log)
        summary = json.loads(stdout)
        row[BOUNDED] = dict(peak_rss=rss, wall_s=wall, cpu_s=cpu, training_s=summary["seconds"], bound=args.bound,
                            psnr=summary["error_bound"]["network_mean_psnr"],
                            ratio=summary["error_bound"]["compression_ratio_fields"])
        os.remove(bounded)
    if os.path.exists(model):
        row["model_bytes"] = os.path.getsize(model)
    if "eval" in commands:
        rss, wall, cpu, _ = timed([TOOL, "eval", model, "--ground-truth", pvd, "--json"], log)
        row["eval"] = dict(peak_rss=rss, wall_s=wall, cpu_s=cpu)
    if "export" in commands:
        rss, wall, cpu, _ = timed([TOOL, "export", model, "--vtu", out, "--ground-truth", pvd], log)
        row["export"] = dict(peak_rss=rss, wall_s=wall, cpu_s=cpu)
    if "export-mesh" in commands:
        rss, wall, cpu, _ = timed([TOOL, "export", model, "--vtu", out + "-mesh"], log)
        row["export (model's mesh)"] = dict(peak_rss=rss, wall_s=wall, cpu_s=cpu)
    shutil.rmtree(out + "-mesh", ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    # a later run of other commands on the same build adds to the row
    earlier = results.get(f"{label}@{args.build}", {})
    results[f"{label}@{args.build}"] = {**earlier, **row}
    return results[f"{label}@{args.build}"]


def report(results, path_md, path_png, note):
    order = ["d197382", "cdb2706", "df63e2f", "0a9af60"]  # the builds measured, oldest first
    fixed = {r["build"]: r for r in results.values() if r["label"] == "fixed"}
    rows = sorted((r for r in results.values() if r["label"] != "fixed"),
                  key=lambda r: (r["points"] * r["steps"], order.index(r["build"]) if r.get("build") in order else 99))
    lines = ["# Memory and time at scale (issue #16)", "",
             "Generated by `benchmarks/memory/scale.py` (" + note + "). Peak RSS from `/usr/bin/time -v`; "
             "target: peak ≤ 1.5 × raw field bytes + 1 × mesh bytes (definitions in the script's header). "
             "Train runs with the budget shown (`--time-budget`); the budget bounds training, not reading, "
             "evaluation or writing. The process floor (peak RSS of `mcinr-vtk --version`: runtime and "
             "libraries) is " + (f"{rows[0].get('process_floor', 0) / 2**20:.0f} MiB" if rows else "n/a") +
             "; it dominates at 10⁵. What holds the memory, phase by phase, and what is left: "
             "[memory-model.md](memory-model.md).", "",
             "For eval and export the issue also asks for streaming: peak ≤ 2 steps of fields + the mesh + the "
             "model (*stream target*: 2 × raw fields / steps + mesh bytes + 2 × the .mci file, the weights decoded "
             "from f16 to f32; rows measured before the model size was recorded show –). `export` writes the ground "
             "truth's mesh with error maps (`--ground-truth`), `export (model's mesh)` decodes the mesh stored in the "
             "`.mci`.", "",
             "*Fixed* is the same command's peak RSS on " + (
                 f"{next(iter(fixed.values()))['points']:,} points × {next(iter(fixed.values()))['steps']} steps "
                 if fixed else "~10⁴ point·steps ") + "with the same build: what a run holds whatever the data "
             "(runtime, libraries, thread workspaces). The two *− fixed* columns compare the memory that grows with "
             "the data, (peak − fixed), with the targets; rows of builds measured before the fixed overhead was "
             "recorded show –.", "",
             "| size | build | points × steps × comps | raw fields | mesh | .vtu on disk | command | peak RSS | target | peak / target | fixed | (peak − fixed) / target | stream target | peak / stream target | (peak − fixed) / stream target | wall s | CPU s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    mb = lambda b: f"{b / 2**20:,.0f} MiB"
    for r in rows:
        target = 1.5 * r["raw_field_bytes"] + r["mesh_bytes"]
        stream = (2 * r["raw_field_bytes"] / r["steps"] + r["mesh_bytes"] + 2 * r["model_bytes"]) if "model_bytes" in r else None
        for cmd in ("train", BOUNDED, "eval", "export", "export (model's mesh)"):
            if cmd not in r:
                continue  # a train-only row
            c = r[cmd]
            extra = f" (budget {r['budget_s']} s, {c['psnr']:.1f} dB, {c['ratio']:.0f}×)" if cmd == "train" else ""
            if cmd == BOUNDED:
                extra = f" (R = {c['bound']:g}, budget {r['budget_s']} s, network {c['psnr']:.1f} dB, CR {c['ratio']:.1f})"
            base = fixed.get(r.get("build"), {}).get(cmd, {}).get("peak_rss")
            over = f"{mb(base)} | {(c['peak_rss'] - base) / target:.2f}" if base else "– | –"
            streaming = (f"{mb(stream)} | {c['peak_rss'] / stream:.2f} | "
                         + (f"{(c['peak_rss'] - base) / stream:.2f}" if base else "–")) if stream and cmd != "train" else "– | – | –"
            lines.append(f"| {r['label']} | {r.get('build', '?')} | {r['points']:,} × {r['steps']} × {r['components']} | {mb(r['raw_field_bytes'])} | "
                         f"{mb(r['mesh_bytes'])} | {r['vtu_bytes'] / 2**30:.1f} GiB | {cmd}{extra} | {mb(c['peak_rss'])} | "
                         f"{mb(target)} | {c['peak_rss'] / target:.2f} | {over} | {streaming} | {c['wall_s']:.0f} | {c['cpu_s']:.0f} |")
    open(path_md, "w").write("\n".join(lines) + "\n")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for cmd, marker in (("train", "o"), ("eval", "s"), ("export", "^")):
        # the newest build measured at each size
        latest = {}
        for r in rows:
            if cmd in r:
                latest[r["points"] * r["steps"]] = r  # rows are sorted oldest build first
        x = sorted(latest)
        ax[0].plot(x, [latest[k][cmd]["peak_rss"] / (1.5 * latest[k]["raw_field_bytes"] + latest[k]["mesh_bytes"]) for k in x],
                   marker=marker, label=cmd)
        ax[1].plot(x, [latest[k][cmd]["wall_s"] for k in x], marker=marker, label=cmd)
    ax[0].axhline(1.0, color="gray", ls="--", label="target")
    for a, title in ((ax[0], "peak RSS / (1.5 × fields + mesh)"), (ax[1], "wall time (s)")):
        a.set_xscale("log"); a.set_xlabel("point·steps"); a.set_title(title); a.legend()
    ax[1].set_yscale("log")
    fig.tight_layout()
    fig.savefig(path_png, dpi=110)


def main():
    global TOOL
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e5,1e6,1e7")
    ap.add_argument("--budget", type=int, default=60, help="train --time-budget in seconds")
    ap.add_argument("--commands", default="train,eval,export,export-mesh",
                    help="which to measure: train, train-bounded (error-bounded mode, --bound), eval, export, "
                         "export-mesh (eval and export use the size's last trained model of plain train)")
    ap.add_argument("--work", default=os.path.expanduser("~/.cache/mcinr-bench/memory"))
    ap.add_argument("--results", default=os.path.join(ROOT, "docs", "benchmarks", "memory.json"))
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--tool", default=TOOL, help="the mcinr-vtk binary (default: the release build)")
    ap.add_argument("--build", default=subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                                      capture_output=True, text=True).stdout.strip(),
                    help="the commit the binary was built from (recorded per row)")
    ap.add_argument("--bound", type=float, default=1e-3, help="--max-rel-error of `--commands train-bounded`")
    args = ap.parse_args()
    TOOL = args.tool
    os.makedirs(args.work, exist_ok=True)
    results = json.load(open(args.results)) if os.path.exists(args.results) else {}
    if not args.report_only:
        for label in ["fixed"] + [x for x in args.sizes.split(",") if x != "fixed"]:
            row = run_size(label, args, results)
            print(label, {k: row[k]["peak_rss"] // 2**20 for k in ("train", BOUNDED, "eval", "export") if k in row}, "MiB", flush=True)
            row["machine"] = cpu_name()
            row["build"] = args.build
            row["process_floor"] = timed([TOOL, "--version"], os.path.join(args.work, "floor.log"))[0]
            json.dump(results, open(args.results, "w"), indent=1)
    report(results, os.path.join(ROOT, "docs", "benchmarks", "memory.md"),
           os.path.join(ROOT, "docs", "benchmarks", "memory.png"), f"machine: {cpu_name()}")


if __name__ == "__main__":
    main()
