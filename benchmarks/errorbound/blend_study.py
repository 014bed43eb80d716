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
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from predictor_study import CHAIN, DEPTH, entropy, mesh_operators, load, print_tables, quantised, study_args, table_row  # noqa: E402

PLANE_CAP = 8.0  # Σ |w| beyond this: the mean (as the format's weights)
# (label, predictions, ε in indices, power p)
VARIANTS = [("blend (kept: ε ½, p 2)", "all", 0.5, 2), ("ε ⅛", "all", 0.125, 2), ("ε 2", "all", 2.0, 2),
            ("p 1", "all", 0.5, 1), ("p 3", "all", 0.5, 3), ("+ mean", "all+mean", 0.5, 2),
            ("without linear", "no-linear", 0.5, 2), ("without trend", "no-trend", 0.5, 2)]


def study(points, conn, offsets, values, bounds):
    T, n, C = values.shape
    ops = mesh_operators(points, conn, offsets, n, cap=PLANE_CAP)
    nbmean, planar, nbabs = ops.mean, ops.plane, ops.abs_mean
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
    a = study_args(__doc__, [1e-3, 1e-4, 1e-5])
    lines = []
    for spec in a.dataset:
        label, path = spec.split("=", 1)
        for R, ratios in study(*load(path), a.bounds):
            table_row(lines, {"dataset": label, "R": f"{R:g}"}, ratios,
                      {"blend / linear plane": f"{ratios[VARIANTS[0][0]] / ratios['linear plane']:.2f}×"})
    print_tables(lines, a.out)

if __name__ == "__main__":
    main()
