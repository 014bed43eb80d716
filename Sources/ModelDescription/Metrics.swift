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

/// Averages over components and steps, plus the per-(component, step) table.
public struct MetricsReport: Equatable, Sendable, Codable {
    /// `perComponent[c][s]`.
    public var perComponent: [[ComponentMetrics]]
    public var meanPSNR: Double
    public var meanNRMSE: Double
    /// Mean over components of the R² pooled over all steps (see `Metrics.pooledR2`).
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
        let mse = sse / Double(n)
        let psnr: Double
        if mse == 0 || range <= 0 { psnr = mse == 0 ? psnrCap : min(psnrCap, -10 * log10(mse)) }
        else { psnr = min(psnrCap, 20 * log10(range) - 10 * log10(mse)) }
        let nrmse = range > 0 ? mse.squareRoot() / range : mse.squareRoot()
        let r2 = sst > 0 ? 1 - sse / sst : (sse == 0 ? 1 : 0)
        return ComponentMetrics(mse: mse, psnr: psnr, nrmse: nrmse, r2: r2, maxAbsError: maxErr)
    }

    /// Metrics for every component and step: `truth[s]`, `prediction[s]` are n × C arrays of
    /// step s; `ranges[c]` the global range of component c.
    public static func evaluate(truth: [[Float]], prediction: [[Float]], ranges: [Double]) -> MetricsReport {
        precondition(truth.count == prediction.count)
        let C = ranges.count
        var table = [[ComponentMetrics]](repeating: [], count: C)
        for s in 0..<truth.count {
            for c in 0..<C {
                table[c].append(component(truth: truth[s], prediction: prediction[s], components: C,
                                          component: c, range: ranges[c]))
            }
        }
        let all = table.joined()
        let k = Double(max(all.count, 1))
        let pooled = (0..<C).map { pooledR2(truth: truth, prediction: prediction, components: C, component: $0) }
        return MetricsReport(perComponent: table,
                             meanPSNR: all.reduce(0) { $0 + $1.psnr } / k,
                             meanNRMSE: all.reduce(0) { $0 + $1.nrmse } / k,
                             meanR2: pooled.reduce(0, +) / Double(max(C, 1)),
                             componentR2: pooled,
                             meanMSE: all.reduce(0) { $0 + $1.mse } / k,
                             maxAbsError: all.reduce(0) { max($0, $1.maxAbsError) })
    }

    /// R² of one component over all steps together (ȳ = the mean over all steps). A per-step
    /// R² divides by that step's variance, which a nearly constant step (a tracer before it
    /// arrives) makes tiny: averaged over steps it reached −10⁶ on the vessel data. Pooling
    /// over steps is the same idea as METHOD's global range for PSNR.
    public static func pooledR2(truth: [[Float]], prediction: [[Float]], components: Int, component: Int) -> Double {
        var sum = 0.0, count = 0.0
        for step in truth {
            for i in stride(from: component, to: step.count, by: components) { sum += Double(step[i]); count += 1 }
        }
        guard count > 0 else { return 1 }
        let mean = sum / count
        var sse = 0.0, sst = 0.0
        for (y, p) in zip(truth, prediction) {
            for i in stride(from: component, to: y.count, by: components) {
                let e = Double(y[i]) - Double(p[i]), d = Double(y[i]) - mean
                sse += e * e; sst += d * d
            }
        }
        return sst > 0 ? 1 - sse / sst : (sse == 0 ? 1 : 0)
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
