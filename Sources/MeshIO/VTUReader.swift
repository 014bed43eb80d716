import Foundation

/// One named array of a single file / time step, values converted to Float.
public struct NamedArray: Equatable, Sendable {
    public var name: String
    public var components: Int
    public var values: [Float]
    public var sourceType: VTKScalarType?

    public init(name: String, components: Int, values: [Float], sourceType: VTKScalarType? = nil) {
        self.name = name
        self.components = components
        self.values = values
        self.sourceType = sourceType
    }
}

/// The contents of one `.vtu` file.
public struct VTUFile: Equatable, Sendable {
    public var mesh: Mesh
    public var pointArrays: [NamedArray]
    public var cellArrays: [NamedArray]
    /// Numeric FieldData arrays (e.g. `TimeValue`), as Double.
    public var fieldData: [String: [Double]]
}

/// A file mapped read-only, parsed in place: reading a step never holds its text and a copy
/// of it, and `releasePages` gives back what was touched, so that a step costs its decoded
/// arrays plus the array being decoded.
final class MappedFile {
    let url: URL
    let buffer: UnsafeBufferPointer<UInt8>

    init(_ url: URL) throws {
        self.url = url
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else {
            let reason = errno == ENOENT ? "no such file" : String(cString: strerror(errno))
            throw MeshIOError.cannotRead(file: url.path, reason: reason)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw MeshIOError.cannotRead(file: url.path, reason: String(cString: strerror(errno))) }
        // Only regular files: a link to /dev/zero or a FIFO would be read until memory runs out.
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw MeshIOError.cannotRead(file: url.path, reason: "not a regular file") }
        let size = Int(info.st_size)
        guard size > 0 else { buffer = UnsafeBufferPointer(start: nil, count: 0); return }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw MeshIOError.cannotRead(file: url.path, reason: "cannot map it: \(String(cString: strerror(errno)))")
        }
        _ = madvise(base, size, MADV_SEQUENTIAL)
        buffer = UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: size)
    }

    /// Drops the pages read so far from this process (they are clean: touching them again
    /// re-reads them from the page cache).
    func releasePages() {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base), buffer.count, MADV_DONTNEED)
    }

    deinit {
        if let base = buffer.baseAddress, buffer.count > 0 { munmap(UnsafeMutableRawPointer(mutating: base), buffer.count) }
    }
}

/// How much of a file to decode.
enum ReadMode {
    /// Mesh and arrays.
    case full
    /// Arrays, and the points only counted and checksummed (later steps of a series: they
    /// must hold the first step's mesh, which is not decoded again).
    case arrays
    /// Field data only (a series' `TimeValue`s, read before the steps).
    case fieldData
    /// Points and arrays; the cells only counted (a process that trains on the points and
    /// leaves the cells to another: MPI ranks other than 0).
    case points
    /// Points and arrays; the cells as `CompactCells` (a ground truth compared with a model).
    case compactCells
}

/// One step as a series reader needs it: without `.full` the mesh's arrays stay empty, and
/// the counts and the checksum prove it is the first step's mesh.
struct StepRead {
    var file: VTUFile
    var pointCount: Int
    var cellCount: Int
    var pointChecksum: UInt64
    /// The cells with `.compactCells` (the mesh then holds the points only).
    var compactCells: CompactCells? = nil
}

/// Reader for VTK XML `UnstructuredGrid` files: ascii, binary (inline base64), appended raw and
/// appended base64; uncompressed or with vtkZLibDataCompressor, vtkLZ4DataCompressor or
/// vtkLZMADataCompressor; UInt32 or UInt64 headers.
public enum VTUReader {
    public static func read(_ url: URL) throws -> VTUFile {
        try readFile(url, mode: .full).file
    }

    static func readFile(_ url: URL, mode: ReadMode) throws -> StepRead {
        let mapped = try MappedFile(url)
        var parser = Parser(bytes: mapped.buffer, file: url.path, mappedFile: mapped)
        return try withExtendedLifetime(mapped) { try parser.parse(mode: mode) }
    }

