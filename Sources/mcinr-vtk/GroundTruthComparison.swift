import ModelDescription
import Foundation
import INRCore
import MCIFormat
import MeshIO

/// Decodes a model at the points and times of a ground-truth dataset (through the C decoder)
/// and compares, component by component, with the same metrics the trainer reports.
struct GroundTruthComparison {
    /// Model component indices compared, in model order, and their names.
    var components: [Int]
    var componentNames: [String]
    /// The model variables compared (index into decoder.variables).
    var variables: [Int]
    var variableNames: [String]
    var variableComponents: [Int]
    /// Per step: decoded and ground-truth values, n × components.count, point-major.
    var decoded: [[Float]]
    var truth: [[Float]]
    var report: MetricsReport

    /// `variableNames` restricts the comparison (nil: every model variable).
    init(decoder: MCIDecoder, groundTruth gt: Dataset, groundTruthPath: String,
         variableNames: [String]?, threads: Int) throws {
        let modelVariables = decoder.variables
        let selected: [Int]
        if let names = variableNames {
            selected = try names.map { name in
                guard let v = modelVariables.firstIndex(where: { $0.name == name }) else {
                    throw CLIError("unknown variable '\(name)'; the model has: "
                                   + modelVariables.map(\.name).joined(separator: ", "))
                }
                return v
            }
        } else {
            selected = Array(modelVariables.indices)
        }
        // The ground truth must be the model's data: same point count, same variables.
        let expectedPoints = Int(decoder.trainingPointCount)
        guard gt.pointCount == expectedPoints else {
            throw CLIError("\(groundTruthPath): ground truth has \(gt.pointCount) points, the model was trained on \(expectedPoints)")
        }
        if decoder.hasMesh {
            let meshCells = decoder.meshCellCount
            guard gt.cellCount == meshCells else {
                throw CLIError("\(groundTruthPath): ground truth has \(gt.cellCount) cells, the model's mesh has \(meshCells)")
            }
        }
        var truthColumns: [(variable: Int, component: Int)] = []
        var comps: [Int] = [], names: [String] = []
        for v in selected {
            let mv = modelVariables[v]
            guard let g = gt.variables.firstIndex(where: { $0.name == mv.name }) else {
                throw CLIError("\(groundTruthPath): has no point array '\(mv.name)' (it has: "
                               + gt.variables.map(\.name).joined(separator: ", ") + ")")
            }
            guard gt.variables[g].components == mv.components else {
                throw CLIError("\(groundTruthPath): array '\(mv.name)' has \(gt.variables[g].components) components, the model has \(mv.components)")
            }
            let first = decoder.firstComponent(ofVariable: v)
            for k in 0..<mv.components {
                comps.append(first + k)
                truthColumns.append((g, k))
                names.append(ModelDescription.componentNames(variable: mv.name, components: mv.components)[k])
            }
        }
        let modelRanges = decoder.componentRanges
        let n = gt.pointCount, nc = comps.count
        var decoded: [[Float]] = [], truth: [[Float]] = []
        // An error-bounded model is decoded at its mesh points (as ParaView does), where the
        // residual applies; the mesh is the ground truth's (same point count, checked above).
        let atMesh = decoder.hasResidual && decoder.meshPointCount == n
        for s in 0..<gt.stepCount {
            decoded.append(atMesh
                ? try decoder.decodeMesh(time: gt.times[s], components: comps, threads: threads)
                : try decoder.decode(points: gt.mesh.points, time: gt.times[s], components: comps, threads: threads))
            truth.append(gatherColumns(gt, truthColumns, step: s))
        }
        components = comps
        componentNames = names
        variables = selected
        self.variableNames = selected.map { modelVariables[$0].name }
        variableComponents = selected.map { modelVariables[$0].components }
        self.decoded = decoded
        self.truth = truth
        // PSNR/NRMSE use the component's global range over the ground truth's steps (METHOD).
        var ranges = [Double](repeating: 0, count: nc)
        for j in 0..<nc {
            var lo = Float.infinity, hi = -Float.infinity
            for s in 0..<truth.count { for i in 0..<n { let x = truth[s][i * nc + j]; lo = min(lo, x); hi = max(hi, x) } }
            ranges[j] = hi >= lo ? Double(hi - lo) : modelRanges[comps[j]].upperBound - modelRanges[comps[j]].lowerBound
        }
        report = Metrics.evaluate(truth: truth, prediction: decoded, ranges: ranges)
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
            "weight_bytes": model.weightBytes,
            "raw_field_bytes": model.rawFieldBytes,
            "compression_ratio": model.weightBytes > 0 ? Double(model.rawFieldBytes) / Double(model.weightBytes) : 0,
            "compression_ratio_fields": Double(model.rawFieldBytes) / Double(max(model.weightBytes + model.residualBytes, 1)),
            "psnr_range": "global range of each component over all ground-truth steps",
            "r2": "per component, pooled over all steps (per-step values under per_step)",
        ]
    }
}

/// Step `step` of the given (variable, component) columns of a dataset, as a point-major
/// n × columns.count block (the layout the decoder returns).
func gatherColumns(_ dataset: Dataset, _ columns: [(variable: Int, component: Int)], step: Int) -> [Float] {
    let n = dataset.pointCount, nc = columns.count
    var out = [Float](repeating: 0, count: n * nc)
    for (j, col) in columns.enumerated() {
        let variable = dataset.variables[col.variable]
        let values = variable.values[step], stride = variable.components
        for i in 0..<n { out[i * nc + j] = values[i * stride + col.component] }
    }
    return out
}
