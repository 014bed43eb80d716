import ModelDescription
import Foundation
import INRCore
import MCIFormat
import MeshIO

/// The product's version: the CLI's `--version`, the `creator` of every file's JSON section.
/// The C decoder library carries the same number (MCINR_VERSION_STRING in mcinr.h).
public enum MCINRVersion {
    public static let string = "1.11.0"
}

extension MCIMesh {
    /// The embedded-mesh form of a MeshIO mesh (same points, cells and precision).
    public init(_ mesh: Mesh) {
        self.init(points: mesh.points, pointPrecision: mesh.pointPrecision == .float32 ? .float32 : .float64,
                  cellTypes: mesh.cellTypes, cellOffsets: mesh.offsets,
                  connectivity: mesh.connectivity)
    }
}

extension PipelineResult {
    /// The cluster tree in TREE layout: node order kept, leaves numbered by node index.
    public var treeNodes: [MCITreeNode] {
        let networkIndex = tree.networkIndexOfNode
        return tree.nodes.enumerated().map { index, node in
            MCITreeNode(centroid: [node.centroid.x, node.centroid.y, node.centroid.z],
                        parent: Int32(node.parent ?? -1),
                        child0: Int32(node.children?.0 ?? -1), child1: Int32(node.children?.1 ?? -1),
                        network: Int32(networkIndex[index]))
        }
    }

    /// The `.mci` model of this result. Timings are left out of the JSON unless asked for, so
    /// the same input, seed and thread count give the same file bytes (DESIGN).
    public func makeModel(mesh: MCIMesh? = nil, includeTimings: Bool = false) throws -> MCIModel {
        var model = MCIModel(variables: variables.map { MCIVariable(name: $0.name, components: $0.components) },
                 componentRanges: zip(normalization.componentMin, normalization.componentMax).map { $0 ... $1 },
                 times: times, boundsMin: normalization.bboxMin, boundsMax: normalization.bboxMax,
                 timeInterval: normalization.timeMin ... normalization.timeMax,
                 numPoints: UInt64(pointCount), numCells: UInt64(cellCount),
                 rawFieldBytes: UInt64(rawFieldBytes), treeNodes: treeNodes, topLevelCount: tree.topCount,
                 networks: networks, metadataJSON: try metadataJSON(includeTimings: includeTimings), mesh: mesh)
        model.seamMargin = recordedSeamMargin
        return model
    }

    /// The seam margin the file records: clustered models with more than one network blend.
    public var recordedSeamMargin: Double? { config.isClustered && networks.count > 1 ? config.seamMargin : nil }

    /// The JSON section: creator, method, configuration, architecture, clustering, training
    /// summary, model size and metrics (keys sorted: stable bytes).
    public func metadataJSON(includeTimings: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf",
                                                                      negativeInfinity: "-inf", nan: "nan")
        let document = MetadataDocument(result: self, includeTimings: includeTimings)
        return String(decoding: try encoder.encode(document), as: UTF8.self)
    }
}

/// Shape of the JSON section.
struct MetadataDocument: Encodable {
    struct Architecture: Encodable {
        var config: ArchitectureConfig
        var parametersPerNetwork: Int
    }
    struct Clustering: Encodable {
        var topLevelClusters: Int
        var kMeansIterations: Int
        var leaves: Int
        var treeNodes: Int
        var splits: [SplitRecord]
    }
    struct Cluster: Encodable {
        var path: String
        var node: Int
        var points: Int
        var round: Int
        var epochs: Int
        var stop: String
        var bestLoss: Double
        var finalLearningRate: Float
        var mse: Double
        var meta: MetaSummary?
        /// At most 64 evenly spaced epoch losses.
        var lossCurve: [Double]
        var seconds: Double?
        /// What `--matmul auto` chose for this cluster under a time budget.
        var matmul: MatmulPrecision?
    }
    struct Training: Encodable {
        var clusters: [Cluster]
        var sharedMeta: MetaSummary?
        var normalizedMSE: Double
        var seconds: Double?
    }
    struct ModelSize: Encodable {
        var networks: Int
        var parameters: Int
        var weightBytes: Int
        var rawFieldBytes: Int
        var compressionRatio: Double
    }
    struct ComponentSeries: Encodable {
        var component: String
        var psnr: [Double]
        var nrmse: [Double]
        var r2: [Double]
        var maxAbsError: [Double]
    }
    struct MetricsSummary: Encodable {
        var source: String
        var meanPSNR: Double
        var meanNRMSE: Double
        var meanR2: Double
        var maxAbsError: Double
        var rangeKind = "global (over all time steps)"
        var perComponent: [ComponentSeries]
    }

