"""Writes docs/benchmarks/threads.md from the JSON lines of benchmarks/decode/threads."""
import argparse
import datetime
import json
import os
import xml.etree.ElementTree as ET

from report import cpu_name  # the decode report in this folder


def two_worker_bound(sizes):
    """Best speed-up of 2 workers taking clusters largest first (one cluster per worker at a
    time, as WorkerPool does): total work / makespan."""
    loads = [0, 0]
    for s in sorted(sizes, reverse=True):
        loads[loads.index(min(loads))] += s
    return sum(sizes) / max(loads)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else 0.5 * (xs[len(xs) // 2 - 1] + xs[len(xs) // 2])


def cpu_cell(rows, k, setting):
    c = {t: [r["cpu"] for r in rows if r["clusters"] == k and r["setting"] == setting
             and r["threads"] == t and "cpu" in r] for t in (1, 2)}
    if not c[1] or not c[2]:
        return "–"
    w = {t: [r["cpu"] / r["wall"] for r in rows if r["clusters"] == k and r["setting"] == setting
             and r["threads"] == t and "cpu" in r] for t in (1, 2)}
    return "%.1f → %.1f (%.2f → %.2f cores)" % (median(c[1]), median(c[2]), median(w[1]), median(w[2]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--partitions", help="folder with k<K>-partition.json from bench.c")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.results) if line.strip()]
    steps = len(ET.parse(args.data).getroot().find("Collection").findall("DataSet"))
    points = None
    if rows:
        # raw_field_bytes = N·T·C·4 with C = 6 components for vessel-small
        points = rows[0]["raw_field_bytes"] // (steps * 6 * 4)

    best = {}
    for r in rows:
        key = (r["clusters"], r["setting"], r["threads"])
        if key not in best or r["seconds"] < best[key]["seconds"]:
            best[key] = r

    L = ["# Training thread scaling", ""]
    L.append("Written by `benchmarks/decode/threads` on %s, %s (%d cores, **shared** with other "
             "jobs: load average %s at the end). Same input, same seed, fixed `--max-epochs %d` and "
             "`--time-budget 0` so that `--threads 1` and `--threads 2` do the same work; the two "
             "thread counts alternate and each number is the best of %d runs."
             % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), cpu_name(), os.cpu_count(),
                " ".join("%.1f" % x for x in os.getloadavg()), rows[0]["epochs"] if rows else 0,
                max(r["repeat"] for r in rows) if rows else 0))
    L.append("")
    L.append("Data: vessel-small (%s points × %d steps = %s point-steps, 6 components). Training "
             "seconds are the CLI's `seconds` (training: k-means, meta-learning, rounds; reading "
             "the input, the evaluation after training and writing the file excluded). Throughput "
             "= samples trained on / seconds, where an epoch draws a fresh %s of each cluster's "
             "point-steps (`sample_fraction` as the model records it), so samples = point-steps × "
             "epochs × that fraction; meta-learning is extra work on top."
             % (points, steps, points * steps if points else "?",
                "%.0f %%" % (100 * rows[0]["sample_fraction"]) if rows else "?"))
    L.append("")
    shares = {}
    if args.partitions:
        for k in sorted({r["clusters"] for r in rows}):
            try:
                shares[k] = json.load(open(os.path.join(args.partitions, "k%d-partition.json" % k)))["points_per_network"]
            except (OSError, ValueError, KeyError):
                pass
    probes = []
    if args.partitions:
        try:
            probes = [json.loads(x) for x in open(os.path.join(args.partitions, "probe.jsonl")) if x.strip()]
        except (OSError, ValueError):
            probes = []
    if probes:
        caps = sorted(2 * p["probe_alone"] / p["probe_two"] for p in probes)
        L.append("**Control — cores available to us:** before each pair of runs, a fixed single-threaded "
                 "job (bench.c decoding a small model 40×) ran alone and as two concurrent copies; "
                 "capacity = 2 × alone / together is 2.0 on an idle 2-core machine and 1.0 when only "
                 "one core is free. Measured: %s (min %.2f, median %.2f, max %.2f)."
                 % (", ".join("%.2f" % c for c in caps), caps[0], median(caps), caps[-1]))
        L.append("")
    if shares:
        L.append("Cluster sizes (mesh points per cluster, from the k-means partition) and the best "
                 "speed-up two threads can reach when each thread trains whole clusters, largest "
                 "first (per-cluster work ∝ points × epochs):")
        L.append("")
        L.append("| K | points per cluster | bound for 2 threads |")
        L.append("|---|---|---|")
        for k, sz in shares.items():
            L.append("| %d | %s | %.2f× |" % (k, ", ".join(str(x) for x in sz), two_worker_bound(sz)))
        L.append("")
    L.append("| K | setting | networks | seconds, 1 thread | seconds, 2 threads | samples/s, 1 thr | "
             "samples/s, 2 thr | **speed-up** | wall 1 → 2 (incl. I/O) | CPU s 1 → 2 (cores used), median |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for k in sorted({r["clusters"] for r in rows}):
        for setting in ("clusters", "full"):
            a, b = best.get((k, setting, 1)), best.get((k, setting, 2))
            if not a or not b:
                continue
            work = (points or 0) * steps * a["epochs"] * a["sample_fraction"]
            label = ("clusters only (`--no-meta --no-recluster`)" if setting == "clusters"
                     else "full pipeline (meta-learning, re-clustering)")
            L.append("| %d | %s | %d / %d | %.2f s | %.2f s | %.2f M | %.2f M | **%.2f×** | %.1f → %.1f s | %s |"
                     % (k, label, a["networks"], b["networks"], a["seconds"], b["seconds"],
                        work / a["seconds"] / 1e6, work / b["seconds"] / 1e6,
                        a["seconds"] / b["seconds"], a["wall"], b["wall"],
                        cpu_cell(rows, k, setting)))
    L.append("")
    L.append("All runs (seconds):")
    L.append("")
    L.append("| K | setting | threads | repeat | seconds | wall | CPU s | cores used | capacity (control, just before) | networks | PSNR dB |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        L.append("| %d | %s | %d | %d | %.2f | %.1f | %s | %s | %s | %d | %.2f |"
                 % (r["clusters"], r["setting"], r["threads"], r["repeat"], r["seconds"], r["wall"],
                    "%.1f" % r["cpu"] if "cpu" in r else "–",
                    "%.2f" % (r["cpu"] / r["wall"]) if "cpu" in r else "–",
                    "%.2f" % r["capacity"] if "capacity" in r else "–", r["networks"], r["psnr"]))
    L.append("")
    # Hand-written analysis lives in its own file, written against a named run; a generated
    # report only links to it, so every number here comes from this run.
    L.append("Analysis of an earlier run (hand-written, not regenerated): "
             "[benchmarks/decode/threads_findings.md](../../benchmarks/decode/threads_findings.md).")
    L.append("")
    L.append("## Reproduce")
    L.append("")
    L.append("```\nbenchmarks/decode/threads [--repeats N] [--epochs E] [--clusters 2,4]\n```")
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(L) + "\n")
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
