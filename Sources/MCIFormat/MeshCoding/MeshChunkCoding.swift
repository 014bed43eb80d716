import Foundation

/// The MESHC section (type 8, format 1.3; docs/mci-format.md, "MESHC"): the mesh in chunks
/// that decode independently. Cells are ordered by the Morton code of their centroid and cut
/// into chunks of `cellsPerChunk`; each chunk is one range-coded stream (RESIDUAL's LZMA coder,
/// `RangeCoding.Encoder`) of
///   * its tetrahedra as a face traversal: a new tet is the neighbour across an open face of an
///     earlier one, its apex a new point, one of the candidates adjacent to the face, or an
///     explicit earlier point; each tet's vertex order as a permutation of its sorted ids, in a
///     context that predicts the orientation from the neighbour's;
///   * the other cells (and degenerate tets) by a generic path: type, size, points;
///   * every point the chunk uses once: its global id, and its coordinates bit-exact as the
///     difference of ordered integers from a prediction (the reflection of the opposite point
///     through the face, or the previous point).
/// The decoder is CShim/src/mesh_codec.c, the independent reference tools/mesh_codec.py (this
/// writer makes the same bytes; benchmarks/mesh checks it on vessel-small).
enum MeshChunkCoding {
    static let tet: UInt8 = 10
    /// Largest chunk: local point ids of tets stay below 2^21 (face keys pack three of them).
    static let maxCellsPerChunk = 1 << 19

