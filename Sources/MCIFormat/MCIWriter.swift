import ModelDescription
import CZlib
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `MCIModel`s as `.mci` files (docs/mci-format.md). The bytes depend only on the model,
/// so the same model always gives the same file. A model with float32 weights and plain
/// sections is written as format 1.0 (readable by every 1.x reader); `weightEncoding` other
/// than float32 or `compressNets` (when it takes effect) make it 1.1, a residual 1.2, a mesh in
/// MESHC chunks (`MCIModel.meshCoding = .standard`) 1.3, its index (MESHX) 1.5.
public enum MCIWriter {
    /// Section type ids and the required flag.
    enum Section: UInt32 { case meta = 1, json = 2, tree = 3, nets = 4, mesh = 5, residual = 7, meshc = 8, seam = 9, meshx = 10,
                                    neighbours = 11 }

    /// Encodes and writes atomically: a temporary file in the same folder, flushed, then
    /// renamed over `url`, so an interrupted write never leaves a half-written file. With
    /// `verify` the encoded bytes are first opened by the C decoder and their mesh decoded
    /// (a MESHC mesh is decoded on first use, not at open), so a model it would reject is never
    /// written.
    public static func write(_ model: MCIModel, to url: URL, verify: Bool = true) throws {
        let bytes = try encode(model, name: url.path)
        if verify {
            let decoder = try MCIDecoder(bytes: bytes, name: url.path, options: .ownOutput)
            if decoder.hasMesh { try decoder.decodeWholeMesh(threads: ProcessInfo.processInfo.activeProcessorCount) }
        }
        try writeAtomically(bytes, to: url)
    }

