import ModelDescription
import Foundation
import INRCore

/// Metrics from the trained networks' own forward pass: the fallback while the decoder bridge
/// is unavailable (the decoder's numbers are the ones to report, DESIGN "One decoder").
enum TrainingForwardEvaluator {
    static func evaluate(result: PipelineResult, data: TrainingData, normalized: NormalizedData,
                         factory: @escaping NetworkFactory, parameters: [Int: [Float]],
                         threads: Int) -> MetricsReport {
        let c = data.componentCount, n = data.pointCount
        let prediction = SharedSteps(steps: data.timeCount, count: n * c)
        let leaves = result.tree.leaves
        let architecture = result.architecture
        WorkerPool.run(order: Array(leaves.indices), threads: threads) { index in
            let node = leaves[index]
            let points = result.trainingPartition[node]!
            guard !points.isEmpty else { return }
            let map = result.clusters.last { $0.node == node }!.inputMap
            let samples = ClusterSamples(pointIndices: points, map: map, data: normalized)
            let network = factory(architecture, 0)
            network.loadParameters(parameters[node]!)
            network.inputMap = map
            // Each leaf writes only its own points' rows: no two workers touch the same floats.
            ClusterTrainer.predictAll(network, on: samples) { first, rows, outputs, _ in
                for r in 0 ..< rows {
                    let s = first + r, step = s / points.count, point = points[s % points.count]
                    let destination = prediction.pointer(step) + point * c
                    for k in 0 ..< c {
                        destination[k] = result.normalization.denormalize(outputs[r * c + k], component: k)
                    }
                }
            }
        }
        let truth = (0 ..< data.timeCount).map { Array(data.values[$0 * n * c ..< ($0 + 1) * n * c]) }
        return Metrics.evaluate(truth: truth, prediction: prediction.arrays(),
                                ranges: result.normalization.componentRanges)
    }
}

/// Per-step output arrays written concurrently at disjoint rows.
final class SharedSteps: @unchecked Sendable {
    private let storage: [UnsafeMutableBufferPointer<Float>]

    init(steps: Int, count: Int) {
        storage = (0 ..< steps).map { _ in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            buffer.initialize(repeating: 0)
            return buffer
        }
    }

    deinit { storage.forEach { $0.deallocate() } }

    func pointer(_ step: Int) -> UnsafeMutablePointer<Float> { storage[step].baseAddress! }
    func arrays() -> [[Float]] { storage.map { Array($0) } }
}
