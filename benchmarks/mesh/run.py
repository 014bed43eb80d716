#!/usr/bin/env python3
"""Mesh coding benchmark (issue #17): bytes per tet all-in and decode speed of MESHC (type 8)
against today's MESH (type 5), zstd -19 / xz -9 of the raw arrays and VTK's own zlib / lzma .vtu.

    benchmarks/mesh/run.py [--paper-points 200000] [--big-points 1700000] [--work DIR] [--out FILE]

Meshes: vessel-small (/work/shared/datasets/vessel-small, gmsh, 33 k points, 159 k tets) and a
paper-scale block from examples/make_paper_scale.py (--paper-points; 200 000 points give about
1.2 M tets; 0 skips it). For each:
  * pvpython reads the .vtu (VTK's reader) and writes the raw arrays, the benchmark input of the
    Swift writer, and the mesh alone as VTK .vtu with zlib and with lzma (appended, raw);
  * zstd -19 and xz -9 (the command-line tools) compress the raw arrays: points as float32,
    connectivity as int32 (a tet mesh needs no offsets or types), each array on its own;
  * the Swift writer (MCIWriter, the same code `mcinr-vtk` runs, through
    `swift test --filter MeshCodingBenchmarkInput`, a debug build) writes the mesh with
    MESHC (chunks of 65536 cells) and with MESH; sizes are the section payloads (all-in:
    header, chunk table, streams);
  * benchmarks/mesh/decode_bench.c (the C decoder, -O2) times the open (MESHC: the chunk table
    only; MESH: inflate and check), the whole mesh of a fresh model (mcinr_mesh_decode) on one
    thread and on --threads, and every chunk through mcinr_mesh_chunk on one thread;
  * on vessel-small, tools/mesh_codec.py (the independent reference coder) encodes the same
    mesh: its payload must equal the Swift writer's byte for byte.
Writes the table to --out and prints it.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time

THREADS = 2  # this machine's cores
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VESSEL = "/work/shared/datasets/vessel-small/vessel_0000.vtu"

EXTRACT = r'''
import sys, numpy as np
from vtkmodules.vtkIOXML import vtkXMLUnstructuredGridReader, vtkXMLUnstructuredGridWriter
from vtkmodules.vtkCommonDataModel import vtkUnstructuredGrid
from vtkmodules.util.numpy_support import vtk_to_numpy
src, out = sys.argv[1], sys.argv[2]
r = vtkXMLUnstructuredGridReader(); r.SetFileName(src); r.Update()
g = r.GetOutput()
pts = vtk_to_numpy(g.GetPoints().GetData())
conn = vtk_to_numpy(g.GetCells().GetConnectivityArray()).astype(np.int64)
offs = vtk_to_numpy(g.GetCells().GetOffsetsArray()).astype(np.int64)
types = vtk_to_numpy(g.GetCellTypesArray()).astype(np.uint8)
prec = 1 if pts.dtype == np.float32 else 2
with open(out + ".bench", "wb") as f:
    f.write(np.array([len(pts), len(types), len(conn), prec], dtype="<u8").tobytes())
    f.write(pts.astype("<f8").tobytes()); f.write(types.tobytes())
    f.write(offs.astype("<i8").tobytes()); f.write(conn.astype("<i8").tobytes())
pts.astype("<f4").tofile(out + ".points.f32")
conn.astype("<i4").tofile(out + ".conn.i32")
mesh = vtkUnstructuredGrid(); mesh.SetPoints(g.GetPoints()); mesh.SetCells(g.GetCellTypesArray(), g.GetCells())
for name in ("zlib", "lzma"):
    w = vtkXMLUnstructuredGridWriter(); w.SetInputData(mesh); w.SetFileName(out + "." + name + ".vtu")
    w.SetDataModeToAppended(); w.EncodeAppendedDataOff(); w.SetHeaderTypeToUInt64()
    w.SetCompressorTypeToZLib() if name == "zlib" else w.SetCompressorTypeToLZMA()
    w.SetCompressionLevel(9)
    w.Write()
print(len(pts), len(types))
'''


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def section_payload(path, kind):
    data = open(path, "rb").read()
    count = struct.unpack_from("<I", data, 12)[0]
    for i in range(count):
        t, _, off, n = struct.unpack_from("<IIQQ", data, 16 + 32 * i)
        if t == kind:
            return data[off:off + n]
    raise SystemExit("%s: no section of type %d" % (path, kind))


def measure(name, vtu, work, check_reference):
    base = os.path.join(work, name)
    script = os.path.join(work, "extract.py")
    open(script, "w").write(EXTRACT)
    if os.path.exists(base + ".lzma.vtu") and os.path.getmtime(base + ".lzma.vtu") > os.path.getmtime(vtu):
        N, M = struct.unpack_from("<QQ", open(base + ".bench", "rb").read(16))  # extracted by an earlier run
    else:
        N, M = map(int, run(["pvpython", script, vtu, base]).stdout.split()[-2:])
    row = {"name": name, "points": N, "tets": M}
    for arr in ("points.f32", "conn.i32"):
        for tool, args, ext in (("zstd", ["zstd", "-19", "-q", "-f", "-T1"], ".zst"), ("xz", ["xz", "-9", "-k", "-f", "-T1"], ".xz")):
            run(args + [base + "." + arr])
            row[tool] = row.get(tool, 0) + os.path.getsize(base + "." + arr + ext)
    row["raw"] = os.path.getsize(base + ".points.f32") + os.path.getsize(base + ".conn.i32")
    for c in ("zlib", "lzma"):
        head = open(base + "." + c + ".vtu", "rb").read(4096)
        # VTK's LZMA writer gives up on the 10 M-tet block (the arrays after the points have no offset)
        row["vtu_" + c] = None if b'offset=""' in head else os.path.getsize(base + "." + c + ".vtu")
    env = dict(os.environ, MCINR_MESH_BENCH_IN=base + ".bench", MCINR_MESH_BENCH_OUT=base + ".swift.json")
    t0 = time.time()
    r = subprocess.run(["swift", "test", "--skip-build", "--filter", "MeshCodingBenchmarkInput"], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("the Swift writer failed:\n" + r.stdout[-3000:] + r.stderr[-3000:])
    swift = json.load(open(base + ".swift.json"))
    row.update({"meshc": swift["meshc_bytes"], "mesh": swift["zlib_bytes"], "encode_s": swift["meshc_encode_s"],
                "zlib_encode_s": swift["zlib_encode_s"], "swift_wall_s": time.time() - t0})
    bench = os.path.join(work, "decode_bench")
    for c in ("meshc", "zlib"):
        out = run([bench, base + ".swift.json." + c + ".mci", "3", str(THREADS)]).stdout.split()
        kv = dict(zip(out[0::2], out[1::2]))
        for k in ("open_s", "whole_s", "whole_threads_s", "chunks_s"):
            row[c + "_" + k] = float(kv[k])
        row[c + "_chunks"] = int(kv["chunks"])
    if check_reference:
        sys.path.insert(0, os.path.join(ROOT, "tools"))
        import mesh_codec
        from make_test_mci import read_vtu_appended
        pts, conn, offs, types = read_vtu_appended(vtu)
        P = [pts[3 * i:3 * i + 3] for i in range(len(pts) // 3)]
        t0 = time.time()
        ref = mesh_codec.encode_section(P, 32, list(types), [0] + list(offs), list(conn), 65536)
        row["reference_s"] = time.time() - t0
        row["reference_equal"] = ref == section_payload(base + ".swift.json.meshc.mci", 8)
    return row


def table(rows):
    out = ["| mesh | points | tets | MESHC (type 8) | MESH (type 5, zlib) | zstd -19 raw | xz -9 raw | VTK .vtu zlib | VTK .vtu lzma | raw f32 + i32 |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        t = r["tets"]
        cell = lambda k: "failed" if r[k] is None else "%.2f" % (r[k] / t)
        out.append("| %s | %d | %d | **%s** | %s | %s | %s | %s | %s | %s |" % (
            r["name"], r["points"], t, cell("meshc"), cell("mesh"), cell("zstd"), cell("xz"), cell("vtu_zlib"),
            cell("vtu_lzma"), cell("raw")))
    out += ["", "Bytes per tetrahedron, all-in (points, connectivity and, for MESHC, the header and chunk table; "
            "the .vtu files also hold their XML). Decode, best of 3 (wall clock):", "",
            "| mesh | chunks | MESHC open (chunk table) | MESHC whole mesh, 1 thread | MESHC whole mesh, %d threads "
            "| MESHC every chunk via mcinr_mesh_chunk | MESH open (inflate, check) | Swift MESHC encode (debug build) |" % THREADS,
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        t = r["tets"]
        rate = lambda s: "%.3f s, %.2f M tets/s" % (s, t / s / 1e6)
        out.append("| %s | %d | %.4f s | %s | %s | %s | %s | %.1f s |" % (
            r["name"], r["meshc_chunks"], r["meshc_open_s"], rate(r["meshc_whole_s"]), rate(r["meshc_whole_threads_s"]),
            rate(r["meshc_chunks_s"]), rate(r["zlib_open_s"]), r["encode_s"]))
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--paper-points", type=int, default=200000)
    p.add_argument("--big-points", type=int, default=0,
                   help="also a block of this many points (1 700 000 give about 10 M tets; 0: none)")
    p.add_argument("--extra", action="append", default=[], metavar="NAME=VTU",
                   help="also this mesh (the first piece of a series, e.g. vessel-small refined once by "
                        "benchmarks/mesh/refine.py)")
    p.add_argument("--only-extra", action="store_true", help="only the --extra meshes")
    p.add_argument("--work", default="/tmp/mcinr-mesh-bench")
    p.add_argument("--out", default=os.path.join(ROOT, "docs/benchmarks/mesh-results.md"))
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    run([cc, "-std=c99", "-O2", "-I" + ROOT + "/CShim/include", "-I" + ROOT + "/CShim/kernels/include"] +
        [os.path.join(ROOT, "CShim/src", f) for f in sorted(os.listdir(ROOT + "/CShim/src")) if f.endswith(".c")] +
        [os.path.join(ROOT, "CShim/kernels", f) for f in sorted(os.listdir(ROOT + "/CShim/kernels")) if f.endswith(".c")] +
        [ROOT + "/benchmarks/mesh/decode_bench.c", "-lopenblas", "-lz", "-lzstd", "-lpthread", "-lm",
         "-o", os.path.join(a.work, "decode_bench")])
    run(["swift", "build", "--product", "mcinr-vtkPackageTests"], cwd=ROOT)  # the tests only, not the CLI
    rows = []
    for extra in a.extra:
        name, vtu = extra.split("=", 1)
        rows.append(measure(name, vtu, a.work, False))
        print(json.dumps(rows[-1]), flush=True)
    if a.only_extra:
        a.paper_points = a.big_points = 0
    else:
        rows.insert(0, measure("vessel-small", VESSEL, a.work, True))
        print(json.dumps(rows[0]), flush=True)
    if a.paper_points:
        d = os.path.join(a.work, "paper")
        if not os.path.exists(os.path.join(d, "mesh_0000.vtu")):
            run([sys.executable, ROOT + "/examples/make_paper_scale.py", d, "--points", str(a.paper_points), "--steps",
                 "1", "--variables", "pressure", "--name", "mesh", "--quiet"])
        rows.append(measure("paper-scale block", os.path.join(d, "mesh_0000.vtu"), a.work, False))
        print(json.dumps(rows[-1]), flush=True)
    if a.big_points:
        d = os.path.join(a.work, "big")
        if not os.path.exists(os.path.join(d, "mesh_0000.vtu")):
            run([sys.executable, ROOT + "/examples/make_paper_scale.py", d, "--points", str(a.big_points), "--steps",
                 "1", "--variables", "pressure", "--name", "mesh", "--quiet", "--index-type", "Int32"])
        rows.append(measure("large block", os.path.join(d, "mesh_0000.vtu"), a.work, False))
        print(json.dumps(rows[-1]), flush=True)
    text = table(rows)
    json.dump(rows, open(os.path.join(a.work, "results.json"), "w"), indent=1)
    open(a.out, "w").write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
