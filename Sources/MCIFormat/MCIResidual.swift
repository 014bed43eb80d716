import CZlib
import Foundation
import INRCore

/// The RESIDUAL section (docs/mci-format.md): per component an error bound E_c and a bin width
/// s_c ≤ 2·E_c, and per (step, component) one compressed stream of quantisation indices at the
/// mesh points. Build one with `MCIResidual.make` (which guarantees the bound); `MCIWriter`
/// stores it.
public struct MCIResidual: Equatable, Sendable {
    /// E_c: decoded values at mesh points and stored steps are within this of the data.
    public var maxErrors: [Double]
    /// s_c: the quantisation bin width (decoded = network + q · s_c).
    public var binWidths: [Double]
    public var pointCount: Int
    public var timeCount: Int
    /// Step-major (index t · C + c): inflated byte count and zlib stream; both empty/0 when
    /// every index of the stream is 0.
    public var rawSizes: [Int]
    public var streams: [[UInt8]]

    public var componentCount: Int { maxErrors.count }

    /// Bytes of the section payload as `MCIWriter` stores it.
    public var payloadBytes: Int { 16 + 16 * componentCount + 16 * streams.count + streams.reduce(0) { $0 + $1.count } }

    /// The section payload.
    func payload() -> [UInt8] {
        var w = ByteWriter()
        w.u64(UInt64(pointCount)); w.u32(UInt32(timeCount)); w.u32(UInt32(componentCount))
        for c in 0..<componentCount { w.f64(maxErrors[c]); w.f64(binWidths[c]) }
        for k in streams.indices { w.u64(UInt64(rawSizes[k])); w.u64(UInt64(streams[k].count)) }
        for s in streams { w.bytes += s }
        return w.bytes
    }

    /// One value of a stream: a quantisation index, or an exact value (escape) where the
    /// index cannot meet the bound in float arithmetic.
    public enum Code: Equatable, Sendable {
        case index(Int64)
        case exact(Float)
    }

    /// The zlib stream of one (step, component): zigzag LEB128 codes, code 0 = escape followed
    /// by the f32 value, code k ≥ 1 = index zigzag⁻¹(k − 1). All-zero: empty.
    static func encodeStream(indices: [Int32], escapes: [Int: Float]) throws -> (rawSize: Int, stream: [UInt8]) {
        if escapes.isEmpty && indices.allSatisfy({ $0 == 0 }) { return (0, []) }
        var raw = [UInt8]()
        raw.reserveCapacity(indices.count + 5 * escapes.count)
        for (i, q) in indices.enumerated() {
            if let exact = escapes[i] {
                raw.append(0)
                withUnsafeBytes(of: exact.bitPattern.littleEndian) { raw += $0 }
                continue
            }
            let q64 = Int64(q)
            var code = UInt64(bitPattern: (q64 << 1) ^ (q64 >> 63)) + 1
            while code >= 0x80 { raw.append(UInt8(code & 0x7F) | 0x80); code >>= 7 }
            raw.append(UInt8(code))
        }
        var destLen = compressBound(uLong(raw.count))
        var dest = [UInt8](repeating: 0, count: Int(destLen))
        let rc = raw.withUnsafeBufferPointer { compress2(&dest, &destLen, $0.baseAddress, uLong($0.count), 9) }
        guard rc == Z_OK else { throw MCIError.outOfMemory("RESIDUAL: zlib compress2 failed (\(rc))") }
        return (raw.count, Array(dest[0..<Int(destLen)]))
    }

    // MARK: - Building an error-bounded model

    /// The requested bound: the same absolute E for every component, or R · (max − min) of each
    /// component's range (R · max(|min|, 1) for a constant component, whose error is 0 anyway).
    public enum Bound: Equatable, Sendable {
        case absolute(Double)
        case relative(Double)

        func perComponent(_ ranges: [ClosedRange<Double>]) -> [Double] {
            ranges.map { r in
                switch self {
                case .absolute(let e): return e
                case .relative(let x):
                    let span = r.upperBound - r.lowerBound
                    return span > 0 ? x * span : x * max(abs(r.lowerBound), 1)
                }
            }
        }
    }

    /// What `make` measured, from the final file as the C decoder reads it.
    public struct Report: Sendable {
        public var maxErrors: [Double]
        /// Largest |decoded − data| per component over every mesh point and stored step, with
        /// the residual (≤ maxErrors) and with the network alone.
        public var achievedMaxError: [Double]
        public var networkMaxError: [Double]
        /// Non-zero indices and exact escapes over all N·T·C values.
        public var nonZeroIndices: Int
        public var escapes: Int
        public var residualBytes: Int
        /// Metrics of the decoded values (with the residual) against the data, and of the network alone.
        public var metrics: MetricsReport
        public var networkMetrics: MetricsReport
    }

    /// Share of the bin width kept as slack: s_c = 2 E_c (1 − 1/64), so the nominal error is
    /// 0.984 E_c and a decoder whose network output differs slightly (another BLAS) still
    /// meets the bound.
    static let slack = 1.0 / 64.0

