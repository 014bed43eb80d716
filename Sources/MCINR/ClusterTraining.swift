import Foundation
import INRCore

/// Local input map of a cluster (ours): its bounding box in normalised coordinates goes to
/// [-1, 1]³; time keeps its global normalisation. `x_i = (q_i − offset_i) · scale_i`.
public struct InputMap: Sendable, Equatable, Codable {
    public var offset: [Float]
    public var scale: [Float]

    public static let identity = InputMap(offset: [0, 0, 0, 0], scale: [1, 1, 1, 1])

    public init(offset: [Float], scale: [Float]) { self.offset = offset; self.scale = scale }

    /// The bounding box of `points` (normalised q) mapped to [-1, 1]; a flat extent keeps scale 1.
    public static func boundingBox(of points: [SIMD3<Double>]) -> InputMap {
        guard let first = points.first else { return .identity }
        var lo = first, hi = first
        for p in points { lo = pointwiseMin(lo, p); hi = pointwiseMax(hi, p) }
        var offset: [Float] = [0, 0, 0, 0], scale: [Float] = [1, 1, 1, 1]
        for i in 0 ..< 3 {
            offset[i] = Float((lo[i] + hi[i]) / 2)
            let extent = hi[i] - lo[i]
            scale[i] = extent > 0 ? Float(2 / extent) : 1
        }
        return InputMap(offset: offset, scale: scale)
    }

    /// The map as the decoder applies it: q converted to float, then `(q − offset) · scale`.
    @inline(__always)
    public func apply(_ q: SIMD4<Float>) -> SIMD4<Float> {
        SIMD4((q.x - offset[0]) * scale[0], (q.y - offset[1]) * scale[1],
              (q.z - offset[2]) * scale[2], (q.w - offset[3]) * scale[3])
    }
}

/// One cluster's (point, time) samples: inputs are normalised (x, y, z, t) as the decoder
/// computes them (the network applies the cluster's input map), targets normalised
/// components. Sample s is time step s / n, cluster point s % n.
final class ClusterSamples: @unchecked Sendable {
    let pointIndices: [Int]
    /// The input map the cluster's network uses (carried for the record).
    let map: InputMap
    let data: NormalizedData
    /// Float x, y, z of each cluster point (3 n).
    let xyz: [Float]

    var pointCount: Int { pointIndices.count }
    var sampleCount: Int { pointIndices.count * data.timeCount }

    init(pointIndices: [Int], map: InputMap, data: NormalizedData) {
        self.pointIndices = pointIndices; self.map = map; self.data = data
        var xyz = [Float](repeating: 0, count: 3 * pointIndices.count)
        for (i, p) in pointIndices.enumerated() {
            let q = data.q[p]
            xyz[3 * i] = Float(q.x); xyz[3 * i + 1] = Float(q.y); xyz[3 * i + 2] = Float(q.z)
        }
        self.xyz = xyz
    }

    /// Writes inputs (4 per row) and targets (C per row) of the given samples.
    func gather(_ samples: UnsafeBufferPointer<Int32>, inputs: UnsafeMutablePointer<Float>,
                targets: UnsafeMutablePointer<Float>) {
        let n = pointIndices.count, c = data.componentCount, pointTotal = data.pointCount
        let t = data.t
        self.xyz.withUnsafeBufferPointer { xyz in
            data.values.withUnsafeBufferPointer { values in
                for (row, sample) in samples.enumerated() {
                    let s = Int(sample), step = s / n, i = s % n
                    inputs[4 * row] = xyz[3 * i]; inputs[4 * row + 1] = xyz[3 * i + 1]
                    inputs[4 * row + 2] = xyz[3 * i + 2]; inputs[4 * row + 3] = t[step]
                    let base = (step * pointTotal + pointIndices[i]) * c
                    for k in 0 ..< c { targets[c * row + k] = values[base + k] }
                }
            }
        }
    }
}


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
}

