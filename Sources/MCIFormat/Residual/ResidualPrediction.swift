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

    // MARK: The linear predictor (format 1.4)

    /// Weights per linear stream: w₁ w₂ w₃ (the point at t − 1 … t − 3), v₀ … v₃ (its
    /// neighbours' sums at t … t − 3).
    static let linearWeightCount = 7
    /// Steps back the linear predictor reads.
    static let linearDepth = 3
    /// Q12 fixed point, and the format's bound on a weight's magnitude.
    static let linearScale = 4096.0
    static let linearWeightLimit: Int32 = 1 << 20

    /// The plane predictor's scale: plane values are kept in 1/16 index units (format 1.6).
    static let planeScale: Int64 = 16

    /// n / d (d > 0) to the nearest integer, halves away from zero, in exact integers: the
    /// format's one rounding of a prediction.
    @inline(__always)
    static func dividedRounded(_ n: Int64, _ d: Int64) -> Int64 {
        n >= 0 ? (2 * n + d) / (2 * d) : -((-2 * n + d) / (2 * d))
    }

    /// The linear predictor's features at point i, as the format sums them: the point's own
    /// indices at t − 1 … t − 3 and its neighbours' sums at t … t − 3 (0 beyond `history`),
    /// or with `plane` their plane values in 1/16 units (Σ W y with the Q16 weights, rounded);
    /// returns the scale a of P = a (w·own) + v·S, D = 4096 a: k′ = max(|Nb(i)|, 1) for the
    /// sums, 16 for plane values. `current` and `history` are reconstructed indices (0 at
    /// escapes); only neighbours j < i of `current` are read.
    @inline(__always)
    private static func linearFeatures(_ i: Int, _ current: UnsafeBufferPointer<Int32>, _ history: [UnsafeBufferPointer<Int32>],
                                       _ nb: MeshNeighbours, plane: Bool,
                                       _ f: inout (Int64, Int64, Int64, Int64, Int64, Int64, Int64)) -> Int64 {
        let lo = nb.offsets[i], hi = nb.offsets[i + 1]
        var s0: Int64 = 0, s1: Int64 = 0, s2: Int64 = 0, s3: Int64 = 0
        let depth = history.count
        for k in lo..<hi {
            let j = Int(nb.indices[k]), w: Int64 = plane ? Int64(nb.planeWeights[k]) : 1
            s0 += w * Int64(current[j])
            if depth > 0 { s1 += w * Int64(history[0][j]) }
            if depth > 1 { s2 += w * Int64(history[1][j]) }
            if depth > 2 { s3 += w * Int64(history[2][j]) }
        }
        if plane {  // Q16 → 1/16 units
            s0 = dividedRounded(s0, 4096); s1 = dividedRounded(s1, 4096); s2 = dividedRounded(s2, 4096); s3 = dividedRounded(s3, 4096)
        }
        f = (depth > 0 ? Int64(history[0][i]) : 0, depth > 1 ? Int64(history[1][i]) : 0, depth > 2 ? Int64(history[2][i]) : 0,
             s0, s1, s2, s3)
        return plane ? planeScale : Int64(max(hi - lo, 1))
    }

    /// Least-absolute-deviation passes of `fitLinear` after the least-squares one (each a
    /// least-squares fit reweighted by 1 / |error| of the pass before): the entropy of the
    /// differences follows their typical size, which a few large ones (points the plane
    /// cannot fit, escapes' neighbours) pull least squares away from.
    static let linearReweightings = 5
    /// The reweighted passes read at most about this many points, evenly strided: seven
    /// weights need far fewer, and the passes would otherwise triple the coding time.
    static let reweightingPoints = 65536

    /// Q12 weights that make the prediction errors of the indices `q` (0 at escapes, which are
    /// left out of the fit) from `history` (most recent first, at most `linearDepth` steps of
    /// the same chain; empty: the neighbours at this step alone) small in absolute value:
    /// least squares, then `linearReweightings` reweighted passes. Weights of steps beyond
    /// `history` are 0, as the format requires.
    static func fitLinear(_ q: [Int32], escapes: [Int: Float], history: [[Int32]], neighbours nb: MeshNeighbours,
                          plane: Bool = false) -> [Int32] {
        let depth = min(history.count, linearDepth)
        // the features in use: w₁…w_depth, v₀, v₁…v_depth
        let used = Array(0..<depth) + [3] + Array(4..<(4 + depth))
        let K = used.count, row = K + 1
        // The reweighted passes read every stride-th point: their features (the used ones, then
        // the target) are kept from the first pass, which computes them for every point.
        let stride = max(1, q.count / reweightingPoints)
        var sample = [Double]()
        sample.reserveCapacity((q.count / stride + 1) * row)
        var solution: [Double]? = nil
        var A = [Double](repeating: 0, count: K * K), b = [Double](repeating: 0, count: K)
        // the normal equations as rows of lanes (K ≤ 7 < 8), each lane summed in point order as
        // the scalar loop would: the same doubles, several lanes per instruction
        var rows = [SIMD8<Double>](repeating: .zero, count: K), rhs = SIMD8<Double>.zero
        /// Adds one point's row (features xs, target) to the normal equations, weighted by
        /// 1 / |error| under the previous pass's solution (1 in the first pass).
        func accumulate(_ rows: UnsafeMutableBufferPointer<SIMD8<Double>>, _ rhs: inout SIMD8<Double>,
                        _ xs: SIMD8<Double>, _ target: Double, _ previous: [Double]?) {
            var rho = 1.0
            if let beta = previous {
                var pred = 0.0
                for a in 0..<K { pred += beta[a] * xs[a] }
                rho = 1 / max(abs(target - pred), 1)
            }
            let xa = rho * xs
            rhs += xa * target
            for a in 0..<K { rows[a] += xa[a] * xs }
        }
        for pass in 0...linearReweightings {
            for a in 0..<K { rows[a] = .zero }
            rhs = .zero
            let previous = solution
            rows.withUnsafeMutableBufferPointer { rows in
                if pass == 0 {
                    withBuffers(q, history.prefix(depth)) { current, past in
                        var f: (Int64, Int64, Int64, Int64, Int64, Int64, Int64) = (0, 0, 0, 0, 0, 0, 0)
                        for i in 0..<current.count where escapes.isEmpty || escapes[i] == nil {
                            let k = Double(linearFeatures(i, current, past, nb, plane: plane, &f))
                            // x[used[a]] of x = (f₀, f₁, f₂, f₃ / k, f₄ / k, f₅ / k, f₆ / k)
                            var xs = SIMD8<Double>.zero
                            if depth > 0 { xs[0] = Double(f.0); xs[depth + 1] = Double(f.4) / k }
                            if depth > 1 { xs[1] = Double(f.1); xs[depth + 2] = Double(f.5) / k }
                            if depth > 2 { xs[2] = Double(f.2); xs[depth + 3] = Double(f.6) / k }
                            xs[depth] = Double(f.3) / k
                            let target = Double(current[i])
                            accumulate(rows, &rhs, xs, target, nil)
                            if i % stride == 0 {
                                for a in 0..<K { sample.append(xs[a]) }
                                sample.append(target)
                            }
                        }
                    }
                } else {
                    sample.withUnsafeBufferPointer { points in
                        for n in 0..<(points.count / row) {
                            var xs = SIMD8<Double>.zero
                            for a in 0..<K { xs[a] = points[n * row + a] }
                            accumulate(rows, &rhs, xs, points[n * row + K], previous)
                        }
                    }
                }
            }
            for a in 0..<K {
                b[a] = rhs[a]
                for c in a..<K { A[a * K + c] = rows[a][c] }
            }
            for a in 0..<K { for c in 0..<a { A[a * K + c] = A[c * K + a] } }
            // a little ridge keeps collinear features (a constant field) solvable
            let trace = (0..<K).reduce(0.0) { $0 + A[$1 * K + $1] }
            for a in 0..<K { A[a * K + a] += 1e-9 * max(trace / Double(K), 1) }
            guard let next = solveSymmetric(A, b, K) else { break }
            solution = next
        }
        var weights = [Int32](repeating: 0, count: linearWeightCount)
        guard let solution else {
            weights[3] = Int32(linearScale)   // the neighbours' mean
            return weights
        }
        for (a, w) in zip(used, solution) {
            let limit = Double(linearWeightLimit)
            weights[a] = Int32(max(-limit, min(limit, (w * linearScale).rounded())))
        }
        return weights
    }

    /// P = a (w1 f1 + w2 f2 + w3 f3) + v0 S0 + … + v3 S3, the linear prediction's numerator (over
    /// 4096 a), from the stream's Q12 weights, the features and their scale a (`linearFeatures`).
    @inline(__always)
    private static func linearNumerator(_ w: [Int32], _ f: (Int64, Int64, Int64, Int64, Int64, Int64, Int64),
                                        _ a: Int64) -> Int64 {
        a * (Int64(w[0]) * f.0 + Int64(w[1]) * f.1 + Int64(w[2]) * f.2)
            + Int64(w[3]) * f.3 + Int64(w[4]) * f.4 + Int64(w[5]) * f.5 + Int64(w[6]) * f.6
    }

    /// The differences d = q − pred of a linear stream (format: Linear predictor); 0 at escapes.
    static func linearDifferences(_ q: [Int32], escapes: [Int: Float], history: [[Int32]], weights w: [Int32],
                                  neighbours nb: MeshNeighbours, plane: Bool = false) -> [Int64] {
        let depth = min(history.count, linearDepth)
        var d = [Int64](repeating: 0, count: q.count)
        withBuffers(q, history.prefix(depth)) { current, past in
            var f: (Int64, Int64, Int64, Int64, Int64, Int64, Int64) = (0, 0, 0, 0, 0, 0, 0)
            for i in 0..<current.count where escapes.isEmpty || escapes[i] == nil {
                let k = linearFeatures(i, current, past, nb, plane: plane, &f)
                let pred = dividedRounded(linearNumerator(w, f, k), 4096 * k)
                d[i] = Int64(current[i]) - pred
            }
        }
        return d
    }

    // MARK: The blend predictor (format 1.7)

    /// Predictions a blend stream weighs: the linear one, the plane at this step, and with a
    /// step before it the previous step, the previous step plus the plane's change, and with two
    /// the previous step's trend.
    static let blendPredictions = 5
    /// Errors are kept up to this (1/16 units); half an index is added to each mean error; the
    /// best prediction's weight is `blendUnit`²; predictions are clamped to ±`blendClamp`.
    static let blendErrorLimit: Int64 = 1 << 24
    static let blendEpsilon: Int64 = 8
    static let blendUnit: Int64 = 1024
    static let blendClamp: Int64 = 1 << 36

    /// The differences d = q − pred of a blend stream (format: Blend predictor; the linear
    /// plane predictor's `weights`); 0 at escapes. Each point's predictions are weighted by the
    /// inverse square of their mean errors at its earlier neighbours, relative to the best:
    /// where the field moves, the previous step stops predicting and its weight falls there alone.
    /// With `quadratic` (format 1.8) the quadratic and the previous step plus its change too.
    /// `chainSteps`: the steps of the chain before this one, where `history` holds other levels
    /// than the chain's last steps (an anchor); else its count.
    static func blendDifferences(_ q: [Int32], escapes: [Int: Float], history: [[Int32]], weights w: [Int32],
                                 neighbours nb: MeshNeighbours, quadratic: Bool = false, chainSteps: Int? = nil) -> [Int64] {
        blends(q, escapes: escapes, history: history, weights: w, neighbours: nb, quadratic: quadratic,
               chainSteps: chainSteps, withoutQuadratic: false)[0]
    }

    /// The differences of the blend stream with the quadratic and of the one without, in one pass
    /// over the points (the same as two `blendDifferences`): a point's features, neighbours and
    /// the errors of the predictions both weigh are the same in both.
    static func blendDifferencesWithAndWithoutQuadratic(_ q: [Int32], escapes: [Int: Float], history: [[Int32]],
                                                        weights w: [Int32], neighbours nb: MeshNeighbours,
                                                        chainSteps: Int? = nil) -> (quadratic: [Int64], blend: [Int64]) {
        let d = blends(q, escapes: escapes, history: history, weights: w, neighbours: nb, quadratic: true,
                       chainSteps: chainSteps, withoutQuadratic: true)
        return (d[0], d[1])
    }

    /// `blendDifferences`, and with `withoutQuadratic` (and `quadratic`) second the differences
    /// of the blend without the quadratic's predictions.
    private static func blends(_ q: [Int32], escapes: [Int: Float], history: [[Int32]], weights w: [Int32],
                               neighbours nb: MeshNeighbours, quadratic: Bool, chainSteps: Int?,
                               withoutQuadratic: Bool) -> [[Int64]] {
        let depth = min(history.count, linearDepth), steps = chainSteps ?? depth
        // the predictions s_p that take part (s₀ … s₄ the blend's, s₅ s₆ the quadratic's), by the steps the chain has
        let use = (0..<7).filter { p in (p < blendPredictions || quadratic) && steps >= [0, 0, 1, 1, 2, 0, 1][p] }
        let K = use.count
        // the sets of predictions weighed: all of `use`, and the blend's own (the first of `use`)
        let setCount = withoutQuadratic && quadratic ? 2 : 1, secondSize = use.filter { $0 < blendPredictions }.count
        var d = [Int64](repeating: 0, count: q.count), second = [Int64](repeating: 0, count: setCount > 1 ? q.count : 0)
        var errors = [UInt32](repeating: 0, count: q.count * K)
        func clamped(_ v: Int64) -> Int64 { max(-blendClamp, min(blendClamp, v)) }
        /// ⌊x / y⌋ for 0 ≤ x < 2^52, 0 < y: binary64's quotient truncates to it exactly (the gap to
        /// the next integer, ≥ 1 / y, exceeds half an ulp of x / y), and far faster than Int64's
        func quotient(_ x: Int64, _ y: Int64) -> Int64 { Int64(Double(x) / Double(y)) }
        let scratch = UnsafeMutablePointer<Int64>.allocate(capacity: 7 + 2 * K)
        defer { scratch.deallocate() }
        let all = scratch, s = scratch + 7, mean = scratch + 7 + K
        withBuffers(q, history.prefix(depth)) { current, past in
            d.withUnsafeMutableBufferPointer { first in
                second.withUnsafeMutableBufferPointer { second in
                    let out = [first, second]
                    errors.withUnsafeMutableBufferPointer { errors in
                        var f: (Int64, Int64, Int64, Int64, Int64, Int64, Int64) = (0, 0, 0, 0, 0, 0, 0)
                        for i in 0..<current.count where escapes.isEmpty || escapes[i] == nil {
                            let a = linearFeatures(i, current, past, nb, plane: true, &f)  // a = planeScale
                            all[0] = dividedRounded(linearNumerator(w, f, a), 4096)
                            all[1] = f.3
                            all[2] = planeScale * f.0
                            all[3] = planeScale * f.0 + f.3 - f.4
                            all[4] = planeScale * (2 * f.0 - f.1)
                            if quadratic {  // the quadratic values at t and t − 1 (the plane's where there is no support)
                                var t0 = f.3, t1 = f.4
                                let qlo = nb.quadraticOffsets[i], qhi = nb.quadraticOffsets[i + 1]
                                if qhi > qlo {
                                    var s0: Int64 = 0, s1: Int64 = 0
                                    for n in qlo..<qhi {
                                        let j = Int(nb.quadraticIndices[n]), v = Int64(nb.quadraticWeights[n])
                                        s0 += v * Int64(current[j])
                                        if depth > 0 { s1 += v * Int64(past[0][j]) }
                                    }
                                    t0 = dividedRounded(s0, 4096); t1 = dividedRounded(s1, 4096)
                                }
                                all[5] = t0
                                all[6] = planeScale * f.0 + t0 - t1
                            }
                            for r in 0..<K { s[r] = clamped(all[use[r]]) }
                            let lo = nb.offsets[i], hi = nb.offsets[i + 1], k = Int64(max(hi - lo, 1))
                            for p in 0..<K { mean[p] = 0 }
                            for n in lo..<hi {  // Σ ≤ 32 · 2^24
                                let base = Int(nb.indices[n]) * K
                                for p in 0..<K { mean[p] += Int64(errors[base + p]) }
                            }
                            for p in 0..<K { mean[p] = quotient(mean[p], k) + blendEpsilon }
                            let qi = Int64(current[i])
                            for n in 0..<setCount {
                                let size = n == 0 ? K : secondSize
                                var least = Int64.max
                                for p in 0..<size { least = min(least, mean[p]) }
                                var num: Int64 = 0, den: Int64 = 0
                                for p in 0..<size {
                                    let r = mean[p] == least ? blendUnit : quotient(blendUnit * least, mean[p])  // < 2^35
                                    num += r * r * s[p]
                                    den += r * r
                                }
                                out[n][i] = qi - dividedRounded(num, den * planeScale)
                            }
                            for p in 0..<K { errors[i * K + p] = UInt32(min((planeScale * qi - s[p]).magnitude, UInt64(blendErrorLimit))) }
                        }
                    }
                }
            }
        }
        return setCount == 1 ? [d] : [d, second]
    }

    /// `q` with its escapes' indices 0 (as the reader reconstructs them) and the history, as buffers.
    private static func withBuffers(_ q: [Int32], _ history: ArraySlice<[Int32]>,
                                    _ body: (UnsafeBufferPointer<Int32>, [UnsafeBufferPointer<Int32>]) -> Void) {
        q.withUnsafeBufferPointer { current in
            func nest(_ rest: ArraySlice<[Int32]>, _ done: [UnsafeBufferPointer<Int32>]) {
                guard let first = rest.first else { return body(current, done) }
                first.withUnsafeBufferPointer { nest(rest.dropFirst(), done + [$0]) }
            }
            nest(history, [])
        }
    }

    /// Gaussian elimination with partial pivoting on a small K × K system; nil if singular.
    private static func solveSymmetric(_ A: [Double], _ b: [Double], _ K: Int) -> [Double]? {
        var m = A, r = b
        for col in 0..<K {
            let pivot = (col..<K).max { abs(m[$0 * K + col]) < abs(m[$1 * K + col]) }!
            guard abs(m[pivot * K + col]) > 1e-300 else { return nil }
            if pivot != col {
                for c in 0..<K { m.swapAt(pivot * K + c, col * K + c) }
                r.swapAt(pivot, col)
            }
            for row in (col + 1)..<K {
                let f = m[row * K + col] / m[col * K + col]
                for c in col..<K { m[row * K + c] -= f * m[col * K + c] }
                r[row] -= f * r[col]
            }
        }
        var x = [Double](repeating: 0, count: K)
        for row in stride(from: K - 1, through: 0, by: -1) {
            var v = r[row]
            for c in (row + 1)..<K { v -= m[row * K + c] * x[c] }
            x[row] = v / m[row * K + row]
        }
        return x.allSatisfy(\.isFinite) ? x : nil
    }
}
