"""One run of the parallel-reading benchmark (docs/benchmarks/parallel-reading.md), under
    mpiexec -np R pvbatch benchmarks/parallel/parallel_read.py --plugin P.so --data FILE --out result.json
FILE is an .mci (MCINRReader, NumberOfThreads 1) or a .pvd of .pvtu steps (ParaView's own XML
readers). Rank 0 runs the script; every rank runs the pipeline. A ProgrammableFilter after the
reader ends each update with a barrier (so rank 0's wall time covers the slowest rank) and
records per rank its piece size and memory (VmRSS, VmHWM from /proc/self/status). Timed: the open
plus the first step (time of the first stored step), then a switch to the second step. Written:
one JSON object (rank count, times, per-rank points/cells/peak RSS, the RSS before opening).
"""
import argparse
import json
import os
import time

RANK_SCRIPT = r"""
import json, os
from vtkmodules.vtkParallelCore import vtkMultiProcessController
inp = self.GetInputDataObject(0, 0)
self.GetOutputDataObject(0).ShallowCopy(inp)
ctrl = vtkMultiProcessController.GetGlobalController()
rank = ctrl.GetLocalProcessId() if ctrl else 0
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
kb = lambda key: int(status[key].split()[0])
fd = inp.GetFieldData().GetArray("MCINR_piece_decoded")
rec = {"rank": rank, "points": inp.GetNumberOfPoints(), "cells": inp.GetNumberOfCells(),
       "rss_mib": kb("VmRSS") / 1024.0, "peak_rss_mib": kb("VmHWM") / 1024.0,
       "counters": [fd.GetValue(i) for i in range(fd.GetNumberOfTuples())] if fd is not None else []}
with open(OUT + ".rank%d.%s.json" % (rank, TAG), "w") as f:
    json.dump(rec, f)
if ctrl:
    ctrl.Barrier()
"""


def rss_now():
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from paraview import servermanager
    from paraview.simple import LoadPlugin, OpenDataFile, ProgrammableFilter
    ranks = servermanager.vtkProcessModule.GetProcessModule().GetNumberOfLocalPartitions()
    LoadPlugin(args.plugin, ns=globals())
    base_rss = rss_now()
    result = {"data": os.path.basename(args.data), "ranks": ranks, "rss_before_open_mib_rank0": base_rss}
    t0 = time.perf_counter()
    reader = OpenDataFile(args.data)
    if args.data.endswith(".mci"):
        reader.NumberOfThreads = 1
    times = list(reader.TimestepValues)
    steps = []
    for k, (tag, t) in enumerate((("open", times[0]), ("switch", times[1]))):
        script = RANK_SCRIPT.replace("OUT", repr(args.out)).replace("TAG", repr(tag))
        pf = ProgrammableFilter(Input=reader, Script=script)
        start = t0 if k == 0 else time.perf_counter()
        pf.UpdatePipeline(t)
        steps.append(time.perf_counter() - start)
    result["open_first_step_s"], result["switch_step_s"] = steps
    for tag in ("open", "switch"):
        result[tag + "_ranks"] = []
        for r in range(ranks):
            with open(args.out + ".rank%d.%s.json" % (r, tag)) as f:
                result[tag + "_ranks"].append(json.load(f))
            os.remove(args.out + ".rank%d.%s.json" % (r, tag))
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: v for k, v in result.items() if not k.endswith("_ranks")}))


main()
