import Foundation

/// Error metrics of one component at one time step, on de-normalised values (SZ3's formulas).
public struct ComponentMetrics: Equatable, Sendable, Codable {
    public var mse: Double
    /// 20·log10(range) − 10·log10(MSE), capped at `Metrics.psnrCap` (zero MSE or zero range).
    public var psnr: Double
    /// √MSE / range (√MSE when the range is 0).
    public var nrmse: Double
    /// 1 − Σ(y−ŷ)² / Σ(y−ȳ)²; for a constant truth: 1 if exact, else 0.
    public var r2: Double
    public var maxAbsError: Double
}

extension ComponentMetrics {
    /// The metrics from their sums over n values: Σ(y−ŷ)², Σ(y−ȳ)² (ȳ the step's mean), the
    /// largest |y−ŷ|; `range` the component's global range (the one formula of every path).
    public init(sse: Double, sst: Double, count n: Int, maxAbsError: Double, range: Double) {
        let mse = sse / Double(n)
        let psnr: Double
        if mse == 0 || range <= 0 { psnr = mse == 0 ? Metrics.psnrCap : min(Metrics.psnrCap, -10 * log10(mse)) }
        else { psnr = min(Metrics.psnrCap, 20 * log10(range) - 10 * log10(mse)) }
        let nrmse = range > 0 ? mse.squareRoot() / range : mse.squareRoot()
        let r2 = sst > 0 ? 1 - sse / sst : (sse == 0 ? 1 : 0)
        self.init(mse: mse, psnr: psnr, nrmse: nrmse, r2: r2, maxAbsError: maxAbsError)
    }
}

/// Averages over components and steps, plus the per-(component, step) table.
public struct MetricsReport: Equatable, Sendable, Codable {
    /// `perComponent[c][s]`.
    public var perComponent: [[ComponentMetrics]]
    public var meanPSNR: Double
    public var meanNRMSE: Double
    /// Mean over components of the R² pooled over all steps (ȳ = the mean over all steps; see `StepwiseEvaluation`).
    public var meanR2: Double
    /// R² of each component pooled over all steps; `perComponent[c][s].r2` is the per-step value.
    public var componentR2: [Double]
    public var meanMSE: Double
    /// Largest |error| over everything.
    public var maxAbsError: Double
}

/// One component over all steps: mean PSNR and NRMSE, pooled R², largest |error|.
public struct ComponentSummary: Equatable, Sendable {
    public var name: String
    public var psnr: Double
    public var nrmse: Double
    public var r2: Double
    public var maxAbsError: Double
}

extension MetricsReport {
    /// Per-component summaries, `names[c]` naming component c (what the CLI's tables and JSON show).
    public func componentSummaries(names: [String]) -> [ComponentSummary] {
        perComponent.enumerated().map { c, steps in
            let k = Double(max(steps.count, 1))
            return ComponentSummary(name: names[c], psnr: steps.reduce(0) { $0 + $1.psnr } / k,
                                    nrmse: steps.reduce(0) { $0 + $1.nrmse } / k, r2: componentR2[c],
                                    maxAbsError: steps.reduce(0) { max($0, $1.maxAbsError) })
        }
    }
}

public enum Metrics {
    /// PSNR reported when the error is zero (or the range is zero): finite so that averages stay
    /// meaningful.
    public static let psnrCap = 200.0

    /// Metrics of component `component` of row-major n × `components` arrays, with `range` the
    /// component's GLOBAL range (max − min over all steps).
    public static func component(truth: [Float], prediction: [Float], components: Int,
                                 component: Int, range: Double) -> ComponentMetrics {
        precondition(truth.count == prediction.count && truth.count % components == 0)
        return truth.withUnsafeBufferPointer { t in
            prediction.withUnsafeBufferPointer { p in
                self.component(truth: t, prediction: p, components: components, component: component, range: range)
            }
        }
    }

    static func component(truth: UnsafeBufferPointer<Float>, prediction: UnsafeBufferPointer<Float>, components: Int,
                          component: Int, range: Double) -> ComponentMetrics {
        let n = truth.count / components
        guard n > 0 else { return ComponentMetrics(mse: 0, psnr: psnrCap, nrmse: 0, r2: 1, maxAbsError: 0) }
        var sse = 0.0, maxErr = 0.0, sum = 0.0
        for i in 0..<n {
            let y = Double(truth[i * components + component])
            let e = y - Double(prediction[i * components + component])
            sse += e * e; maxErr = max(maxErr, abs(e)); sum += y
        }
        let mean = sum / Double(n)
        var sst = 0.0
        for i in 0..<n {
            let d = Double(truth[i * components + component]) - mean
            sst += d * d
        }
        return ComponentMetrics(sse: sse, sst: sst, count: n, maxAbsError: maxErr, range: range)
    }

    /// Metrics for every component and step: `truth[s]`, `prediction[s]` are n × C arrays of
    /// step s; `ranges[c]` the global range of component c.
    public static func evaluate(truth: [[Float]], prediction: [[Float]], ranges: [Double]) -> MetricsReport {
        precondition(truth.count == prediction.count)
        var evaluation = StepwiseEvaluation(ranges: ranges, pooledMeans: pooledMeans(steps: truth, components: ranges.count))
        for (t, p) in zip(truth, prediction) {
            t.withUnsafeBufferPointer { t in p.withUnsafeBufferPointer { p in evaluation.add(truth: t, prediction: p) } }
        }
        return evaluation.report
    }

