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

/// Normalisation of docs/mci-format.md META: coordinates by the bounding box, time by its
/// interval, each component by its global range over all steps, all to [-1, 1].
public struct Normalization: Sendable, Equatable, Codable {
    public var bboxMin: [Double]
    public var bboxMax: [Double]
    public var timeMin: Double
    public var timeMax: Double
    /// Global (min, max) of each component over all time steps.
    public var componentMin: [Double]
    public var componentMax: [Double]

    public init(data: TrainingData) {
        var lo = [Double](repeating: .infinity, count: 3), hi = [Double](repeating: -.infinity, count: 3)
        for p in 0 ..< data.pointCount {
            for i in 0 ..< 3 {
                lo[i] = min(lo[i], data.points[3 * p + i]); hi[i] = max(hi[i], data.points[3 * p + i])
            }
        }
        bboxMin = lo; bboxMax = hi
        timeMin = data.times.first!; timeMax = data.times.last!
        let c = data.componentCount
        var cmin = [Double](repeating: .infinity, count: c), cmax = [Double](repeating: -.infinity, count: c)
        data.values.withUnsafeBufferPointer { values in
            for row in 0 ..< values.count / c {
                for k in 0 ..< c {
                    let v = Double(values[row * c + k])
                    if v < cmin[k] { cmin[k] = v }
                    if v > cmax[k] { cmax[k] = v }
                }
            }
        }
        componentMin = cmin; componentMax = cmax
    }

    /// q = 2 (p − min) / (max − min) − 1, 0 where the extent is 0 (double precision, the
    /// decoder's order of operations).
    @inline(__always)
    public func normalizedPoint(_ p: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3(Self.map(p.x, bboxMin[0], bboxMax[0]), Self.map(p.y, bboxMin[1], bboxMax[1]),
              Self.map(p.z, bboxMin[2], bboxMax[2]))
    }

    @inline(__always)
    public func normalizedTime(_ t: Double) -> Double { Self.map(t, timeMin, timeMax) }

    @inline(__always)
    static func map(_ value: Double, _ lo: Double, _ hi: Double) -> Double {
        hi > lo ? 2.0 * (value - lo) / (hi - lo) - 1.0 : 0.0
    }

    /// Value of component c → [-1, 1] (0 for a constant component: the decoder returns min).
    @inline(__always)
    public func normalizedValue(_ value: Float, component c: Int) -> Float {
        Float(Self.map(Double(value), componentMin[c], componentMax[c]))
    }

    /// Inverse of `normalizedValue` as the decoder computes it.
    @inline(__always)
    public func denormalizedValue(_ n: Float, component c: Int) -> Double {
        let lo = componentMin[c], hi = componentMax[c]
        return hi > lo ? (Double(n) + 1.0) / 2.0 * (hi - lo) + lo : lo
    }

    public var componentRange: [Double] { zip(componentMin, componentMax).map { $1 - $0 } }
}

/// The data in normalised units, shared read-only by all cluster workers.
final class NormalizedData: @unchecked Sendable {
    let pointCount: Int
    let timeCount: Int
    let componentCount: Int
    /// Normalised coordinates q of every point (double, used for routing).
    let q: [SIMD3<Double>]
    /// Normalised times.
    let t: [Float]
    /// Normalised values, same layout as TrainingData.values.
    let values: [Float]

    init(data: TrainingData, normalization: Normalization) {
        pointCount = data.pointCount; timeCount = data.timeCount; componentCount = data.componentCount
        q = (0 ..< data.pointCount).map { p in
            normalization.normalizedPoint(SIMD3(data.points[3 * p], data.points[3 * p + 1], data.points[3 * p + 2]))
        }
        t = data.times.map { Float(normalization.normalizedTime($0)) }
        let c = data.componentCount
        var normalized = [Float](repeating: 0, count: data.values.count)
        data.values.withUnsafeBufferPointer { source in
            normalized.withUnsafeMutableBufferPointer { destination in
                for i in 0 ..< source.count {
                    destination[i] = normalization.normalizedValue(source[i], component: i % c)
                }
            }
        }
        values = normalized
    }
}
