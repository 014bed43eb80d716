import XCTest
import INRCore
import MCIFormat
@testable import MCINR

final class PipelineTests: XCTestCase {
    private func run(_ config: MCINRConfig, _ data: TrainingData = Fixtures.analyticField(),
                     reporter: ProgressReporter? = nil) throws -> PipelineResult {
        try MCINRPipeline(config: config, reporter: reporter).run(data)
    }

    /// `lossBound`: Huber's δ per component is the bound in normalised units (2 E_c / range_c),
    /// it reaches the trained networks (a δ beyond every error trains the MSE's weights, a
    /// small one other weights), and the encoder asks for it only with a bound.
    func testLossBoundTrainsWithHubersDelta() throws {
        let normalizer = try Normalizer(bboxMin: [0, 0, 0], bboxMax: [1, 1, 1], timeMin: 0, timeMax: 1,
                                        componentMin: [0, -2, 5], componentMax: [10, 2, 5])
        var config = Fixtures.fastConfig()
        XCTAssertEqual(config.lossClip(normalizer), [])
        config.lossBound = .relative(0.01)
        XCTAssertEqual(config.lossClip(normalizer), [0.02, 0.02, 1], "a constant component: any δ")
        config.lossBound = .absolute(0.1)
        for (d, e) in zip(config.lossClip(normalizer), [Float(0.02), 0.05, 1]) { XCTAssertEqual(d, e, accuracy: 1e-7) }

        config.lossBound = nil
        config.matmul = .fp32  // no speed-dependent choice: the runs repeat exactly
        let mse = try run(config).networks
        config.lossBound = .absolute(1e3)
        XCTAssertEqual(try run(config).networks, mse, "δ beyond every error: the MSE's training")
        config.lossBound = .relative(1e-4)
        XCTAssertNotEqual(try run(config).networks, mse, "a small δ changes the training")
        XCTAssertThrowsError(try { var c = config; c.lossBound = .relative(0); try c.validate() }())

        // Shared meta-learning trains with the same loss: with no epochs after it, the networks
        // are its initialisation, which a small δ changes.
        config.metaSharing = .shared
        config.maxEpochs = 0
        config.noRecluster = true
        config.lossBound = nil
        let sharedMSE = try run(config).networks
        config.lossBound = .relative(1e-4)
        XCTAssertNotEqual(try run(config).networks, sharedMSE, "shared meta-learning with Huber's δ")

        var options = EncodeOptions(training: Fixtures.fastConfig())
        XCTAssertNil(options.trainingConfig.lossBound, "no bound: the MSE")
        options.errorBound = .relative(1e-3)
        XCTAssertEqual(options.trainingConfig.lossBound, .relative(1e-3))
        XCTAssertEqual(options.trainingConfig.evaluation, .none)
        options.boundAwareLoss = false
        XCTAssertNil(options.trainingConfig.lossBound)
        options.plainLossBound = .relative(1e-2)
        XCTAssertNil(options.trainingConfig.lossBound, "with a bound, plainLossBound does nothing")
        options.errorBound = nil
        XCTAssertEqual(options.trainingConfig.lossBound, .relative(1e-2), "without one, it is Huber's δ")
    }

    func testTrainingPartitionIsTheRoutingIncludingSplits() throws {
        var config = Fixtures.fastConfig()
        config.splitThreshold = 0            // every cluster is split …
        config.maxSplits = 3                 // … within the split budget
        config.maxSplitDepth = 2
        let data = Fixtures.analyticField()
        let result = try run(config, data)
        XCTAssertEqual(result.splits.count, 3)
        XCTAssertEqual(result.tree.leaves.count, result.networks.count)
        let q = Fixtures.normalizedPoints(data)
        let routed = result.tree.partition(q)
        for leaf in result.tree.leaves {
            XCTAssertEqual(result.trainingPartition[leaf], routed[leaf], "leaf \(leaf) trained on other points than route there")
        }
        // Split parents trained on the union of their children.
        for split in result.splits {
            let children = split.childNodes.flatMap { result.trainingPartition[$0]! }.sorted()
            XCTAssertEqual(children, result.trainingPartition[split.parentNode]!.sorted())
            XCTAssertNotNil(split.mseAfter)
        }
        XCTAssertEqual(result.trainingPartition.filter { result.tree.nodes[$0.key].isLeaf }.values.reduce(0) { $0 + $1.count },
                       data.pointCount)
    }