    /// The MESHC section of `mesh` as `encode` writes it, for `MCIModel.codedMesh`;
    /// `progress(chunks done, chunks)` as its chunks are coded (from any thread).
    public static func meshPayload(_ mesh: MCIMesh, cellsPerChunk: Int,
                                   progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> [UInt8] {
        try MeshChunkCoding.payload(mesh, cellsPerChunk: cellsPerChunk, progress: progress)
    }

    /// The complete file contents. `meshPayload`: the MESHC section of `model.mesh` already
    /// coded (`MCIMeshChunkShares`, by several processes), used instead of coding it here.
    /// Indexing a chunked mesh (MESHX) decodes it: a chunk the decoder refuses fails here,
    /// named as `name` (the file to be written).
    public static func encode(_ model: MCIModel, meshPayload: [UInt8]? = nil, name: String = "in-memory model") throws -> [UInt8] {
        try validate(model)
        let (netsFlags, netsPayload) = try netsSection(model)
        var sections: [(Section, UInt32, [UInt8])] = [
            (.meta, 1, meta(model)),
            (.json, 0, Array(model.metadataJSON.utf8)),
            (.tree, 1, tree(model)),
            (.nets, netsFlags, netsPayload),
        ]
        // Required: a reader that does not blend would show the seams the networks were trained
        // to hide.
        if let margin = model.seamMargin {
            var w = ByteWriter()
            w.f64(margin); w.u64(0)
            sections.append((.seam, 1, w.bytes))
        }
        if let codedMesh = model.codedMesh {
            sections.append((.meshc, 1, codedMesh))
        } else if let mesh = model.mesh {
            switch model.meshCoding {
            case .zlib: sections.append((.mesh, 0, try compressedMesh(mesh)))
            // required: a reader without MESHC would open the model without its mesh
            case .chunked(let cells):
                sections.append((.meshc, 1, try meshPayload ?? MeshChunkCoding.payload(mesh, cellsPerChunk: cells)))
            }
        }
        // Required: a reader that cannot apply the residual must not show the network alone as
        // if it were error-bounded.
        if let residual = model.residual {
            sections.append((.residual, 1, residual.payload()))
            // required: a reader that does not know it would predict from other neighbours
            if residual.neighbourLeast > 0 {
                var least = ByteWriter()
                least.u32(UInt32(residual.neighbourLeast))
                sections.append((.neighbours, 1, least.bytes))
            }
        }
        let chunkedMesh = model.codedMesh != nil || (model.mesh != nil && model.meshCoding != .zlib)
        let minor: UInt16 = model.residual?.usesSignContexts == true ? 11 : (model.residual?.neighbourLeast ?? 0) > 0 ? 10
            : model.residual?.usesAnchor == true ? 9 : model.residual?.usesQuadraticPredictor == true ? 8
            : model.residual?.usesBlendPredictor == true ? 7 : model.residual?.usesPlanePredictor == true ? 6
            : model.residual?.usesLinearPredictor == true ? 4
            : chunkedMesh || model.seamMargin != nil ? 3 : model.residual != nil ? 2
            : model.weightEncoding != .float32 || netsFlags & compressedFlag != 0 ? 1 : 0
        let bytes = assemble(sections, minor: minor)
        // The index of a chunked mesh (optional: a 1.3/1.4 reader skips it and decodes the same
        // points). Not with a residual: its chains need every point, so no piece reads less.
        guard chunkedMesh, model.residual == nil, model.meshIndex else { return bytes }
        let index = try MeshChunkIndex.payload(indexing: bytes, name: name, lo: model.boundsMin, hi: model.boundsMax,
                                               threads: ProcessInfo.processInfo.activeProcessorCount)
        return assemble(sections + [(.meshx, 0, index)], minor: 5)
    }

    /// The NETS section as `encode` writes it: flags and payload, zlib-compressed where
    /// `compressNets` asks and that is smaller.
    static func netsSection(_ model: MCIModel) throws -> (flags: UInt32, payload: [UInt8]) {
        let payload = try nets(model)
        if model.compressNets, let packed = try? compressedSection(payload), packed.count < payload.count {
            return (1 | compressedFlag, packed)
        }
        return (1, payload)
    }

    /// What the weights cost in the file: the bytes of its NETS section's payload.
    public static func storedNetsBytes(_ model: MCIModel) throws -> Int { try netsSection(model).payload.count }

    /// The file of `sections` (type, flags, payload) in this order, as format 1.`minor`.
    static func assemble(_ sections: [(Section, UInt32, [UInt8])], minor: UInt16) -> [UInt8] {
        var out = ByteWriter()
        out.bytes += [0x4D, 0x43, 0x49, 0x4E, 0x52, 0x00, 0x0D, 0x0A]
        out.u16(1); out.u16(minor); out.u32(UInt32(sections.count))
        var offset = UInt64(16 + 32 * sections.count)
        for (type, flags, payload) in sections {
            out.u32(type.rawValue); out.u32(flags)
            out.u64(offset); out.u64(UInt64(payload.count))
            out.u32(crc(payload)); out.u32(0)
            offset += UInt64(payload.count)
        }
        for (_, _, payload) in sections { out.bytes += payload }
        return out.bytes
    }

    // MARK: - Sections

    static func meta(_ m: MCIModel) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(m.variables.count))
        for v in m.variables {
            let name = Array(v.name.utf8)
            w.u16(UInt16(name.count)); w.bytes += name; w.u32(UInt32(v.components))
        }
        w.u32(UInt32(m.componentCount))
        for r in m.componentRanges { w.f64(r.lowerBound); w.f64(r.upperBound) }
        w.u32(UInt32(m.times.count))
        for t in m.times { w.f64(t) }
        for x in m.boundsMin { w.f64(x) }
        for x in m.boundsMax { w.f64(x) }
        w.f64(m.timeInterval.lowerBound); w.f64(m.timeInterval.upperBound)
        w.u64(m.numPoints); w.u64(m.numCells); w.u64(m.rawFieldBytes)
        return w.bytes
    }

    static func tree(_ m: MCIModel) -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(m.treeNodes.count)); w.u32(UInt32(m.topLevelCount))
        for n in m.treeNodes {
            for c in n.centroid { w.f64(c) }
            w.i32(n.parent); w.i32(n.child0); w.i32(n.child1); w.i32(n.network)
        }
        return w.bytes
    }

    /// Section flag bit 1: the payload is a u64 size and a zlib stream (format 1.1).
    static let compressedFlag: UInt32 = 2

    static func nets(_ m: MCIModel) throws -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(m.networks.count))
        for net in m.networks {
            w.f32s(net.inOffset); w.f32s(net.inScale)
            w.u32(UInt32(net.peFrequencies)); w.f32(net.omega0)
            w.u32(UInt32(net.trunk.count))
            for module in net.trunk { try moduleBytes(module, m.weightEncoding, into: &w) }
            w.u32(UInt32(net.branches.count))
            for branch in net.branches {
                w.u32(UInt32(branch.count))
                for module in branch { try moduleBytes(module, m.weightEncoding, into: &w) }
            }
        }
        return w.bytes
    }

    static func moduleBytes(_ module: ModuleDescription, _ encoding: MCIWeightEncoding,
                            into w: inout ByteWriter) throws {
        w.bytes += [module.kind.rawValue, encoding.rawValue, 0, 0] // kind, encoding, reserved
        w.u32(UInt32(module.inputs)); w.u32(UInt32(module.outputs))
        for (i, t) in module.tensors.enumerated() {
            switch encoding {
            case .float32: w.f32s(t)
            case .float16:
                var halves = [UInt16](); halves.reserveCapacity(t.count)
                for v in t { halves.append(MCIHalf.bits(try MCIHalf.checked(v))) }
                w.u16s(halves)
            case .int8 where i % 2 == 0: // a matrix: row scales, then the int8 values
                let rows = try MCIInt8Rows(matrix: t, rows: module.outputs)
                w.f32s(rows.scales)
                w.bytes += rows.q.map { UInt8(bitPattern: $0) }
            case .int8: w.f32s(t) // biases stay float32
            }
        }
    }

    /// A compressed section payload: u64 size, then a zlib stream (level 9: written once).
    static func compressedSection(_ payload: [UInt8]) throws -> [UInt8] {
        var out = ByteWriter()
        out.u64(UInt64(payload.count))
        out.bytes += try deflate(payload, level: 9)
        return out.bytes
    }

    static func deflate(_ bytes: [UInt8], level: Int32) throws -> [UInt8] {
        var destLen = compressBound(uLong(bytes.count))
        var dest = [UInt8](repeating: 0, count: Int(destLen))
        let rc = bytes.withUnsafeBufferPointer { src in
            compress2(&dest, &destLen, src.baseAddress, uLong(src.count), level)
        }
        guard rc == Z_OK else { throw MCIError.outOfMemory("zlib compress2 failed (\(rc))") }
        return Array(dest[0..<Int(destLen)])
    }

    /// MESH payload: u64 size, then one zlib stream (level 6) of the body. The body is fed to
    /// zlib in pieces converted on the fly, never assembled: a 10⁷-tet mesh would otherwise
    /// cost its size again, twice.
    static func compressedMesh(_ mesh: MCIMesh) throws -> [UInt8] {
        var head = ByteWriter()
        head.u64(UInt64(mesh.pointCount)); head.bytes.append(mesh.pointPrecision.rawValue)
        head.bytes += [UInt8](repeating: 0, count: 7)
        let pointBytes = mesh.points.count * (mesh.pointPrecision == .float32 ? 4 : 8)
        var counts = ByteWriter()
        counts.u64(UInt64(mesh.cellCount)); counts.u64(UInt64(mesh.connectivity.count))
        let bodySize = head.bytes.count + pointBytes + counts.bytes.count + mesh.cellTypes.count
            + 8 * mesh.cellCount + 4 * mesh.connectivity.count
        let stream = DeflateStream(level: 6, inputSize: bodySize)
        var out = ByteWriter()
        out.u64(UInt64(bodySize))
        try stream.add(head.bytes)
        switch mesh.pointPrecision {
        case .float32: try stream.add(mesh.points) { Float($0).bitPattern.littleEndian }
        case .float64: try stream.add(mesh.points) { $0.bitPattern.littleEndian }
        }
        try stream.add(counts.bytes)
        try stream.add(mesh.cellTypes)
        try stream.add(mesh.cellOffsets.dropFirst()) { UInt64($0).littleEndian }
        try stream.add(mesh.connectivity) { UInt32($0).littleEndian }
        out.bytes += try stream.finish()
        return out.bytes
    }

    static func crc(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { b in
            var c = crc32(0, nil, 0)
            var p = b.baseAddress
            var left = b.count
            while left > 0, let base = p {
                let n = min(left, 1 << 30)
                c = crc32(c, base, uInt(n))
                p = base + n
                left -= n
            }
            return UInt32(c)
        }
    }

    // MARK: - Validation (sizes the format needs; the decoder checks the rest on verify)

    static func validate(_ m: MCIModel) throws {
        func bad(_ s: String) -> MCIError { .invalidModel("MCIModel: \(s)") }
        guard (1...65536).contains(m.variables.count) else { throw bad("\(m.variables.count) variables (allowed 1 ... 65536)") }
        for (i, v) in m.variables.enumerated() {
            guard (1...65535).contains(v.name.utf8.count) else { throw bad("variable \(i) name has \(v.name.utf8.count) UTF-8 bytes") }
            guard (1...16).contains(v.components) else { throw bad("variable \(v.name) has \(v.components) components (allowed 1 ... 16)") }
        }
        let C = m.componentCount
        guard m.componentRanges.count == C else { throw bad("\(m.componentRanges.count) component ranges for \(C) components") }
        guard m.times.count <= 10_000_000 else { throw bad("\(m.times.count) time steps (limit 10 000 000)") }
        guard !m.times.isEmpty, zip(m.times, m.times.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw bad("times must be non-empty and strictly increasing")
        }
        guard m.boundsMin.count == 3, m.boundsMax.count == 3 else { throw bad("bounds need 3 values each") }
        guard !m.treeNodes.isEmpty, (1...m.treeNodes.count).contains(m.topLevelCount) else {
            throw bad("\(m.treeNodes.count) tree nodes with \(m.topLevelCount) top-level")
        }
        for (i, n) in m.treeNodes.enumerated() where n.centroid.count != 3 {
            throw bad("tree node \(i) centroid has \(n.centroid.count) values")
        }
        if let margin = m.seamMargin, !(margin > 0 && margin <= 2) { throw bad("seam margin \(margin) (allowed (0, 2])") }
        guard !m.networks.isEmpty else { throw bad("no networks") }
        for (n, net) in m.networks.enumerated() {
            guard net.inOffset.count == 4, net.inScale.count == 4 else { throw bad("network \(n): input map needs 4 offsets and 4 scales") }
            guard NetworkDescription.peFrequencyRange.contains(net.peFrequencies) else { throw bad("network \(n): \(net.peFrequencies) encoding frequencies") }
            for (k, module) in net.trunk.enumerated() { try checkTensors(module, "module \(k) of the trunk of network \(n)") }
            for (b, branch) in net.branches.enumerated() {
                guard !branch.isEmpty else { throw bad("branch \(b) of network \(n) is empty") }
                for (k, module) in branch.enumerated() { try checkTensors(module, "module \(k) of branch \(b) of network \(n)") }
            }
            guard net.outputCount == C else { throw bad("network \(n) gives \(net.outputCount) outputs for \(C) components") }
        }
        if let mesh = m.mesh {
            guard mesh.points.count % 3 == 0, mesh.pointCount > 0 else { throw bad("mesh has \(mesh.points.count) coordinates") }
            guard mesh.cellOffsets.count == mesh.cellCount + 1, mesh.cellOffsets.first == 0,
                  mesh.cellOffsets.last == mesh.connectivity.count else {
                throw bad("mesh offsets must be numCells + 1 values from 0 to the connectivity size")
            }
            let n = mesh.pointCount
            guard mesh.connectivity.allSatisfy({ $0 >= 0 && $0 < n }) else { throw bad("mesh connectivity refers to a missing point") }
        }
        if let r = m.residual {
            guard m.mesh != nil || m.codedMesh != nil else { throw bad("a residual needs the mesh (it is stored at the mesh points)") }
            guard r.pointCount == m.meshPointCount, r.timeCount == m.times.count, r.componentCount == C,
                  r.binWidths.count == C, r.streams.count == r.timeCount * C else {
                throw bad("residual sizes (\(r.pointCount) points, \(r.timeCount) steps, \(r.componentCount) components, \(r.streams.count) streams) do not match the model")
            }
            guard (0...MeshNeighbours.maxPerPoint).contains(r.neighbourLeast) else {
                throw bad("the residual's NEIGHBOURS K is \(r.neighbourLeast) (allowed 0, none, or 1 ... 32)")
            }
            // a linear candidate at a chain's start drops the time bit; one with it may read an anchor
            let everything = MCIResidual.Predictor.everything
            let allowed = Set(everything + everything.filter { $0.contains(.linear) }.map { $0.subtracting(.time) }
                              + everything.filter { $0.isSuperset(of: [.linear, .time]) }.map { $0.union(.anchor) })
            let every = ResidualPrediction.keyframeInterval
            for k in r.streams.indices where r.streams[k].predictor.contains(.anchor) {
                let anchor = ((k / C) / every + 1) * every  // the next block's first step
                guard anchor < m.times.count,
                      r.streams[k].predictor.contains(.data) == r.streams[anchor * C + k % C].predictor.contains(.data) else {
                    throw bad("the residual stream of step \(k / C) component \(k % C) reads an anchor, step \(anchor), that is past the last step or quantises the \(r.streams[k].predictor.contains(.data) ? "residual" : "data") instead")
                }
            }
            guard r.streams.allSatisfy({ allowed.contains($0.predictor) }),
                  r.streams.prefix(C).allSatisfy({ !$0.predictor.contains(.time) }),
                  r.streams.indices.dropFirst(C).allSatisfy({ k in
                      !r.streams[k].predictor.contains(.time)
                          || r.streams[k].predictor.contains(.data) == r.streams[k - C].predictor.contains(.data) }) else {
                throw bad("residual predictors must be 0…7, 8, 9, 12, 13, 24, 25, 28, 29, 56, 57, 60, 61, 120, 121, 124 or 125 per stream, or one of those with the time bit plus the anchor bit (128); without the time bit at step 0 or across data and residual streams")
            }
            let limit = ResidualPrediction.linearWeightLimit
            guard r.streams.allSatisfy({ s in
                s.predictor.contains(.linear)
                    ? s.weights?.count == ResidualPrediction.linearWeightCount && s.weights!.allSatisfy { $0.magnitude <= limit.magnitude }
                    : s.weights == nil
            }) else {
                throw bad("linear residual streams need \(ResidualPrediction.linearWeightCount) weights of magnitude ≤ 2^20, other streams none")
            }
        }
    }

    static func checkTensors(_ module: ModuleDescription, _ where_: String) throws {
        let i = module.inputs, o = module.outputs
        var expected = [o * i, o]
        if module.kind == .resBlock {
            expected += [o * o, o]
            if i != o { expected += [o * i, o] }
        }
        let sizes = module.tensors.map(\.count)
        guard sizes == expected else {
            throw MCIError.invalidModel("MCIModel: \(where_) (\(module.kind), \(i) → \(o)) has tensors of sizes \(sizes), expected \(expected)")
        }
    }

    // MARK: - Atomic write

    /// `bytes` to `url` through a temporary file, flushed, then renamed (`write` without its
    /// encoding and verification: for a caller that verified the bytes itself).
    public static func writeAtomically(_ bytes: [UInt8], to url: URL) throws {
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw MCIError.io("\(url.path): cannot create a temporary file in \(dir): \(errnoText())") }
        var ok = bytes.withUnsafeBytes { raw -> Bool in
            var done = 0
            while done < raw.count {
                let n = posixWrite(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; return false }
                done += n
            }
            return true
        }
        let reason = ok ? "" : errnoText()
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, url.path) == 0 else {
            let why = reason.isEmpty ? errnoText() : reason
            unlink(tmp)
            throw MCIError.io("\(url.path): cannot write the file: \(why)")
        }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

