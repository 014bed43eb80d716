import ModelDescription
import Foundation

/// Precision the point coordinates had in the input file; the writer keeps it.
public enum PointPrecision: String, Sendable {
    case float32 = "Float32", float64 = "Float64"
}

/// An unstructured mesh of linear VTK cells (tetrahedra being the main case).
public struct Mesh: Equatable, Sendable {
    public static let tetraType: UInt8 = 10

    /// Point coordinates, x y z interleaved (3·N values).
    public var points: [Double]
    /// VTK cell type per cell (M values).
    public var cellTypes: [UInt8]
    /// VTK-style offsets with a leading 0: cell c uses `connectivity[offsets[c]..<offsets[c+1]]` (M+1 values).
    public var offsets: [Int]
    /// Point indices of all cells, concatenated.
    public var connectivity: [Int]
    public var pointPrecision: PointPrecision

    public var pointCount: Int { points.count / 3 }
    public var cellCount: Int { cellTypes.count }
    /// "N tets", or "N cells (T tets)" for a mixed mesh.
    public var cellDescription: String {
        if isTetrahedral { return "\(cellCount) tets" }
        return "\(cellCount) cells (\(cellTypes.filter { $0 == Mesh.tetraType }.count) tets)"
    }
    public var isTetrahedral: Bool { cellTypes.allSatisfy { $0 == Mesh.tetraType } }

    public init(points: [Double], cellTypes: [UInt8], offsets: [Int], connectivity: [Int],
                pointPrecision: PointPrecision = .float64) {
        self.points = points
        self.cellTypes = cellTypes
        self.offsets = offsets
        self.connectivity = connectivity
        self.pointPrecision = pointPrecision
    }

    /// A purely tetrahedral mesh from 4 point indices per tet (`tets.count` = 4·M).
    public static func tetrahedra(points: [Double], tets: [Int], pointPrecision: PointPrecision = .float64) -> Mesh {
        let m = tets.count / 4
        return Mesh(points: points, cellTypes: [UInt8](repeating: tetraType, count: m),
                    offsets: (0...m).map { $0 * 4 }, connectivity: tets, pointPrecision: pointPrecision)
    }

    /// Checks the invariants; `file` names the source in the error.
    public func validate(file: String = "mesh") throws {
        guard points.count % 3 == 0 else {
            throw MeshIOError.invalidMesh(file: file, detail: "\(points.count) coordinates is not a multiple of 3")
        }
        guard offsets.count == cellTypes.count + 1, offsets.first == 0 else {
            throw MeshIOError.invalidMesh(file: file, detail: "\(offsets.count) offsets (with leading 0) for \(cellTypes.count) cells")
        }
        for c in 0..<cellTypes.count where offsets[c + 1] < offsets[c] {
            throw MeshIOError.invalidMesh(file: file, detail: "offsets decrease at cell \(c)")
        }
        guard offsets.last == connectivity.count else {
            throw MeshIOError.invalidMesh(file: file, detail: "last offset \(offsets.last ?? 0) but \(connectivity.count) connectivity entries")
        }
        let n = pointCount
        if let bad = connectivity.firstIndex(where: { $0 < 0 || $0 >= n }) {
            throw MeshIOError.invalidMesh(file: file, detail: "connectivity[\(bad)] = \(connectivity[bad]) is not a point index (N = \(n))")
        }
        try Mesh.validateCellShapes(types: cellTypes, ids: connectivity, file: file) { offsets[$0] }
    }

