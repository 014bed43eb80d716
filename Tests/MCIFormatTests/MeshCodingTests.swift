import XCTest
@testable import MCIFormat

/// The MESHC section (type 8, format 1.3): the Swift writer (MeshCoding/) against the C decoder.
/// (The C decoder against the independent reference coder tools/mesh_codec.py: CShim/tests.)
final class MeshCodingTests: XCTestCase {
    /// An n³-point block of cubes split into 6 tets each, coordinates off the grid (full
    /// mantissas), plus generic cells: a triangle, a pyramid, a 5-point polygon, a VERTEX, a
    /// hexahedron — and a last point no cell uses.
    static func mixedMesh(n: Int, precision: MCIMesh.PointPrecision, seed: UInt64 = 7) -> MCIMesh {
        var rng = SeededRNG(seed: seed)
        var points: [Double] = []
        for k in 0..<n { for j in 0..<n { for i in 0..<n {
            points += [Double(i), Double(j), Double(k)].map { $0 * 0.37 - 1.1 + Double.random(in: -0.08...0.08, using: &rng) }
        } } }
        points += [5.5, -0.0, 1e-30]  // the lone point: −0.0 and a tiny value stay bit-exact
        func idx(_ i: Int, _ j: Int, _ k: Int) -> Int { i + n * (j + n * k) }
        var types: [UInt8] = [], offsets = [0], conn: [Int] = []
        func add(_ type: UInt8, _ vs: [Int]) { types.append(type); conn += vs; offsets.append(conn.count) }
        for k in 0..<(n - 1) { for j in 0..<(n - 1) { for i in 0..<(n - 1) {
            let c = (0..<8).map { v in idx(i + (v & 1), j + ((v >> 1) & 1), k + (v >> 2)) }
            for t in [[0, 1, 3, 7], [0, 5, 1, 7], [0, 3, 2, 7], [0, 2, 6, 7], [0, 4, 5, 7], [0, 6, 4, 7]] {
                add(10, t.map { c[$0] })
            }
        } } }
        add(5, [0, 1, n])
        add(14, [2, 3, n + 3, n + 2, n * n + 2])
        add(7, [4, 5, n + 5, 2 * n + 4, n + 4])
        add(1, [n * n])
        add(12, [0, 1, n + 1, n, n * n, n * n + 1, n * n + n + 1, n * n + n])
        return MCIMesh(points: points, pointPrecision: precision, cellTypes: types, cellOffsets: offsets,
                       connectivity: conn)
    }

    /// A fan around point 0 with more neighbours than the coder's adjacency keeps (64): a ring of
    /// `ring` points with a top and a bottom apex, a face shared by three tets, a tet repeated.
    static func fanMesh(ring: Int = 80, seed: UInt64 = 3) -> MCIMesh {
        var rng = SeededRNG(seed: seed)
        var points: [Double] = [0, 0, 0]
        for i in 0..<ring {
            let a = 2 * Double.pi * Double(i) / Double(ring)
            points += [cos(a), sin(a), Double.random(in: -0.05...0.05, using: &rng)]
        }
        points += [0.01, -0.02, 1, 0.02, 0.01, -1, 0.3, 0.1, 0.5]
        let top = ring + 1, bottom = ring + 2, third = ring + 3
        var conn: [Int] = []
        for i in 1...ring {
            let j = i % ring + 1
            conn += [0, i, j, top, 0, j, i, bottom]
        }
        conn += [0, 1, 2, third, 0, 3, 4, top]
        let count = conn.count / 4
        return MCIMesh(points: points, pointPrecision: .float32, cellTypes: [UInt8](repeating: 10, count: count),
                       cellOffsets: (0...count).map { 4 * $0 }, connectivity: conn)
    }

    static func cells(_ m: MCIMesh) -> [[Int]] {
        (0..<m.cellCount).map { c in [Int(m.cellTypes[c])] + Array(m.connectivity[m.cellOffsets[c]..<m.cellOffsets[c + 1]]) }
    }

