import CMCINRKernels
import CTrainingKernels
import Foundation

/// Training samples: inputs n × 4 normalised (x, y, z, t) in [-1, 1], targets n × C normalised
/// components in [-1, 1], both row-major.
public struct TrainingSet: Sendable {
    public let inputs: [Float]
    public let targets: [Float]
    public let count: Int
    public let components: Int

    public init(inputs: [Float], targets: [Float], components: Int) throws {
        guard components >= 1 else { throw INRError.invalidData("components must be ≥ 1") }
        guard inputs.count % 4 == 0 else {
            throw INRError.invalidData("inputs hold \(inputs.count) floats, not a multiple of 4")
        }
        let n = inputs.count / 4
        guard targets.count == n * components else {
            throw INRError.invalidData("targets hold \(targets.count) floats, expected \(n) × \(components)")
        }
        guard n <= Int(UInt32.max) else { throw INRError.invalidData("more than 2^32 samples") }
        self.inputs = inputs; self.targets = targets; self.count = n; self.components = components
    }

    /// The samples at `indices` (in that order).
    public func subset(_ indices: [Int]) -> TrainingSet {
        var i = [Float](); i.reserveCapacity(indices.count * 4)
        var t = [Float](); t.reserveCapacity(indices.count * components)
        for k in indices {
            i.append(contentsOf: inputs[(k * 4)..<(k * 4 + 4)])
            t.append(contentsOf: targets[(k * components)..<((k + 1) * components)])
        }
        return try! TrainingSet(inputs: i, targets: t, components: components)
    }
}

/// Hyper-parameters of the main training (METHOD.md "Main training").
public struct TrainingConfig: Equatable, Sendable, Codable {
    public var learningRate: Float = 5e-5
    public var batchSize: Int = 8192
    /// Fraction of the samples drawn afresh each epoch.
    public var sampleFraction: Double = 0.3
    /// Step decay: lr × decayFactor every decayEvery epochs.
    public var decayFactor: Float = 0.92
    public var decayEvery: Int = 30
    /// When the epoch loss has not improved for `patience` epochs, the learning rate is
    /// multiplied by `plateauDecay` and training goes on, at most `plateauReductions` times;
    /// the next plateau stops training …
    public var patience: Int = 30
    public var plateauReductions: Int = 0
    public var plateauDecay: Float = 0.5
    /// … or after `maxEpochs` epochs in total, or after `timeLimit` seconds (if set).
    public var maxEpochs: Int = 1000
    public var timeLimit: Double? = nil
    public var seed: UInt64 = 1
    /// An epoch counts as an improvement when its loss < best · (1 − improvementTolerance)
    /// (relative; 1e-4 ignores summation-order noise of a stalled run).
    public var improvementTolerance: Double = 1e-4
    public init() {}
    public init(learningRate: Float = 5e-5, batchSize: Int = 8192, sampleFraction: Double = 0.3,
                decayFactor: Float = 0.92, decayEvery: Int = 30, patience: Int = 30,
                maxEpochs: Int = 1000, timeLimit: Double? = nil, seed: UInt64 = 1,
                improvementTolerance: Double = 1e-4, plateauReductions: Int = 0, plateauDecay: Float = 0.5) {
        self.learningRate = learningRate; self.batchSize = batchSize
        self.sampleFraction = sampleFraction; self.decayFactor = decayFactor
        self.decayEvery = decayEvery; self.patience = patience; self.maxEpochs = maxEpochs
        self.timeLimit = timeLimit; self.seed = seed
        self.improvementTolerance = improvementTolerance
        self.plateauReductions = plateauReductions; self.plateauDecay = plateauDecay
    }
}

extension TrainingConfig {
    public func validate() throws {
        func fail(_ m: String) -> INRError { .invalidData("training configuration: \(m)") }
        guard learningRate.isFinite, learningRate >= 0 else { throw fail("learningRate \(learningRate)") }
        guard batchSize >= 1 else { throw fail("batchSize \(batchSize) < 1") }
        guard sampleFraction > 0, sampleFraction <= 1 else { throw fail("sampleFraction \(sampleFraction) not in (0, 1]") }
        guard decayFactor.isFinite, decayFactor > 0 else { throw fail("decayFactor \(decayFactor)") }
        guard decayEvery >= 1 else { throw fail("decayEvery \(decayEvery) < 1") }
        guard patience >= 1, maxEpochs >= 0 else { throw fail("patience \(patience) / maxEpochs \(maxEpochs)") }
        guard plateauReductions >= 0 else { throw fail("plateauReductions \(plateauReductions) < 0") }
        guard plateauDecay.isFinite, plateauDecay > 0, plateauDecay < 1 else { throw fail("plateauDecay \(plateauDecay) not in (0, 1)") }
        if let t = timeLimit { guard t.isFinite, t >= 0 else { throw fail("timeLimit \(t)") } }
        guard improvementTolerance >= 0, improvementTolerance < 1 else {
            throw fail("improvementTolerance \(improvementTolerance) not in [0, 1)")
        }
    }
}

/// What a training run did.
public struct TrainingLog: Equatable, Sendable, Codable {
    public enum StopReason: String, Sendable, Codable {
        /// Plateau: no improvement for `patience` epochs.
        case converged
        case maxEpochs, timeLimit
        /// `runEpochs` ran the epochs it was asked for.
        case epochBudget
        /// The epoch loss was not finite (NaN/inf); training stopped at once.
        case diverged
    }
    /// Mean training loss (normalised MSE) of each epoch run, in order, over all calls.
    public var epochLosses: [Double] = []
    public var epochsRun: Int { epochLosses.count }
    public var seconds: Double = 0
    public var bestLoss: Double = .infinity
    public var stopReason: StopReason = .epochBudget
    /// Optimiser steps taken (mini-batches).
    public var steps: Int = 0
}

