import XCTest
@testable import INRCore

/// The opt-in profiler used by mcinr-bench: it must see the BLAS and sine calls of a training
/// step when on, record nothing when off, and never change the numbers.
final class StepProfilerTests: XCTestCase {
    override func tearDown() {
        StepProfiler.isEnabled = false
        StepProfiler.reset()
    }

    func testCountsCallsOnlyWhenEnabledAndLeavesResultsUnchanged() throws {
        let net = try Network(.siren(outputs: 2, width: 16), seed: 3)
        var rng = SeededRandom(seed: 5)
        let rows = 64
        let inputs = (0..<(rows * 4)).map { _ in rng.uniform(-1, 1) }
        let targets = (0..<(rows * 2)).map { _ in rng.uniform(-1, 1) }

        StepProfiler.reset()
        let lossOff = net.lossAndGradient(inputs: inputs, targets: targets)
        let gradOff = net.gradientArray()
        XCTAssertEqual(StepProfiler.gemmCalls, 0)
        XCTAssertEqual(StepProfiler.gemmSeconds, 0)

        StepProfiler.isEnabled = true
        let lossOn = net.lossAndGradient(inputs: inputs, targets: targets)
        let oneStepCalls = StepProfiler.gemmCalls
        XCTAssertEqual(lossOn, lossOff)
        XCTAssertEqual(net.gradientArray(), gradOff)
        // SIREN: one dense layer per module; each has a forward and a weight-gradient GEMM,
        // and an input-gradient GEMM unless it is the first layer.
        let d = net.export()
        let modules = d.trunk + Array(d.branches.joined())
        XCTAssertFalse(modules.contains { $0.kind == .resBlock })
        let layers = modules.count
        XCTAssertGreaterThanOrEqual(oneStepCalls, 2 * layers)
        XCTAssertLessThanOrEqual(oneStepCalls, 3 * layers)
        XCTAssertGreaterThan(StepProfiler.gemmSeconds, 0)
        XCTAssertGreaterThan(StepProfiler.sineForwardSeconds, 0)
        XCTAssertGreaterThan(StepProfiler.sineBackwardSeconds, 0)

        _ = net.lossAndGradient(inputs: inputs, targets: targets)
        XCTAssertEqual(StepProfiler.gemmCalls, 2 * oneStepCalls)
        StepProfiler.reset()
        XCTAssertEqual(StepProfiler.gemmCalls, 0)
        XCTAssertEqual(StepProfiler.sineForwardSeconds, 0)
    }
}
