import Foundation

/// MESHC coded and verified by several processes (distributed training, issue 18): the chunks
/// are independent, so each process codes a contiguous share of them and the bytes are
/// assembled in chunk order — the same payload as `MCIWriter` makes in one process. Only the
/// process that holds the cells plans (Morton order) and sends each process its chunks' cells;
/// every process has the points. Verification likewise: each process decodes its share of the
/// written file's chunks with the C decoder and checks every point against the source, and the
/// shares' point coverage is combined, which is what the whole-mesh decode checks (every chunk
/// decodes, every point is listed, the same coordinates wherever a point is listed).
public enum MCIMeshChunkShares {
    /// The chunks process `rank` of `size` codes and verifies: a contiguous block, the last
    /// processes the larger ones (the last chunk, shorter, lists the points no cell uses).
    public static func chunks(rank: Int, size: Int, count: Int) -> Range<Int> {
        let base = count / size, extra = count % size
        let start = rank * base + max(0, rank - (size - extra))
        return start ..< start + base + (rank >= size - extra ? 1 : 0)
    }

    /// The coding plan of a mesh (on the process that holds its cells).
    public struct Plan {
        let plan: MeshChunkCoding.Plan
        public var chunkCount: Int { plan.chunkCount }
        public var pointCount: Int { plan.pointCount }
    }

    /// The plan for `mesh` stored as `coding`; nil for `.zlib` (one stream: not shared).
    public static func plan(_ mesh: MCIMesh, coding: MCIMeshCoding) throws -> Plan? {
        guard case .chunked(let cells) = coding else { return nil }
        return Plan(plan: try MeshChunkCoding.Plan(mesh, cellsPerChunk: cells))
    }

