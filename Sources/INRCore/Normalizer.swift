/// Maps coordinates, time and each component to [-1, 1] and back, exactly as the `.mci` META
/// "Normalisation" paragraph says: double precision, then float; a zero extent maps to 0.
/// Plain arrays only (no dependency on the mesh module).
public struct Normalizer: Equatable, Sendable, Codable {
    public var bboxMin: [Double]
    public var bboxMax: [Double]
    public var timeMin: Double
    public var timeMax: Double
    /// Global range of each scalar component over all time steps.
    public var componentMin: [Double]
    public var componentMax: [Double]

    public init(bboxMin: [Double], bboxMax: [Double], timeMin: Double, timeMax: Double,
                componentMin: [Double], componentMax: [Double]) throws {
        guard bboxMin.count == 3, bboxMax.count == 3 else {
            throw INRError.invalidData("bounding box needs 3 values per corner")
        }
        guard componentMin.count == componentMax.count, !componentMin.isEmpty else {
            throw INRError.invalidData("component ranges: \(componentMin.count) minima, \(componentMax.count) maxima")
        }
        let all = bboxMin + bboxMax + [timeMin, timeMax] + componentMin + componentMax
        guard all.allSatisfy({ $0.isFinite }) else { throw INRError.invalidData("non-finite normalisation bounds") }
        self.bboxMin = bboxMin; self.bboxMax = bboxMax; self.timeMin = timeMin; self.timeMax = timeMax
        self.componentMin = componentMin; self.componentMax = componentMax
    }

    /// Bounds from data: `points` N × 3 (any float type), `times` T, `fields` T arrays of N × C.
    public init<P: BinaryFloatingPoint>(points: [P], times: [Double], fields: [[Float]], components: Int) throws {
        guard points.count % 3 == 0, !points.isEmpty else {
            throw INRError.invalidData("points hold \(points.count) values, not a positive multiple of 3")
        }
        guard !times.isEmpty, fields.count == times.count else {
            throw INRError.invalidData("\(times.count) times but \(fields.count) field steps")
        }
        let n = points.count / 3
        var lo = [Double](repeating: .infinity, count: 3), hi = [Double](repeating: -.infinity, count: 3)
        for i in 0..<n {
            for d in 0..<3 {
                let v = Double(points[i * 3 + d])
                lo[d] = Swift.min(lo[d], v); hi[d] = Swift.max(hi[d], v)
            }
        }
        var cmin = [Double](repeating: .infinity, count: components)
        var cmax = [Double](repeating: -.infinity, count: components)
        for (s, step) in fields.enumerated() {
            guard step.count == n * components else {
                throw INRError.invalidData("time step \(s): \(step.count) values, expected \(n) × \(components)")
            }
            for i in 0..<n {
                for c in 0..<components {
                    let v = Double(step[i * components + c])
                    guard v.isFinite else {
                        throw INRError.invalidData("time step \(s), point \(i), component \(c): non-finite value")
                    }
                    cmin[c] = Swift.min(cmin[c], v); cmax[c] = Swift.max(cmax[c], v)
                }
            }
        }
        try self.init(bboxMin: lo, bboxMax: hi, timeMin: times.min()!, timeMax: times.max()!,
                      componentMin: cmin, componentMax: cmax)
    }

    public var components: Int { componentMin.count }

    @inline(__always)
    private static func toUnit(_ v: Double, _ lo: Double, _ hi: Double) -> Float {
        let extent = hi - lo
        return extent == 0 ? 0 : Float(2 * (v - lo) / extent - 1)
    }

    /// Normalised time q_t.
    public func normalizedTime(_ t: Double) -> Float { Normalizer.toUnit(t, timeMin, timeMax) }

    /// Normalised coordinate of axis `axis` (0, 1, 2).
    public func normalizedCoordinate(_ v: Double, axis: Int) -> Float {
        Normalizer.toUnit(v, bboxMin[axis], bboxMax[axis])
    }

    /// Network inputs n × 4 (q_x, q_y, q_z, q_t) for `points` n × 3 at time `time`.
    public func inputs<P: BinaryFloatingPoint>(points: [P], time: Double) -> [Float] {
        let n = points.count / 3
        var out = [Float](repeating: 0, count: n * 4)
        let qt = normalizedTime(time)
        for i in 0..<n {
            for d in 0..<3 { out[i * 4 + d] = normalizedCoordinate(Double(points[i * 3 + d]), axis: d) }
            out[i * 4 + 3] = qt
        }
        return out
    }

    /// Normalised values of component `c`.
    public func normalize(_ value: Float, component c: Int) -> Float {
        Normalizer.toUnit(Double(value), componentMin[c], componentMax[c])
    }

    /// De-normalised value of component `c`: (n + 1)/2 · (max − min) + min (min when max = min).
    public func denormalize(_ value: Float, component c: Int) -> Float {
        let lo = componentMin[c], hi = componentMax[c]
        return hi == lo ? Float(lo) : Float((Double(value) + 1) / 2 * (hi - lo) + lo)
    }

    /// Normalises an n × C array (component-interleaved rows).
    public func normalize(values: [Float]) -> [Float] {
        let C = components
        var out = values
        for i in 0..<out.count { out[i] = normalize(values[i], component: i % C) }
        return out
    }

    /// De-normalises an n × C array.
    public func denormalize(values: [Float]) -> [Float] {
        let C = components
        var out = values
        for i in 0..<out.count { out[i] = denormalize(values[i], component: i % C) }
        return out
    }

    /// Global range (max − min) of each component, as the metrics use it.
    public var componentRanges: [Double] { zip(componentMax, componentMin).map { $0 - $1 } }
}
