/// The quantiser stage of the residual codec: values to integer indices on a grid of width
/// s ≤ 2 E, in the decoder's own arithmetic, with exact escapes where no index meets the bound.
enum ResidualQuantiser {
    /// One way of quantising every (step, component), step-major: indices, and exact values
    /// where no index meets the bound in the decoder's arithmetic.
    struct Quantised {
        var indices: [[Int32]]
        var escapes: [[Int: Float]]
    }

    /// Share of the bin width kept as slack: s_c = 2 E_c (1 − 1/64), so the nominal error is
    /// 0.984 E_c and a decoder whose network output differs slightly (another BLAS) still
    /// meets the bound.
    static let slack = 1.0 / 64.0

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
