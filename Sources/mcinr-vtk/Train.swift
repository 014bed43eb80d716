import ModelDescription
import ArgumentParser
import Foundation
import INRCore
import MCIFormat
import MCINR
import MeshIO

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode a simulation time series (.pvd, or .vtu files) as an MC-INR model (.mci).",
        discussion: """
        The point-data variables are normalised, the domain is clustered (k-means), each cluster gets a small branched sine network (one branch per component), initialised by meta-learning and trained; clusters whose error stays above --threshold are split. The .mci holds the model and, unless --no-mesh, the mesh, so ParaView needs nothing else.

        Defaults suit a CPU: the width is chosen so that the weights are 100× smaller than the fields (--ratio), K grows with the data size, and training stops on a plateau or after --time-budget seconds.

        Examples:
          mcinr-vtk train run/flow.pvd -o flow.mci
          mcinr-vtk train run/flow.pvd -o flow.mci --ratio 50 --time-budget 1800
          mcinr-vtk train run/flow.pvd -o t.mci --variables temperature,velocity
          mcinr-vtk train step_*.vtu -o flow.mci --method siren --width 128
        """)

    @Argument(help: "A .pvd time series, one .vtu, or several .vtu files (one per time step).")
    var inputs: [String]
    @Option(name: .shortAndLong, help: "The .mci file to write.") var output: String
    @OptionGroup var variables: VariableSelection
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Training") var training: TrainingOptions
    @OptionGroup(title: "Storage") var storage: StorageOptions
    @Flag(name: .customLong("replace-nonfinite"),
          help: "Replace NaN/Inf input values by the component's mean instead of refusing the input.")
    var replaceNonFinite = false
    /// Measurement aid (docs/benchmarks/weights.md): after training, decode the model in every
    /// weight encoding and print PSNR and stored sizes for each.
    @Flag(name: .customLong("compare-weight-encodings"), help: .hidden) var compareWeightEncodings = false
    /// Measurement aid (docs/benchmarks/error-bounded-capacity.md): after an error-bounded
    /// encode, the same networks with the residual at each of these relative bounds (sizes and
    /// ratios as JSON; nothing more is written).
    @Option(name: .customLong("compare-bounds"), help: .hidden, transform: { try parseBounds($0) })
    var compareBounds: [Double]?
    @Flag(name: .shortAndLong, help: "No progress output.") var quiet = false
    @Flag(help: "Print the final summary as JSON.") var json = false

    func validate() throws {
        guard output.lowercased().hasSuffix(".mci") else { throw ValidationError("-o: the output file must end in .mci") }
        try model.validate()
        try training.validate()
        try storage.validate()
    }

    func run() throws {
        installInterruptHandler()
        // Under mpirun / srun: MPI, bound at run time (one process otherwise, as before).
        let communicator = try MPICommunicator.start()
        defer { communicator?.finalize() }
        if let communicator, communicator.size > 1 {
            runDistributed(communicator)  // exits; ends the job on any rank's error
        }
        let outURL = URL(fileURLWithPath: output)
        let outDir = outURL.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: outDir.path, isDirectory: &isDir), isDir.boolValue,
              FileManager.default.isWritableFile(atPath: outDir.path) else {
            throw CLIError("\(outDir.path): cannot write there (missing or not writable folder)")
        }
        var storageOptions = EncodeOptions()
        storage.apply(to: &storageOptions)
        let (prepared, codedMesh, medianEdge) = try preparedDataset(coding: storageOptions)
        var dataset = prepared
        var options = EncodeOptions(training: try model.config(for: dataset, medianEdge: medianEdge))
        training.apply(to: &options.training)
        storage.apply(to: &options)
        let reporter = TerminalProgressRenderer(mode: quiet ? .quiet : .automatic)
        let (pointCount, stepCount) = (dataset.pointCount, dataset.stepCount)
        // The fields held once from here on (the dataset gives them up), and released by the
        // encoder before it writes.
        var data = TrainingData(draining: &dataset)
        if let codedMesh { data.cellCount = codedMesh.cellCount }
        let summary = try Encoder.encode(consume data, mesh: dataset.takeMesh(), codedMesh: codedMesh?.payload, to: outURL,
                                         options: options, reporter: reporter)
        if compareWeightEncodings {
            try printWeightEncodingComparison(summary.result, TrainingData(dataset: try preparedDataset()), threads: options.threads)
        }
        if let bounds = compareBounds {
            try printBoundComparison(summary, try preparedDataset(), bounds: bounds, options: options)
        }
        if json {
            try printJSON(summary.jsonObject(output: output))
        } else {
            printSummary(summary, pointCount: pointCount, stepCount: stepCount)
        }
    }

    /// The input series with the selected variables, non-finite values handled as asked.
    private func preparedDataset() throws -> Dataset { try preparedDataset(coding: nil).dataset }

    /// The median normalised cell edge of `mesh` when the seam margin comes from it (`auto`,
    /// the default); nil otherwise, or by default for a mesh without cell edges (no blending).
    func medianEdgeForSeams(_ mesh: Mesh) throws -> Double? {
        guard model.seamMargin.measuresEdges else { return nil }
        guard let edge = mesh.medianNormalisedEdgeLength, edge > 0 else {
            if model.seamMargin == .auto {
                throw CLIError("\(inputs[0]): --seam-margin auto measures the cells, and the first file has none with an edge; give the margin as a number")
            }
            if !quiet { note("\(inputs[0]) has no cells with an edge: the networks are not blended at their boundaries (--seam-margin M blends them)") }
            return nil
        }
        return edge
    }

    /// The same; when `options` embed the mesh as MESHC (the default), the mesh is
    /// coded when the series opens, before its steps are read, and its cells released: reading
    /// and training then hold the fields, not the mesh (10⁷ points: hundreds of MB).
    private func preparedDataset(coding options: EncodeOptions?) throws
        -> (dataset: Dataset, codedMesh: (payload: [UInt8], cellCount: Int)?, medianEdge: Double?) {
        let stream = try openSeries(inputs)
        let medianEdge = try medianEdgeForSeams(stream.mesh)  // before the cells are released
        let progress = StepProgress(quiet: quiet)
        var codedMesh: (payload: [UInt8], cellCount: Int)?
        var cells = stream.mesh.cellDescription
        if let perChunk = options?.cellsPerChunkCodedBeforeTraining {
            let phase = "coding the mesh (\(cells))"
            progress.update(phase, fraction: 0, after: 0)
            let payload = try MCIWriter.meshPayload(MCIMesh(stream.mesh), cellsPerChunk: perChunk) { done, total in
                progress.update(phase, fraction: Double(done) / Double(total), after: 0)
            }
            codedMesh = (payload, stream.cellCount)
            stream.releaseCells()
            cells += ", coded"
        }
        var dataset = try DatasetReader.readSeries(stream, progress: { progress.update("reading", done: $0, total: $1) })
        if let names = variables.names { dataset = try dataset.selectingVariables(names) }
        let nonFinite = dataset.nonFiniteValues()
        if let first = nonFinite.first {
            let total = nonFinite.reduce(0) { $0 + $1.count }
            let place = "variable '\(first.variable)' at time step \(first.step) (t = \(dataset.times[first.step]))"
            guard replaceNonFinite else {
                throw CLIError("\(inputs[0]): \(total) NaN/Inf value(s), first in \(place); pass --replace-nonfinite to replace them by the component's mean")
            }
            note("note: replaced \(total) NaN/Inf value(s) (first in \(place)) by the component's mean")
            dataset = dataset.replacingNonFinite()
        }
        guard dataset.componentCount > 0 else { throw CLIError("\(inputs[0]): no point-data variables to train on") }
        if !stream.cellArrays.isEmpty && !quiet {  // the stream's list: released with the cells
            note("note: cell data (\(stream.cellArrays.map(\.name).joined(separator: ", "))) is carried in the input but not encoded")
        }
        if !quiet { note(dataset.summary(cells: cells)) }
        dataset.cellVariables = []  // not trained: no need to hold them
        return (dataset, codedMesh, medianEdge)
    }

    func printSummary(_ summary: EncodeSummary, pointCount: Int, stepCount: Int) {
        let result = summary.result, names = result.componentNames
        if let m = summary.metrics { print(metricsTable(m, names: names)) }
        print("model: \(result.config.method.rawValue), \(result.networks.count) networks (\(result.tree.topCount) clusters, \(result.keptSplitCount) splits), width \(result.config.width)\(productsNote(result)), trained in \(fmt(result.seconds, 1)) s")
        if let margin = result.recordedSeamMargin {
            print("seams: neighbouring networks blended within \(fmt(margin, 4)) of their boundaries (normalised)"
                  + (result.config.seamBlendedFraction.map { ", at most \(Int(($0 * 100).rounded())) % of the points" } ?? "")
                  + "; each trained on its band to \(fmt(result.config.bandMargin ?? margin, 4))")
        }
        if let budget = result.budgetReport() { print(budget.summaryLine) }
        print("sizes: raw fields \(formatBytes(UInt64(result.rawFieldBytes))), weights \(formatBytes(summary.weightBytes)) (\(summary.weightEncoding.shortName)), file \(formatBytes(summary.fileBytes))")
        if summary.networkChoices.count > 1 {
            let tried = summary.networkChoices.map {
                "width \($0.width) × \($0.networks): \(formatBytes(UInt64($0.storedBytes))), network alone \(fmt($0.networkPSNR)) dB"
            }
            print("network chosen: width \(result.architecture.width), the fewest bytes of weights + residual (\(tried.joined(separator: "; ")))")
        }
        if summary.weightChoices.count > 1 {
            let tried = summary.weightChoices.map { "\($0.encoding.shortName) \(formatBytes(UInt64($0.storedBytes)))" }
            print("weights chosen: \(summary.weightEncoding.shortName), the fewest bytes of weights + residual (\(tried.joined(separator: ", ")))")
        }
        if let b = summary.bounded {
            let worst = b.achievedMaxError.indices.max { b.achievedMaxError[$0] / b.maxErrors[$0] < b.achievedMaxError[$1] / b.maxErrors[$1] } ?? 0
            print("error bound: max |err| \(sci(b.achievedMaxError[worst])) ≤ bound \(sci(b.maxErrors[worst])) (\(names[worst]), the tightest component) at every mesh point and step; network alone: \(sci(b.networkMaxError[worst])), PSNR \(fmt(b.networkMetrics.meanPSNR)) dB")
            print("residual: \(formatBytes(UInt64(b.residualBytes))) (\(b.nonZeroIndices) non-zero indices, \(b.escapes) exact values of \(pointCount * stepCount * names.count); streams predicted from the previous step \(b.predictorUse[2] + b.predictorUse[3]), from mesh neighbours \(b.predictorUse[1] + b.predictorUse[3]), by a fitted linear predictor \(b.predictorUse[4...].reduce(0, +)) (\(b.predictorUse[5...].reduce(0, +)) of them through the neighbours' plane, \(b.predictorUse[6...].reduce(0, +)) blending several predictions, \(b.predictorUse[7]) of those with the quadratic), reading the next block's first step \(b.anchoredStreams), range-coded \(b.rangeCodedStreams), quantising the data itself \(b.dataStreams) of \(b.predictorUse.reduce(0, +)))")
            print("compression ratio: \(fmt(summary.ratioFields, 1))× (fields / (weights + residual)), \(fmt(summary.ratioWeights, 1))× (fields / weights alone), \(fmt(summary.ratioFile, 1))× (fields / whole file, mesh included)")
        } else {
            print("compression ratio: \(fmt(summary.ratioWeights, 1))× (fields / weights, as in the paper), \(fmt(summary.ratioFile, 1))× (fields / whole file\(summary.embedsMesh ? ", mesh included" : ""))")
        }
        print("wrote \(output)")
    }
}

