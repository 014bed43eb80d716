#!/usr/bin/env python3
"""What extending short neighbour lists one neighbour step would buy (issue #23; format 1.10's
NEIGHBOURS section).

The residual predicts a point from its earlier mesh neighbours Nb(i) (j < i sharing a cell). A
mesh refined once with its coarse points numbered first (vessel-medium: make.sh refines
vessel-small's gmsh mesh once) gives every coarse point an empty Nb: each of its edges leads to
a later midpoint. Nb′ (docs/mci-format.md, "NEIGHBOURS") adds, where |Nb(i)| < K, the earlier
points one neighbour step further: j < i in Nb(m) for every m sharing a cell with i, the 32
largest.

Measured as time_order_study.py measures (order-0 entropy of the data's own quantisation
indices, floating point, no range-coder contexts): the format 1.9 predictions in time order
with the anchor (`anchor_levels`), over Nb and over Nb′ for each K; KiB of the whole series.

    python3 neighbour_study.py --dataset LABEL=PATH.pvd [--bounds 1e-3 1e-4] [--least 1 4 5 8] [--out TABLE.md]
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import predictor_study  # noqa: E402
from predictor_study import load, mesh_operators, print_tables, quantised, study_args, table_row  # noqa: E402
from quadratic_study import PLANE_CAP  # noqa: E402
from time_order_study import anchor_levels, step_bits  # noqa: E402

FORMAT_NB = predictor_study.earlier_neighbours
MAX_NEIGHBOURS = predictor_study.MAX_NEIGHBOURS


def ring(conn, offsets, n):
    """H: row i holds every point sharing a cell of 2 … 64 points with i (i included)."""
    import scipy.sparse as sp
    r, c = predictor_study.cell_pairs(conn, offsets, same=True)
    return sp.coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n)).tocsr()


def extended_pairs(conn, offsets, n, least):
    """Nb′ as (i, j) pairs sorted by i (sparse products: H(i) Nb(m))."""
    import scipy.sparse as sp
    p = FORMAT_NB(conn, offsets, n)
    nb = sp.coo_matrix((np.ones(len(p)), (p[:, 0], p[:, 1])), shape=(n, n)).tocsr()  # row m: Nb(m)
    h = ring(conn, offsets, n)
    short = np.flatnonzero(np.bincount(p[:, 0], minlength=n) < least)
    two = (h[short] @ nb).tocoo()
    i2, j2 = short[two.row], two.col
    extra = np.stack([i2, j2], 1)[j2 < i2]
    pairs = np.unique(np.concatenate([p, extra]), axis=0)
    ends = np.searchsorted(pairs[:, 0], np.arange(n), side="right")
    rank_from_end = ends[pairs[:, 0]] - 1 - np.arange(len(pairs))
    return pairs[rank_from_end < MAX_NEIGHBOURS], len(short)


def operators(points, conn, offsets, n, least):
    """predictor_study.mesh_operators over Nb′ (over Nb with least = 0), and how many lists
    were extended."""
    short = 0
    if least:
        pairs, short = extended_pairs(conn, offsets, n, least)
        predictor_study.earlier_neighbours = lambda *_: pairs
    try:
        return mesh_operators(points, conn, offsets, n, cap=PLANE_CAP), short
    finally:
        predictor_study.earlier_neighbours = FORMAT_NB


def series_kib(points, conn, offsets, values, R, least):
    T, n, C = values.shape
    ops, short = operators(points, conn, offsets, n, least)
    bits = 0.0
    for c in range(C):
        q = quantised(values[:, :, c], R)
        plane = [ops.plane(q[t]) for t in range(T)]
        for t, levels in anchor_levels(T):
            bits += step_bits(q, plane, t, levels, ops.mean, ops.abs_mean, rich=False, levels=levels)
    return bits / 8 / 1024, short


def main():
    a = study_args(__doc__, [1e-3, 1e-4], (["--least"], dict(type=int, nargs="+", default=[1, 4, 5, 8],
                                                             help="the K of Nb′ to measure")))
    lines = []
    for spec in a.dataset:
        label, path = spec.split("=", 1)
        points, conn, offsets, values = load(path)
        n = values.shape[1]
        empty = int(np.sum(np.bincount(FORMAT_NB(conn, offsets, n)[:, 0], minlength=n) == 0))
        for R in a.bounds:
            base, _ = series_kib(points, conn, offsets, values, R, 0)
            row = {"dataset": label, "points": str(n), "without earlier neighbours": str(empty), "R": f"{R:g}",
                   "Nb (format 1.9) KiB": f"{base:.1f}"}
            for k in a.least:
                kib, short = series_kib(points, conn, offsets, values, R, k)
                row[f"Nb′ K = {k}: KiB (lists extended)"] = f"{kib:.1f} ({short}), {100 * (kib / base - 1):+.1f} %"
                print(label, R, k, row[f"Nb′ K = {k}: KiB (lists extended)"], flush=True)
            table_row(lines, row, {}, {})
    print_tables(lines, a.out)


if __name__ == "__main__":
    main()
