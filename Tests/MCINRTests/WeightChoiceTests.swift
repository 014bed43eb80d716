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
            let summary = try Encoder.encode(data, mesh: mesh, to: auto, options: options)
            XCTAssertEqual(summary.weightChoices.map(\.encoding), [.float16, alternative])
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