/// `--seam-margin`: a number, `auto` (from the cell edges) or `none`; nil (not given) is `auto`
/// where the mesh has cell edges, else none.
enum SeamMargin: ExpressibleByArgument, Equatable {
    case fixed(Double)
    case auto
    case off  // `none` (not `.none`, which an optional SeamMargin already means)

    init?(argument: String) {
        switch argument {
        case "auto": self = .auto
        case "none": self = .off
        default: if let m = Double(argument) { self = .fixed(m) } else { return nil }
        }
    }
}

extension Optional where Wrapped == SeamMargin {
    /// Whether the margin comes from the mesh's cell edges.
    var measuresEdges: Bool { self == nil || self == .auto }
}

/// What the networks are: method, clusters, size, splits.
struct ModelOptions: ParsableArguments {
    @Option(help: "mcinr (clustered, default) or a single-network baseline.") var method: MCINRConfig.Method = .mcinr
    @Option(help: "Number of k-means clusters K (default: one per ~200 000 point-steps, 1 … 20).") var clusters: Int?
    @Option(help: "Target compression ratio (raw fields / weights, counted at float32); the network width is chosen to fit it. --weights f16 / int8 then store about 2× / 3.5× fewer bytes.")
    var ratio: Double = 100
    @Option(help: "Network width (neurons per layer); overrides --ratio.") var width: Int?
    @Option(name: .customLong("trunk-blocks"), help: "ResBlocks in the shared trunk (CoordNetB).") var trunkBlocks: Int?
    @Option(name: .customLong("branch-blocks"), help: "ResBlocks in each per-component branch (CoordNetB).") var branchBlocks: Int?
    @Option(name: .customLong("encoding-frequencies"),
            help: "Positional-encoding frequencies L of the network input: sin and cos of 2^k π x for k < L, per coordinate in each cluster's box (default \(MCINRConfig().peFrequencies); \(NetworkDescription.peFrequencyRange.lowerBound) … \(NetworkDescription.peFrequencyRange.upperBound); more resolve finer detail, each adds 8 inputs; not with --method siren, which reads raw coordinates).")
    var encodingFrequencies: Int?
    @Option(help: "Frequency factor ω0 of the first sine layer (default \(Int(MCINRConfig().omega0))).") var omega0: Float?
    @Option(name: .customLong("max-splits"), help: "Cap on the number of cluster splits (each adds a network).") var maxSplits: Int?
    @Option(help: "Split a cluster whose normalised MSE stays above this value.") var threshold: Double?
    @Option(name: .customLong("split-gain"),
            help: "Keep a split only if the model's PSNR rose by this many dB per doubling of the network count (default 2; 0 keeps every split).")
    var splitGain: Double?
    @Flag(name: .customLong("no-recluster"), help: "Never split clusters.") var noRecluster = false
    @Option(name: .customLong("seam-margin"),
            help: "Blend neighbouring networks within this distance of their boundary (normalised coordinates, the bounding box is [-1, 1]); each network trains on a band \(MCINRConfig.defaultSeamBandFactor)× as wide beyond its boundary: no visible seams. 'auto' (default): \(MCINRConfig.seamMarginInEdges) median cell edges, narrowed until at most \(Int(MCINRConfig.autoSeamBlendedFraction * 100)) % of the points are blended (each costs the decoder a second network); 'none': no blending (older readers, faster decode). See docs/benchmarks/seams.md.")
    var seamMargin: SeamMargin?
    @Option(name: .customLong("seam-epochs"), help: "Epochs of a last round on the final clusters' bands (default 200, at most 15 % of the --max-epochs cap; with --time-budget it gets the budget's last 15 %).")
    var seamEpochs: Int?
    @Option(name: .customLong("seam-band-factor"),
            help: "How far beyond its boundary each network trains, in seam margins (default \(MCINRConfig.defaultSeamBandFactor); 1: only where it is blended).")
    var seamBandFactor: Double?

