import Foundation
import INRCore
import MCIFormat
import XCTest

final class MCIFormatTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mciformat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func randomPoints(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SeededRNG(seed: seed)
        // a margin outside the bounding box: the model must also decode off the mesh
        return (0..<(3 * n)).map { _ in Double.random(in: -0.5...2.5, using: &rng) }
    }

    // MARK: - Round trip

    func testWriteReadRoundTripOfEverySection() throws {
        // MESHC (the default, format 1.3) and MESH (zlib, format 1.0: what older readers open)
        for precision in [MCIMesh.PointPrecision.float64, .float32] { for coding in [MCIMeshCoding.standard, .zlib] {
            var model = TestModels.model(.coordNetB, mesh: TestModels.tetMesh(precision: precision))
            XCTAssertEqual(model.meshCoding, .standard, "MESHC is the default")
            model.meshCoding = coding
            let url = directory.appendingPathComponent("model-\(precision)-\(coding).mci")
            try MCIWriter.write(model, to: url)
            let d = try MCIDecoder(url: url)
            XCTAssertEqual(d.formatVersion.major, 1)
            XCTAssertEqual(d.formatVersion.minor, coding == .zlib ? 0 : 5)  // MESHC and its index
            XCTAssertEqual(d.meshCodingIsChunked, coding != .zlib)
            XCTAssertEqual(d.variables, model.variables)
            XCTAssertEqual(d.componentNames, model.componentNames)
            XCTAssertEqual(d.firstComponent(ofVariable: 3), 5)
            XCTAssertEqual(d.componentIndices(ofVariable: "velocity"), [0, 1, 2])
            XCTAssertEqual(d.componentIndices(ofVariable: "temperature"), [4])
            XCTAssertNil(d.componentIndices(ofVariable: "density"))
            XCTAssertEqual(d.componentRanges, model.componentRanges)
            XCTAssertEqual(d.times, model.times)
            XCTAssertEqual(d.bounds.min, model.boundsMin)
            XCTAssertEqual(d.bounds.max, model.boundsMax)
            XCTAssertEqual(d.timeInterval, model.timeInterval)
            XCTAssertEqual(d.trainingPointCount, model.numPoints)
            XCTAssertEqual(d.trainingCellCount, model.numCells)
            XCTAssertEqual(d.rawFieldBytes, model.rawFieldBytes)
            XCTAssertEqual(d.treeNodes, model.treeNodes)
            XCTAssertEqual(d.topLevelCount, model.topLevelCount)
            XCTAssertEqual(d.networkCount, model.networks.count)
            XCTAssertEqual(d.weightBytes, UInt64(model.weightBytes))
            XCTAssertEqual(d.metadataJSON, model.metadataJSON)
            let mesh = try d.mesh()
            let expected = model.mesh!
            XCTAssertEqual(mesh.pointPrecision, precision)
            let stored = precision == .float32 ? expected.points.map { Double(Float($0)) } : expected.points
            XCTAssertEqual(mesh.points, stored)
            if precision == .float32 { XCTAssertNotEqual(mesh.points, expected.points, "float32 storage should round") }
            if coding == .zlib {  // MESH keeps the cell order
                XCTAssertEqual(mesh.cellTypes, expected.cellTypes)
                XCTAssertEqual(mesh.cellOffsets, expected.cellOffsets)
                XCTAssertEqual(mesh.connectivity, expected.connectivity)
            } else {  // MESHC: the same cells, each with its vertex order, in the chunks' order
                XCTAssertEqual(mesh.cellCount, expected.cellCount)
                XCTAssertEqual(MeshCodingTests.cells(mesh).sorted { $0.lexicographicallyPrecedes($1) },
                               MeshCodingTests.cells(expected).sorted { $0.lexicographicallyPrecedes($1) })
            }
        } }
        XCTAssertEqual(TestModels.model(.sineOnly).componentNames,
                       ["velocity_x", "velocity_y", "velocity_z", "pressure", "temperature", "tracer"])
    }

    func testWriterIsDeterministicAtomicAndLeavesNoTemporaryFiles() throws {
        let model = TestModels.model(.siren)
        XCTAssertEqual(try MCIWriter.encode(model), try MCIWriter.encode(model))
        let url = directory.appendingPathComponent("m.mci")
        try Data("old contents".utf8).write(to: url)
        try MCIWriter.write(model, to: url)
        XCTAssertEqual(try [UInt8](Data(contentsOf: url)), try MCIWriter.encode(model))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["m.mci"])

        let noMesh = TestModels.model(.siren, mesh: nil)
        try MCIWriter.write(noMesh, to: url)
        let d = try MCIDecoder(url: url)
        XCTAssertFalse(d.hasMesh)
        XCTAssertThrowsError(try d.mesh()) { XCTAssertEqual($0 as? MCIError, .noMesh("\(url.path): the file has no embedded mesh")) }
        XCTAssertThrowsError(try d.decodeMesh(time: 0)) { guard case .noMesh = $0 as? MCIError else { return XCTFail("\($0)") } }
    }

    func testWriterRejectsInvalidModelsWithoutWriting() throws {
        let url = directory.appendingPathComponent("bad.mci")
        var model = TestModels.model(.coordNet)
        model.componentRanges.removeLast()
        XCTAssertThrowsError(try MCIWriter.write(model, to: url)) { error in
            guard case .invalidModel(let m) = error as? MCIError else { return XCTFail("\(error)") }
            XCTAssertTrue(m.contains("5 component ranges for 6 components"), m)
        }
        model = TestModels.model(.coordNet)
        model.networks[2].trunk[1].tensors[0].removeLast()
        XCTAssertThrowsError(try MCIWriter.write(model, to: url)) { error in
            guard case .invalidModel(let m) = error as? MCIError else { return XCTFail("\(error)") }
            XCTAssertTrue(m.contains("module 1 of the trunk of network 2"), m)
        }
        // Structurally fine but semantically broken (leaf without network): the decoder's
        // verification rejects it before anything is written.
        model = TestModels.model(.coordNet)
        model.treeNodes[1].network = 9
        XCTAssertThrowsError(try MCIWriter.write(model, to: url)) { error in
            guard case .format(let m) = error as? MCIError else { return XCTFail("\(error)") }
            XCTAssertTrue(m.hasPrefix(url.path + ": section TREE: leaf node 1"), m)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        XCTAssertThrowsError(try MCIWriter.write(TestModels.model(.siren), to: URL(fileURLWithPath: "/nonexistent-dir/x.mci"))) {
            guard case .io(let m) = $0 as? MCIError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("/nonexistent-dir/x.mci"), m)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    // MARK: - Decoding against the reference

    func testDecodeMatchesNaiveDoubleReferenceForEveryArchitecture() throws {
        let points = randomPoints(300, seed: 11)
        var rng = SeededRNG(seed: 12)
        for arch in Architecture.allCases {
            let model = TestModels.model(arch, width: arch == .coordNetB ? 8 : 12, pe: arch == .siren ? 0 : 3, seed: 3)
            let d = try MCIDecoder(bytes: try MCIWriter.encode(model))
            let C = model.componentCount
            var worst = 0.0
            var networksUsed = Set<Int>()
            for _ in 0..<3 {
                let t = Double.random(in: 0...45, using: &rng) // also outside the stored steps
                let got = try d.decode(points: points, time: t)
                XCTAssertEqual(got.count, 300 * C)
                for i in 0..<300 {
                    let p = Array(points[(3 * i)..<(3 * i + 3)])
                    let want = Reference.decode(model, p, t)
                    networksUsed.insert(Reference.route(model, Reference.normalise(model, p, t)))
                    for c in 0..<C {
                        let range = model.componentRanges[c].upperBound - model.componentRanges[c].lowerBound
                        worst = max(worst, abs(Double(got[i * C + c]) - want[c]) / range)
                    }
                }
            }
            // float32 decoding vs double reference: within 1e-5 of each component's range
            XCTAssertLessThanOrEqual(worst, 1e-5, "\(arch)")
            XCTAssertEqual(networksUsed.count, 5, "\(arch): every leaf of the three-level tree should be reached")
            print("\(arch): max |decode − reference| / range = \(worst)")
        }
    }

    func testRoutingThroughMultiLevelTreeMatchesReference() throws {
        let model = TestModels.model(.siren, pe: 1)
        let d = try MCIDecoder(bytes: try MCIWriter.encode(model))
        let points = randomPoints(2000, seed: 5)
        var counts = [Int](repeating: 0, count: 5)
        for i in 0..<2000 {
            let p = Array(points[(3 * i)..<(3 * i + 3)])
            let want = Reference.route(model, Reference.normalise(model, p, model.timeInterval.lowerBound))
            XCTAssertEqual(d.route(p), want)
            counts[want] += 1
        }
        XCTAssertTrue(counts.allSatisfy { $0 > 0 }, "\(counts)")
        // a point at a leaf centroid goes to that leaf
        func original(_ m: MCIModel, _ q: [Double]) -> [Double] {
            (0..<3).map { i -> Double in
                let extent: Double = m.boundsMax[i] - m.boundsMin[i]
                return (q[i] + 1) / 2 * extent + m.boundsMin[i]
            }
        }
        XCTAssertEqual(d.route(original(model, model.treeNodes[2].centroid)), 1)
        // ties: equal top-level centroids go to the lower index, equal children to child0
        var tied = model
        tied.treeNodes[2].centroid = tied.treeNodes[1].centroid
        tied.treeNodes[6].centroid = tied.treeNodes[5].centroid
        let t = try MCIDecoder(bytes: try MCIWriter.encode(tied))
        XCTAssertEqual(t.route(original(tied, tied.treeNodes[1].centroid)), 0)
        XCTAssertEqual(t.route(original(tied, tied.treeNodes[5].centroid)), 3)
    }

    func testComponentSubsetsMeshDecodeAndThreadCountsAgree() throws {
        let model = TestModels.model(.coordNetB, width: 6, pe: 1)
        let d = try MCIDecoder(bytes: try MCIWriter.encode(model))
        let C = model.componentCount
        let mesh = try d.mesh()
        let viaMesh = try d.decodeMesh(time: 12.5)
        let viaPoints = try d.decode(points: mesh.points, time: 12.5)
        XCTAssertEqual(viaMesh, viaPoints)

        let many = randomPoints(10_000, seed: 9) // several 4096-point chunks
        let one = try d.decode(points: many, time: 20, threads: 1)
        let four = try d.decode(points: many, time: 20, threads: 4)
        XCTAssertEqual(one, four, "results must not depend on the thread count")

        let subset = try d.decode(points: many, time: 20, components: [5, 0, 3], threads: 2)
        for i in 0..<10_000 {
            XCTAssertEqual(subset[3 * i], one[i * C + 5])
            XCTAssertEqual(subset[3 * i + 1], one[i * C + 0])
            XCTAssertEqual(subset[3 * i + 2], one[i * C + 3])
        }
        XCTAssertThrowsError(try d.decode(points: many, time: 0, components: [6])) {
            guard case .argument = $0 as? MCIError else { return XCTFail("\($0)") }
        }
    }

    func testProgressIsReportedAndAbortStops() throws {
        let d = try MCIDecoder(bytes: try MCIWriter.encode(TestModels.model(.siren, width: 4, pe: 0)))
        let points = randomPoints(20_000, seed: 2)
        for threads in [1, 3] {
            var fractions: [Double] = []
            _ = try d.decode(points: points, time: 5, threads: threads) { fractions.append($0); return true }
            XCTAssertFalse(fractions.isEmpty)
            XCTAssertEqual(fractions.last, 1.0)
            XCTAssertEqual(fractions, fractions.sorted())
            var calls = 0
            XCTAssertThrowsError(try d.decode(points: points, time: 5, threads: threads) { _ in calls += 1; return false }) {
                guard case .aborted = $0 as? MCIError else { return XCTFail("\($0)") }
            }
            XCTAssertEqual(calls, 1)
        }
    }

    func testConcurrentDecodesOnOneModel() throws {
        let d = try MCIDecoder(bytes: try MCIWriter.encode(TestModels.model(.coordNet, width: 8, pe: 1)))
        let points = randomPoints(3000, seed: 4)
        let expected = try d.decode(points: points, time: 7)
        let results = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: 4)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            results[i] = (try? d.decode(points: points, time: 7, threads: 2)) ?? []
        }
        for r in results { XCTAssertEqual(r, expected) }
    }

    // MARK: - Hostile input

    /// A small valid file (CoordNetB-like, 5 networks, tiny mesh).
    func smallFile() throws -> [UInt8] {
        try MCIWriter.encode(TestModels.model(.coordNetB, width: 2, pe: 0))
    }

    func open(_ bytes: [UInt8]) -> Result<MCIDecoder, MCIError> {
        do { return .success(try MCIDecoder(bytes: bytes)) } catch { return .failure(error as! MCIError) }
    }

    func testTruncationAtEveryByteOffsetIsAnError() throws {
        let bytes = try smallFile()
        XCTAssertNoThrow(try MCIDecoder(bytes: bytes))
        for n in 0..<bytes.count {
            if case .success = open(Array(bytes[0..<n])) { XCTFail("prefix of \(n) of \(bytes.count) bytes opened") }
        }
    }

    func testRandomBitFlipsNeverCrash() throws {
        let bytes = try smallFile()
        var rng = SeededRNG(seed: 2024)
        var rejected = 0
        for _ in 0..<1500 {
            var b = bytes
            let i = Int.random(in: 0..<b.count, using: &rng)
            b[i] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            switch open(b) {
            case .failure(let e):
                rejected += 1
                XCTAssertTrue(e.description.hasPrefix("memory buffer: "), e.description)
            case .success(let d):
                // a flip the format tolerates (a reserved field, MESH renamed to an unknown
                // optional type, ...): must still decode
                XCTAssertNoThrow(try d.hasMesh ? d.decodeMesh(time: 10) : d.decode(points: [0, 1, 2], time: 10))
            }
        }
        XCTAssertGreaterThan(rejected, 1400)
    }

    /// Patches a little-endian integer at `offset`.
    func patch(_ b: inout [UInt8], _ offset: Int, _ value: UInt64, bytes n: Int) {
        for k in 0..<n { b[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
    }

    func tableEntry(_ b: [UInt8], type: UInt32) -> Int {
        let count = Int(b[12]) | Int(b[13]) << 8
        return (0..<count).map { 16 + 32 * $0 }.first { Int(b[$0]) == Int(type) }!
    }

    func testAbsurdLengthsWrongCRCAndVersionsAreTypedErrors() throws {
        let good = try smallFile()
        func expect(_ b: [UInt8], _ check: (MCIError) -> Bool, _ what: String) {
            switch open(b) {
            case .success: XCTFail("\(what): opened")
            case .failure(let e): XCTAssertTrue(check(e), "\(what): \(e)")
            }
        }
        var b = good
        patch(&b, tableEntry(b, type: 4) + 16, UInt64.max, bytes: 8)
        expect(b, { if case .format(let m) = $0 { return m.contains("outside") }; return false }, "absurd length")

        b = good
        patch(&b, tableEntry(b, type: 3) + 8, UInt64.max - 3, bytes: 8)
        expect(b, { if case .format = $0 { return true }; return false }, "absurd offset")

        b = good
        patch(&b, 12, 100_000, bytes: 4)
        expect(b, { if case .format(let m) = $0 { return m.contains("section count") }; return false }, "absurd count")

        b = good
        b[tableEntry(b, type: 1) + 24] ^= 0x40
        expect(b, { if case .checksum(let m) = $0 { return m.contains("META") }; return false }, "wrong CRC")

        b = good
        let payload = Int(b[tableEntry(b, type: 4) + 8]) | Int(b[tableEntry(b, type: 4) + 9]) << 8
        b[payload + 100] ^= 1
        expect(b, { if case .checksum = $0 { return true }; return false }, "corrupt payload")

        b = good
        patch(&b, 8, 2, bytes: 2)
        let minor = Int(good[10]) | Int(good[11]) << 8
        expect(b, { if case .version(let m) = $0 { return m.contains("2.\(minor)") }; return false }, "unknown major")

        b = good
        patch(&b, 10, 9, bytes: 2)
        XCTAssertNoThrow(try MCIDecoder(bytes: b), "a newer minor version must open")
    }

    /// The file with one more section (type, flags) appended.
    func withExtraSection(_ b: [UInt8], type: UInt32, required: Bool) -> [UInt8] {
        let count = Int(b[12]) | Int(b[13]) << 8
        let tableEnd = 16 + 32 * count
        let payload = Array("a section from the future".utf8)
        var out = Array(b[0..<tableEnd])
        patch(&out, 12, UInt64(count + 1), bytes: 4)
        for i in 0..<count {
            let e = 16 + 32 * i + 8
            let offset = (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[e + $1]) << (8 * UInt64($1)) }
            patch(&out, e, offset + 32, bytes: 8)
        }
        var entry = [UInt8](repeating: 0, count: 32)
        patch(&entry, 0, UInt64(type), bytes: 4)
        patch(&entry, 4, required ? 1 : 0, bytes: 4)
        patch(&entry, 8, UInt64(b.count + 32), bytes: 8)
        patch(&entry, 16, UInt64(payload.count), bytes: 8)
        let crc = payload.withUnsafeBufferPointer { UInt64(crc32Of($0)) }
        patch(&entry, 24, crc, bytes: 4)
        out += entry + b[tableEnd...] + payload
        return out
    }

    func testUnknownSections() throws {
        let good = try smallFile()
        let optional = withExtraSection(good, type: 42, required: false)
        let d = try MCIDecoder(bytes: optional)
        XCTAssertEqual(try d.decodeMesh(time: 3), try MCIDecoder(bytes: good).decodeMesh(time: 3))
        switch open(withExtraSection(good, type: 42, required: true)) {
        case .success: XCTFail("unknown required section opened")
        case .failure(let e):
            guard case .version(let m) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("unknown type 42"), m)
        }
    }

    func testOpenErrorsNameTheFile() throws {
        let url = directory.appendingPathComponent("broken.mci")
        var bytes = try smallFile()
        bytes.removeLast(10)
        try Data(bytes).write(to: url)
        XCTAssertThrowsError(try MCIDecoder(url: url)) { error in
            XCTAssertTrue("\(error)".hasPrefix(url.path + ": section "), "\(error)")
        }
        XCTAssertThrowsError(try MCIDecoder(url: directory.appendingPathComponent("missing.mci"))) {
            guard case .io(let m) = $0 as? MCIError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("missing.mci"), m)
        }
        XCTAssertThrowsError(try MCIDecoder(bytes: bytes, name: "upload.mci")) {
            XCTAssertTrue("\($0)".hasPrefix("upload.mci: "), "\($0)")
        }
    }
}

/// zlib CRC-32 written out (the test does not trust the writer's own checksum code).
func crc32Of(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}