    /// The seam round (#21): each leaf trains once more, from its weights, on its own points
    /// and the band across its boundaries that `ClusterTree.seam` gives it (each band point
    /// with probability 2w: fewer than all); the partition
    /// stays the routing; the model records the margin.
    func testSeamRoundTrainsEachLeafOnItsPointsAndItsBand() throws {
        var config = Fixtures.fastConfig()
        config.noRecluster = true
        config.seamMargin = 0.3
        config.seamEpochs = 2
        let data = Fixtures.analyticField()
        let result = try run(config, data)
        let q = Fixtures.normalizedPoints(data)
        let routed = result.tree.partition(q)
        XCTAssertGreaterThan(result.tree.leaves.count, 1)
        var band: [Int: Int] = [:]
        var inBand = 0
        for (p, point) in q.enumerated() {
            let seam = result.tree.seam(point, margin: 0.3 * config.seamBandFactor)  // the band reaches beyond the blend
            guard let partner = seam.partner else { continue }
            inBand += 1
            if MCINRPipeline.keepsBandPoint(p, weight: seam.weight, seed: config.seed) { band[partner, default: 0] += 1 }
        }
        XCTAssertGreaterThan(config.seamBandFactor, 1)
        XCTAssertGreaterThan(band.values.reduce(0, +), 0, "some points lie within the band's reach of a boundary")
        XCTAssertLessThan(band.values.reduce(0, +), inBand, "a band point joins with probability 2w ≤ 1")
        for leaf in result.tree.leaves {
            XCTAssertEqual(result.trainingPartition[leaf], routed[leaf], "the partition stays the routing")
            let seamRecord = try XCTUnwrap(result.clusters.last { $0.node == leaf })
            XCTAssertEqual(seamRecord.round, 1)
            XCTAssertEqual(seamRecord.points, (routed[leaf]?.count ?? 0) + (band[leaf] ?? 0), "own points + band of leaf \(leaf)")
        }
        XCTAssertEqual(try result.makeModel().seamMargin, 0.3)
        config.seamMargin = nil
        XCTAssertNil(try run(config, data).makeModel().seamMargin)
    }

    /// `seamBlendedFraction` (the auto margin): the file's margin blends at most that share of
    /// the points, and a margin a little wider would blend more; the bands keep their reach.
    func testBlendedShareNarrowsTheMargin() throws {
        var config = Fixtures.fastConfig()
        config.noRecluster = true
        config.seamMargin = 0.5
        config.seamEpochs = 1
        config.seamBlendedFraction = 0.1
        let data = Fixtures.analyticField()
        let result = try run(config, data)
        let q = Fixtures.normalizedPoints(data)
        let margin = try XCTUnwrap(try result.makeModel().seamMargin)
        func blended(_ m: Double) -> Int { q.filter { result.tree.seam($0, margin: m).partner != nil }.count }
        XCTAssertLessThan(margin, 0.5, "0.5 would blend more than a tenth here")
        XCTAssertLessThanOrEqual(blended(margin), q.count / 10)
        XCTAssertGreaterThan(blended(margin * 1.01), q.count / 10)
        XCTAssertEqual(try XCTUnwrap(result.config.bandMargin), 0.5 * config.seamBandFactor, accuracy: 1e-12)
        XCTAssertEqual(result.tree.margin(blendingAtMost: 1, of: q, cap: 0.5), 0.5, "nothing to narrow")
    }

