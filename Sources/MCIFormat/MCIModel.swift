import Foundation
import ModelDescription


/// One variable of the model: a name and its number of scalar components (velocity: 3).
public struct MCIVariable: Equatable, Sendable {
    public var name: String
    public var components: Int
    public init(name: String, components: Int) { self.name = name; self.components = components }
}

/// One node of the cluster tree (docs/mci-format.md, TREE). Centroids are in normalised
/// coordinates; absent links are −1.
public struct MCITreeNode: Equatable, Sendable {
    public var centroid: [Double]
    public var parent: Int32
    public var child0: Int32
    public var child1: Int32
    /// Leaf network index, −1 for internal nodes.
    public var network: Int32

    public init(centroid: [Double], parent: Int32 = -1, child0: Int32 = -1, child1: Int32 = -1,
                network: Int32 = -1) {
        self.centroid = centroid; self.parent = parent
        self.child0 = child0; self.child1 = child1; self.network = network
    }
    public var isLeaf: Bool { child0 < 0 && child1 < 0 }
}

/// The embedded mesh (MESH section), in VTK layout.
public struct MCIMesh: Equatable, Sendable {
    public enum PointPrecision: UInt8, Sendable { case float32 = 1, float64 = 2 }
    /// xyz interleaved, 3 per point.
    public var points: [Double]
    /// How the points are stored in the file (float32 halves the mesh size).
    public var pointPrecision: PointPrecision
    /// VTK cell type per cell (10 = tetrahedron).
    public var cellTypes: [UInt8]
    /// numCells + 1 offsets, VTK style: `offsets[0] = 0`, cell i uses
    /// `connectivity[offsets[i] ..< offsets[i+1]]`.
    public var cellOffsets: [Int]
    public var connectivity: [Int]

    /// The arrays are shared, not copied (a mesh of 10⁷ tets is hundreds of MB).
    public init(points: [Double], pointPrecision: PointPrecision, cellTypes: [UInt8],
                cellOffsets: [Int], connectivity: [Int]) {
        self.points = points; self.pointPrecision = pointPrecision
        self.cellTypes = cellTypes; self.cellOffsets = cellOffsets; self.connectivity = connectivity
    }

    public init(points: [Double], pointPrecision: PointPrecision, cellTypes: [UInt8],
                cellOffsets: [Int64], connectivity: [Int64]) {
        self.init(points: points, pointPrecision: pointPrecision, cellTypes: cellTypes,
                  cellOffsets: cellOffsets.map { Int($0) }, connectivity: connectivity.map { Int($0) })
    }

    public var pointCount: Int { points.count / 3 }
    public var cellCount: Int { cellTypes.count }
}

/// How the writer stores the embedded mesh (docs/mci-format.md).
public enum MCIMeshCoding: Equatable, Sendable {
    /// MESH (type 5): one zlib stream of the plain arrays (formats 1.0 … 1.2).
    case zlib
    /// MESHC (type 8, format 1.3): chunks of at most `cellsPerChunk` cells (spatially ordered)
    /// that decode independently; connectivity by face traversal, coordinates lossless and
    /// predicted, range-coded (about 2.9 bytes per tet on vessel-small, 11.6 with `.zlib`:
    /// docs/benchmarks/mesh.md). Cells come back chunk by chunk (their order is not kept).
    case chunked(cellsPerChunk: Int)

    /// Chunks of 65536 cells: the default of `MCIModel` and of `mcinr-vtk train`.
    public static let standard = MCIMeshCoding.chunked(cellsPerChunk: 65536)
}

