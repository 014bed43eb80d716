import INRCore

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