    /// The MESHC payload of `mesh`; `progress(done, total)` after each chunk (from any thread).
    static func payload(_ mesh: MCIMesh, cellsPerChunk: Int, progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [UInt8] {
        let plan = try Plan(mesh, cellsPerChunk: cellsPerChunk)
        let bits = coordinateBits(mesh.points, width: plan.width)
        // the chunks are independent: encoded concurrently, each worker with its own global →
        // local map, and assembled in order (the bytes do not depend on the worker count)
        let encoded = encodeConcurrently(count: plan.chunkCount, pointCount: plan.pointCount,
                                         threads: ProcessInfo.processInfo.activeProcessorCount, progress: progress) { k, localOf in
            let (tets, others) = plan.cells(of: k, mesh)
            return encodeChunk(tets: tets, others: others, lone: k == plan.chunkCount - 1 ? plan.lone : [],
                               width: plan.width, bits: bits, localOf: &localOf)
        }
        return plan.assemble(encoded)
    }

    /// What the chunks are made of, from the whole mesh: the cells' order (Morton), the chunk
    /// count, the points no cell uses (listed by the last chunk).
    struct Plan {
        let pointCount: Int, cellCount: Int, connectivityCount: Int
        let cellsPerChunk: Int, chunkCount: Int
        /// 32 (float32 points) or 64
        let width: Int
        let order: [Int]
        let lone: [Int]

        init(_ mesh: MCIMesh, cellsPerChunk: Int) throws {
            let per = max(1, min(cellsPerChunk, MeshChunkCoding.maxCellsPerChunk))
            let N = mesh.pointCount, M = mesh.cellCount
            guard N < 1 << 32 else { throw MCIError.invalidModel("MCIMesh: \(N) points (MESHC: below 2^32)") }
            width = mesh.pointPrecision == .float32 ? 32 : 64
            // the coordinates as stored, as values
            var stored = [Double](repeating: 0, count: 3 * N)
            for i in 0..<3 * N { stored[i] = width == 32 ? Double(Float(mesh.points[i])) : mesh.points[i] }
            order = MeshChunkCoding.mortonOrder(stored, mesh)
            var used = [Bool](repeating: false, count: N)
            for v in mesh.connectivity { used[v] = true }
            lone = (0..<N).filter { !used[$0] }
            pointCount = N; cellCount = M; connectivityCount = mesh.connectivity.count
            self.cellsPerChunk = per
            chunkCount = M == 0 ? 1 : (M + per - 1) / per
        }

        /// Chunk k's tets (4 distinct point ids each, flattened) and other cells, in Morton order.
        func cells(of k: Int, _ mesh: MCIMesh) -> (tets: [UInt32], others: [(UInt8, ArraySlice<Int>)]) {
            var tets: [UInt32] = [], others: [(UInt8, ArraySlice<Int>)] = []
            let cells = order[min(k * cellsPerChunk, cellCount) ..< min((k + 1) * cellsPerChunk, cellCount)]
            tets.reserveCapacity(4 * cells.count)
            for c in cells {
                let lo = mesh.cellOffsets[c], hi = mesh.cellOffsets[c + 1]
                let vs = mesh.connectivity[lo..<hi]
                if mesh.cellTypes[c] == MeshChunkCoding.tet && hi - lo == 4 && MeshChunkCoding.distinct4(vs) {
                    for v in vs { tets.append(UInt32(v)) }  // no array per cell: rank 0 does this for every chunk
                } else {
                    others.append((mesh.cellTypes[c], vs))
                }
            }
            return (tets, others)
        }

        /// The payload: header, chunk table, the chunks' streams in chunk order.
        func assemble(_ encoded: [EncodedChunk]) -> [UInt8] {
            var table = ByteWriter(), streams: [UInt8] = []
            for e in encoded {
                table.u64(UInt64(e.stream.count)); table.u64(UInt64(e.points)); table.u64(UInt64(e.tets))
                table.u64(UInt64(e.cells)); table.u64(UInt64(e.entries))
                streams += e.stream
            }
            var out = ByteWriter()
            out.u64(UInt64(pointCount)); out.bytes.append(width == 32 ? 1 : 2); out.bytes += [UInt8](repeating: 0, count: 7)
            out.u64(UInt64(cellCount)); out.u64(UInt64(connectivityCount))
            out.u32(UInt32(chunkCount)); out.u32(0); out.u64(0)
            out.bytes += table.bytes
            out.bytes += streams
            return out.bytes
        }
    }

    /// The coordinates as stored (float32 or float64), as bit patterns.
    static func coordinateBits(_ points: [Double], width: Int) -> [UInt64] {
        var bits = [UInt64](repeating: 0, count: points.count)
        for i in points.indices { bits[i] = width == 32 ? UInt64(Float(points[i]).bitPattern) : points[i].bitPattern }
        return bits
    }

    /// One chunk's stream and table entry.
    static func encodeChunk(tets: [UInt32], others: [(UInt8, ArraySlice<Int>)], lone: [Int], width: Int, bits: [UInt64],
                            localOf: inout [Int32]) -> EncodedChunk {
        var enc = ChunkEncoder(width: width, bits: bits)
        let (stream, points) = enc.encode(tets: tets, others: others, lone: lone, localOf: &localOf)
        return EncodedChunk(stream: stream, points: points, tets: tets.count / 4, cells: others.count,
                            entries: others.reduce(0) { $0 + $1.1.count })
    }

    /// `encode(k, &localOf)` for k in 0 ..< count on up to `threads` workers (at most 16), each
    /// with its own global → local map of `pointCount` entries; the results in chunk order.
    static func encodeConcurrently(count: Int, pointCount: Int, threads: Int, progress: (@Sendable (Int, Int) -> Void)? = nil,
                                   _ encode: (Int, inout [Int32]) -> EncodedChunk) -> [EncodedChunk] {
        var encoded = [EncodedChunk](repeating: EncodedChunk(), count: count)
        let workers = max(1, min(count, threads, 16))
        let lock = NSLock()
        var done = 0
        encoded.withUnsafeMutableBufferPointer { out in
            let results = out
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                var localOf = [Int32](repeating: -1, count: pointCount)
                for k in stride(from: w, to: count, by: workers) {
                    results[k] = encode(k, &localOf)
                    lock.lock(); done += 1; let finished = done; lock.unlock()
                    progress?(finished, count)
                }
            }
        }
        return encoded
    }

