import ModelDescription
import Foundation
import INRCore
import MCIFormat
import MeshIO

/// Decodes a model at the points and times of a ground-truth series (through the C decoder)
/// and compares, component by component, with the same metrics the trainer reports. The
/// series is streamed: a first pass over its steps finds each component's range and mean, the
/// second decodes and compares one step at a time, so memory holds two steps, not the series.
struct GroundTruthComparison {
    /// Model component indices compared, in model order, and their names.
    var components: [Int]
    var componentNames: [String]
    /// The model variables compared (index into decoder.variables).
    var variables: [Int]
    var variableNames: [String]
    var variableComponents: [Int]
    var report: MetricsReport
    /// Seam ratio per compared component over the ground truth's cells (nil without cells).
    var seamMetric: SeamMetric?
    /// The median cell edge in the model's normalised coordinates (what `--seam-margin` spans).
    var medianEdgeLength: Double?

    /// Compares steps `steps` of `gt` (indices in time order). `variableNames` restricts the
    /// comparison (nil: every model variable). The ground truth's cells are taken from `gt` as
    /// `CompactCells` (opened with `.compact`, they were never held as Int arrays): `useCells`
    /// sees them before the seam metric keeps them. `seamRouting`: the model whose networks
    /// classify the edges (nil: this one), so that a single network can be measured on a
    /// clustered model's boundaries. `visit(k, truth, decoded)` sees the k-th
    /// compared step's n × components.count blocks (point-major), in order.
    init(decoder: MCIDecoder, groundTruth gt: SeriesStream, steps: [Int], groundTruthPath: String,
         variableNames: [String]?, threads: Int, progress: StepProgress? = nil, seamRouting: MCIDecoder? = nil,
         useCells: ((CompactCells) throws -> Void)? = nil,
         visit: ((Int, [Float], [Float]) throws -> Void)? = nil) throws {
        let modelVariables = decoder.variables
        let selected = try selectedVariables(decoder, named: variableNames)
        // The ground truth must be the model's data: same point count, same variables.
        let n = gt.mesh.pointCount
        let expectedPoints = Int(decoder.trainingPointCount)
        guard n == expectedPoints else {
            throw CLIError("\(groundTruthPath): ground truth has \(n) points, the model was trained on \(expectedPoints)")
        }
        if decoder.hasMesh {
            let meshCells = decoder.meshCellCount
            guard gt.cellCount == meshCells else {
                throw CLIError("\(groundTruthPath): ground truth has \(gt.cellCount) cells, the model's mesh has \(meshCells)")
            }
        }
        var truthColumns: [(array: String, stride: Int, component: Int)] = []
        var comps: [Int] = [], names: [String] = []
        for v in selected {
            let mv = modelVariables[v]
            guard let g = gt.pointArrays.first(where: { $0.name == mv.name }) else {
                throw CLIError("\(groundTruthPath): has no point array '\(mv.name)' (it has: "
                               + gt.pointArrays.map(\.name).joined(separator: ", ") + ")")
            }
            guard g.components == mv.components else {
                throw CLIError("\(groundTruthPath): array '\(mv.name)' has \(g.components) components, the model has \(mv.components)")
            }
            let first = decoder.firstComponent(ofVariable: v)
            for k in 0..<mv.components {
                comps.append(first + k)
                truthColumns.append((mv.name, mv.components, k))
                names.append(ModelDescription.componentNames(variable: mv.name, components: mv.components)[k])
            }
        }
        components = comps
        componentNames = names
        variables = selected
        self.variableNames = selected.map { modelVariables[$0].name }
        variableComponents = selected.map { modelVariables[$0].components }

        // Pass 1: each component's range over the compared steps (PSNR and NRMSE use it, as
        // METHOD says) and its mean (the pooled R² measures against it).
        let nc = comps.count
        var lo = [Float](repeating: .infinity, count: nc), hi = [Float](repeating: -.infinity, count: nc)
        var means = PooledMeans(components: nc)
        progress?.update("reading the ground truth", done: 0, total: steps.count)
        for (k, s) in steps.enumerated() {
            let truth = gatherColumns(try gt.step(s), truthColumns, pointCount: n)
            defer { progress?.update("reading the ground truth", done: k + 1, total: steps.count) }
            truth.withUnsafeBufferPointer { t in
                means.add(t)
                for i in 0..<n { for j in 0..<nc { lo[j] = min(lo[j], t[i * nc + j]); hi[j] = max(hi[j], t[i * nc + j]) } }
            }
        }
        let modelRanges = decoder.componentRanges
        let ranges = (0..<nc).map { j in
            hi[j] >= lo[j] ? Double(hi[j] - lo[j]) : modelRanges[comps[j]].upperBound - modelRanges[comps[j]].lowerBound
        }

        // Pass 2: decode and compare step by step. An error-bounded model is decoded at its
        // mesh points (as ParaView does), where the residual applies; the mesh is the ground
        // truth's (same point count, checked above).
        let atMesh = decoder.hasResidual && decoder.meshPointCount == n
        var evaluation = StepwiseEvaluation(ranges: ranges, pooledMeans: means.means)
        var seams = try { () throws -> SeamMetric? in
            let cells = try gt.takeCompactCells()
            try useCells?(cells)
            return cells.cellCount > 0 ? SeamMetric(cells: cells, network: (seamRouting ?? decoder).routes(points: gt.mesh.points),
                                                           ranges: ranges) : nil
        }()
        medianEdgeLength = seams?.medianEdgeLength(points: gt.mesh.points, boxMin: decoder.bounds.min, boxMax: decoder.bounds.max)
        progress?.update("decoding and comparing", done: 0, total: steps.count)
        for (k, s) in steps.enumerated() {
            let time = gt.times[s]
            // The truth first: the step's file is released before the decoded block exists
            let truth = gatherColumns(try gt.step(s), truthColumns, pointCount: n)
            let decoded = atMesh
                ? try decoder.decodeMesh(time: time, components: comps, threads: threads)
                : try decoder.decode(points: gt.mesh.points, time: time, components: comps, threads: threads)
            truth.withUnsafeBufferPointer { t in
                decoded.withUnsafeBufferPointer { d in
                    evaluation.add(truth: t, prediction: d)
                    seams?.add(truth: t, prediction: d)
                }
            }
            try visit?(k, truth, decoded)
            progress?.update("decoding and comparing", done: k + 1, total: steps.count)
        }
        report = evaluation.report
        seamMetric = seams
    }

