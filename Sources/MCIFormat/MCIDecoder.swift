import CMCINR
import Foundation

/// A `.mci` model opened by the C decoder (CShim, the one inference implementation). The
/// model is immutable: decode from any number of threads at once.
public final class MCIDecoder: @unchecked Sendable {
    private let handle: OpaquePointer
    /// The path (or the name given for in-memory data) used in error messages.
    public let source: String

    /// How a model is opened (`mcinr_open_file_ex`): the limits for untrusted files or not,
    /// whether every RESIDUAL chain is validated now, threads for that validation, and a progress
    /// callback (called on the opening thread with a fraction; return false to stop: the open
    /// then throws `MCIError.aborted`).
    public struct OpenOptions {
        /// Lifts the memory and work limits for untrusted files (docs/mci-format.md, Limits);
        /// only for files from a trusted source. The format checks stay.
        public var trustLargeFiles: Bool
        /// Reconstructs every RESIDUAL chain at open, so that every format error of the file
        /// shows here; otherwise a malformed residual stream fails the first decode that reads
        /// it (`MCIError.format`, naming the step and component).
        public var validateResidual: Bool
        public var threads: Int
        public var progress: ((Double) -> Bool)?

        public init(trustLargeFiles: Bool = false, validateResidual: Bool = false, threads: Int = 1,
                    progress: ((Double) -> Bool)? = nil) {
            self.trustLargeFiles = trustLargeFiles
            self.validateResidual = validateResidual
            self.threads = threads
            self.progress = progress
        }

        /// For bytes this process has just made itself (train's verification of the file it
        /// writes, the error-bounded encoder, evaluation through the decoder): trusted, since the
        /// limits guard against files from elsewhere and a legitimately large model (a mesh that
        /// compresses unusually well) may exceed them; every format check stays. Files a user
        /// gives keep the default limits unless they opt in (`--trust-large-files`).
        public static var ownOutput: OpenOptions { OpenOptions(trustLargeFiles: true) }
    }

    /// Opens a file. Throws `MCIError` with the decoder's message (it names the file, the
    /// section and, for `MCIError.limit`, the limit and the opt-in).
    public convenience init(url: URL, options: OpenOptions = OpenOptions()) throws {
        try self.init(opening: url.path, options) { path, opts, out, err, len in
            mcinr_open_file_ex(path, opts, out, err, len)
        }
    }

    /// Opens a model from memory (copied; `data` may be released afterwards).
    public convenience init(data: Data, name: String = "memory buffer", options: OpenOptions = OpenOptions()) throws {
        try self.init(bytes: [UInt8](data), name: name, options: options)
    }

    public convenience init(bytes: [UInt8], name: String = "memory buffer", options: OpenOptions = OpenOptions()) throws {
        try self.init(opening: name, options) { _, opts, out, err, len in
            bytes.withUnsafeBytes { mcinr_open_memory_ex($0.baseAddress, $0.count, opts, out, err, len) }
        }
    }

    private init(opening name: String, _ options: OpenOptions,
                 _ open: (String, UnsafePointer<mcinr_decode_options>, UnsafeMutablePointer<OpaquePointer?>,
                          UnsafeMutablePointer<CChar>, Int) -> mcinr_status) throws {
        var out: OpaquePointer?
        var err = [CChar](repeating: 0, count: 1024)
        var opts = mcinr_decode_options()
        mcinr_decode_options_init(&opts)
        opts.num_threads = Int32(clamping: max(1, options.threads))
        opts.trust_large_files = options.trustLargeFiles ? 1 : 0
        opts.validate_residual = options.validateResidual ? 1 : 0
        let box = options.progress.map(ProgressBox.init)
        if let box {
            opts.user_data = Unmanaged.passUnretained(box).toOpaque()
            opts.progress = Self.progressTrampoline
        }
        let status = withExtendedLifetime(box) {
            err.withUnsafeMutableBufferPointer { open(name, &opts, &out, $0.baseAddress!, $0.count) }
        }
        guard status == MCINR_OK, let model = out else {
            var message = String(cString: err)
            // mcinr_open_memory names the source "memory buffer"; say which one.
            if name != "memory buffer", message.hasPrefix("memory buffer: ") {
                message = name + ": " + message.dropFirst("memory buffer: ".count)
            }
            throw MCIError(status: status, message: message)
        }
        handle = model
        source = name
    }

