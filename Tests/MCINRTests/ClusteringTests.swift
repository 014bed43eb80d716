import XCTest
@testable import MCINR

final class ClusteringTests: XCTestCase {
    func testKMeansFindsSeparableBlobs() {
        let centres: [SIMD3<Double>] = [[-0.8, -0.8, -0.8], [0.8, -0.8, 0.5], [-0.7, 0.8, 0.0], [0.7, 0.7, -0.7]]
        let points = Fixtures.blobs(centres: centres, perBlob: 60, spread: 0.1, seed: 3)
        let fit = KMeans.fit(points: points, k: 4, seed: 11)
        XCTAssertEqual(fit.centroids.count, 4)
        XCTAssertTrue(fit.converged)
        // Every blob lands in one cluster of its own, and that centroid is near the blob centre.
        var clusterOfBlob: [Int] = []
        for (blob, centre) in centres.enumerated() {
            let members = points[blob * 60 ..< (blob + 1) * 60].map { KMeans.nearest($0, among: fit.centroids) }
            XCTAssertEqual(Set(members).count, 1, "blob \(blob) was split across clusters")
            clusterOfBlob.append(members[0])
            XCTAssertLessThan(KMeans.squaredDistance(fit.centroids[members[0]], centre).squareRoot(), 0.05)
        }
        XCTAssertEqual(Set(clusterOfBlob).count, 4, "two blobs share a cluster")
    }

    func testKMeansIsDeterministicForASeed() {
        let points = Fixtures.blobs(centres: [[0, 0, 0], [1, 1, 1]], perBlob: 100, spread: 0.6, seed: 5)
        XCTAssertEqual(KMeans.fit(points: points, k: 5, seed: 9).centroids,
                       KMeans.fit(points: points, k: 5, seed: 9).centroids)
    }

    func testKMeansWithMoreClustersThanDistinctPoints() {
        let points: [SIMD3<Double>] = [[0, 0, 0], [1, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0, 0]]
        let fit = KMeans.fit(points: points, k: 20, seed: 1)
        XCTAssertEqual(fit.centroids.count, 2, "duplicates must not become separate clusters")
        XCTAssertEqual(Set(fit.centroids.map { $0.x }), [0, 1])
        let single = KMeans.fit(points: [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]], k: 3, seed: 1)
        XCTAssertEqual(single.centroids, [[0.5, 0.5, 0.5]])
    }

    func testKMeansOnSubsampleStillCoversBlobs() {
        let centres: [SIMD3<Double>] = [[-0.5, 0, 0], [0.5, 0, 0]]
        let points = Fixtures.blobs(centres: centres, perBlob: 500, spread: 0.1, seed: 8)
        let fit = KMeans.fit(points: points, k: 2, seed: 4, maxSamples: 100)
        XCTAssertEqual(Set(points.map { KMeans.nearest($0, among: fit.centroids) }).count, 2)
        XCTAssertEqual(Set(points[0 ..< 500].map { KMeans.nearest($0, among: fit.centroids) }).count, 1)
    }

    func testRoutingTieBreaksAndSplits() {
        var tree = ClusterTree(topLevelCentroids: [[-1, 0, 0], [1, 0, 0]])
        // Equidistant from both top-level centroids: the lower index wins.
        XCTAssertEqual(tree.route([0, 0.3, 0]), 0)
        XCTAssertEqual(tree.route([0.1, 0, 0]), 1)
        let (first, second) = tree.split(1, childCentroids: ([1, -1, 0], [1, 1, 0]))
        XCTAssertEqual(tree.route([1, 0.5, 0]), second)
        XCTAssertEqual(tree.route([1, -0.5, 0]), first)
        // Equidistant from both children: child 0.
        XCTAssertEqual(tree.route([1, 0, 0]), first)
        XCTAssertEqual(tree.leaves, [0, first, second])
        XCTAssertEqual(tree.networkIndexOfNode, [0, -1, 1, 2])
        XCTAssertEqual(tree.nodes[second].path.description, "1.1")
        XCTAssertEqual(tree.nodes[first].parent, 1)
    }

    /// Undoing a split removes the two children and renumbers the nodes after them; routing
    /// below the other splits is unchanged.
    func testMergeUndoesASplitAndRenumbers() {
        var tree = ClusterTree(topLevelCentroids: [[-1, 0, 0], [1, 0, 0]])
        tree.split(0, childCentroids: ([-1, -1, 0], [-1, 1, 0]))     // nodes 2, 3
        tree.split(1, childCentroids: ([1, -1, 0], [1, 1, 0]))       // nodes 4, 5
        let before = tree.route([1.1, 0.9, 0])
        XCTAssertEqual(before, 5)
        let map = tree.merge(0)
        XCTAssertEqual(map, [0, 1, nil, nil, 2, 3])
        XCTAssertEqual(tree.nodes.count, 4)
        XCTAssertTrue(tree.nodes[0].isLeaf)
        XCTAssertEqual(tree.nodes[1].children?.0, 2); XCTAssertEqual(tree.nodes[1].children?.1, 3)
        XCTAssertEqual(tree.nodes[3].parent, 1)
        XCTAssertEqual(tree.route([1.1, 0.9, 0]), map[before]!)
        XCTAssertEqual(tree.route([-1.1, 0.9, 0]), 0)
        XCTAssertEqual(tree.leaves, [0, 2, 3])
    }

    func testClusterPathOrderAndSeedsAreStable() {
        let a = ClusterPath(top: 2, splits: [false, true])
        XCTAssertLessThan(ClusterPath(top: 2), a)
        XCTAssertLessThan(a, ClusterPath(top: 2, splits: [true]))
        XCTAssertNotEqual(SeedDerivation.clusterSeed(1, path: a, purpose: 1),
                          SeedDerivation.clusterSeed(1, path: ClusterPath(top: 2, splits: [true, false]), purpose: 1))
        XCTAssertEqual(SeedDerivation.clusterSeed(1, path: a, purpose: 1),
                       SeedDerivation.clusterSeed(1, path: ClusterPath(top: 2, splits: [false, true]), purpose: 1))
    }

    func testInputMapSendsBoundingBoxToUnitCube() {
        let map = InputMap.boundingBox(of: [[-0.5, 0.2, 0.3], [0.5, 0.6, 0.3]])
        let low = map.apply(SIMD4(-0.5, 0.2, 0.3, -1)), high = map.apply(SIMD4(0.5, 0.6, 0.3, 1))
        XCTAssertEqual(low.x, -1, accuracy: 1e-6); XCTAssertEqual(high.x, 1, accuracy: 1e-6)
        XCTAssertEqual(low.y, -1, accuracy: 1e-6); XCTAssertEqual(high.y, 1, accuracy: 1e-6)
        XCTAssertEqual(low.z, 0, accuracy: 1e-6)   // flat extent: centred, scale 1
        XCTAssertEqual(low.w, -1); XCTAssertEqual(high.w, 1)   // time keeps its global normalisation
    }
}

