import ModelDescription
import Foundation
import INRCore

/// What happened to one trained cluster (a tree node; a split parent appears too).
public struct ClusterRecord: Sendable, Codable, Equatable {
    public var path: String
    public var node: Int
    public var points: Int
    public var round: Int
    public var inputMap: InputMap
    public var parameters: Int
    /// Meta-learning of this cluster (nil: none, or a shared initialisation).
    public var meta: MetaSummary?
    public var training: TrainingOutcome
    /// Residual MSE over all the cluster's samples, normalised units.
    public var mse: Double
    public var seconds: Double
}

public struct MetaSummary: Sendable, Codable, Equatable {
    public var outerSteps: Int
    public var tasks: Int
    public var pointsPerTask: Int
    public var seconds: Double
    public var innerLossCurve: [Double]
    public var stoppedByTimeBudget: Bool

    init(_ summary: MetaLearner.Summary) {
        outerSteps = summary.outerSteps; tasks = summary.tasks; pointsPerTask = summary.pointsPerTask
        seconds = summary.seconds; innerLossCurve = summary.innerLossCurve
        stoppedByTimeBudget = summary.stoppedByTimeBudget
    }
}

/// One residual-driven split.
public struct SplitRecord: Sendable, Codable, Equatable {
    public var parent: String
    public var parentNode: Int
    public var childNodes: [Int]
    public var childPoints: [Int]
    public var mseBefore: Double
    /// Point-weighted MSE of the two children after their training.
    public var mseAfter: Double?
    /// The model's PSNR gain from this split (normalised MSE over all samples, dB), and what
    /// it had to reach to pay for the added network (`MCINRConfig.splitGainPerDoubling`).
    public var modelGainDB: Double?
    public var requiredGainDB: Double?
    /// nil until the children trained; false: undone (the children were dropped; the node
    /// indices above are those at the time of the split).
    public var kept: Bool?

    public init(parent: String, parentNode: Int, childNodes: [Int], childPoints: [Int], mseBefore: Double) {
        self.parent = parent; self.parentNode = parentNode; self.childNodes = childNodes
        self.childPoints = childPoints; self.mseBefore = mseBefore
    }
}

extension Array where Element == SplitRecord {
    /// Splits that stand (kept) or may still stand (not yet decided); undone ones drop out.
    var inUseCount: Int { filter { $0.kept != false }.count }
}

/// Everything a run produced: enough to write the `.mci` file and report on it.
public struct PipelineResult: Sendable {
    public var config: MCINRConfig
    public var architecture: ArchitectureConfig
    public var variables: [TrainingData.Variable]
    public var componentNames: [String]
    public var times: [Double]
    public var pointCount: Int
    public var cellCount: Int
    public var normalization: Normalization
    public var tree: ClusterTree
    /// One network per leaf, in file order (leaves by node index), with its input map set.
    public var networks: [NetworkDescription]
    /// Networks of split nodes as trained before their split (not written to the file; the
    /// children started from exactly these weights).
    public var splitNodeNetworks: [Int: NetworkDescription]
    public var clusters: [ClusterRecord]
    /// Mesh point indices each trained node (leaf or split parent) was trained on.
    public var trainingPartition: [Int: [Int]]
    /// Every split made, kept or undone (`SplitRecord.kept`).
    public var splits: [SplitRecord]
    public var keptSplitCount: Int { splits.inUseCount }
    /// Meta-learning shared by all clusters (MetaSharing.shared).
    public var sharedMeta: MetaSummary?
    public var kMeansIterations: Int
    public var seconds: Double
    /// Metrics of the model on the training data (de-normalised, global ranges); see
    /// `metricsSource`.
    public var metrics: MetricsReport?
    /// MSE in normalised units over all samples and components (the split criterion's unit).
    public var normalizedMSE: Double
    /// "decoder": computed through the C decoder (the numbers ParaView shows).
    public var metricsSource: String?

    public var parameterCount: Int { networks.reduce(0) { $0 + $1.parameterCount } }
    public var compressionRatio: Double { Metrics.compressionRatio(rawFieldBytes: rawFieldBytes, modelBytes: weightBytes) }
    /// float32 weights, the paper's model size.
    public var weightBytes: Int { parameterCount * 4 }
    public var rawFieldBytes: Int { pointCount * times.count * componentNames.count * 4 }
}

/// The MC-INR pipeline: normalise, cluster, meta-learn, train every cluster concurrently,
/// split clusters whose residual stays high, and assemble the result.
///
/// ```swift
/// let dataset = try DatasetReader.read(url).selectingVariables(["velocity", "pressure"])
/// var config = MCINRConfig()            // or .baseline(.siren); every switch is a field
/// config.timeBudgetSeconds = 600
/// let result = try MCINRPipeline(config: config,
///                                reporter: TerminalProgressRenderer()).run(TrainingData(dataset: dataset))
/// try MCIWriter.write(try result.makeModel(mesh: MCIMesh(dataset.mesh)), to: outputURL)
/// print(result.metrics!.meanPSNR, result.compressionRatio)
/// ```
///
/// Training is organised in rounds (round 0: the top-level clusters; round r: the children of
/// round r − 1's splits), each trained by a pool of worker threads, largest cluster first,
/// with single-threaded BLAS. Every random stream is seeded from the global seed and the
/// cluster's tree path, and splits are decided between rounds in a fixed order, so the result
/// does not depend on the number of threads or on scheduling (unless a time budget is set).
public struct MCINRPipeline {
    public var config: MCINRConfig
    public var networkFactory: NetworkFactory
    public var reporter: ProgressReporter?

    public init(config: MCINRConfig, networkFactory: @escaping NetworkFactory = NetworkFactories.inrCore,
                reporter: ProgressReporter? = nil) {
        self.config = config; self.networkFactory = networkFactory; self.reporter = reporter
        // What this CPU will run (`auto` only where it has AVX512-BF16), so the metadata records
        // the arithmetic used (under `auto`, each cluster's record says what it chose).
        self.config.matmul = config.matmul.resolved
    }

    // Purposes of derived seeds: each random stream has its own.
    enum Purpose: UInt64 { case kMeans = 1, initialise, meta, train, split, sharedMeta, resume }

    public func run(_ data: TrainingData) throws -> PipelineResult {
        try config.validate()
        try data.validate()
        return try resolvingWidth(points: data.pointCount, steps: data.timeCount, components: data.componentCount)
            .runResolved(data)
    }