    /// Mean of each component over all steps together (what the pooled R² measures against).
    public static func pooledMeans(steps: [[Float]], components: Int) -> [Double] {
        var accumulator = PooledMeans(components: components)
        for step in steps { step.withUnsafeBufferPointer { accumulator.add($0) } }
        return accumulator.means
    }

    /// The paper's compression ratio: raw field bytes (N·T·C·4) / model bytes.
    public static func compressionRatio(rawFieldBytes: Int, modelBytes: Int) -> Double {
        modelBytes > 0 ? Double(rawFieldBytes) / Double(modelBytes) : .infinity
    }

    /// Raw field bytes of N points × T steps × C components of float32.
    public static func rawFieldBytes(points: Int, steps: Int, components: Int) -> Int {
        points * steps * components * MemoryLayout<Float>.size
    }
}

/// Sums of each component over steps given one at a time, for `Metrics.pooledMeans` and any
/// caller that streams the truth.
public struct PooledMeans: Sendable {
    private var sums: [Double]
    private var counts: [Double]

    public init(components: Int) {
        sums = [Double](repeating: 0, count: components); counts = sums
    }

    /// Adds one step: n × C values, component-interleaved.
    public mutating func add(_ step: UnsafeBufferPointer<Float>) {
        let c = sums.count
        for k in 0..<c {
            var i = k
            while i < step.count { sums[k] += Double(step[i]); counts[k] += 1; i += c }
        }
    }

    /// 0 for a component that saw no value.
    public var means: [Double] { zip(sums, counts).map { $1 > 0 ? $0 / $1 : 0 } }
}

/// The metrics of a series computed one step at a time, so that neither the truth nor the
/// prediction of all steps has to be in memory at once. R² is pooled over all steps: a
/// per-step R² divides by that step's variance, which a nearly constant step (a tracer before
/// it arrives) makes tiny (it reached −10⁶ averaged over steps on the vessel data); pooling is
/// the same idea as METHOD's global range for PSNR. Gives exactly `Metrics.evaluate`'s
/// numbers (the same sums in the same order); the pooled means come from a first pass over
/// the truth (`PooledMeans`).
public struct StepwiseEvaluation: Sendable {
    public let ranges: [Double]
    private let means: [Double]
    private var table: [[ComponentMetrics]]
    private var pooledSSE: [Double]
    private var pooledSST: [Double]

    public init(ranges: [Double], pooledMeans: [Double]) {
        precondition(ranges.count == pooledMeans.count)
        self.ranges = ranges; means = pooledMeans
        table = [[ComponentMetrics]](repeating: [], count: ranges.count)
        pooledSSE = [Double](repeating: 0, count: ranges.count); pooledSST = pooledSSE
    }

    /// Adds the next step: truth and prediction, n × C values each.
    public mutating func add(truth: UnsafeBufferPointer<Float>, prediction: UnsafeBufferPointer<Float>) {
        precondition(truth.count == prediction.count && truth.count % max(ranges.count, 1) == 0)
        let c = ranges.count
        for k in 0..<c {
            table[k].append(Metrics.component(truth: truth, prediction: prediction, components: c,
                                              component: k, range: ranges[k]))
            var sse = pooledSSE[k], sst = pooledSST[k], i = k
            let mean = means[k]
            while i < truth.count {
                let e = Double(truth[i]) - Double(prediction[i]), d = Double(truth[i]) - mean
                sse += e * e; sst += d * d
                i += c
            }
            pooledSSE[k] = sse; pooledSST[k] = sst
        }
    }

    /// The steps added so far.
    public var stepCount: Int { table.first?.count ?? 0 }

    public var report: MetricsReport { MetricsReport(perComponent: table, pooledSSE: pooledSSE, pooledSST: pooledSST) }
}

extension MetricsReport {
    /// The report from the per-(component, step) table and each component's Σ(y−ŷ)² and
    /// Σ(y−ȳ)² over all steps (ȳ the mean over all steps): the pooled R².
    public init(perComponent table: [[ComponentMetrics]], pooledSSE: [Double], pooledSST: [Double]) {
        let all = table.joined()
        let k = Double(max(all.count, 1))
        let pooled = zip(pooledSSE, pooledSST).map { sse, sst in sst > 0 ? 1 - sse / sst : (sse == 0 ? 1 : 0) }
        self.init(perComponent: table,
                  meanPSNR: all.reduce(0) { $0 + $1.psnr } / k,
                  meanNRMSE: all.reduce(0) { $0 + $1.nrmse } / k,
                  meanR2: pooled.reduce(0, +) / Double(max(table.count, 1)),
                  componentR2: pooled,
                  meanMSE: all.reduce(0) { $0 + $1.mse } / k,
                  maxAbsError: all.reduce(0) { max($0, $1.maxAbsError) })
    }
}
