import Foundation
import XCTest

/// Misuse gives a one-line error on stderr, a non-zero exit, and no output file.
final class BadUseTests: XCTestCase {
    private var dir: URL!
    private var pvd: URL!
    private var model: String!

    override func setUpWithError() throws {
        dir = try temporaryFolder("bad")
        pvd = try SmallDataset.make(in: dir, n: 6, steps: 2).pvd
        model = dir.appendingPathComponent("model.mci").path
        let train = try CLI.run(["train", pvd.path, "-o", model, "--clusters", "1", "--width", "4", "--trunk-blocks", "1",
                                 "--branch-blocks", "1", "--max-epochs", "2", "--meta-steps", "0", "-q"])
        XCTAssertEqual(train.status, 0, train.stderr)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func assertFails(_ arguments: [String], mentions: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let run = try CLI.run(arguments)
        XCTAssertNotEqual(run.status, 0, "expected a failure: \(arguments)", file: file, line: line)
        XCTAssertTrue(run.stderr.contains(mentions), "stderr lacks '\(mentions)': \(run.stderr)", file: file, line: line)
        XCTAssertFalse(run.stderr.contains("Fatal error"), run.stderr, file: file, line: line)
    }

    func testUnknownWeightEncoding() throws {
        let out = dir.appendingPathComponent("w.mci").path
        try assertFails(["train", pvd.path, "-o", out, "--weights", "f64"], mentions: "'f64' is invalid for '--weights")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testNegativeSplitGain() throws {
        let out = dir.appendingPathComponent("g.mci").path
        try assertFails(["train", pvd.path, "-o", out, "--split-gain=-1"], mentions: "--split-gain must be 0 or more dB")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testMissingFile() throws {
        try assertFails(["info", dir.appendingPathComponent("absent.mci").path], mentions: "absent.mci: no such file")
        try assertFails(["train", dir.appendingPathComponent("absent.pvd").path, "-o", model], mentions: "no such file")
    }

    func testWrongExtension() throws {
        let text = dir.appendingPathComponent("notes.txt")
        try Data("hello".utf8).write(to: text)
        try assertFails(["train", text.path, "-o", dir.appendingPathComponent("x.mci").path], mentions: "expected a .pvd, .vtu or .pvtu")
        try assertFails(["info", text.path], mentions: "expected an .mci")
        try assertFails(["train", pvd.path, "-o", dir.appendingPathComponent("x.bin").path], mentions: ".mci")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.mci").path))
    }

    func testCorruptModel() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: model))
        let broken = dir.appendingPathComponent("broken.mci")
        try bytes.prefix(bytes.count / 2).write(to: broken)
        try assertFails(["info", broken.path], mentions: "broken.mci")
        var flipped = bytes
        flipped[flipped.count - 10] ^= 0xFF
        try flipped.write(to: broken)
        try assertFails(["eval", broken.path, "--ground-truth", pvd.path], mentions: "broken.mci")
    }

    func testMismatchedGroundTruth() throws {
        let other = try temporaryFolder("other")
        defer { try? FileManager.default.removeItem(at: other) }
        let otherPVD = try SmallDataset.make(in: other, n: 5, steps: 2).pvd
        try assertFails(["eval", model, "--ground-truth", otherPVD.path], mentions: "points")
        let out = dir.appendingPathComponent("never")
        try assertFails(["export", model, "--vtu", out.path, "--ground-truth", otherPVD.path], mentions: "points")
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        XCTAssertTrue(leftovers.filter { $0.hasSuffix(".vtu") || $0.hasSuffix(".pvd") }.isEmpty, "\(leftovers)")
    }

