import XCTest
@testable import MeshIO

/// The step-by-step reader and writer (#16) give what the whole-series ones give.
final class StreamingTests: XCTestCase {
    func testSeriesStreamMatchesTheWholeDataset() throws {
        let whole = try DatasetReader.read(Fixtures.url("series.pvd"))
        let stream = try SeriesStream(Fixtures.url("series.pvd"))
        XCTAssertEqual(stream.mesh, whole.mesh)
        XCTAssertEqual(stream.times, whole.times)
        XCTAssertEqual(stream.pointArrays.map(\.name), whole.variables.map(\.name))
        XCTAssertEqual(stream.cellArrays.map(\.name), whole.cellVariables.map(\.name))
        // Any order, any number of times: the first file's cached arrays are handed out once.
        for s in [2, 0, 1, 0] {
            let step = try stream.step(s)
            XCTAssertTrue(step.mesh.points.isEmpty || s == 0, "later steps keep no mesh")
            for v in whole.variables {
                XCTAssertEqual(step.pointArrays.first { $0.name == v.name }?.values, v.values[s], "\(v.name) step \(s)")
            }
        }
        var seen: [Int] = []
        try stream.forEachStep { s, step in
            seen.append(s)
            XCTAssertEqual(step.pointArrays.map(\.values), whole.variables.map { $0.values[s] })
        }
        XCTAssertEqual(seen, Array(whole.times.indices))
    }

    /// What MPI ranks other than 0 open: the points and the arrays, the cells only counted.
    func testSeriesStreamWithoutCellsHasThePointsAndTheArrays() throws {
        let whole = try DatasetReader.read(Fixtures.url("series.pvd"))
        let stream = try SeriesStream(Fixtures.url("series.pvd"), cells: .none)
        XCTAssertEqual(stream.mesh.points, whole.mesh.points)
        XCTAssertEqual(stream.mesh.cellCount, 0)
        XCTAssertEqual(stream.cellCount, whole.mesh.cellCount)
        XCTAssertGreaterThan(stream.cellCount, 0)
        XCTAssertEqual(stream.times, whole.times)
        try stream.forEachStep { s, step in
            XCTAssertEqual(step.pointArrays.map(\.values), whole.variables.map { $0.values[s] })
        }
    }

