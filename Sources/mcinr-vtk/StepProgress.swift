import Foundation

/// Progress of a phase counted in steps (reading a series, decoding, comparing, writing), on
/// stderr with an ETA: a rewritten line on a terminal, otherwise a plain line every 10 s and
/// at the end, so that long work on a cluster's batch log is visible too.
final class StepProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let live = isatty(STDERR_FILENO) != 0
    private let quiet: Bool
    private var phase = ""
    private var phaseStart = Date()
    private var lastLine = Date.distantPast
    private var lineLength = 0

    init(quiet: Bool = false) { self.quiet = quiet }

    /// `done` of `total` steps of `phase` are finished (0 starts the phase).
    func update(_ phase: String, done: Int, total: Int) {
        guard !quiet else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        if phase != self.phase { self.phase = phase; phaseStart = now; lastLine = .distantPast }
        let finished = done >= total
        guard finished || now.timeIntervalSince(lastLine) >= (live ? 0.2 : 10) else { return }
        lastLine = now
        let elapsed = now.timeIntervalSince(phaseStart)
        var line = "\(phase): \(done)/\(total) steps | \(String(format: "%.0f", elapsed)) s"
        if done > 0 && !finished {
            line += String(format: " | ETA %.0f s", elapsed / Double(done) * Double(total - done))
        }
        if live {
            let padding = String(repeating: " ", count: max(0, lineLength - line.count))
            lineLength = finished ? 0 : line.count
            FileHandle.standardError.write(("\r" + line + padding + (finished ? "\n" : "")).data(using: .utf8)!)
        } else if done > 0 {
            FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
        }
    }
}
