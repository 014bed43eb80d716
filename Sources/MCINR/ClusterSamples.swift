import Foundation
import INRCore

/// Local input map of a cluster (ours): its bounding box in normalised coordinates goes to
/// [-1, 1]³; time keeps its global normalisation. `x_i = (q_i − offset_i) · scale_i`.
public struct InputMap: Sendable, Equatable, Codable {
    public var offset: [Float]
    public var scale: [Float]

    public static let identity = InputMap(offset: [0, 0, 0, 0], scale: [1, 1, 1, 1])

    public init(offset: [Float], scale: [Float]) { self.offset = offset; self.scale = scale }

    /// The bounding box of `points` (normalised q) mapped to [-1, 1]; a flat extent keeps scale 1.
    public static func boundingBox(of points: [SIMD3<Double>]) -> InputMap {
        guard let first = points.first else { return .identity }
        var lo = first, hi = first
        for p in points { lo = pointwiseMin(lo, p); hi = pointwiseMax(hi, p) }
        var offset: [Float] = [0, 0, 0, 0], scale: [Float] = [1, 1, 1, 1]
        for i in 0 ..< 3 {
            offset[i] = Float((lo[i] + hi[i]) / 2)
            let extent = hi[i] - lo[i]
            scale[i] = extent > 0 ? Float(2 / extent) : 1
        }
        return InputMap(offset: offset, scale: scale)
    }

    /// The map as the decoder applies it: q converted to float, then `(q − offset) · scale`.
    @inline(__always)
    public func apply(_ q: SIMD4<Float>) -> SIMD4<Float> {
        SIMD4((q.x - offset[0]) * scale[0], (q.y - offset[1]) * scale[1],
              (q.z - offset[2]) * scale[2], (q.w - offset[3]) * scale[3])
    }
}

/// One cluster's (point, time) samples: inputs are normalised (x, y, z, t) as the decoder
/// computes them (the network applies the cluster's input map), targets normalised
/// components. Sample s is time step s / n, cluster point s % n.
final class ClusterSamples: SampleSource, @unchecked Sendable {
    let pointIndices: [Int]
    /// The input map the cluster's network uses (carried for the record).
    let map: InputMap
    let data: NormalizedData
    /// Float x, y, z of each cluster point (3 n).
    let xyz: [Float]
    /// Where the values come from: `data.values` (rows: mesh indices, or this rank's rows under
    /// distributed training), or a buffer of this cluster's own (a cluster moved to this rank).
    let values: [Float]
    /// Rows per step in `values`.
    let valuePointCount: Int
    /// Row of each cluster point in `values` (−1 on a rank that does not hold the cluster).
    let valueRows: [Int]

    var pointCount: Int { pointIndices.count }
    var sampleCount: Int { pointIndices.count * data.timeCount }
    var componentCount: Int { data.componentCount }

    convenience init(pointIndices: [Int], map: InputMap, data: NormalizedData) {
        self.init(pointIndices: pointIndices, map: map, data: data, values: data.values, valuePointCount: data.valuePointCount,
                  valueRows: data.localRow.map { rows in pointIndices.map { Int(rows[$0]) } } ?? pointIndices)
    }

    /// A child after a split: `pointIndices` a subsequence of the parent's, values where the
    /// parent's are.
    convenience init(child pointIndices: [Int], of parent: ClusterSamples, map: InputMap) {
        var rows: [Int] = []
        rows.reserveCapacity(pointIndices.count)
        var j = 0
        for p in pointIndices {
            while parent.pointIndices[j] != p { j += 1 }
            rows.append(parent.valueRows[j])
        }
        self.init(pointIndices: pointIndices, map: map, data: parent.data, values: parent.values,
                  valuePointCount: parent.valuePointCount, valueRows: rows)
    }

    /// A cluster whose values arrived in a buffer of its own: `values[(t · n + i) · C + c]`.
    convenience init(pointIndices: [Int], map: InputMap, data: NormalizedData, ownValues: [Float]) {
        self.init(pointIndices: pointIndices, map: map, data: data, values: ownValues,
                  valuePointCount: pointIndices.count, valueRows: Array(pointIndices.indices))
    }

    private init(pointIndices: [Int], map: InputMap, data: NormalizedData, values: [Float], valuePointCount: Int,
                 valueRows: [Int]) {
        self.pointIndices = pointIndices; self.map = map; self.data = data
        var xyz = [Float](repeating: 0, count: 3 * pointIndices.count)
        for (i, p) in pointIndices.enumerated() {
            let q = data.q[p]
            xyz[3 * i] = Float(q.x); xyz[3 * i + 1] = Float(q.y); xyz[3 * i + 2] = Float(q.z)
        }
        self.xyz = xyz
        self.values = values; self.valuePointCount = valuePointCount; self.valueRows = valueRows
    }

    /// This cluster's values in its own layout, `[(t · n + i) · C + c]` (to move it to another rank).
    func ownValues() -> [Float] {
        let n = pointCount, c = componentCount, steps = data.timeCount
        var out = [Float](repeating: 0, count: steps * n * c)
        values.withUnsafeBufferPointer { source in
            for t in 0 ..< steps {
                for i in 0 ..< n {
                    let from = (t * valuePointCount + valueRows[i]) * c, to = (t * n + i) * c
                    for k in 0 ..< c { out[to + k] = source[from + k] }
                }
            }
        }
        return out
    }

    /// Writes inputs (4 per row) and targets (C per row) of the given samples.
    func gather(_ samples: UnsafeBufferPointer<Int32>, inputs: UnsafeMutablePointer<Float>,
                targets: UnsafeMutablePointer<Float>) {
        let n = pointIndices.count, c = data.componentCount, pointTotal = valuePointCount
        let t = data.t, valueRows = self.valueRows
        self.xyz.withUnsafeBufferPointer { xyz in
            self.values.withUnsafeBufferPointer { values in
                for (row, sample) in samples.enumerated() {
                    let s = Int(sample), step = s / n, i = s % n
                    inputs[4 * row] = xyz[3 * i]; inputs[4 * row + 1] = xyz[3 * i + 1]
                    inputs[4 * row + 2] = xyz[3 * i + 2]; inputs[4 * row + 3] = t[step]
                    let base = (step * pointTotal + valueRows[i]) * c
                    for k in 0 ..< c { targets[c * row + k] = data.normalized(values[base + k], component: k) }
                }
            }
        }
    }
}
