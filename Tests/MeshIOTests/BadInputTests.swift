import XCTest
@testable import MeshIO

/// Every kind of bad input gives a MeshIOError that names the file; nothing crashes.
final class BadInputTests: XCTestCase {
    func bytes(_ fixture: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: Fixtures.url(fixture))) }

    /// `fixture` with the first occurrence of `old` replaced by `new`.
    func patched(_ fixture: String, _ old: String, _ new: String, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        let b = try bytes(fixture), o = Array(old.utf8)
        guard let at = (0...(b.count - o.count)).first(where: { Array(b[$0..<($0 + o.count)]) == o }) else {
            XCTFail("'\(old)' not in \(fixture)", file: file, line: line)
            return b
        }
        return Array(b[..<at]) + Array(new.utf8) + Array(b[(at + o.count)...])
    }

    func index(of pattern: String, in b: [UInt8]) -> Int? {
        let o = Array(pattern.utf8)
        return (0...(b.count - o.count)).first { Array(b[$0..<($0 + o.count)]) == o }
    }

    func read(_ b: [UInt8], _ name: String = "bad.vtu") throws -> VTUFile { try VTUReader.read(bytes: b, name: name) }

    func testTruncationAtEveryOffset() throws {
        for (fixture, stride) in [("appended_raw_zlib_h32.vtu", 1), ("appended_raw_raw_h64.vtu", 3), ("binary_zlib_h64.vtu", 5),
                                  ("appended_base64_zlib_h32.vtu", 5), ("ascii.vtu", 11), ("alltypes_appended_zlib.vtu", 7),
                                  ("appended_raw_lz4_h32.vtu", 3), ("binary_lzma_h64.vtu", 7)] {
            let full = try bytes(fixture)
            let reference = try read(full)
            // Where the last array's payload ends: any cut before that must fail.
            let closing = index(of: "</AppendedData>", in: full) ?? index(of: "</VTKFile>", in: full) ?? full.count
            for cut in Swift.stride(from: 0, to: full.count, by: stride) {
                do {
                    let f = try read(Array(full[..<cut]), "cut-\(cut).vtu")
                    XCTAssertGreaterThanOrEqual(cut, closing - 8, "\(fixture) cut at \(cut) of \(full.count) read without error")
                    XCTAssertEqual(f, reference, "\(fixture) cut at \(cut)")
                } catch let e as MeshIOError {
                    XCTAssertTrue(e.description.hasPrefix("cut-\(cut).vtu: "), "\(fixture): \(e)")
                }
            }
        }
        // Cuts inside the XML head and inside the payload say "truncated".
        let full = try bytes("appended_raw_zlib_h64.vtu")
        for cut in [100, full.count / 2, full.count - 60] {
            assertMeshIOError(try read(Array(full[..<cut])), "cut at \(cut)") {
                if case .truncated = $0 { return true } else { return false }
            }
        }
        assertMeshIOError(try read([]), "empty file") { if case .malformedXML = $0 { return true } else { return false } }
    }

    func testCorruptBase64() throws {
        for fixture in ["binary_raw_h32.vtu", "appended_base64_zlib_h64.vtu"] {
            var b = try bytes(fixture)
            let marker = fixture.hasPrefix("binary") ? "format=\"binary\"" : "_"
            guard let start = index(of: fixture.hasPrefix("binary") ? marker : "<AppendedData", in: b) else { return XCTFail(fixture) }
            var at = b[start...].firstIndex(of: UInt8(ascii: fixture.hasPrefix("binary") ? ">" : "_"))! + 1
            while LightXML.isSpace(b[at]) { at += 1 }
            b[at + 6] = UInt8(ascii: "*")
            assertMeshIOError(try read(b, fixture), fixture) {
                if case let .badBase64(file, _, detail) = $0 { return file == fixture && detail.contains("invalid character") }
                return false
            }
        }
    }

    func testWrongSizes() throws {
        for fixture in ["ascii.vtu", "appended_raw_zlib_h32.vtu", "binary_raw_h64.vtu", "appended_base64_raw_h32.vtu"] {
            assertMeshIOError(try read(try patched(fixture, "NumberOfPoints=\"36\"", "NumberOfPoints=\"35\""), fixture), "\(fixture) points") {
                if case let .wrongArraySize(_, _, expected, found) = $0 { return expected == 35 * 3 || (expected == 35 && found == 36) }
                return false
            }
            assertMeshIOError(try read(try patched(fixture, "NumberOfCells=\"73\"", "NumberOfCells=\"74\""), fixture), "\(fixture) cells") {
                if case .wrongArraySize = $0 { return true } else { return false }
            }
        }
        // A vector with the wrong number of components no longer fits the point count.
        let b = try patched("ascii.vtu", "Name=\"velocity\" NumberOfComponents=\"3\"", "Name=\"velocity\" NumberOfComponents=\"2\"")
        assertMeshIOError(try read(b), "components") {
            if case let .wrongArraySize(_, array, expected, found) = $0 { return array == "velocity" && expected == 72 && found == 108 }
            return false
        }
    }

    /// Two arrays with one name (ParaView would drop one) and names with control characters
    /// (a .vtu ParaView cannot parse) are refused on input, naming the file (issue 24).
    func testRepeatedOrUnprintableArrayNamesAreRefused() throws {
        let folder = try makeScratchFolder(self)
        let url = folder.appendingPathComponent("twice.vtu")
        try Data(try patched("ascii.vtu", "Name=\"ids\"", "Name=\"scalar\"")).write(to: url)
        assertMeshIOError(try DatasetReader.read(url), "repeated name") {
            if case let .invalidName(file, name, reason) = $0 { return file == url.path && name == "scalar" && reason.contains("two arrays") }
            return false
        }
        let good = try DatasetReader.read(Fixtures.url("series.pvd"))
        var bad = good.variables
        bad[0].name = "pres\u{1B}[31msure"
        XCTAssertThrowsError(try Dataset(mesh: good.mesh, times: good.times, variables: bad)) { error in
            XCTAssertTrue("\(error)".contains("control character"), "\(error)")
        }
    }

    /// A link to a device is refused before any byte is read (it would be read until memory
    /// runs out; issue 24).
    func testNonRegularFilesAreRefused() throws {
        let link = try makeScratchFolder(self).appendingPathComponent("zero.vtu")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/dev/zero")
        assertMeshIOError(try DatasetReader.read(link), "device") {
            if case let .cannotRead(file, reason) = $0 { return file == link.path && reason == "not a regular file" }
            return false
        }
    }

    func testUnknownEncodingTypeCompressorAndFileType() throws {
        assertMeshIOError(try read(try patched("ascii.vtu", "format=\"ascii\"", "format=\"hex\"")), "format") {
            if case let .unknownEncoding(_, array, encoding) = $0 { return array == "scalar" && encoding == "hex" } else { return false }
        }
        assertMeshIOError(try read(try patched("ascii.vtu", "type=\"Float32\" Name=\"scalar\"", "type=\"Float16\" Name=\"scalar\"")), "type") {
            if case let .unknownType(_, array, type) = $0 { return array == "scalar" && type == "Float16" } else { return false }
        }
        assertMeshIOError(try read(try patched("appended_raw_zlib_h32.vtu", "vtkZLibDataCompressor", "vtkZstdDataCompressor")), "compressor") {
            if case .unsupportedCompressor(_, "vtkZstdDataCompressor") = $0 { return true } else { return false }
        }
        // zlib blocks announced as LZ4 or LZMA: the other codec refuses them (an LZ4 block has
        // no magic, but a zlib stream is not a valid LZ4 sequence of that length).
        for other in ["vtkLZ4DataCompressor", "vtkLZMADataCompressor"] {
            assertMeshIOError(try read(try patched("appended_raw_zlib_h32.vtu", "vtkZLibDataCompressor", other), "as-\(other).vtu"), other) {
                if case let .decompressionFailure(file, _, compressor, _) = $0 { return file == "as-\(other).vtu" && compressor == other }
                return false
            }
        }
        assertMeshIOError(try read(try patched("appended_raw_raw_h32.vtu", "header_type=\"UInt32\"", "header_type=\"UInt16\"")), "header") {
            if case .unknownType(_, "header_type", "UInt16") = $0 { return true } else { return false }
        }
        assertMeshIOError(try read(try patched("appended_raw_raw_h32.vtu", "encoding=\"raw\"", "encoding=\"hex\"")), "appended encoding") {
            if case .unknownEncoding(_, "AppendedData", "hex") = $0 { return true } else { return false }
        }
        assertMeshIOError(try read(try patched("ascii.vtu", "type=\"UnstructuredGrid\"", "type=\"PolyData\"")), "file type") {
            if case let .wrongFileType(_, expected, found) = $0 { return expected == "UnstructuredGrid" && found == "PolyData" } else { return false }
        }
        assertMeshIOError(try DatasetReader.read(Fixtures.url("series.pvd").deletingLastPathComponent().appendingPathComponent("ascii.vtu")
                                                    .deletingPathExtension().appendingPathExtension("pvd")), "missing pvd") {
            if case .cannotRead(_, "no such file") = $0 { return true } else { return false }
        }
        let folder = try makeScratchFolder(self)
        let notPVD = folder.appendingPathComponent("grid.pvd")
        try FileManager.default.copyItem(at: Fixtures.url("ascii.vtu"), to: notPVD)
        assertMeshIOError(try DatasetReader.read(notPVD), "vtu named .pvd") {
            if case .wrongFileType(notPVD.path, "Collection", "UnstructuredGrid") = $0 { return true } else { return false }
        }
    }

    func testMissingSections() throws {
        var b = try bytes("ascii.vtu")
        let s = String(decoding: b, as: UTF8.self)
        for section in ["Points", "Cells"] {
            guard let open = s.range(of: "<\(section)>"), let close = s.range(of: "</\(section)>") else { return XCTFail(section) }
            b = Array((String(s[..<open.lowerBound]) + String(s[close.upperBound...])).utf8)
            assertMeshIOError(try read(b), section) {
                if case .missingSection(_, section) = $0 { return true } else { return false }
            }
        }
        assertMeshIOError(try read(try patched("ascii.vtu", "Name=\"offsets\"", "Name=\"offsetz\"")), "offsets") {
            if case let .missingSection(_, section) = $0 { return section.contains("offsets") } else { return false }
        }
    }

    func testInvalidConnectivity() throws {
        // ascii connectivity starts "0 1 5 17": point 17 → 99 or -1 is out of range (N = 36),
        // → 1 makes the first tetrahedron degenerate. The compact cells of a ground truth
        // (ids converted to 32 bits as they are decoded) are refused with the same words.
        let folder = try makeScratchFolder(self)
        for (ids, what) in [("0 1 5 99", "connectivity[3] = 99 is not a point index"),
                            ("0 1 5 -1", "connectivity[3] = -1 is not a point index"),
                            ("0 1 5 1", "tetrahedron 0 repeats a point")] {
            let b = try patched("ascii.vtu", "0 1 5 17", ids)
            assertMeshIOError(try read(b), ids) {
                if case let .invalidMesh(_, detail) = $0 { return detail.contains(what) } else { return false }
            }
            let url = folder.appendingPathComponent("bad.vtu")
            try Data(b).write(to: url)
            assertMeshIOError(try VTUReader.readFile(url, mode: .compactCells), "compact \(ids)") {
                if case let .invalidMesh(file, detail) = $0 { return file == url.path && detail.contains(what) } else { return false }
            }
        }
    }

    /// For each codec, on VTK's own files: a corrupt block and absurd header words give a
    /// MeshIOError naming the file, the array and (for block errors) the compressor.
    func testCorruptBlocksAndAbsurdHeaders() throws {
        for (codec, compressor) in [("zlib", "vtkZLibDataCompressor"), ("lz4", "vtkLZ4DataCompressor"),
                                    ("lzma", "vtkLZMADataCompressor")] {
            let fixture = "appended_raw_\(codec)_h64.vtu", name = "bad-\(codec).vtu"
            let b = try bytes(fixture)
            guard let tag = index(of: "<AppendedData", in: b) else { return XCTFail("\(fixture): no appended data") }
            let data = b[tag...].firstIndex(of: UInt8(ascii: "_"))! + 1
            func isBlockError(_ e: MeshIOError, _ words: String = "") -> Bool {
                if case let .decompressionFailure(file, array, c, detail) = e {
                    return file == name && array == "scalar" && c == compressor && detail.contains(words)
                }
                return false
            }
            // First array (scalar, 144 bytes in 2 blocks of 96): header 5 words of 8 bytes, then
            // block 0. Its first two bytes set to 0xFF: a broken zlib header or .xz magic, and an
            // LZ4 literal run of more than 255 bytes in a 96-byte block.
            var corrupt = b
            corrupt[data + 40] = 0xFF; corrupt[data + 41] = 0xFF
            assertMeshIOError(try read(corrupt, name), "\(codec): corrupt block") { isBlockError($0, "block 0 of 2") }
            if codec != "lz4" {
                // Inside the block: zlib's Adler-32 and the .xz CRC-32 catch a flipped bit (raw
                // LZ4 blocks have no checksum; VTK writes none).
                let size = Int(b[data + 24]) | Int(b[data + 25]) << 8    // compressed size of block 0
                corrupt = b
                corrupt[data + 40 + size / 2] ^= 0x10
                assertMeshIOError(try read(corrupt, name), "\(codec): flipped bit") { isBlockError($0, "block 0 of 2") }
            }
            // Block size 2^30 (block 0 holds 2^30 bytes): more than the codec can expand that
            // block to, refused before anything is allocated from the claim.
            corrupt = b
            corrupt[data + 8] = 0; corrupt[data + 11] = 0x40
            assertMeshIOError(try read(corrupt, name), "\(codec): block size claim") { isBlockError($0, "header claims") }
            // nblocks = 2^60: rejected before allocating.
            corrupt = b
            corrupt[data + 7] = 0x10
            assertMeshIOError(try read(corrupt, name), "\(codec): absurd nblocks") {
                if case let .truncated(file, detail) = $0 { return file == name && detail.contains("scalar") } else { return false }
            }
        }
    }

    /// Deterministic random mutations (overwrites, digits, insertions, cuts) of every fixture:
    /// each read either succeeds or throws a MeshIOError, never crashes.
    func testRandomMutationsNeverCrash() throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33) % max(1, n)
        }
        let specials = Array("0123456789\"<>/_= ".utf8)
        for fixture in Fixtures.variantNames + ["points_f64.vtu", "alltypes_ascii.vtu", "alltypes_appended_zlib.vtu"] {
            let original = try bytes(fixture)
            for _ in 0..<120 {
                var m = original
                for _ in 0...random(3) {
                    switch random(4) {
                    case 0: m[random(m.count)] = UInt8(random(256))
                    case 1: m[random(m.count)] = specials[random(specials.count)]
                    case 2: m.insert(UInt8(ascii: "9"), at: random(m.count))
                    default: m = Array(m[..<max(1, random(m.count))])
                    }
                }
                do { _ = try read(m, fixture) } catch is MeshIOError {} catch { XCTFail("\(fixture): not a MeshIOError: \(error)") }
            }
        }
    }

    func testSeriesErrors() throws {
        let folder = try makeScratchFolder(self)
        // A .pvd that names a missing file.
        let pvd = folder.appendingPathComponent("missing.pvd")
        try PVDWriter.write(entries: [(0, "gone.vtu")], to: pvd)
        assertMeshIOError(try DatasetReader.read(pvd), "missing step") {
            if case .missingReferencedFile(pvd.path, "gone.vtu") = $0 { return true } else { return false }
        }
        let empty = folder.appendingPathComponent("empty.pvd")
        try PVDWriter.write(entries: [], to: empty)
        assertMeshIOError(try DatasetReader.read(empty), "empty") { if case .emptySeries = $0 { return true } else { return false } }

        // Steps that disagree with the first one, each named in the error.
        let first = try VTUReader.read(Fixtures.url("ascii.vtu"))
        let good = Fixtures.url("ascii.vtu")
        var moved = first.mesh
        moved.points[4] += 0.5
        let movedURL = folder.appendingPathComponent("moved.vtu")
        try VTUWriter().write(mesh: moved, pointArrays: first.pointArrays, cellArrays: first.cellArrays, to: movedURL)
        var fewer = first.mesh
        fewer.cellTypes.removeLast(); fewer.offsets.removeLast(); fewer.connectivity.removeLast(5)
        let fewerURL = folder.appendingPathComponent("fewer.vtu")
        try VTUWriter().write(mesh: fewer, pointArrays: first.pointArrays, to: fewerURL)
        let otherArraysURL = folder.appendingPathComponent("arrays.vtu")
        try VTUWriter().write(mesh: first.mesh, pointArrays: Array(first.pointArrays.dropLast()), cellArrays: first.cellArrays, to: otherArraysURL)
        for (url, words) in [(movedURL, "coordinates"), (fewerURL, "72 cells"), (otherArraysURL, "point arrays")] {
            assertMeshIOError(try DatasetReader.readSeries([good, url]), url.lastPathComponent) {
                if case let .inconsistentStep(file, detail) = $0 { return file == url.path && detail.contains(words) } else { return false }
            }
        }
        // A different point count.
        let small = Mesh.tetrahedra(points: [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], tets: [0, 1, 2, 3])
        let smallURL = folder.appendingPathComponent("small.vtu")
        try VTUWriter().write(mesh: small, pointArrays: [], to: smallURL)
        assertMeshIOError(try DatasetReader.readSeries([good, smallURL]), "points") {
            if case let .inconsistentStep(file, detail) = $0 { return file == smallURL.path && detail.contains("4 points") } else { return false }
        }
    }
}

