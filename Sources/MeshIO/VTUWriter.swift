import CZlib
import Foundation

/// Writes files atomically: a temporary file in the same folder, fsynced, then rename(2), so
/// that an interrupted run never leaves a half-written file under the final name. (A series
/// of files that must change together: `SeriesTransaction`.)
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let tmp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try SeriesTransaction.writeSynced(data, to: tmp, naming: url)
        if rename(tmp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp.path)
            throw MeshIOError.writeFailed(file: url.path, reason: "rename: \(reason)")
        }
    }
}

/// A point or cell array whose values are produced when the writer reaches it, so that the
/// arrays of a step need not all be in memory at once.
public struct PendingArray: Sendable {
    public var name: String
    public var components: Int
    public var sourceType: VTKScalarType?
    public var values: @Sendable () throws -> [Float]

    public init(name: String, components: Int, sourceType: VTKScalarType? = nil, values: @escaping @Sendable () throws -> [Float]) {
        self.name = name
        self.components = components
        self.sourceType = sourceType
        self.values = values
    }

    public init(_ array: NamedArray) {
        self.init(name: array.name, components: array.components, sourceType: array.sourceType) { array.values }
    }
}

/// Writes VTK XML UnstructuredGrid files: appended raw data, UInt64 headers, optional zlib
/// blocks (VTK's format), Float32 point/cell data, points in the mesh's precision, Int64
/// connectivity/offsets, UInt8 types.
public struct VTUWriter: Sendable {
    public var compress: Bool
    public var compressionLevel: Int32
    /// Uncompressed bytes per zlib block (VTK's default is 32 KiB).
    public var blockSize: Int
    /// Threads that compress an array's blocks (blocks are independent: the same bytes for any count).
    public var threads: Int

    public init(compress: Bool = true, compressionLevel: Int32 = 6, blockSize: Int = 32768, threads: Int = 1) {
        self.compress = compress
        self.compressionLevel = compressionLevel
        self.blockSize = max(8, blockSize)
        self.threads = max(1, threads)
    }

    /// Writes one file. `fieldData` holds numeric FieldData arrays written as Float64 (e.g. `TimeValue`).
    public func write(mesh: Mesh, pointArrays: [NamedArray], cellArrays: [NamedArray] = [],
                      fieldData: [(name: String, values: [Double])] = [], to url: URL) throws {
        try AtomicFile.write(try encode(mesh: mesh, pointArrays: pointArrays, cellArrays: cellArrays,
                                        fieldData: fieldData, name: url.path), to: url)
    }

    /// A mesh's points and cells encoded once (validated, compressed as this writer does), for
    /// the steps of a series: every step's file repeats them, byte for byte.
    public struct EncodedMesh: @unchecked Sendable {
        fileprivate let pointCount: Int, cellCount: Int
        fileprivate let pointType: String
        fileprivate let points: FilePiece, connectivity: FilePiece, offsets: FilePiece, types: FilePiece
    }

    /// `spool`: where the compressed blocks go (nil: memory).
    public func encodeMesh(_ mesh: Mesh, name: String = "vtu", spool: Spool? = nil) throws -> EncodedMesh {
        func park(_ parts: [Data]) throws -> FilePiece { try FilePiece(parts, spool: spool) }
        try mesh.validate(file: name)
        // Int64 little-endian is Int's own layout here: the index arrays are compressed from
        // their memory, without a copy (they are most of a mesh of hundreds of MB)
        precondition(MemoryLayout<Int>.size == 8 && 1.littleEndian == 1, "a 64-bit little-endian Int")
        let points = mesh.pointPrecision == .float32
            ? try mesh.points.map { Float($0) }.withUnsafeBytes { try encodeBlock($0, name: name) }
            : try mesh.points.withUnsafeBytes { try encodeBlock($0, name: name) }
        return EncodedMesh(pointCount: mesh.pointCount, cellCount: mesh.cellCount,
                           pointType: mesh.pointPrecision == .float32 ? "Float32" : "Float64",
                           points: try park(points),
                           connectivity: try park(try mesh.connectivity.withUnsafeBytes { try encodeBlock($0, name: name) }),
                           offsets: try park(try mesh.offsets.dropFirst().withUnsafeBytes { try encodeBlock($0, name: name) }),
                           types: try park(try mesh.cellTypes.withUnsafeBytes { try encodeBlock($0, name: name) }))
    }