    static func storedBits(_ m: MCIMesh) -> [UInt64] {
        m.points.map { m.pointPrecision == .float32 ? UInt64(Float($0).bitPattern) : $0.bitPattern }
    }

    func roundTrip(_ mesh: MCIMesh, cellsPerChunk: Int) throws -> (MCIDecoder, [UInt8]) {
        var model = TestModels.model(.siren, mesh: mesh)
        model.meshCoding = .chunked(cellsPerChunk: cellsPerChunk)
        let bytes = try MCIWriter.encode(model)
        let decoder = try MCIDecoder(bytes: bytes)
        let back = try decoder.mesh()
        XCTAssertEqual(back.pointPrecision, mesh.pointPrecision)
        // points in the original order, bit for bit as stored
        XCTAssertEqual(Self.storedBits(back), Self.storedBits(mesh))
        // the same cells with their vertex order (the cell order is the chunks')
        XCTAssertEqual(Self.cells(back).sorted { $0.lexicographicallyPrecedes($1) },
                       Self.cells(mesh).sorted { $0.lexicographicallyPrecedes($1) })
        return (decoder, bytes)
    }

    func testMixedMeshFloat32InSeveralChunks() throws {
        let mesh = Self.mixedMesh(n: 6, precision: .float32)
        let (decoder, bytes) = try roundTrip(mesh, cellsPerChunk: 100)
        XCTAssertEqual(bytes[10], 5, "a MESHC file with its index is format 1.5")
        XCTAssertNotNil(decoder.meshIndexBoxes)
        XCTAssertEqual(decoder.meshChunkCount, (mesh.cellCount + 99) / 100)
        // the chunks, put together, are the whole mesh: cells in order, points at their ids
        let whole = try decoder.mesh()
        var cells: [[Int]] = []
        var covered = Set<Int64>()
        for k in 0..<decoder.meshChunkCount {
            let (ids, chunk) = try decoder.meshChunk(k)
            XCTAssertEqual(Set(ids).count, ids.count, "chunk \(k) lists a point twice")
            for (i, g) in ids.enumerated() {
                XCTAssertEqual(Array(chunk.points[3 * i..<3 * i + 3]), Array(whole.points[3 * Int(g)..<3 * Int(g) + 3]))
            }
            covered.formUnion(ids)
            cells += Self.cells(chunk).map { [$0[0]] + $0.dropFirst().map { Int(ids[$0]) } }
            XCTAssertLessThanOrEqual(chunk.cellCount, 100)
        }
        XCTAssertEqual(cells, Self.cells(whole))
        XCTAssertEqual(covered.count, mesh.pointCount, "every point is in a chunk (the lone one included)")
        XCTAssertEqual(decoder.meshBytes, try MeshChunkCoding.payload(mesh, cellsPerChunk: 100).count,
                       "meshBytes is the MESHC payload")
    }

    func testChunkAssembledMeshIsTheWholeDecode() throws {
        for precision in [MCIMesh.PointPrecision.float32, .float64] {
            let mesh = Self.mixedMesh(n: 6, precision: precision)
            let (decoder, _) = try roundTrip(mesh, cellsPerChunk: 100)
            // chunk by chunk on 1 and 3 threads: the whole-mesh decode's arrays, in its order
            let whole = try decoder.meshFromWholeDecode()
            XCTAssertEqual(try decoder.meshFromChunks(threads: 1), whole)
            XCTAssertEqual(try decoder.meshFromChunks(threads: 3), whole)
            // handed over a chunk at a time (export's streamed mesh): the same cells, in order
            for threads in [1, 3] {
                var types: [UInt8] = [], offsets = [0], connectivity: [Int] = [], runs = 0
                let (points, pointPrecision) = try decoder.meshCells(threads: threads) { t, o, c in
                    types += t; offsets += o; connectivity += c; runs += 1
                }
                XCTAssertEqual(runs, decoder.meshChunkCount)
                XCTAssertEqual(MCIMesh(points: points, pointPrecision: pointPrecision, cellTypes: types, cellOffsets: offsets,
                                       connectivity: connectivity), whole)
            }
        }
    }

