import Foundation

/// One `<DataSet>` entry of a .pvd collection.
public struct PVDEntry: Equatable, Sendable {
    public var time: Double
    public var file: URL
}

/// Reads a time series (.pvd collection, or a list of .vtu files) into one `Dataset`.
public enum DatasetReader {
    /// A `.pvd` collection or a single `.vtu` file (a one-step dataset).
    /// `progress(done, total)` is called as steps are read.
    public static func read(_ url: URL, progress: ((Int, Int) -> Void)? = nil) throws -> Dataset {
        try readSeries(SeriesStream(url), progress: progress)
    }

    /// The steps listed in a .pvd, relative paths resolved against its folder, sorted by time.
    /// Every referenced file must exist.
    public static func pvdEntries(_ url: URL) throws -> [PVDEntry] {
        let file = url.path
        let root = try LightXML.parseVTKFile(url, type: "Collection")
        guard let collection = root.child("Collection") else { throw MeshIOError.missingSection(file: file, section: "Collection") }
        let folder = url.deletingLastPathComponent()
        var entries: [PVDEntry] = []
        for (i, d) in collection.children("DataSet").enumerated() {
            guard let name = d.attributes["file"], !name.isEmpty else {
                throw MeshIOError.malformedXML(file: file, detail: "<DataSet> \(i) has no file attribute")
            }
            let timeText = d.attributes["timestep"] ?? "\(i)"
            guard let t = Double(timeText.trimmingCharacters(in: .whitespaces)), t.isFinite else {
                throw MeshIOError.malformedXML(file: file, detail: "<DataSet> \(i) has timestep=\"\(timeText)\", not a number")
            }
            let target = name.hasPrefix("/") ? URL(fileURLWithPath: name) : folder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: target.path) else {
                throw MeshIOError.missingReferencedFile(pvd: file, referenced: name)
            }
            entries.append(PVDEntry(time: t, file: target))
        }
        let times = entries.map(\.time)
        if Set(times).count != times.count {
            throw MeshIOError.malformedXML(file: file, detail: "several DataSets share a timestep (multi-part collections are not supported)")
        }
        return entries.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
    }

    /// Reads `files` as consecutive steps. `times` defaults to each file's `TimeValue` field
    /// data when every file has one, else 0, 1, 2, …; steps are sorted by time. Only the first
    /// file's mesh is kept; the others must match it (counts and a point checksum) and hold
    /// the same arrays. Steps are decoded two at a time at most (`SeriesStream`).
    public static func readSeries(_ files: [URL], times: [Double]? = nil,
                                  progress: ((Int, Int) -> Void)? = nil) throws -> Dataset {
        try readSeries(SeriesStream(files: files, times: times), progress: progress)
    }

    /// The steps of an open stream, read into one dataset. After `releaseCells()` the dataset's
    /// mesh has the points only, and no cell data.
    public static func readSeries(_ stream: SeriesStream, progress: ((Int, Int) -> Void)?) throws -> Dataset {
        let files = stream.files
        var steps: [VTUFile] = []
        steps.reserveCapacity(stream.stepCount)
        progress?(0, stream.stepCount)
        try stream.forEachStep { _, step in
            steps.append(step)
            progress?(steps.count, stream.stepCount)
        }
        func variables(_ arrays: [SeriesStream.ArrayInfo], _ pick: (VTUFile) -> [NamedArray]) -> [Variable] {
            arrays.map { a in
                Variable(name: a.name, components: a.components,
                         values: steps.map { pick($0).first { $0.name == a.name }?.values ?? [] }, sourceType: a.sourceType)
            }
        }
        do {
            return try Dataset(mesh: stream.mesh, times: stream.times,
                               variables: variables(stream.pointArrays, \.pointArrays),
                               cellVariables: stream.cellsReleased ? [] : variables(stream.cellArrays, \.cellArrays))
        } catch MeshIOError.invalidName(_, let name, let reason) {
            throw MeshIOError.invalidName(file: files[0].path, name: name, reason: reason)
        }
    }
}

