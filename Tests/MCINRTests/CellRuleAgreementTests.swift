import CMCINR
import INRCore
import MCIFormat
import MeshIO
import ModelDescription
import XCTest

/// What train accepts and export writes (MeshIO's cell rule) is what the decoder's table —
/// which the ParaView reader and the Python package check cells with — accepts.
final class CellRuleAgreementTests: XCTestCase {
    func testMeshIORuleEqualsTheDecoderTable() {
        var supported = 0
        for type in 0...255 {
            var minimum: Int32 = -1
            let exact = mcinr_cell_point_count(UInt8(type), &minimum)
            let rule = Mesh.pointCountRule(UInt8(type))
            if exact < 0 {
                XCTAssertNil(rule, "type \(type)")
                continue
            }
            supported += 1
            XCTAssertEqual(rule?.exact, exact == 0 ? nil : Int(exact), "type \(type)")
            XCTAssertEqual(rule?.minimum, Int(minimum), "type \(type)")
        }
        XCTAssertEqual(supported, 23, "16 linear types (1–16) and 7 quadratic ones (21–27)")
    }

    /// The whole rule, not only the table: random meshes of 1 to 3 cells (types in and out of the
    /// table, right and wrong sizes, repeated points, a point index past the end) are accepted
    /// by MeshIO's Mesh.validate (train's input, export's output) exactly when the C decoder
    /// opens them as a MESH section (MCIWriter refuses a missing point itself); a refusal by the
    /// decoder names the cell.
    func testMeshIOValidateEqualsTheDecoderAtOpen() throws {
        let net = NetworkDescription(peFrequencies: 0, omega0: 30, trunk: [], branches: [[
            ModuleDescription(kind: .linear, inputs: 4, outputs: 1, tensors: [[0.1, 0.2, 0.3, 0.4], [0.5]])]])
        let pointCount = 6
        let points = (0..<(3 * pointCount)).map { Double($0 % 7) * 0.25 }
        var rng = SplitMix64(seed: 24)
        let typePool: [UInt8] = [0, 1, 2, 3, 4, 5, 7, 9, 10, 10, 10, 10, 12, 14, 24, 42, 255]
        var accepted = 0, refusedByDecoder = 0
        for trial in 0..<300 {
            var types: [UInt8] = [], offsets = [0], connectivity: [Int] = []
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let type = typePool.randomElement(using: &rng)!
                let exact = Mesh.pointCountRule(type).map { $0.exact ?? $0.minimum + 1 } ?? 4
                let size = Bool.random(using: &rng) ? exact : Int.random(in: 0...12, using: &rng)
                var cell = Array((0..<pointCount).shuffled(using: &rng).prefix(size))
                while cell.count < size { cell.append(Int.random(in: 0..<pointCount, using: &rng)) }
                if size > 1 && Int.random(in: 0..<4, using: &rng) == 0 { cell[size - 1] = cell[0] }       // a repeat
                if size > 0 && Int.random(in: 0..<12, using: &rng) == 0 { cell[0] = pointCount }          // past the end
                types.append(type); connectivity += cell; offsets.append(connectivity.count)
            }
            let mesh = Mesh(points: points, cellTypes: types, offsets: offsets, connectivity: connectivity)
            let meshIO = Result { try mesh.validate(file: "trial \(trial)") }
            var model = MCIModel(variables: [MCIVariable(name: "s", components: 1)], componentRanges: [0 ... 1], times: [0],
                                 boundsMin: [0, 0, 0], boundsMax: [1.5, 1.5, 1.5], timeInterval: 0 ... 0,
                                 numPoints: UInt64(pointCount), numCells: UInt64(types.count), rawFieldBytes: 24,
                                 treeNodes: [MCITreeNode(centroid: [0, 0, 0], network: 0)], topLevelCount: 1, networks: [net],
                                 metadataJSON: "{}",
                                 mesh: MCIMesh(points: points, pointPrecision: .float64, cellTypes: types,
                                               cellOffsets: offsets, connectivity: connectivity))
            model.meshCoding = .zlib
            let decoder = Result { try MCIDecoder(bytes: try MCIWriter.encode(model)) }
            let cells = zip(types, offsets.indices.dropLast()).map { "\($0.0): \(connectivity[offsets[$0.1] ..< offsets[$0.1 + 1]])" }
            switch (meshIO, decoder) {
            case (.success, .success): accepted += 1
            case (.failure, .failure(let error)):
                if case MCIError.format(let message) = error {
                    refusedByDecoder += 1
                    XCTAssertTrue(message.contains("section MESH: cell "), "trial \(trial): \(message)")
                } else if case MCIError.invalidModel = error {
                    XCTAssertTrue(connectivity.contains(pointCount), "trial \(trial): the writer refused \(cells): \(error)")
                } else {
                    XCTFail("trial \(trial): \(cells): \(error)")
                }
            case (.success, .failure(let error)): XCTFail("trial \(trial): MeshIO accepts \(cells), the decoder: \(error)")
            case (.failure(let error), .success): XCTFail("trial \(trial): the decoder accepts \(cells), MeshIO: \(error)")
            }
        }
        XCTAssertGreaterThan(accepted, 20, "too few valid meshes drawn")
        XCTAssertGreaterThan(refusedByDecoder, 50, "too few meshes the decoder itself refused")
    }
}
