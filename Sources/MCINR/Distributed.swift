import Foundation
import INRCore

/// A rank's share of the training input under distributed training (issue 18): every
/// point's coordinates and every step's time (cheap, replicated: k-means, the tree and the
/// split decisions are computed identically on every rank), and the field values of one
/// contiguous block of steps (`TrainingShard.steps`), the expensive part, read by this rank
/// alone. With one rank the shard is the whole `TrainingData`.
public struct TrainingShard: Sendable {
    public var variables: [TrainingData.Variable]
    /// Mesh points, xyz interleaved (3 N), every rank.
    public var points: [Double]
    /// Every step's time (T).
    public var times: [Double]
    public var cellCount: Int
    /// The steps whose values this rank holds.
    public var steps: Range<Int>
    /// Values of `steps`: `values[(k · N + p) · C + c]` for step `steps.lowerBound + k`.
    public var values: [Float]

    public init(variables: [TrainingData.Variable], points: [Double], times: [Double], cellCount: Int,
                steps: Range<Int>, values: [Float]) {
        self.variables = variables; self.points = points; self.times = times; self.cellCount = cellCount
        self.steps = steps; self.values = values
    }

    /// The whole data as one rank's shard (no copy of the values).
    public init(_ data: TrainingData) {
        self.init(variables: data.variables, points: data.points, times: data.times, cellCount: data.cellCount,
                  steps: 0 ..< data.timeCount, values: data.values)
    }

    /// The steps rank `rank` of `size` reads: a contiguous block, the first `T mod R` ranks one
    /// more (so blocks follow rank order, which keeps reductions in step order).
    public static func steps(rank: Int, size: Int, stepCount: Int) -> Range<Int> {
        let base = stepCount / size, extra = stepCount % size
        let start = rank * base + min(rank, extra)
        return start ..< start + base + (rank < extra ? 1 : 0)
    }

    public var pointCount: Int { points.count / 3 }
    public var componentCount: Int { variables.reduce(0) { $0 + $1.components } }
    public var timeCount: Int { times.count }
    public var componentNames: [String] {
        TrainingData(variables: variables, points: [], times: [], values: []).componentNames
    }

    /// `TrainingData.validate`'s checks on this rank's part; step indices are global.
    public func validate() throws {
        // variables, points and times as TrainingData checks them (its values check is ours)
        try TrainingData(variables: variables, points: points, times: times,
                         values: [], cellCount: cellCount).validateAllButValues()
        let n = pointCount, c = componentCount
        guard values.count == steps.count * n * c else {
            throw MCINRError.invalidInput("steps \(steps.lowerBound)…\(steps.upperBound - 1): \(values.count) values, expected \(steps.count)·\(n)·\(c)")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            let component = bad % c, p = (bad / c) % n, step = steps.lowerBound + bad / (c * n)
            throw MCINRError.invalidInput("component '\(componentNames[component])' is not finite at point \(p), time step \(step)")
        }
    }
}

extension TrainingData {
    /// `validate()` without the values' checks (a shard checks its own).
    func validateAllButValues() throws {
        guard !times.isEmpty else { throw MCINRError.invalidInput("no time steps") }
        var probe = self
        probe.times = [times[0]]  // one step of zeros: cheap
        probe.values = [Float](repeating: 0, count: pointCount * componentCount)
        try probe.validate()
        for i in times.indices.dropFirst() where !(times[i] > times[i - 1]) {
            throw MCINRError.invalidInput("time values are not strictly increasing at step \(i)")
        }
    }
}

extension Normalizer {
    /// `Normalizer(data:)` from the ranks' shards: the same bounding box (replicated points)
    /// and each component's min and max, reduced over the ranks in rank order (= step order,
    /// so ties between −0 and +0 resolve as in one process).
    init(shard: TrainingShard, communicator: Communicator) throws {
        let n = shard.pointCount, c = shard.componentCount
        var lo = [Double](repeating: .infinity, count: 3), hi = [Double](repeating: -.infinity, count: 3)
        for i in 0 ..< n {
            for d in 0 ..< 3 { lo[d] = Swift.min(lo[d], shard.points[i * 3 + d]); hi[d] = Swift.max(hi[d], shard.points[i * 3 + d]) }
        }
        var cmin = [Double](repeating: .infinity, count: c), cmax = [Double](repeating: -.infinity, count: c)
        shard.values.withUnsafeBufferPointer { values in
            for row in 0 ..< shard.steps.count * n {
                for k in 0 ..< c {
                    let v = Double(values[row * c + k])
                    cmin[k] = Swift.min(cmin[k], v); cmax[k] = Swift.max(cmax[k], v)
                }
            }
        }
        var writer = ByteWriter()
        writer.floats((cmin + cmax).map { Float($0) })  // values are Float: exact
        var foldedMin = [Double](repeating: .infinity, count: c), foldedMax = [Double](repeating: -.infinity, count: c)
        for message in try communicator.allgather(writer.bytes) {
            var reader = ByteReader(message)
            let bounds = try reader.floats().map(Double.init)
            for k in 0 ..< c {
                foldedMin[k] = Swift.min(foldedMin[k], bounds[k]); foldedMax[k] = Swift.max(foldedMax[k], bounds[c + k])
            }
        }
        guard let t0 = shard.times.min(), let t1 = shard.times.max() else { throw INRError.invalidData("no time steps") }
        try self.init(bboxMin: lo, bboxMax: hi, timeMin: t0, timeMax: t1, componentMin: foldedMin, componentMax: foldedMax)
    }
}

