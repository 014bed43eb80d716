import XCTest
@testable import MeshIO

final class DatasetModelTests: XCTestCase {
    /// Two tets sharing a face; a 3-vector, a scalar and a 2-component array over 2 steps.
    static func smallDataset() throws -> Dataset {
        let points: [Double] = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]
        let mesh = Mesh.tetrahedra(points: points, tets: [0, 1, 2, 3, 1, 2, 3, 4])
        let n = 5
        let velocity = (0..<2).map { s in (0..<(3 * n)).map { Float($0) + 100 * Float(s) } }
        let pressure = (0..<2).map { s in (0..<n).map { -Float($0) - Float(s) } }
        let pair = (0..<2).map { s in (0..<(2 * n)).map { Float($0 % 2 == 0 ? s : -s) * 0.5 } }
        return try Dataset(mesh: mesh, times: [0.5, 1.5],
                           variables: [Variable(name: "velocity", components: 3, values: velocity),
                                       Variable(name: "pressure", components: 1, values: pressure),
                                       Variable(name: "pair", components: 2, values: pair)],
                           cellVariables: [Variable(name: "q", components: 1, values: [[1, 2], [3, 4]])])
    }

    func testComponentNamesAndValues() throws {
        let d = try Self.smallDataset()
        XCTAssertEqual(d.componentNames, ["velocity_x", "velocity_y", "velocity_z", "pressure", "pair_0", "pair_1"])
        XCTAssertEqual(d.componentCount, 6)
        XCTAssertEqual(d.componentValues(1, step: 0), [1, 4, 7, 10, 13])
        XCTAssertEqual(d.componentValues(2, step: 1), [102, 105, 108, 111, 114])
        XCTAssertEqual(d.componentValues(3, step: 1), [-1, -2, -3, -4, -5])
        XCTAssertEqual(d.componentValues(5, step: 1), [-0.5, -0.5, -0.5, -0.5, -0.5])
        XCTAssertTrue(d.componentLocation(4) == (2, 0))
    }

    func testRangesOverAllSteps() throws {
        let r = try Self.smallDataset().componentRanges()
        XCTAssertEqual(r[0], 0...112)
        XCTAssertEqual(r[3], -5...0)
        XCTAssertEqual(r[4], 0...0.5)
        XCTAssertEqual(r[5], -0.5...0)
    }

    func testSelectingVariables() throws {
        let d = try Self.smallDataset()
        let s = try d.selectingVariables(["pressure", "velocity"])
        XCTAssertEqual(s.componentNames, ["pressure", "velocity_x", "velocity_y", "velocity_z"])
        XCTAssertEqual(s.cellVariables.map(\.name), ["q"])
        assertMeshIOError(try d.selectingVariables(["pressure", "temperature"]), "unknown name") {
            guard case let .unknownVariable(name, available) = $0 else { return false }
            return name == "temperature" && available == ["velocity", "pressure", "pair"]
                && $0.description.contains("velocity, pressure, pair")
        }
    }

    func testInvalidDatasetsAreRejected() throws {
        let d = try Self.smallDataset()
        assertMeshIOError(try Dataset(mesh: d.mesh, times: [0], variables: d.variables), "step count") {
            if case .inconsistentStep = $0 { return true } else { return false }
        }
        var bad = d.variables
        bad[1].values[1].removeLast()
        assertMeshIOError(try Dataset(mesh: d.mesh, times: d.times, variables: bad), "short array") {
            if case let .wrongArraySize(_, array, expected, found) = $0 { return array == "pressure" && expected == 5 && found == 4 }
            return false
        }
        var mesh = d.mesh
        mesh.connectivity[7] = 5
        assertMeshIOError(try Dataset(mesh: mesh, times: d.times, variables: d.variables), "point index out of range") {
            if case .invalidMesh = $0 { return true } else { return false }
        }
    }

    func testSummary() throws {
        let s = try Self.smallDataset().summary
        XCTAssertTrue(s.hasPrefix("5 points, 2 tets, 2 steps t=0.5…1.5; variables: velocity(3) [0…112, 1…113, 2…114]; pressure [-5…0]"), s)
        XCTAssertTrue(s.contains("cell data (not trained): q"), s)
        XCTAssertFalse(s.contains("\n"))
    }
}

final class NonFiniteTests: XCTestCase {
    func testFindsAndReplacesNonFiniteValues() throws {
        let mesh = Mesh.tetrahedra(points: [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], tets: [0, 1, 2, 3])
        let v = Variable(name: "v", components: 2, values: [[1, 10, .nan, 20, 3, 30, 5, .infinity],
                                                            [1, 10, 1, 10, 1, 10, 1, 10]])
        let d = try Dataset(mesh: mesh, times: [0, 1], variables: [v])
        let found = d.nonFiniteValues()
        XCTAssertEqual(found.count, 1)
        XCTAssertEqual(found.first?.variable, "v")
        XCTAssertEqual(found.first?.step, 0)
        XCTAssertEqual(found.first?.count, 2)
        let fixed = d.replacingNonFinite()
        XCTAssertTrue(fixed.nonFiniteValues().isEmpty)
        // Component 0 finite values: 1, 3, 5, 1, 1, 1, 1 → mean 13/7; component 1: 10, 20, 30, 10 × 4 → 100/7.
        XCTAssertEqual(fixed.variables[0].values[0][2], Float(13.0 / 7.0), accuracy: 1e-6)
        XCTAssertEqual(fixed.variables[0].values[0][7], Float(100.0 / 7.0), accuracy: 1e-5)
        XCTAssertEqual(fixed.variables[0].values[1], d.variables[0].values[1])
    }
}
