#!/usr/bin/env python3
"""Which scales of the paper-scale generator's `multiscale` field the network leaves to the
residual (issue #23).

`examples/make_paper_scale.py` builds `multiscale` from 5 octaves of 3 plane waves each
(wavelengths 0.67 … 0.042, every octave at its own speed in time). For an error-bounded model of
such a series, this study decodes the network alone at the mesh points and stored steps (the C
decoder through python/mcinr), takes the residual r = data − network, and

* fits r at each step by least squares as Σ_o β_o · octave_o (the generator's own octave sums,
  recomputed from its seed): β_o ≈ 0 means the network holds octave o, ≈ 1 that it left it all;
* measures the order-0 entropy of the residual's quantisation indices q = round(r / s) (s the
  file's bin width) as they are, after the previous step, and after a least-squares temporal
  predictor of order 2 and 3 (the format's linear predictor's time terms).

    python3 octave_study.py SERIES.pvd MODEL.mci [--seed 1] [--component multiscale] [--lib libmcinr.so]
"""
import argparse
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples")]
from predictor_study import entropy  # noqa: E402  (also puts benchmarks/ and python/ on the path)
import mcinr  # noqa: E402
import vtu  # noqa: E402
from make_paper_scale import Fields  # noqa: E402


def bits_per_value(a):
    return entropy(a) / a.size


def octaves(fields, points, t):
    x, y, z = (points[:, a].astype(np.float64) for a in range(3))
    out = []
    for o in range(len(fields.waves) // 3):
        acc = np.zeros_like(x)
        for kv, ph, om, amp in fields.waves[3 * o:3 * o + 3]:
            acc += amp * np.sin(kv[0] * x + kv[1] * y + kv[2] * z + (ph + om * t))
        out.append(acc)
    return np.stack(out, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("series")
    ap.add_argument("model")
    ap.add_argument("--seed", type=int, default=1, help="the series' make_paper_scale.py --seed")
    ap.add_argument("--component", default="multiscale")
    ap.add_argument("--lib", help="libmcinr.so (default: built into a temporary directory)")
    a = ap.parse_args()
    points, names, values = vtu.read_components(a.series)
    c = names.index(a.component)
    lib = a.lib or mcinr.build_library(tempfile.mkdtemp(prefix="octave-study-"))
    model = mcinr.Model(a.model, library=lib)
    times = model.times
    steps = len(times)
    s = 2 * model.residual_max_error(c) * (1 - 1 / 64)  # the writer's bin width
    data = values[:, :, c].astype(np.float64)
    net = np.stack([model.decode_mesh(t, components=[c], network_only=True).reshape(-1) for t in times])
    r = data - net
    q = np.round(r / s).astype(np.int64)
    fields = Fields([a.component], a.seed, 0.01)
    t01 = np.linspace(0.0, 1.0, steps)  # the generator's t over the steps
    wavelengths = [2 * np.pi / np.linalg.norm(kv) for kv, _, _, _ in fields.waves[::3]]

    print(f"{a.component}: {points.shape[0]} points, {steps} steps, bin width s = {s:.5g}")
    print("| step | residual rms | rms / s | " + " | ".join(f"β octave {o} (λ {w:.3f})" for o, w in enumerate(wavelengths))
          + " | variance the octaves explain | data − octaves max |")
    print("|---:|---:|---:|" + "---:|" * len(wavelengths) + "---:|---:|")
    for t in range(steps):
        basis = octaves(fields, points, t01[t])
        beta, *_ = np.linalg.lstsq(basis, r[t], rcond=None)
        explained = 1 - float(((r[t] - basis @ beta) ** 2).mean() / (r[t] ** 2).mean())
        check = float(np.abs(basis.sum(1) - data[t]).max())
        rms = float(np.sqrt((r[t] ** 2).mean()))
        print(f"| {t} | {rms:.4f} | {rms / s:.1f} | " + " | ".join(f"{b:.3f}" for b in beta)
              + f" | {explained:.3f} | {check:.1e} |")

    print("\norder-0 entropy of the indices, bits per value (steps with the predictor's references):")
    rows = [("as they are", [bits_per_value(q[t]) for t in range(steps)]),
            ("minus the previous step", [bits_per_value(q[t] - q[t - 1]) for t in range(1, steps)])]
    for order in (2, 3):
        hs = []
        for t in range(order, steps):
            past = np.stack([q[t - k] for k in range(1, order + 1)], 1).astype(np.float64)
            w, *_ = np.linalg.lstsq(past, q[t].astype(np.float64), rcond=None)
            hs.append(bits_per_value(q[t] - np.round(past @ w).astype(np.int64)))
        rows.append((f"least-squares order {order} in time", hs))
    for label, hs in rows:
        print(f"  {label}: mean {np.mean(hs):.2f} ({', '.join(f'{h:.2f}' for h in hs)})")


if __name__ == "__main__":
    main()
