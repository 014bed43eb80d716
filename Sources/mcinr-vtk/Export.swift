import ArgumentParser
import Foundation
import MCIFormat
import MeshIO

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode a model to VTU files (one per time step, plus a .pvd), optionally with error maps.",
        discussion: """
        Arrays keep the original names (vector variables stay vectors). With --ground-truth, each variable gets an array <name>_abs_error = |decoded − ground truth| and the metrics go to OUTDIR/metrics.json. The model is continuous in space and time: --times may ask for any time, and --vti resamples it on a regular grid.

        Examples:
          mcinr-vtk export flow.mci --vtu decoded/
          mcinr-vtk export flow.mci --vtu decoded/ --ground-truth run/flow.pvd
          mcinr-vtk export flow.mci --vtu mid/ --times 5.5,7.25 --variables temperature
          mcinr-vtk export flow.mci --vti grid/ --image-data 128
        """)

    @Argument(help: "The .mci model file.") var model: String
    @Option(name: .customLong("vtu"), help: "Output folder for the .vtu files and the .pvd.") var outputFolder: String?
    @Option(name: .customLong("vti"), help: "Output folder for a regular-grid resampling (.vti per step + .pvd); needs --image-data.")
    var imageFolder: String?
    @Option(name: .customLong("image-data"),
            help: "Grid points per axis for --vti: NX,NY,NZ, or N for the longest axis (others in proportion).")
    var imageDimensions: String?
    @Option(help: "Comma-separated times to decode (default: the stored time steps, or the ground truth's).")
    var times: String?
    @OptionGroup var variables: VariableSelection
    @Option(name: .customLong("ground-truth"), help: "Original data (.pvd or .vtu): adds <name>_abs_error arrays and metrics.json.")
    var groundTruth: String?
    @Flag(name: .customLong("network-id"),
          help: "Also write network_id (Int32 per point): the network each point is routed to, to see the clusters.")
    var networkID = false
    @Flag(name: .customLong("include-ground-truth"), help: "Also write the ground-truth arrays as <name>_ground_truth.")
    var includeGroundTruth = false
    @OptionGroup var threads: DecoderThreads

    func validate() throws {
        guard (outputFolder == nil) != (imageFolder == nil) else {
            throw ValidationError("give one output: --vtu OUTDIR (on the mesh) or --vti OUTDIR --image-data DIMS (regular grid)")
        }
        if imageFolder != nil && imageDimensions == nil { throw ValidationError("--vti needs --image-data DIMS") }
        if imageFolder == nil && imageDimensions != nil { throw ValidationError("--image-data needs --vti OUTDIR") }
        if imageFolder != nil && groundTruth != nil { throw ValidationError("--ground-truth applies to --vtu exports only") }
        if includeGroundTruth && groundTruth == nil {
            throw ValidationError("--include-ground-truth needs --ground-truth INPUT")
        }
    }

    func run() throws {
        installSeriesInterruptHandler()
        do {
            try export()
        } catch MeshIOError.interrupted {
            note("mcinr-vtk: interrupted; the output folder holds what it held before")
            Foundation.exit(130)
        }
    }

    private func export() throws {
        let decoder = try openModel(model, limits: threads.limits, threads: threads.count)
        let threadCount = threads.count
        let requestedTimes = try times.map { list in
            try parseList(list).map { s -> Double in
                guard let t = Double(s), t.isFinite else { throw CLIError("--times: '\(s)' is not a finite number") }
                return t
            }
        }
        let stem = URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent
        if let imageFolder, let imageDimensions {
            let out = URL(fileURLWithPath: imageFolder, isDirectory: true)
            try prepareOutputFolder(out)
            try ImageExport(decoder: decoder, dimensions: imageDimensions, threads: threadCount,
                            variables: try selectedVariables(decoder))
                .write(times: requestedTimes ?? decoder.times, to: out, stem: stem)
            return
        }
        let out = URL(fileURLWithPath: outputFolder!, isDirectory: true)
        try prepareOutputFolder(out)
        let pvd = out.appendingPathComponent(stem + ".pvd")

        // One step decoded, compared and staged at a time; the series is committed whole.
        if let gtPath = groundTruth {
            let gt = try openSeries([gtPath], cells: .compact)
            let steps = try requestedTimes.map { wanted in
                try wanted.map { t -> Int in
                    guard let s = gt.times.firstIndex(where: { abs($0 - t) <= 1e-9 * max(1, abs(t)) }) else {
                        throw CLIError("--times: \(t) is not a time step of \(gtPath) (it has \(gt.times.map { "\($0)" }.joined(separator: ", ")))")
                    }
                    return s
                }
            } ?? Array(gt.times.indices)
            let series = try SeriesWriter(pvd: pvd, stepCount: steps.count, writer: VTUWriter(threads: threadCount))
            do {
                // The compared variables in the comparison's order, and their first column.
                var first = 0
                let layout = try selectedVariables(decoder).map { v -> (name: String, components: Int, first: Int) in
                    defer { first += decoder.variables[v].components }
                    return (decoder.variables[v].name, decoder.variables[v].components, first)
                }
                let nc = first
                let networkArray = networkID ? [Self.networkArray(decoder, points: gt.mesh.points)] : []
                // The comparison (its seam metric holds a copy of the cells) ends before the metrics
                // are serialised: serialising loads much of Foundation, which then does not add to
                // what the steps held.
                let (metricsObject, table) = try { () throws -> ([String: Any], String) in
                let cmp = try GroundTruthComparison(
                    decoder: decoder, groundTruth: gt, steps: steps, groundTruthPath: gtPath,
                    variableNames: variables.names, threads: threadCount, progress: StepProgress(),
                    // every step's file gets the mesh compressed now: the steps hold its points only
                    useCells: { cells in try series.prepare(cells: cells, points: gt.mesh.points, precision: gt.mesh.pointPrecision) }) { k, truth, decoded in
                        // Each array is compressed a block at a time from the two blocks and parked
                        // on disk before the next: a step holds its truth and its decoded values.
                        let n = gt.mesh.pointCount
                        var arrays = layout.map { v in
                            PendingArray(name: v.name, components: v.components, count: n * v.components) { range, out in
                                copyColumns(decoded, stride: nc, first: v.first, count: v.components, values: range, to: out)
                            }
                        }
                        for v in layout {
                            arrays.append(PendingArray(name: v.name + "_abs_error", components: v.components, count: n * v.components) { range, out in
                                copyColumns(decoded, stride: nc, first: v.first, count: v.components, values: range, to: out, minus: truth)
                            })
                            if includeGroundTruth {
                                arrays.append(PendingArray(name: v.name + "_ground_truth", components: v.components, count: n * v.components) { range, out in
                                    copyColumns(truth, stride: nc, first: v.first, count: v.components, values: range, to: out)
                                })
                            }
                        }
                        try series.stage(step: k, time: gt.times[steps[k]],
                                         pointArrays: arrays + networkArray.map(PendingArray.init))
                    }
                return (cmp.metricsJSON(model: decoder), cmp.metricsTable())
                }()
                let metrics = try JSONSerialization.data(withJSONObject: metricsObject, options: [.prettyPrinted, .sortedKeys])
                try series.commit(times: steps.map { gt.times[$0] }, companions: [(name: "metrics.json", data: metrics)])
                print(table)
            } catch {
                series.abort()
                throw error
            }
        } else {
            guard decoder.hasMesh else {
                throw CLIError("\(model): the model has no embedded mesh; pass --ground-truth INPUT to decode on the original mesh")
            }
            let selected = try selectedVariables(decoder)
            let stepTimes = requestedTimes ?? decoder.times
            let comps = selected.flatMap { v in (0..<decoder.variables[v].components).map { decoder.firstComponent(ofVariable: v) + $0 } }
            let series = try SeriesWriter(pvd: pvd, stepCount: stepTimes.count, writer: VTUWriter(threads: threadCount))
            let progress = StepProgress()
            do {
                // The mesh is compressed for every step's file before any step is decoded, its cells
                // as their chunks are decoded (never whole in memory): the steps need its points only.
                var points: [Double] = []
                if stepTimes.isEmpty {
                    points = try decoder.meshCells(threads: threadCount) { _, _, _ in }.points
                } else {
                    try series.prepare(cellCount: decoder.meshCellCount, connectivitySize: decoder.meshConnectivitySize) { stream in
                        let mesh = try decoder.meshCells(threads: threadCount) { types, endOffsets, connectivity in
                            try stream.append(types: types, endOffsets: endOffsets, connectivity: connectivity)
                        }
                        points = mesh.points
                        return (mesh.points, mesh.precision == .float32 ? .float32 : .float64)
                    }
                }
                let pointCount = points.count / 3
                let networkArray = networkID ? [Self.networkArray(decoder, points: points)] : []
                for (k, t) in stepTimes.enumerated() {
                    progress.update("decoding", done: k, total: stepTimes.count)
                    // at the points of the mesh assembled chunk by chunk, so that the decoder never
                    // decodes its own copy (the same points in the same order: decodeMesh's values)
                    let block = decoder.hasResidual
                        ? try decoder.decodeMesh(time: t, components: comps, threads: threadCount)
                        : try decoder.decode(points: points, time: t, components: comps, threads: threadCount)
                    var column = 0
                    let arrays = selected.map { v -> PendingArray in
                        let count = decoder.variables[v].components, first = column
                        defer { column += count }
                        return PendingArray(name: decoder.variables[v].name, components: count, count: pointCount * count) { range, out in
                            copyColumns(block, stride: comps.count, first: first, count: count, values: range, to: out)
                        }
                    }
                    try series.stage(step: k, time: t, pointArrays: arrays + networkArray.map(PendingArray.init))
                }
                progress.update("decoding", done: stepTimes.count, total: stepTimes.count)
                _ = try series.commit(times: stepTimes)
            } catch {
                series.abort()
                throw error
            }
        }
        note("wrote \(pvd.path)")
    }

    /// `network_id`: the leaf network of each point (the same at every step).
    static func networkArray(_ decoder: MCIDecoder, points: [Double]) -> NamedArray {
        NamedArray(name: "network_id", components: 1, values: decoder.routes(points: points).map(Float.init), sourceType: .int32)
    }

    private func selectedVariables(_ decoder: MCIDecoder) throws -> [Int] {
        try mcinr_vtk.selectedVariables(decoder, named: variables.names)
    }

}

