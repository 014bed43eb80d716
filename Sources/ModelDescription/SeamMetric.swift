/// How visible the boundaries between networks are (issue #21). For every edge (i, j) of a
/// cell and every component, the error of the decoded difference along the edge,
/// |(dᵢ − dⱼ) − (tᵢ − tⱼ)| / range (d decoded, t truth); the **seam ratio** of a component is
/// the mean of that error over edges whose two ends are routed to different networks divided by
/// its mean over edges inside one network, over every step added. 1 means the boundaries are
/// as smooth as the interiors; a seam shows as > 1.
///
/// Edges are every pair of points of a cell of at most 8 points (a tetrahedron's 6 edges;
/// larger cells also count their diagonals), counted once per cell that has them, as the
/// cells list them: no table of unique edges is built. The metric holds the cells compactly
/// (32-bit point ids; no offsets when every cell has as many points, as in a tetrahedral
/// mesh: 16 bytes per tet instead of the mesh's 40).
public struct SeamMetric: Sendable {
    public let ranges: [Double]
    /// The cells' point ids; cell c is `cellPoints[offsets[c] ..< offsets[c + 1]]`, or, with
    /// `offsets` empty, the `cellSize` ids from `cellSize · c`.
    private let cellPoints: [UInt32]
    private let offsets: [Int]
    private let cellSize: Int, cellCount: Int
    private let network: [Int32]
    private var across: [Double]
    private var within: [Double]
    /// Edge occurrences per step whose ends are on different networks / on one network.
    public private(set) var edgesAcross = 0
    public private(set) var edgesWithin = 0
    public private(set) var stepCount = 0

    /// The cells held compactly (MeshIO's `CompactCells`, whose arrays the metric shares rather
    /// than copies): cell c is `cellPoints[offsets[c] ..< offsets[c + 1]]`, or with `offsets`
    /// empty the `cellSize` ids from `cellSize · c`; `network[i]` the network point i is routed
    /// to; `ranges` the range of each component (as PSNR uses).
    public init(cellPoints: [UInt32], offsets: [Int], cellSize: Int, cellCount: Int, network: [Int32], ranges: [Double]) {
        precondition(offsets.isEmpty ? cellPoints.count == cellSize * cellCount : offsets.count == cellCount + 1)
        self.cellCount = cellCount
        self.cellSize = cellSize
        self.offsets = offsets
        self.cellPoints = cellPoints
        self.network = network; self.ranges = ranges
        across = [Double](repeating: 0, count: ranges.count); within = across
        var a = 0, w = 0
        forEachEdge { i, j in if network[i] != network[j] { a += 1 } else { w += 1 } }
        edgesAcross = a; edgesWithin = w
    }

    /// Every edge (i, j) of every cell of 2 … 8 points, over raw buffers: tens of millions of
    /// edges per step at 10⁷ point·steps.
    @inline(__always)
    private func forEachEdge(_ body: (Int, Int) -> Void) {
        offsets.withUnsafeBufferPointer { offsets in
            cellPoints.withUnsafeBufferPointer { conn in
                func edges(_ lo: Int, _ hi: Int) {
                    guard hi - lo >= 2 && hi - lo <= 8 else { return }
                    for x in lo ..< hi - 1 {
                        for y in x + 1 ..< hi { body(Int(conn[x]), Int(conn[y])) }
                    }
                }
                if offsets.isEmpty {
                    guard cellSize > 0 else { return }
                    for lo in stride(from: 0, to: cellCount * cellSize, by: cellSize) { edges(lo, lo + cellSize) }
                } else {
                    for cell in 0 ..< offsets.count - 1 { edges(offsets[cell], offsets[cell + 1]) }
                }
            }
        }
    }

