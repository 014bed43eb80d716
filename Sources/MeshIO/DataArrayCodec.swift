import CLZ4
import CLZMA
import CZlib
import Foundation

/// The scalar types a VTK XML DataArray can hold.
public enum VTKScalarType: String, CaseIterable, Sendable {
    case int8 = "Int8", uint8 = "UInt8", int16 = "Int16", uint16 = "UInt16"
    case int32 = "Int32", uint32 = "UInt32", int64 = "Int64", uint64 = "UInt64"
    case float32 = "Float32", float64 = "Float64"

    public var size: Int {
        switch self {
        case .int8, .uint8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32: return 4
        case .int64, .uint64, .float64: return 8
        }
    }

    var isFloat: Bool { self == .float32 || self == .float64 }
    var isSigned: Bool { self == .int8 || self == .int16 || self == .int32 || self == .int64 }

    /// Also accepts the legacy names older VTK versions wrote (`Float`, `Int`, `vtkIdType`, …).
    init?(vtkName: String) {
        if let t = VTKScalarType(rawValue: vtkName) { self = t; return }
        switch vtkName {
        case "Char", "SignedChar": self = .int8
        case "UnsignedChar": self = .uint8
        case "Short": self = .int16
        case "UnsignedShort": self = .uint16
        case "Int": self = .int32
        case "UnsignedInt": self = .uint32
        case "Long", "LongLong", "vtkIdType", "IdType": self = .int64
        case "UnsignedLong", "UnsignedLongLong": self = .uint64
        case "Float": self = .float32
        case "Double": self = .float64
        default: return nil
        }
    }
}

/// The block compressors of VTK's XML writers (`compressor` attribute). All three share one
/// layout (header: nblocks, block size, last block size, compressed sizes); each block is
/// compressed on its own, so it is decompressed on its own.
enum BlockCodec: String, Sendable {
    case zlib = "vtkZLibDataCompressor"
    case lz4 = "vtkLZ4DataCompressor"
    case lzma = "vtkLZMADataCompressor"

    /// The most bytes a block of `compressed` bytes can hold, used to reject a header's claim
    /// before anything is allocated from it. zlib: ~1032:1. LZ4: each extra length byte adds
    /// 255 bytes. LZMA: a longest rep0 match (273 bytes) costs 14 range-coded decisions of at
    /// least log2(2048/2017) bits each, so less than 7100:1; 8192:1 leaves a margin.
    func maximumExpansion(_ compressed: UInt64) -> UInt64 {
        switch self {
        case .zlib: return compressed &* 1040 &+ 64
        case .lz4: return compressed &* 256 &+ 64
        case .lzma: return compressed &* 8192 &+ 4096
        }
    }

    /// The largest block the library accepts in one call (LZ4 counts in `Int32`).
    var maximumBlockSize: UInt64 {
        switch self {
        case .zlib, .lzma: return 1 << 40
        case .lz4: return UInt64(LZ4_MAX_INPUT_SIZE)
        }
    }

