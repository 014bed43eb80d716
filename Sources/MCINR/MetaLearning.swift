import Foundation
import INRCore

/// First-order Reptile with an Adam outer optimiser (Meta-INR, spacefarers/MetaINR main.py):
/// per outer step, every task adapts a copy of θ with the inner Adam, and the outer gradient is
/// θ − mean(θᵢ). Tasks are time steps (every `metaTaskStride`-th), each on a fresh random
/// subsample of points (MC-INR: unstructured grids use random subsamples).
enum MetaLearner {
    struct Summary: Sendable, Codable, Equatable {
        var outerSteps: Int
        var tasks: Int
        var pointsPerTask: Int
        var seconds: Double
        /// Mean inner loss of the last inner epoch, per outer step (a meta-training curve).
        var innerLossCurve: [Double]
        var stoppedByTimeBudget: Bool
    }

    /// Meta-learns the network's initial parameters in place. The sources are the clusters the
    /// tasks draw points from: one for per-cluster meta-learning; all of them, weighted by
    /// size, for a shared initialisation.
    static func run(_ network: TrainableNetwork, sources: [ClusterSamples], config: MCINRConfig,
                    seed: UInt64, deadline: Date?, onStep: (Int) -> Void) -> Summary {
        let start = Date()
        var generator = SplitMix64(seed: seed)
        let timeCount = sources[0].data.timeCount
        let tasks = Array(stride(from: 0, to: timeCount, by: config.metaTaskStride))
        let totalPoints = sources.reduce(0) { $0 + $1.pointCount }
        let pointsPerTask = max(1, min(config.metaPointsPerTask, totalPoints))
        let batch = max(1, min(config.batchSize, pointsPerTask))
        let c = sources[0].data.componentCount
        var cumulative: [Int] = []
        var running = 0
        for source in sources { running += source.pointCount; cumulative.append(running) }

        // Tasks may mix clusters with different input maps: inputs are mapped to local
        // coordinates here and the network's own map is the identity meanwhile.
        let savedMap = network.inputMap
        network.inputMap = .identity
        defer { network.inputMap = savedMap }
        network.reserve(batchSize: batch)

        var theta = network.copyParameters()
        let outer = Adam(parameterCount: theta.count, learningRate: config.metaOuterLearningRate)
        let inner = Adam(parameterCount: theta.count, learningRate: config.metaInnerLearningRate)
        var taskInputs = [Float](repeating: 0, count: 4 * pointsPerTask)
        var taskTargets = [Float](repeating: 0, count: c * pointsPerTask)
        var meanAdapted = [Float](repeating: 0, count: theta.count)
        var outerGradient = [Float](repeating: 0, count: theta.count)
        var curve: [Double] = []
        var stoppedByTime = false
        var step = 0
        while step < config.metaSteps {
            if let deadline, Date() >= deadline { stoppedByTime = true; break }
            for i in meanAdapted.indices { meanAdapted[i] = 0 }
            var lastEpochLoss = 0.0
            for task in tasks {
                drawTask(time: task, sources: sources, cumulative: cumulative, count: pointsPerTask,
                         generator: &generator, inputs: &taskInputs, targets: &taskTargets)
                network.loadParameters(theta)
                inner.reset()
                var epochLoss = 0.0
                taskInputs.withUnsafeBufferPointer { inputs in
                    taskTargets.withUnsafeBufferPointer { targets in
                        for _ in 0 ..< config.metaInnerEpochs {
                            epochLoss = 0
                            var begin = 0
                            while begin < pointsPerTask {
                                let rows = min(batch, pointsPerTask - begin)
                                let loss = network.lossAndGradient(inputs: inputs.baseAddress! + 4 * begin,
                                                                   targets: targets.baseAddress! + c * begin,
                                                                   rows: rows)
                                inner.update(parameters: network.parameters,
                                             gradients: UnsafeBufferPointer(network.gradients))
                                epochLoss += loss * Double(rows)
                                begin += rows
                            }
                        }
                    }
                }
                lastEpochLoss += epochLoss / Double(pointsPerTask)
                let adapted = network.parameters
                for i in meanAdapted.indices { meanAdapted[i] += adapted[i] }
            }
            let scale = 1 / Float(tasks.count)
            for i in theta.indices { outerGradient[i] = theta[i] - meanAdapted[i] * scale }
            outer.update(&theta, gradients: outerGradient)
            step += 1
            curve.append(lastEpochLoss / Double(tasks.count))
            onStep(step)
        }
        network.loadParameters(theta)
        return Summary(outerSteps: step, tasks: tasks.count, pointsPerTask: pointsPerTask,
                       seconds: Date().timeIntervalSince(start), innerLossCurve: curve,
                       stoppedByTimeBudget: stoppedByTime)
    }

    /// Random points (uniform over the union of the sources, without replacement when there
    /// are enough) at one time step, mapped into their own cluster's local coordinates.
    static func drawTask(time: Int, sources: [ClusterSamples], cumulative: [Int], count: Int,
                         generator: inout SplitMix64, inputs: inout [Float], targets: inout [Float]) {
        let total = cumulative.last!
        let c = sources[0].data.componentCount
        var picks = [Int](repeating: 0, count: count)
        if count >= total {
            for i in 0 ..< count { picks[i] = i % total }
        } else {
            var chosen = Set<Int>()
            chosen.reserveCapacity(count)
            var filled = 0
            while filled < count {
                let candidate = generator.nextIndex(below: total)
                if chosen.insert(candidate).inserted { picks[filled] = candidate; filled += 1 }
            }
        }
        var single = [Int32](repeating: 0, count: 1)
        inputs.withUnsafeMutableBufferPointer { inputBuffer in
            targets.withUnsafeMutableBufferPointer { targetBuffer in
                for (row, global) in picks.enumerated() {
                    var source = 0
                    while cumulative[source] <= global { source += 1 }
                    let local = global - (source == 0 ? 0 : cumulative[source - 1])
                    single[0] = Int32(time * sources[source].pointCount + local)
                    let input = inputBuffer.baseAddress! + 4 * row
                    single.withUnsafeBufferPointer { id in
                        sources[source].gather(id, inputs: input, targets: targetBuffer.baseAddress! + c * row)
                    }
                    let mapped = sources[source].map.apply(SIMD4(input[0], input[1], input[2], input[3]))
                    input[0] = mapped.x; input[1] = mapped.y; input[2] = mapped.z; input[3] = mapped.w
                }
            }
        }
    }
}
