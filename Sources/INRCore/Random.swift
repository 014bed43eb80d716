/// The project's random numbers (never the system RNG), so that a seed fixes every result.
/// Two generators, each pinned by files already written with it: `SplitMix64` draws the
/// pipeline's streams (k-means++, subsamples, epoch resampling; one stream per purpose and
/// cluster, `SeedDerivation` in MCINR), `SeededRandom` (xoshiro256**, seeded through
/// SplitMix64) initialises network weights.

/// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state, a Weyl step and a mix.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnitDouble() -> Double { unitDouble(next()) }

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

/// The top 53 bits of a random word as a double in [0, 1).
@inline(__always)
func unitDouble(_ word: UInt64) -> Double { Double(word >> 11) * 0x1.0p-53 }

/// xoshiro256** (Blackman, Vigna 2018), its state filled by SplitMix64.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        s0 = seeder.next(); s1 = seeder.next(); s2 = seeder.next(); s3 = seeder.next()
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextUnitDouble() -> Double { unitDouble(next()) }

    /// Uniform in [low, high), computed in double precision then rounded to Float.
    public mutating func uniform(_ low: Double, _ high: Double) -> Float {
        Float(low + (high - low) * nextUnitDouble())
    }

    /// Uniform integer in 0..<bound (Lemire's multiply-shift; bound > 0).
    @inline(__always)
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0)
        let product = next().multipliedFullWidth(by: UInt64(bound))
        return Int(product.high)
    }

    /// A child generator for an independent stream (e.g. one per cluster).
    public mutating func split() -> SeededRandom { SeededRandom(seed: next()) }
}
