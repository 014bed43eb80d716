import CMPIShim
import Foundation
import MCINR

/// MPI behind the library's `Communicator` seam, bound at run time by `CMPIShim` (dlopen of
/// Open MPI only when an MPI launcher started the process), so the same binary runs with or
/// without MPI installed. Counts travel first (8 bytes per rank), then the bytes; MPI's counts
/// are ints, so one transfer is limited to 2 GiB per call (a clear error beyond).
final class MPICommunicator: Communicator {
    let rank: Int
    let size: Int
    /// Setting it also times the phases (`TrafficLog.enter`).
    var phase = "" { didSet { if phase != oldValue { traffic.enter(phase) } } }
    let traffic = TrafficLog()

    private init(rank: Int, size: Int) { self.rank = rank; self.size = size }

    /// MPI started when an MPI launcher started this process; nil otherwise (one process).
    static func start() throws -> MPICommunicator? {
        guard mcinr_mpi_launched() != 0 else { return nil }
        var message = [CChar](repeating: 0, count: 512)
        guard mcinr_mpi_init(&message, message.count) == 0 else {
            throw CLIError(String(cString: message))
        }
        return MPICommunicator(rank: Int(mcinr_mpi_rank()), size: Int(mcinr_mpi_size()))
    }

    func finalize() { _ = mcinr_mpi_finalize() }

    /// Prints the one message of a failed job (naming the rank) and ends every rank (MPI_Abort).
    /// `everyRank`: an error all ranks meet identically (a bad option): only rank 0 prints it.
    func abort(_ error: Error, everyRank: Bool = false) -> Never {
        if !everyRank || rank == 0 {
            let text = "mcinr-vtk: rank \(rank) of \(size): error: \(error)\n"
            FileHandle.standardError.write(text.data(using: .utf8)!)
        } else {
            Thread.sleep(forTimeInterval: 3)  // rank 0 prints and aborts the job meanwhile
        }
        mcinr_mpi_abort(1)
        exit(1)
    }

    private func check(_ code: Int32, _ call: String) throws {
        guard code == 0 else { throw CLIError("\(call) failed (MPI error \(code))") }
    }

    private func int32(_ value: Int, _ what: String) throws -> Int32 {
        guard value <= Int(Int32.max) else {
            throw CLIError("\(what): \(value) bytes in one MPI transfer (at most 2³¹ − 1); use more ranks")
        }
        return Int32(value)
    }

    func barrier() throws { try check(mcinr_mpi_quiet_barrier(500), "MPI_Ibarrier") }

    /// Every collective first waits for all ranks without spinning (`mcinr_mpi_quiet_barrier`):
    /// a rank that arrives early (rank 1 while rank 0 decodes a step, a rank whose clusters
    /// finished first) sleeps instead of taking a core from the ranks still working. Costs a
    /// fraction of a millisecond per collective; the collectives are few (rounds, steps).
    private func arrive() throws { try check(mcinr_mpi_quiet_barrier(500), "MPI_Ibarrier") }

    func allreduceMax(_ values: [Double]) throws -> [Double] {
        try arrive()
        var out = [Double](repeating: 0, count: values.count)
        try check(mcinr_mpi_allreduce_double(values, &out, Int32(values.count), 1), "MPI_Allreduce")
        traffic.add(phase, sent: 8 * values.count, received: 8 * values.count)
        return out
    }

    func broadcast(_ bytes: [UInt8], root: Int) throws -> [UInt8] {
        try arrive()
        var count = Int64(bytes.count)
        try check(mcinr_mpi_bcast_bytes(&count, 8, Int32(root)), "MPI_Bcast")
        var data = rank == root ? bytes : [UInt8](repeating: 0, count: Int(count))
        try check(mcinr_mpi_bcast_bytes(&data, try int32(data.count, "broadcast"), Int32(root)), "MPI_Bcast")
        traffic.add(phase, sent: rank == root ? data.count * (size - 1) : 0, received: rank == root ? 0 : data.count)
        return data
    }

    /// Every rank's byte count, in rank order.
    private func counts(_ mine: Int) throws -> [Int] {
        var value = Int64(mine)
        var all = [Int64](repeating: 0, count: size)
        try check(mcinr_mpi_allgather_bytes(&value, &all, 8), "MPI_Allgather")
        return all.map(Int.init)
    }

    private static func displacements(_ counts: [Int]) -> [Int] {
        var out: [Int] = [], running = 0
        for c in counts { out.append(running); running += c }
        return out
    }

    private func split(_ buffer: [UInt8], _ counts: [Int]) -> [[UInt8]] {
        var out: [[UInt8]] = [], start = 0
        for c in counts { out.append(Array(buffer[start ..< start + c])); start += c }
        return out
    }

    func allgather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        try arrive()
        let all = try counts(bytes.count)
        let total = all.reduce(0, +)
        var buffer = [UInt8](repeating: 0, count: total)
        let c32 = try all.map { try int32($0, "allgather") }
        let d32 = try Self.displacements(all).map { try int32($0, "allgather") }
        _ = try int32(total, "allgather")
        try check(mcinr_mpi_allgatherv_bytes(bytes, Int32(bytes.count), &buffer, c32, d32), "MPI_Allgatherv")
        traffic.add(phase, sent: bytes.count * (size - 1), received: total - bytes.count)
        return split(buffer, all)
    }

    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]] {
        try arrive()
        let all = try counts(bytes.count)
        let total = all.reduce(0, +)
        var buffer = [UInt8](repeating: 0, count: rank == root ? total : 0)
        let c32 = try all.map { try int32($0, "gather") }
        let d32 = try Self.displacements(all).map { try int32($0, "gather") }
        _ = try int32(total, "gather")
        try check(mcinr_mpi_gatherv_bytes(bytes, Int32(bytes.count), &buffer, c32, d32, Int32(root)), "MPI_Gatherv")
        traffic.add(phase, sent: rank == root ? 0 : bytes.count, received: rank == root ? total - bytes.count : 0)
        return rank == root ? split(buffer, all) : []
    }

    func alltoall(_ outgoing: [[UInt8]]) throws -> [[UInt8]] {
        try arrive()
        precondition(outgoing.count == size)
        var sendCounts = outgoing.map { Int64($0.count) }
        var receiveCounts = [Int64](repeating: 0, count: size)
        try check(mcinr_mpi_alltoall_bytes(&sendCounts, &receiveCounts, 8), "MPI_Alltoall")
        let incoming = receiveCounts.map(Int.init)
        let send = Array(outgoing.joined())
        var receive = [UInt8](repeating: 0, count: incoming.reduce(0, +))
        _ = try int32(send.count, "alltoall")
        _ = try int32(receive.count, "alltoall")
        let sc = outgoing.map { Int32($0.count) }, sd = Self.displacements(outgoing.map(\.count)).map { Int32($0) }
        let rc = incoming.map { Int32($0) }, rd = Self.displacements(incoming).map { Int32($0) }
        try check(mcinr_mpi_alltoallv_bytes(send, sc, sd, &receive, rc, rd), "MPI_Alltoallv")
        traffic.add(phase, sent: send.count - outgoing[rank].count, received: receive.count - incoming[rank])
        return split(receive, incoming)
    }
}
