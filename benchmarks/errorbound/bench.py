"""Error-bounded MC-INR against SZ3 and ZFP at the same bounds (benchmarks/errorbound/run)."""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import bench  # noqa: E402  (benchmarks/bench.py: Runner, Compressors, datasets, ORDERS; puts python/ on the path)
import coding  # noqa: E402  (the same indices coded as format 1.1 did)
import mcinr  # noqa: E402  (python/mcinr: the binding of the C decoder)
import numpy as np  # noqa: E402
import vtu  # noqa: E402  (benchmarks/vtu.py: the cells of a .vtu, for the mesh's point graph)
from report import f, kib, table  # noqa: E402  (benchmarks/report.py: number and table formatting)

MEDIUM_BUDGET = 240
# The peers' point orders and layouts: bench.ORDERS (mesh, Morton; 1-D and steps × points) and the
# reverse Cuthill–McKee order of the mesh's point graph in both layouts (mesh_orders).
ORDERS = bench.ORDERS + ["rcm", "rcm-2d"]
CODECS = ["SZ3", "ZFP"]
# Issue #23's targets: ours / best SZ3 (any layout) at least 3× at R ≥ 1e-3 (1e-2, 1e-3), at least 2×
# at tighter bounds (1e-4, 1e-5); and ours smaller than SZ3 after RCM at every bound.
TARGET_LOOSE, TARGET_TIGHT, TARGET_LOOSE_FROM = 3.0, 2.0, 1e-3
# The peers' throughput: the fastest of this many timings of their best layout.
TIMING_REPEATS = 3
# A peer's max |error| / range may exceed R by float rounding of the division only.
BOUND_SLACK = 1e-6


def target(r):
    return TARGET_LOOSE if r >= TARGET_LOOSE_FROM * (1 - 1e-9) else TARGET_TIGHT


def point_graph(n, conn, offsets):
    """The mesh's point graph as a symmetric n × n scipy CSR matrix: i and j adjacent when some
    cell holds both (every pair of a cell's points; a tetrahedron gives its six edges)."""
    from scipy.sparse import coo_matrix
    starts = np.concatenate([[0], offsets[:-1]])
    sizes = offsets - starts
    rows, cols = [], []
    for k in np.unique(sizes):
        if k < 2:
            continue
        first = starts[sizes == k]
        cells = conn[first[:, None] + np.arange(k)]
        a, b = np.triu_indices(int(k), 1)
        rows.append(cells[:, a].ravel())
        cols.append(cells[:, b].ravel())
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    keep = r != c
    r, c = r[keep], c[keep]
    g = coo_matrix((np.ones(2 * r.size, np.int8), (np.concatenate([r, c]), np.concatenate([c, r]))), shape=(n, n)).tocsr()
    g.sum_duplicates()
    g.data[:] = 1
    return g


def order_stats(graph, perm):
    """How far apart an order puts the two points of a graph edge: the bandwidth (largest gap
    in positions) and the mean gap."""
    pos = np.empty_like(perm)
    pos[perm] = np.arange(perm.size)
    upper = graph.tocoo()
    keep = upper.row < upper.col
    gap = np.abs(pos[upper.row[keep]] - pos[upper.col[keep]])
    return dict(bandwidth=int(gap.max()) if gap.size else 0, mean_gap=float(gap.mean()) if gap.size else 0.0)


def time_layout(comp, codec, order, rel_eb, repeats):
    """The fastest of `repeats` timings of one layout's compress and decompress calls (seconds,
    summed over the components), as Compressors.evaluate times them: the layout copies and the
    reordering are not counted."""
    points, _, layout = order.partition("-")
    perm = comp.orders[points]
    best = [float("inf"), float("inf")]
    for c in range(comp.values.shape[2]):
        x = np.ascontiguousarray(comp.values[:, perm, c])
        x = x if layout == "2d" else x.ravel()
        eb = rel_eb * comp.ranges[c] if comp.ranges[c] > 0 else rel_eb
        tc = td = float("inf")
        for _ in range(repeats):
            _, _, a, b = comp._codec(codec, x, eb)
            tc, td = min(tc, a), min(td, b)
        best[0] = tc if c == 0 else best[0] + tc
        best[1] = td if c == 0 else best[1] + td
    return best