    func testFloat64BitExactWithSpecialValues() throws {
        var mesh = Self.mixedMesh(n: 4, precision: .float64, seed: 3)
        mesh.points[0] = -0.0
        mesh.points[1] = 5e-324            // the smallest subnormal
        mesh.points[2] = -1.7976931348623157e308
        mesh.points[4] = 1e300
        mesh.points[7] = .leastNormalMagnitude
        _ = try roundTrip(mesh, cellsPerChunk: 1000)
        _ = try roundTrip(mesh, cellsPerChunk: 7)
    }

    func testSingleChunkAndTetsOnly() throws {
        let (decoder, _) = try roundTrip(TestModels.tetMesh(precision: .float32), cellsPerChunk: 65536)
        XCTAssertEqual(decoder.meshChunkCount, 1)
    }

    func testZlibCodingStillWritesMeshType5() throws {
        var model = TestModels.model(.siren, mesh: TestModels.tetMesh(precision: .float64))
        model.meshCoding = .zlib
        let bytes = try MCIWriter.encode(model)
        XCTAssertEqual(bytes[10], 0, "without MESHC the file stays format 1.0")
        let decoder = try MCIDecoder(bytes: bytes)
        XCTAssertEqual(decoder.meshChunkCount, 1)
        let (ids, chunk) = try decoder.meshChunk(0)
        XCTAssertEqual(ids, (0..<Int64(model.mesh!.pointCount)).map { $0 })
        XCTAssertEqual(chunk, try decoder.mesh(), "a MESH type 5 file's one chunk is its whole mesh")
        XCTAssertEqual(try decoder.mesh().connectivity, model.mesh!.connectivity, "MESH keeps the cell order")
    }

    /// The raw-arrays file of benchmarks/mesh and `tools/mesh_codec.py --encode-raw`.
    static func rawArrays(_ mesh: MCIMesh) -> [UInt8] {
        var raw = ByteWriter()
        for v in [mesh.pointCount, mesh.cellCount, mesh.connectivity.count, Int(mesh.pointPrecision.rawValue)] {
            raw.u64(UInt64(v))
        }
        raw.f64s(mesh.points); raw.bytes += mesh.cellTypes
        raw.u64s(mesh.cellOffsets.map { UInt64(bitPattern: Int64($0)) })
        raw.u64s(mesh.connectivity.map { UInt64($0) })
        return raw.bytes
    }

    /// The Swift writer and the independent reference coder (tools/mesh_codec.py, written from
    /// the spec) make the same bytes: generic cells, a lone point, float32 and float64 with
    /// −0, subnormals and huge values, one and several chunks.
    /// A point with more neighbours than the adjacency keeps, a face of three tets, a repeated tet.
    func testFanWithNonManifoldFaceRoundTrips() throws {
        for cells in [65536, 37, 5] { _ = try roundTrip(Self.fanMesh(), cellsPerChunk: cells) }
    }

