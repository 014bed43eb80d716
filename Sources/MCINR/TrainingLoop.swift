import Foundation
import INRCore

public struct TrainingOutcome: Sendable, Codable, Equatable {
    public enum Stop: String, Sendable, Codable { case plateau, epochCap, timeBudget, diverged }
    public var epochs: Int
    public var bestLoss: Double
    public var finalLearningRate: Float
    /// Learning-rate reductions made on plateaus before the stop.
    public var plateauReductions: Int
    public var stop: Stop
    /// Training loss of every epoch (mean over the epoch's samples).
    public var lossCurve: [Double]
    /// Under `--matmul auto` with a deadline: the products the cluster trained with (`bf16`
    /// when its time was short, see `MatmulPrecision.auto`); nil otherwise.
    public var matmul: MatmulPrecision? = nil
}

/// Where the training loop draws its batches from: a cluster's samples in production, any
/// other set in tests (the loop is the same).
protocol SampleSource {
    var sampleCount: Int { get }
    var componentCount: Int { get }
    /// Writes inputs (4 per row: normalised x, y, z, t) and targets (`componentCount` per row)
    /// of the given samples.
    func gather(_ samples: UnsafeBufferPointer<Int32>, inputs: UnsafeMutablePointer<Float>,
                targets: UnsafeMutablePointer<Float>)
}

/// Hyper-parameters of the main training (METHOD.md "Main training"); the pipeline fills them
/// from `MCINRConfig` per cluster.
public struct TrainingSchedule: Equatable, Sendable {
    public var learningRate: Float
    public var batchSize: Int
    /// Fraction of the samples drawn afresh each epoch.
    public var sampleFraction: Double
    /// Step decay: lr × decayFactor every decayEvery epochs.
    public var decayFactor: Float
    public var decayEvery: Int
    /// After `patience` epochs without a better epoch loss the rate is multiplied by
    /// `plateauDecay` and training resumes from the best parameters, at most
    /// `plateauReductions` times; the next plateau stops training.
    public var patience: Int
    public var plateauReductions: Int
    public var plateauDecay: Float
    public var maxEpochs: Int
    /// With a deadline: over this last share of the time to it, the rate falls along a cosine
    /// to `budgetDecayFloor` of its scheduled value (0: off), and an epoch the deadline cuts is
    /// kept if its running loss beats the best epoch's.
    public var budgetDecayShare: Double
    public static let budgetDecayFloor: Float = 0.05

    public init(learningRate: Float, batchSize: Int, sampleFraction: Double, decayFactor: Float,
                decayEvery: Int, patience: Int, maxEpochs: Int, plateauReductions: Int,
                plateauDecay: Float = 0.5, budgetDecayShare: Double = 0) {
        self.learningRate = learningRate; self.batchSize = batchSize; self.sampleFraction = sampleFraction
        self.decayFactor = decayFactor; self.decayEvery = decayEvery; self.patience = patience
        self.maxEpochs = maxEpochs; self.plateauReductions = plateauReductions; self.plateauDecay = plateauDecay
        self.budgetDecayShare = budgetDecayShare
    }

    /// The factor on the scheduled rate at `fraction` of the time to the deadline.
    func budgetDecay(atFraction fraction: Double) -> Float {
        let start = 1 - budgetDecayShare
        guard budgetDecayShare > 0, fraction > start else { return 1 }
        let x = min(1, (fraction - start) / budgetDecayShare)
        return Self.budgetDecayFloor + (1 - Self.budgetDecayFloor) * Float(0.5 * (1 + cos(Double.pi * x)))
    }
}

/// The one training loop: the pipeline runs it for every cluster, tests run it as it is.
enum ClusterTrainer {
    /// An epoch improves on the best only when its loss is lower by more than this share of it.
    static let minimumImprovement = 1e-6