    /// What eval and export open a ground truth with: the cells as 32-bit ids (offsets only for
    /// a mixed mesh), the same cells as the mesh, for every encoding VTK writes; a stream opened
    /// either way hands out the same compact cells.
    func testCompactCellsAreTheMeshCellsForEveryEncoding() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Fixtures.url("ascii.vtu").deletingLastPathComponent().path)
            .filter { $0.hasSuffix(".vtu") }
        XCTAssertGreaterThan(names.count, 10)
        for name in names {
            let full = try VTUReader.readFile(Fixtures.url(name), mode: .full)
            let compact = try VTUReader.readFile(Fixtures.url(name), mode: .compactCells)
            let cells = try XCTUnwrap(compact.compactCells, name)
            XCTAssertEqual(cells, CompactCells(full.file.mesh), name)
            XCTAssertEqual(cells.pointIDs.map(Int.init), full.file.mesh.connectivity, name)
            XCTAssertEqual((0 ... cells.cellCount).map(cells.start), full.file.mesh.offsets, name)
            XCTAssertEqual(cells.offsets.isEmpty, false, "\(name): a mixed mesh keeps its offsets")
            XCTAssertEqual(compact.file.mesh.points, full.file.mesh.points, name)
            XCTAssertEqual(compact.file.mesh.cellCount, 0, name)
            XCTAssertEqual(compact.file.pointArrays, full.file.pointArrays, name)
            XCTAssertEqual(compact.cellCount, full.cellCount, name)
        }
        // Tetrahedra only: no offsets.
        let tets = Mesh.tetrahedra(points: (0 ..< 18).map(Double.init), tets: [0, 1, 2, 3, 1, 2, 3, 4, 5, 4, 3, 2])
        let tetFile = try makeScratchFolder(self).appendingPathComponent("tets.vtu")
        try VTUWriter().write(mesh: tets, pointArrays: [], to: tetFile)
        let tetCells = try XCTUnwrap(try VTUReader.readFile(tetFile, mode: .compactCells).compactCells)
        XCTAssertEqual(tetCells, CompactCells(tets))
        XCTAssertTrue(tetCells.offsets.isEmpty)
        XCTAssertEqual(tetCells.cellSize, 4)
        XCTAssertEqual(tetCells.pointIDs.map(Int.init), tets.connectivity)

        let whole = try DatasetReader.read(Fixtures.url("series.pvd"))
        let stream = try SeriesStream(Fixtures.url("series.pvd"), cells: .compact)
        XCTAssertEqual(stream.mesh.points, whole.mesh.points)
        XCTAssertEqual(stream.mesh.cellCount, 0)
        XCTAssertEqual(stream.cellCount, whole.mesh.cellCount)
        let cells = try stream.takeCompactCells()
        XCTAssertEqual(cells, CompactCells(whole.mesh))
        XCTAssertEqual(try SeriesStream(Fixtures.url("series.pvd")).takeCompactCells(), cells)
        try stream.forEachStep { s, step in
            XCTAssertEqual(step.pointArrays.map(\.values), whole.variables.map { $0.values[s] })
        }
    }

    func testEveryEncodingReadsTheSameThroughTheMapping() throws {
        // The mapped reader against the in-memory one, for every encoding VTK writes.
        let names = try FileManager.default.contentsOfDirectory(atPath: Fixtures.url("ascii.vtu").deletingLastPathComponent().path)
            .filter { $0.hasSuffix(".vtu") }
        XCTAssertGreaterThan(names.count, 10)
        for name in names {
            let url = Fixtures.url(name)
            let mapped = try VTUReader.read(url)
            let inMemory = try VTUReader.read(bytes: [UInt8](try Data(contentsOf: url)), name: name)
            XCTAssertEqual(mapped, inMemory, name)
        }
    }

    func testSeriesWriterStagesStepByStepAndCommitsWhole() throws {
        let folder = try makeScratchFolder(self)
        let d = try DatasetReader.read(Fixtures.url("series.pvd"))
        let pvd = folder.appendingPathComponent("s.pvd")
        // Arrays produced on demand (whole, or a block at a time), blocks of 102 bytes (values
        // straddle them) compressed on 3 threads, parked in spools
        let writer = try SeriesWriter(pvd: pvd, stepCount: d.stepCount, writer: VTUWriter(blockSize: 102, threads: 3))
        for s in 0..<d.stepCount {
            let arrays = d.variables.enumerated().map { k, v in
                let values = v.values[s]
                return k % 2 == 0
                    ? PendingArray(name: v.name, components: v.components) { values }
                    : PendingArray(name: v.name, components: v.components, count: values.count) { range, out in
                        for (j, i) in range.enumerated() { out[j] = values[i] }
                    }
            }
            try writer.stage(step: s, mesh: d.mesh, time: d.times[s], pointArrays: arrays)
            XCTAssertFalse(FileManager.default.fileExists(atPath: pvd.path), "nothing visible before the commit")
        }
        _ = try writer.commit(times: d.times)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(),
                       (["s.pvd"] + (0..<d.stepCount).map { String(format: "s_%04d.vtu", $0) }).sorted(),
                       "no scratch file is left")
        let back = try DatasetReader.read(pvd)
        XCTAssertEqual(back.mesh, d.mesh)
        XCTAssertEqual(back.times, d.times)
        XCTAssertEqual(back.variables.map(\.values), d.variables.map(\.values))
        // Same bytes as the whole-dataset writer (the mesh encoded once is the mesh encoded per step).
        var plain = d
        plain.cellVariables = []
        let other = folder.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        let files = try plain.write(pvd: other.appendingPathComponent("s.pvd"), writer: VTUWriter(blockSize: 102))
        for f in files {
            XCTAssertEqual(try Data(contentsOf: f), try Data(contentsOf: folder.appendingPathComponent(f.lastPathComponent)))
        }
    }

    func testSeriesWriterWithThePreparedMeshWritesTheSameBytes() throws {
        // export with a ground truth: the mesh encoded from its compact cells before the steps (in
        // runs of 3 cells, cutting the writer's 102-byte blocks anywhere), then staged without it
        let folder = try makeScratchFolder(self)
        let d = try DatasetReader.read(Fixtures.url("series.pvd"))
        var plain = d
        plain.cellVariables = []
        let files = try plain.write(pvd: folder.appendingPathComponent("s.pvd"), writer: VTUWriter(blockSize: 102))
        let prepared = folder.appendingPathComponent("prepared")
        try FileManager.default.createDirectory(at: prepared, withIntermediateDirectories: true)
        let writer = try SeriesWriter(pvd: prepared.appendingPathComponent("s.pvd"), stepCount: d.stepCount,
                                      writer: VTUWriter(blockSize: 102, threads: 2))
        try writer.prepare(cells: CompactCells(d.mesh), points: d.mesh.points, precision: d.mesh.pointPrecision, runCells: 3)
        for s in 0..<d.stepCount {
            try writer.stage(step: s, time: d.times[s],
                             pointArrays: d.variables.map { PendingArray(NamedArray(name: $0.name, components: $0.components, values: $0.values[s])) })
        }
        _ = try writer.commit(times: d.times)
        for f in files {
            XCTAssertEqual(try Data(contentsOf: f), try Data(contentsOf: prepared.appendingPathComponent(f.lastPathComponent)))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: prepared.path).sorted(),
                       (["s.pvd"] + (0..<d.stepCount).map { String(format: "s_%04d.vtu", $0) }).sorted(),
                       "no scratch file is left")
    }

    func testSeriesWriterWithAStreamedMeshWritesTheSameBytes() throws {
        // export from a model's mesh: the cells handed over in runs (here of 1 to 7 cells, so
        // that runs cut the writer's 102-byte blocks anywhere), the points last
        let folder = try makeScratchFolder(self)
        let d = try DatasetReader.read(Fixtures.url("series.pvd"))
        var plain = d
        plain.cellVariables = []
        let files = try plain.write(pvd: folder.appendingPathComponent("s.pvd"), writer: VTUWriter(blockSize: 102))
        for threads in [1, 3] {
            let streamed = folder.appendingPathComponent("streamed-\(threads)")
            try FileManager.default.createDirectory(at: streamed, withIntermediateDirectories: true)
            let writer = try SeriesWriter(pvd: streamed.appendingPathComponent("s.pvd"), stepCount: d.stepCount,
                                          writer: VTUWriter(blockSize: 102, threads: threads))
            let mesh = d.mesh
            try writer.prepare(cellCount: mesh.cellCount, connectivitySize: mesh.connectivity.count) { stream in
                var cell = 0, run = 1
                while cell < mesh.cellCount {
                    let end = min(mesh.cellCount, cell + run)
                    let entries = mesh.offsets[cell] ..< mesh.offsets[end]
                    try mesh.cellTypes[cell ..< end].withUnsafeBufferPointer { t in
                        try mesh.offsets[cell + 1 ... end].withUnsafeBufferPointer { o in
                            try mesh.connectivity[entries].withUnsafeBufferPointer { c in
                                try stream.append(types: t, endOffsets: o, connectivity: c)
                            }
                        }
                    }
                    cell = end
                    run = run % 7 + 1
                }
                return (mesh.points, mesh.pointPrecision)
            }
            for s in 0..<d.stepCount {
                try writer.stage(step: s, time: d.times[s],
                                 pointArrays: d.variables.map { PendingArray(NamedArray(name: $0.name, components: $0.components, values: $0.values[s])) })
            }
            _ = try writer.commit(times: d.times)
            for f in files {
                XCTAssertEqual(try Data(contentsOf: f), try Data(contentsOf: streamed.appendingPathComponent(f.lastPathComponent)),
                               "\(threads) threads")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: streamed.path).sorted(),
                           (["s.pvd"] + (0..<d.stepCount).map { String(format: "s_%04d.vtu", $0) }).sorted(),
                           "no scratch file is left")
        }
    }

    func testReleasedCellsLeaveThePointsAndTheArrays() throws {
        let whole = try DatasetReader.read(Fixtures.url("series.pvd"))
        let stream = try SeriesStream(Fixtures.url("series.pvd"))
        stream.releaseCells()
        let d = try DatasetReader.readSeries(stream, progress: nil)
        XCTAssertEqual(d.mesh.points, whole.mesh.points)
        XCTAssertEqual(d.mesh.cellCount, 0)
        XCTAssertEqual(stream.cellCount, whole.cellCount, "the stream still counts the cells")
        XCTAssertEqual(d.variables, whole.variables)
        XCTAssertEqual(d.cellVariables, [], "cell data needs the cells")
        XCTAssertEqual(d.times, whole.times)
    }

    func testSeriesWriterAbortLeavesNothing() throws {
        let folder = try makeScratchFolder(self)
        let d = try DatasetReader.read(Fixtures.url("series.pvd"))
        let writer = try SeriesWriter(pvd: folder.appendingPathComponent("s.pvd"), stepCount: d.stepCount)
        try writer.stage(step: 0, mesh: d.mesh, time: 0, pointArrays: [NamedArray]())
        XCTAssertThrowsError(try writer.stage(step: 1, mesh: d.mesh, time: 1,
                                              pointArrays: [NamedArray(name: "a\u{7}", components: 1, values: [])]))
        writer.abort()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
    }
}
