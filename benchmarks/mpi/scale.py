#!/usr/bin/env python3
"""Strong scaling of distributed training on MPI (issue 18), and a model for R = 8 ... 1024.

Generates (once, cached in --work) a paper-scale series with examples/make_paper_scale.py as a
.pvd of .pvtu steps (--pieces 2), then trains the same model four ways, each with a fixed
epoch count (so every run does the same work and writes the same bytes):

    1x1      one process, --threads 1 (no mpirun)
    1x2      one process, --threads 2
    2x1      mpirun -np 2, --threads 1 each (Open MPI's shared-memory transport)
    2x1-tcp  mpirun -np 2 --mca btl tcp,self, --threads 1 each (real network stack)

Each run is timed under /usr/bin/time -v (wall, peak RSS of the largest process); the
distributed runs report per rank and phase the seconds and bytes sent / received and the peak
RSS (`train --json`, "mpi"). The load average before and after every run is recorded: the
machine is shared. Results accumulate in --results (JSON); the report and the plot are written
from them (--report-only rewrites them without running anything).

    /usr/bin/python3 benchmarks/mpi/scale.py                     # ~ 15-25 min on 2 cores
    /usr/bin/python3 benchmarks/mpi/scale.py --report-only
    /usr/bin/python3 benchmarks/mpi/scale.py --memory        # memory per rank at R = 1, 2, 4
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
from machine import cpu_name  # noqa: E402

TOOL = os.path.join(ROOT, ".build", "release", "mcinr-vtk")
GENERATOR = os.path.join(ROOT, "examples", "make_paper_scale.py")
MPIRUN = ["mpirun", "--allow-run-as-root", "--oversubscribe"]
CONFIGS = {
    "1x1": dict(ranks=1, threads=1, mpi=[]),
    "1x2": dict(ranks=1, threads=2, mpi=[]),
    "2x1": dict(ranks=2, threads=1, mpi=[]),
    "2x1-tcp": dict(ranks=2, threads=1, mpi=["--mca", "btl", "tcp,self"]),
    "4x1": dict(ranks=4, threads=1, mpi=[]),  # oversubscribed on 2 cores: for memory per rank, not speed
}


BUILD = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def timed(cmd, env=None):
    """(wall s, peak RSS bytes, stdout, CPU s of all processes) of cmd under /usr/bin/time -v."""
    start = time.time()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    wall = time.time() - start
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) * 1024
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([0-9.]+)", p.stderr).group(1)) for k in ("User", "System"))
    return wall, rss, p.stdout, cpu


def generate(args):
    data = os.path.join(args.work, "data")
    pvd = os.path.join(data, "series.pvd")
    if not os.path.exists(pvd):
        cmd = ["/usr/bin/python3", GENERATOR, data, "--points", str(args.points), "--steps", str(args.steps),
               "--variables", args.variables, "--pieces", "2", "--index-type", "Int32", "--quiet"]
        wall, rss, out, _ = timed(cmd)
        with open(os.path.join(args.work, "generated.json"), "w") as f:
            json.dump({"seconds": wall, "peak_rss_bytes": rss, "command": cmd, "output": out}, f)
    return pvd


def run(args, pvd, name, results):
    cfg = CONFIGS[name]
    out = os.path.join(args.work, f"{name}.mci")
    train = [TOOL, "train", pvd, "-o", out, "--time-budget", "0", "--max-epochs", str(args.epochs),
             "--meta-steps", str(args.meta_steps), "--seed", "1", "--threads", str(cfg["threads"]), "--json", "-q"]
    cmd = (MPIRUN + cfg["mpi"] + ["-np", str(cfg["ranks"])] + train) if cfg["ranks"] > 1 else train
    before = loadavg()
    wall, rss, stdout, cpu = timed(cmd)
    summary = json.loads(stdout[stdout.index("{"):])
    results["runs"][name] = {
        "command": " ".join(cmd), "wall_seconds": wall, "cpu_seconds": cpu, "peak_rss_bytes": rss, "load_before": before,
        "load_after": loadavg(), "sha256": sha256(out), "file_bytes": summary["file_bytes"],
        "weight_bytes": summary["weight_bytes"], "raw_field_bytes": summary["raw_field_bytes"],
        "networks": summary["networks"], "clusters": summary["clusters"], "splits": summary["splits"],
        "width": summary["width"], "mean_psnr": summary["mean"]["psnr"], "train_seconds": summary["seconds"],
        "ratio_weights": summary["compression_ratio_weights"], "mpi": summary.get("mpi"),
        "root_threads_version": 2,  # rank 0 evaluates with the threads of its node's ranks
        "build": BUILD,  # the commit checked out when the benchmark started (build the tool first)
    }
    info = json.loads(subprocess.run([TOOL, "info", out, "--json"], capture_output=True, text=True, check=True).stdout)
    results["clusters"] = [{"path": c["path"], "points": c["points"], "round": c["round"],
                            "epochs": c["epochs"]} for c in info["metadata"]["training"]["clusters"]]
    results["points"], results["cells"], results["steps"] = info["points"], info["cells"], len(info["times"])
    print(f"{name}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {rss / 2**20:.0f} MiB, PSNR {summary['mean']['psnr']:.2f} dB, "
          f"load {before:.1f} -> {loadavg():.1f}", flush=True)


def lpt(costs, ranks):
    load = [0.0] * ranks
    for c in sorted(costs, reverse=True):
        i = min(range(ranks), key=lambda r: (load[r], r))
        load[i] += c
    return max(load)


def dedicated(run):
    """Seconds on dedicated cores: CPU of one single-threaded process, or for a distributed run
    the sum over phases of the slowest rank's CPU seconds."""
    if not run.get("mpi"):
        return run.get("cpu_seconds")
    per = phases(run)
    # rank 0's evaluation runs on the cores of the ranks of its node (all of them here)
    threads = min(os.cpu_count() or 1, run["mpi"]["ranks"]) if run.get("root_threads_version", 1) >= 2 else 1
    total = 0.0
    for name in per[0]:
        worst = max(p[name].get("cpu_seconds", 0) for p in per)
        total += worst / threads if name == "evaluation" else worst
    return total