    /// Decompresses `block` into exactly `want` bytes at `out`; a message on failure.
    func decompress(_ block: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer, want: Int) -> String? {
        let input = block.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        switch self {
        case .zlib:
            var destLen = uLongf(want)
            let status = uncompress(out.assumingMemoryBound(to: Bytef.self), &destLen,
                                    input.assumingMemoryBound(to: Bytef.self), uLong(block.count))
            guard status == Z_OK else { return BinaryDecoder.zlibMessage(status) }
            return Int(destLen) == want ? nil : "decompresses to \(destLen) bytes, expected \(want)"
        case .lz4:
            // As VTK's vtkLZ4DataCompressor: raw LZ4 block format, LZ4_decompress_safe, which
            // never writes past `want` bytes.
            let n = LZ4_decompress_safe(input.assumingMemoryBound(to: CChar.self), out.assumingMemoryBound(to: CChar.self),
                                        Int32(block.count), Int32(want))
            guard n >= 0 else { return "corrupt LZ4 data (LZ4_decompress_safe returned \(n))" }
            return Int(n) == want ? nil : "decompresses to \(n) bytes, expected \(want)"
        case .lzma:
            // As VTK's vtkLZMADataCompressor: each block is a whole .xz stream. The memory limit
            // bounds the dictionary a corrupt stream may ask for (VTK's presets 1–9 need ≤ 65 MiB).
            var memlimit: UInt64 = 256 << 20
            var inPos = 0, outPos = 0
            let status = lzma_stream_buffer_decode(&memlimit, 0, nil, input.assumingMemoryBound(to: UInt8.self), &inPos,
                                                   block.count, out.assumingMemoryBound(to: UInt8.self), &outPos, want)
            guard status == LZMA_OK else { return Self.lzmaMessage(status) }
            if inPos != block.count { return "the .xz stream ends after \(inPos) of \(block.count) bytes" }
            return outPos == want ? nil : "decompresses to \(outPos) bytes, expected \(want)"
        }
    }

    static func lzmaMessage(_ status: lzma_ret) -> String {
        switch status {
        case LZMA_DATA_ERROR: return "corrupt data (LZMA_DATA_ERROR)"
        case LZMA_FORMAT_ERROR: return "not an .xz stream (LZMA_FORMAT_ERROR)"
        case LZMA_BUF_ERROR: return "data truncated or decompresses to more than announced (LZMA_BUF_ERROR)"
        case LZMA_MEMLIMIT_ERROR: return "the stream needs more than 256 MiB to decode (LZMA_MEMLIMIT_ERROR)"
        case LZMA_OPTIONS_ERROR: return "unsupported options (LZMA_OPTIONS_ERROR)"
        case LZMA_MEM_ERROR: return "out of memory (LZMA_MEM_ERROR)"
        default: return "error \(status.rawValue)"
        }
    }
}

/// The bytes of one DataArray: owned, borrowed from the mapped file without a copy (raw
/// appended data), or compressed blocks (zlib, LZ4 or LZMA) decompressed one at a time. The
/// conversions go through the bytes in stretches, give each stretch of a mapped file back as
/// they go and decompress one block at a time, so an array costs its converted values plus a
/// block or a few MB, not its bytes twice.
struct RawArray {
    var type: VTKScalarType
    private var storage: Storage
    /// The stored bytes are big-endian; each stretch is swapped as it is converted.
    private var bigEndian = false

    private enum Storage {
        case owned([UInt8])
        /// Valid while the file is mapped (the parse of that file).
        case mapped(UnsafeRawBufferPointer)
        case blocks(CompressedBlocks)
    }

    /// The compressed blocks of one array (sizes checked against the header by
    /// `BinaryDecoder`): contiguous, owned (base64) or in the mapped file.
    struct CompressedBlocks {
        var codec: BlockCodec
        var owned: [UInt8]
        var mapped: UnsafeRawBufferPointer?
        var compressedSizes: [Int]
        /// Inflated size of every block but the last, and of the last.
        var blockSize: Int, lastSize: Int
        var file: String, array: String
        var totalBytes: Int { compressedSizes.isEmpty ? 0 : (compressedSizes.count - 1) * blockSize + lastSize }
    }

    init(type: VTKScalarType, bytes: [UInt8], bigEndian: Bool = false) { self.type = type; storage = .owned(bytes); self.bigEndian = bigEndian }
    init(type: VTKScalarType, mapped: UnsafeRawBufferPointer, bigEndian: Bool = false) {
        self.type = type; storage = .mapped(mapped); self.bigEndian = bigEndian
    }
    init(type: VTKScalarType, blocks: CompressedBlocks, bigEndian: Bool = false) {
        self.type = type; storage = .blocks(blocks); self.bigEndian = bigEndian
    }

