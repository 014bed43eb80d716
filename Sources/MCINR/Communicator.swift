import Foundation

/// The seam between the pipeline and MPI (DESIGN "Scale"): the few collectives distributed
/// training makes. Every rank calls the same collectives in the same order; a rank that
/// fails ends the job (the front end calls `abort`), so no rank waits for a peer that will
/// never come. `SerialCommunicator` is the one-process case (the library's default and the
/// unit tests'); the CLI's `MPICommunicator` binds MPI at run time.
public protocol Communicator: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// The phase that transfers are counted under (`traffic`).
    var phase: String { get set }
    /// Bytes this rank sent and received per phase, in the order phases were first used.
    var traffic: TrafficLog { get }

    func barrier() throws
    /// Element-wise over ranks; the same array on every rank.
    func allreduceMax(_ values: [Double]) throws -> [Double]
    /// `bytes` of `root` on every rank.
    func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8]
    /// Every rank's bytes, in rank order, on every rank.
    func allgather(_ bytes: [UInt8]) throws -> [[UInt8]]
    /// Every rank's bytes in rank order on `root`; [] elsewhere.
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]
    /// `outgoing[r]` goes to rank r; returns what each rank sent to this one, in rank order.
    func alltoall(_ outgoing: [[UInt8]]) throws -> [[UInt8]]
}

/// Bytes sent and received, and seconds spent (wall and this process's CPU), per phase (for
/// the benchmark and `--json`).
public final class TrafficLog: @unchecked Sendable {
    public struct Entry: Sendable {
        public var phase: String
        public var sent: Int
        public var received: Int
        public var seconds: Double
        /// CPU seconds of the whole process (all its threads) in the phase: the time the phase
        /// would take on dedicated cores, whatever else the machine runs.
        public var cpuSeconds: Double
    }
    public private(set) var entries: [Entry] = []
    private var current: (phase: String, since: Date, cpu: Double)?

    public init() {}

    public func add(_ phase: String, sent: Int, received: Int, seconds: Double = 0, cpuSeconds: Double = 0) {
        if let i = entries.firstIndex(where: { $0.phase == phase }) {
            entries[i].sent += sent; entries[i].received += received; entries[i].seconds += seconds
            entries[i].cpuSeconds += cpuSeconds
        } else {
            entries.append(Entry(phase: phase, sent: sent, received: received, seconds: seconds, cpuSeconds: cpuSeconds))
        }
    }

    /// Starts timing `phase` (the time since the previous call goes to the previous phase).
    public func enter(_ phase: String) {
        let now = Date(), cpu = Self.processCPUSeconds()
        if let current {
            add(current.phase, sent: 0, received: 0, seconds: now.timeIntervalSince(current.since), cpuSeconds: cpu - current.cpu)
        }
        current = (phase, now, cpu)
    }

    /// CPU time of this process, all threads (user + system).
    public static func processCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

/// One process: every collective returns its input.
public final class SerialCommunicator: Communicator {
    public let rank = 0
    public let size = 1
    public var phase = ""
    public let traffic = TrafficLog()

    public init() {}
    public func barrier() {}
    public func allreduceMax(_ values: [Double]) -> [Double] { values }
    public func broadcast(_ bytes: [UInt8], root: Int) -> [UInt8] { bytes }
    public func allgather(_ bytes: [UInt8]) -> [[UInt8]] { [bytes] }
    public func gather(_ bytes: [UInt8], root: Int) -> [[UInt8]] { [bytes] }
    public func alltoall(_ outgoing: [[UInt8]]) -> [[UInt8]] { outgoing }
}

extension Communicator {
    /// True on every rank when `flag` is true on any: decisions that change control flow
    /// (stop, fail) are reduced first, so that ranks never disagree.
    func any(_ flag: Bool) throws -> Bool { try allreduceMax([flag ? 1 : 0])[0] > 0 }
}

// MARK: - Byte packing (the floats travel as their bits: same values on every rank)

struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func int(_ v: Int) { withUnsafeBytes(of: Int64(v).littleEndian) { bytes += $0 } }
    mutating func floats(_ values: [Float]) {
        int(values.count)
        values.withUnsafeBytes { bytes += $0 }
    }
    mutating func floats(_ values: UnsafeBufferPointer<Float>) {
        int(values.count)
        bytes += UnsafeRawBufferPointer(values)
    }
    mutating func data(_ d: [UInt8]) { int(d.count); bytes += d }
    mutating func doubles(_ values: [Double]) {
        int(values.count)
        values.withUnsafeBytes { bytes += $0 }
    }
}

struct ByteReader {
    let bytes: [UInt8]
    var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func int() throws -> Int {
        guard position + 8 <= bytes.count else { throw MCINRError.invalidInput("a message from another rank ends early") }
        var v: Int64 = 0
        withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: bytes[position ..< position + 8]) }
        position += 8
        return Int(Int64(littleEndian: v))
    }
    mutating func floats() throws -> [Float] { try values() }
    mutating func doubles() throws -> [Double] { try values() }
    /// A count, then that many values of T.
    private mutating func values<T: BinaryFloatingPoint>() throws -> [T] {
        let n = try int(), size = MemoryLayout<T>.size
        guard n >= 0, n <= (bytes.count - position) / size else { throw MCINRError.invalidInput("a message from another rank ends early") }
        var out = [T](repeating: .zero, count: n)
        out.withUnsafeMutableBytes { $0.copyBytes(from: bytes[position ..< position + size * n]) }
        position += size * n
        return out
    }
    mutating func data() throws -> [UInt8] {
        let n = try int()
        guard n >= 0, position + n <= bytes.count else { throw MCINRError.invalidInput("a message from another rank ends early") }
        defer { position += n }
        return Array(bytes[position ..< position + n])
    }
}