    /// The network width this pipeline trains `data` with (`targetCompressionRatio`'s, or the
    /// configured one); throws where no width fits the ratio.
    public func resolvedWidth(for data: TrainingData) throws -> Int {
        try resolvingWidth(points: data.pointCount, steps: data.timeCount, components: data.componentCount).config.width
    }

    /// This pipeline with the width that `targetCompressionRatio` asks for (unchanged without one).
    private func resolvingWidth(points: Int, steps: Int, components: Int) throws -> MCINRPipeline {
        var pipeline = self
        if let ratio = config.targetCompressionRatio {
            let rawBytes = points * steps * components * 4
            guard let width = config.largestWidth(fittingWeightBytes: Int(Double(rawBytes) / ratio),
                                                  outputs: components) else {
                throw MCINRError.invalidConfiguration(
                    "targetCompressionRatio \(ratio): even width 1 with \(config.maximumNetworkCount) networks exceeds \(rawBytes) / \(ratio) bytes; lower the ratio or the number of clusters")
            }
            pipeline.config.width = width
        }
        return pipeline
    }

    private func runResolved(_ data: TrainingData) throws -> PipelineResult {
        guard data.pointCount * data.timeCount < Int(Int32.max) else {
            throw MCINRError.invalidInput("\(data.pointCount) points × \(data.timeCount) steps exceed the 2³¹ samples a run supports")
        }
        let architecture = config.architecture(outputs: data.componentCount)
        do { try architecture.validate() } catch {
            throw MCINRError.invalidConfiguration("network architecture: \(error)")
        }
        return try WorkerPool.withSingleThreadedBLAS { try runValidated(data, architecture: architecture) }
    }

    /// The phases, in order: top-level clusters, round-0 jobs, shared meta-learning (if
    /// configured), then rounds of training → split decisions → new splits (or resumed
    /// clusters) until nothing is left to train, then the networks and the evaluation.
    private func runValidated(_ data: TrainingData, architecture spec: ArchitectureConfig) throws -> PipelineResult {
        let started = Date()
        let normalization = try Normalization(data: data)
        let normalized = NormalizedData(data: data, normalization: normalization)
        let threads = config.threads > 0 ? config.threads : WorkerPool.coreCount
        let (topTree, kMeansIterations) = topLevelClusters(normalized.q)
        var result = try runRounds(normalized, topTree: topTree, kMeansIterations: kMeansIterations,
                                   shape: DataShape(data), normalization: normalization, spec: spec,
                                   threads: threads, started: started, distribution: nil)
        switch config.evaluation {
        case .decoder:
            reporter?.report(.evaluating)
            result.metrics = try DecoderEvaluation.evaluate(result, data: data, threads: threads)
            result.metricsSource = "decoder"
        case .none:
            break
        }
        result.seconds = Date().timeIntervalSince(started)
        reporter?.report(.finished(seconds: result.seconds))
        return result
    }

    /// The same on the ranks of `communicator` (issue 18; docs/architecture.md "MPI"): every
    /// rank computes the cheap, order-sensitive parts (normalisation, k-means, tree, split
    /// decisions) identically; each cluster trains on one rank, which alone holds its points'
    /// values (moved there once from the step blocks the ranks read); the rounds' outcomes are
    /// exchanged, so every rank ends with the same result, whatever the number of ranks.
    /// Progress is reported on rank 0 only. Evaluation is the caller's (`Encoder`).
    func runDistributed(_ shard: inout TrainingShard, communicator: Communicator) throws -> (PipelineResult, DistributedFields) {
        try config.validate()
        try shard.validate()
        var pipeline = try resolvingWidth(points: shard.pointCount, steps: shard.timeCount,
                                          components: shard.componentCount)
        if communicator.rank != 0 { pipeline.reporter = nil }
        if communicator.size > 1 && config.metaLearns && config.metaSharing == .shared {
            throw MCINRError.invalidConfiguration("shared meta-learning (metaSharing = .shared) is not distributed yet: run it on one rank")
        }
        guard shard.pointCount * shard.timeCount < Int(Int32.max) else {
            throw MCINRError.invalidInput("\(shard.pointCount) points × \(shard.timeCount) steps exceed the 2³¹ samples a run supports")
        }
        let spec = pipeline.config.architecture(outputs: shard.componentCount)
        do { try spec.validate() } catch {
            throw MCINRError.invalidConfiguration("network architecture: \(error)")
        }
        return try WorkerPool.withSingleThreadedBLAS {
            try pipeline.runDistributedValidated(&shard, communicator: communicator, architecture: spec)
        }
    }

    private func runDistributedValidated(_ shard: inout TrainingShard, communicator: Communicator,
                                         architecture spec: ArchitectureConfig) throws -> (PipelineResult, DistributedFields) {
        communicator.phase = "start"
        try communicator.barrier()  // the time budget starts together on every rank
        let started = Date()
        communicator.phase = "normalisation"
        let normalization = try Normalization(shard: shard, communicator: communicator)
        communicator.phase = "k-means"
        let q = (0 ..< shard.pointCount).map { p in
            normalization.normalizedPoint(SIMD3(shard.points[3 * p], shard.points[3 * p + 1], shard.points[3 * p + 2]))
        }
        let t = shard.times.map { Float(normalization.normalizedTime($0)) }
        let threads = config.threads > 0 ? config.threads : WorkerPool.coreCount
        let (topTree, kMeansIterations) = topLevelClusters(q)

        // Owners of the top-level clusters by cost (samples), then the one move of the values.
        let partition = topTree.partition(q)
        let leaves = topTree.leaves
        let ownerOfLeaf = ClusterAssignment.assign(costs: leaves.map { (partition[$0]?.count ?? 0) * shard.timeCount },
                                                   tieBreak: leaves.map { topTree.nodes[$0].path },
                                                   ranks: communicator.size)
        var ownerOfTop = [Int](repeating: 0, count: leaves.map { topTree.nodes[$0].path.top + 1 }.max() ?? 0)
        var pointOwner = [Int32](repeating: 0, count: shard.pointCount)
        for (i, leaf) in leaves.enumerated() {
            ownerOfTop[topTree.nodes[leaf].path.top] = ownerOfLeaf[i]
            for p in partition[leaf] ?? [] { pointOwner[p] = Int32(ownerOfLeaf[i]) }
        }
        communicator.phase = "redistribution"
        let fields = try DistributedFields.redistribute(&shard, pointOwner: pointOwner, communicator: communicator)
        let normalized = NormalizedData(q: q, t: t, componentCount: shard.componentCount, fields: fields,
                                        normalization: normalization)
        let distribution = Distribution(communicator: communicator, ownerOfTop: ownerOfTop, valueHolder: pointOwner)
        var result = try runRounds(normalized, topTree: topTree, kMeansIterations: kMeansIterations,
                                   shape: DataShape(shard), normalization: normalization, spec: spec,
                                   threads: threads, started: started, distribution: distribution)
        result.seconds = Date().timeIntervalSince(started)
        reporter?.report(.finished(seconds: result.seconds))
        return (result, fields)
    }

