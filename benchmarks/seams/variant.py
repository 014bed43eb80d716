#!/usr/bin/env python3
"""One variant of the seams study (docs/benchmarks/seams-study.md): trains NAME on DATASET with
the given `train` arguments (unless the model exists), evaluates it and prints one line: mean
PSNR, PSNR and seam ratio per component, file bytes.

    benchmarks/seams/variant.py base-s1 vs --seed 1 --max-epochs 3000
    benchmarks/seams/variant.py m10-s1 vs --seed 1 --max-epochs 3000 --seam-margin 0.1 --seam-epochs 200
    BY=base-s1 benchmarks/seams/variant.py single-s1 vs      # seam ratio on base-s1's boundaries

DATASET: vs (vessel-small) or an (the analytic example at 80 × 40 × 40, made by run.py).
Every run is `--time-budget 0` (reproducible). MCINR_VTK selects the binary.
"""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.environ.get("MCINR_VTK", os.path.join(ROOT, ".build", "release", "mcinr-vtk"))
WORK = os.environ.get("SEAMS_WORK", os.path.expanduser("~/.cache/mcinr-bench/seams2"))
DATASETS = {"vs": os.path.join(os.path.dirname(ROOT), "shared", "datasets", "vessel-small", "vessel.pvd"),
            "an": os.path.join(WORK, "analytic", "analytic.pvd")}


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in DATASETS:
        sys.exit(__doc__)
    name, ds, *args = sys.argv[1:]
    pvd, out = DATASETS[ds], os.path.join(WORK, f"{ds}-{name}.mci")
    if not os.path.exists(out):
        start = time.time()
        subprocess.run([TOOL, "train", pvd, "-o", out, "--time-budget", "0", "-q", *args], check=True,
                       stdout=subprocess.DEVNULL)
        print(f"trained in {time.time() - start:.0f} s", file=sys.stderr)
    by = ["--seams-by", os.path.join(WORK, f"{ds}-{os.environ['BY']}.mci")] if os.environ.get("BY") else []
    e = json.loads(subprocess.run([TOOL, "eval", out, "--ground-truth", pvd, "--json", *by], check=True,
                                  capture_output=True, text=True).stdout)
    ratios = [r for r in (e["seams"]["ratio"] or []) if r is not None]
    seams = " ".join("-" if r is None else f"{r:.2f}" for r in e["seams"]["ratio"] or []) or "none"
    comps = " ".join(f"{c['psnr']:.2f}" for c in e["components"])
    print(f"{ds} {name}: {e['mean']['psnr']:.2f} dB  comps {comps}  "
          f"seams {seams} | max {max(ratios) if ratios else float('nan'):.2f}  bytes {os.path.getsize(out)}", flush=True)


if __name__ == "__main__":
    main()
