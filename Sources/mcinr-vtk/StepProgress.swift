import Foundation
import MCINR

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
    private var shown = false  // a line of the current phase was written

    init(quiet: Bool = false) { self.quiet = quiet }

    /// `done` of `total` steps of `phase` are finished (0 starts the phase).
    func update(_ phase: String, done: Int, total: Int) {
        guard !quiet else { return }
        lock.lock(); defer { lock.unlock() }
        let now = start(phase, now: Date())
        let elapsed = now.timeIntervalSince(phaseStart)
        emit(stepProgressLine(phase, done: done, total: total, elapsed: elapsed), now: now, finished: done >= total, plain: done > 0)
    }

    /// A phase measured as a fraction in [0, 1] (opening a model: the C decoder's progress):
    /// nothing until it has run `delay` seconds, so quick phases stay silent; then as above, with
    /// a percentage, and a last line at 1.
    func update(_ phase: String, fraction: Double, after delay: Double) {
        guard !quiet else { return }
        lock.lock(); defer { lock.unlock() }
        let now = start(phase, now: Date())
        let elapsed = now.timeIntervalSince(phaseStart)
        let finished = fraction >= 1
        guard shown || elapsed >= delay else { return }
        var line = "\(phase): \(String(format: "%.0f", 100 * min(max(fraction, 0), 1))) % | \(String(format: "%.0f", elapsed)) s"
        if fraction > 0.01 && !finished {
            line += String(format: " | ETA %.0f s", elapsed / fraction * (1 - fraction))
        }
        emit(line, now: now, finished: finished, plain: true)
    }

    /// Ends a live line left unfinished (an interrupted phase), so that a message starts on a
    /// line of its own.
    func interrupt() {
        lock.lock(); defer { lock.unlock() }
        if live && lineLength > 0 { FileHandle.standardError.write("\n".data(using: .utf8)!) }
        lineLength = 0
    }

    private func start(_ phase: String, now: Date) -> Date {
        if phase != self.phase { self.phase = phase; phaseStart = now; lastLine = .distantPast; shown = false }
        return now
    }

    /// Writes `line` if it is due: at the end of the phase, else every 0.2 s live, every 10 s
    /// plain (and in plain mode only where `plain`).
    private func emit(_ line: String, now: Date, finished: Bool, plain: Bool) {
        guard finished || now.timeIntervalSince(lastLine) >= (live ? 0.2 : 10) else { return }
        lastLine = now
        if live {
            let padding = String(repeating: " ", count: max(0, lineLength - line.count))
            lineLength = finished ? 0 : line.count
            FileHandle.standardError.write(("\r" + line + padding + (finished ? "\n" : "")).data(using: .utf8)!)
            shown = true
        } else if plain {
            FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
            shown = true
        }
    }
}
