#!/usr/bin/env python3
"""SZ3 at the compression ratio of the MPI benchmark's model (benchmarks/mpi/scale.py), on the
same fields: every rank count writes the same model, so one comparison holds for every R.

Reads the .pvd of .pvtu steps the way mcinr-vtk does (pieces concatenated in order), then
bisects SZ3's error bound (range-relative, per component, 1-D float32 arrays of all steps, in
mesh order and in Morton order; `benchmarks/bench.py`'s Compressors) to the tightest bound whose
ratio still reaches the model's ratio (fields / weights), and stores PSNR and ratio in the
results JSON under "sz3". Needs numpy, pysz and zfpy (a venv):

    python3 -m venv /tmp/szvenv && /tmp/szvenv/bin/pip install numpy pysz zfpy
    /tmp/szvenv/bin/python benchmarks/mpi/sz3.py
"""
import argparse
import json
import os
import sys
import time


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
sys.path.insert(0, os.path.join(ROOT, "python"))
import vtu  # noqa: E402
from bench import Compressors  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=os.path.expanduser("~/.cache/mcinr-bench/mpi"))
    ap.add_argument("--results", default=os.path.join(ROOT, "docs", "benchmarks", "mpi.json"))
    ap.add_argument("--iterations", type=int, default=12)
    args = ap.parse_args()
    with open(args.results) as f:
        results = json.load(f)
    run = results["runs"]["1x1"]
    start = time.time()
    points, _, values = vtu.read_components(os.path.join(args.work, "data", "series.pvd"))
    assert values.shape[0] * values.shape[1] * values.shape[2] * 4 == run["raw_field_bytes"], values.shape
    compressors = Compressors(points, values)
    out = {"target_ratio": run["ratio_weights"], "model_psnr": run["mean_psnr"], "read_seconds": time.time() - start}
    for order in ("mesh", "morton"):
        m = compressors.at_ratio("SZ3", order, run["ratio_weights"], args.iterations)
        out[order] = {k: m[k] for k in ("psnr", "cr", "rel_eb", "bytes") if k in m}
        print(f"SZ3 {order}: PSNR {m['psnr']:.2f} dB at {m['cr']:.1f}x (target {run['ratio_weights']:.1f}x)", flush=True)
    results["sz3"] = out
    with open(args.results, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
