#!/usr/bin/env python3
"""What predicting a step from the steps on both sides of it would buy (issue #23).

The residual's chains code the steps in time order: step t is predicted from t − 1, t − 2 and
t − 3 (and the plane through its earlier mesh neighbours). SZ3's steps × points layout
interpolates along time from both sides. This study measures, on the data's own quantisation
indices (as predictor_study.py: order-0 entropy, floating point, no range-coder contexts), the
format's blend idea — every point weighs its candidate predictions by how well each did at its
earlier neighbours — under three coding orders of a chain of 8 steps [t₀, t₀ + 8):

* in order (the format today): t₀ alone, then t₀ + 1, …, each from the steps before it;
* odd between: t₀, t₀ + 2, t₀ + 4, t₀ + 6 from the steps before them (stride 2), then each odd
  step between its two neighbours (t₀ + 7 between t₀ + 6 and the next chain's start, which is
  coded alone anyway);
* halving: t₀ and the next chain's start alone, then t₀ + 4 between them, t₀ + 2 and t₀ + 6,
  then the odd steps (a chain without a next start ends with its last step from t₀).

The candidates at a step with references r (decoded steps): the plane through the earlier
neighbours R₀; for each reference q_r and q_r + R₀ − R_r; between two references a < t < b the
linear interpolation and it plus the plane's change, and with four (a′ < a < t < b < b′) the
cubic interpolation; from two earlier references the trend; and the least-squares combination
of R₀ and every reference's q and R (Q12 weights). Each step takes the smaller of the blend's
entropy and the format 1.2 choices' (as the writer's chooser). Column "in order, anchor as h₃
(format 1.9)": time order with the format's own predictions, the level h₃ being the next
chain's start instead of t − 3 (what format 1.9 adopted).

    python3 time_order_study.py --dataset LABEL=PATH.pvd [--bounds 1e-3 1e-4] [--neighbours K] [--out TABLE.md]
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from predictor_study import CHAIN, entropy, mesh_operators, load, print_tables, quantised, study_args, table_row  # noqa: E402
from quadratic_study import PLANE_CAP, blend  # noqa: E402



def orders(T):
    """{name: [(t, references)]} for every coding order, references sorted."""
    out = {}
    for chain in (CHAIN, 2 * CHAIN):
        for name, plan in chain_orders(T, chain).items():
            out[name if chain == CHAIN else f"{name}, chains of {chain}"] = plan
    # every chain start predicted from the starts before it (a chain of starts, stride 8)
    for name in ("in order", "halving"):
        out[f"{name}, starts chained"] = [(t, refs if refs or t == 0 else [s for s in (t - 2 * CHAIN, t - CHAIN) if s >= 0])
                                          for t, refs in out[name]]
    return out


def chain_orders(T, chain):
    out = {"in order": [], "odd between": [], "halving": []}
    for t0 in range(0, T, chain):
        t1 = min(t0 + chain, T)        # this chain's steps: t0 … t1 − 1
        nxt = t1 if t1 < T else None   # the next chain's start (coded alone)
        for t in range(t0, t1):
            out["in order"].append((t, list(range(max(t0, t - 3), t))))
        evens = list(range(t0, t1, 2))
        for t in evens:
            out["odd between"].append((t, [s for s in (t - 6, t - 4, t - 2) if s >= t0]))
        for t in range(t0 + 1, t1, 2):
            refs = [s for s in (t - 3, t - 1) if s >= t0]
            after = [s for s in (t + 1, t + 3) if s < t1 or s == nxt]
            out["odd between"].append((t, refs + [s for s in after if s < t1 or s == nxt]))
        # halving: the chain's ends first, then midpoints level by level
        end = nxt if nxt is not None else t1 - 1
        steps = [(t0, [])]
        if end != t0 and end < t1:
            steps.append((end, [t0]))
        known = {t0, end}
        span = end - t0
        while span > 1:
            half = span // 2
            for a in sorted(known):
                b = a + span
                if b in known or (b == end):
                    m = a + half
                    if t0 < m < t1 and m not in known:
                        lo = [s for s in sorted(known) if s < m][-2:]
                        hi = [s for s in sorted(known) if s > m][:2]
                        steps.append((m, lo + hi))
            known |= {s for s, _ in steps}
            span = half
        for t in range(t0, t1):  # odd lengths: anything the halving missed, from both sides
            if t not in known:
                lo = [s for s in sorted(known) if s < t][-2:]
                hi = [s for s in sorted(known) if s > t][:2]
                steps.append((t, lo + hi))
                known.add(t)
        out["halving"] += [(t, r) for t, r in steps if t < t1]
    return out


IN_ORDER_FORMAT, HALVING_FORMAT = "in order (format's predictions)", "halving (format's predictions)"
ANCHOR_FORMAT = "in order, anchor as h₃ (format 1.9)"
ANCHOR_16 = "in order, anchor as h₃, chains of 16 (format's predictions)"


def anchor_levels(T, chain=CHAIN):
    """[(t, levels)] of format 1.9's anchor: in time order, the levels h₁ h₂ h₃ of a step with
    earlier steps in its chain are t − 1, t − 2 (where in the chain) and the next chain's start;
    chains of `chain` steps."""
    out = []
    for t0 in range(0, T, chain):
        t1 = min(t0 + chain, T)
        for t in range(t0, t1):
            prev = [s for s in (t - 1, t - 2, t - 3) if s >= t0]
            out.append((t, prev[:2] + [t1] if prev and t1 < T else prev))
    return out


def step_bits(q, plane, t, refs, nbmean, abs_mean, rich, levels=None):
    """Order-0 bits of step t predicted from the decoded steps `refs`: the smaller of the format
    1.2 choices and the blend. rich: every candidate of the module's docstring; else only the
    format 1.7 blend's, with the references as its levels h₁, h₂, h₃ (the nearest earlier one,
    then the nearest later one, then the others by distance): the linear prediction over the
    plane and the levels' q and plane, the plane, h₁, h₁ plus the plane's change, 2 h₁ − h₂. levels: the format's levels as given (h₁, h₂,
    h₃ in this order: format 1.9's anchor)."""
    base = min(entropy(q[t]), entropy(q[t] - np.rint(nbmean(q[t]))))
    if refs:
        near = min(refs, key=lambda r: abs(r - t))
        base = min(base, entropy(q[t] - q[near]))
    lo = [r for r in refs if r < t]
    hi = [r for r in refs if r > t]
    preds, feats = [plane[t]], [plane[t]]
    if rich:
        for r in refs:
            preds += [q[r].astype(float), q[r] + plane[t] - plane[r]]
            feats += [q[r].astype(float), plane[r]]
        if lo and hi:
            a, b = lo[-1], hi[0]
            wa = (b - t) / (b - a)
            interp = wa * q[a] + (1 - wa) * q[b]
            preds += [interp, interp + plane[t] - (wa * plane[a] + (1 - wa) * plane[b])]
            if len(lo) >= 2 and len(hi) >= 2:
                x = np.array([lo[-2], a, b, hi[1]], float)
                L = [np.prod([(t - x[m]) / (x[k] - x[m]) for m in range(4) if m != k]) for k in range(4)]
                preds.append(sum(L[k] * q[int(x[k])] for k in range(4)))
        elif len(lo) >= 2:
            a, b = lo[-2], lo[-1]
            preds.append(q[b] + (q[b] - q[a]) * (t - b) / (b - a))
    else:
        if levels is None:
            first = ([lo[-1]] if lo else []) + ([hi[0]] if hi else [])
            levels = (first + sorted((r for r in refs if r not in first), key=lambda r: abs(r - t)))[:3]
        for r in levels:
            feats += [q[r].astype(float), plane[r]]
        if levels:
            h1 = levels[0]
            preds += [q[h1].astype(float), q[h1] + plane[t] - plane[h1]]
        if len(levels) >= 2:
            preds.append(2.0 * q[levels[0]] - q[levels[1]])
    G = np.stack(feats, 1)
    w, *_ = np.linalg.lstsq(G, q[t].astype(float), rcond=None)
    lin = G @ (np.round(w * 4096) / 4096)
    preds.append(lin)
    best = min(base, entropy(q[t] - np.rint(lin)) + 16 * 2 * len(feats))
    return min(best, entropy(q[t] - np.rint(blend(q[t], preds, abs_mean))) + 16 * 2 * len(feats))


