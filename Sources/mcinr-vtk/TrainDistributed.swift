import Foundation
import MCIFormat
import MCINR
import MeshIO

/// `mpirun -np R mcinr-vtk train …` (issue 18): every rank opens the series (the mesh, the
/// times and the array list from the first file: replicated, cheap) and reads only its block
/// of steps; the library moves each cluster's values to the rank that trains it, and rank 0
/// writes the file. Any rank's error prints one message naming the rank and ends the job.
extension Train {
    func runDistributed(_ communicator: MPICommunicator) -> Never {
        let rank = communicator.rank, size = communicator.size
        var everyRank = true  // errors before the ranks' own reading are the same on every rank
        communicator.phase = "open"
        do {
            let outURL = URL(fileURLWithPath: output)
            var isDir: ObjCBool = false
            let outDir = outURL.deletingLastPathComponent()
            guard FileManager.default.fileExists(atPath: outDir.path, isDirectory: &isDir), isDir.boolValue,
                  FileManager.default.isWritableFile(atPath: outDir.path) else {
                throw CLIError("\(outDir.path): cannot write there (missing or not writable folder)")
            }
            if replaceNonFinite { throw CLIError("--replace-nonfinite needs every step's values at once: run it on one process (without mpirun)") }
            if compareWeightEncodings { throw CLIError("--compare-weight-encodings runs on one process only") }
            if compareBounds != nil { throw CLIError("--compare-bounds runs on one process only") }
            var (shard, mesh, codedMesh, edge) = try readShard(communicator, everyRank: &everyRank)
            let n = shard.pointCount
            // rank 0 held the cells: its measure of the mesh goes to every rank
            if model.seamMargin.measuresEdges {
                let edges = try communicator.allgather(withUnsafeBytes(of: &edge) { Array($0) })
                edge = edges[0].withUnsafeBytes { $0.loadUnaligned(as: Double.self) }
            }
            var options = EncodeOptions(training: try model.config(points: n, steps: shard.timeCount,
                                                                   medianEdge: edge > 0 ? edge : nil))
            training.apply(to: &options.training)
            storage.apply(to: &options)
            options.triesSmallerNetwork = false  // a second distributed training is not built yet
            let reporter = TerminalProgressRenderer(mode: quiet || rank != 0 ? .quiet : .automatic)
            // rank 0's error-bounded residual runs with the cores of the ranks on its node too:
            // they wait meanwhile (without spinning); the decoder gives the same numbers with any
            // thread count (the evaluation and the mesh coding run on every rank)
            let localRanks = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? 1
            let summary = try Encoder.encode(shard: &shard, mesh: mesh, codedMesh: codedMesh, to: outURL,
                                             options: options, communicator: communicator, reporter: reporter,
                                             rootThreads: max(options.threads, min(ProcessInfo.processInfo.activeProcessorCount,
                                                                                    options.threads * max(1, localRanks))))
            (mesh, codedMesh) = (nil, nil)
            communicator.phase = "report"
            let ranks = try gatherRankReports(communicator)
            if let summary {
                if json {
                    var object = summary.jsonObject(output: output)
                    object["mpi"] = ["ranks": size, "per_rank": ranks]
                    try printJSON(object)
                } else {
                    printSummary(summary, pointCount: n, stepCount: shard.timeCount)
                    if !quiet { printRankReports(ranks) }
                }
            }
        } catch {
            communicator.abort(error, everyRank: everyRank)
        }
        communicator.finalize()
        Foundation.exit(0)
    }

