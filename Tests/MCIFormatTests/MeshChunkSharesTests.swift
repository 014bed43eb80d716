import XCTest
@testable import MCIFormat

/// MESHC coded and verified in shares (`MCIMeshChunkShares`, distributed training): the same
/// payload as one process for any number of shares, and a verification that refuses what the
/// whole-mesh decode refuses.
final class MeshChunkSharesTests: XCTestCase {
    /// The payload coded as `size` processes would: cells per share, coded, assembled.
    func sharedPayload(_ mesh: MCIMesh, cellsPerChunk: Int, size: Int, threads: Int = 1) throws -> [UInt8] {
        let plan = try XCTUnwrap(try MCIMeshChunkShares.plan(mesh, coding: .chunked(cellsPerChunk: cellsPerChunk)))
        var parts: [[UInt8]] = []
        for rank in (0 ..< size).reversed() {  // any order of the parts
            let chunks = MCIMeshChunkShares.chunks(rank: rank, size: size, count: plan.chunkCount)
            let cells = MCIMeshChunkShares.cells(plan, mesh: mesh, chunks: chunks)
            parts.append(try MCIMeshChunkShares.encode(cells: cells, points: mesh.points, threads: threads))
        }
        return try MCIMeshChunkShares.assemble(plan, parts: parts)
    }

    func testSharesCoverEveryChunkOnceInOrder() {
        for count in [1, 2, 7, 190] {
            for size in 1 ... 5 {
                let shares = (0 ..< size).map { MCIMeshChunkShares.chunks(rank: $0, size: size, count: count) }
                XCTAssertEqual(shares.flatMap { Array($0) }, Array(0 ..< count), "\(count) chunks, \(size) shares")
                XCTAssertLessThanOrEqual(shares.map(\.count).max()! - shares.map(\.count).min()!, 1)
            }
        }
    }

    func testSharedCodingGivesTheOneProcessPayload() throws {
        for precision in [MCIMesh.PointPrecision.float32, .float64] {
            let mesh = MeshCodingTests.mixedMesh(n: 6, precision: precision)
            let whole = try MeshChunkCoding.payload(mesh, cellsPerChunk: 90)
            XCTAssertGreaterThan((mesh.cellCount + 89) / 90, 5, "several chunks")
            for size in [1, 2, 3, 5, 20] {
                XCTAssertEqual(try sharedPayload(mesh, cellsPerChunk: 90, size: size, threads: size % 2 + 1), whole,
                               "\(precision), \(size) shares")
            }
            var model = TestModels.model(.siren, mesh: mesh)
            model.meshCoding = .chunked(cellsPerChunk: 90)
            XCTAssertEqual(try MCIWriter.encode(model, meshPayload: try sharedPayload(mesh, cellsPerChunk: 90, size: 3)),
                           try MCIWriter.encode(model))
        }
    }

    func testRadixOrderIsTheSortByKeyThenIndex() {
        var rng = SeededRNG(seed: 3)
        for n in [0, 1, 2, 1000, 70_000] {
            // few distinct keys (ties), spread over all 64 bits, some digits constant
            let keys: [UInt64] = (0 ..< n).map { _ in
                let r = UInt64.random(in: 0 ..< 50, using: &rng)
                return (r << 58) | ((r % 7) << 20) | (r % 3)
            }
            let expected = keys.indices.sorted { keys[$0] != keys[$1] ? keys[$0] < keys[$1] : $0 < $1 }
            var scratch = keys
            XCTAssertEqual(MeshChunkCoding.radixOrder(&scratch), expected, "\(n) keys")
        }
    }

