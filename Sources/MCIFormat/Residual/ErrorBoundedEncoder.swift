import Foundation
import ModelDescription

/// Builds an error-bounded model: quantiser → predictor → coder for every (step, component)
/// of the residual (`ResidualQuantiser`, `ResidualPrediction`, `StreamCoding`), then verifies
/// the bound on the written bytes with the C decoder.
public enum ErrorBoundedEncoder {
    /// All streams of a residual, step after step (`StepStreams`): the whole-series form,
    /// for tests. `candidates` restricts the predictors tried and `coder` forces a coder;
    /// `anchors: false` leaves the anchor out (which needs a plan).
    static func encodeStreams(residual: ResidualQuantiser.Quantised, data: ResidualQuantiser.Quantised?, componentCount C: Int,
                              neighbours: MeshNeighbours, threads: Int,
                              candidates: [MCIResidual.Predictor] = MCIResidual.Predictor.everything,
                              coder: MCIResidual.Coder? = nil, plan: [[Bool]]? = nil,
                              anchors: Bool = true) throws -> [MCIResidual.Stream] {
        var streams = StepStreams(componentCount: C, neighbours: neighbours, threads: threads, candidates: candidates, coder: coder,
                                  plan: plan)
        var coded: [MCIResidual.Stream] = []
        let T = residual.indices.count / C
        func steps(_ t: Int) -> (residual: ResidualQuantiser.Quantised, data: ResidualQuantiser.Quantised?) {
            let step = t * C ..< (t + 1) * C
            return (ResidualQuantiser.Quantised(indices: Array(residual.indices[step]), escapes: Array(residual.escapes[step])),
                    data.map { ResidualQuantiser.Quantised(indices: Array($0.indices[step]), escapes: Array($0.escapes[step])) })
        }
        var anchor: (residual: ResidualQuantiser.Quantised, data: ResidualQuantiser.Quantised?)?
        for t in 0..<T {
            let (residualStep, dataStep) = steps(t)
            if t % ResidualPrediction.keyframeInterval == 0 {
                let next = t + ResidualPrediction.keyframeInterval
                anchor = anchors && next < T ? steps(next) : nil
            }
            coded += try streams.next(residual: residualStep, data: dataStep, anchor: anchor).map(\.stream)
        }
        return coded
    }

