"""Measurement driver of `benchmarks/run` (see benchmarks/README.md).

Runs every measurement of the report in one go on the same data and writes
WORK/results.json; `report.py` turns that file into docs/benchmarks/*.md and the plots.
Nothing here hard-codes the tool's defaults: "MC-INR (default)" is trained with no model
flags, and the baselines' widths are chosen by probing their size against it.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python"))
import mcinr  # noqa: E402  (python/mcinr: the binding of the C decoder)
from mcinr.metrics import evaluate as metrics, global_ranges  # noqa: E402
import machine  # noqa: E402  (benchmarks/machine.py)
import vtu  # noqa: E402

# Per mode: equal wall-clock budgets per method (seconds), the extra budgets of the
# PSNR-vs-time curve, the analytic sizes of the scaling study (nx, ny, nz), its epoch count;
# Table 2 trains every method with each of `seeds` (the spread shows the run-to-run noise).
MODES = {
    "quick": dict(budget=40, seeds=[1, 2], curve_budgets=[10, 20], rd_factors=[0.5, 2.0],
                  rd_datasets=["vessel-small"], analytic=(40, 20, 20, 8), error_bounds=[1e-2, 1e-3],
                  scaling=[(24, 12, 12), (40, 20, 20), (64, 32, 32)], scaling_epochs=100,
                  bisect_iterations=14, sweep=np.logspace(-5, -0.3, 10)),
    # Smoke test of the whole pipeline (development only; numbers meaningless).
    "smoke": dict(budget=4, seeds=[1], curve_budgets=[2], rd_factors=[0.5],
                  rd_datasets=["vessel-small"], analytic=(16, 8, 8, 4), error_bounds=[1e-2],
                  scaling=[(12, 6, 6)], scaling_epochs=1, bisect_iterations=4, sweep=np.logspace(-4, -1, 3)),
    # Sized for about 80 min on 2 cores; vessel-medium gets its own (longer) budget, one seed, one
    # extra width and two error bounds.
    "full": dict(budget=60, seeds=[1, 2], curve_budgets=[15, 30], rd_factors=[0.5, 2.0],
                 rd_datasets=["vessel-small", "analytic", "vessel-medium"], analytic=(40, 20, 20, 8),
                 error_bounds=[1e-2, 1e-3, 1e-4],
                 medium=dict(budget=240, seeds=[1], rd_factors=[0.5], error_bounds=[1e-2, 1e-3]),
                 scaling=[(24, 12, 12), (40, 20, 20), (64, 32, 32), (96, 48, 48)], scaling_epochs=100,
                 bisect_iterations=18, sweep=np.logspace(-5.5, -0.3, 16)),
}


def setting(cfg, dataset, name):
    """A mode's setting for one dataset (vessel-medium may override it)."""
    return cfg.get("medium", {}).get(name, cfg[name]) if dataset == "vessel-medium" else cfg[name]


BASELINES = ["siren", "coordnet", "coordnetb"]
# Point orders and array layouts the classical compressors get (Compressors.evaluate): each is
# measured, and the tables take the best.
ORDERS = ["mesh", "morton", "mesh-2d", "morton-2d"]
METHOD_LABEL = {"siren": "SIREN", "coordnet": "CoordNet", "coordnetb": "CoordNetB", "mcinr": "MC-INR (default)"}


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Runner:
    def __init__(self, binary, work, threads, reuse):
        self.binary, self.work, self.threads, self.reuse = binary, work, threads, reuse
        os.makedirs(work, exist_ok=True)

    def train(self, name, data, flags, budget=None, mesh=False, seed=1):
        """Trains, returns the JSON summary plus wall time, peak RSS and the model path."""
        out = os.path.join(self.work, name + ".mci")
        cache = os.path.join(self.work, name + ".json")
        if self.reuse and os.path.exists(cache) and os.path.exists(out):
            with open(cache) as f:
                return json.load(f)
        cmd = [self.binary, "train", data, "-o", out, "-q", "--json", "--threads", str(self.threads), "--seed", str(seed)]
        cmd += flags + ([] if mesh else ["--no-mesh"])
        if budget:
            cmd += ["--time-budget", str(budget)]
        timing = os.path.join(self.work, name + ".time")
        log("mcinr-vtk " + " ".join(os.path.basename(c) if c.startswith("/") else c for c in cmd[1:]))
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", timing] + cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{name}: mcinr-vtk train failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        # stdout holds the summary (the last JSON object) and, with --compare-weight-encodings,
        # a table and the encodings' JSON before it.
        objects = json_objects(proc.stdout)
        summary = objects[-1]
        for o in objects[:-1]:
            if "weight_encodings" in o:
                summary["weight_encodings"] = o["weight_encodings"]
            if "bound_comparison" in o:
                summary["bound_comparison"] = o["bound_comparison"]
        with open(timing) as f:
            wall, peak_kb = f.read().split()[-2:]
        summary.update(name=name, flags=flags, budget=budget, seed=seed, wall_seconds=float(wall),
                       peak_rss_mib=int(peak_kb) / 1024, model=out)
        info = subprocess.run([self.binary, "info", out, "--json"], capture_output=True, text=True, check=True)
        meta = json.loads(info.stdout).get("metadata", {})
        arch = meta.get("architecture", {})
        summary["architecture"] = arch.get("config", {})
        summary["parameters_per_network"] = arch.get("parametersPerNetwork")
        # Epochs each cluster trained and why it stopped (epochCap, patience, time budget, …).
        clusters = meta.get("training", {}).get("clusters", [])
        summary["cluster_epochs"] = [c.get("epochs") for c in clusters]
        summary["cluster_stops"] = sorted({str(c.get("stop")) for c in clusters})
        with open(cache, "w") as f:
            json.dump(summary, f, indent=1)
        return summary