    deinit { mcinr_close(handle) }

    // MARK: - Queries

    public var formatVersion: (major: Int, minor: Int) {
        var major: UInt16 = 0, minor: UInt16 = 0
        mcinr_format_version(handle, &major, &minor)
        return (Int(major), Int(minor))
    }

    public var variables: [MCIVariable] {
        (0..<mcinr_num_variables(handle)).map {
            MCIVariable(name: String(cString: mcinr_variable_name(handle, $0)),
                        components: mcinr_variable_components(handle, $0))
        }
    }

    /// The component indices of a variable (e.g. `velocity` → [0, 1, 2]), nil if unknown.
    public func componentIndices(ofVariable name: String) -> [Int]? {
        guard let v = variables.firstIndex(where: { $0.name == name }) else { return nil }
        let first = firstComponent(ofVariable: v)
        return Array(first..<(first + variables[v].components))
    }

    /// Index of a variable's first component among all components.
    public func firstComponent(ofVariable v: Int) -> Int { mcinr_variable_first_component(handle, v) }

    public var componentCount: Int { mcinr_num_components(handle) }

    /// `velocity_x`, …, `pressure`, … (same rule as `MCIModel.componentNames`).
    public var componentNames: [String] {
        MCIModel.componentNames(of: variables)
    }

    public var componentRanges: [ClosedRange<Double>] {
        (0..<componentCount).map { c in
            var lo = 0.0, hi = 0.0
            mcinr_component_range(handle, c, &lo, &hi)
            return lo...hi
        }
    }

    public var times: [Double] {
        Array(UnsafeBufferPointer(start: mcinr_times(handle), count: mcinr_num_times(handle)))
    }

    public var bounds: (min: [Double], max: [Double]) {
        var lo = [Double](repeating: 0, count: 3), hi = lo
        mcinr_bounds(handle, &lo, &hi)
        return (lo, hi)
    }

    public var timeInterval: ClosedRange<Double> {
        var lo = 0.0, hi = 0.0
        mcinr_time_interval(handle, &lo, &hi)
        return lo...hi
    }

    public var trainingPointCount: UInt64 { mcinr_training_num_points(handle) }
    public var trainingCellCount: UInt64 { mcinr_training_num_cells(handle) }
    public var rawFieldBytes: UInt64 { mcinr_raw_field_bytes(handle) }
    /// Bytes of all network tensors as stored (the paper's model size).
    public var weightBytes: UInt64 { mcinr_weight_bytes(handle) }
    public var networkCount: Int { mcinr_num_networks(handle) }
    public var metadataJSON: String { String(cString: mcinr_metadata_json(handle)) }

    public var treeNodes: [MCITreeNode] {
        (0..<mcinr_num_tree_nodes(handle)).map { i in
            var c = [Double](repeating: 0, count: 3)
            var parent: Int32 = 0, c0: Int32 = 0, c1: Int32 = 0, net: Int32 = 0
            mcinr_tree_node(handle, i, &c, &parent, &c0, &c1, &net)
            return MCITreeNode(centroid: c, parent: parent, child0: c0, child1: c1, network: net)
        }
    }
    public var topLevelCount: Int { mcinr_num_tree_top(handle) }

    /// Leaf network a point (original coordinates) is routed to.
    public func route(_ xyz: [Double]) -> Int {
        precondition(xyz.count == 3, "route needs x, y, z")
        return mcinr_route(handle, xyz)
    }

    /// The SEAM section's blend margin (normalised coordinates); nil without one.
    public var seamMargin: Double? { let m = mcinr_seam_margin(handle); return m > 0 ? m : nil }

    /// The leaf network of each point of `points` (x, y, z per point, original coordinates).
    public func routes(points: [Double]) -> [Int32] {
        precondition(points.count % 3 == 0, "routes needs x, y, z per point")
        return points.withUnsafeBufferPointer { p in
            (0 ..< p.count / 3).map { Int32(truncatingIfNeeded: mcinr_route(handle, p.baseAddress! + 3 * $0)) }
        }
    }