    /// Parses a file already in memory (`name` is used in error messages).
    public static func read(bytes: [UInt8], name: String) throws -> VTUFile {
        try bytes.withUnsafeBufferPointer { buffer in
            var parser = Parser(bytes: buffer, file: name, mappedFile: nil)
            return try parser.parse(mode: .full).file
        }
    }
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    let file: String
    /// The mapping `bytes` come from (nil: heap memory), whose pages are given back after
    /// each array.
    let mappedFile: MappedFile?
    var mapped: Bool { mappedFile != nil }
    var layout = BinaryLayout(headerWordSize: 4, codec: nil, bigEndian: false)
    var appendedStart: Int?          // first byte after the `_` marker
    var appendedBase64 = false

    init(bytes: UnsafeBufferPointer<UInt8>, file: String, mappedFile: MappedFile?) {
        self.bytes = bytes
        self.file = file
        self.mappedFile = mappedFile
    }

    func release() { mappedFile?.releasePages() }

    func intAttribute(_ node: XMLNode, _ key: String, default value: Int? = nil) throws -> Int {
        guard let s = node.attributes[key] else {
            if let v = value { return v }
            throw MeshIOError.malformedXML(file: file, detail: "<\(node.name)> has no \(key) attribute")
        }
        guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v >= 0 else {
            throw MeshIOError.malformedXML(file: file, detail: "<\(node.name)> \(key)=\"\(s)\" is not a non-negative integer")
        }
        return v
    }

