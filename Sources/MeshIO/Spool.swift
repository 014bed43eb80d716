import Foundation

/// An unlinked scratch file next to the output: compressed blocks are parked here while a
/// file is assembled, so that a step's output (and a series' mesh blocks, written once for
/// every step) does not stay resident. Nothing remains on disk when the process ends, however
/// it ends. Reads and writes use explicit offsets, so concurrent readers need no lock.
public final class Spool: @unchecked Sendable {
    private let fd: Int32
    private let lock = NSLock()
    private var end: Int64 = 0
    /// Named in errors: the file whose output is being assembled.
    private let naming: String

    /// A spool in `folder` (the output's folder: same file system, and the space the user
    /// expects the output to use).
    public init(folder: URL, naming: String) throws {
        self.naming = naming
        var template = Array(folder.appendingPathComponent(".mcinr-spool-XXXXXX").path.utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw MeshIOError.writeFailed(file: naming, reason: "scratch file in \(folder.path): " + String(cString: strerror(errno)))
        }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        self.fd = fd
    }

    deinit { close(fd) }

    /// Bytes written so far.
    public var size: Int64 { lock.lock(); defer { lock.unlock() }; return end }

    /// Reserves `count` bytes at the end (written later with `write(_:at:)`); returns where.
    public func reserve(_ count: Int) -> Int64 {
        lock.lock(); defer { lock.unlock() }
        let start = end
        end += Int64(count)
        return start
    }

    /// Writes `data` at `offset` (inside a reserved range).
    public func write(_ data: Data, at offset: Int64) throws {
        try data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw MeshIOError.writeFailed(file: naming, reason: "scratch file: " + String(cString: strerror(errno)))
                }
                done += n
            }
        }
    }

    /// Appends `parts` one after the other; returns where they lie. Thread-safe.
    public func append(_ parts: [Data]) throws -> Range<Int64> {
        let start = reserve(parts.reduce(0) { $0 + $1.count })
        var at = start
        for data in parts {
            try write(data, at: at)
            at += Int64(data.count)
        }
        return start ..< at
    }

    /// Copies `range` to the file descriptor `out` at its current position, 1 MiB at a time.
    func copy(_ range: Range<Int64>, to out: Int32, naming target: String) throws {
        for at in stride(from: range.lowerBound, to: range.upperBound, by: 1 << 20) {
            let chunk = try read(at ..< min(range.upperBound, at + (1 << 20)))
            try chunk.withUnsafeBytes { try FilePiece.writeAll(out, $0, naming: target) }
        }
    }

    /// The bytes of `range`, in memory.
    func read(_ range: Range<Int64>) throws -> Data {
        var out = Data(count: Int(range.count))
        var done = 0
        try out.withUnsafeMutableBytes { raw in
            while done < raw.count {
                let n = pread(fd, raw.baseAddress! + done, raw.count - done, off_t(range.lowerBound) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw MeshIOError.writeFailed(file: naming, reason: "scratch file: " + (n < 0 ? String(cString: strerror(errno)) : "short read"))
                }
                done += n
            }
        }
        return out
    }
}

/// Part of a file being written: bytes in memory, or a range of a spool.
public enum FilePiece: @unchecked Sendable {
    case bytes(Data)
    case spooled(Spool, Range<Int64>)

    public var count: Int {
        switch self {
        case .bytes(let d): return d.count
        case .spooled(_, let r): return Int(r.count)
        }
    }

    /// Writes the piece to `fd` at its current position (`naming`: the file, for errors).
    func write(to fd: Int32, naming: String) throws {
        switch self {
        case .bytes(let data): try data.withUnsafeBytes { try Self.writeAll(fd, $0, naming: naming) }
        case .spooled(let spool, let range): try spool.copy(range, to: fd, naming: naming)
        }
    }

    /// The piece's bytes in memory.
    public func data() throws -> Data {
        switch self {
        case .bytes(let d): return d
        case .spooled(let spool, let range): return try spool.read(range)
        }
    }

    static func writeAll(_ fd: Int32, _ raw: UnsafeRawBufferPointer, naming: String) throws {
        var offset = 0
        while offset < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw MeshIOError.writeFailed(file: naming, reason: String(cString: strerror(errno)))
            }
            offset += n
        }
    }
}