    /// Adds one step: truth and prediction, n × C values each (point-major).
    public mutating func add(truth: UnsafeBufferPointer<Float>, prediction: UnsafeBufferPointer<Float>) {
        let c = ranges.count
        precondition(truth.count == prediction.count && truth.count == network.count * c)
        var stepAcross = [Double](repeating: 0, count: c), stepWithin = stepAcross
        network.withUnsafeBufferPointer { network in
            stepAcross.withUnsafeMutableBufferPointer { across in
                stepWithin.withUnsafeMutableBufferPointer { within in
                    forEachEdge { p, q in
                        let i = p * c, j = q * c
                        let sums = network[p] != network[q] ? across : within
                        for k in 0 ..< c {
                            let d = Double(prediction[i + k]) - Double(prediction[j + k])
                            let t = Double(truth[i + k]) - Double(truth[j + k])
                            sums[k] += abs(d - t)
                        }
                    }
                }
            }
        }
        for k in 0 ..< c where ranges[k] > 0 {
            across[k] += stepAcross[k] / ranges[k]
            within[k] += stepWithin[k] / ranges[k]
        }
        stepCount += 1
    }

    /// Per component: mean edge error across networks / mean inside one (nil where either set
    /// of edges is empty or the interior error is 0).
    public var ratios: [Double?] {
        zip(across, within).map { a, w in
            guard edgesAcross > 0, edgesWithin > 0, w > 0 else { return nil }
            return (a / Double(edgesAcross)) / (w / Double(edgesWithin))
        }
    }

    /// The median cell edge in the model's normalised coordinates (`medianNormalisedEdgeLength`).
    public func medianEdgeLength(points: [Double], boxMin: [Double], boxMax: [Double]) -> Double? {
        medianNormalisedEdgeLength(points: points, boxMin: boxMin, boxMax: boxMax, cellCount: cellCount) { cell in
            offsets.isEmpty ? (cell * cellSize, (cell + 1) * cellSize) : (offsets[cell], offsets[cell + 1])
        } pointID: { Int(cellPoints[$0]) }
    }

    /// Median and maximum of the defined ratios (nil if none is).
    public var summary: (median: Double, max: Double)? {
        let r = ratios.compactMap { $0 }.sorted()
        guard let last = r.last else { return nil }
        let median = r.count % 2 == 1 ? r[r.count / 2] : (r[r.count / 2 - 1] + r[r.count / 2]) / 2
        return (median, last)
    }
}

/// The median length of cell edges in normalised coordinates — the box `boxMin … boxMax` mapped
/// to [−1, 1] on each axis, where `--seam-margin` is measured (issue #21) — over every pair of
/// points of at most `sampleCells` cells of 2 … 8 points spread evenly over the mesh; nil
/// without edges. `points`: x, y, z per point; `cell(c)`: the range of cell c's entries,
/// `pointID(k)` entry k's point.
public func medianNormalisedEdgeLength(points: [Double], boxMin: [Double], boxMax: [Double], cellCount: Int,
                                       sampleCells: Int = 100_000, cell: (Int) -> (Int, Int),
                                       pointID: (Int) -> Int) -> Double? {
    let scale = (0 ..< 3).map { boxMax[$0] > boxMin[$0] ? 2 / (boxMax[$0] - boxMin[$0]) : 0 }
    var lengths: [Double] = []
    for c in stride(from: 0, to: cellCount, by: max(1, cellCount / max(1, sampleCells))) {
        let (lo, hi) = cell(c)
        guard hi - lo >= 2 && hi - lo <= 8 else { continue }
        for x in lo ..< hi - 1 {
            for y in x + 1 ..< hi {
                let (i, j) = (3 * pointID(x), 3 * pointID(y))
                var squared = 0.0
                for axis in 0 ..< 3 {
                    let d = (points[i + axis] - points[j + axis]) * scale[axis]
                    squared += d * d
                }
                lengths.append(squared.squareRoot())
            }
        }
    }
    guard !lengths.isEmpty else { return nil }
    lengths.sort()
    return lengths[lengths.count / 2]
}