/// Which rank owns which points, and this rank's values of its points for every step, after
/// the one move from step blocks (as read) to cluster owners.
final class DistributedFields: @unchecked Sendable {
    /// Mesh point indices each rank owns, ascending (the same on every rank).
    let ownedPoints: [[Int]]
    let rank: Int
    let componentCount: Int
    /// Row of each mesh point in `values` on this rank, −1 if another rank owns it.
    let localRow: [Int32]
    /// `values[(t · localPointCount + row) · C + c]`, every step.
    let values: [Float]
    var localPointCount: Int { ownedPoints[rank].count }

    init(ownedPoints: [[Int]], rank: Int, componentCount: Int, localRow: [Int32], values: [Float]) {
        self.ownedPoints = ownedPoints; self.rank = rank; self.componentCount = componentCount
        self.localRow = localRow; self.values = values
    }

    /// Moves the values from the shards (a block of steps per rank, all points) to the
    /// owners (all steps, their points): one exchange per step of the largest block, each
    /// rank sending the step it holds at that position, cut by destination.
    static func redistribute(_ shard: inout TrainingShard, pointOwner: [Int32], communicator: Communicator) throws -> DistributedFields {
        let size = communicator.size, rank = communicator.rank
        let n = shard.pointCount, c = shard.componentCount, steps = shard.timeCount
        var owned = [[Int]](repeating: [], count: size)
        for p in 0 ..< n { owned[Int(pointOwner[p])].append(p) }
        var localRow = [Int32](repeating: -1, count: n)
        for (row, p) in owned[rank].enumerated() { localRow[p] = Int32(row) }
        let local = owned[rank].count
        let blocks = (0 ..< size).map { TrainingShard.steps(rank: $0, size: size, stepCount: steps) }
        var values = [Float](repeating: 0, count: steps * local * c)
        let rounds = blocks.map(\.count).max() ?? 0
        for k in 0 ..< rounds {
            var outgoing = [[UInt8]](repeating: [], count: size)
            if k < shard.steps.count {
                shard.values.withUnsafeBufferPointer { source in
                    let stepBase = k * n * c
                    for destination in 0 ..< size {
                        var message = [Float](repeating: 0, count: owned[destination].count * c)
                        for (i, p) in owned[destination].enumerated() {
                            for j in 0 ..< c { message[i * c + j] = source[stepBase + p * c + j] }
                        }
                        outgoing[destination] = message.withUnsafeBytes { Array($0) }
                    }
                }
            }
            let incoming = try communicator.alltoall(outgoing)
            for (sender, message) in incoming.enumerated() where k < blocks[sender].count {
                let step = blocks[sender].lowerBound + k
                guard message.count == local * c * 4 else {
                    throw MCINRError.invalidInput("rank \(sender) sent \(message.count) bytes of step \(step), expected \(local * c * 4)")
                }
                values.withUnsafeMutableBytes { target in
                    target.baseAddress!.advanced(by: step * local * c * 4).copyMemory(from: message, byteCount: message.count)
                }
            }
        }
        shard.values = []  // the fields are held once, by their owners, from here on
        return DistributedFields(ownedPoints: owned, rank: rank, componentCount: c, localRow: localRow, values: values)
    }

    /// Step `step`, every point (N × C, mesh order) on `root`, nil on the other ranks: each
    /// rank sends its points' values (every rank calls this for the same steps in order).
    func gatherStep(_ step: Int, root: Int, communicator: Communicator) throws -> [Float]? {
        let c = componentCount, local = localPointCount
        let mine = values.withUnsafeBytes { Array($0[step * local * c * 4 ..< (step + 1) * local * c * 4]) }
        let parts = try communicator.gather(mine, root: root)
        guard communicator.rank == root else { return nil }
        let n = localRow.count
        var out = [Float](repeating: 0, count: n * c)
        for (sender, part) in parts.enumerated() {
            let points = ownedPoints[sender]
            guard part.count == points.count * c * 4 else {
                throw MCINRError.invalidInput("rank \(sender) sent \(part.count) bytes of step \(step), expected \(points.count * c * 4)")
            }
            part.withUnsafeBytes { raw in
                let floats = raw.bindMemory(to: Float.self)
                for (i, p) in points.enumerated() {
                    for j in 0 ..< c { out[p * c + j] = floats[i * c + j] }
                }
            }
        }
        return out
    }
}

/// Cluster ownership: clusters assigned to ranks by estimated cost (their sample count: the
/// epochs are the same for every cluster), largest first, each to the least loaded rank
/// (ties: the lower rank), so that the ranks finish together. Deterministic: the same on every
/// rank. A split's children stay with their parent's owner (their values are there).
enum ClusterAssignment {
    static func assign(costs: [Int], tieBreak: [ClusterPath], ranks: Int) -> [Int] {
        var load = [Int](repeating: 0, count: ranks)
        var owner = [Int](repeating: 0, count: costs.count)
        let order = costs.indices.sorted { a, b in costs[a] != costs[b] ? costs[a] > costs[b] : tieBreak[a] < tieBreak[b] }
        for job in order {
            let target = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            owner[job] = target
            load[target] += costs[job]
        }
        return owner
    }
}

extension MCINRPipeline.JobOutcome {
    /// The outcome as bytes for the other ranks: the record (binary property list: every
    /// Double and Float exact) and the parameters' bits.
    func encoded() throws -> [UInt8] {
        let encoder = PropertyListEncoder()
        encoder.outputFormat = .binary
        var writer = ByteWriter()
        writer.data(Array(try encoder.encode(record)))
        writer.floats(parameters)
        return writer.bytes
    }

    static func decoded(_ reader: inout ByteReader) throws -> Self {
        let record = try PropertyListDecoder().decode(ClusterRecord.self, from: Data(try reader.data()))
        return Self(record: record, parameters: try reader.floats())
    }
}
