import ModelDescription
import Foundation


/// The predicted RESIDUAL section (type 7, docs/mci-format.md): per component an error bound
/// E_c and a bin width s_c ≤ 2·E_c, and per (step, component) one stream: the quantisation
/// indices' differences from their prediction at the mesh points, zstd- or range-coded. Build
/// one with `ErrorBoundedEncoder.make` (which guarantees the bound); `MCIWriter` stores it.
public struct MCIResidual: Equatable, Sendable {
    /// E_c: decoded values at mesh points and stored steps are within this of the data.
    public var maxErrors: [Double]
    /// s_c: the quantisation bin width (decoded = network + q · s_c).
    public var binWidths: [Double]
    public var pointCount: Int
    public var timeCount: Int
    /// Step-major: stream t · C + c holds step t, component c.
    public var streams: [Stream]

    /// Section NEIGHBOURS (format 1.10): the earlier-neighbour lists shorter than this take the
    /// earlier points one neighbour step further (`MeshNeighbours`); 0 writes no such section.
    public var neighbourLeast = 0
    /// The K `ErrorBoundedEncoder.make` writes: measured on vessel-small, vessel-medium and the
    /// analytic set (docs/benchmarks/residual-predictors.md, "Neighbours one step further").
    public static let defaultNeighbourLeast = 5

    public var componentCount: Int { maxErrors.count }

    /// One (step, component) of the residual.
    public struct Stream: Equatable, Sendable {
        public var predictor: Predictor
        public var coder: Coder
        /// zstd: the decompressed byte count; range coder and empty streams: 0.
        public var rawSize: Int
        /// The coded differences; empty when every difference is 0.
        public var bytes: [UInt8]
        /// The linear predictor's Q12 weights (w₁ w₂ w₃ v₀ v₁ v₂ v₃), stored before `bytes`;
        /// nil for the other predictors.
        public var weights: [Int32]? = nil

        /// Bytes the stream takes in the section: its weights and its codes.
        var storedBytes: Int { (weights == nil ? 0 : 4 * ResidualPrediction.linearWeightCount) + bytes.count }
    }

    /// How a stream's differences are compressed.
    public enum Coder: UInt8, Sendable {
        /// zstd over zigzag varints.
        case zstd = 0
        /// An adaptive binary range coder with neighbourhood contexts (`RangeCoding`).
        case range = 1
        /// The range coder with counted 15-bit probabilities, occupancy and sign contexts
        /// (format 1.11): what the writer uses.
        case rangeSigns = 2
    }

    /// Bytes of the section payload as `MCIWriter` stores it.
    public var payloadBytes: Int { 16 + 16 * componentCount + 24 * streams.count + streams.reduce(0) { $0 + $1.storedBytes } }

    /// Whether any stream uses coder 2 (format 1.11).
    public var usesSignContexts: Bool { streams.contains { $0.coder == .rangeSigns && !$0.bytes.isEmpty } }
    /// Whether any stream uses the linear predictor (format 1.4).
    public var usesLinearPredictor: Bool { streams.contains { $0.predictor.contains(.linear) } }
    /// Whether any stream uses the plane predictor (format 1.6).
    public var usesPlanePredictor: Bool { streams.contains { $0.predictor.contains(.plane) } }
    /// Whether any stream uses the blend predictor (format 1.7).
    public var usesBlendPredictor: Bool { streams.contains { $0.predictor.contains(.blend) } }
    /// Whether any stream uses the quadratic predictor (format 1.8).
    public var usesQuadraticPredictor: Bool { streams.contains { $0.predictor.contains(.quadratic) } }
    /// Whether any stream reads an anchor (format 1.9).
    public var usesAnchor: Bool { streams.contains { $0.predictor.contains(.anchor) } }

    /// The section payload.
    func payload() -> [UInt8] {
        var w = ByteWriter()
        w.u64(UInt64(pointCount)); w.u32(UInt32(timeCount)); w.u32(UInt32(componentCount))
        for c in 0..<componentCount { w.f64(maxErrors[c]); w.f64(binWidths[c]) }
        for s in streams {
            w.bytes += [s.predictor.rawValue, s.coder.rawValue, 0, 0, 0, 0, 0, 0]
            w.u64(UInt64(s.rawSize)); w.u64(UInt64(s.storedBytes))
        }
        for s in streams {
            for weight in s.weights ?? [] { w.i32(weight) }
            w.bytes += s.bytes
        }
        return w.bytes
    }