    var creator: String
    var method: String
    var config: MCINRConfig
    var architecture: Architecture
    var variables: [TrainingData.Variable]
    var components: [String]
    var clustering: Clustering
    var training: Training
    /// Under a time budget: whether it stopped clusters before they converged.
    var timeBudget: BudgetReport?
    var model: ModelSize
    var metrics: MetricsSummary?

    init(result: PipelineResult, includeTimings: Bool) {
        creator = "mcinr-vtk \(MCINRVersion.string)"
        method = result.config.method.rawValue
        config = result.config
        architecture = Architecture(config: result.architecture, parametersPerNetwork: result.architecture.parameterCount)
        variables = result.variables
        components = result.componentNames
        clustering = Clustering(topLevelClusters: result.tree.topCount, kMeansIterations: result.kMeansIterations,
                                leaves: result.networks.count, treeNodes: result.tree.nodes.count,
                                splits: result.splits)
        let clusters = result.clusters.map { record -> Cluster in
            var meta = record.meta
            if !includeTimings { meta?.seconds = 0 }
            let curve = record.training.lossCurve
            let stride = max(1, (curve.count + 63) / 64)
            return Cluster(path: record.path, node: record.node, points: record.points, round: record.round,
                           epochs: record.training.epochs, stop: record.training.stop.rawValue,
                           bestLoss: record.training.bestLoss, finalLearningRate: record.training.finalLearningRate,
                           mse: record.mse, meta: meta,
                           lossCurve: Swift.stride(from: 0, to: curve.count, by: stride).map { curve[$0] },
                           seconds: includeTimings ? record.seconds : nil, matmul: record.training.matmul)
        }
        var sharedMeta = result.sharedMeta
        if !includeTimings { sharedMeta?.seconds = 0 }
        training = Training(clusters: clusters, sharedMeta: sharedMeta, normalizedMSE: result.normalizedMSE,
                            seconds: includeTimings ? result.seconds : nil)
        model = ModelSize(networks: result.networks.count, parameters: result.parameterCount,
                          weightBytes: result.weightBytes, rawFieldBytes: result.rawFieldBytes,
                          compressionRatio: result.compressionRatio)
        // seconds appear only for clusters the budget cut: a run that converged keeps its bytes
        timeBudget = result.budgetReport()
        metrics = result.metrics.map { report in
            MetricsSummary(source: result.metricsSource ?? "unknown", meanPSNR: report.meanPSNR,
                           meanNRMSE: report.meanNRMSE, meanR2: report.meanR2, maxAbsError: report.maxAbsError,
                           perComponent: report.perComponent.enumerated().map { c, steps in
                               ComponentSeries(component: result.componentNames[c], psnr: steps.map(\.psnr),
                                               nrmse: steps.map(\.nrmse), r2: steps.map(\.r2),
                                               maxAbsError: steps.map(\.maxAbsError))
                           })
        }
    }
}

/// Evaluation through the C decoder (DESIGN "One decoder"): the model is encoded in memory,
/// opened by `MCIDecoder` and decoded at every training point and step.
public enum DecoderEvaluation {
    /// The C decoder on the model with its weights as they will be stored.
    static func storedModelDecoder(_ result: PipelineResult, weightEncoding: MCIWeightEncoding) throws -> MCIDecoder {
        var model = try result.makeModel()
        model.weightEncoding = weightEncoding
        do {
            return try MCIDecoder(bytes: try MCIWriter.encode(model), name: "in-memory model", options: .ownOutput)
        } catch {
            throw MCINRError.decoding("\(error)")
        }
    }

    /// `weightEncoding`: evaluate the weights as they will be stored (f16, int8 …).
    public static func evaluate(_ result: PipelineResult, data: TrainingData, threads: Int,
                                weightEncoding: MCIWeightEncoding = .float32) throws -> MetricsReport {
        let decoder = try storedModelDecoder(result, weightEncoding: weightEncoding)
        // One step decoded at a time: memory stays at the fields plus one step. The sums are
        // those of a distributed run (per top-level cluster, `PartitionedEvaluation`), so one
        // process and R ranks record the same metrics.
        return try data.values.withUnsafeBufferPointer { values in
            try PartitionedEvaluation.evaluate(decoder: decoder, points: data.points, rows: nil, values: values,
                                               cellOfPoint: PartitionedEvaluation.cells(points: data.points, result: result),
                                               times: data.times, ranges: result.normalization.componentRanges,
                                               threads: threads, communicator: SerialCommunicator())!
        }
    }
}