/// A time series read one step at a time: the mesh (decoded once, from the first file), the
/// array list and every step's time are known when it opens; `step(_:)` decodes one step's
/// arrays, checked against the first file. What a reader of 10⁸ point·steps needs: memory for
/// the steps it holds, never for the whole series.
public final class SeriesStream: @unchecked Sendable {
    public struct ArrayInfo: Equatable, Sendable {
        public var name: String
        public var components: Int
        public var sourceType: VTKScalarType?

        static func of(_ arrays: [NamedArray]) -> [ArrayInfo] {
            arrays.map { ArrayInfo(name: $0.name, components: $0.components, sourceType: $0.sourceType) }
        }
    }

    /// What of the first file's cells a stream keeps.
    public enum CellReading: Sendable {
        /// None: they are counted, not decoded (a process that trains on the points only).
        case none
        /// The cells in `mesh`.
        case mesh
        /// The cells as `CompactCells`, outside `mesh` (`takeCompactCells`): a reader that
        /// only walks them (a ground truth compared with a model).
        case compact
    }

    /// The first file's mesh (its points only, without cells, when opened with cells `.none`
    /// or `.compact`, or after `releaseCells()`).
    public private(set) var mesh: Mesh
    /// The cells when opened with `.compact`, until taken.
    private var compactCells: CompactCells?
    /// True after `releaseCells()`.
    public private(set) var cellsReleased = false
    /// Cells of the mesh, also when they were not decoded.
    public var cellCount: Int { reference.cellCount }
    /// Step times, ascending.
    public let times: [Double]
    /// The files in time order.
    public let files: [URL]
    public let pointArrays: [ArrayInfo]
    public let cellArrays: [ArrayInfo]
    public var stepCount: Int { files.count }

    private let reference: (file: URL, pointCount: Int, cellCount: Int, checksum: UInt64)
    private let lock = NSLock()
    /// The first file's arrays, decoded with its mesh; handed out once.
    private var cachedFirst: (index: Int, file: VTUFile)?

    /// A `.pvd` collection or a single `.vtu` file.
    public convenience init(_ url: URL, cells: CellReading = .mesh) throws {
        if url.pathExtension.lowercased() == "pvd" {
            let entries = try DatasetReader.pvdEntries(url)
            guard !entries.isEmpty else { throw MeshIOError.emptySeries(file: url.path) }
            try self.init(files: entries.map(\.file), times: entries.map(\.time), cells: cells)
        } else {
            try self.init(files: [url], cells: cells)  // a .vtu, or a .pvtu (pieces merged: PVTUReader)
        }
    }

    /// `files` as consecutive steps; `times` as in `DatasetReader.readSeries`; `cells` says what
    /// of the cells is kept.
    public init(files unordered: [URL], times given: [Double]? = nil, cells: CellReading = .mesh) throws {
        guard let firstURL = unordered.first else { throw MeshIOError.emptySeries(file: "(empty file list)") }
        if let t = given, t.count != unordered.count {
            throw MeshIOError.inconsistentStep(file: firstURL.path, detail: "\(t.count) times for \(unordered.count) files")
        }
        let first = try StepFileReader.readFile(firstURL, mode: cells == .mesh ? .full : cells == .compact ? .compactCells : .points)
        var stepTimes: [Double]
        if let t = given {
            stepTimes = t
        } else if unordered.count == 1 {
            stepTimes = [first.file.fieldData["TimeValue"]?.first ?? 0]
        } else {
            // Each file's TimeValue, from its field data alone (the arrays are decoded later).
            var values = [first.file.fieldData["TimeValue"]?.first]
            for url in unordered.dropFirst() {
                values.append(try StepFileReader.readFile(url, mode: .fieldData).file.fieldData["TimeValue"]?.first)
            }
            let found = values.compactMap { $0 }
            stepTimes = found.count == values.count ? found : unordered.indices.map(Double.init)
        }
        let order = stepTimes.indices.sorted { (stepTimes[$0], $0) < (stepTimes[$1], $1) }
        files = order.map { unordered[$0] }
        times = order.map { stepTimes[$0] }
        mesh = first.file.mesh
        pointArrays = ArrayInfo.of(first.file.pointArrays)
        cellArrays = ArrayInfo.of(first.file.cellArrays)
        reference = (firstURL, first.pointCount, first.cellCount, first.pointChecksum)
        cachedFirst = (order.firstIndex(of: 0)!, first.file)
        compactCells = first.compactCells
    }

