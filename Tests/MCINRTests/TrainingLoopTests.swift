import ModelDescription
import XCTest
import INRCore
@testable import MCINR

/// Samples held in plain arrays: the training loop's `SampleSource` outside a pipeline.
struct ArraySamples: SampleSource {
    var inputs: [Float]
    var targets: [Float]
    var componentCount: Int
    var sampleCount: Int { inputs.count / 4 }

    func gather(_ samples: UnsafeBufferPointer<Int32>, inputs out: UnsafeMutablePointer<Float>,
                targets targetOut: UnsafeMutablePointer<Float>) {
        let c = componentCount
        for (row, sample) in samples.enumerated() {
            let s = Int(sample)
            for k in 0 ..< 4 { out[4 * row + k] = inputs[4 * s + k] }
            for k in 0 ..< c { targetOut[c * row + k] = targets[c * s + k] }
        }
    }

    /// f = sin(3x)·cos(2y) + t/2 at random points of [-1, 1]^4 (z unused), scaled into [-1, 1].
    static func analytic(count: Int, seed: UInt64) -> ArraySamples {
        var rng = SeededRandom(seed: seed)
        var inputs: [Float] = [], targets: [Float] = []
        for _ in 0 ..< count {
            let p = (0 ..< 4).map { _ in rng.uniform(-1, 1) }
            inputs += p
            targets.append(Float(sin(3 * Double(p[0])) * cos(2 * Double(p[1])) + 0.5 * Double(p[3])) / 1.5)
        }
        return ArraySamples(inputs: inputs, targets: targets, componentCount: 1)
    }

    /// PSNR of the network on these samples, and of predicting their mean.
    func psnr(_ net: Network) -> (model: Double, mean: Double) {
        let prediction = net.predict(inputs)
        let mean = targets.reduce(0, +) / Float(targets.count)
        let range = Double(targets.max()! - targets.min()!)
        let model = Metrics.component(truth: targets, prediction: prediction, components: 1,
                                      component: 0, range: range).psnr
        let baseline = Metrics.component(truth: targets, prediction: [Float](repeating: mean, count: targets.count),
                                         components: 1, component: 0, range: range).psnr
        return (model, baseline)
    }
}

/// `ClusterTrainer.train` is the one training loop: the pipeline runs it for every cluster, and
/// these tests run it exactly as the pipeline does, on array samples.
final class TrainingLoopTests: XCTestCase {
    func schedule(learningRate: Float = 1e-3, batchSize: Int = 64, sampleFraction: Double = 0.3,
                  decayFactor: Float = 0.92, decayEvery: Int = 30, patience: Int = 30,
                  maxEpochs: Int = 5, plateauReductions: Int = 0) -> TrainingSchedule {
        TrainingSchedule(learningRate: learningRate, batchSize: batchSize, sampleFraction: sampleFraction,
                         decayFactor: decayFactor, decayEvery: decayEvery, patience: patience,
                         maxEpochs: maxEpochs, plateauReductions: plateauReductions)
    }

    func train(_ net: Network, _ data: ArraySamples, _ schedule: TrainingSchedule, seed: UInt64 = 1,
               deadline: Date? = nil) -> TrainingOutcome {
        ClusterTrainer.train(net, on: data, schedule: schedule, deadline: deadline, seed: seed) { _, _, _ in }
    }

    /// A small SIREN learns the analytic field: held-out PSNR > 35 dB, and at least 20 dB
    /// better than predicting the mean (≈ 14 dB here). ω₀ = 10: with ω₀ = 30 a SIREN fits 4000
    /// scattered 4-D samples of this smooth field but generalises worse.
    func testTrainingReachesHighPSNROnAnalyticField() throws {
        let data = ArraySamples.analytic(count: 4000, seed: 1)
        let test = ArraySamples.analytic(count: 500, seed: 2)
        let net = try Network(.siren(outputs: 1, width: 16, depth: 3, omega0: 10), seed: 7)
        let before = test.psnr(net).model
        var epochs = 0
        let outcome = ClusterTrainer.train(net, on: data, schedule: schedule(learningRate: 3e-3, batchSize: 128, sampleFraction: 0.5,
                                                                             patience: 1000, maxEpochs: 100),
                                           deadline: nil, seed: 3) { epoch, _, _ in epochs = epoch }
        XCTAssertEqual(outcome.epochs, 100)
        XCTAssertEqual(epochs, 100, "one callback per epoch")
        XCTAssertEqual(outcome.stop, .epochCap)
        XCTAssertEqual(outcome.lossCurve.count, 100)
        XCTAssertLessThan(outcome.lossCurve.last!, outcome.lossCurve.first! / 100)
        let after = test.psnr(net)
        XCTAssertGreaterThan(after.model, 35, "held-out PSNR \(after.model) dB (before: \(before))")
        XCTAssertGreaterThan(after.model, after.mean + 20, "mean predictor: \(after.mean) dB")
    }