    struct EncodedChunk: Sendable {
        var stream: [UInt8] = []
        var points = 0, tets = 0, cells = 0, entries = 0
    }

    static func distinct4(_ v: ArraySlice<Int>) -> Bool {
        let a = v[v.startIndex], b = v[v.startIndex + 1], c = v[v.startIndex + 2], d = v[v.startIndex + 3]
        return a != b && a != c && a != d && b != c && b != d && c != d
    }

    /// Cells by the Morton code of their centroid (21 bits per axis in the points' bounding
    /// box, centroid summed in cell order in double), ties by cell index.
    static func mortonOrder(_ p: [Double], _ mesh: MCIMesh) -> [Int] {
        let N = mesh.pointCount
        var lo = [Double](repeating: .infinity, count: 3), hi = [Double](repeating: -.infinity, count: 3)
        for i in 0..<N { for a in 0..<3 { lo[a] = min(lo[a], p[3 * i + a]); hi[a] = max(hi[a], p[3 * i + a]) } }
        func spread(_ v: UInt64) -> UInt64 {
            var out: UInt64 = 0
            for b in 0..<21 { out |= ((v >> UInt64(b)) & 1) << UInt64(3 * b) }
            return out
        }
        var keys = [UInt64]()
        keys.reserveCapacity(mesh.cellCount)
        for c in 0..<mesh.cellCount {
            let a0 = mesh.cellOffsets[c], a1 = mesh.cellOffsets[c + 1]
            var code: UInt64 = 0
            for a in 0..<3 {
                var m = lo[a]
                if a1 > a0 {
                    var s = 0.0
                    for j in a0..<a1 { s += p[3 * mesh.connectivity[j] + a] }
                    m = s / Double(a1 - a0)
                }
                var q = 0
                if hi[a] > lo[a] { q = Int((m - lo[a]) / (hi[a] - lo[a]) * 2097151.0) }
                code |= spread(UInt64(max(0, min(q, 2097151)))) << UInt64(a)
            }
            keys.append(code)
        }
        return radixOrder(&keys)
    }

    /// The indices of `keys` sorted by key, ties by index: a stable LSD radix sort (16-bit digits,
    /// a pass skipped where every key has the same digit) from index order. A comparison sort
    /// of 10^7 cells cost seconds on the process that plans the chunks while the others waited.
    /// `keys` is used as scratch (left in an unspecified order): no copy of it is made.
    static func radixOrder(_ keys: inout [UInt64]) -> [Int] {
        let n = keys.count
        var key: [UInt64] = []
        swap(&key, &keys)
        var index = (0..<n).map { UInt32(truncatingIfNeeded: $0) }
        guard n > 1 else { return index.map(Int.init) }
        precondition(n <= Int(UInt32.max), "radixOrder: more than 2^32 keys")
        var keyOut = [UInt64](repeating: 0, count: n), indexOut = [UInt32](repeating: 0, count: n)
        var count = [Int](repeating: 0, count: 1 << 16)
        for shift in stride(from: 0, to: 64, by: 16) {
            for i in count.indices { count[i] = 0 }
            for k in key { count[Int((k >> UInt64(shift)) & 0xFFFF)] += 1 }
            if count.contains(n) { continue }  // one digit for all: the order stays
            var start = 0
            for d in count.indices { let c = count[d]; count[d] = start; start += c }
            key.withUnsafeBufferPointer { key in
                index.withUnsafeBufferPointer { index in
                    keyOut.withUnsafeMutableBufferPointer { keyOut in
                        indexOut.withUnsafeMutableBufferPointer { indexOut in
                            for i in 0..<n {
                                let d = Int((key[i] >> UInt64(shift)) & 0xFFFF)
                                let at = count[d]
                                count[d] = at + 1
                                keyOut[at] = key[i]; indexOut[at] = index[i]
                            }
                        }
                    }
                }
            }
            swap(&key, &keyOut); swap(&index, &indexOut)
        }
        return index.map(Int.init)
    }
}

