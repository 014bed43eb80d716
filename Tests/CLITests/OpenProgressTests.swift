import Foundation
import XCTest

/// Opening a model in `info`, `eval` and `export` (issue 24): an open that takes more than a
/// second shows its progress on stderr, and Ctrl-C during it ends the command cleanly (a
/// message, exit status 130, nothing written), through the C decoder's abort. The slow open is
/// a trusted `stream-work` file (`tools/make_test_mci.py --hostile`): validating its RESIDUAL
/// (which `info` does at open) takes about a minute, so the interrupt always lands inside the
/// open.
final class OpenProgressTests: XCTestCase {
    private static var dir: URL!

    override class func setUp() {
        super.setUp()
        do {
            dir = try temporaryFolder("open-progress")
            for (name, args) in [("stream-work", ["--hostile", "stream-work"]),
                                 ("small", ["--mesh", "tiny", "--seed", "1"])] {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                let tool = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                    .deletingLastPathComponent().appendingPathComponent("tools/make_test_mci.py")
                p.arguments = ["python3", tool.path, dir.appendingPathComponent(name + ".mci").path] + args
                try p.run()
                p.waitUntilExit()
                XCTAssertEqual(p.terminationStatus, 0, "make_test_mci.py \(name)")
            }
        } catch {
            XCTFail("cannot make the test files: \(error)")
        }
    }

    override class func tearDown() {
        if let dir { try? FileManager.default.removeItem(at: dir) }
        super.tearDown()
    }

    private func path(_ name: String) -> String { Self.dir.appendingPathComponent(name + ".mci").path }

    /// Runs mcinr-vtk, waits until its stderr shows `line` (at most 60 s), sends SIGINT, and
    /// returns the exit status, stderr and the seconds from the interrupt to the exit.
    private func interruptWhenShown(_ arguments: [String], line: String) throws -> (status: Int32, signalled: Bool,
                                                                                     stderr: String, seconds: Double) {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["OPENBLAS_NUM_THREADS": "1"]) { $1 }
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        let collected = Collected()
        let reader = Thread {
            while true {
                let chunk = err.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                collected.append(chunk)
            }
        }
        try process.run()
        reader.start()
        func stderr() -> String { collected.text }
        let deadline = Date().addingTimeInterval(60)
        while !stderr().contains(line) && process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertTrue(stderr().contains(line), "no '\(line)' on stderr: \(stderr())")
        let interrupted = Date()
        process.interrupt()
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(interrupted)
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal, stderr(), seconds)
    }

    func testCtrlCDuringInfoOpen() throws {
        let r = try interruptWhenShown(["info", path("stream-work"), "--trust-large-files"],
                                       line: "opening stream-work.mci: ")
        XCTAssertFalse(r.signalled, "ended by a signal, not by the handler: \(r.stderr)")
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertTrue(r.stderr.contains("mcinr-vtk: interrupted while opening \(path("stream-work")); nothing was written"),
                      r.stderr)
        XCTAssertLessThan(r.seconds, 10, "the open did not stop at its next checkpoint")
    }

    /// export opens without validating the residual (each stream is checked when a step
    /// decodes it), so the open is quick and the interrupt lands in the decoding.
    func testCtrlCDuringExportWritesNothing() throws {
        let out = Self.dir.appendingPathComponent("export-out")
        let r = try interruptWhenShown(["export", path("stream-work"), "--vtu", out.path, "--trust-large-files",
                                        "--threads", "2"], line: "decoding")
        XCTAssertFalse(r.signalled, r.stderr)
        XCTAssertEqual(r.status, 130, r.stderr)
        XCTAssertFalse(r.stderr.contains("opening stream-work.mci"), "the open validated the residual: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("interrupted"), r.stderr)
        XCTAssertLessThan(r.seconds, 10)
        let written = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
        XCTAssertEqual(written, [], "export wrote \(written)")
    }

    /// A quick open shows no progress line.
    func testQuickOpenIsQuiet() throws {
        let r = try CLI.run(["info", path("small")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("opening"), r.stderr)
    }
}

/// Bytes read on one thread while another looks at them.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ chunk: Data) { lock.lock(); data.append(chunk); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
}
