"""Turns the JSON lines of benchmarks/io/run into a table (stdout) and docs/benchmarks/io.md.
usage: report.py RESULTS.jsonl SERIES RAW_STEP ASCII_STEP OUT.md ROUNDS REPEAT"""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from machine import cpu_name  # noqa: E402  (benchmarks/machine.py)

results_path, series, raw_step, ascii_step, out_path, rounds, repeat = sys.argv[1:8]
rows = [json.loads(line) for line in open(results_path) if line.strip()]
decoded = {r["input"]: r["decoded_bytes"] for r in rows if "decoded_bytes" in r}
best = {}
for r in rows:
    if "wall_s" not in r:
        continue
    key = (r["input"], r["reader"])
    b = best.setdefault(key, dict(r))
    b["wall_s"] = min(b["wall_s"], r["wall_s"])
    b["cpu_s"] = min(b["cpu_s"], r["cpu_s"])

cpu = cpu_name()
vtk_version = next((r.get("vtk_version") for r in rows if r.get("tool") == "vtk"), "?")
labels = {"vtkXMLUnstructuredGridReader": "VTK vtkXMLUnstructuredGridReader (1 thread)",
          "meshio-files": "MeshIO VTUReader.read per file (1 thread, full decode)",
          "meshio-series": "MeshIO DatasetReader.read (as shipped: files in parallel, cells once)"}
cases = [(series, "12-step series, appended raw + zlib (the shared dataset)"),
         (raw_step, "step 0, appended raw, uncompressed (written by VTK)"),
         (ascii_step, "step 0, ascii (written by VTK)")]

MB = 1e6
lines = []
lines.append("# VTU reading: MeshIO vs ParaView's VTK reader")
lines.append("")
measured = datetime.datetime.fromtimestamp(os.path.getmtime(results_path), datetime.timezone.utc)
lines.append(f"Measured {measured.strftime('%Y-%m-%dT%H:%M:%SZ')} "
             f"on {cpu} ({os.cpu_count()} CPUs, load average when reported {os.getloadavg()[0]:.1f}); "
             f"**the machine was shared with several colleagues' builds and tests**. "
             f"ParaView 5.11 (VTK {vtk_version}) through /usr/bin/python3; MeshIO via `mcinr-bench io`, "
             f"release build. The two readers alternate for {rounds} rounds in one run; each number is the "
             f"best of {rounds} × {repeat} timings (each timing repeats the read for ≥ 0.3 s). Files are in "
             f"the page cache (both readers read the same, already cached files): this measures decoding, "
             f"not the disk.")
lines.append("")
lines.append("MB/s = 10⁶ bytes per second of wall time; *file* MB/s divides the bytes on disk, *decoded* "
             "MB/s the bytes of all arrays once decoded (in the types the file declares: points, "
             "connectivity, offsets, types and every point array). CPU MB/s divides by the process CPU "
             "time instead (all threads), which other users' load inflates less. "
             "Ratio = MeshIO speed / VTK speed (> 1: MeshIO faster).")
lines.append("")
for path, title in cases:
    vtk = best.get((path, "vtkXMLUnstructuredGridReader"))
    if not vtk:
        continue
    lines.append(f"## {title}")
    lines.append("")
    lines.append(f"{vtk['files']} file(s), {vtk['file_bytes'] / MB:.2f} MB on disk, "
                 f"{decoded.get(path, 0) / MB:.2f} MB decoded.")
    lines.append("")
    lines.append("| reader | wall (ms) | file MB/s | decoded MB/s | CPU (ms) | file MB/s by CPU | ratio (wall) | ratio (CPU) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for reader in ("vtkXMLUnstructuredGridReader", "meshio-files", "meshio-series"):
        r = best.get((path, reader))
        if not r:
            continue
        fb, db = r["file_bytes"], decoded.get(path, 0)
        ratio_w = vtk["wall_s"] / r["wall_s"]
        ratio_c = vtk["cpu_s"] / r["cpu_s"]
        lines.append(f"| {labels[reader]} | {r['wall_s'] * 1e3:.1f} | {fb / r['wall_s'] / MB:.0f} | "
                     f"{db / r['wall_s'] / MB:.0f} | {r['cpu_s'] * 1e3:.1f} | {fb / r['cpu_s'] / MB:.0f} | "
                     f"{ratio_w:.2f} × | {ratio_c:.2f} × |")
    lines.append("")

# Hand-written analysis lives in its own file, written against a named run; the report only
# links to it, so every number here comes from this run.
lines.append("Analysis of an earlier run (hand-written, not regenerated): "
             "[benchmarks/io/NOTES.md](../../benchmarks/io/NOTES.md).")
lines.append("")
lines.append("Reproduce: `benchmarks/io/run [PATH.pvd] [--rounds N] [--repeat N] [--no-build]` "
             "(builds `mcinr-bench` in release into `.build-iobench`, or `$SCRATCH`).")
text = "\n".join(lines) + "\n"
print(text)
os.makedirs(os.path.dirname(out_path) or ".", exist_ok=True)
tmp = f"{out_path}.tmp-{os.getpid()}"
with open(tmp, "w") as f:
    f.write(text)
os.replace(tmp, out_path)
print(f"wrote {out_path}", file=sys.stderr)