    /// What an index is predicted from: the same point at the previous stored step (`time`),
    /// the mean over its earlier mesh neighbours at the same step (`mesh`), both, or nothing.
    public struct Predictor: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let time = Predictor(rawValue: 1)
        public static let mesh = Predictor(rawValue: 2)
        /// The indices quantise the data itself (from the component's minimum), not the
        /// network's residual: smaller at tight bounds, where the network's error has
        /// fine-scale structure the data lacks.
        public static let data = Predictor(rawValue: 4)
        /// A least-squares combination of the point's last three steps and its neighbours'
        /// sums at this step and the last three (format 1.4; with `.time` when it reads earlier
        /// steps, never with `.mesh`): fields that evolve smoothly in time extrapolate.
        public static let linear = Predictor(rawValue: 8)
        /// With `.linear`: the neighbours' values enter as the least-squares plane through
        /// them evaluated at the point, not as their sum (format 1.6; weights from the mesh
        /// geometry, `MeshNeighbours.planeWeights`): exact for a field linear in space, where
        /// the mean of the neighbours on one side of the point is off by the gradient.
        public static let plane = Predictor(rawValue: 16)
        /// With `.plane`: each point's prediction blends the linear plane one, the plane alone
        /// and (with earlier steps) the previous step, its plane change and its trend, weighted
        /// by their errors at the earlier neighbours (format 1.7): each region gets the
        /// predictor that works there.
        public static let blend = Predictor(rawValue: 32)
        /// With `.blend`: the blend also weighs the least-squares quadratic through up to 24
        /// earlier points within two neighbour steps, and the previous step plus its change
        /// (format 1.8; supports and weights from the geometry, `MeshNeighbours.quadratic`):
        /// at tight bounds the plane's error is the field's curvature.
        public static let quadratic = Predictor(rawValue: 64)
        /// With `.linear` and `.time`: the third level the weights read is the next block's
        /// first step (the anchor, a step predicted in space alone that the file holds anyway)
        /// instead of t − 3 (format 1.9): a chain's steps lean towards where it ends.
        public static let anchor = Predictor(rawValue: 128)
        /// Residual candidates in order of preference on a tie (the simpler first).
        static let all: [Predictor] = [[], .mesh, .time, [.time, .mesh], [.linear, .time], [.linear, .time, .plane],
                                       [.linear, .time, .plane, .blend], [.linear, .time, .plane, .blend, .quadratic]]
        /// Every candidate: the residual ones first, then the same on the data.
        static let everything: [Predictor] = all + all.map { $0.union(.data) }
    }

    /// The requested bound: the same absolute E for every component, or R · (max − min) of each
    /// component's range (R · max(|min|, 1) for a constant component, whose error is 0 anyway).
    public enum Bound: Equatable, Sendable, Codable {
        case absolute(Double)
        case relative(Double)

        /// E_c of each component, given its range over all steps.
        public func perComponent(_ ranges: [ClosedRange<Double>]) -> [Double] {
            ranges.map { r in
                switch self {
                case .absolute(let e): return e
                case .relative(let x):
                    let span = r.upperBound - r.lowerBound
                    return span > 0 ? x * span : x * max(abs(r.lowerBound), 1)
                }
            }
        }
    }

    /// What `make` measured, from the final file as the C decoder reads it.
    public struct Report: Sendable {
        public var maxErrors: [Double]
        /// Largest |decoded − data| per component over every mesh point and stored step, with
        /// the residual (≤ maxErrors) and with the network alone.
        public var achievedMaxError: [Double]
        public var networkMaxError: [Double]
        /// Non-zero indices and exact escapes over all N·T·C values.
        public var nonZeroIndices: Int
        public var escapes: Int
        public var residualBytes: Int
        /// How many streams use each predictor: none, mesh, time, time and mesh, linear, linear
        /// with the plane, the blend, the blend with the quadratic.
        public var predictorUse: [Int]
        /// Streams that quantise the data itself rather than the network's residual.
        public var dataStreams: Int
        /// Linear streams whose third level is the next block's first step (`.anchor`).
        public var anchoredStreams: Int
        /// Streams the range coder codes smaller than zstd (the others, if not empty, are zstd).
        public var rangeCodedStreams: Int
        /// `predictorUse` by name, as the JSON section and `train --json` give it.
        public var predictorCounts: [String: Int] {
            Dictionary(uniqueKeysWithValues: zip(["none", "mesh", "time", "time_and_mesh", "linear", "linear_plane", "blend", "blend_quadratic"], predictorUse))
        }
        /// Metrics of the decoded values (with the residual) against the data, and of the network alone.
        public var metrics: MetricsReport
        public var networkMetrics: MetricsReport
        /// Codings of the series (1, or more where a verification found float rounding past the
        /// bound) and the wall seconds of each `ErrorBoundedEncoder.Stage`, by its raw value,
        /// summed over the attempts. Not recorded in the file (its bytes stay reproducible).
        public var attempts = 1
        public var seconds: [String: Double] = [:]
    }
}