    /// The per-cell checks of `validate`, for any storage of the point ids: each cell's type
    /// is supported and has as many points as the type says, and a tetrahedron's four points
    /// differ. Cell c is `ids[start(c) ..< start(c + 1)]`.
    static func validateCellShapes<IDs: RandomAccessCollection>(
        types cellTypes: [UInt8], ids: IDs, file: String, start: (Int) -> Int
    ) throws where IDs.Index == Int, IDs.Element: BinaryInteger {
        for c in 0..<cellTypes.count {
            let type = cellTypes[c], o = start(c), size = start(c + 1) - o
            guard let rule = Mesh.pointCountRule(type) else {
                throw MeshIOError.invalidMesh(file: file, detail: "cell \(c) has VTK cell type \(type), which the .mci reader does not support")
            }
            guard rule.exact.map({ size == $0 }) ?? (size >= rule.minimum) else {
                throw MeshIOError.invalidMesh(file: file, detail: "cell \(c) of VTK cell type \(type) has \(size) points (\(rule.exact.map { "\($0)" } ?? "at least \(rule.minimum)") expected)")
            }
            if type == Mesh.tetraType {
                let a = ids[o], b = ids[o + 1], d = ids[o + 2], e = ids[o + 3]
                guard a != b && a != d && a != e && b != d && b != e && d != e else {
                    throw MeshIOError.invalidMesh(file: file, detail: "tetrahedron \(c) repeats a point (\(a) \(b) \(d) \(e)): degenerate")
                }
            }
        }
    }

    /// How many points a cell of a VTK type has: `exact`, or at least `minimum` for the
    /// variable-size types; nil for types the .mci readers do not support. The decoder's table
    /// (`mcinr_cell_point_count`, which the ParaView reader and the Python package use) is the
    /// reference; this module does not link the decoder, and a test keeps the two equal. What
    /// train accepts and export writes is therefore what the reader shows without crashing
    /// ParaView's filters.
    public static func pointCountRule(_ type: UInt8) -> (exact: Int?, minimum: Int)? {
        switch type {
        case 1: return (1, 1)           // vertex
        case 2: return (nil, 1)         // poly-vertex
        case 3: return (2, 2)           // line
        case 4: return (nil, 2)         // poly-line
        case 5: return (3, 3)           // triangle
        case 6, 7: return (nil, 3)      // triangle strip, polygon
        case 8, 9, 10: return (4, 4)    // pixel, quad, tetrahedron
        case 11, 12: return (8, 8)      // voxel, hexahedron
        case 13: return (6, 6)          // wedge
        case 14: return (5, 5)          // pyramid
        case 15: return (10, 10)        // pentagonal prism
        case 16: return (12, 12)        // hexagonal prism
        case 21: return (3, 3)          // quadratic edge
        case 22: return (6, 6)          // quadratic triangle
        case 23: return (8, 8)          // quadratic quad
        case 24: return (10, 10)        // quadratic tetrahedron
        case 25: return (20, 20)        // quadratic hexahedron
        case 26: return (15, 15)        // quadratic wedge
        case 27: return (13, 13)        // quadratic pyramid
        default: return nil
        }
    }

    /// A cheap order-sensitive checksum of the coordinates (FNV-1a over the Float32-rounded
    /// values, so that Float32 and Float64 copies of the same mesh agree).
    public var pointChecksum: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        points.withUnsafeBufferPointer { p in
            for v in p {
                h = (h ^ UInt64(Float(v).bitPattern)) &* 0x100_0000_01b3
            }
        }
        return h
    }

    /// Axis-aligned bounding box (zeros for an empty mesh).
    public var bounds: (min: SIMD3<Double>, max: SIMD3<Double>) {
        guard pointCount > 0 else { return (.zero, .zero) }
        var lo = SIMD3(points[0], points[1], points[2]), hi = lo
        for i in 0..<pointCount {
            let p = SIMD3(points[3 * i], points[3 * i + 1], points[3 * i + 2])
            lo = pointwiseMin(lo, p)
            hi = pointwiseMax(hi, p)
        }
        return (lo, hi)
    }
}

/// A named array over the points (or cells), one value array per time step.
public struct Variable: Equatable, Sendable {
    public var name: String
    /// Number of components per point (1 for a scalar, 3 for a vector).
    public var components: Int
    /// `values[s]` holds count·components floats, interleaved, for time step s.
    public var values: [[Float]]
    /// The DataArray type in the input file (nil when built in memory).
    public var sourceType: VTKScalarType?