    /// The bytes of the file (`name` is used in error messages).
    public func encode(mesh: Mesh, pointArrays: [NamedArray], cellArrays: [NamedArray] = [],
                       fieldData: [(name: String, values: [Double])] = [], name: String = "vtu") throws -> Data {
        try encode(mesh: try encodeMesh(mesh, name: name), pointArrays: pointArrays, cellArrays: cellArrays,
                   fieldData: fieldData, name: name)
    }

    /// The same with the mesh already encoded (by this writer).
    public func encode(mesh: EncodedMesh, pointArrays: [NamedArray], cellArrays: [NamedArray] = [],
                       fieldData: [(name: String, values: [Double])] = [], name: String = "vtu") throws -> Data {
        let pieces = try encodePieces(mesh: mesh, pointArrays: pointArrays, cellArrays: cellArrays,
                                      fieldData: fieldData, name: name)
        var out = Data()
        out.reserveCapacity(pieces.reduce(0) { $0 + $1.count })
        for piece in pieces { out.append(try piece.data()) }
        return out
    }

    /// The file as consecutive pieces (head, each array's block, tail), the mesh's blocks shared
    /// with `mesh`, not copied: what a series writer writes out without joining them.
    public func encodePieces(mesh: EncodedMesh, pointArrays: [NamedArray], cellArrays: [NamedArray] = [],
                             fieldData: [(name: String, values: [Double])] = [], name: String = "vtu") throws -> [FilePiece] {
        try encodePieces(mesh: mesh, pointArrays: pointArrays.map(PendingArray.init), cellArrays: cellArrays.map(PendingArray.init),
                         fieldData: fieldData, name: name)
    }

    /// The same with arrays produced one at a time, as the writer reaches them; with a `spool`
    /// each array's compressed blocks go there before the next is produced, so that a step's
    /// output never lies in memory whole.
    public func encodePieces(mesh: EncodedMesh, pointArrays: [PendingArray], cellArrays: [PendingArray] = [],
                             fieldData: [(name: String, values: [Double])] = [], name: String = "vtu",
                             spool: Spool? = nil) throws -> [FilePiece] {
        var appended = AppendedArrays(writer: self, name: name, spool: spool)
        func dataArray(_ type: String, _ arrayName: String, components: Int, extra: String = "", _ payload: Data) throws -> String {
            try appended.dataArray(type, arrayName, components: components, extra: extra, payload)
        }
        var xml = "<?xml version=\"1.0\"?>\n"
        xml += "<VTKFile type=\"UnstructuredGrid\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt64\""
        xml += compress ? " compressor=\"vtkZLibDataCompressor\">\n" : ">\n"
        xml += "  <UnstructuredGrid>\n"
        if !fieldData.isEmpty {
            xml += "    <FieldData>\n"
            for f in fieldData {
                xml += "      " + (try dataArray("Float64", f.name, components: 1, extra: " NumberOfTuples=\"\(f.values.count)\"", bytes(f.values)))
            }
            xml += "    </FieldData>\n"
        }
        xml += "    <Piece NumberOfPoints=\"\(mesh.pointCount)\" NumberOfCells=\"\(mesh.cellCount)\">\n"
        xml += "      <PointData>\n"
        // Float32, or Int32 for an array that says so and whose values are all Int32 (ids)
        func typed(_ a: PendingArray, count: Int) throws -> String {
            let values = try a.values()
            guard a.components >= 1, values.count == count * a.components else {
                throw MeshIOError.writeFailed(file: name, reason: "array '\(a.name)' has \(values.count) values, expected \(count) × \(a.components)")
            }
            if a.sourceType == .int32 {
                let ints = values.compactMap { Int32(exactly: $0) }
                if ints.count == values.count { return try dataArray("Int32", a.name, components: a.components, bytes(ints)) }
            }
            // compressed from the array's memory: no copy of a step-sized array
            return try values.withUnsafeBytes { try appended.dataArray("Float32", a.name, components: a.components, raw: $0) }
        }
        for a in pointArrays { xml += "        " + (try typed(a, count: mesh.pointCount)) }
        xml += "      </PointData>\n      <CellData>\n"
        for a in cellArrays { xml += "        " + (try typed(a, count: mesh.cellCount)) }
        xml += "      </CellData>\n      <Points>\n        "
        xml += appended.encodedArray(mesh.pointType, "Points", components: 3, mesh.points)
        xml += "      </Points>\n      <Cells>\n"
        xml += "        " + appended.encodedArray("Int64", "connectivity", components: 1, mesh.connectivity)
        xml += "        " + appended.encodedArray("Int64", "offsets", components: 1, mesh.offsets)
        xml += "        " + appended.encodedArray("UInt8", "types", components: 1, mesh.types)
        xml += "      </Cells>\n    </Piece>\n  </UnstructuredGrid>\n  <AppendedData encoding=\"raw\">\n   _"
        return appended.pieces(xml: xml)
    }

