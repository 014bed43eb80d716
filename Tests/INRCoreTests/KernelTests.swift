import XCTest
import Foundation
import CMCINRKernels
import CTrainingKernels
@testable import INRCore

final class KernelTests: XCTestCase {
    /// Max abs error of sin and cos over `values`, the worst over every instruction-set level
    /// this CPU has (baseline, AVX2+FMA, AVX-512F), each compared with Foundation (double).
    func maxSineError(over values: [Float]) -> (sin: Double, cos: Double) {
        let detected = mcinr_kernels_limit_level(Int32.max)
        defer { _ = mcinr_kernels_limit_level(Int32.max) }
        var es = 0.0, ec = 0.0
        for level in 0...detected {
            XCTAssertEqual(mcinr_kernels_limit_level(level), level)
            var s = [Float](repeating: 0, count: values.count), c = s
            mcinr_sincos(values, values.count, &s, &c)
            for (i, z) in values.enumerated() {
                es = max(es, abs(Double(s[i]) - Foundation.sin(Double(z))))
                ec = max(ec, abs(Double(c[i]) - Foundation.cos(Double(z))))
            }
        }
        return (es, ec)
    }

    /// Polynomial sin/cos vs Foundation (double) on a dense grid of [-100, 100]:
    /// measured max abs error ≈ 1e-7; asserted ≤ 2e-6.
    func testSineMatchesFoundationOnHundred() {
        let n = 400_001
        let z = (0..<n).map { Float(-100 + 200 * Double($0) / Double(n - 1)) }
        let e = maxSineError(over: z)
        XCTAssertLessThanOrEqual(e.sin, 2e-6)
        XCTAssertLessThanOrEqual(e.cos, 2e-6)
    }

    /// Large |z| (up to 1e4, where weights × 30 can reach): measured ≈ 1e-7; asserted ≤ 2e-6.
    func testSineMatchesFoundationForLargeArguments() {
        var rng = SeededRandom(seed: 5)
        var z = (0..<100_000).map { _ in rng.uniform(-1e4, 1e4) }
        z += [1e4, -1e4, 9999.5, Float.pi * 2048, -Float.pi * 4095.5, 0, -0.0, 1e-30]
        let e = maxSineError(over: z)
        XCTAssertLessThanOrEqual(e.sin, 2e-6)
        XCTAssertLessThanOrEqual(e.cos, 2e-6)
    }

    /// Out-of-range arguments never produce values outside [-1, 1] (untrusted weights in the
    /// decoder); NaN propagates.
    func testSineIsBoundedForHugeArguments() {
        let z: [Float] = [1e7, -1e7, 1e30, -3.4e38, .infinity, -.infinity, .nan, 6.6e6]
        let detected = mcinr_kernels_limit_level(Int32.max)
        defer { _ = mcinr_kernels_limit_level(Int32.max) }
        for level in 0...detected {
            _ = mcinr_kernels_limit_level(level)
            var s = [Float](repeating: 0, count: z.count), c = s
            mcinr_sincos(z, z.count, &s, &c)
            for i in 0..<(z.count) where !z[i].isNaN {
                XCTAssertTrue(abs(s[i]) <= 1 && abs(c[i]) <= 1, "level \(level), z = \(z[i]): \(s[i]), \(c[i])")
            }
            XCTAssertTrue(s[6].isNaN && c[6].isNaN)
        }
    }

    func testSineForwardFusesBiasAndOmega() {
        let rows = 3, width = 5
        var rng = SeededRandom(seed: 9)
        let x = (0..<(rows * width)).map { _ in rng.uniform(-2, 2) }
        let b = (0..<width).map { _ in rng.uniform(-1, 1) }
        var y = x, cosines = [Float](repeating: 0, count: x.count)
        mcinr_sine_forward(&y, b, rows, width, 30, &cosines)
        var yNoCos = x
        mcinr_sine_forward(&yNoCos, b, rows, width, 30, nil)
        for r in 0..<rows {
            for j in 0..<width {
                let z = 30 * (Double(x[r * width + j]) + Double(b[j]))
                XCTAssertEqual(Double(y[r * width + j]), Foundation.sin(z), accuracy: 1e-5)
                XCTAssertEqual(Double(cosines[r * width + j]), Foundation.cos(z), accuracy: 1e-5)
            }
        }
        XCTAssertEqual(y, yNoCos, "storing cos must not change sin")
    }