    func testSameBytesAsTheReferenceCoder() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meshref-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var wide = Self.mixedMesh(n: 5, precision: .float64, seed: 11)
        wide.points[0] = -0.0; wide.points[1] = 5e-324; wide.points[4] = -1e300
        for (i, (mesh, cells)) in [(Self.mixedMesh(n: 7, precision: .float32, seed: 5), 150),
                                   (Self.mixedMesh(n: 7, precision: .float32, seed: 5), 65536),
                                   (wide, 90), (Self.fanMesh(), 65536), (Self.fanMesh(), 37)].enumerated() {
            let input = dir.appendingPathComponent("in\(i).raw"), output = dir.appendingPathComponent("out\(i).bin")
            try Data(Self.rawArrays(mesh)).write(to: input)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", root.appendingPathComponent("tools/mesh_codec.py").path, input.path,
                           "--encode-raw", output.path, "--chunk-cells", String(cells)]
            try p.run()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "tools/mesh_codec.py --encode-raw failed")
            let reference = try [UInt8](Data(contentsOf: output))
            let swift = try MeshChunkCoding.payload(mesh, cellsPerChunk: cells)
            XCTAssertEqual(swift.count, reference.count, "case \(i): payload sizes")
            XCTAssertTrue(swift == reference, "case \(i): the Swift writer and tools/mesh_codec.py differ")
        }
    }

    /// The open checks the chunk table and decodes no chunk: a malformed chunk stream (CRC
    /// fixed) opens, its chunk and the whole mesh then throw a format error naming the file
    /// and the chunk, the other chunks decode; the writer's verification decodes the mesh, so
    /// it never writes a file whose mesh the decoder refuses.
    func testMalformedChunkFailsOnFirstUseNamingTheChunk() throws {
        var model = TestModels.model(.siren, mesh: Self.mixedMesh(n: 6, precision: .float32))
        model.meshCoding = .chunked(cellsPerChunk: 200)
        var bytes = try MCIWriter.encode(model)
        func le(_ at: Int, _ n: Int) -> Int { (0..<n).reversed().reduce(0) { $0 << 8 | Int(bytes[at + $1]) } }
        let entry = try XCTUnwrap((0..<le(12, 4)).map { 16 + 32 * $0 }.first { le($0, 4) == 8 })
        let payload = le(entry + 8, 8), length = le(entry + 16, 8)
        let K = le(payload + 32, 4)
        XCTAssertGreaterThan(K, 2)
        let stream1 = payload + 48 + 40 * K + le(payload + 48, 8), size1 = le(payload + 48 + 40, 8)
        for k in 0..<(size1 / 2) { bytes[stream1 + 5 + k] ^= 0x5A }  // chunk 1's stream past its first bytes
        let crc = MCIWriter.crc(Array(bytes[payload..<(payload + length)]))
        for k in 0..<4 { bytes[entry + 24 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
        let decoder = try MCIDecoder(bytes: bytes, name: "bad.mci")
        XCTAssertEqual(decoder.meshChunkCount, K)
        XCTAssertNoThrow(try decoder.meshChunk(0))
        XCTAssertNoThrow(try decoder.meshChunk(2))
        for attempt in [{ _ = try decoder.meshChunk(1) }, { _ = try decoder.mesh() }, { try decoder.decodeWholeMesh(threads: 2) },
                        { _ = try decoder.decodeMesh(time: 0) }] {
            XCTAssertThrowsError(try attempt()) { error in
                guard case MCIError.format(let message) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(message.contains("bad.mci") && message.contains("section MESHC: chunk 1: "), message)
            }
        }

        // a cell the readers refuse (a tetrahedron repeating a point) goes through the generic path
        var bad = Self.mixedMesh(n: 3, precision: .float64)
        bad.cellTypes.append(10); bad.connectivity += [0, 1, 1, 2]; bad.cellOffsets.append(bad.connectivity.count)
        var badModel = TestModels.model(.siren, mesh: bad)
        badModel.meshCoding = .standard
        badModel.meshIndex = false  // the index is built by decoding the chunks: it would refuse it already
        let opened = try MCIDecoder(bytes: try MCIWriter.encode(badModel), name: "degenerate.mci")
        XCTAssertThrowsError(try opened.mesh()) { error in
            guard case MCIError.format(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("section MESHC: chunk 0: cell") && message.contains("repeats a point"), message)
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("degenerate-\(getpid()).mci")
        XCTAssertThrowsError(try MCIWriter.write(badModel, to: url))
        badModel.meshIndex = true
        XCTAssertThrowsError(try MCIWriter.write(badModel, to: url)) { error in
            XCTAssertTrue("\(error)".contains(url.path) && "\(error)".contains("repeats a point"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path), "a mesh the decoder refuses is never written")
    }

    func testChunkedIsMuchSmallerThanZlib() throws {
        // a jittered 14³-point block (13 182 tets): the chunked coding is well below half of zlib's
        let mesh = Self.mixedMesh(n: 14, precision: .float32)
        var model = TestModels.model(.siren, mesh: mesh)
        model.meshCoding = .standard
        let chunked = try MCIDecoder(bytes: try MCIWriter.encode(model)).meshBytes
        model.meshCoding = .zlib
        let zlib = try MCIDecoder(bytes: try MCIWriter.encode(model)).meshBytes
        XCTAssertLessThan(Double(chunked), 0.5 * Double(zlib), "MESHC \(chunked) bytes, MESH \(zlib) bytes")
    }
}

/// benchmarks/mesh/run.py's entry: writes a mesh given as raw arrays with both codings and
/// reports the sizes and the encode time. Input (MCINR_MESH_BENCH_IN): u64 N, M, L, u64
/// precision (1 f32, 2 f64), then f64 points[3N], u8 types[M], i64 offsets[M + 1], i64
/// connectivity[L]. Output (MCINR_MESH_BENCH_OUT): one JSON object, and the two files
/// OUT.meshc.mci and OUT.zlib.mci. Without the variables it runs on a small mixed mesh written
/// here and checks what it reports.
final class MeshCodingBenchmarkInput: XCTestCase {
    func testWriteBothCodings() throws {
        let env = ProcessInfo.processInfo.environment
        if let input = env["MCINR_MESH_BENCH_IN"], let output = env["MCINR_MESH_BENCH_OUT"] {
            try Self.writeBothCodings(input: input, output: output)
            return
        }
        let mesh = MeshCodingTests.mixedMesh(n: 9, precision: .float32)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meshbench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let raw = MeshCodingTests.rawArrays(mesh)
        let input = dir.appendingPathComponent("in.bench").path, output = dir.appendingPathComponent("out.json").path
        try Data(raw).write(to: URL(fileURLWithPath: input))
        try Self.writeBothCodings(input: input, output: output)
        let result = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        XCTAssertEqual(result["cells"] as? Int, mesh.cellCount)
        let meshc = try XCTUnwrap(result["meshc_bytes"] as? Int), zlib = try XCTUnwrap(result["zlib_bytes"] as? Int)
        XCTAssertLessThan(meshc, zlib)
        let back = try MCIDecoder(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: output + ".meshc.mci")))).mesh()
        XCTAssertEqual(MeshCodingTests.storedBits(back), MeshCodingTests.storedBits(mesh))
    }

    static func writeBothCodings(input: String, output: String) throws {
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: input)))
        var pos = 0
        func u64() -> UInt64 { defer { pos += 8 }; return data[pos..<pos + 8].reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        let N = Int(u64()), M = Int(u64()), L = Int(u64()), precision = u64()
        func array<T>(_ n: Int, _: T.Type) -> [T] {
            defer { pos += n * MemoryLayout<T>.size }
            return data.withUnsafeBytes { raw in (0..<n).map { raw.loadUnaligned(fromByteOffset: pos + $0 * MemoryLayout<T>.size, as: T.self) } }
        }
        let points = array(3 * N, Double.self), types = array(M, UInt8.self)
        let offsets = array(M + 1, Int64.self), conn = array(L, Int64.self)
        let mesh = MCIMesh(points: points, pointPrecision: precision == 1 ? .float32 : .float64, cellTypes: types,
                           cellOffsets: offsets, connectivity: conn)
        var result: [String: Any] = ["points": N, "cells": M]
        for (name, coding) in [("meshc", MCIMeshCoding.standard), ("zlib", .zlib)] {
            var model = TestModels.model(.siren, mesh: mesh)
            model.meshCoding = coding
            let t0 = Date()
            let bytes = try MCIWriter.encode(model)
            result["\(name)_encode_s"] = Date().timeIntervalSince(t0)
            try Data(bytes).write(to: URL(fileURLWithPath: output + ".\(name).mci"))
            result["\(name)_bytes"] = try MCIDecoder(bytes: bytes, options: .init(trustLargeFiles: true)).meshBytes
        }
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        try json.write(to: URL(fileURLWithPath: output))
    }
}
