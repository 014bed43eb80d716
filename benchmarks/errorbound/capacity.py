"""Network size in error-bounded mode (issue #23): total CR, fields / (weights + residual), of
`train --max-rel-error R` for several `--ratio` (and weight encodings), one training per
dataset, ratio and bound. Writes JSON lines (one per run) to WORK/capacity.jsonl and prints a
table; `--report OUT.md` turns the JSON lines into docs/benchmarks/error-bounded-capacity.md.

  python benchmarks/errorbound/capacity.py --binary .build/release/mcinr-vtk \
      [--ratios 100,50,25] [--bounds 1e-2,1e-3,1e-4,1e-5] [--datasets vessel-small,analytic]
      [--budget 60] [--threads 1] [--flags "--weights int8"] [--tag NAME]
  python benchmarks/errorbound/capacity.py --report docs/benchmarks/error-bounded-capacity.md
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import bench  # noqa: E402  (benchmarks/bench.py: Runner, make_analytic)

CACHE = os.environ.get("MCINR_BENCH_CACHE", os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                                                          "mcinr-bench"))
WORK = os.path.join(CACHE, "work-capacity")


def datasets(names):
    paths = {"vessel-small": "/work/shared/datasets/vessel-small/vessel.pvd",
             "analytic": bench.make_analytic(os.path.join(CACHE, "work-errorbound"), 40, 20, 20, 8)}
    return {k: paths[k] for k in names}


def measure(args):
    """One training per dataset and ratio, error-bounded at the loosest bound; the same networks
    then get the residual at every other bound (`train --compare-bounds`), so the bounds differ
    in the residual only."""
    runner = bench.Runner(args.binary, WORK, args.threads, reuse=True)
    out = os.path.join(WORK, "capacity.jsonl")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    loosest, others = args.bounds[0], args.bounds[1:]
    for k, path in datasets(args.datasets).items():
        for ratio in args.ratios:
            flags = ["--max-rel-error", f"{loosest:g}", "--ratio", f"{ratio:g}"] + args.flags
            if others:
                flags += ["--compare-bounds", ",".join(f"{r:g}" for r in others)]
            name = f"{k}-r{ratio:g}-b{args.budget:g}-t{args.threads}-s{args.seed}" + (f"-{args.tag}" if args.tag else "")
            fresh = not os.path.exists(os.path.join(WORK, name + ".json"))
            t0 = os.times()
            run = runner.train(name, path, flags, args.budget, mesh=True, seed=args.seed)
            t1 = os.times()
            eb = run["error_bound"]
            first = dict(rel_bound=loosest, residual_bytes=eb["residual_bytes"], data_streams=eb["data_streams"],
                         streams=sum(eb["predictors"].values()), compression_ratio_fields=eb["compression_ratio_fields"])
            for b in [first] + run.get("bound_comparison", []):
                row = dict(dataset=k, rel_bound=b["rel_bound"], ratio=ratio, flags=args.flags, tag=args.tag,
                           budget=args.budget, threads=args.threads, seed=args.seed, commit=commit,
                           date=time.strftime("%Y-%m-%d"), width=run["width"], networks=run["networks"],
                           weights=run["weights"], weight_bytes=run["weight_bytes"], residual_bytes=b["residual_bytes"],
                           raw_bytes=run["raw_field_bytes"], cr=b["compression_ratio_fields"],
                           network_psnr=eb["network_mean_psnr"], data_streams=b["data_streams"], streams=b["streams"],
                           seconds=run["seconds"], wall_seconds=run["wall_seconds"],
                           cpu_seconds=(t1.children_user - t0.children_user) if fresh else None,
                           cluster_epochs=run["cluster_epochs"], cluster_stops=run["cluster_stops"],
                           loadavg=open("/proc/loadavg").read().split()[:3])
                if fresh:
                    with open(out, "a") as f:
                        f.write(json.dumps(row) + "\n")
                bench.log(f"{k} R={row['rel_bound']:g} ratio={ratio:g} {' '.join(args.flags)}: width {row['width']}, "
                          f"weights {row['weight_bytes']} B, residual {row['residual_bytes']} B, CR {row['cr']:.2f}, "
                          f"network {row['network_psnr']:.2f} dB, data streams {row['data_streams']}/{row['streams']}, "
                          f"epochs {row['cluster_epochs']} ({row['cluster_stops']})")


def load(files):
    rows = []
    for name in files:
        with open(name) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


def label(budget, flags, tag):
    """A table's heading: how the networks were trained."""
    how = f"{budget:g} s budget" if budget else "no time budget"
    return how + (f", {flags}" if flags else "")


def report(path, files, select=None):
    """Markdown tables, one per dataset and training setting: per --ratio the networks and, per
    bound, the residual, the ratio fields / (weights + residual) and the streams quantising the
    data. Where each bound had its own training (no --compare-bounds), each cell names its
    network's PSNR."""
    rows = [r for r in load(files) if select is None or select(r)]
    variants = sorted({(r["dataset"], r["budget"], r["tag"] or "", " ".join(r["flags"])) for r in rows})
    lines = []
    for ds, budget, tag, flags in variants:
        sel = [r for r in rows if (r["dataset"], r["budget"], r["tag"] or "", " ".join(r["flags"])) == (ds, budget, tag, flags)]
        ratios = sorted({r["ratio"] for r in sel}, reverse=True)
        bounds = sorted({r["rel_bound"] for r in sel}, reverse=True)
        lines.append(f"\n#### {ds}, {label(budget, flags, tag)}\n")
        lines.append("| --ratio | width × networks | weights KiB | network PSNR | " +
                     " | ".join(f"R = {b:g}" for b in bounds) + " |")
        lines.append("|---:|---:|---:|---:|" + "---:|" * len(bounds))
        for ratio in ratios:
            cells, found = [], [r for r in sel if r["ratio"] == ratio]
            one_network = len({r["network_psnr"] for r in found}) == 1
            for b in bounds:
                m = [r for r in found if r["rel_bound"] == b]
                if not m:
                    cells.append("—")
                    continue
                m = m[-1]
                net = "" if one_network else f", {m['network_psnr']:.1f} dB"
                cells.append(f"**{m['cr']:.2f}** ({m['residual_bytes'] / 1024:.1f} KiB, {m['data_streams']}/{m['streams']}{net})")
            first = found[0]
            psnr = f"{first['network_psnr']:.2f} dB" if one_network else "per cell"
            lines.append(f"| {ratio:g} | {first['width']} × {first['networks']} | {first['weight_bytes'] / 1024:.1f} | {psnr} | "
                         + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    return text


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary")
    p.add_argument("--ratios", default="100,50,25")
    p.add_argument("--bounds", default="1e-2,1e-3,1e-4,1e-5")
    p.add_argument("--datasets", default="vessel-small,analytic")
    p.add_argument("--budget", type=float, default=60)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--flags", default="")
    p.add_argument("--tag", default="")
    p.add_argument("--report")
    p.add_argument("--rows", nargs="*", help="JSON-lines files for --report (default WORK/capacity.jsonl)")
    args = p.parse_args()
    if args.report:
        report(args.report, args.rows or [os.path.join(WORK, "capacity.jsonl")])
        return
    args.ratios = [float(x) for x in args.ratios.split(",")]
    args.bounds = [float(x) for x in args.bounds.split(",")]
    args.datasets = args.datasets.split(",")
    args.flags = args.flags.split()
    bench.log(f"capacity: {platform.node()}, {os.cpu_count()} cores")
    measure(args)


if __name__ == "__main__":
    main()