enum ClusterTrainer {
    /// Main training (MC-INR §3.1): Adam, step decay, a fresh random fraction of the samples
    /// each epoch. On a plateau of the epoch loss the rate is lowered and training resumes from
    /// the best parameters so far (ours: uses a time budget instead of stopping early), until
    /// the schedule's reductions are spent. Leaves the network at the parameters of its best
    /// epoch (ours).
    static func train(_ network: TrainableNetwork, on samples: ClusterSamples,
                      schedule: TrainingConfig, deadline: Date?, seed: UInt64,
                      onEpoch: (Int, Double, Double) -> Void) -> TrainingOutcome {
        var generator = SplitMix64(seed: seed)
        let adam = Adam(parameterCount: network.parameterCount, learningRate: schedule.learningRate)
        let batch = max(1, min(schedule.batchSize, samples.sampleCount))
        network.reserve(batchSize: batch)
        let c = samples.data.componentCount
        var inputs = [Float](repeating: 0, count: 4 * batch)
        var targets = [Float](repeating: 0, count: c * batch)
        var best = network.copyParameters()
        var order = (0 ..< samples.sampleCount).map { Int32($0) }
        let perEpoch = max(1, min(order.count, Int((Double(order.count) * schedule.sampleFraction).rounded(.up))))
        var bestLoss = Double.infinity, sinceBest = 0, epoch = 0, reductions = 0
        var curve: [Double] = []
        var stop = TrainingOutcome.Stop.epochCap
        while epoch < schedule.maxEpochs && !order.isEmpty {
            if let deadline, Date() >= deadline { stop = .timeBudget; break }
            // Partial Fisher–Yates: the first perEpoch entries become a fresh uniform subset.
            for i in 0 ..< perEpoch {
                order.swapAt(i, i + generator.nextIndex(below: order.count - i))
            }
            var lossSum = 0.0
            var start = 0
            order.withUnsafeBufferPointer { ids in
                inputs.withUnsafeMutableBufferPointer { inputBuffer in
                    targets.withUnsafeMutableBufferPointer { targetBuffer in
                        while start < perEpoch {
                            let rows = min(batch, perEpoch - start)
                            samples.gather(UnsafeBufferPointer(rebasing: ids[start ..< start + rows]),
                                           inputs: inputBuffer.baseAddress!, targets: targetBuffer.baseAddress!)
                            let loss = network.lossAndGradient(inputs: inputBuffer.baseAddress!,
                                                               targets: targetBuffer.baseAddress!, rows: rows)
                            adam.update(parameters: network.parameters,
                                        gradients: UnsafeBufferPointer(network.gradients))
                            lossSum += loss * Double(rows)
                            start += rows
                        }
                    }
                }
            }
            epoch += 1
            let epochLoss = lossSum / Double(perEpoch)
            curve.append(epochLoss)
            if !epochLoss.isFinite { stop = .diverged; break }
            if epochLoss < bestLoss {
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
                adam.learningRate *= schedule.plateauDecay
                network.loadParameters(best)
            }
            if epoch % schedule.decayEvery == 0 { adam.learningRate *= schedule.decayFactor }
        }
        if bestLoss.isFinite { network.loadParameters(best) }
        return TrainingOutcome(epochs: epoch, bestLoss: bestLoss, finalLearningRate: adam.learningRate,
                               plateauReductions: reductions,
                               stop: stop, lossCurve: curve)
    }

    /// Outputs of the network at all the cluster's samples (sample order), normalised units.
    static func predictAll(_ network: TrainableNetwork, on samples: ClusterSamples,
                           body: (_ firstSample: Int, _ rows: Int, _ outputs: UnsafePointer<Float>,
                                  _ targets: UnsafePointer<Float>) -> Void) {
        let c = samples.data.componentCount
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
    static func residual(_ network: TrainableNetwork, on samples: ClusterSamples) -> Double {
        let c = samples.data.componentCount
        var sum = 0.0
        predictAll(network, on: samples) { _, rows, outputs, targets in
            for i in 0 ..< rows * c {
                let e = Double(outputs[i] - targets[i])
                sum += e * e
            }
        }
        return sum / Double(max(1, samples.sampleCount * c))
    }
}