    public init(name: String, components: Int, values: [[Float]], sourceType: VTKScalarType? = nil) {
        self.name = name
        self.components = components
        self.values = values
        self.sourceType = sourceType
    }

    /// Names of the scalar components (ModelDescription's rule: `velocity_x`, …).
    public var componentNames: [String] { ModelDescription.componentNames(variable: name, components: components) }
}

/// Array names ParaView can show: non-empty, free of control characters (a `.vtu` it cannot
/// parse), unique within their list (it silently drops one of two arrays with the same name).
func validateArrayNames(_ names: [String], file: String) throws {
    var seen = Set<String>()
    for name in names {
        guard !name.isEmpty else { throw MeshIOError.invalidName(file: file, name: name, reason: "is empty") }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw MeshIOError.invalidName(file: file, name: name, reason: "contains a control character")
        }
        guard seen.insert(name).inserted else {
            throw MeshIOError.invalidName(file: file, name: name, reason: "is used by two arrays")
        }
    }
}

/// A time series of point (and cell) arrays on one unstructured mesh.
public struct Dataset: Equatable, Sendable {
    public var mesh: Mesh
    /// Physical time of each step, ascending.
    public var times: [Double]
    /// Point-data variables: what a trainer learns.
    public var variables: [Variable]
    /// Cell-data arrays: carried through (for writing back), never trained on.
    public var cellVariables: [Variable]

    /// Builds a dataset after checking that every array has the right size for every step.
    public init(mesh: Mesh, times: [Double], variables: [Variable], cellVariables: [Variable] = []) throws {
        self.mesh = mesh
        self.times = times
        self.variables = variables
        self.cellVariables = cellVariables
        try validate()
    }

    public var stepCount: Int { times.count }
    public var pointCount: Int { mesh.pointCount }
    public var cellCount: Int { mesh.cellCount }

    /// The mesh, leaving an empty one in its place: a caller that hands the mesh on keeps no
    /// copy of its arrays (hundreds of MB at 10⁷ points).
    public mutating func takeMesh() -> Mesh {
        defer { mesh = Mesh(points: [], cellTypes: [], offsets: [0], connectivity: []) }
        return mesh
    }

    public func validate(file: String = "dataset") throws {
        try mesh.validate(file: file)
        // Refused on input and before writing (see validateArrayNames).
        for list in [variables, cellVariables] { try validateArrayNames(list.map(\.name), file: file) }
        for (list, count) in [(variables, mesh.pointCount), (cellVariables, mesh.cellCount)] {
            for v in list {
                guard v.components >= 1 else {
                    throw MeshIOError.wrongArraySize(file: file, array: v.name, expected: 1, found: v.components)
                }
                guard v.values.count == times.count else {
                    throw MeshIOError.inconsistentStep(file: file, detail: "array '\(v.name)' has \(v.values.count) steps, the dataset \(times.count)")
                }
                for (s, a) in v.values.enumerated() where a.count != count * v.components {
                    throw MeshIOError.wrongArraySize(file: "\(file) step \(s)", array: v.name,
                                                     expected: count * v.components, found: a.count)
                }
            }
        }
    }

    // MARK: scalar components, the trainer's view

    /// One name per scalar component, variables in order (`velocity_x`, …, `pressure`).
    public var componentNames: [String] { variables.flatMap { $0.componentNames } }

    public var componentCount: Int { variables.reduce(0) { $0 + $1.components } }

    /// (variable index, component within the variable) of global component `c`.
    public func componentLocation(_ c: Int) -> (variable: Int, component: Int) {
        precondition(c >= 0 && c < componentCount, "component \(c) out of range 0..<\(componentCount)")
        var rest = c
        for (i, v) in variables.enumerated() {
            if rest < v.components { return (i, rest) }
            rest -= v.components
        }
        fatalError("unreachable")
    }

