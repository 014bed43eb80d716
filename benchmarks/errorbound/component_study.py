#!/usr/bin/env python3
"""Where an error-bounded file's residual goes, component by component, against SZ3 (issue #23).

For each model (`train --max-rel-error R` of SERIES): the bytes of its RESIDUAL streams summed per
component (`context_study.parse`), beside SZ3 (`pysz`, absolute bound R × range of the
component, the points in the file's order as one flat array: the error-bounded benchmark's
"mesh" layout) on the same component. Weights are not split by component (one network serves
all) and are left out of both columns.

    python3 component_study.py SERIES.pvd R=MODEL.mci [R=MODEL.mci ...] [--out TABLE.md]
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from context_study import parse  # noqa: E402
from predictor_study import print_tables, table_row  # noqa: E402  (also puts benchmarks/ and python/ on the path)
import vtu  # noqa: E402


def sz3_bytes(x, bound):
    from pysz import sz, szConfig, szErrorBoundMode
    cfg = szConfig()
    cfg.errorBoundMode = szErrorBoundMode.ABS
    cfg.absErrorBound = float(bound)
    blob, _ = sz.compress(np.ascontiguousarray(x).ravel(), cfg)
    return len(blob)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("series")
    ap.add_argument("models", nargs="+", help="R=MODEL.mci")
    ap.add_argument("--out", help="append the table (markdown) to this file")
    a = ap.parse_args()
    _, names, values = vtu.read_components(a.series)
    lines = []
    for spec in a.models:
        r, path = spec.split("=", 1)
        n, t, c, table = parse(path)
        if (t, n, c) != values.shape:
            sys.exit(f"component_study: {path} holds {t} steps × {n} points × {c} components, "
                     f"{a.series} {values.shape[0]} × {values.shape[1]} × {values.shape[2]}")
        ours = np.zeros(c)
        for k, entry in enumerate(table):   # streams step-major: (step, component)
            ours[k % c] += entry[3]
        for j in range(c):
            x = values[:, :, j]
            span = float(x.max() - x.min())
            sz = sz3_bytes(x, float(r) * (span if span > 0 else 1.0))
            table_row(lines, {"R": r, "component": names[j], "ours: residual KiB": f"{ours[j] / 1024:.1f}",
                              "share of our residual": f"{100 * ours[j] / ours.sum():.0f} %",
                              "SZ3 (mesh) KiB": f"{sz / 1024:.1f}"}, {"SZ3 / ours": sz / ours[j]}, {})
    print_tables(lines, a.out)


if __name__ == "__main__":
    main()
