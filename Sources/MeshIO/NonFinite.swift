extension Dataset {
    /// Where point data holds NaN or ±Inf: (variable name, step index, count), in order.
    public func nonFiniteValues() -> [(variable: String, step: Int, count: Int)] {
        var found: [(String, Int, Int)] = []
        for v in variables {
            for (s, values) in v.values.enumerated() {
                let bad = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
                if bad > 0 { found.append((v.name, s, bad)) }
            }
        }
        return found
    }

    /// A copy where every NaN/±Inf of a component is replaced by that component's mean over
    /// its finite values (all steps), or 0 if it has none.
    public func replacingNonFinite() -> Dataset {
        var copy = self
        for (i, v) in variables.enumerated() {
            let k = v.components
            var sums = [Double](repeating: 0, count: k), counts = [Int](repeating: 0, count: k)
            for values in v.values {
                for (j, x) in values.enumerated() where x.isFinite { sums[j % k] += Double(x); counts[j % k] += 1 }
            }
            let means = (0..<k).map { counts[$0] > 0 ? Float(sums[$0] / Double(counts[$0])) : 0 }
            copy.variables[i].values = v.values.map { values in
                values.enumerated().map { j, x in x.isFinite ? x : means[j % k] }
            }
        }
        return copy
    }
}
