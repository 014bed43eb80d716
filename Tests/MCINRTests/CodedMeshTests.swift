import Foundation
import MCIFormat
import MeshIO
import XCTest
@testable import MCINR

/// A mesh coded as MESHC before training, its cells released (what `train` does for a large
/// mesh), gives the file that coding it at write time gives.
final class CodedMeshTests: XCTestCase {
    func testMeshCodedBeforeTrainingGivesTheSameFile() throws {
        let data = Fixtures.analyticField(points: 400, steps: 4)
        let mesh = DistributedTrainingTests.mesh(data)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcinr-coded-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var options = EncodeOptions(training: Fixtures.fastConfig())
        options.meshCoding = .chunked(cellsPerChunk: 37)
        let atWrite = folder.appendingPathComponent("write.mci"), atOpen = folder.appendingPathComponent("open.mci")
        _ = try Encoder.encode(data, mesh: mesh, to: atWrite, options: options)
        let payload = try MCIWriter.meshPayload(MCIMesh(mesh), cellsPerChunk: 37)
        let pointsOnly = Mesh(points: mesh.points, cellTypes: [], offsets: [0], connectivity: [], pointPrecision: mesh.pointPrecision)
        _ = try Encoder.encode(data, mesh: pointsOnly, codedMesh: payload, to: atOpen, options: options)
        XCTAssertEqual(try Data(contentsOf: atOpen), try Data(contentsOf: atWrite))
        XCTAssertEqual(try MCIDecoder(url: atOpen).meshCellCount, mesh.cellCount)
        // an error bound needs the cells after training: a coded mesh is refused with it
        options.errorBound = .relative(0.02)
        XCTAssertThrowsError(try Encoder.encode(data, mesh: pointsOnly, codedMesh: payload,
                                                to: folder.appendingPathComponent("bounded.mci"), options: options))
    }
}
