import Foundation
import XCTest

/// A run that `--time-budget` stops before its clusters converge says so, in the summary and
/// in the file (`info`), with what more time would need (issue 16).
final class BudgetTests: XCTestCase {
    func testBudgetCutRunReportsItself() throws {
        let dir = try temporaryFolder("budget")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pvd = try SmallDataset.make(in: dir, n: 12, steps: 3).pvd
        let cut = dir.appendingPathComponent("cut.mci").path
        let run = try CLI.run(["train", pvd.path, "-o", cut, "--clusters", "2", "--width", "24", "--meta-steps", "0",
                                 "--time-budget", "0.4", "-q", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let budget = try XCTUnwrap(try CLI.json(run.stdout)["time_budget"] as? [String: Any])
        XCTAssertEqual(budget["stopped_by_budget"] as? Bool, true, "\(budget)")
        let clusters = try XCTUnwrap(budget["clusters_cut"] as? [[String: Any]])
        XCTAssertFalse(clusters.isEmpty)
        for c in clusters {
            XCTAssertGreaterThanOrEqual(c["epochs_to_converge_at_least"] as? Int ?? 0, 30, "at least one patience")
        }
        // an estimate needs a pace: at least one epoch in every cut cluster
        if clusters.allSatisfy({ ($0["epochs"] as? Int ?? 0) > 0 }) {
            XCTAssertGreaterThan(budget["extra_seconds_at_least"] as? Double ?? 0, 0)
        }

        let info = try CLI.json(try CLI.run(["info", cut, "--json"]).stdout)
        let stored = try XCTUnwrap(info["time_budget"] as? [String: Any])
        XCTAssertEqual(stored["stopped_by_budget"] as? Bool, true)
        XCTAssertEqual((stored["clusters_cut"] as? [Any])?.count, clusters.count)
        XCTAssertTrue(try CLI.run(["info", cut]).stdout.contains("before they converged"))

        // An epoch cap inside the budget is not a cut; without a budget there is no entry.
        let capped = dir.appendingPathComponent("capped.mci").path
        let cappedRun = try CLI.run(["train", pvd.path, "-o", capped, "--clusters", "1", "--width", "4", "--max-epochs", "2",
                                     "--meta-steps", "0", "--time-budget", "600", "-q", "--json"])
        XCTAssertEqual((try CLI.json(cappedRun.stdout)["time_budget"] as? [String: Any])?["stopped_by_budget"] as? Bool, false)
        let unbounded = dir.appendingPathComponent("unbounded.mci").path
        let unboundedRun = try CLI.run(["train", pvd.path, "-o", unbounded, "--clusters", "1", "--width", "4", "--max-epochs", "2",
                                        "--meta-steps", "0", "--time-budget", "0", "-q", "--json"])
        XCTAssertNil(try CLI.json(unboundedRun.stdout)["time_budget"])
        XCTAssertTrue(try CLI.json(try CLI.run(["info", unbounded, "--json"]).stdout)["time_budget"] is NSNull)
    }
}
