import Foundation

/// Reader for VTK's partitioned unstructured grids (`.pvtu`): a small XML file listing one
/// `.vtu` piece per writer rank (`<Piece Source="…"/>`, relative to the `.pvtu`'s folder),
/// each piece with its own points and cells. What parallel simulations write.
///
/// The pieces are merged into one mesh by concatenation, in the order the `.pvtu` lists them:
/// points of piece k follow those of piece k − 1, cells likewise, with piece k's point indices
/// shifted by the points before it; point and cell arrays are concatenated the same way.
/// Nothing is de-duplicated: a point on the boundary of two pieces appears once per piece
/// (and so does a ghost cell when GhostLevel > 0), as VTK's own reader returns them.
/// Every piece must hold the same point and cell arrays (names and components).
enum PVTUReader {
    /// The pieces of a `.pvtu`, resolved against its folder; each must exist.
    static func pieces(_ url: URL) throws -> [URL] {
        let file = url.path
        let root = try LightXML.parseVTKFile(url, type: "PUnstructuredGrid")
        guard let grid = root.child("PUnstructuredGrid") else {
            throw MeshIOError.missingSection(file: file, section: "PUnstructuredGrid")
        }
        let folder = url.deletingLastPathComponent()
        let pieces = try grid.children("Piece").enumerated().map { i, piece -> URL in
            guard let source = piece.attributes["Source"], !source.isEmpty else {
                throw MeshIOError.malformedXML(file: file, detail: "<Piece> \(i) has no Source attribute")
            }
            let target = source.hasPrefix("/") ? URL(fileURLWithPath: source) : folder.appendingPathComponent(source)
            guard FileManager.default.fileExists(atPath: target.path) else {
                throw MeshIOError.missingReferencedFile(pvd: file, referenced: source)
            }
            return target
        }
        guard !pieces.isEmpty else { throw MeshIOError.missingSection(file: file, section: "Piece") }
        return pieces
    }

    /// One step read from its pieces, merged (see the type's documentation). The checksum is
    /// the pieces' checksums mixed in order, so every step of a `.pvtu` series compares equal
    /// exactly when its pieces' points do.
    static func readFile(_ url: URL, mode: ReadMode) throws -> StepRead {
        let sources = try pieces(url)
        if mode == .fieldData {
            var first = try VTUReader.readFile(sources[0], mode: .fieldData)
            first.pointCount = 0
            return first
        }
        var merged: StepRead?
        var checksum: UInt64 = 0xcbf2_9ce4_8422_2325
        for source in sources {
            // compact cells are made once the pieces' cells are merged
            let piece = try VTUReader.readFile(source, mode: mode == .compactCells ? .full : mode)
            checksum = (checksum ^ piece.pointChecksum) &* 0x100_0000_01b3
            guard var all = merged else { merged = piece; continue }
            func signature(_ arrays: [NamedArray]) -> [String] { arrays.map { "\($0.name)(\($0.components))" } }
            for (kind, mine, theirs) in [("point", all.file.pointArrays, piece.file.pointArrays),
                                         ("cell", all.file.cellArrays, piece.file.cellArrays)]
                where signature(mine) != signature(theirs) {
                throw MeshIOError.inconsistentStep(
                    file: source.path,
                    detail: "\(kind) arrays \(signature(theirs)), the first piece of \(url.lastPathComponent) has \(signature(mine))")
            }
            merged = nil  // the arrays below are extended in place, not copied
            if mode == .points {
                all.file.mesh.points += piece.file.mesh.points
            } else if mode == .full || mode == .compactCells {
                let shift = all.pointCount, connectivityBase = all.file.mesh.connectivity.count
                all.file.mesh.points += piece.file.mesh.points
                all.file.mesh.cellTypes += piece.file.mesh.cellTypes
                all.file.mesh.offsets += piece.file.mesh.offsets.dropFirst().map { $0 + connectivityBase }
                all.file.mesh.connectivity += piece.file.mesh.connectivity.map { $0 + shift }
            }
            for a in all.file.pointArrays.indices { all.file.pointArrays[a].values += piece.file.pointArrays[a].values }
            for a in all.file.cellArrays.indices { all.file.cellArrays[a].values += piece.file.cellArrays[a].values }
            all.pointCount += piece.pointCount
            all.cellCount += piece.cellCount
            merged = all
        }
        var result = merged!
        result.pointChecksum = checksum
        if mode == .compactCells {
            try CompactCells.requireAddressable(pointCount: result.pointCount, file: url.path)
            result.compactCells = CompactCells(result.file.mesh)
            result.file.mesh.cellTypes = []; result.file.mesh.offsets = [0]; result.file.mesh.connectivity = []
        }
        return result
    }
}

/// A step file of a series: a `.vtu`, or a `.pvtu` whose pieces are merged (`PVTUReader`).
enum StepFileReader {
    static func readFile(_ url: URL, mode: ReadMode) throws -> StepRead {
        url.pathExtension.lowercased() == "pvtu" ? try PVTUReader.readFile(url, mode: mode)
            : try VTUReader.readFile(url, mode: mode)
    }
}
