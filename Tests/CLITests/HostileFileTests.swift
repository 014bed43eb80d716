import Foundation
import XCTest

/// Hostile `.mci` files (issue 24; `tools/make_test_mci.py --hostile`, docs/mci-format.md
/// "Limits"): `info`, `eval` and `export` answer each with a clean non-zero exit and a message
/// naming the section and the limit, within bounded memory (`ulimit -v`) and time, never with a
/// signal or a Swift fatal error; `--trust-large-files` opens a legitimately large file.
final class HostileFileTests: XCTestCase {
    private static var dir: URL!
    private static var pvd: URL!

    /// Every kind the decoder refuses by default, and what its message says.
    private static let refused: [(kind: String, mentions: String)] = [
        ("nested-mesh", "section MESH: stored compressed (flag bit 1), but its content is already compressed"),
        ("stream-work", "section RESIDUAL: validating 10000 non-empty streams"),
        ("long-chain", "every prediction chain restarts at the multiples of 8 steps"),
        ("weights", "section NETS: inflating the section would bring the memory of this open"),
        ("wide-tree", "section TREE: 200000 top-level nodes, beyond the limit of 4096"),
        ("deep-tree", "section TREE: node 129 lies at depth 65, beyond the limit of 64"),
        ("huge-bbox", "section META: the bounding box on axis 0, [-1e+308, 1e+308], is too large"),
        ("large-mesh", "section MESH: inflating the mesh would bring the memory of this open"),
    ]

    override class func setUp() {
        super.setUp()
        do {
            dir = try temporaryFolder("hostile")
            pvd = try SmallDataset.make(in: dir, n: 5, steps: 2).pvd
            for (kind, _) in refused { try generate(kind) }
            try generate("empty-streams", size: 2000)
            try generate("large-mesh", size: 40_000_000, as: "huge-mesh")
        } catch {
            XCTFail("cannot make the hostile files: \(error)")
        }
    }

    override class func tearDown() {
        if let dir { try? FileManager.default.removeItem(at: dir) }
        super.tearDown()
    }