    /// The rounds and the assembled result (shared by one process and distributed runs).
    private func runRounds(_ normalized: NormalizedData, topTree: ClusterTree, kMeansIterations: Int, shape: DataShape,
                           normalization: Normalization, spec: ArchitectureConfig, threads: Int, started: Date,
                           distribution: Distribution?) throws -> PipelineResult {
        let fullDeadline = config.timeBudgetSeconds.map { started.addingTimeInterval($0) }
        // seams (#21): overlapping clusters (every round's jobs take their band along), then the seam round
        let overlap = config.bandMargin
        let deadline = config.timeBudgetSeconds.map {
            started.addingTimeInterval($0 * (overlap != nil ? 1 - MCINRConfig.seamBudgetShare : 1))
        }
        var state = TrainingState(tree: topTree, keepsSamples: overlap != nil)
        var jobs = roundZeroJobs(state.tree, normalized: normalized, overlap: overlap)
        try attachBands(&jobs, normalized: normalized, distribution: distribution)
        let lossClip = config.lossClip(normalization)
        let sharedMeta = sharedMetaInitialisation(&jobs, spec: spec, lossClip: lossClip, deadline: deadline)

        var round = 0
        var plannedTotal = jobs.count
        while !jobs.isEmpty {
            reporter?.report(.roundStarted(round: round, clusters: jobs.count, totalPlanned: plannedTotal))
            let moreRoundsPossible = config.reclusters && state.splits.inUseCount < splitBudget && round < config.maxSplitDepth
            let outcomes = try trainRound(jobs, spec: spec, threads: threads, deadline: deadline,
                                          roundShare: moreRoundsPossible && !jobs[0].resumes ? 0.75 : 1.0,
                                          lossClip: lossClip, distribution: distribution)
            state.record(jobs, outcomes)
            let trained = decideSplits(&state, jobs: jobs, outcomes: outcomes)
            // decisions that change control flow are agreed by every rank (any rank past the
            // deadline stops them all)
            let timeLeft = deadline.map { Date() < $0 } ?? true
            guard config.reclusters, try !(distribution?.communicator.any(!timeLeft) ?? !timeLeft) else { break }
            jobs = splitJobs(&state, trained: trained, normalized: normalized, round: round, overlap: overlap)
            if jobs.isEmpty { jobs = try resumedJobs(state, trained: trained, deadline: deadline, round: round,
                                                     distribution: distribution) }
            if let distribution, !jobs.isEmpty { try distribution.rebalance(&jobs, normalized: normalized) }
            try attachBands(&jobs, normalized: normalized, distribution: distribution)
            plannedTotal += jobs.count
            round += 1
        }
        if let margin = overlap, state.tree.leaves.count > 1 {  // one network: no boundary
            let seamRound = (state.records.map(\.round).max() ?? 0) + 1
            var jobs = seamJobs(state, margin: margin, normalized: normalized, round: seamRound)
            try attachBands(&jobs, normalized: normalized, distribution: distribution)
            reporter?.report(.roundStarted(round: seamRound, clusters: jobs.count, totalPlanned: plannedTotal + jobs.count))
            let outcomes = try trainRound(jobs, spec: spec, threads: threads, deadline: fullDeadline, roundShare: 1,
                                          lossClip: lossClip, distribution: distribution)
            state.record(jobs, outcomes)
        }
        var result = assemble(state, shape: shape, spec: spec, normalization: normalization,
                              sharedMeta: sharedMeta, kMeansIterations: kMeansIterations)
        if let margin = config.blendMargin, let reach = overlap, let fraction = config.seamBlendedFraction {
            // the file records the narrowed margin; the bands keep the reach they trained with
            let blend = state.tree.margin(blendingAtMost: fraction, of: normalized.q, cap: margin)
            result.config.seamMargin = blend > 0 ? blend : nil
            if blend > 0 { result.config.seamBandFactor = reach / blend }
        }
        return result
    }

    /// What the result records of the data (a whole `TrainingData` or a shard).
    struct DataShape {
        var variables: [TrainingData.Variable]
        var componentNames: [String]
        var times: [Double]
        var pointCount: Int
        var cellCount: Int

        init(_ data: TrainingData) {
            variables = data.variables; componentNames = data.componentNames; times = data.times
            pointCount = data.pointCount; cellCount = data.cellCount
        }

        init(_ shard: TrainingShard) {
            variables = shard.variables; componentNames = shard.componentNames; times = shard.times
            pointCount = shard.pointCount; cellCount = shard.cellCount
        }
    }

    /// Who trains what under distributed training: each cluster (by tree path) is held and
    /// trained by one rank. Round 0 follows the top-level assignment; the children of a round's
    /// splits are assigned again by cost, largest first (`ClusterAssignment`, preferring the
    /// rank that holds the parent on a tie), and a child that changes rank takes its values
    /// along (one all-to-all), so the ranks finish the later rounds together too.
    final class Distribution {
        let communicator: Communicator
        private var holder: [ClusterPath: Int] = [:]
        /// The rank whose fields hold each mesh point's values (its top-level cluster's owner).
        private let valueHolder: [Int32]

        init(communicator: Communicator, ownerOfTop: [Int], valueHolder: [Int32]) {
            self.communicator = communicator
            self.valueHolder = valueHolder
            for (top, owner) in ownerOfTop.enumerated() { holder[ClusterPath(top: top)] = owner }
        }