    var count: Int {
        switch storage {
        case .owned(let bytes): return bytes.count / type.size
        case .mapped(let view): return view.count / type.size
        case .blocks(let blocks): return blocks.totalBytes / type.size
        }
    }

    private static let chunkBytes = 8 << 20

    /// Calls `body` with consecutive stretches of whole elements in host byte order and the
    /// index of each stretch's first element.
    private func forEachStretch(_ body: (UnsafeRawBufferPointer, Int) -> Void) throws {
        let size = type.size
        var swapped: [UInt8] = []
        func deliver(_ bytes: UnsafeRawBufferPointer, _ first: Int) {
            guard bigEndian && size > 1 else { return body(bytes, first) }
            swapped.removeAll(keepingCapacity: true)
            swapped.append(contentsOf: bytes)
            swapped.withUnsafeMutableBytes { raw in
                var i = 0
                while i + size <= raw.count {
                    var a = i, b = i + size - 1
                    while a < b { raw.swapAt(a, b); a += 1; b -= 1 }
                    i += size
                }
                body(UnsafeRawBufferPointer(raw), first)
            }
        }
        switch storage {
        case .owned(let bytes):
            bytes.withUnsafeBytes { view in Self.stretches(of: view, size: size, release: false, deliver) }
        case .mapped(let view):
            Self.stretches(of: view, size: size, release: true, deliver)
        case .blocks(let blocks):
            try Self.decompressing(blocks, size: size, deliver)
        }
    }

    /// Stretches of about `chunkBytes`; with `release` (a mapped file), the whole pages of each
    /// stretch are given back once it has been delivered.
    private static func stretches(of view: UnsafeRawBufferPointer, size: Int, release: Bool,
                                  _ body: (UnsafeRawBufferPointer, Int) -> Void) {
        let n = view.count / size, chunk = max(1, chunkBytes / size)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let base = Int(bitPattern: view.baseAddress)
        var released = (base + page - 1) / page * page   // first whole page inside the view
        var i = 0
        while i < n {
            let end = min(n, i + chunk)
            body(UnsafeRawBufferPointer(rebasing: view[(i * size)..<(end * size)]), i)
            if release { releasePages(upTo: base + end * size, from: &released, page: page) }
            i = end
        }
    }

    private static func releasePages(upTo address: Int, from released: inout Int, page: Int) {
        let end = address / page * page
        if end > released {
            _ = madvise(UnsafeMutableRawPointer(bitPattern: released), end - released, MADV_DONTNEED)
            released = end
        }
    }