    // MARK: - Error-bounded mode

    /// True if the model carries residuals (RESIDUAL section): `decodeMesh` at a stored step is
    /// then within `residualMaxErrors` of the training data.
    public var hasResidual: Bool { mcinr_has_residual(handle) != 0 }
    /// E_c per component, nil without a residual.
    public var residualMaxErrors: [Double]? {
        guard hasResidual else { return nil }
        return (0..<componentCount).map { c in
            var e = 0.0
            mcinr_residual_max_error(handle, c, &e)
            return e
        }
    }
    /// Bytes of the RESIDUAL section (0 without one).
    public var residualBytes: UInt64 { mcinr_residual_bytes(handle) }
    /// True if `decodeMesh(time:)` adds the residual at this time.
    public func residualApplies(time: Double) -> Bool { mcinr_residual_applies(handle, time) != 0 }

    // MARK: - Mesh

    public var hasMesh: Bool { mcinr_has_mesh(handle) != 0 }
    public var meshPointCount: Int { mcinr_mesh_num_points(handle) }
    public var meshCellCount: Int { mcinr_mesh_num_cells(handle) }
    public var meshConnectivitySize: Int { mcinr_mesh_connectivity_size(handle) }

    /// The embedded mesh. Throws `MCIError.noMesh` without one.
    public func mesh(threads: Int = 1) throws -> MCIMesh {
        guard hasMesh else { throw MCIError.noMesh("\(source): the file has no embedded mesh") }
        return meshCodingIsChunked ? try meshFromChunks(threads: threads) : try meshFromWholeDecode()
    }

    /// The mesh through the decoder's own whole-mesh arrays (MESH: decoded at open; MESHC: decoded
    /// now and kept by the decoder, so the mesh is then held twice).
    func meshFromWholeDecode() throws -> MCIMesh {
        let connectivitySize = mcinr_mesh_connectivity_size(handle)
        try Self.checkAllocation(meshPointCount, of: (Double, Double, Double).self, "the mesh's \(meshPointCount) points",
                                 source: source)
        try Self.checkAllocation(meshCellCount, of: (UInt8, Int64).self, "the mesh's \(meshCellCount) cells", source: source)
        try Self.checkAllocation(connectivitySize, of: Int64.self, "the mesh's connectivity", source: source)
        try decodeWholeMesh()  // MESHC: decoded on first use; its errors thrown here
        var points = [Double](repeating: 0, count: 3 * meshPointCount)
        var types = [UInt8](repeating: 0, count: meshCellCount)
        // decoded straight into the Int arrays MCIMesh keeps (Int is 64-bit here): no
        // Int64 copy of a mesh of hundreds of MB
        var offsets = [Int](repeating: 0, count: meshCellCount + 1)
        var connectivity = [Int](repeating: 0, count: connectivitySize)
        let status = offsets.withUnsafeMutableBufferPointer { o in
            connectivity.withUnsafeMutableBufferPointer { c in
                o.withMemoryRebound(to: Int64.self) { o64 in
                    c.withMemoryRebound(to: Int64.self) { c64 in
                        mcinr_mesh_cells(handle, &types, o64.baseAddress, c64.baseAddress)
                    }
                }
            }
        }
        guard mcinr_mesh_points(handle, &points) == MCINR_OK, status == MCINR_OK else {
            throw MCIError.format("\(source): the embedded mesh cannot be read")
        }
        let precision = MCIMesh.PointPrecision(rawValue: UInt8(mcinr_mesh_point_type(handle))) ?? .float64
        return MCIMesh(points: points, pointPrecision: precision, cellTypes: types,
                       cellOffsets: offsets, connectivity: connectivity)
    }