#if canImport(Glibc)
private let posixWrite = Glibc.write
#elseif canImport(Darwin)
private let posixWrite = Darwin.write
#endif

/// Little-endian byte builder.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u16s(_ v: [UInt16]) {
        #if _endian(little)
        v.withUnsafeBytes { bytes += $0 }
        #else
        for x in v { u16(x) }
        #endif
    }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    mutating func f32s(_ v: [Float]) { u32s(v.map(\.bitPattern)) }
    mutating func f64s(_ v: [Double]) { u64s(v.map(\.bitPattern)) }
    mutating func u64s(_ v: [UInt64]) {
        #if _endian(little)
        v.withUnsafeBytes { bytes += $0 }
        #else
        for x in v { u64(x) }
        #endif
    }
    mutating func u32s(_ v: [UInt32]) {
        #if _endian(little)
        v.withUnsafeBytes { bytes += $0 }
        #else
        for x in v { u32(x) }
        #endif
    }
}

/// One zlib stream (what `compress2` writes) fed in pieces. A class: zlib's state points back
/// at its z_stream, which therefore must not move.
final class DeflateStream {
    private let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var output: [UInt8] = []
    private var ready = false

    init(level: Int32, inputSize: Int) {
        z.initialize(to: z_stream())
        ready = deflateInit_(z, level, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
        if ready { output.reserveCapacity(Int(deflateBound(z, uLong(inputSize))) / 4) }
    }

    deinit {
        if ready { deflateEnd(z) }
        z.deallocate()
    }

    func add(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try deflate($0, flush: Z_NO_FLUSH) }
    }