    /// Main training (MC-INR §3.1): Adam, step decay, a fresh random fraction of the samples
    /// each epoch. On a plateau of the epoch loss the rate is lowered and training resumes from
    /// the best parameters so far (ours: uses a time budget instead of stopping early), until
    /// the schedule's reductions are spent. Leaves the network at the parameters of its best
    /// epoch (ours).
    static func train(_ network: TrainableNetwork, on samples: some SampleSource,
                      schedule: TrainingSchedule, deadline: Date?, seed: UInt64, optimizer: Adam? = nil,
                      onEpoch: (Int, Double, Double) -> Void) -> TrainingOutcome {
        var generator = SplitMix64(seed: seed)
        // `optimizer`: go on with an earlier run's moments (the seam round, #21)
        let adam = optimizer ?? Adam(parameterCount: network.parameterCount, learningRate: schedule.learningRate)
        adam.learningRate = schedule.learningRate
        let batch = max(1, min(schedule.batchSize, samples.sampleCount))
        network.reserve(batchSize: batch)
        let c = samples.componentCount
        var inputs = [Float](repeating: 0, count: 4 * batch)
        var targets = [Float](repeating: 0, count: c * batch)
        var best = network.copyParameters()
        var order = (0 ..< samples.sampleCount).map { Int32($0) }
        let perEpoch = max(1, min(order.count, Int((Double(order.count) * schedule.sampleFraction).rounded(.up))))
        var bestLoss = Double.infinity, sinceBest = 0, epoch = 0, reductions = 0
        var curve: [Double] = []
        var stop = TrainingOutcome.Stop.epochCap
        // The rate the epoch schedule and the plateaus set; Adam runs it times the budget decay.
        var scheduledRate = schedule.learningRate
        let trainingStart = Date()
        let decays = deadline != nil && schedule.budgetDecayShare > 0
        let span = deadline.map { max(1e-3, $0.timeIntervalSince(trainingStart)) } ?? 1
        // `auto` (ours, measured in docs/benchmarks/quality-scale.md): fp32 products, unless the
        // first batches show that the time to the deadline allows fewer epochs than a cluster
        // needs to converge; then bf16 for the rest (faster epochs count only when time is short).
        let autoChooses = deadline != nil && network.matmul.resolved == .auto
        let batchesPerEpoch = (perEpoch + batch - 1) / batch
        let probeBatches = min(batchesPerEpoch, MatmulPrecision.autoProbeBatches)
        while epoch < schedule.maxEpochs && !order.isEmpty {
            if let deadline, Date() >= deadline { stop = .timeBudget; break }
            // Partial Fisher–Yates: the first perEpoch entries become a fresh uniform subset.
            for i in 0 ..< perEpoch {
                order.swapAt(i, i + generator.nextIndex(below: order.count - i))
            }
            var lossSum = 0.0
            var start = 0, batches = 0, outOfTime = false
            order.withUnsafeBufferPointer { ids in
                inputs.withUnsafeMutableBufferPointer { inputBuffer in
                    targets.withUnsafeMutableBufferPointer { targetBuffer in
                        while start < perEpoch {
                            let rows = min(batch, perEpoch - start)
                            if decays {
                                let fraction = Date().timeIntervalSince(trainingStart) / span
                                adam.learningRate = scheduledRate * schedule.budgetDecay(atFraction: fraction)
                            }
                            samples.gather(UnsafeBufferPointer(rebasing: ids[start ..< start + rows]),
                                           inputs: inputBuffer.baseAddress!, targets: targetBuffer.baseAddress!)
                            let loss = network.lossAndGradient(inputs: inputBuffer.baseAddress!,
                                                               targets: targetBuffer.baseAddress!, rows: rows)
                            adam.update(parameters: network.parameters,
                                        gradients: UnsafeBufferPointer(network.gradients))
                            lossSum += loss * Double(rows)
                            start += rows
                            batches += 1
                            if autoChooses && epoch == 0 && batches == probeBatches {
                                let perBatch = Date().timeIntervalSince(trainingStart) / Double(batches)
                                let epochsAvailable = span / (perBatch * Double(batchesPerEpoch))
                                if epochsAvailable < Double(MatmulPrecision.autoEpochsToConverge) {
                                    network.matmul = .bf16
                                }
                            }
                            // An epoch of a large cluster can take minutes: the budget is also
                            // checked inside it; a cut epoch is dropped (the network keeps the
                            // best completed epoch) unless it is the first.
                            if batches % 64 == 0, let deadline, Date() >= deadline { outOfTime = true; break }
                        }
                    }
                }
            }
            if outOfTime {
                // No epoch completed yet (a cluster larger than the budget): keep what the cut
                // epoch learnt, with its running loss, rather than nothing.
                // With the budget decay the cut epoch ran at the lowest rates: kept if better.
                let running = start > 0 ? lossSum / Double(start) : .nan
                if running.isFinite && (!bestLoss.isFinite || (decays && running < bestLoss)) {
                    bestLoss = running
                    curve.append(bestLoss)
                    best.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: network.parameters) }
                }
                stop = .timeBudget
                break
            }
            epoch += 1
            let epochLoss = lossSum / Double(perEpoch)
            curve.append(epochLoss)
            if !epochLoss.isFinite { stop = .diverged; break }
            // progress is a fall of more than one part in 10⁶: float32 sums over reshuffled batches
            // differ in their last bits (on some CPUs OpenBLAS's product of a row depends on its
            // place in the batch), which must not reset the plateau count
            if epochLoss < bestLoss - Self.minimumImprovement * abs(bestLoss) || !bestLoss.isFinite {
                bestLoss = epochLoss; sinceBest = 0
                best.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: network.parameters) }
            } else {
                sinceBest += 1
            }
            onEpoch(epoch, epochLoss, bestLoss)
            if sinceBest >= schedule.patience {
                guard reductions < schedule.plateauReductions else { stop = .plateau; break }
                reductions += 1
                sinceBest = 0
                scheduledRate *= schedule.plateauDecay
                network.loadParameters(best)
            }
            if epoch % schedule.decayEvery == 0 { scheduledRate *= schedule.decayFactor }
            adam.learningRate = scheduledRate
        }
        if bestLoss.isFinite { network.loadParameters(best) }
        return TrainingOutcome(epochs: epoch, bestLoss: bestLoss, finalLearningRate: scheduledRate,
                               plateauReductions: reductions,
                               stop: stop, lossCurve: curve,
                               matmul: autoChooses ? (network.matmul == .bf16 ? .bf16 : .fp32) : nil)
    }

    /// Outputs of the network at all the cluster's samples (sample order), normalised units.
    static func predictAll(_ network: TrainableNetwork, on samples: some SampleSource,
                           body: (_ firstSample: Int, _ rows: Int, _ outputs: UnsafePointer<Float>,
                                  _ targets: UnsafePointer<Float>) -> Void) {
        let c = samples.componentCount
        let chunk = max(1, min(4096, samples.sampleCount))
        var inputs = [Float](repeating: 0, count: 4 * chunk)
        var targets = [Float](repeating: 0, count: c * chunk)
        var outputs = [Float](repeating: 0, count: c * chunk)
        var ids = [Int32](repeating: 0, count: chunk)
        var start = 0
        while start < samples.sampleCount {
            let rows = min(chunk, samples.sampleCount - start)
            for r in 0 ..< rows { ids[r] = Int32(start + r) }
            ids.withUnsafeBufferPointer { idBuffer in
                inputs.withUnsafeMutableBufferPointer { inputBuffer in
                    targets.withUnsafeMutableBufferPointer { targetBuffer in
                        samples.gather(UnsafeBufferPointer(rebasing: idBuffer[0 ..< rows]),
                                       inputs: inputBuffer.baseAddress!, targets: targetBuffer.baseAddress!)
                        outputs.withUnsafeMutableBufferPointer { outputBuffer in
                            network.predict(inputs: inputBuffer.baseAddress!, count: rows,
                                            into: outputBuffer.baseAddress!, chunk: chunk)
                            body(start, rows, outputBuffer.baseAddress!, targetBuffer.baseAddress!)
                        }
                    }
                }
            }
            start += rows
        }
    }

    /// MSE in normalised units over all the cluster's samples (mean over components and
    /// samples): the re-clustering criterion.
    static func residual(_ network: TrainableNetwork, on samples: some SampleSource) -> Double {
        let c = samples.componentCount
        var sum = 0.0
        predictAll(network, on: samples) { _, rows, outputs, targets in
            for i in 0 ..< rows * c {
                let e = Double(outputs[i] - targets[i])
                sum += e * e
            }
        }
        return sum / Double(max(1, samples.sampleCount * c))
    }

    /// The same estimated on at most `limit` samples, evenly strided (the whole set when it is
    /// no larger): for a cluster past the time budget, whose full pass would take tens of
    /// seconds at 10⁸ point·steps.
    static func residual(_ network: TrainableNetwork, on samples: some SampleSource, limit: Int) -> Double {
        guard samples.sampleCount > limit else { return residual(network, on: samples) }
        let c = samples.componentCount, stride = samples.sampleCount / limit
        let ids = (0 ..< limit).map { Int32($0 * stride) }
        var inputs = [Float](repeating: 0, count: 4 * limit), targets = [Float](repeating: 0, count: c * limit)
        var outputs = [Float](repeating: 0, count: c * limit)
        ids.withUnsafeBufferPointer { idBuffer in
            samples.gather(idBuffer, inputs: &inputs, targets: &targets)
        }
        network.predict(inputs: inputs, count: limit, into: &outputs, chunk: 4096)
        var sum = 0.0
        for i in 0 ..< limit * c { let e = Double(outputs[i] - targets[i]); sum += e * e }
        return sum / Double(limit * c)
    }
}