    /// Decompresses block after block into one block-sized buffer (plus the bytes of an element
    /// split between two blocks) and delivers the whole elements of each.
    private static func decompressing(_ blocks: CompressedBlocks, size: Int, _ body: (UnsafeRawBufferPointer, Int) -> Void) throws {
        let nb = blocks.compressedSizes.count
        guard nb > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: (nb > 1 ? blocks.blockSize : blocks.lastSize) + size)  // ≤ the array's bytes
        func run(_ compressed: UnsafeRawBufferPointer) throws {
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            let base = Int(bitPattern: compressed.baseAddress)
            var released = (base + page - 1) / page * page
            var carry = 0, element = 0, offset = 0
            for b in 0..<nb {
                let want = b == nb - 1 ? blocks.lastSize : blocks.blockSize
                let block = UnsafeRawBufferPointer(rebasing: compressed[offset..<(offset + blocks.compressedSizes[b])])
                let failure = buffer.withUnsafeMutableBytes { out in
                    blocks.codec.decompress(block, into: out.baseAddress!.advanced(by: carry), want: want)
                }
                if let failure {
                    throw MeshIOError.decompressionFailure(file: blocks.file, array: blocks.array, compressor: blocks.codec.rawValue,
                                                           detail: "block \(b) of \(nb): \(failure)")
                }
                let filled = carry + want, whole = filled / size * size
                buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[0..<whole]), element) }
                element += whole / size
                carry = filled - whole
                if carry > 0 { buffer.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[whole..<filled])) } }
                offset += blocks.compressedSizes[b]
                if blocks.mapped != nil { releasePages(upTo: base + offset, from: &released, page: page) }
            }
        }
        if let mapped = blocks.mapped { try run(mapped) } else { try blocks.owned.withUnsafeBytes { try run($0) } }
    }

    private func map<S, D>(_: S.Type, _ f: (S) -> D) throws -> [D] {
        let n = count, size = type.size
        return try [D](unsafeUninitializedCapacity: n) { out, done in
            try forEachStretch { raw, first in
                for j in 0..<(raw.count / size) { out[first + j] = f(raw.loadUnaligned(fromByteOffset: j * size, as: S.self)) }
            }
            done = n
        }
    }

    func floats() throws -> [Float] {
        switch type {
        case .float32:
            let n = count
            return try [Float](unsafeUninitializedCapacity: n) { out, done in
                try forEachStretch { raw, first in memcpy(out.baseAddress! + first, raw.baseAddress!, raw.count) }
                done = n
            }
        case .float64: return try map(Double.self) { Float($0) }
        case .int8: return try map(Int8.self) { Float($0) }
        case .uint8: return try map(UInt8.self) { Float($0) }
        case .int16: return try map(Int16.self) { Float($0) }
        case .uint16: return try map(UInt16.self) { Float($0) }
        case .int32: return try map(Int32.self) { Float($0) }
        case .uint32: return try map(UInt32.self) { Float($0) }
        case .int64: return try map(Int64.self) { Float($0) }
        case .uint64: return try map(UInt64.self) { Float($0) }
        }
    }

    func doubles() throws -> [Double] {
        switch type {
        case .float32: return try map(Float.self) { Double($0) }
        case .float64: return try map(Double.self) { $0 }
        case .int8: return try map(Int8.self) { Double($0) }
        case .uint8: return try map(UInt8.self) { Double($0) }
        case .int16: return try map(Int16.self) { Double($0) }
        case .uint16: return try map(UInt16.self) { Double($0) }
        case .int32: return try map(Int32.self) { Double($0) }
        case .uint32: return try map(UInt32.self) { Double($0) }
        case .int64: return try map(Int64.self) { Double($0) }
        case .uint64: return try map(UInt64.self) { Double($0) }
        }
    }

    /// Integer values; nil for float arrays or values that do not fit in `Int`.
    func ints() throws -> [Int]? {
        switch type {
        case .float32, .float64: return nil
        case .int8: return try map(Int8.self) { Int($0) }
        case .uint8: return try map(UInt8.self) { Int($0) }
        case .int16: return try map(Int16.self) { Int($0) }
        case .uint16: return try map(UInt16.self) { Int($0) }
        case .int32: return try map(Int32.self) { Int($0) }
        case .uint32: return try map(UInt32.self) { Int($0) }
        case .int64: return try map(Int64.self) { Int($0) }
        case .uint64:
            var tooLarge = false
            let v = try map(UInt64.self) { (x: UInt64) -> Int in
                if x > UInt64(Int.max) { tooLarge = true; return 0 }
                return Int(x)
            }
            return tooLarge ? nil : v
        }
    }

    /// Integer values as 32-bit point indices, each checked to be in 0 ..< `bound` (at most
    /// 2³²): nil for float arrays; `firstBad` is the first entry that is not (its index and
    /// value), its slot holding 0.
    func pointIndices(below bound: Int) throws -> (ids: [UInt32], firstBad: (index: Int, value: String)?)? {
        precondition(bound <= 1 << 32, "point ids above 2^32")
        var firstBad: (index: Int, value: String)?
        func convert<S: FixedWidthInteger>(_: S.Type) throws -> [UInt32] {
            let n = count, size = type.size
            return try [UInt32](unsafeUninitializedCapacity: n) { out, done in
                try forEachStretch { raw, first in
                    for j in 0..<(raw.count / size) {
                        let v = raw.loadUnaligned(fromByteOffset: j * size, as: S.self)
                        if v >= 0 && UInt64(truncatingIfNeeded: v) < UInt64(bound) {
                            out[first + j] = UInt32(truncatingIfNeeded: v)
                        } else {
                            out[first + j] = 0
                            if firstBad == nil { firstBad = (first + j, "\(v)") }
                        }
                    }
                }
                done = n
            }
        }
        let ids: [UInt32]
        switch type {
        case .float32, .float64: return nil
        case .int8: ids = try convert(Int8.self)
        case .uint8: ids = try convert(UInt8.self)
        case .int16: ids = try convert(Int16.self)
        case .uint16: ids = try convert(UInt16.self)
        case .int32: ids = try convert(Int32.self)
        case .uint32: ids = try convert(UInt32.self)
        case .int64: ids = try convert(Int64.self)
        case .uint64: ids = try convert(UInt64.self)
        }
        return (ids, firstBad)
    }
}