    func validate() throws {
        guard ratio.isFinite && ratio > 0 else { throw ValidationError("--ratio must be a positive number") }
        if case .fixed(let m) = seamMargin, !(m > 0 && m <= 2) { throw ValidationError("--seam-margin must be in (0, 2], auto or none") }
        if let e = seamEpochs, e < 0 { throw ValidationError("--seam-epochs must be 0 or more") }
        if let f = seamBandFactor, !(f >= 1 && f <= 10) { throw ValidationError("--seam-band-factor must be in [1, 10]") }
        if let g = splitGain, !(g.isFinite && g >= 0) { throw ValidationError("--split-gain must be 0 or more dB") }
        let frequencies = NetworkDescription.peFrequencyRange
        if let l = encodingFrequencies, !frequencies.contains(l) {
            throw ValidationError("--encoding-frequencies must be in \(frequencies.lowerBound) … \(frequencies.upperBound)")
        }
        if encodingFrequencies != nil && method == .siren {
            throw ValidationError("--encoding-frequencies: --method siren reads raw coordinates (no positional encoding)")
        }
        if let w = omega0, !(w.isFinite && w > 0) { throw ValidationError("--omega0 must be a positive number") }
    }

    /// The configuration of `method` with these choices; K from the data size unless given;
    /// `medianEdge`: the mesh's median normalised cell edge (the `auto` seam margin needs it).
    func config(for dataset: Dataset, medianEdge: Double?) throws -> MCINRConfig {
        try config(points: dataset.pointCount, steps: dataset.stepCount, medianEdge: medianEdge)
    }

