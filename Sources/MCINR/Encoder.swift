import Foundation
import INRCore
import MCIFormat
import MeshIO
import ModelDescription

/// How a dataset becomes a model file, beyond the training itself (`MCINRConfig`): how the
/// weights are stored, whether the mesh is embedded, an optional error bound.
public struct EncodeOptions: Sendable {
    public var training: MCINRConfig
    /// Default float16: < 0.01 dB below float32 for half the bytes (docs/benchmarks/weights.md).
    public var weightEncoding: MCIWeightEncoding = .float16
    /// With an error bound, the encodings tried besides `weightEncoding`: the file keeps the
    /// one whose weights and residual are smallest together. int8 stores the weights in about
    /// 0.6× the bytes of f16 but costs the network 0.1–2 dB, which the residual pays back or
    /// not depending on the data and the bound (docs/benchmarks/error-bounded.md). Each costs
    /// one more evaluation and residual coding. Empty: `weightEncoding` is stored as given.
    public var boundedWeightAlternatives: [MCIWeightEncoding] = [.int8]
    /// Error-bounded mode: where the residual of the trained network quantises the data itself
    /// in at least `smallerNetworkDataShare` of its streams (it reads the network little, whose
    /// weights then buy mostly the continuous model between stored steps), or the network's error
    /// is at least `smallerNetworkErrorRatio` times the bound, also train a network
    /// for `smallerNetworkFactor`× the target ratio (about a quarter of the weights, with a
    /// quarter of the time budget) and keep the file whose weights and residual are smaller
    /// (docs/benchmarks/error-bounded-capacity.md: 7–11 % smaller at 10⁻³, the network alone
    /// about 10 dB weaker). Needs a target ratio, not a fixed width; costs the second training and a
    /// second residual where it applies.
    public var triesSmallerNetwork = false
    /// Error-bounded mode: train with Huber's loss at the bound (`MCINRConfig.lossBound`)
    /// instead of the MSE (ours, issue #23; docs/benchmarks/error-bounded.md). No effect without
    /// a bound.
    public var boundAwareLoss = true
    /// Without a bound: train with Huber's loss at this δ (as a bound, `MCINRConfig.lossBound`)
    /// instead of the MSE; nil: the MSE. Ignored with a bound (`boundAwareLoss` decides there).
    public var plainLossBound: MCIResidual.Bound?
    public static let smallerNetworkFactor = 4.0
    public static let smallerNetworkDataShare = 0.5
    /// … or where the network's RMS error is at least this many times the bound (its error then
    /// spans several of the residual's bins, whose cost a weaker network raises only by the
    /// logarithm of its error: with Huber's loss a network can be good enough that the residual
    /// reads it in most streams, yet far from the bound; vessel-small at 10⁻³: 2.5 E, and the
    /// 4× smaller network made the file 4 % smaller, docs/benchmarks/error-bounded.md).
    public static let smallerNetworkErrorRatio = 2.0
    /// Embed the mesh, so ParaView needs nothing else (required by an error bound).
    public var embedMesh = true
    /// Error-bounded mode: every decoded value at a mesh point and stored step within the bound.
    public var errorBound: MCIResidual.Bound?
    /// How the embedded mesh is stored: MESHC chunks (format 1.3, default) or `.zlib` (MESH,
    /// formats 1.0 … 1.2, for older readers).
    public var meshCoding: MCIMeshCoding = .standard

    public init(training: MCINRConfig = MCINRConfig()) { self.training = training }

    /// What the pipeline trains with: `training`, with Huber's loss at the bound where
    /// `boundAwareLoss` asks for it (without a bound: at `plainLossBound`, if any), and no
    /// evaluation (phase 2 is the encoder's).
    var trainingConfig: MCINRConfig {
        var config = training
        config.evaluation = .none
        if let bound = errorBound {
            if boundAwareLoss { config.lossBound = bound }
        } else if let delta = plainLossBound {
            config.lossBound = delta
        }
        return config
    }

