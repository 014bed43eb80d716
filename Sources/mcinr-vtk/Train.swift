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
    @Option(help: "mcinr (clustered, default) or a single-network baseline: coordnetb, coordnet, siren.")
    var method: String = "mcinr"
    @Option(help: "Comma-separated point-data variables to keep (default: all).") var variables: String?
    @Option(help: "Number of k-means clusters K (default: one per ~200 000 point-steps, 1 … 20).") var clusters: Int?
    @Option(help: "Target compression ratio (raw fields / weights, counted at float32); the network width is chosen to fit it. --weights f16 / int8 then store about 2× / 3.5× fewer bytes.")
    var ratio: Double = 100
    @Option(help: "Network width (neurons per layer); overrides --ratio.") var width: Int?
    @Option(name: .customLong("trunk-blocks"), help: "ResBlocks in the shared trunk (CoordNetB).") var trunkBlocks: Int?
    @Option(name: .customLong("branch-blocks"), help: "ResBlocks in each per-component branch (CoordNetB).") var branchBlocks: Int?
    @Option(name: .customLong("max-splits"), help: "Cap on the number of cluster splits (each adds a network).") var maxSplits: Int?
    @Option(help: "Split a cluster whose normalised MSE stays above this value.") var threshold: Double?
    @Option(name: .customLong("split-gain"),
            help: "Keep a split only if the model's PSNR rose by this many dB per doubling of the network count (default 2; 0 keeps every split).")
    var splitGain: Double?
    @Option(name: .customLong("max-epochs"), help: "Epoch cap of each cluster's training (default: none under --time-budget, else 300).") var maxEpochs: Int?
    @Option(name: .customLong("meta-steps"), help: "Outer steps of meta-learning (0 disables it).") var metaSteps: Int?
    @Option(name: .customLong("learning-rate"), help: "Adam learning rate of the main training.") var learningRate: Float?
    @Option(name: .customLong("batch-size"), help: "Mini-batch size.") var batchSize: Int?
    @Option(name: .customLong("time-budget"),
            help: "Wall-clock limit for training in seconds (0: none). Runs that stop on their own earlier are deterministic; a run cut by the budget depends on machine speed.")
    var timeBudget: Double = 600
    @Option(help: "Training threads (default: all cores).") var threads: Int?
    @Option(help: "Random seed; the same seed, input and thread count give the same file.") var seed: UInt64 = 1
    @Flag(name: .customLong("no-meta"), help: "Skip meta-learning (random SIREN initialisation).") var noMeta = false
    @Flag(name: .customLong("no-recluster"), help: "Never split clusters.") var noRecluster = false
    @Flag(name: .customLong("no-mesh"), help: "Do not embed the mesh in the .mci (smaller; ParaView then cannot open it alone).")
    var noMesh = false
    @Option(help: ArgumentHelp("How the weights are stored: f32, f16 (half the bytes, negligible loss) or int8 (a quarter, some loss).",
                               discussion: "f32 writes .mci format 1.0, readable by every reader. f16 and int8 need format 1.1; their weights section is also zlib-compressed where that is smaller. See docs/benchmarks/weights.md."))
    var weights: String = MCIWeightEncoding.cliDefault.shortName
    /// Measurement aid (docs/benchmarks/weights.md): after training, decode the model in every
    /// weight encoding and print PSNR and stored sizes for each.
    @Flag(name: .customLong("compare-weight-encodings"), help: .hidden) var compareWeightEncodings = false
    @Option(name: .customLong("max-error"),
            help: "Error-bounded mode: every decoded value at a mesh point and stored step is within this absolute error of the data (same for every component).")
    var maxError: Double?
    @Option(name: .customLong("max-rel-error"),
            help: "Error-bounded mode with a bound relative to each component's range: E_c = R · (max_c − min_c).")
    var maxRelError: Double?
    @Flag(name: .customLong("replace-nonfinite"),
          help: "Replace NaN/Inf input values by the component's mean instead of refusing the input.")
    var replaceNonFinite = false
    @Flag(name: .shortAndLong, help: "No progress output.") var quiet = false
    @Flag(help: "Print the final summary as JSON.") var json = false

    func validate() throws {
        guard MCINRConfig.Method(rawValue: method) != nil else {
            throw ValidationError("--method must be one of: " + MCINRConfig.Method.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard output.lowercased().hasSuffix(".mci") else { throw ValidationError("-o: the output file must end in .mci") }
        guard ratio.isFinite && ratio > 0 else { throw ValidationError("--ratio must be a positive number") }
        guard MCIWeightEncoding(shortName: weights) != nil else {
            throw ValidationError("--weights must be one of: " + MCIWeightEncoding.allCases.map(\.shortName).joined(separator: ", "))
        }
        if maxError != nil && maxRelError != nil { throw ValidationError("give --max-error or --max-rel-error, not both") }
        for (flag, v) in [("--max-error", maxError), ("--max-rel-error", maxRelError)] {
            if let v, !(v.isFinite && v > 0) { throw ValidationError("\(flag) must be a positive number") }
        }
        if (maxError != nil || maxRelError != nil) && noMesh {
            throw ValidationError("--max-error/--max-rel-error store residuals at the mesh points and need the mesh: drop --no-mesh")
        }
        guard timeBudget.isFinite && timeBudget >= 0 else { throw ValidationError("--time-budget must be 0 or more seconds") }
        if let g = splitGain, !(g.isFinite && g >= 0) { throw ValidationError("--split-gain must be 0 or more dB") }
    }

    func run() throws {
        installInterruptHandler(output: output)
        let outURL = URL(fileURLWithPath: output)
        let outDir = outURL.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: outDir.path, isDirectory: &isDir), isDir.boolValue,
              FileManager.default.isWritableFile(atPath: outDir.path) else {
            throw CLIError("\(outDir.path): cannot write there (missing or not writable folder)")
        }
        var dataset = try readDataset(inputs)
        if let names = variables { dataset = try dataset.selectingVariables(parseList(names)) }
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
        if !dataset.cellVariables.isEmpty && !quiet {
            note("note: cell data (\(dataset.cellVariables.map(\.name).joined(separator: ", "))) is carried in the input but not encoded")
        }
        if !quiet { note(dataset.summary) }

        var config = MCINRConfig.baseline(MCINRConfig.Method(rawValue: method)!)
        if let v = clusters {
            config.clusters = v
        } else {
            config.clusters = MCINRConfig.automaticClusters(points: dataset.pointCount, steps: dataset.stepCount)
        }
        if let v = width { config.width = v } else { config.targetCompressionRatio = ratio }
        if let v = trunkBlocks { config.trunkBlocks = v }
        if let v = branchBlocks { config.branchBlocks = v }
        if let v = maxSplits { config.maxSplits = v }
        if let v = threshold { config.splitThreshold = v }
        if let v = splitGain { config.splitGainPerDoubling = v }
        if let v = maxEpochs { config.maxEpochs = v }
        if let v = metaSteps { config.metaSteps = v }
        if let v = learningRate { config.learningRate = v }
        if let v = batchSize { config.batchSize = v }
        if let v = threads { config.threads = v }
        config.timeBudgetSeconds = timeBudget > 0 ? timeBudget : nil
        config.seed = seed
        config.noMeta = noMeta
        config.noRecluster = noRecluster

        let encoding = MCIWeightEncoding(shortName: weights)!
        // Lossy encodings: the metrics are those of the stored weights, so the pipeline's own
        // (float32) evaluation is skipped and the encoded model evaluated instead.
        let wantsMetrics = config.evaluation != .none
        if encoding != .float32 { config.evaluation = .none }

        let reporter = TerminalProgressRenderer(mode: quiet ? .quiet : .automatic)
        let trainingData = TrainingData(dataset: dataset)
        var result = try MCINRPipeline(config: config, reporter: reporter).run(trainingData)
        if compareWeightEncodings { try printWeightEncodingComparison(result, trainingData) }
        if encoding != .float32 && wantsMetrics {
            result.metrics = try DecoderEvaluation.evaluate(result, data: trainingData, threads: config.threads > 0 ? config.threads : defaultThreads(), weightEncoding: encoding)
            result.metricsSource = "decoder"
        }
        var model = try result.makeModel(mesh: noMesh ? nil : MCIMesh(dataset.mesh))
        model.weightEncoding = encoding
        // f32 stays format 1.0 (any 1.x reader); with f16 / int8 the file is 1.1 anyway, and
        // NETS is compressed where that makes it smaller
        model.compressNets = encoding != .float32
        model.metadataJSON = try addingWeightStorage(to: model.metadataJSON, encoding)
        // after weightEncoding: the residual corrects the weights as stored, so the bound holds for the file
        var bounded: MCIResidual.Report?
        if let bound = maxError.map(MCIResidual.Bound.absolute) ?? maxRelError.map(MCIResidual.Bound.relative) {
            if !quiet { note("error-bounded mode: quantising the residual at \(dataset.pointCount) points × \(dataset.stepCount) steps") }
            let columns = try truthColumns(model: model, dataset: dataset)
            (model, bounded) = try MCIResidual.make(model, bound: bound, threads: threads ?? defaultThreads()) { step in
                gatherColumns(dataset, columns, step: step)
            }
        }
        try MCIWriter.write(model, to: outURL)
        let storedWeightBytes = try MCIDecoder(url: outURL).weightBytes

        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? NSNumber)?.uint64Value ?? 0
        let raw = Double(result.rawFieldBytes)
        let ratioWeights = raw / Double(max(storedWeightBytes, 1))
        let ratioFile = raw / Double(max(fileBytes, 1))
        let names = result.componentNames
        // Error-bounded: the metrics of the file as decoded at the mesh points (residual included).
        let metrics = bounded?.metrics ?? result.metrics
        let residualBytes = bounded?.residualBytes ?? 0
        let ratioFields = raw / Double(max(storedWeightBytes + UInt64(residualBytes), 1))
        let perComponent: [(String, Double, Double, Double, Double)] = (metrics?.perComponent ?? []).enumerated().map { c, steps in
            let k = Double(max(steps.count, 1))
            return (names[c], steps.reduce(0) { $0 + $1.psnr } / k, steps.reduce(0) { $0 + $1.nrmse } / k,
                    metrics?.componentR2[c] ?? 0, steps.reduce(0) { max($0, $1.maxAbsError) })
        }
        if json {
            var summary: [String: Any] = [
                "output": output, "method": method, "seconds": result.seconds,
                "networks": result.networks.count, "splits": result.keptSplitCount,
                "clusters": result.tree.topCount, "width": result.config.width,
                "weights": encoding.shortName, "weight_bytes": storedWeightBytes, "file_bytes": fileBytes, "raw_field_bytes": result.rawFieldBytes,
                "compression_ratio_weights": ratioWeights, "compression_ratio_file": ratioFile,
                "components": perComponent.map { ["name": $0.0, "psnr": $0.1, "nrmse": $0.2, "r2": $0.3, "max_abs_error": $0.4] },
            ]
            summary["mean"] = ["psnr": metrics?.meanPSNR ?? 0, "nrmse": metrics?.meanNRMSE ?? 0,
                               "r2": metrics?.meanR2 ?? 0, "max_abs_error": metrics?.maxAbsError ?? 0]
            if let b = bounded {
                summary["error_bound"] = [
                    "components": zip(names, b.maxErrors.indices).map { name, c in
                        ["name": name, "bound": b.maxErrors[c], "max_abs_error": b.achievedMaxError[c],
                         "network_max_abs_error": b.networkMaxError[c]] },
                    "residual_bytes": b.residualBytes, "nonzero_indices": b.nonZeroIndices, "escapes": b.escapes,
                    "predictors": b.predictorCounts, "range_coded_streams": b.rangeCodedStreams, "data_streams": b.dataStreams, "network_mean_psnr": b.networkMetrics.meanPSNR,
                    "compression_ratio_fields": ratioFields,
                ] as [String: Any]
            }
            try printJSON(summary)
            return
        }
        if let m = metrics {
            var rows = perComponent.map { [$0.0, fmt($0.1), sci($0.2), fmt($0.3, 5), sci($0.4)] }
            rows.append(["mean", fmt(m.meanPSNR), sci(m.meanNRMSE), fmt(m.meanR2, 5), sci(m.maxAbsError)])
            print(table(["component", "PSNR dB", "NRMSE", "R2", "max |err|"], rows))
        }
        print("model: \(result.config.method.rawValue), \(result.networks.count) networks (\(result.tree.topCount) clusters, \(result.keptSplitCount) splits), width \(result.config.width), trained in \(fmt(result.seconds, 1)) s")
        print("sizes: raw fields \(formatBytes(UInt64(result.rawFieldBytes))), weights \(formatBytes(storedWeightBytes)) (\(encoding.shortName)), file \(formatBytes(fileBytes))")
        if let b = bounded {
            let worst = b.achievedMaxError.indices.max { b.achievedMaxError[$0] / b.maxErrors[$0] < b.achievedMaxError[$1] / b.maxErrors[$1] } ?? 0
            print("error bound: max |err| \(sci(b.achievedMaxError[worst])) ≤ bound \(sci(b.maxErrors[worst])) (\(names[worst]), the tightest component) at every mesh point and step; network alone: \(sci(b.networkMaxError[worst])), PSNR \(fmt(b.networkMetrics.meanPSNR)) dB")
            print("residual: \(formatBytes(UInt64(b.residualBytes))) (\(b.nonZeroIndices) non-zero indices, \(b.escapes) exact values of \(dataset.pointCount * dataset.stepCount * names.count); streams predicted from the previous step \(b.predictorUse[2] + b.predictorUse[3]), from mesh neighbours \(b.predictorUse[1] + b.predictorUse[3]), range-coded \(b.rangeCodedStreams), quantising the data itself \(b.dataStreams) of \(b.predictorUse.reduce(0, +)))")
            print("compression ratio: \(fmt(ratioFields, 1))× (fields / (weights + residual)), \(fmt(ratioWeights, 1))× (fields / weights alone), \(fmt(ratioFile, 1))× (fields / whole file, mesh included)")
        } else {
            print("compression ratio: \(fmt(ratioWeights, 1))× (fields / weights, as in the paper), \(fmt(ratioFile, 1))× (fields / whole file\(noMesh ? "" : ", mesh included"))")
        }
        print("wrote \(output)")
    }
}