    func config(points: Int, steps: Int, medianEdge: Double?) throws -> MCINRConfig {
        var config = MCINRConfig.baseline(method)
        config.clusters = clusters ?? MCINRConfig.automaticClusters(points: points, steps: steps)
        if let v = width { config.width = v } else { config.targetCompressionRatio = ratio }
        if let v = trunkBlocks { config.trunkBlocks = v }
        if let v = branchBlocks { config.branchBlocks = v }
        if let v = encodingFrequencies { config.peFrequencies = v }
        if let v = omega0 { config.omega0 = v }
        if let v = maxSplits { config.maxSplits = v }
        if let v = threshold { config.splitThreshold = v }
        if let v = splitGain { config.splitGainPerDoubling = v }
        config.noRecluster = noRecluster
        switch seamMargin {
        case .fixed(let m): config.seamMargin = m
        case .auto, nil:  // not given: auto where the mesh has cell edges, else no blending
            guard let edge = medianEdge, edge > 0 else {
                if seamMargin == .auto { throw CLIError("--seam-margin auto: no cell edge measured") }
                break
            }
            config.seamMargin = min(2, MCINRConfig.seamMarginInEdges * edge)
            config.seamBlendedFraction = MCINRConfig.autoSeamBlendedFraction
        case .off: config.seamMargin = nil
        }
        config.seamEpochs = seamEpochs
        if let f = seamBandFactor { config.seamBandFactor = f }
        return config
    }
}

