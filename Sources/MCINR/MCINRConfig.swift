import ModelDescription
import INRCore
import MCIFormat

/// Every switch of an MC-INR run. Values marked (ours) are not from the paper; all of them are
/// recorded in the `.mci` JSON metadata.
public struct MCINRConfig: Sendable, Equatable, Codable {
    public enum Method: String, Sendable, Codable, CaseIterable {
        /// Clustered CoordNetB with meta-learning and re-clustering (the paper's method).
        case mcinr
        /// Single-network baselines on the whole dataset (K = 1, no re-clustering).
        case coordnetb, coordnet, siren
    }

    /// Where the meta-learned initialisation comes from. Measured on vessel-small (K = 4,
    /// width 12, 60 epochs, one seed): no meta 34.6 dB; per cluster (4 steps, ≈ 15 % extra
    /// compute) 35.7 dB; shared (4 steps, 1.8 s in all) 36.3 dB.
    public enum MetaSharing: String, Sendable, Codable {
        /// One Reptile run per cluster on its own data (paper default).
        case perCluster
        /// One Reptile run over tasks from all clusters, copied into every cluster (METHOD
        /// lesson 2: amortises the meta-learning cost).
        case shared
    }

    public var method: Method = .mcinr
    public var seed: UInt64 = 1

    // Clustering.
    public var clusters: Int = 20
    /// K for a dataset whose user did not choose one (ours): about one network per 200 000
    /// (point, step) samples, at most the paper's 20. Measured at equal size on vessel-small
    /// (400 k samples, 120 s): K = 2 → 47.7 dB, K = 4 → 46.9 dB at half the ratio, K = 20 →
    /// 29 dB with a model larger than the data; on a 128 k-sample analytic set (40 s, both
    /// converged before the budget) K = 1 → 39.7 dB, K = 2 → 37.7 dB: below ~300 k samples
    /// one network of full width beats two of 1/√2 the width (docs/benchmarks/defaults.md).
    public static func automaticClusters(points: Int, steps: Int) -> Int {
        let samples = Double(points) * Double(max(steps, 1))
        return min(20, max(1, Int((samples / 200_000).rounded())))
    }
    public var kMeansMaxIterations: Int = 50
    /// k-means runs on a subsample of this many points when the mesh has more (ours).
    public var kMeansMaxSamples: Int = 200_000

    // Network (CoordNetB unless a baseline is chosen).
    /// Width of every network. Paper: chosen per dataset. K = 20 networks of width 32 hold
    /// ≈ 1.8 M parameters: right for the paper's millions of points, far too many for a small
    /// mesh (vessel-small's fields are 9.5 MB), hence `targetCompressionRatio`.
    public var width: Int = 32
    /// When set, the width is chosen as the largest whose model (all clusters plus the split
    /// budget) fits in raw field bytes / ratio; the result's config records the width used.
    public var targetCompressionRatio: Double? = nil
    public var peFrequencies: Int = 6
    public var omega0: Float = 30
    /// Layer counts of the architectures (CoordNetB: 5 trunk + 6 branch ResBlocks; CoordNet:
    /// ResBlocks after the stem; SIREN: hidden sine layers).
    /// Paper: 5 trunk + 6 branch ResBlocks. Ours: 3 + 1. At equal size on vessel-small
    /// (K = 2, 150 s, ratio ≈ 90) the paper's shape reached 39.5 dB (width 12), 3 + 2 blocks
    /// 46.0 dB (width 20), 3 + 1 blocks 47.2 dB (width 24): under a size budget, width pays more
    /// than depth (docs/benchmarks/defaults.md).
    public var trunkBlocks: Int = 3
    public var branchBlocks: Int = 1
    public var coordNetBlocks: Int = 10
    public var sirenHiddenLayers: Int = 5

    // Meta-learning (Reptile, Meta-INR).
    public var noMeta: Bool = false
    public var metaSharing: MetaSharing = .perCluster
    /// Outer Reptile steps (Meta-INR: 500 on GPUs; scaled down for CPU budgets).
    public var metaSteps: Int = 4
    public var metaOuterLearningRate: Float = 1e-4
    public var metaInnerLearningRate: Float = 1e-4
    public var metaInnerEpochs: Int = 16
    /// Every `metaTaskStride`-th time step is a task (Meta-INR: every other step).
    public var metaTaskStride: Int = 2
    /// Random points of the cluster per task (ours: MC-INR says "random subsample").
    public var metaPointsPerTask: Int = 1024

