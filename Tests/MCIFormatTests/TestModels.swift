import ModelDescription
import Foundation
import INRCore
import MCIFormat

/// Test models draw from the project's SplitMix64, so every one is reproducible.
typealias SeededRNG = SplitMix64

enum Architecture: CaseIterable {
    /// SINE layers only, also in the branches.
    case sineOnly
    /// RESBLOCK trunk, one branch per component of RESBLOCKs + LINEAR(w→1) (CoordNetB).
    case coordNetB
    /// SINE trunk + one LINEAR(w→C) head (SIREN); RESBLOCK trunk + LINEAR head (CoordNet).
    case siren
    case coordNet
}

enum TestModels {
    static let variables = [MCIVariable(name: "velocity", components: 3), MCIVariable(name: "pressure", components: 1),
                            MCIVariable(name: "temperature", components: 1), MCIVariable(name: "tracer", components: 1)]
    static let ranges: [ClosedRange<Double>] = [-1.4 ... 1.4, -1.2 ... 1.3, -0.5 ... 0.7, 0.42 ... 360.6,
                                                0.446 ... 1.0, 0 ... 8.84e-5]
    static let omega: Float = 30

    static func uniform(_ n: Int, _ bound: Double, _ rng: inout SeededRNG) -> [Float] {
        (0..<n).map { _ in Float(Double.random(in: -bound...bound, using: &rng)) }
    }

    /// SIREN initialisation: first layer U(±1/in), others U(±√(6/in)/ω₀), biases U(±1/√in).
    static func layer(_ fanIn: Int, _ fanOut: Int, first: Bool, _ rng: inout SeededRNG) -> [[Float]] {
        let bound = first ? 1.0 / Double(fanIn) : (6.0 / Double(fanIn)).squareRoot() / Double(omega)
        return [uniform(fanOut * fanIn, bound, &rng), uniform(fanOut, 1 / Double(fanIn).squareRoot(), &rng)]
    }

    static func module(_ kind: ModuleDescription.Kind, _ fanIn: Int, _ fanOut: Int, first: Bool = false,
                       _ rng: inout SeededRNG) -> ModuleDescription {
        var tensors = layer(fanIn, fanOut, first: first && kind != .linear, &rng)
        if kind == .resBlock {
            tensors += layer(fanOut, fanOut, first: false, &rng)
            if fanIn != fanOut { tensors += layer(fanIn, fanOut, first: first, &rng) }
        }
        return ModuleDescription(kind: kind, inputs: fanIn, outputs: fanOut, tensors: tensors)
    }

    static func network(_ arch: Architecture, components C: Int, width w: Int, pe: Int,
                        _ rng: inout SeededRNG) -> NetworkDescription {
        let enc = 4 * (1 + 2 * pe)
        var trunk: [ModuleDescription] = []
        var branches: [[ModuleDescription]] = []
        switch arch {
        case .sineOnly:
            trunk = [module(.sine, enc, w, first: true, &rng), module(.sine, w, w, &rng)]
            branches = [[module(.sine, w, 2, &rng)], [module(.sine, w, w, &rng), module(.sine, w, C - 2, &rng)]]
        case .coordNetB:
            trunk = [module(.resBlock, enc, w, first: true, &rng), module(.resBlock, w, w, &rng)]
            branches = (0..<C).map { _ in [module(.resBlock, w, w, &rng), module(.linear, w, 1, &rng)] }
        case .siren:
            trunk = [module(.sine, enc, w, first: true, &rng), module(.sine, w, w, &rng), module(.sine, w, w, &rng)]
            branches = [[module(.linear, w, C, &rng)]]
        case .coordNet:
            trunk = [module(.resBlock, enc, w, first: true, &rng), module(.resBlock, w, w + 3, &rng)]
            branches = [[module(.linear, w + 3, C, &rng)]]
        }
        let offset = (0..<4).map { _ in Float(Double.random(in: -0.2...0.2, using: &rng)) }
        let scale = (0..<4).map { _ in Float(Double.random(in: 0.8...1.2, using: &rng)) }
        return NetworkDescription(inOffset: offset, inScale: scale, peFrequencies: pe, omega0: omega,
                                  trunk: trunk, branches: branches)
    }

    /// A three-level tree: 3 top clusters; node 0 splits into 3 and 4; node 4 splits into 5 and 6.
    /// Leaves 1, 2, 3, 5, 6 own networks 0 … 4.
    static func tree() -> [MCITreeNode] {
        [MCITreeNode(centroid: [-0.4, -0.3, 0.0], child0: 3, child1: 4),
         MCITreeNode(centroid: [0.5, 0.4, 0.1], network: 0),
         MCITreeNode(centroid: [0.1, 0.6, -0.5], network: 1),
         MCITreeNode(centroid: [-0.7, -0.3, 0.1], parent: 0, network: 2),
         MCITreeNode(centroid: [-0.1, -0.3, -0.1], parent: 0, child0: 5, child1: 6),
         MCITreeNode(centroid: [-0.1, -0.6, -0.2], parent: 4, network: 3),
         MCITreeNode(centroid: [-0.1, 0.0, 0.0], parent: 4, network: 4)]
    }