    func testUnknownVariable() throws {
        try assertFails(["eval", model, "--ground-truth", pvd.path, "--variables", "density"], mentions: "unknown variable 'density'")
        try assertFails(["train", pvd.path, "-o", dir.appendingPathComponent("y.mci").path, "--variables", "density"],
                        mentions: "density")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("y.mci").path))
    }

    func testNonFiniteInputIsRefusedUnlessReplaced() throws {
        let other = try temporaryFolder("nan")
        defer { try? FileManager.default.removeItem(at: other) }
        let poisoned = try SmallDataset.make(in: other, n: 5, steps: 3, nanAt: (step: 2, point: 7)).pvd
        let out = other.appendingPathComponent("m.mci")
        try assertFails(["train", poisoned.path, "-o", out.path], mentions: "variable 'temperature' at time step 2")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        let replaced = try CLI.run(["train", poisoned.path, "-o", out.path, "--replace-nonfinite", "--clusters", "1",
                                    "--width", "4", "--max-epochs", "2", "--meta-steps", "0"])
        XCTAssertEqual(replaced.status, 0, replaced.stderr)
        XCTAssertTrue(replaced.stderr.contains("replaced 1 NaN/Inf"), replaced.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.path))
    }

    func testOutputFolderNotWritable() throws {
        let file = dir.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        try assertFails(["export", model, "--vtu", file.path], mentions: "not a folder")
        try assertFails(["export", model, "--vtu", file.appendingPathComponent("sub").path], mentions: "cannot create")
        try assertFails(["train", pvd.path, "-o", file.appendingPathComponent("m.mci").path], mentions: "cannot write")
    }

    func testNonFiniteTimesAreRejected() throws {
        for bad in ["nan", "inf", "-inf", "1,nan"] {
            try assertFails(["export", model, "--vtu", dir.appendingPathComponent("t").path, "--times=\(bad)"],
                            mentions: "is not a finite number")
        }
    }

    func testInterruptLeavesNoModel() throws {
        let big = try temporaryFolder("interrupt")
        defer { try? FileManager.default.removeItem(at: big) }
        let data = try SmallDataset.make(in: big, n: 14, steps: 6).pvd
        let out = big.appendingPathComponent("interrupted.mci")
        let run = try CLI.run(["train", data.path, "-o", out.path, "--max-epochs", "100000", "--threshold", "0"],
                              interruptAfter: 2.0)
        XCTAssertEqual(run.status, 130, run.stderr)
        XCTAssertTrue(run.stderr.contains("interrupted"), run.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: big.path)
        XCTAssertFalse(files.contains { $0.hasSuffix(".mci") || $0.hasSuffix(".tmp") }, "\(files)")
    }

    /// Ctrl-C during `export` over an earlier export leaves the old series or the new one,
    /// whole, and no temporaries (issue 24): interrupted while decoding, and interrupted the
    /// moment the first step of the new series is staged.
    func testInterruptedExportLeavesAWholeSeries() throws {
        let big = try temporaryFolder("export-interrupt")
        defer { try? FileManager.default.removeItem(at: big) }
        let data = try SmallDataset.make(in: big, n: 16, steps: 3).pvd
        let model = big.appendingPathComponent("m.mci").path
        XCTAssertEqual(try CLI.run(["train", data.path, "-o", model, "--clusters", "1", "--width", "4", "--trunk-blocks", "1",
                                    "--branch-blocks", "1", "--max-epochs", "1", "--meta-steps", "0", "-q"]).status, 0)
        func times(_ offset: Double) -> String { (0..<60).map { String(Double($0) * 0.01 + offset) }.joined(separator: ",") }
        func snapshot(_ folder: URL) throws -> [String: Data] {
            var out: [String: Data] = [:]
            for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
                out[name] = try Data(contentsOf: folder.appendingPathComponent(name))
            }
            return out
        }
        let reference = big.appendingPathComponent("reference")
        XCTAssertEqual(try CLI.run(["export", model, "--vtu", reference.path, "--times", times(0.005)]).status, 0)
        let new = try snapshot(reference)
        for whileStaging in [false, true] {
            let out = big.appendingPathComponent("out-\(whileStaging)")
            XCTAssertEqual(try CLI.run(["export", model, "--vtu", out.path, "--times", times(0)]).status, 0)
            let old = try snapshot(out)
            let process = Process()
            process.executableURL = CLI.executable
            process.arguments = ["export", model, "--vtu", out.path, "--times", times(0.005)]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            if whileStaging {
                let start = Date()
                while process.isRunning && Date().timeIntervalSince(start) < 30,
                      !((try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []).contains(where: { $0.hasPrefix(".") }) {
                    usleep(1000)
                }
            } else {
                usleep(20_000)
            }
            process.interrupt()
            process.waitUntilExit()
            let after = try snapshot(out)
            XCTAssertFalse(after.keys.contains { $0.hasPrefix(".") }, "temporaries left: \(after.keys.sorted())")
            XCTAssertTrue(after == old || after == new, "neither the old nor the new series (staging: \(whileStaging))")
            // 130: our handler; a SIGINT before the handler is installed ends the process at once
            if process.terminationStatus == 130 || process.terminationReason == .uncaughtSignal {
                XCTAssertTrue(after == old, "interrupted, yet the series changed")
            } else {
                XCTAssertEqual(process.terminationStatus, 0)
                XCTAssertTrue(after == new)
            }
        }
    }
}
