import Foundation

/// Writes a series of files (steps, then the `.pvd` and anything else) as one unit: after an
/// interruption, a full disk or a crash the folder holds either the old complete series or
/// the new one, never a mix, and no stray temporaries.
///
/// 1. `stage(_:as:)` writes each file to a hidden temporary in the destination folder, fsynced.
///    An error or `SeriesTransaction.interruptRequested` (set by a SIGINT handler) before the
///    commit removes every temporary; the old files are untouched.
/// 2. `commit()` writes a journal (temporary → final names, fsynced), blocks SIGINT/SIGTERM,
///    renames every temporary over its final name (renames need no space), fsyncs the folder
///    and removes the journal. Should the process die during the renames anyway (SIGKILL,
///    power), `recover(in:)` — run by the next writer into that folder — finishes them from
///    the journal.
public final class SeriesTransaction {
    /// Set from a signal handler to ask a transaction that is still staging to stop: the next
    /// `stage` call throws and the temporaries are removed. Async-signal-safe to write.
    nonisolated(unsafe) public static var interruptRequested: sig_atomic_t = 0
    /// 1 while some transaction has temporaries on disk (a SIGINT handler then asks it to stop
    /// instead of exiting at once).
    nonisolated(unsafe) public static var staging: sig_atomic_t = 0

    public let folder: URL
    private var staged: [(temporary: URL, final: URL)] = []
    private let lock = NSLock()
    private var finished = false
    private let tag = "\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    public init(folder: URL) throws {
        self.folder = folder
        try Self.recover(in: folder)
        Self.interruptRequested = 0
        Self.staging = 1
    }

    deinit { if !finished { abort() } }

    /// Writes `data` to a temporary that `commit` will rename to `name` (relative to the
    /// folder). Thread-safe: steps may be staged concurrently.
    public func stage(_ data: Data, as name: String) throws {
        try stage(pieces: [.bytes(data)], as: name)
    }

    /// The same for a file given as consecutive pieces (written one after the other, never
    /// joined in memory: a step's mesh blobs are shared by every step, and may lie in a spool).
    public func stage(pieces data: [FilePiece], as name: String) throws {
        if Self.interruptRequested != 0 { throw MeshIOError.interrupted(file: folder.appendingPathComponent(name).path) }
        let final = folder.appendingPathComponent(name)
        let temporary = folder.appendingPathComponent(".\(name).tmp-\(tag)")
        lock.lock(); staged.append((temporary, final)); lock.unlock()
        try Self.writeSynced(data, to: temporary, naming: final)
    }

    /// Renames every staged file to its final name, as one unit (see the type's description).
    public func commit() throws {
        if Self.interruptRequested != 0 { throw MeshIOError.interrupted(file: folder.path) }
        let journal = Self.journalURL(in: folder)
        let lines = staged.map { "\($0.temporary.lastPathComponent)\t\($0.final.lastPathComponent)" }
        try Self.writeSynced(Data((lines.joined(separator: "\n") + "\n").utf8), to: journal, naming: journal)
        var blocked = sigset_t(), previous = sigset_t()
        sigemptyset(&blocked); sigaddset(&blocked, SIGINT); sigaddset(&blocked, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        for (temporary, final) in staged where rename(temporary.path, final.path) != 0 {
            // Only an unusual folder (permissions changed meanwhile) gets here. The journal and
            // the remaining temporaries stay, so the next writer into the folder finishes.
            let reason = String(cString: strerror(errno))
            staged = []; finished = true; Self.staging = 0
            throw MeshIOError.writeFailed(file: final.path, reason: "rename: \(reason); the series is partly replaced, and the next export into \(folder.path) completes it from \(journal.lastPathComponent)")
        }
        staged = []
        Self.syncFolder(folder)
        unlink(journal.path)
        Self.syncFolder(folder)
        finished = true
        Self.staging = 0
    }

    /// Removes every temporary written so far (the old files were never touched).
    public func abort() {
        for (temporary, _) in staged { unlink(temporary.path) }
        staged = []
        finished = true
        Self.staging = 0
    }

    /// Finishes a commit that a crash interrupted (a journal left in `folder`): every
    /// temporary the journal lists that still exists is renamed to its final name.
    public static func recover(in folder: URL) throws {
        let journal = journalURL(in: folder)
        guard let text = try? String(contentsOf: journal, encoding: .utf8) else { return }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "\t").map(String.init)
            guard parts.count == 2, !parts[0].contains("/"), !parts[1].contains("/") else { continue }
            let temporary = folder.appendingPathComponent(parts[0]), final = folder.appendingPathComponent(parts[1])
            if FileManager.default.fileExists(atPath: temporary.path) { rename(temporary.path, final.path) }
        }
        syncFolder(folder)
        unlink(journal.path)
    }

    static func journalURL(in folder: URL) -> URL { folder.appendingPathComponent(".mcinr-series-journal") }

    /// Writes and fsyncs a file; errors name `naming` (the file the user asked for).
    static func writeSynced(_ data: Data, to url: URL, naming: URL) throws {
        try writeSynced([.bytes(data)], to: url, naming: naming)
    }

    static func writeSynced(_ pieces: [FilePiece], to url: URL, naming: URL) throws {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw MeshIOError.writeFailed(file: naming.path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var failure: String?
        do {
            for piece in pieces { try piece.write(to: fd, naming: naming.path) }
        } catch MeshIOError.writeFailed(_, let reason) {
            failure = reason
        } catch {
            failure = "\(error)"
        }
        if failure == nil && fsync(fd) != 0 { failure = "fsync: " + String(cString: strerror(errno)) }
        if let failure {
            unlink(url.path)
            throw MeshIOError.writeFailed(file: naming.path, reason: failure)
        }
    }

    static func syncFolder(_ folder: URL) {
        let fd = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}