    func testAssemblyNeedsEveryChunkOnce() throws {
        let mesh = MeshCodingTests.mixedMesh(n: 4, precision: .float64)
        let plan = try XCTUnwrap(try MCIMeshChunkShares.plan(mesh, coding: .chunked(cellsPerChunk: 40)))
        let first = try MCIMeshChunkShares.encode(cells: MCIMeshChunkShares.cells(plan, mesh: mesh, chunks: 0 ..< 1),
                                                  points: mesh.points, threads: 1)
        XCTAssertThrowsError(try MCIMeshChunkShares.assemble(plan, parts: [first]))          // chunks missing
        let all = try MCIMeshChunkShares.encode(cells: MCIMeshChunkShares.cells(plan, mesh: mesh, chunks: 0 ..< plan.chunkCount),
                                                points: mesh.points, threads: 2)
        XCTAssertNoThrow(try MCIMeshChunkShares.assemble(plan, parts: [all]))
        XCTAssertThrowsError(try MCIMeshChunkShares.assemble(plan, parts: [all, first]))     // chunk 0 twice
    }

    func testVerificationInSharesAcceptsTheFileAndRefusesABrokenChunk() throws {
        let mesh = MeshCodingTests.mixedMesh(n: 6, precision: .float32)
        var model = TestModels.model(.siren, mesh: mesh)
        model.meshCoding = .chunked(cellsPerChunk: 90)
        let payload = try MeshChunkCoding.payload(mesh, cellsPerChunk: 90)
        let good = try MCIWriter.encode(model, meshPayload: payload)
        let count = try MCIDecoder(bytes: good).meshChunkCount
        let listed = try (0 ..< 3).map { rank in
            try MCIMeshChunkShares.verify(file: good, name: "good", chunks: MCIMeshChunkShares.chunks(rank: rank, size: 3, count: count),
                                          points: mesh.points)
        }
        XCTAssertNoThrow(try MCIMeshChunkShares.checkCoverage(listed, pointCount: mesh.pointCount, name: "good"))
        // one share on 3 threads lists the same points
        let whole = try MCIMeshChunkShares.verify(file: good, name: "good", rank: 0, size: 1, points: mesh.points, threads: 3)
        XCTAssertEqual(whole, listed.dropFirst().reduce(listed[0]) { zip($0, $1).map { $0 | $1 } })
        // a share missing: its points (the lone one in the last chunk at least) are listed nowhere
        XCTAssertThrowsError(try MCIMeshChunkShares.checkCoverage(Array(listed.dropLast()), pointCount: mesh.pointCount, name: "good"))
        // other source points than the coded ones: refused
        var moved = mesh.points
        moved[0] += 1
        XCTAssertThrowsError(try MCIMeshChunkShares.verify(file: good, name: "moved", chunks: 0 ..< count, points: moved))

        // chunk 2's stream overwritten (the section's CRC recomputed by the writer): the whole-mesh
        // decode refuses the file, and so does the share that holds chunk 2, only that one
        var broken = payload
        let chunkTable = 48, entry = 40
        var offset = chunkTable + entry * count
        func u64(_ at: Int) -> Int { (0 ..< 8).reduce(0) { $0 | Int(broken[at + $1]) << (8 * $1) } }
        for k in 0 ..< 2 { offset += u64(chunkTable + entry * k) }
        for i in offset ..< offset + u64(chunkTable + entry * 2) { broken[i] = 0xA5 }
        model.meshIndex = false  // building the index decodes every chunk: it would refuse chunk 2 already
        let bad = try MCIWriter.encode(model, meshPayload: broken)
        XCTAssertThrowsError(try MCIDecoder(bytes: bad).decodeWholeMesh())
        XCTAssertThrowsError(try MCIMeshChunkShares.verify(file: bad, name: "bad", chunks: 2 ..< 3, points: mesh.points)) { error in
            XCTAssertTrue("\(error)".contains("chunk 2"), "\(error)")
        }
        XCTAssertNoThrow(try MCIMeshChunkShares.verify(file: bad, name: "bad", chunks: 3 ..< count, points: mesh.points))
        XCTAssertThrowsError(try MCIMeshChunkShares.verify(file: bad, name: "bad", rank: 0, size: 1, points: mesh.points, threads: 4))
    }
}