    /// Decodes the whole embedded mesh now if it is not yet: an open checks a MESHC section's
    /// chunk table but decodes its chunks on first use (`mesh()`, `decodeMesh`), every chunk
    /// once, on `threads` threads (nil: the open's). Throws `MCIError.format` naming the file
    /// and the chunk for a malformed one (`MCIError.noMesh` without a mesh).
    public func decodeWholeMesh(threads: Int? = nil) throws {
        guard hasMesh else { throw MCIError.noMesh("\(source): the file has no embedded mesh") }
        var options = mcinr_decode_options()
        mcinr_decode_options_init(&options)
        options.num_threads = Int32(clamping: max(1, threads ?? 1))
        var err = [CChar](repeating: 0, count: 1024)
        let status = threads == nil ? mcinr_mesh_decode(handle, nil, &err, err.count)
                                    : mcinr_mesh_decode(handle, &options, &err, err.count)
        guard status == MCINR_OK else { throw MCIError(status: status, message: named(String(cString: err))) }
    }

    /// A message of the C decoder about this model, "memory buffer" replaced by `source`.
    private func named(_ message: String) -> String {
        source != "memory buffer" && message.hasPrefix("memory buffer: ")
            ? source + ": " + message.dropFirst("memory buffer: ".count) : message
    }

    /// Stored bytes of the mesh section (MESH or MESHC), 0 without a mesh.
    public var meshBytes: Int { Int(mcinr_mesh_bytes(handle)) }
    /// Chunks of the embedded mesh that decode independently (MESHC, format 1.3); a MESH type 5
    /// file has one, the whole mesh; 0 without a mesh.
    public var meshChunkCount: Int { mcinr_mesh_num_chunks(handle) }
    /// True if the mesh is stored in MESHC chunks (format 1.3), false for MESH (type 5) or none.
    public var meshCodingIsChunked: Bool { mcinr_mesh_coding(handle) == 8 }
    /// Boxes per axis of the MESHX index of a chunked mesh (format 1.5), nil without one.
    public var meshIndexBoxes: [Int]? {
        var boxes = [Int](repeating: 0, count: 3)
        return mcinr_mesh_index(handle, &boxes) != 0 ? boxes : nil
    }

    /// Chunk `k` of the mesh: the global ids of its points (indices into `mesh().points`) and a
    /// mesh of those points and the chunk's cells (connectivity over chunk-local indices).
    public func meshChunk(_ k: Int) throws -> (pointIDs: [Int64], mesh: MCIMesh) {
        guard hasMesh else { throw MCIError.noMesh("\(source): the file has no embedded mesh") }
        var n = 0, c = 0, e = 0
        guard mcinr_mesh_chunk_sizes(handle, k, &n, &c, &e) == MCINR_OK else {
            throw MCIError.argument("\(source): mesh chunk \(k) of \(meshChunkCount)")
        }
        var ids = [Int64](repeating: 0, count: n), points = [Double](repeating: 0, count: 3 * n)
        var types = [UInt8](repeating: 0, count: c), offsets = [Int64](repeating: 0, count: c + 1)
        var connectivity = [Int64](repeating: 0, count: e)
        var err = [CChar](repeating: 0, count: 512)
        let status = mcinr_mesh_chunk(handle, k, &ids, &points, &types, &offsets, &connectivity, &err, err.count)
        guard status == MCINR_OK else { throw MCIError(status: status, message: named(String(cString: err))) }
        let precision = MCIMesh.PointPrecision(rawValue: UInt8(mcinr_mesh_point_type(handle))) ?? .float64
        return (ids, MCIMesh(points: points, pointPrecision: precision, cellTypes: types, cellOffsets: offsets,
                             connectivity: connectivity))
    }