def phases(run):
    """{phase: {seconds, sent, received}} per rank of a distributed run."""
    return [{p["phase"]: p for p in r["phases"]} for r in run["mpi"]["per_rank"]]


def model(results):
    """Time of the same training on R ranks x 1 thread, from the 2-rank runs' measured phases."""
    runs = results["runs"]
    shm, tcp = phases(runs["2x1"]), phases(runs["2x1-tcp"])
    # compute per trained cluster, per round: the ranks' summed training seconds shared by each
    # cluster's samples (points x steps x 0.3 per epoch) plus, in round 0, its meta-learning
    # (meta-steps x tasks x 16 inner epochs x 1024 points); each round's jobs are assigned
    # largest first as the tool does
    total_training = sum(p["training"].get("cpu_seconds", p["training"]["seconds"]) for p in shm)
    steps, meta_steps = results["steps"], results["args"]["meta_steps"]
    tasks = (steps + 1) // 2
    work = {}
    for c in results["clusters"]:
        w = c["points"] * steps * 0.3 * max(c["epochs"], 1)
        if c["round"] == 0:
            w += meta_steps * tasks * 16 * min(1024, c["points"])
        work.setdefault(c["round"], []).append(w)
    scale = total_training / sum(sum(v) for v in work.values())
    rounds_costs = [[w * scale for w in v] for _, v in sorted(work.items())]
    costs = [w for v in rounds_costs for w in v]
    raw = runs["2x1"]["raw_field_bytes"]
    # network: bytes and seconds of the TCP run's exchange phases
    redistribution = tcp[0]["redistribution"]
    bandwidth = max(redistribution["sent_bytes"] + redistribution["received_bytes"], 1) / max(redistribution["seconds"], 1e-6)
    def cpu(p, name):
        return p[name].get("cpu_seconds", p[name]["seconds"])
    read_1 = sum(cpu(p, "read") for p in shm)                        # reading all steps, one rank
    fixed = max(cpu(p, "open") for p in shm) + max(cpu(p, "k-means") + cpu(p, "normalisation") for p in shm)
    evaluation = cpu(shm[0], "evaluation") + cpu(shm[0], "write")
    params = runs["2x1"]["weight_bytes"] * 2  # f16 on disk; exchanged as f32
    rounds = 1 + max(c["round"] for c in results["clusters"])
    rows = []
    for R in [1, 2, 4, 8, 16, 20, 32, 64, 128, 256, 512, 1024]:
        train = sum(lpt(round_costs, R) for round_costs in rounds_costs)
        train10 = 10 * train
        comm = ((raw / R) * (R - 1) / R * 2) / bandwidth if R > 1 else 0.0  # redistribution, in and out
        comm += rounds * params * (R - 1) / R / bandwidth                    # outcomes to every rank
        gather = 2 * raw * (R - 1) / R / bandwidth                             # truth to rank 0, twice
        latency = (rounds * 2 * 5e-6 * max(1, (R - 1).bit_length()) + 12 * 5e-6 * R) if R > 1 else 0.0  # collectives
        total = fixed + read_1 / R + train + comm + gather + evaluation + latency
        rows.append(dict(R=R, read=read_1 / R, train=train, comm=comm + gather + latency, serial=fixed + evaluation,
                         total=total, total10=total - train + train10))
    return dict(rows=rows, bandwidth=bandwidth, costs=sorted(costs, reverse=True), fixed=fixed, evaluation=evaluation,
                read_1=read_1, total_training=total_training, top_clusters=len(rounds_costs[0]),
                floor=sum(max(v) for v in rounds_costs), rounds=len(rounds_costs))