    // Main training (MC-INR §3.1 schedule; CPU defaults, see METHOD "Measured here").
    // Measured on vessel-small (K = 4, width 12, 60 s, 2 shared cores, one seed, ±0.5 dB noise):
    // lr 1e-4 / 2e-4 / 5e-4 at batch 1024 → 34.7 / 35.7 / 33.1 dB; batch 512 at 2e-4 → 36.5 dB;
    // batch 2048 at 5e-4 → 32.0 dB.
    /// Paper: 5e-5 with large GPU batches. Ours: 2e-4, since a CPU budget allows far fewer steps.
    public var learningRate: Float = 2e-4
    /// Paper: large GPU batches. Ours: 512 (more optimiser steps per second on CPU).
    public var batchSize: Int = 512
    public var decayFactor: Float = 0.92
    public var decayEveryEpochs: Int = 30
    /// Fraction of the cluster's (point, time) samples drawn afresh each epoch.
    public var sampleFraction: Double = 0.3
    /// A plateau: the epoch loss has not improved for this many epochs.
    public var patience: Int = 30
    /// On a plateau the learning rate is halved and training resumes from the best parameters,
    /// this many times; the next plateau ends the cluster's training (ours: without it, clusters
    /// stopped at their first plateau and left a third or more of the time budget unused,
    /// docs/benchmarks/defaults.md).
    public var plateauReductions: Int = 4
    /// With a time budget: the last share of each cluster's training time over which the
    /// learning rate anneals (cosine, to 1/20), so a run the budget cuts ends on small steps
    /// rather than at the full rate (ours; docs/benchmarks/quality-scale.md). 0: off.
    public var budgetDecayShare: Double = 0.25
    /// Error-bounded training (ours, issue #23): the loss is Huber's, quadratic within ±δ_c of
    /// each target and linear beyond, with δ_c component c's bound E_c in normalised units
    /// (2 E_c / range_c); nil: the MSE. Errors within the bound cost the residual little, errors
    /// the network cannot bring near it (fronts thinner than the mesh, waves shorter than two
    /// cells) cost it about the same whatever their size, so they stop pulling the network away
    /// from the rest: on the paper-scale series at 10⁻² the network gained 1.9 dB and the
    /// residual lost 38 % of its bytes (docs/benchmarks/error-bounded-paper-scale.md). The
    /// encoder sets it to its error bound (`EncodeOptions.boundAwareLoss`), or without a bound to
    /// `EncodeOptions.plainLossBound` (`train --huber-delta`; not the default, docs/benchmarks/defaults.md).
    public var lossBound: MCIResidual.Bound? = nil
    /// Epoch cap of the main training (0: no training, the initialisation is evaluated).
    /// nil: 300 without a time budget; none with one (the budget and the plateau rule end it).
    public var maxEpochs: Int? = nil
    public var effectiveMaxEpochs: Int { maxEpochs ?? (timeBudgetSeconds == nil ? 300 : Int.max) }

    // Residual re-clustering.
    public var noRecluster: Bool = false
    /// Split a trained cluster whose MSE (normalised units) exceeds this.
    public var splitThreshold: Double = 5e-4
    public var maxSplitDepth: Int = 2
    /// A cluster is split only when both children would keep at least this many points.
    public var minClusterPoints: Int = 64
    /// Cap on the number of splits in the whole run; each split adds one network, so this caps
    /// the model's growth (METHOD lesson 3). nil: `clusters / 2` (at most 50 % growth), or
    /// `clusters / 4` under a target compression ratio, where every allowed split is paid for
    /// in advance by narrower networks whether or not it happens. When more clusters exceed
    /// the threshold, those with the largest MSE × points split first.
    public var maxSplits: Int? = nil
    /// A split adds a network, so it must pay for its bytes (ours): after the children trained,
    /// it is kept only if the model's PSNR (normalised MSE over all samples) rose by at least
    /// this many dB per doubling of the network count, i.e. by g · log2((N + 1) / N) with N
    /// networks before the split; otherwise it is undone and the parent's network kept. In the
    /// rate–distortion runs of docs/benchmarks/README.md a doubling of the model size by width
    /// bought 1.5–4.3 dB below width 22 (0.6 dB above it, time-bound): a split that gains less
    /// than 2 dB per doubling buys less than growing the networks typically does. 0 keeps every
    /// split (the paper).
    public var splitGainPerDoubling: Double = 2
    /// Epoch cap for children of a split (they start from a trained parent).
    public var splitMaxEpochs: Int? = nil

    /// How the result's metrics are computed.
    public enum Evaluation: String, Sendable, Codable {
        /// Through the C decoder, the numbers ParaView shows (DESIGN "One decoder").
        case decoder
        case none
    }

    public var evaluation: Evaluation = .decoder