/// Where the bytes of a binary DataArray come from, and how its headers are laid out.
struct BinaryLayout {
    var headerWordSize: Int            // 4 (UInt32) or 8 (UInt64)
    var codec: BlockCodec?             // nil: uncompressed
    var bigEndian: Bool
}

/// A forward-only source of bytes: raw appended data, or base64 text decoded on the fly.
protocol ByteSource {
    mutating func read(_ count: Int) throws -> [UInt8]
    /// An upper bound of the bytes still available (used to reject absurd headers before allocating).
    var remainingUpperBound: Int { get }
}

struct RawByteSource: ByteSource {
    let bytes: UnsafeBufferPointer<UInt8>
    var position: Int
    let file: String, array: String
    /// Whether the bytes are a mapped file, whose pages may be given back (never heap memory).
    var mappedFile = false

    var remainingUpperBound: Int { max(0, bytes.count - position) }


    mutating func read(_ count: Int) throws -> [UInt8] {
        Array(try view(count))
    }

    /// The next `count` bytes without a copy.
    mutating func view(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, position <= bytes.count, count <= bytes.count - position else {
            throw MeshIOError.truncated(file: file, detail: "array '\(array)' needs \(count) bytes at byte \(position), the file has \(max(0, bytes.count - position)) left")
        }
        let out = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[position..<(position + count)]))
        position += count
        return out
    }
}

/// Decodes base64 text as a concatenation of independently padded chunks, which is how VTK
/// encodes a header and its data (they may or may not share one chunk).
struct Base64ByteSource: ByteSource {
    let text: UnsafeBufferPointer<UInt8>
    var position: Int
    let end: Int
    let file: String, array: String
    private var pending: [UInt8] = []

    init(text: UnsafeBufferPointer<UInt8>, start: Int, end: Int, file: String, array: String) {
        self.text = text
        self.position = start
        self.end = min(end, text.count)
        self.file = file
        self.array = array
    }

    static let table: [Int8] = {
        var t = [Int8](repeating: -1, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            t[Int(c)] = Int8(i)
        }
        return t
    }()

    var remainingUpperBound: Int { pending.count + max(0, end - position) / 4 * 3 + 3 }

