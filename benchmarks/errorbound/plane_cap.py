#!/usr/bin/env python3
"""The plane weights' cap on Σ |w| (issue #23, docs/benchmarks/residual-predictors.md): the
order-0 ratio (raw bits / bits of the differences) of the least-squares linear predictor over
plane features, for caps 2, 4, 8 and none, and how many points fall back to the mean.

    python3 benchmarks/errorbound/plane_cap.py SERIES.pvd R
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
for path in (HERE, os.path.join(ROOT, "benchmarks"), os.path.join(ROOT, "python")):
    sys.path.insert(0, path)
import predictor_study as ps  # noqa: E402
import vtu  # noqa: E402


def plane_weights(points, i_, j_, starts, cap):
    """Per (i, j) pair: the plane's weight (min-norm, coordinates scaled by the largest offset),
    or the mean's where fewer than 4 neighbours, a singular system or Σ |w| > cap."""
    n = len(starts) - 1
    w, fallback = np.zeros(len(i_)), 0
    for i in range(n):
        a, b = starts[i], starts[i + 1]
        if b == a:
            continue
        fitted = None
        if b - a >= 4:
            d = points[j_[a:b]] - points[i]
            s = np.abs(d).max()
            if s > 0:
                A = np.hstack([np.ones((b - a, 1)), d / s])
                try:
                    z = np.linalg.solve(A.T @ A, np.eye(4)[0])
                    fitted = A @ z
                    if not (np.all(np.isfinite(fitted)) and np.abs(fitted).sum() <= cap):
                        fitted = None
                except np.linalg.LinAlgError:
                    pass
        if fitted is None:
            fitted = np.full(b - a, 1.0 / (b - a))
            fallback += 1
        w[a:b] = fitted
    return np.round(w * 65536) / 65536, fallback


def main():
    path, R = sys.argv[1], float(sys.argv[2])
    points, _, values = vtu.read_components(path)
    points = np.asarray(points, float)
    conn, offsets, _ = vtu.read_cells(vtu.read_series(path)[1][0])
    T, n, C = values.shape
    p = ps.earlier_neighbours(conn, offsets, n)
    i_, j_ = p[:, 0], p[:, 1]
    starts = np.concatenate([[0], np.cumsum(np.bincount(i_, minlength=n))])
    for cap in [2, 4, 8, np.inf]:
        w, fallback = plane_weights(points, i_, j_, starts, cap)

        def planar(y):
            return np.rint(np.bincount(i_, weights=w * y[j_], minlength=n))

        bits = 0.0
        for c in range(C):
            x = values[:, :, c].astype(float)
            s = 2 * R * (x.max() - x.min()) * (1 - 1 / 64)
            q = np.rint((x - x.min()) / s).astype(np.int64)
            for t in range(T):
                depth = min(t % ps.CHAIN, ps.DEPTH)
                feats = [planar(q[t])] + sum([[q[t - m], planar(q[t - m])] for m in range(1, depth + 1)], [])
                G = np.stack(feats, 1)
                beta, *_ = np.linalg.lstsq(G, q[t].astype(float), rcond=None)
                bits += ps.entropy(q[t] - np.rint(G @ (np.round(beta * 4096) / 4096)))
        print(f"cap {cap}: {fallback} of {n} points fall back to the mean, ratio {T * n * C * 32 / bits:.2f}", flush=True)


if __name__ == "__main__":
    main()
