import Foundation
import MCIFormat
import MeshIO
import XCTest
@testable import MCINR

/// A mesh coded as MESHC before training, its cells released (what `train` does for a large
/// mesh), gives the file that coding it at write time gives, with and without an error bound
/// (whose neighbour lists are then read back from the coded mesh, in the decoder's cell order).
final class CodedMeshTests: XCTestCase {
    func testMeshCodedBeforeTrainingGivesTheSameFile() throws {
        let data = Fixtures.analyticField(points: 400, steps: 4)
        let mesh = DistributedTrainingTests.mesh(data)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcinr-coded-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var options = EncodeOptions(training: Fixtures.fastConfig())
        options.meshCoding = .chunked(cellsPerChunk: 37)
        let payload = try MCIWriter.meshPayload(MCIMesh(mesh), cellsPerChunk: 37)
        let pointsOnly = Mesh(points: mesh.points, cellTypes: [], offsets: [0], connectivity: [], pointPrecision: mesh.pointPrecision)
        for bound in [nil, MCIResidual.Bound.relative(0.02)] {
            options.errorBound = bound
            let name = bound == nil ? "plain" : "bounded"
            let atWrite = folder.appendingPathComponent("\(name)-write.mci"), atOpen = folder.appendingPathComponent("\(name)-open.mci")
            let written = try Encoder.encode(data, mesh: mesh, to: atWrite, options: options)
            let coded = try Encoder.encode(data, mesh: pointsOnly, codedMesh: payload, to: atOpen, options: options)
            XCTAssertEqual(try Data(contentsOf: atOpen), try Data(contentsOf: atWrite), name)
            XCTAssertEqual(try MCIDecoder(url: atOpen).meshCellCount, mesh.cellCount, name)
            XCTAssertEqual(coded.bounded != nil, bound != nil, name)
            if let report = coded.bounded {
                XCTAssertGreaterThan(report.residualBytes, 0)  // a residual was coded, not an empty file
                XCTAssertEqual(report.residualBytes, written.bounded?.residualBytes)
                for (achieved, bound) in zip(report.achievedMaxError, report.maxErrors) { XCTAssertLessThanOrEqual(achieved, bound) }
            }
        }
    }
}
