import Foundation

/// Reconstruction quality on de-normalised values (METHOD Metrics; SZ3 formulas), per component
/// and time step, with the component's **global** range (over all steps).
public struct FieldMetrics: Sendable, Codable, Equatable {
    public struct Entry: Sendable, Codable, Equatable {
        public var component: String
        public var timeStep: Int
        public var mse: Double
        public var psnr: Double
        public var nrmse: Double
        public var r2: Double
        public var maxAbsError: Double
    }

    public var entries: [Entry]
    /// Averages over components and steps.
    public var meanPSNR: Double
    public var meanNRMSE: Double
    public var meanR2: Double
    public var maxAbsError: Double
    /// MSE in normalised units (as the split threshold), mean over all samples and components.
    public var normalizedMSE: Double
}

/// Accumulates errors per (time step, component); thread-confined, merged in a fixed order.
struct MetricsAccumulator {
    let timeCount: Int
    let componentCount: Int
    var sumSquared: [Double]
    var sumTruth: [Double]
    var sumTruthSquared: [Double]
    var maxAbs: [Double]
    var count: [Int]

    init(timeCount: Int, componentCount: Int) {
        self.timeCount = timeCount; self.componentCount = componentCount
        let n = timeCount * componentCount
        sumSquared = .init(repeating: 0, count: n); sumTruth = .init(repeating: 0, count: n)
        sumTruthSquared = .init(repeating: 0, count: n); maxAbs = .init(repeating: 0, count: n)
        count = .init(repeating: 0, count: n)
    }

    @inline(__always)
    mutating func add(step: Int, component: Int, truth: Double, prediction: Double) {
        let i = step * componentCount + component
        let e = prediction - truth
        sumSquared[i] += e * e
        sumTruth[i] += truth
        sumTruthSquared[i] += truth * truth
        maxAbs[i] = max(maxAbs[i], abs(e))
        count[i] += 1
    }

    mutating func merge(_ other: MetricsAccumulator) {
        for i in sumSquared.indices {
            sumSquared[i] += other.sumSquared[i]; sumTruth[i] += other.sumTruth[i]
            sumTruthSquared[i] += other.sumTruthSquared[i]; maxAbs[i] = max(maxAbs[i], other.maxAbs[i])
            count[i] += other.count[i]
        }
    }

    func finish(componentNames: [String], normalization: Normalization) -> FieldMetrics {
        var entries: [FieldMetrics.Entry] = []
        var normalizedSum = 0.0, normalizedCount = 0
        let ranges = normalization.componentRange
        for t in 0 ..< timeCount {
            for c in 0 ..< componentCount {
                let i = t * componentCount + c
                let n = Double(max(1, count[i]))
                let mse = sumSquared[i] / n
                let range = ranges[c]
                let mean = sumTruth[i] / n
                let total = max(0, sumTruthSquared[i] - n * mean * mean)
                // Guards: a zero range or a constant field make a ratio meaningless.
                let psnr = range > 0 ? (mse > 0 ? 20 * log10(range) - 10 * log10(mse) : .infinity) : .infinity
                let nrmse = range > 0 ? mse.squareRoot() / range : 0
                let r2 = total > 0 ? 1 - sumSquared[i] / total : (sumSquared[i] == 0 ? 1 : 0)
                entries.append(.init(component: componentNames[c], timeStep: t, mse: mse, psnr: psnr,
                                     nrmse: nrmse, r2: r2, maxAbsError: maxAbs[i]))
                if range > 0 { normalizedSum += sumSquared[i] * 4 / (range * range) }
                normalizedCount += count[i]
            }
        }
        let finitePSNR = entries.map(\.psnr).filter(\.isFinite)
        let k = Double(max(1, entries.count))
        return FieldMetrics(
            entries: entries,
            meanPSNR: finitePSNR.isEmpty ? .infinity : finitePSNR.reduce(0, +) / Double(finitePSNR.count),
            meanNRMSE: entries.reduce(0) { $0 + $1.nrmse } / k,
            meanR2: entries.reduce(0) { $0 + $1.r2 } / k,
            maxAbsError: entries.map(\.maxAbsError).max() ?? 0,
            normalizedMSE: normalizedSum / Double(max(1, normalizedCount)))
    }
}

/// Metrics from the trained networks' own forward pass (fallback while the decoder bridge is
/// unavailable; the decoder's numbers are the ones to report).
enum TrainingForwardEvaluator {
    static func evaluate(result: PipelineResult, data: TrainingData, normalized: NormalizedData,
                         spec: NetworkSpec, factory: @escaping NetworkFactory,
                         parameters: [Int: [Float]], threads: Int) -> FieldMetrics {
        let partition = result.tree.partition(normalized.q)
        let leaves = result.tree.leaves
        let slots = ResultSlots<MetricsAccumulator>(count: leaves.count)
        let c = data.componentCount, pointTotal = data.pointCount
        let normalization = result.normalization
        WorkerPool.run(order: Array(leaves.indices), threads: threads) { index in
            let node = leaves[index]
            var accumulator = MetricsAccumulator(timeCount: data.timeCount, componentCount: c)
            let points = partition[node] ?? []
            let map = result.clusters.last { $0.node == node }!.inputMap
            let samples = ClusterSamples(pointIndices: points, map: map, data: normalized)
            let network = factory(spec, 0)
            network.parameters = parameters[node]!
            network.inputMap = map
            let chunk = 4096
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
                                network.predict(inputs: inputBuffer.baseAddress!, rows: rows,
                                                outputs: outputBuffer.baseAddress!)
                            }
                        }
                    }
                }
                for r in 0 ..< rows {
                    let s = start + r, step = s / points.count, point = points[s % points.count]
                    for k in 0 ..< c {
                        let truth = Double(data.values[(step * pointTotal + point) * c + k])
                        let prediction = normalization.denormalizedValue(outputs[r * c + k], component: k)
                        accumulator.add(step: step, component: k, truth: truth, prediction: prediction)
                    }
                }
                start += rows
            }
            slots[index] = accumulator
        }
        var total = MetricsAccumulator(timeCount: data.timeCount, componentCount: c)
        for accumulator in slots.values { total.merge(accumulator) }
        return total.finish(componentNames: data.componentNames, normalization: normalization)
    }
}
