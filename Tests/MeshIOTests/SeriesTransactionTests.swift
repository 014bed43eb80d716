import XCTest
@testable import MeshIO

/// A series is replaced as a whole or not at all (issue 24): an interruption or a failure while
/// the new series is written leaves the old one byte for byte, with no temporaries; a crash
/// during the renames is finished from the journal by the next writer.
final class SeriesTransactionTests: XCTestCase {
    private var folder: URL!
    private var original: Dataset!

    override func setUpWithError() throws {
        folder = try makeScratchFolder(self)
        original = try DatasetReader.read(Fixtures.url("series.pvd"))
    }

    override func tearDown() { SeriesTransaction.interruptRequested = 0 }

    /// Every file in the folder and its bytes (hidden ones included).
    private func snapshot() throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            out[name] = try Data(contentsOf: folder.appendingPathComponent(name))
        }
        return out
    }

    private func changed(_ d: Dataset) -> Dataset {
        var d = d
        d.variables[0].values = d.variables[0].values.map { $0.map { $0 + 1 } }
        return d
    }

    func testInterruptWhileStagingKeepsTheOldSeries() throws {
        let pvd = folder.appendingPathComponent("out.pvd")
        try original.write(pvd: pvd)
        let before = try snapshot()
        XCTAssertThrowsError(try changed(original).write(pvd: pvd, extraPointArrays: { s in
            if s == 1 { SeriesTransaction.interruptRequested = 1 }
            return []
        })) { error in
            guard case MeshIOError.interrupted = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try snapshot(), before, "the old series, byte for byte, and no temporaries")
        XCTAssertEqual(SeriesTransaction.staging, 0)
    }

    func testFailureWhileStagingKeepsTheOldSeries() throws {
        let pvd = folder.appendingPathComponent("out.pvd")
        try original.write(pvd: pvd, companions: [(name: "metrics.json", data: Data("{}".utf8))])
        let before = try snapshot()
        struct DiskFull: Error {}
        XCTAssertThrowsError(try changed(original).write(pvd: pvd, extraPointArrays: { s in
            if s == 2 { throw DiskFull() }
            return []
        }, companions: [(name: "metrics.json", data: Data("{\"new\": 1}".utf8))]))
        XCTAssertEqual(try snapshot(), before)
    }

    func testCommitReplacesEverythingAndLeavesNoTemporaries() throws {
        let pvd = folder.appendingPathComponent("out.pvd")
        try original.write(pvd: pvd)
        let new = changed(original)
        try new.write(pvd: pvd, companions: [(name: "metrics.json", data: Data("{}".utf8))])
        XCTAssertEqual(try DatasetReader.read(pvd).variables[0].values, new.variables[0].values)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        XCTAssertEqual(names, ["metrics.json", "out.pvd", "out_0000.vtu", "out_0001.vtu", "out_0002.vtu"])
    }

    /// A crash between the journal and the last rename: the next transaction in the folder
    /// finishes the renames first.
    func testJournalFinishesAnInterruptedCommit() throws {
        let final = folder.appendingPathComponent("a.txt"), temporary = folder.appendingPathComponent(".a.txt.tmp-1")
        try Data("old".utf8).write(to: final)
        try Data("new".utf8).write(to: temporary)
        try Data(".a.txt.tmp-1\ta.txt\n.gone.tmp-1\tgone.txt\n".utf8)
            .write(to: SeriesTransaction.journalURL(in: folder))
        let transaction = try SeriesTransaction(folder: folder)
        transaction.abort()
        XCTAssertEqual(try String(contentsOf: final, encoding: .utf8), "new")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["a.txt"])
    }
}
