import Foundation
import ModelDescription

/// Builds an error-bounded model: quantiser → predictor → coder for every (step, component)
/// of the residual (`ResidualQuantiser`, `ResidualPrediction`, `StreamCoding`), then verifies
/// the bound on the written bytes with the C decoder.
public enum ErrorBoundedEncoder {
    /// All streams of a residual: for each (step, component) the predictor (on the residual's
    /// indices, or on the data's when `data` is given) whose differences have the least
    /// entropy, then its coding. Components are coded on `threads` threads; within one, step
    /// after step, since the time bit needs the previous step in the same quantisation.
    /// `candidates` restricts the predictors tried and `coder` forces a coder (tests); the time
    /// bit is dropped where the keyframe rule or the previous step's quantisation forbids it.
    static func encodeStreams(residual: ResidualQuantiser.Quantised, data: ResidualQuantiser.Quantised?, componentCount C: Int,
                              neighbours: MeshNeighbours, threads: Int,
                              candidates: [MCIResidual.Predictor] = MCIResidual.Predictor.everything,
                              coder: MCIResidual.Coder? = nil) throws -> [MCIResidual.Stream] {
        let S = residual.indices.count, T = S / C
        var results = [Result<MCIResidual.Stream, Error>?](repeating: nil, count: S)
        let workers = max(1, min(threads, C))
        results.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for c in stride(from: w, to: C, by: workers) {
                    var previousIsData: Bool?
                    for t in 0..<T {
                        let k = t * C + c
                        var best: (predictor: MCIResidual.Predictor, d: [Int64], bits: Double)?
                        var tried = Set<MCIResidual.Predictor>()
                        for candidate in candidates {
                            let isData = candidate.contains(.data)
                            guard let source = isData ? data : residual else { continue }
                            let timeAllowed = t % ResidualPrediction.keyframeInterval != 0 && previousIsData == isData
                            let p = timeAllowed ? candidate : candidate.subtracting(.time)
                            guard tried.insert(p).inserted else { continue }
                            // the previous step's indices as the reader reconstructs them: 0 at escapes
                            var previous: [Int32]?
                            if p.contains(.time) {
                                previous = source.indices[k - C]
                                for i in source.escapes[k - C].keys { previous![i] = 0 }
                            }
                            let d = ResidualPrediction.differences(source.indices[k], escapes: source.escapes[k], previous: previous,
                                                predictor: p, neighbours: neighbours)
                            let bits = ResidualPrediction.entropyBits(d, skipping: source.escapes[k])
                            if best == nil || bits < best!.bits { best = (p, d, bits) }
                        }
                        let chosen = best!
                        let source = chosen.predictor.contains(.data) ? data! : residual
                        previousIsData = chosen.predictor.contains(.data)
                        out[k] = Result {
                            try StreamCoding.stream(predictor: chosen.predictor, differences: chosen.d, escapes: source.escapes[k],
                                       neighbours: neighbours, coder: coder)
                        }
                    }
                }
            }
        }
        return try results.map { try $0!.get() }
    }

    /// Adds a RESIDUAL to `model` (which needs its mesh) so that `mcinr_decode_mesh` at each
    /// stored step is within the bound of `truth(step)`: N × C floats, point-major, mesh point
    /// order, components in model order. The network output is taken from the C decoder itself
    /// (network only), and the bound is verified on the final bytes with the C decoder;
    /// values that float rounding would push past the bound are stored exactly.
    public static func make(_ model: MCIModel, bound: MCIResidual.Bound, threads: Int = 1,
                            truth: (Int) throws -> [Float]) throws -> (MCIModel, MCIResidual.Report) {
        guard let mesh = model.mesh else {
            throw MCIError.invalidModel("error-bounded mode needs the mesh in the model (residuals are stored at its points)")
        }
        let N = mesh.pointCount, C = model.componentCount, T = model.times.count
        let bounds = bound.perComponent(model.componentRanges)
        for (c, e) in bounds.enumerated() where !(e.isFinite && e > 0) {
            throw MCIError.invalidModel("error bound \(e) of component \(c) must be finite and > 0")
        }
        let widths = bounds.map { 2 * $0 * (1 - ResidualQuantiser.slack) }
        var plain = model
        plain.residual = nil
        let network = try MCIDecoder(bytes: MCIWriter.encode(plain), name: "error-bounded encoding")
        var residual = ResidualQuantiser.Quantised(indices: Array(repeating: [], count: T * C), escapes: Array(repeating: [:], count: T * C))
        var data = residual
        var truths: [[Float]] = [], nets: [[Float]] = []
        for t in 0..<T {
            let values = try truth(t)
            guard values.count == N * C else {
                throw MCIError.invalidModel("error-bounded mode: step \(t) has \(values.count) values, expected \(N) points × \(C) components")
            }
            let net = try network.decodeMesh(time: model.times[t], threads: threads, networkOnly: true)
            for c in 0..<C {
                var q = [Int32](repeating: 0, count: N)
                var esc: [Int: Float] = [:]
                let e = bounds[c], s = widths[c]
                for i in 0..<N {
                    let x = values[i * C + c], n = net[i * C + c]
                    guard x.isFinite else {
                        throw MCIError.invalidModel("error-bounded mode: the data value at point \(i), step \(t), component \(c) is not finite")
                    }
                    if abs(Double(n) - Double(x)) <= e * (1 - ResidualQuantiser.slack) { continue } // already inside: q = 0
                    if let chosen = ResidualQuantiser.index(of: x, from: Double(n), bound: e, width: s) { q[i] = chosen } else { esc[i] = x }
                }
                residual.indices[t * C + c] = q
                residual.escapes[t * C + c] = esc
                (data.indices[t * C + c], data.escapes[t * C + c]) =
                    ResidualQuantiser.quantiseData((0..<N).map { values[$0 * C + c] }, origin: model.componentRanges[c].lowerBound,
                                 bound: e, width: s)
            }
            truths.append(values)
            nets.append(net)
        }
        // Encode, then check the final bytes with the C decoder; a value it decodes outside
        // the bound (float arithmetic that differs from the model above) becomes an escape.
        var result = model
        let neighbours = MeshNeighbours(mesh)
        for attempt in 0... {
            let coded = try encodeStreams(residual: residual, data: data, componentCount: C,
                                          neighbours: neighbours, threads: threads)
            result.residual = MCIResidual(maxErrors: bounds, binWidths: widths, pointCount: N, timeCount: T, streams: coded)
            let decoder = try MCIDecoder(bytes: MCIWriter.encode(result), name: "error-bounded encoding")
            var decodedAll: [[Float]] = [], violations = 0
            var achieved = [Double](repeating: 0, count: C)
            for t in 0..<T {
                let decoded = try decoder.decodeMesh(time: model.times[t], threads: threads)
                for i in 0..<N {
                    for c in 0..<C {
                        let err = abs(Double(decoded[i * C + c]) - Double(truths[t][i * C + c]))
                        if err > bounds[c] {
                            violations += 1
                            residual.escapes[t * C + c][i] = truths[t][i * C + c]
                            data.escapes[t * C + c][i] = truths[t][i * C + c]
                        }
                        achieved[c] = max(achieved[c], err)
                    }
                }
                decodedAll.append(decoded)
            }
            if violations == 0 {
                var networkError = [Double](repeating: 0, count: C)
                for t in 0..<T {
                    for i in 0..<N {
                        for c in 0..<C {
                            networkError[c] = max(networkError[c], abs(Double(nets[t][i * C + c]) - Double(truths[t][i * C + c])))
                        }
                    }
                }
                let ranges = model.componentRanges.map { $0.upperBound - $0.lowerBound }
                let report = MCIResidual.Report(
                    maxErrors: bounds, achievedMaxError: achieved, networkMaxError: networkError,
                    nonZeroIndices: residual.indices.reduce(0) { $0 + $1.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } },
                    escapes: coded.indices.reduce(0) { k, s in
                        k + (coded[s].predictor.contains(.data) ? data : residual).escapes[s].count
                    },
                    residualBytes: result.residual!.payloadBytes,
                    predictorUse: MCIResidual.Predictor.all.map { p in coded.filter { $0.predictor.subtracting(.data) == p }.count },
                    dataStreams: coded.filter { $0.predictor.contains(.data) }.count,
                    rangeCodedStreams: coded.filter { $0.coder == .range && !$0.bytes.isEmpty }.count,
                    metrics: Metrics.evaluate(truth: truths, prediction: decodedAll, ranges: ranges),
                    networkMetrics: Metrics.evaluate(truth: truths, prediction: nets, ranges: ranges))
                result.metadataJSON = recordingBound(in: result.metadataJSON, report)
                return (result, report)
            }
            guard attempt < 3 else {
                throw MCIError.invalidModel("error-bounded mode: \(violations) values still exceed the bound after \(attempt + 1) attempts")
            }
        }
        fatalError("unreachable")
    }

    /// The JSON section with an `error_bound` entry (bounds, achieved errors, PSNR with and
    /// without the residual), so the file says what it guarantees; unchanged if not an object.
    static func recordingBound(in json: String, _ r: MCIResidual.Report) -> String {
        MCIModel.addingEntry("error_bound", [
            "max_error": r.maxErrors, "max_abs_error": r.achievedMaxError, "network_max_abs_error": r.networkMaxError,
            "mean_psnr": r.metrics.meanPSNR, "network_mean_psnr": r.networkMetrics.meanPSNR,
            "residual_bytes": r.residualBytes, "nonzero_indices": r.nonZeroIndices, "escapes": r.escapes,
            "bin_width": "2 max_error (1 - 1/64)",
            "predictors": r.predictorCounts, "range_coded_streams": r.rangeCodedStreams, "data_streams": r.dataStreams,
        ] as [String: Any], to: json)
    }
}
