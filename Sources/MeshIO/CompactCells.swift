import ModelDescription

/// A mesh's cells held compactly: 32-bit point ids, and no offsets when every cell has as many
/// points (a tetrahedral mesh: 17 bytes per tet instead of the 41 of `Mesh`'s Int arrays).
/// What a reader keeps that only walks the cells (the ground truth of `eval` and `export`:
/// the seam metric, the mesh written once for every step), so that a 10⁸ point·step series'
/// truth holds less than its fields.
public struct CompactCells: Sendable, Equatable {
    /// Point ids of all cells, concatenated.
    public private(set) var pointIDs: [UInt32]
    /// VTK offsets with a leading 0 (cell count + 1 values); empty when every cell has
    /// `cellSize` points.
    public private(set) var offsets: [Int]
    /// Points per cell when `offsets` is empty (0 for a mesh without cells).
    public private(set) var cellSize: Int
    /// VTK cell type per cell.
    public private(set) var cellTypes: [UInt8]

    public var cellCount: Int { cellTypes.count }

    /// Where cell c's ids start in `pointIDs` (c = cell count: their end).
    @inline(__always)
    public func start(_ c: Int) -> Int { offsets.isEmpty ? c * cellSize : offsets[c] }

    /// Cells whose end offsets (VTK's offsets without the leading 0: non-decreasing) and ids
    /// were checked by the caller; the offsets are kept only when the cells' sizes differ.
    init<Ends: RandomAccessCollection>(pointIDs: [UInt32], endOffsets: Ends, cellTypes: [UInt8]) where Ends.Element == Int {
        let size = endOffsets.first ?? 0
        var uniform = true, c = 0
        for end in endOffsets {
            c += 1
            if end != c * size { uniform = false; break }
        }
        self.pointIDs = pointIDs
        self.offsets = uniform ? [] : [0] + endOffsets
        self.cellSize = uniform ? size : 0
        self.cellTypes = cellTypes
    }

    /// Refuses a mesh of `pointCount` points (read from `file`) whose ids 32 bits cannot hold.
    static func requireAddressable(pointCount: Int, file: String) throws {
        guard pointCount <= Int(UInt32.max) else {
            throw MeshIOError.invalidMesh(file: file, detail: "\(pointCount) points: more than 32-bit point ids can address")
        }
    }

    /// The cells of a valid mesh (`Mesh.validate`), whose point count fits in 32 bits.
    public init(_ mesh: Mesh) {
        precondition(mesh.pointCount <= Int(UInt32.max), "point ids above 2^32")
        self.init(pointIDs: mesh.connectivity.map { UInt32(truncatingIfNeeded: $0) }, endOffsets: mesh.offsets.dropFirst(),
                  cellTypes: mesh.cellTypes)
    }

    /// Cells read from `file`: `endOffsets` as VTK stores them (non-decreasing, checked by the
    /// caller) and ids already checked to be point indices. Checks the rest of what
    /// `Mesh.validate` checks of cells.
    static func validated(pointIDs: [UInt32], endOffsets: [Int], cellTypes: [UInt8], file: String) throws -> CompactCells {
        guard endOffsets.count == cellTypes.count else {
            throw MeshIOError.invalidMesh(file: file, detail: "\(endOffsets.count) offsets for \(cellTypes.count) cells")
        }
        guard (endOffsets.last ?? 0) == pointIDs.count else {
            throw MeshIOError.invalidMesh(file: file, detail: "last offset \(endOffsets.last ?? 0) but \(pointIDs.count) connectivity entries")
        }
        let cells = CompactCells(pointIDs: pointIDs, endOffsets: endOffsets, cellTypes: cellTypes)
        try Mesh.validateCellShapes(types: cellTypes, ids: cells.pointIDs, file: file) { cells.start($0) }
        return cells
    }

    /// Cells `range` as `VTUWriter.MeshStream.append` takes them: types, end offsets over the
    /// whole connectivity and the ids as Int (VTK's Int64), in `body`'s buffers.
    func withRun<R>(_ range: Range<Int>, _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int>) throws -> R) rethrows -> R {
        let endOffsets = range.map { start($0 + 1) }
        let ids = pointIDs[start(range.lowerBound) ..< start(range.upperBound)].map { Int($0) }
        return try cellTypes[range].withUnsafeBufferPointer { types in
            try endOffsets.withUnsafeBufferPointer { ends in try ids.withUnsafeBufferPointer { try body(types, ends, $0) } }
        }
    }
}

extension SeamMetric {
    /// The seam metric over these cells (sharing their arrays).
    public init(cells: CompactCells, network: [Int32], ranges: [Double]) {
        self.init(cellPoints: cells.pointIDs, offsets: cells.offsets, cellSize: cells.cellSize, cellCount: cells.cellCount,
                  network: network, ranges: ranges)
    }
}
