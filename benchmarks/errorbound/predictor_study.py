#!/usr/bin/env python3
"""Which residual predictors pay, measured on the data's own quantisation indices (issue #23).

For each dataset and bound R, every component is quantised on the error-bounded mode's grid
(q = round((x − min) / s), s = 2 R range (1 − 1/64): the writer's data streams) and each
candidate predictor's differences are measured by their order-0 entropy, summed over steps and
components (the estimate the writer's chooser uses; the range coder's contexts then take some
more off every candidate). The chooser picks per stream, so each column is "the format 1.2
choices plus this candidate", as a ratio raw fields / bits:

* 1.2: the previous step, the mean of the earlier mesh neighbours, both, or nothing;
* + linear (1.4, kept): least-squares Q12 weights over the point's last three steps and the
  neighbours' sums at this step and the last three, in exact integer arithmetic;
* + linear, 1 step: the same with one step of history only (what the history buys);
* + geometric plane: a least-squares plane through the earlier neighbours' coordinates,
  evaluated at the point (not kept: its weights come from floating-point geometry that every
  decoder would have to reproduce bit for bit to reconstruct the same indices);
* + second difference: q_{t−1} + (q_{t−1} − q_{t−2}) with the mesh mean (not kept: fixed weights);
* + reflection: the linear predictor with one more feature, a tetrahedron's reflection:
  for a cell (a, b, c, i) whose other vertices come before i and the cell (a, b, c, o) across
  the face abc with o < i, (2 (y_a + y_b + y_c) − 3 y_o) / 3 — exact for a linear field when i
  is o reflected through the face's centroid (connectivity only: integers, no geometry).

    python3 predictor_study.py --dataset vessel-small=/path/vessel.pvd [--bounds 1e-3 1e-4 1e-5] --out REPORT.md
"""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
sys.path.insert(0, os.path.join(ROOT, "python"))
import vtu  # noqa: E402

CHAIN = 8           # the writer restarts every prediction chain at multiples of 8 steps
DEPTH = 3           # steps of history of the linear predictor
MAX_NEIGHBOURS = 32


def cell_pairs(conn, offsets, same=False):
    """(a, b) for every two points of a cell of 2 … 64 points (a == b too with `same`), as two
    arrays, repeats included."""
    starts = np.concatenate([[0], offsets[:-1]])
    rows, cols = [], []
    for size in np.unique(offsets - starts):
        if not 2 <= size <= 64:
            continue
        cells = np.stack([conn[starts[offsets - starts == size] + k] for k in range(size)], 1)
        for a in range(size):
            for b in range(size):
                if same or a != b:
                    rows.append(cells[:, a])
                    cols.append(cells[:, b])
    return np.concatenate(rows), np.concatenate(cols)


def earlier_neighbours(conn, offsets, n):
    """Nb(i) of the format (j < i sharing a cell, the 32 largest) as (i, j) pairs, sorted by i."""
    p = np.unique(np.stack(cell_pairs(conn, offsets), 1), axis=0)
    p = p[p[:, 1] < p[:, 0]]
    # keep the 32 largest j per i: p is sorted by (i, j)
    ends = np.searchsorted(p[:, 0], np.arange(n), side="right")
    rank_from_end = ends[p[:, 0]] - 1 - np.arange(len(p))
    return p[rank_from_end < MAX_NEIGHBOURS]


def plane_rows(points, i_, j_, n, least=5, cap=None):
    """The plane's weight per (i, j) pair of earlier_neighbours: row 0 of the pseudo-inverse of
    [1, p_j − p_i] where i has at least `least` neighbours (and, with `cap`, Σ |w| ≤ cap), else
    the mean 1/k."""
    w = np.zeros(len(i_))
    starts = np.concatenate([[0], np.cumsum(np.bincount(i_, minlength=n))])
    for i in range(n):
        a, b = starts[i], starts[i + 1]
        if b - a >= least:
            A = np.hstack([np.ones((b - a, 1)), points[j_[a:b]] - points[i]])
            w[a:b] = np.linalg.pinv(A, rcond=1e-6)[0]
            if cap is not None and np.abs(w[a:b]).sum() > cap:
                w[a:b] = 1.0 / (b - a)
        elif b > a:
            w[a:b] = 1.0 / (b - a)
    return w


