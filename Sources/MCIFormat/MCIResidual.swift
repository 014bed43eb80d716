import ModelDescription
import CZstd
import Foundation


/// The predicted RESIDUAL section (type 7, docs/mci-format.md): per component an error bound
/// E_c and a bin width s_c ≤ 2·E_c, and per (step, component) one stream: the quantisation
/// indices' differences from their prediction at the mesh points, zstd- or range-coded. Build
/// one with `MCIResidual.make` (which guarantees the bound); `MCIWriter` stores it.
public struct MCIResidual: Equatable, Sendable {
    /// E_c: decoded values at mesh points and stored steps are within this of the data.
    public var maxErrors: [Double]
    /// s_c: the quantisation bin width (decoded = network + q · s_c).
    public var binWidths: [Double]
    public var pointCount: Int
    public var timeCount: Int
    /// Step-major: stream t · C + c holds step t, component c.
    public var streams: [Stream]

    public var componentCount: Int { maxErrors.count }

    /// One (step, component) of the residual.
    public struct Stream: Equatable, Sendable {
        public var predictor: Predictor
        public var coder: Coder
        /// zstd: the decompressed byte count; range coder and empty streams: 0.
        public var rawSize: Int
        /// Empty when every difference is 0.
        public var bytes: [UInt8]
    }

    /// How a stream's differences are compressed.
    public enum Coder: UInt8, Sendable {
        /// zstd over zigzag varints.
        case zstd = 0
        /// An adaptive binary range coder with neighbourhood contexts (`RangeCoding`).
        case range = 1
    }

    /// Bytes of the section payload as `MCIWriter` stores it.
    public var payloadBytes: Int { 16 + 16 * componentCount + 24 * streams.count + streams.reduce(0) { $0 + $1.bytes.count } }

    /// The section payload.
    func payload() -> [UInt8] {
        var w = ByteWriter()
        w.u64(UInt64(pointCount)); w.u32(UInt32(timeCount)); w.u32(UInt32(componentCount))
        for c in 0..<componentCount { w.f64(maxErrors[c]); w.f64(binWidths[c]) }
        for s in streams {
            w.bytes += [s.predictor.rawValue, s.coder.rawValue, 0, 0, 0, 0, 0, 0]
            w.u64(UInt64(s.rawSize)); w.u64(UInt64(s.bytes.count))
        }
        for s in streams { w.bytes += s.bytes }
        return w.bytes
    }