    mutating func parse(mode: ReadMode) throws -> StepRead {
        var headEnd = bytes.count
        if let tag = find("<AppendedData", from: 0) {
            headEnd = tag
            guard let gt = bytes[tag...].firstIndex(of: UInt8(ascii: ">")) else {
                throw MeshIOError.truncated(file: file, detail: "the file ends inside <AppendedData>")
            }
            let node = try LightXML.parse(bytes, range: tag..<(gt + 1), file: file)
            let encoding = node.attributes["encoding"] ?? "raw"
            switch encoding {
            case "raw": appendedBase64 = false
            case "base64": appendedBase64 = true
            default: throw MeshIOError.unknownEncoding(file: file, array: "AppendedData", encoding: encoding)
            }
            var k = gt + 1
            while k < bytes.count && LightXML.isSpace(bytes[k]) { k += 1 }
            guard k < bytes.count else { throw MeshIOError.truncated(file: file, detail: "the file ends before the appended data") }
            guard bytes[k] == UInt8(ascii: "_") else {
                throw MeshIOError.malformedXML(file: file, detail: "appended data does not start with '_'")
            }
            appendedStart = k + 1
        }
        let root = try LightXML.parse(bytes, range: 0..<headEnd, file: file)
        guard root.name == "VTKFile" else { throw MeshIOError.wrongFileType(file: file, expected: "UnstructuredGrid", found: root.name) }
        let type = root.attributes["type"] ?? ""
        guard type == "UnstructuredGrid" else { throw MeshIOError.wrongFileType(file: file, expected: "UnstructuredGrid", found: type) }
        if appendedStart == nil && !root.closed {
            throw MeshIOError.truncated(file: file, detail: "the XML ends before </VTKFile>")
        }
        switch root.attributes["header_type"] ?? "UInt32" {
        case "UInt32": layout.headerWordSize = 4
        case "UInt64": layout.headerWordSize = 8
        case let other: throw MeshIOError.unknownType(file: file, array: "header_type", type: other)
        }
        let compressor = root.attributes["compressor"] ?? ""
        if compressor.isEmpty {
            layout.codec = nil
        } else if let codec = BlockCodec(rawValue: compressor) {
            layout.codec = codec
        } else {
            throw MeshIOError.unsupportedCompressor(file: file, compressor: compressor)
        }
        switch root.attributes["byte_order"] ?? "LittleEndian" {
        case "LittleEndian": layout.bigEndian = false
        case "BigEndian": layout.bigEndian = true
        case let other: throw MeshIOError.malformedXML(file: file, detail: "unknown byte_order '\(other)'")
        }
        guard let grid = root.child("UnstructuredGrid") else {
            throw MeshIOError.missingSection(file: file, section: "UnstructuredGrid")
        }
        let pieces = grid.children("Piece")
        guard let piece = pieces.first else { throw MeshIOError.missingSection(file: file, section: "Piece") }
        guard pieces.count == 1 else {
            throw MeshIOError.invalidMesh(file: file, detail: "\(pieces.count) pieces; only single-piece files are supported")
        }
        let n = try intAttribute(piece, "NumberOfPoints")
        let m = try intAttribute(piece, "NumberOfCells")

        // Field data (TimeValue, …): numeric arrays only, others (strings) are skipped.
        var fieldData: [String: [Double]] = [:]
        for fd in grid.children("FieldData") + piece.children("FieldData") {
            for a in fd.children("DataArray") {
                guard let t = a.attributes["type"], VTKScalarType(vtkName: t) != nil else { continue }
                let name = a.attributes["Name"] ?? "FieldData"
                var expected: Int?
                if a.attributes["NumberOfTuples"] != nil {
                    let (e, o) = try intAttribute(a, "NumberOfTuples").multipliedReportingOverflow(by: try components(a))
                    expected = o ? nil : e
                }
                fieldData[name] = try decode(a, name: name, expectedCount: expected).doubles()
            }
        }

        if mode == .fieldData {
            let empty = Mesh(points: [], cellTypes: [], offsets: [0], connectivity: [])
            return StepRead(file: VTUFile(mesh: empty, pointArrays: [], cellArrays: [], fieldData: fieldData),
                            pointCount: n, cellCount: m, pointChecksum: 0)
        }

        // Points.
        guard let pointsNode = piece.child("Points") else { throw MeshIOError.missingSection(file: file, section: "Points") }
        guard let pointsArray = pointsNode.child("DataArray") else {
            throw MeshIOError.missingSection(file: file, section: "Points><DataArray")
        }
        let pointsName = pointsArray.attributes["Name"] ?? "Points"
        guard try components(pointsArray) == 3 else {
            throw MeshIOError.wrongArraySize(file: file, array: pointsName, expected: 3, found: try components(pointsArray))
        }
        let pointsRaw = try decode(pointsArray, name: pointsName, expectedCount: try product(n, 3, pointsName))
        let precision: PointPrecision = pointsRaw.type == .float32 ? .float32 : .float64

        // Cells.
        guard let cellsNode = piece.child("Cells") else { throw MeshIOError.missingSection(file: file, section: "Cells") }
        var mesh = Mesh(points: try pointsRaw.doubles(), cellTypes: [], offsets: [0], connectivity: [], pointPrecision: precision)
        let checksum = mesh.pointChecksum
        var compactCells: CompactCells?
        if mode == .full {
            mesh = try readCells(cellsNode, pointCount: n, cellCount: m, points: mesh.points, precision: precision)
        } else if mode == .compactCells {
            compactCells = try readCompactCells(cellsNode, pointCount: n, cellCount: m)
        } else if mode == .arrays {
            mesh.points = []
        }

        // Point and cell data.
        func arrays(_ section: String, count: Int) throws -> [NamedArray] {
            guard let node = piece.child(section) else { return [] }
            return try node.children("DataArray").enumerated().map { index, a in
                let name = a.attributes["Name"] ?? "\(section)_\(index)"
                let comps = try components(a)
                let raw = try decode(a, name: name, expectedCount: try product(count, comps, name))
                return NamedArray(name: name, components: comps, values: try raw.floats(), sourceType: raw.type)
            }
        }
        let pointArrays = try arrays("PointData", count: n)
        let cellArrays = try arrays("CellData", count: m)
        return StepRead(file: VTUFile(mesh: mesh, pointArrays: pointArrays, cellArrays: cellArrays, fieldData: fieldData),
                        pointCount: n, cellCount: m, pointChecksum: checksum, compactCells: compactCells)
    }

