import Foundation
import MCINR
import MeshIO
import XCTest

/// Train → info → eval → export through the built executable, on a small analytic dataset.
final class EndToEndTests: XCTestCase {
    static let trainArguments = ["--clusters", "2", "--width", "8", "--trunk-blocks", "1", "--branch-blocks", "1",
                                 "--max-epochs", "60", "--batch-size", "64", "--learning-rate", "1e-3", "--meta-steps", "1", "--threads", "2", "-q", "--json"]

    /// `--weights`: float32 with `--mesh-coding zlib` and no seams stays format 1.0 (every reader opens it);
    /// int8 (with the default MESHC mesh and its index: 1.5) stores under 40 % of the float32 bytes (same
    /// seed and threads: the same trained weights), names its encoding in `info`, and train
    /// reports the metrics of the stored (quantised) weights, as eval does.
    func testWeightEncodings() throws {
        let dir = try temporaryFolder("weights")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (pvd, _) = try SmallDataset.make(in: dir)
        var summaries: [String: [String: Any]] = [:]
        for weights in ["f32", "int8"] {
            let model = dir.appendingPathComponent("\(weights).mci").path
            let meshCoding = weights == "f32" ? ["--mesh-coding", "zlib", "--seam-margin", "none"] : []
            let train = try CLI.run(["train", pvd.path, "-o", model, "--weights", weights] + meshCoding + Self.trainArguments)
            XCTAssertEqual(train.status, 0, train.stderr)
            let summary = try CLI.json(train.stdout)
            summaries[weights] = summary
            XCTAssertEqual(summary["weights"] as? String, weights)
            let info = try CLI.json(try CLI.run(["info", model, "--json"]).stdout)
            XCTAssertEqual(info["format_version"] as? String, weights == "f32" ? "1.0" : "1.5")
            XCTAssertEqual((info["sizes"] as? [String: Any])?["mesh_chunks"] as? Int, 1, "a small mesh is one chunk either way")
            XCTAssertEqual(((info["sizes"] as? [String: Any])?["mesh_index_boxes"] as? [Int])?.count, weights == "f32" ? nil : 3)
            XCTAssertEqual((info["weights"] as? [String: Any])?["encoding"] as? String, weights)
            XCTAssertEqual((info["sizes"] as? [String: Any])?["weight_bytes"] as? Int, summary["weight_bytes"] as? Int)
            let eval = try CLI.run(["eval", model, "--ground-truth", pvd.path, "--json"])
            XCTAssertEqual(eval.status, 0, eval.stderr)
            let evalPSNR = try XCTUnwrap((try CLI.json(eval.stdout)["mean"] as? [String: Any])?["psnr"] as? Double)
            let trainPSNR = try XCTUnwrap((summary["mean"] as? [String: Any])?["psnr"] as? Double)
            XCTAssertEqual(evalPSNR, trainPSNR, accuracy: 1e-6 * abs(trainPSNR), weights)
        }
        let f32Bytes = try XCTUnwrap(summaries["f32"]?["weight_bytes"] as? Int)
        let int8Bytes = try XCTUnwrap(summaries["int8"]?["weight_bytes"] as? Int)
        XCTAssertLessThan(Double(int8Bytes), 0.4 * Double(f32Bytes))
        let f32PSNR = try XCTUnwrap((summaries["f32"]?["mean"] as? [String: Any])?["psnr"] as? Double)
        let int8PSNR = try XCTUnwrap((summaries["int8"]?["mean"] as? [String: Any])?["psnr"] as? Double)
        XCTAssertNotEqual(int8PSNR, f32PSNR, "int8 quantisation changes the decoded values")
        XCTAssertGreaterThan(int8PSNR, f32PSNR - 3, "int8 costs a little accuracy, not the model")
    }