    /// The bytes of a `.vti` (ImageData) file: `dimensions` points per axis (x fastest),
    /// Float32 point arrays of dimensions.x·y·z tuples each.
    public func encodeImage(dimensions: (Int, Int, Int), origin: [Double], spacing: [Double],
                            pointArrays: [NamedArray], fieldData: [(name: String, values: [Double])] = [],
                            name: String = "vti") throws -> Data {
        let (nx, ny, nz) = dimensions
        guard nx >= 1, ny >= 1, nz >= 1, origin.count == 3, spacing.count == 3 else {
            throw MeshIOError.writeFailed(file: name, reason: "invalid image dimensions \(nx)×\(ny)×\(nz)")
        }
        var appended = AppendedArrays(writer: self, name: name)
        let extent = "0 \(nx - 1) 0 \(ny - 1) 0 \(nz - 1)"
        var xml = "<?xml version=\"1.0\"?>\n"
        xml += "<VTKFile type=\"ImageData\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt64\""
        xml += compress ? " compressor=\"vtkZLibDataCompressor\">\n" : ">\n"
        xml += "  <ImageData WholeExtent=\"\(extent)\" Origin=\"\(origin.map { "\($0)" }.joined(separator: " "))\" Spacing=\"\(spacing.map { "\($0)" }.joined(separator: " "))\">\n"
        if !fieldData.isEmpty {
            xml += "    <FieldData>\n"
            for f in fieldData {
                xml += "      " + (try appended.dataArray("Float64", f.name, components: 1, extra: " NumberOfTuples=\"\(f.values.count)\"", bytes(f.values)))
            }
            xml += "    </FieldData>\n"
        }
        xml += "    <Piece Extent=\"\(extent)\">\n      <PointData>\n"
        for a in pointArrays {
            guard a.components >= 1, a.values.count == nx * ny * nz * a.components else {
                throw MeshIOError.writeFailed(file: name, reason: "array '\(a.name)' has \(a.values.count) values, expected \(nx * ny * nz) × \(a.components)")
            }
            xml += "        " + (try appended.dataArray("Float32", a.name, components: a.components, bytes(a.values)))
        }
        xml += "      </PointData>\n      <CellData>\n      </CellData>\n    </Piece>\n  </ImageData>\n  <AppendedData encoding=\"raw\">\n   _"
        return try appended.file(xml: xml)
    }

    fileprivate func bytes<T>(_ values: [T]) -> Data {
        values.withUnsafeBytes { Data($0) }
    }

    private static func header(_ words: [UInt64]) -> Data {
        words.map { $0.littleEndian }.withUnsafeBytes { Data($0) }
    }