    func readCells(_ cells: XMLNode, pointCount n: Int, cellCount m: Int, points: [Double],
                   precision: PointPrecision) throws -> Mesh {
        let (endOffsets, types) = try cellOffsetsAndTypes(cells, cellCount: m)
        guard let connectivity = try decode(try cellArray(cells, "connectivity"), name: "connectivity",
                                            expectedCount: endOffsets.last ?? 0).ints() else {
            throw MeshIOError.unknownType(file: file, array: "connectivity", type: "non-integer or too large")
        }
        var offsets = [Int]()
        offsets.reserveCapacity(m + 1)
        offsets.append(0)
        offsets.append(contentsOf: endOffsets)
        let mesh = Mesh(points: points, cellTypes: types, offsets: offsets, connectivity: connectivity, pointPrecision: precision)
        try mesh.validate(file: file)
        return mesh
    }

    /// The cells as `CompactCells`: the ids are converted to 32 bits as they are decoded, so
    /// the 64-bit connectivity is never held; checked as `readCells` checks them.
    func readCompactCells(_ cells: XMLNode, pointCount n: Int, cellCount m: Int) throws -> CompactCells {
        try CompactCells.requireAddressable(pointCount: n, file: file)
        let (endOffsets, types) = try cellOffsetsAndTypes(cells, cellCount: m)
        guard let (ids, bad) = try decode(try cellArray(cells, "connectivity"), name: "connectivity",
                                          expectedCount: endOffsets.last ?? 0).pointIndices(below: n) else {
            throw MeshIOError.unknownType(file: file, array: "connectivity", type: "non-integer")
        }
        if let bad {
            throw MeshIOError.invalidMesh(file: file, detail: "connectivity[\(bad.index)] = \(bad.value) is not a point index (N = \(n))")
        }
        return try CompactCells.validated(pointIDs: ids, endOffsets: endOffsets, cellTypes: types, file: file)
    }

    func cellArray(_ cells: XMLNode, _ name: String) throws -> XMLNode {
        guard let a = cells.children("DataArray").first(where: { $0.attributes["Name"] == name }) else {
            throw MeshIOError.missingSection(file: file, section: "Cells><DataArray Name=\"\(name)\"")
        }
        return a
    }

    /// The cells' end offsets (VTK's, without the leading 0; checked not to decrease) and types.
    func cellOffsetsAndTypes(_ cells: XMLNode, cellCount m: Int) throws -> (endOffsets: [Int], types: [UInt8]) {
        guard let endOffsets = try decode(try cellArray(cells, "offsets"), name: "offsets", expectedCount: m).ints() else {
            throw MeshIOError.unknownType(file: file, array: "offsets", type: "non-integer or too large")
        }
        var previous = 0
        for (c, o) in endOffsets.enumerated() {
            guard o >= previous else {
                throw MeshIOError.invalidMesh(file: file, detail: "offsets decrease at cell \(c) (\(o) after \(previous))")
            }
            previous = o
        }
        guard let typeInts = try decode(try cellArray(cells, "types"), name: "types", expectedCount: m).ints() else {
            throw MeshIOError.unknownType(file: file, array: "types", type: "non-integer")
        }
        var types = [UInt8](repeating: 0, count: m)
        for (c, t) in typeInts.enumerated() {
            guard t > 0 && t < 256 && t != 42 else {
                throw MeshIOError.invalidMesh(file: file, detail: "cell \(c) has type \(t)\(t == 42 ? " (polyhedron, not supported)" : "")")
            }
            types[c] = UInt8(t)
        }
        return (endOffsets, types)
    }

