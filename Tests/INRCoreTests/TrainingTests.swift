import ModelDescription
import XCTest
@testable import INRCore

/// f = sin(3x)·cos(2y) + t/2 at random points of [-1, 1]^4 (z unused).
func analyticSet(count: Int, seed: UInt64) throws -> TrainingSet {
    var rng = SeededRandom(seed: seed)
    var inputs: [Float] = [], targets: [Float] = []
    for _ in 0..<count {
        let p = (0..<4).map { _ in rng.uniform(-1, 1) }
        inputs += p
        targets.append(Float(sin(3 * Double(p[0])) * cos(2 * Double(p[1])) + 0.5 * Double(p[3])) / 1.5)
    }
    return try TrainingSet(inputs: inputs, targets: targets, components: 1)
}

func psnr(_ net: Network, on data: TrainingSet) -> (model: Double, mean: Double) {
    let prediction = net.predict(data.inputs)
    let mean = data.targets.reduce(0, +) / Float(data.count)
    let range = Double(data.targets.max()! - data.targets.min()!)
    let model = Metrics.component(truth: data.targets, prediction: prediction, components: 1,
                                  component: 0, range: range).psnr
    let baseline = Metrics.component(truth: data.targets, prediction: [Float](repeating: mean, count: data.count),
                                     components: 1, component: 0, range: range).psnr
    return (model, baseline)
}


final class TrainingTests: XCTestCase {
    /// A small SIREN learns the analytic field: held-out PSNR > 35 dB (measured ≈ 47 dB), and
    /// at least 20 dB better than predicting the mean (≈ 14 dB here). ω₀ = 10: with ω₀ = 30 a
    /// SIREN fits 4000 scattered 4-D samples of this smooth field but generalises worse.
    func testTrainingReachesHighPSNROnAnalyticField() throws {
        let train = try analyticSet(count: 4000, seed: 1)
        let test = try analyticSet(count: 500, seed: 2)
        let net = try Network(.siren(outputs: 1, width: 16, depth: 3, omega0: 10), seed: 7)
        let config = TrainingConfig(learningRate: 3e-3, batchSize: 128, sampleFraction: 0.5,
                                    decayFactor: 0.92, decayEvery: 30, patience: 1000,
                                    maxEpochs: 100, seed: 3)
        let trainer = try Trainer(network: net, config: config)
        let before = psnr(net, on: test).model
        let log = try trainer.train(on: train)
        XCTAssertEqual(log.epochsRun, 100)
        XCTAssertEqual(log.stopReason, .maxEpochs)
        XCTAssertLessThan(log.epochLosses.last!, log.epochLosses.first! / 100)
        let after = psnr(net, on: test)
        XCTAssertGreaterThan(after.model, 35, "held-out PSNR \(after.model) dB (before: \(before))")
        XCTAssertGreaterThan(after.model, after.mean + 20, "mean predictor: \(after.mean) dB")
        XCTAssertEqual(log.steps, 100 * 16)
    }

    func testSameSeedGivesIdenticalWeights() throws {
        let data = try analyticSet(count: 300, seed: 4)
        func run(seed: UInt64, dataSeed: UInt64) throws -> [Float] {
            let net = try Network(.coordNetB(outputs: 1, width: 6, trunkDepth: 1, branchDepth: 1), seed: seed)
            let trainer = try Trainer(network: net, config: TrainingConfig(learningRate: 1e-3, batchSize: 32,
                                                                       maxEpochs: 5, seed: dataSeed))
            try trainer.train(on: data)
            return net.parameterArray()
        }
        let a = try run(seed: 1, dataSeed: 1)
        XCTAssertEqual(a, try run(seed: 1, dataSeed: 1))
        XCTAssertNotEqual(a, try run(seed: 2, dataSeed: 1))
        XCTAssertNotEqual(a, try run(seed: 1, dataSeed: 2))
    }

    /// Early stopping: with a zero learning rate the loss never improves after epoch 1.
    func testPlateauStopsTraining() throws {
        let data = try analyticSet(count: 200, seed: 5)
        let net = try Network(.siren(outputs: 1, width: 4, depth: 2), seed: 1)
        let trainer = try Trainer(network: net, config: TrainingConfig(learningRate: 0, batchSize: 1000,
                                                                   sampleFraction: 1, patience: 4,
                                                                   maxEpochs: 100))
        let log = try trainer.train(on: data)
        XCTAssertEqual(log.stopReason, .converged)
        XCTAssertEqual(log.epochsRun, 5)
    }

    /// With plateau reductions the first plateaus lower the rate instead of stopping.
    func testPlateauReductionsLowerTheRateThenStop() throws {
        let data = try analyticSet(count: 200, seed: 5)
        let net = try Network(.siren(outputs: 1, width: 4, depth: 2), seed: 1)
        let trainer = try Trainer(network: net, config: TrainingConfig(learningRate: 0, batchSize: 1000,
                                                                   sampleFraction: 1, patience: 4, maxEpochs: 100,
                                                                   plateauReductions: 2, plateauDecay: 0.5))
        let log = try trainer.train(on: data)
        XCTAssertEqual(log.stopReason, .converged)
        XCTAssertEqual(log.epochsRun, 1 + 3 * 4, "three plateaus of 4 epochs after the first")
        XCTAssertEqual(trainer.plateauReductionsMade, 2)
        XCTAssertThrowsError(try TrainingConfig(plateauDecay: 1).validate())
    }

