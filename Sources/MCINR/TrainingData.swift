import INRCore
import MCIFormat
/// The field to encode, in original units: built by the caller from a MeshIO dataset (after
/// variable selection) or, in tests, from arrays.
public struct TrainingData: Sendable {
    public struct Variable: Sendable, Equatable, Codable {
        public var name: String
        public var components: Int
        public init(name: String, components: Int) { self.name = name; self.components = components }
    }

    public var variables: [Variable]
    /// Mesh points, xyz interleaved (3 N).
    public var points: [Double]
    /// Time values of the steps, strictly increasing (T).
    public var times: [Double]
    /// Values, time-major then point-major: `values[(t · N + p) · C + c]` (T · N · C).
    public var values: [Float]
    /// Cells of the mesh (informational, for the file's META).
    public var cellCount: Int

    public init(variables: [Variable], points: [Double], times: [Double], values: [Float],
                cellCount: Int = 0) {
        self.variables = variables; self.points = points; self.times = times
        self.values = values; self.cellCount = cellCount
    }

    public var pointCount: Int { points.count / 3 }
    public var componentCount: Int { variables.reduce(0) { $0 + $1.components } }
    public var timeCount: Int { times.count }

    /// Component names as in docs/mci-format.md META.
    public var componentNames: [String] {
        MCIModel.componentNames(of: variables.map { MCIVariable(name: $0.name, components: $0.components) })
    }

    /// Checks shapes and values; throws naming what is wrong.
    public func validate() throws {
        guard !variables.isEmpty else { throw MCINRError.invalidInput("no variables selected") }
        for variable in variables where variable.components < 1 || variable.components > 16 {
            throw MCINRError.invalidInput("variable '\(variable.name)' has \(variable.components) components (1…16 allowed)")
        }
        guard points.count % 3 == 0, !points.isEmpty else {
            throw MCINRError.invalidInput("points array has \(points.count) values, not a positive multiple of 3")
        }
        guard !times.isEmpty else { throw MCINRError.invalidInput("no time steps") }
        for i in 1 ..< times.count where !(times[i] > times[i - 1]) {
            throw MCINRError.invalidInput("time values are not strictly increasing at step \(i)")
        }
        let expected = timeCount * pointCount * componentCount
        guard values.count == expected else {
            throw MCINRError.invalidInput("values has \(values.count) entries, expected T·N·C = \(timeCount)·\(pointCount)·\(componentCount) = \(expected)")
        }
        if let bad = points.firstIndex(where: { !$0.isFinite }) {
            throw MCINRError.invalidInput("point \(bad / 3) has a non-finite coordinate")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let c = bad % componentCount, p = (bad / componentCount) % pointCount
            let t = bad / (componentCount * pointCount)
            throw MCINRError.invalidInput("component '\(componentNames[c])' is not finite at point \(p), time step \(t)")
        }
    }
}

/// The pipeline normalises with INRCore's `Normalizer` (docs/mci-format.md META).
public typealias Normalization = Normalizer

extension Normalizer {
    /// Bounds of a training set: coordinates, time interval, each component's global range.
    /// One pass over the values in place (no per-step copies: the values are most of the memory).
    init(data: TrainingData) throws {
        let n = data.pointCount, c = data.componentCount
        guard c > 0, data.values.count == data.timeCount * n * c else {
            throw INRError.invalidData("\(data.values.count) values for \(data.timeCount) steps × \(n) points × \(c) components")
        }
        var lo = [Double](repeating: .infinity, count: 3), hi = [Double](repeating: -.infinity, count: 3)
        for i in 0 ..< n {
            for d in 0 ..< 3 { lo[d] = Swift.min(lo[d], data.points[i * 3 + d]); hi[d] = Swift.max(hi[d], data.points[i * 3 + d]) }
        }
        var cmin = [Double](repeating: .infinity, count: c), cmax = [Double](repeating: -.infinity, count: c)
        try data.values.withUnsafeBufferPointer { values in
            for row in 0 ..< data.timeCount * n {
                for k in 0 ..< c {
                    let v = Double(values[row * c + k])
                    guard v.isFinite else {
                        throw INRError.invalidData("time step \(row / n), point \(row % n), component \(k): non-finite value")
                    }
                    cmin[k] = Swift.min(cmin[k], v); cmax[k] = Swift.max(cmax[k], v)
                }
            }
        }
        guard let t0 = data.times.min(), let t1 = data.times.max() else { throw INRError.invalidData("no time steps") }
        try self.init(bboxMin: lo, bboxMax: hi, timeMin: t0, timeMax: t1, componentMin: cmin, componentMax: cmax)
    }

    /// Normalised coordinates in double precision, for routing (the decoder's arithmetic).
    @inline(__always)
    func normalizedPoint(_ p: SIMD3<Double>) -> SIMD3<Double> {
        func unit(_ v: Double, _ axis: Int) -> Double {
            let lo = bboxMin[axis], extent = bboxMax[axis] - lo
            return extent == 0 ? 0 : 2 * (v - lo) / extent - 1
        }
        return SIMD3(unit(p.x, 0), unit(p.y, 1), unit(p.z, 2))
    }
}

/// The data in normalised units, shared read-only by all cluster workers. The values are not
/// copied: they stay in original units (the caller's array, shared) and are normalised as
/// they are gathered, with `Normalizer.normalize`'s arithmetic, so one copy of the fields is
/// all training holds.
final class NormalizedData: @unchecked Sendable {
    let pointCount: Int
    let timeCount: Int
    let componentCount: Int
    /// Normalised coordinates q of every point (double, used for routing).
    let q: [SIMD3<Double>]
    /// Normalised times.
    let t: [Float]
    /// Values in original units, same layout as TrainingData.values; under distributed
    /// training only this rank's points (`localRow`), `valuePointCount` of them per step.
    let values: [Float]
    let valuePointCount: Int
    /// Row in `values` of each mesh point (−1: held by another rank); nil: row = point.
    let localRow: [Int32]?
    private let normalization: Normalization

    init(data: TrainingData, normalization: Normalization) {
        pointCount = data.pointCount; timeCount = data.timeCount; componentCount = data.componentCount
        q = (0 ..< data.pointCount).map { p in
            normalization.normalizedPoint(SIMD3(data.points[3 * p], data.points[3 * p + 1], data.points[3 * p + 2]))
        }
        t = data.times.map { Float(normalization.normalizedTime($0)) }
        values = data.values
        valuePointCount = data.pointCount; localRow = nil
        self.normalization = normalization
    }

    /// This rank's values of distributed training (`DistributedFields`) under the same
    /// coordinates and normalisation.
    init(q: [SIMD3<Double>], t: [Float], componentCount: Int, fields: DistributedFields,
         normalization: Normalization) {
        pointCount = q.count; timeCount = t.count; self.componentCount = componentCount
        self.q = q; self.t = t
        values = fields.values; valuePointCount = fields.localPointCount; localRow = fields.localRow
        self.normalization = normalization
    }

    /// Normalised value of component `c`.
    @inline(__always)
    func normalized(_ value: Float, component c: Int) -> Float { normalization.normalize(value, component: c) }
}
