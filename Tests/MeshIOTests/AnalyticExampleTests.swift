import XCTest
@testable import MeshIO

/// examples/make_analytic.py writes a dataset our reader accepts, with a valid tet mesh.
final class AnalyticExampleTests: XCTestCase {
    func testGeneratorOutputReads() throws {
        let python = "/usr/bin/python3"
        guard runProcess(python, ["-c", "import numpy"]).0 == 0 else { throw XCTSkip("\(python) cannot import numpy") }
        // Tests/MeshIOTests/<this file> → repository root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("examples/make_analytic.py")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: script.path), "no \(script.path)")
        let folder = try makeScratchFolder(self)
        let (status, out) = runProcess(python, [script.path, folder.path, "--nx", "6", "--ny", "4", "--nz", "3", "--steps", "3"])
        XCTAssertEqual(status, 0, out)
        let d = try DatasetReader.read(folder.appendingPathComponent("analytic.pvd"))
        XCTAssertEqual(d.mesh.pointCount, 6 * 4 * 3)
        XCTAssertEqual(d.mesh.cellCount, 6 * 5 * 3 * 2)
        XCTAssertTrue(d.mesh.isTetrahedral)
        XCTAssertEqual(d.times, [0, 0.5, 1])
        XCTAssertEqual(d.componentNames, ["velocity_x", "velocity_y", "velocity_z", "pressure", "temperature", "tracer"])
        // Every tet has positive volume, and together they fill the box [0,2]×[0,1]×[0,1].
        var total = 0.0
        let p = d.mesh.points, c = d.mesh.connectivity
        for t in 0..<d.mesh.cellCount {
            let v = (0..<4).map { k in SIMD3(p[3 * c[4 * t + k]], p[3 * c[4 * t + k] + 1], p[3 * c[4 * t + k] + 2]) }
            let a = v[1] - v[0], b = v[2] - v[0], e = v[3] - v[0]
            let volume = (a.y * b.z - a.z * b.y) * e.x + (a.z * b.x - a.x * b.z) * e.y + (a.x * b.y - a.y * b.x) * e.z
            XCTAssertGreaterThan(volume, 0, "tet \(t)")
            total += volume / 6
        }
        XCTAssertEqual(total, 2, accuracy: 1e-5)
        let r = d.componentRanges()
        XCTAssertGreaterThanOrEqual(r[4].lowerBound, 0.25)
        XCTAssertLessThanOrEqual(r[4].upperBound, 1.06)
        XCTAssertGreaterThan(r[4].upperBound - r[4].lowerBound, 0.5, "the temperature front is in the box")
        XCTAssertNotEqual(d.componentValues(4, step: 0), d.componentValues(4, step: 2), "the fields move in time")
    }
}
