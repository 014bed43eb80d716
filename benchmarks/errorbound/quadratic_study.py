#!/usr/bin/env python3
"""How much a quadratic fit adds to the blend predictor (issue #23): the study that chose the
quadratic predictor of format 1.8 (docs/mci-format.md, "Quadratic predictor").

Each component is quantised on the error-bounded mode's data grid, as in predictor_study.py,
and each step's differences are measured by their order-0 entropy (the writer's estimate), in
floating point. The blend of format 1.7 (the linear plane prediction, the plane, and with
earlier steps the previous step, its plane change and its trend, each point weighing them by
1 / (mean |error| at its earlier neighbours + ½)²) against the same blend with two more
predictions: the value at the point of the least-squares quadratic (10 terms) through a support
of earlier points, and the previous step plus that quadratic's change since. Variants of the
support (which earlier points, how many at most, how few at least), of the fit (unweighted, or
rows weighted by 1 / (1 + r²)) and of the cap on Σ |w|; "quadratic alone" and "plane alone"
are each prediction used by itself.

    python3 quadratic_study.py --dataset LABEL=PATH.pvd [--bounds 1e-3 1e-5] [--out TABLE.md]
"""
import argparse
import os
import sys

import numpy as np
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from predictor_study import CHAIN, DEPTH, entropy, mesh_operators, load, print_tables, quantised  # noqa: E402

PLANE_CAP = 8.0
# (label, support: "Nb²" = Nb(i) and the Nb of its points (format 1.8) or "ring²" = every point
# within two cell-graph steps that comes before i, at most, at least, weighted rows, cap Σ|w|)
VARIANTS = [("kept: Nb², ≤ 24, ≥ 12, unweighted, Σ|w| ≤ 16", "Nb²", 24, 12, False, 16.0),
            ("Nb², ≤ 16", "Nb²", 16, 12, False, 16.0),
            ("Nb², ≤ 32", "Nb²", 32, 12, False, 16.0),
            ("Nb², Σ|w| ≤ 8", "Nb²", 24, 12, False, 8.0),
            ("Nb², weighted 1 / (1 + r²)", "Nb²", 24, 12, True, 16.0),
            ("ring² (all earlier points two steps away)", "ring²", 24, 12, False, 16.0)]


def quadratic_rows(points, n, i_, j_, support, most, least, weighted, cap):
    """The sparse matrix Q with (Q y)_i = the quadratic's value at p_i through y at i's support
    (empty rows: no support), and the number of points that have one."""
    E = sp.csr_matrix((np.ones(len(i_)), (i_, j_)), shape=(n, n))  # Nb: earlier neighbours
    A = ((E + E.T) > 0).tocsr()
    G = E if support == "Nb²" else A
    rows, cols, vals = [], [], []
    for i in range(n):
        first = G.indices[G.indptr[i]:G.indptr[i + 1]]
        cand = set(first.tolist())
        for j in first:
            cand.update(G.indices[G.indptr[j]:G.indptr[j + 1]].tolist())
        cand = np.array(sorted(x for x in cand if x < i), dtype=int)
        if len(cand) < least:
            continue
        d = points[cand] - points[i]
        if len(cand) > most:
            keep = np.lexsort((-cand, (d ** 2).sum(1)))[:most]
            cand = np.sort(cand[keep])
            d = points[cand] - points[i]
        s = np.abs(d).max()
        if not s > 0:
            continue
        u = d / s
        X = np.column_stack([np.ones(len(cand)), u, u ** 2, u[:, 0] * u[:, 1], u[:, 0] * u[:, 2], u[:, 1] * u[:, 2]])
        wgt = 1.0 / (1.0 + (u ** 2).sum(1)) if weighted else np.ones(len(cand))
        r = np.linalg.pinv(X * wgt[:, None])[0] * wgt
        if not np.all(np.isfinite(r)) or np.abs(r).sum() > cap:
            continue
        rows += [i] * len(cand)
        cols += cand.tolist()
        vals += r.tolist()
    has = np.zeros(n, bool)
    has[np.unique(np.array(rows, dtype=int))] = True
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, n)), has