    mutating func read(_ count: Int) throws -> [UInt8] {
        guard count >= 0 else { throw MeshIOError.badBase64(file: file, array: array, detail: "negative size") }
        var out = [UInt8]()
        out.reserveCapacity(count)
        let take = min(count, pending.count)
        out.append(contentsOf: pending[0..<take])
        pending.removeFirst(take)
        if out.count == count { return out }
        let table = Base64ByteSource.table
        let file = self.file, array = self.array
        var pos = position
        let end = self.end
        var extra: [UInt8] = []
        do {
            let t = text
            while out.count < count {
                var word = 0, n = 0, pads = 0
                while n < 4 {
                    guard pos < end else {
                        throw MeshIOError.badBase64(file: file, array: array, detail: n == 0
                            ? "the text ends after \(out.count) of \(count) bytes" : "the text ends inside a 4-character group")
                    }
                    let c = t[pos]
                    pos += 1
                    if LightXML.isSpace(c) { continue }
                    if c == UInt8(ascii: "=") {
                        guard n >= 2 else { throw MeshIOError.badBase64(file: file, array: array, detail: "misplaced '=' at text byte \(pos - 1)") }
                        word <<= 6; pads += 1; n += 1
                        continue
                    }
                    let v = table[Int(c)]
                    guard v >= 0, pads == 0 else {
                        throw MeshIOError.badBase64(file: file, array: array, detail: v < 0
                            ? "invalid character 0x\(String(c, radix: 16)) at text byte \(pos - 1)" : "data after '=' padding")
                    }
                    word = (word << 6) | Int(v); n += 1
                }
                for shift in [16, 8, 0].prefix(3 - pads) {
                    let b = UInt8((word >> shift) & 0xFF)
                    if out.count < count { out.append(b) } else { extra.append(b) }
                }
            }
        }
        position = pos
        pending.append(contentsOf: extra)
        return out
    }
}

enum BinaryDecoder {
    static func word(_ bytes: [UInt8], at index: Int, layout: BinaryLayout) -> UInt64 {
        var v: UInt64 = 0
        let w = layout.headerWordSize
        for k in 0..<w {
            let b = UInt64(bytes[index * w + k])
            v |= layout.bigEndian ? b << UInt64(8 * (w - 1 - k)) : b << UInt64(8 * k)
        }
        return v
    }

    /// Reads one binary DataArray (header + data) from `source`. `expectedBytes`, where known,
    /// is checked against the header before anything large is allocated.
    static func decode<S: ByteSource>(_ source: inout S, type: VTKScalarType, layout: BinaryLayout,
                                      expectedBytes: Int?, file: String, array: String) throws -> RawArray {
        func sizeError(_ bytes: UInt64) -> MeshIOError {
            let found = bytes / UInt64(type.size)
            return .wrongArraySize(file: file, array: array, expected: (expectedBytes ?? 0) / type.size,
                                   found: found > UInt64(Int.max) ? Int.max : Int(found))
        }
        if let codec = layout.codec {
            return try decodeBlocks(&source, codec: codec, type: type, layout: layout, expectedBytes: expectedBytes,
                                    file: file, array: array, sizeError: sizeError)
        }
        let header = try source.read(layout.headerWordSize)
        let nbytes = word(header, at: 0, layout: layout)
        if let e = expectedBytes, nbytes != UInt64(e) { throw sizeError(nbytes) }
        guard nbytes <= UInt64(source.remainingUpperBound) else {
            throw MeshIOError.truncated(file: file, detail: "array '\(array)' announces \(nbytes) bytes, only \(source.remainingUpperBound) remain")
        }
        if var raw = source as? RawByteSource, raw.mappedFile, nbytes % UInt64(type.size) == 0 {
            // Uncompressed appended data of a mapped file: borrowed, converted in place.
            let view = try raw.view(Int(nbytes))
            source = raw as! S
            return RawArray(type: type, mapped: view, bigEndian: layout.bigEndian)
        }
        let result = try source.read(Int(nbytes))
        guard result.count % type.size == 0 else {
            throw MeshIOError.wrongArraySize(file: file, array: array, expected: (expectedBytes ?? 0) / type.size,
                                             found: result.count / type.size)
        }
        return RawArray(type: type, bytes: result, bigEndian: layout.bigEndian)
    }