        /// The values of the pending band points (#21) of the jobs this rank trains, by job
        /// index, `[(t · band + i) · C + c]`: one all-to-all in which each rank sends, job by
        /// job in order, the band points whose values it holds.
        func bandValues(_ jobs: [ClusterJob], normalized: NormalizedData) throws -> [Int: [Float]] {
            let size = communicator.size, rank = communicator.rank
            let c = normalized.componentCount, steps = normalized.timeCount
            communicator.phase = "bands"
            var outgoing = [[Float]](repeating: [], count: size)
            for job in jobs {
                let trainer = owner(job.path)
                for p in job.band where valueHolder[p] == rank {
                    let row = Int(normalized.localRow?[p] ?? Int32(p))
                    for t in 0 ..< steps {
                        let from = (t * normalized.valuePointCount + row) * c
                        outgoing[trainer] += normalized.values[from ..< from + c]
                    }
                }
            }
            let incoming = try communicator.alltoall(outgoing.map { floats in floats.withUnsafeBytes { Array($0) } })
            let received = incoming.map { bytes in
                bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            }
            var cursor = [Int](repeating: 0, count: size)
            var result: [Int: [Float]] = [:]
            for (j, job) in jobs.enumerated() where owner(job.path) == rank && !job.band.isEmpty {
                var values = [Float](repeating: 0, count: steps * job.band.count * c)
                for (i, p) in job.band.enumerated() {
                    let sender = Int(valueHolder[p])
                    guard cursor[sender] + steps * c <= received[sender].count else {
                        throw MCINRError.invalidInput("rank \(sender) sent fewer band values than cluster job \(j) needs")
                    }
                    for t in 0 ..< steps {
                        let from = cursor[sender] + t * c, to = (t * job.band.count + i) * c
                        for k in 0 ..< c { values[to + k] = received[sender][from + k] }
                    }
                    cursor[sender] += steps * c
                }
                result[j] = values
            }
            for sender in 0 ..< size where cursor[sender] != received[sender].count {
                throw MCINRError.invalidInput("rank \(sender) sent band values no cluster job here needs")
            }
            return result
        }

        /// The rank that trains the cluster at `path` in the current round.
        func owner(_ path: ClusterPath) -> Int { holder[path]! }

        /// Assigns the round's jobs (children of splits) to ranks by cost and moves the values
        /// of those that change rank. Resumed clusters stay where they trained.
        func rebalance(_ jobs: inout [ClusterJob], normalized: NormalizedData) throws {
            let size = communicator.size, rank = communicator.rank
            let current = jobs.map { job -> Int in
                job.resumes || job.path.depth == 0 ? holder[job.path]!
                    : holder[ClusterPath(top: job.path.top, splits: Array(job.path.splits.dropLast()))]!
            }
            var next = current
            if !jobs.contains(where: \.resumes) {
                var load = [Int](repeating: 0, count: size)
                let order = jobs.indices.sorted { a, b in
                    jobs[a].samples.pointCount != jobs[b].samples.pointCount
                        ? jobs[a].samples.pointCount > jobs[b].samples.pointCount : jobs[a].path < jobs[b].path
                }
                for j in order {
                    let least = load.min()!
                    let target = load[current[j]] == least ? current[j] : load.firstIndex(of: least)!
                    next[j] = target
                    load[target] += jobs[j].samples.pointCount
                }
            }
            communicator.phase = "rebalance"
            var writers = [ByteWriter](repeating: ByteWriter(), count: size)
            for j in jobs.indices where current[j] == rank && next[j] != rank {
                writers[next[j]].int(j)
                writers[next[j]].floats(jobs[j].samples.ownValues())
            }
            let incoming = try communicator.alltoall(writers.map(\.bytes))
            for (sender, message) in incoming.enumerated() where !message.isEmpty {
                var reader = ByteReader(message)
                while reader.position < message.count {
                    let j = try reader.int()
                    let values = try reader.floats()
                    guard jobs.indices.contains(j), current[j] == sender, next[j] == rank,
                          values.count == jobs[j].samples.sampleCount * jobs[j].samples.componentCount else {
                        throw MCINRError.invalidInput("rank \(sender) sent values of cluster job \(j), not expected from it")
                    }
                    let old = jobs[j].samples
                    jobs[j].samples = ClusterSamples(pointIndices: old.pointIndices, map: old.map, data: normalized, ownValues: values)
                }
            }
            for j in jobs.indices { holder[jobs[j].path] = next[j] }
        }
    }

    /// Splits allowed in the whole run.
    private var splitBudget: Int { config.reclusters ? config.effectiveMaxSplits : 0 }

    /// What the rounds have produced so far, kept consistent through split undos (which
    /// renumber the tree's nodes).
    struct TrainingState {
        var tree: ClusterTree
        var records: [ClusterRecord] = []
        /// Mesh point indices each trained node was trained on.
        var trainingPartition: [Int: [Int]] = [:]
        /// Every split made, kept or undone.
        var splits: [SplitRecord] = []
        var trainedParameters: [Int: (parameters: [Float], learningRate: Float, mse: Double)] = [:]
        var optimizers: [Int: Adam.State] = [:]
        /// Each node's last samples, kept when a seam round follows (it trains on from them:
        /// distributed, the values of a cluster that moved rank are only there).
        var samples: [Int: ClusterSamples] = [:]
        let keepsSamples: Bool

        init(tree: ClusterTree, keepsSamples: Bool = false) { self.tree = tree; self.keepsSamples = keepsSamples }

        /// Records a round's outcomes; a resumed cluster keeps its earlier network unless the
        /// new one is better.
        mutating func record(_ jobs: [ClusterJob], _ outcomes: [JobOutcome]) {
            for (job, outcome) in zip(jobs, outcomes) {
                records.append(outcome.record)
                if job.resumes, let earlier = trainedParameters[job.node], earlier.mse <= outcome.record.mse { continue }
                trainingPartition[job.node] = Array(job.ownPoints)
                trainedParameters[job.node] = (outcome.parameters, outcome.record.training.finalLearningRate,
                                               outcome.record.mse)
                optimizers[job.node] = outcome.optimizer
                if keepsSamples { samples[job.node] = job.samples }
            }
        }
    }

    /// k-means on the normalised points, then the centroids no point routes to are dropped
    /// (one centroid at the mean for the single-network baselines).
    private func topLevelClusters(_ q: [SIMD3<Double>]) -> (ClusterTree, iterations: Int) {
        guard config.isClustered else {
            let mean = q.reduce(SIMD3<Double>.zero, +) / Double(q.count)
            return (ClusterTree(topLevelCentroids: [mean]), 0)
        }
        let fit = KMeans.fit(points: q, k: config.effectiveClusters,
                             seed: SeedDerivation.derive(config.seed, Purpose.kMeans.rawValue),
                             maxIterations: config.kMeansMaxIterations,
                             maxSamples: config.kMeansMaxSamples)
        var used = [Bool](repeating: false, count: fit.centroids.count)
        for point in q { used[KMeans.nearest(point, among: fit.centroids)] = true }
        return (ClusterTree(topLevelCentroids: fit.centroids.indices.filter { used[$0] }.map { fit.centroids[$0] }),
                fit.iterations)
    }