    /// Overlapping clusters (#21, with a seam margin): round 0 already trains each network on its
    /// own points and its band, splits divide the own points only (children's partitions still
    /// add up to their parent's, and the leaves' are the routing), and the children's jobs take
    /// the band of the tree after the split.
    func testOverlappingClustersTrainOnTheirBandFromTheFirstRound() throws {
        var config = Fixtures.fastConfig()
        config.seamMargin = 0.3
        config.seamEpochs = 1
        config.splitThreshold = 0
        config.splitGainPerDoubling = 0      // every split kept
        config.maxSplits = 2
        config.maxSplitDepth = 1
        let data = Fixtures.analyticField()
        let result = try run(config, data)
        let q = Fixtures.normalizedPoints(data)
        XCTAssertEqual(result.splits.count, 2)
        func bands(_ tree: ClusterTree) -> [Int: Int] {
            var band: [Int: Int] = [:]
            for (p, point) in q.enumerated() {
                let seam = tree.seam(point, margin: 0.3 * config.seamBandFactor)
                if let partner = seam.partner, MCINRPipeline.keepsBandPoint(p, weight: seam.weight, seed: config.seed) {
                    band[partner, default: 0] += 1
                }
            }
            return band
        }
        let top = ClusterTree(topLevelCentroids: (0 ..< result.tree.topCount).map { result.tree.nodes[$0].centroid })
        let topRouted = top.partition(q), topBand = bands(top)
        XCTAssertGreaterThan(topBand.values.reduce(0, +), 0)
        for node in 0 ..< result.tree.topCount {
            let first = try XCTUnwrap(result.clusters.first { $0.node == node && $0.round == 0 })
            XCTAssertEqual(first.points, (topRouted[node]?.count ?? 0) + (topBand[node] ?? 0), "round 0 of cluster \(node): own + band")
            XCTAssertEqual(result.trainingPartition[node]?.count, topRouted[node]?.count, "the partition holds own points only")
        }
        let routed = result.tree.partition(q), finalBand = bands(result.tree)
        for split in result.splits {
            XCTAssertEqual(split.childNodes.flatMap { result.trainingPartition[$0]! }.sorted(),
                           result.trainingPartition[split.parentNode]!.sorted())
            for child in split.childNodes {
                let first = try XCTUnwrap(result.clusters.first { $0.node == child })
                XCTAssertEqual(first.points, routed[child]!.count + (finalBand[child] ?? 0), "child \(child): own + band after the split")
            }
        }
        for leaf in result.tree.leaves { XCTAssertEqual(result.trainingPartition[leaf], routed[leaf]) }
    }

    func testSplitChildrenStartFromTheirParentsExactWeights() throws {
        var config = Fixtures.fastConfig()
        config.splitThreshold = 0
        config.maxSplits = 2
        config.maxSplitDepth = 1
        config.splitMaxEpochs = 0            // children keep exactly what they inherited
        let result = try run(config)
        XCTAssertEqual(result.splits.count, 2)
        let networkIndex = result.tree.networkIndexOfNode
        for split in result.splits {
            let parent = try XCTUnwrap(result.splitNodeNetworks[split.parentNode])
            for child in split.childNodes {
                XCTAssertTrue(result.networks[networkIndex[child]] == parent,
                              "child \(child) of \(split.parent) does not carry its parent's weights and map")
            }
        }
    }

    func testClustersBelowTheThresholdAreNotSplit() throws {
        var config = Fixtures.fastConfig()
        config.noRecluster = true
        let plain = try run(config)
        let errors = plain.clusters.map(\.mse).sorted()
        XCTAssertEqual(errors.count, 3)
        // A threshold between the best and the worst cluster: only those above it split.
        config.noRecluster = false
        config.splitThreshold = (errors[0] + errors[1]) / 2
        config.maxSplitDepth = 1
        config.maxSplits = 10
        let result = try run(config)
        let round0 = result.clusters.filter { $0.round == 0 }
        XCTAssertEqual(round0.map(\.mse), plain.clusters.map(\.mse), "round 0 must not depend on re-clustering")
        let splitParents = Set(result.splits.map(\.parentNode))
        for cluster in round0 {
            XCTAssertEqual(splitParents.contains(cluster.node), cluster.mse > config.splitThreshold,
                           "cluster \(cluster.path) with MSE \(cluster.mse) vs threshold \(config.splitThreshold)")
        }
        XCTAssertEqual(splitParents.count, 2)
        for split in result.splits { XCTAssertGreaterThan(split.mseBefore, config.splitThreshold) }
    }

