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

    /// A damaged residual stream (its first byte changed, the section's CRC repaired): `info`,
    /// which validates the whole residual at open, refuses the file naming the stream; `export`
    /// opens it (the open checks the residual's table only), fails at the step that reads the
    /// stream with the same words, and leaves the output folder as it was.
    func testDamagedResidualStream() throws {
        let dir = try temporaryFolder("errbound-damaged")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (pvd, _) = try SmallDataset.make(in: dir)
        let good = dir.appendingPathComponent("good.mci")
        let train = try CLI.run(["train", pvd.path, "-o", good.path, "--max-rel-error", "1e-3"] + Self.fastTraining)
        XCTAssertEqual(train.status, 0, train.stderr)
        let bad = dir.appendingPathComponent("bad.mci")
        try Data(try Self.damagingFirstResidualStream([UInt8](Data(contentsOf: good)))).write(to: bad)
        let words = "section RESIDUAL: stream of step "

        let info = try CLI.run(["info", bad.path])
        XCTAssertNotEqual(info.status, 0)
        XCTAssertTrue(info.stderr.contains(bad.path) && info.stderr.contains(words), info.stderr)
        XCTAssertEqual(try CLI.run(["info", good.path]).status, 0)

        let out = dir.appendingPathComponent("out")
        let export = try CLI.run(["export", bad.path, "--vtu", out.path])
        XCTAssertNotEqual(export.status, 0)
        XCTAssertTrue(export.stderr.contains(bad.path) && export.stderr.contains(words), export.stderr)
        XCTAssertFalse(export.stderr.contains("opening"), "the open validated the residual: \(export.stderr)")
        let written = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        XCTAssertEqual(written, [], "export wrote \(written)")
    }

    /// The file with the first byte of its first non-empty RESIDUAL stream changed and the
    /// section's CRC-32 repaired (docs/mci-format.md: the section table, RESIDUAL's stream table).
    static func damagingFirstResidualStream(_ file: [UInt8]) throws -> [UInt8] {
        var b = file
        func le(_ at: Int, _ n: Int) -> Int { (0..<n).reversed().reduce(0) { $0 << 8 | Int(b[at + $1]) } }
        for s in 0..<le(12, 4) {
            let entry = 16 + 32 * s, offset = le(entry + 8, 8), length = le(entry + 16, 8)
            guard le(entry, 4) == 7 else { continue }
            let T = le(offset + 8, 4), C = le(offset + 12, 4), table = offset + 16 + 16 * C
            var at = table + 24 * T * C
            for k in 0..<(T * C) {
                let size = le(table + 24 * k + 16, 8)
                if size > 0 { b[at] ^= 1; break }
                at += size
            }
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in b[offset..<(offset + length)] {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            crc = ~crc
            for k in 0..<4 { b[entry + 24 + k] = UInt8((crc >> (8 * UInt32(k))) & 0xFF) }
            return b
        }
        throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "no RESIDUAL section"])
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
        // the network trained with Huber's loss at the bound (the default), recorded in the file
        func lossBound(_ info: [String: Any]) -> Any? { ((info["metadata"] as? [String: Any])?["config"] as? [String: Any])?["lossBound"] }
        XCTAssertEqual((lossBound(info) as? [String: Any])?["relative"] as? [String: Double], ["_0": 1e-2], "\(String(describing: lossBound(info)))")
        let fixed = try CLI.run(["train", pvd.path, "-o", model, "--max-rel-error", "1e-2", "--weights", "f16", "--no-huber-loss"]
                                + Self.fastTraining)
        let fixedSummary = try CLI.json(fixed.stdout)
        XCTAssertEqual(fixedSummary["weights"] as? String, "f16")
        XCTAssertNil(fixedSummary["weight_encodings_tried"], "an encoding asked for is not a choice")
        XCTAssertNil(lossBound(try CLI.json(try CLI.run(["info", model, "--json"]).stdout)), "--no-huber-loss trains with the MSE")
        // without a bound, --huber-delta trains with Huber's loss at δ, recorded in the file too
        let plain = try CLI.run(["train", pvd.path, "-o", model, "--huber-delta", "1e-3"] + Self.fastTraining)
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual((lossBound(try CLI.json(try CLI.run(["info", model, "--json"]).stdout)) as? [String: Any])?["relative"]
                       as? [String: Double], ["_0": 1e-3])
        for bad in [["--max-error", "0"], ["--max-rel-error", "-1"], ["--max-error", "nan"],
                    ["--max-error", "1", "--max-rel-error", "1"], ["--max-error", "1", "--no-mesh"],
                    ["--huber-delta", "0"], ["--huber-delta", "1e-3", "--max-rel-error", "1e-2"]] {
            let run = try CLI.run(["train", pvd.path, "-o", dir.appendingPathComponent("x.mci").path] + bad)
            XCTAssertNotEqual(run.status, 0, "\(bad) must be refused")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.mci").path))
        }
    }

    /// `--smaller-network` (the default): at a tight bound the residual quantises the data itself
    /// in every stream, so a network for 4× the ratio is trained too; the file keeps the one
    /// whose weights and residual are fewer bytes, names its width, and holds the bound.
    /// `--no-smaller-network`, a fixed `--width` or no bound: one network.
    func testSmallerNetworkKeepsTheSmallerFile() throws {
        let dir = try temporaryFolder("errbound-smaller")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (pvd, _) = try SmallDataset.make(in: dir)
        let model = dir.appendingPathComponent("small.mci").path
        let training = ["--clusters", "1", "--ratio", "5", "--trunk-blocks", "1", "--branch-blocks", "1",
                        "--max-epochs", "10", "--meta-steps", "0", "--threads", "2", "-q", "--json"]
        let train = try CLI.run(["train", pvd.path, "-o", model, "--max-rel-error", "1e-4", "--smaller-network"] + training)
        XCTAssertEqual(train.status, 0, train.stderr)
        let summary = try CLI.json(train.stdout)
        let bound = try XCTUnwrap(summary["error_bound"] as? [String: Any])
        for c in try XCTUnwrap(bound["components"] as? [[String: Any]]) {
            XCTAssertLessThanOrEqual(try XCTUnwrap(c["max_abs_error"] as? Double), try XCTUnwrap(c["bound"] as? Double))
        }
        let tried = try XCTUnwrap(summary["networks_tried"] as? [[String: Any]], "\(summary.keys)")
        XCTAssertEqual(tried.count, 2)
        let widths = try tried.map { try XCTUnwrap($0["width"] as? Int) }, bytes = try tried.map { try XCTUnwrap($0["stored_bytes"] as? Int) }
        XCTAssertLessThan(widths[1], widths[0], "the second network is the smaller one")
        let kept = try XCTUnwrap(tried.firstIndex { $0["kept"] as? Bool == true })
        XCTAssertEqual(tried.filter { $0["kept"] as? Bool == true }.count, 1)
        XCTAssertEqual(kept, bytes[1] < bytes[0] ? 1 : 0, "\(tried)")
        let info = try CLI.json(try CLI.run(["info", model, "--json"]).stdout)
        let architecture = try XCTUnwrap((info["metadata"] as? [String: Any])?["architecture"] as? [String: Any])
        XCTAssertEqual((architecture["config"] as? [String: Any])?["width"] as? Int, widths[kept], "\(architecture)")
        let byDefault = try CLI.json(try CLI.run(["train", pvd.path, "-o", model, "--max-rel-error", "1e-4"] + training).stdout)
        XCTAssertEqual((byDefault["networks_tried"] as? [[String: Any]])?.count, 2)
        for one in [["--max-rel-error", "1e-4", "--no-smaller-network"], ["--max-rel-error", "1e-4", "--width", "6"], []] {
            let run = try CLI.run(["train", pvd.path, "-o", model] + one + training)
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertNil(try CLI.json(run.stdout)["networks_tried"], "\(one)")
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