def study_args(doc, bounds, *extra):
    """The studies' command line: --dataset LABEL=PATH.pvd (repeatable), --bounds (default
    `bounds`), --out; `extra`: (flags, keyword arguments) of more options."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", action="append", required=True, help="LABEL=PATH.pvd (repeatable)")
    ap.add_argument("--bounds", nargs="+", type=float, default=bounds)
    ap.add_argument("--out", help="append the table (markdown) to this file")
    for flags, options in extra:
        ap.add_argument(*flags, **options)
    return ap.parse_args()


def table_row(lines, leading, ratios, derived):
    """Appends to `lines` one markdown row: the `leading` cells (header → text), every ratio
    (name → value, two decimals), the `derived` cells (header → text); before the first row,
    the header and rule from its names."""
    if not lines:
        heads = list(leading) + list(ratios) + list(derived)
        lines += ["| " + " | ".join(heads) + " |", "|---|" + "---:|" * (len(heads) - 1)]
    cells = list(leading.values()) + [f"{v:.2f}" for v in ratios.values()] + list(derived.values())
    lines.append("| " + " | ".join(cells) + " |")


def load(path):
    """A .pvd series as the studies read it: points (float64), the first step's cells
    (connectivity, offsets) and the values (steps × points × components)."""
    points, _, values = vtu.read_components(path)
    conn, offsets, _ = vtu.read_cells(vtu.read_series(path)[1][0])
    return np.asarray(points, float), conn, offsets, values


def mesh_operators(points, conn, offsets, n, cap=8.0):
    """The studies' operators over the earlier neighbours Nb(i): .i, .j the (i, j) pairs,
    .mean(y) the neighbours' mean, .plane(y) the plane through them at p_i (plane_rows: at
    least 4 neighbours, Σ |w| ≤ cap, else the mean), .abs_mean(e) the mean |e| over them."""
    from types import SimpleNamespace
    p = earlier_neighbours(conn, offsets, n)
    i_, j_ = p[:, 0], p[:, 1]
    kk = np.maximum(np.bincount(i_, minlength=n), 1).astype(float)
    W = plane_rows(points, i_, j_, n, least=4, cap=cap)
    return SimpleNamespace(i=i_, j=j_,
                           mean=lambda y: np.bincount(i_, weights=y[j_].astype(float), minlength=n) / kk,
                           plane=lambda y: np.bincount(i_, weights=W * y[j_], minlength=n),
                           abs_mean=lambda e: np.bincount(i_, weights=np.abs(e[j_]), minlength=n) / kk)


def reflection_pairs(conn, offsets, n):
    """Per point i: (a, b, c, o) of the first cell (a, b, c, i), i its largest vertex, with a
    cell (a, b, c, o) across the face abc and o < i; -1 where there is none."""
    starts = np.concatenate([[0], offsets[:-1]])
    tets = np.sort(np.stack([conn[starts[offsets - starts == 4] + k] for k in range(4)], 1), axis=1)
    faces = np.concatenate([np.delete(tets, k, axis=1) for k in range(4)])
    apex = np.concatenate([tets[:, k] for k in range(4)])
    key = (faces[:, 0] * n + faces[:, 1]) * n + faces[:, 2]
    order = np.argsort(key, kind="stable")
    key, faces, apex = key[order], faces[order], apex[order]
    same = np.nonzero(key[1:] == key[:-1])[0]  # a face shared by two cells: entries s, s + 1
    out = np.full((n, 4), -1, dtype=np.int64)
    for first, second in ((same, same + 1), (same + 1, same)):
        i, o = apex[first], apex[second]  # the cell whose apex is i, the one across
        keep = (o < i) & (faces[first, 2] < i)
        i, o, f = i[keep], o[keep], faces[first][keep]
        fresh = out[i, 0] < 0
        _, firsts = np.unique(i[fresh], return_index=True)
        sel = np.nonzero(fresh)[0][firsts]
        out[i[sel], :3] = f[sel]
        out[i[sel], 3] = o[sel]
    return out


def greedy_independent(g):
    """A greedy maximal independent set of graph g (CSR), in id order (hierarchy_study.levels
    picks its sets by Luby's random priorities instead, on nearest-neighbour graphs)."""
    start, dst = g.indptr, g.indices
    blocked = np.zeros(g.shape[0], bool)
    taken = []
    for p in range(g.shape[0]):
        if not blocked[p]:
            taken.append(p)
            blocked[dst[start[p]:start[p + 1]]] = True
    return np.asarray(taken, np.int64)


def coarse_to_fine(g):
    """A coarse-to-fine order of the points of graph g (CSR), as a multigrid coarsens: the
    coarse points of a level are a greedy maximal independent set of its graph (id order), the
    next level's graph joins two of them that share a neighbour. Coarsest first, then each
    level's other points in id order, so every point has at least one neighbour before it on
    every level but the coarsest."""
    n = g.shape[0]
    level = np.zeros(n, np.int64)
    ids = np.arange(n)
    sizes = [n]
    while len(ids) > 64:
        keep = greedy_independent(g)
        if len(keep) == len(ids):
            break
        g2 = (g @ g).tocsr()[keep][:, keep]
        g2.setdiag(0)
        g2.eliminate_zeros()
        ids, g = ids[keep], g2.tocsr()
        level[ids] += 1
        sizes.append(len(ids))
    return np.lexsort((np.arange(n), -level)), sizes


def renumbered(points, conn, offsets, values, order):
    """The mesh and values with the points renumbered in (reverse) Cuthill–McKee order of the
    point graph (two points joined when a cell of 2 … 64 points holds both), or coarse to fine
    ("levels", `coarse_to_fine`)."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import reverse_cuthill_mckee
    n = len(points)
    p = earlier_neighbours(conn, offsets, n)
    g = sp.coo_matrix((np.ones(2 * len(p)), (np.r_[p[:, 0], p[:, 1]], np.r_[p[:, 1], p[:, 0]])), shape=(n, n)).tocsr()
    if order == "levels":
        perm, sizes = coarse_to_fine(g)
        print(f"coarse_to_fine: level sizes, finest first {sizes}", flush=True)
    else:
        perm = np.asarray(reverse_cuthill_mckee(g, symmetric_mode=True))
    if order == "cm":
        perm = perm[::-1]
    new_id = np.empty(n, dtype=np.int64)
    new_id[perm] = np.arange(n)
    return points[perm], new_id[np.asarray(conn)], values[:, perm, :]


def quantised(x, R):
    """The indices of one component (steps × points) on the error-bounded mode's data grid:
    q = round((x − min) / s), s = 2 R range (1 − 1/64)."""
    x = x.astype(np.float64)
    span = x.max() - x.min()
    return np.rint((x - x.min()) / (2 * R * (span if span > 0 else 1) * (1 - 1 / 64))).astype(np.int64)


def print_tables(lines, out=None):
    """A study's markdown tables: printed, and appended to `out` when given."""
    print("\n".join(lines))
    if out:
        with open(out, "a") as f:
            f.write("\n".join(lines) + "\n")


def entropy(v):
    _, c = np.unique(v, return_counts=True)
    p = c / c.sum()
    return float(-(c * np.log2(p)).sum())


def study(points, conn, offsets, values, bounds):
    T, n, C = values.shape
    p = earlier_neighbours(conn, offsets, n)
    i_, j_ = p[:, 0], p[:, 1]
    k = np.bincount(i_, minlength=n).astype(float)
    kk = np.maximum(k, 1)

    def nbsum(y):
        return np.bincount(i_, weights=y[j_].astype(float), minlength=n)

    def nbmean(y):
        return np.rint(np.where(k > 0, nbsum(y) / kk, 0))

    plane = plane_rows(points, i_, j_, n)

    refl = reflection_pairs(conn, offsets, n)
    has_refl = refl[:, 0] >= 0
    print(f"  reflection found for {has_refl.mean():.1%} of points", flush=True)

    def reflected(y):  # integer, the mesh mean where no reflection exists
        r = refl.clip(0)
        return np.where(has_refl, np.floor_divide(2 * (y[r[:, 0]] + y[r[:, 1]] + y[r[:, 2]]) - 3 * y[r[:, 3]] + 1, 3),
                        nbmean(y))

    def planar(y):
        return np.rint(np.bincount(i_, weights=plane * y[j_], minlength=n))

    def linear(q, t, depth, reflect=False, geometric=False):
        def spatial(y):
            return [planar(y)] if geometric else [nbsum(y) / kk] + ([reflected(y)] if reflect else [])
        feats = spatial(q[t])
        for m in range(1, depth + 1):
            feats += [q[t - m]] + spatial(q[t - m])
        G = np.stack(feats, 1)
        w, *_ = np.linalg.lstsq(G, q[t].astype(float), rcond=None)
        return q[t] - np.rint(G @ (np.round(w * 4096) / 4096)), 32 * G.shape[1]

    raw_bits = T * n * C * 32
    out = []
    for R in bounds:
        bits = dict.fromkeys(["1.2", "+ linear", "+ linear, 1 step", "+ geometric plane", "+ second difference",
                              "+ reflection", "+ linear plane"], 0.0)
        for c in range(C):
            q = quantised(values[:, :, c], R)
            for t in range(T):
                depth = min(t % CHAIN, DEPTH)
                cands = {"none": q[t], "mesh": q[t] - nbmean(q[t])}
                if depth:
                    y = q[t] - q[t - 1]
                    cands.update(time=y, both=y - nbmean(y))
                base = min(entropy(v) for v in cands.values())
                bits["1.2"] += base
                d, extra = linear(q, t, depth)
                bits["+ linear"] += min(base, entropy(d) + extra)
                dr, extrar = linear(q, t, depth, reflect=True)
                bits["+ reflection"] += min(base, entropy(d) + extra, entropy(dr) + extrar)
                dg, extrag = linear(q, t, depth, geometric=True)
                bits["+ linear plane"] += min(base, entropy(d) + extra, entropy(dg) + extrag)
                d1, extra1 = linear(q, t, min(depth, 1))
                bits["+ linear, 1 step"] += min(base, entropy(d1) + extra1)
                geo = [q[t] - planar(q[t])] + ([(q[t] - q[t - 1]) - planar(q[t] - q[t - 1])] if depth else [])
                bits["+ geometric plane"] += min([base] + [entropy(v) for v in geo])
                if depth >= 2:
                    y2 = q[t] - 2 * q[t - 1] + q[t - 2]
                    bits["+ second difference"] += min(base, entropy(y2), entropy(y2 - nbmean(y2)))
                else:
                    bits["+ second difference"] += base
        out.append(dict(bound=R, ratios={key: raw_bits / b for key, b in bits.items()}))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", action="append", required=True, help="LABEL=PATH.pvd (repeatable)")
    ap.add_argument("--bounds", nargs="+", type=float, default=[1e-3, 1e-4, 1e-5])
    ap.add_argument("--out", required=True)
    ap.add_argument("--order", choices=["mesh", "rcm", "cm"], default="mesh",
                    help="the point order the predictors run in: the mesh's own, reverse Cuthill–McKee, or "
                         "Cuthill–McKee (breadth first) over the point graph")
    a = ap.parse_args()
    t0 = time.time()
    rows = []
    for spec in a.dataset:
        label, path = spec.split("=", 1)
        points, _, values = vtu.read_components(path)
        conn, offsets, _ = vtu.read_cells(vtu.read_series(path)[1][0])
        if a.order != "mesh":
            points, conn, values = renumbered(np.asarray(points, float), conn, offsets, values, a.order)
        for r in study(np.asarray(points, float), conn, offsets, values, a.bounds):
            rows.append((label, values.shape, r))
            print(label, r, flush=True)
    keys = list(rows[0][2]["ratios"])
    lines = ["# Residual predictors: what each candidate buys (issue #23)", "",
             f"Generated by `benchmarks/errorbound/predictor_study.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
             f"{(time.time() - t0) / 60:.0f} min). " + __doc__.split("\n\n")[1].replace("\n", " "), "",
             "Ratio raw fields / order-0 bits of the data's indices (no network, no weights, no range-coder contexts):",
             "", "| dataset | steps × points × components | R | " + " | ".join(keys) + " | linear / 1.2 |",
             "|---|---:|---:|" + "---:|" * (len(keys) + 1)]
    for label, shape, r in rows:
        ratios = r["ratios"]
        lines.append(f"| {label} | {shape[0]} × {shape[1]} × {shape[2]} | {r['bound']:g} | "
                     + " | ".join(f"{ratios[k]:.2f}" for k in keys) + f" | {ratios['+ linear'] / ratios['1.2']:.2f}× |")
    lines.append("")
    with open(a.out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
