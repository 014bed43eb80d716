import Foundation
import INRCore
@testable import MCINR

/// Small datasets built from arrays, no files.
enum Fixtures {
    /// An analytic two-variable field (a scalar and a 2-vector) on random points of a box.
    static func analyticField(points count: Int = 240, steps: Int = 3, seed: UInt64 = 7) -> TrainingData {
        var generator = SplitMix64(seed: seed)
        var points: [Double] = []
        for _ in 0 ..< count {
            points.append(generator.nextUnitDouble() * 2)          // x in [0, 2]
            points.append(generator.nextUnitDouble() * 4 - 1)      // y in [-1, 3]
            points.append(generator.nextUnitDouble())              // z in [0, 1]
        }
        let times = (0 ..< steps).map { Double($0) * 0.5 + 10 }
        var values: [Float] = []
        for t in times {
            for p in 0 ..< count {
                let (x, y, z) = (points[3 * p], points[3 * p + 1], points[3 * p + 2])
                values.append(Float(sin(1.5 * x) * cos(0.8 * y) + 0.3 * z * (t - 10)))
                values.append(Float(100 + 20 * x * z))
                values.append(Float(-3 * y + sin(2 * z + t)))
            }
        }
        return TrainingData(variables: [.init(name: "pressure", components: 1),
                                        .init(name: "velocity", components: 2)],
                            points: points, times: times, values: values, cellCount: 0)
    }

    /// Gaussian-ish blobs around the given centres (`perBlob` points each).
    static func blobs(centres: [SIMD3<Double>], perBlob: Int, spread: Double, seed: UInt64) -> [SIMD3<Double>] {
        var generator = SplitMix64(seed: seed)
        var points: [SIMD3<Double>] = []
        for centre in centres {
            for _ in 0 ..< perBlob {
                let offset = SIMD3(generator.nextUnitDouble(), generator.nextUnitDouble(), generator.nextUnitDouble()) * 2 - 1
                points.append(centre + offset * spread)
            }
        }
        return points
    }

    /// A fast configuration for the tiny networks.
    static func fastConfig() -> MCINRConfig {
        var config = MCINRConfig()
        config.clusters = 3
        config.width = 8
        config.batchSize = 32
        config.learningRate = 1e-3
        config.maxEpochs = 8
        config.patience = 5
        config.metaSteps = 1
        config.metaInnerEpochs = 2
        config.metaPointsPerTask = 32
        config.minClusterPoints = 8
        config.threads = 1
        config.splitGainPerDoubling = 0   // the split-mechanics tests keep every split
        return config
    }

    static func normalizedPoints(_ data: TrainingData) -> [SIMD3<Double>] {
        let normalization = try! Normalization(data: data)
        return (0 ..< data.pointCount).map {
            normalization.normalizedPoint(SIMD3(data.points[3 * $0], data.points[3 * $0 + 1], data.points[3 * $0 + 2]))
        }
    }
}
