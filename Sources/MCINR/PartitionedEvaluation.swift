import Foundation
import MCIFormat
import ModelDescription

/// Evaluation through the C decoder whose sums do not depend on how the points are spread over
/// ranks (issue 18), so one process and any number of ranks give the same floats while each
/// rank decodes only the points it holds.
///
/// Every sum is kept per *evaluation cell* — the top-level cluster a point routes to (its
/// nearest top-level centroid): a partition of the mesh points that every rank computes alike
/// and that distributed training keeps whole on one rank (`DistributedFields`). Inside a cell
/// the sums run in mesh order, and each cell is decoded by a call of its own (so its values
/// have the same last bits wherever it is decoded); the cells' sums are then combined in cell
/// order. Two passes, as the metrics need the means first: (1) Σy per cell, step and component → each step's mean and
/// the mean over all steps; (2) decode, then Σ(y−ŷ)², Σ(y−ȳ_step)², Σ(y−ȳ_all)², max |y−ŷ|.
/// Between the passes the ranks exchange their cells' sums (T × C doubles per cell).
enum PartitionedEvaluation {
    /// The evaluation cell of every mesh point (`points`: xyz interleaved, original
    /// coordinates): the index of its top-level cluster.
    static func cells(points: [Double], result: PipelineResult) -> [Int32] {
        let tree = result.tree, normalization = result.normalization
        let n = points.count / 3
        var cell = [Int32](repeating: 0, count: n)
        for p in 0 ..< n {
            let q = normalization.normalizedPoint(SIMD3(points[3 * p], points[3 * p + 1], points[3 * p + 2]))
            var best = 0, bestDistance = Double.infinity
            for index in 0 ..< tree.topCount {  // ClusterTree.route's first level: strict <, lowest index wins
                let d = KMeans.squaredDistance(q, tree.nodes[index].centroid)
                if d < bestDistance { bestDistance = d; best = index }
            }
            cell[p] = Int32(best)
        }
        return cell
    }