def mesh_orders(path, points, comp):
    """Adds the reverse Cuthill–McKee order of the mesh's point graph (the first step's cells) to
    the compressors' point orders ("rcm"), and returns each order's bandwidth and mean gap over
    the graph's edges plus the seconds the graph and RCM took."""
    from scipy.sparse.csgraph import reverse_cuthill_mckee
    _, files = vtu.read_series(path)
    conn, offsets, _ = vtu.read_cells(files[0])
    t0 = time.perf_counter()
    graph = point_graph(len(points), conn, offsets)
    comp.orders["rcm"] = np.asarray(reverse_cuthill_mckee(graph, symmetric_mode=True), dtype=np.int64)
    seconds = time.perf_counter() - t0
    stats = {k: order_stats(graph, np.asarray(p, dtype=np.int64)) for k, p in comp.orders.items()}
    return dict(stats, rcm_seconds=seconds, edges=int(graph.nnz // 2), points=int(len(points)))


def measure(args):
    runner = bench.Runner(args.binary, args.work, os.cpu_count() or 1, args.reuse)
    lib = args.lib or mcinr.build_library(args.work)
    data = {"vessel-small": "/work/shared/datasets/vessel-small/vessel.pvd",
            "analytic": bench.make_analytic(args.work, 40, 20, 20, 8)}
    if args.medium:
        data["vessel-medium"] = args.medium
    if args.paper:
        data["paper-scale"] = args.paper
    if args.only:
        data = {k: v for k, v in data.items() if k in args.only}
    rows, orders = [], {}
    for k, path in data.items():
        points, names, values, ranges = bench.dataset_arrays(path)
        comp = bench.Compressors(points, values)
        orders[k] = mesh_orders(path, points, comp)
        bench.log(f"{k}: RCM of {orders[k]['points']} points, {orders[k]['edges']} edges in "
                  f"{orders[k]['rcm_seconds']:.2f} s; bandwidth mesh {orders[k]['mesh']['bandwidth']}, "
                  f"morton {orders[k]['morton']['bandwidth']}, rcm {orders[k]['rcm']['bandwidth']}")
        budget = MEDIUM_BUDGET if k == "vessel-medium" else args.budget
        for r in args.bounds:
            run = runner.train(f"eb-{k}-{r:g}", path, ["--max-rel-error", f"{r:g}"], budget, mesh=True)
            eb = run["error_bound"]
            max_rel = max(c["max_abs_error"] / (c["bound"] / r) for c in eb["components"])
            peers = {}
            for codec in CODECS:
                for order in ORDERS:
                    bench.log(f"{k} R={r:g}: {codec} {order}")
                    m = comp.evaluate(codec, order, r)
                    # Every value of every step and point within the bound (max |error| / range ≤ R).
                    ok = m["max_rel_error"] <= r * (1 + BOUND_SLACK)
                    if not ok:
                        bench.log(f"{k} R={r:g}: {codec} {order} exceeds the bound: max |error| / range "
                                  f"{m['max_rel_error']:.4e} > {r:g}; left out of the comparisons")
                    peers[f"{codec} {order}"] = dict(cr=m["cr"], psnr=m["psnr"], max_rel_error=m["max_rel_error"],
                                                     bytes=m["bytes"], within_bound=bool(ok),
                                                     compress_seconds=m["compress_seconds"],
                                                     decompress_seconds=m["decompress_seconds"])
            # Throughput: each codec's best layout timed again, the fastest of TIMING_REPEATS runs.
            for codec in CODECS:
                b = best(dict(rel_bound=r, peers=peers), codec)
                if b:
                    p = peers[f"{codec} {b[0]}"]
                    tc, td = time_layout(comp, codec, b[0], r, TIMING_REPEATS - 1)
                    p.update(compress_seconds=min(p["compress_seconds"], tc),
                             decompress_seconds=min(p["decompress_seconds"], td), timing_repeats=TIMING_REPEATS)
            # The residual as format 1.1 would have coded these indices.
            alt = coding.sizes(run["model"], lib)
            timing = decode_timings(run["model"], lib)
            study = coding.data_domain_study(run["model"], lib)
            rows.append(dict(dataset=k, rel_bound=r, residual_bytes_format_1_1=alt.get("format_1_1"),
                             residual_bytes_zstd_unpredicted=alt.get("zstd_unpredicted"), decode_seconds=timing, data_domain=study, budget=budget, raw_bytes=int(values.size * 4),
                             cr=eb["compression_ratio_fields"], psnr=run["mean"]["psnr"], max_rel_error=max_rel,
                             residual_bytes=eb["residual_bytes"], weight_bytes=run["weight_bytes"],
                             weights=run.get("weights"), weight_encodings_tried=run.get("weight_encodings_tried"),
                             networks_tried=run.get("networks_tried"),
                             nonzero=eb["nonzero_indices"], escapes=eb["escapes"],
                             predictors=eb.get("predictors", {}), range_coded=eb.get("range_coded_streams"),
                             data_streams=eb.get("data_streams"),
                             network_psnr=eb["network_mean_psnr"],
                             networks=run["networks"], width=run["width"], seconds=run["seconds"],
                             wall_seconds=run["wall_seconds"], peers=peers))
    return rows, orders


def within(r, p):
    """Whether a peer's measurement met the bound (rows from before the check: from its max error)."""
    return p.get("within_bound", p["max_rel_error"] <= r["rel_bound"] * (1 + BOUND_SLACK))


def best(r, codec, rcm=False):
    """(layout, measurement) of a codec's largest CR within the bound at this row, over every
    layout or (rcm) over the RCM-ordered ones only; None when there is none."""
    found = [(n.split(" ", 1)[1], p) for n, p in r["peers"].items()
             if n.startswith(codec + " ") and within(r, p) and (not rcm or n.split(" ", 1)[1].startswith("rcm"))]
    return max(found, key=lambda x: x[1]["cr"]) if found else None


def peer_names(rows):
    """Every peer measured in any row: codec by codec, in ORDERS' order, then any others."""
    seen = {n for r in rows for n in r["peers"]}
    names = [f"{c} {o}" for c in CODECS for o in ORDERS if f"{c} {o}" in seen]
    return names + sorted(seen - set(names))


def mbs(raw, seconds):
    """Throughput in MB/s (10^6 bytes per second), '—' when not measured."""
    if not seconds or seconds <= 0:
        return "—"
    v = raw / seconds / 1e6
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 0.1 else f"{v:.3f}"


def ratio(r, b):
    return None if b is None else r["cr"] / b[1]["cr"]


def against_previous(rows, previous):
    """Rows of this run next to the same dataset and bound in an earlier report's JSON."""
    if not previous:
        return ""
    old = {(r["dataset"], r["rel_bound"]): r for r in previous["rows"]}
    body = []
    for r in rows:
        o = old.get((r["dataset"], r["rel_bound"]))
        if not o:
            continue
        dec = lambda x: (x.get("decode_seconds") or {}).get("residual")
        body.append([r["dataset"], f"{r['rel_bound']:g}", f(o["cr"]), f(r["cr"]), f"{r['cr'] / o['cr']:.2f}×",
                     kib(o["residual_bytes"]), kib(r["residual_bytes"]), f(o["network_psnr"]), f(r["network_psnr"]),
                     f"{1000 * dec(o):.0f} ms" if dec(o) else "—", f"{1000 * dec(r):.0f} ms" if dec(r) else "—",
                     f"{dec(r) / dec(o):.2f}×" if dec(o) and dec(r) else "—"])
    if not body:
        return ""
    return ("\nAgainst the previous report (" + previous["started"] + ", " + previous.get("label", "the earlier coder")
            + "): another training run on the same data, so the network differs too (its PSNR is listed); the decode "
            "time per step with the residual, one thread, is measured on the same shared machine in another run.\n\n"
            + table(["dataset", "R", "CR before", "CR now", "now / before", "residual KiB before", "residual KiB now",
                     "network PSNR before", "network PSNR now", "decode / step before", "decode / step now",
                     "decode now / before"], body))


def report(rows, machine, started, seconds, orders=None, previous=None):
    orders = orders or {}
    L = ["# Error-bounded mode against SZ3 and ZFP\n",
         f"Generated by `benchmarks/errorbound/run` ({started}, {seconds / 60:.0f} min) on {machine['cpu']} "
         f"({machine['cores']} cores, shared). Each row is one `mcinr-vtk train --max-rel-error R` run (seed 1, "
         "default model, time budget as listed): every value it decodes at a mesh point and stored step is within "
         "E_c = R × range(c) of the data, verified by the C decoder on the written bytes. CR counts the fields "
         "against weights + residual (the mesh is not counted, as SZ3 stores none). SZ3 (`pysz`) and ZFP (`zfpy`, "
         "fixed accuracy) compress every component with the same absolute bound E_c, their points in one of three "
         "orders — the mesh's own (\"mesh\"), a 3-D Morton curve (\"morton\"), or reverse Cuthill–McKee (\"rcm\") — "
         "as one flat array (\"mesh\", \"morton\", \"rcm\") or as steps × points (\"-2d\", predicting along time "
         "too); the best of the six is compared. The RCM order is the mesh-aware one: the point graph joins two "
         "points when a cell holds both (a tetrahedron's six edges), and `scipy.sparse.csgraph.reverse_cuthill_mckee` "
         "numbers it breadth-first from a pseudo-peripheral point, each point's unnumbered neighbours by increasing "
         "degree, then reverses the numbering, so that the points of a cell, which a 1-D predictor uses as "
         "neighbours, lie close together in the array (the bandwidth table below). Every peer's decompressed values "
         "are checked against E_c at every point and step; a layout over the bound would be left out of the "
         "comparisons and marked †. PSNR: mean over components and steps, each component's global range.\n"]
    head = ["dataset", "R", "MC-INR CR", "PSNR dB", "max err / range", "residual KiB", "weights KiB", "network PSNR",
            "best SZ3: CR (PSNR, layout; RCM?)", "best SZ3-RCM: CR (layout)", "best ZFP: CR",
            "ours / best SZ3 (any layout)", "ours / SZ3-RCM best"]
    body = []
    for r in rows:
        sz, szr, zfp = best(r, "SZ3"), best(r, "SZ3", rcm=True), best(r, "ZFP")
        has_rcm = any(n.startswith("SZ3 rcm") for n in r["peers"])
        tag = "RCM" if sz and sz[0].startswith("rcm") else "not RCM" if has_rcm else "RCM not measured"
        body.append([r["dataset"], f"{r['rel_bound']:g}", f(r["cr"]), f(r["psnr"]), f"{r['max_rel_error']:.2e}",
                     kib(r["residual_bytes"]), kib(r["weight_bytes"]) + (f" ({r['weights']})" if r.get("weights") else ""),
                     f(r["network_psnr"]),
                     f"{f(sz[1]['cr'])} ({f(sz[1]['psnr'])}, {sz[0]}; {tag})" if sz else "—",
                     f"{f(szr[1]['cr'])} ({szr[0]})" if szr else "—",
                     f"{f(zfp[1]['cr'])} ({zfp[0]})" if zfp else "—",
                     f"**{ratio(r, sz):.2f}×**" if sz else "—", f"**{ratio(r, szr):.2f}×**" if szr else "—"])
    L.append(table(head, body))
    L.append("")
    L.append(verdict(rows))
    tried = [r for r in rows if r.get("weight_encodings_tried")]
    if tried:
        names = [t["weights"] for t in tried[0]["weight_encodings_tried"]]
        L.append("\nWeight encoding (`train --weights auto`, the default): with a bound the encoder codes the residual "
                 "for each encoding and keeps the one whose weights (NETS section) and residual take fewer bytes; the "
                 "same trained network, so the residual differs only by what the coarser weights cost the network.\n")
        body = []
        for r in tried:
            cost = {t["weights"]: t for t in r["weight_encodings_tried"]}
            total = {n: cost[n]["nets_bytes"] + cost[n]["residual_bytes"] for n in names}
            body.append([r["dataset"], f"{r['rel_bound']:g}"]
                        + [f"{kib(cost[n]['nets_bytes'])} + {kib(cost[n]['residual_bytes'])} = {kib(total[n])}" for n in names]
                        + [r["weights"], f"{100 * (total[r['weights']] / total[names[0]] - 1):+.1f} %",
                           " / ".join(f(cost[n]["seconds"], 1) for n in names) if "seconds" in cost[names[0]] else "—"])
        L.append(table(["dataset", "R"] + [f"{n}: weights + residual KiB" for n in names]
                       + ["kept", f"kept against {names[0]}", "seconds each (evaluation + residual)"], body))
    L.append("\nEvery SZ3 and ZFP layout at each bound (CR; † over the bound):\n")
    names = peer_names(rows)

    def cell(r, n):
        p = r["peers"].get(n)
        return "—" if p is None else f(p["cr"]) + ("" if within(r, p) else " †")

    L.append(table(["dataset", "R"] + names, [[r["dataset"], f"{r['rel_bound']:g}"] + [cell(r, n) for n in names]
                                             for r in rows]))
    checked = [(r, n, p) for r in rows for n, p in r["peers"].items()]
    over = [(r, n, p) for r, n, p in checked if not within(r, p)]
    if checked:
        worst = max(p["max_rel_error"] / r["rel_bound"] for r, _, p in checked)
        L.append(f"\nBound check: {len(checked) - len(over)} of {len(checked)} peer measurements within the bound at "
                 f"every point and step (largest max |error| / E_c: {worst:.4f})"
                 + ("." if not over else "; over it: " + ", ".join(
                     f"{n} on {r['dataset']} at R = {r['rel_bound']:g} ({p['max_rel_error'] / r['rel_bound']:.4f} E_c)"
                     for r, n, p in over) + "."))
    if orders:
        L.append("\nPoint orders: how far apart each order puts the two points of a mesh edge in the 1-D array "
                 "(bandwidth: the largest gap; mean gap over all edges), and the seconds to build the point graph "
                 "and its RCM order:\n")
        L.append(table(["dataset", "points", "edges", "mesh: bandwidth (mean gap)", "morton: bandwidth (mean gap)",
                        "rcm: bandwidth (mean gap)", "graph + RCM"],
                       [[k, str(o["points"]), str(o["edges"])]
                        + [f"{o[x]['bandwidth']} ({o[x]['mean_gap']:.0f})" if x in o else "—"
                           for x in ["mesh", "morton", "rcm"]] + [f"{o['rcm_seconds']:.2f} s"]
                        for k, o in orders.items()]))
    L.append(throughput(rows))
    L.append(against_previous(rows, previous))
    L.append("\nResidual coding (format 1.2 and 1.4, docs/mci-format.md, RESIDUAL type 7): streams per (step, component) "
             "predicted from the previous step (`time`), from earlier mesh neighbours (`mesh`), both, nothing, or "
             "(`linear`, 1.4) a least-squares combination of the point's last three steps and its neighbours' sums "
             "at this step and the last three (seven Q12 weights per stream), "
             "on the network's residual or (data streams) on the data itself, chosen per stream by the entropy of "
             "the differences, then coded with zstd (level 19) or the adaptive range coder, whichever is smaller. "
             "The residual's indices (recovered "
             "through the C decoder, `benchmarks/errorbound/coding.py`) as format 1.1 coded them (zlib, no "
             "prediction) and with zstd but no prediction, and the CR the file would have with the 1.1 coding:\n")

    def alt(r, key):
        return kib(r[key]) if r.get(key) else "—"

    L.append(table(["dataset", "R", "residual KiB (1.2)", "1.1 coding KiB", "zstd, no prediction KiB",
                    "1.2 / 1.1", "CR with 1.1 coding", "non-zero indices", "escapes",
                    "streams: none / mesh / time / both / linear / linear with the plane / blend / blend with the quadratic", "data streams", "range-coded streams", "networks × width",
                    "train + residual (wall)"],
                   [[r["dataset"], f"{r['rel_bound']:g}", kib(r["residual_bytes"]),
                     alt(r, "residual_bytes_format_1_1"), alt(r, "residual_bytes_zstd_unpredicted"),
                     f"{r['residual_bytes'] / r['residual_bytes_format_1_1']:.3f}" if r.get("residual_bytes_format_1_1") else "—",
                     f(r["raw_bytes"] / (r["weight_bytes"] + r["residual_bytes_format_1_1"]))
                     if r.get("residual_bytes_format_1_1") else "—",
                     f"{100 * r['nonzero'] / (r['raw_bytes'] / 4):.1f} %", str(r["escapes"]),
                     " / ".join(str(r["predictors"].get(k, "—")) for k in ["none", "mesh", "time", "time_and_mesh", "linear", "linear_plane", "blend", "blend_quadratic"]),
                     str(r.get("data_streams", "—")), str(r.get("range_coded", "—")), f"{r['networks']} × {r['width']}", f"{r['wall_seconds']:.0f} s"] for r in rows]))
    timed = [r for r in rows if r.get("decode_seconds")]
    if timed:
        cores = timed[0]["decode_seconds"].get("cores", 1)
        L.append("\nDecoding (C decoder, every stored step at the mesh points, mean per step, on one thread and on all "
                 f"{cores} cores): the residual reconstructs up to 8 steps of indices per component (the writer's time "
                 "chains; components in parallel), and opening the file checks every stream once.\n")

        def ms(r, key):
            v = r["decode_seconds"].get(key)
            return "—" if v is None else f"{1000 * v:.0f} ms"

        L.append(table(["dataset", "R", "open", "network alone / step", "with residual / step", "residual share",
                        f"network alone, {cores} threads", f"with residual, {cores} threads"],
                       [[r["dataset"], f"{r['rel_bound']:g}", ms(r, "open"), ms(r, "network"), ms(r, "residual"),
                         f"{100 * (1 - r['decode_seconds']['network'] / r['decode_seconds']['residual']):.0f} %",
                         ms(r, "network_all_cores"), ms(r, "residual_all_cores")] for r in timed]))
    studied = [r for r in rows if r.get("data_domain")]
    if studied:
        L.append("\nWhy data streams (`coding.data_domain_study`, an order-0 entropy estimate over steps 1 … T−1): "
                 "the residual's indices under the time + mesh predictor (predicting the network's residual from the "
                 "neighbours' and the previous step's residuals) against predicting the data itself from the decoded "
                 "values of the earlier neighbours and of the previous step, as SZ does. The network's error has "
                 "fine-scale structure the data lacks, so at tight bounds the data predicts itself better, at loose "
                 "bounds the residual (mostly 0) wins; the writer picks per stream.\n")
        L.append(table(["dataset", "R", "residual prediction KiB", "data prediction KiB", "data / residual"],
                       [[r["dataset"], f"{r['rel_bound']:g}", kib(r["data_domain"]["residual_time_mesh"]),
                         kib(r["data_domain"]["data_time_mesh"]),
                         f"{r['data_domain']['data_time_mesh'] / r['data_domain']['residual_time_mesh']:.3f}"]
                        for r in studied]))
    return "\n".join(L) + "\n"


def throughput(rows):
    """The 'throughput' table: raw field bytes / seconds, ours and the peers' best layouts."""
    cores = next((r["decode_seconds"].get("cores") for r in rows if r.get("decode_seconds")), None) or 1
    repeats = max((p.get("timing_repeats", 1) for r in rows for p in r["peers"].values()), default=1)
    repeats = "in one run" if repeats == 1 else f"the fastest of {repeats} runs"
    L = ["\nThroughput (MB/s: 10^6 bytes of the float32 fields per second, raw field bytes / seconds). SZ3 and ZFP: "
         "their best layout at that bound (largest CR within the bound, as compared above), the seconds measured "
         f"around the compress and the decompress calls alone, {repeats} (every component; pysz and zfpy with their default settings; the "
         "point reordering and the layout copies not counted). Ours, compression: the whole `train` run's wall "
         "time — reading the series, training the networks (budget-bound, so no coding speed), the residual "
         "coding and its verification through the C decoder, writing the file; `train` does not report the "
         "residual coding alone, so the next column leaves out only the network training (wall − training "
         "seconds: reading, residual coding + verification, metrics, writing). Ours, decompression: opening the "
         "file (which checks every residual stream) plus decoding every stored step at the mesh points with the "
         f"residual through the C decoder (`coding.decode_seconds`), on one thread and on all {cores} cores.\n"]
    body = []
    for r in rows:
        raw, d = r["raw_bytes"], r.get("decode_seconds") or {}
        wall, train = r.get("wall_seconds"), r.get("seconds")

        def decode_total(suffix):
            o, s = d.get("open" + suffix), d.get("residual" + suffix)
            return o + d["steps"] * s if d.get("steps") and o is not None and s is not None else None

        row = [r["dataset"], f"{r['rel_bound']:g}", mbs(raw, wall),
               mbs(raw, wall - train) if wall and train and wall > train else "—",
               mbs(raw, decode_total("")), mbs(raw, decode_total("_all_cores"))]
        for codec in CODECS:
            b = best(r, codec)
            row += ([b[0], mbs(raw, b[1].get("compress_seconds")), mbs(raw, b[1].get("decompress_seconds"))]
                    if b else ["—", "—", "—"])
        body.append(row)
    L.append(table(["dataset", "R", "ours: compress (whole train)", "ours: wall − training", "ours: decompress",
                    f"ours: decompress, {cores} threads", "SZ3 layout", "SZ3 compress", "SZ3 decompress",
                    "ZFP layout", "ZFP compress", "ZFP decompress"], body))
    return "\n".join(L)


def decode_timings(model, lib):
    """Open and per-step decode seconds on one thread and on every core."""
    timing = coding.decode_seconds(model, lib)
    cores = os.cpu_count() or 1
    timing.update({f"{k}_all_cores": v for k, v in coding.decode_seconds(model, lib, threads=cores).items()
                   if k != "steps"}, cores=cores)
    return timing


def verdict(rows):
    """Issue #23's targets, met or not, row by row: ours / best SZ3 (any layout) ≥ 3× at R ≥ 1e-3
    and ≥ 2× at tighter bounds; ours smaller than the best RCM-ordered SZ3 at every bound."""
    def where(r):
        return f"{r['dataset']} at R = {r['rel_bound']:g}"

    any_met, any_missed, rcm_met, rcm_missed, rcm_none = [], [], [], [], []
    for r in rows:
        q = ratio(r, best(r, "SZ3"))
        if q is not None:
            t = target(r["rel_bound"])
            (any_met if q >= t else any_missed).append(f"{where(r)} ({q:.2f}×, target {t:g}×)")
        q = ratio(r, best(r, "SZ3", rcm=True))
        if q is None:
            rcm_none.append(where(r))
        else:
            (rcm_met if q > 1 else rcm_missed).append(f"{where(r)} ({q:.2f}×)")

    def part(met, missed, total):
        s = f"met in {len(met)} of {total}"
        s += f" ({', '.join(met)})" if met else ""
        s += f"; not met in {len(missed)}: {', '.join(missed)}" if missed else ""
        return s

    n_any, n_rcm = len(any_met) + len(any_missed), len(rcm_met) + len(rcm_missed)
    out = [f"**Where we stand** against issue #23's targets (computed from the rows above). Ours at least "
           f"{TARGET_LOOSE:g}× smaller than SZ3's best layout at R ≥ {TARGET_LOOSE_FROM:g} and at least "
           f"{TARGET_TIGHT:g}× at tighter bounds: {part(any_met, any_missed, n_any)}. Ours smaller than SZ3 after "
           f"the RCM reordering (its better layout, 1-D or steps × points) at every bound: "
           + "; ".join(([part(rcm_met, rcm_missed, n_rcm)] if n_rcm else [])
                       + ([f"not measured (no RCM layouts in these rows): {', '.join(rcm_none)}"] if rcm_none else []))
           + "."]
    missed = len(any_missed) + len(rcm_missed)
    if n_any + n_rcm:
        out.append(" All targets met." if not missed and not rcm_none else
                   f" {missed} of {n_any + n_rcm} target checks not met." if missed else
                   " Every measured target met.")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--bounds", type=float, nargs="+", default=[1e-2, 1e-3, 1e-4])
    ap.add_argument("--budget", type=float, default=60)
    ap.add_argument("--medium")
    ap.add_argument("--paper", help="a series of the paper-scale generator (examples/make_paper_scale.py)")
    ap.add_argument("--only", nargs="+", help="run only these datasets (vessel-small, analytic, vessel-medium, paper-scale)")
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--lib", help="libmcinr.so of the C decoder (default: built from this checkout into --work)")
    ap.add_argument("--report-only", action="store_true", help="rewrite the report from the JSON next to --out")
    ap.add_argument("--previous", help="an earlier report's JSON: a table of this run against it")
    ap.add_argument("--retime", action="store_true",
                    help="with --report-only: measure the decode times and the data-domain study again")
    args = ap.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    t0 = time.time()
    json_path = os.path.splitext(args.out)[0] + ".json"
    if args.report_only:
        with open(json_path) as fh:
            saved = json.load(fh)
        rows, started, seconds = saved["rows"], saved["started"], saved["seconds"]
        orders = saved.get("orders", {})
        previous = saved.get("previous")
        if args.retime:
            lib = args.lib or mcinr.build_library(args.work)
            for r in rows:
                model = os.path.join(args.work, f"eb-{r['dataset']}-{r['rel_bound']:g}.mci")
                r["decode_seconds"] = decode_timings(model, lib)
                r["data_domain"] = coding.data_domain_study(model, lib)
    else:
        rows, orders = measure(args)
        seconds = time.time() - t0
        previous = None
    if args.previous:
        with open(args.previous) as fh:
            previous = json.load(fh)
        previous = dict(started=previous["started"], rows=previous["rows"],
                        label=previous.get("label", "format 1.2 residual coder, without the linear predictor and the budget decay"))
    text = report(rows, bench.machine.description(), started, seconds, orders, previous)
    print(text)
    for path, content in [(args.out, text),
                          (json_path, json.dumps(dict(started=started, seconds=seconds, rows=rows, orders=orders,
                                                      previous=previous),
                                                 indent=1))]:
        tmp = path + ".tmp"
        with open(tmp, "w") as fh:
            fh.write(content)
        os.replace(tmp, path)


if __name__ == "__main__":
    main()