    /// Adds a RESIDUAL to `model` (which needs its mesh) so that `mcinr_decode_mesh` at each
    /// stored step is within the bound of `truth(step)`: N × C floats, point-major, mesh point
    /// order, components in model order. The network output is taken from the C decoder itself
    /// (network only), and the bound is verified on the final bytes with the C decoder;
    /// values that float rounding would push past the bound are stored exactly.
    public static func make(_ model: MCIModel, bound: Bound, threads: Int = 1,
                            truth: (Int) throws -> [Float]) throws -> (MCIModel, Report) {
        guard let mesh = model.mesh else {
            throw MCIError.invalidModel("error-bounded mode needs the mesh in the model (residuals are stored at its points)")
        }
        let N = mesh.pointCount, C = model.componentCount, T = model.times.count
        let bounds = bound.perComponent(model.componentRanges)
        for (c, e) in bounds.enumerated() where !(e.isFinite && e > 0) {
            throw MCIError.invalidModel("error bound \(e) of component \(c) must be finite and > 0")
        }
        let widths = bounds.map { 2 * $0 * (1 - slack) }
        var plain = model
        plain.residual = nil
        let network = try MCIDecoder(bytes: MCIWriter.encode(plain), name: "error-bounded encoding")
        var indices = [[Int32]](repeating: [], count: T * C)
        var escapes = [[Int: Float]](repeating: [:], count: T * C)
        var truths: [[Float]] = [], nets: [[Float]] = []
        for t in 0..<T {
            let data = try truth(t)
            guard data.count == N * C else {
                throw MCIError.invalidModel("error-bounded mode: step \(t) has \(data.count) values, expected \(N) points × \(C) components")
            }
            let net = try network.decodeMesh(time: model.times[t], threads: threads, networkOnly: true)
            for c in 0..<C {
                var q = [Int32](repeating: 0, count: N)
                var esc: [Int: Float] = [:]
                let e = bounds[c], s = widths[c]
                for i in 0..<N {
                    let x = data[i * C + c], n = net[i * C + c]
                    guard x.isFinite else {
                        throw MCIError.invalidModel("error-bounded mode: the data value at point \(i), step \(t), component \(c) is not finite")
                    }
                    if abs(Double(n) - Double(x)) <= e * (1 - slack) { continue } // already inside: q = 0
                    let ideal = ((Double(x) - Double(n)) / s).rounded()
                    var chosen: Int32?
                    if ideal.magnitude < Double(Int32.max - 1) {
                        for candidate in [ideal, ideal - 1, ideal + 1]
                        where abs(Double(applied(n, Int64(candidate), s)) - Double(x)) <= e {
                            chosen = Int32(candidate); break
                        }
                    }
                    if let chosen { q[i] = chosen } else { esc[i] = x }
                }
                indices[t * C + c] = q
                escapes[t * C + c] = esc
            }
            truths.append(data)
            nets.append(net)
        }
        // Encode, then check the final bytes with the C decoder; a value it decodes outside
        // the bound (float arithmetic that differs from the model above) becomes an escape.
        var result = model
        for attempt in 0... {
            var raw = [Int](repeating: 0, count: T * C), streams = [[UInt8]](repeating: [], count: T * C)
            for k in 0..<(T * C) { (raw[k], streams[k]) = try encodeStream(indices: indices[k], escapes: escapes[k]) }
            result.residual = MCIResidual(maxErrors: bounds, binWidths: widths, pointCount: N, timeCount: T,
                                          rawSizes: raw, streams: streams)
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
                            escapes[t * C + c][i] = truths[t][i * C + c]
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
                let report = Report(
                    maxErrors: bounds, achievedMaxError: achieved, networkMaxError: networkError,
                    nonZeroIndices: indices.reduce(0) { $0 + $1.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } },
                    escapes: escapes.reduce(0) { $0 + $1.count }, residualBytes: result.residual!.payloadBytes,
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
    static func recordingBound(in json: String, _ r: Report) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return json }
        object["error_bound"] = [
            "max_error": r.maxErrors, "max_abs_error": r.achievedMaxError, "network_max_abs_error": r.networkMaxError,
            "mean_psnr": r.metrics.meanPSNR, "network_mean_psnr": r.networkMetrics.meanPSNR,
            "residual_bytes": r.residualBytes, "nonzero_indices": r.nonZeroIndices, "escapes": r.escapes,
            "bin_width": "2 max_error (1 - 1/64)",
        ] as [String: Any]
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return json }
        return String(decoding: data, as: UTF8.self)
    }

    /// The decoder's arithmetic (docs/mci-format.md, RESIDUAL): q · s and the sum are separate
    /// double roundings, then one rounding to float.
    static func applied(_ network: Float, _ q: Int64, _ s: Double) -> Float {
        let correction = Double(q) * s
        let v = Double(network) + correction
        if v > Double(Float.greatestFiniteMagnitude) { return .infinity }
        if v < -Double(Float.greatestFiniteMagnitude) { return -.infinity }
        return Float(v)
    }
}
