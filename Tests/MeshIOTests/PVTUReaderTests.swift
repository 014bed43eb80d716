import Foundation
import XCTest
@testable import MeshIO

/// `.pvtu` steps (VTK's partitioned format): pieces concatenated in the listed order, point
/// indices shifted, arrays concatenated; a series of them streams like one of `.vtu` files.
final class PVTUReaderTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcinr-pvtu-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("pieces"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// Piece k: a tetrahedron shifted by k along x; pressure = 10 k + point + step, velocity 2-vectors.
    private func piece(_ k: Int, step: Int, extraArray: Bool = false) -> (Mesh, [NamedArray]) {
        let base: [Double] = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
        let points = base.enumerated().map { i, v in i % 3 == 0 ? v + Double(k) : v }
        let mesh = Mesh.tetrahedra(points: points, tets: [0, 1, 2, 3], pointPrecision: .float32)
        var arrays = [NamedArray(name: "pressure", components: 1, values: (0 ..< 4).map { Float(10 * k + $0 + step) }),
                      NamedArray(name: "velocity", components: 2, values: (0 ..< 8).map { Float(-$0 - k - step) })]
        if extraArray { arrays.append(NamedArray(name: "extra", components: 1, values: [1, 2, 3, 4])) }
        return (mesh, arrays)
    }

    private func writeStep(_ step: Int, pieces: Int, extraInPiece: Int? = nil) throws -> URL {
        var sources: [String] = []
        for k in 0 ..< pieces {
            let (mesh, arrays) = piece(k, step: step, extraArray: k == extraInPiece)
            let name = "pieces/s\(step)_\(k).vtu"
            try VTUWriter().write(mesh: mesh, pointArrays: arrays, fieldData: [("TimeValue", [Double(step) / 2])],
                                  to: folder.appendingPathComponent(name))
            sources.append(name)
        }
        let url = folder.appendingPathComponent("s\(step).pvtu")
        let text = """
            <?xml version="1.0"?>
            <VTKFile type="PUnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64">
              <PUnstructuredGrid GhostLevel="0">
                <PPointData><PDataArray type="Float32" Name="pressure"/></PPointData>
                <PPoints><PDataArray type="Float32" Name="Points" NumberOfComponents="3"/></PPoints>
            \(sources.map { "    <Piece Source=\"\($0)\"/>" }.joined(separator: "\n"))
              </PUnstructuredGrid>
            </VTKFile>
            """
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testPiecesAreConcatenatedWithShiftedIndices() throws {
        let url = try writeStep(0, pieces: 3)
        let read = try PVTUReader.readFile(url, mode: .full)
        XCTAssertEqual(read.pointCount, 12)
        XCTAssertEqual(read.cellCount, 3)
        let mesh = read.file.mesh
        XCTAssertEqual(mesh.points, (0 ..< 3).flatMap { piece($0, step: 0).0.points })
        XCTAssertEqual(mesh.connectivity, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
        XCTAssertEqual(mesh.offsets, [0, 4, 8, 12])
        XCTAssertEqual(mesh.cellTypes, [Mesh.tetraType, Mesh.tetraType, Mesh.tetraType])
        XCTAssertEqual(read.file.pointArrays.map(\.name), ["pressure", "velocity"])
        XCTAssertEqual(read.file.pointArrays[0].values, (0 ..< 3).flatMap { piece($0, step: 0).1[0].values })
        XCTAssertEqual(read.file.pointArrays[1].values, (0 ..< 3).flatMap { piece($0, step: 0).1[1].values })
        XCTAssertEqual(read.file.fieldData["TimeValue"], [0])
        // .arrays mode: the same arrays and the same checksum, without the mesh
        let arrays = try PVTUReader.readFile(url, mode: .arrays)
        XCTAssertEqual(arrays.pointChecksum, read.pointChecksum)
        XCTAssertEqual(arrays.file.pointArrays, read.file.pointArrays)
        // .compactCells (a ground truth): the merged cells, compacted, outside the mesh
        let compact = try PVTUReader.readFile(url, mode: .compactCells)
        XCTAssertEqual(compact.compactCells, CompactCells(mesh))
        XCTAssertEqual(compact.compactCells?.pointIDs, (0 ..< 12).map(UInt32.init))
        XCTAssertEqual(compact.file.mesh.points, mesh.points)
        XCTAssertEqual(compact.file.mesh.cellCount, 0)
        XCTAssertEqual(compact.pointChecksum, read.pointChecksum)
        XCTAssertEqual(compact.file.pointArrays, read.file.pointArrays)
    }

    func testASeriesOfPVTUStepsStreams() throws {
        let steps = try (0 ..< 3).map { try writeStep($0, pieces: 2) }
        try PVDWriter.write(entries: steps.enumerated().map { (Double($0.offset) / 2, $0.element.lastPathComponent) },
                            to: folder.appendingPathComponent("series.pvd"))
        let stream = try SeriesStream(folder.appendingPathComponent("series.pvd"))
        XCTAssertEqual(stream.mesh.pointCount, 8)
        XCTAssertEqual(stream.times, [0, 0.5, 1])
        for s in 0 ..< 3 {
            let step = try stream.step(s)
            XCTAssertEqual(step.pointArrays[0].values, (0 ..< 2).flatMap { piece($0, step: s).1[0].values }, "step \(s)")
        }
        let dataset = try DatasetReader.read(folder.appendingPathComponent("series.pvd"))
        XCTAssertEqual(dataset.variables.map(\.name), ["pressure", "velocity"])
        XCTAssertEqual(dataset.variables[1].values[2], (0 ..< 2).flatMap { piece($0, step: 2).1[1].values })
    }

    func testPiecesMustAgree() throws {
        let url = try writeStep(0, pieces: 2, extraInPiece: 1)
        XCTAssertThrowsError(try PVTUReader.readFile(url, mode: .full)) { error in
            XCTAssertTrue("\(error)".contains("first piece"), "\(error)")
        }
        try "<VTKFile type=\"PUnstructuredGrid\"><PUnstructuredGrid><Piece Source=\"missing.vtu\"/></PUnstructuredGrid></VTKFile>"
            .write(to: folder.appendingPathComponent("bad.pvtu"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PVTUReader.readFile(folder.appendingPathComponent("bad.pvtu"), mode: .full)) { error in
            XCTAssertTrue("\(error)".contains("missing.vtu"), "\(error)")
        }
    }
}