final class ConfigTests: XCTestCase {
    func testLargestWidthFitsTheBudgetAndTheNextDoesNot() throws {
        var config = MCINRConfig()
        config.clusters = 4
        config.maxSplits = 2
        let budget = 200 * 1024
        let width = try XCTUnwrap(config.largestWidth(fittingWeightBytes: budget, outputs: 6))
        func size(_ w: Int) -> Int {
            var c = config; c.width = w
            return c.architecture(outputs: 6).parameterCount * 4 * 6
        }
        XCTAssertLessThanOrEqual(size(width), budget)
        XCTAssertGreaterThan(size(width + 1), budget)
        XCTAssertNil(config.largestWidth(fittingWeightBytes: 10, outputs: 6))
        config.noRecluster = true
        XCTAssertEqual(config.maximumNetworkCount, 4)
    }

    func testAutomaticClustersGrowWithTheSamples() {
        XCTAssertEqual(MCINRConfig.automaticClusters(points: 16_000, steps: 8), 1)
        XCTAssertEqual(MCINRConfig.automaticClusters(points: 33_177, steps: 12), 2)
        XCTAssertEqual(MCINRConfig.automaticClusters(points: 240_408, steps: 20), 20)
        XCTAssertEqual(MCINRConfig.automaticClusters(points: 0, steps: 0), 1)
    }

    /// A time budget lifts the default epoch cap; a target ratio shrinks the split reserve.
    func testBudgetAndRatioDefaults() {
        var config = MCINRConfig()
        XCTAssertEqual(config.effectiveMaxEpochs, 300)
        config.timeBudgetSeconds = 10
        XCTAssertEqual(config.effectiveMaxEpochs, Int.max)
        config.maxEpochs = 7
        XCTAssertEqual(config.effectiveMaxEpochs, 7)
        config.clusters = 8
        XCTAssertEqual(config.effectiveMaxSplits, 4)
        config.targetCompressionRatio = 100
        XCTAssertEqual(config.effectiveMaxSplits, 2)
        config.maxSplits = 3
        XCTAssertEqual(config.effectiveMaxSplits, 3)
    }