    /// Header + data of one array: [nbytes] uncompressed, or VTK's zlib block layout
    /// [nblocks, blocksize, lastblocksize, compressed sizes…] followed by the blocks.
    /// Returned in parts (the header, then runs of blocks), which a spool takes one by one: a
    /// large array's compressed bytes are never held twice.
    fileprivate func encodeBlock(_ payload: UnsafeRawBufferPointer, name: String) throws -> [Data] {
        guard compress else { return [Self.header([UInt64(payload.count)]), Data(payload)] }
        let total = payload.count
        let fullBlocks = total / blockSize, last = total % blockSize
        let nblocks = fullBlocks + (last > 0 ? 1 : 0)
        // Consecutive runs of blocks compressed on `threads` threads, joined in order.
        let groups = max(1, min(threads, nblocks / 4))
        var parts = [(sizes: [UInt64], body: Data, status: Int32)](repeating: ([], Data(), Z_OK), count: groups)
        let lock = NSLock()
        let blockSize = self.blockSize, level = compressionLevel
        let base = UInt(bitPattern: payload.baseAddress)
        DispatchQueue.concurrentPerform(iterations: groups) { g in
            let source = UnsafePointer<Bytef>(bitPattern: base)  // nil only for an empty array (no blocks)
            var sizes: [UInt64] = [], body = Data(), status = Z_OK
            // capacity for the incompressible case: untouched pages cost no memory
            body.reserveCapacity((g + 1) * nblocks / groups * blockSize - g * nblocks / groups * blockSize + 64)
            var scratch = [UInt8](repeating: 0, count: Int(compressBound(uLong(blockSize))))
            for b in (g * nblocks / groups) ..< ((g + 1) * nblocks / groups) where status == Z_OK {
                let start = b * blockSize
                let len = min(blockSize, total - start)
                var destLen = uLongf(scratch.count)
                status = scratch.withUnsafeMutableBytes { out in
                    compress2(out.baseAddress!.assumingMemoryBound(to: Bytef.self), &destLen, source! + start, uLong(len), level)
                }
                sizes.append(UInt64(destLen))
                body.append(contentsOf: scratch[0..<Int(destLen)])
            }
            lock.lock(); parts[g] = (sizes, body, status); lock.unlock()
        }
        if let failed = parts.first(where: { $0.status != Z_OK }) {
            throw MeshIOError.zlibFailure(file: name, array: "(writing)", detail: "compress2 returned \(failed.status)")
        }
        return [Self.header([UInt64(nblocks), UInt64(blockSize), UInt64(last)] + parts.flatMap(\.sizes))] + parts.map(\.body)
    }
}

/// The appended raw data section of a VTK XML file: arrays encoded one after another, each
/// DataArray element pointing at its offset.
private struct AppendedArrays {
    let writer: VTUWriter
    let name: String
    /// Where encoded arrays are parked (nil: memory).
    let spool: Spool?
    private var blobs: [FilePiece] = []
    private var offset = 0

    init(writer: VTUWriter, name: String, spool: Spool? = nil) { self.writer = writer; self.name = name; self.spool = spool }

    mutating func dataArray(_ type: String, _ arrayName: String, components: Int, extra: String = "", _ payload: Data) throws -> String {
        try payload.withUnsafeBytes { try dataArray(type, arrayName, components: components, extra: extra, raw: $0) }
    }

    mutating func dataArray(_ type: String, _ arrayName: String, components: Int, extra: String = "", raw: UnsafeRawBufferPointer) throws -> String {
        encodedArray(type, arrayName, components: components, extra: extra,
                     try FilePiece(try writer.encodeBlock(raw, name: name), spool: spool))
    }

    /// An array whose header and (compressed) data `blob` are already encoded.
    mutating func encodedArray(_ type: String, _ arrayName: String, components: Int, extra: String = "", _ blob: FilePiece) -> String {
        let at = offset
        offset += blob.count
        blobs.append(blob)
        let comps = components == 1 ? "" : " NumberOfComponents=\"\(components)\""
        return "<DataArray type=\"\(type)\" Name=\"\(LightXML.escape(arrayName))\"\(comps)\(extra) format=\"appended\" offset=\"\(at)\"/>\n"
    }