/// The encoder of one chunk: the decoder's state, mirrored, and the choices (which uncoded tet
/// lies across an open face; where a new component starts: the first uncoded tet in chunk order).
struct ChunkEncoder {
    // probability layout (every one 1024 at the start): single bits, then integer models of
    // 257 (X[64], M[64][3], G), then the permutation trees (3 × 32) and the type tree (256)
    static let face = 0, startNew = 1, genNew = 2, apexNew = 3, cand = 7
    static let candContexts = 16, buckets = 9, maxAdjacent = 64
    static let intModel = 257
    /// The positions of a tet's face opposite position k.
    static let rest: [(Int, Int, Int)] = [(1, 2, 3), (0, 2, 3), (0, 1, 3), (0, 1, 2)]
    static let expl = 23, explGen = expl + intModel, gid = explGen + intModel, size = gid + intModel
    static let coord = size + intModel                     // [kind 2][axis 3][bucket 9]
    static let perm = coord + 54 * intModel                 // [3][32]
    static let type = perm + 96                             // [256]
    static let total = type + 256

    let width: Int
    let allBits: [UInt64]
    var rc = RangeCoding.Encoder()
    var probs = [UInt16](repeating: RangeCoding.initialProbability, count: ChunkEncoder.total)
    // points, by local id
    var gid: [UInt32] = []
    var bits: [UInt64] = []
    // tets, by coding order: their points (local ids), their index in the chunk
    var frame: [UInt32] = [], chunkTet: [UInt32] = [], parity: [UInt8] = []
    var topology = ChunkTopology()
    var queue: [UInt32] = []
    var head = 0
    // adjacency (up to 64 neighbours per point, in the order met; each point's slots sized by
    // the chunk's topology), candidate scratch
    var adjacent: [UInt32] = [], adjacentStart: [UInt32] = [], adjacentCapacity: [UInt8] = [], degree: [UInt8] = []
    var stamp: [UInt32] = [], count: [UInt8] = []
    var stampNow: UInt32 = 0
    var scanned: [UInt32] = [], found: [UInt32] = []

    init(width: Int, bits: [UInt64]) { self.width = width; self.allBits = bits }

    // MARK: coding primitives

    @inline(__always) mutating func bit(_ b: Bool, _ at: Int) { rc.encode(b, &probs[at]) }

    mutating func putUInt(_ model: Int, _ m: UInt64) {
        let e = 63 - (m + 1).leadingZeroBitCount
        for j in 0..<e { bit(true, model + j) }
        bit(false, model + e)
        let r = m + 1 - (UInt64(1) << UInt64(e))
        if e >= 1 {
            let first = Int((r >> UInt64(e - 1)) & 1)
            bit(first == 1, model + 64 + 3 * e)
            if e >= 2 {
                bit((r >> UInt64(e - 2)) & 1 == 1, model + 64 + 3 * e + 1 + first)
                for b in stride(from: e - 3, through: 0, by: -1) { rc.encodeFixed((r >> UInt64(b)) & 1 == 1) }
            }
        }
    }

    mutating func putSInt(_ model: Int, _ d: Int64) {
        putUInt(model, d.magnitude)
        if d != 0 { bit(d < 0, model + 256) }
    }

    mutating func putTree(_ base: Int, _ bitCount: Int, _ s: Int) {
        var node = 1
        for b in stride(from: bitCount - 1, through: 0, by: -1) {
            let v = (s >> b) & 1
            bit(v == 1, base + node)
            node = node * 2 + v
        }
    }

    // MARK: coordinates

    @inline(__always) func ordered(_ b: UInt64) -> Int64 {
        if width == 32 { return b < 0x8000_0000 ? Int64(b) : -1 - Int64(b & 0x7FFF_FFFF) }
        return b < 1 << 63 ? Int64(b) : -1 - Int64(b & 0x7FFF_FFFF_FFFF_FFFF)
    }

