import XCTest
@testable import MCIFormat

/// Opens of bytes this process made itself are trusted (`MCIDecoder.OpenOptions.ownOutput`,
/// issue 24): a legitimately large model, beyond the limits for untrusted files of its size
/// (64 × file size + 16 MiB of memory at open, docs/mci-format.md "Limits"), is still encoded,
/// while the same bytes from elsewhere are refused by default.
final class OwnOutputTests: XCTestCase {
    /// One scalar variable, 2 steps, and a mesh of `n` points that repeat the 8 corners of the
    /// bounding box and no cells: the MESH section deflates about 1000:1, so the file is a few
    /// KB while the open needs 36 bytes per point (inflated body and double coordinates).
    static func largeModel(points n: Int) -> MCIModel {
        var model = TestModels.model(.siren, mesh: nil)
        var rng = SeededRNG(seed: 5)
        model.variables = [MCIVariable(name: "s", components: 1)]
        model.componentRanges = [0 ... 1]
        model.times = [1, 2]
        model.timeInterval = 1 ... 2
        model.networks = (0..<model.networks.count).map { _ in TestModels.network(.siren, components: 1, width: 4, pe: 0, &rng) }
        var points: [Double] = []
        points.reserveCapacity(3 * n)
        for i in 0..<n { points += [(i & 1) != 0 ? 2.2 : -0.2, (i & 2) != 0 ? 2.1 : -0.1, (i & 4) != 0 ? 2.0 : 0.0] }
        model.mesh = MCIMesh(points: points, pointPrecision: .float32, cellTypes: [], cellOffsets: [0], connectivity: [])
        model.meshCoding = .zlib
        model.numPoints = UInt64(n)
        model.numCells = 0
        model.rawFieldBytes = UInt64(n * 2 * 4)
        return model
    }

    func testErrorBoundedEncodingOfALargeModel() throws {
        let n = 800_000
        let model = Self.largeModel(points: n)
        let bytes = try MCIWriter.encode(model)
        XCTAssertLessThan(bytes.count, 64 << 10, "the test needs a small file")
        // from elsewhere: refused by the limits (the open would need ~29 MB for a file of a few KB)
        XCTAssertThrowsError(try MCIDecoder(bytes: bytes)) { error in
            guard case MCIError.limit(let message) = error else { return XCTFail("expected a limit error, got \(error)") }
            XCTAssertTrue(message.contains("section MESH"), message)
        }
        XCTAssertNoThrow(try MCIDecoder(bytes: bytes, options: .ownOutput))
        // the encoder's own opens (the network alone, then each attempt's bytes) pass
        let truth = [Float](repeating: 0.5, count: n)
        let (bounded, report) = try ErrorBoundedEncoder.make(model, bound: .absolute(0.01), threads: 2) { _ in truth }
        XCTAssertNotNil(bounded.residual)
        XCTAssertLessThanOrEqual(report.achievedMaxError[0], 0.01)
        XCTAssertThrowsError(try MCIDecoder(bytes: try MCIWriter.encode(bounded)), "the result is still beyond the default limits")
        // the writer's check of what it writes passes too
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcinr-own-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("large.mci")
        XCTAssertNoThrow(try MCIWriter.write(model, to: url))
        XCTAssertTrue(FileManager.default.fileExists(atPath: url.path))
    }
}