    /// Cells per MESHC chunk when the mesh may be coded before training (`encode(codedMesh:)`):
    /// it is embedded as MESHC, and nothing after training needs its cells (an error bound's
    /// neighbour lists read them back from the coded mesh). Nil otherwise.
    public var cellsPerChunkCodedBeforeTraining: Int? {
        guard embedMesh, case .chunked(let cells) = meshCoding else { return nil }
        return cells
    }

    /// The weight encodings an encode tries, `weightEncoding` first (it is kept on a tie).
    public var weightEncodingsTried: [MCIWeightEncoding] {
        errorBound == nil ? [weightEncoding] : [weightEncoding] + boundedWeightAlternatives.filter { $0 != weightEncoding }
    }

    /// Threads for evaluation and the residual: the training's, or every core.
    public var threads: Int { training.threads > 0 ? training.threads : WorkerPool.coreCount }

    public func validate() throws {
        try training.validate()
        if errorBound != nil && !embedMesh {
            throw MCINRError.invalidConfiguration("an error bound stores residuals at the mesh points and needs the mesh embedded")
        }
        if triesSmallerNetwork && (errorBound == nil || training.targetCompressionRatio == nil) {
            throw MCINRError.invalidConfiguration("trying a smaller network needs an error bound and a target ratio (not a fixed width)")
        }
    }

    /// The smaller network to try after `first`, trained with these options on `data`: its
    /// options and why it is tried (the progress event); nil where none is tried (the rule is
    /// off, the residual quantises the data in under half its streams, or no narrower width
    /// fits the larger ratio).
    func smallerNetwork(after first: (bounded: MCIResidual.Report?, width: Int), data: borrowing TrainingData)
        -> (options: EncodeOptions, event: ProgressEvent)? {
        guard triesSmallerNetwork, let bounded = first.bounded, let ratio = training.targetCompressionRatio else { return nil }
        let streams = bounded.predictorUse.reduce(0, +)
        let readsData = streams > 0 && Double(bounded.dataStreams) >= Self.smallerNetworkDataShare * Double(streams)
        let errorInBounds = Self.networkErrorInBounds(bounded)
        guard readsData || errorInBounds >= Self.smallerNetworkErrorRatio else { return nil }
        var smaller = self
        smaller.training.targetCompressionRatio = ratio * Self.smallerNetworkFactor
        // a quarter of the weights trains in about a quarter of the time: the extra training is a
        // quarter of the budget
        smaller.training.timeBudgetSeconds = training.timeBudgetSeconds.map { $0 / Self.smallerNetworkFactor }
        smaller.triesSmallerNetwork = false
        guard let width = try? MCINRPipeline(config: smaller.training).resolvedWidth(for: data), width < first.width else {
            return nil
        }
        return (smaller, .smallerNetwork(dataStreams: bounded.dataStreams, streams: streams, errorInBounds: errorInBounds,
                                         ratio: ratio * Self.smallerNetworkFactor))
    }

    /// The network's RMS error in units of the bound, mean over components (√ of the mean over
    /// steps of its MSE, over E_c).
    static func networkErrorInBounds(_ bounded: MCIResidual.Report) -> Double {
        let ratios = zip(bounded.networkMetrics.perComponent, bounded.maxErrors).compactMap { steps, e -> Double? in
            guard !steps.isEmpty, e > 0 else { return nil }
            return (steps.map(\.mse).reduce(0, +) / Double(steps.count)).squareRoot() / e
        }
        return ratios.isEmpty ? 0 : ratios.reduce(0, +) / Double(ratios.count)
    }
}