    func testPositionalEncodingLayout() {
        let x: [Float] = [0.25, -0.5, 0.75, 1, -1, 0, 0.1, 0.3]
        let L = 3
        let w = 4 * (1 + 2 * L)
        var out = [Float](repeating: .nan, count: 2 * w)
        mcinr_positional_encoding(x, 2, UInt32(L), &out)
        for r in 0..<2 {
            for i in 0..<4 {
                let v = Double(x[r * 4 + i])
                XCTAssertEqual(out[r * w + i], x[r * 4 + i])
                for k in 0..<L {
                    let f = Double(1 << k) * Double.pi
                    XCTAssertEqual(Double(out[r * w + 4 + 8 * k + i]), Foundation.sin(f * v), accuracy: 2e-6)
                    XCTAssertEqual(Double(out[r * w + 8 + 8 * k + i]), Foundation.cos(f * v), accuracy: 2e-6)
                }
            }
        }
    }

    /// Two Adam steps against the formula worked out by hand (lr 0.1, β .9/.999, ε 1e-8):
    /// step 1 moves each parameter by lr·sign(g); step 2 by lr·m̂/(√v̂+ε) with
    /// m = (0.055, −0.06), v = (2.5975e-4, 1.089e-3), 1−β1² = 0.19, 1−β2² = 0.001999.
    func testAdamTwoSteps() {
        let adam = Adam(parameterCount: 2, learningRate: 0.1)
        var p: [Float] = [1, -2]
        adam.update(&p, gradients: [0.5, -1])
        XCTAssertEqual(p[0], 0.9, accuracy: 1e-6)
        XCTAssertEqual(p[1], -1.9, accuracy: 1e-6)
        adam.update(&p, gradients: [0.1, 0.3])
        XCTAssertEqual(p[0], 0.8196959, accuracy: 2e-6)
        XCTAssertEqual(p[1], -1.8572151, accuracy: 2e-6)
        XCTAssertEqual(adam.step, 2)
        adam.reset()
        XCTAssertEqual(adam.step, 0)
        var q: [Float] = [0]
        let fresh = Adam(parameterCount: 1, learningRate: 0.1)
        fresh.update(&q, gradients: [-3])
        XCTAssertEqual(q[0], 0.1, accuracy: 1e-6)
    }

    /// An Adam built from another's state goes on exactly as the other would (the seam round
    /// continues each network's training this way); a fresh one does not.
    func testAdamStateContinuesTheSameUpdates() {
        var generator = SeededRandom(seed: 7)
        let gradients = (0 ..< 8).map { _ in (0 ..< 5).map { _ in Float(generator.nextUnitDouble() - 0.5) } }
        let start: [Float] = [0.3, -1, 2, 0, 0.5]
        let whole = Adam(parameterCount: 5, learningRate: 0.01)
        var p = start
        for g in gradients { whole.update(&p, gradients: g) }
        let first = Adam(parameterCount: 5, learningRate: 0.01)
        var q = start
        for g in gradients[..<3] { first.update(&q, gradients: g) }
        let resumed = Adam(parameterCount: 5, learningRate: 0.01, state: first.state)
        let fresh = Adam(parameterCount: 5, learningRate: 0.01)
        var r = q
        for g in gradients[3...] { resumed.update(&q, gradients: g); fresh.update(&r, gradients: g) }
        XCTAssertEqual(q, p)
        XCTAssertEqual(resumed.step, 8)
        XCTAssertNotEqual(r, p, "a fresh Adam restarts its moments")
    }

    func testRandomIsDeterministicAndUniform() {
        var a = SeededRandom(seed: 123), b = SeededRandom(seed: 123), c = SeededRandom(seed: 124)
        let xa = (0..<1000).map { _ in a.next() }, xb = (0..<1000).map { _ in b.next() }
        XCTAssertEqual(xa, xb)
        XCTAssertNotEqual(xa, (0..<1000).map { _ in c.next() })
        var r = SeededRandom(seed: 1)
        let u = (0..<100_000).map { _ in r.nextUnitDouble() }
        XCTAssertEqual(u.reduce(0, +) / Double(u.count), 0.5, accuracy: 0.01)
        XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[r.nextIndex(below: 7)] += 1 }
        XCTAssertTrue(counts.allSatisfy { abs($0 - 10_000) < 500 }, "\(counts)")
    }
}