    /// `values` converted by `word` (a little-endian fixed-width integer), 64 Ki at a time.
    func add<C: Collection, W: FixedWidthInteger>(_ values: C, _ word: (C.Element) -> W) throws {
        var chunk: [W] = []
        chunk.reserveCapacity(65536)
        var i = values.startIndex
        while i != values.endIndex {
            chunk.removeAll(keepingCapacity: true)
            while i != values.endIndex && chunk.count < 65536 { chunk.append(word(values[i])); i = values.index(after: i) }
            try chunk.withUnsafeBytes { try deflate($0, flush: Z_NO_FLUSH) }
        }
    }

    /// Ends the stream and returns it.
    func finish() throws -> [UInt8] {
        try deflate(UnsafeRawBufferPointer(start: nil, count: 0), flush: Z_FINISH)
        deflateEnd(z)
        ready = false
        return output
    }

    private func deflate(_ input: UnsafeRawBufferPointer, flush: Int32) throws {
        guard ready else { throw MCIError.outOfMemory("MESH: zlib deflateInit failed") }
        z.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        z.pointee.avail_in = uInt(input.count)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let (rc, produced) = buffer.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                z.pointee.next_out = out.baseAddress
                z.pointee.avail_out = uInt(out.count)
                let rc = CZlib.deflate(z, flush)
                return (rc, out.count - Int(z.pointee.avail_out))
            }
            output += buffer[0 ..< produced]
            guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
                throw MCIError.outOfMemory("MESH: zlib deflate failed (\(rc))")
            }
            if flush == Z_FINISH ? rc == Z_STREAM_END : z.pointee.avail_in == 0 { return }
        }
    }
}