    @inline(__always) func bucket(_ b: UInt64) -> Int {
        let e = width == 32 ? Int((b >> 23) & 0xFF) - 119 : Int((b >> 52) & 0x7FF) - 1015
        return min(max(e, 0), Self.buckets - 1)
    }

    func value(_ b: UInt64) -> Double { width == 32 ? Double(Float(bitPattern: UInt32(b))) : Double(bitPattern: b) }

    /// ((s + s) / 3) − o, s = (a + b) + c, in double, rounded to the point type.
    func facePrediction(_ a: UInt64, _ b: UInt64, _ c: UInt64, _ o: UInt64) -> UInt64 {
        let s = (value(a) + value(b)) + value(c)
        let p = (s + s) / 3.0 - value(o)
        return width == 32 ? UInt64(Float(p).bitPattern) : p.bitPattern
    }

    // MARK: points

    mutating func newPoint(_ g: Int, _ pred: (UInt64, UInt64, UInt64), kind: Int, ref: UInt32,
                           _ localOf: inout [Int32]) -> UInt32 {
        putSInt(Self.gid, Int64(g) - Int64(ref))
        let p = [pred.0, pred.1, pred.2]
        for ax in 0..<3 {
            let actual = allBits[3 * g + ax]
            var d = ordered(actual) &- ordered(p[ax])
            if width == 32 { d = Int64(Int32(truncatingIfNeeded: d)) }
            putSInt(Self.coord + ((kind * 3 + ax) * Self.buckets + bucket(p[ax])) * Self.intModel, d)
        }
        let local = UInt32(gid.count)
        gid.append(UInt32(g))
        bits += [allBits[3 * g], allBits[3 * g + 1], allBits[3 * g + 2]]
        let capacity = topology.neighbourCapacity[UInt32(g)] ?? 0
        adjacentStart.append(UInt32(adjacent.count)); adjacentCapacity.append(capacity)
        adjacent += repeatElement(0, count: Int(capacity))
        degree.append(0); stamp.append(0); count.append(0)
        localOf[g] = Int32(local)
        return local
    }

    var previous: (UInt64, UInt64, UInt64) {
        let n = gid.count
        return n == 0 ? (0, 0, 0) : (bits[3 * n - 3], bits[3 * n - 2], bits[3 * n - 1])
    }

    var previousGid: UInt32 { gid.last ?? 0 }

    /// A point of a component start or a generic cell: new (flag 1), or explicit (flag 0).
    mutating func vertex(_ g: Int, flag: Int, expl: Int, _ localOf: inout [Int32]) -> UInt32 {
        let l = localOf[g]
        if l >= 0 {
            bit(false, flag)
            putUInt(expl, UInt64(gid.count - 1 - Int(l)))
            return UInt32(l)
        }
        bit(true, flag)
        return newPoint(g, previous, kind: 1, ref: previousGid, &localOf)
    }

    // MARK: tets

    /// The face slot (4 n + j) of chunk tet n opposite its point of local id `l`.
    func faceSlot(_ n: Int, opposite l: UInt32, _ tets: [UInt32]) -> Int {
        let g = gid[Int(l)]
        var j = 0
        while tets[4 * n + j] != g { j += 1 }
        return 4 * n + j
    }

    func parity4(_ v: [UInt32]) -> UInt8 {
        var inv = 0
        for i in 0..<4 { for j in (i + 1)..<4 where gid[Int(v[i])] > gid[Int(v[j])] { inv += 1 } }
        return UInt8(inv & 1)
    }

