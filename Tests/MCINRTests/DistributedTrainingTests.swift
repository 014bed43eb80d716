import Foundation
import INRCore
import MCIFormat
import MeshIO
import XCTest
@testable import MCINR

/// Distributed training (issue 18) through the `Communicator` seam, with R ranks as threads of
/// this process (`ThreadCommunicator`), so that the library's distributed path is checked
/// without MPI: the same bytes as one process for R = 2 and 3, including splits, undone splits
/// and the error-bounded residual. `Tests/mpi/run.sh` checks the same under mpirun.
final class DistributedTrainingTests: XCTestCase {
    func testStepBlocksCoverEveryStepOnceInRankOrder() {
        for steps in [0, 1, 5, 12] {
            for size in 1 ... 7 {
                let blocks = (0 ..< size).map { TrainingShard.steps(rank: $0, size: size, stepCount: steps) }
                XCTAssertEqual(blocks.flatMap { Array($0) }, Array(0 ..< steps), "\(steps) steps on \(size) ranks")
                XCTAssertLessThanOrEqual((blocks.map(\.count).max() ?? 0) - (blocks.map(\.count).min() ?? 0), 1)
            }
        }
    }

    func testClustersGoLargestFirstToTheLeastLoadedRank() {
        let paths = (0 ..< 6).map { ClusterPath(top: $0) }
        let owner = ClusterAssignment.assign(costs: [10, 70, 30, 30, 20, 40], tieBreak: paths, ranks: 3)
        // 70 → 0, 40 → 1, 30 (path 2) → 2, 30 (path 3) → 2 (30 < 40), 20 → 1 (40 < 60), 10 → 0 or … the least loaded
        XCTAssertEqual(owner[1], 0)
        XCTAssertEqual(owner[5], 1)
        XCTAssertEqual(owner[2], 2)
        XCTAssertEqual(owner[3], 2)
        XCTAssertEqual(owner[4], 1)
        var load = [0, 0, 0]
        for (job, cost) in [10, 70, 30, 30, 20, 40].enumerated() { load[owner[job]] += cost }
        XCTAssertEqual(load.max()! - load.min()!, 10, "balanced within the smallest job: \(load)")
        XCTAssertEqual(ClusterAssignment.assign(costs: [5, 5], tieBreak: Array(paths[0 ..< 2]), ranks: 4), [0, 1])
    }

    func testShardNormalisationEqualsTheWholeData() throws {
        let data = Fixtures.analyticField(points: 300, steps: 5)
        let whole = try Normalization(data: data)
        let ranks = try ThreadCommunicator.run(size: 3) { communicator -> Normalization in
            try Normalization(shard: Self.shard(data, communicator), communicator: communicator)
        }
        for n in ranks {
            XCTAssertEqual(n.componentMin, whole.componentMin)
            XCTAssertEqual(n.componentMax, whole.componentMax)
            XCTAssertEqual(n.bboxMin, whole.bboxMin)
            XCTAssertEqual(n.bboxMax, whole.bboxMax)
        }
    }

