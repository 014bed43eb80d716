import Foundation
import MCIFormat
import ModelDescription
import XCTest
@testable import MCINR

/// The evaluation's sums per top-level cluster (`PartitionedEvaluation`, issue 18): the metrics
/// of the definition (`Metrics.evaluate`, summed in mesh order) up to the summation order's
/// rounding, and exactly the same floats whichever ranks hold which clusters.
final class PartitionedEvaluationTests: XCTestCase {
    func testSameMetricsAsStepwiseAndTheSameFloatsOnAnyRanks() throws {
        // more points than one decoder chunk (4096): a rank's points decoded in one call would
        // be grouped otherwise than in one process, and their last bits would differ
        let data = Fixtures.analyticField(points: 6000, steps: 2)
        var config = Fixtures.fastConfig()
        config.clusters = 5
        config.evaluation = .none
        let result = try MCINRPipeline(config: config).run(data)
        let cells = PartitionedEvaluation.cells(points: data.points, result: result)
        let cellCount = Int(cells.max()!) + 1
        XCTAssertGreaterThan(Set(cells).count, 2, "several clusters, so that the partition matters")
        let partitioned = try DecoderEvaluation.evaluate(result, data: data, threads: 1)

        // the definition, summed in mesh order, of the same predictions (each cell decoded alone)
        let decoder = try MCIDecoder(bytes: MCIWriter.encode(result.makeModel()), name: "test", options: .ownOutput)
        let stepSize = data.pointCount * data.componentCount, C = data.componentCount
        let truth = (0 ..< data.timeCount).map { Array(data.values[$0 * stepSize ..< ($0 + 1) * stepSize]) }
        let prediction = try data.times.map { time in
            var out = [Float](repeating: .nan, count: stepSize)
            for cell in 0 ..< cellCount {
                let members = (0 ..< data.pointCount).filter { cells[$0] == cell }
                let decoded = try decoder.decode(points: members.flatMap { data.points[3 * $0 ..< 3 * $0 + 3] }, time: time, threads: 1)
                for (j, p) in members.enumerated() { for c in 0 ..< C { out[p * C + c] = decoded[j * C + c] } }
            }
            return out
        }
        let reference = Metrics.evaluate(truth: truth, prediction: prediction, ranges: result.normalization.componentRanges)
        XCTAssertEqual(partitioned.perComponent.count, reference.perComponent.count)
        for (mine, theirs) in zip(partitioned.perComponent.joined(), reference.perComponent.joined()) {
            XCTAssertEqual(mine.mse, theirs.mse, accuracy: 1e-12 * max(theirs.mse, 1e-300))
            XCTAssertEqual(mine.r2, theirs.r2, accuracy: 1e-10)
            XCTAssertEqual(mine.psnr, theirs.psnr, accuracy: 1e-9)
            XCTAssertEqual(mine.maxAbsError, theirs.maxAbsError)  // a max: no rounding
        }
        for (mine, theirs) in zip(partitioned.componentR2, reference.componentR2) { XCTAssertEqual(mine, theirs, accuracy: 1e-10) }
        XCTAssertEqual(partitioned.meanPSNR, reference.meanPSNR, accuracy: 1e-9)

        // clusters spread over 2 and 3 ranks in two ways: bit-identical reports on rank 0
        for (size, rankOfCell) in [(2, { (c: Int) in c % 2 }), (3, { (c: Int) in (cellCount - 1 - c) % 3 })] {
            let reports = try ThreadCommunicator.run(size: size) { communicator -> MetricsReport? in
                let rows = (0 ..< data.pointCount).filter { rankOfCell(Int(cells[$0])) == communicator.rank }
                let values = Self.rows(data, rows)
                return try values.withUnsafeBufferPointer {
                    try PartitionedEvaluation.evaluate(decoder: decoder, points: data.points, rows: rows, values: $0,
                                                       cellOfPoint: cells, times: data.times,
                                                       ranges: result.normalization.componentRanges, threads: 1,
                                                       communicator: communicator)
                }
            }
            XCTAssertEqual(reports[0], partitioned, "\(size) ranks")
            XCTAssertTrue(reports.dropFirst().allSatisfy { $0 == nil })
        }

        // a cluster split between ranks would make the sums depend on the rank count: refused
        let errors = try ThreadCommunicator.run(size: 2) { communicator -> String in
            let rows = (0 ..< data.pointCount).filter { $0 % 2 == communicator.rank }
            do {
                _ = try Self.rows(data, rows).withUnsafeBufferPointer {
                    try PartitionedEvaluation.evaluate(decoder: decoder, points: data.points, rows: rows, values: $0,
                                                       cellOfPoint: cells, times: data.times,
                                                       ranges: result.normalization.componentRanges, threads: 1,
                                                       communicator: communicator)
                }
                return "no error"
            } catch { return "\(error)" }
        }
        for e in errors { XCTAssertTrue(e.contains("top-level cluster"), e) }
    }

    /// The values of `rows` for every step: `[(s · rows + i) · C + c]`.
    static func rows(_ data: TrainingData, _ rows: [Int]) -> [Float] {
        let n = data.pointCount, c = data.componentCount
        var out: [Float] = []
        for s in 0 ..< data.timeCount { for p in rows { out += data.values[(s * n + p) * c ..< (s * n + p + 1) * c] } }
        return out
    }
}