    /// Adds a RESIDUAL to `model` (which needs its mesh, as arrays or as `codedMesh`) so that
    /// `mcinr_decode_mesh` at each stored step is within the bound of `truth(step)`: N × C
    /// floats, point-major, mesh point order, components in model order. The network output is
    /// taken from the C decoder itself (network only), and the bound is verified on the final
    /// bytes with the C decoder; values that float rounding would push past the bound are stored
    /// exactly. The series is streamed: a step is quantised and coded, then dropped (the
    /// predictors keep the chain's last `linearDepth` steps, the planner in both quantisations),
    /// so memory holds a few steps besides the mesh's neighbour lists and the decoder's mesh,
    /// whatever the number of steps; `truth` is called several times per step.
    /// `dataCosts`: the planner's costs of the data's own quantisation, which do not depend on
    /// the network; given empty, they are recorded, and a later residual of the same series and
    /// bound (another weight encoding of the model) reuses them: the same plan, less work.
    /// `neighbourLeast`: K of the NEIGHBOURS section (format 1.10; 0: none, the format 1.9 lists).
    /// `coder`: every stream in this coder (tests of one coder's streams); nil: the smaller of
    /// zstd and coder 2 per stream.
    /// `progress(stage, attempt, done, total)`: `done` of the series' `total` steps of a stage
    /// are finished (0 starts it); attempts count from 1 (a second one follows a verification
    /// that found values outside the bound).
    public static func make(_ model: MCIModel, bound: MCIResidual.Bound, threads: Int = 1, dataCosts: DataCosts? = nil,
                            neighbourLeast: Int = MCIResidual.defaultNeighbourLeast, coder: MCIResidual.Coder? = nil,
                            progress: ((Stage, _ attempt: Int, _ done: Int, _ total: Int) -> Void)? = nil,
                            truth: (Int) throws -> [Float]) throws -> (MCIModel, MCIResidual.Report) {
        guard model.mesh != nil || model.codedMesh != nil else {
            throw MCIError.invalidModel("error-bounded mode needs the mesh in the model (residuals are stored at its points)")
        }
        guard (0...MeshNeighbours.maxPerPoint).contains(neighbourLeast) else {
            throw MCIError.invalidModel("NEIGHBOURS' K is \(neighbourLeast) (allowed 0, none, or 1 ... 32)")
        }
        let N = model.meshPointCount, C = model.componentCount, T = model.times.count
        let bounds = bound.perComponent(model.componentRanges)
        for (c, e) in bounds.enumerated() where !(e.isFinite && e > 0) {
            throw MCIError.invalidModel("error bound \(e) of component \(c) must be finite and > 0")
        }
        let widths = bounds.map { 2 * $0 * (1 - ResidualQuantiser.slack) }
        let ranges = model.componentRanges.map { $0.upperBound - $0.lowerBound }
        func step(_ t: Int) throws -> [Float] {
            let values = try truth(t)
            guard values.count == N * C else {
                throw MCIError.invalidModel("error-bounded mode: step \(t) has \(values.count) values, expected \(N) points × \(C) components")
            }
            return values
        }
        var seconds: [Stage: Double] = [:], attempts = 1  // the planning pass reports as part of the first
        /// Runs a stage's `body` over every step, reporting each and timing the whole.
        func stage(_ s: Stage, _ body: (Int) throws -> Void) rethrows {
            let start = Date()
            progress?(s, attempts, 0, T)
            for t in 0..<T {
                try body(t)
                progress?(s, attempts, t + 1, T)
            }
            seconds[s, default: 0] += Date().timeIntervalSince(start)
        }
        var means = PooledMeans(components: C)  // for the pooled R² of the report
        for t in 0..<T { try step(t).withUnsafeBufferPointer { means.add($0) } }

        var plain = model
        plain.residual = nil
        plain.meshIndex = false  // the file with the residual has none: its network values must be these
        // The decoder whose network-only output the residual corrects: the plain model's, then
        // the last attempt's (the same weights).
        var network = try MCIDecoder(bytes: MCIWriter.encode(plain), name: "error-bounded encoding", options: .ownOutput)
        // The lists of the mesh predictors. A mesh coded before training (`codedMesh`, its arrays
        // released) is read back from the decoder for as long as the lists take to build: they
        // depend on the cells as a set, so the decoder's chunk order gives the same ones. Dropped
        // before each verification (whose decoder builds its own; 10⁷ points: hundreds of MB each)
        // and built again for an attempt after it.
        func meshNeighbours(_ decoder: MCIDecoder) throws -> MeshNeighbours {
            try MeshNeighbours(model.mesh ?? decoder.mesh(threads: threads), extendingBelow: neighbourLeast)
        }
        var neighbours: MeshNeighbours? = try meshNeighbours(network)
        // Values the C decoder put outside the bound in an earlier attempt (float arithmetic
        // that differs from the quantiser's model): stored exactly in the next one.
        var forced = [[Int: Float]](repeating: [:], count: T * C)
        // One pass over the series with the network alone: which quantisation each block of
        // chained steps uses (`DomainPlanner`), and the network's own error for the report.
        var networkEvaluation = StepwiseEvaluation(ranges: ranges, pooledMeans: means.means)
        var networkError = [Double](repeating: 0, count: C)
        let plan: [[Bool]], planned: [[[[MCIResidual.Predictor: StepStreams.Evaluation]]]]
        do {  // the planner's chains released at its end
            var planner = DomainPlanner(componentCount: C, neighbours: neighbours!, threads: threads, dataCosts: dataCosts)
            try stage(.planning) { t in
                let values = try step(t)
                let net = try network.decodeMesh(time: model.times[t], threads: threads, networkOnly: true)
                let (residual, data) = try quantise(values, network: net, step: t, bounds: bounds, widths: widths,
                                                    origins: model.componentRanges.map(\.lowerBound), forced: forced[t * C ..< (t + 1) * C])
                planner.add(residual: residual, data: data)
                values.withUnsafeBufferPointer { v in net.withUnsafeBufferPointer { networkEvaluation.add(truth: v, prediction: $0) } }
                for i in 0..<N {
                    for c in 0..<C { networkError[c] = max(networkError[c], abs(Double(net[i * C + c]) - Double(values[i * C + c]))) }
                }
            }
            plan = planner.finish()
            planned = planner.evaluations
        }
        /// Every step's streams against `network`'s values, with the escapes they store and the
        /// residual's non-zero indices; its chains and steps are released on return.
        func codedSeries(_ network: MCIDecoder, _ neighbours: MeshNeighbours) throws
            -> (streams: [MCIResidual.Stream], escapes: Int, nonZero: Int) {
            var streams = StepStreams(componentCount: C, neighbours: neighbours, threads: threads, coder: coder, plan: plan,
                                      reuse: dataCosts, planned: planned)
            var coded: [MCIResidual.Stream] = [], escapes = 0, nonZero = 0
            /// Whether no value of component c in step t's block or at its anchor (the next
            /// block's first step) was forced to an escape.
            func unforced(_ t: Int, _ c: Int) -> Bool {
                let first = t - t % ResidualPrediction.keyframeInterval
                return (first ..< min(first + ResidualPrediction.keyframeInterval + 1, T)).allSatisfy { forced[$0 * C + c].isEmpty }
            }
            func quantised(_ t: Int) throws -> (residual: ResidualQuantiser.Quantised, data: ResidualQuantiser.Quantised) {
                let net = try network.decodeMesh(time: model.times[t], threads: threads, networkOnly: true)
                return try quantise(step(t), network: net, step: t, bounds: bounds, widths: widths,
                                    origins: model.componentRanges.map(\.lowerBound), forced: forced[t * C ..< (t + 1) * C])
            }
            // each block's anchor: the next block's first step, quantised ahead, and that block's own
            // first step when it comes
            var anchor: (residual: ResidualQuantiser.Quantised, data: ResidualQuantiser.Quantised)?
            try stage(.coding) { t in
                let blockStart = t % ResidualPrediction.keyframeInterval == 0
                let (residual, data) = blockStart && t > 0 ? anchor! : try quantised(t)
                if blockStart {
                    let next = t + ResidualPrediction.keyframeInterval
                    anchor = next < T ? try quantised(next) : nil
                }
                nonZero += residual.indices.reduce(0) { $0 + $1.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }
                for s in try streams.next(residual: residual, data: data, anchor: anchor.map { ($0.residual, $0.data) },
                                          unforced: (0..<C).map { unforced(t, $0) }) {
                    coded.append(s.stream); escapes += s.escapes
                }
            }
            return (coded, escapes, nonZero)
        }
        var result = model
        for attempt in 0... {
            attempts = attempt + 1
            let (coded, escapes, nonZero) = try codedSeries(network, neighbours.take() ?? meshNeighbours(network))
            // Check the final bytes with the C decoder; a value it decodes outside the bound
            // becomes an escape in the next attempt.
            result.residual = MCIResidual(maxErrors: bounds, binWidths: widths, pointCount: N, timeCount: T, streams: coded,
                                          neighbourLeast: neighbourLeast)
            let bytes = try MCIWriter.encode(result)
            _ = consume network  // one decoder (and its copy of the mesh) at a time
            let decoder = try MCIDecoder(bytes: bytes, name: "error-bounded encoding", options: .ownOutput)
            var evaluation = StepwiseEvaluation(ranges: ranges, pooledMeans: means.means)
            var violations = 0
            var achieved = [Double](repeating: 0, count: C)
            try stage(.verifying) { t in
                let decoded = try decoder.decodeMesh(time: model.times[t], threads: threads)
                let values = try step(t)
                for i in 0..<N {
                    for c in 0..<C {
                        let err = abs(Double(decoded[i * C + c]) - Double(values[i * C + c]))
                        if err > bounds[c] {
                            violations += 1
                            forced[t * C + c][i] = values[i * C + c]
                        }
                        achieved[c] = max(achieved[c], err)
                    }
                }
                values.withUnsafeBufferPointer { v in decoded.withUnsafeBufferPointer { evaluation.add(truth: v, prediction: $0) } }
            }
            if violations == 0 {
                let report = MCIResidual.Report(
                    maxErrors: bounds, achievedMaxError: achieved, networkMaxError: networkError,
                    nonZeroIndices: nonZero, escapes: escapes, residualBytes: result.residual!.payloadBytes,
                    predictorUse: MCIResidual.Predictor.all.map { p in
                        coded.filter {
                            $0.predictor.contains(.linear)
                                ? p.contains(.linear) && p.intersection([.plane, .blend, .quadratic])
                                    == $0.predictor.intersection([.plane, .blend, .quadratic])
                                : $0.predictor.subtracting(.data) == p
                        }.count
                    },
                    dataStreams: coded.filter { $0.predictor.contains(.data) }.count,
                    anchoredStreams: coded.filter { $0.predictor.contains(.anchor) }.count,
                    rangeCodedStreams: coded.filter { $0.coder != .zstd && !$0.bytes.isEmpty }.count,
                    metrics: evaluation.report, networkMetrics: networkEvaluation.report,
                    attempts: attempts, seconds: Dictionary(uniqueKeysWithValues: seconds.map { ($0.key.rawValue, $0.value) }))
                result.metadataJSON = recordingBound(in: result.metadataJSON, report)
                return (result, report)
            }
            guard attempt < 3 else {
                throw MCIError.invalidModel("error-bounded mode: \(violations) values still exceed the bound after \(attempt + 1) attempts")
            }
            network = decoder
        }
        fatalError("unreachable")
    }