    /// A split that does not gain what its network costs is undone: with an unreachable gain
    /// every split is undone, and the model is exactly the one trained without re-clustering.
    func testSplitsThatDoNotPayForTheirNetworkAreUndone() throws {
        var config = Fixtures.fastConfig()
        config.splitThreshold = 0
        config.maxSplits = 2
        config.maxSplitDepth = 1
        config.splitGainPerDoubling = 1000
        let result = try run(config)
        XCTAssertEqual(result.splits.count, 2)
        XCTAssertTrue(result.splits.allSatisfy { $0.kept == false && $0.modelGainDB! < $0.requiredGainDB! })
        XCTAssertEqual(result.keptSplitCount, 0)
        XCTAssertEqual(result.tree.nodes.count, result.tree.topCount)
        config.noRecluster = true
        let plain = try run(config)
        XCTAssertEqual(result.networks, plain.networks)
        XCTAssertEqual(result.normalizedMSE, plain.normalizedMSE, accuracy: 1e-12)
        // Routing still is the training partition after the undo.
        let data = Fixtures.analyticField()
        let q = Fixtures.normalizedPoints(data)
        for (index, point) in q.enumerated() {
            XCTAssertTrue(result.trainingPartition[result.tree.route(point)]!.contains(index))
        }
    }

    /// Kept and undone splits follow the rule; the kept ones stay in the tree.
    func testSplitDecisionsFollowTheGainRule() throws {
        var config = Fixtures.fastConfig()
        config.splitThreshold = 0
        config.maxSplits = 3
        config.splitGainPerDoubling = 0.5
        let result = try run(config)
        XCTAssertFalse(result.splits.isEmpty)
        for split in result.splits {
            let kept = try XCTUnwrap(split.kept)
            XCTAssertEqual(kept, split.modelGainDB! >= split.requiredGainDB!, "\(split)")
        }
        XCTAssertEqual(result.networks.count, result.tree.topCount + result.keptSplitCount)
    }

    /// Whatever mix of splits is kept and undone (two rounds, several splits per round), the
    /// tree, the networks and the training partition stay consistent.
    func testTreeStaysConsistentUnderAnyMixOfUndoneSplits() throws {
        let data = Fixtures.analyticField(points: 400)
        let q = Fixtures.normalizedPoints(data)
        for gain in [0.05, 1.0, 2.5, 4.0] {   // 4 dB: one split kept, four undone over two rounds
            var config = Fixtures.fastConfig()
            config.splitThreshold = 0
            config.maxSplits = 4
            config.maxSplitDepth = 2
            config.splitGainPerDoubling = gain
            let result = try run(config, data)
            XCTAssertEqual(result.networks.count, result.tree.leaves.count)
            XCTAssertEqual(result.tree.splitCount, 2 * result.keptSplitCount, "gain \(gain)")
            for (index, point) in q.enumerated() {
                XCTAssertTrue(result.trainingPartition[result.tree.route(point)]!.contains(index), "gain \(gain)")
            }
            for split in result.splits where split.kept == true {
                XCTAssertFalse(result.tree.nodes[split.parentNode].isLeaf, "gain \(gain): \(split)")
                XCTAssertEqual(result.tree.nodes[split.parentNode].path.description, split.parent)
            }
            _ = try result.makeModel()   // the file's tree and networks agree
        }
    }

    func testSplitBudgetCapsGrowth() throws {
        var config = Fixtures.fastConfig()
        config.splitThreshold = 0
        config.maxSplitDepth = 3
        config.maxSplits = nil               // default: clusters / 2 = 1
        config.splitMaxEpochs = 1
        let result = try run(config)
        XCTAssertEqual(result.splits.count, 1)
        XCTAssertEqual(result.networks.count, 4)
    }

    func testSameSeedGivesIdenticalWeightsWithOneAndTwoThreads() throws {
        var config = Fixtures.fastConfig()
        config.splitThreshold = 0
        config.maxSplits = 2
        config.threads = 1
        let one = try run(config)
        config.threads = 2
        let two = try run(config)
        XCTAssertTrue(one.networks == two.networks, "weights differ between 1 and 2 threads")
        XCTAssertEqual(one.tree, two.tree)
        XCTAssertEqual(one.splits, two.splits)
        config.seed = 2
        let other = try run(config)
        XCTAssertTrue(one.networks != other.networks, "the seed must matter")
    }

    func testSharedMetaInitialisationIsUsedByEveryCluster() throws {
        var config = Fixtures.fastConfig()
        config.metaSharing = .shared
        config.maxEpochs = 0
        config.noRecluster = true
        let result = try run(config)
        XCTAssertNotNil(result.sharedMeta)
        XCTAssertEqual(result.sharedMeta?.outerSteps, 1)
        // Without training, all clusters hold the shared weights (input maps differ).
        let weights = result.networks.map { $0.trunk.map(\.tensors) + $0.branches.joined().map(\.tensors) }
        XCTAssertTrue(weights.allSatisfy { $0 == weights[0] })
        XCTAssertNotEqual(result.networks[0].inOffset, result.networks[1].inOffset)
        XCTAssertTrue(result.clusters.allSatisfy { $0.meta == nil })
    }