    func testSameBytesOnOneTwoAndThreeRanks() throws {
        let data = Fixtures.analyticField(points: 400, steps: 4)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mcinr-distributed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var splitting = EncodeOptions(training: Fixtures.fastConfig())
        splitting.training.clusters = 4
        splitting.training.splitThreshold = 0
        splitting.training.maxSplits = 3
        splitting.training.splitGainPerDoubling = 0.3   // some splits kept, some undone
        splitting.embedMesh = false
        var bounded = EncodeOptions(training: Fixtures.fastConfig())
        bounded.errorBound = .relative(0.02)
        // the mesh in chunks of 37 cells: each rank codes and verifies some; metrics from every rank
        var chunked = EncodeOptions(training: Fixtures.fastConfig())
        chunked.training.clusters = 5
        chunked.meshCoding = .chunked(cellsPerChunk: 37)
        // seams (#21): every round and the seam round train on band points other ranks hold,
        // also where split children move rank
        var seams = EncodeOptions(training: Fixtures.fastConfig())
        seams.training.clusters = 4
        seams.training.seamMargin = 0.3
        seams.training.seamEpochs = 2
        seams.embedMesh = false
        var seamsAndSplits = splitting
        seamsAndSplits.training.seamMargin = 0.3
        seamsAndSplits.training.seamEpochs = 2
        seamsAndSplits.training.seamBlendedFraction = 0.1  // the auto margin's narrowing, on every rank alike
        let mesh = Self.mesh(data)
        for (name, options) in [("splits", splitting), ("error-bounded", bounded), ("mesh chunks", chunked),
                                ("seams", seams), ("seams and splits", seamsAndSplits)] {
            let serialURL = folder.appendingPathComponent("\(name)-serial.mci")
            let serial = try Encoder.encode(data, mesh: mesh, to: serialURL, options: options)
            if name == "splits" { XCTAssertGreaterThan(serial.result.splits.count, 0, "the configuration must split") }
            // the bound makes every rank take part in an f16 and an int8 residual
            XCTAssertEqual(serial.weightChoices.map(\.encoding), name == "error-bounded" ? [.float16, .int8] : [.float16])
            let expected = try Data(contentsOf: serialURL)
            for size in [1, 2, 3] {
                let url = folder.appendingPathComponent("\(name)-\(size).mci")
                let ranks = try ThreadCommunicator.run(size: size) { communicator -> (EncodeSummary?, Int, Int, Int) in
                    var shard = Self.shard(data, communicator)
                    let summary = try Encoder.encode(shard: &shard, mesh: communicator.rank == 0 ? mesh : nil, to: url,
                                                     options: options, communicator: communicator)
                    let sent = { (phase: String) in communicator.traffic.entries.first { $0.phase == phase }?.sent ?? 0 }
                    return (summary, sent("rebalance"), sent("mesh coding"), sent("bands"))
                }
                let summaries = ranks.map(\.0)
                if (name == "splits" || name == "overlapping clusters") && size > 1 {
                    XCTAssertGreaterThan(ranks.map(\.1).reduce(0, +), 0, "split children move to idle ranks")
                }
                if name.hasPrefix("seams") {
                    XCTAssertEqual(ranks.map(\.3).reduce(0, +) > 0, size > 1, "band values travel between ranks, only there")
                }
                if name == "mesh chunks" {
                    // every rank sent the chunks it coded to rank 0
                    XCTAssertTrue(ranks.dropFirst().allSatisfy { $0.2 > 0 }, "\(ranks.map(\.2))")
                    XCTAssertNotNil(summaries[0]?.metrics)
                }
                XCTAssertNotNil(summaries[0], "rank 0 returns the summary")
                XCTAssertTrue(summaries.dropFirst().allSatisfy { $0 == nil }, "the other ranks return nil")
                XCTAssertEqual(try Data(contentsOf: url), expected, "\(name): \(size) rank(s) wrote other bytes than one process")
                XCTAssertEqual(summaries[0]?.metrics, serial.metrics)
                XCTAssertEqual(summaries[0]?.weightChoices.map(\.storedBytes), serial.weightChoices.map(\.storedBytes))
                if options.cellsPerChunkCodedBeforeTraining != nil {
                    // as the CLI does: the ranks code the mesh first, and rank 0 keeps no cells
                    let coded = folder.appendingPathComponent("\(name)-\(size)-coded.mci")
                    _ = try ThreadCommunicator.run(size: size) { communicator -> Bool in
                        var shard = Self.shard(data, communicator)
                        let payload = try DistributedMeshCoding.code(mesh: communicator.rank == 0 ? MCIMesh(mesh) : nil,
                                                                     points: shard.points, options: options,
                                                                     communicator: communicator)
                        XCTAssertEqual(payload != nil, communicator.rank == 0)
                        return try Encoder.encode(shard: &shard, mesh: nil, codedMesh: payload, to: coded, options: options,
                                                  communicator: communicator) != nil
                    }
                    XCTAssertEqual(try Data(contentsOf: coded), expected, "\(name): \(size) rank(s), the mesh coded first")
                }
            }
        }
    }

    func testSharedMetaLearningIsRefusedOnSeveralRanks() throws {
        let data = Fixtures.analyticField(points: 200, steps: 2)
        var options = EncodeOptions(training: Fixtures.fastConfig())
        options.training.metaSharing = .shared
        options.embedMesh = false
        let errors = try ThreadCommunicator.run(size: 2) { communicator -> String in
            var shard = Self.shard(data, communicator)
            do {
                _ = try Encoder.encode(shard: &shard, mesh: nil, to: URL(fileURLWithPath: "/nonexistent/x.mci"),
                                       options: options, communicator: communicator)
                return "no error"
            } catch { return "\(error)" }
        }
        for e in errors { XCTAssertTrue(e.contains("shared meta-learning"), e) }
    }

