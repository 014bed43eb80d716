import INRCore
/// k-means on normalised coordinates: k-means++ seeding (ours; the paper does not name a
/// seeding), then Lloyd iterations with a cap. Deterministic for a given seed.
public enum KMeans {
    public struct Result: Sendable {
        /// Centroids, at most `k`: fewer when there are fewer distinct points than `k`.
        public var centroids: [SIMD3<Double>]
        /// Lloyd iterations run (the last one changed no assignment unless the cap was hit).
        public var iterations: Int
        public var converged: Bool
    }

    /// Squared Euclidean distance, written out term by term so that the order of operations is
    /// the one the C decoder uses for routing (docs/mci-format.md TREE).
    @inline(__always)
    public static func squaredDistance(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double {
        let dx = a.x - b.x, dy = a.y - b.y, dz = a.z - b.z
        return dx * dx + dy * dy + dz * dz
    }

    /// Index of the nearest centroid; ties go to the lowest index.
    @inline(__always)
    public static func nearest(_ point: SIMD3<Double>, among centroids: [SIMD3<Double>]) -> Int {
        var best = 0
        var bestDistance = Double.infinity
        for (index, centroid) in centroids.enumerated() {
            let distance = squaredDistance(point, centroid)
            if distance < bestDistance { bestDistance = distance; best = index }
        }
        return best
    }

    /// Clusters `points` into at most `k` groups.
    /// - Parameters:
    ///   - maxIterations: cap on Lloyd iterations.
    ///   - maxSamples: k-means runs on a deterministic random subsample of this many points
    ///     when there are more (the partition is then computed by routing all points).
    public static func fit(points: [SIMD3<Double>], k: Int, seed: UInt64,
                           maxIterations: Int = 50, maxSamples: Int = 200_000) -> Result {
        precondition(k >= 1, "k-means needs k >= 1")
        guard !points.isEmpty else { return Result(centroids: [], iterations: 0, converged: true) }
        var generator = SplitMix64(seed: seed)
        var sample = points
        if points.count > maxSamples {
            var indices = Array(0 ..< points.count)
            // Partial Fisher–Yates: the first maxSamples entries are a uniform subsample.
            for i in 0 ..< maxSamples {
                let j = i + generator.nextIndex(below: points.count - i)
                indices.swapAt(i, j)
            }
            sample = indices[0 ..< maxSamples].sorted().map { points[$0] }
        }
        var centroids = seedPlusPlus(sample, k: k, generator: &generator)
        var assignment = [Int](repeating: -1, count: sample.count)
        var iterations = 0
        var converged = false
        while iterations < maxIterations {
            iterations += 1
            var changed = false
            for (i, point) in sample.enumerated() {
                let nearestIndex = nearest(point, among: centroids)
                if nearestIndex != assignment[i] { assignment[i] = nearestIndex; changed = true }
            }
            if !changed { converged = true; break }
            var sums = [SIMD3<Double>](repeating: .zero, count: centroids.count)
            var counts = [Int](repeating: 0, count: centroids.count)
            for (i, point) in sample.enumerated() {
                sums[assignment[i]] += point
                counts[assignment[i]] += 1
            }
            // An emptied cluster keeps its centroid; it is dropped later if no point routes to it.
            for c in centroids.indices where counts[c] > 0 {
                centroids[c] = sums[c] / Double(counts[c])
            }
        }
        return Result(centroids: centroids, iterations: iterations, converged: converged)
    }

    /// k-means++: the first centre uniformly, each next one with probability ∝ D² (squared
    /// distance to the nearest chosen centre). Stops early when every point coincides with a
    /// centre (duplicate points, fewer distinct points than k).
    static func seedPlusPlus(_ points: [SIMD3<Double>], k: Int,
                             generator: inout SplitMix64) -> [SIMD3<Double>] {
        var centroids = [points[generator.nextIndex(below: points.count)]]
        var distances = points.map { squaredDistance($0, centroids[0]) }
        while centroids.count < k {
            let total = distances.reduce(0, +)
            guard total > 0 else { break }
            let target = generator.nextUnitDouble() * total
            var accumulated = 0.0
            var chosen = -1
            for (i, d) in distances.enumerated() where d > 0 {
                accumulated += d
                chosen = i
                if accumulated > target { break }
            }
            let centre = points[chosen]
            centroids.append(centre)
            for i in points.indices {
                let d = squaredDistance(points[i], centre)
                if d < distances[i] { distances[i] = d }
            }
        }
        return centroids
    }
}