    func testPerClusterMetaLearningRunsAndChangesTheInitialisation() throws {
        var config = Fixtures.fastConfig()
        config.maxEpochs = 0
        config.noRecluster = true
        config.metaSteps = 2
        config.metaOuterLearningRate = 1e-2
        let meta = try run(config)
        config.noMeta = true
        let plain = try run(config)
        for cluster in meta.clusters { XCTAssertEqual(cluster.meta?.outerSteps, 2) }
        XCTAssertTrue(plain.clusters.allSatisfy { $0.meta == nil })
        XCTAssertTrue(meta.networks != plain.networks, "meta-learning left the initialisation unchanged")
    }

    func testEndToEndTrainingImprovesPSNRClearly() throws {
        var config = Fixtures.fastConfig()
        config.clusters = 2
        config.noMeta = true
        config.noRecluster = true
        config.maxEpochs = 0
        config.width = 16
        let data = Fixtures.analyticField(points: 160, steps: 2)
        let untrained = try run(config, data)
        let initial = try XCTUnwrap(untrained.metrics)
        config.maxEpochs = 200
        config.patience = 200
        config.batchSize = 16
        config.learningRate = 1e-4
        config.threads = 2
        let trained = try run(config, data)
        let metrics = try XCTUnwrap(trained.metrics)
        XCTAssertGreaterThan(metrics.meanPSNR, initial.meanPSNR + 5,
                             "PSNR \(initial.meanPSNR) → \(metrics.meanPSNR)")
        XCTAssertLessThan(trained.normalizedMSE, untrained.normalizedMSE / 3)
        XCTAssertEqual(metrics.perComponent.count, 3)
        XCTAssertEqual(metrics.perComponent[0].count, 2)
        XCTAssertEqual(trained.clusters.map(\.training.epochs), [200, 200])
        // The de-normalised metrics agree with the normalised residuals of the clusters:
        // MSE_normalised = 4 · MSE / range² per component.
        let ranges = trained.normalization.componentRanges
        var fromMetrics = 0.0
        for c in 0 ..< 3 { for s in 0 ..< 2 { fromMetrics += 4 * metrics.perComponent[c][s].mse / (ranges[c] * ranges[c]) } }
        fromMetrics /= 6
        XCTAssertEqual(fromMetrics, trained.normalizedMSE, accuracy: trained.normalizedMSE * 1e-3)
    }

    func testBaselineMethodsTrainOneNetworkWithoutClusters() throws {
        var config = Fixtures.fastConfig()
        config.method = .siren
        config.splitThreshold = 0
        let result = try run(config)
        XCTAssertEqual(result.tree.nodes.count, 1)
        XCTAssertEqual(result.networks.count, 1)
        XCTAssertTrue(result.splits.isEmpty)
        XCTAssertNil(result.clusters[0].meta)
        XCTAssertEqual(result.architecture.family, .siren)
    }

    /// A plateau lowers the learning rate and training resumes, until the reductions are spent.
    func testPlateauLowersTheRateBeforeStopping() throws {
        var config = Fixtures.fastConfig()
        config.learningRate = 1e-30      // updates vanish: the loss stops improving at once
        config.sampleFraction = 1
        config.batchSize = 100_000
        config.noMeta = true
        config.noRecluster = true
        config.maxEpochs = 100
        config.patience = 5
        config.plateauReductions = 2
        config.evaluation = .none
        let result = try run(config)
        for cluster in result.clusters {
            XCTAssertEqual(cluster.training.stop, .plateau)
            XCTAssertEqual(cluster.training.plateauReductions, 2)
            // At least three plateaus of 5 epochs (summation-order noise may add an improvement).
            XCTAssertGreaterThanOrEqual(cluster.training.epochs, 1 + 3 * 5)
            XCTAssertLessThan(cluster.training.epochs, 100)
        }
    }