/// Columns [first, first+count) of a point-major n × stride block, as an n × count block.
func extractColumns(_ block: [Float], stride: Int, first: Int, count: Int) -> [Float] {
    let values = block.count / max(stride, 1) * count
    var out = [Float](repeating: 0, count: values)
    out.withUnsafeMutableBufferPointer { if values > 0 { copyColumns(block, stride: stride, first: first, count: count, values: 0 ..< values, to: $0.baseAddress!) } }
    return out
}

/// Values `values` of columns [first, first+count) of a point-major n × stride block (as an
/// n × count block, point-major) to `out`; with `minus`, |block − minus| of the same columns.
func copyColumns(_ block: [Float], stride: Int, first: Int, count: Int, values: Range<Int>, to out: UnsafeMutablePointer<Float>,
                 minus: [Float]? = nil) {
    var j = 0
    if let minus {
        for v in values { let at = (v / count) * stride + first + v % count; out[j] = abs(block[at] - minus[at]); j += 1 }
    } else {
        for v in values { out[j] = block[(v / count) * stride + first + v % count]; j += 1 }
    }
}

/// Creates the folder if needed and checks that it is writable, before any decoding work.
func prepareOutputFolder(_ url: URL) throws {
    let fm = FileManager.default
    var isDir: ObjCBool = false
    if fm.fileExists(atPath: url.path, isDirectory: &isDir) {
        guard isDir.boolValue else { throw CLIError("\(url.path): exists and is not a folder") }
    } else {
        do { try fm.createDirectory(at: url, withIntermediateDirectories: true) }
        catch { throw CLIError("\(url.path): cannot create the output folder (\(error.localizedDescription))") }
    }
    guard fm.isWritableFile(atPath: url.path) else { throw CLIError("\(url.path): output folder is not writable") }
}

extension Mesh {
    /// A model's embedded mesh as a MeshIO mesh (same points, precision and cells).
    init(_ m: MCIMesh) {
        self.init(points: m.points, cellTypes: m.cellTypes, offsets: m.cellOffsets,
                  connectivity: m.connectivity,
                  pointPrecision: m.pointPrecision == .float32 ? .float32 : .float64)
    }
}
