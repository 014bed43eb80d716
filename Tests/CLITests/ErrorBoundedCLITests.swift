import Foundation
import MeshIO
import XCTest

/// `train --max-error / --max-rel-error`, then `info` and `eval` on the result.
final class ErrorBoundedCLITests: XCTestCase {
    static let fastTraining = ["--clusters", "2", "--width", "8", "--trunk-blocks", "1", "--branch-blocks", "1",
                               "--max-epochs", "10", "--meta-steps", "0", "--threads", "2", "-q", "--json"]

    func testTrainEvalInfoKeepTheBound() throws {
        let dir = try temporaryFolder("errbound")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (pvd, _) = try SmallDataset.make(in: dir)
        let model = dir.appendingPathComponent("bounded.mci").path
        let train = try CLI.run(["train", pvd.path, "-o", model, "--max-error", "1e-3"] + Self.fastTraining)
        XCTAssertEqual(train.status, 0, train.stderr)
        let summary = try CLI.json(train.stdout)
        let bound = try XCTUnwrap(summary["error_bound"] as? [String: Any])
        let components = try XCTUnwrap(bound["components"] as? [[String: Any]])
        XCTAssertFalse(components.isEmpty)
        for c in components {
            let achieved = try XCTUnwrap(c["max_abs_error"] as? Double), e = try XCTUnwrap(c["bound"] as? Double)
            XCTAssertEqual(e, 1e-3)
            XCTAssertLessThanOrEqual(achieved, 1e-3, "\(c)")
        }
        let mean = try XCTUnwrap(summary["mean"] as? [String: Any])
        XCTAssertLessThanOrEqual(try XCTUnwrap(mean["max_abs_error"] as? Double), 1e-3)
        let residualBytes = try XCTUnwrap(bound["residual_bytes"] as? Int)
        XCTAssertGreaterThan(residualBytes, 0)

        // eval decodes at the mesh points like ParaView: the bound holds there too
        let eval = try CLI.run(["eval", model, "--ground-truth", pvd.path, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let metrics = try CLI.json(eval.stdout)
        let check = try XCTUnwrap(metrics["error_bound"] as? [String: Any])
        XCTAssertEqual(check["holds"] as? Bool, true, "\(check)")
        XCTAssertLessThanOrEqual(try XCTUnwrap((metrics["mean"] as? [String: Any])?["max_abs_error"] as? Double), 1e-3)

        let info = try CLI.run(["info", model, "--json"])
        XCTAssertEqual(info.status, 0, info.stderr)
        let description = try CLI.json(info.stdout)
        let sizes = try XCTUnwrap(description["sizes"] as? [String: Any])
        XCTAssertEqual(sizes["residual_bytes"] as? Int, residualBytes)
        let raw = try XCTUnwrap(sizes["raw_field_bytes"] as? Double), weights = try XCTUnwrap(sizes["weight_bytes"] as? Double)
        XCTAssertEqual(try XCTUnwrap(sizes["compression_ratio_fields"] as? Double), raw / (weights + Double(residualBytes)),
                       accuracy: 1e-9 * raw)
        XCTAssertEqual((description["error_bound"] as? [[String: Any]])?.count, components.count)
        let text = try CLI.run(["info", model])
        XCTAssertTrue(text.stdout.contains("error-bounded: yes"), text.stdout)
        XCTAssertTrue(text.stdout.contains("with the residual"), text.stdout)
        let recorded = try XCTUnwrap((description["metadata"] as? [String: Any])?["error_bound"] as? [String: Any])
        XCTAssertEqual(recorded["residual_bytes"] as? Int, residualBytes)
    }

    func testRelativeBoundAndBadFlags() throws {
        let dir = try temporaryFolder("errbound-flags")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (pvd, _) = try SmallDataset.make(in: dir)
        let model = dir.appendingPathComponent("rel.mci").path
        let train = try CLI.run(["train", pvd.path, "-o", model, "--max-rel-error", "1e-2"] + Self.fastTraining)
        XCTAssertEqual(train.status, 0, train.stderr)
        let summary = try CLI.json(train.stdout)
        let bound = try XCTUnwrap(summary["error_bound"] as? [String: Any])
        for c in try XCTUnwrap(bound["components"] as? [[String: Any]]) {
            XCTAssertLessThanOrEqual(try XCTUnwrap(c["max_abs_error"] as? Double), try XCTUnwrap(c["bound"] as? Double))
        }
        // --weights auto (the default): f16 and int8 tried, the one with fewer bytes kept and
        // named in the file
        let tried = try XCTUnwrap(summary["weight_encodings_tried"] as? [[String: Any]])
        XCTAssertEqual(tried.map { $0["weights"] as? String }, ["f16", "int8"])
        let costs = try tried.map { try XCTUnwrap($0["nets_bytes"] as? Int) + XCTUnwrap($0["residual_bytes"] as? Int) }
        let chosen = try XCTUnwrap(summary["weights"] as? String)
        XCTAssertEqual(chosen, costs[1] < costs[0] ? "int8" : "f16", "\(tried)")
        XCTAssertEqual(tried.first { $0["weights"] as? String == chosen }?["residual_bytes"] as? Int, bound["residual_bytes"] as? Int)
        let info = try CLI.json(try CLI.run(["info", model, "--json"]).stdout)
        XCTAssertEqual((info["weights"] as? [String: Any])?["encoding"] as? String, chosen)
        let fixed = try CLI.run(["train", pvd.path, "-o", model, "--max-rel-error", "1e-2", "--weights", "f16"] + Self.fastTraining)
        let fixedSummary = try CLI.json(fixed.stdout)
        XCTAssertEqual(fixedSummary["weights"] as? String, "f16")
        XCTAssertNil(fixedSummary["weight_encodings_tried"], "an encoding asked for is not a choice")
        for bad in [["--max-error", "0"], ["--max-rel-error", "-1"], ["--max-error", "nan"],
                    ["--max-error", "1", "--max-rel-error", "1"], ["--max-error", "1", "--no-mesh"]] {
            let run = try CLI.run(["train", pvd.path, "-o", dir.appendingPathComponent("x.mci").path] + bad)
            XCTAssertNotEqual(run.status, 0, "\(bad) must be refused")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.mci").path))
        }
    }

    /// The measurement aid `--compare-bounds` (docs/benchmarks/error-bounded-capacity.md): the
    /// same networks with the residual at other bounds; at the trained bound it reproduces the
    /// file's residual byte for byte.
    func testCompareBoundsReusesTheNetworks() throws {
        let dir = try temporaryFolder("errbound-compare")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (pvd, _) = try SmallDataset.make(in: dir)
        let model = dir.appendingPathComponent("cmp.mci").path
        let train = try CLI.run(["train", pvd.path, "-o", model, "--max-rel-error", "1e-2", "--compare-bounds", "1e-2,1e-5"]
                                + Self.fastTraining)
        XCTAssertEqual(train.status, 0, train.stderr)
        let objects = try CLI.jsonObjects(train.stdout)
        let summary = try XCTUnwrap(objects.last)
        let bound = try XCTUnwrap(summary["error_bound"] as? [String: Any])
        let rows = try XCTUnwrap(objects.first?["bound_comparison"] as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["rel_bound"] as? Double }, [1e-2, 1e-5])
        XCTAssertEqual(rows[0]["residual_bytes"] as? Int, bound["residual_bytes"] as? Int)
        XCTAssertEqual(rows[0]["weight_bytes"] as? Int, summary["weight_bytes"] as? Int)
        XCTAssertGreaterThan(try XCTUnwrap(rows[1]["residual_bytes"] as? Int), try XCTUnwrap(rows[0]["residual_bytes"] as? Int))
        let bad = try CLI.run(["train", pvd.path, "-o", dir.appendingPathComponent("x.mci").path, "--max-rel-error", "1e-2",
                               "--compare-bounds", "1e-3,zero"])
        XCTAssertNotEqual(bad.status, 0)
    }
}