    /// A 3×3×3-point block of 8 cubes on [0, 2]³, 6 tets each.
    static func tetMesh(precision: MCIMesh.PointPrecision, jitter: Bool = true) -> MCIMesh {
        let n = 3
        var points: [Double] = []
        for k in 0..<n { for j in 0..<n { for i in 0..<n {
            // irrational-ish offsets so float32 storage visibly rounds
            let e = jitter ? 0.1 * sin(Double(i + 3 * j + 9 * k)) : 0
            points += [Double(i) + e, Double(j) - e / 3, Double(k) + e / 7]
        } } }
        func idx(_ i: Int, _ j: Int, _ k: Int) -> Int64 { Int64(i + n * (j + n * k)) }
        var types: [UInt8] = [], offsets: [Int64] = [0], conn: [Int64] = []
        for k in 0..<(n - 1) { for j in 0..<(n - 1) { for i in 0..<(n - 1) {
            let c = (0..<8).map { v in idx(i + (v & 1), j + ((v >> 1) & 1), k + (v >> 2)) }
            for t in [[0, 1, 3, 7], [0, 1, 5, 7], [0, 2, 3, 7], [0, 2, 6, 7], [0, 4, 5, 7], [0, 4, 6, 7]] {
                conn += t.map { c[$0] }
                types.append(10)
                offsets.append(Int64(conn.count))
            }
        } } }
        return MCIMesh(points: points, pointPrecision: precision, cellTypes: types, cellOffsets: offsets,
                       connectivity: conn)
    }

    static func model(_ arch: Architecture, width: Int = 8, pe: Int = 2, seed: UInt64 = 1,
                      mesh: MCIMesh? = tetMesh(precision: .float64)) -> MCIModel {
        var rng = SeededRNG(seed: seed)
        let nodes = tree()
        let networks = (0..<5).map { _ in network(arch, components: 6, width: width, pe: pe, &rng) }
        let times = (1...12).map { 10.0 * Double($0) / 3.0 }
        let json = #"{"creator":"MCIFormatTests","method":"random","architecture":{},"training":{},"metrics":{},"note":"ünïcödé"}"#
        return MCIModel(variables: variables, componentRanges: ranges, times: times,
                        boundsMin: [-0.2, -0.1, 0.0], boundsMax: [2.2, 2.1, 2.0], timeInterval: times[0]...times[11],
                        numPoints: 27, numCells: 48, rawFieldBytes: 27 * 12 * 6 * 4, treeNodes: nodes, topLevelCount: 3,
                        networks: networks, metadataJSON: json, mesh: mesh)
    }
}

/// A straightforward double-precision evaluation of a model, written from the format spec
/// (docs/mci-format.md) and independent of the C decoder.
enum Reference {
    static func normalise(_ m: MCIModel, _ p: [Double], _ t: Double) -> [Double] {
        var q = (0..<3).map { i -> Double in
            let e = m.boundsMax[i] - m.boundsMin[i]
            return e > 0 ? 2 * (p[i] - m.boundsMin[i]) / e - 1 : 0
        }
        let span = m.timeInterval.upperBound - m.timeInterval.lowerBound
        q.append(span > 0 ? 2 * (t - m.timeInterval.lowerBound) / span - 1 : 0)
        return q
    }

    static func route(_ m: MCIModel, _ q: [Double]) -> Int {
        func d2(_ n: Int) -> Double { (0..<3).reduce(0) { $0 + pow(q[$1] - m.treeNodes[n].centroid[$1], 2) } }
        var best = 0
        for i in 1..<m.topLevelCount where d2(i) < d2(best) { best = i }
        while !m.treeNodes[best].isLeaf {
            let c0 = Int(m.treeNodes[best].child0), c1 = Int(m.treeNodes[best].child1)
            best = d2(c1) < d2(c0) ? c1 : c0
        }
        return Int(m.treeNodes[best].network)
    }

    static func dense(_ W: [Float], _ b: [Float], _ x: [Double], _ out: Int) -> [Double] {
        (0..<out).map { o in
            var s = Double(b[o])
            for i in 0..<x.count { s += Double(W[o * x.count + i]) * x[i] }
            return s
        }
    }

    static func sine(_ W: [Float], _ b: [Float], _ x: [Double], _ out: Int, _ omega: Double) -> [Double] {
        dense(W, b, x, out).map { sin(omega * $0) }
    }

    static func apply(_ m: ModuleDescription, _ x: [Double], _ omega: Double) -> [Double] {
        let t = m.tensors
        switch m.kind {
        case .sine: return sine(t[0], t[1], x, m.outputs, omega)
        case .linear: return dense(t[0], t[1], x, m.outputs)
        case .resBlock:
            let y = sine(t[2], t[3], sine(t[0], t[1], x, m.outputs, omega), m.outputs, omega)
            let skip = t.count == 6 ? sine(t[4], t[5], x, m.outputs, omega) : x
            return zip(y, skip).map { 0.5 * ($0 + $1) }
        }
    }

    static func evaluate(_ net: NetworkDescription, _ q: [Double]) -> [Double] {
        // q is handed to the network in float32 (spec: normalised in double, then float)
        let x = (0..<4).map { (Double(Float(q[$0])) - Double(net.inOffset[$0])) * Double(net.inScale[$0]) }
        var e = x
        for k in 0..<net.peFrequencies {
            e += x.map { sin(pow(2, Double(k)) * Double.pi * $0) }
            e += x.map { cos(pow(2, Double(k)) * Double.pi * $0) }
        }
        let omega = Double(net.omega0)
        for m in net.trunk { e = apply(m, e, omega) }
        return net.branches.flatMap { branch in branch.reduce(e) { apply($1, $0, omega) } }
    }

    /// De-normalised values of all components at one point.
    static func decode(_ m: MCIModel, _ p: [Double], _ t: Double) -> [Double] {
        let q = normalise(m, p, t)
        let n = evaluate(m.networks[route(m, q)], q)
        return zip(n, m.componentRanges).map { ($0 + 1) / 2 * ($1.upperBound - $1.lowerBound) + $1.lowerBound }
    }
}