    func testSameSeedGivesIdenticalWeights() throws {
        let data = ArraySamples.analytic(count: 300, seed: 4)
        func run(seed: UInt64, dataSeed: UInt64) throws -> [Float] {
            let net = try Network(.coordNetB(outputs: 1, width: 6, trunkDepth: 1, branchDepth: 1), seed: seed)
            _ = train(net, data, schedule(batchSize: 32), seed: dataSeed)
            return net.parameterArray()
        }
        let a = try run(seed: 1, dataSeed: 1)
        XCTAssertEqual(a, try run(seed: 1, dataSeed: 1))
        XCTAssertNotEqual(a, try run(seed: 2, dataSeed: 1))
        XCTAssertNotEqual(a, try run(seed: 1, dataSeed: 2))
    }

    /// With a zero learning rate no epoch improves on the first: a plateau after `patience`.
    func testPlateauStopsTraining() throws {
        let data = ArraySamples.analytic(count: 200, seed: 5)
        let net = try Network(.siren(outputs: 1, width: 4, depth: 2), seed: 1)
        let outcome = train(net, data, schedule(learningRate: 0, batchSize: 1000, sampleFraction: 1,
                                                patience: 4, maxEpochs: 100))
        XCTAssertEqual(outcome.stop, .plateau)
        XCTAssertEqual(outcome.epochs, 5)
        XCTAssertEqual(outcome.plateauReductions, 0)
    }

    /// With plateau reductions the first plateaus halve the rate instead of stopping.
    func testPlateauReductionsLowerTheRateThenStop() throws {
        let data = ArraySamples.analytic(count: 200, seed: 5)
        let net = try Network(.siren(outputs: 1, width: 4, depth: 2), seed: 1)
        var sched = schedule(learningRate: 0, batchSize: 1000, sampleFraction: 1, patience: 4, maxEpochs: 100,
                             plateauReductions: 2)
        sched.learningRate = 1e-30  // no visible effect on the loss, but the halvings show
        let outcome = train(net, data, sched)
        XCTAssertEqual(outcome.stop, .plateau)
        XCTAssertEqual(outcome.epochs, 1 + 3 * 4, "three plateaus of 4 epochs after the first")
        XCTAssertEqual(outcome.plateauReductions, 2)
        XCTAssertEqual(outcome.finalLearningRate, 1e-30 * 0.25, accuracy: 1e-36)
    }

    /// The step decay: lr × decayFactor every decayEvery epochs.
    func testStepDecay() throws {
        let data = ArraySamples.analytic(count: 300, seed: 6)
        let net = try Network(.siren(outputs: 1, width: 8, depth: 2), seed: 3)
        let outcome = train(net, data, schedule(batchSize: 50, decayFactor: 0.5, decayEvery: 2, patience: 100, maxEpochs: 7))
        XCTAssertEqual(outcome.epochs, 7)
        XCTAssertEqual(outcome.finalLearningRate, 1e-3 * 0.125, accuracy: 1e-9, "decayed after epochs 2, 4, 6")
    }

    /// The network ends at its best epoch's parameters, not its last: a run cut right after
    /// its best epoch ends with the same weights as the longer run.
    func testEndsAtTheBestEpoch() throws {
        let data = ArraySamples.analytic(count: 300, seed: 10)
        let sched = schedule(learningRate: 5e-2, batchSize: 30, sampleFraction: 1, patience: 100, maxEpochs: 12)
        let long = try Network(.siren(outputs: 1, width: 8, depth: 2), seed: 4)
        let outcome = train(long, data, sched)
        let bestEpoch = outcome.lossCurve.indices.min { outcome.lossCurve[$0] < outcome.lossCurve[$1] }! + 1
        XCTAssertEqual(outcome.bestLoss, outcome.lossCurve[bestEpoch - 1])
        XCTAssertLessThan(bestEpoch, 12, "this rate is meant to overshoot before the last epoch")
        var shortSchedule = sched
        shortSchedule.maxEpochs = bestEpoch
        let short = try Network(.siren(outputs: 1, width: 8, depth: 2), seed: 4)
        _ = train(short, data, shortSchedule)
        XCTAssertEqual(long.parameterArray(), short.parameterArray())
    }