    /// One step's two quantisations, per component: the network's residual (0 where the
    /// network is already inside the bound) and the data itself; `forced` values become
    /// escapes in both.
    static func quantise(_ values: [Float], network net: [Float], step t: Int, bounds: [Double], widths: [Double],
                         origins: [Double], forced: ArraySlice<[Int: Float]>)
        throws -> (residual: ResidualQuantiser.Quantised, data: ResidualQuantiser.Quantised) {
        let C = bounds.count, N = values.count / max(C, 1)
        var residual = ResidualQuantiser.Quantised(indices: [], escapes: []), data = residual
        for c in 0..<C {
            var q = [Int32](repeating: 0, count: N)
            var esc: [Int: Float] = [:]
            let e = bounds[c], s = widths[c]
            for i in 0..<N {
                let x = values[i * C + c], n = net[i * C + c]
                guard x.isFinite else {
                    throw MCIError.invalidModel("error-bounded mode: the data value at point \(i), step \(t), component \(c) is not finite")
                }
                if abs(Double(n) - Double(x)) <= e * (1 - ResidualQuantiser.slack) { continue } // already inside: q = 0
                if let chosen = ResidualQuantiser.index(of: x, from: Double(n), bound: e, width: s) { q[i] = chosen } else { esc[i] = x }
            }
            var (dataIndices, dataEscapes) = ResidualQuantiser.quantiseData((0..<N).map { values[$0 * C + c] }, origin: origins[c],
                                                                         bound: e, width: s)
            let extra = forced[forced.startIndex + c]
            esc.merge(extra) { _, exact in exact }
            dataEscapes.merge(extra) { _, exact in exact }
            residual.indices.append(q); residual.escapes.append(esc)
            data.indices.append(dataIndices); data.escapes.append(dataEscapes)
        }
        return (residual, data)
    }