    /// Round 0: every top-level cluster (with its band when clusters overlap) and the
    /// bounding box of what it trains on as its input map.
    private func roundZeroJobs(_ tree: ClusterTree, normalized: NormalizedData, overlap: Double?) -> [ClusterJob] {
        let partition = tree.partition(normalized.q)
        let band = overlap.map { bandPoints(tree, margin: $0, normalized: normalized) } ?? [:]
        return tree.leaves.map { node in
            let own = partition[node] ?? [], extra = band[node] ?? []
            let map = InputMap.boundingBox(of: (own + extra).map { normalized.q[$0] })
            return ClusterJob(node: node, path: tree.nodes[node].path,
                              samples: ClusterSamples(pointIndices: own, map: map, data: normalized),
                              initialParameters: nil, learningRate: config.learningRate,
                              maxEpochs: config.effectiveMaxEpochs, round: 0, band: extra)
        }
    }

    /// `MetaSharing.shared`: one Reptile run over tasks drawn from every cluster, its result
    /// the initialisation of every round-0 job.
    private func sharedMetaInitialisation(_ jobs: inout [ClusterJob], spec: ArchitectureConfig, lossClip: [Float],
                                          deadline: Date?) -> MetaSummary? {
        guard config.metaLearns && config.metaSharing == .shared else { return nil }
        let network = networkFactory(spec, SeedDerivation.derive(config.seed, Purpose.sharedMeta.rawValue))
        network.lossClip = lossClip  // the loss the clusters will train with, as per-cluster meta-learning has
        let metaDeadline = deadline.map { Date().addingTimeInterval($0.timeIntervalSinceNow * 0.1) }
        let steps = config.metaSteps, reporter = self.reporter
        let summary = MetaLearner.run(network, sources: jobs.map(\.samples), config: config,
                                      seed: SeedDerivation.derive(config.seed, Purpose.sharedMeta.rawValue, 1),
                                      deadline: metaDeadline) { step in
            reporter?.report(.metaStep(path: ClusterPath(top: -1), step: step, of: steps))
        }
        let initial = network.copyParameters()
        for i in jobs.indices { jobs[i].initialParameters = initial }
        return MetaSummary(summary)
    }

    /// After a round: the MSE after each split whose children just trained, and the splits
    /// that did not pay for their network undone (in split order, so the decisions do not
    /// depend on scheduling). Returns this round's jobs at their current node indices
    /// (children of undone splits dropped).
    private func decideSplits(_ state: inout TrainingState, jobs: [ClusterJob],
                              outcomes: [JobOutcome]) -> [(job: ClusterJob, outcome: JobOutcome)] {
        // Undoing renumbers the nodes after the removed children; `current` follows this
        // round's nodes through it.
        var current: [Int?] = Array(state.tree.nodes.indices)
        for index in state.splits.indices where state.splits[index].kept == nil {
            let children = state.splits[index].childNodes
            guard let a = state.trainedParameters[children[0]], let b = state.trainedParameters[children[1]] else { continue }
            let (na, nb) = (Double(state.splits[index].childPoints[0]), Double(state.splits[index].childPoints[1]))
            let mseAfter = (a.mse * na + b.mse * nb) / (na + nb)
            state.splits[index].mseAfter = mseAfter
            let leaves = state.tree.leaves
            let withSplit = leaves.reduce(0.0) { $0 + state.trainedParameters[$1]!.mse * Double(state.trainingPartition[$1]!.count) }
            let withoutSplit = withSplit + (state.splits[index].mseBefore - mseAfter) * (na + nb)
            let gain = 10 * log10(max(withoutSplit, .leastNormalMagnitude) / max(withSplit, .leastNormalMagnitude))
            let networksBefore = Double(leaves.count - 1)
            let required = config.splitGainPerDoubling * log2((networksBefore + 1) / networksBefore)
            state.splits[index].modelGainDB = gain
            state.splits[index].requiredGainDB = required
            state.splits[index].kept = config.splitGainPerDoubling == 0 || gain >= required
            guard state.splits[index].kept == false else {
                state.samples[state.splits[index].parentNode] = nil  // a kept split's parent trains no more
                continue
            }

            let map = state.tree.merge(state.splits[index].parentNode)
            func renumbered<V>(_ dictionary: [Int: V]) -> [Int: V] {
                Dictionary(uniqueKeysWithValues: dictionary.compactMap { node, value in map[node].map { ($0, value) } })
            }
            state.trainedParameters = renumbered(state.trainedParameters)
            state.optimizers = renumbered(state.optimizers)
            state.samples = renumbered(state.samples)
            state.trainingPartition = renumbered(state.trainingPartition)
            for r in state.records.indices {
                state.records[r].node = state.records[r].node >= 0 ? (map[state.records[r].node] ?? -1) : -1
            }
            for other in state.splits.indices where other != index && state.splits[other].kept != false {
                state.splits[other].parentNode = map[state.splits[other].parentNode]!
                state.splits[other].childNodes = state.splits[other].childNodes.map { map[$0] ?? -1 }
            }
            current = current.map { $0.flatMap { map[$0] } }
            reporter?.report(.splitUndone(parent: state.splits[index].parent, gainDB: gain, requiredDB: required))
        }
        return zip(jobs, outcomes).compactMap { job, outcome in
            guard let node = current[job.node] else { return nil }
            var moved = job
            moved.node = node
            return (moved, outcome)
        }
    }