    // Execution.
    /// Worker threads (clusters trained concurrently). 0: all cores.
    public var threads: Int = 0
    /// Precision of the hidden layers' matrix products in training: fp32, or bf16 products with
    /// fp32 accumulation on CPUs with AVX512-BF16, or `auto`: per cluster, bf16 only where the
    /// time budget is too short for it to converge (`MatmulPrecision.auto`). The model stays
    /// fp32 and is evaluated in fp32. Ours, measured (docs/benchmarks/bf16.md, quality-scale.md):
    /// bf16 trains 1.3–1.7× faster per epoch at the same PSNR per epoch within seed noise, which
    /// pays where the budget binds (+0.7 to +1.4 dB at 10^6–2.5·10^7 point-steps), but clusters
    /// that converge within their time ended ~0.25 dB lower than fp32. The pipeline records
    /// what this CPU runs (`auto` only where it has AVX512-BF16) and each cluster's choice.
    public var matmul: MatmulPrecision = .auto
    /// Optional wall-clock budget for the whole training, in seconds. Results then depend on
    /// timing and are no longer reproducible.
    public var timeBudgetSeconds: Double? = nil

    /// Seams (#21): the width, in normalised coordinates ([−1, 1] over the bounding box), of
    /// the band around each boundary between networks where the decoder blends the two (at most
    /// this with `seamBlendedFraction`). Every round trains each network on its points and on a
    /// band `seamBandFactor` times as wide on the other side of its boundaries (overlapping
    /// clusters), and a last round (the seam round) on the final tree's bands. nil: no blending.
    public var seamMargin: Double? = nil
    /// When set, the margin shrinks on the final tree until at most this share of the points is
    /// blended (each costs the decoder a second network): `--seam-margin auto` sets
    /// `autoSeamBlendedFraction`.
    public var seamBlendedFraction: Double? = nil
    /// 0.22: decode time grows with the blended share — about 21 % of the points gave +23 % on
    /// vessel-medium (margin 0.035; 0.05: +32 %) and +22 % on analytic (margin 0.1); the issue
    /// allows +25 % (docs/benchmarks/seams-study.md, sections 5 and 6).
    public static let autoSeamBlendedFraction = 0.22
    /// Epochs of the seam round (nil: `effectiveSeamEpochs` chooses); with a time budget the rounds
    /// before it stop at 1 − `seamBudgetShare` of the budget and it gets the rest.
    public var seamEpochs: Int? = nil
    /// 200: on vessel-small (margin 0.1) 0.03 dB and 0.03 of seam ratio better than 100
    /// (docs/benchmarks/seams-study.md); a converged network's epochs are cheap beside its training.
    public static let defaultSeamEpochs = 200
    /// The seam round's epochs: `seamEpochs`, else `defaultSeamEpochs`, and under an epoch cap
    /// at most the seam round's share of it (`--max-epochs 20`: 4 more, not 200).
    public var effectiveSeamEpochs: Int {
        if let seamEpochs { return seamEpochs }
        guard let cap = maxEpochs ?? (timeBudgetSeconds == nil ? effectiveMaxEpochs : nil) else { return Self.defaultSeamEpochs }
        let share = Int((Double(cap) * Self.seamBudgetShare / (1 - Self.seamBudgetShare)).rounded())
        return cap == 0 ? 0 : min(Self.defaultSeamEpochs, max(1, share))
    }
    public static let seamBudgetShare = 0.15
    /// `--seam-margin auto`: this many median cell edges (normalised). The margin must span
    /// the boundary's cells: 0.05 (0.9 edges) left vessel-small's pressure at 1.4, while 0.1
    /// (1.75 edges on vessel-small and on analytic) met the target (docs/benchmarks/seams-study.md).
    public static let seamMarginInEdges = 1.75
    /// How far each network's band reaches across its boundaries, in seam margins (`seamMargin`,
    /// before `seamBlendedFraction` narrows it): the training sees beyond where the decoder blends
    /// it, and decode time follows the blend only. On analytic, margin 0.1 with the band at 0.15
    /// gave the seam ratios of margin 0.15 (tracer 1.60 against 1.59; 1.74 with the band at 0.1)
    /// at margin 0.1's decode time (docs/benchmarks/seams-study.md, section 6).
    public static let defaultSeamBandFactor = 1.5
    public var seamBandFactor = defaultSeamBandFactor

    public init() {}

    /// Configuration of a single-network baseline with the given method. One network on the
    /// whole dataset takes many more steps per epoch than a cluster's, and a lower rate pays:
    /// CoordNetB width 25 on vessel-small, 60 s, batch 512: lr 2e-4 / 1e-4 / 5e-5 →
    /// 32.6 / 38.9 / 40.1 dB. Hence the paper's 5e-5 here.
    public static func baseline(_ method: Method) -> MCINRConfig {
        var config = MCINRConfig()
        config.method = method
        if method != .mcinr { config.learningRate = 5e-5 }
        return config
    }

