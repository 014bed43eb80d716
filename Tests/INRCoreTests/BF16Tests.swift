import XCTest
import COpenBLAS
import CTrainingKernels
@testable import INRCore

/// The bf16 matrix products (CTrainingKernels/gemm_bf16.c) against cblas_sgemm, and the fp32
/// fallback. Tests of the bf16 arithmetic itself are skipped on CPUs without AVX512-BF16.
final class BF16Tests: XCTestCase {
    func requireBF16() throws {
        guard mcinr_gemm_bf16_cpu_has() != 0 else {
            throw XCTSkip("this CPU lacks AVX512-BF16 (or the OS does not enable AVX-512): "
                          + "the bf16 kernel cannot run here; the fp32 fallback is tested instead")
        }
    }

    override func tearDown() {
        mcinr_gemm_bf16_force_unavailable(0)
        super.tearDown()
    }

    struct Case { var m, n, k: Int; var transA, transB, accumulate: Bool }

    /// Operands (with leading dimensions larger than the matrices, padding filled with a marker),
    /// C before the product, and C's padding marker.
    struct Operands {
        var a: [Float], lda: Int, b: [Float], ldb: Int, c: [Float], ldc: Int
    }

    func operands(_ t: Case, seed: UInt64, value: (inout SeededRandom) -> Float) -> Operands {
        var rng = SeededRandom(seed: seed)
        let lda = (t.transA ? t.m : t.k) + 3, ldb = (t.transB ? t.k : t.n) + 1, ldc = t.n + 2
        let a = (0..<((t.transA ? t.k : t.m) * lda)).map { _ in value(&rng) }
        let b = (0..<((t.transB ? t.n : t.k) * ldb)).map { _ in value(&rng) }
        let c = (0..<(t.m * ldc)).map { _ in value(&rng) }
        return Operands(a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc)
    }

    func sgemm(_ t: Case, _ o: Operands, absolute: Bool = false) -> [Float] {
        var c = absolute ? o.c.map(abs) : o.c
        let a = absolute ? o.a.map(abs) : o.a, b = absolute ? o.b.map(abs) : o.b
        cblas_sgemm(CblasRowMajor, t.transA ? CblasTrans : CblasNoTrans, t.transB ? CblasTrans : CblasNoTrans,
                    Int32(t.m), Int32(t.n), Int32(t.k), 1, a, Int32(o.lda), b, Int32(o.ldb),
                    t.accumulate ? 1 : 0, &c, Int32(o.ldc))
        return c
    }

    func bf16(_ t: Case, _ o: Operands) -> (rc: Int32, c: [Float]) {
        var c = o.c
        let rc = mcinr_gemm_bf16(t.transA ? 1 : 0, t.transB ? 1 : 0, t.m, t.n, t.k, o.a, o.lda, o.b, o.ldb,
                                 t.accumulate ? 1 : 0, &c, o.ldc)
        return (rc, c)
    }

    /// Every layout the layers use (and the fourth), sizes with tails everywhere: k odd and
    /// k = 1 (a padded pair), n below, at and above the 64-column block, m not a multiple of the
    /// 6-row block, leading dimensions larger than the matrices.
    var cases: [Case] {
        let shapes = [(512, 55, 55), (7, 3, 5), (33, 70, 1), (1, 1, 1), (100, 129, 131), (512, 1, 55),
                      (13, 17, 33), (6, 64, 32), (55, 55, 512), (200, 16, 2)]
        var all: [Case] = []
        for (m, n, k) in shapes {
            for ta in [false, true] { for tb in [false, true] { for acc in [false, true] {
                all.append(Case(m: m, n: n, k: k, transA: ta, transB: tb, accumulate: acc))
            } } }
        }
        return all
    }

    /// Random operands in [-1, 1]: |bf16 − sgemm| ≤ 2⁻⁷ · (|A|·|B|) + 2⁻²¹ · |C| elementwise
    /// (each operand rounded to 8 significant bits: a product is off by at most 2 · 2⁻⁸
    /// relative; fp32 sums add far less). Measured max ≈ 2e-3 of |A|·|B|. The padding of C
    /// beyond n columns is never written.
    func testBF16MatchesSgemmWithinRoundingBound() throws {
        try requireBF16()
        var worst = 0.0
        for t in cases {
            let o = operands(t, seed: UInt64(t.m * 7 + t.n * 131 + t.k), value: { $0.uniform(-1, 1) })
            let reference = sgemm(t, o)
            let bound = sgemm(t, o, absolute: true)   // |C0| + |A|·|B| (or |A|·|B|)
            let (rc, c) = bf16(t, o)
            XCTAssertEqual(rc, 0)
            for i in 0..<t.m {
                for j in 0..<o.ldc {
                    let index = i * o.ldc + j
                    if j >= t.n {
                        XCTAssertEqual(c[index], o.c[index], "\(t): padding column \(j) written")
                        continue
                    }
                    let allowed = Double(bound[index]) * 0x1p-7 + 1e-7
                    let error = Double(abs(c[index] - reference[index]))
                    worst = max(worst, error / Double(bound[index]))
                    XCTAssertLessThanOrEqual(error, allowed, "\(t) at (\(i), \(j))")
                }
            }
        }
        // Not the fp32 result either: the bf16 path really rounds.
        XCTAssertGreaterThan(worst, 1e-4)
    }