    /// Residual re-clustering: every cluster above the threshold is a candidate (paper);
    /// within the split budget those with the largest error mass (MSE × points, their share of
    /// the global MSE) go first (ours: a split costs a whole network). Returns the children's
    /// jobs; they inherit the parent's input map and weights exactly.
    private func splitJobs(_ state: inout TrainingState, trained: [(job: ClusterJob, outcome: JobOutcome)],
                           normalized: NormalizedData, round: Int, overlap: Double?) -> [ClusterJob] {
        let candidates = trained
            .filter { job, outcome in
                outcome.record.mse > config.splitThreshold && job.path.depth < config.maxSplitDepth
                    && job.ownPoints.count >= 2 * config.minClusterPoints
            }
            .map { (job: $0.0, outcome: $0.1, errorMass: $0.1.record.mse * Double($0.0.ownPoints.count)) }
            .sorted { a, b in a.errorMass != b.errorMass ? a.errorMass > b.errorMass : a.job.path < b.job.path }
        var nextJobs: [ClusterJob] = []
        for (job, outcome, _) in candidates where state.splits.inUseCount < splitBudget {
            guard let split = twoMeansSplit(job, normalized: normalized) else { continue }
            let (first, second) = state.tree.split(job.node, childCentroids: split.centroids)
            let childEpochs = config.splitMaxEpochs ?? config.effectiveMaxEpochs
            for (node, points) in [(first, split.points.0), (second, split.points.1)] {
                nextJobs.append(ClusterJob(node: node, path: state.tree.nodes[node].path,
                                           samples: ClusterSamples(child: points, of: job.samples, map: job.samples.map),
                                           initialParameters: outcome.parameters,
                                           learningRate: outcome.record.training.finalLearningRate,
                                           maxEpochs: childEpochs, round: round + 1))
            }
            state.splits.append(SplitRecord(parent: job.path.description, parentNode: job.node,
                                            childNodes: [first, second],
                                            childPoints: [split.points.0.count, split.points.1.count],
                                            mseBefore: outcome.record.mse))
            reporter?.report(.clusterSplit(parent: job.path, mse: outcome.record.mse,
                                           childPoints: (split.points.0.count, split.points.1.count)))
        }
        if let overlap, !nextJobs.isEmpty {  // the children's bands, across the new boundaries too
            let band = bandPoints(state.tree, margin: overlap, normalized: normalized)
            for i in nextJobs.indices { nextJobs[i].band = band[nextJobs[i].node] ?? [] }
        }
        return nextJobs
    }

    /// The seam round (#21): every leaf trained on from its weights on its own points and on
    /// the points across its boundaries within `margin` that the decoder blends it into, so
    /// that both networks of a seam are accurate where they are mixed. A band point is kept
    /// with probability 2w, w the weight the decoder gives the network there (½ at the
    /// boundary, 0 at the margin): its capacity goes where it counts (measured in
    /// docs/benchmarks/seams-study.md: at the same seam ratio, 0.15 dB better than every point).
    private func seamJobs(_ state: TrainingState, margin: Double, normalized: NormalizedData, round: Int) -> [ClusterJob] {
        let band = bandPoints(state.tree, margin: margin, normalized: normalized)
        return state.tree.leaves.map { node in
            let last = state.samples[node]!
            let trained = state.trainedParameters[node]!
            return ClusterJob(node: node, path: state.tree.nodes[node].path,
                              samples: ClusterSamples(child: state.trainingPartition[node] ?? [], of: last, map: last.map),
                              initialParameters: trained.parameters, learningRate: trained.learningRate,
                              maxEpochs: config.effectiveSeamEpochs, round: round,
                              optimizer: state.optimizers[node], band: band[node] ?? [])
        }
    }

    /// Moves each job's pending `band` into its samples (after its own points). Distributed,
    /// a band point's values come from the rank that holds its top-level cluster's values.
    private func attachBands(_ jobs: inout [ClusterJob], normalized: NormalizedData,
                             distribution: Distribution?) throws {
        guard jobs.contains(where: { !$0.band.isEmpty }) else { return }
        let fetched = try distribution?.bandValues(jobs, normalized: normalized)
        for j in jobs.indices where !jobs[j].band.isEmpty {
            let samples = jobs[j].samples, band = jobs[j].band
            if let values = fetched?[j] {  // this rank trains it
                let own = samples.ownValues(), c = normalized.componentCount
                let (ownRow, bandRow) = (samples.pointCount * c, band.count * c)
                var joined: [Float] = []
                joined.reserveCapacity(own.count + values.count)
                for t in 0 ..< normalized.timeCount {
                    joined += own[t * ownRow ..< (t + 1) * ownRow]
                    joined += values[t * bandRow ..< (t + 1) * bandRow]
                }
                jobs[j].samples = ClusterSamples(pointIndices: samples.pointIndices + band, map: samples.map,
                                                 data: normalized, ownValues: joined)
            } else {  // one process (values in `normalized`), or a job another rank trains
                jobs[j].samples = ClusterSamples(pointIndices: samples.pointIndices + band, map: samples.map, data: normalized)
            }
            jobs[j].bandCount = band.count
            jobs[j].band = []
        }
    }

    /// The points each leaf is blended into beyond its own: routed to another leaf within
    /// `margin` of its boundary, each kept with probability 2w (`keepsBandPoint`).
    private func bandPoints(_ tree: ClusterTree, margin: Double, normalized: NormalizedData) -> [Int: [Int]] {
        var band: [Int: [Int]] = [:]
        for (p, q) in normalized.q.enumerated() {
            let seam = tree.seam(q, margin: margin)
            guard let partner = seam.partner else { continue }
            if Self.keepsBandPoint(p, weight: seam.weight, seed: config.seed) { band[partner, default: []].append(p) }
        }
        return band
    }

    /// Whether band point `point` joins its partner's seam round: with probability 2 · weight,
    /// drawn from the point and the seed (the same on every run).
    static func keepsBandPoint(_ point: Int, weight: Double, seed: UInt64) -> Bool {
        var draw = SplitMix64(seed: UInt64(point) &* 0x9E37_79B9_7F4A_7C15 ^ seed)
        return Double(draw.next() >> 11) / Double(1 << 53) < 2 * weight
    }

    /// Nothing to split, but round 0 kept part of the budget for splits: the clusters the
    /// budget stopped train on from where they are (a converged one would gain nothing).
    private func resumedJobs(_ state: TrainingState, trained: [(job: ClusterJob, outcome: JobOutcome)],
                             deadline: Date?, round: Int, distribution: Distribution?) throws -> [ClusterJob] {
        guard let deadline, let budget = config.timeBudgetSeconds else { return [] }
        let tooLate = deadline.timeIntervalSinceNow <= 0.05 * budget
        guard try !(distribution?.communicator.any(tooLate) ?? tooLate) else { return [] }
        return trained
            .filter { $0.outcome.record.training.stop == .timeBudget && state.tree.nodes[$0.job.node].isLeaf }
            .map { job, outcome in
                var next = job
                next.initialParameters = outcome.parameters
                next.learningRate = outcome.record.training.finalLearningRate
                next.round = round + 1
                next.resumes = true
                return next
            }
    }