    /// What an index is predicted from: the same point at the previous stored step (`time`),
    /// the mean over its earlier mesh neighbours at the same step (`mesh`), both, or nothing.
    public struct Predictor: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let time = Predictor(rawValue: 1)
        public static let mesh = Predictor(rawValue: 2)
        /// The indices quantise the data itself (from the component's minimum), not the
        /// network's residual: smaller at tight bounds, where the network's error has
        /// fine-scale structure the data lacks.
        public static let data = Predictor(rawValue: 4)
        /// Residual candidates in order of preference on a tie (the simpler first).
        static let all: [Predictor] = [[], .mesh, .time, [.time, .mesh]]
        /// Every candidate: the residual ones first, then the same on the data.
        static let everything: [Predictor] = all + all.map { $0.union(.data) }
    }

    /// One way of quantising every (step, component), step-major: indices, and exact values
    /// where no index meets the bound in the decoder's arithmetic.
    struct Quantised {
        var indices: [[Int32]]
        var escapes: [[Int: Float]]
    }

    /// The writer never predicts from the previous step at multiples of this, so decoding any
    /// step reconstructs at most this many steps.
    static let keyframeInterval = 8

    /// Nb(i) of the format: for each point the distinct earlier points (j < i) that share a
    /// cell of 2…64 points with it, at most the 32 largest; CSR layout.
    struct Neighbours: Sendable {
        var offsets: [Int]
        var indices: [Int32]

        static let maxCellPoints = 64
        static let maxPerPoint = 32

        init(_ mesh: MCIMesh) {
            let N = mesh.pointCount
            var count = [Int](repeating: 0, count: N + 1)
            func eachPair(_ body: (Int, Int) -> Void) {
                for cell in 0..<mesh.cellCount {
                    let lo = Int(mesh.cellOffsets[cell]), hi = Int(mesh.cellOffsets[cell + 1])
                    guard (2...Self.maxCellPoints).contains(hi - lo) else { continue }
                    for a in lo..<hi {
                        for b in lo..<hi {
                            let i = Int(mesh.connectivity[a]), j = Int(mesh.connectivity[b])
                            if j < i { body(i, j) }
                        }
                    }
                }
            }
            eachPair { i, _ in count[i + 1] += 1 }
            for i in 0..<N { count[i + 1] += count[i] }
            var all = [Int32](repeating: 0, count: count[N]), fill = count
            eachPair { i, j in all[fill[i]] = Int32(j); fill[i] += 1 }
            offsets = [0]
            offsets.reserveCapacity(N + 1)
            indices = []
            for i in 0..<N {
                let unique = Array(Set(all[count[i]..<count[i + 1]])).sorted()
                indices += unique.suffix(Self.maxPerPoint)
                offsets.append(indices.count)
            }
        }

        /// The mean of y over the neighbours of i, rounded half away from zero (0 if none).
        @inline(__always)
        func prediction(_ i: Int, _ y: UnsafeBufferPointer<Int64>) -> Int64 {
            let lo = offsets[i], hi = offsets[i + 1]
            guard hi > lo else { return 0 }
            var sum: Int64 = 0
            for k in lo..<hi { sum += y[Int(indices[k])] }
            let k = Int64(hi - lo)
            return sum >= 0 ? (2 * sum + k) / (2 * k) : -((-2 * sum + k) / (2 * k))
        }
    }

    /// The differences d = y − prediction of one stream (format: Reconstruction), where
    /// y = q − base, base the previous step's indices under `.time`; an escape's index is 0.
    static func differences(_ q: [Int32], escapes: [Int: Float], previous: [Int32]?, predictor: Predictor,
                            neighbours: Neighbours) -> [Int64] {
        let N = q.count
        var y = [Int64](repeating: 0, count: N)
        let time = predictor.contains(.time)
        for i in 0..<N {
            let own: Int64 = escapes.isEmpty || escapes[i] == nil ? Int64(q[i]) : 0
            y[i] = time ? own - Int64(previous![i]) : own
        }
        guard predictor.contains(.mesh) else { return y }
        var d = [Int64](repeating: 0, count: N)
        y.withUnsafeBufferPointer { yp in
            for i in 0..<N { d[i] = yp[i] - neighbours.prediction(i, yp) }
        }
        return d
    }

    /// Order-0 entropy of the differences in bits: the estimate that picks a stream's predictor.
    static func entropyBits(_ d: [Int64], skipping escapes: [Int: Float]) -> Double {
        var small = [Int](repeating: 0, count: 513), large: [Int64: Int] = [:]
        var n = 0
        for (i, v) in d.enumerated() where escapes.isEmpty || escapes[i] == nil {
            if v.magnitude <= 256 { small[Int(v) + 256] += 1 } else { large[v, default: 0] += 1 }
            n += 1
        }
        guard n > 0 else { return 0 }
        var bits = 0.0
        for c in small where c > 0 { bits -= Double(c) * log2(Double(c) / Double(n)) }
        for c in large.values { bits -= Double(c) * log2(Double(c) / Double(n)) }
        return bits
    }

    /// The zstd frame of one stream: zigzag LEB128 codes, code 0 = escape followed by the f32
    /// value, code k ≥ 1 = difference zigzag⁻¹(k − 1).
    static func zstdStream(differences d: [Int64], escapes: [Int: Float]) throws -> (rawSize: Int, bytes: [UInt8]) {
        var raw = [UInt8]()
        raw.reserveCapacity(d.count + 5 * escapes.count)
        for (i, v) in d.enumerated() {
            if let exact = escapes[i] {
                raw.append(0)
                withUnsafeBytes(of: exact.bitPattern.littleEndian) { raw += $0 }
                continue
            }
            var code = UInt64(bitPattern: (v << 1) ^ (v >> 63)) + 1
            while code >= 0x80 { raw.append(UInt8(code & 0x7F) | 0x80); code >>= 7 }
            raw.append(UInt8(code))
        }
        var dest = [UInt8](repeating: 0, count: ZSTD_compressBound(raw.count))
        let written = raw.withUnsafeBytes { src in
            dest.withUnsafeMutableBytes { ZSTD_compress($0.baseAddress, $0.count, src.baseAddress, src.count, zstdLevel) }
        }
        guard ZSTD_isError(written) == 0 else {
            throw MCIError.outOfMemory("RESIDUAL: zstd compression failed (\(String(cString: ZSTD_getErrorName(written))))")
        }
        return (raw.count, Array(dest[0..<written]))
    }

    /// One stream, in the smaller of the two codings (or in `coder`); empty if every
    /// difference is 0.
    static func stream(predictor: Predictor, differences d: [Int64], escapes: [Int: Float],
                       neighbours: Neighbours, coder: Coder? = nil) throws -> Stream {
        if escapes.isEmpty && d.allSatisfy({ $0 == 0 }) { return Stream(predictor: predictor, coder: .zstd, rawSize: 0, bytes: []) }
        let ranged = coder == .zstd ? nil : Stream(predictor: predictor, coder: .range, rawSize: 0,
                                                   bytes: RangeCoding.encode(differences: d, escapes: escapes, neighbours: neighbours))
        if coder == .range, let ranged { return ranged }
        let (rawSize, zstd) = try zstdStream(differences: d, escapes: escapes)
        if let ranged, ranged.bytes.count <= zstd.count { return ranged }
        return Stream(predictor: predictor, coder: .zstd, rawSize: rawSize, bytes: zstd)
    }

    /// zstd's strongest regular level: 8 MB/s of codes on this machine, 7 % smaller than
    /// level 9 on residual differences (vessel-small, R = 1e-4).
    static let zstdLevel: Int32 = 19

    /// All streams of a residual: for each (step, component) the predictor (on the residual's
    /// indices, or on the data's when `data` is given) whose differences have the least
    /// entropy, then its coding. Components are coded on `threads` threads; within one, step
    /// after step, since the time bit needs the previous step in the same quantisation.
    /// `candidates` restricts the predictors tried and `coder` forces a coder (tests); the time
    /// bit is dropped where the keyframe rule or the previous step's quantisation forbids it.
    static func encodeStreams(residual: Quantised, data: Quantised?, componentCount C: Int,
                              neighbours: Neighbours, threads: Int,
                              candidates: [Predictor] = Predictor.everything, coder: Coder? = nil) throws -> [Stream] {
        let S = residual.indices.count, T = S / C
        var results = [Result<Stream, Error>?](repeating: nil, count: S)
        let workers = max(1, min(threads, C))
        results.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for c in stride(from: w, to: C, by: workers) {
                    var previousIsData: Bool?
                    for t in 0..<T {
                        let k = t * C + c
                        var best: (predictor: Predictor, d: [Int64], bits: Double)?
                        var tried = Set<Predictor>()
                        for candidate in candidates {
                            let isData = candidate.contains(.data)
                            guard let source = isData ? data : residual else { continue }
                            let timeAllowed = t % keyframeInterval != 0 && previousIsData == isData
                            let p = timeAllowed ? candidate : candidate.subtracting(.time)
                            guard tried.insert(p).inserted else { continue }
                            // the previous step's indices as the reader reconstructs them: 0 at escapes
                            var previous: [Int32]?
                            if p.contains(.time) {
                                previous = source.indices[k - C]
                                for i in source.escapes[k - C].keys { previous![i] = 0 }
                            }
                            let d = differences(source.indices[k], escapes: source.escapes[k], previous: previous,
                                                predictor: p, neighbours: neighbours)
                            let bits = entropyBits(d, skipping: source.escapes[k])
                            if best == nil || bits < best!.bits { best = (p, d, bits) }
                        }
                        let chosen = best!
                        let source = chosen.predictor.contains(.data) ? data! : residual
                        previousIsData = chosen.predictor.contains(.data)
                        out[k] = Result {
                            try stream(predictor: chosen.predictor, differences: chosen.d, escapes: source.escapes[k],
                                       neighbours: neighbours, coder: coder)
                        }
                    }
                }
            }
        }
        return try results.map { try $0!.get() }
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
        /// How many streams use each predictor: none, mesh, time, time and mesh.
        public var predictorUse: [Int]
        /// Streams that quantise the data itself rather than the network's residual.
        public var dataStreams: Int
        /// Streams the range coder codes smaller than zstd (the others, if not empty, are zstd).
        public var rangeCodedStreams: Int
        /// `predictorUse` by name, as the JSON section and `train --json` give it.
        public var predictorCounts: [String: Int] {
            Dictionary(uniqueKeysWithValues: zip(["none", "mesh", "time", "time_and_mesh"], predictorUse))
        }
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
        var residual = Quantised(indices: Array(repeating: [], count: T * C), escapes: Array(repeating: [:], count: T * C))
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
                    if abs(Double(n) - Double(x)) <= e * (1 - slack) { continue } // already inside: q = 0
                    if let chosen = index(of: x, from: Double(n), bound: e, width: s) { q[i] = chosen } else { esc[i] = x }
                }
                residual.indices[t * C + c] = q
                residual.escapes[t * C + c] = esc
                (data.indices[t * C + c], data.escapes[t * C + c]) =
                    quantiseData((0..<N).map { values[$0 * C + c] }, origin: model.componentRanges[c].lowerBound,
                                 bound: e, width: s)
            }
            truths.append(values)
            nets.append(net)
        }
        // Encode, then check the final bytes with the C decoder; a value it decodes outside
        // the bound (float arithmetic that differs from the model above) becomes an escape.
        var result = model
        let neighbours = Neighbours(mesh)
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
                let report = Report(
                    maxErrors: bounds, achievedMaxError: achieved, networkMaxError: networkError,
                    nonZeroIndices: residual.indices.reduce(0) { $0 + $1.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } },
                    escapes: coded.indices.reduce(0) { k, s in
                        k + (coded[s].predictor.contains(.data) ? data : residual).escapes[s].count
                    },
                    residualBytes: result.residual!.payloadBytes,
                    predictorUse: Predictor.all.map { p in coded.filter { $0.predictor.subtracting(.data) == p }.count },
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
    static func recordingBound(in json: String, _ r: Report) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return json }
        object["error_bound"] = [
            "max_error": r.maxErrors, "max_abs_error": r.achievedMaxError, "network_max_abs_error": r.networkMaxError,
            "mean_psnr": r.metrics.meanPSNR, "network_mean_psnr": r.networkMetrics.meanPSNR,
            "residual_bytes": r.residualBytes, "nonzero_indices": r.nonZeroIndices, "escapes": r.escapes,
            "bin_width": "2 max_error (1 - 1/64)",
            "predictors": r.predictorCounts, "range_coded_streams": r.rangeCodedStreams, "data_streams": r.dataStreams,
        ] as [String: Any]
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return json }
        return String(decoding: data, as: UTF8.self)
    }

    /// The data's own indices of one stream: q = round((x − origin) / s), checked in the
    /// decoder's arithmetic (`dataValue`), q ± 1 if rounding breaks the bound, else an escape.
    static func quantiseData(_ x: [Float], origin: Double, bound e: Double, width s: Double) -> ([Int32], [Int: Float]) {
        var q = [Int32](repeating: 0, count: x.count)
        var escapes: [Int: Float] = [:]
        for (i, v) in x.enumerated() {
            if let chosen = index(of: v, from: origin, bound: e, width: s) { q[i] = chosen } else { escapes[i] = v }
        }
        return (q, escapes)
    }

    /// The index q whose decoded value base + q · s (`dataValue`'s arithmetic) is within e of
    /// x: round((x − base) / s), or its neighbour if float rounding breaks the bound; nil (an
    /// escape) if neither holds or |q| would reach 2^31.
    static func index(of x: Float, from base: Double, bound e: Double, width s: Double) -> Int32? {
        let ideal = ((Double(x) - base) / s).rounded()
        guard ideal.magnitude < Double(Int32.max - 1) else { return nil }
        for candidate in [ideal, ideal - 1, ideal + 1] where abs(Double(dataValue(base, Int64(candidate), s)) - Double(x)) <= e {
            return Int32(candidate)
        }
        return nil
    }

    /// base + q · s as the decoder computes it (docs/mci-format.md): the product and the sum are
    /// separate double roundings, then one rounding to float (±infinity beyond its range). The
    /// base is the component's minimum in data streams, the network's value otherwise.
    static func dataValue(_ base: Double, _ q: Int64, _ s: Double) -> Float {
        let scaled = Double(q) * s
        let v = base + scaled
        if v > Double(Float.greatestFiniteMagnitude) { return .infinity }
        if v < -Double(Float.greatestFiniteMagnitude) { return -.infinity }
        return Float(v)
    }

    /// A residual stream's decoded value: the network's float widened, plus q · s (`dataValue`).
    static func applied(_ network: Float, _ q: Int64, _ s: Double) -> Float { dataValue(Double(network), q, s) }
}