    /// The MESHC mesh assembled chunk by chunk (`threads` chunks at a time) into the arrays
    /// `MCIMesh` keeps, so that the decoder never holds a whole copy of its own: the same points
    /// and cells, in the same order, as the whole-mesh decode, with its checks across chunks
    /// (every point listed, the same coordinates wherever a point is listed). Each chunk is
    /// decoded straight into its range of the cell arrays (the C decoder also works in them), so
    /// a chunk holds only its point ids and coordinates of its own until they are put at their
    /// ids, in chunk order.
    func meshFromChunks(threads: Int) throws -> MCIMesh {
        let n = meshPointCount, cellCount = meshCellCount, connectivitySize = mcinr_mesh_connectivity_size(handle)
        let chunks = meshChunkCount
        try Self.checkAllocation(n, of: (Double, Double, Double, Bool).self, "the mesh's \(n) points", source: source)
        try Self.checkAllocation(cellCount + chunks, of: (UInt8, Int).self, "the mesh's \(cellCount) cells", source: source)
        try Self.checkAllocation(connectivitySize, of: Int.self, "the mesh's connectivity", source: source)
        let layout = try chunkLayout()
        var types = [UInt8](repeating: 0, count: cellCount)
        // A chunk's offsets (its cells + 1, VTK style, from 0) are decoded at cellStart[k] + k,
        // one entry past the previous chunk's, so that chunks decoded at once never write the
        // same entry; each is moved to its place (made global) in chunk order, and the k − 1
        // entries left over at the end are dropped.
        var offsets = [Int](repeating: 0, count: cellCount + chunks)
        var connectivity = [Int](repeating: 0, count: connectivitySize)
        let points = try types.withUnsafeMutableBufferPointer { typesOut in
            try offsets.withUnsafeMutableBufferPointer { offsetsOut in
                try connectivity.withUnsafeMutableBufferPointer { connectivityOut in
                    try decodeChunks(threads: threads, layout: layout, cells: { k in
                        ChunkCells(types: typesOut.baseAddress.map { $0 + layout.cellStart[k] },
                                   offsets: offsetsOut.baseAddress! + layout.cellStart[k] + k,
                                   connectivity: connectivityOut.baseAddress.map { $0 + layout.entryStart[k] })
                    }, placed: { k in
                        let from = layout.cellStart[k] + k
                        for q in 0 ... layout.cellStart[k + 1] - layout.cellStart[k] {
                            offsetsOut[layout.cellStart[k] + q] = layout.entryStart[k] + offsetsOut[from + q]
                        }
                    })
                }
            }
        }
        offsets.removeLast(max(0, chunks - 1))
        return MCIMesh(points: points, pointPrecision: meshPointPrecision, cellTypes: types, cellOffsets: offsets,
                       connectivity: connectivity)
    }

