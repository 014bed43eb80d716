import Foundation

/// Whether `--time-budget` stopped training before the clusters converged, and what more
/// time would buy: the user's basis for planning a budget (issue 16).
public struct BudgetReport: Sendable, Codable, Equatable {
    /// One cluster the budget stopped (its final training, as the file keeps its network).
    public struct CutCluster: Sendable, Codable, Equatable {
        public var path: String
        public var epochs: Int
        /// Relative fall of the epoch loss over the last quarter of its epochs, per 100
        /// epochs (0.05: 5 % lower per 100 epochs); nil with fewer than 8 epochs.
        public var lossFallPer100Epochs: Double?
        /// Epochs the plateau rule needs at the least before it can declare convergence:
        /// `patience` × (learning-rate halvings left + 1).
        public var epochsToConvergeAtLeast: Int
        /// Those epochs at this cluster's pace on this machine (nil without a timing).
        public var secondsToConvergeAtLeast: Double?
    }

    public var budgetSeconds: Double
    public var clusters: Int
    public var cut: [CutCluster]
    /// The cut clusters' `secondsToConvergeAtLeast`, shared by the training threads: a lower
    /// bound of the extra budget that convergence needs.
    public var extraSecondsAtLeast: Double?

    public var stoppedByBudget: Bool { !cut.isEmpty }
}

extension PipelineResult {
    /// nil without a time budget. Seconds appear only for cut clusters, so a run that
    /// converged within its budget keeps the same bytes for the same input.
    public func budgetReport() -> BudgetReport? {
        guard let budget = config.timeBudgetSeconds else { return nil }
        var cut: [BudgetReport.CutCluster] = []
        for leaf in tree.leaves {
            guard let record = clusters.last(where: { $0.node == leaf }), record.training.stop == .timeBudget else { continue }
            let curve = record.training.lossCurve
            var fall: Double?
            if curve.count >= 8 {
                let tail = Array(curve.suffix(curve.count / 4))
                let half = tail.count / 2
                let early = tail[..<half].reduce(0, +) / Double(half)
                let late = tail[half...].reduce(0, +) / Double(tail.count - half)
                let span = Double(tail.count) / 2
                if early > 0 && late > 0 { fall = (1 - late / early) * 100 / span }
            }
            let epochsLeft = config.patience * max(1, config.plateauReductions - record.training.plateauReductions + 1)
            // the pace of its training epochs (meta-learning's time taken out)
            let trainingSeconds = record.seconds - (record.meta?.seconds ?? 0)
            let pace = record.training.epochs > 0 && trainingSeconds > 0 ? trainingSeconds / Double(record.training.epochs) : nil
            cut.append(BudgetReport.CutCluster(path: record.path, epochs: record.training.epochs, lossFallPer100Epochs: fall,
                                               epochsToConvergeAtLeast: epochsLeft,
                                               secondsToConvergeAtLeast: pace.map { $0 * Double(epochsLeft) }))
        }
        let threads = Double(max(1, min(config.threads > 0 ? config.threads : WorkerPool.coreCount, max(cut.count, 1))))
        let perCluster = cut.compactMap(\.secondsToConvergeAtLeast)
        let extra = !cut.isEmpty && perCluster.count == cut.count
            ? max(perCluster.max() ?? 0, perCluster.reduce(0, +) / threads) : nil
        return BudgetReport(budgetSeconds: budget, clusters: tree.leaves.count, cut: cut, extraSecondsAtLeast: extra)
    }
}

extension BudgetReport {
    /// As `train --json` prints it (the file's JSON section has the same fields, camel-cased).
    public var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "budget_seconds": budgetSeconds, "clusters": clusters, "stopped_by_budget": stoppedByBudget,
            "clusters_cut": cut.map { c -> [String: Any] in
                var entry: [String: Any] = ["path": c.path, "epochs": c.epochs, "epochs_to_converge_at_least": c.epochsToConvergeAtLeast]
                if let f = c.lossFallPer100Epochs { entry["loss_fall_per_100_epochs"] = f }
                if let s = c.secondsToConvergeAtLeast { entry["seconds_to_converge_at_least"] = s }
                return entry
            },
        ]
        if let extra = extraSecondsAtLeast { object["extra_seconds_at_least"] = extra }
        return object
    }

    /// One line for people: what the budget did, and what more time would need.
    public var summaryLine: String {
        guard stoppedByBudget else {
            return "time budget: every cluster converged within \(String(format: "%.0f", budgetSeconds)) s"
        }
        let falls = cut.compactMap(\.lossFallPer100Epochs)
        let trend = falls.isEmpty ? "" : String(format: "; their loss still fell %.1f %% per 100 epochs (median)",
                                                100 * falls.sorted()[falls.count / 2])
        let extra = extraSecondsAtLeast.map { String(format: "; converging needs at least ~%.0f s more on this machine (raise --time-budget)", $0) } ?? ""
        return "time budget: \(String(format: "%.0f", budgetSeconds)) s stopped \(cut.count) of \(clusters) clusters before they converged (\(cut.map(\.path).joined(separator: ", ")))\(trend)\(extra)"
    }
}
