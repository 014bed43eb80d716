import Foundation
import MCIFormat
import MeshIO
import ModelDescription

extension Encoder {
    /// The encode sequence on the ranks of `communicator` (issue 18): every rank calls it with
    /// its shard (`TrainingShard`: every point, its block of steps); the shard's values are
    /// moved to the clusters' owners and dropped here (held once across the ranks). Training
    /// runs on all ranks; so does the evaluation: each rank decodes the points it holds, with
    /// sums per top-level cluster combined in cluster order (`PartitionedEvaluation`: the same
    /// floats as one process). The error-bounded residual runs on rank 0 with the truth
    /// gathered a step at a time from the owners. A MESHC mesh is coded chunk by chunk on every
    /// rank before training (`MCIMeshChunkShares`: the same bytes as one process), so that rank 0
    /// holds the coded bytes while the ranks train, not the cells; `codedMesh`: rank 0's mesh
    /// already coded so by `DistributedMeshCoding.code` (which every rank called), when its
    /// caller released the cells before reading the steps. Every rank verifies its chunks of the
    /// written bytes; rank 0 alone writes the file (temporary file, then rename) and returns the
    /// summary, the other ranks nil once it is written. The same input, seed and options give
    /// the same bytes for any number of ranks (runs cut by the time budget excepted).
    ///
    /// A rank that throws must end the job (the front end calls MPI_Abort): the other ranks
    /// may be waiting for it in a collective.
    ///
    /// `rootThreads`: threads of rank 0's residual (default: the training's);
    /// a front end may give it the cores of the ranks that share rank 0's node, idle meanwhile.
    /// The decoder's results do not depend on its thread count.
    public static func encode(shard: inout TrainingShard, mesh: Mesh?, codedMesh: [UInt8]? = nil, to url: URL,
                              options: EncodeOptions, communicator: Communicator, reporter: ProgressReporter? = nil,
                              rootThreads: Int? = nil) throws -> EncodeSummary? {
        try options.validate()
        if options.triesSmallerNetwork {  // a second distributed training: not built yet
            throw MCINRError.invalidConfiguration("trying a smaller network is not supported under MPI yet; give --ratio instead")
        }
        let isRoot = communicator.rank == 0
        let reporter = isRoot ? reporter : nil
        let chunked = options.cellsPerChunkCodedBeforeTraining != nil
        if codedMesh != nil && !chunked {
            throw MCINRError.invalidConfiguration("a coded mesh is embedded as MESHC (the options embed no mesh or code it otherwise)")
        }
        if isRoot && options.embedMesh && mesh == nil && codedMesh == nil {
            throw MCINRError.invalidConfiguration("rank 0 needs the mesh to embed it")
        }
        // only rank 0 knows whether its caller coded the mesh: every rank codes it here if not
        var coded = codedMesh
        if chunked, try communicator.broadcast([isRoot && codedMesh != nil ? 1 : 0], root: 0) == [0] {
            coded = try DistributedMeshCoding.code(mesh: isRoot ? mesh.map { MCIMesh($0) } : nil, points: shard.points,
                                                   options: options, communicator: communicator)
        }
        var (result, fields) = try MCINRPipeline(config: options.trainingConfig, reporter: reporter)
            .runDistributed(&shard, communicator: communicator)
        result.config.evaluation = options.training.evaluation
        let points = shard.points
        let truth = { (step: Int) throws -> [Float]? in try fields.gatherStep(step, root: 0, communicator: communicator) }

        // The residual reads the steps several times, in an order only rank 0 knows: it names
        // each step it wants (broadcast), then gathers it; -1 ends the requests.
        func request(_ step: Int) throws -> Int {
            var w = ByteWriter()
            w.int(step)
            var r = ByteReader(try communicator.broadcast(w.bytes, root: 0))
            return try r.int()
        }
        // Every rank takes part in each encoding's evaluation and residual; rank 0 keeps the
        // smallest (`EncodeOptions.weightEncodingsTried`, as one process does).
        let embedded = isRoot && options.embedMesh && !chunked ? MCIMesh(mesh!) : nil
        let dataCosts = ErrorBoundedEncoder.DataCosts()
        let best = try Stored.smallest(options) { tried, start -> Stored? in
            let encoding = tried.weightEncoding
            communicator.phase = "evaluation"
            var metrics: MetricsReport?
            if options.training.evaluation == .decoder {
                reporter?.report(.evaluating)
                metrics = try DistributedEvaluation.evaluate(result, points: points, fields: fields, communicator: communicator,
                                                             threads: options.threads, weightEncoding: encoding)
            }
            communicator.phase = "residual"
            guard isRoot else {
                if options.errorBound != nil {
                    while true {
                        let step = try request(-1)  // the value sent is rank 0's
                        guard step >= 0 else { break }
                        _ = try truth(step)
                    }
                }
                return nil
            }
            var (evaluated, model) = try Stored.model(result, metrics: metrics, mesh: embedded, options: tried)
            model.codedMesh = coded
            var bounded: MCIResidual.Report?
            if let bound = options.errorBound {
                reporter?.report(.errorBounding(points: result.pointCount, steps: result.times.count, weights: encoding.shortName))
                (model, bounded) = try ErrorBoundedEncoder.make(model, bound: bound, threads: rootThreads ?? options.threads,
                                                                dataCosts: dataCosts,
                                                                progress: reporter.map(ErrorBoundedEncoder.reporting)) { step in
                    try truth(request(step))!
                }
                _ = try request(-1)
            }
            return try Stored(result: evaluated, options: tried, metrics: metrics, model: model, bounded: bounded,
                              since: start)
        }
        guard let chosen = best else {
            if chunked {
                try DistributedMeshCoding.verifyAndWrite(nil, points: points, to: url, threads: options.threads,
                                                         communicator: communicator)
            }
            communicator.phase = "write"
            try communicator.barrier()  // returns once rank 0 has written the file (or the job ends)
            return nil
        }
        if chunked {
            try DistributedMeshCoding.verifyAndWrite(chosen.model, points: points, to: url, threads: options.threads,
                                                     communicator: communicator)
            communicator.phase = "write"
        } else {
            communicator.phase = "write"
            try MCIWriter.write(chosen.model, to: url)
        }
        var summary = try summarize(chosen.result, metrics: chosen.bounded?.metrics ?? chosen.metrics, bounded: chosen.bounded,
                                    file: url, options: chosen.options)
        summary.weightChoices = chosen.choices
        try communicator.barrier()
        return summary
    }
}