    /// The predictor and coder stages over a series given one step at a time: for each
    /// component the predictor (on the residual's indices, or on the data's when given) whose
    /// differences have the least entropy, then its coding. The time and linear predictors need
    /// the chain's earlier steps in the same quantisation (at most `linearDepth`), which is all
    /// that is kept between steps; they are dropped where the keyframe rule or the previous
    /// step's choice forbids them. With a `plan`, each block of chained steps keeps to the
    /// quantisation the plan gives it. Components are coded on `threads` threads.
    struct StepStreams {
        let componentCount: Int
        let neighbours: MeshNeighbours
        let threads: Int
        var candidates: [MCIResidual.Predictor] = MCIResidual.Predictor.everything
        var coder: MCIResidual.Coder? = nil
        /// Per block of `keyframeInterval` steps and component: whether its streams quantise the data.
        var plan: [[Bool]]? = nil
        /// Data streams coded by an earlier residual of the series and bound, taken instead of
        /// coding them again, and where new ones are kept (with a plan only).
        var reuse: DataCosts? = nil
        /// The planner's evaluations (`DomainPlanner.evaluations`) of the plan's quantisations.
        var planned: [[[[MCIResidual.Predictor: Evaluation]]]]? = nil
        /// Per component, the chain's earlier steps as the reader reconstructs them (0 at
        /// escapes), most recent first, in the quantisation the chain uses (data or residual).
        private var chains: [(isData: Bool, history: [[Int32]])?]
        private var t = 0

        init(componentCount: Int, neighbours: MeshNeighbours, threads: Int,
             candidates: [MCIResidual.Predictor] = MCIResidual.Predictor.everything, coder: MCIResidual.Coder? = nil,
             plan: [[Bool]]? = nil, reuse: DataCosts? = nil, planned: [[[[MCIResidual.Predictor: Evaluation]]]]? = nil) {
            self.componentCount = componentCount; self.neighbours = neighbours; self.threads = threads
            self.candidates = candidates; self.coder = coder; self.plan = plan
            // what was coded or evaluated before holds for the full candidate set only
            let full = candidates == MCIResidual.Predictor.everything
            self.reuse = full ? reuse : nil; self.planned = full ? planned : nil
            chains = Array(repeating: nil, count: componentCount)
        }