/// What an encode produced, measured on the file as written.
public struct EncodeSummary: Sendable {
    public var result: PipelineResult
    public var weightEncoding: MCIWeightEncoding
    /// Metrics of the stored model through the C decoder (the residual included when there is
    /// one); nil when evaluation was switched off.
    public var metrics: MetricsReport?
    /// The error-bounded residual's own report (nil without a bound).
    public var bounded: MCIResidual.Report?
    public var weightBytes: UInt64
    public var fileBytes: UInt64
    public var embedsMesh: Bool
    /// Every weight encoding tried (`EncodeOptions.weightEncodingsTried`) with what it cost:
    /// one entry unless an error bound made the encoder choose.
    public var weightChoices: [WeightChoice] = []
    /// The networks trained (`EncodeOptions.triesSmallerNetwork`), each with its chosen weight
    /// encoding's cost and its quality alone: one entry unless a smaller network was tried.
    public var networkChoices: [NetworkChoice] = []

    /// One network size trained.
    public struct NetworkChoice: Sendable {
        public var width: Int
        public var networks: Int
        public var storedBytes: Int
        /// Mean PSNR of the network alone at the mesh points and stored steps.
        public var networkPSNR: Double
        public var kept: Bool
    }

    /// One weight encoding tried: the bytes of its NETS section and of its residual.
    public struct WeightChoice: Sendable {
        public var encoding: MCIWeightEncoding
        public var netsBytes: Int
        public var residualBytes: Int
        /// Wall seconds of its evaluation, model and residual (phases 2–4).
        public var seconds: Double
        public var storedBytes: Int { netsBytes + residualBytes }
    }

    public var rawFieldBytes: Int { result.rawFieldBytes }
    public var residualBytes: Int { bounded?.residualBytes ?? 0 }
    /// Raw fields / stored weights: the paper's ratio.
    public var ratioWeights: Double { Double(rawFieldBytes) / Double(max(weightBytes, 1)) }
    /// Raw fields / (weights + residual): what the fields cost in an error-bounded file.
    public var ratioFields: Double { Double(rawFieldBytes) / Double(max(weightBytes + UInt64(residualBytes), 1)) }
    /// Raw fields / the whole file, mesh included.
    public var ratioFile: Double { Double(rawFieldBytes) / Double(max(fileBytes, 1)) }

    /// Per component: mean PSNR and NRMSE over steps, pooled R², max |error|.
    public var components: [ComponentSummary] { metrics?.componentSummaries(names: result.componentNames) ?? [] }

    /// The summary as `train --json` prints it (and any other front end may).
    public func jsonObject(output: String) -> [String: Any] {
        var summary: [String: Any] = [
            "output": output, "method": result.config.method.rawValue, "seconds": result.seconds,
            "networks": result.networks.count, "splits": result.keptSplitCount,
            "clusters": result.tree.topCount, "width": result.config.width,
            "weights": weightEncoding.shortName, "weight_bytes": weightBytes, "file_bytes": fileBytes,
            "raw_field_bytes": rawFieldBytes,
            "compression_ratio_weights": ratioWeights, "compression_ratio_file": ratioFile,
            "components": components.map { ["name": $0.name, "psnr": $0.psnr, "nrmse": $0.nrmse, "r2": $0.r2,
                                            "max_abs_error": $0.maxAbsError] },
            "mean": ["psnr": metrics?.meanPSNR ?? 0, "nrmse": metrics?.meanNRMSE ?? 0,
                     "r2": metrics?.meanR2 ?? 0, "max_abs_error": metrics?.maxAbsError ?? 0],
        ]
        if let budget = result.budgetReport() {
            summary["time_budget"] = budget.jsonObject
        }
        if let b = bounded {
            summary["error_bound"] = [
                "components": result.componentNames.indices.map { c in
                    ["name": result.componentNames[c], "bound": b.maxErrors[c], "max_abs_error": b.achievedMaxError[c],
                     "network_max_abs_error": b.networkMaxError[c]] },
                "residual_bytes": b.residualBytes, "nonzero_indices": b.nonZeroIndices, "escapes": b.escapes,
                "predictors": b.predictorCounts, "range_coded_streams": b.rangeCodedStreams, "data_streams": b.dataStreams,
                "anchored_streams": b.anchoredStreams,
                "network_mean_psnr": b.networkMetrics.meanPSNR, "compression_ratio_fields": ratioFields,
                "attempts": b.attempts, "seconds": b.seconds,
            ] as [String: Any]
        }
        if networkChoices.count > 1 {
            summary["networks_tried"] = networkChoices.map {
                ["width": $0.width, "networks": $0.networks, "stored_bytes": $0.storedBytes,
                 "network_mean_psnr": $0.networkPSNR, "kept": $0.kept] as [String: Any]
            }
        }
        if weightChoices.count > 1 {
            summary["weight_encodings_tried"] = weightChoices.map {
                ["weights": $0.encoding.shortName, "nets_bytes": $0.netsBytes, "residual_bytes": $0.residualBytes,
                 "seconds": $0.seconds] as [String: Any]
            }
        }
        return summary
    }
}