    /// `--encoding-frequencies` and `--omega0` reach the stored networks (info reads them back from
    /// the file), the decoder evaluates them to the values train measured, and they change the model.
    func testEncodingFrequenciesAndOmega0() throws {
        let dir = try temporaryFolder("encoding")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (pvd, _) = try SmallDataset.make(in: dir)
        var psnrs: [Double] = []
        for (frequencies, omega0) in [(6, 30), (2, 12)] {
            let model = dir.appendingPathComponent("L\(frequencies).mci").path
            let train = try CLI.run(["train", pvd.path, "-o", model, "--encoding-frequencies", "\(frequencies)",
                                     "--omega0", "\(omega0)"] + Self.trainArguments)
            XCTAssertEqual(train.status, 0, train.stderr)
            let info = try CLI.json(try CLI.run(["info", model, "--json"]).stdout)
            let config = try XCTUnwrap(((info["metadata"] as? [String: Any])?["architecture"] as? [String: Any])?["config"] as? [String: Any])
            XCTAssertEqual(config["peFrequencies"] as? Int, frequencies)
            XCTAssertEqual(config["omega0"] as? Double, Double(omega0))
            let trainPSNR = try XCTUnwrap((try CLI.json(train.stdout)["mean"] as? [String: Any])?["psnr"] as? Double)
            let eval = try CLI.run(["eval", model, "--ground-truth", pvd.path, "--json"])
            XCTAssertEqual(eval.status, 0, eval.stderr)
            let evalPSNR = try XCTUnwrap((try CLI.json(eval.stdout)["mean"] as? [String: Any])?["psnr"] as? Double)
            XCTAssertEqual(evalPSNR, trainPSNR, accuracy: 1e-6 * abs(trainPSNR))
            psnrs.append(trainPSNR)
        }
        XCTAssertNotEqual(psnrs[0], psnrs[1], "another input encoding trains another network")
        for (arguments, message) in [(["--encoding-frequencies", "17"], "--encoding-frequencies must be in 0 … 16"),
                                     (["--omega0", "0"], "--omega0 must be a positive number"),
                                     (["--method", "siren", "--encoding-frequencies", "4"], "--method siren reads raw coordinates")] {
            let out = dir.appendingPathComponent("bad.mci").path
            let run = try CLI.run(["train", pvd.path, "-o", out] + arguments + Self.trainArguments)
            XCTAssertNotEqual(run.status, 0)
            XCTAssertTrue(run.stderr.contains(message), run.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        }
    }

    /// The seam ratio (#21) in eval --json and export --network-id: an Int32 array of the
    /// network each point is routed to, the same in every step, and every network present.
    func testSeamRatioAndNetworkIDs() throws {
        let dir = try temporaryFolder("seams")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (pvd, truth) = try SmallDataset.make(in: dir)
        let model = dir.appendingPathComponent("model.mci").path
        let train = try CLI.run(["train", pvd.path, "-o", model] + Self.trainArguments)
        XCTAssertEqual(train.status, 0, train.stderr)
        let eval = try CLI.run(["eval", model, "--ground-truth", pvd.path, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let seams = try XCTUnwrap(try CLI.json(eval.stdout)["seams"] as? [String: Any])
        let ratios = try XCTUnwrap(seams["ratio"] as? [Double])
        XCTAssertEqual(ratios.count, truth.variables.reduce(0) { $0 + $1.components })
        XCTAssertTrue(ratios.allSatisfy { $0 > 0 && $0.isFinite }, "\(ratios)")
        XCTAssertGreaterThan(try XCTUnwrap(seams["edges_across_networks"] as? Int), 0, "two clusters meet somewhere")
        let edge = try XCTUnwrap(seams["median_edge_length"] as? Double)
        XCTAssertTrue(edge > 0 && edge < 2, "a cell edge inside the normalised box [-1, 1]³: \(edge)")
        let table = try CLI.run(["eval", model, "--ground-truth", pvd.path])
        XCTAssertTrue(table.stdout.contains("seam ratio"), table.stdout)
        XCTAssertTrue(table.stdout.contains("median cell edge"), table.stdout)

        // A single network has no boundary of its own; --seams-by measures it on the
        // clustered model's (the reference the issue compares with): the same edges.
        let single = dir.appendingPathComponent("single.mci").path
        let trainSingle = try CLI.run(["train", pvd.path, "-o", single, "--method", "coordnetb"]
                                      + Self.trainArguments.dropFirst(2))  // not --clusters 2
        XCTAssertEqual(trainSingle.status, 0, trainSingle.stderr)
        let own = try XCTUnwrap(try CLI.json(try CLI.run(["eval", single, "--ground-truth", pvd.path, "--json"]).stdout)["seams"]
                                as? [String: Any])
        XCTAssertEqual(own["edges_across_networks"] as? Int, 0)
        XCTAssertTrue(own["max"] is NSNull, "no edge crosses a boundary: no ratio")
        let by = try CLI.run(["eval", single, "--ground-truth", pvd.path, "--json", "--seams-by", model])
        XCTAssertEqual(by.status, 0, by.stderr)
        let bySeams = try XCTUnwrap(try CLI.json(by.stdout)["seams"] as? [String: Any])
        XCTAssertEqual(bySeams["edges_across_networks"] as? Int, seams["edges_across_networks"] as? Int)
        XCTAssertEqual(bySeams["edges_within_networks"] as? Int, seams["edges_within_networks"] as? Int)
        let singleRatios = try XCTUnwrap(bySeams["ratio"] as? [Double])
        XCTAssertTrue(singleRatios.allSatisfy { $0 > 0 && $0.isFinite }, "\(singleRatios)")
        XCTAssertNotEqual(singleRatios, ratios, "another model's errors on the same edges")

        // seams are the default (auto): at most the mesh's median normalised edge (as eval
        // measures it) times MCINRConfig.seamMarginInEdges (narrower when that would blend too
        // many points: PipelineTests), recorded in the file; --seam-margin none: no blending
        let margin = try XCTUnwrap(try CLI.json(try CLI.run(["info", model, "--json"]).stdout)["seam_margin"] as? Double)
        XCTAssertGreaterThan(margin, 0)
        XCTAssertLessThanOrEqual(margin, MCINRConfig.seamMarginInEdges * edge * (1 + 1e-9))
        let blended = dir.appendingPathComponent("plain.mci").path
        let trainPlain = try CLI.run(["train", pvd.path, "-o", blended, "--seam-margin", "none"] + Self.trainArguments)
        XCTAssertEqual(trainPlain.status, 0, trainPlain.stderr)
        XCTAssertTrue(try CLI.json(try CLI.run(["info", blended, "--json"]).stdout)["seam_margin"] is NSNull)
        let refused = try CLI.run(["train", pvd.path, "-o", blended, "--seam-margin", "wide"] + Self.trainArguments)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("seam-margin"), refused.stderr)

        let out = dir.appendingPathComponent("out")
        let export = try CLI.run(["export", model, "--vtu", out.path, "--network-id"])
        XCTAssertEqual(export.status, 0, export.stderr)
        let clusters = try XCTUnwrap(try CLI.json(try CLI.run(["info", model, "--json"]).stdout)["clusters"] as? [String: Any])
        let networks = try XCTUnwrap(clusters["networks"] as? Int)
        var first: [Float]?
        for url in try FileManager.default.contentsOfDirectory(at: out, includingPropertiesForKeys: nil) where url.pathExtension == "vtu" {
            let ids = try XCTUnwrap(try VTUReader.read(url).pointArrays.first { $0.name == "network_id" })
            XCTAssertEqual(ids.sourceType, .int32, url.lastPathComponent)
            XCTAssertEqual(Set(ids.values), Set((0 ..< networks).map(Float.init)), url.lastPathComponent)
            if let first { XCTAssertEqual(ids.values, first) } else { first = ids.values }
        }
        XCTAssertNotNil(first)
    }

    /// Seams are the default where the mesh has cell edges to measure; a point cloud (vertex
    /// cells) trains without blending and says so, and an explicit `auto` is refused, naming the file.
    func testDefaultSeamsNeedCellEdges() throws {
        let dir = try temporaryFolder("pointcloud")
        defer { try? FileManager.default.removeItem(at: dir) }
        var (_, data) = try SmallDataset.make(in: dir)
        let n = data.mesh.points.count / 3
        data.mesh = Mesh(points: data.mesh.points, cellTypes: [UInt8](repeating: 1, count: n),  // VTK_VERTEX
                         offsets: Array(0 ... n), connectivity: Array(0 ..< n))
        let pvd = dir.appendingPathComponent("cloud.pvd")
        try data.write(pvd: pvd)
        let model = dir.appendingPathComponent("m.mci").path
        let args = Self.trainArguments.filter { $0 != "-q" && $0 != "--json" } + ["--max-epochs", "2"]
        let train = try CLI.run(["train", pvd.path, "-o", model] + args)
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stderr.contains("no cells with an edge: the networks are not blended"), train.stderr)
        XCTAssertTrue(try CLI.json(try CLI.run(["info", model, "--json"]).stdout)["seam_margin"] is NSNull)
        let auto = try CLI.run(["train", pvd.path, "-o", model, "--seam-margin", "auto"] + args)
        XCTAssertNotEqual(auto.status, 0)
        XCTAssertTrue(auto.stderr.contains(pvd.path), auto.stderr)
        XCTAssertTrue(auto.stderr.contains("give the margin as a number"), auto.stderr)
    }

    func testCellDataIsNamedAsNotEncodedAlsoWhenTheCellsAreReleased() throws {
        let dir = try temporaryFolder("celldata")
        defer { try? FileManager.default.removeItem(at: dir) }
        var (_, data) = try SmallDataset.make(in: dir)
        data.cellVariables = [Variable(name: "quality", components: 1,
                                       values: data.times.map { _ in [Float](repeating: 1, count: data.cellCount) })]
        let pvd = dir.appendingPathComponent("cells.pvd")
        try data.write(pvd: pvd)
        let args = Self.trainArguments.filter { $0 != "-q" && $0 != "--json" } + ["--max-epochs", "2"]
        let train = try CLI.run(["train", pvd.path, "-o", dir.appendingPathComponent("m.mci").path] + args)
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stderr.contains("cell data (quality) is carried in the input but not encoded"), train.stderr)
        XCTAssertTrue(train.stderr.contains("coding the mesh"), "the MESHC default codes the mesh at open")
    }

