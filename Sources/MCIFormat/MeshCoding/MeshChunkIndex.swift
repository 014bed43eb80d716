import Foundation

/// The MESHX section (type 10, format 1.5; docs/mci-format.md, "MESHX"): an index of a MESHC
/// mesh — a grid of boxes over the model's bounding box and, per chunk, the boxes its points lie
/// in. The C decoder then evaluates the values at the mesh points box by box, so a parallel
/// reader's piece decodes only its own chunks and those that share a box with them, and still
/// gets the serial values bit for bit.
///
/// Built from the coded MESHC itself (decoded chunk by chunk through the C decoder), so it is
/// the same for a mesh coded before training, by several MPI ranks, or at write time.
enum MeshChunkIndex {
    /// Points per box the grid aims at: small against a chunk (about 11 000 points at 65 536
    /// tets), so that a piece's boxes reach little beyond its own chunks, and large enough that
    /// the decode's batches (a box's points grouped by network) stay long.
    static let pointsPerBox = 1024
    static let maxAxisBoxes = 1024
    static let maxBoxes = 1 << 20

    /// Boxes per axis and the splits between them: cells of about equal edge over [lo, hi],
    /// about `points / pointsPerBox` in all (an axis without extent gets one box).
    static func grid(lo: [Double], hi: [Double], points: Int) -> [[Double]] {
        let extent = (0..<3).map { hi[$0] > lo[$0] ? hi[$0] - lo[$0] : 0 }
        let axes = extent.filter { $0 > 0 }
        guard !axes.isEmpty else { return [[], [], []] }
        let target = Double(max(1, points / pointsPerBox))
        var edge = Foundation.pow(axes.reduce(1, *) / target, 1 / Double(axes.count))
        var counts = [Int](repeating: 1, count: 3)
        repeat {
            counts = extent.map { $0 > 0 ? max(1, min(maxAxisBoxes, Int(($0 / edge).rounded()))) : 1 }
            edge *= 1.25
        } while counts.reduce(1, *) > maxBoxes
        return (0..<3).map { a in
            var splits: [Double] = []
            for i in 1..<max(counts[a], 1) {
                let v = lo[a] + extent[a] * Double(i) / Double(counts[a])
                if splits.last.map({ v > $0 }) ?? true { splits.append(v) }
            }
            return splits
        }
    }

    /// The box of a point as the C decoder finds it: per axis the number of splits ≤ the
    /// coordinate, box = bx + G_x · (by + G_y · bz).
    static func box(_ p: ArraySlice<Double>, splits: [[Double]]) -> UInt32 {
        var index = 0, scale = 1
        for a in 0..<3 {
            let s = splits[a], v = p[p.startIndex + a]
            var lo = 0, hi = s.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if s[mid] <= v { lo = mid + 1 } else { hi = mid }
            }
            index += lo * scale
            scale *= s.count + 1
        }
        return UInt32(index)
    }

    /// The MESHX payload of the file `bytes` (which has a MESHC section and no MESHX), its grid
    /// over [lo, hi] (the model's bounding box).
    static func payload(indexing bytes: [UInt8], name: String, lo: [Double], hi: [Double], threads: Int) throws -> [UInt8] {
        let decoder = try MCIDecoder(bytes: bytes, name: name, options: .ownOutput)
        let K = decoder.meshChunkCount
        let splits = grid(lo: lo, hi: hi, points: decoder.meshPointCount)
        var boxes = [[UInt32]](repeating: [], count: K)
        let lock = NSLock()
        var failure: Error?
        let workers = max(1, min(threads, K))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for k in Swift.stride(from: worker, to: K, by: workers) {
                do {
                    let points = try decoder.meshChunk(k).mesh.points
                    let list = Set((0..<(points.count / 3)).map { box(points[(3 * $0)..<(3 * $0 + 3)], splits: splits) })
                    lock.lock(); boxes[k] = list.sorted(); lock.unlock()
                } catch {
                    lock.lock(); failure = failure ?? error; lock.unlock()
                    return
                }
            }
        }
        if let failure { throw failure }
        var w = ByteWriter()
        w.u32(UInt32(K))
        for a in 0..<3 { w.u32(UInt32(splits[a].count + 1)) }
        for a in 0..<3 { for v in splits[a] { w.f64(v) } }
        for list in boxes {
            w.u32(UInt32(list.count))
            for b in list { w.u32(b) }
        }
        return w.bytes
    }
}
