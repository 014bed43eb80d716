// `mcinr-bench bf16`: bf16 matrix products (AVX512-BF16, CTrainingKernels/gemm_bf16.c) against
// OpenBLAS's cblas_sgemm at the layer shapes of the default network, and whole training steps
// with fp32 / bf16 products; each pair timed interleaved in one run, one thread.
// Prints markdown tables (docs/benchmarks/bf16.md quotes them).
import COpenBLAS
import CTrainingKernels
import Foundation
import INRCore

func bf16Usage() -> String {
    """
    usage: mcinr-bench bf16 [--quick] [--batches 512,4096] [--widths 32,55,64,128] [--outputs 11]
      Table 1: GFLOP/s of cblas_sgemm and mcinr_gemm_bf16 at batch × width × width for the three
               products of a dense layer (forward x·Wᵀ, weight gradient dAᵀ·x, input gradient dA·W),
               timed alternately (best of N rounds each), and the bf16 error.
      Table 2: CoordNetB training steps (forward + backward + Adam; 3 trunk + 1 branch ResBlocks,
               the defaults) with --matmul fp32 / bf16, timed alternately.
    """
}

private func threadSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Seconds per call of each body, best of `rounds`, the bodies timed in turn within each round
/// (so slow phases of a shared machine hit all of them alike). Thread CPU time.
private func interleavedBest(rounds: Int, minTime: Double, _ bodies: [() -> Void]) -> [Double] {
    for body in bodies { body() }  // warm-up: packing buffers, caches
    var best = [Double](repeating: .infinity, count: bodies.count)
    for _ in 0..<rounds {
        for (i, body) in bodies.enumerated() {
            var calls = 0
            let start = threadSeconds()
            var elapsed = 0.0
            repeat { body(); calls += 1; elapsed = threadSeconds() - start } while elapsed < minTime
            best[i] = min(best[i], elapsed / Double(calls))
        }
    }
    return best
}