/// How long and how the networks train.
struct TrainingOptions: ParsableArguments {
    @Option(name: .customLong("max-epochs"), help: "Epoch cap of each cluster's training (default: none under --time-budget, else 300).") var maxEpochs: Int?
    @Option(name: .customLong("meta-steps"), help: "Outer steps of meta-learning (0 disables it).") var metaSteps: Int?
    @Option(name: .customLong("learning-rate"), help: "Adam learning rate of the main training.") var learningRate: Float?
    @Option(name: .customLong("batch-size"), help: "Mini-batch size.") var batchSize: Int?
    @Option(name: .customLong("time-budget"),
            help: "Wall-clock limit for training in seconds (0: none). Runs that stop on their own earlier are deterministic; a run cut by the budget depends on machine speed.")
    var timeBudget: Double = 600
    @Option(name: .customLong("budget-decay"),
            help: "Share of each cluster's time budget at its end over which the learning rate anneals (cosine, to 1/20); 0: off.")
    var budgetDecay: Double?
    @Option(help: "Training threads (default: all cores).") var threads: Int?
    @Option(help: ArgumentHelp("Arithmetic of the hidden layers' matrix products in training: auto (per cluster: bf16 where the CPU has AVX512-BF16 and the time budget is too short for the cluster to converge, else fp32), fp32, or bf16 (bf16 products, fp32 sums).",
                               discussion: "The model stays fp32 and is evaluated in fp32; the layers reading the coordinates and the output layers always train in fp32. Measured: 1.3-1.7x faster epochs, the same PSNR per epoch within seed noise, but ~0.25 dB lower where a cluster converges well within its time. See docs/benchmarks/bf16.md and quality-scale.md."))
    var matmul: MatmulPrecision = MCINRConfig().matmul
    @Option(help: "Random seed. The same seed, input, thread count and --matmul (as resolved on this CPU) give the same file unless the time budget shapes training (stops clusters or, under --matmul auto, chooses bf16); --time-budget 0 makes runs repeatable.") var seed: UInt64 = 1
    @Flag(name: .customLong("no-meta"), help: "Skip meta-learning (random SIREN initialisation).") var noMeta = false

