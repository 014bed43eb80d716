"""The decoder's matrix product against OpenBLAS's sgemm, in one run (library 1.4, issue 20).

    python3 benchmarks/decode/kernel_compare.py --baseline REV [--repeats 7] [--out docs/benchmarks/decode-kernel]

Compiles benchmarks/decode/bench.c twice against CShim: this checkout (products by the decoder's
own kernel, mcinr_matmul_packed) and the sources of git revision REV (products by cblas_sgemm in
row blocks below OpenBLAS's threading threshold). Both decode one stored step at every mesh point
of the same models (tools/make_test_mci.py --mesh vessel: vessel-small's 33 177 points, 8
networks, widths 18 to 128, one with a type 7 residual) with 1 and 2 decoder threads,
OPENBLAS_NUM_THREADS=1, the two builds alternating, best of N per build and thread count. bench.c
also replays, in the same process, the decode's products as whole cblas_sgemm calls per batch
(single-threaded): the GEMM ceiling at those shapes. Writes OUT.md and OUT.json.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
MODELS = [  # (name, width, extra generator arguments)
    ("width 18 (the default shape's width)", 18, []),
    ("width 32, type 7 residual", 32, ["--residual-predicted"]),
    ("width 64", 64, []),
    ("width 96", 96, []),
    ("width 128", 128, []),
]


def build(src_root, bench_c, out):
    cmd = ["cc", "-O2", "-std=c99", "-D_GNU_SOURCE", "-I" + os.path.join(src_root, "CShim/include"),
           "-I" + os.path.join(src_root, "CShim/kernels/include"), "-I" + os.path.join(src_root, "CShim/src")]
    inc = [d for d in ("/usr/include/x86_64-linux-gnu/openblas-pthread",) if os.path.isdir(d)]
    cmd += ["-I" + d for d in inc]
    srcs = sorted(os.path.join(src_root, "CShim/src", f) for f in os.listdir(os.path.join(src_root, "CShim/src"))
                  if f.endswith(".c"))
    srcs += [os.path.join(src_root, "CShim/kernels/kernels.c"), bench_c]
    subprocess.run(cmd + srcs + ["-lopenblas", "-lz", "-lzstd", "-lpthread", "-lm", "-o", out], check=True)


def bench(binary, model, repeats):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([binary, model, "--threads", "1,2", "--repeats", str(repeats)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", required=True, help="git revision whose decoder uses cblas_sgemm")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/benchmarks/decode-kernel"))
    args = ap.parse_args()
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                         check=True).stdout.strip()
    base = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", args.baseline], capture_output=True, text=True,
                          check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        old_src = os.path.join(tmp, "old")
        os.makedirs(old_src)
        subprocess.run("git -C '%s' archive %s CShim | tar -x -C '%s'" % (ROOT, base, old_src), shell=True, check=True)
        bench_c = os.path.join(HERE, "bench.c")
        binaries = {"sgemm (%s)" % base: os.path.join(tmp, "bench-old"), "own kernel (%s)" % rev: os.path.join(tmp, "bench-new")}
        build(old_src, bench_c, binaries["sgemm (%s)" % base])
        build(ROOT, bench_c, binaries["own kernel (%s)" % rev])
        rows = []
        for name, width, extra in MODELS:
            path = os.path.join(tmp, "w%d.mci" % width)
            gen = [sys.executable, os.path.join(ROOT, "tools/make_test_mci.py"), path, "--mesh", "vessel",
                   "--clusters", "8", "--width", str(width), "--seed", str(width)]
            if extra:
                gen += [extra[0], path + ".res"]
            subprocess.run(gen, check=True, capture_output=True, cwd=ROOT)
            best = {}
            for _ in range(args.rounds):
                for label, binary in binaries.items():
                    r = bench(binary, path, args.repeats)
                    cur = best.setdefault(label, r)
                    for k, d in enumerate(r["decode"]):
                        if d["seconds"] < cur["decode"][k]["seconds"]:
                            cur["decode"][k] = d
                    for key in ("sgemm_replay_s", "decode_1_cpu_s", "sgemm_replay_cpu_s"):
                        cur[key] = min(cur[key], r[key])
            rows.append({"model": name, "width": width, "results": best})
            new, old = best["own kernel (%s)" % rev], best["sgemm (%s)" % base]
            print("%-40s sgemm: %.4f / %.4f s, own kernel: %.4f / %.4f s (1 / 2 threads), sgemm replay %.4f s" % (
                name, old["decode"][0]["seconds"], old["decode"][1]["seconds"], new["decode"][0]["seconds"],
                new["decode"][1]["seconds"], new["sgemm_replay_s"]), flush=True)
    with open(args.out + ".json", "w") as f:
        json.dump({"revision": rev, "baseline": base, "rows": rows}, f, indent=1)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    level = rows[0]["results"]["own kernel (%s)" % rev]["kernels_level"]
    lines = ["# The decoder's own matrix product against OpenBLAS's sgemm", "",
             "Generated by `benchmarks/decode/kernel_compare.py --baseline %s` on %s (%d cores, kernels level %d: "
             "%s), %s UTC. One stored step decoded at all %d points of vessel-small's mesh, every component "
             "(random networks of `tools/make_test_mci.py --mesh vessel --clusters 8`), `mcinr_decode_mesh`, "
             "best of %d × %d rounds, the two builds alternating; OPENBLAS_NUM_THREADS=1. *sgemm*: the decoder "
             "of %s (one `cblas_sgemm` per layer per batch, cut into row blocks below OpenBLAS's threading "
             "threshold); *own kernel*: this tree (%s, `mcinr_matmul_packed`, whose values do not depend on "
             "the other points of a batch). *Whole-batch sgemm replay*: the same decode's products as one "
             "`cblas_sgemm` per batch, single-threaded, in the same process (the GEMM ceiling at those shapes; "
             "sines, encoding and routing excluded)." % (
                 base, cpu, os.cpu_count(), level, ["baseline", "AVX2+FMA", "AVX-512F"][level],
                 time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                 rows[0]["results"]["own kernel (%s)" % rev]["points"], args.repeats, args.rounds, base, rev), "",
             "| model | GFLOP per decode | sgemm, 1 thread | own kernel, 1 thread | **speed-up** | sgemm, 2 threads | "
             "own kernel, 2 threads | whole-batch sgemm replay | own kernel 1 thread / replay (GFLOP/s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        new, old = row["results"]["own kernel (%s)" % rev], row["results"]["sgemm (%s)" % base]
        n1, n2 = new["decode"][0]["seconds"], new["decode"][1]["seconds"]
        o1, o2 = old["decode"][0]["seconds"], old["decode"][1]["seconds"]
        gf = new["flops_per_decode"] / 1e9
        lines.append("| %s | %.3f | %.1f ms | %.1f ms | **%.2f×** | %.1f ms | %.1f ms | %.1f ms | %.1f / %.1f |" % (
            row["model"], gf, 1e3 * o1, 1e3 * n1, o1 / n1, 1e3 * o2, 1e3 * n2, 1e3 * new["sgemm_replay_s"],
            gf / n1, gf / new["sgemm_replay_s"]))
    lines += ["", "Speed-up: sgemm time / own-kernel time, one thread. The decode includes routing, the "
              "positional encoding, the sines and, for the residual model, the residual's correction; the "
              "replay is the products alone, so *own kernel / replay* below 1 is that overhead, not the kernel."]
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


main()
