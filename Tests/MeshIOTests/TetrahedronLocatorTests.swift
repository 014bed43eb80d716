import INRCore
import XCTest
@testable import MeshIO

final class TetrahedronLocatorTests: XCTestCase {
    /// The unit tetrahedron: inside exactly when x, y, z ≥ 0 and x + y + z ≤ 1.
    func testUnitTetrahedron() {
        let mesh = Mesh.tetrahedra(points: [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], tets: [0, 1, 2, 3])
        let locator = TetrahedronLocator(mesh: mesh)
        var rng = SplitMix64(seed: 41)
        var insideCount = 0
        for _ in 0..<2000 {
            let p = SIMD3<Double>(.random(in: -0.2...1.2, using: &rng), .random(in: -0.2...1.2, using: &rng),
                                  .random(in: -0.2...1.2, using: &rng))
            let expected = p.x >= 0 && p.y >= 0 && p.z >= 0 && p.x + p.y + p.z <= 1
            // Skip the thin shell where the tolerance decides.
            let margin = min(p.x, p.y, p.z, 1 - p.x - p.y - p.z)
            guard abs(margin) > 1e-6 else { continue }
            XCTAssertEqual(locator.contains(p), expected, "\(p)")
            if expected { insideCount += 1 }
        }
        XCTAssertGreaterThan(insideCount, 50)
        XCTAssertTrue(locator.contains(SIMD3(0, 0, 0)), "a vertex is inside (on the boundary)")
    }

    /// A box split into many tetrahedra: every point of the box is found, none outside it.
    func testBoxOfTetrahedra() {
        let n = 5
        var points: [Double] = []
        for k in 0..<n { for j in 0..<n { for i in 0..<n { points += [Double(i), Double(j), Double(k)] } } }
        func id(_ i: Int, _ j: Int, _ k: Int) -> Int { (k * n + j) * n + i }
        var tets: [Int] = []
        for k in 0..<(n - 1) { for j in 0..<(n - 1) { for i in 0..<(n - 1) {
            let c = [id(i, j, k), id(i + 1, j, k), id(i + 1, j + 1, k), id(i, j + 1, k),
                     id(i, j, k + 1), id(i + 1, j, k + 1), id(i + 1, j + 1, k + 1), id(i, j + 1, k + 1)]
            for t in [[0, 1, 2, 6], [0, 2, 3, 6], [0, 3, 7, 6], [0, 7, 4, 6], [0, 4, 5, 6], [0, 5, 1, 6]] { tets += t.map { c[$0] } }
        } } }
        let locator = TetrahedronLocator(mesh: Mesh.tetrahedra(points: points, tets: tets))
        for x in stride(from: 0.05, to: 4.0, by: 0.37) {
            for y in stride(from: 0.0, through: 4.0, by: 0.5) {
                XCTAssertTrue(locator.contains(SIMD3(x, y, 1.3)), "(\(x), \(y))")
            }
        }
        XCTAssertFalse(locator.contains(SIMD3(4.2, 1, 1)))
        XCTAssertFalse(locator.contains(SIMD3(1, -0.1, 1)))
    }
}