def json_objects(text):
    """Every top-level JSON object that starts a line of text, in order."""
    decoder, found, pos = json.JSONDecoder(), [], 0
    while True:
        start = text.find("{", pos)
        if start < 0:
            return found
        if start == 0 or text[start - 1] == "\n":
            obj, end = decoder.raw_decode(text, start)
            found.append(obj)
            pos = end
        else:
            pos = start + 1


def morton_order(points):
    """Permutation sorting the points along a 3-D Morton (Z-order) curve, 21 bits per axis."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    q = ((points - lo) / np.where(hi > lo, hi - lo, 1) * (2 ** 21 - 1)).astype(np.uint64)

    def spread(v):
        v = v & np.uint64(0x1FFFFF)
        for shift, mask in ((32, 0x1F00000000FFFF), (16, 0x1F0000FF0000FF), (8, 0x100F00F00F00F00F),
                            (4, 0x10C30C30C30C30C3), (2, 0x1249249249249249)):
            v = (v | (v << np.uint64(shift))) & np.uint64(mask)
        return v

    key = spread(q[:, 0]) | (spread(q[:, 1]) << np.uint64(1)) | (spread(q[:, 2]) << np.uint64(2))
    return np.argsort(key, kind="stable")


class Compressors:
    """SZ3 (pysz) and ZFP (zfpy) per component on float32 arrays of all steps, points in mesh
    or Morton order: one flat step-major array ("mesh", "morton"), or a steps × points 2-D
    array ("mesh-2d", "morton-2d") that lets the codec predict along time as well."""

    def __init__(self, points, values):
        from pysz import sz, szConfig, szErrorBoundMode
        import zfpy
        self.sz, self.szConfig, self.mode, self.zfpy = sz, szConfig, szErrorBoundMode, zfpy
        self.values = values
        self.ranges = global_ranges(values)
        n = values.shape[1]
        self.orders = {"mesh": np.arange(n), "morton": morton_order(points)}
        self.cache = {}

    def _codec(self, name, x, eb):
        if name == "SZ3":
            cfg = self.szConfig()
            cfg.errorBoundMode = self.mode.ABS
            cfg.absErrorBound = float(eb)
            t0 = time.perf_counter()
            blob, _ = self.sz.compress(x, cfg)
            t1 = time.perf_counter()
            y = self.sz.decompress(blob, np.float32, x.shape)[0]
            t2 = time.perf_counter()
            return len(blob), y, t1 - t0, t2 - t1
        t0 = time.perf_counter()
        blob = self.zfpy.compress_numpy(x, tolerance=float(eb))
        t1 = time.perf_counter()
        y = self.zfpy.decompress_numpy(blob)
        t2 = time.perf_counter()
        return len(blob), y, t1 - t0, t2 - t1

    def evaluate(self, codec, order, rel_eb):
        key = (codec, order, float(rel_eb))
        if key in self.cache:
            return self.cache[key]
        points, _, layout = order.partition("-")
        perm = self.orders[points]
        T, n, C = self.values.shape
        pred = np.empty_like(self.values)
        nbytes, tc, td = 0, 0.0, 0.0
        for c in range(C):
            x = np.ascontiguousarray(self.values[:, perm, c])
            x = x if layout == "2d" else x.ravel()
            size, y, a, b = self._codec(codec, x, rel_eb * self.ranges[c] if self.ranges[c] > 0 else rel_eb)
            pred[:, perm, c] = np.asarray(y, dtype=np.float32).reshape(T, n)
            nbytes += size; tc += a; td += b
        m = metrics(self.values, pred, self.ranges)
        raw = self.values.size * 4
        m.update(codec=codec, order=order, rel_eb=float(rel_eb), bytes=nbytes, cr=raw / nbytes,
                 compress_seconds=tc, decompress_seconds=td, raw_bytes=raw)
        self.cache[key] = m
        return m

    BOUNDS = (math.log(1e-8), math.log(1.0))  # the range of log(error bound) the bisections search

    def _bisect(self, codec, order, iterations, reached, tighter_when_reached):
        """Bisects log(error bound) in BOUNDS; `reached(metrics)` says whether a bound meets the
        target, and the search then moves to tighter (smaller) bounds or to looser ones.
        Returns the last bound's metrics that met the target, or None."""
        lo, hi = self.BOUNDS
        best = None
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            m = self.evaluate(codec, order, math.exp(mid))
            ok = reached(m)
            if ok:
                best = m
            if ok == tighter_when_reached:
                hi = mid
            else:
                lo = mid
        return best

    def at_ratio(self, codec, order, target_cr, iterations):
        """The tightest error bound (range-relative) whose ratio still reaches target_cr."""
        best = self._bisect(codec, order, iterations, lambda m: m["cr"] >= target_cr, True)
        if best is None:   # even the loosest bound does not reach the ratio
            best = dict(max(self.cache_for(codec, order), key=lambda m: m["cr"]), reached=False)
        return best

    def cache_for(self, codec, order):
        return [m for key, m in self.cache.items() if key[:2] == (codec, order)]

    def at_psnr(self, codec, order, target_psnr, iterations):
        """The loosest error bound (largest ratio) whose PSNR still reaches target_psnr."""
        best = self._bisect(codec, order, iterations, lambda m: m["psnr"] >= target_psnr, False)
        return best or self.evaluate(codec, order, math.exp(self.BOUNDS[0]))