def report(results, path):
    runs = results["runs"]
    lines = ["# Distributed training on MPI: strong scaling (issue 18)", "",
             f"Generated by `benchmarks/mpi/scale.py` on {results['machine']} ({results['cores']} cores, shared "
             "with other work: the load average before and after each run is in the table). "
             f"Dataset: `examples/make_paper_scale.py --points {results['args']['points']} --steps {results['args']['steps']} "
             f"--variables {results['args']['variables']} --pieces 2 --index-type Int32` — "
             f"{results['points']:,} points (the 2 pieces' points concatenated), {results['cells']:,} tets, "
             f"{results['steps']} steps, {results['points'] * results['steps']:.3g} point·steps; generated in "
             f"{results.get('generated_seconds', 0):.0f} s. Training: the defaults with `--time-budget 0 --max-epochs "
             f"{results['args']['epochs']} --meta-steps {results['args']['meta_steps']} --seed 1`, so every run does the "
             "same work.", ""]
    single = [n for n in runs if CONFIGS[n]["threads"] == 1]
    digests = {runs[n]["sha256"] for n in single}
    psnrs = {round(r["mean_psnr"], 9) for r in runs.values()}
    lines += [f"**Same bytes:** the {len(single)} runs with 1 thread per rank ({', '.join(single)}) wrote "
              f"{'one identical file' if len(digests) == 1 else f'{len(digests)} DIFFERENT files'} "
              f"(sha256 {next(iter(digests))[:16]}…); 1x2 records `threads: 2` in the file's JSON section, its networks and "
              f"metrics are the same ({'one' if len(psnrs) == 1 else len(psnrs)} mean PSNR over all runs). "
              f"The model: {runs['1x1']['networks']} networks ({runs['1x1']['clusters']} clusters, "
              f"{runs['1x1']['splits']} splits), width {runs['1x1']['width']}, mean PSNR {runs['1x1']['mean_psnr']:.2f} dB at "
              f"{runs['1x1']['ratio_weights']:.0f}× (fields / weights).", ""]
    if "sz3" in results:
        sz = results["sz3"]
        lines += [f"**Against SZ3 at the same ratio** (`benchmarks/mpi/sz3.py`, per-component 1-D float32 arrays of all "
                  f"steps, error bound bisected to the tightest that still reaches {sz['target_ratio']:.0f}×): SZ3 "
                  f"{sz['mesh']['psnr']:.2f} dB in mesh order ({sz['mesh']['cr']:.0f}×), {sz['morton']['psnr']:.2f} dB in "
                  f"Morton order ({sz['morton']['cr']:.0f}×); MC-INR {sz['model_psnr']:.2f} dB after "
                  f"{results['args']['epochs']} epochs. The same for every R and thread count (the same file); a time "
                  "budget buys more epochs, and R ranks buy about R times the epochs in the same budget (see the "
                  "model below).", ""]
    lines += [
              "The machine is shared: a run gets what the other processes leave of the 2 cores, so wall "
              "times scale with the load, not with our code alone. The CPU seconds do not depend on the load: "
              "*dedicated-core estimate* = for a distributed run, the sum over phases of the slowest rank's CPU "
              "seconds in that phase (the wall time if each rank had a core of its own, network waits aside); for "
              "one process with one thread, its CPU seconds.", "",
              "| run | ranks × threads | wall s | speed-up (wall) | CPU s, all processes | dedicated-core estimate s | speed-up (estimate) | peak RSS (largest process) | load before → after |",
              "|---|---|---|---|---|---|---|---|---|"]
    base = runs["1x1"]["wall_seconds"]
    base_cpu = runs["1x1"].get("cpu_seconds")
    for name, r in runs.items():
        cfg = CONFIGS[name]
        estimate = dedicated(r) if cfg["threads"] == 1 else None
        lines.append(f"| {name} | {cfg['ranks']} × {cfg['threads']} | {r['wall_seconds']:.1f} | {base / r['wall_seconds']:.2f}× | "
                     f"{r.get('cpu_seconds', 0):.1f} | {f'{estimate:.1f}' if estimate else '–'} | "
                     f"{f'{base_cpu / estimate:.2f}×' if estimate and base_cpu else '–'} | "
                     f"{r['peak_rss_bytes'] / 2**20:.0f} MiB | {r['load_before']:.1f} → {r['load_after']:.1f} |")
    if "2x1" in runs and runs["2x1"].get("mpi"):
        per = phases(runs["2x1"])
        evaluation = per[0]["evaluation"].get("cpu_seconds", 0)
        conservative = dedicated(runs["2x1"]) + evaluation / 2
        training_1 = runs["1x1"].get("cpu_seconds", 0) - evaluation - per[0]["write"].get("cpu_seconds", 0)
        training_2 = max(p["training"].get("cpu_seconds", 0) for p in per)
        lines += ["", f"The 2x1 estimate counts rank 0's evaluation ({evaluation:.0f} CPU s) on the two cores of the node "
                  f"(its 2 decoder threads); on one core it would be {conservative:.0f} s "
                  f"({runs['1x1'].get('cpu_seconds', 0) / conservative:.2f}×). The training phase alone: about "
                  f"{training_1:.0f} CPU s in one process (its total less evaluation and writing) against "
                  f"{training_2:.0f} s on the slower rank, {training_1 / training_2:.2f}×. The rest does not divide: "
                  "rank 0's evaluation through the decoder and the writing of the file (the mesh compressed, the file "
                  "read back), the same work as in one process."]
    fields = runs["1x1"]["raw_field_bytes"] / 2**20
    mesh = (results["points"] * 24 + results["cells"] * 41) / 2**20
    points = results["points"] * 24 / 2**20
    # --memory runs (1, 2, 4 ranks of a later build) are kept apart from the scaling runs
    memory = results.get("memory_runs") or {n: runs[n] for n in ("1x1", "2x1", "4x1") if n in runs}
    memory_runs = list(memory)
    lines += ["", "**Memory per rank** (peak RSS of each rank, `train --json`; build of the run; `--memory` runs, "
              "separate from the timings above; wall times of these runs are not comparable: the machine was loaded):", "",
              "| R | build | rank 0 | other ranks (max) | fields / R | the mesh (rank 0) | points (every rank) |", "|---|---|---|---|---|---|---|"]
    for name in memory_runs:
        r = memory[name]
        R = CONFIGS[name]["ranks"]
        per = [x["peak_rss_bytes"] / 2**20 for x in r["mpi"]["per_rank"]] if r.get("mpi") else [r["peak_rss_bytes"] / 2**20]
        others = f"{max(per[1:]):.0f} MiB" if len(per) > 1 else "–"
        lines.append(f"| {R} | {r.get('build', 'earlier')} | {per[0]:.0f} MiB | {others} | {fields / R:.0f} MiB | {mesh:.0f} MiB | {points:.0f} MiB |")
    lines += ["", f"The fields ({fields:.0f} MiB) are held once across the ranks (≈ F / R each, twice that during their one "
              f"move to the clusters' owners). Rank 0 alone decodes the cells (≈ {mesh:.0f} MiB as the tool holds the mesh: "
              "64-bit indices) since it embeds them in the file; the other ranks read the points only (`SeriesStream(cells: "
              "false)`), so their peak is F / R plus the points, the normalised coordinates and the training buffers. Rank 0 "
              "also holds a step of truth and prediction while it evaluates, and writes the file. What falls as 1/R is the "
              "fields' share; rank 0's mesh is the ± of the issue."]
    lines += ["", "Per rank and phase: wall seconds (CPU seconds of the rank), bytes sent / received, and each "
              "rank's peak RSS:", ""]
    for name in ("2x1", "2x1-tcp"):
        r = runs[name]
        order = [p["phase"] for p in r["mpi"]["per_rank"][0]["phases"]]
        lines += [f"**{name}**", "", "| rank | peak RSS | " + " | ".join(order) + " |", "|---" * (len(order) + 2) + "|"]
        for rank in r["mpi"]["per_rank"]:
            ph = {p["phase"]: p for p in rank["phases"]}
            cells = [f"{ph[o]['seconds']:.1f} s ({ph[o].get('cpu_seconds', 0):.1f} CPU)" + (f"<br>{ph[o]['sent_bytes'] / 2**20:.1f} / {ph[o]['received_bytes'] / 2**20:.1f} MiB"
                                                   if ph[o]["sent_bytes"] + ph[o]["received_bytes"] else "") for o in order]
            lines.append(f"| {rank['rank']} | {rank['peak_rss_bytes'] / 2**20:.0f} MiB | " + " | ".join(cells) + " |")
        lines.append("")
    m = model(results)
    lines += ["## A model for R = 8 … 1024", "",
              "Built from the 2-rank run's measured phases, in CPU seconds (dedicated cores, one thread per rank): "
              "training compute per cluster = the ranks' "
              f"summed training CPU seconds ({m['total_training']:.0f} s for {len(m['costs'])} trained clusters in {m['rounds']} "
              "round(s)) shared by each cluster's samples per epoch × epochs, plus its meta-learning in round 0; each "
              "round's clusters assigned largest first to the least-loaded rank, as the tool does; reading ("
              f"{m['read_1']:.0f} s for all steps on one rank) divided by R; the network at the bandwidth the TCP run "
              f"measured in its redistribution ({m['bandwidth'] / 1e6:.0f} MB/s over loopback, packing and waiting included), for the values' one move "
              "(each rank sends and receives ≈ fields / R), every round's outcomes to every rank, and the truth "
              "gathered twice on rank 0 for the evaluation; collective latency 5 µs per hop; and what does not "
              f"divide: opening the series and k-means ({m['fixed']:.1f} s, every rank), evaluation through the decoder "
              f"and writing on rank 0 ({m['evaluation']:.1f} s).", "",
              "The last two columns: the same with 10× the training (20 epochs instead of 2: a realistic budget, "
              "where the evaluation and the network are a smaller share).", "",
              "| R | read s | training s | network s | rank-0 / replicated s | total s | speed-up | total s, 10× training | speed-up, 10× training |",
              "|---|---|---|---|---|---|---|---|---|"]
    t1, t10 = m["rows"][0]["total"], m["rows"][0]["total10"]
    for row in m["rows"]:
        lines.append(f"| {row['R']} | {row['read']:.1f} | {row['train']:.1f} | {row['comm']:.1f} | {row['serial']:.1f} | "
                     f"{row['total']:.1f} | {t1 / row['total']:.1f}× | {row['total10']:.0f} | {t10 / row['total10']:.1f}× |")
    lines += ["", f"**Where it stops scaling, and why.** Training stops falling at R = {m['top_clusters']} (one rank per "
              f"top-level cluster): from there the largest cluster of each round ({m['floor']:.0f} s in all) is the floor, and the "
              "evaluation on rank 0 plus the replicated opening of the mesh stay. Every model above reaches the same "
              "PSNR (the bytes do not depend on R), so the time to that PSNR is the total. To go past "
              "K ranks, train more top-level clusters (`--clusters`, a quality choice: more, smaller networks at the "
              "same ratio) or split one cluster's epochs across ranks (data-parallel gradients, a different "
              "algorithm); "
              "the next limit is rank 0's evaluation (decode all points × steps), which could be shared by point "
              "ranges with its sums reduced in a fixed order.", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    plot(results, m, os.path.splitext(path)[0] + ".png")


def plot(results, m, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    runs = results["runs"]
    names = list(runs)
    x = list(range(len(names)))
    axes[0].bar([i - 0.2 for i in x], [runs[n]["wall_seconds"] for n in names], width=0.4, color="#bbb",
                label="wall (shared, loaded machine)")
    axes[0].bar([i + 0.2 for i in x], [dedicated(runs[n]) if CONFIGS[n]["threads"] == 1 else 0 for n in names],
                width=0.4, color="#48c", label="dedicated-core estimate (CPU s)")
    axes[0].set_xticks(x)
    axes[0].set_xticklabels(names)
    axes[0].legend(fontsize=8)
    axes[0].set_ylabel("seconds")
    axes[0].set_title(f"measured: {results['points'] * results['steps']:.2g} point·steps (same file every run)")
    for key, label in [("total", "total"), ("total10", "total, 10x training"), ("train", "training"), ("comm", "network"),
                       ("serial", "rank 0 + replicated"), ("read", "reading")]:
        points = [(row["R"], row[key]) for row in m["rows"] if row[key] > 0]
        axes[1].plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
    axes[1].set_xscale("log", base=2)
    axes[1].set_yscale("log")
    axes[1].set_xlabel("ranks R (1 thread each)")
    axes[1].set_ylabel("seconds (model)")
    axes[1].set_title("model from the measured phases")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=os.path.expanduser("~/.cache/mcinr-bench/mpi"))
    ap.add_argument("--points", type=int, default=2_100_000)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--variables", default="velocity,concentration")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--meta-steps", type=int, default=2)
    ap.add_argument("--configs", default="1x1,2x1,1x2,2x1-tcp")
    ap.add_argument("--results", default=os.path.join(ROOT, "docs", "benchmarks", "mpi.json"))
    ap.add_argument("--report", default=os.path.join(ROOT, "docs", "benchmarks", "mpi.md"))
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--memory", action="store_true",
                    help="run 1x1, 2x1 and 4x1 for the memory-per-rank table only (kept apart from the scaling runs)")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    results = {}
    if os.path.exists(args.results):
        with open(args.results) as f:
            results = json.load(f)
    if not args.report_only:
        pvd = generate(args)
        with open(os.path.join(args.work, "generated.json")) as f:
            results["generated_seconds"] = json.load(f)["seconds"]
        results.update(machine=cpu_name(), cores=os.cpu_count(), runs=results.get("runs", {}),
                       args=dict(points=args.points, steps=args.steps, variables=args.variables, epochs=args.epochs,
                                 meta_steps=args.meta_steps))
        for name in ("1x1", "2x1", "4x1") if args.memory else args.configs.split(","):
            if args.memory:
                scratch = {"runs": {}}
                run(args, pvd, name, scratch)
                results.setdefault("memory_runs", {})[name] = scratch["runs"][name]
            else:
                run(args, pvd, name, results)
            with open(args.results, "w") as f:
                json.dump(results, f, indent=1)
    if all(n in results.get("runs", {}) for n in ("1x1", "2x1", "2x1-tcp")):
        report(results, args.report)
        print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