    func components(_ a: XMLNode) throws -> Int {
        let c = try intAttribute(a, "NumberOfComponents", default: 1)
        guard c >= 1 && c <= 1 << 16 else {
            throw MeshIOError.malformedXML(file: file, detail: "array '\(a.attributes["Name"] ?? "?")': NumberOfComponents=\(c)")
        }
        return c
    }

    func product(_ a: Int, _ b: Int, _ name: String) throws -> Int {
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw MeshIOError.malformedXML(file: file, detail: "array '\(name)': size overflows") }
        return p
    }

    func find(_ pattern: String, from: Int) -> Int? {
        let p = Array(pattern.utf8)
        guard let base = bytes.baseAddress, bytes.count >= p.count + from else { return nil }
        var i = from
        while i + p.count <= bytes.count {
            guard let hit = memchr(base + i, Int32(p[0]), bytes.count - i) else { return nil }
            let j = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            if j + p.count <= bytes.count && memcmp(base + j, p, p.count) == 0 { return j }
            i = j + 1
        }
        return nil
    }

    /// Decodes one DataArray; `expectedCount` (values, not bytes) is checked where given.
    func decode(_ a: XMLNode, name: String, expectedCount: Int?) throws -> RawArray {
        let typeName = a.attributes["type"] ?? ""
        guard let type = VTKScalarType(vtkName: typeName) else {
            throw MeshIOError.unknownType(file: file, array: name, type: typeName)
        }
        guard a.closed else { throw MeshIOError.truncated(file: file, detail: "the XML ends inside array '\(name)'") }
        let format = a.attributes["format"] ?? "ascii"
        let expectedBytes = try expectedCount.map { try product($0, type.size, name) }
        let raw: RawArray
        switch format {
        case "ascii":
            raw = try AsciiDecoder.decode(bytes, ranges: a.textRanges, type: type, file: file, array: name)
        case "binary":
            if a.textRanges.count == 1, let r = a.textRanges.first {
                var source = Base64ByteSource(text: bytes, start: r.lowerBound, end: r.upperBound, file: file, array: name)
                raw = try BinaryDecoder.decode(&source, type: type, layout: layout, expectedBytes: expectedBytes, file: file, array: name)
            } else {
                let text = a.textRanges.flatMap { bytes[$0] }
                raw = try text.withUnsafeBufferPointer { text in
                    var source = Base64ByteSource(text: text, start: 0, end: text.count, file: file, array: name)
                    return try BinaryDecoder.decode(&source, type: type, layout: layout, expectedBytes: expectedBytes, file: file, array: name)
                }
            }
        case "appended":
            guard let base = appendedStart else {
                throw MeshIOError.missingSection(file: file, section: "AppendedData")
            }
            let offset = try intAttribute(a, "offset")
            let (position, overflow) = base.addingReportingOverflow(offset)
            guard !overflow, position <= bytes.count else {
                throw MeshIOError.truncated(file: file, detail: "array '\(name)' starts at appended offset \(offset), past the end of the file")
            }
            if appendedBase64 {
                var source = Base64ByteSource(text: bytes, start: position, end: bytes.count, file: file, array: name)
                raw = try BinaryDecoder.decode(&source, type: type, layout: layout, expectedBytes: expectedBytes, file: file, array: name)
            } else {
                var source = RawByteSource(bytes: bytes, position: position, file: file, array: name, mappedFile: mapped)
                raw = try BinaryDecoder.decode(&source, type: type, layout: layout, expectedBytes: expectedBytes, file: file, array: name)
            }
        default:
            throw MeshIOError.unknownEncoding(file: file, array: name, encoding: format)
        }
        release()
        if let e = expectedCount, raw.count != e {
            throw MeshIOError.wrongArraySize(file: file, array: name, expected: e, found: raw.count)
        }
        return raw
    }
}