    func testTrainInfoEvalExport() throws {
        let dir = try temporaryFolder("e2e")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (pvd, truth) = try SmallDataset.make(in: dir)
        let model = dir.appendingPathComponent("model.mci").path

        // One split, forced and kept (threshold 0, --split-gain 0), so the model has a tree.
        let train = try CLI.run(["train", pvd.path, "-o", model] + Self.trainArguments
                                + ["--threshold", "0", "--split-gain", "0"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let summary = try CLI.json(train.stdout)
        XCTAssertEqual(summary["splits"] as? Int, 1)
        let trainPSNR = try XCTUnwrap((summary["mean"] as? [String: Any])?["psnr"] as? Double)
        XCTAssertGreaterThan(trainPSNR, 15, "a trained model beats a constant field by far")
        XCTAssertGreaterThan(try XCTUnwrap(summary["compression_ratio_weights"] as? Double), 1)

        let info = try CLI.json(try CLI.run(["info", model, "--json"]).stdout)
        let variables = try XCTUnwrap(info["variables"] as? [[String: Any]])
        XCTAssertEqual(variables.map { $0["name"] as? String }, ["velocity", "temperature"])
        XCTAssertEqual(variables.map { $0["components"] as? Int }, [3, 1])
        XCTAssertEqual((info["times"] as? [Double])?.count, 4)
        XCTAssertEqual(info["points"] as? Int, truth.pointCount)
        XCTAssertEqual(info["has_mesh"] as? Bool, true)
        // The mesh was coded before the steps were read, its cells released: META still counts them.
        XCTAssertEqual(info["cells"] as? Int, truth.cellCount)
        // Splits counted once per split (two tree nodes each), as train counts them.
        let clusters = try XCTUnwrap(info["clusters"] as? [String: Int])
        XCTAssertEqual(clusters["splits"], summary["splits"] as? Int)
        XCTAssertEqual(clusters["networks"], clusters["top_level"]! + clusters["splits"]!)

        // eval decodes through the C decoder, like train's report: the numbers must agree.
        let eval = try CLI.run(["eval", model, "--ground-truth", pvd.path, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let evalPSNR = try XCTUnwrap((try CLI.json(eval.stdout)["mean"] as? [String: Any])?["psnr"] as? Double)
        XCTAssertEqual(evalPSNR, trainPSNR, accuracy: 1e-6 * abs(trainPSNR))

        // export with error maps: the error array is |decoded − ground truth|.
        let out = dir.appendingPathComponent("decoded")
        let export = try CLI.run(["export", model, "--vtu", out.path, "--ground-truth", pvd.path, "--include-ground-truth"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("metrics.json").path))
        let decoded = try DatasetReader.read(out.appendingPathComponent("model.pvd"))
        XCTAssertEqual(decoded.stepCount, truth.stepCount)
        XCTAssertEqual(decoded.pointCount, truth.pointCount)
        XCTAssertEqual(decoded.cellCount, truth.cellCount)
        XCTAssertEqual(Set(decoded.variables.map(\.name)),
                       ["velocity", "temperature", "velocity_abs_error", "temperature_abs_error",
                        "velocity_ground_truth", "temperature_ground_truth"])
        for name in ["velocity", "temperature"] {
            let value = try XCTUnwrap(decoded.variables.first { $0.name == name })
            let error = try XCTUnwrap(decoded.variables.first { $0.name == name + "_abs_error" })
            let gt = try XCTUnwrap(decoded.variables.first { $0.name == name + "_ground_truth" })
            let original = try XCTUnwrap(truth.variables.first { $0.name == name })
            XCTAssertEqual(value.components, original.components)
            for s in 0..<truth.stepCount {
                XCTAssertEqual(gt.values[s], original.values[s], "\(name) ground truth, step \(s)")
                for i in value.values[s].indices {
                    XCTAssertEqual(error.values[s][i], abs(value.values[s][i] - original.values[s][i]))
                }
            }
            let worst = error.values.joined().max() ?? 0
            XCTAssertGreaterThan(worst, 0, "a lossy model has some error")
        }

        // Without ground truth, the embedded mesh is used: same values at the same points.
        let plain = dir.appendingPathComponent("plain")
        XCTAssertEqual(try CLI.run(["export", model, "--vtu", plain.path]).status, 0)
        let plainData = try DatasetReader.read(plain.appendingPathComponent("model.pvd"))
        // the default MESHC: the points in their order, the same cells (each with its vertex
        // order) in the chunks' order
        XCTAssertEqual(info["format_version"] as? String, "1.5")  // MESHC with its MESHX index
        XCTAssertEqual(plainData.mesh.points, truth.mesh.points)
        XCTAssertEqual(Self.sortedCells(plainData.mesh), Self.sortedCells(truth.mesh))
        XCTAssertEqual(plainData.variables.first { $0.name == "temperature" }?.values,
                       decoded.variables.first { $0.name == "temperature" }?.values)

        // The model is continuous in time: a time between two stored steps decodes.
        let mid = dir.appendingPathComponent("mid")
        let midRun = try CLI.run(["export", model, "--vtu", mid.path, "--times", "1.25", "--variables", "temperature"])
        XCTAssertEqual(midRun.status, 0, midRun.stderr)
        let midData = try DatasetReader.read(mid.appendingPathComponent("model.pvd"))
        XCTAssertEqual(midData.times, [1.25])
        XCTAssertEqual(midData.variables.map(\.name), ["temperature"])

        // Resampling on a regular grid: the box is fully meshed, so every grid point is inside.
        let grid = dir.appendingPathComponent("grid")
        let image = try CLI.run(["export", model, "--vti", grid.path, "--image-data", "5,4,3", "--times", "1.5"])
        XCTAssertEqual(image.status, 0, image.stderr)
        XCTAssertTrue(image.stderr.contains("5×4×3 grid, 60 points inside"), image.stderr)
        let noGrid = try CLI.run(["export", model, "--vti", grid.path])
        XCTAssertNotEqual(noGrid.status, 0)
        XCTAssertTrue(noGrid.stderr.contains("--image-data"), noGrid.stderr)

        // Last, as they need ParaView's VTK (a skip ends the test): VTK reads what we wrote.
        try assertVTKReads(out.appendingPathComponent("model_0000.vtu"),
                           arrays: ["velocity": 3, "temperature_abs_error": 1], points: truth.pointCount)
        try assertVTKReads(grid.appendingPathComponent("model_0000.vti"),
                           arrays: ["velocity": 3, "temperature": 1, "vtkValidPointMask": 1], points: 60,
                           reader: "vtkXMLImageDataReader")
    }

    /// The cells of a mesh as [type, point ids …] in lexicographic order: equal for the same
    /// cells in any order.
    static func sortedCells(_ m: Mesh) -> [[Int]] {
        (0..<m.cellCount).map { c in [Int(m.cellTypes[c])] + Array(m.connectivity[m.offsets[c]..<m.offsets[c + 1]]) }
            .sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// ParaView's VTK (the reference implementation) reads what we export.
    private func assertVTKReads(_ vtu: URL, arrays: [String: Int], points: Int,
                                reader: String = "vtkXMLUnstructuredGridReader") throws {
        let python = "/usr/bin/python3"
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: python)
        probe.arguments = ["-c", "import vtk"]
        probe.standardError = Pipe()
        guard FileManager.default.fileExists(atPath: python), (try? probe.run()) != nil else {
            throw XCTSkip("no /usr/bin/python3 with VTK")
        }
        probe.waitUntilExit()
        try XCTSkipUnless(probe.terminationStatus == 0, "ParaView's VTK is not importable")
        let script = """
        import sys, vtk
        r = getattr(vtk, sys.argv[2])(); r.SetFileName(sys.argv[1]); r.Update()
        g = r.GetOutput(); pd = g.GetPointData()
        print(g.GetNumberOfPoints())
        for i in range(pd.GetNumberOfArrays()):
            a = pd.GetArray(i); print(a.GetName(), a.GetNumberOfComponents())
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", script, vtu.path, reader]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let lines = text.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "\(points)")
        for (name, components) in arrays {
            XCTAssertTrue(lines.contains("\(name) \(components)"), "VTK does not see \(name) (\(components)): \(lines)")
        }
    }
}