    // MARK: - helpers

    /// Rank `communicator.rank`'s shard of `data`: its block of steps.
    static func shard(_ data: TrainingData, _ communicator: Communicator) -> TrainingShard {
        let steps = TrainingShard.steps(rank: communicator.rank, size: communicator.size, stepCount: data.timeCount)
        let stepSize = data.pointCount * data.componentCount
        return TrainingShard(variables: data.variables, points: data.points, times: data.times, cellCount: data.cellCount,
                             steps: steps, values: Array(data.values[steps.lowerBound * stepSize ..< steps.upperBound * stepSize]))
    }

    /// Tetrahedra over consecutive point quadruples (the residual needs a mesh, not a good one).
    static func mesh(_ data: TrainingData) -> Mesh {
        let n = data.pointCount
        return Mesh.tetrahedra(points: data.points, tets: (0 ..< n - 3).flatMap { [$0, $0 + 1, $0 + 2, $0 + 3] })
    }
}

/// R ranks as threads of one process: every collective is an all-to-all through a shared
/// mailbox between two barriers.
final class ThreadCommunicator: Communicator {
    final class Hub: @unchecked Sendable {
        let size: Int
        var mailbox: [[[UInt8]]]
        private let condition = NSCondition()
        private var arrived = 0, generation = 0

        init(size: Int) { self.size = size; mailbox = Array(repeating: Array(repeating: [], count: size), count: size) }

        func barrier() {
            condition.lock(); defer { condition.unlock() }
            let mine = generation
            arrived += 1
            if arrived == size {
                arrived = 0; generation += 1; condition.broadcast()
            } else {
                while generation == mine { condition.wait() }
            }
        }

        func put(_ rank: Int, _ outgoing: [[UInt8]]) { condition.lock(); mailbox[rank] = outgoing; condition.unlock() }
        func take(_ rank: Int) -> [[UInt8]] { condition.lock(); defer { condition.unlock() }; return mailbox.map { $0[rank] } }
    }

    let rank: Int
    var size: Int { hub.size }
    var phase = ""
    let traffic = TrafficLog()
    private let hub: Hub

    init(rank: Int, hub: Hub) { self.rank = rank; self.hub = hub }

    /// Runs `body` on `size` ranks (threads) and returns each rank's result in rank order.
    static func run<T>(size: Int, _ body: @escaping (ThreadCommunicator) throws -> T) throws -> [T] {
        let hub = Hub(size: size)
        let results = ResultSlots<Result<T, Error>>(count: size)
        let group = DispatchGroup()
        for rank in 0 ..< size {
            group.enter()
            let thread = Thread {
                results[rank] = Result { try body(ThreadCommunicator(rank: rank, hub: hub)) }
                group.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return try results.values.map { try $0.get() }
    }

    func barrier() { hub.barrier() }

    func alltoall(_ outgoing: [[UInt8]]) -> [[UInt8]] {
        hub.put(rank, outgoing)
        hub.barrier()
        let incoming = hub.take(rank)
        hub.barrier()
        traffic.add(phase, sent: outgoing.enumerated().reduce(0) { $0 + ($1.offset == rank ? 0 : $1.element.count) },
                    received: incoming.enumerated().reduce(0) { $0 + ($1.offset == rank ? 0 : $1.element.count) })
        return incoming
    }

    func allreduceMax(_ values: [Double]) -> [Double] {
        let all = allgather(values.withUnsafeBytes { Array($0) })
        return values.indices.map { i in all.map { $0.withUnsafeBytes { $0.load(fromByteOffset: 8 * i, as: Double.self) } }.max()! }
    }

    func broadcast(_ bytes: [UInt8], root: Int) -> [UInt8] {
        alltoall(Array(repeating: rank == root ? bytes : [], count: size))[root]
    }

    func allgather(_ bytes: [UInt8]) -> [[UInt8]] { alltoall(Array(repeating: bytes, count: size)) }

    func gather(_ bytes: [UInt8], root: Int) -> [[UInt8]] {
        var outgoing = [[UInt8]](repeating: [], count: size)
        outgoing[root] = bytes
        let incoming = alltoall(outgoing)
        return rank == root ? incoming : []
    }
}
