#!/usr/bin/env python3
"""Would the network help the data streams as one more prediction of the blend? (issue #23)

At 10⁻³ and below most streams quantise the data itself (the writer's data streams), which
predict each point from its earlier neighbours and earlier steps only: the network's value is
not used there at all. This study measures, on the data's own indices (order-0 entropy, in
floating point, as quadratic_study.py), the format 1.8 blend of the data (the linear plane
prediction, the plane, the previous step, its plane change, its trend, the quadratic and its
change) against the same blend with predictions made from the network's value n at the point
(decoded by the C decoder from a trained model, in index units of the data grid):

* "+ network": n itself;
* "+ network + plane of its error": n plus the plane through the earlier neighbours' q − n;
* "+ network + previous error": n plus the previous step's q − n at the point;
* "+ all three";
* "+ network, plane of its error at chain starts only": the first two at the first step of each
  chain of 8 (where the data has no earlier step), nothing added at the others.

Each point weighs its predictions by 1 / (mean |error| at its earlier neighbours + ½)², as the
format's blend does. "residual, blend" is the blend applied to the network's residual q − n
(what a residual stream with the blend predicts), for comparison.

    python3 network_blend_study.py --dataset LABEL=PATH.pvd=MODEL.mci [--bounds 1e-3 1e-4] [--out TABLE.md]
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from predictor_study import CHAIN, DEPTH, ROOT, entropy, mesh_operators, load, print_tables  # noqa: E402
from quadratic_study import PLANE_CAP, VARIANTS, blend, blend_predictions, quadratic_predictions, quadratic_rows  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "python"))
import mcinr  # noqa: E402


def network_values(model):
    """T × N × C float64: the network alone at the mesh points of every stored step."""
    with mcinr.Model(model) as m:
        return np.array([m.decode_mesh(t, network_only=True).astype(np.float64) for t in m.times])


def study(points, conn, offsets, values, network, bounds):
    T, n, C = values.shape
    ops = mesh_operators(points, conn, offsets, n, cap=PLANE_CAP)
    i_, j_, planar, nbabs = ops.i, ops.j, ops.plane, ops.abs_mean
    Q, has = quadratic_rows(points, n, i_, j_, *VARIANTS[0][1:])
    rows = []
    for R in bounds:
        bits = {}
        add = lambda key, b: bits.__setitem__(key, bits.get(key, 0.0) + b)
        for c in range(C):
            x = values[:, :, c].astype(np.float64)
            span = x.max() - x.min()
            s = 2 * R * (span if span > 0 else 1) * (1 - 1 / 64)
            q = np.rint((x - x.min()) / s)
            nq = (network[:, :, c] - x.min()) / s  # the network in index units
            for t in range(T):
                depth = min(t % CHAIN, DEPTH)

                def predictions(y):
                    """The format 1.8 blend's predictions of y[t] (y: steps × points)."""
                    preds, plane_now, plane_before = blend_predictions(y, t, depth, planar)
                    return preds + quadratic_predictions(y, t, depth, Q, has, plane_now, plane_before)

                preds = predictions(q)
                e = q[t] - nq[t]
                net = [nq[t], nq[t] + planar(e)]
                if depth:
                    net.append(nq[t] + q[t - 1] - nq[t - 1])
                cost = lambda more: entropy(q[t] - np.rint(blend(q[t], preds + more, nbabs)))
                add("data, blend (format 1.8)", cost([]))
                add("+ network", cost(net[:1]))
                add("+ network + plane of its error", cost(net[1:2]))
                if depth:
                    add("+ network + previous error", cost(net[2:3]))
                else:
                    add("+ network + previous error", cost([]))
                add("+ all three", cost(net))
                # a decode of step t evaluates the network at t anyway, but not at the chain's
                # earlier steps: the network at the chain's first step only costs a jump one
                # more evaluation (none when it lands on a chain start, none when playing)
                add("+ network, plane of its error at chain starts only", cost(net[:2] if depth == 0 else []))
                r = q - np.rint(nq)  # the residual stream's indices
                rpreds = predictions(r)
                add("residual, blend", entropy(r[t] - np.rint(blend(r[t], rpreds, nbabs))))
                # this step's network only: the data's plane and quadratic (q = r + n at the
                # earlier neighbours), less n at the point
                spatial = [preds[1] - np.rint(nq[t]), preds[5 if depth >= 2 else 4 if depth else 2] - np.rint(nq[t])]
                add("residual, blend + data plane, quadratic", entropy(r[t] - np.rint(blend(r[t], rpreds + spatial, nbabs))))
        base = bits["data, blend (format 1.8)"]
        rows.append((R, {k: b / base for k, b in bits.items()}, base / 8))
        print(R, {k: round(v, 4) for k, v in rows[-1][1].items()}, f"base {base / 8 / 1024:.1f} KiB", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", action="append", required=True, help="LABEL=PATH.pvd=MODEL.mci (repeatable)")
    ap.add_argument("--bounds", nargs="+", type=float, default=[1e-3, 1e-4])
    ap.add_argument("--out", help="append the tables (markdown) to this file")
    a = ap.parse_args()
    lines = []
    for spec in a.dataset:
        label, path, model = spec.split("=", 2)
        points, conn, offsets, values = load(path)
        network = network_values(model)
        if network.shape != values.shape:
            raise SystemExit(f"{model}: network values {network.shape} but {path} has {values.shape} (steps, points, components)")
        span = values.max((0, 1)) - values.min((0, 1))
        psnr = 20 * np.log10(span / np.sqrt(((network - values) ** 2).mean((0, 1))))
        print(f"{label}: network PSNR per component", np.round(psnr, 2), flush=True)
        rows = study(points, conn, offsets, values, network, a.bounds)
        keys = list(rows[0][1])
        lines += [f"**{label}** ({values.shape[1]} points, model {os.path.basename(model)}): order-0 bits / the data blend's",
                  "", "| R | data blend KiB | " + " | ".join(keys) + " |", "|---:|---:|" + "---:|" * len(keys)]
        lines += [f"| {R:g} | {base / 1024:.1f} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |" for R, r, base in rows]
        lines.append("")
    print_tables(lines, a.out)


if __name__ == "__main__":
    main()