    private static var repoRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    private static func generate(_ kind: String, size: Int? = nil, as name: String? = nil) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", repoRoot.appendingPathComponent("tools/make_test_mci.py").path,
                       dir.appendingPathComponent((name ?? kind) + ".mci").path, "--hostile", kind]
            + (size.map { ["--hostile-size", String($0)] } ?? [])
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CLIError("make_test_mci.py --hostile \(kind) failed") }
    }

    private struct CLIError: Error { let text: String; init(_ t: String) { text = t } }

    private struct Run {
        var status: Int32
        var signalled: Bool
        var timedOut: Bool
        var stderr: String
    }

    /// mcinr-vtk under `ulimit -v` (KiB) and a time limit.
    private func run(_ arguments: [String], memoryKiB: Int = 3 << 20, seconds: Double = 120) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "ulimit -v \(memoryKiB) && exec \"$0\" \"$@\"", CLI.executable.path] + arguments
        // one OpenBLAS thread: its per-thread buffers would count against ulimit -v on many cores
        p.environment = ProcessInfo.processInfo.environment.merging(["OPENBLAS_NUM_THREADS": "1"]) { $1 }
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let timer = DispatchWorkItem { p.terminate() }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: timer)
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let timedOut = timer.isCancelled == false && p.terminationReason == .uncaughtSignal
            && p.terminationStatus == SIGTERM
        timer.cancel()
        return Run(status: p.terminationStatus, signalled: p.terminationReason == .uncaughtSignal, timedOut: timedOut,
                   stderr: String(decoding: data, as: UTF8.self))
    }

    private func assertClean(_ r: Run, _ what: String, mentions: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(r.timedOut, "\(what): did not answer in time", file: file, line: line)
        XCTAssertFalse(r.signalled, "\(what): ended by signal \(r.status): \(r.stderr)", file: file, line: line)
        XCTAssertNotEqual(r.status, 0, "\(what): expected a failure", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "\(what): stderr lacks '\(mentions)': \(r.stderr)", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Fatal error"), "\(what): \(r.stderr)", file: file, line: line)
    }

    private func path(_ name: String) -> String { Self.dir.appendingPathComponent(name + ".mci").path }

    func testInfoRefusesEveryHostileFile() throws {
        for (kind, mentions) in Self.refused {
            assertClean(try run(["info", path(kind)]), "info \(kind)", mentions: mentions)
        }
    }

    func testEvalRefusesEveryHostileFile() throws {
        for (kind, mentions) in Self.refused {
            assertClean(try run(["eval", path(kind), "--ground-truth", Self.pvd.path]), "eval \(kind)", mentions: mentions)
        }
    }

    func testExportRefusesEveryHostileFileAndWritesNothing() throws {
        for (kind, mentions) in Self.refused {
            let out = Self.dir.appendingPathComponent("export-" + kind)
            assertClean(try run(["export", path(kind), "--vtu", out.path]), "export \(kind)", mentions: mentions)
            let written = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
            XCTAssertTrue(written.filter { $0.hasSuffix(".vtu") || $0.hasSuffix(".pvd") }.isEmpty, "\(kind): \(written)")
        }
    }

    /// The message names the opt-in where a limit (not the format) refuses the file.
    func testLimitMessagesNameTheOptIn() throws {
        for kind in ["stream-work", "weights", "wide-tree", "deep-tree", "large-mesh"] {
            assertClean(try run(["info", path(kind)]), "info \(kind)", mentions: "--trust-large-files")
        }
    }

    /// Trusted: the limits lifted, a legitimately large file opens and exports; format errors stay.
    func testTrustLargeFiles() throws {
        let info = try run(["info", path("large-mesh"), "--trust-large-files"])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertFalse(info.signalled)
        let out = Self.dir.appendingPathComponent("export-trusted")
        let export = try run(["export", path("large-mesh"), "--vtu", out.path, "--times", "0", "--trust-large-files"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("large-mesh.pvd").path))
        assertClean(try run(["info", path("nested-mesh"), "--trust-large-files"]), "trusted nested-mesh",
                    mentions: "nested compression is not allowed")
        assertClean(try run(["info", path("long-chain"), "--trust-large-files"]), "trusted long-chain",
                    mentions: "restarts at the multiples of 8 steps")
    }

    /// A link named .mci to /dev/zero (or a folder named .mci): refused before anything is read,
    /// not read until memory runs out.
    func testDeviceIsRefused() throws {
        let link = Self.dir.appendingPathComponent("zero.mci"), folder = Self.dir.appendingPathComponent("folder.mci")
        try? FileManager.default.removeItem(at: link)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/dev/zero")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (path, what) in [(link.path, "a character device"), (folder.path, "a folder")] {
            let started = Date()
            assertClean(try run(["info", path], memoryKiB: 1 << 20, seconds: 30), "info \(path)",
                        mentions: "\(path): not a regular file or a pipe (\(what))")
            XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        }
    }

    /// 2000 steps of empty RESIDUAL streams on 300000 points: valid, and opening costs nothing
    /// (the decoder before the limits looped over every point of every step).
    func testEmptyStreamsOpenAtOnce() throws {
        let started = Date()
        let info = try run(["info", path("empty-streams")], seconds: 60)
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 30)
    }

    /// A trusted file that declares 40 M mesh points, exported with too little memory: a clean
    /// out-of-memory error, not a signal. At 1.5 GB of address space the C decoder's open runs
    /// out; at 1.9 GB the open succeeds and the Swift side's size check (MCIDecoder.mesh) refuses
    /// the 960 MB point array that Swift's allocator would otherwise end the process on.
    func testTrustedHugeMeshUnderMemoryLimit() throws {
        let out = Self.dir.appendingPathComponent("export-huge")
        for (memory, mentions) in [(1_500_000, "section MESH: out of memory"),
                                   (1_900_000, "more memory than this process can allocate")] {
            let r = try run(["export", path("huge-mesh"), "--vtu", out.path, "--times", "0", "--trust-large-files"],
                            memoryKiB: memory)
            XCTAssertFalse(r.signalled, "ended by signal \(r.status): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
            XCTAssertNotEqual(r.status, 0, "40 M points cannot fit in \(memory) KiB of address space")
            XCTAssertTrue(r.stderr.contains("huge-mesh.mci") && r.stderr.contains("memory"), r.stderr)
            if !r.stderr.contains(mentions) { print("note: under \(memory) KiB: \(r.stderr)") }
        }
    }
}