    /// Error-bounded model: per compared component, (name, max |err|, bound); nil otherwise.
    func boundCheck(model: MCIDecoder) -> [(name: String, maxError: Double, bound: Double)]? {
        guard let bounds = model.residualMaxErrors else { return nil }
        return report.componentSummaries(names: componentNames).enumerated().map { j, row in
            (row.name, row.maxAbsError, bounds[components[j]])
        }
    }

    func metricsTable() -> String { mcinr_vtk.metricsTable(report, names: componentNames) }

    func metricsJSON(model: MCIDecoder) -> [String: Any] {
        [
            "mean": ["psnr": report.meanPSNR, "nrmse": report.meanNRMSE, "r2": report.meanR2,
                     "mse": report.meanMSE, "max_abs_error": report.maxAbsError],
            "components": report.componentSummaries(names: componentNames).map {
                ["name": $0.name, "psnr": $0.psnr, "nrmse": $0.nrmse, "r2": $0.r2, "max_abs_error": $0.maxAbsError]
            },
            "per_step": report.perComponent.enumerated().map { j, steps in
                ["name": componentNames[j], "psnr": steps.map(\.psnr), "nrmse": steps.map(\.nrmse),
                 "r2_per_step": steps.map(\.r2), "max_abs_error": steps.map(\.maxAbsError)] as [String: Any]
            },
            "error_bound": boundCheck(model: model).map { rows -> [String: Any] in
                ["holds": rows.allSatisfy { $0.maxError <= $0.bound }, "residual_bytes": model.residualBytes,
                 "components": rows.map { ["name": $0.name, "max_abs_error": $0.maxError, "bound": $0.bound] }]
            } as Any? ?? NSNull(),
            "seams": seamMetric.map { s -> [String: Any] in
                [
                    "ratio": s.ratios.map { $0 as Any? ?? NSNull() },
                    "components": componentNames,
                    "median": s.summary?.median as Any? ?? NSNull(), "max": s.summary?.max as Any? ?? NSNull(),
                    "edges_across_networks": s.edgesAcross, "edges_within_networks": s.edgesWithin,
                    "median_edge_length": medianEdgeLength as Any? ?? NSNull(),
                    "definition": "per component: mean over cell edges (i, j) whose ends are routed to different networks "
                        + "of |(d_i - d_j) - (t_i - t_j)| / range, divided by the same mean over edges inside one network "
                        + "(d decoded, t ground truth; every step compared; edges once per cell)",
                ]
            } as Any? ?? NSNull(),
            "weight_bytes": model.weightBytes,
            "raw_field_bytes": model.rawFieldBytes,
            "compression_ratio": model.weightBytes > 0 ? Double(model.rawFieldBytes) / Double(model.weightBytes) : 0,
            "compression_ratio_fields": Double(model.rawFieldBytes) / Double(max(model.weightBytes + model.residualBytes, 1)),
            "psnr_range": "global range of each component over all ground-truth steps",
            "r2": "per component, pooled over all steps (per-step values under per_step)",
        ]
    }
}

/// The given (array, component) columns of one ground-truth step, as a point-major
/// n × columns.count block (the layout the decoder returns).
func gatherColumns(_ step: VTUFile, _ columns: [(array: String, stride: Int, component: Int)], pointCount n: Int) -> [Float] {
    let nc = columns.count
    var out = [Float](repeating: 0, count: n * nc)
    for (j, col) in columns.enumerated() {
        guard let values = step.pointArrays.first(where: { $0.name == col.array })?.values else { continue }
        for i in 0..<n { out[i * nc + j] = values[i * col.stride + col.component] }
    }
    return out
}

/// The model variables named (in that order), or all of them: what eval, export and the
/// comparison decode.
func selectedVariables(_ decoder: MCIDecoder, named names: [String]?) throws -> [Int] {
    guard let names else { return Array(decoder.variables.indices) }
    return try names.map { name in
        guard let v = decoder.variables.firstIndex(where: { $0.name == name }) else {
            throw CLIError("unknown variable '\(name)'; the model has: " + decoder.variables.map(\.name).joined(separator: ", "))
        }
        return v
    }
}
