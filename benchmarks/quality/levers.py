#!/usr/bin/env python3
"""Quality per CPU-second of `mcinr-vtk train` with and without each training lever (issue #19).

For every dataset, time budget and seed, each variant (a name and the train flags that turn a
lever off or change it) is trained in turn — interleaved, so machine load hits all variants
alike — and its PSNR (mean over components and steps, each component's range), ratio (fields /
weights) and CPU seconds (user + system of the train process) are recorded. SZ3 is compressed
at the default variant's ratio in its best layout (mesh or Morton order, 1-D or steps × points)
as the horizontal line of the plot. Writes a Markdown report, its JSON and a PSNR-vs-CPU-seconds
plot.

    python3 levers.py --binary .build/release/mcinr-vtk --dataset p1e6=/path/series.pvd \\
        --budgets 60 120 --seeds 1 2 --variant default= --variant no-budget-decay="--budget-decay 0" \\
        --out docs/benchmarks/quality-scale.md [--report-only]
"""
import argparse
import json
import os
import resource
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
sys.path.insert(0, os.path.join(ROOT, "python"))
from machine import cpu_name  # noqa: E402


def log(msg):
    print(f"[levers {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def train(binary, dataset, out, flags, budget, seed, threads):
    """One training: its summary JSON plus wall and CPU seconds of the process."""
    cmd = [binary, "train", dataset, "-o", out, "-q", "--json", "--time-budget", str(budget),
           "--seed", str(seed), "--threads", str(threads)] + flags
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(map(shlex.quote, cmd))} failed:\n{run.stderr[-2000:]}")
    summary = json.loads(run.stdout)
    return dict(psnr=summary["mean"]["psnr"], cr=summary["compression_ratio_weights"],
                networks=summary["networks"], weight_bytes=summary["weight_bytes"],
                raw_bytes=summary["raw_field_bytes"], wall=wall,
                cpu=(after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


def sz3_line(dataset, target_cr, iterations=16):
    """SZ3's best layout at the ratio target_cr: its PSNR and layout."""
    import bench  # benchmarks/bench.py: the SZ3/ZFP harness of the main report
    points, _, values, _ = bench.dataset_arrays(dataset)
    comp = bench.Compressors(points, values)
    best = None
    for order in ("mesh", "morton", "mesh-2d", "morton-2d"):
        m = comp.at_ratio("SZ3", order, target_cr, iterations)
        if best is None or m["psnr"] > best["psnr"]:
            best = m
    return dict(psnr=best["psnr"], cr=best["cr"], layout=best["order"])


# the defaults when issue #19 was filed: the same flags without the budget decay it added
BEFORE = "no-budget-decay"


def goal_lines(res, default):
    """Issue #19's two checks, from the rows: the defaults with a 1 core-hour budget (1800 s on
    2 threads) against SZ3 at the same ratio (+10 dB wanted), and the shortest budget at which
    the defaults reach what the defaults before #19 reached in 600 s (<= 1/3 of it wanted)."""
    out = []
    for ds in sorted({r["dataset"] for r in res["runs"]}):
        runs = [r for r in res["runs"] if r["dataset"] == ds]
        sz = res.get("sz3", {}).get(ds)
        for r in runs:
            if r["variant"] == default and float(r["budget"]) * res["threads"] >= 3600 and sz:
                when = f", run {r['date']}" if r.get("date") else ""
                out.append(f"- **{ds}, 1 core-hour** ({r['budget']} s × {res['threads']} threads, seed {r['seed']}{when}): "
                           f"{r['psnr']:.2f} dB at CR {r['cr']:.1f} against SZ3's best layout {sz['psnr']:.2f} dB "
                           f"at CR {sz['cr']:.1f} ({sz['layout']}): **{r['psnr'] - sz['psnr']:+.2f} dB** "
                           f"(target +10 dB); {r['cpu']:.0f} CPU s."
                           + "".join(f" SZ3's best layout at CR {o['cr']:.1f} ({o['layout']}, a lower ratio than the "
                                     f"defaults'): {o['psnr']:.2f} dB, {abs(r['psnr'] - o['psnr']):.2f} dB "
                                     f"{'below' if r['psnr'] > o['psnr'] else 'above'} them."
                                     for o in res.get("sz3_at", {}).get(ds, {}).values()))
        before = [r for r in runs if r["variant"] == BEFORE and float(r["budget"]) == 600]
        shorter = [r for r in runs if r["variant"] == default and float(r["budget"]) < 600]
        for b in before if shorter else []:  # a dataset run at 600 s only is a "nothing worse" check
            faster = sorted(((float(r["budget"]), r) for r in shorter
                             if r["seed"] == b["seed"] and r["psnr"] >= b["psnr"]), key=lambda t: t[0])
            text = (f"the defaults reach it with a {faster[0][0]:g} s budget ({faster[0][1]['psnr']:.2f} dB at CR "
                    f"{faster[0][1]['cr']:.1f}, "
                    f"{faster[0][0] / 600:.2f} of the time; target ≤ 1/3)" if faster else
                    "no shorter run of the defaults reached it")
            out.append(f"- **{ds}, time to the 600 s PSNR of the defaults before #19** ({BEFORE}, seed {b['seed']}: "
                       f"{b['psnr']:.2f} dB at CR {b['cr']:.1f}): {text}.")
    return (["", "Issue #19's goal, from the rows above:", ""] + out) if out else []


def report(res, out_md):
    rows = res["runs"]
    variants = res["variants"]
    lines = [
        "# Quality per CPU-second: what each training lever buys (issue #19)",
        "",
        f"Generated by `benchmarks/quality/levers.py` ({res['date']}) on {res['cpu']} "
        f"({res['threads']} training threads, shared machine). Each row: `mcinr-vtk train` with the "
        "variant's flags, the listed `--time-budget` and seed; variants are interleaved per budget and "
        "seed so machine load hits them alike. PSNR: mean over components and steps, each component's "
        "range; CR: raw fields / weights (f16); CPU: user + system seconds of the whole train process "
        "(reading, clustering, meta-learning, training, evaluation, writing). SZ3: its best layout "
        "(mesh or Morton order, 1-D or steps × points) at the default variant's ratio.",
        "",
        "Variants: " + "; ".join(f"**{name}** = `{flags or '(defaults)'}`" for name, flags in variants.items()) + ".",
        "",
    ] + ([f"Note: {res['note']}", ""] if res.get("note") else []) + [
        "| dataset | budget s | seed | defaults of | variant | PSNR dB | CR | networks | CPU s | wall s |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['budget']} | {r['seed']} | {r.get('defaults') or '—'} | {r['variant']} | {r['psnr']:.2f} | "
                     f"{r['cr']:.1f} | {r['networks']} | {r['cpu']:.0f} | {r['wall']:.0f} |")
    lines += ["", "What each variant changes against the defaults (mean over seeds of the PSNR difference "
              "at the same budget; positive: the defaults are better):", "",
              "| dataset | budget s | defaults of | variant | defaults − variant, dB | seeds | SZ3 at the defaults' CR (layout) |",
              "|---|---:|---|---|---:|---:|---:|"]
    default = next(iter(variants))
    keys = sorted({(r["dataset"], r["budget"]) for r in rows}, key=lambda k: (k[0], float(k[1])))
    for ds, budget in keys:
        here = [r for r in rows if r["dataset"] == ds and r["budget"] == budget]
        # a variant is compared with the defaults of its own invocation (interleaved with it)
        base = {(r["seed"], r.get("batch")): r["psnr"] for r in here if r["variant"] == default}
        sz = res.get("sz3", {}).get(ds)
        sz_text = f"{sz['psnr']:.2f} dB at CR {sz['cr']:.1f} ({sz['layout']})" if sz else "—"
        # the defaults changed between invocations (--defaults names them): one row per kind
        kinds = list(dict.fromkeys(r.get("defaults", "") for r in here))
        for kind in kinds:
            for name in variants:
                if name == default:
                    continue
                diffs = [base[r["seed"], r.get("batch")] - r["psnr"] for r in here
                         if r["variant"] == name and r.get("defaults", "") == kind
                         and (r["seed"], r.get("batch")) in base]
                if diffs:
                    lines.append(f"| {ds} | {budget} | {kind or '—'} | {name} | {sum(diffs) / len(diffs):+.2f} | "
                                 f"{len(diffs)} | {sz_text} |")
    lines += goal_lines(res, default)
    lines += ["", "![PSNR against CPU seconds](../images/quality-scale.png)", ""]
    with open(out_md, "w") as f:
        f.write("\n".join(lines))
    plot(res, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(out_md))), "images", "quality-scale.png"))


