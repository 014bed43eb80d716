#!/usr/bin/env python3
"""What coding the points coarse to fine would buy a step predicted in space (issue #23).

The residual predicts a point from its earlier neighbours in the mesh's point order: the plane
through them is an extrapolation, the neighbours lying mostly on one side. SZ3's interpolation
predictor, our strongest peer at 10⁻³, codes a coarse grid first and predicts each finer point
from coarser ones on both sides. This study measures the same idea on the mesh, on the data's
own quantisation indices (order-0 entropy, floating point, as the other studies), for a step
predicted in space alone (a chain's first step: about a third of vessel-small's bits at 10⁻³,
residual-predictors.md):

* causal (the format): the format 1.7 blend at a chain's start (the plane through the earlier
  neighbours, the linear plane prediction; time_order_study.step_bits with no reference);
* coarse to fine: the points are split into levels by repeated independent sets of the point
  graph (Luby's rule with random priorities, three rounds each): the points of an independent
  set are coded after every point still left, each predicted by the least-squares plane through
  its neighbours there (all around it: an interpolation), and taken out; the points left are
  joined to their 12 nearest others left (the next level's graph); the last few percent of
  points are coded causally as the format does. Each level is costed as its own distribution
  (an adaptive coder with a context per level). With --octree, the levels are octree cells
  instead (level ℓ keeps one point per cube of side s·2^ℓ, s the mean nearest-point distance;
  the others are predicted from their 12 nearest kept points), so that most points are in the
  finest level, as in SZ3's interpolation.

    python3 hierarchy_study.py --dataset vessel-small=PATH.pvd [--bounds 1e-3 1e-4] [--octree]
"""
import os
import sys

import numpy as np
import scipy.sparse as sp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from predictor_study import entropy, load, mesh_operators, plane_rows, print_tables, quantised, study_args, table_row  # noqa: E402
from quadratic_study import PLANE_CAP  # noqa: E402
from time_order_study import step_bits  # noqa: E402

COARSEST = 0.03  # the points left when the levels stop (coded causally)


def point_graph(conn, offsets, n):
    """Symmetric point adjacency (two points sharing a cell of 2 … 64 points), CSR, boolean."""
    starts = np.concatenate([[0], offsets[:-1]])
    rows, cols = [], []
    conn = np.asarray(conn)
    for size in np.unique(offsets - starts):
        if not 2 <= size <= 64:
            continue
        cells = conn[starts[(offsets - starts) == size][:, None] + np.arange(size)]
        for a in range(size):
            for b in range(size):
                if a != b:
                    rows.append(cells[:, a])
                    cols.append(cells[:, b])
    r, c = np.concatenate(rows), np.concatenate(cols)
    g = sp.csr_matrix((np.ones(len(r), bool), (r, c)), shape=(n, n))
    g.setdiag(False)
    g.eliminate_zeros()
    return g


def knn_graph(points, ids, k):
    """Symmetric graph over `ids` (indices into the full point set): each point joined to its k
    nearest others, CSR over all n points (rows of other points empty)."""
    from scipy.spatial import cKDTree
    n = len(points)
    _, nn = cKDTree(points[ids]).query(points[ids], k=k + 1)
    r = np.repeat(ids, k)
    c = ids[nn[:, 1:].ravel()]
    g = sp.csr_matrix((np.ones(len(r), bool), (r, c)), shape=(n, n))
    return (g + g.T).astype(bool).tocsr()


def levels(points, g, rng, k=12):
    """[(fine points, their (i, j) pairs to coarser neighbours)] finest first, and the points
    left. The first level's neighbours are the mesh's; a coarser level's graph joins each point
    left to its k nearest others left (the mesh's two-hop joins would fill in quickly)."""
    n = g.shape[0]
    alive = np.ones(n, bool)
    out = []
    while alive.sum() > COARSEST * n:
        ids = np.flatnonzero(alive)
        sub = g[ids][:, ids].tocsr()
        m = len(ids)
        chosen = np.zeros(m, bool)
        blocked = np.zeros(m, bool)
        for _ in range(3):  # Luby: a free point whose priority beats every free neighbour's joins
            prio = rng.random(m)
            prio[chosen | blocked] = -1.0
            nb_max = sub.multiply(prio[None, :]).max(axis=1).toarray().ravel()
            pick = (prio > nb_max) & (prio >= 0)
            chosen |= pick
            blocked |= np.asarray(sub[:, np.flatnonzero(pick)].sum(axis=1)).ravel() > 0
            blocked &= ~chosen
        if not chosen.any():
            break
        fine = ids[chosen]
        f = sub[chosen][:, ~chosen].tocoo()  # a fine point's neighbours are all coarser
        coarse = ids[~chosen]
        i_, j_ = fine[f.row], coarse[f.col]
        order = np.lexsort((j_, i_))
        out.append((fine, i_[order], j_[order]))
        alive[fine] = False
        g = knn_graph(points, np.flatnonzero(alive), k)
    return out, np.flatnonzero(alive)


