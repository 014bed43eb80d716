"""Time to play an .mci's stored steps in ParaView: the MC-INR reader plugin in pvpython.

  pvpython paraview_steps.py --plugin MCINRReaderPlugin.so --mci model.mci [--repeats N]

Each repeat builds a fresh reader proxy (OpenDataFile, as File > Open does) and times:
  open    OpenDataFile and its information pass (the file's open: what File > Open shows
          before anything is drawn);
  first   UpdatePipeline at the first stored step (the mesh and the first decode; the file is
          opened by OpenDataFile's information pass, before it);
  next    each later stored step in time order, as the animation toolbar's Play asks for them
          (mean per step);
  jump    a fresh reader's first step, then the last stored step at once (a jump in time).
Best of N per quantity. Prints one JSON object.
"""
import argparse
import json
import sys
import time

from paraview.simple import Delete, LoadPlugin, OpenDataFile


def timed_update(reader, t):
    start = time.perf_counter()
    reader.UpdatePipeline(t)
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--mci", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    LoadPlugin(args.plugin, remote=False, ns=globals())
    with open(args.mci, "rb") as f:  # warm page cache
        f.read()
    first = nexts = jump = opened = float("inf")
    steps = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        reader = OpenDataFile(args.mci)
        reader.UpdatePipelineInformation()
        opened = min(opened, time.perf_counter() - start)
        steps = list(reader.TimestepValues)
        if not steps:
            sys.exit(f"paraview_steps: the reader gave no time steps for {args.mci} (a format this plugin cannot read?)")
        first = min(first, timed_update(reader, steps[0]))
        if reader.GetDataInformation().GetNumberOfPoints() == 0:
            sys.exit(f"paraview_steps: the reader gave no points for {args.mci}")
        later = [timed_update(reader, t) for t in steps[1:]]
        nexts = min(nexts, sum(later) / max(len(later), 1))
        Delete(reader)
        reader = OpenDataFile(args.mci)
        reader.UpdatePipeline(steps[0])
        jump = min(jump, timed_update(reader, steps[-1]))
        Delete(reader)
    print(json.dumps({"model": args.mci, "steps": len(steps), "repeats": args.repeats,
                      "open_s": opened, "first_s": first, "next_s": nexts, "jump_s": jump}))


if __name__ == "__main__":
    main()
