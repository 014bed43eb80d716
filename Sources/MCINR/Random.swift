/// Deterministic random numbers for the pipeline. Every random choice (k-means++ seeding,
/// network initialisation, subsamples, epoch resampling) draws from a generator seeded from the
/// global seed and a stable identifier, so results never depend on thread scheduling.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform integer in 0 ..< bound (bound > 0), unbiased.
    public mutating func nextIndex(below bound: Int) -> Int {
        // Lemire's multiply-shift with rejection, written out so results never change with the
        // standard library's implementation.
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(truncatingIfNeeded: product.high)
    }
}

/// Stable seed derivation: mixes the global seed with a purpose tag and identifiers.
public enum SeedDerivation {
    public static func derive(_ seed: UInt64, _ parts: UInt64...) -> UInt64 {
        var generator = SplitMix64(seed: seed)
        var value = generator.next()
        for part in parts {
            var mixer = SplitMix64(seed: value ^ (part &* 0xD6E8_FEB8_6659_FD93))
            value = mixer.next()
        }
        return value
    }

    /// Seed of the cluster at a tree path (top-level index, then 0/1 per split level), so that a
    /// cluster's seed is the same whichever thread trains it and in whichever order.
    public static func clusterSeed(_ seed: UInt64, path: ClusterPath, purpose: UInt64) -> UInt64 {
        var value = derive(seed, purpose, UInt64(path.top))
        for bit in path.splits {
            value = derive(value, bit ? 2 : 1)
        }
        return value
    }
}

/// In-place Fisher–Yates shuffle with our generator (the standard library's shuffle algorithm is
/// not specified, so its results could change between toolchains).
@inlinable
func deterministicShuffle<T>(_ array: inout [T], using generator: inout SplitMix64) {
    guard array.count > 1 else { return }
    for i in stride(from: array.count - 1, to: 0, by: -1) {
        let j = generator.nextIndex(below: i + 1)
        if i != j { array.swapAt(i, j) }
    }
}
