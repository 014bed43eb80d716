import MeshIO
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
        var metric = seamMetric(offsets: offsets, connectivity: connectivity, network: network, ranges: [9])
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
        var flat = seamMetric(offsets: offsets, connectivity: connectivity, network: network, ranges: [9])
        truth.withUnsafeBufferPointer { t in smooth.withUnsafeBufferPointer { flat.add(truth: t, prediction: $0) } }
        XCTAssertEqual(flat.ratios[0] ?? 0, 1, accuracy: 1e-4)  // float rounding of values up to 9
    }

    func testATetrahedronCountsItsSixEdgesAndOneNetworkHasNoRatio() {
        var metric = seamMetric(offsets: [0, 4], connectivity: [0, 1, 2, 3], network: [0, 0, 0, 0], ranges: [1, 1])
        XCTAssertEqual(metric.edgesWithin, 6)
        XCTAssertEqual(metric.edgesAcross, 0)
        let t: [Float] = [0, 1, 2, 3, 4, 5, 6, 7], p: [Float] = [0.1, 1, 2, 3, 4, 5, 6, 7]
        t.withUnsafeBufferPointer { t in p.withUnsafeBufferPointer { metric.add(truth: t, prediction: $0) } }
        XCTAssertNil(metric.ratios[0], "no edge across networks")
        XCTAssertNil(metric.summary)
    }

    /// Cells of mixed sizes keep their offsets (a tet's 6 edges, a triangle's 3, none for a
    /// vertex or a cell of more than 8 points); cells of one size are walked without offsets
    /// and give the same metric as with them.
    func testMixedCellsKeepTheirOffsetsAndUniformCellsDropThem() {
        let offsets = [0, 4, 7, 8, 17], connectivity = [0, 1, 2, 3, 2, 3, 4, 4] + Array(0 ..< 9)
        let network: [Int32] = [0, 0, 0, 1, 1, 1, 1, 1, 1]
        let mixed = compact(offsets: offsets, connectivity: connectivity)
        XCTAssertEqual(mixed.offsets, offsets)
        let metric = SeamMetric(cells: mixed, network: network, ranges: [1])
        XCTAssertEqual(metric.edgesWithin + metric.edgesAcross, 9)
        XCTAssertEqual(metric.edgesAcross, 5)  // tet: 0-3, 1-3, 2-3; triangle: 2-3, 2-4

        let tets = [0, 1, 2, 3, 2, 3, 4, 5, 5, 6, 7, 8]
        let uniform = compact(offsets: [0, 4, 8, 12], connectivity: tets)
        XCTAssertTrue(uniform.offsets.isEmpty)
        XCTAssertEqual(uniform.cellSize, 4)
        var walked = SeamMetric(cells: uniform, network: network, ranges: [1])
        var listed = SeamMetric(cellPoints: tets.map(UInt32.init), offsets: [0, 4, 8, 12], cellSize: 0, cellCount: 3,
                                network: network, ranges: [1])
        XCTAssertEqual(walked.edgesAcross, listed.edgesAcross)
        XCTAssertEqual(walked.edgesWithin, listed.edgesWithin)
        XCTAssertEqual(walked.edgesAcross + walked.edgesWithin, 18)
        let t: [Float] = (0 ..< 9).map(Float.init), p: [Float] = (0 ..< 9).map { Float($0) + ($0 % 3 == 0 ? 0.1 : 0) }
        t.withUnsafeBufferPointer { t in p.withUnsafeBufferPointer { walked.add(truth: t, prediction: $0); listed.add(truth: t, prediction: $0) } }
        XCTAssertEqual(walked.ratios[0], listed.ratios[0])
        XCTAssertNotNil(walked.ratios[0])
    }

    /// The median edge in normalised coordinates (what `--seam-margin` is measured in): each
    /// axis of the box scaled to a length of 2.
    func testMedianEdgeLengthIsInTheNormalisedBox() throws {
        // Corner tetrahedron at the origin: three unit legs along x, y, z and three diagonals.
        let metric = seamMetric(offsets: [0, 4], connectivity: [0, 1, 2, 3], network: [0, 0, 0, 0], ranges: [1])
        let points: [Double] = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
        // Box 4 × 2 × 1: the legs become 0.5, 1 and 2; the diagonals √(0.25 + 1) … √(1 + 4).
        let legsAndDiagonals = [0.5, 1, 2, (0.25 + 1.0).squareRoot(), (0.25 + 4.0).squareRoot(), (1 + 4.0).squareRoot()].sorted()
        let median = try XCTUnwrap(metric.medianEdgeLength(points: points, boxMin: [0, 0, 0], boxMax: [4, 2, 1]))
        XCTAssertEqual(median, legsAndDiagonals[3], accuracy: 1e-12)
        XCTAssertNil(seamMetric(offsets: [0, 1], connectivity: [0], network: [0], ranges: [1])
            .medianEdgeLength(points: [0, 0, 0], boxMin: [0, 0, 0], boxMax: [1, 1, 1]))
    }
}

/// Cells as eval holds them: compacted by MeshIO (`CompactCells`), every cell typed a tetrahedron
/// (the metric does not look at types).
private func compact(offsets: [Int], connectivity: [Int]) -> CompactCells {
    let points = (connectivity.max() ?? 0) + 1
    return CompactCells(Mesh(points: [Double](repeating: 0, count: 3 * points),
                             cellTypes: [UInt8](repeating: Mesh.tetraType, count: offsets.count - 1),
                             offsets: offsets, connectivity: connectivity))
}

private func seamMetric(offsets: [Int], connectivity: [Int], network: [Int32], ranges: [Double]) -> SeamMetric {
    SeamMetric(cells: compact(offsets: offsets, connectivity: connectivity), network: network, ranges: ranges)
}
