import Foundation

/// What the pipeline reports while it runs. Cluster ids are tree paths ("7", "7.0.1").
public enum ProgressEvent: Sendable {
    /// A training round begins (round 0: the top-level clusters; round r: children of splits).
    case roundStarted(round: Int, clusters: Int, totalPlanned: Int)
    case clusterStarted(path: ClusterPath, points: Int)
    case metaStep(path: ClusterPath, step: Int, of: Int)
    case epoch(path: ClusterPath, epoch: Int, loss: Double, bestLoss: Double)
    case clusterFinished(path: ClusterPath, mse: Double, epochs: Int, seconds: Double)
    case clusterSplit(parent: ClusterPath, mse: Double, childPoints: (Int, Int))
    /// A split's children did not gain enough to pay for their network; the parent's is kept.
    case splitUndone(parent: String, gainDB: Double, requiredDB: Double)
    case finished(seconds: Double)
    /// After training: metrics of the stored model through the decoder.
    case evaluating
    /// Error-bounded mode: the residual is being quantised and coded for the weights as stored
    /// in `weights` (f16, int8: with `--weights auto` once for each).
    case errorBounding(points: Int, steps: Int, weights: String)
    /// Error-bounded mode: `done` of `total` steps of a stage (`ErrorBoundedEncoder.Stage`:
    /// planning, coding, verifying) of the residual begun by the last `errorBounding`.
    case errorBoundingStep(stage: String, attempt: Int, done: Int, total: Int)
    /// Error-bounded mode: `dataStreams` of `streams` quantise the data itself, so a network
    /// for `ratio` (`EncodeOptions.triesSmallerNetwork`) is trained too; a new training follows.
    case smallerNetwork(dataStreams: Int, streams: Int, errorInBounds: Double, ratio: Double)
}

/// "phase: done/total steps | elapsed s | ETA s", the one format of a phase counted in steps
/// (the CLI's `StepProgress` and the error-bounded stages here).
public func stepProgressLine(_ phase: String, done: Int, total: Int, elapsed: Double) -> String {
    var line = "\(phase): \(done)/\(total) steps | \(String(format: "%.0f", elapsed)) s"
    if done > 0 && done < total {
        line += String(format: " | ETA %.0f s", elapsed / Double(done) * Double(total - done))
    }
    return line
}

/// Receives events, possibly from several worker threads at once: implementations must be
/// thread-safe.
public protocol ProgressReporter: AnyObject, Sendable {
    func report(_ event: ProgressEvent)
}

/// A reporter that forwards to a closure (calls serialised by a lock).
public final class ClosureProgressReporter: ProgressReporter, @unchecked Sendable {
    private let lock = NSLock()
    private let handler: (ProgressEvent) -> Void

    public init(_ handler: @escaping (ProgressEvent) -> Void) { self.handler = handler }

    public func report(_ event: ProgressEvent) {
        lock.lock(); defer { lock.unlock() }
        handler(event)
    }
}

/// Renders progress on stderr: a live, rewritten line on a terminal; a plain line every few
/// seconds (and at each cluster's end) otherwise; nothing in quiet mode.
public final class TerminalProgressRenderer: ProgressReporter, @unchecked Sendable {
    public enum Mode: Sendable { case automatic, live, plain, quiet }

    private let lock = NSLock()
    private let live: Bool
    private let quiet: Bool
    private let plainInterval: Double
    private let write: (String) -> Void
    private let start = Date()
    private var lastPlain = Date.distantPast
    private var lastLive = Date.distantPast

    private var totalPlanned = 0
    private var done = 0
    private var running: Set<ClusterPath> = []
    private var splits = 0
    private var round = 0
    private var bestLoss: [ClusterPath: Double] = [:]
    private var doneMSE: [Double] = []
    private var lineLength = 0
    private var stageStart = (stage: "", attempt: 0, at: Date())