    /// The result: one network per leaf in file order, the split parents' networks, the records.
    private func assemble(_ state: TrainingState, shape data: DataShape, spec: ArchitectureConfig,
                          normalization: Normalization, sharedMeta: MetaSummary?, kMeansIterations: Int) -> PipelineResult {
        let tree = state.tree
        let networkIndex = tree.networkIndexOfNode
        var networks = [NetworkDescription?](repeating: nil, count: tree.leaves.count)
        var splitNodeNetworks: [Int: NetworkDescription] = [:]
        let template = networkFactory(spec, 0)
        for node in tree.nodes.indices {
            template.loadParameters(state.trainedParameters[node]!.parameters)
            template.inputMap = state.records.last { $0.node == node }!.inputMap
            if tree.nodes[node].isLeaf {
                networks[networkIndex[node]] = template.export()
            } else {
                splitNodeNetworks[node] = template.export()
            }
        }
        var result = PipelineResult(
            config: config, architecture: spec, variables: data.variables, componentNames: data.componentNames,
            times: data.times, pointCount: data.pointCount, cellCount: data.cellCount,
            normalization: normalization, tree: tree, networks: networks.map { $0! },
            splitNodeNetworks: splitNodeNetworks, clusters: state.records, trainingPartition: state.trainingPartition,
            splits: state.splits, sharedMeta: sharedMeta, kMeansIterations: kMeansIterations,
            seconds: 0, metrics: nil, normalizedMSE: 0, metricsSource: nil)
        let leafPoints = tree.leaves.map { Double(state.trainingPartition[$0]!.count) }
        result.normalizedMSE = zip(tree.leaves, leafPoints).reduce(0) { $0 + state.trainedParameters[$1.0]!.mse * $1.1 }
            / Double(data.pointCount)
        return result
    }

    // MARK: - Rounds

    struct ClusterJob {
        var node: Int
        var path: ClusterPath
        var samples: ClusterSamples
        /// nil: a fresh network (meta-learned unless disabled); else inherited/shared weights.
        var initialParameters: [Float]?
        var learningRate: Float
        var maxEpochs: Int
        var round: Int
        /// Goes on training a leaf of an earlier round with the time re-clustering did not use.
        var resumes = false
        /// The optimiser's state to go on from (the seam round); nil: a fresh Adam.
        var optimizer: Adam.State? = nil
        /// Neighbours' points this job also trains on (#21), before `attachBands` appends them
        /// to `samples`.
        var band: [Int] = []
        /// Points of neighbours' bands at the end of `samples`: trained on, routed elsewhere.
        var bandCount = 0
        /// The points routing gives this cluster.
        var ownPoints: ArraySlice<Int> { samples.pointIndices.dropLast(bandCount) }
    }

    struct JobOutcome {
        var record: ClusterRecord
        var parameters: [Float]
        /// The optimiser's state at the end, kept only when a seam round will go on from it.
        var optimizer: Adam.State? = nil
    }

    /// Trains the jobs concurrently, largest first. A time budget is shared in proportion to
    /// size, and handed out when a job starts: a job gets its share of the round's remaining
    /// time over the points still to train, so time a cluster left unused (it converged early)
    /// goes to the clusters that start after it.
    ///
    /// Distributed: a rank trains the jobs it owns (the time shared among them), then every
    /// rank receives every outcome (record and parameters, exact bits), and rank 0 reports
    /// the other ranks' clusters as finished.
    private func trainRound(_ jobs: [ClusterJob], spec: ArchitectureConfig, threads: Int, deadline: Date?,
                            roundShare: Double, lossClip: [Float], distribution: Distribution?) throws -> [JobOutcome] {
        let slots = ResultSlots<JobOutcome>(count: jobs.count)
        let rank = distribution?.communicator.rank ?? 0
        distribution?.communicator.phase = "training"
        let mine = jobs.indices.filter { distribution?.owner(jobs[$0].path) ?? 0 == rank }
        let order = mine.sorted { a, b in
            jobs[a].samples.pointCount != jobs[b].samples.pointCount
                ? jobs[a].samples.pointCount > jobs[b].samples.pointCount : jobs[a].path < jobs[b].path
        }
        let roundEnd = deadline.map { Date().addingTimeInterval(max(0, $0.timeIntervalSinceNow) * roundShare) }
        let workers = Double(max(1, min(threads, mine.count)))
        let pending = PendingPoints(points: mine.reduce(0) { $0 + jobs[$1].samples.pointCount }, jobs: mine.count)
        let config = self.config, factory = networkFactory, reporter = self.reporter
        WorkerPool.run(order: order, threads: threads) { index in
            let job = jobs[index]
            let fraction = pending.share(of: job.samples.pointCount, workers: workers)
            let jobDeadline = roundEnd.map { end in
                min(deadline!, Date().addingTimeInterval(max(0, end.timeIntervalSinceNow) * fraction))
            }
            slots[index] = Self.trainCluster(job, spec: spec, config: config, lossClip: lossClip, factory: factory,
                                             reporter: reporter, deadline: jobDeadline)
            pending.finished(job.samples.pointCount)
        }
        if let distribution {
            let communicator = distribution.communicator
            communicator.phase = "exchange"
            var writer = ByteWriter()
            writer.int(mine.count)
            for index in mine {
                writer.int(index)
                writer.data(try slots[index]!.encoded())
            }
            for (sender, message) in try communicator.allgather(writer.bytes).enumerated() where sender != rank {
                var reader = ByteReader(message)
                for _ in 0 ..< (try reader.int()) {
                    let index = try reader.int()
                    guard jobs.indices.contains(index), slots[index] == nil,
                          distribution.owner(jobs[index].path) == sender else {
                        throw MCINRError.invalidInput("rank \(sender) sent the outcome of job \(index), which it does not own")
                    }
                    var payload = ByteReader(try reader.data())
                    let outcome = try JobOutcome.decoded(&payload)
                    slots[index] = outcome
                    reporter?.report(.clusterFinished(path: jobs[index].path, mse: outcome.record.mse,
                                                      epochs: outcome.record.training.epochs, seconds: outcome.record.seconds))
                }
            }
        }
        return slots.values
    }