    /// The metrics on `communicator.rank == 0` (nil elsewhere).
    /// - `rows`: the mesh points this rank holds, ascending (nil: every point, one process);
    /// - `values`: their truth, `values[(s · rows + i) · C + c]`;
    /// - `cellOfPoint`: `cells(points:result:)` of every mesh point; the cells of `rows` must be
    ///   whole on this rank (checked: otherwise the sums would depend on the rank count).
    static func evaluate(decoder: MCIDecoder, points: [Double], rows: [Int]?, values: UnsafeBufferPointer<Float>,
                         cellOfPoint: [Int32], times: [Double], ranges: [Double], threads: Int,
                         communicator: Communicator) throws -> MetricsReport? {
        let n = points.count / 3, C = ranges.count, T = times.count
        let local = rows?.count ?? n
        precondition(values.count == T * local * C && cellOfPoint.count == n)
        let cellCount = Int(cellOfPoint.max() ?? 0) + 1
        var pointsInCell = [Int](repeating: 0, count: cellCount)
        for c in cellOfPoint { pointsInCell[Int(c)] += 1 }
        // this rank's cells, ascending, and the rows of each (ascending: mesh order); Int32 and
        // no copy of the points, as the fields may be large
        var localInCell = [Int](repeating: 0, count: cellCount)
        for i in 0 ..< local { localInCell[Int(cellOfPoint[rows?[i] ?? i])] += 1 }
        let ownCells = (0 ..< cellCount).filter { localInCell[$0] > 0 }
        for c in ownCells where localInCell[c] != pointsInCell[c] {
            throw MCINRError.invalidConfiguration("evaluation: rank \(communicator.rank) holds \(localInCell[c]) of the \(pointsInCell[c]) points of top-level cluster \(c)")
        }
        var slotOfCell = [Int](repeating: -1, count: cellCount)
        var cellRows = [[Int32]](repeating: [], count: ownCells.count)
        for (slot, c) in ownCells.enumerated() { slotOfCell[c] = slot; cellRows[slot].reserveCapacity(localInCell[c]) }
        for i in 0 ..< local { cellRows[slotOfCell[Int(cellOfPoint[rows?[i] ?? i])]].append(Int32(i)) }
        let stride = T * C  // per slot: [s][c]

        // Pass 1: Σy per cell, step, component; every rank gets every cell's sums.
        var sums = [Double](repeating: 0, count: ownCells.count * stride)
        for (slot, members) in cellRows.enumerated() {
            for s in 0 ..< T {
                let base = s * local * C, at = slot * stride + s * C
                for i in members {
                    for c in 0 ..< C { sums[at + c] += Double(values[base + Int(i) * C + c]) }
                }
            }
        }
        let allSums = try exchange(ownCells, sums, stride: stride, cellCount: cellCount, communicator: communicator, toAll: true)
        var stepMean = [Double](repeating: 0, count: stride), pooledMean = [Double](repeating: 0, count: C)
        for j in 0 ..< stride {
            var total = 0.0
            for cell in 0 ..< cellCount { if let s = allSums[cell] { total += s[j] } }
            stepMean[j] = total
        }
        for c in 0 ..< C {
            var total = 0.0
            for s in 0 ..< T { total += stepMean[s * C + c] }
            pooledMean[c] = total / Double(n * T)
        }
        for j in 0 ..< stride { stepMean[j] /= Double(n) }

        // Pass 2: decode, one call per cell and step (the decoder's last bits depend on how a
        // call's points are grouped: a cell decoded alone gives the same bits on any rank);
        // four sums per cell, step, component.
        // (a cell's coordinates gathered for each call: a cell's worth of memory, not a copy of all)
        func coordinates(_ members: [Int32]) -> [Double] {
            var xyz = [Double](repeating: 0, count: 3 * members.count)
            for (j, i) in members.enumerated() {
                let p = rows?[Int(i)] ?? Int(i)
                for a in 0 ..< 3 { xyz[3 * j + a] = points[3 * p + a] }
            }
            return xyz
        }
        var sse = [Double](repeating: 0, count: ownCells.count * stride)
        var sstStep = sse, sstPooled = sse, maxError = sse
        for (s, time) in times.enumerated() {
            let base = s * local * C
            for slot in ownCells.indices {
                let prediction: [Float]
                do {
                    prediction = try decoder.decode(points: coordinates(cellRows[slot]), time: time, threads: threads)
                } catch {
                    throw MCINRError.decoding("time step \(s): \(error)")
                }
                let at = slot * stride + s * C
                prediction.withUnsafeBufferPointer { predicted in
                    for (j, i) in cellRows[slot].enumerated() {
                        for c in 0 ..< C {
                            let y = Double(values[base + Int(i) * C + c])
                            let e = y - Double(predicted[j * C + c])
                            let d = y - stepMean[s * C + c], g = y - pooledMean[c]
                            sse[at + c] += e * e; sstStep[at + c] += d * d; sstPooled[at + c] += g * g
                            maxError[at + c] = max(maxError[at + c], abs(e))
                        }
                    }
                }
            }
        }
        var perCell = [Double]()  // per slot: the four sums one after another
        perCell.reserveCapacity(4 * sse.count)
        for slot in ownCells.indices {
            for array in [sse, sstStep, sstPooled, maxError] { perCell += array[slot * stride ..< (slot + 1) * stride] }
        }
        let gathered = try exchange(ownCells, perCell, stride: 4 * stride, cellCount: cellCount,
                                    communicator: communicator, toAll: false)
        guard communicator.rank == 0 else { return nil }
        var table = [[ComponentMetrics]](repeating: [], count: C)
        var pooledSSE = [Double](repeating: 0, count: C), pooledSST = pooledSSE
        for s in 0 ..< T {
            for c in 0 ..< C {
                let j = s * C + c
                var e2 = 0.0, d2 = 0.0, g2 = 0.0, largest = 0.0
                for cell in 0 ..< cellCount {
                    guard let sums = gathered[cell] else { continue }
                    e2 += sums[j]; d2 += sums[stride + j]; g2 += sums[2 * stride + j]
                    largest = max(largest, sums[3 * stride + j])
                }
                table[c].append(ComponentMetrics(sse: e2, sst: d2, count: n, maxAbsError: largest, range: ranges[c]))
                pooledSSE[c] += e2; pooledSST[c] += g2
            }
        }
        return MetricsReport(perComponent: table, pooledSSE: pooledSSE, pooledSST: pooledSST)
    }

    /// Each rank's cells' sums (`sums[slot · stride ..< (slot + 1) · stride]` for `cells[slot]`)
    /// on every rank (`toAll`) or on rank 0: the sums of cell k at [k], nil for a cell of no points.
    private static func exchange(_ cells: [Int], _ sums: [Double], stride: Int, cellCount: Int,
                                 communicator: Communicator, toAll: Bool) throws -> [[Double]?] {
        precondition(sums.count == cells.count * stride)
        var writer = ByteWriter()
        writer.int(cells.count)
        for (slot, cell) in cells.enumerated() {
            writer.int(cell)
            writer.doubles(Array(sums[slot * stride ..< (slot + 1) * stride]))
        }
        let messages = toAll ? try communicator.allgather(writer.bytes) : try communicator.gather(writer.bytes, root: 0)
        var out = [[Double]?](repeating: nil, count: cellCount)
        for (sender, message) in messages.enumerated() {
            var reader = ByteReader(message)
            for _ in 0 ..< (try reader.int()) {
                let cell = try reader.int(), values = try reader.doubles()
                guard (0 ..< cellCount).contains(cell), out[cell] == nil, values.count == stride else {
                    throw MCINRError.invalidInput("rank \(sender) sent the evaluation sums of cell \(cell) unexpectedly")
                }
                out[cell] = values
            }
        }
        return out
    }
}