/// The encode sequence, dataset → `.mci`: every front end (the CLI, an MPI driver, Python)
/// calls `encode`, or its phases in the same order.
///
/// ```swift
/// var options = EncodeOptions()
/// options.training.timeBudgetSeconds = 600
/// let summary = try Encoder.encode(dataset, to: URL(fileURLWithPath: "flow.mci"), options: options)
/// print(summary.metrics!.meanPSNR, summary.ratioWeights)
/// ```
public enum Encoder {
    public static func encode(_ dataset: Dataset, to url: URL, options: EncodeOptions,
                              reporter: ProgressReporter? = nil) throws -> EncodeSummary {
        try encode(TrainingData(dataset: dataset), mesh: dataset.mesh, to: url, options: options, reporter: reporter)
    }

    /// The same from training data and its mesh (`TrainingData(draining:)` builds them from a
    /// dataset while holding the fields once).
    /// `data` is consumed: once the residual is made the fields are released, before the
    /// writer's verification opens the file (which inflates the mesh): pass it without keeping
    /// a copy and the fields and the mesh's decoded copy never coexist. `codedMesh`: the mesh
    /// already coded as MESHC (`MCIWriter.meshPayload`, e.g. before the steps were read, so
    /// that its cells were never held with the fields), embedded instead of coding `mesh`.
    public static func encode(_ data: consuming TrainingData, mesh: Mesh, codedMesh: [UInt8]? = nil, to url: URL,
                              options: EncodeOptions, reporter: ProgressReporter? = nil) throws -> EncodeSummary {
        try options.validate()
        if codedMesh != nil && options.cellsPerChunkCodedBeforeTraining == nil {
            throw MCINRError.invalidConfiguration("a coded mesh is embedded as MESHC (the options embed no mesh or code it otherwise)")
        }
        let embedded = options.embedMesh && codedMesh == nil ? MCIMesh(mesh) : nil
        let dataCosts = ErrorBoundedEncoder.DataCosts()
        var networks = [try trained(data, options: options, mesh: embedded, codedMesh: codedMesh, dataCosts: dataCosts,
                                    reporter: reporter)], kept = 0
        if let (smaller, event) = options.smallerNetwork(after: (networks[0].bounded, networks[0].result.architecture.width),
                                                         data: data) {
            reporter?.report(event)
            networks.append(try trained(data, options: smaller, mesh: embedded, codedMesh: codedMesh, dataCosts: dataCosts,
                                        reporter: reporter))
            if networks[1].cost.storedBytes < networks[0].cost.storedBytes { kept = 1 }
        }
        let chosen = networks[kept]
        _ = consume data
        try MCIWriter.write(chosen.model, to: url)
        var summary = try summarize(chosen.result, metrics: chosen.bounded?.metrics ?? chosen.metrics, bounded: chosen.bounded,
                                    file: url, options: chosen.options)
        summary.weightChoices = chosen.choices
        summary.networkChoices = networks.enumerated().map { i, n in
            EncodeSummary.NetworkChoice(width: n.result.architecture.width, networks: n.result.networks.count,
                                        storedBytes: n.cost.storedBytes,
                                        networkPSNR: n.bounded?.networkMetrics.meanPSNR ?? n.metrics?.meanPSNR ?? 0,
                                        kept: i == kept)
        }
        return summary
    }