    /// - Parameters:
    ///   - mode: `.automatic` is live when stderr is a terminal (isatty), plain otherwise.
    ///   - write: where text goes (default: stderr); tests capture it.
    public init(mode: Mode = .automatic, plainIntervalSeconds: Double = 10,
                write: ((String) -> Void)? = nil) {
        switch mode {
        case .automatic: live = isatty(STDERR_FILENO) != 0; quiet = false
        case .live: live = true; quiet = false
        case .plain: live = false; quiet = false
        case .quiet: live = false; quiet = true
        }
        plainInterval = plainIntervalSeconds
        self.write = write ?? { text in FileHandle.standardError.write(text.data(using: .utf8)!) }
    }

    public func report(_ event: ProgressEvent) {
        guard !quiet else { return }
        lock.lock(); defer { lock.unlock() }
        var force = false
        switch event {
        case .roundStarted(let r, _, let planned):
            round = r; totalPlanned = planned; force = true
        case .clusterStarted(let path, _):
            running.insert(path)
        case .metaStep:
            break
        case .epoch(let path, _, _, let best):
            bestLoss[path] = best
        case .clusterFinished(let path, let mse, _, _):
            running.remove(path); done += 1; doneMSE.append(mse); bestLoss[path] = nil
            force = !live
        case .clusterSplit:
            splits += 1
        case .splitUndone:
            splits -= 1
        case .evaluating:
            emit("evaluating through the decoder…", final: false, force: true)
            return
        case .errorBounding(let points, let steps, let weights):
            emit("error-bounded mode: quantising the residual at \(points) points × \(steps) steps (\(weights) weights)",
                 final: true, force: true)
            return
        case .errorBoundingStep(let stage, let attempt, let done, let total):
            let now = Date()
            if (stage, attempt) != (stageStart.stage, stageStart.attempt) { stageStart = (stage, attempt, now) }
            let elapsed = now.timeIntervalSince(stageStart.at)
            let phase = "error-bounded \(stage)" + (attempt > 1 ? " (attempt \(attempt))" : "")
            emit(stepProgressLine(phase, done: done, total: total, elapsed: elapsed), final: false, force: false)
            return
        case .smallerNetwork(let data, let streams, let errorInBounds, let ratio):
            emit("error-bounded mode: \(data) of \(streams) streams quantise the data itself, the network's RMS error is "
                 + String(format: "%.1f", errorInBounds) + "× the bound; training a smaller network too "
                 + "(ratio \(Int(ratio.rounded())), --no-smaller-network to skip it)", final: true, force: true)
            (done, running, splits, round, bestLoss, doneMSE) = (0, [], 0, 0, [:], [])  // the new training's counts
            return
        case .finished(let seconds):
            emit(statusLine() + String(format: " — finished in %.1f s", seconds), final: true, force: true)
            return
        }
        emit(statusLine(), final: false, force: force)
    }

    private func statusLine() -> String {
        let elapsed = Date().timeIntervalSince(start)
        var parts = ["clusters \(done)/\(max(totalPlanned, done))", "round \(round)", "splits \(splits)",
                     "running \(running.count)"]
        if let best = bestLoss.values.min() { parts.append(String(format: "best loss %.3e", best)) }
        if !doneMSE.isEmpty {
            parts.append(String(format: "mean MSE %.3e", doneMSE.reduce(0, +) / Double(doneMSE.count)))
        }
        if done > 0, totalPlanned > done {
            let eta = elapsed / Double(done) * Double(totalPlanned - done)
            parts.append(String(format: "ETA %.0f s", eta))
        }
        parts.append(String(format: "%.0f s", elapsed))
        return parts.joined(separator: " | ")
    }

    private func emit(_ line: String, final: Bool, force: Bool) {
        let now = Date()
        if live {
            guard force || final || now.timeIntervalSince(lastLive) >= 0.2 else { return }
            lastLive = now
            let padding = String(repeating: " ", count: max(0, lineLength - line.count))
            lineLength = line.count
            write("\r" + line + padding + (final ? "\n" : ""))
        } else {
            guard force || final || now.timeIntervalSince(lastPlain) >= plainInterval else { return }
            lastPlain = now
            write(line + "\n")
        }
    }
}