# ---- our decoder through the C API (python/mcinr) ----

def time_decode(lib_path, model_path, points, repeats=1):
    """Wall seconds (best of `repeats`) to decode every component at every stored step at `points`,
    with 1 thread and with all cores."""
    with mcinr.Model(model_path, library=lib_path) as model:
        times = model.times
        xyz = np.ascontiguousarray(points, dtype=np.float64)
        n, T, C = xyz.shape[0], len(times), model.num_components
        decoded = np.empty((T, n, C), dtype=np.float32)   # every step written in place
        result = {}
        for threads in sorted({1, os.cpu_count() or 1}):
            best = float("inf")
            for _ in range(repeats):
                t0 = time.perf_counter()
                for i, t in enumerate(times):
                    model.decode(xyz, t, num_threads=threads, out=decoded[i])
                best = min(best, time.perf_counter() - t0)
            result[threads] = best
        return dict(seconds=result, values=n * T * C, raw_bytes=n * T * C * 4, points=n, steps=T), decoded


# ---- the study ----

def fit_width(runner, data, method, target_bytes, tag):
    """Width whose weight size is closest to target_bytes (sizes are quadratic in the width at
    fixed depth: three untrained probes fit the curve exactly)."""
    widths = [8, 16, 32]
    sizes = [runner.train(f"probe-{tag}-{method}-w{w}", data, ["--method", method, "--width", str(w), "--max-epochs", "0"])["weight_bytes"]
             for w in widths]
    a, b, c = np.polyfit(widths, sizes, 2)
    roots = [r.real for r in np.roots([a, b, c - target_bytes]) if abs(r.imag) < 1e-9 and r.real > 0]
    w = max(2, int(round(max(roots)))) if roots else 8
    return w, dict(zip(widths, sizes))


def dataset_arrays(path):
    points, names, values = vtu.read_components(path)
    return points, names, values, global_ranges(values)