extension MCIWeightEncoding {
    /// `train --weights` default: float16 loses < 0.01 dB PSNR on vessel-small for half the
    /// bytes (docs/benchmarks/weights.md).
    static let cliDefault = MCIWeightEncoding.float16
}

/// The JSON section gains `"weights": {"encoding": "f16"}` (the NETS compression is visible in
/// the section table).
func addingWeightStorage(to json: String, _ encoding: MCIWeightEncoding) throws -> String {
    guard var object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return json }
    object["weights"] = ["encoding": encoding.shortName]
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// `--compare-weight-encodings`: one line per encoding with and without NETS compression.
func printWeightEncodingComparison(_ result: PipelineResult, _ data: TrainingData) throws {
    var rows: [[String]] = []
    var records: [[String: Any]] = []
    for encoding in MCIWeightEncoding.allCases {
        let metrics = try DecoderEvaluation.evaluate(result, data: data, threads: result.config.threads > 0 ? result.config.threads : defaultThreads(), weightEncoding: encoding)
        for compress in [false, true] {
            var model = try result.makeModel()
            model.weightEncoding = encoding
            model.compressNets = compress
            let bytes = try MCIWriter.encode(model)
            let decoder = try MCIDecoder(bytes: bytes)
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

/// Ctrl-C: a clear message and exit status 130. The .mci is only ever written through a
/// temporary file renamed at the very end, so an interrupted run leaves no partial model.
func installInterruptHandler(output: String) {
    signal(SIGINT) { _ in
        let message = "\nmcinr-vtk: interrupted; no model was written\n"
        _ = message.withCString { write(STDERR_FILENO, $0, strlen($0)) }
        _exit(130)
    }
    signal(SIGTERM) { _ in _exit(143) }
}

/// For each model component, the dataset array and component holding its data (matched by
/// variable name, so the dataset's own order does not matter).
func truthColumns(model: MCIModel, dataset: Dataset) throws -> [(variable: Int, component: Int)] {
    try model.variables.flatMap { mv -> [(variable: Int, component: Int)] in
        guard let g = dataset.variables.firstIndex(where: { $0.name == mv.name }),
              dataset.variables[g].components == mv.components else {
            throw CLIError("error-bounded mode: the data has no \(mv.components)-component array '\(mv.name)'")
        }
        return (0..<mv.components).map { (g, $0) }
    }
}