    /// Running 3 + 4 epochs in two calls equals running 7 in one (resumable trainer), and the
    /// learning rate follows the step decay.
    func testResumingEqualsOneRun() throws {
        let data = try analyticSet(count: 300, seed: 6)
        let config = TrainingConfig(learningRate: 1e-3, batchSize: 50, decayFactor: 0.5, decayEvery: 2, seed: 9)
        let a = try Network(.siren(outputs: 1, width: 8, depth: 2), seed: 3)
        let b = a.copy()
        let ta = try Trainer(network: a, config: config)
        try ta.runEpochs(3, on: data); try ta.runEpochs(4, on: data)
        let tb = try Trainer(network: b, config: config)
        try tb.runEpochs(7, on: data)
        XCTAssertEqual(a.parameterArray(), b.parameterArray())
        XCTAssertEqual(ta.log.epochsRun, 7)
        XCTAssertEqual(ta.learningRate(epoch: 5), 1e-3 * 0.25, accuracy: 1e-9)
        XCTAssertEqual(ta.optimizer.learningRate, 1e-3 * 0.125, accuracy: 1e-9, "epoch 6 uses 0.5^3")
    }

    /// Reptile-style use: copy θ, run epochs, read back, restore.
    func testParameterViewsSupportMetaLearning() throws {
        let data = try analyticSet(count: 100, seed: 7)
        let net = try Network(.siren(outputs: 1, width: 6, depth: 2), seed: 5)
        let theta = net.parameterArray()
        let trainer = try Trainer(network: net, config: TrainingConfig(learningRate: 1e-3, batchSize: 20))
        try trainer.runEpochs(2, on: data)
        let adapted = net.parameterArray()
        XCTAssertNotEqual(adapted, theta)
        net.setParameters(theta)
        XCTAssertEqual(net.parameterArray(), theta)
        var outer = theta
        let outerAdam = Adam(parameterCount: theta.count, learningRate: 1e-4)
        outerAdam.update(&outer, gradients: zip(theta, adapted).map { $0 - $1 })
        // The outer step moves θ towards the adapted weights.
        let before = zip(theta, adapted).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        let after = zip(outer, adapted).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        XCTAssertLessThan(after, before)
    }

    /// One network per thread (the pipeline trains clusters concurrently): results equal the
    /// sequential ones bit for bit.
    func testConcurrentTrainingMatchesSequential() throws {
        let data = try analyticSet(count: 400, seed: 8)
        func train(seed: UInt64) -> [Float] {
            let net = try! Network(.coordNetB(outputs: 1, width: 8, trunkDepth: 1, branchDepth: 1), seed: seed)
            _ = try! Trainer(network: net, config: TrainingConfig(learningRate: 1e-3, batchSize: 64, seed: seed))
                .runEpochs(3, on: data)
            return net.parameterArray()
        }
        let sequential = (0..<4).map { train(seed: UInt64($0)) }
        let results = UnsafeMutableBufferPointer<[Float]>.allocate(capacity: 4)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { i in results[i] = train(seed: UInt64(i)) }
        XCTAssertEqual(Array(results), sequential)
    }

    func testComponentMismatchIsAnError() throws {
        let data = try analyticSet(count: 10, seed: 1)
        let trainer = try Trainer(network: try Network(.siren(outputs: 2, width: 4, depth: 1), seed: 1),
                              config: TrainingConfig())
        XCTAssertThrowsError(try trainer.train(on: data)) { error in
            XCTAssertTrue("\(error)".contains("1 components"), "\(error)")
        }
    }

    /// A learning rate that blows up is reported as divergence, not trained on for `patience` epochs.
    func testDivergenceStopsTraining() throws {
        let data = try analyticSet(count: 200, seed: 9)
        let net = try Network(.siren(outputs: 1, width: 8, depth: 2), seed: 1)
        net.parameters[0] = .nan
        let log = try Trainer(network: net, config: TrainingConfig(batchSize: 50, maxEpochs: 100)).train(on: data)
        XCTAssertEqual(log.stopReason, .diverged)
        XCTAssertEqual(log.epochsRun, 1)
    }

    func testBadConfigurationIsAnError() throws {
        let net = try Network(.siren(outputs: 1, width: 4, depth: 1), seed: 1)
        XCTAssertThrowsError(try Trainer(network: net, config: TrainingConfig(batchSize: 0)))
        XCTAssertThrowsError(try Trainer(network: net, config: TrainingConfig(sampleFraction: 1.5)))
        XCTAssertThrowsError(try Trainer(network: net, config: TrainingConfig(learningRate: .nan)))
    }

    func testTrainingSetValidation() {
        XCTAssertThrowsError(try TrainingSet(inputs: [1, 2, 3], targets: [], components: 1))
        XCTAssertThrowsError(try TrainingSet(inputs: [1, 2, 3, 4], targets: [1, 2], components: 1))
        XCTAssertNoThrow(try TrainingSet(inputs: [1, 2, 3, 4], targets: [1, 2], components: 2))
    }
}