    /// The embedded mesh's cells handed over in order a run at a time (a chunk of a MESHC mesh,
    /// `threads` chunks decoded at a time; a MESH mesh whole): `visit(types, endOffsets,
    /// connectivity)` with VTK's offsets without the leading 0 over the whole mesh's
    /// connectivity, and global point ids. The same cells, in the same order, as `mesh()`, with
    /// its checks; the cells are never in memory whole. Returns the points.
    public func meshCells(threads: Int = 1,
                          visit: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int>) throws -> Void)
        throws -> (points: [Double], precision: MCIMesh.PointPrecision) {
        guard hasMesh else { throw MCIError.noMesh("\(source): the file has no embedded mesh") }
        guard meshCodingIsChunked else {
            let mesh = try meshFromWholeDecode()
            try mesh.cellTypes.withUnsafeBufferPointer { t in
                try mesh.cellOffsets.withUnsafeBufferPointer { o in
                    try mesh.connectivity.withUnsafeBufferPointer { c in try visit(t, UnsafeBufferPointer(rebasing: o.dropFirst()), c) }
                }
            }
            return (mesh.points, mesh.pointPrecision)
        }
        try Self.checkAllocation(meshPointCount, of: (Double, Double, Double, Bool).self, "the mesh's \(meshPointCount) points",
                                 source: source)
        let layout = try chunkLayout()
        // each chunk of a wave in memory of its own, handed over and released in chunk order
        var decoded: [Int: (types: UnsafeMutableBufferPointer<UInt8>, offsets: UnsafeMutableBufferPointer<Int>,
                            connectivity: UnsafeMutableBufferPointer<Int>)] = [:]
        defer {
            for chunk in decoded.values {
                chunk.types.deallocate(); chunk.offsets.deallocate(); chunk.connectivity.deallocate()
            }
        }
        let points = try decodeChunks(threads: threads, layout: layout, cells: { k in
            let c = layout.cellStart[k + 1] - layout.cellStart[k], e = layout.entryStart[k + 1] - layout.entryStart[k]
            let chunk = (types: UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, c)),
                         offsets: UnsafeMutableBufferPointer<Int>.allocate(capacity: c + 1),
                         connectivity: UnsafeMutableBufferPointer<Int>.allocate(capacity: max(1, e)))
            decoded[k] = chunk
            return ChunkCells(types: chunk.types.baseAddress, offsets: chunk.offsets.baseAddress!,
                              connectivity: chunk.connectivity.baseAddress)
        }, placed: { k in
            guard let chunk = decoded.removeValue(forKey: k) else { return }
            defer { chunk.types.deallocate(); chunk.offsets.deallocate(); chunk.connectivity.deallocate() }
            let c = layout.cellStart[k + 1] - layout.cellStart[k], e = layout.entryStart[k + 1] - layout.entryStart[k]
            for q in 1 ..< c + 1 { chunk.offsets[q] += layout.entryStart[k] }
            try visit(UnsafeBufferPointer(rebasing: chunk.types[0 ..< c]), UnsafeBufferPointer(rebasing: chunk.offsets[1 ..< c + 1]),
                      UnsafeBufferPointer(rebasing: chunk.connectivity[0 ..< e]))
        })
        return (points, meshPointPrecision)
    }

    private var meshPointPrecision: MCIMesh.PointPrecision {
        MCIMesh.PointPrecision(rawValue: UInt8(mcinr_mesh_point_type(handle))) ?? .float64
    }

    /// Where each MESHC chunk's cells go in the whole mesh: chunk k's cells are [cellStart[k],
    /// cellStart[k + 1]), its entries [entryStart[k], entryStart[k + 1]) (the open checked the
    /// chunk table's sums; checked again against the mesh's counts).
    private struct ChunkLayout {
        var cellStart = [0], entryStart = [0], pointCounts: [Int] = []
    }

    private func chunkLayout() throws -> ChunkLayout {
        var layout = ChunkLayout()
        let chunks = meshChunkCount
        for k in 0 ..< chunks {
            var p = 0, c = 0, e = 0
            guard mcinr_mesh_chunk_sizes(handle, k, &p, &c, &e) == MCINR_OK else {
                throw MCIError.argument("\(source): mesh chunk \(k) of \(chunks)")
            }
            layout.pointCounts.append(p)
            layout.cellStart.append(layout.cellStart[k] + c)
            layout.entryStart.append(layout.entryStart[k] + e)
        }
        guard layout.cellStart[chunks] == meshCellCount, layout.entryStart[chunks] == mcinr_mesh_connectivity_size(handle) else {
            throw MCIError.format("\(source): the mesh chunks hold \(layout.cellStart[chunks]) cells, the mesh announces \(meshCellCount)")
        }
        return layout
    }

    /// Where a chunk's cells are decoded: its types, offsets (its cells + 1, from 0) and
    /// connectivity entries (made global point ids).
    private struct ChunkCells {
        var types: UnsafeMutablePointer<UInt8>?, offsets: UnsafeMutablePointer<Int>, connectivity: UnsafeMutablePointer<Int>?
    }

    /// The MESHC chunks decoded `threads` at a time, chunk k into the memory `cells(k)` gives
    /// (asked in chunk order, before its wave is decoded), with the whole decode's checks across
    /// chunks (every point listed, the same coordinates wherever a point is listed): the points
    /// are put at their ids in chunk order, and `placed(k)` is called once chunk k's are.
    /// Returns the points.
    private func decodeChunks(threads: Int, layout: ChunkLayout, cells: (Int) -> ChunkCells,
                              placed: (Int) throws -> Void) throws -> [Double] {
        let n = meshPointCount, chunks = layout.pointCounts.count, width = max(1, threads)
        var points = [Double](repeating: 0, count: 3 * n), listed = [Bool](repeating: false, count: n)
        func bad(_ k: Int, _ what: String) -> MCIError { .format("\(source): mesh chunk \(k): \(what)") }
        for wave in stride(from: 0, to: chunks, by: width) {
            let ks = Array(wave ..< min(chunks, wave + width))
            let into = ks.map(cells)
            var decoded = [Result<DecodedChunk, Error>?](repeating: nil, count: ks.count)
            let lock = NSLock()
            DispatchQueue.concurrentPerform(iterations: ks.count) { i in
                let k = ks[i]
                let r = Result {
                    try self.decodeChunk(k, points: layout.pointCounts[k], cells: layout.cellStart[k + 1] - layout.cellStart[k],
                                         types: into[i].types, offsets: into[i].offsets, connectivity: into[i].connectivity,
                                         entries: layout.entryStart[k + 1] - layout.entryStart[k])
                }
                lock.lock(); decoded[i] = r; lock.unlock()
            }
            for (i, k) in ks.enumerated() {
                let chunk = try decoded[i]!.get()
                decoded[i] = nil
                for (j, g) in chunk.ids.enumerated() {
                    guard g >= 0, g < n else { throw bad(k, "point id \(g) of a mesh of \(n) points") }
                    let p = Int(g)
                    if listed[p] {
                        for a in 0..<3 where points[3 * p + a].bitPattern != chunk.xyz[3 * j + a].bitPattern {
                            throw bad(k, "point \(p) has other coordinates than in an earlier chunk")
                        }
                    } else {
                        listed[p] = true
                        for a in 0..<3 { points[3 * p + a] = chunk.xyz[3 * j + a] }
                    }
                }
                if let local = chunk.badReference {
                    throw bad(k, "a cell refers to point \(local) of \(chunk.ids.count)")
                }
                try placed(k)
            }
        }
        if let missing = listed.firstIndex(of: false) {
            throw MCIError.format("\(source): mesh point \(missing) is in no chunk")
        }
        return points
    }

    /// A chunk decoded by `decodeChunk`: its points' global ids and coordinates, and the first
    /// connectivity entry that is not one of its points (nil: none).
    private struct DecodedChunk {
        var ids: [Int64], xyz: [Double]
        var badReference: Int64?
    }

    /// Decodes chunk `k` (`points` points, `cells` cells, `entries` connectivity entries): its
    /// types, offsets (from 0) and connectivity into the given memory, the connectivity as
    /// global point ids.
    private func decodeChunk(_ k: Int, points: Int, cells: Int, types: UnsafeMutablePointer<UInt8>?,
                             offsets: UnsafeMutablePointer<Int>, connectivity: UnsafeMutablePointer<Int>?,
                             entries: Int) throws -> DecodedChunk {
        var ids = [Int64](repeating: 0, count: points), xyz = [Double](repeating: 0, count: 3 * points)
        var err = [CChar](repeating: 0, count: 512)
        let status = offsets.withMemoryRebound(to: Int64.self, capacity: cells + 1) { o in
            func decode(_ c: UnsafeMutablePointer<Int64>?) -> mcinr_status {
                mcinr_mesh_chunk(handle, k, &ids, &xyz, types, o, c, &err, err.count)
            }
            guard let connectivity else { return decode(nil) }
            return connectivity.withMemoryRebound(to: Int64.self, capacity: entries) { decode($0) }
        }
        guard status == MCINR_OK else { throw MCIError(status: status, message: named(String(cString: err))) }
        var chunk = DecodedChunk(ids: ids, xyz: xyz)
        if let connectivity {
            ids.withUnsafeBufferPointer { ids in
                for q in 0 ..< entries {
                    let local = connectivity[q]
                    guard local >= 0, local < ids.count else { chunk.badReference = Int64(local); return }
                    connectivity[q] = Int(ids[local])
                }
            }
        }
        return chunk
    }

    // MARK: - Decoding

    /// Decodes components at points (xyz interleaved, original coordinates) and time `time`.
    /// Returns points × components floats, point-major, de-normalised. `components` nil: all.
    /// `progress` is called on the calling thread with a fraction; return false to stop
    /// (the call then throws `MCIError.aborted`).
    public func decode(points: [Double], time: Double, components: [Int]? = nil, threads: Int = 1,
                       progress: ((Double) -> Bool)? = nil) throws -> [Float] {
        guard points.count % 3 == 0 else {
            throw MCIError.argument("\(source): decode needs xyz triples, got \(points.count) values")
        }
        return try run(count: points.count / 3, components: components, threads: threads, progress: progress) {
            comps, nc, out, opts, err, len in
            points.withUnsafeBufferPointer {
                mcinr_decode(handle, $0.baseAddress, points.count / 3, time, comps, nc, out, opts, err, len)
            }
        }
    }

    /// Decodes at every embedded mesh point (same layout as `decode`). In an error-bounded
    /// model at a stored time (exactly one of `times`), the residual is added unless
    /// `networkOnly`: every value is then within `residualMaxErrors` of the training data.
    public func decodeMesh(time: Double, components: [Int]? = nil, threads: Int = 1, networkOnly: Bool = false,
                           progress: ((Double) -> Bool)? = nil) throws -> [Float] {
        guard hasMesh else { throw MCIError.noMesh("\(source): the file has no embedded mesh") }
        return try run(count: meshPointCount, components: components, threads: threads, networkOnly: networkOnly,
                       progress: progress) {
            comps, nc, out, opts, err, len in
            mcinr_decode_mesh(handle, time, comps, nc, out, opts, err, len)
        }
    }

    private final class ProgressBox {
        let callback: (Double) -> Bool
        init(_ callback: @escaping (Double) -> Bool) { self.callback = callback }
    }

    /// mcinr_progress_fn over a ProgressBox passed as user_data: non-zero (stop) when the
    /// callback returns false.
    private static let progressTrampoline: mcinr_progress_fn = { user, fraction in
        let box = Unmanaged<ProgressBox>.fromOpaque(user!).takeUnretainedValue()
        return box.callback(fraction) ? 0 : 1
    }

    /// `count` values of `T` for `what`, checked before Swift allocates them: an overflowing
    /// size or one that malloc cannot provide throws instead of ending the process (Swift's
    /// allocator stops the process when an allocation fails).
    static func checkAllocation<T>(_ count: Int, of type: T.Type, _ what: String, source: String) throws {
        let (bytes, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        guard count >= 0, !overflow, let probe = malloc(max(1, bytes)) else {
            throw MCIError.outOfMemory("\(source): \(what) needs \(count) values of \(MemoryLayout<T>.stride) bytes, "
                                       + "more memory than this process can allocate")
        }
        free(probe)
    }

    private func run(count: Int, components: [Int]?, threads: Int, networkOnly: Bool = false,
                     progress: ((Double) -> Bool)?,
                     _ call: (UnsafePointer<Int>?, Int, UnsafeMutablePointer<Float>?,
                              UnsafePointer<mcinr_decode_options>, UnsafeMutablePointer<CChar>, Int) -> mcinr_status) throws -> [Float] {
        if let c = components, let bad = c.first(where: { $0 < 0 || $0 >= componentCount }) {
            throw MCIError.argument("\(source): component \(bad) is out of range (the model has \(componentCount))")
        }
        let nc = components?.count ?? componentCount
        let (values, overflow) = count.multipliedReportingOverflow(by: nc)
        guard !overflow else {
            throw MCIError.outOfMemory("\(source): \(count) points × \(nc) components overflow")
        }
        try Self.checkAllocation(values, of: Float.self, "decoding \(count) points × \(nc) components", source: source)
        var out = [Float](repeating: 0, count: values)
        if out.isEmpty { return out }
        let comps = components ?? []
        var err = [CChar](repeating: 0, count: 1024)
        let box = progress.map(ProgressBox.init)
        var options = mcinr_decode_options()
        mcinr_decode_options_init(&options)
        options.num_threads = Int32(clamping: max(1, threads))
        options.network_only = networkOnly ? 1 : 0
        if let box {
            options.user_data = Unmanaged.passUnretained(box).toOpaque()
            options.progress = Self.progressTrampoline
        }
        let status = withExtendedLifetime(box) {
            comps.withUnsafeBufferPointer { cp in
                out.withUnsafeMutableBufferPointer { op in
                    err.withUnsafeMutableBufferPointer { ep in
                        call(components == nil ? nil : cp.baseAddress, components == nil ? 0 : nc,
                             op.baseAddress, &options, ep.baseAddress!, ep.count)
                    }
                }
            }
        }
        guard status == MCINR_OK else { // a malformed residual stream or mesh chunk: the decoder names the file
            let message = named(String(cString: err))
            throw MCIError(status: status, message: message.hasPrefix(source + ": ") ? message : "\(source): " + message)
        }
        return out
    }
}
