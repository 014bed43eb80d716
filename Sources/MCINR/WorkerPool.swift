import Foundation
import COpenBLAS

/// Runs jobs on worker threads that pull the next job from a shared queue. Each job writes its
/// own result slot, so results do not depend on which thread ran what.
enum WorkerPool {
    /// Runs `body(job)` for every job in `order` (first = taken first) on `threads` threads.
    static func run(order: [Int], threads: Int, body: @escaping @Sendable (Int) -> Void) {
        let workers = max(1, min(threads, order.count))
        if workers == 1 {
            for job in order { body(job) }
            return
        }
        let queue = JobQueue(order)
        let group = DispatchGroup()
        for _ in 0 ..< workers {
            group.enter()
            let thread = Thread {
                while let job = queue.next() { body(job) }
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
    }

    /// Cores available to this process.
    static var coreCount: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Keeps BLAS single-threaded while `body` runs (we parallelise over clusters ourselves),
    /// then restores the previous setting.
    static func withSingleThreadedBLAS<T>(_ body: () throws -> T) rethrows -> T {
        let previous = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(previous) }
        return try body()
    }
}

private final class JobQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let order: [Int]
    private var position = 0

    init(_ order: [Int]) { self.order = order }

    func next() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard position < order.count else { return nil }
        defer { position += 1 }
        return order[position]
    }
}