def study(points, conn, offsets, values, bounds, least=0):
    T, n, C = values.shape
    if least:  # over Nb′ (format 1.10's NEIGHBOURS); neighbour_study imports this module
        from neighbour_study import operators
        ops, _ = operators(points, conn, offsets, n, least)
    else:
        ops = mesh_operators(points, conn, offsets, n, cap=PLANE_CAP)
    nbmean, planar = ops.mean, ops.plane
    raw_bits = T * n * C * 32
    plans = orders(T)
    rows = []
    for R in bounds:
        bits = {k: 0.0 for k in plans}
        bits.update({f"{k} (format's predictions)": 0.0 for k in ("in order", "halving")} | {ANCHOR_FORMAT: 0.0,
                                                                                            ANCHOR_16: 0.0})
        for c in range(C):
            q = quantised(values[:, :, c], R)
            plane = [planar(q[t]) for t in range(T)]
            for name, plan in plans.items():
                for t, refs in plan:
                    bits[name] += step_bits(q, plane, t, refs, nbmean, ops.abs_mean, rich=True)
                    if f"{name} (format's predictions)" in bits:
                        bits[f"{name} (format's predictions)"] += step_bits(q, plane, t, refs, nbmean, ops.abs_mean,
                                                                            rich=False)
            for t, levels in anchor_levels(T):
                bits[ANCHOR_FORMAT] += step_bits(q, plane, t, levels, nbmean, ops.abs_mean, rich=False, levels=levels)
            for t, levels in anchor_levels(T, 2 * CHAIN):
                bits[ANCHOR_16] += step_bits(q, plane, t, levels, nbmean, ops.abs_mean, rich=False, levels=levels)
        rows.append((R, {k: raw_bits / b for k, b in bits.items()}))
        print(R, {k: round(v, 2) for k, v in rows[-1][1].items()}, flush=True)
    return rows