    /// The N values of scalar component `c` at time step `step`.
    public func componentValues(_ c: Int, step: Int) -> [Float] {
        let (vi, k) = componentLocation(c)
        let v = variables[vi]
        precondition(step >= 0 && step < v.values.count, "step \(step) out of range 0..<\(v.values.count)")
        if v.components == 1 { return v.values[step] }
        let n = mesh.pointCount, stride = v.components
        return v.values[step].withUnsafeBufferPointer { src in
            [Float](unsafeUninitializedCapacity: n) { out, done in
                for i in 0..<n { out[i] = src[i * stride + k] }
                done = n
            }
        }
    }

    /// Minimum and maximum of every component over all points and steps (NaNs ignored;
    /// 0…0 for a component with no finite value).
    public func componentRanges() -> [ClosedRange<Float>] {
        var ranges: [ClosedRange<Float>] = []
        for v in variables {
            var lo = [Float](repeating: .infinity, count: v.components)
            var hi = [Float](repeating: -.infinity, count: v.components)
            for step in v.values {
                step.withUnsafeBufferPointer { p in
                    var i = 0
                    while i < p.count {
                        for k in 0..<v.components where i + k < p.count {
                            let x = p[i + k]
                            if x < lo[k] { lo[k] = x }
                            if x > hi[k] { hi[k] = x }
                        }
                        i += v.components
                    }
                }
            }
            for k in 0..<v.components { ranges.append(lo[k] <= hi[k] ? lo[k]...hi[k] : 0...0) }
        }
        return ranges
    }

    /// A dataset with only the named point variables, in the order given. An unknown name
    /// throws `unknownVariable` listing what is available. Cell variables are kept.
    public func selectingVariables(_ names: [String]) throws -> Dataset {
        var out = self
        var seen = Set<String>()
        out.variables = try names.filter { seen.insert($0).inserted }.map { name in
            guard let v = variables.first(where: { $0.name == name }) else {
                throw MeshIOError.unknownVariable(name: name, available: variables.map(\.name))
            }
            return v
        }
        return out
    }

    /// One line: points, cells, steps, time range, variables with components and ranges.
    public var summary: String { summary(cells: mesh.cellDescription) }

    /// The same with the cells described by `cells` (e.g. of a mesh whose cells were released).
    public func summary(cells: String) -> String {
        let timeText = times.isEmpty ? "no steps"
            : "\(times.count) step\(times.count == 1 ? "" : "s") t=\(fmt(times.first!))…\(fmt(times.last!))"
        let ranges = componentRanges()
        var c = 0
        let vars = variables.map { v -> String in
            let r = ranges[c..<(c + v.components)].map { "\(fmt(Double($0.lowerBound)))…\(fmt(Double($0.upperBound)))" }
            c += v.components
            return v.components == 1 ? "\(v.name) [\(r[0])]" : "\(v.name)(\(v.components)) [\(r.joined(separator: ", "))]"
        }
        var line = "\(mesh.pointCount) points, \(cells), \(timeText); variables: \(vars.isEmpty ? "none" : vars.joined(separator: "; "))"
        if !cellVariables.isEmpty {
            line += "; cell data (not trained): \(cellVariables.map { $0.components == 1 ? $0.name : "\($0.name)(\($0.components))" }.joined(separator: ", "))"
        }
        return line
    }
}

/// Short human formatting: 4 significant digits.
func fmt(_ x: Double) -> String {
    if x == 0 { return "0" }
    return String(format: "%.4g", x)
}

extension Mesh {
    /// The median cell edge in the coordinates training uses (the points' bounding box mapped
    /// to [−1, 1] on each axis), sampled over at most 100 000 cells; nil without cells.
    public var medianNormalisedEdgeLength: Double? {
        let (lo, hi) = bounds
        return ModelDescription.medianNormalisedEdgeLength(points: points, boxMin: [lo.x, lo.y, lo.z], boxMax: [hi.x, hi.y, hi.z],
                                                           cellCount: cellCount,
                                                           cell: { (offsets[$0], offsets[$0 + 1]) },
                                                           pointID: { connectivity[$0] })
    }
}
