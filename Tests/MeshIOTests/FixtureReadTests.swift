import XCTest
@testable import MeshIO

/// Files written by ParaView's VTK in every encoding read to the same, expected values.
final class FixtureReadTests: XCTestCase {
    func checkReference(_ f: VTUFile, name: String, step: Int = 0) {
        let e = Fixtures.expected(step: step)
        XCTAssertEqual(f.mesh.pointCount, 36, name)
        XCTAssertEqual(f.mesh.cellCount, Fixtures.cellCount, name)
        assertClose(f.mesh.points.map { Float($0) }, Fixtures.points(), tolerance: 0, "\(name) points")
        XCTAssertEqual(f.mesh.cellTypes.filter { $0 == Mesh.tetraType }.count, Fixtures.cellCount - 1, name)
        XCTAssertEqual(f.mesh.cellTypes.last, 14, "\(name): the pyramid")
        XCTAssertEqual(Array(f.mesh.connectivity.suffix(5)), [0, 1, 5, 4, 16], name)
        XCTAssertEqual(f.mesh.offsets.last, 4 * (Fixtures.cellCount - 1) + 5, name)
        XCTAssertEqual(Array(f.mesh.connectivity.prefix(4)), [0, 1, 5, 17], "\(name): first tet (v0 v1 v2 v6)")
        XCTAssertNoThrow(try f.mesh.validate(), name)
        let names = f.pointArrays.map(\.name)
        XCTAssertEqual(Array(names.prefix(4)), ["scalar", "velocity", "ids", "dist"], name)
        guard f.pointArrays.count >= 4, let cell = f.cellArrays.first else { return XCTFail("\(name): arrays missing") }
        XCTAssertEqual(f.pointArrays[1].components, 3, name)
        XCTAssertEqual(f.pointArrays[2].sourceType, .int32, name)
        XCTAssertEqual(f.pointArrays[3].sourceType, .float64, name)
        assertClose(f.pointArrays[0].values, e.scalar, "\(name) scalar")
        assertClose(f.pointArrays[1].values, e.velocity, "\(name) velocity")
        assertClose(f.pointArrays[2].values, e.ids, tolerance: 0, "\(name) ids")
        assertClose(f.pointArrays[3].values, e.dist, "\(name) dist")
        XCTAssertEqual(cell.name, "cell_quality", name)
        assertClose(cell.values, e.quality, tolerance: 0, "\(name) cell_quality")
    }

    func testEveryEncodingReadsTheSameValues() throws {
        let reference = try VTUReader.read(Fixtures.url("appended_raw_raw_h64.vtu"))
        for name in Fixtures.variantNames {
            let f = try VTUReader.read(Fixtures.url(name))
            checkReference(f, name: name)
            XCTAssertEqual(f.mesh, reference.mesh, name)
            XCTAssertEqual(f.pointArrays, reference.pointArrays, name)
            XCTAssertEqual(f.cellArrays, reference.cellArrays, name)
        }
    }

    func testDoublePrecisionPoints() throws {
        let f = try VTUReader.read(Fixtures.url("points_f64.vtu"))
        XCTAssertEqual(f.mesh.pointPrecision, .float64)
        XCTAssertEqual(try VTUReader.read(Fixtures.url("ascii.vtu")).mesh.pointPrecision, .float32)
        // Float64 coordinates are not the Float32-rounded ones, but round to them.
        XCTAssertNotEqual(f.mesh.points, Fixtures.points())
        XCTAssertEqual(f.mesh.points.map { Float($0) }, Fixtures.points().map { Float($0) })
    }

    func testAllIntegerTypes() throws {
        let expected: [(String, VTKScalarType, (Int) -> Double)] = [
            ("i8", .int8, { Double($0 - 20) }), ("u8", .uint8, { Double(200 + $0) }),
            ("i16", .int16, { Double(-900 * $0) }), ("u16", .uint16, { Double(1000 * $0 + 7) }),
            ("i32", .int32, { Double(-100000 * $0) }), ("u32", .uint32, { Double(100000 * $0 + 3) }),
            ("i64", .int64, { Double(-($0 * 1000003)) }), ("u64", .uint64, { Double($0 * 1000003 + 1) }),
        ]
        for file in ["alltypes_ascii.vtu", "alltypes_appended_zlib.vtu"] {
            let f = try VTUReader.read(Fixtures.url(file))
            checkReference(f, name: file)
            for (name, type, value) in expected {
                guard let a = f.pointArrays.first(where: { $0.name == name }) else { XCTFail("\(file): no \(name)"); continue }
                XCTAssertEqual(a.sourceType, type, "\(file) \(name)")
                assertClose(a.values, (0..<36).map(value), tolerance: 1e-7, "\(file) \(name)")
            }
        }
    }

    func testPVDSeriesSortedWithRelativePaths() throws {
        let d = try DatasetReader.read(Fixtures.url("series.pvd"))
        XCTAssertEqual(d.times, [0, 0.5, 1.25])
        XCTAssertEqual(d.stepCount, 3)
        XCTAssertEqual(d.variables.map(\.name), ["scalar", "velocity", "ids", "dist"])
        XCTAssertEqual(d.cellVariables.map(\.name), ["cell_quality"])
        for s in 0..<3 {
            let e = Fixtures.expected(step: s)
            assertClose(d.variables[0].values[s], e.scalar, "step \(s) scalar")
            assertClose(d.variables[1].values[s], e.velocity, "step \(s) velocity")
            assertClose(d.cellVariables[0].values[s], e.quality, tolerance: 0, "step \(s) quality")
        }
        XCTAssertEqual(d.mesh.cellCount, Fixtures.cellCount)
    }

    func testFileListTakesTimesFromTimeValue() throws {
        let folder = Fixtures.url("series")
        let files = [2, 0, 1].map { folder.appendingPathComponent("step_\($0).vtu") }
        let d = try DatasetReader.readSeries(files)
        XCTAssertEqual(d.times, [0, 0.5, 1.25], "sorted by TimeValue")
        assertClose(d.variables[2].values[0], Fixtures.expected(step: 0).ids, tolerance: 0, "ids of step 0")
        // Without TimeValue (the plain fixtures) the steps are numbered.
        let plain = try DatasetReader.readSeries([Fixtures.url("ascii.vtu"), Fixtures.url("binary_zlib_h64.vtu")])
        XCTAssertEqual(plain.times, [0, 1])
        // A single .vtu is a one-step dataset.
        XCTAssertEqual(try DatasetReader.read(Fixtures.url("ascii.vtu")).stepCount, 1)
    }
}
