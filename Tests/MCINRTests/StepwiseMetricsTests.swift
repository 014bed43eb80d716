import XCTest
import ModelDescription

/// Metrics computed one step at a time (what eval, export and train's evaluation stream) agree
/// with a direct computation over all steps.
final class StepwiseMetricsTests: XCTestCase {
    func testStepwiseEqualsDirectPooledComputation() {
        var rng = SystemRandomNumberGenerator()
        let n = 257, c = 3, steps = 4
        let truth = (0..<steps).map { s in (0..<n * c).map { i in Float(i % c) * 3 + Float(s) + Float.random(in: -1...1, using: &rng) } }
        let prediction = truth.map { $0.map { $0 + Float.random(in: -0.1...0.1, using: &rng) } }
        let ranges = [5.0, 6.0, 0.0]
        let report = Metrics.evaluate(truth: truth, prediction: prediction, ranges: ranges)
        for k in 0..<c {
            // R² pooled over all steps, straight from its definition.
            let ys = truth.flatMap { step in stride(from: k, to: step.count, by: c).map { Double(step[$0]) } }
            let ps = prediction.flatMap { step in stride(from: k, to: step.count, by: c).map { Double(step[$0]) } }
            let mean = ys.reduce(0, +) / Double(ys.count)
            let sse = zip(ys, ps).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            let sst = ys.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            XCTAssertEqual(report.componentR2[k], 1 - sse / sst, accuracy: 1e-12)
            XCTAssertEqual(report.perComponent[k].count, steps)
            for s in 0..<steps {
                XCTAssertEqual(report.perComponent[k][s],
                               Metrics.component(truth: truth[s], prediction: prediction[s], components: c, component: k, range: ranges[k]))
            }
        }
        // Streaming by hand gives the very same report.
        var means = PooledMeans(components: c)
        for step in truth { step.withUnsafeBufferPointer { means.add($0) } }
        var stepwise = StepwiseEvaluation(ranges: ranges, pooledMeans: means.means)
        for (t, p) in zip(truth, prediction) {
            t.withUnsafeBufferPointer { t in p.withUnsafeBufferPointer { stepwise.add(truth: t, prediction: $0) } }
        }
        XCTAssertEqual(stepwise.stepCount, steps)
        XCTAssertEqual(stepwise.report, report)
        XCTAssertLessThan(report.meanR2, 1)
    }
}
