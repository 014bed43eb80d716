"""Time to open one time step in ParaView: the MC-INR reader plugin on an .mci model vs
ParaView's own reader on the ground-truth .vtu of the same step, in one pvpython process.

  pvpython open_time.py --plugin MCINRReaderPlugin.so --mci model.mci --vtu step.vtu
                        --time T [--threads 1,2] [--repeats N]

Each repeat builds a fresh reader proxy (OpenDataFile, as File > Open does), updates it at
time T and deletes it, so it includes reading and decompressing the file (mesh included) and,
for the .mci, decoding every array. The files are read once before timing (warm page cache for
both). Best of N. Prints one JSON object.
"""
import argparse
import json
import time

from paraview import servermanager
from paraview.simple import Delete, LoadPlugin, OpenDataFile


def open_once(path, t, threads=None):
    start = time.perf_counter()
    reader = OpenDataFile(path)
    if threads is not None:
        reader.NumberOfThreads = threads
    reader.UpdatePipeline(t)
    elapsed = time.perf_counter() - start
    info = reader.GetDataInformation()
    counts = (info.GetNumberOfPoints(), info.GetNumberOfCells(),
              reader.PointData.GetNumberOfArrays())
    name = reader.GetXMLName()
    Delete(reader)
    return elapsed, counts, name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--mci", required=True)
    ap.add_argument("--vtu", required=True)
    ap.add_argument("--time", type=float, required=True)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    LoadPlugin(args.plugin, ns=globals())
    threads = [int(x) for x in args.threads.split(",")]

    # Warm-up: page cache, plugin and reader factories.
    open_once(args.vtu, args.time)
    open_once(args.mci, args.time, threads[-1])

    result = {"mci": args.mci, "vtu": args.vtu, "time": args.time, "repeats": args.repeats}
    best = {"vtu": 1e30}
    best.update({"mci_t%d" % n: 1e30 for n in threads})
    # Interleaved, so that load from other processes hits both readers alike.
    for _ in range(args.repeats):
        el, counts, name = open_once(args.vtu, args.time)
        best["vtu"] = min(best["vtu"], el)
        result["vtu_reader"], result["vtu_counts"] = name, counts
        for n in threads:
            el, counts, name = open_once(args.mci, args.time, n)
            best["mci_t%d" % n] = min(best["mci_t%d" % n], el)
            result["mci_reader"], result["mci_counts"] = name, counts

    # Changing the time step on an open reader: only the decode (the mesh is kept).
    reader = OpenDataFile(args.mci)
    reader.NumberOfThreads = threads[-1]
    reader.UpdatePipeline(args.time)
    steps = list(reader.TimestepValues)
    other = [s for s in steps if s != args.time] or steps
    step_best = 1e30
    for i in range(args.repeats):
        start = time.perf_counter()
        reader.UpdatePipeline(other[i % len(other)])
        step_best = min(step_best, time.perf_counter() - start)
    Delete(reader)
    best["mci_step_change_t%d" % threads[-1]] = step_best
    result["best_seconds"] = best
    print(json.dumps(result))


if __name__ == "__main__":
    main()
