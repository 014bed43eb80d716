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
loads = sorted({r["load"] for r in runs})
print(f"\nLoad average (1, 5, 15 min) after each run: {loads[0]} … {loads[-1]}.")
