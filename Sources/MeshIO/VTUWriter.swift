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
/// arrays of a step need not all be in memory at once: all at once (`values`), or a block at a
/// time (`fill`, for an array computed from others, e.g. columns of a decoded block, which is
/// then never materialised).
public struct PendingArray: Sendable {
    public var name: String
    public var components: Int
    public var sourceType: VTKScalarType?
    public var values: @Sendable () throws -> [Float]
    /// Float32 values on demand: `fill(range, into)` writes values `range` (value indices) at `into`.
    public var fill: (@Sendable (Range<Int>, UnsafeMutablePointer<Float>) -> Void)?
    /// Number of values `fill` provides.
    public var count = 0

    public init(name: String, components: Int, sourceType: VTKScalarType? = nil, values: @escaping @Sendable () throws -> [Float]) {
        self.name = name
        self.components = components
        self.sourceType = sourceType
        self.values = values
    }

    public init(_ array: NamedArray) {
        self.init(name: array.name, components: array.components, sourceType: array.sourceType) { array.values }
    }

    /// `count` Float32 values written a block at a time by `fill` (thread-safe: blocks are
    /// filled concurrently).
    public init(name: String, components: Int, count: Int,
                fill: @escaping @Sendable (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        self.init(name: name, components: components) {
            var out = [Float](repeating: 0, count: count)
            out.withUnsafeMutableBufferPointer { if count > 0 { fill(0 ..< count, $0.baseAddress!) } }
            return out
        }
        self.fill = fill
        self.count = count
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
        try mesh.validate(file: name)
        // Int64 little-endian is Int's own layout here: the index arrays are compressed from
        // their memory, without a copy (they are most of a mesh of hundreds of MB)
        precondition(MemoryLayout<Int>.size == 8 && 1.littleEndian == 1, "a 64-bit little-endian Int")
        let points = mesh.pointPrecision == .float32
            ? try mesh.points.map { Float($0) }.withUnsafeBytes { try encodeBlocks($0, name: name, spool: spool) }
            : try mesh.points.withUnsafeBytes { try encodeBlocks($0, name: name, spool: spool) }
        return EncodedMesh(pointCount: mesh.pointCount, cellCount: mesh.cellCount,
                           pointType: mesh.pointPrecision == .float32 ? "Float32" : "Float64",
                           points: points,
                           connectivity: try mesh.connectivity.withUnsafeBytes { try encodeBlocks($0, name: name, spool: spool) },
                           offsets: try mesh.offsets.dropFirst().withUnsafeBytes { try encodeBlocks($0, name: name, spool: spool) },
                           types: try mesh.cellTypes.withUnsafeBytes { try encodeBlocks($0, name: name, spool: spool) })
    }

    /// A mesh encoded as its cells arrive, a run of cells at a time in order (`append`), so that
    /// its cells are never in memory whole; the points come last (`finish`). The arrays are
    /// compressed as `encodeMesh` compresses them (the same bytes), each into a spool of its own
    /// in `folder`, holding about a wave of each (a MiB per thread). The cells are the caller's
    /// to check (`encodeMesh` validates a whole mesh first); `finish` checks the counts.
    public final class MeshStream {
        private let writer: VTUWriter, name: String, folder: URL
        private let cellCount: Int, connectivitySize: Int
        private var connectivity: StreamedArray, offsets: StreamedArray, types: StreamedArray
        private var cellsIn = 0, entriesIn = 0

        public init(writer: VTUWriter, cellCount: Int, connectivitySize: Int, folder: URL, name: String) throws {
            self.writer = writer
            self.name = name
            self.folder = folder
            self.cellCount = cellCount
            self.connectivitySize = connectivitySize
            connectivity = StreamedArray(writer: writer, total: 8 * connectivitySize, name: name,
                                         spool: try Spool(folder: folder, naming: name))
            offsets = StreamedArray(writer: writer, total: 8 * cellCount, name: name, spool: try Spool(folder: folder, naming: name))
            types = StreamedArray(writer: writer, total: cellCount, name: name, spool: try Spool(folder: folder, naming: name))
        }

        /// The next cells: their types, their end offsets (VTK's offsets without the leading 0,
        /// over the whole mesh's connectivity) and their connectivity entries.
        public func append(types cellTypes: UnsafeBufferPointer<UInt8>, endOffsets: UnsafeBufferPointer<Int>,
                           connectivity entries: UnsafeBufferPointer<Int>) throws {
            precondition(MemoryLayout<Int>.size == 8 && 1.littleEndian == 1, "a 64-bit little-endian Int")
            guard cellTypes.count == endOffsets.count, cellsIn + cellTypes.count <= cellCount,
                  entriesIn + entries.count <= connectivitySize else {
                throw MeshIOError.invalidMesh(file: name, detail: "more cells or connectivity entries than the \(cellCount) cells "
                                              + "and \(connectivitySize) entries announced")
            }
            try connectivity.append(UnsafeRawBufferPointer(entries))
            try offsets.append(UnsafeRawBufferPointer(endOffsets))
            try types.append(UnsafeRawBufferPointer(cellTypes))
            cellsIn += cellTypes.count
            entriesIn += entries.count
        }

        /// The encoded mesh, once every cell has arrived, with its points.
        public func finish(points: [Double], precision: PointPrecision) throws -> EncodedMesh {
            guard cellsIn == cellCount, entriesIn == connectivitySize, points.count % 3 == 0 else {
                throw MeshIOError.invalidMesh(file: name, detail: "\(cellsIn) of \(cellCount) cells and \(entriesIn) of "
                                              + "\(connectivitySize) connectivity entries arrived, \(points.count) coordinates")
            }
            let spool = try Spool(folder: folder, naming: name)
            let encodedPoints = precision == .float32
                ? try points.map { Float($0) }.withUnsafeBytes { try writer.encodeBlocks($0, name: name, spool: spool) }
                : try points.withUnsafeBytes { try writer.encodeBlocks($0, name: name, spool: spool) }
            return EncodedMesh(pointCount: points.count / 3, cellCount: cellCount,
                               pointType: precision == .float32 ? "Float32" : "Float64", points: encodedPoints,
                               connectivity: try connectivity.finish(), offsets: try offsets.finish(), types: try types.finish())
        }
    }

    /// An array encoded as its bytes arrive in order (`total` in all), into a spool: the bytes
    /// `encodeBlocks` writes. The blocks that arrive whole are compressed from the caller's
    /// memory; only a block cut between two runs is copied (at most a block is held).
    fileprivate struct StreamedArray {
        private var blocks: BlockEncoding
        private var partial: [UInt8] = []  // the first bytes of block blocks.done
        private var received = 0

        init(writer: VTUWriter, total: Int, name: String, spool: Spool) {
            blocks = BlockEncoding(writer: writer, total: total, name: name, spool: spool)
        }

        mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
            precondition(received + bytes.count <= blocks.total, "more bytes than the array holds")
            received += bytes.count
            let size = blocks.blockSize
            var at = 0
            if !partial.isEmpty {  // complete the cut block first
                let n = min(bytes.count, size - partial.count)
                partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[0 ..< n]))
                at = n
                if partial.count == size || received == blocks.total { try compress(partial, 1) }
            }
            // whole blocks (and the array's short last block) straight from `bytes`
            let rest = bytes.count - at
            let whole = received == blocks.total ? (rest + size - 1) / size : rest / size
            if whole > 0 {
                try compress(UnsafeRawBufferPointer(rebasing: bytes[at ..< min(bytes.count, at + whole * size)]), whole)
                at += whole * size
            }
            if at < bytes.count { partial = Array(UnsafeRawBufferPointer(rebasing: bytes[at...])) }
        }

        /// Compresses the next `count` blocks, whose bytes `bytes` starts with.
        private mutating func compress(_ bytes: UnsafeRawBufferPointer, _ count: Int) throws {
            let base = blocks.done * blocks.blockSize, address = UInt(bitPattern: bytes.baseAddress)
            try blocks.compress(count) { range, _ in UnsafeRawPointer(bitPattern: address)! + (range.lowerBound - base) }
        }

        private mutating func compress(_ block: [UInt8], _ count: Int) throws {
            try block.withUnsafeBytes { try compress($0, count) }
            partial = []
        }

        mutating func finish() throws -> FilePiece {
            precondition(received == blocks.total && partial.isEmpty, "\(received) of \(blocks.total) bytes")
            return try blocks.finish()
        }
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
            if let fill = a.fill, a.sourceType != .int32 {
                guard a.components >= 1, a.count == count * a.components else {
                    throw MeshIOError.writeFailed(file: name, reason: "array '\(a.name)' has \(a.count) values, expected \(count) × \(a.components)")
                }
                // compressed a block at a time from what `fill` writes: the array never exists whole
                return try appended.dataArray("Float32", a.name, components: a.components, bytes: 4 * a.count) { range, scratch in
                    let first = range.lowerBound / 4, end = (range.upperBound + 3) / 4
                    fill(first ..< end, scratch.assumingMemoryBound(to: Float.self))
                    return UnsafeRawPointer(scratch) + (range.lowerBound - 4 * first)
                }
            }
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

    fileprivate static func header(_ words: [UInt64]) -> Data {
        words.map { $0.littleEndian }.withUnsafeBytes { Data($0) }
    }

    /// Bytes `range` of an array for the block encoder: a pointer into the array's own memory,
    /// or into `scratch` (room for a block and 8 bytes) after writing them there.
    fileprivate typealias ByteSource = (Range<Int>, UnsafeMutableRawPointer) -> UnsafeRawPointer

    /// Header + data of one array (`total` bytes from `source`): [nbytes] uncompressed, or VTK's
    /// zlib block layout [nblocks, blocksize, lastblocksize, compressed sizes…] followed by the
    /// blocks. Blocks are compressed on `threads` threads in waves of about a MiB per thread; with
    /// a `spool` each wave goes there before the next is made, so a large array's compressed
    /// bytes are never in memory whole.
    fileprivate func encodeBlocks(total: Int, name: String, spool: Spool?, source: ByteSource) throws -> FilePiece {
        var blocks = BlockEncoding(writer: self, total: total, name: name, spool: spool)
        try blocks.compress(blocks.blockCount, source: source)
        return try blocks.finish()
    }

    /// One array's blocks (`encodeBlocks`), compressed in order a run at a time, then its header.
    fileprivate struct BlockEncoding {
        let writer: VTUWriter, name: String, spool: Spool?, total: Int
        let blockSize: Int, blockCount: Int
        /// Blocks compressed so far.
        private(set) var done = 0
        private var sizes: [UInt64] = []
        private var memory = Data()  // without a spool: the bodies, in order
        private let start: Int64?

        init(writer: VTUWriter, total: Int, name: String, spool: Spool?) {
            self.writer = writer
            self.name = name
            self.spool = spool
            self.total = total
            blockSize = writer.compress ? writer.blockSize : 1 << 20
            blockCount = (total + blockSize - 1) / blockSize
            start = spool?.reserve(8 * (writer.compress ? 3 + blockCount : 1))
        }

        /// Blocks of about a MiB per thread: a wave.
        var blocksPerWave: Int { max(1, min(writer.threads, blockCount)) * max(1, (1 << 20) / blockSize) }

        /// Compresses the next `count` blocks (`source` gives their bytes by their range in the array).
        mutating func compress(_ count: Int, source: ByteSource) throws {
            let end = done + count, total = total, blockSize = blockSize
            let workers = max(1, min(writer.threads, blockCount))
            let level = writer.compressionLevel, compressing = writer.compress
            var wave = done
            while wave < end {
                let waveEnd = min(end, wave + blocksPerWave)
                let groups = min(workers, waveEnd - wave)
                var parts = [(sizes: [UInt64], body: Data, status: Int32)](repeating: ([], Data(), Z_OK), count: groups)
                let lock = NSLock()
                let first = wave
                DispatchQueue.concurrentPerform(iterations: groups) { g in
                    var sizes: [UInt64] = [], body = Data(), status = Z_OK
                    let blocks = (first + g * (waveEnd - first) / groups) ..< (first + (g + 1) * (waveEnd - first) / groups)
                    body.reserveCapacity(blocks.count * blockSize + 64)  // untouched pages cost no memory
                    var scratch = [UInt8](repeating: 0, count: blockSize + 8)
                    var packed = [UInt8](repeating: 0, count: compressing ? Int(compressBound(uLong(blockSize))) : 0)
                    for b in blocks where status == Z_OK {
                        let range = b * blockSize ..< min(total, (b + 1) * blockSize)
                        scratch.withUnsafeMutableBytes { raw in
                            let bytes = source(range, raw.baseAddress!)
                            guard compressing else { body.append(bytes.assumingMemoryBound(to: UInt8.self), count: range.count); return }
                            var destLen = uLongf(packed.count)
                            status = packed.withUnsafeMutableBytes { out in
                                compress2(out.baseAddress!.assumingMemoryBound(to: Bytef.self), &destLen,
                                          bytes.assumingMemoryBound(to: Bytef.self), uLong(range.count), level)
                            }
                            sizes.append(UInt64(destLen))
                            body.append(contentsOf: packed[0..<Int(destLen)])
                        }
                    }
                    lock.lock(); parts[g] = (sizes, body, status); lock.unlock()
                }
                if let failed = parts.first(where: { $0.status != Z_OK }) {
                    throw MeshIOError.zlibFailure(file: name, array: "(writing)", detail: "compress2 returned \(failed.status)")
                }
                sizes += parts.flatMap(\.sizes)
                if let spool { _ = try spool.append(parts.map(\.body)) } else { for p in parts { memory.append(p.body) } }
                wave = waveEnd
            }
            done = end
        }

        /// The array (every block compressed): its header written, or with the bodies in memory.
        func finish() throws -> FilePiece {
            precondition(done == blockCount, "\(done) of \(blockCount) blocks compressed")
            // [nblocks, blocksize, lastblocksize, compressed sizes…], or [nbytes]
            let header = writer.compress
                ? VTUWriter.header([UInt64(blockCount), UInt64(blockSize), UInt64(total % blockSize)] + sizes)
                : VTUWriter.header([UInt64(total)])
            guard let spool, let start else { return .bytes(header + memory) }
            try spool.write(header, at: start)
            return .spooled(spool, start ..< spool.size)
        }
    }

    /// `encodeBlocks` of bytes in memory.
    fileprivate func encodeBlocks(_ payload: UnsafeRawBufferPointer, name: String, spool: Spool?) throws -> FilePiece {
        let base = UInt(bitPattern: payload.baseAddress)
        return try encodeBlocks(total: payload.count, name: name, spool: spool) { range, _ in
            UnsafeRawPointer(bitPattern: base)! + range.lowerBound  // called only for a non-empty array
        }
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
        encodedArray(type, arrayName, components: components, extra: extra, try writer.encodeBlocks(raw, name: name, spool: spool))
    }

    /// An array of `bytes` bytes read block by block from `source`.
    mutating func dataArray(_ type: String, _ arrayName: String, components: Int, bytes: Int,
                            source: VTUWriter.ByteSource) throws -> String {
        encodedArray(type, arrayName, components: components,
                     try writer.encodeBlocks(total: bytes, name: name, spool: spool, source: source))
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
        let name = try validatedName(step: step, pointArrays: pointArrays, cellArrays: cellArrays)
        let encoded = try encoded(mesh, name: name)
        precondition(encoded.pointCount == mesh.pointCount && encoded.cellCount == mesh.cellCount,
                     "a series is written on one mesh")
        try stage(step: step, name: name, encoded: encoded, time: time, pointArrays: pointArrays, cellArrays: cellArrays)
    }

    /// Encodes (compresses) the series' mesh now, for every step's file, so that the caller
    /// may release the mesh's cells before it stages the steps (`stage(step:time:…)`, which
    /// needs no mesh): a writer that compares step by step then holds the points only. The
    /// cells arrive a run at a time: `produce` hands them, in order, to the stream
    /// (`VTUWriter.MeshStream.append`) and returns the points, so that they are never in memory
    /// whole as Int arrays. The cells are the producer's to check.
    public func prepare(cellCount: Int, connectivitySize: Int,
                        produce: (VTUWriter.MeshStream) throws -> (points: [Double], precision: PointPrecision)) throws {
        let name = folder.appendingPathComponent(fileNames.first ?? pvd.lastPathComponent).path
        let stream = try VTUWriter.MeshStream(writer: writer, cellCount: cellCount, connectivitySize: connectivitySize,
                                              folder: folder, name: name)
        let (points, precision) = try produce(stream)
        let encoded = try stream.finish(points: points, precision: precision)
        meshLock.lock()
        defer { meshLock.unlock() }
        precondition(encodedMesh == nil, "the series' mesh is prepared once")
        encodedMesh = encoded
    }

    /// `prepare` for cells held compactly, passed to the writer `runCells` cells at a time as
    /// Int arrays (the same bytes as the mesh they came from).
    public func prepare(cells: CompactCells, points: [Double], precision: PointPrecision, runCells: Int = 1 << 16) throws {
        try prepare(cellCount: cells.cellCount, connectivitySize: cells.pointIDs.count) { stream in
            for first in stride(from: 0, to: cells.cellCount, by: runCells) {
                try cells.withRun(first ..< min(first + runCells, cells.cellCount)) { types, ends, ids in
                    try stream.append(types: types, endOffsets: ends, connectivity: ids)
                }
            }
            return (points, precision)
        }
    }

    /// `stage` on the mesh given to `prepare` (before any step).
    public func stage(step: Int, time: Double, pointArrays: [PendingArray], cellArrays: [PendingArray] = []) throws {
        let name = try validatedName(step: step, pointArrays: pointArrays, cellArrays: cellArrays)
        meshLock.lock()
        let encoded = encodedMesh
        meshLock.unlock()
        guard let encoded else { preconditionFailure("SeriesWriter.stage(step:time:…) needs prepare first") }
        try stage(step: step, name: name, encoded: encoded, time: time, pointArrays: pointArrays, cellArrays: cellArrays)
    }

    /// Step `step`'s file, its array names checked.
    private func validatedName(step: Int, pointArrays: [PendingArray], cellArrays: [PendingArray]) throws -> String {
        let name = folder.appendingPathComponent(fileNames[step]).path
        try validateArrayNames(pointArrays.map(\.name), file: name)
        try validateArrayNames(cellArrays.map(\.name), file: name)
        return name
    }

    /// The series' mesh encoded, on the first call (from `mesh`; errors name `name`).
    private func encoded(_ mesh: Mesh, name: String) throws -> VTUWriter.EncodedMesh {
        meshLock.lock()
        defer { meshLock.unlock() }
        // The compressed mesh waits in a spool for every step's file (hundreds of MB at 10⁷ points)
        if encodedMesh == nil {
            encodedMesh = try writer.encodeMesh(mesh, name: name, spool: try Spool(folder: folder, naming: name))
        }
        return encodedMesh!
    }

    private func stage(step: Int, name: String, encoded: VTUWriter.EncodedMesh, time: Double, pointArrays: [PendingArray],
                       cellArrays: [PendingArray]) throws {
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