def main():
    a = study_args(__doc__, [1e-3, 1e-4], (["--show-orders"], dict(
        type=int, help="print the coding orders of a series of this many steps and stop")),
                   (["--neighbours"], dict(type=int, default=0, metavar="K",
                                           help="predict over Nb′ of NEIGHBOURS K (format 1.10); 0: Nb")))
    if a.show_orders:
        for name, plan in orders(a.show_orders).items():
            print(name, plan)
        return
    lines = []
    for spec in a.dataset:
        label, path = spec.split("=", 1)
        points, conn, offsets, values = load(path)
        for R, ratios in study(points, conn, offsets, values, a.bounds, a.neighbours):
            table_row(lines, {"dataset": label, "steps": str(values.shape[0]), "R": f"{R:g}",
                              "neighbours": f"Nb′ K = {a.neighbours}" if a.neighbours else "Nb"}, ratios,
                      {f"{name} / in order": f"{ratios[name] / ratios['in order']:.3f}×" for name in ("odd between", "halving")}
                      | {"halving / in order, the format's predictions":
                         f"{ratios[HALVING_FORMAT] / ratios[IN_ORDER_FORMAT]:.3f}×",
                         "anchor / in order, the format's predictions":
                         f"{ratios[ANCHOR_FORMAT] / ratios[IN_ORDER_FORMAT]:.3f}×",
                         "anchor, chains of 16 / anchor": f"{ratios[ANCHOR_16] / ratios[ANCHOR_FORMAT]:.3f}×"})
    print_tables(lines, a.out)

if __name__ == "__main__":
    main()
