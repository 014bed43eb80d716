#!/usr/bin/env python3
"""Would a coding order derived from the mesh beat the file's own point order (issue #23)?

The residual predicts point i from its earlier neighbours (j < i sharing a cell), so the point
order decides how many of them a point has: gmsh's order leaves many points with one or two. A
decoder could derive another order from the mesh alone, as SZ3's reordered layouts do: here
(reverse) Cuthill–McKee over the point graph (`predictor_study.renumbered`, the error-bounded
benchmark's RCM layout), and coarse to fine ("levels", `predictor_study.coarse_to_fine`: the
coarse points of a level an independent set, so that finer points have neighbours on both
sides). Measured as neighbour_study.py measures (order-0 KiB of the data's own
indices under the format's predictions in time order with the anchor), over Nb and over Nb′
(K = 5, format 1.10), for each order.

    python3 order_study.py --dataset LABEL=PATH.pvd [--bounds 1e-3] [--out TABLE.md]
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from neighbour_study import series_kib  # noqa: E402
from predictor_study import load, print_tables, renumbered, study_args, table_row  # noqa: E402

ORDERS = ("mesh", "rcm", "cm", "levels")


def main():
    a = study_args(__doc__, [1e-3])
    lines = []
    for spec in a.dataset:
        label, path = spec.split("=", 1)
        points, conn, offsets, values = load(path)
        meshes = {"mesh": (points, conn, values)}
        for order in ORDERS[1:]:
            p, c, v = renumbered(points, conn, offsets, values, order)
            meshes[order] = (p, np.asarray(c), v)
        for R in a.bounds:
            row = {"dataset": label, "R": f"{R:g}"}
            for order in ORDERS:
                p, c, v = meshes[order]
                for least in (0, 5):
                    kib, short = series_kib(p, c, offsets, v, R, least)
                    key = f"{order} order, {'Nb′ K = 5' if least else 'Nb'}: KiB (lists extended)"
                    row[key] = f"{kib:.1f} ({short})"
                    print(label, R, key, row[key], flush=True)
            table_row(lines, row, {}, {})
    print_tables(lines, a.out)


if __name__ == "__main__":
    main()
