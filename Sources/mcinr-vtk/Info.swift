import ArgumentParser
import Foundation
import MCIFormat
import MCINR

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what an .mci model holds: variables, times, clusters, architecture, sizes, training summary.",
        discussion: "Example:\n  mcinr-vtk info flow.mci --json | jq .variables")

    @Argument(help: "The .mci model file.") var model: String
    @Flag(help: "Print machine-readable JSON instead of text.") var json = false
    @OptionGroup var limits: DecoderLimits

    func run() throws {
        // info vouches for the whole file: every residual chain is validated at open
        let m = try openModel(model, limits: limits, validateResidual: true)
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: model)[.size] as? NSNumber)?.uint64Value ?? 0
        let metadata = (try? JSONSerialization.jsonObject(with: Data(m.metadataJSON.utf8))) as? [String: Any] ?? [:]
        let leaves = m.treeNodes.filter(\.isLeaf).count
        let splits = (m.treeNodes.count - m.topLevelCount) / 2   // each split adds two nodes
        let times = m.times
        let ranges = m.componentRanges
        let ratioWeights = m.weightBytes > 0 ? Double(m.rawFieldBytes) / Double(m.weightBytes) : 0
        let ratioFile = fileBytes > 0 ? Double(m.rawFieldBytes) / Double(fileBytes) : 0
        // Format 1.0 has float32 only; 1.1 files from `train` name their encoding in the JSON.
        let encoding = ((metadata["weights"] as? [String: Any])?["encoding"] as? String)
            ?? (m.formatVersion.minor == 0 ? "f32" : "unknown")
        let netsCompressed = sectionIsCompressed(path: model, type: 4)
        // fields only: what an error-bounded compressor (SZ3, ...) would be compared with
        let ratioFields = Double(m.rawFieldBytes) / Double(max(m.weightBytes + m.residualBytes, 1))
        // Whether --time-budget cut the training (files from train 1.0 on, under a budget).
        let budget = (try? JSONSerialization.data(withJSONObject: metadata["timeBudget"] ?? NSNull(), options: [.fragmentsAllowed]))
            .flatMap { try? JSONDecoder().decode(BudgetReport.self, from: $0) }
        if json {
            var first = 0
            let variables: [[String: Any]] = m.variables.map { v in
                defer { first += v.components }
                return ["name": v.name, "components": v.components,
                        "ranges": (0..<v.components).map { [ranges[first + $0].lowerBound, ranges[first + $0].upperBound] }]
            }
            try printJSON([
                "file": model, "format_version": "\(m.formatVersion.major).\(m.formatVersion.minor)",
                "variables": variables, "times": times,
                "bounds": ["min": m.bounds.min, "max": m.bounds.max],
                // the embedded mesh's own counts (what ParaView shows); META's when there is none
                "points": m.hasMesh ? UInt64(m.meshPointCount) : m.trainingPointCount,
                "cells": m.hasMesh ? UInt64(m.meshCellCount) : m.trainingCellCount,
                "training_points": m.trainingPointCount, "training_cells": m.trainingCellCount,
                "has_mesh": m.hasMesh,
                "weights": ["encoding": encoding, "nets_compressed": netsCompressed],
                "clusters": ["top_level": m.topLevelCount, "leaves": leaves, "splits": splits, "networks": m.networkCount],
                "seam_margin": m.seamMargin as Any? ?? NSNull(),
                "sizes": ["file_bytes": fileBytes, "weight_bytes": m.weightBytes, "raw_field_bytes": m.rawFieldBytes,
                          "residual_bytes": m.residualBytes, "mesh_bytes": m.meshBytes, "mesh_chunks": m.meshChunkCount,
                          "mesh_index_boxes": m.meshIndexBoxes as Any? ?? NSNull(),
                          "compression_ratio_weights": ratioWeights, "compression_ratio_file": ratioFile,
                          "compression_ratio_fields": ratioFields],
                "error_bound": m.residualMaxErrors.map { bounds in
                    zip(m.componentNames, bounds).map { ["name": $0.0, "bound": $0.1] as [String: Any] }
                } as Any? ?? NSNull(),
                "time_budget": budget?.jsonObject as Any? ?? NSNull(),
                "metadata": metadata,
            ])
            return
        }
        print("\(model)  (.mci format \(m.formatVersion.major).\(m.formatVersion.minor))")
        if let method = metadata["method"] { print("method:      \(method)") }
        print(m.hasMesh ? "mesh:        \(m.meshPointCount) points, \(m.meshCellCount) cells (embedded, \(formatBytes(UInt64(m.meshBytes))), "
                              + "\(fmt(Double(m.meshBytes) / Double(max(m.meshCellCount, 1)), 2)) bytes/cell, "
                              + (m.meshCodingIsChunked ? "MESHC, \(m.meshChunkCount) chunks"
                                 + (m.meshIndexBoxes.map { ", indexed in \($0.map(String.init).joined(separator: "×")) boxes" } ?? "")
                                 + ")" : "MESH, zlib)")
                        : "mesh:        not embedded (trained on \(m.trainingPointCount) points, \(m.trainingCellCount) cells)")
        if let t0 = times.first, let t1 = times.last { print("time steps:  \(times.count) (t = \(t0) … \(t1))") }
        print("clusters:    \(m.topLevelCount) top-level, \(splits) splits, \(leaves) networks"
              + (m.seamMargin.map { ", blended across their boundaries within \(fmt($0, 3)) (normalised; SEAM)" } ?? ""))
        if let arch = metadata["architecture"] { print("architecture: \(compactJSON(arch))") }
        print("weights:     \(encoding)\(netsCompressed ? ", zlib-compressed" : "")")
        if let budget { print(budget.summaryLine) }
        if let bounds = m.residualMaxErrors {
            print("error-bounded: yes — at mesh points and stored steps every value is within E_c of the training data")
            print("             E_c: " + zip(m.componentNames, bounds).map { "\($0.0) \(sci($0.1))" }.joined(separator: ", "))
            print("sizes:       file \(formatBytes(fileBytes)), weights \(formatBytes(m.weightBytes)), residual \(formatBytes(m.residualBytes)), raw fields \(formatBytes(m.rawFieldBytes))")
            print("compression: \(fmt(ratioFields, 1))× (fields / (weights + residual)), \(fmt(ratioWeights, 1))× (fields / weights alone), \(fmt(ratioFile, 1))× (fields / whole file)")
        } else {
            print("sizes:       file \(formatBytes(fileBytes)), weights \(formatBytes(m.weightBytes)), raw fields \(formatBytes(m.rawFieldBytes))")
            print("compression: \(fmt(ratioWeights, 1))× (fields / weights, as in the paper), \(fmt(ratioFile, 1))× (fields / whole file)")
        }
        var first = 0
        let rows: [[String]] = m.variables.map { v in
            defer { first += v.components }
            let r = (0..<v.components).map { "[\(sci(ranges[first + $0].lowerBound)), \(sci(ranges[first + $0].upperBound))]" }
            return [v.name, "\(v.components)", r.joined(separator: " ")]
        }
        print(table(["variable", "comps", "range"], rows))
        if let training = metadata["training"] as? [String: Any],
           let clusters = training["clusters"] as? [[String: Any]] {
            let epochs = clusters.compactMap { $0["epochs"] as? Int }
            var stops: [String: Int] = [:]
            for c in clusters { if let stop = c["stop"] as? String { stops[stop, default: 0] += 1 } }
            let reasons = stops.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            print("training:    \(clusters.count) cluster runs, \(epochs.min() ?? 0)–\(epochs.max() ?? 0) epochs each\(reasons.isEmpty ? "" : " (stopped: \(reasons))")")
        }
        if let bound = metadata["error_bound"] as? [String: Any], let psnr = bound["mean_psnr"] as? Double,
           let network = bound["network_mean_psnr"] as? Double {
            print("metrics:     mean PSNR \(fmt(psnr)) dB at the mesh points and stored steps with the residual, \(fmt(network)) dB network alone (`mcinr-vtk eval` recomputes them)")
        } else if let metrics = metadata["metrics"] as? [String: Any], let psnr = metrics["meanPSNR"] as? Double {
            print("metrics:     mean PSNR \(fmt(psnr)) dB at training time (`mcinr-vtk eval` recomputes them)")
        }
    }
}

func compactJSON(_ value: Any) -> String {
    guard JSONSerialization.isValidJSONObject(value),
          let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else { return "\(value)" }
    let s = String(decoding: data, as: UTF8.self)
    return s.count > 300 ? String(s.prefix(297)) + "…" : s
}

/// Whether the section of `type` has the compressed flag (bit 1, format 1.1), read from the
/// section table of a file the decoder has already validated.
func sectionIsCompressed(path: String, type: UInt32) -> Bool {
    guard let handle = FileHandle(forReadingAtPath: path) else { return false }
    defer { try? handle.close() }
    let header = [UInt8](handle.readData(ofLength: 16))
    guard header.count == 16 else { return false }
    func u32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
    let count = Int(min(u32(header, 12), 4096))
    let table = [UInt8](handle.readData(ofLength: 32 * count))
    guard table.count == 32 * count else { return false }
    return (0..<count).contains { u32(table, 32 * $0) == type && u32(table, 32 * $0 + 4) & 2 != 0 }
}