    func validate() throws {
        guard timeBudget.isFinite && timeBudget >= 0 else { throw ValidationError("--time-budget must be 0 or more seconds") }
        if let v = budgetDecay, !(v >= 0 && v <= 1) { throw ValidationError("--budget-decay must be between 0 and 1 (a share of the budget)") }
    }

    func apply(to config: inout MCINRConfig) {
        if let v = maxEpochs { config.maxEpochs = v }
        if let v = metaSteps { config.metaSteps = v }
        if let v = learningRate { config.learningRate = v }
        if let v = batchSize { config.batchSize = v }
        if let v = budgetDecay { config.budgetDecayShare = v }
        if let v = threads { config.threads = v }
        config.timeBudgetSeconds = timeBudget > 0 ? timeBudget : nil
        config.seed = seed
        config.noMeta = noMeta
        config.matmul = matmul
        if matmul == .bf16 && !MatmulPrecision.bf16Available {
            FileHandle.standardError.write("mcinr-vtk: --matmul \(matmul.rawValue): this CPU lacks AVX512-BF16; training in fp32\n"
                .data(using: .utf8)!)
        }
    }
}

/// How the model is stored: weight precision, mesh, error bound.
struct StorageOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How the weights are stored: auto, f32, f16 (half the bytes, negligible loss) or int8 (a quarter, some loss).",
                               discussion: "auto: f16; with --max-error/--max-rel-error, f16 or int8, whichever stores the weights and the residual in fewer bytes (both are tried). f32 writes .mci format 1.0, readable by every reader. f16 and int8 need format 1.1; their weights section is also zlib-compressed where that is smaller. See docs/benchmarks/weights.md."))
    var weights: WeightsChoice = .auto
    @Flag(name: .customLong("no-mesh"), help: "Do not embed the mesh in the .mci (smaller; ParaView then cannot open it alone).")
    var noMesh = false
    @Option(name: .customLong("mesh-coding"),
            help: ArgumentHelp("How the embedded mesh is stored: chunked (compact, format 1.3) or zlib (format 1.0 … 1.2, for older readers).",
                               discussion: "chunked: about 2.3–2.9 bytes per tetrahedron, in chunks of 65536 cells that decode independently; the cells come back chunk by chunk, not in the input's order (the points keep theirs). zlib: 6.8–8.4 bytes per tetrahedron, the cell order kept. See docs/benchmarks/mesh.md."))
    var meshCoding: MeshCodingChoice = .chunked
    @Option(name: .customLong("max-error"),
            help: "Error-bounded mode: every decoded value at a mesh point and stored step is within this absolute error of the data (same for every component).")
    var maxError: Double?
    @Option(name: .customLong("max-rel-error"),
            help: "Error-bounded mode with a bound relative to each component's range: E_c = R · (max_c − min_c).")
    var maxRelError: Double?
    @Flag(name: .customLong("smaller-network"), inversion: .prefixedNo,
          help: ArgumentHelp("Error-bounded mode: where the residual quantises the data itself in at least half of its streams, or the network's RMS error is at least twice the bound, also train a network 4× smaller (--ratio × 4, a quarter of --time-budget) and keep the smaller file (default on; --no-smaller-network keeps the --ratio network).",
                             discussion: "At tight bounds the residual hardly reads the network, whose weights then buy only the continuous model between stored steps: the smaller network makes such files 7–11 % smaller at 1e-3, the network alone (other times, off-mesh points) about 10 dB weaker. Costs a second training and residual where it applies; not with --width, nor under mpirun. See docs/benchmarks/error-bounded-capacity.md."))
    var smallerNetwork = true
    @Flag(name: .customLong("huber-loss"), inversion: .prefixedNo,
          help: ArgumentHelp("Error-bounded mode: train the network with Huber's loss at the bound instead of the MSE (default on; --no-huber-loss trains with the MSE).",
                             discussion: "Each output's error pulls the network quadratically up to the component's bound and with a constant force beyond it, so the parts the network cannot fit (fronts thinner than the mesh) no longer dominate its training: more values fall within the bound and the residual shrinks. See docs/benchmarks/error-bounded.md."))
    var huberLoss = true
    @Option(name: .customLong("huber-delta"),
            help: ArgumentHelp("Without a bound: train with Huber's loss at δ = this share of each component's range instead of the MSE (e.g. 1e-3; default: the MSE).",
                               discussion: "The loss error-bounded mode trains with, at a δ of your choice: errors the network cannot bring within δ (fronts thinner than the mesh) pull with a constant force instead of in proportion to their size. See docs/benchmarks/defaults.md."))
    var huberDelta: Double?

    func validate() throws {
        if maxError != nil && maxRelError != nil { throw ValidationError("give --max-error or --max-rel-error, not both") }
        for (flag, v) in [("--max-error", maxError), ("--max-rel-error", maxRelError)] {
            if let v, !(v.isFinite && v > 0) { throw ValidationError("\(flag) must be a positive number") }
        }
        if let v = huberDelta {
            guard v.isFinite && v > 0 else { throw ValidationError("--huber-delta must be a positive number") }
            guard maxError == nil && maxRelError == nil else {
                throw ValidationError("--huber-delta is for training without a bound: with --max-error/--max-rel-error, Huber's δ is the bound (--huber-loss)")
            }
        }
        if (maxError != nil || maxRelError != nil) && noMesh {
            throw ValidationError("--max-error/--max-rel-error store residuals at the mesh points and need the mesh: drop --no-mesh")
        }
    }

    func apply(to options: inout EncodeOptions) {
        if case .fixed(let encoding) = weights {
            options.weightEncoding = encoding
            options.boundedWeightAlternatives = []
        }
        options.embedMesh = !noMesh
        options.meshCoding = meshCoding == .chunked ? .standard : .zlib
        options.errorBound = maxError.map(MCIResidual.Bound.absolute) ?? maxRelError.map(MCIResidual.Bound.relative)
        // a fixed --width is the user's size; without a bound the network is the whole model
        options.triesSmallerNetwork = smallerNetwork && options.errorBound != nil && options.training.targetCompressionRatio != nil
        options.boundAwareLoss = huberLoss
        options.plainLossBound = huberDelta.map(MCIResidual.Bound.relative)
    }
}

