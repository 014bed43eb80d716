import XCTest
@testable import MeshIO

final class WriteRoundTripTests: XCTestCase {
    func testWriteThenReadIsIdentical() throws {
        let folder = try makeScratchFolder(self)
        let original = try DatasetReader.read(Fixtures.url("series.pvd"))
        for (compress, precision) in [(true, PointPrecision.float32), (false, .float64)] {
            var d = original
            d.mesh.pointPrecision = precision
            let pvd = folder.appendingPathComponent("out_\(compress).pvd")
            let files = try d.write(pvd: pvd, writer: VTUWriter(compress: compress, blockSize: 100))
            XCTAssertEqual(files.map(\.lastPathComponent), (0..<3).map { "out_\(compress)_000\($0).vtu" })
            let back = try DatasetReader.read(pvd)
            XCTAssertEqual(back.mesh, d.mesh)
            XCTAssertEqual(back.times, d.times)
            XCTAssertEqual(back.variables.map(\.values), d.variables.map(\.values))
            XCTAssertEqual(back.variables.map(\.components), d.variables.map(\.components))
            XCTAssertEqual(back.cellVariables.map(\.values), d.cellVariables.map(\.values))
            // The plain file list finds the times through TimeValue.
            XCTAssertEqual(try DatasetReader.readSeries(files.reversed()).times, d.times)
        }
        // No temporary file is left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".tmp") }
        XCTAssertEqual(leftovers, [])
    }

    func testBlocksCompressedOnSeveralThreadsGiveTheSameFile() throws {
        // 40 blocks of 64 bytes: split into runs on 1, 2, 3 and 7 threads
        let wide = NamedArray(name: "wide", components: 1, values: (0..<640).map { Float(($0 * 7919) % 1000) / 7 })
        let mesh = Mesh(points: (0..<640).flatMap { [Double($0), 0, 0] }, cellTypes: [], offsets: [0], connectivity: [])
        let files = try [1, 2, 3, 7].map { t in
            try VTUWriter(compress: true, blockSize: 64, threads: t).encode(mesh: mesh, pointArrays: [wide], name: "wide.vtu")
        }
        for f in files.dropFirst() { XCTAssertEqual(f, files[0]) }
        let back = try VTUReader.read(bytes: [UInt8](files[2]), name: "wide.vtu")
        XCTAssertEqual(back.pointArrays.first?.values, wide.values)
    }

    func testExtraArraysAndMixedCells() throws {
        let folder = try makeScratchFolder(self)
        let f = try VTUReader.read(Fixtures.url("ascii.vtu"))   // tets + a pyramid
        let d = try DatasetReader.read(Fixtures.url("ascii.vtu"))
        let url = folder.appendingPathComponent("step.vtu")
        let err = NamedArray(name: "scalar_abs_error", components: 1, values: (0..<36).map { Float($0) * 0.25 })
        try d.writeStep(0, to: url, extraPointArrays: [err])
        let back = try VTUReader.read(url)
        XCTAssertEqual(back.mesh.cellTypes, f.mesh.cellTypes)
        XCTAssertEqual(back.mesh.offsets, f.mesh.offsets)
        XCTAssertEqual(back.pointArrays.last, NamedArray(name: "scalar_abs_error", components: 1, values: err.values, sourceType: .float32))
        XCTAssertEqual(back.fieldData["TimeValue"], [0])
    }

    func testWriterRejectsWrongSizes() throws {
        let folder = try makeScratchFolder(self)
        let mesh = try VTUReader.read(Fixtures.url("ascii.vtu")).mesh
        let url = folder.appendingPathComponent("bad.vtu")
        assertMeshIOError(try VTUWriter().write(mesh: mesh, pointArrays: [NamedArray(name: "a", components: 1, values: [1, 2])], to: url),
                          "short array") {
            if case .writeFailed = $0 { return true } else { return false }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
        assertMeshIOError(try VTUWriter().write(mesh: mesh, pointArrays: [], to: folder.appendingPathComponent("no/such/dir.vtu")),
                          "missing folder") {
            if case .writeFailed = $0 { return true } else { return false }
        }
    }

    /// ParaView's VTK reads what we write: counts, names, values.
    func testVTKReadsOurFiles() throws {
        guard let python = pythonWithVTK else { throw XCTSkip("/usr/bin/python3 cannot import vtk") }
        let folder = try makeScratchFolder(self)
        let d = try DatasetReader.read(Fixtures.url("series.pvd"))
        let pvd = folder.appendingPathComponent("vtkcheck.pvd")
        let files = try d.write(pvd: pvd, writer: VTUWriter(compress: true, blockSize: 64))
        try d.writeStep(2, to: folder.appendingPathComponent("plain.vtu"), writer: VTUWriter(compress: false))
        let script = """
        import sys, vtk
        from vtk.util.numpy_support import vtk_to_numpy
        for path in sys.argv[1:]:
            r = vtk.vtkXMLUnstructuredGridReader(); r.SetFileName(path); r.Update()
            g = r.GetOutput(); pd = g.GetPointData()
            names = [pd.GetArrayName(i) for i in range(pd.GetNumberOfArrays())]
            s = vtk_to_numpy(pd.GetArray('scalar')); v = vtk_to_numpy(pd.GetArray('velocity'))
            q = vtk_to_numpy(g.GetCellData().GetArray('cell_quality'))
            t = g.GetFieldData().GetArray('TimeValue').GetValue(0)
            print(g.GetNumberOfPoints(), g.GetNumberOfCells(), ','.join(names), v.shape[1],
                  repr(float(s[5])), repr(float(v[7, 2])), repr(float(q[3])), repr(t), g.GetCellType(72))
        """
        let (status, out) = runProcess(python, ["-c", script] + files.map(\.path) + [folder.appendingPathComponent("plain.vtu").path])
        XCTAssertEqual(status, 0, out)
        let lines = out.split(separator: "\n").filter { !$0.isEmpty }.map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(lines.count, 4, out)
        for (i, fields) in lines.enumerated() where fields.count == 9 {
            let s = i == 3 ? 2 : i
            XCTAssertEqual(fields[0], "36")
            XCTAssertEqual(fields[1], "\(Fixtures.cellCount)")
            XCTAssertEqual(fields[2], "scalar,velocity,ids,dist")
            XCTAssertEqual(fields[3], "3")
            XCTAssertEqual(Float(fields[4]), d.variables[0].values[s][5], "scalar[5] step \(s)")
            XCTAssertEqual(Float(fields[5]), d.variables[1].values[s][7 * 3 + 2], "velocity[7].z step \(s)")
            XCTAssertEqual(Float(fields[6]), d.cellVariables[0].values[s][3], "cell_quality[3] step \(s)")
            XCTAssertEqual(Double(fields[7]), d.times[s])
            XCTAssertEqual(fields[8], "14", "the pyramid")
        }
    }
}