    func testTimeBudgetStopsTraining() throws {
        var config = Fixtures.fastConfig()
        config.maxEpochs = 1_000_000
        config.patience = 1_000_000
        config.splitThreshold = 0
        config.maxSplits = 1
        config.timeBudgetSeconds = 0.5
        config.threads = 2
        let result = try run(config)
        XCTAssertTrue(result.clusters.filter { $0.round == 0 }.allSatisfy { $0.training.stop == .timeBudget })
        XCTAssertTrue(result.clusters.allSatisfy { $0.training.epochs < 1_000_000 })
        XCTAssertLessThan(result.seconds, 30, "a 0.5 s budget must bound the run")
    }

    /// Round 0 keeps a quarter of the budget for splits; when none happens, the clusters the
    /// budget stopped train on, and a resumed network replaces the earlier one only if better.
    func testTimeLeftByReclusteringGoesBackToTheClusters() throws {
        var config = Fixtures.fastConfig()
        config.maxEpochs = 1_000_000
        config.patience = 1_000_000
        config.splitThreshold = 1e9          // nothing is ever split …
        config.maxSplits = 1                 // … but round 0 keeps time for a split
        config.timeBudgetSeconds = 2.0
        config.threads = 2
        let result = try run(config)
        XCTAssertTrue(result.splits.isEmpty)
        let resumed = result.clusters.filter { $0.round == 1 }
        XCTAssertEqual(Set(resumed.map(\.node)), Set(result.tree.leaves), "every leaf resumes")
        XCTAssertEqual(result.networks.count, result.tree.topCount)
        for record in resumed {
            let first = try XCTUnwrap(result.clusters.first { $0.round == 0 && $0.node == record.node })
            XCTAssertEqual(first.training.stop, .timeBudget)
            XCTAssertLessThanOrEqual(result.clusters.filter { $0.node == record.node }.map(\.mse).min()!, first.mse)
        }
        XCTAssertLessThan(result.seconds, 30)
    }

    func testInvalidInputIsRejectedWithAClearError() {
        var config = Fixtures.fastConfig()
        config.clusters = 0
        XCTAssertThrowsError(try run(config)) { error in
            XCTAssertTrue("\(error)".contains("clusters"), "\(error)")
        }
        var data = Fixtures.analyticField(points: 10, steps: 2)
        data.values[7] = .nan
        XCTAssertThrowsError(try run(Fixtures.fastConfig(), data)) { error in
            XCTAssertTrue("\(error)".contains("velocity_0"), "\(error)")
        }
        data = Fixtures.analyticField(points: 10, steps: 2)
        data.values.removeLast()
        XCTAssertThrowsError(try run(Fixtures.fastConfig(), data))
    }

    func testProgressReporting() throws {
        var lines: [String] = []
        let renderer = TerminalProgressRenderer(mode: .plain, plainIntervalSeconds: 1000) { lines.append($0) }
        var events: [ProgressEvent] = []
        let reporter = ClosureProgressReporter { event in
            events.append(event)
            renderer.report(event)
        }
        var config = Fixtures.fastConfig()
        config.splitThreshold = 0
        config.maxSplits = 1
        config.threads = 2
        _ = try run(config, reporter: reporter)
        let finished = events.filter { if case .clusterFinished = $0 { return true } else { return false } }
        XCTAssertEqual(finished.count, 5)   // 3 clusters + 2 children
        XCTAssertTrue(events.contains { if case .clusterSplit = $0 { return true } else { return false } })
        XCTAssertTrue(lines.last?.contains("clusters 5/5") ?? false, "\(lines)")
        XCTAssertTrue(lines.last?.contains("finished") ?? false)
        XCTAssertTrue(lines.allSatisfy { $0.hasSuffix("\n") && !$0.contains("\r") })

        var quietOutput: [String] = []
        let quiet = TerminalProgressRenderer(mode: .quiet) { quietOutput.append($0) }
        _ = try run(Fixtures.fastConfig(), reporter: quiet)
        XCTAssertTrue(quietOutput.isEmpty)

        var liveOutput: [String] = []
        let live = TerminalProgressRenderer(mode: .live) { liveOutput.append($0) }
        live.report(.roundStarted(round: 0, clusters: 2, totalPlanned: 2))
        live.report(.finished(seconds: 1))
        XCTAssertTrue(liveOutput.allSatisfy { $0.hasPrefix("\r") })
        XCTAssertTrue(liveOutput.last!.hasSuffix("\n"))
    }
}