    /// Time shares: every job gets the whole remaining round while there are workers for all
    /// unfinished jobs; otherwise its share of the unfinished points.
    func testPendingPointsShareTheRemainingTime() {
        let pending = PendingPoints(points: 400, jobs: 3)
        XCTAssertEqual(pending.share(of: 100, workers: 2), 0.5, accuracy: 1e-12)
        XCTAssertEqual(pending.share(of: 300, workers: 2), 1)
        pending.finished(300)
        XCTAssertEqual(pending.share(of: 50, workers: 2), 1, "two jobs left, two workers")
    }

    /// The seam round is the seams' share of the training: of the epoch cap (`--max-epochs 20`:
    /// 4 more), at most `defaultSeamEpochs`; under a budget without a cap the deadline ends it.
    /// The bands reach `seamBandFactor` blend margins; one network blends nothing.
    func testSeamRoundAndBandDefaults() {
        var config = MCINRConfig()
        XCTAssertEqual(config.effectiveSeamEpochs, 53, "300 × 0.15 / 0.85")
        config.maxEpochs = 20
        XCTAssertEqual(config.effectiveSeamEpochs, 4)
        config.maxEpochs = 0
        XCTAssertEqual(config.effectiveSeamEpochs, 0, "no training, no seam round")
        config.maxEpochs = 3000
        XCTAssertEqual(config.effectiveSeamEpochs, MCINRConfig.defaultSeamEpochs)
        config.maxEpochs = nil
        config.timeBudgetSeconds = 60
        XCTAssertEqual(config.effectiveSeamEpochs, MCINRConfig.defaultSeamEpochs)
        config.seamEpochs = 7
        XCTAssertEqual(config.effectiveSeamEpochs, 7)
        config.seamMargin = 0.1
        XCTAssertEqual(config.blendMargin, 0.1)
        XCTAssertEqual(try XCTUnwrap(config.bandMargin), 0.1 * MCINRConfig.defaultSeamBandFactor, accuracy: 1e-12)
        config.method = .coordnetb
        XCTAssertNil(config.bandMargin)
    }

    func testValidationNamesTheBadValue() {
        var config = MCINRConfig()
        config.sampleFraction = 0
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("sampleFraction")) }
        config = MCINRConfig()
        config.timeBudgetSeconds = -1
        XCTAssertThrowsError(try config.validate()) { XCTAssertTrue("\($0)".contains("timeBudgetSeconds")) }
        XCTAssertNoThrow(try MCINRConfig().validate())
    }
}

final class TargetRatioTests: XCTestCase {
    func testTargetCompressionRatioChoosesTheWidth() throws {
        var config = Fixtures.fastConfig()
        config.maxEpochs = 1
        config.noMeta = true
        config.evaluation = .none
        config.clusters = 2
        config.noRecluster = true
        config.targetCompressionRatio = 0.05
        let data = Fixtures.analyticField()
        let result = try MCINRPipeline(config: config).run(data)
        XCTAssertGreaterThanOrEqual(result.compressionRatio, 0.05)
        XCTAssertEqual(result.config.width, config.largestWidth(fittingWeightBytes: Int(Double(result.rawFieldBytes) / 0.05), outputs: 3))
        XCTAssertEqual(result.networks[0].trunk[0].outputs, result.config.width)
        config.targetCompressionRatio = 1000
        XCTAssertThrowsError(try MCINRPipeline(config: config).run(data)) {
            XCTAssertTrue("\($0)".contains("targetCompressionRatio"))
        }
    }
}

final class BaselineConfigTests: XCTestCase {
    func testBaselinesUseTheLowerRateAndNoClusters() {
        let siren = MCINRConfig.baseline(.siren)
        XCTAssertEqual(siren.learningRate, 5e-5)
        XCTAssertEqual(siren.effectiveClusters, 1)
        XCTAssertFalse(siren.reclusters)
        XCTAssertFalse(siren.metaLearns)
        XCTAssertEqual(siren.architecture(outputs: 6).family, .siren)
        XCTAssertEqual(MCINRConfig.baseline(.mcinr).learningRate, MCINRConfig().learningRate)
        XCTAssertEqual(MCINRConfig.baseline(.coordnet).architecture(outputs: 2).family, .coordNet)
    }
}