    /// Keeps the points and gives up the cells (also the first file's copy): a reader that took
    /// what it needs from them (an encoder that coded them) then reads the steps without them.
    public func releaseCells() {
        _ = takeCells()
    }

    /// `releaseCells`, handing the mesh with its cells to the caller, which then holds the only
    /// copy of them (and may release them piece by piece).
    public func takeCells() -> Mesh {
        lock.lock(); defer { lock.unlock() }
        let pointsOnly = Mesh(points: mesh.points, cellTypes: [], offsets: [0], connectivity: [], pointPrecision: mesh.pointPrecision)
        let whole = mesh
        mesh = pointsOnly
        cachedFirst?.file.mesh = pointsOnly
        cachedFirst?.file.cellArrays = []
        cellsReleased = true
        return whole
    }

    /// The cells as `CompactCells`, handed to the caller (the stream then holds the points only):
    /// those read when opened with `.compact`, else the mesh's cells compacted (and released).
    public func takeCompactCells() throws -> CompactCells {
        lock.lock()
        let read = compactCells
        compactCells = nil
        lock.unlock()
        if let read { return read }
        try CompactCells.requireAddressable(pointCount: mesh.pointCount, file: reference.file.path)
        return CompactCells(takeCells())
    }

    /// The arrays of step `index` (time order), checked against the first file: same point
    /// and cell counts, same coordinates, same arrays. Its mesh is not decoded (empty).
    public func step(_ index: Int) throws -> VTUFile {
        lock.lock()
        if let cached = cachedFirst, cached.index == index {
            cachedFirst = nil
            lock.unlock()
            return cached.file
        }
        lock.unlock()
        let url = files[index], path = url.path, name = reference.file.lastPathComponent
        let read = try StepFileReader.readFile(url, mode: .arrays)
        guard read.pointCount == reference.pointCount else {
            throw MeshIOError.inconsistentStep(file: path, detail: "\(read.pointCount) points, the first step (\(name)) has \(reference.pointCount)")
        }
        guard read.cellCount == reference.cellCount else {
            throw MeshIOError.inconsistentStep(file: path, detail: "\(read.cellCount) cells, the first step (\(name)) has \(reference.cellCount)")
        }
        guard read.pointChecksum == reference.checksum else {
            throw MeshIOError.inconsistentStep(file: path, detail: "point coordinates differ from the first step (\(name))")
        }
        func signature(_ arrays: [ArrayInfo]) -> [String] { arrays.map { "\($0.name)(\($0.components))" }.sorted() }
        guard signature(ArrayInfo.of(read.file.pointArrays)) == signature(pointArrays) else {
            throw MeshIOError.inconsistentStep(file: path, detail: "point arrays \(signature(ArrayInfo.of(read.file.pointArrays))), the first step has \(signature(pointArrays))")
        }
        guard signature(ArrayInfo.of(read.file.cellArrays)) == signature(cellArrays) else {
            throw MeshIOError.inconsistentStep(file: path, detail: "cell arrays \(signature(ArrayInfo.of(read.file.cellArrays))), the first step has \(signature(cellArrays))")
        }
        return read.file
    }

    /// Every step in time order, decoded two at a time on two cores (one on one), handed to
    /// `body` in order; at most two decoded steps are alive besides what `body` keeps.
    public func forEachStep(_ body: (Int, VTUFile) throws -> Void) throws {
        let width = min(2, ProcessInfo.processInfo.activeProcessorCount)
        var next = 0
        while next < stepCount {
            let batch = next ..< min(stepCount, next + width)
            var results = [Result<VTUFile, Error>?](repeating: nil, count: batch.count)
            let lock = NSLock()
            DispatchQueue.concurrentPerform(iterations: batch.count) { k in
                let r = Result { try self.step(batch.lowerBound + k) }
                lock.lock(); results[k] = r; lock.unlock()
            }
            for (k, r) in results.enumerated() { try body(batch.lowerBound + k, r!.get()) }
            next = batch.upperBound
        }
    }
}