    /// Operands that bf16 holds exactly (integers −8…8 times 2⁻³) make every product exact and
    /// every sum exact in fp32: the kernel must then agree with sgemm bit for bit, which checks
    /// the packing (pairs, transposes, tails, padding) independently of rounding.
    func testBF16IsExactOnBF16RepresentableOperands() throws {
        try requireBF16()
        for t in cases {
            let o = operands(t, seed: UInt64(t.m + t.n * 17 + t.k * 3), value: {
                Float(Int($0.uniform(-8.99, 8.99))) * 0.125
            })
            let (rc, c) = bf16(t, o)
            XCTAssertEqual(rc, 0)
            XCTAssertEqual(c, sgemm(t, o), "\(t)")
        }
    }

    /// Switched off (as on a CPU without AVX512-BF16) the kernel declines and leaves C alone,
    /// the bf16 modes resolve to fp32, and a network asked for bf16 products computes exactly
    /// what the fp32 network computes (the fallback is cblas_sgemm itself).
    func testFallbackIsExactFP32() throws {
        mcinr_gemm_bf16_force_unavailable(1)
        XCTAssertEqual(mcinr_gemm_bf16_available(), 0)
        XCTAssertFalse(MatmulPrecision.bf16Available)
        for precision in MatmulPrecision.allCases { XCTAssertEqual(precision.resolved, .fp32) }
        let t = Case(m: 9, n: 20, k: 11, transA: false, transB: true, accumulate: false)
        let o = operands(t, seed: 3, value: { $0.uniform(-1, 1) })
        let (rc, c) = bf16(t, o)
        XCTAssertEqual(rc, -1)
        XCTAssertEqual(c, o.c)

        let (fp32, bf16) = try networkPair(.bf16)
        let (inputs, targets) = batch(rows: 300, outputs: 3)
        XCTAssertEqual(fp32.lossAndGradient(inputs: inputs, targets: targets),
                       bf16.lossAndGradient(inputs: inputs, targets: targets))
        XCTAssertEqual(fp32.gradientArray(), bf16.gradientArray())
    }

    func networkPair(_ precision: MatmulPrecision) throws -> (Network, Network) {
        let architecture = ArchitectureConfig.coordNetB(outputs: 3, width: 40, trunkDepth: 2, branchDepth: 1)
        let fp32 = try Network(architecture, seed: 7)
        let other = try Network(architecture, seed: 7)
        other.matmul = precision
        return (fp32, other)
    }

    func batch(rows: Int, outputs: Int) -> ([Float], [Float]) {
        var rng = SeededRandom(seed: 11)
        return ((0..<(rows * 4)).map { _ in rng.uniform(-1, 1) }, (0..<(rows * outputs)).map { _ in rng.uniform(-1, 1) })
    }

    /// With bf16 products a training step's loss and gradient stay close to fp32 (measured
    /// gradient difference ≈ 3e-3 relative), but differ (the bf16 path ran), and `auto` is left
    /// to the trainer's choice here; prediction is fp32 whatever the mode, so it is bit-identical.
    func testBF16TrainingStepIsCloseToFP32AndPredictionIsFP32() throws {
        try requireBF16()
        XCTAssertEqual(MatmulPrecision.auto.resolved, .auto)
        do {
            let precision = MatmulPrecision.bf16
            let (fp32, bf16) = try networkPair(precision)
            XCTAssertEqual(bf16.matmul.resolved, precision)
            let (inputs, targets) = batch(rows: 300, outputs: 3)
            let l32 = fp32.lossAndGradient(inputs: inputs, targets: targets)
            let l16 = bf16.lossAndGradient(inputs: inputs, targets: targets)
            XCTAssertEqual(l16, l32, accuracy: 1e-2 * l32)
            let g32 = fp32.gradientArray(), g16 = bf16.gradientArray()
            var num = 0.0, den = 0.0
            for i in g32.indices {
                num += Double(g16[i] - g32[i]) * Double(g16[i] - g32[i]); den += Double(g32[i]) * Double(g32[i])
            }
            let relative = (num / den).squareRoot()
            XCTAssertLessThan(relative, 3e-2, "\(precision)")
            XCTAssertGreaterThan(relative, 1e-5, "\(precision): gradients identical, bf16 path did not run")
            XCTAssertEqual(fp32.predict(inputs), bf16.predict(inputs), "\(precision)")
            // A copy keeps the choice.
            XCTAssertEqual(bf16.copy().matmul, precision)
        }
    }

    /// Which layers may use bf16: not those reading the coordinates' encoding (S1 and T of the
    /// first trunk block, or of each branch's first block without a trunk), not the output layers.
    func testOnlyHiddenLayersAreEligible() throws {
        let net = try Network(.coordNetB(outputs: 2, width: 32, trunkDepth: 2, branchDepth: 1), seed: 1)
        XCTAssertFalse(net.trunk[0].first.bf16Eligible)
        XCTAssertFalse(net.trunk[0].transform!.bf16Eligible)
        XCTAssertTrue(net.trunk[0].second!.bf16Eligible)
        XCTAssertTrue(net.trunk[1].layers.allSatisfy(\.bf16Eligible))
        for branch in net.branches {
            XCTAssertTrue(branch[0].layers.allSatisfy(\.bf16Eligible))
            XCTAssertEqual(branch.last!.kind, .linear)
            XCTAssertFalse(branch.last!.first.bf16Eligible)
        }
        let siren = try Network(.siren(outputs: 1, width: 32, depth: 3), seed: 1)
        XCTAssertEqual(siren.trunk.map(\.first.bf16Eligible), [false, true, true])
        let noTrunk = try Network(.coordNetB(outputs: 2, width: 32, trunkDepth: 0, branchDepth: 2), seed: 1)
        for branch in noTrunk.branches {
            XCTAssertFalse(branch[0].first.bf16Eligible)
            XCTAssertTrue(branch[1].layers.allSatisfy(\.bf16Eligible))
        }
    }
}