private func f(_ v: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", v) }

private func randomFloats(_ n: Int, seed: UInt64, scale: Double = 1) -> [Float] {
    var rng = SeededRandom(seed: seed)
    return (0..<n).map { _ in rng.uniform(-scale, scale) }
}

/// max over C of |bf16 − fp32| / (|A|·|B|) (the error relative to the sum of |products|).
private func normwiseError(_ bf16: [Float], _ reference: [Float], _ absProducts: [Float]) -> Double {
    var worst = 0.0
    for i in bf16.indices {
        let bound = Double(absProducts[i])
        if bound > 0 { worst = max(worst, Double(abs(bf16[i] - reference[i])) / bound) }
    }
    return worst
}

func runBF16Benchmark(_ arguments: [String]) -> Int32 {
    var quick = false
    var batches = [512, 4096]
    var widths = [32, 55, 64, 128]
    var outputs = 11
    var it = arguments.makeIterator()
    func list(_ s: String?) -> [Int]? {
        guard let s else { return nil }
        let v = s.split(separator: ",").compactMap { Int($0) }
        return v.isEmpty || v.contains { $0 < 1 } ? nil : v
    }
    while let a = it.next() {
        switch a {
        case "--quick": quick = true
        case "--batches": guard let v = list(it.next()) else { print(bf16Usage()); return 2 }; batches = v
        case "--widths": guard let v = list(it.next()) else { print(bf16Usage()); return 2 }; widths = v
        case "--outputs": guard let v = it.next().flatMap(Int.init), v >= 1 else { print(bf16Usage()); return 2 }; outputs = v
        case "-h", "--help": print(bf16Usage()); return 0
        default:
            FileHandle.standardError.write("mcinr-bench bf16: unknown argument \(a)\n\(bf16Usage())\n".data(using: .utf8)!)
            return 2
        }
    }
    openblas_set_num_threads(1)
    let rounds = quick ? 2 : 7
    let minTime = quick ? 0.03 : 0.1

    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    let flagLine = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }.map(String.init) ?? ""
    let flags = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_bf16"]
        .filter { flagLine.contains(" \($0)") }.joined(separator: ", ")
    let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
        .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    let date = ISO8601DateFormatter().string(from: Date())
    print("Measured \(date) on \(model) (\(flags)); OpenBLAS single-threaded; thread CPU time, "
          + "best of \(rounds) rounds, the variants of each row timed alternately. Load average at the start: \(load).")
    guard MatmulPrecision.bf16Available else {
        print("\nThis CPU lacks AVX512-BF16: mcinr_gemm_bf16 is unavailable and training uses cblas_sgemm. Nothing to compare.")
        return 0
    }

    // MARK: 1. the three products of a hidden layer
    print("\n## 1. Products of a hidden width × width layer: cblas_sgemm vs mcinr_gemm_bf16 (GFLOP/s, one thread)\n")
    print("| batch | width | product | sgemm GFLOP/s | bf16 GFLOP/s | bf16 / sgemm | bf16 error |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    var ratios: [Double] = []
    for b in batches {
        for w in widths {
            // Activations in [-1, 1] (sines), weights at SIREN's scale √(6/w)/30, gradients small.
            let x = randomFloats(b * w, seed: 1)
            let wt = randomFloats(w * w, seed: 2, scale: (6 / Double(w)).squareRoot() / 30)
            let dA = randomFloats(b * w, seed: 3, scale: 1e-3)
            let ax = x.map(abs), awt = wt.map(abs), adA = dA.map(abs)
            var y = [Float](repeating: 0, count: b * max(w, w))
            var ref = y, bound = y
            let flops = 2 * Double(b) * Double(w) * Double(w)
            // (name, sgemm, bf16, |A||B| for the error bound)
            typealias Op = (String, (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
                            (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Int32)
            let bi = Int32(b), wi = Int32(w)
            let ops: [(Op, [Float], [Float], [Float], [Float], Int)] = [
                (("forward x·Wᵀ",
                  { a, m, c in cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bi, wi, wi, 1, a, wi, m, wi, 0, c, wi) },
                  { a, m, c in mcinr_gemm_bf16(0, 1, b, w, w, a, w, m, w, 0, c, w) }), x, wt, ax, awt, b * w),
                (("weight grad dAᵀ·x",
                  { a, m, c in cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, wi, wi, bi, 1, a, wi, m, wi, 0, c, wi) },
                  { a, m, c in mcinr_gemm_bf16(1, 0, w, w, b, a, w, m, w, 0, c, w) }), dA, x, adA, ax, w * w),
                (("input grad dA·W",
                  { a, m, c in cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, bi, wi, wi, 1, a, wi, m, wi, 0, c, wi) },
                  { a, m, c in mcinr_gemm_bf16(0, 0, b, w, w, a, w, m, w, 0, c, w) }), dA, wt, adA, awt, b * w),
            ]
            for ((name, sgemm, bf16), a, m, absA, absM, count) in ops {
                a.withUnsafeBufferPointer { pa in m.withUnsafeBufferPointer { pm in
                    y.withUnsafeMutableBufferPointer { py in
                        let p = pa.baseAddress!, q = pm.baseAddress!, c = py.baseAddress!
                        let t = interleavedBest(rounds: rounds, minTime: minTime, [
                            { sgemm(p, q, c) }, { _ = bf16(p, q, c) },
                        ])
                        ratios.append(t[0] / t[1])
                        ref.withUnsafeMutableBufferPointer { r in sgemm(p, q, r.baseAddress!) }
                        _ = bf16(p, q, c)
                        absA.withUnsafeBufferPointer { aa in absM.withUnsafeBufferPointer { am in
                            bound.withUnsafeMutableBufferPointer { bd in sgemm(aa.baseAddress!, am.baseAddress!, bd.baseAddress!) }
                        } }
                        let err = normwiseError(Array(py.prefix(count)), Array(ref.prefix(count)), Array(bound.prefix(count)))
                        print("| \(b) | \(w) | \(name) | \(f(flops / t[0] * 1e-9)) | \(f(flops / t[1] * 1e-9)) | "
                              + "\(f(t[0] / t[1], 2)) × | \(String(format: "%.1e", err)) |")
                    }
                } }
            }
        }
    }
    let sorted = ratios.sorted()
    print("\nbf16 / sgemm over these \(ratios.count) products: min \(f(sorted.first!, 2)) ×, median \(f(sorted[sorted.count / 2], 2)) ×, max \(f(sorted.last!, 2)) ×. "
          + "Error: max |bf16 − sgemm| / (|A|·|B|) over the output (bf16 rounding of both operands: ≤ 2⁻⁷ ≈ 7.8e-3).")

    // MARK: 2. training steps
    print("\n## 2. CoordNetB training step (\(outputs) components, 3 trunk + 1 branch ResBlocks, PE L = 6; forward + backward + Adam)\n")
    print("GEMM share: thread time inside the matrix products (StepProfiler), fp32 steps. Gradient difference: ‖g_bf16 − g_fp32‖ / ‖g_fp32‖ "
          + "for one batch at initialisation.\n")
    print("| batch | width | GEMM share (fp32) | fp32 ms/step | bf16 ms/step | fp32 / bf16 | gradient difference |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for b in batches {
        for w in widths {
            let architecture = ArchitectureConfig.coordNetB(outputs: outputs, width: w, trunkDepth: 3, branchDepth: 1)
            let nets = [MatmulPrecision.fp32, .bf16].map { precision -> Network in
                let net = try! Network(architecture, seed: 1)
                net.matmul = precision
                net.reserve(batchSize: b)
                return net
            }
            let adams = nets.map { Adam(parameterCount: $0.parameterCount, learningRate: 2e-4) }
            let inputs = randomFloats(b * 4, seed: 5)
            let targets = randomFloats(b * outputs, seed: 6)
            // Gradients at the same (initial) parameters.
            let grads = nets.map { net -> [Float] in
                _ = net.lossAndGradient(inputs: inputs, targets: targets)
                return net.gradientArray()
            }
            func difference(_ g: [Float]) -> Double {
                var num = 0.0, den = 0.0
                for i in g.indices { let d = Double(g[i] - grads[0][i]); num += d * d; den += Double(grads[0][i]) * Double(grads[0][i]) }
                return (num / den).squareRoot()
            }
            // GEMM share of an fp32 step.
            StepProfiler.reset(); StepProfiler.isEnabled = true
            let profileStart = threadSeconds()
            for _ in 0..<(quick ? 3 : 10) {
                inputs.withUnsafeBufferPointer { i in targets.withUnsafeBufferPointer { t in
                    _ = nets[0].lossAndGradient(inputs: i.baseAddress!, targets: t.baseAddress!, rows: b)
                } }
            }
            let profiled = threadSeconds() - profileStart
            StepProfiler.isEnabled = false
            let gemmShare = StepProfiler.gemmSeconds / profiled
            let times = inputs.withUnsafeBufferPointer { i in targets.withUnsafeBufferPointer { t in
                interleavedBest(rounds: rounds, minTime: minTime * 2, nets.indices.map { k in {
                    _ = nets[k].lossAndGradient(inputs: i.baseAddress!, targets: t.baseAddress!, rows: b)
                    adams[k].update(nets[k])
                } })
            } }
            print("| \(b) | \(w) | \(f(100 * gemmShare, 0)) % | \(f(times[0] * 1e3, 2)) | \(f(times[1] * 1e3, 2)) | "
                  + "\(f(times[0] / times[1], 2)) × | \(String(format: "%.1e", difference(grads[1]))) |")
        }
    }
    let loadEnd = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
        .split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    print("\nLoad average at the end: \(loadEnd).")
    return 0
}