    /// Phases 1–4 for one network size: trained with `options`, in its smallest weight encoding.
    static func trained(_ data: borrowing TrainingData, options: EncodeOptions, mesh embedded: MCIMesh?,
                        codedMesh: [UInt8]?, dataCosts: ErrorBoundedEncoder.DataCosts,
                        reporter: ProgressReporter?) throws -> Stored {
        let result = try train(data, options: options, reporter: reporter)
        return try Stored.smallest(options) { tried, start in
            let metrics = try evaluate(result, data: data, options: tried, reporter: reporter)
            var (evaluated, model) = try Stored.model(result, metrics: metrics, mesh: embedded, options: tried)
            model.codedMesh = codedMesh
            var bounded: MCIResidual.Report?
            if let bound = options.errorBound {
                (model, bounded) = try addResidual(model, data: data, bound: bound, threads: options.threads,
                                                   dataCosts: dataCosts, reporter: reporter)
            }
            return try Stored(result: evaluated, options: tried, metrics: metrics, model: model, bounded: bounded,
                              since: start)
        }!
    }

    /// One weight encoding's model, ready to write (phases 2–4 done), and what it and the
    /// encodings tried before it cost.
    struct Stored {
        var result: PipelineResult
        var options: EncodeOptions
        var metrics: MetricsReport?
        var model: MCIModel
        var bounded: MCIResidual.Report?
        let cost: EncodeSummary.WeightChoice
        var choices: [EncodeSummary.WeightChoice]

        init(result: PipelineResult, options: EncodeOptions, metrics: MetricsReport?, model: MCIModel,
             bounded: MCIResidual.Report?, since start: Date) throws {
            (self.result, self.options, self.metrics, self.model, self.bounded) = (result, options, metrics, model, bounded)
            cost = EncodeSummary.WeightChoice(encoding: options.weightEncoding, netsBytes: try MCIWriter.storedNetsBytes(model),
                                              residualBytes: bounded?.residualBytes ?? 0,
                                              seconds: Date().timeIntervalSince(start))
            choices = [cost]
        }

        /// Phase 3 for one encoding: `result` with its phase 2 `metrics` (recorded in the file's
        /// JSON section) and its model in `options`' weight encoding.
        static func model(_ result: PipelineResult, metrics: MetricsReport?, mesh: MCIMesh?,
                          options: EncodeOptions) throws -> (PipelineResult, MCIModel) {
            var evaluated = result
            if let metrics {
                evaluated.metrics = metrics
                evaluated.metricsSource = "decoder"
            }
            return (evaluated, try makeModel(evaluated, mesh: mesh, options: options))
        }

        /// The one of `best` and `candidate` whose weights and residual take fewer bytes
        /// (`best` on a tie), with the costs of both and of those tried before.
        static func smaller(_ best: Stored?, _ candidate: Stored) -> Stored {
            guard let best else { return candidate }
            var kept = best.cost.storedBytes <= candidate.cost.storedBytes ? best : candidate
            kept.choices = best.choices + [candidate.cost]
            return kept
        }

        /// The choice of weight encoding, for the serial and the MPI encoder: `make` builds the
        /// model of each encoding tried (`EncodeOptions.weightEncodingsTried`), given the options
        /// set to it and its start time; the smallest file is kept. nil when `make` returns nil
        /// every time (the MPI ranks other than 0, which only take part).
        static func smallest(_ options: EncodeOptions,
                             _ make: (_ tried: EncodeOptions, _ start: Date) throws -> Stored?) rethrows -> Stored? {
            var best: Stored?
            for encoding in options.weightEncodingsTried {
                var tried = options
                tried.weightEncoding = encoding
                if let stored = try make(tried, Date()) { best = smaller(best, stored) }
            }
            return best
        }
    }