    /// One network per thread (the pipeline trains clusters concurrently): results equal the
    /// sequential ones bit for bit.
    func testConcurrentTrainingMatchesSequential() throws {
        let data = ArraySamples.analytic(count: 400, seed: 8)
        func run(seed: UInt64) -> [Float] {
            let net = try! Network(.coordNetB(outputs: 1, width: 8, trunkDepth: 1, branchDepth: 1), seed: seed)
            _ = train(net, data, schedule(maxEpochs: 3), seed: seed)
            return net.parameterArray()
        }
        let sequential = (0 ..< 4).map { run(seed: UInt64($0)) }
        let results = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: 4)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        WorkerPool.withSingleThreadedBLAS {
            DispatchQueue.concurrentPerform(iterations: 4) { i in results[i] = run(seed: UInt64(i)) }
        }
        XCTAssertEqual(Array(results), sequential)
    }

    /// A network that produces NaN is reported as diverged after one epoch.
    func testDivergenceStopsTraining() throws {
        let data = ArraySamples.analytic(count: 200, seed: 9)
        let net = try Network(.siren(outputs: 1, width: 8, depth: 2), seed: 1)
        net.parameters[0] = .nan
        let outcome = train(net, data, schedule(batchSize: 50, maxEpochs: 100))
        XCTAssertEqual(outcome.stop, .diverged)
        XCTAssertEqual(outcome.epochs, 1)
    }

    /// A deadline already passed: no epoch runs, the network is untouched.
    func testDeadlineStopsBeforeTheFirstEpoch() throws {
        let data = ArraySamples.analytic(count: 100, seed: 11)
        let net = try Network(.siren(outputs: 1, width: 4, depth: 1), seed: 2)
        let before = net.parameterArray()
        let outcome = train(net, data, schedule(maxEpochs: 100), deadline: Date(timeIntervalSinceNow: -1))
        XCTAssertEqual(outcome.stop, .timeBudget)
        XCTAssertEqual(outcome.epochs, 0)
        XCTAssertEqual(net.parameterArray(), before)
    }

    /// A deadline inside the first epoch (a cluster larger than the budget): training stops
    /// within it, keeps what the cut epoch learnt and records its running loss.
    func testDeadlineInsideTheFirstEpoch() throws {
        let data = ArraySamples.analytic(count: 200_000, seed: 12)
        let net = try Network(.siren(outputs: 1, width: 32, depth: 3), seed: 2)
        let before = net.parameterArray()
        let started = Date()
        let outcome = train(net, data, schedule(batchSize: 8, maxEpochs: 100), deadline: Date(timeIntervalSinceNow: 0.2))
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the epoch was not cut")
        XCTAssertEqual(outcome.stop, .timeBudget)
        XCTAssertEqual(outcome.epochs, 0)
        XCTAssertEqual(outcome.lossCurve.count, 1)
        XCTAssertTrue(outcome.bestLoss.isFinite)
        XCTAssertNotEqual(net.parameterArray(), before)
    }

    /// The budget decay: the scheduled rate until the last share of the time to the deadline,
    /// then a cosine down to 1/20 of it, reached at the deadline; off with a share of 0.
    func testBudgetDecayCurve() {
        var s = schedule()
        s.budgetDecayShare = 0.25
        XCTAssertEqual(s.budgetDecay(atFraction: 0), 1)
        XCTAssertEqual(s.budgetDecay(atFraction: 0.75), 1)
        XCTAssertEqual(s.budgetDecay(atFraction: 0.875), 0.525, accuracy: 1e-6, "half way down the cosine")
        XCTAssertEqual(s.budgetDecay(atFraction: 1), TrainingSchedule.budgetDecayFloor, accuracy: 1e-7)
        XCTAssertEqual(s.budgetDecay(atFraction: 3), TrainingSchedule.budgetDecayFloor, accuracy: 1e-7, "past the deadline")
        let curve = stride(from: 0.7, through: 1.0, by: 0.01).map { s.budgetDecay(atFraction: $0) }
        XCTAssertEqual(curve, curve.sorted(by: >), "never rises")
        s.budgetDecayShare = 0
        XCTAssertEqual(s.budgetDecay(atFraction: 0.99), 1)
    }

    /// Under a deadline the decay works on the Adam rate only: the rate the schedule reports is
    /// the undecayed one, and a run without a deadline is the same with or without the decay.
    func testBudgetDecayNeedsADeadline() throws {
        let data = ArraySamples.analytic(count: 300, seed: 14)
        func run(_ share: Double) throws -> [Float] {
            var s = schedule(batchSize: 50, maxEpochs: 4)
            s.budgetDecayShare = share
            let net = try Network(.siren(outputs: 1, width: 8, depth: 2), seed: 5)
            _ = train(net, data, s)
            return net.parameterArray()
        }
        XCTAssertEqual(try run(0.25), try run(0))
        var s = schedule(batchSize: 50, maxEpochs: 1_000_000, plateauReductions: 0)
        s.budgetDecayShare = 0.5
        s.patience = 1_000_000
        let net = try Network(.siren(outputs: 1, width: 8, depth: 2), seed: 5)
        let outcome = train(net, data, s, deadline: Date(timeIntervalSinceNow: 0.3))
        XCTAssertEqual(outcome.stop, .timeBudget)
        XCTAssertGreaterThan(outcome.epochs, 2)
        XCTAssertEqual(outcome.finalLearningRate, 1e-3 * pow(0.92, Float(outcome.epochs / 30)), accuracy: 1e-9)
    }

    /// `--matmul auto` with a deadline: fp32 products where the time allows far more epochs
    /// than a cluster needs (the same weights as fp32), bf16 where it does not; without a
    /// deadline no choice is made and training is fp32.
    func testAutoProductsTurnBF16OnlyWhenTimeIsShort() throws {
        guard MatmulPrecision.bf16Available else {
            throw XCTSkip("this CPU lacks AVX512-BF16: auto is fp32 here (BF16Tests.testFallbackIsExactFP32)")
        }
        func run(_ precision: MatmulPrecision, _ data: ArraySamples, _ s: TrainingSchedule,
                 deadline: Date?) throws -> (outcome: TrainingOutcome, weights: [Float], after: MatmulPrecision) {
            let net = try Network(.coordNetB(outputs: 1, width: 32, trunkDepth: 2, branchDepth: 1), seed: 5)
            net.matmul = precision
            let outcome = train(net, data, s, deadline: deadline)
            return (outcome, net.parameterArray(), net.matmul)
        }
        // One batch per epoch and an hour: millions of epochs available.
        let small = ArraySamples.analytic(count: 300, seed: 21)
        let s = schedule(batchSize: 100, maxEpochs: 6)
        let hour = Date(timeIntervalSinceNow: 3600)
        let roomy = try run(.auto, small, s, deadline: hour)
        XCTAssertEqual(roomy.outcome.matmul, .fp32)
        XCTAssertEqual(roomy.after, .auto)
        XCTAssertEqual(roomy.weights, try run(.fp32, small, s, deadline: hour).weights)
        let free = try run(.auto, small, s, deadline: nil)
        XCTAssertNil(free.outcome.matmul)
        XCTAssertEqual(free.weights, roomy.weights)
        // 235 batches of 256 rows per epoch and 20 s: a few hundred epochs at the most, below
        // the epochs a cluster needs to converge.
        let large = ArraySamples.analytic(count: 60_000, seed: 22)
        let long = schedule(batchSize: 256, sampleFraction: 1, maxEpochs: 1)
        let short = try run(.auto, large, long, deadline: Date(timeIntervalSinceNow: 20))
        XCTAssertEqual(short.outcome.matmul, .bf16)
        XCTAssertEqual(short.after, .bf16)
        XCTAssertEqual(short.outcome.epochs, 1)
        XCTAssertNotEqual(short.weights, try run(.fp32, large, long, deadline: nil).weights, "the bf16 products ran")
    }

    /// Past the budget a cluster's error is estimated on a strided subset: the whole set when
    /// it is small enough, close to the full value otherwise.
    func testResidualEstimatedOnASubset() throws {
        let data = ArraySamples.analytic(count: 20_000, seed: 13)
        let net = try Network(.siren(outputs: 1, width: 8, depth: 2), seed: 3)
        let full = ClusterTrainer.residual(net, on: data)
        XCTAssertEqual(ClusterTrainer.residual(net, on: data, limit: 20_000), full)
        let estimate = ClusterTrainer.residual(net, on: data, limit: 2_000)
        XCTAssertNotEqual(estimate, full)
        XCTAssertEqual(estimate, full, accuracy: 0.1 * full)
    }
}
