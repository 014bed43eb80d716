#!/usr/bin/env python3
"""One variant of the seams study (docs/benchmarks/seams-study.md): trains NAME on DATASET with
the given `train` arguments (unless the model exists), evaluates it and prints one line: mean
PSNR, PSNR and seam ratio per component, file bytes.

    benchmarks/seams/variant.py base-s1 vs --seed 1 --max-epochs 3000
    benchmarks/seams/variant.py m10-s1 vs --seed 1 --max-epochs 3000 --seam-margin 0.1 --seam-epochs 200
    BY=base-s1 benchmarks/seams/variant.py single-s1 vs      # seam ratio on base-s1's boundaries

DATASET: vs (vessel-small) or an (the analytic example at 80 × 40 × 40, made as run.py makes it).
Every run is `--time-budget 0` (reproducible). MCINR_VTK selects the binary.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the benchmark's dataset, train and eval steps)

WORK = os.environ.get("SEAMS_WORK", os.path.expanduser("~/.cache/mcinr-bench/seams2"))
NAMES = {"vs": "vessel-small", "an": "analytic"}


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in NAMES:
        sys.exit(__doc__)
    name, ds, *args = sys.argv[1:]
    pvd, out = run.datasets(WORK)[NAMES[ds]], os.path.join(WORK, f"{ds}-{name}.mci")
    seconds = run.train(pvd, out, ["--time-budget", "0", *args])
    if seconds is not None:
        print(f"trained in {seconds:.0f} s", file=sys.stderr)
    by = os.path.join(WORK, f"{ds}-{os.environ['BY']}.mci") if os.environ.get("BY") else None
    r = run.evaluate(out, pvd, seams_by=by)
    ratios = [x for x in r["seam_ratio"] if x is not None]
    seams = " ".join("-" if x is None else f"{x:.2f}" for x in r["seam_ratio"]) or "none"
    comps = " ".join(f"{x:.2f}" for x in r["psnr_components"])
    print(f"{ds} {name}: {r['psnr']:.2f} dB  comps {comps}  "
          f"seams {seams} | max {max(ratios) if ratios else float('nan'):.2f}  bytes {r['file_bytes']}", flush=True)


if __name__ == "__main__":
    main()