/// Trains one network with Adam on MSE: each epoch a fresh random `sampleFraction` of the
/// samples in mini-batches, step decay of the learning rate, early stop on a plateau.
/// Resumable: `runEpochs` / `train` continue where the last call stopped (epoch counter,
/// schedule, optimiser moments, plateau state). The training loop allocates nothing.
public final class Trainer {
    public let network: Network
    public let optimizer: Adam
    public let config: TrainingConfig
    public private(set) var log = TrainingLog()
    /// Epochs since the loss last improved.
    public private(set) var epochsWithoutImprovement = 0
    /// Learning-rate reductions made on plateaus so far.
    public private(set) var plateauReductionsMade = 0
    private var rng: SeededRandom
    private var permutation: [UInt32] = []
    private var batchInputs: FloatBuffer
    private var batchTargets: FloatBuffer

    public init(network: Network, config: TrainingConfig) throws {
        try config.validate()
        self.network = network
        self.config = config
        optimizer = Adam(parameterCount: network.parameterCount, learningRate: config.learningRate)
        rng = SeededRandom(seed: config.seed)
        // Workspaces are sized on the first epoch: min(batch size, samples per epoch) rows.
        batchInputs = FloatBuffer(count: 0)
        batchTargets = FloatBuffer(count: 0)
        log.epochLosses.reserveCapacity(min(config.maxEpochs, 100_000))
    }

    /// Learning rate of a given (0-based) epoch under the step decay and the plateau reductions made so far.
    public func learningRate(epoch: Int) -> Float {
        config.learningRate * Float(pow(Double(config.decayFactor), Double(epoch / max(config.decayEvery, 1))))
            * Float(pow(Double(config.plateauDecay), Double(plateauReductionsMade)))
    }

    /// Runs exactly `epochs` more epochs (no early stop); returns their losses.
    @discardableResult
    public func runEpochs(_ epochs: Int, on data: TrainingSet) throws -> [Double] {
        try check(data)
        let start = log.epochLosses.count
        let clock = Date()
        for _ in 0..<epochs { runOneEpoch(on: data) }
        log.seconds += Date().timeIntervalSince(clock)
        log.stopReason = log.epochLosses[start...].allSatisfy(\.isFinite) ? .epochBudget : .diverged
        return Array(log.epochLosses[start...])
    }

    /// Trains until the plateau criterion, `maxEpochs` (total, over all calls) or `timeLimit`
    /// (this call). Returns the whole log.
    @discardableResult
    public func train(on data: TrainingSet) throws -> TrainingLog {
        try check(data)
        let clock = Date()
        var reason = TrainingLog.StopReason.maxEpochs
        while log.epochLosses.count < config.maxEpochs {
            runOneEpoch(on: data)
            if !log.epochLosses.last!.isFinite { reason = .diverged; break }
            if epochsWithoutImprovement >= config.patience {
                guard plateauReductionsMade < config.plateauReductions else { reason = .converged; break }
                plateauReductionsMade += 1
                epochsWithoutImprovement = 0
            }
            if let limit = config.timeLimit, Date().timeIntervalSince(clock) >= limit {
                reason = .timeLimit; break
            }
        }
        log.seconds += Date().timeIntervalSince(clock)
        log.stopReason = reason
        return log
    }

    private func check(_ data: TrainingSet) throws {
        guard data.components == network.outputCount else {
            throw INRError.invalidData("training set has \(data.components) components, the network \(network.outputCount) outputs")
        }
    }

    private func runOneEpoch(on data: TrainingSet) {
        let n = data.count
        guard n > 0 else { log.epochLosses.append(0); return }
        if permutation.count != n { permutation = (0..<UInt32(n)).map { $0 } }
        let epoch = log.epochLosses.count
        optimizer.learningRate = learningRate(epoch: epoch)
        // Partial Fisher–Yates: the first m entries become a fresh uniform random subset.
        let m = max(1, min(n, Int((config.sampleFraction * Double(n)).rounded())))
        let C = network.outputCount
        let rowsPerBatch = min(config.batchSize, m)
        if batchInputs.count < rowsPerBatch * 4 {
            network.reserve(batchSize: rowsPerBatch)
            batchInputs = FloatBuffer(count: rowsPerBatch * 4)
            batchTargets = FloatBuffer(count: rowsPerBatch * C)
        }
        var lossSum = 0.0
        permutation.withUnsafeMutableBufferPointer { perm in
            for i in 0..<m {
                let j = i + rng.nextIndex(below: n - i)
                perm.swapAt(i, j)
            }
            data.inputs.withUnsafeBufferPointer { inputs in
                data.targets.withUnsafeBufferPointer { targets in
                    var start = 0
                    while start < m {
                        let rows = min(config.batchSize, m - start)
                        mcinr_gather_rows(inputs.baseAddress!, 4, perm.baseAddress! + start, rows, batchInputs.pointer)
                        mcinr_gather_rows(targets.baseAddress!, C, perm.baseAddress! + start, rows, batchTargets.pointer)
                        let loss = network.lossAndGradient(inputs: batchInputs.pointer,
                                                           targets: batchTargets.pointer, rows: rows)
                        optimizer.update(network)
                        lossSum += loss * Double(rows)
                        log.steps += 1
                        start += rows
                    }
                }
            }
        }
        let epochLoss = lossSum / Double(m)
        if epochLoss < log.bestLoss * (1 - config.improvementTolerance) {
            epochsWithoutImprovement = 0
        } else {
            epochsWithoutImprovement += 1
        }
        log.bestLoss = min(log.bestLoss, epochLoss)
        log.epochLosses.append(epochLoss)
    }
}
