import Foundation
import MCIFormat
import XCTest
@testable import MCINR

/// With an error bound the encoder tries f16 and int8 weights and writes the smaller file of
/// the two: the very file that asking for that encoding alone writes (also where the second
/// residual reuses the first's planner costs of the data, `ErrorBoundedEncoder.DataCosts`).
final class WeightChoiceTests: XCTestCase {
    func testErrorBoundKeepsTheEncodingWithFewerBytes() throws {
        let data = Fixtures.analyticField(points: 400, steps: 4)
        let mesh = DistributedTrainingTests.mesh(data)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcinr-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // (bound, the alternative to f16, the encoding that must win): at a loose bound the
        // residual is nearly empty either way, so the smaller weights win, int8 against f16 and
        // f16 against f32 (uncompressed, twice the bytes)
        for (bound, alternative, winner) in [(0.3, MCIWeightEncoding.int8, MCIWeightEncoding.int8), (0.001, .int8, nil),
                                             (0.3, .float32, .float16)] {
            var options = EncodeOptions(training: Fixtures.fastConfig())
            options.errorBound = .relative(bound)
            if alternative != .int8 { options.boundedWeightAlternatives = [alternative] }
            let auto = folder.appendingPathComponent("auto-\(bound)-\(alternative.shortName).mci")
            var steps: [(stage: String, attempt: Int, done: Int, total: Int)] = []
            let reporter = ClosureProgressReporter { event in
                if case .errorBoundingStep(let stage, let attempt, let done, let total) = event { steps.append((stage, attempt, done, total)) }
            }
            let summary = try Encoder.encode(data, mesh: mesh, to: auto, options: options, reporter: reporter)
            XCTAssertEqual(summary.weightChoices.map(\.encoding), [.float16, alternative])
            // each residual reports its stages step by step, and their times in the summary
            let finished = steps.filter { $0.done == $0.total }.map(\.stage)
            XCTAssertEqual(Array(finished.prefix(3)), ["planning", "coding", "verifying"], "\(steps.map(\.stage))")
            XCTAssertTrue(steps.allSatisfy { $0.total == data.timeCount && $0.attempt >= 1 })
            XCTAssertEqual(steps.filter { $0.stage == "planning" && $0.done == 0 }.count, summary.weightChoices.count)
            let json = try XCTUnwrap(summary.jsonObject(output: "x")["error_bound"] as? [String: Any])
            let seconds = try XCTUnwrap(json["seconds"] as? [String: Double])
            XCTAssertEqual(Set(seconds.keys), ["planning", "coding", "verifying"])
            XCTAssertTrue(seconds.values.allSatisfy { $0 >= 0 })
            XCTAssertEqual(json["attempts"] as? Int, summary.bounded?.attempts)
            // each choice's cost is what a file of that encoding alone stores
            var files: [MCIWeightEncoding: Data] = [:]
            for choice in summary.weightChoices {
                var fixed = options
                fixed.weightEncoding = choice.encoding
                fixed.boundedWeightAlternatives = []
                let url = folder.appendingPathComponent("\(choice.encoding.shortName)-\(bound)-\(alternative.shortName).mci")
                let alone = try Encoder.encode(data, mesh: mesh, to: url, options: fixed)
                XCTAssertEqual(alone.weightChoices.count, 1)
                XCTAssertEqual(alone.weightChoices[0].netsBytes, choice.netsBytes)
                XCTAssertEqual(alone.residualBytes, choice.residualBytes)
                files[choice.encoding] = try Data(contentsOf: url)
            }
            let costs = summary.weightChoices.map(\.storedBytes)
            let smallest = summary.weightChoices[costs.firstIndex(of: costs.min()!)!].encoding
            XCTAssertEqual(summary.weightEncoding, smallest, "bound \(bound): \(costs)")
            XCTAssertEqual(try Data(contentsOf: auto), files[smallest], "bound \(bound): the file of the encoding chosen")
            XCTAssertNotEqual(files[.float16], files[alternative])
            if let winner { XCTAssertEqual(smallest, winner, "bound \(bound): \(costs)") }
        }
    }
}