        /// The next step's streams, component by component, with the escapes each one stores.
        /// `anchor`: the next block's first step in both quantisations; with a plan, a linear
        /// stream may read it (`.anchor`) where that block keeps this one's quantisation.
        /// `unforced[c]`: no value of component c's data quantisation in this block or at its
        /// anchor was forced to an escape, so its data streams may be taken from `reuse`.
        mutating func next(residual: ResidualQuantiser.Quantised, data: ResidualQuantiser.Quantised?,
                           anchor: (residual: ResidualQuantiser.Quantised, data: ResidualQuantiser.Quantised?)? = nil,
                           unforced: [Bool]? = nil) throws
            -> [(stream: MCIResidual.Stream, escapes: Int)] {
            let C = componentCount, t = self.t
            var results = [Result<(MCIResidual.Stream, Int, [Int32]), Error>?](repeating: nil, count: C)
            let chains = self.chains, coder = self.coder, neighbours = self.neighbours
            let b = t / ResidualPrediction.keyframeInterval
            let block = plan.map { $0[b] }
            let nextBlock = plan.flatMap { b + 1 < $0.count ? $0[b + 1] : nil }
            let candidates = self.candidates
            // the data streams an earlier residual of the series coded with the same inputs
            var keys = [DataStreamKey?](repeating: nil, count: C)
            var reused = [(stream: MCIResidual.Stream, escapes: Int)?](repeating: nil, count: C)
            if let reuse, let block, let unforced, data != nil {
                for c in 0..<C where block[c] && unforced[c] {
                    keys[c] = DataStreamKey(step: t, component: c, anchored: anchor?.data != nil && nextBlock?[c] == true, coder: coder)
                    reused[c] = reuse.dataStreams[keys[c]!]
                }
            }
            results.withUnsafeMutableBufferPointer { out in
                let out = out
                Self.forEach(C, threads: threads) { c in
                    if let (stream, escapes) = reused[c] {
                        out[c] = .success((stream, escapes, Self.reconstructed(data!, c)))
                        return
                    }
                    let allowed = block.map { planned in candidates.filter { $0.contains(.data) == planned[c] } } ?? candidates
                    // the anchor's indices in the quantisation both blocks keep
                    var anchors: [Bool: [Int32]] = [:]
                    if let anchor, let block, let nextBlock, block[c] == nextBlock[c],
                       let source = block[c] ? anchor.data : anchor.residual {
                        anchors[block[c]] = Self.reconstructed(source, c)
                    }
                    // the planner's evaluations, where they were of the same indices and steps: the
                    // same quantisation (no value forced since) and a chain of as many steps as its
                    var known: [MCIResidual.Predictor: Evaluation]?
                    if let planned, let block, unforced?[c] == true {
                        let steps = t % ResidualPrediction.keyframeInterval == 0 || chains[c]?.isData != block[c] ? 0
                            : chains[c]!.history.count
                        if steps == min(t % ResidualPrediction.keyframeInterval, ResidualPrediction.linearDepth) {
                            known = planned[t][c][block[c] ? 1 : 0]
                        }
                    }
                    let ranked = Self.ranked(allowed, component: c, step: t, residual: residual, data: data,
                                             chain: chains[c], neighbours: neighbours, anchors: anchors, known: known)
                    out[c] = Result {
                        // the order-0 estimate ranks the predictors; the coder's contexts can
                        // reorder two close ones, so both are coded and the smaller kept
                        var kept: (MCIResidual.Stream, Int, [Int32])?
                        for chosen in ranked where chosen.bits <= ranked[0].bits * Self.codedBoth {  // the best always
                            let source = chosen.predictor.contains(.data) ? data! : residual
                            let escapes = source.escapes[c]
                            var stream = try StreamCoding.stream(predictor: chosen.predictor, differences: chosen.d, escapes: escapes,
                                                                 neighbours: neighbours, coder: coder)
                            stream.weights = chosen.weights
                            if kept == nil || stream.storedBytes < kept!.0.storedBytes {
                                kept = (stream, escapes.count, Self.reconstructed(source, c))
                            }
                        }
                        return kept!
                    }
                }
            }
            var streams: [(stream: MCIResidual.Stream, escapes: Int)] = []
            for c in 0..<C {
                let (stream, escapes, indices) = try results[c]!.get()
                streams.append((stream, escapes))
                if let key = keys[c], reused[c] == nil { reuse!.dataStreams[key] = (stream, escapes) }
                // the chain goes on with the time bit, else restarts at this step
                let isData = stream.predictor.contains(.data)
                let earlier = stream.predictor.contains(.time) ? self.chains[c]!.history : []
                self.chains[c] = (isData, Array(([indices] + earlier).prefix(ResidualPrediction.linearDepth)))
            }
            self.t += 1
            return streams
        }

        /// A runner-up whose estimate is within this factor of the best is coded too, and the
        /// smaller kept: the range coder's contexts reorder close candidates (vessel-small,
        /// R = 1e-5, 30 epochs: 817.9 KiB choosing by the estimate alone, 803.1 KiB so).
        static let codedBoth = 1.03

        /// A candidate as `ranked` evaluated it (by its predictor, without the time bit where the
        /// chain had no steps): the entropy of its differences with its weights, and its weights.
        struct Evaluation {
            let bits: Double
            let weights: [Int32]?
        }