/// Everything a `.mci` file holds (docs/mci-format.md), as plain values. Build one, then
/// write it with `MCIWriter`; read files back through `MCIDecoder` (the C decoder).
public struct MCIModel: Equatable, Sendable {
    public var variables: [MCIVariable]
    /// Global value range of each scalar component (variable by variable).
    public var componentRanges: [ClosedRange<Double>]
    /// Stored time steps, strictly increasing.
    public var times: [Double]
    /// Coordinate normalisation box (xyz).
    public var boundsMin: [Double]
    public var boundsMax: [Double]
    /// Time normalisation interval.
    public var timeInterval: ClosedRange<Double>
    /// Training mesh counts (informational) and raw field bytes N·T·C·4.
    public var numPoints: UInt64
    public var numCells: UInt64
    public var rawFieldBytes: UInt64
    /// Cluster tree; nodes 0 ..< topLevelCount are the top-level clusters.
    public var treeNodes: [MCITreeNode]
    public var topLevelCount: Int
    /// One network per leaf, indexed by `MCITreeNode.network`.
    public var networks: [NetworkDescription]
    /// The JSON section (creator, method, architecture, training, metrics).
    public var metadataJSON: String
    public var mesh: MCIMesh?
    /// The points of the embedded mesh, as arrays or (their arrays released) coded: the
    /// points a residual is stored at.
    public var meshPointCount: Int { mesh?.pointCount ?? Int(numPoints) }
    /// How the writer stores `mesh`: `.standard` by default (MESHC chunks, format 1.3, about 3×
    /// smaller than MESH; the cells come back chunk by chunk, not in the order given:
    /// docs/mci-format.md, "MESHC", cell order); `.zlib` writes MESH (type 5, the cell order
    /// kept), which readers of formats 1.0 … 1.2 open.
    public var meshCoding: MCIMeshCoding = .standard
    /// The mesh as a MESHC payload already coded (`MeshChunkCoding.payload`), embedded instead
    /// of `mesh`: an encoder codes the mesh before training and releases its arrays, so that
    /// training holds the fields, not the mesh.
    public var codedMesh: [UInt8]?
    /// How the writer stores the network tensors (format 1.1 for anything but float32).
    public var weightEncoding: MCIWeightEncoding = .float32
    /// Store NETS zlib-compressed (section flag bit 1, format 1.1) where that is smaller.
    public var compressNets = false
    /// Quantised residuals at the mesh points (error-bounded mode, RESIDUAL section); needs
    /// `mesh` or `codedMesh`. Built by `ErrorBoundedEncoder.make`.
    public var residual: MCIResidual? = nil
    /// Width of the band around each boundary between networks where the decoder blends the
    /// two (SEAM section, format 1.3), in normalised coordinates ([−1, 1] over the bounding
    /// box); nil: no blending (each point decoded by its network alone).
    public var seamMargin: Double? = nil
    /// Write the index of a chunked mesh (MESHX, format 1.5: a box grid over the points and the
    /// boxes each chunk's points lie in), so that a parallel reader's piece decodes only the
    /// chunks near it. The decoder then evaluates the values at the mesh points box by box (the
    /// same values up to the last bits). Never with a residual (its chains need every point).
    public var meshIndex = true

    public init(variables: [MCIVariable], componentRanges: [ClosedRange<Double>], times: [Double],
                boundsMin: [Double], boundsMax: [Double], timeInterval: ClosedRange<Double>,
                numPoints: UInt64, numCells: UInt64, rawFieldBytes: UInt64,
                treeNodes: [MCITreeNode], topLevelCount: Int, networks: [NetworkDescription],
                metadataJSON: String, mesh: MCIMesh? = nil) {
        self.variables = variables; self.componentRanges = componentRanges; self.times = times
        self.boundsMin = boundsMin; self.boundsMax = boundsMax; self.timeInterval = timeInterval
        self.numPoints = numPoints; self.numCells = numCells; self.rawFieldBytes = rawFieldBytes
        self.treeNodes = treeNodes; self.topLevelCount = topLevelCount; self.networks = networks
        self.metadataJSON = metadataJSON; self.mesh = mesh
    }

    /// Total scalar components C.
    public var componentCount: Int { variables.reduce(0) { $0 + $1.components } }

    /// Component names: `<name>` for scalars, `<name>_x/_y/_z` for 3-vectors, `<name>_<k>` otherwise
    /// components, `<name>_<k>` otherwise (docs/mci-format.md, META).
    public var componentNames: [String] { Self.componentNames(of: variables) }

    public static func componentNames(of variables: [MCIVariable]) -> [String] {
        variables.flatMap { ModelDescription.componentNames(variable: $0.name, components: $0.components) }
    }

    /// Bytes of all network tensors as stored in `weightEncoding`, before any NETS compression
    /// (the decoder's `weightBytes` also accounts for that).
    public var weightBytes: Int { weightEncoding.storedBytes(of: networks) }
}

extension MCIModel {
    /// The JSON section with `key` set to `value` (keys sorted, as the writer keeps them):
    /// how later phases of an encode record what they did (weight storage, error bound).
    /// Unchanged if the section is not a JSON object or `value` is not serialisable.
    public static func addingEntry(_ key: String, _ value: Any, to json: String) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return json }
        object[key] = value
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return json }
        return String(decoding: data, as: UTF8.self)
    }
}