    /// What a process needs, besides the points, to code `chunks`: their cells in coding order.
    public static func cells(_ plan: Plan, mesh: MCIMesh, chunks: Range<Int>) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(plan.plan.width)); w.u64(UInt64(plan.pointCount)); w.u64(UInt64(chunks.count))
        for k in chunks {
            let (tets, others) = plan.plan.cells(of: k, mesh)
            w.u64(UInt64(k))
            w.u64(UInt64(tets.count)); w.u32s(tets)
            w.u64(UInt64(others.count))
            for (type, ids) in others {
                w.u32(UInt32(type)); w.u32(UInt32(ids.count)); w.u32s(ids.map { UInt32($0) })
            }
            let lone = k == plan.chunkCount - 1 ? plan.plan.lone : []
            w.u64(UInt64(lone.count)); w.u32s(lone.map { UInt32($0) })
        }
        return w.bytes
    }

    /// Codes the chunks of `cells` (from `cells(_:mesh:chunks:)`) on up to `threads` threads;
    /// `points`: every mesh point, xyz interleaved, as the mesh holds them. Returns the coded
    /// chunks for `assemble`.
    public static func encode(cells: [UInt8], points: [Double], threads: Int) throws -> [UInt8] {
        var r = Reader(cells)
        let width = Int(try r.u32()), n = Int(try r.u64()), count = try r.count(limit: 1 << 32)
        guard width == 32 || width == 64, points.count == 3 * n else {
            throw MCIError.invalidModel("MESHC share: \(points.count / 3) points for a plan of \(n) (width \(width))")
        }
        var jobs: [(k: Int, tets: [UInt32], others: [(UInt8, ArraySlice<Int>)], lone: [Int])] = []
        for _ in 0 ..< count {
            let k = try r.count(limit: 1 << 32)
            let tets = try r.u32s(try r.count(limit: cells.count))
            var others: [(UInt8, ArraySlice<Int>)] = []
            for _ in 0 ..< (try r.count(limit: cells.count)) {
                let type = UInt8(truncatingIfNeeded: try r.u32())
                let ids = try r.u32s(Int(try r.u32())).map(Int.init)
                others.append((type, ids[...]))
            }
            let lone = try r.u32s(try r.count(limit: cells.count)).map(Int.init)
            guard (tets + lone.map(UInt32.init)).allSatisfy({ Int($0) < n }), others.allSatisfy({ $0.1.allSatisfy { $0 < n } }) else {
                throw MCIError.invalidModel("MESHC share: chunk \(k) refers to a missing point")
            }
            jobs.append((k, tets, others, lone))
        }
        let bits = MeshChunkCoding.coordinateBits(points, width: width)
        let encoded = MeshChunkCoding.encodeConcurrently(count: jobs.count, pointCount: n, threads: threads) { i, localOf in
            MeshChunkCoding.encodeChunk(tets: jobs[i].tets, others: jobs[i].others, lone: jobs[i].lone, width: width,
                                        bits: bits, localOf: &localOf)
        }
        var w = ByteWriter()
        w.u64(UInt64(jobs.count))
        for (job, e) in zip(jobs, encoded) {
            w.u64(UInt64(job.k)); w.u64(UInt64(e.points)); w.u64(UInt64(e.tets)); w.u64(UInt64(e.cells))
            w.u64(UInt64(e.entries)); w.u64(UInt64(e.stream.count))
            w.bytes += e.stream
        }
        return w.bytes
    }

    /// The MESHC payload from every process's `encode` output (any order): each chunk exactly once.
    public static func assemble(_ plan: Plan, parts: [[UInt8]]) throws -> [UInt8] {
        var chunks = [MeshChunkCoding.EncodedChunk?](repeating: nil, count: plan.chunkCount)
        for part in parts {
            var r = Reader(part)
            for _ in 0 ..< (try r.count(limit: plan.chunkCount)) {
                let k = try r.count(limit: plan.chunkCount - 1)
                var e = MeshChunkCoding.EncodedChunk()
                e.points = try r.count(limit: Int.max); e.tets = try r.count(limit: Int.max)
                e.cells = try r.count(limit: Int.max); e.entries = try r.count(limit: Int.max)
                e.stream = try r.bytes(try r.count(limit: part.count))
                guard chunks[k] == nil else { throw MCIError.invalidModel("MESHC share: chunk \(k) coded twice") }
                chunks[k] = e
            }
        }
        if let missing = chunks.firstIndex(where: { $0 == nil }) {
            throw MCIError.invalidModel("MESHC share: chunk \(missing) of \(plan.chunkCount) was not coded")
        }
        return plan.plan.assemble(chunks.map { $0! })
    }

    /// Decodes chunks `chunks` of the file `bytes` with the C decoder (after opening the whole
    /// file) and checks each point it lists against `points` (every mesh point, as the mesh
    /// holds them, stored at the file's precision). Returns the points listed, one bit each
    /// (for `checkCoverage`). Throws the decoder's error naming the chunk, or a mismatch.
    public static func verify(file bytes: [UInt8], name: String, chunks: Range<Int>, points: [Double],
                              threads: Int = 1) throws -> [UInt8] {
        try verify(file: bytes, name: name, share: { _ in chunks }, points: points, threads: threads)
    }

    /// `verify` of process `rank`'s share of `size` (`chunks(rank:size:count:)` of the file's chunks).
    public static func verify(file bytes: [UInt8], name: String, rank: Int, size: Int, points: [Double],
                              threads: Int = 1) throws -> [UInt8] {
        try verify(file: bytes, name: name, share: { chunks(rank: rank, size: size, count: $0) }, points: points,
                   threads: threads)
    }

    private static func verify(file bytes: [UInt8], name: String, share: (Int) -> Range<Int>, points: [Double],
                               threads: Int) throws -> [UInt8] {
        let decoder = try MCIDecoder(bytes: bytes, name: name, options: .ownOutput)
        let n = points.count / 3
        let chunks = share(decoder.meshChunkCount)
        guard decoder.hasMesh, decoder.meshCodingIsChunked, decoder.meshPointCount == n,
              chunks.upperBound <= decoder.meshChunkCount else {
            throw MCIError.format("\(name): not the MESHC mesh of \(n) points that was coded")
        }
        // chunks on up to `threads` workers, each with its own bitmap and first error
        let workers = max(1, min(threads, chunks.count, 16))
        var listed = [[UInt8]](repeating: [UInt8](repeating: 0, count: n / 8 + 1), count: workers)
        var failures = [Error?](repeating: nil, count: workers)
        listed.withUnsafeMutableBufferPointer { listed in
            failures.withUnsafeMutableBufferPointer { failures in
                let (bits, errors) = (listed, failures)
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    do {
                        for k in Swift.stride(from: chunks.lowerBound + w, to: chunks.upperBound, by: workers) {
                            try check(decoder, chunk: k, name: name, points: points, into: &bits[w])
                        }
                    } catch { errors[w] = error }
                }
            }
        }
        if let failure = failures.compactMap({ $0 }).first { throw failure }
        var all = listed[0]
        for part in listed.dropFirst() { for i in all.indices { all[i] |= part[i] } }
        return all
    }

    /// Chunk k decodes, and each point it lists has the source's coordinates (as stored).
    private static func check(_ decoder: MCIDecoder, chunk k: Int, name: String, points: [Double], into listed: inout [UInt8]) throws {
        let n = points.count / 3
        let (ids, chunk) = try decoder.meshChunk(k)
        let float32 = chunk.pointPrecision == .float32
        for (i, id) in ids.enumerated() {
            let g = Int(id)
            guard g >= 0 && g < n else { throw MCIError.format("\(name): MESHC chunk \(k) lists point \(g) of \(n)") }
            for a in 0 ..< 3 {
                let source = float32 ? Double(Float(points[3 * g + a])) : points[3 * g + a]
                guard chunk.points[3 * i + a].bitPattern == source.bitPattern else {
                    throw MCIError.format("\(name): MESHC chunk \(k): point \(g) decodes to other coordinates than the mesh's")
                }
            }
            listed[g / 8] |= UInt8(1 << (g % 8))
        }
    }

    /// Every point listed by some chunk (`listed`: the processes' `verify` results).
    public static func checkCoverage(_ listed: [[UInt8]], pointCount n: Int, name: String) throws {
        var all = [UInt8](repeating: 0, count: n / 8 + 1)
        for part in listed {
            guard part.count == all.count else { throw MCIError.format("\(name): a verification share of \(part.count) bytes") }
            for i in all.indices { all[i] |= part[i] }
        }
        if let g = (0 ..< n).first(where: { all[$0 / 8] & UInt8(1 << ($0 % 8)) == 0 }) {
            throw MCIError.format("\(name): section MESHC: point \(g) is in no chunk")
        }
    }

    /// Little-endian reader of the shares' messages (made by this process or a peer).
    struct Reader {
        let bytes: [UInt8]
        var at = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n >= 0, n <= bytes.count - at else { throw MCIError.invalidModel("MESHC share: a message ends early") }
            defer { at += n }
            return bytes[at ..< at + n]
        }
        mutating func u32() throws -> UInt32 {
            try take(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        }
        mutating func u64() throws -> UInt64 {
            try take(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }
        mutating func count(limit: Int) throws -> Int {
            let v = try u64()
            guard v <= UInt64(limit) else { throw MCIError.invalidModel("MESHC share: a count of \(v) (limit \(limit))") }
            return Int(v)
        }
        mutating func u32s(_ n: Int) throws -> [UInt32] {
            let raw = try take(4 * n)
            var out = [UInt32](repeating: 0, count: n)
            out.withUnsafeMutableBytes { $0.copyBytes(from: raw) }
            #if !_endian(little)
            for i in out.indices { out[i] = UInt32(littleEndian: out[i]) }
            #endif
            return out
        }
        mutating func bytes(_ n: Int) throws -> [UInt8] { Array(try take(n)) }
    }
}
