/// Where a cluster sits in the tree: its top-level index, then child 0 / child 1 (false / true)
/// at each split. Stable whatever the training order, so seeds derive from it.
public struct ClusterPath: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var top: Int
    public var splits: [Bool]

    public init(top: Int, splits: [Bool] = []) { self.top = top; self.splits = splits }

    public var depth: Int { splits.count }
    public func child(_ second: Bool) -> ClusterPath { ClusterPath(top: top, splits: splits + [second]) }

    public static func < (a: ClusterPath, b: ClusterPath) -> Bool {
        if a.top != b.top { return a.top < b.top }
        for (x, y) in zip(a.splits, b.splits) where x != y { return !x }
        return a.splits.count < b.splits.count
    }

    /// "7" for a top-level cluster, "7.0.1" after two splits.
    public var description: String {
        ([String(top)] + splits.map { $0 ? "1" : "0" }).joined(separator: ".")
    }
}

/// The cluster tree of docs/mci-format.md TREE: top-level centroids, and two children per split
/// node. Routes any normalised coordinate to a leaf (double precision, ties to the lower index /
/// child 0), which is also how training points are assigned.
public struct ClusterTree: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        /// Centroid in normalised coordinates q.
        public var centroid: SIMD3<Double>
        public var parent: Int?
        public var children: (Int, Int)?
        public var path: ClusterPath

        public var isLeaf: Bool { children == nil }

        public static func == (a: Node, b: Node) -> Bool {
            a.centroid == b.centroid && a.parent == b.parent && a.path == b.path
                && a.children?.0 == b.children?.0 && a.children?.1 == b.children?.1
        }
    }

    public private(set) var nodes: [Node]
    /// Nodes 0 ..< topCount are the top-level clusters.
    public let topCount: Int

    public init(topLevelCentroids: [SIMD3<Double>]) {
        precondition(!topLevelCentroids.isEmpty, "a cluster tree needs at least one centroid")
        nodes = topLevelCentroids.enumerated().map { index, centroid in
            Node(centroid: centroid, parent: nil, children: nil, path: ClusterPath(top: index))
        }
        topCount = topLevelCentroids.count
    }

    /// Leaves in node-index order (the order networks are numbered in the file).
    public var leaves: [Int] { nodes.indices.filter { nodes[$0].isLeaf } }
    public var splitCount: Int { nodes.count - topCount }

    /// The leaf node that a normalised coordinate routes to.
    public func route(_ q: SIMD3<Double>) -> Int {
        var best = 0
        var bestDistance = Double.infinity
        for index in 0 ..< topCount {
            let distance = KMeans.squaredDistance(q, nodes[index].centroid)
            if distance < bestDistance { bestDistance = distance; best = index }
        }
        return descend(from: best, q)
    }

    /// Follows splits below `node` to a leaf.
    public func descend(from node: Int, _ q: SIMD3<Double>) -> Int {
        var current = node
        while let (first, second) = nodes[current].children {
            let d0 = KMeans.squaredDistance(q, nodes[first].centroid)
            let d1 = KMeans.squaredDistance(q, nodes[second].centroid)
            current = d1 < d0 ? second : first
        }
        return current
    }

    /// The leaf of q and, within `margin` of a boundary, the leaf across it with its blend
    /// weight ½ (1 − smoothstep(s / margin)), s the distance of q to the plane bisecting the two
    /// nearest candidates at the level of the tree where it is smallest: the C decoder's
    /// `mci_route_blended` (SEAM, docs/mci-format.md). nil partner when q is not in a seam.
    public func seam(_ q: SIMD3<Double>, margin: Double) -> (leaf: Int, partner: Int?, weight: Double) {
        let (leaf, across, s) = nearestBoundary(q)
        guard let across, margin > 0, s < margin else { return (leaf, nil, 0) }
        let partner = descend(from: across, q)
        guard partner != leaf else { return (leaf, nil, 0) }
        let x = s > 0 ? s / margin : 0
        return (leaf, partner, 0.5 * (1 - x * x * (3 - 2 * x)))
    }

    /// The largest margin up to `cap` within which at most `fraction` of `points` lie of a
    /// boundary (`seam`'s s): the points the decoder evaluates a second network for.
    public func margin(blendingAtMost fraction: Double, of points: [SIMD3<Double>], cap: Double) -> Double {
        var distances: [Double] = []
        for q in points {
            let (leaf, across, s) = nearestBoundary(q)
            if let across, s < cap, descend(from: across, q) != leaf { distances.append(max(0, s)) }
        }
        let allowed = Int(fraction * Double(points.count))
        guard distances.count > allowed else { return cap }
        distances.sort()
        return distances[allowed]  // `allowed` points lie closer
    }

    /// q's leaf, and the node across the nearest bisecting plane of the two nearest candidates
    /// at any level of the tree, with q's distance s to that plane.
    private func nearestBoundary(_ q: SIMD3<Double>) -> (leaf: Int, across: Int?, s: Double) {
        var best = 0, second: Int?
        var bestDistance = Double.infinity, secondDistance = Double.infinity
        for index in 0 ..< topCount {
            let d = KMeans.squaredDistance(q, nodes[index].centroid)
            if d < bestDistance {
                if bestDistance.isFinite { second = best; secondDistance = bestDistance }
                best = index; bestDistance = d
            } else if d < secondDistance {
                second = index; secondDistance = d
            }
        }
        var sMin = Double.infinity, across: Int?
        func consider(_ chosen: Int, _ other: Int, _ dChosen: Double, _ dOther: Double) {
            let separation = KMeans.squaredDistance(nodes[chosen].centroid, nodes[other].centroid).squareRoot()
            guard separation > 0 else { return }
            let s = (dOther - dChosen) / (2 * separation)
            if s < sMin { sMin = s; across = other }
        }
        if let second { consider(best, second, bestDistance, secondDistance) }
        while let (first, other) = nodes[best].children {
            let d0 = KMeans.squaredDistance(q, nodes[first].centroid), d1 = KMeans.squaredDistance(q, nodes[other].centroid)
            let (chosen, rejected) = d1 < d0 ? (other, first) : (first, other)
            consider(chosen, rejected, min(d0, d1), d1 < d0 ? d0 : d1)
            best = chosen
        }
        return (best, across, sMin)
    }

    /// Splits a leaf into two children with the given centroids; returns their node indices.
    @discardableResult
    public mutating func split(_ node: Int, childCentroids: (SIMD3<Double>, SIMD3<Double>)) -> (Int, Int) {
        precondition(nodes[node].isLeaf, "only a leaf can be split")
        let first = nodes.count, second = nodes.count + 1
        let path = nodes[node].path
        nodes.append(Node(centroid: childCentroids.0, parent: node, children: nil, path: path.child(false)))
        nodes.append(Node(centroid: childCentroids.1, parent: node, children: nil, path: path.child(true)))
        nodes[node].children = (first, second)
        return (first, second)
    }

    /// Undoes the split of `node` (whose two children must be leaves): the children are removed,
    /// `node` is a leaf again, and later nodes move down to close the gap. Returns the new index
    /// of every old node (nil for the removed children).
    @discardableResult
    public mutating func merge(_ node: Int) -> [Int?] {
        guard let (first, second) = nodes[node].children else { preconditionFailure("node \(node) has no split to undo") }
        precondition(nodes[first].isLeaf && nodes[second].isLeaf, "only a split whose children are leaves can be undone")
        var newIndex = [Int?](repeating: nil, count: nodes.count)
        var next = 0
        for old in nodes.indices where old != first && old != second {
            newIndex[old] = next
            next += 1
        }
        nodes[node].children = nil
        nodes = nodes.indices.compactMap { old -> Node? in
            guard newIndex[old] != nil else { return nil }
            var moved = nodes[old]
            moved.parent = moved.parent.map { newIndex[$0]! }
            moved.children = moved.children.map { (newIndex[$0.0]!, newIndex[$0.1]!) }
            return moved
        }
        return newIndex
    }

    /// Point indices of every leaf, by routing each point (the training partition).
    public func partition(_ points: [SIMD3<Double>]) -> [Int: [Int]] {
        var result: [Int: [Int]] = [:]
        for (index, point) in points.enumerated() { result[route(point), default: []].append(index) }
        return result
    }

    /// Network index of each leaf node in file order (leaves numbered by node index), -1 for
    /// internal nodes.
    public var networkIndexOfNode: [Int] {
        var indices = [Int](repeating: -1, count: nodes.count)
        for (network, node) in leaves.enumerated() { indices[node] = network }
        return indices
    }
}