    /// True for the clustered method.
    public var isClustered: Bool { method == .mcinr }
    /// Clusters actually requested (1 for baselines).
    public var effectiveClusters: Int { isClustered ? max(1, clusters) : 1 }
    /// Re-clustering is done only for the clustered method.
    public var reclusters: Bool { isClustered && !noRecluster }
    /// The seam margin where it applies: clustered models blend, one network has no boundary.
    public var blendMargin: Double? { isClustered ? seamMargin : nil }
    /// The reach of the bands the networks train on (`blendMargin` × `seamBandFactor`).
    public var bandMargin: Double? { blendMargin.map { $0 * seamBandFactor } }
    /// Meta-learning only for the clustered method (ours: baselines are the plain networks).
    public var metaLearns: Bool { isClustered && !noMeta && metaSteps > 0 }
    public var effectiveMaxSplits: Int {
        max(0, maxSplits ?? effectiveClusters / (targetCompressionRatio == nil ? 2 : 4))
    }

    /// Checks the values; throws naming the first bad one.
    public func validate() throws {
        func check(_ condition: Bool, _ name: String, _ requirement: String) throws {
            if !condition { throw MCINRError.invalidConfiguration("\(name) \(requirement)") }
        }
        try check(clusters >= 1, "clusters", "must be at least 1 (got \(clusters))")
        try check(width >= 1 && width <= 65536, "width", "must be in 1…65536 (got \(width))")
        let frequencies = NetworkDescription.peFrequencyRange
        try check(frequencies.contains(peFrequencies), "peFrequencies", "must be in \(frequencies.lowerBound)…\(frequencies.upperBound)")
        try check(omega0.isFinite && omega0 > 0, "omega0", "must be positive")
        try check(learningRate.isFinite && learningRate > 0, "learningRate", "must be positive")
        try check(batchSize >= 1, "batchSize", "must be at least 1")
        try check(sampleFraction > 0 && sampleFraction <= 1, "sampleFraction", "must be in (0, 1]")
        try check((maxEpochs ?? 0) >= 0, "maxEpochs", "must not be negative")
        try check(plateauReductions >= 0, "plateauReductions", "must not be negative")
        switch lossBound {
        case .absolute(let e)?, .relative(let e)?: try check(e.isFinite && e > 0, "lossBound", "must be positive")
        case nil: break
        }
        try check(budgetDecayShare >= 0 && budgetDecayShare <= 1, "budgetDecayShare", "must be in [0, 1]")
        try check(splitGainPerDoubling >= 0 && splitGainPerDoubling.isFinite, "splitGainPerDoubling", "must be 0 or more")
        if let epochs = splitMaxEpochs { try check(epochs >= 0, "splitMaxEpochs", "must not be negative") }
        try check(patience >= 1, "patience", "must be at least 1")
        try check(decayEveryEpochs >= 1, "decayEveryEpochs", "must be at least 1")
        try check(decayFactor > 0 && decayFactor <= 1, "decayFactor", "must be in (0, 1]")
        try check(metaSteps >= 0, "metaSteps", "must not be negative")
        try check(metaInnerEpochs >= 1, "metaInnerEpochs", "must be at least 1")
        try check(metaTaskStride >= 1, "metaTaskStride", "must be at least 1")
        try check(metaPointsPerTask >= 1, "metaPointsPerTask", "must be at least 1")
        try check(splitThreshold >= 0, "splitThreshold", "must not be negative")
        try check(maxSplitDepth >= 0, "maxSplitDepth", "must not be negative")
        try check(minClusterPoints >= 1, "minClusterPoints", "must be at least 1")
        try check(threads >= 0, "threads", "must not be negative")
        try check(kMeansMaxIterations >= 1, "kMeansMaxIterations", "must be at least 1")
        if let ratio = targetCompressionRatio {
            try check(ratio.isFinite && ratio > 0, "targetCompressionRatio", "must be positive")
        }
        if let budget = timeBudgetSeconds {
            try check(budget > 0, "timeBudgetSeconds", "must be positive")
        }
    }
}

extension MCINRConfig {
    /// Huber's δ per component in normalised units for `lossBound` (empty without one): the
    /// bound E_c as the residual computes it, times 2 / range_c (components map to [−1, 1]).
    func lossClip(_ normalization: Normalizer) -> [Float] {
        guard let bound = lossBound else { return [] }
        let ranges = zip(normalization.componentMin, normalization.componentMax).map { $0 ... $1 }
        return zip(bound.perComponent(ranges), ranges).map { e, r in
            let span = r.upperBound - r.lowerBound
            return span > 0 ? Float(2 * e / span) : 1  // a constant component maps to 0: any δ
        }
    }
}

public enum MCINRError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case invalidInput(String)
    case decoding(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message): return "invalid MC-INR configuration: \(message)"
        case .invalidInput(let message): return "invalid training data: \(message)"
        case .decoding(let message): return "evaluation through the decoder failed: \(message)"
        }
    }
}