    /// The header and blocks of a compressed array (any `BlockCodec`). Every size in the header
    /// is checked against what the file holds and what the codec can expand to before the
    /// blocks are kept; they are decompressed one at a time as the array is converted.
    private static func decodeBlocks<S: ByteSource>(_ source: inout S, codec: BlockCodec, type: VTKScalarType, layout: BinaryLayout,
                                                    expectedBytes: Int?, file: String, array: String,
                                                    sizeError: (UInt64) -> MeshIOError) throws -> RawArray {
        let w = layout.headerWordSize
        func failure(_ detail: String) -> MeshIOError {
            .decompressionFailure(file: file, array: array, compressor: codec.rawValue, detail: detail)
        }
        let head = try source.read(3 * w)
        let nblocks = word(head, at: 0, layout: layout)
        let blockSize = word(head, at: 1, layout: layout)
        let lastSize = word(head, at: 2, layout: layout)
        guard nblocks <= UInt64(source.remainingUpperBound / w) else {
            throw MeshIOError.truncated(file: file, detail: "array '\(array)' announces \(nblocks) compressed blocks, more than the file can hold")
        }
        guard nblocks == 0 || (blockSize > 0 && lastSize <= blockSize && blockSize <= codec.maximumBlockSize) else {
            throw failure("invalid block header (block size \(blockSize), last block \(lastSize))")
        }
        let nb = Int(nblocks)
        let last = lastSize == 0 ? blockSize : lastSize   // 0: the last block is full
        let sizesBytes = try source.read(nb * w)
        var compSizes = [Int]()
        compSizes.reserveCapacity(nb)
        var compTotal: UInt64 = 0
        for b in 0..<nb {
            let c = word(sizesBytes, at: b, layout: layout)
            compTotal = compTotal &+ c
            guard c <= UInt64(Int32.max), compTotal <= UInt64(source.remainingUpperBound) else {
                throw MeshIOError.truncated(file: file, detail: "array '\(array)': compressed blocks need more bytes than the file holds")
            }
            // A block cannot expand beyond the codec's ratio: a larger claim is a corrupt
            // header, refused before the block buffer (and the array) are allocated from it.
            let want = b == nb - 1 ? last : blockSize
            guard want <= codec.maximumExpansion(c) else {
                throw failure("header claims \(want) bytes for block \(b) of \(nb) from \(c) compressed bytes")
            }
            compSizes.append(Int(c))
        }
        let (fullBytes, overflow) = UInt64(max(0, nb - 1)).multipliedReportingOverflow(by: blockSize)
        guard !overflow, fullBytes < 1 << 62 else { throw failure("header claims more than 2^62 bytes") }
        let total: UInt64 = nb == 0 ? 0 : fullBytes + last
        if let e = expectedBytes, total != UInt64(e) { throw sizeError(total) }
        guard total % UInt64(type.size) == 0 else {
            throw MeshIOError.wrongArraySize(file: file, array: array, expected: (expectedBytes ?? 0) / type.size,
                                             found: Int(total) / type.size)
        }
        var blocks = RawArray.CompressedBlocks(codec: codec, owned: [], mapped: nil, compressedSizes: compSizes,
                                               blockSize: Int(blockSize), lastSize: nb == 0 ? 0 : Int(last), file: file, array: array)
        if var raw = source as? RawByteSource, raw.mappedFile {
            blocks.mapped = try raw.view(Int(compTotal))
            source = raw as! S
        } else {
            blocks.owned = try source.read(Int(compTotal))
        }
        return RawArray(type: type, blocks: blocks, bigEndian: layout.bigEndian)
    }

    static func zlibMessage(_ status: Int32) -> String {
        switch status {
        case Z_DATA_ERROR: return "corrupt data (Z_DATA_ERROR)"
        case Z_BUF_ERROR: return "data inflates to more than announced (Z_BUF_ERROR)"
        case Z_MEM_ERROR: return "out of memory (Z_MEM_ERROR)"
        default: return "error \(status)"
        }
    }
}