def blend(q, preds, nbabs):
    num, den = 0.0, 0.0
    for v in preds:
        weight = 1.0 / (nbabs(q - v) + 0.5) ** 2
        num = num + weight * v
        den = den + weight
    return num / den


def blend_predictions(y, t, depth, planar):
    """Format 1.7's blend predictions of y[t] (y: steps × points), and the plane values at t and
    (with a step before) t − 1, where a point without a quadratic support falls back to them."""
    feats = [planar(y[t])]
    for m in range(1, depth + 1):
        feats += [y[t - m], planar(y[t - m])]
    G = np.stack(feats, 1)
    w, *_ = np.linalg.lstsq(G, y[t].astype(float), rcond=None)
    preds = [G @ (np.round(w * 4096) / 4096), feats[0]]
    if depth:
        preds += [y[t - 1].astype(float), y[t - 1] + feats[0] - feats[2]]
    if depth >= 2:
        preds.append(2.0 * y[t - 1] - y[t - 2])
    return preds, feats[0], feats[2] if depth else None


def quadratic_predictions(y, t, depth, Q, has, plane_now, plane_before):
    """Format 1.8's two more: the quadratic through the support (Q, has) at t, and with a step
    before, the previous step plus the quadratic's change since."""
    quad = np.where(has, Q @ y[t].astype(float), plane_now)
    if not depth:
        return [quad]
    return [quad, y[t - 1] + quad - np.where(has, Q @ y[t - 1].astype(float), plane_before)]


def study(points, conn, offsets, values, bounds):
    T, n, C = values.shape
    ops = mesh_operators(points, conn, offsets, n, cap=PLANE_CAP)
    i_, j_, planar, nbabs = ops.i, ops.j, ops.plane, ops.abs_mean
    fits = {v[0]: quadratic_rows(points, n, i_, j_, *v[1:]) for v in VARIANTS}
    coverage = {label: int(has.sum()) for label, (_, has) in fits.items()}
    rows = []
    for R in bounds:
        bits = {}
        add = lambda key, b: bits.__setitem__(key, bits.get(key, 0.0) + b)
        for c in range(C):
            q = quantised(values[:, :, c], R)
            for t in range(T):
                depth = min(t % CHAIN, DEPTH)
                preds, plane_now, plane_before = blend_predictions(q, t, depth, planar)
                add("blend (format 1.7)", entropy(q[t] - np.rint(blend(q[t], preds, nbabs))))
                add("plane alone", entropy(q[t] - np.rint(plane_now)))
                for label, (Q, has) in fits.items():
                    more = quadratic_predictions(q, t, depth, Q, has, plane_now, plane_before)
                    add(label, entropy(q[t] - np.rint(blend(q[t], preds + more, nbabs))))
                    if label == VARIANTS[0][0]:
                        add("quadratic alone (kept support)", entropy(q[t] - np.rint(more[0])))
        base = bits["blend (format 1.7)"]
        rows.append((R, {k: b / base for k, b in bits.items()}))
        print(R, {k: round(v, 4) for k, v in rows[-1][1].items()}, flush=True)
    return rows, coverage


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", action="append", required=True, help="LABEL=PATH.pvd (repeatable)")
    ap.add_argument("--bounds", nargs="+", type=float, default=[1e-3, 1e-5])
    ap.add_argument("--out", help="append the tables (markdown) to this file")
    a = ap.parse_args()
    lines = []
    for spec in a.dataset:
        label, path = spec.split("=", 1)
        points, conn, offsets, values = load(path)
        rows, coverage = study(points, conn, offsets, values, a.bounds)
        keys = list(rows[0][1])
        lines += [f"**{label}** ({values.shape[1]} points; with a quadratic support: "
                  + ", ".join(f"{k.split(':')[0]} {v}" for k, v in coverage.items()) + "): order-0 bits / the blend's",
                  "", "| R | " + " | ".join(keys) + " |", "|---:|" + "---:|" * len(keys)]
        lines += [f"| {R:g} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |" for R, r in rows]
        lines.append("")
    print_tables(lines, a.out)


if __name__ == "__main__":
    main()
