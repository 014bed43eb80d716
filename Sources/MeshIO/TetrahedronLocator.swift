import Foundation

/// Finds whether points lie inside a mesh's tetrahedra, with a uniform grid of buckets over
/// the tetrahedra's bounding boxes (each tetrahedron listed in every bucket it overlaps).
/// Used to mask samples of a continuous model taken off the mesh (e.g. on a regular grid).
public struct TetrahedronLocator: Sendable {
    private let points: [Double]
    private let tets: [Int32]          // 4 point indices per tetrahedron
    private let lo: SIMD3<Double>
    private let cellSize: SIMD3<Double>
    private let dims: SIMD3<Int>
    private let bucketStart: [Int32]   // CSR layout: tets of bucket b are bucketTets[start[b] ..< start[b+1]]
    private let bucketTets: [Int32]

    /// Only tetrahedra (VTK type 10) are indexed; other cells are ignored.
    public init(mesh: Mesh) {
        points = mesh.points
        var t: [Int32] = []
        for c in 0..<mesh.cellCount where mesh.cellTypes[c] == Mesh.tetraType && mesh.offsets[c + 1] - mesh.offsets[c] == 4 {
            for k in mesh.offsets[c]..<mesh.offsets[c + 1] { t.append(Int32(mesh.connectivity[k])) }
        }
        tets = t
        let b = mesh.bounds
        lo = b.min
        let count = max(1, t.count / 4)
        // About 2 tetrahedra per bucket on average, bucket edges proportional to the box.
        let extent = simdMax(b.max - b.min, SIMD3(repeating: 1e-12))
        let scale = pow(Double(count) / 2 / (extent.x * extent.y * extent.z), 1.0 / 3.0)
        let d = SIMD3<Int>(Swift.max(1, Swift.min(512, Int(extent.x * scale))),
                           Swift.max(1, Swift.min(512, Int(extent.y * scale))),
                           Swift.max(1, Swift.min(512, Int(extent.z * scale))))
        let origin = b.min, size = extent / SIMD3(Double(d.x), Double(d.y), Double(d.z))
        dims = d
        cellSize = size
        let buckets = d.x * d.y * d.z
        var counts = [Int32](repeating: 0, count: buckets + 1)
        func range(_ tet: Int) -> (SIMD3<Int>, SIMD3<Int>) {
            var mn = SIMD3<Double>(repeating: .infinity), mx = SIMD3<Double>(repeating: -.infinity)
            for k in 0..<4 {
                let p = Int(t[4 * tet + k])
                let v = SIMD3(mesh.points[3 * p], mesh.points[3 * p + 1], mesh.points[3 * p + 2])
                mn = simdMin(mn, v); mx = simdMax(mx, v)
            }
            return (Self.bucket(mn, origin, size, d), Self.bucket(mx, origin, size, d))
        }
        let tetCount = t.count / 4
        for tet in 0..<tetCount {
            let (a, z) = range(tet)
            for k in a.z...z.z { for j in a.y...z.y { for i in a.x...z.x { counts[(k * d.y + j) * d.x + i + 1] += 1 } } }
        }
        for b in 0..<buckets { counts[b + 1] += counts[b] }
        var fill = counts
        var list = [Int32](repeating: 0, count: Int(counts[buckets]))
        for tet in 0..<tetCount {
            let (a, z) = range(tet)
            for k in a.z...z.z { for j in a.y...z.y { for i in a.x...z.x {
                let b = (k * d.y + j) * d.x + i
                list[Int(fill[b])] = Int32(tet); fill[b] += 1
            } } }
        }
        bucketStart = counts
        bucketTets = list
    }

    private static func bucket(_ p: SIMD3<Double>, _ lo: SIMD3<Double>, _ size: SIMD3<Double>, _ d: SIMD3<Int>) -> SIMD3<Int> {
        let r = (p - lo) / size
        return SIMD3(Swift.min(d.x - 1, Swift.max(0, Int(r.x.rounded(.down)))),
                     Swift.min(d.y - 1, Swift.max(0, Int(r.y.rounded(.down)))),
                     Swift.min(d.z - 1, Swift.max(0, Int(r.z.rounded(.down)))))
    }

    /// True when `p` lies in (or on, within a small relative tolerance) some tetrahedron.
    public func contains(_ p: SIMD3<Double>) -> Bool {
        let size = cellSize * SIMD3(Double(dims.x), Double(dims.y), Double(dims.z))
        let rel = (p - lo) / size
        if rel.min() < -1e-9 || rel.max() > 1 + 1e-9 { return false }
        let b = Self.bucket(p, lo, cellSize, dims)
        let id = (b.z * dims.y + b.y) * dims.x + b.x
        for s in Int(bucketStart[id])..<Int(bucketStart[id + 1]) where inside(Int(bucketTets[s]), p) { return true }
        return false
    }

    private func vertex(_ tet: Int, _ k: Int) -> SIMD3<Double> {
        let p = Int(tets[4 * tet + k])
        return SIMD3(points[3 * p], points[3 * p + 1], points[3 * p + 2])
    }

    /// Barycentric test: p = a + M·(l1, l2, l3) with every coordinate in [−ε, 1 + ε].
    private func inside(_ tet: Int, _ p: SIMD3<Double>) -> Bool {
        let a = vertex(tet, 0), e1 = vertex(tet, 1) - a, e2 = vertex(tet, 2) - a, e3 = vertex(tet, 3) - a
        let det = dot(e1, cross(e2, e3))
        guard det != 0 else { return false }
        let r = p - a
        let l1 = dot(r, cross(e2, e3)) / det
        let l2 = dot(e1, cross(r, e3)) / det
        let l3 = dot(e1, cross(e2, r)) / det
        let eps = 1e-9
        return l1 >= -eps && l2 >= -eps && l3 >= -eps && l1 + l2 + l3 <= 1 + eps
    }
}

private func dot(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { (a * b).sum() }
private func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
private func simdMin(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> { pointwiseMin(a, b) }
private func simdMax(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> { pointwiseMax(a, b) }