    /// This rank's shard: every point, its block of steps, the selected arrays; the mesh's
    /// cells are decoded on rank 0 only (which embeds them): the others read the points. When
    /// the mesh is embedded as MESHC (the default) every rank codes a share of its chunks before
    /// the steps are read, and rank 0 releases the cells: it returns the coded mesh instead, and
    /// holds its share of the fields and the coded bytes while the ranks train, not the cells
    /// (41 bytes per tet as the tool reads them). `medianEdge`: rank 0's measure for the seams,
    /// 0 elsewhere.
    private func readShard(_ communicator: MPICommunicator, everyRank: inout Bool)
        throws -> (shard: TrainingShard, mesh: Mesh?, codedMesh: [UInt8]?, medianEdge: Double) {
        let rank = communicator.rank, size = communicator.size
        let stream = try openSeries(inputs, cells: rank == 0 ? .mesh : .none)
        let n = stream.mesh.pointCount
        let selected = try selectedArrays(stream)
        let c = selected.reduce(0) { $0 + $1.components }
        let steps = TrainingShard.steps(rank: rank, size: size, stepCount: stream.stepCount)
        if rank == 0 && !quiet {
            let names = selected.map { $0.components == 1 ? $0.name : "\($0.name)(\($0.components))" }.joined(separator: ", ")
            note("\(n) points, \(stream.cellCount) cells, \(stream.stepCount) steps; variables: \(names); \(size) MPI ranks read \(steps.count)-step blocks")
            if !stream.cellArrays.isEmpty {
                note("note: cell data (\(stream.cellArrays.map(\.name).joined(separator: ", "))) is carried in the input but not encoded")
            }
        }
        everyRank = false
        let edge = rank == 0 ? try medianEdgeForSeams(stream.mesh) ?? 0 : 0  // before the cells are released
        let cellCount = stream.cellCount
        var coding = EncodeOptions()
        storage.apply(to: &coding)
        training.apply(to: &coding.training)
        var codedMesh: [UInt8]?
        if coding.cellsPerChunkCodedBeforeTraining != nil {
            let progress = StepProgress(quiet: quiet || rank != 0)
            let phase = "coding the mesh (\(stream.mesh.cellDescription)) on \(size) ranks"
            progress.update(phase, fraction: 0, after: 0)
            codedMesh = try DistributedMeshCoding.code(mesh: rank == 0 ? MCIMesh(stream.mesh) : nil, points: stream.mesh.points,
                                                       options: coding, communicator: communicator)
            progress.update(phase, fraction: 1, after: 0)
            if rank == 0 { stream.releaseCells() }
        }
        communicator.phase = "read"
        var values = [Float](repeating: 0, count: steps.count * n * c)
        for (k, step) in steps.enumerated() {
            let file = try stream.step(step)
            var first = 0
            for info in selected {
                guard let array = file.pointArrays.first(where: { $0.name == info.name }), array.values.count == n * info.components else {
                    throw CLIError("\(stream.files[step].path): point array '\(info.name)' is missing or has the wrong size")
                }
                array.values.withUnsafeBufferPointer { source in
                    values.withUnsafeMutableBufferPointer { target in
                        for p in 0 ..< n {
                            let base = (k * n + p) * c + first
                            for j in 0 ..< info.components { target[base + j] = source[p * info.components + j] }
                        }
                    }
                }
                first += info.components
            }
            if let bad = values[(k * n * c) ..< ((k + 1) * n * c)].firstIndex(where: { !$0.isFinite }) {
                throw CLIError("\(stream.files[step].path): a NaN/Inf value at point \((bad - k * n * c) / c), time step \(step); clean the data, or pass --replace-nonfinite on one process")
            }
        }
        let shard = TrainingShard(variables: selected.map { TrainingData.Variable(name: $0.name, components: $0.components) },
                                  points: stream.mesh.points, times: stream.times, cellCount: cellCount,
                                  steps: steps, values: values)
        return (shard, rank == 0 && codedMesh == nil ? stream.mesh : nil, codedMesh, edge)
    }

    /// The point arrays to train on: `--variables` in the order given, else the file's order.
    private func selectedArrays(_ stream: SeriesStream) throws -> [SeriesStream.ArrayInfo] {
        let available = stream.pointArrays
        guard let names = variables.names else {
            guard !available.isEmpty else { throw CLIError("\(inputs[0]): no point-data variables to train on") }
            return available
        }
        var seen = Set<String>()
        return try names.filter { seen.insert($0).inserted }.map { name in
            guard let info = available.first(where: { $0.name == name }) else {
                throw MeshIOError.unknownVariable(name: name, available: available.map(\.name))
            }
            return info
        }
    }

    /// Each rank's bytes sent / received per phase and its peak memory, on rank 0.
    private func gatherRankReports(_ communicator: MPICommunicator) throws -> [[String: Any]] {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let mine: [String: Any] = [
            "rank": communicator.rank, "peak_rss_bytes": Int(usage.ru_maxrss) * 1024,
            "cpu_seconds": TrafficLog.processCPUSeconds(),
            "phases": communicator.traffic.entries.map {
                ["phase": $0.phase, "sent_bytes": $0.sent, "received_bytes": $0.received, "seconds": $0.seconds,
                 "cpu_seconds": $0.cpuSeconds]
            },
        ]
        let parts = try communicator.gather(Array(try JSONSerialization.data(withJSONObject: mine)), root: 0)
        return try parts.map { try JSONSerialization.jsonObject(with: Data($0)) as! [String: Any] }
    }

    private func printRankReports(_ ranks: [[String: Any]]) {
        for r in ranks {
            let phases = (r["phases"] as? [[String: Any]] ?? []).map { p in
                "\(p["phase"]!) \(fmt(p["seconds"] as! Double, 1)) s \(formatBytes(UInt64(p["sent_bytes"] as! Int)))↑ \(formatBytes(UInt64(p["received_bytes"] as! Int)))↓"
            }
            print("rank \(r["rank"]!): peak memory \(formatBytes(UInt64(r["peak_rss_bytes"] as! Int))); per phase, seconds and bytes sent↑/received↓: \(phases.joined(separator: ", "))")
        }
    }
}