def grid_levels(points, k=12):
    """Octree levels: level ℓ keeps one point per cube of side s·2^ℓ (s: the mean nearest-point
    distance); the points of level ℓ not kept at ℓ + 1 are predicted from their k nearest kept
    ones (as SZ3's interpolation halves the spacing per level: most points are in the finest)."""
    from scipy.spatial import cKDTree
    n = len(points)
    d, _ = cKDTree(points).query(points, k=2)
    side = d[:, 1].mean()
    lo = points.min(axis=0)
    alive = np.arange(n)
    out = []
    for level in range(1, 12):
        if len(alive) <= COARSEST * n:
            break
        cell = np.floor((points[alive] - lo) / (side * 2 ** level)).astype(np.int64)
        _, first = np.unique(cell, axis=0, return_index=True)
        keep = np.zeros(len(alive), bool)
        keep[first] = True
        fine, coarse = alive[~keep], alive[keep]
        if len(fine) == 0 or len(coarse) < 4:
            break
        _, nn = cKDTree(points[coarse]).query(points[fine], k=min(k, len(coarse)))
        i_ = np.repeat(fine, nn.shape[1])
        j_ = coarse[nn.ravel()]
        order = np.lexsort((j_, i_))
        out.append((fine, i_[order], j_[order]))
        alive = coarse
    return out, alive


def study(points, conn, offsets, values, bounds, seed=1, octree=False):
    T, n, C = values.shape
    ops = mesh_operators(points, conn, offsets, n, cap=PLANE_CAP)
    lv, coarsest = grid_levels(points) if octree else levels(points, point_graph(conn, offsets, n),
                                                                  np.random.default_rng(seed))
    weights = [plane_rows(points, i_, j_, n, least=4, cap=PLANE_CAP) for _, i_, j_ in lv]
    sizes = [len(f) for f, _, _ in lv]
    print(f"levels (finest first): {sizes}, coarsest {len(coarsest)} of {n}", flush=True)
    raw_bits = T * n * C * 32
    rows = []
    for R in bounds:
        causal = hier = 0.0
        for c in range(C):
            q = quantised(values[:, :, c], R)
            plane = [ops.plane(q[s]) for s in range(T)]
            for t in range(T):
                causal += step_bits(q, plane, t, [], ops.mean, ops.abs_mean, rich=False)
                y = q[t].astype(float)
                for (fine, i_, j_), w in zip(lv, weights):
                    pred = np.bincount(i_, weights=w * y[j_], minlength=n)[fine]
                    hier += entropy(q[t][fine] - np.rint(pred).astype(np.int64))
                rest = np.zeros(n, bool)
                rest[coarsest] = True  # coded causally among themselves: the plane's cost at those points
                d = q[t] - np.rint(plane[t]).astype(np.int64)
                hier += entropy(d[rest])
        rows.append((R, {"spatial, causal (format)": raw_bits / causal, "spatial, coarse to fine": raw_bits / hier}))
        print(R, rows[-1][1], flush=True)
    return rows, sizes


def main():
    a = study_args(__doc__, [1e-3, 1e-4],
                   (["--octree"], dict(action="store_true", help="levels by octree cells instead of independent sets")))
    lines = []
    for spec in a.dataset:
        label, path = spec.split("=", 1)
        points, conn, offsets, values = load(path)
        rows, sizes = study(points, conn, offsets, values, a.bounds, octree=a.octree)
        for R, ratios in rows:
            table_row(lines, {"dataset": label, "levels": f"{len(sizes)} ({'octree' if a.octree else 'independent sets'})",
                              "R": f"{R:g}"}, ratios,
                      {"coarse to fine / causal": f"{ratios['spatial, coarse to fine'] / ratios['spatial, causal (format)']:.3f}×"})
    print_tables(lines, a.out)


if __name__ == "__main__":
    main()