/// `--weights`: an encoding, or `auto` (`EncodeOptions`' default and its choice with a bound).
enum WeightsChoice: Equatable, ExpressibleByArgument {
    case auto
    case fixed(MCIWeightEncoding)

    init?(argument: String) {
        if argument == "auto" {
            self = .auto
        } else if let encoding = MCIWeightEncoding(shortName: argument) {
            self = .fixed(encoding)
        } else {
            return nil
        }
    }

    var defaultValueDescription: String { "auto" }
    static var allValueStrings: [String] { ["auto"] + MCIWeightEncoding.allCases.map(\.shortName) }
}

/// `--mesh-coding`.
enum MeshCodingChoice: String, ExpressibleByArgument, CaseIterable { case chunked, zlib }

extension MCINRConfig.Method: ExpressibleByArgument {}
extension MatmulPrecision: ExpressibleByArgument {}


/// ", bf16 products" / ", bf16 products in 3 of 20 trainings" (auto's choices) for the model
/// line; empty for fp32.
func productsNote(_ result: PipelineResult) -> String {
    switch result.config.matmul {
    case .fp32: return ""
    case .bf16: return ", bf16 products"
    case .auto:
        let bf16 = result.clusters.filter { $0.training.matmul == .bf16 }.count
        return bf16 == 0 ? "" : ", bf16 products in \(bf16) of \(result.clusters.count) trainings"
    }
}