    /// The XML head (ending in the `_` marker), the blobs, and the closing tags.
    func pieces(xml: String) -> [FilePiece] {
        [.bytes(Data(xml.utf8))] + blobs + [.bytes(Data("\n  </AppendedData>\n</VTKFile>\n".utf8))]
    }

    /// The same joined.
    func file(xml: String) throws -> Data {
        var out = Data()
        out.reserveCapacity(xml.utf8.count + offset + 64)
        for piece in pieces(xml: xml) { out.append(try piece.data()) }
        return out
    }
}

/// Writes `.pvd` collections.
public enum PVDWriter {
    /// `entries`: time and file name (relative to the .pvd's folder) of each step.
    public static func write(entries: [(time: Double, file: String)], to url: URL) throws {
        try AtomicFile.write(encode(entries: entries), to: url)
    }

    /// The `.pvd` text of `entries`.
    public static func encode(entries: [(time: Double, file: String)]) -> Data {
        var xml = "<?xml version=\"1.0\"?>\n<VTKFile type=\"Collection\" version=\"0.1\" byte_order=\"LittleEndian\">\n  <Collection>\n"
        for e in entries {
            xml += "    <DataSet timestep=\"\(formatTime(e.time))\" group=\"\" part=\"0\" file=\"\(LightXML.escape(e.file))\"/>\n"
        }
        xml += "  </Collection>\n</VTKFile>\n"
        return Data(xml.utf8)
    }

    /// Shortest text that reads back to the same Double.
    static func formatTime(_ t: Double) -> String { "\(t)" }
}

extension Dataset {
    /// Writes the dataset as `<folder>/<stem>_0000.vtu …` plus the `.pvd` at `pvd`, each step
    /// with a `TimeValue` field, as one `SeriesTransaction` (the old series, if any, stays whole
    /// until the new one is complete). `extraPointArrays(step)` adds arrays to a step (e.g.
    /// `<name>_abs_error`); it is called concurrently for different steps. `companions` are
    /// files written with the series (e.g. `metrics.json`), names relative to its folder.
    /// Returns the .vtu files written.
    @discardableResult
    public func write(pvd: URL, writer: VTUWriter = VTUWriter(),
                      extraPointArrays: ((Int) throws -> [NamedArray])? = nil,
                      companions: [(name: String, data: Data)] = []) throws -> [URL] {
        try validate(file: pvd.path)
        let series = try SeriesWriter(pvd: pvd, stepCount: stepCount, writer: writer)
        do {
            // Steps are independent: encode and compress them concurrently; report the first error.
            var errors = [Error?](repeating: nil, count: stepCount)
            let lock = NSLock()
            DispatchQueue.concurrentPerform(iterations: stepCount) { s in
                do {
                    let points = variables.map { NamedArray(name: $0.name, components: $0.components, values: $0.values[s]) }
                    let cells = cellVariables.map { NamedArray(name: $0.name, components: $0.components, values: $0.values[s]) }
                    try series.stage(step: s, mesh: mesh, time: times[s],
                                     pointArrays: points + (try extraPointArrays?(s) ?? []), cellArrays: cells)
                } catch {
                    lock.lock(); errors[s] = error; lock.unlock()
                }
            }
            if let e = errors.compactMap({ $0 }).first { throw e }
            return try series.commit(times: times, companions: companions)
        } catch {
            series.abort()
            throw error
        }
    }

    /// The bytes of one step's .vtu (with `TimeValue`); `name` is used in error messages.
    func encodeStep(_ s: Int, writer: VTUWriter, extraPointArrays: [NamedArray], name: String) throws -> Data {
        precondition(s >= 0 && s < stepCount, "step \(s) out of range")
        let points = variables.map { NamedArray(name: $0.name, components: $0.components, values: $0.values[s]) } + extraPointArrays
        let cells = cellVariables.map { NamedArray(name: $0.name, components: $0.components, values: $0.values[s]) }
        return try writer.encode(mesh: mesh, pointArrays: points, cellArrays: cells,
                                 fieldData: [(name: "TimeValue", values: [times[s]])], name: name)
    }