    static func trainCluster(_ job: ClusterJob, spec: ArchitectureConfig, config: MCINRConfig, lossClip: [Float],
                             factory: @escaping NetworkFactory, reporter: ProgressReporter?,
                             deadline: Date?) -> JobOutcome {
        let started = Date()
        reporter?.report(.clusterStarted(path: job.path, points: job.samples.pointCount))
        let network = factory(spec, SeedDerivation.clusterSeed(config.seed, path: job.path,
                                                               purpose: Purpose.initialise.rawValue))
        network.inputMap = job.samples.map
        network.lossClip = lossClip
        // Under `auto` with a deadline, meta-learning (at most a fifth of the cluster's time, an
        // initialisation) takes the faster products; the trainer then chooses for itself.
        network.matmul = config.matmul == .auto && deadline != nil ? .bf16 : config.matmul
        var meta: MetaSummary?
        if let initial = job.initialParameters {
            network.loadParameters(initial)
        } else if config.metaLearns && job.samples.pointCount > 0 {
            // Meta-learning gets at most a fifth of the cluster's time budget (ours).
            let metaDeadline = deadline.map { started.addingTimeInterval($0.timeIntervalSince(started) * 0.2) }
            let summary = MetaLearner.run(network, sources: [job.samples], config: config,
                                          seed: SeedDerivation.clusterSeed(config.seed, path: job.path,
                                                                           purpose: Purpose.meta.rawValue),
                                          deadline: metaDeadline) { step in
                reporter?.report(.metaStep(path: job.path, step: step, of: config.metaSteps))
            }
            meta = MetaSummary(summary)
        }
        network.matmul = config.matmul
        let schedule = TrainingSchedule(learningRate: job.learningRate, batchSize: config.batchSize,
                                      sampleFraction: config.sampleFraction, decayFactor: config.decayFactor,
                                      decayEvery: config.decayEveryEpochs, patience: config.patience,
                                      maxEpochs: job.maxEpochs, plateauReductions: config.plateauReductions,
                                      budgetDecayShare: config.budgetDecayShare)
        let purpose = job.resumes ? Purpose.resume : Purpose.train
        let adam = job.optimizer.map { Adam(parameterCount: network.parameterCount, learningRate: job.learningRate, state: $0) }
            ?? Adam(parameterCount: network.parameterCount, learningRate: job.learningRate)
        let outcome = ClusterTrainer.train(network, on: job.samples, schedule: schedule, deadline: deadline,
                                           seed: SeedDerivation.clusterSeed(config.seed, path: job.path,
                                                                            purpose: purpose.rawValue),
                                           optimizer: adam) { epoch, loss, best in
            reporter?.report(.epoch(path: job.path, epoch: epoch, loss: loss, bestLoss: best))
        }
        // Past the budget the cluster's error is estimated on 2^16 strided samples (a full pass
        // over a 10⁸-point·step cluster took tens of seconds, outside any budget).
        let outOfTime = deadline.map { Date() >= $0 } ?? false
        let mse = job.samples.sampleCount == 0 ? 0
            : outOfTime ? ClusterTrainer.residual(network, on: job.samples, limit: 1 << 16)
            : ClusterTrainer.residual(network, on: job.samples)
        let seconds = Date().timeIntervalSince(started)
        reporter?.report(.clusterFinished(path: job.path, mse: mse, epochs: outcome.epochs, seconds: seconds))
        let record = ClusterRecord(path: job.path.description, node: job.node, points: job.samples.pointCount,
                                   round: job.round, inputMap: job.samples.map, parameters: network.parameterCount,
                                   meta: meta, training: outcome, mse: mse, seconds: seconds)
        return JobOutcome(record: record, parameters: network.copyParameters(),
                          optimizer: config.blendMargin != nil ? adam.state : nil)
    }

    /// 2-means on the cluster's points; the children's point sets are what routing gives
    /// (nearer child centroid, ties to child 0). nil when the split would leave a child smaller
    /// than the minimum or the points do not separate.
    private func twoMeansSplit(_ job: ClusterJob, normalized: NormalizedData)
        -> (centroids: (SIMD3<Double>, SIMD3<Double>), points: ([Int], [Int]))? {
        let own = Array(job.ownPoints)
        let q = own.map { normalized.q[$0] }
        let fit = KMeans.fit(points: q, k: 2,
                             seed: SeedDerivation.clusterSeed(config.seed, path: job.path, purpose: Purpose.split.rawValue),
                             maxIterations: config.kMeansMaxIterations, maxSamples: config.kMeansMaxSamples)
        guard fit.centroids.count == 2 else { return nil }
        let (c0, c1) = (fit.centroids[0], fit.centroids[1])
        var first: [Int] = [], second: [Int] = []
        for (point, coordinate) in zip(own, q) {
            if KMeans.squaredDistance(coordinate, c1) < KMeans.squaredDistance(coordinate, c0) {
                second.append(point)
            } else {
                first.append(point)
            }
        }
        guard first.count >= config.minClusterPoints, second.count >= config.minClusterPoints else { return nil }
        return ((c0, c1), (first, second))
    }
}

/// The round's jobs not yet finished, for sharing the remaining time among them.
final class PendingPoints: @unchecked Sendable {
    private var points: Int
    private var jobs: Int
    private let lock = NSLock()

    init(points: Int, jobs: Int) { self.points = points; self.jobs = jobs }

    /// The fraction of the remaining round time a job of `jobPoints` starting now may use: all
    /// of it when every unfinished job has a worker, else its share of the unfinished points
    /// times the workers that run in parallel (at most 1).
    func share(of jobPoints: Int, workers: Double) -> Double {
        lock.lock(); defer { lock.unlock() }
        if Double(jobs) <= workers { return 1 }
        return min(1, workers * Double(jobPoints) / Double(max(1, points)))
    }

    func finished(_ jobPoints: Int) { lock.lock(); points -= jobPoints; jobs -= 1; lock.unlock() }
}

/// Per-job result storage written from worker threads (each slot by exactly one job).
final class ResultSlots<T>: @unchecked Sendable {
    private var storage: [T?]
    private let lock = NSLock()

    init(count: Int) { storage = [T?](repeating: nil, count: count) }

    subscript(index: Int) -> T? {
        get { lock.lock(); defer { lock.unlock() }; return storage[index] }
        set { lock.lock(); storage[index] = newValue; lock.unlock() }
    }

    var values: [T] { lock.lock(); defer { lock.unlock() }; return storage.map { $0! } }
}