/// One cell rule (#24), for what train reads and export writes: the .mci reader's table of
/// point counts per VTK type, and no degenerate tetrahedra.
final class CellRuleTests: XCTestCase {
    func mesh(types: [UInt8], cells: [[Int]]) -> Mesh {
        var offsets = [0]
        for c in cells { offsets.append(offsets.last! + c.count) }
        return Mesh(points: [Double](repeating: 0, count: 3 * 20), cellTypes: types, offsets: offsets,
                    connectivity: cells.flatMap { $0 })
    }

    func testCellRule() throws {
        XCTAssertNoThrow(try mesh(types: [10, 14, 7], cells: [[0, 1, 2, 3], [0, 1, 2, 3, 4], [5, 6, 7, 8]]).validate())
        for (types, cells, what) in [([UInt8(10)], [[0, 1, 2]], "3 points"),
                                     ([10], [[0, 1, 2, 3, 4]], "5 points"),
                                     ([12], [[0, 1, 2, 3]], "4 points"),
                                     ([7], [[0, 1]], "at least 3"),
                                     ([10], [[0, 1, 2, 1]], "degenerate"),
                                     ([33], [[0, 1, 2]], "does not support")] {
            XCTAssertThrowsError(try mesh(types: types, cells: cells).validate(file: "m.vtu"), what) { e in
                XCTAssertTrue("\(e)".hasPrefix("m.vtu: ") && "\(e)".contains(what), "\(e)")
            }
        }
        // The writer refuses such a mesh too: export never writes a .vtu ParaView's filters crash on.
        XCTAssertThrowsError(try VTUWriter().encode(mesh: mesh(types: [10], cells: [[0, 1, 2]]), pointArrays: []))
    }
}
