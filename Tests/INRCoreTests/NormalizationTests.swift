import ModelDescription
import XCTest
@testable import INRCore

final class NormalizationTests: XCTestCase {
    func testNormalisationFollowsTheFormat() throws {
        let points: [Double] = [0, 10, -1, 4, 10, 3, 2, 10, 1]   // y has zero extent
        let fields: [[Float]] = [[1, 5, 3, 5, 2, 5], [0, 5, 4, 5, 1, 5]]  // component 1 constant
        let n = try Normalizer(points: points, times: [2, 6], fields: fields, components: 2)
        XCTAssertEqual(n.bboxMin, [0, 10, -1]); XCTAssertEqual(n.bboxMax, [4, 10, 3])
        XCTAssertEqual(n.componentMin, [0, 5]); XCTAssertEqual(n.componentMax, [4, 5])
        let q = n.inputs(points: points, time: 4)
        XCTAssertEqual(q, [-1, 0, -1, 0, 1, 0, 1, 0, 0, 0, 0, 0])
        XCTAssertEqual(n.normalizedTime(6), 1)
        XCTAssertEqual(n.normalize(values: [3, 5]), [0.5, 0])
        XCTAssertEqual(n.denormalize(values: [0.5, 0.7]), [3, 5])
        var rng = SeededRandom(seed: 1)
        for _ in 0..<100 {
            let v = rng.uniform(0, 4)
            XCTAssertEqual(n.denormalize(n.normalize(v, component: 0), component: 0), v, accuracy: 1e-6)
        }
        XCTAssertEqual(n.componentRanges, [4, 0])
    }

    func testNormalizerRejectsBadInput() {
        XCTAssertThrowsError(try Normalizer(points: [Float](), times: [0], fields: [[]], components: 1))
        XCTAssertThrowsError(try Normalizer(points: [Float](repeating: 0, count: 3), times: [0, 1],
                                            fields: [[1]], components: 1))
        XCTAssertThrowsError(try Normalizer(points: [Float](repeating: 0, count: 3), times: [0],
                                            fields: [[.nan]], components: 1)) { error in
            XCTAssertTrue("\(error)".contains("time step 0"))
        }
    }

    func testMetricsFormulas() {
        // Two components over two steps; component 0 has global range 10.
        let truth: [[Float]] = [[0, 1, 10, 1], [5, 1, 5, 1]]
        let prediction: [[Float]] = [[1, 1, 9, 1], [5, 1, 5, 1]]
        let r = Metrics.evaluate(truth: truth, prediction: prediction, ranges: [10, 0])
        let m = r.perComponent[0][0]
        XCTAssertEqual(m.mse, 1)
        XCTAssertEqual(m.psnr, 20, accuracy: 1e-12)                // 20 log10 10 − 10 log10 1
        XCTAssertEqual(m.nrmse, 0.1, accuracy: 1e-12)
        XCTAssertEqual(m.r2, 1 - 2.0 / 50, accuracy: 1e-12)        // Σ(y−ȳ)² = 25 + 25
        XCTAssertEqual(m.maxAbsError, 1)
        XCTAssertEqual(r.perComponent[0][1].psnr, Metrics.psnrCap) // exact step: capped
        XCTAssertEqual(r.perComponent[1][0].psnr, Metrics.psnrCap) // zero range, zero error
        XCTAssertEqual(r.perComponent[1][0].r2, 1)
        XCTAssertEqual(r.meanPSNR, (20 + 3 * 200) / 4, accuracy: 1e-9)
        XCTAssertEqual(r.maxAbsError, 1)
        XCTAssertEqual(Metrics.compressionRatio(rawFieldBytes: 1000, modelBytes: 10), 100)
        XCTAssertEqual(Metrics.rawFieldBytes(points: 10, steps: 3, components: 2), 240)
    }
}

final class PooledR2Tests: XCTestCase {
    /// A step where the truth is nearly constant must not dominate the reported R².
    func testNearlyConstantStepDoesNotDominate() {
        let flat: [Float] = [1e-5, 2e-5, 1e-5, 2e-5]
        let moving: [Float] = [0, 0.5, 1, 0.25]
        let truth = [flat, moving]
        let prediction = [flat.map { $0 + 0.01 }, moving.map { $0 + 0.01 }]
        let report = Metrics.evaluate(truth: truth, prediction: prediction, ranges: [1])
        XCTAssertLessThan(report.perComponent[0][0].r2, -1000, "the per-step R² of the flat step is huge and negative")
        XCTAssertGreaterThan(report.meanR2, 0.99, "pooled over steps, a 0.01 offset on a unit range fits well")
        XCTAssertEqual(report.componentR2.count, 1)
        let sse = 8 * 0.0001, mean = (truth.joined().map(Double.init).reduce(0, +)) / 8
        let sst = truth.joined().map { (Double($0) - mean) * (Double($0) - mean) }.reduce(0, +)
        XCTAssertEqual(report.meanR2, 1 - sse / sst, accuracy: 1e-6)
    }
}
