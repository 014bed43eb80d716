import Foundation

/// The predictor stage of the residual codec: a stream's indices become differences from
/// their prediction (docs/mci-format.md, "Reconstruction"); the chooser keeps the predictor
/// whose differences have the least entropy. The predictor set itself is the format's
/// `MCIResidual.Predictor`.
enum ResidualPrediction {
    /// The writer never predicts from the previous step at multiples of this, so decoding any
    /// step reconstructs at most this many steps.
    static let keyframeInterval = 8

    /// The differences d = y − prediction of one stream (format: Reconstruction), where
    /// y = q − base, base the previous step's indices under `.time`; an escape's index is 0.
    static func differences(_ q: [Int32], escapes: [Int: Float], previous: [Int32]?, predictor: MCIResidual.Predictor,
                            neighbours: MeshNeighbours) -> [Int64] {
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
}
