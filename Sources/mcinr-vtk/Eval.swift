import ArgumentParser
import Foundation
import MCIFormat
import MCINR

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a model with ground-truth data: PSNR, NRMSE, R², max |error| per variable.",
        discussion: """
        The model is decoded (by the C decoder, as ParaView does) at every point and time step of the ground truth. PSNR and NRMSE use each component's global range over all steps; R² is pooled over all steps.

        Example:
          mcinr-vtk eval flow.mci --ground-truth run/flow.pvd --json > metrics.json
        """)

    @Argument(help: "The .mci model file.") var model: String
    @Option(name: .customLong("ground-truth"), help: "The original data (.pvd or .vtu).") var groundTruth: String
    @OptionGroup var variables: VariableSelection
    @OptionGroup var threads: DecoderThreads
    @Option(name: .customLong("seams-by"),
            help: "Count the seam ratio on the boundaries of this other model's networks (e.g. a single network measured on a clustered model's boundaries).")
    var seamsBy: String?
    @Flag(help: "Print machine-readable JSON instead of a table.") var json = false

    func run() throws {
        let decoder = try openModel(model, limits: threads.limits, threads: threads.count)
        let routing = try seamsBy.map { try openModel($0, limits: threads.limits, threads: threads.count) }
        let gt = try openSeries([groundTruth], cells: .compact)
        let comparison = try GroundTruthComparison(
            decoder: decoder, groundTruth: gt, steps: Array(gt.times.indices), groundTruthPath: groundTruth,
            variableNames: variables.names, threads: threads.count, progress: StepProgress(), seamRouting: routing)
        if json {
            try printJSON(comparison.metricsJSON(model: decoder))
        } else {
            print(comparison.metricsTable())
            let ratio = decoder.weightBytes > 0 ? Double(decoder.rawFieldBytes) / Double(decoder.weightBytes) : 0
            if let rows = comparison.boundCheck(model: decoder) {
                let broken = rows.filter { $0.maxError > $0.bound }
                print(broken.isEmpty
                      ? "error bound holds: max |err| ≤ E_c for every compared component (\(rows.map { "\($0.name) \(sci($0.maxError)) ≤ \(sci($0.bound))" }.joined(separator: ", ")))"
                      : "error bound VIOLATED: " + broken.map { "\($0.name) \(sci($0.maxError)) > \(sci($0.bound))" }.joined(separator: ", "))
                let fields = Double(decoder.rawFieldBytes) / Double(max(decoder.weightBytes + decoder.residualBytes, 1))
                print("compression ratio \(fmt(fields, 1))× (raw fields / (weights + residual)), \(fmt(ratio, 1))× (raw fields / weights)")
            } else {
                print("compression ratio \(fmt(ratio, 1))× (raw fields / weights)")
            }
            if let seams = comparison.seamMetric, let s = seams.summary {
                print("seam ratio \(fmt(s.median, 2)) median, \(fmt(s.max, 2)) max over components (edge error across networks / "
                      + "within one; 1 = no visible boundary; per component in --json)")
                if let edge = comparison.medianEdgeLength {
                    print("median cell edge \(fmt(edge, 3)) in normalised coordinates (train's default seam margin: at most "
                          + "\(fmt(MCINRConfig.seamMarginInEdges * edge, 3)), \(MCINRConfig.seamMarginInEdges) edges)")
                }
            }
        }
    }
}

func parseList(_ s: String) -> [String] {
    s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}