enum AsciiDecoder {
    /// Parses whitespace-separated numbers of `text[ranges]` into the bytes of `type`.
    static func decode(_ text: UnsafeBufferPointer<UInt8>, ranges: [Range<Int>], type: VTKScalarType, file: String, array: String) throws -> RawArray {
        var joined: [CChar] = []
        joined.reserveCapacity(ranges.reduce(0) { $0 + $1.count } + ranges.count + 1)
        for r in ranges {
            let lo = max(0, min(r.lowerBound, text.count)), hi = max(lo, min(r.upperBound, text.count))
            for b in UnsafeBufferPointer(rebasing: text[lo..<hi]) { joined.append(CChar(bitPattern: b)) }
            joined.append(32)
        }
        joined.append(0)
        var out = [UInt8]()
        let size = type.size
        try joined.withUnsafeBufferPointer { buf in
            var p = buf.baseAddress!
            let endPtr = buf.baseAddress! + (buf.count - 1)
            var index = 0
            while true {
                while p < endPtr && LightXML.isSpace(UInt8(bitPattern: p.pointee)) { p += 1 }
                if p >= endPtr { break }
                var next: UnsafeMutablePointer<CChar>?
                var word = [UInt8](repeating: 0, count: size)
                if type.isFloat {
                    let v = strtod(p, &next)
                    if type == .float32 { withUnsafeBytes(of: Float(v)) { word = Array($0) } } else { withUnsafeBytes(of: v) { word = Array($0) } }
                } else if type.isSigned {
                    errno = 0
                    let v = strtoll(p, &next, 10)
                    let fits: Bool
                    switch type {
                    case .int8: fits = Int8(exactly: v) != nil; withUnsafeBytes(of: Int8(truncatingIfNeeded: v)) { word = Array($0) }
                    case .int16: fits = Int16(exactly: v) != nil; withUnsafeBytes(of: Int16(truncatingIfNeeded: v)) { word = Array($0) }
                    case .int32: fits = Int32(exactly: v) != nil; withUnsafeBytes(of: Int32(truncatingIfNeeded: v)) { word = Array($0) }
                    default: fits = errno == 0; withUnsafeBytes(of: Int64(v)) { word = Array($0) }
                    }
                    guard fits else { throw MeshIOError.malformedXML(file: file, detail: "array '\(array)': value \(index) out of range of \(type.rawValue)") }
                } else {
                    errno = 0
                    guard p.pointee != CChar(UInt8(ascii: "-")) else {
                        throw MeshIOError.malformedXML(file: file, detail: "array '\(array)': negative value \(index) in an unsigned array")
                    }
                    let v = strtoull(p, &next, 10)
                    let fits: Bool
                    switch type {
                    case .uint8: fits = UInt8(exactly: v) != nil; withUnsafeBytes(of: UInt8(truncatingIfNeeded: v)) { word = Array($0) }
                    case .uint16: fits = UInt16(exactly: v) != nil; withUnsafeBytes(of: UInt16(truncatingIfNeeded: v)) { word = Array($0) }
                    case .uint32: fits = UInt32(exactly: v) != nil; withUnsafeBytes(of: UInt32(truncatingIfNeeded: v)) { word = Array($0) }
                    default: fits = errno == 0; withUnsafeBytes(of: UInt64(v)) { word = Array($0) }
                    }
                    guard fits else { throw MeshIOError.malformedXML(file: file, detail: "array '\(array)': value \(index) out of range of \(type.rawValue)") }
                }
                guard let n = next, n > p, n <= endPtr,
                      n == endPtr || LightXML.isSpace(UInt8(bitPattern: n.pointee)) else {
                    throw MeshIOError.malformedXML(file: file, detail: "array '\(array)': value \(index) is not a \(type.rawValue) number")
                }
                out.append(contentsOf: word)
                index += 1
                p = UnsafePointer(n)
            }
        }
        return RawArray(type: type, bytes: out)
    }
}