        /// The two distinct candidates whose differences have the least entropy (the linear
        /// predictor's weights counted too), the least first; on a tie the earlier candidate.
        /// Candidates that would read earlier steps drop the time bit where the chain cannot give
        /// them. Only two are kept: each holds N differences.
        /// `anchors`: per quantisation (data or not), the next block's first step, which every
        /// linear candidate with earlier steps is also tried with as its third level (`.anchor`).
        /// `known`: candidates (without the anchor) already evaluated on the same indices and
        /// chain (the planner's pass), taken as they are; only the two kept get their
        /// differences computed. `record` receives every candidate evaluated without the anchor.
        static func ranked(_ candidates: [MCIResidual.Predictor], component c: Int, step t: Int,
                           residual: ResidualQuantiser.Quantised, data: ResidualQuantiser.Quantised?,
                           chain: (isData: Bool, history: [[Int32]])?, neighbours: MeshNeighbours,
                           anchors: [Bool: [Int32]] = [:], known: [MCIResidual.Predictor: Evaluation]? = nil,
                           record: ((MCIResidual.Predictor, Evaluation) -> Void)? = nil)
            -> [(predictor: MCIResidual.Predictor, d: [Int64], weights: [Int32]?, bits: Double)] {
            // the kept candidates; a known one's differences (nil) are computed at the end from its levels
            var all: [(predictor: MCIResidual.Predictor, d: [Int64]?, weights: [Int32]?, bits: Double, levels: [[Int32]])] = []
            var tried = Set<MCIResidual.Predictor>()
            // the linear plane weights, per quantisation (data or not) and anchor
            var planeFits: [[Bool]: [Int32]] = [:]
            func keep(_ p: MCIResidual.Predictor, _ d: [Int64]?, _ weights: [Int32]?, _ bits: Double, _ levels: [[Int32]]) {
                let place = all.firstIndex { bits < $0.bits } ?? all.count
                if place < 2 { all.insert((p, d, weights, bits, levels), at: place) }
                if all.count > 2 { all.removeLast() }
            }
            func history(_ isData: Bool) -> [[Int32]] {
                t % ResidualPrediction.keyframeInterval != 0 && chain?.isData == isData ? chain!.history : []
            }
            /// Whether the variant v of a candidate will be evaluated from its differences (not
            /// tried yet, not known).
            func wanted(_ v: MCIResidual.Predictor) -> Bool {
                let candidate = v.subtracting(.anchor), isData = v.contains(.data)
                guard !tried.contains(candidate), candidates.contains(where: {
                    (history(isData).isEmpty ? $0.subtracting(.time) : $0) == candidate
                }) else { return false }
                return v.contains(.anchor) || known?[v] == nil
            }
            // a blend's sibling with the quadratic, whose differences were computed with the blend's
            var quadraticSiblings: [MCIResidual.Predictor: [Int64]] = [:]
            /// Candidate v's differences from `levels` (linear: with its weights `fitted`, of the
            /// reconstructed indices `q` where the caller has them).
            func differences(_ v: MCIResidual.Predictor, _ levels: [[Int32]], _ fitted: [Int32]?, _ q: [Int32]? = nil) -> [Int64] {
                let source = v.contains(.data) ? data! : residual
                guard v.contains(.linear) else {
                    return ResidualPrediction.differences(source.indices[c], escapes: source.escapes[c],
                                                          previous: v.contains(.time) ? levels[0] : nil,
                                                          predictor: v, neighbours: neighbours)
                }
                if let d = quadraticSiblings.removeValue(forKey: v) { return d }
                let q = q ?? reconstructed(source, c)
                guard v.contains(.blend) else {
                    return ResidualPrediction.linearDifferences(q, escapes: source.escapes[c], history: levels,
                                                                weights: fitted!, neighbours: neighbours, plane: v.contains(.plane))
                }
                let chainSteps = min(history(v.contains(.data)).count, ResidualPrediction.linearDepth)
                let sibling = v.union(.quadratic)
                if !v.contains(.quadratic), wanted(sibling) {
                    // one pass for both: the sibling, a later candidate with the same levels and weights
                    let both = ResidualPrediction.blendDifferencesWithAndWithoutQuadratic(
                        q, escapes: source.escapes[c], history: levels, weights: fitted!, neighbours: neighbours, chainSteps: chainSteps)
                    quadraticSiblings[sibling] = both.quadratic
                    return both.blend
                }
                return ResidualPrediction.blendDifferences(q, escapes: source.escapes[c], history: levels, weights: fitted!,
                                                           neighbours: neighbours, quadratic: v.contains(.quadratic), chainSteps: chainSteps)
            }
            for candidate in candidates {
                let isData = candidate.contains(.data)
                guard let source = isData ? data : residual else { continue }
                let history = history(isData)
                let p = history.isEmpty ? candidate.subtracting(.time) : candidate
                guard tried.insert(p).inserted else { continue }
                // the levels: the chain's last steps, or with the anchor the last two (0 before the
                // chain's start: their weights fit to 0) and the anchor
                var variants: [(MCIResidual.Predictor, [[Int32]])] = [(p, history)]
                if p.contains(.linear), !history.isEmpty, let anchor = anchors[isData] {
                    let second = history.count > 1 ? history[1] : [Int32](repeating: 0, count: source.indices[c].count)
                    variants.append((p.union(.anchor), [history[0], second, anchor]))
                }
                var q: [Int32]?  // the reconstructed indices, once per candidate: its variants read the same
                for (v, levels) in variants {
                    let key = [isData, v.contains(.anchor)]
                    if !v.contains(.anchor), let e = known?[v] {
                        if v.contains(.plane) { planeFits[key] = e.weights }
                        keep(v, nil, e.weights, e.bits, levels)
                        continue
                    }
                    var fitted: [Int32]?
                    if v.contains(.linear) {
                        if q == nil { q = reconstructed(source, c) }
                        // the blend (always with the plane) weighs the linear plane prediction with its weights
                        fitted = (v.contains(.blend) ? planeFits[key] : nil)
                            ?? ResidualPrediction.fitLinear(q!, escapes: source.escapes[c], history: levels,
                                                            neighbours: neighbours, plane: v.contains(.plane))
                        if v.contains(.plane) { planeFits[key] = fitted }
                    }
                    let d = differences(v, levels, fitted, q)
                    let bits = ResidualPrediction.entropyBits(d, skipping: source.escapes[c])
                        + Double(fitted == nil ? 0 : 32 * ResidualPrediction.linearWeightCount)
                    if !v.contains(.anchor) { record?(v, Evaluation(bits: bits, weights: fitted)) }
                    keep(v, d, fitted, bits, levels)
                }
            }
            return all.map { ($0.predictor, $0.d ?? differences($0.predictor, $0.levels, $0.weights), $0.weights, $0.bits) }
        }