    /// Tet `n` of the chunk, coded (marked in `coded`) with its points in the order `f`
    /// (local ids) and `o` (its order in the input): its faces that no coded tet closes yet join
    /// the queue.
    mutating func addTet(_ f: [UInt32], _ o: [UInt32], chunkTet n: Int, _ tets: [UInt32], _ coded: [Bool]) {
        let t = frame.count / 4
        frame += f; chunkTet.append(UInt32(n))
        parity.append(parity4(f) ^ parity4(o))
        for k in 0..<4 where topology.codedCount(faceSlot(n, opposite: f[k], tets), tets, coded) == 1 {
            queue.append(UInt32(4 * t + k))
        }
        for i in 0..<4 {
            let a = Int(f[i])
            for j in 0..<4 where j != i {
                let d = Int(degree[a])
                guard d < adjacentCapacity[a] else { break }
                let base = Int(adjacentStart[a])
                if !(0..<d).contains(where: { adjacent[base + $0] == f[j] }) {
                    adjacent[base + d] = f[j]; degree[a] += 1
                }
            }
        }
    }

    /// The candidates for the apex across face k of tet t, into `found`.
    mutating func candidates(_ t: Int, _ k: Int) {
        let r = Self.rest[k]
        let a = frame[4 * t + r.0], b = frame[4 * t + r.1], c = frame[4 * t + r.2], o = frame[4 * t + k]
        stampNow &+= 1
        if stampNow == 0 { for i in stamp.indices { stamp[i] = 0 }; stampNow = 1 }
        scanned.removeAll(keepingCapacity: true)
        for v in [a, b, c] {
            let base = Int(adjacentStart[Int(v)])
            for e in 0..<Int(degree[Int(v)]) {
                let x = adjacent[base + e]
                if stamp[Int(x)] != stampNow { stamp[Int(x)] = stampNow; count[Int(x)] = 0; scanned.append(x) }
                count[Int(x)] += 1
            }
        }
        found.removeAll(keepingCapacity: true)
        for want in [UInt8(3), 2] {
            for x in scanned where count[Int(x)] == want && x != a && x != b && x != c && x != o { found.append(x) }
        }
    }

    static func permutationRank(_ s: [Int]) -> Int {
        var rank = 0
        let factorial = [6, 2, 1, 1]
        for i in 0..<4 { rank += s[(i + 1)...].filter { $0 < s[i] }.count * factorial[i] }
        return rank
    }