/// `--compare-weight-encodings`: one line per encoding with and without NETS compression.
func printWeightEncodingComparison(_ result: PipelineResult, _ data: TrainingData, threads: Int) throws {
    var rows: [[String]] = []
    var records: [[String: Any]] = []
    for encoding in MCIWeightEncoding.allCases {
        let metrics = try DecoderEvaluation.evaluate(result, data: data, threads: threads, weightEncoding: encoding)
        for compress in [false, true] {
            var model = try result.makeModel()
            model.weightEncoding = encoding
            model.compressNets = compress
            let bytes = try MCIWriter.encode(model)
            let decoder = try MCIDecoder(bytes: bytes, options: .ownOutput)
            let name = encoding.shortName + (compress ? "+zlib" : "")
            rows.append([name, fmt(metrics.meanPSNR, 3), sci(metrics.maxAbsError), "\(decoder.weightBytes)",
                         "\(bytes.count)", fmt(Double(result.rawFieldBytes) / Double(decoder.weightBytes), 1)])
            records.append(["weights": name, "mean_psnr": metrics.meanPSNR, "max_abs_error": metrics.maxAbsError,
                            "weight_bytes": decoder.weightBytes, "file_bytes_without_mesh": bytes.count,
                            "compression_ratio_weights": Double(result.rawFieldBytes) / Double(decoder.weightBytes)])
        }
    }
    print(table(["weights", "mean PSNR dB", "max |err|", "weight bytes", "file bytes (no mesh)", "ratio"], rows))
    try printJSON(["weight_encodings": records])
}

/// `--compare-bounds`: "1e-3,1e-4" → [0.001, 0.0001] (each finite and > 0).
func parseBounds(_ text: String) throws -> [Double] {
    try text.split(separator: ",").map { part in
        guard let v = Double(part.trimmingCharacters(in: .whitespaces)), v.isFinite, v > 0 else {
            throw ValidationError("--compare-bounds: '\(part)' is not a positive number")
        }
        return v
    }
}

/// `--compare-bounds`: the trained networks (as stored) with the residual at each relative
/// bound, one JSON object: per bound the residual and weight bytes, the ratio
/// fields / (weights + residual), and how many streams quantise the data.
func printBoundComparison(_ summary: EncodeSummary, _ dataset: Dataset, bounds: [Double], options: EncodeOptions) throws {
    let data = TrainingData(dataset: dataset)
    var stored = options
    stored.weightEncoding = summary.weightEncoding  // the file's (chosen with the bound)
    let model = try Encoder.makeModel(summary.result, mesh: MCIMesh(dataset.mesh), options: stored)
    var records: [[String: Any]] = []
    for r in bounds {
        let (_, report) = try Encoder.addResidual(model, data: data, bound: .relative(r), threads: options.threads, reporter: nil)
        let fields = Double(summary.rawFieldBytes), stored = Double(summary.weightBytes) + Double(report.residualBytes)
        records.append(["rel_bound": r, "residual_bytes": report.residualBytes, "weight_bytes": summary.weightBytes,
                        "compression_ratio_fields": fields / stored, "data_streams": report.dataStreams,
                        "streams": report.predictorUse.reduce(0, +), "network_mean_psnr": report.networkMetrics.meanPSNR])
    }
    try printJSON(["bound_comparison": records])
}

/// Ctrl-C: a clear message and exit status 130. The .mci is only ever written through a
/// temporary file renamed at the very end, so an interrupted run leaves no partial model.
func installInterruptHandler() {
    signal(SIGINT) { _ in
        let message = "\nmcinr-vtk: interrupted; no model was written\n"
        _ = message.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        _exit(130)
    }
    signal(SIGTERM) { _ in _exit(143) }
}

/// Ctrl-C during `export`: before any file is staged, exit at once (130); while a series is
/// being staged, ask it to stop, so its temporaries are removed and the old series stays
/// (`SeriesTransaction`); its commit runs with the signal blocked.
func installSeriesInterruptHandler() {
    signal(SIGINT) { _ in
        if SeriesTransaction.staging != 0 {
            SeriesTransaction.interruptRequested = 1
            return
        }
        let message = "\nmcinr-vtk: interrupted; nothing was written\n"
        _ = message.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        _exit(130)
    }
    signal(SIGTERM) { _ in
        if SeriesTransaction.staging != 0 { SeriesTransaction.interruptRequested = 1; return }
        _exit(143)
    }
}
