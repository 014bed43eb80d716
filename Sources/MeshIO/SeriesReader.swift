import Foundation

/// One `<DataSet>` entry of a .pvd collection.
public struct PVDEntry: Equatable, Sendable {
    public var time: Double
    public var file: URL
}

/// Reads a time series (.pvd collection, or a list of .vtu files) into one `Dataset`.
public enum DatasetReader {
    /// A `.pvd` collection or a single `.vtu` file (a one-step dataset).
    public static func read(_ url: URL) throws -> Dataset {
        if url.pathExtension.lowercased() == "pvd" { return try readPVD(url) }
        return try readSeries([url])
    }

    public static func readPVD(_ url: URL) throws -> Dataset {
        let entries = try pvdEntries(url)
        guard !entries.isEmpty else { throw MeshIOError.emptySeries(file: url.path) }
        return try readSeries(entries.map(\.file), times: entries.map(\.time))
    }

    /// The steps listed in a .pvd, relative paths resolved against its folder, sorted by time.
    /// Every referenced file must exist.
    public static func pvdEntries(_ url: URL) throws -> [PVDEntry] {
        let file = url.path
        let bytes = try VTUReader.loadBytes(url)
        let root = try LightXML.parse(bytes, range: 0..<bytes.count, file: file)
        guard root.name == "VTKFile", root.attributes["type"] == "Collection" else {
            throw MeshIOError.wrongFileType(file: file, expected: "Collection",
                                            found: root.name == "VTKFile" ? root.attributes["type"] ?? "" : root.name)
        }
        guard root.closed else { throw MeshIOError.truncated(file: file, detail: "the XML ends before </VTKFile>") }
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
    /// the same arrays.
    public static func readSeries(_ files: [URL], times: [Double]? = nil) throws -> Dataset {
        guard !files.isEmpty else { throw MeshIOError.emptySeries(file: "(empty file list)") }
        if let t = times, t.count != files.count {
            throw MeshIOError.inconsistentStep(file: files[0].path, detail: "\(t.count) times for \(files.count) files")
        }
        // Decode in parallel (each file is independent); errors are reported for the first failing file.
        var results = [Result<(file: VTUFile, cellCount: Int), Error>?](repeating: nil, count: files.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: files.count) { i in
            let r = Result { try VTUReader.readFile(files[i], decodeCells: i == 0) }
            lock.lock(); results[i] = r; lock.unlock()
        }
        var steps: [VTUFile] = []
        var cellCounts: [Int] = []
        for r in results {
            guard let r else { continue }
            let v = try r.get()
            steps.append(v.file)
            cellCounts.append(v.cellCount)
        }
        let first = steps[0]
        let checksum = first.mesh.pointChecksum
        func signature(_ arrays: [NamedArray]) -> [String] { arrays.map { "\($0.name)(\($0.components))" }.sorted() }
        for i in 1..<max(1, steps.count) {
            let s = steps[i], path = files[i].path
            guard s.mesh.pointCount == first.mesh.pointCount else {
                throw MeshIOError.inconsistentStep(file: path, detail: "\(s.mesh.pointCount) points, the first step (\(files[0].lastPathComponent)) has \(first.mesh.pointCount)")
            }
            guard cellCounts[i] == first.mesh.cellCount else {
                throw MeshIOError.inconsistentStep(file: path, detail: "\(cellCounts[i]) cells, the first step (\(files[0].lastPathComponent)) has \(first.mesh.cellCount)")
            }
            guard s.mesh.pointChecksum == checksum else {
                throw MeshIOError.inconsistentStep(file: path, detail: "point coordinates differ from the first step (\(files[0].lastPathComponent))")
            }
            guard signature(s.pointArrays) == signature(first.pointArrays) else {
                throw MeshIOError.inconsistentStep(file: path, detail: "point arrays \(signature(s.pointArrays)), the first step has \(signature(first.pointArrays))")
            }
            guard signature(s.cellArrays) == signature(first.cellArrays) else {
                throw MeshIOError.inconsistentStep(file: path, detail: "cell arrays \(signature(s.cellArrays)), the first step has \(signature(first.cellArrays))")
            }
        }
        var stepTimes: [Double]
        if let t = times {
            stepTimes = t
        } else {
            let tv = steps.compactMap { $0.fieldData["TimeValue"]?.first }
            stepTimes = tv.count == steps.count ? tv : steps.indices.map(Double.init)
        }
        let order = stepTimes.indices.sorted { (stepTimes[$0], $0) < (stepTimes[$1], $1) }
        func variables(_ pick: (VTUFile) -> [NamedArray]) -> [Variable] {
            pick(first).map { a in
                Variable(name: a.name, components: a.components,
                         values: order.map { s in pick(steps[s]).first { $0.name == a.name }?.values ?? [] },
                         sourceType: a.sourceType)
            }
        }
        do {
            return try Dataset(mesh: first.mesh, times: order.map { stepTimes[$0] },
                               variables: variables(\.pointArrays), cellVariables: variables(\.cellArrays))
        } catch MeshIOError.invalidName(_, let name, let reason) {
            throw MeshIOError.invalidName(file: files[0].path, name: name, reason: reason)
        }
    }
}