    /// Codes the chunk; returns the stream and the number of points it lists. `localOf` maps
    /// global → local ids (−1 outside the chunk); it is reset to −1 before returning.
    mutating func encode(tets: [UInt32], others: [(UInt8, ArraySlice<Int>)], lone: [Int],
                         localOf: inout [Int32]) -> ([UInt8], Int) {
        let T = tets.count / 4
        topology = ChunkTopology(tets: tets, localOf: &localOf)
        frame.reserveCapacity(4 * T); chunkTet.reserveCapacity(T); parity.reserveCapacity(T)
        adjacent.reserveCapacity(topology.neighbourCapacity.values.reduce(0) { $0 + Int($1) })
        var coded = [Bool](repeating: false, count: T)
        var nextStart = 0, done = 0
        while done < T {
            if head == queue.count {
                while coded[nextStart] { nextStart += 1 }
                let i = nextStart
                var vs: [UInt32] = []
                for j in 0..<4 { vs.append(vertex(Int(tets[4 * i + j]), flag: Self.startNew, expl: Self.expl, &localOf)) }
                coded[i] = true; done += 1
                addTet(vs, vs, chunkTet: i, tets, coded)
                continue
            }
            let e = Int(queue[head]); head += 1
            let t = e >> 2, k = e & 3
            let f = [frame[4 * t], frame[4 * t + 1], frame[4 * t + 2], frame[4 * t + 3]]
            let r = Self.rest[k]
            let face = [f[r.0], f[r.1], f[r.2]]
            let group = topology.group(of: faceSlot(Int(chunkTet[t]), opposite: f[k], tets), tets)
            if topology.codedCount(group, coded) >= 2 { continue }
            let nxt = topology.firstUncoded(group, coded)
            bit(nxt != nil, Self.face)
            guard let n = nxt else { continue }
            let faceG = face.map { gid[Int($0)] }
            let apexG = (0..<4).map { tets[4 * n + $0] }.first { !faceG.contains($0) }!
            candidates(t, k)
            let cands = found
            let ctx = min(cands.count, 3)
            var apex: UInt32
            if localOf[Int(apexG)] < 0 {
                bit(true, Self.apexNew + ctx)
                var pred = [UInt64](repeating: 0, count: 3)
                for ax in 0..<3 {
                    pred[ax] = facePrediction(bits[3 * Int(face[0]) + ax], bits[3 * Int(face[1]) + ax],
                                              bits[3 * Int(face[2]) + ax], bits[3 * Int(f[k]) + ax])
                }
                apex = newPoint(Int(apexG), (pred[0], pred[1], pred[2]), kind: 0, ref: faceG.min()!, &localOf)
            } else {
                bit(false, Self.apexNew + ctx)
                apex = UInt32(localOf[Int(apexG)])
                let j = cands.firstIndex(of: apex) ?? cands.count
                for q in 0..<j { bit(true, Self.cand + min(q, Self.candContexts - 1)) }
                if j < cands.count { bit(false, Self.cand + min(j, Self.candContexts - 1)) }
                else { putUInt(Self.expl, UInt64(gid.count - 1 - Int(apex))) }
            }
            var nf = f
            nf[k] = apex
            let S = nf.sorted { gid[Int($0)] < gid[Int($1)] }
            let h = Int(parity4(nf) ^ parity[t] ^ 1)
            let o = (0..<4).map { UInt32(localOf[Int(tets[4 * n + $0])]) }
            let sigma = o.map { v in S.firstIndex(of: v)! }
            putTree(Self.perm + 32 * h, 5, Self.permutationRank(sigma))
            coded[n] = true; done += 1
            addTet(nf, o, chunkTet: n, tets, coded)
        }
        for (kind, cell) in others {
            putTree(Self.type, 8, Int(kind))
            putUInt(Self.size, UInt64(cell.count))
            for g in cell { _ = vertex(g, flag: Self.genNew, expl: Self.explGen, &localOf) }
        }
        for g in lone { _ = newPoint(g, previous, kind: 1, ref: previousGid, &localOf) }
        for g in gid { localOf[Int(g)] = -1 }
        return (rc.finish(), gid.count)
    }
}

/// What the encoder needs to know of a chunk's tets before it walks them, in a few bytes per
/// tet (the walk itself adds ~60). Faces grouped by their three points: `slots` lists every
/// face slot (4 i + k: tet i's face opposite its k-th point) sorted by the face's points, the
/// tets of one face in chunk order, and `position[s]` is slot s's index in `slots` (the sorted
/// triples are recomputed from the tets when a group is looked up). `neighbourCapacity[g]`:
/// how many adjacency slots point g needs (its distinct neighbours in the chunk, at most
/// `ChunkEncoder.maxAdjacent`), so that each point gets those rather than the maximum.
struct ChunkTopology {
    var slots: [UInt32] = [], position: [UInt32] = []
    var neighbourCapacity: [UInt32: UInt8] = [:]

    init() {}

    /// `localOf` (all −1) numbers the chunk's points densely while the keys are built, so three
    /// of them pack into one 63-bit key; it is all −1 again on return.
    init(tets: [UInt32], localOf: inout [Int32]) {
        var seen: [UInt32] = []
        for g in tets where localOf[Int(g)] < 0 { localOf[Int(g)] = Int32(seen.count); seen.append(g) }
        neighbourCapacity = Self.neighbourCounts(tets, dense: localOf, seen)
        var keys = [UInt64](repeating: 0, count: tets.count)
        for s in keys.indices {
            let (x, y, z) = Self.face(s, tets) { UInt32(localOf[Int($0)]) }
            keys[s] = UInt64(x) << 42 | UInt64(y) << 21 | UInt64(z)
        }
        for g in seen { localOf[Int(g)] = -1 }
        seen = []
        var slots = (0 ..< UInt32(tets.count)).map { $0 }
        // a face's slots by tet: ties broken by slot, as a tet has a face once (4 distinct points)
        slots.sort { keys[Int($0)] != keys[Int($1)] ? keys[Int($0)] < keys[Int($1)] : $0 < $1 }
        keys = []
        var position = [UInt32](repeating: 0, count: slots.count)
        for (p, s) in slots.enumerated() { position[Int(s)] = UInt32(p) }
        self.slots = slots; self.position = position
    }