        /// body(i) for every i in 0 ..< count, on up to `threads` threads, each taking the next
        /// index no thread has taken: the items' costs differ (a reused stream is free, a ranking
        /// takes seconds), and fixed shares would leave a thread idle while another has two left.
        static func forEach(_ count: Int, threads: Int, _ body: (Int) -> Void) {
            let workers = max(1, min(threads, count))
            let lock = NSLock()
            var next = 0
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    lock.lock(); let i = next; next += 1; lock.unlock()
                    guard i < count else { return }
                    body(i)
                }
            }
        }

        /// Component c's indices as the reader reconstructs them: 0 at escapes.
        static func reconstructed(_ q: ResidualQuantiser.Quantised, _ c: Int) -> [Int32] {
            var indices = q.indices[c]
            for i in q.escapes[c].keys { indices[i] = 0 }
            return indices
        }
    }

    /// What `make` does, in order, each step by step: the planning pass over the network's
    /// output (once), then per attempt the coding of every stream and the verification of the
    /// written bytes through the C decoder.
    public enum Stage: String, Sendable {
        case planning, coding, verifying
    }

    /// The planner's costs of the data's own quantisation, per step and component (bits of the
    /// best candidate): a function of the data and the bound alone, kept across the residuals
    /// of one series (`make(dataCosts:)`).
    public final class DataCosts: @unchecked Sendable {
        var bits: [[Double]] = []
        /// The streams of the blocks planned to quantise the data, with the escapes each
        /// stores: they too depend on the data and the bound alone (a data block's chain never
        /// reads the network), given whether the next block's first step is their anchor and
        /// that no value of theirs was forced to an escape; so the residuals of other networks
        /// or weight encodings of the series take them as coded.
        var dataStreams: [DataStreamKey: (stream: MCIResidual.Stream, escapes: Int)] = [:]
        public init() {}
    }

    struct DataStreamKey: Hashable {
        let step: Int, component: Int, anchored: Bool, coder: MCIResidual.Coder?
    }

    /// The plan of `StepStreams`: which quantisation each block of chained steps of a
    /// component uses. A chain cannot change quantisation, and choosing step by step locks a
    /// block into whichever wins at its first step (spatial prediction only), often the
    /// network's residual, while the data's own history predicts the later steps far better
    /// (vessel-medium, R = 1e-4). So the series is seen once beforehand: each quantisation
    /// keeps its own chain through the block, every step is costed in both (the best
    /// candidate's entropy), and the cheaper total wins.
    struct DomainPlanner {
        let componentCount: Int
        let neighbours: MeshNeighbours
        let threads: Int
        let dataCosts: DataCosts?
        /// Per component and quantisation (residual, data): the block's earlier steps, and its bits so far.
        private var history: [[[[Int32]]]]
        private var bits: [[Double]]
        private(set) var plan: [[Bool]] = []
        /// Per step, component and quantisation (residual, data): every candidate evaluated
        /// (none where `dataCosts` gave the data's cost), for the coding pass to take where its
        /// chain holds the same steps.
        private(set) var evaluations: [[[[MCIResidual.Predictor: StepStreams.Evaluation]]]] = []
        private var t = 0

        init(componentCount: Int, neighbours: MeshNeighbours, threads: Int, dataCosts: DataCosts? = nil) {
            self.componentCount = componentCount; self.neighbours = neighbours; self.threads = threads
            self.dataCosts = dataCosts
            history = Array(repeating: [[], []], count: componentCount)
            bits = Array(repeating: [0, 0], count: componentCount)
        }

        mutating func add(residual: ResidualQuantiser.Quantised, data: ResidualQuantiser.Quantised) {
            let C = componentCount, t = self.t, neighbours = self.neighbours, history = self.history
            if t % ResidualPrediction.keyframeInterval == 0 {
                finishBlock()
                self.history = Array(repeating: [[], []], count: C)
            }
            let all = MCIResidual.Predictor.everything
            let known = dataCosts.flatMap { t < $0.bits.count ? $0.bits[t] : nil }  // the data's, from an earlier residual
            // per component c and quantisation k (residual 0, data 1), at 2 c + k: each its own task
            var costs = [Double](repeating: 0, count: 2 * C), kept = [[Int32]](repeating: [], count: 2 * C)
            var evaluated = [[MCIResidual.Predictor: StepStreams.Evaluation]](repeating: [:], count: 2 * C)
            costs.withUnsafeMutableBufferPointer { costOut in
                kept.withUnsafeMutableBufferPointer { keptOut in
                  evaluated.withUnsafeMutableBufferPointer { evaluatedOut in
                    let costOut = costOut, keptOut = keptOut, evaluatedOut = evaluatedOut
                    StepStreams.forEach(2 * C, threads: threads) { item in
                        let c = item / 2, k = item % 2, isData = k == 1
                        keptOut[item] = StepStreams.reconstructed(isData ? data : residual, c)
                        if isData, let known {
                            costOut[item] = known[c]
                            return
                        }
                        let chain: (isData: Bool, history: [[Int32]])? = t % ResidualPrediction.keyframeInterval == 0 ? nil
                            : (isData, history[c][k])
                        var tried: [MCIResidual.Predictor: StepStreams.Evaluation] = [:]
                        let chosen = StepStreams.ranked(all.filter { $0.contains(.data) == isData }, component: c, step: t,
                                                        residual: residual, data: data, chain: chain, neighbours: neighbours,
                                                        record: { tried[$0] = $1 })[0]
                        costOut[item] = chosen.bits
                        evaluatedOut[item] = tried
                    }
                  }
                }
            }
            evaluations.append((0..<C).map { c in [evaluated[2 * c], evaluated[2 * c + 1]] })
            if known == nil { dataCosts?.bits.append((0..<C).map { costs[2 * $0 + 1] }) }
            for c in 0..<C {
                for k in 0..<2 {
                    bits[c][k] += costs[2 * c + k]
                    self.history[c][k] = Array(([kept[2 * c + k]] + self.history[c][k]).prefix(ResidualPrediction.linearDepth))
                }
            }
            self.t += 1
        }

        /// The plan once every step has been added.
        mutating func finish() -> [[Bool]] {
            finishBlock()
            return plan
        }

        private mutating func finishBlock() {
            guard t > 0 else { return }
            plan.append(bits.map { $0[1] < $0[0] })
            bits = Array(repeating: [0, 0], count: componentCount)
        }
    }

    /// The JSON section with an `error_bound` entry (bounds, achieved errors, PSNR with and
    /// without the residual), so the file says what it guarantees; unchanged if not an object.
    static func recordingBound(in json: String, _ r: MCIResidual.Report) -> String {
        MCIModel.addingEntry("error_bound", [
            "max_error": r.maxErrors, "max_abs_error": r.achievedMaxError, "network_max_abs_error": r.networkMaxError,
            "mean_psnr": r.metrics.meanPSNR, "network_mean_psnr": r.networkMetrics.meanPSNR,
            "residual_bytes": r.residualBytes, "nonzero_indices": r.nonZeroIndices, "escapes": r.escapes,
            "bin_width": "2 max_error (1 - 1/64)",
            "predictors": r.predictorCounts, "range_coded_streams": r.rangeCodedStreams, "data_streams": r.dataStreams,
            "anchored_streams": r.anchoredStreams,
        ] as [String: Any], to: json)
    }
}
