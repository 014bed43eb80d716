import Foundation
import MCIFormat
import MeshIO
import ModelDescription

extension Encoder {
    /// The encode sequence on the ranks of `communicator` (issue 18): every rank calls it with
    /// its shard (`TrainingShard`: every point, its block of steps); the shard's values are
    /// moved to the clusters' owners and dropped here (held once across the ranks). Training
    /// runs on all ranks; evaluation and the error-bounded residual run on rank 0 with the
    /// truth gathered a step at a time from the owners (the same sums in the same order as one
    /// process); rank 0 alone writes the file (temporary file, then rename) and returns the
    /// summary, the other ranks nil once it is written. The same input, seed and options give
    /// the same bytes for any number of ranks (runs cut by the time budget excepted).
    ///
    /// A rank that throws must end the job (the front end calls MPI_Abort): the other ranks
    /// may be waiting for it in a collective.
    ///
    /// `rootThreads`: threads of rank 0's evaluation and residual (default: the training's);
    /// a front end may give it the cores of the ranks that share rank 0's node, idle meanwhile.
    /// The decoder's results do not depend on its thread count.
    public static func encode(shard: inout TrainingShard, mesh: Mesh?, to url: URL, options: EncodeOptions,
                              communicator: Communicator, reporter: ProgressReporter? = nil,
                              rootThreads: Int? = nil) throws -> EncodeSummary? {
        try options.validate()
        let isRoot = communicator.rank == 0
        let reporter = isRoot ? reporter : nil
        if isRoot && options.embedMesh && mesh == nil {
            throw MCINRError.invalidConfiguration("rank 0 needs the mesh to embed it")
        }
        var config = options.training
        config.evaluation = .none
        var (result, fields) = try MCINRPipeline(config: config, reporter: reporter).runDistributed(&shard, communicator: communicator)
        result.config.evaluation = options.training.evaluation
        let points = shard.points
        let truth = { (step: Int) throws -> [Float]? in try fields.gatherStep(step, root: 0, communicator: communicator) }

        communicator.phase = "evaluation"
        var metrics: MetricsReport?
        if options.training.evaluation == .decoder {
            reporter?.report(.evaluating)
            metrics = try DistributedEvaluation.evaluate(result, points: points, truth: truth, isRoot: isRoot,
                                                         threads: rootThreads ?? options.threads,
                                                         weightEncoding: options.weightEncoding)
        }
        communicator.phase = "residual"
        // The residual reads the steps several times, in an order only rank 0 knows: it names
        // each step it wants (broadcast), then gathers it; -1 ends the requests.
        func request(_ step: Int) throws -> Int {
            var w = ByteWriter()
            w.int(step)
            var r = ByteReader(try communicator.broadcast(w.bytes, root: 0))
            return try r.int()
        }
        guard isRoot else {
            if options.errorBound != nil {
                while true {
                    let step = try request(-1)  // the value sent is rank 0's
                    guard step >= 0 else { break }
                    _ = try truth(step)
                }
            }
            communicator.phase = "write"
            try communicator.barrier()  // returns once rank 0 has written the file (or the job ends)
            return nil
        }
        if let metrics {
            result.metrics = metrics
            result.metricsSource = "decoder"
        }
        var model = try makeModel(result, mesh: options.embedMesh ? MCIMesh(mesh!) : nil, options: options)
        var bounded: MCIResidual.Report?
        if let bound = options.errorBound {
            reporter?.report(.errorBounding(points: result.pointCount, steps: result.times.count))
            (model, bounded) = try ErrorBoundedEncoder.make(model, bound: bound, threads: rootThreads ?? options.threads) { step in
                try truth(request(step))!
            }
            _ = try request(-1)
        }
        communicator.phase = "write"
        try MCIWriter.write(model, to: url)
        let summary = try summarize(result, metrics: bounded?.metrics ?? metrics, bounded: bounded, file: url, options: options)
        try communicator.barrier()
        return summary
    }
}

/// `DecoderEvaluation` with the truth gathered from the ranks a step at a time: rank 0 decodes
/// and sums in step and point order, exactly as one process does; the other ranks send.
enum DistributedEvaluation {
    static func evaluate(_ result: PipelineResult, points: [Double], truth: (Int) throws -> [Float]?, isRoot: Bool,
                         threads: Int, weightEncoding: MCIWeightEncoding) throws -> MetricsReport? {
        var decoder: MCIDecoder?
        if isRoot {
            var model = try result.makeModel()
            model.weightEncoding = weightEncoding
            do {
                decoder = try MCIDecoder(bytes: try MCIWriter.encode(model), name: "in-memory model", options: .ownOutput)
            } catch {
                throw MCINRError.decoding("\(error)")
            }
        }
        var means = PooledMeans(components: result.componentNames.count)
        for s in result.times.indices {
            if let step = try truth(s) { step.withUnsafeBufferPointer { means.add($0) } }
        }
        var evaluation = StepwiseEvaluation(ranges: result.normalization.componentRanges, pooledMeans: means.means)
        for (s, time) in result.times.enumerated() {
            guard let step = try truth(s), let decoder else { continue }
            let prediction: [Float]
            do {
                prediction = try decoder.decode(points: points, time: time, threads: threads)
            } catch {
                throw MCINRError.decoding("time step \(s): \(error)")
            }
            step.withUnsafeBufferPointer { truthBuffer in
                prediction.withUnsafeBufferPointer { evaluation.add(truth: truthBuffer, prediction: $0) }
            }
        }
        return isRoot ? evaluation.report : nil
    }
}