    /// Phase 1: the MC-INR pipeline (clusters, meta-learning, training, splits). Its own
    /// evaluation is skipped: phase 2 evaluates the weights as they will be stored.
    public static func train(_ data: TrainingData, options: EncodeOptions,
                             reporter: ProgressReporter?) throws -> PipelineResult {
        var result = try MCINRPipeline(config: options.trainingConfig, reporter: reporter).run(data)
        result.config.evaluation = options.training.evaluation  // what phase 2 does, as the file records it
        return result
    }

    /// Phase 2: metrics of the model with its weights in the stored encoding, through the C
    /// decoder (the numbers ParaView shows); nil when the configuration asks for none.
    public static func evaluate(_ result: PipelineResult, data: TrainingData, options: EncodeOptions,
                                reporter: ProgressReporter?) throws -> MetricsReport? {
        guard options.training.evaluation == .decoder else { return nil }
        reporter?.report(.evaluating)
        return try DecoderEvaluation.evaluate(result, data: data, threads: options.threads,
                                              weightEncoding: options.weightEncoding)
    }

    /// Phase 3: the `.mci` model, with the weight encoding recorded in its JSON section.
    public static func makeModel(_ result: PipelineResult, mesh: MCIMesh?, options: EncodeOptions) throws -> MCIModel {
        var model = try result.makeModel(mesh: mesh)
        model.weightEncoding = options.weightEncoding
        model.meshCoding = options.meshCoding
        // f32 stays format 1.0 (any 1.x reader); f16 / int8 make the file 1.1 anyway, and NETS
        // is compressed where that makes it smaller
        model.compressNets = options.weightEncoding != .float32
        model.metadataJSON = MCIModel.addingEntry("weights", ["encoding": options.weightEncoding.shortName],
                                                  to: model.metadataJSON)
        return model
    }

    /// Phase 4 (error-bounded mode): the quantised residual at every mesh point and stored
    /// step, against the data the model was trained on. After phase 3, so the residual corrects
    /// the weights as stored and the bound holds for the file.
    /// `dataCosts`: shared by the residuals of one series (`ErrorBoundedEncoder.make`).
    public static func addResidual(_ model: MCIModel, data: TrainingData, bound: MCIResidual.Bound, threads: Int,
                                   dataCosts: ErrorBoundedEncoder.DataCosts? = nil,
                                   reporter: ProgressReporter?) throws -> (MCIModel, MCIResidual.Report) {
        reporter?.report(.errorBounding(points: data.pointCount, steps: data.timeCount, weights: model.weightEncoding.shortName))
        let stepSize = data.pointCount * data.componentCount
        return try ErrorBoundedEncoder.make(model, bound: bound, threads: threads, dataCosts: dataCosts,
                                            progress: reporter.map(ErrorBoundedEncoder.reporting)) { step in
            Array(data.values[step * stepSize ..< (step + 1) * stepSize])
        }
    }

    /// Phase 5: sizes and ratios, read back from the written file.
    public static func summarize(_ result: PipelineResult, metrics: MetricsReport?, bounded: MCIResidual.Report?,
                                 file url: URL, options: EncodeOptions) throws -> EncodeSummary {
        let weightBytes = try MCIDecoder(url: url, options: .ownOutput).weightBytes
        let fileBytes = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.uint64Value ?? 0
        return EncodeSummary(result: result, weightEncoding: options.weightEncoding, metrics: metrics, bounded: bounded,
                             weightBytes: weightBytes, fileBytes: fileBytes, embedsMesh: options.embedMesh)
    }
}

extension ErrorBoundedEncoder {
    /// `make`'s progress as `errorBoundingStep` events of `reporter`.
    static func reporting(_ reporter: ProgressReporter) -> (Stage, Int, Int, Int) -> Void {
        { reporter.report(.errorBoundingStep(stage: $0.rawValue, attempt: $1, done: $2, total: $3)) }
    }
}
