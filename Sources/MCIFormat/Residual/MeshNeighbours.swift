/// Nb(i) of the format: for each point the distinct earlier points (j < i) that share a
/// cell of 2…64 points with it, at most the 32 largest; CSR layout.
struct MeshNeighbours: Sendable {
    var offsets: [Int]
    var indices: [Int32]

    static let maxCellPoints = 64
    static let maxPerPoint = 32

    init(_ mesh: MCIMesh) {
        let N = mesh.pointCount
        var count = [Int](repeating: 0, count: N + 1)
        func eachPair(_ body: (Int, Int) -> Void) {
            for cell in 0..<mesh.cellCount {
                let lo = Int(mesh.cellOffsets[cell]), hi = Int(mesh.cellOffsets[cell + 1])
                guard (2...Self.maxCellPoints).contains(hi - lo) else { continue }
                for a in lo..<hi {
                    for b in lo..<hi {
                        let i = Int(mesh.connectivity[a]), j = Int(mesh.connectivity[b])
                        if j < i { body(i, j) }
                    }
                }
            }
        }
        eachPair { i, _ in count[i + 1] += 1 }
        for i in 0..<N { count[i + 1] += count[i] }
        var all = [Int32](repeating: 0, count: count[N]), fill = count
        eachPair { i, j in all[fill[i]] = Int32(j); fill[i] += 1 }
        offsets = [0]
        offsets.reserveCapacity(N + 1)
        indices = []
        for i in 0..<N {
            let unique = Array(Set(all[count[i]..<count[i + 1]])).sorted()
            indices += unique.suffix(Self.maxPerPoint)
            offsets.append(indices.count)
        }
    }

    /// The mean of y over the neighbours of i, rounded half away from zero (0 if none).
    @inline(__always)
    func prediction(_ i: Int, _ y: UnsafeBufferPointer<Int64>) -> Int64 {
        let lo = offsets[i], hi = offsets[i + 1]
        guard hi > lo else { return 0 }
        var sum: Int64 = 0
        for k in lo..<hi { sum += y[Int(indices[k])] }
        let k = Int64(hi - lo)
        return sum >= 0 ? (2 * sum + k) / (2 * k) : -((-2 * sum + k) / (2 * k))
    }
}