def summarize(run, ranges):
    comps = run.get("components", [])
    max_rel = max((c["max_abs_error"] / r if r > 0 else c["max_abs_error"]) for c, r in zip(comps, ranges)) if comps else None
    return dict(name=run["name"], method=run["method"], psnr=run["mean"]["psnr"], nrmse=run["mean"]["nrmse"],
                r2=run["mean"]["r2"], max_rel_error=max_rel, weight_bytes=run["weight_bytes"],
                raw_field_bytes=run["raw_field_bytes"], cr=run["compression_ratio_weights"],
                seconds=run["seconds"], wall_seconds=run["wall_seconds"], peak_rss_mib=run["peak_rss_mib"],
                networks=run["networks"], splits=run["splits"], budget=run["budget"], flags=run["flags"],
                width=run["architecture"].get("width"), parameters_per_network=run["parameters_per_network"],
                architecture=run["architecture"], components=comps, ranges=[float(r) for r in ranges],
                cluster_epochs=run.get("cluster_epochs"), cluster_stops=run.get("cluster_stops"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=MODES, default="quick")
    ap.add_argument("--binary", required=True)
    ap.add_argument("--bench-binary", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--medium", help="vessel-medium .pvd (full mode)")
    ap.add_argument("--reuse", action="store_true", help="reuse finished trainings in WORK (development only)")
    args = ap.parse_args()
    cfg = MODES[args.mode]
    threads = os.cpu_count() or 1
    runner = Runner(args.binary, args.work, threads, args.reuse)
    started = time.time()
    res = dict(mode=args.mode, started_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), threads=threads,
               budget=cfg["budget"], medium_budget=cfg.get("medium", {}).get("budget"), curve_budgets=cfg["curve_budgets"],
               machine=machine.description(), load_before=os.getloadavg(), datasets={}, table2={}, table3={},
               rd={}, ablation=[], curve=[], decode={}, scaling=[], phases={})

    def phase(name, t0):
        res["phases"][name] = time.time() - t0
        save(res, args.work)

    # Datasets.
    t0 = time.time()
    data = {"vessel-small": "/work/shared/datasets/vessel-small/vessel.pvd"}
    nx, ny, nz, steps = cfg["analytic"]
    data["analytic"] = make_analytic(args.work, nx, ny, nz, steps)
    if args.mode == "full":
        if not args.medium:
            raise SystemExit("--full needs vessel-medium (--medium)")
        data["vessel-medium"] = args.medium
    arrays = {k: dataset_arrays(v) for k, v in data.items()}
    for k, (points, names, values, ranges) in arrays.items():
        res["datasets"][k] = dict(path=data[k], points=int(values.shape[1]), steps=int(values.shape[0]),
                                  components=names, raw_bytes=int(values.size * 4))
    phase("datasets", t0)

    # Table 2: the four methods at equal budgets and (for the baselines) matched sizes.
    t0 = time.time()
    for k in data:
        budget = setting(cfg, k, "budget")
        ranges = arrays[k][3]

        def seeded_row(name, flags):
            # The first seed's run is the row; the others add their PSNR (run-to-run noise).
            runs = [runner.train(name if seed == 1 else f"{name}-s{seed}", data[k], flags, budget, seed=seed)
                    for seed in setting(cfg, k, "seeds")]
            row = summarize(runs[0], ranges)
            row["psnr_seeds"] = [r["mean"]["psnr"] for r in runs]
            row["psnr_mean"] = float(np.mean(row["psnr_seeds"]))
            return row

        rows = [seeded_row(f"t2-{k}-mcinr", [])]
        for m in BASELINES:
            w, probes = fit_width(runner, data[k], m, rows[0]["weight_bytes"], k)
            row = seeded_row(f"t2-{k}-{m}", ["--method", m, "--width", str(w)])
            row["size_probes"] = probes
            rows.append(row)
        res["table2"][k] = dict(budget=budget, rows=rows)
        save(res, args.work)
    phase("table2", t0)

    # Fig. 2: PSNR vs training time on vessel-small (the Table 2 runs are the last point).
    t0 = time.time()
    widths = {r["method"]: r["width"] for r in res["table2"]["vessel-small"]["rows"]}
    for b in cfg["curve_budgets"]:
        for m in ["mcinr"] + BASELINES:
            flags = [] if m == "mcinr" else ["--method", m, "--width", str(widths[m])]
            res["curve"].append(summarize(runner.train(f"curve-{m}-{b}", data["vessel-small"], flags, b), arrays["vessel-small"][3]))
    for r in res["table2"]["vessel-small"]["rows"]:
        res["curve"].append(r)
    phase("curve", t0)

    # Table 4: ablations on vessel-small at the same budget.
    t0 = time.time()
    res["ablation"].append(res["table2"]["vessel-small"]["rows"][0])
    # Under the default --ratio, K = 2 leaves no split reserve (MCINRConfig.effectiveMaxSplits),
    # so re-clustering is shown with one split reserved and forced (threshold 0, always kept), and
    # --no-recluster repeats the default: its difference is the run-to-run noise.
    for tag, flags in [("split", ["--max-splits", "1", "--threshold", "0", "--split-gain", "0"]), ("no-meta", ["--no-meta"]),
                       ("no-recluster", ["--no-recluster"])]:
        res["ablation"].append(summarize(runner.train(f"abl-{tag}", data["vessel-small"], flags, cfg["budget"]), arrays["vessel-small"][3]))
    phase("ablation", t0)

    # MC-INR at other widths (rate-distortion curve), each model also stored in every weight
    # encoding (f32, f16, int8: the same trained weights), and the error-bounded mode.
    t0 = time.time()
    for k in cfg["rd_datasets"]:
        base = res["table2"][k]["rows"][0]
        budget = res["table2"][k]["budget"]
        pts, encodings = [base], {}
        for w in [base["width"]] + [max(2, int(round(base["width"] * f))) for f in setting(cfg, k, "rd_factors")]:
            run = runner.train(f"rd-{k}-w{w}", data[k], ["--width", str(w), "--compare-weight-encodings"], budget)
            if w != base["width"]:
                pts.append(summarize(run, arrays[k][3]))
            for e in run.get("weight_encodings", []):
                name = e["weights"].split("+")[0]
                point = dict(width=w, cr=e["compression_ratio_weights"], psnr=e["mean_psnr"], weights=e["weights"])
                # Each encoding as the writer stores it: zlib only where smaller.
                old = encodings.setdefault(name, {}).get(w)
                if old is None or point["cr"] > old["cr"]:
                    encodings[name][w] = point
        bounded = []
        for r in setting(cfg, k, "error_bounds"):
            run = runner.train(f"eb-{k}-{r:g}", data[k], ["--max-rel-error", f"{r:g}"], budget, mesh=True)
            eb = run["error_bound"]
            bounded.append(dict(rel_bound=r, cr=eb["compression_ratio_fields"], psnr=run["mean"]["psnr"],
                                max_rel_error=max(c["max_abs_error"] / (c["bound"] / r) for c in eb["components"]),
                                residual_bytes=eb["residual_bytes"], weight_bytes=run["weight_bytes"],
                                network_psnr=eb["network_mean_psnr"], seconds=run["seconds"]))
        res["rd"][k] = dict(mcinr=sorted(pts, key=lambda r: r["cr"]),
                            encodings={n: sorted(v.values(), key=lambda p: p["cr"]) for n, v in encodings.items()},
                            error_bounded=bounded)
    phase("mcinr-widths", t0)

    # Table 3: SZ3 / ZFP at MC-INR's ratio and at its PSNR; rate-distortion sweeps.
    t0 = time.time()
    for k in data:
        points, names, values, ranges = arrays[k]
        comp = Compressors(points, values)
        target = res["table2"][k]["rows"][0]
        it = cfg["bisect_iterations"] if k != "vessel-medium" else max(10, cfg["bisect_iterations"] - 6)
        rows = []
        for codec in ["SZ3", "ZFP"]:
            for order in ORDERS:
                log(f"{k}: {codec} {order} order")
                rows.append(dict(codec=codec, order=order, at_cr=comp.at_ratio(codec, order, target["cr"], it),
                                 at_psnr=comp.at_psnr(codec, order, target["psnr"], it)))
        sweeps = {}
        if k in cfg["rd_datasets"] or k == "analytic":
            for codec in ["SZ3", "ZFP"]:
                for order in ORDERS:
                    for e in cfg["sweep"]:
                        comp.evaluate(codec, order, e)
                    # The curve: the sweep plus every point the bisections measured.
                    sweeps[f"{codec} {order}"] = sorted((m for key, m in comp.cache.items() if key[:2] == (codec, order)),
                                                        key=lambda m: m["cr"])
        # The same max-error bound as each error-bounded MC-INR point: the peers' ratio there.
        for p in res["rd"].get(k, {}).get("error_bounded", []):
            p["peers"] = {f"{codec} {order}": comp.evaluate(codec, order, p["rel_bound"])
                          for codec in ["SZ3", "ZFP"] for order in ORDERS}
        res["table3"][k] = dict(target=dict(cr=target["cr"], psnr=target["psnr"]), rows=rows)
        res["rd"].setdefault(k, {})["codecs"] = sweeps
        res["rd"][k]["baselines"] = res["table2"][k]["rows"][1:]
        if "mcinr" not in res["rd"][k]:
            res["rd"][k]["mcinr"] = [target]
        save(res, args.work)
    phase("table3", t0)

    # Speed: our decoder vs SZ3/ZFP decompression; INRCore's own benchmark.
    t0 = time.time()
    lib = mcinr.build_library(args.work)
    points = arrays["vessel-small"][0]
    for r in res["table2"]["vessel-small"]["rows"]:
        d, decoded = time_decode(lib, os.path.join(args.work, r["name"] + ".mci"), points)
        # Cross-check: this script's metrics on the C decoder's output against the CLI's.
        d["python_metrics"] = metrics(arrays["vessel-small"][2], decoded, arrays["vessel-small"][3])
        d["cli_psnr"] = r["psnr"]
        res["decode"][r["method"]] = d
    core_md = os.path.join(args.work, "core-quick.md")
    log("mcinr-bench --quick")
    # Both reports into the work folder: docs/benchmarks/core.md and training.md come from full
    # mcinr-bench runs, not from this quick one.
    subprocess.run([args.bench_binary, "--quick", "--output", core_md,
                    "--training-output", os.path.join(args.work, "training-quick.md")], check=True, capture_output=True)
    with open(core_md) as f:
        res["core_bench"] = f.read()
    # The same CoordNetB step in PyTorch on the CPU, when benchmarks/torch/run has installed it.
    torch_python = os.path.join(os.path.dirname(args.work), "torch-venv", "bin", "python")
    if os.path.exists(torch_python):
        log("PyTorch training step (benchmarks/torch/step.py, 1 thread)")
        proc = subprocess.run([torch_python, os.path.join(HERE, "torch", "step.py"), "--threads", "1",
                               "--repeats", "3", "--shapes", "4096x32,4096x64,4096x128,4096x256"],
                              capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
        if proc.returncode == 0:
            res["torch_step"] = json.loads(proc.stdout)
        else:
            log(f"PyTorch step failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    phase("speed", t0)

    # Scaling: fixed epochs, no meta-learning and no re-clustering, so the work is proportional
    # to the samples seen; the point count grows.
    t0 = time.time()
    sizes = [("vessel-small", data["vessel-small"])]
    for (sx, sy, sz) in cfg["scaling"]:
        sizes.append((f"analytic {sx}x{sy}x{sz}", make_analytic(args.work, sx, sy, sz, steps)))
    if args.mode == "full":
        sizes.append(("vessel-medium", data["vessel-medium"]))
    for label, path in sizes:
        # A fixed model (the default width would follow the data size through --ratio).
        flags = ["--clusters", "4", "--width", "16", "--no-meta", "--no-recluster", "--max-epochs", str(cfg["scaling_epochs"])]
        run = runner.train("scale-" + re.sub(r"[^a-z0-9]+", "-", label), path, flags)
        ds = res["datasets"].get(label) or dataset_shape(path)
        res["scaling"].append(dict(label=label, points=ds["points"], steps=ds["steps"], epochs=cfg["scaling_epochs"], flags=flags,
                                   seconds=run["seconds"], wall_seconds=run["wall_seconds"], peak_rss_mib=run["peak_rss_mib"],
                                   psnr=run["mean"]["psnr"], networks=run["networks"],
                                   cluster_epochs=run.get("cluster_epochs"), cluster_stops=run.get("cluster_stops")))
    phase("scaling", t0)

    res["load_after"] = os.getloadavg()
    res["total_seconds"] = time.time() - started
    save(res, args.work)
    log(f"measurements done in {res['total_seconds']:.0f} s")


def dataset_shape(path):
    times, files = vtu.read_series(path)
    points, _ = vtu.read_vtu(files[0])
    return dict(points=int(points.shape[0]), steps=len(files))


def make_analytic(work, nx, ny, nz, steps):
    out = os.path.join(work, f"analytic-{nx}x{ny}x{nz}x{steps}")
    pvd = os.path.join(out, "analytic.pvd")
    if not os.path.exists(pvd):
        log(f"make_analytic.py {nx}x{ny}x{nz}, {steps} steps")
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "examples", "make_analytic.py"), out, "--nx", str(nx),
                        "--ny", str(ny), "--nz", str(nz), "--steps", str(steps)], check=True, capture_output=True)
    return pvd


def save(res, work):
    tmp = os.path.join(work, "results.json.tmp")
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1, default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))
    os.replace(tmp, os.path.join(work, "results.json"))


if __name__ == "__main__":
    main()