def plot(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("matplotlib missing: no plot")
        return
    datasets = sorted({r["dataset"] for r in res["runs"]})
    cols = min(3, len(datasets))
    rows = (len(datasets) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4 * rows), squeeze=False)
    for ax in axes.flat[len(datasets):]:
        ax.set_visible(False)
    for ax, ds in zip(axes.flat, datasets):
        for name in res["variants"]:
            pts = sorted((r["cpu"], r["psnr"]) for r in res["runs"] if r["dataset"] == ds and r["variant"] == name)
            if pts:
                ax.plot(*zip(*pts), "o-", label=name)
        sz = res.get("sz3", {}).get(ds)
        if sz:
            ax.axhline(sz["psnr"], color="grey", linestyle="--", linewidth=1)
            ax.text(ax.get_xlim()[0], sz["psnr"], f" SZ3 ({sz['layout']}) at CR {sz['cr']:.0f}", fontsize=7,
                    va="bottom", color="grey")
        ax.set_title(ds)
        ax.set_xlabel("CPU seconds of train")
        ax.set_ylabel("PSNR dB")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "mcinr-vtk"))
    ap.add_argument("--dataset", action="append", default=[],
                    help="LABEL=PATH.pvd[:B1,B2] (repeatable; the budgets after ':' replace --budgets for it)")
    ap.add_argument("--budgets", nargs="+", type=float, default=[60, 120])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--variant", action="append", default=[],
                    help='NAME=FLAGS (repeatable; the first is the reference, usually "default=")')
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--work", default=os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                                                   "mcinr-bench", "work-levers"))
    ap.add_argument("--no-sz3", action="store_true", help="skip the SZ3 line")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks", "quality-scale.md"))
    ap.add_argument("--report-only", action="store_true", help="rewrite the report from its JSON")
    ap.add_argument("--sz3-only", action="store_true",
                    help="(re)compute the SZ3 line of each --dataset from the JSON's runs, and at --sz3-ratios")
    ap.add_argument("--sz3-ratios", type=float, nargs="*", default=[],
                    help="also SZ3 at these ratios (the issue's CR 200 where the defaults land elsewhere)")
    ap.add_argument("--append", action="store_true",
                    help="add these runs to the report's JSON (its other runs, variants and SZ3 lines kept)")
    ap.add_argument("--note", help="a remark on the run, kept in the JSON and printed in the report")
    ap.add_argument("--defaults", default="",
                    help="what the defaults are in this build (e.g. 'auto per cluster (6fa270b)'): the "
                         "summary compares variants with each kind of defaults separately")
    a = ap.parse_args()
    out_json = os.path.splitext(a.out)[0] + ".json"
    if a.report_only:
        res = json.load(open(out_json))
        if a.note:
            res["note"] = a.note
            with open(out_json, "w") as f:
                json.dump(res, f, indent=1)
        report(res, a.out)
        return
    if a.sz3_only:
        res = json.load(open(out_json))
        reference = next(iter(res["variants"]))
        for spec in a.dataset:
            label, path = spec.split("=", 1)
            path = path.partition(":")[0]
            ref = [r["cr"] for r in res["runs"] if r["dataset"] == label and r["variant"] == reference]
            for cr in ([sum(ref) / len(ref)] if ref else []) + a.sz3_ratios:
                log(f"{label}: SZ3 at CR {cr:.1f}")
                line = sz3_line(path, cr)
                if ref and cr == sum(ref) / len(ref):
                    res["sz3"][label] = line
                else:
                    res.setdefault("sz3_at", {}).setdefault(label, {})[f"{cr:g}"] = line
                with open(out_json, "w") as f:
                    json.dump(res, f, indent=1)
        report(res, a.out)
        return
    if not a.dataset or not a.variant:
        ap.error("give at least one --dataset and one --variant")
    os.makedirs(a.work, exist_ok=True)
    variants = dict(v.split("=", 1) for v in a.variant)
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    if a.append and os.path.exists(out_json):
        res = json.load(open(out_json))
        res["variants"].update((k, v) for k, v in variants.items() if k not in res["variants"])
        res["date"] = res["date"] + ", " + now
        if a.note:
            res["note"] = (res.get("note") + " " if res.get("note") else "") + a.note
    else:
        res = dict(date=now, cpu=cpu_name(), threads=a.threads, variants=variants, runs=[], sz3={}, note=a.note)
    for spec in a.dataset:
        label, path = spec.split("=", 1)
        path, _, own = path.partition(":")
        budgets = [float(b) for b in own.split(",")] if own else a.budgets
        for budget in budgets:
            budget_text = f"{budget:g}"
            for seed in a.seeds:
                for name, flags in variants.items():
                    log(f"{label} budget {budget_text} s seed {seed}: {name}")
                    r = train(a.binary, path, os.path.join(a.work, f"{label}-{name}-{budget_text}-{seed}.mci"),
                              shlex.split(flags), budget, seed, a.threads)
                    r.update(dataset=label, budget=budget_text, seed=seed, variant=name, batch=now, defaults=a.defaults,
                             date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
                    log(f"  PSNR {r['psnr']:.2f} dB, CR {r['cr']:.1f}, CPU {r['cpu']:.0f} s")
                    res["runs"].append(r)
                    with open(out_json, "w") as f:
                        json.dump(res, f, indent=1)
        if not a.no_sz3 and not (a.append and label in res["sz3"]):  # one line per dataset: the ratio barely moves with the budget
            ref = [r["cr"] for r in res["runs"] if r["dataset"] == label and r["variant"] == next(iter(variants))]
            log(f"{label}: SZ3 at CR {sum(ref) / len(ref):.1f}")
            res["sz3"][label] = sz3_line(path, sum(ref) / len(ref))
            with open(out_json, "w") as f:
                json.dump(res, f, indent=1)
    report(res, a.out)
    log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