/// `DecoderEvaluation` on the ranks: each decodes the points whose values it holds (its
/// top-level clusters' since the redistribution) and the sums are combined per cluster in
/// cluster order, so the metrics are those of one process (`PartitionedEvaluation`).
enum DistributedEvaluation {
    static func evaluate(_ result: PipelineResult, points: [Double], fields: DistributedFields, communicator: Communicator,
                         threads: Int, weightEncoding: MCIWeightEncoding) throws -> MetricsReport? {
        let decoder = try DecoderEvaluation.storedModelDecoder(result, weightEncoding: weightEncoding)
        return try fields.values.withUnsafeBufferPointer { values in
            try PartitionedEvaluation.evaluate(decoder: decoder, points: points, rows: fields.ownedPoints[fields.rank],
                                               values: values,
                                               cellOfPoint: PartitionedEvaluation.cells(points: points, result: result),
                                               times: result.times, ranges: result.normalization.componentRanges,
                                               threads: threads, communicator: communicator)
        }
    }
}

/// The MESHC section coded and verified by every rank, a contiguous share of the chunks each
/// (`MCIMeshChunkShares`), and the file written by rank 0: the same bytes as `MCIWriter.write`
/// in one process, and, as there, a file the decoder refuses is never written (each rank
/// decodes its chunks of the final bytes and checks their points; rank 0 checks that every
/// point is listed). Every rank calls each step; the mesh and the model on rank 0 only.
public enum DistributedMeshCoding {
    /// The MESHC payload of rank 0's `mesh` as `options` code it (`MCIModel.codedMesh`), each
    /// rank coding a share of the chunks: on rank 0, nil on the others. `points`: every mesh
    /// point, which every rank has.
    public static func code(mesh: MCIMesh?, points: [Double], options: EncodeOptions,
                            communicator: Communicator) throws -> [UInt8]? {
        let rank = communicator.rank, size = communicator.size
        communicator.phase = "mesh plan"
        // rank 0 orders the cells and sends each rank its chunks' cells, one rank at a time so
        // that it holds one share's message, not all of them; the points every rank has
        var plan: MCIMeshChunkShares.Plan?
        if rank == 0 {
            guard let mesh, mesh.points == points else {
                throw MCINRError.invalidInput("rank 0: the mesh to embed and the training points differ")
            }
            plan = try MCIMeshChunkShares.plan(mesh, coding: options.meshCoding)
        }
        func share(_ r: Int) -> [UInt8] {
            MCIMeshChunkShares.cells(plan!, mesh: mesh!, chunks: MCIMeshChunkShares.chunks(rank: r, size: size, count: plan!.chunkCount))
        }
        var cells: [UInt8] = []
        for r in 1 ..< size {
            var outgoing = [[UInt8]](repeating: [], count: size)
            if rank == 0 { outgoing[r] = share(r) }
            let incoming = try communicator.alltoall(consume outgoing)
            if rank == r { cells = incoming[0] }
        }
        if rank == 0 { cells = share(0) }
        communicator.phase = "mesh coding"
        let coded = try MCIMeshChunkShares.encode(cells: cells, points: points, threads: options.threads)
        let parts = try communicator.gather(coded, root: 0)
        guard rank == 0, let plan else { return nil }
        return try MCIMeshChunkShares.assemble(plan, parts: parts)
    }

    /// Verifies and writes `model` (rank 0; nil on the others), whose mesh is `codedMesh`.
    static func verifyAndWrite(_ model: MCIModel?, points: [Double], to url: URL, threads: Int,
                               communicator: Communicator) throws {
        let rank = communicator.rank, size = communicator.size
        var bytes: [UInt8] = []
        if rank == 0, let model {
            bytes = try MCIWriter.encode(model, name: url.path)
        }
        communicator.phase = "verification"
        bytes = try communicator.broadcast(bytes, root: 0)
        // each rank's verdict goes to rank 0, which alone decides (and throws), so no rank
        // leaves a collective the others wait in
        var verdict = ByteWriter()
        do {
            let listed = try MCIMeshChunkShares.verify(file: bytes, name: url.path, rank: rank, size: size, points: points,
                                                       threads: threads)
            verdict.int(0); verdict.data(listed)
        } catch {
            verdict.int(1); verdict.data(Array("\(error)".utf8))
        }
        let verdicts = try communicator.gather(verdict.bytes, root: 0)
        guard rank == 0 else { return }
        var listed: [[UInt8]] = []
        for (sender, message) in verdicts.enumerated() {
            var reader = ByteReader(message)
            let failed = try reader.int(), payload = try reader.data()
            if failed != 0 {
                throw MCINRError.decoding("the decoder refuses the file (verified on rank \(sender)): \(String(decoding: payload, as: UTF8.self))")
            }
            listed.append(payload)
        }
        try MCIMeshChunkShares.checkCoverage(listed, pointCount: points.count / 3, name: url.path)
        communicator.phase = "write"
        try MCIWriter.writeAtomically(bytes, to: url)
    }
}