    /// For each point of `tets` (`seen[d]` its global id, `dense[g]` = d), its distinct
    /// neighbours, capped at `ChunkEncoder.maxAdjacent`.
    static func neighbourCounts(_ tets: [UInt32], dense: [Int32], _ seen: [UInt32]) -> [UInt32: UInt8] {
        // the tets of each point (counting sort), then each point's neighbours marked once
        var start = [UInt32](repeating: 0, count: seen.count + 1)
        for g in tets { start[Int(dense[Int(g)]) + 1] += 1 }
        for d in seen.indices { start[d + 1] += start[d] }
        var fill = start, tetsOf = [UInt32](repeating: 0, count: tets.count)
        for (s, g) in tets.enumerated() {
            let d = Int(dense[Int(g)])
            tetsOf[Int(fill[d])] = UInt32(s >> 2); fill[d] += 1
        }
        fill = []
        var mark = [Int32](repeating: -1, count: seen.count)
        var capacity: [UInt32: UInt8] = [:]
        capacity.reserveCapacity(seen.count)
        for d in seen.indices {
            var n = 0
            for t in tetsOf[Int(start[d]) ..< Int(start[d + 1])] {
                for j in 0..<4 {
                    let e = Int(dense[Int(tets[4 * Int(t) + j])])
                    if e != d && mark[e] != Int32(d) { mark[e] = Int32(d); n += 1 }
                }
            }
            capacity[seen[d]] = UInt8(min(n, ChunkEncoder.maxAdjacent))
        }
        return capacity
    }

    /// Slot s's face: its three points mapped by `id`, ascending.
    @inline(__always) static func face(_ s: Int, _ tets: [UInt32], _ id: (UInt32) -> UInt32 = { $0 }) -> (UInt32, UInt32, UInt32) {
        let r = ChunkEncoder.rest[s & 3], base = s & ~3
        var x = id(tets[base + r.0]), y = id(tets[base + r.1]), z = id(tets[base + r.2])
        if x > y { swap(&x, &y) }
        if y > z { swap(&y, &z) }
        if x > y { swap(&x, &y) }
        return (x, y, z)
    }

    /// The positions in `slots` of the face of slot s (every tet of the chunk that has it).
    func group(of s: Int, _ tets: [UInt32]) -> Range<Int> {
        let key = Self.face(s, tets), p = Int(position[s])
        var lo = p, hi = p + 1
        while lo > 0 && Self.face(Int(slots[lo - 1]), tets) == key { lo -= 1 }
        while hi < slots.count && Self.face(Int(slots[hi]), tets) == key { hi += 1 }
        return lo ..< hi
    }

    func codedCount(_ group: Range<Int>, _ coded: [Bool]) -> Int {
        group.reduce(0) { $0 + (coded[Int(slots[$1]) >> 2] ? 1 : 0) }
    }

    func codedCount(_ s: Int, _ tets: [UInt32], _ coded: [Bool]) -> Int { codedCount(group(of: s, tets), coded) }

    /// The first tet (in chunk order) of the group not coded yet.
    func firstUncoded(_ group: Range<Int>, _ coded: [Bool]) -> Int? {
        group.lazy.map { Int(self.slots[$0]) >> 2 }.first { !coded[$0] }
    }
}
