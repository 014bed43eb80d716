"""Writes docs/benchmarks/decode.md from the JSON that benchmarks/decode/run collected."""
import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def level_name(level):
    return {2: "AVX-512F", 1: "AVX2+FMA", 0: "baseline"}.get(level, str(level))


CATEGORIES = [  # (label, test on the symbol name), first match wins
    # OpenBLAS zeroes C (beta = 0) with memset; nothing else in the decode memsets in bulk.
    ("sgemm (OpenBLAS, incl. its memset)", lambda s: s.startswith("sgemm") or s.startswith("cblas_sgemm")
                                                      or s.startswith("__memset")),
    ("sine activation (bias and ResBlock average fused in)",
     lambda s: s.startswith("mcinr_sine_forward") or s.startswith("mcinr_sine_half_sum")),
    ("positional encoding", lambda s: s.startswith("mcinr_positional_encoding")),
    ("routing, sort by network, input map, output scaling",
     lambda s: s in ("compare_refs", "mci_route_normalised", "mci_normalise", "eval_chunk", "eval_batch")
     or "msort" in s or "qsort" in s),
    ("linear-layer bias, module dispatch", lambda s: s == "apply_module" or s.startswith("mcinr_add_bias")),
]


def profile_shares(path):
    """Per-category shares of a `perf report --sort symbol` listing (kernel symbols are the
    open's page faults and scheduling; listed apart)."""
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return None
    shares = {label: 0.0 for label, _ in CATEGORIES}
    shares["kernel (page faults at open, scheduling)"] = 0.0
    shares["other"] = 0.0
    for line in lines:
        parts = line.split()
        if len(parts) < 3 or not parts[0].endswith("%"):
            continue
        pct, kind, sym = float(parts[0][:-1]), parts[1], parts[2]
        if kind == "[k]":
            shares["kernel (page faults at open, scheduling)"] += pct
            continue
        for label, test in CATEGORIES:
            if test(sym):
                shares[label] += pct
                break
        else:
            shares["other"] += pct
    return shares


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.results) if line.strip()]

    L = []
    L.append("# Decode benchmark")
    L.append("")
    L.append("Written by `benchmarks/decode/run` on %s, %s (%d cores, shared with other jobs: "
             "load average %s at the end). Every time is the **best of N** repeats; ratios are "
             "between numbers measured in the same process, minutes apart at most."
             % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), cpu_name(),
                os.cpu_count(), " ".join("%.1f" % x for x in os.getloadavg())))
    L.append("")
    L.append("## 1. Decode throughput vs single-thread sgemm (vessel-small, one time step)")
    L.append("")
    L.append("`bench.c` (compiled against CShim) calls `mcinr_decode_mesh` for all components at "
             "every mesh point of one stored step (step %d of 12, t = %g), with 1 and 2 decoder "
             "threads, OpenBLAS single-threaded (`OPENBLAS_NUM_THREADS=1` and "
             "`openblas_set_num_threads(1)`)." % (rows[0]["step"], rows[0]["time"]))
    L.append("")
    L.append("- **FLOPs** are counted from the network shapes: 2·in·out per matrix product the "
             "decoder performs (trunk, every branch, ResBlock skip projections), for each point "
             "on the network it is routed to. Sines, the positional encoding, routing and output "
             "scaling are not counted.")
    L.append("- **sgemm rate**: in the same process, the exact `cblas_sgemm` calls of the decode "
             "(same row counts per batch — the decoder's 4096-point chunks grouped by network, "
             "≤ 1024 rows — same in/out sizes and transposes) replayed single-threaded. This is "
             "the decode's ceiling if everything but the matrix products were free. The same "
             "layers in full 1024-row batches give the same rate within noise (column "
             "*sgemm 1024 GFLOP/s* below), so the batching costs nothing.")
    L.append("")
    L.append("| model | width | K nets | points × comps | GFLOP / decode | decode 1 thr | "
             "decode 2 thr | points·comps/s (1 thr) | points·comps/s (2 thr) | GFLOP/s 1 thr | "
             "GFLOP/s 2 thr | sgemm GFLOP/s (1 thr) | **1 thr / sgemm** | same, on CPU time | "
             "2 thr / (2 × sgemm) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    detail = []
    for r in rows:
        name = os.path.basename(r["model"]).replace(".mci", "")
        train = load_json(os.path.join(args.work, name + ".json")) or {}
        width = train.get("width", "?")
        d = {x["threads"]: x["seconds"] for x in r["decode"]}
        cores = {x["threads"]: x.get("cores_used", float("nan")) for x in r["decode"]}
        values = r["points"] * r["components"]
        gf = r["flops_per_decode"] / 1e9
        sg = gf / r["sgemm_replay_s"]
        t1, t2 = d.get(1), d.get(2)
        L.append("| %s | %s | %d | %d × %d | %.3f | %.1f ms | %.1f ms | %.2f M | %.2f M | %.1f | %.1f "
                 "| %.1f | **%.0f %%** | %.0f %% | %.0f %% |"
                 % (name, width, r["networks"], r["points"], r["components"], gf, 1e3 * t1, 1e3 * t2,
                    values / t1 / 1e6, values / t2 / 1e6, gf / t1, gf / t2, sg, 100 * gf / t1 / sg,
                    100 * r["sgemm_replay_cpu_s"] / r["decode_1_cpu_s"], 100 * gf / t2 / (2 * sg)))
        detail.append("| %s | %.1f ms | %.1f ms | %.1f ms | %.1f | %d (median %d rows) | %.2f× | %.2f → %.2f |"
                      % (name, 1e3 * r["decode_1_cpu_s"], 1e3 * r["sgemm_replay_cpu_s"],
                         1e3 * r["sine_flat_cpu_s"], gf / r["sgemm_full_batch_s"], r["batches"],
                         r["batch_rows_median"], t1 / t2, cores[1], cores[2]))
    L.append("")
    L.append("*same, on CPU time*: the ratio of the **thread CPU times** (`CLOCK_THREAD_CPUTIME_ID`) "
             "of the single-threaded decode and sgemm replay, which leave out the time other "
             "processes held the core; it agrees with the wall-time ratio.")
    L.append("")
    L.append("Single-thread details on thread CPU time: the decode, the replay of its sgemm calls, and "
             "the sine kernel on the same number of values as one flat array per layer (full "
             "vectors: the least the sines can cost). *cores used* = process CPU time / wall time "
             "of the best decode: what the 1- and 2-thread decodes actually got of the 2 shared cores.")
    L.append("")
    L.append("| model | decode 1 thr | sgemm | sine, flat | sgemm 1024 GFLOP/s (wall) | batches | "
             "2-thread speed-up (wall) | cores used 1 → 2 thr |")
    L.append("|---|---|---|---|---|---|---|---|")
    L.extend(detail)
    L.append("")
    profiles = {}
    for r in rows:
        name = os.path.basename(r["model"]).replace(".mci", "")
        p = profile_shares(os.path.join(args.work, name + ".profile"))
        if p:
            profiles[name] = p
    if profiles:
        names = list(profiles)
        L.append("Sampling profile (`perf record`) of the 1-thread decode alone (`bench --only-decode`, "
                 "20 decodes after one open), share of the samples:")
        L.append("")
        L.append("| function group | " + " | ".join(names) + " |")
        L.append("|---|" + "---|" * len(names))
        for label in profiles[names[0]]:
            L.append("| %s | " % label + " | ".join("%.0f %%" % profiles[n][label] for n in names) + " |")
        L.append("")
    baseline = os.path.join(args.work, "baseline.jsonl")
    if os.path.exists(baseline):
        runs = [json.loads(line) for line in open(baseline) if line.strip()]
        best = {}
        for r in runs:
            name = os.path.basename(r["model"]).replace(".mci", "")
            b = best.setdefault((name, r["variant"]), [1e30, 1e30])
            b[0] = min(b[0], r["decode_1_cpu_s"])
            b[1] = min(b[1], r["sgemm_replay_cpu_s"])
        L.append("Before/after (`run --baseline`): the decoder of `%s` (bench.c and CShim of that "
                 "revision) and this checkout's, run alternately, three rounds × best of 3, 1 thread, "
                 "thread CPU time:" % runs[0]["revision"])
        L.append("")
        L.append("| model | decode before | / sgemm | decode now | / sgemm | speed-up |")
        L.append("|---|---|---|---|---|---|")
        for name in dict.fromkeys(os.path.basename(r["model"]).replace(".mci", "") for r in runs):
            if (name, "baseline") not in best or (name, "current") not in best:
                continue
            (d0, s0), (d1, s1) = best[(name, "baseline")], best[(name, "current")]
            L.append("| %s | %.1f ms | %.0f %% | %.1f ms | **%.0f %%** | %.2f× |"
                     % (name, 1e3 * d0, 100 * s0 / d0, 1e3 * d1, 100 * s1 / d1, d0 / d1))
        L.append("")
    L.append("Kernel level: %s. Compression/quality of these models is irrelevant here (the wide "
             "ones and w22 had 1–2 epochs); only their shapes matter. They were trained once (cached) "
             "and are decoded by the CShim sources of this checkout." % level_name(rows[0]["kernels_level"]))
    L.append("")
    L.append("### Reading")
    L.append("")
    L.append(FINDINGS_LINK)
    L.append("")

    open_res = load_json(os.path.join(args.work, "open.json"))
    medium_bench = load_json(os.path.join(args.work, "medium-bench.json"))
    L.append("## 2. Opening a time step of vessel-medium in ParaView")
    L.append("")
    if open_res:
        b = open_res["best_seconds"]
        mtrain = load_json(os.path.join(args.work, "medium.json")) or {}
        mc, vc = open_res["mci_counts"], open_res["vtu_counts"]
        L.append("One `pvpython` process (builtin session) loads the reader plugin and, "
                 "interleaved, opens the same step (t = %g) %d times each way: "
                 "`OpenDataFile(step.vtu)` (%s, the ground truth: %d points, %d cells, %d arrays, "
                 "appended raw zlib) and `OpenDataFile(model.mci)` (%s: %d points, %d cells, %d arrays, "
                 "mesh embedded in the .mci). Each repeat creates the reader, calls "
                 "`UpdatePipeline(t)` and deletes it; files were read once before (warm page cache "
                 "for both). Best of %d."
                 % (open_res["time"], open_res["repeats"], open_res["vtu_reader"], vc[0], vc[1], vc[2],
                    open_res["mci_reader"], mc[0], mc[1], mc[2], open_res["repeats"]))
        L.append("")
        if mtrain:
            L.append("Model: `mcinr-vtk train vessel.pvd --time-budget 120` (defaults otherwise): "
                     "width %s, %s networks, %.1f MB file (%.0f MB raw fields), mean PSNR %.1f dB."
                     % (mtrain.get("width"), mtrain.get("networks"), mtrain["file_bytes"] / 1e6,
                        mtrain["raw_field_bytes"] / 1e6, mtrain["mean"]["psnr"]))
            L.append("")
        vtu_size = os.path.getsize(open_res["vtu"]) if os.path.exists(open_res["vtu"]) else 0
        L.append("| what | best time | vs .vtu |")
        L.append("|---|---|---|")
        L.append("| ground-truth .vtu (%.1f MB), XMLUnstructuredGridReader | %.3f s | 1.00× |"
                 % (vtu_size / 1e6, b["vtu"]))
        for key in sorted(k for k in b if k.startswith("mci_t")):
            L.append("| .mci via the plugin, NumberOfThreads = %s | %.3f s | %.2f× |"
                     % (key[5:], b[key], b[key] / b["vtu"]))
        for key in sorted(k for k in b if k.startswith("mci_step_change")):
            L.append("| .mci, time step change on an open reader (decode only), %s threads | %.3f s | %.2f× |"
                     % (key.rsplit("_t", 1)[1], b[key], b[key] / b["vtu"]))
        L.append("")
        if medium_bench:
            d = {x["threads"]: x["seconds"] for x in medium_bench["decode"]}
            gf = medium_bench["flops_per_decode"] / 1e9
            L.append("The same model in `bench.c` (no ParaView): open %.3f s, decode of a step %.3f s "
                     "(1 thread) / %.3f s (2 threads), %.1f GFLOP/s vs sgemm %.1f GFLOP/s (%.0f %%; "
                     "%.0f %% on thread CPU time)."
                     % (medium_bench["open_s"], d[1], d[2], gf / d[1], gf / medium_bench["sgemm_replay_s"],
                        100 * medium_bench["sgemm_replay_s"] / d[1],
                        100 * medium_bench["sgemm_replay_cpu_s"] / medium_bench["decode_1_cpu_s"]))
            L.append("")
    else:
        L.append("Not measured in this run (`--no-medium`, or vessel-medium missing).")
    L.append("")
    L.append("## Reproduce")
    L.append("")
    L.append("```\nbenchmarks/decode/run [--repeats N] [--no-medium] [--retrain] [--baseline REV]\n```")
    L.append("")
    L.append("Models and the medium dataset are cached in `~/.cache/mcinr-bench` "
             "(`MCINR_BENCH_CACHE`); `MCINR_CLI` and `MCINR_PLUGIN_BUILD` select the binaries.")
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(L) + "\n")
    os.replace(tmp, args.out)


# Hand-written analysis lives in its own file, written against a named run; a generated report
# only links to it, so every number in the report comes from the run that wrote it.
FINDINGS_LINK = ("Analysis of an earlier run (hand-written, not regenerated; decode and open): "
                 "[benchmarks/decode/findings.md](../../benchmarks/decode/findings.md).")

if __name__ == "__main__":
    main()