    /// Writes one step as a single .vtu (with `TimeValue`).
    public func writeStep(_ s: Int, to url: URL, writer: VTUWriter = VTUWriter(), extraPointArrays: [NamedArray] = []) throws {
        try AtomicFile.write(encodeStep(s, writer: writer, extraPointArrays: extraPointArrays, name: url.path), to: url)
    }
}

/// A `.pvd` series written one step at a time (`<folder>/<stem>_0000.vtu …`, each with a
/// `TimeValue`), as one `SeriesTransaction`: a writer that decodes step by step holds one
/// step, and the old series stays whole until `commit`.
public final class SeriesWriter: @unchecked Sendable {
    public let pvd: URL
    public let fileNames: [String]
    private let folder: URL
    private let writer: VTUWriter
    private let transaction: SeriesTransaction
    private let meshLock = NSLock()
    private var encodedMesh: VTUWriter.EncodedMesh?

    public init(pvd: URL, stepCount: Int, writer: VTUWriter = VTUWriter()) throws {
        self.pvd = pvd
        self.writer = writer
        folder = pvd.deletingLastPathComponent()
        let stem = pvd.deletingPathExtension().lastPathComponent
        let digits = max(4, String(max(0, stepCount - 1)).count)
        fileNames = (0..<stepCount).map { s in
            "\(stem)_\(String(repeating: "0", count: max(0, digits - String(s).count)))\(s).vtu"
        }
        transaction = try SeriesTransaction(folder: folder)
    }

    /// Encodes and stages step `step`; thread-safe (steps may be staged concurrently). Every
    /// step is on the same mesh: it is encoded (and compressed) for the first step only.
    public func stage(step: Int, mesh: Mesh, time: Double, pointArrays: [NamedArray], cellArrays: [NamedArray] = []) throws {
        try stage(step: step, mesh: mesh, time: time, pointArrays: pointArrays.map(PendingArray.init),
                  cellArrays: cellArrays.map(PendingArray.init))
    }

    /// The same with arrays produced one at a time: each is compressed into a scratch file
    /// next to the output before the next is asked for, so a step costs one array of memory.
    public func stage(step: Int, mesh: Mesh, time: Double, pointArrays: [PendingArray], cellArrays: [PendingArray] = []) throws {
        let name = folder.appendingPathComponent(fileNames[step]).path
        try validateArrayNames(pointArrays.map(\.name), file: name)
        try validateArrayNames(cellArrays.map(\.name), file: name)
        meshLock.lock()
        let encoded: VTUWriter.EncodedMesh
        do {
            // The compressed mesh waits in a spool for every step's file (hundreds of MB at 10⁷ points)
            if encodedMesh == nil {
                encodedMesh = try writer.encodeMesh(mesh, name: name, spool: try Spool(folder: folder, naming: name))
            }
            encoded = encodedMesh!
            meshLock.unlock()
        } catch {
            meshLock.unlock()
            throw error
        }
        precondition(encoded.pointCount == mesh.pointCount && encoded.cellCount == mesh.cellCount,
                     "a series is written on one mesh")
        let pieces = try writer.encodePieces(mesh: encoded, pointArrays: pointArrays, cellArrays: cellArrays,
                                             fieldData: [(name: "TimeValue", values: [time])], name: name,
                                             spool: try Spool(folder: folder, naming: name))
        try transaction.stage(pieces: pieces, as: fileNames[step])
    }

    /// Stages the companions and the `.pvd`, then renames everything into place as one unit.
    /// Returns the .vtu files written.
    public func commit(times: [Double], companions: [(name: String, data: Data)] = []) throws -> [URL] {
        precondition(times.count == fileNames.count, "\(times.count) times for \(fileNames.count) steps")
        for file in companions { try transaction.stage(file.data, as: file.name) }
        try transaction.stage(PVDWriter.encode(entries: zip(times, fileNames).map { (time: $0, file: $1) }),
                              as: pvd.lastPathComponent)
        try transaction.commit()
        return fileNames.map { folder.appendingPathComponent($0) }
    }

    /// Removes what was staged; the folder keeps what it held before.
    public func abort() {
        transaction.abort()
    }
}
