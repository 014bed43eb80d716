import ModelDescription
import XCTest

/// The seam ratio (#21) on a chain whose two halves are "decoded" with a jump between them.
final class SeamMetricTests: XCTestCase {
    func testAJumpAtTheNetworkBoundaryIsTheRatioOfEdgeErrors() {
        // Ten points in a chain of 2-point cells; points 0-4 on network 0, 5-9 on network 1.
        let n = 10
        let offsets = Array(stride(from: 0, through: 2 * (n - 1), by: 2))
        let connectivity = (0 ..< n - 1).flatMap { [$0, $0 + 1] }
        let network: [Int32] = (0 ..< n).map { $0 < 5 ? 0 : 1 }
        let truth: [Float] = (0 ..< n).map { Float($0) }
        // Interior: ±0.01 alternating (edge error 0.02); across (4, 5): a jump of 0.5 as well.
        let prediction: [Float] = (0 ..< n).map { i in truth[i] + (i % 2 == 0 ? 0.01 : -0.01) + (i < 5 ? 0.5 : 0) }
        var metric = SeamMetric(offsets: offsets, connectivity: connectivity, network: network, ranges: [9])
        XCTAssertEqual(metric.edgesAcross, 1)
        XCTAssertEqual(metric.edgesWithin, 8)
        truth.withUnsafeBufferPointer { t in prediction.withUnsafeBufferPointer { metric.add(truth: t, prediction: $0) } }
        let across = abs(Double(prediction[4] - prediction[5]) - Double(truth[4] - truth[5]))
        var within = 0.0
        for i in 0 ..< n - 1 where i != 4 {
            within += abs(Double(prediction[i] - prediction[i + 1]) - Double(truth[i] - truth[i + 1]))
        }
        let expected = across / (within / 8)
        XCTAssertEqual(metric.ratios[0] ?? 0, expected, accuracy: 1e-9 * expected)
        XCTAssertGreaterThan(expected, 20, "a 0.5 jump against 0.02 of interior error")
        XCTAssertEqual(metric.summary?.median ?? 0, expected, accuracy: 1e-9 * expected)

        // Without the jump, the boundary edge is like any other: ratio 1.
        let smooth: [Float] = (0 ..< n).map { i in truth[i] + (i % 2 == 0 ? 0.01 : -0.01) }
        var flat = SeamMetric(offsets: offsets, connectivity: connectivity, network: network, ranges: [9])
        truth.withUnsafeBufferPointer { t in smooth.withUnsafeBufferPointer { flat.add(truth: t, prediction: $0) } }
        XCTAssertEqual(flat.ratios[0] ?? 0, 1, accuracy: 1e-4)  // float rounding of values up to 9
    }

    func testATetrahedronCountsItsSixEdgesAndOneNetworkHasNoRatio() {
        var metric = SeamMetric(offsets: [0, 4], connectivity: [0, 1, 2, 3], network: [0, 0, 0, 0], ranges: [1, 1])
        XCTAssertEqual(metric.edgesWithin, 6)
        XCTAssertEqual(metric.edgesAcross, 0)
        let t: [Float] = [0, 1, 2, 3, 4, 5, 6, 7], p: [Float] = [0.1, 1, 2, 3, 4, 5, 6, 7]
        t.withUnsafeBufferPointer { t in p.withUnsafeBufferPointer { metric.add(truth: t, prediction: $0) } }
        XCTAssertNil(metric.ratios[0], "no edge across networks")
        XCTAssertNil(metric.summary)
    }

    /// Cells of mixed sizes keep their offsets (a tet's 6 edges, a triangle's 3, none for a
    /// vertex or a cell of more than 8 points); taking the cells empties the caller's arrays and
    /// gives the same metric as copying them.
    func testMixedCellsAndTakingTheCells() {
        var offsets = [0, 4, 7, 8, 17], connectivity = [0, 1, 2, 3, 2, 3, 4, 4] + Array(0 ..< 9)
        let network: [Int32] = [0, 0, 0, 1, 1, 1, 1, 1, 1]
        let copied = SeamMetric(offsets: offsets, connectivity: connectivity, network: network, ranges: [1])
        XCTAssertEqual(copied.edgesWithin + copied.edgesAcross, 9)
        XCTAssertEqual(copied.edgesAcross, 5)  // tet: 0-3, 1-3, 2-3; triangle: 2-3, 2-4
        var taken = SeamMetric(taking: &offsets, &connectivity, network: network, ranges: [1])
        XCTAssertTrue(offsets.isEmpty && connectivity.isEmpty)
        XCTAssertEqual(taken.edgesAcross, copied.edgesAcross)
        XCTAssertEqual(taken.edgesWithin, copied.edgesWithin)
        var again = copied
        let t: [Float] = (0 ..< 9).map(Float.init), p: [Float] = (0 ..< 9).map { Float($0) + ($0 % 3 == 0 ? 0.1 : 0) }
        t.withUnsafeBufferPointer { t in p.withUnsafeBufferPointer { taken.add(truth: t, prediction: $0); again.add(truth: t, prediction: $0) } }
        XCTAssertEqual(taken.ratios[0], again.ratios[0])
        XCTAssertNotNil(taken.ratios[0])
    }
}
