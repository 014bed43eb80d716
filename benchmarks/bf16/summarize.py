#!/usr/bin/env python3
"""Markdown tables from benchmarks/bf16/run's runs.jsonl (docs/benchmarks/bf16.md)."""
import json, statistics, sys
from collections import defaultdict

runs = [json.loads(l) for l in open(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bf16-bench/runs.jsonl")]
groups = defaultdict(list)
for r in runs:
    label = r["label"]
    kind, rest = label.split("-", 1)
    mode = rest.rsplit("-r", 1)[0] if kind in ("epochs", "budget") else rest
    seed = 1
    if "-s" in mode:
        mode, seed = mode.rsplit("-s", 1)
        seed = int(seed)
    r["seed"] = seed
    if seed != 1:
        kind = "seeds"
    groups[(kind, mode)].append(r)

def table(kind, title, time_key):
    modes = [m for m in ("fp32", "bf16", "bf16-all") if (kind, m) in groups]
    if not modes:
        return
    base = groups[(kind, "fp32")]
    base_t = statistics.median(r[time_key] for r in base)
    base_p = statistics.mean(r["psnr"] for r in base)
    print(f"\n{title}\n")
    print("| --matmul | runs | width × networks | training s (each run) | fp32 time / this | epochs (first run) | PSNR dB (each run) | mean PSNR − fp32 |")
    print("|---|---:|---|---|---:|---|---|---:|")
    for m in modes:
        g = groups[(kind, m)]
        t = statistics.median(r[time_key] for r in g)
        p = statistics.mean(r["psnr"] for r in g)
        print(f"| {m} | {len(g)} | {g[0]['width']} × {g[0]['networks']} | "
              + ", ".join(f"{r[time_key]:.1f}" for r in g)
              + f" | {base_t / t:.2f} × | {g[0].get('training', '?')} | " + ", ".join(f"{r['psnr']:.2f}" for r in g)
              + f" | {p - base_p:+.2f} |")

table("epochs", "Fixed epochs (deterministic; --no-recluster)", "train_seconds")
table("wide", "Fixed epochs at --width 55 (--no-recluster)", "train_seconds")
table("budget", "Fixed time budget (defaults, splits allowed)", "train_seconds")

# Fixed epochs over seeds: the PSNR difference bf16 − fp32 per seed against the spread of fp32
# over seeds (trajectory noise).
seeds = sorted({r["seed"] for (k, m), g in groups.items() if k in ("epochs", "seeds") for r in g})
if len(seeds) > 1:
    print("\nFixed epochs, per seed (first run of each; PSNR dB, training s)\n")
    print("| seed | fp32 | bf16 | bf16-all | bf16 − fp32 | bf16-all − fp32 |")
    print("|---:|---|---|---|---:|---:|")
    diffs = {"bf16": [], "bf16-all": []}
    for sd in seeds:
        row = {}
        for m in ("fp32", "bf16", "bf16-all"):
            g = [r for k in ("epochs", "seeds") for r in groups.get((k, m), []) if r["seed"] == sd]
            row[m] = g[0] if g else None
        if not all(row.values()):
            continue
        d1 = row["bf16"]["psnr"] - row["fp32"]["psnr"]; d2 = row["bf16-all"]["psnr"] - row["fp32"]["psnr"]
        diffs["bf16"].append(d1); diffs["bf16-all"].append(d2)
        print(f"| {sd} | " + " | ".join(f"{row[m]['psnr']:.2f} dB, {row[m]['train_seconds']:.1f} s" for m in ("fp32", "bf16", "bf16-all"))
              + f" | {d1:+.2f} | {d2:+.2f} |")
    fp = [r["psnr"] for k in ("epochs", "seeds") for r in groups.get((k, "fp32"), [])]
    print(f"\nMean difference over seeds: bf16 {statistics.mean(diffs['bf16']):+.2f} dB, bf16-all {statistics.mean(diffs['bf16-all']):+.2f} dB; "
          f"fp32 PSNR over seeds: {min(fp):.2f} … {max(fp):.2f} dB.")
loads = sorted({r["load"] for r in runs})
print(f"\nLoad average (1, 5, 15 min) after each run: {loads[0]} … {loads[-1]}.")
