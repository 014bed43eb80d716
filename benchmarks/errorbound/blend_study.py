#!/usr/bin/env python3
"""How much a per-point blend of predictions buys over one fitted linear predictor (issue #23).

The study that chose the blend predictor of format 1.7 (docs/mci-format.md, "Blend predictor").
Each component is quantised on the error-bounded mode's data grid, as in predictor_study.py, and
each step's differences are measured by their order-0 entropy (the writer's estimate), in
floating point (the format's integer rounding differs in the last 1/16 of an index):

* linear plane: the best of format 1.6's choices — the previous step, the neighbours' mean,
  both, nothing, or the linear predictor over the plane values (least squares);
* blend: that linear prediction, the plane alone, and with earlier steps the previous step,
  the previous step plus the plane's change and the previous step's trend, each point weighing
  them by 1 / (mean |error| at its earlier neighbours + ε)^p; variants of ε, p and of the set.

    python3 blend_study.py --dataset LABEL=PATH.pvd [--bounds 1e-3 1e-4 1e-5] [--out TABLE.md]
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from predictor_study import CHAIN, DEPTH, earlier_neighbours, entropy, plane_rows, print_tables, quantised, vtu  # noqa: E402

PLANE_CAP = 8.0  # Σ |w| beyond this: the mean (as the format's weights)
# (label, predictions, ε in indices, power p)
VARIANTS = [("blend (kept: ε ½, p 2)", "all", 0.5, 2), ("ε ⅛", "all", 0.125, 2), ("ε 2", "all", 2.0, 2),
            ("p 1", "all", 0.5, 1), ("p 3", "all", 0.5, 3), ("+ mean", "all+mean", 0.5, 2),
            ("without linear", "no-linear", 0.5, 2), ("without trend", "no-trend", 0.5, 2)]


def study(points, conn, offsets, values, bounds):
    T, n, C = values.shape
    p = earlier_neighbours(conn, offsets, n)
    i_, j_ = p[:, 0], p[:, 1]
    kk = np.maximum(np.bincount(i_, minlength=n), 1).astype(float)
    W = plane_rows(points, i_, j_, n, least=4, cap=PLANE_CAP)
    nbmean = lambda y: np.bincount(i_, weights=y[j_].astype(float), minlength=n) / kk
    planar = lambda y: np.bincount(i_, weights=W * y[j_], minlength=n)
    nbabs = lambda e: np.bincount(i_, weights=np.abs(e[j_]), minlength=n) / kk
    raw_bits = T * n * C * 32
    rows = []
    for R in bounds:
        bits = {"linear plane": 0.0, **{v[0]: 0.0 for v in VARIANTS}}
        for c in range(C):
            q = quantised(values[:, :, c], R)
            for t in range(T):
                depth = min(t % CHAIN, DEPTH)
                base = min(entropy(q[t]), entropy(q[t] - np.rint(nbmean(q[t]))))
                if depth:
                    base = min(base, entropy(q[t] - q[t - 1]))
                feats = [planar(q[t])]
                for m in range(1, depth + 1):
                    feats += [q[t - m], planar(q[t - m])]
                G = np.stack(feats, 1)
                w, *_ = np.linalg.lstsq(G, q[t].astype(float), rcond=None)
                lin = G @ (np.round(w * 4096) / 4096)
                best = min(base, entropy(q[t] - np.rint(lin)) + 224)
                bits["linear plane"] += best
                preds = {"linear": lin, "plane": feats[0]}
                if depth:
                    preds["time"] = q[t - 1].astype(float)
                    preds["time + plane change"] = q[t - 1] + feats[0] - feats[2]
                if depth >= 2:
                    preds["trend"] = 2.0 * q[t - 1] - q[t - 2]
                mean = nbmean(q[t])
                for label, which, eps, power in VARIANTS:
                    use = dict(preds)
                    if which == "all+mean":
                        use["mean"] = mean
                    elif which == "no-linear":
                        use.pop("linear")
                    elif which == "no-trend":
                        use.pop("trend", None)
                    num, den = np.zeros(n), np.zeros(n)
                    for v in use.values():
                        weight = 1.0 / (nbabs(q[t] - v) + eps) ** power
                        num += weight * v
                        den += weight
                    bits[label] += min(best, entropy(q[t] - np.rint(num / den)) + 224)
        rows.append((R, {k: raw_bits / b for k, b in bits.items()}))
        print(R, {k: round(v, 2) for k, v in rows[-1][1].items()}, flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", action="append", required=True, help="LABEL=PATH.pvd (repeatable)")
    ap.add_argument("--bounds", nargs="+", type=float, default=[1e-3, 1e-4, 1e-5])
    ap.add_argument("--out", help="append the table (markdown) to this file")
    a = ap.parse_args()
    lines = []
    for spec in a.dataset:
        label, path = spec.split("=", 1)
        points, _, values = vtu.read_components(path)
        conn, offsets, _ = vtu.read_cells(vtu.read_series(path)[1][0])
        for R, ratios in study(np.asarray(points, float), conn, offsets, values, a.bounds):
            if not lines:
                keys = list(ratios)
                lines += ["| dataset | R | " + " | ".join(keys) + " | blend / linear plane |",
                          "|---|---:|" + "---:|" * (len(keys) + 1)]
            lines.append(f"| {label} | {R:g} | " + " | ".join(f"{ratios[k]:.2f}" for k in keys)
                         + f" | {ratios[VARIANTS[0][0]] / ratios['linear plane']:.2f}× |")
    print_tables(lines, a.out)


if __name__ == "__main__":
    main()
