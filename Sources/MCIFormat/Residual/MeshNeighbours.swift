import CMCINR

/// Nb(i) of the format: for each point the distinct earlier points (j < i) that share a
/// cell of 2…64 points with it, at most the 32 largest, ascending; CSR layout. With
/// `extendingBelow` K > 0 (format 1.10, section NEIGHBOURS), Nb′: a list shorter than K also takes
/// the earlier points one neighbour step further (the coarse points of a refined mesh have no
/// earlier neighbour of their own). Built by the C decoder's own function, as the decoder does.
struct MeshNeighbours: Sendable {
    var offsets: [Int]
    var indices: [Int32]
    /// The plane predictor's Q16 weight per entry of `indices` (format 1.6), from the C
    /// decoder's own function: the reader reconstructs the indices with exactly these.
    var planeWeights: [Int32]
    /// The quadratic predictor's supports (format 1.8, CSR: at most 24 earlier points within two
    /// neighbour steps, none where the quadratic does not apply) and their Q16 weights, from
    /// the C decoder's own function, as the plane weights.
    var quadraticOffsets: [Int]
    var quadraticIndices: [Int32]
    var quadraticWeights: [Int32]

    static let maxPerPoint = 32

    init(_ mesh: MCIMesh, extendingBelow least: Int = 0) {
        precondition((0...Self.maxPerPoint).contains(least), "NEIGHBOURS takes K from 1 to 32 (0: no section, the lists Nb)")
        let N = mesh.pointCount
        var start = [Int64](repeating: 0, count: N + 1), lists = [Int32](repeating: 0, count: Self.maxPerPoint * N)
        // Int is Int64 here: the cells are read in place, not copied (10⁷ tets: 300 MB)
        precondition(MemoryLayout<Int>.size == MemoryLayout<Int64>.size, "a 64-bit Int")
        let status = mesh.cellOffsets.withUnsafeBufferPointer { offsets in
            mesh.connectivity.withUnsafeBufferPointer { connectivity in
                offsets.withMemoryRebound(to: Int64.self) { offsets in
                    connectivity.withMemoryRebound(to: Int64.self) { connectivity in
                        mcinr_residual_neighbours(N, mesh.cellCount, offsets.baseAddress, connectivity.baseAddress, UInt32(least),
                                                  &start, &lists)
                    }
                }
            }
        }
        precondition(status == 0, "out of memory for the neighbour lists of \(N) points")
        offsets = start.map(Int.init)
        indices = Array(lists.prefix(offsets[N]))
        // the points as the file stores them (float32 points are read back widened)
        let xyz = mesh.pointPrecision == .float32 ? mesh.points.map { Double(Float($0)) } : mesh.points
        let ids = indices
        var weights = [Int32](repeating: 0, count: ids.count)
        weights.withUnsafeMutableBufferPointer { w in mcinr_residual_plane_weights(xyz, N, start, ids, w.baseAddress) }
        planeWeights = weights
        var qStart = [Int64](repeating: 0, count: N + 1)
        var qIds = [Int32](repeating: 0, count: 24 * N), qWeights = [Int32](repeating: 0, count: 24 * N)
        let fitted = mcinr_residual_quadratic_support(xyz, N, start, ids, &qStart, &qIds, &qWeights)
        precondition(fitted == 0, "out of memory for the quadratic supports of \(N) points")
        let used = Int(qStart[N])
        quadraticOffsets = qStart.map(Int.init)
        quadraticIndices = Array(qIds.prefix(used))
        quadraticWeights = Array(qWeights.prefix(used))
    }

    /// The mean of y over the neighbours of i, rounded half away from zero (0 if none).
    @inline(__always)
    func prediction(_ i: Int, _ y: UnsafeBufferPointer<Int64>) -> Int64 {
        let lo = offsets[i], hi = offsets[i + 1]
        guard hi > lo else { return 0 }
        var sum: Int64 = 0
        for k in lo..<hi { sum += y[Int(indices[k])] }
        let k = Int64(hi - lo)
        return ResidualPrediction.dividedRounded(sum, k)
    }
}
