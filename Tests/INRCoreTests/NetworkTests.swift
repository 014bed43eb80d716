import XCTest
@testable import INRCore

final class NetworkTests: XCTestCase {
    /// Parameter counts reproduce the sizes measured with the PyTorch reference (METHOD.md):
    /// SIREN width 144 → 332 KiB, CoordNetB width 32 with 6 components → 348 KiB.
    func testParameterCounts() {
        XCTAssertEqual(ArchitectureConfig.siren(outputs: 6, width: 144).parameterCount, 85_110)
        XCTAssertEqual(ArchitectureConfig.coordNetB(outputs: 6, width: 32).parameterCount, 89_126)
        XCTAssertEqual(ArchitectureConfig.coordNetB(outputs: 6, width: 32).byteSize, 356_504)
        let coordNet = ArchitectureConfig.coordNet(outputs: 6, width: 256)
        let shapes = coordNet.moduleShapes()
        XCTAssertEqual(shapes.trunk.prefix(3).map(\.outputs), [64, 128, 256])
        XCTAssertEqual(shapes.trunk[0].inputs, 4, "CoordNet reads raw (x, y, z, t) by default")
        XCTAssertEqual(shapes.trunk.count, 13)
        XCTAssertEqual(shapes.branches, [[ModuleShape(.linear, 256, 6)]])
    }

    /// FLOP count by hand: SINE 4→4 reading the encoding (forward + weight grad, no input
    /// grad) 2·16·2 = 64; SINE 4→4 2·16·3 = 96; LINEAR 4→1 2·4·3 = 24.
    func testAnalyticFlopCount() throws {
        let net = try Network(.siren(outputs: 1, width: 4, depth: 2), seed: 1)
        XCTAssertEqual(net.trainingFlopsPerRow, 184)
    }

    /// Workspace grows with batch × width: doubling the batch doubles it, and it does not
    /// depend on the data set size.
    func testWorkspaceScalesWithBatch() throws {
        let net = try Network(.coordNetB(outputs: 2, width: 16, trunkDepth: 2, branchDepth: 2), seed: 1)
        let a = net.workspaceBytes(batchSize: 100), b = net.workspaceBytes(batchSize: 200)
        XCTAssertEqual(b, 2 * a)
        // 2 + 4 ResBlocks of 16 (one with T: 5 buffers), 2 LINEAR 16→1, buffers of width 52 …
        XCTAssertGreaterThan(a, 100 * 4 * (5 * 16 + 5 * 4 * 16))
    }

    /// Huber's loss (`lossClip`): the gradient is the MSE's with each output error clamped to
    /// ±δ of its column, i.e. the MSE's gradient towards targets moved to within δ of the
    /// output; the value returned stays the MSE; no clip is the MSE.
    func testHuberGradientClampsEachColumn() throws {
        let net = try Network(.coordNetB(outputs: 2, width: 8, trunkDepth: 1, branchDepth: 1), seed: 3)
        let rows = 64
        var rng = SplitMix64(seed: 5)
        let inputs = (0 ..< 4 * rows).map { _ in Float.random(in: -1 ... 1, using: &rng) }
        let targets = (0 ..< 2 * rows).map { _ in Float.random(in: -1 ... 1, using: &rng) }
        let output = net.predict(inputs)
        let clip: [Float] = [0.05, 0.3]
        let moved = targets.indices.map { i in output[i] - Swift.max(-clip[i % 2], Swift.min(clip[i % 2], output[i] - targets[i])) }
        XCTAssertGreaterThan(zip(moved, targets).filter { $0 != $1 }.count, rows / 2, "most errors exceed δ: the test clips")

        let mse = net.lossAndGradient(inputs: inputs, targets: targets), plain = Array(net.gradients)
        let towardsMoved = net.lossAndGradient(inputs: inputs, targets: moved), expected = Array(net.gradients)
        net.lossClip = clip
        let huber = net.lossAndGradient(inputs: inputs, targets: targets), clipped = Array(net.gradients)
        XCTAssertEqual(huber, mse, accuracy: 1e-12 * mse, "the value stays the MSE")
        XCTAssertLessThan(towardsMoved, mse)
        let scale = expected.map(abs).max()!
        for (g, e) in zip(clipped, expected) { XCTAssertEqual(g, e, accuracy: 1e-5 * scale) }
        XCTAssertGreaterThan(zip(clipped, plain).map { abs($0 - $1) }.max()!, 0.01 * scale, "clipping changed the gradient")
        net.lossClip = [10, 10]
        _ = net.lossAndGradient(inputs: inputs, targets: targets)
        XCTAssertEqual(Array(net.gradients), plain, "a δ beyond every error is the MSE")
        XCTAssertEqual(net.copy().lossClip, [10, 10])
    }

    func testCoordNetBLayout() throws {
        let net = try Network(.coordNetB(outputs: 4, width: 8), seed: 1)
        let d = net.export()
        XCTAssertEqual(d.trunk.count, 5)
        XCTAssertEqual(d.branches.count, 4)
        XCTAssertTrue(d.branches.allSatisfy { $0.count == 7 && $0.last!.kind == .linear && $0.last!.outputs == 1 })
        XCTAssertEqual(d.trunk[0].inputs, 52)
        XCTAssertEqual(d.trunk[0].tensors.count, 6, "52→8 ResBlock has a projection T")
        XCTAssertEqual(d.trunk[1].tensors.count, 4)
        XCTAssertEqual(d.outputCount, 4)
        XCTAssertEqual(d.parameterCount, net.parameterCount)
        XCTAssertEqual(net.parameterCount, ArchitectureConfig.coordNetB(outputs: 4, width: 8).parameterCount)
    }

    /// First-layer weights lie in ±1/in, later ones in ±√(6/in)/ω₀, biases in ±1/√in.
    func testInitialisationBounds() throws {
        let net = try Network(.siren(outputs: 2, width: 64), seed: 3)
        let d = net.export()
        let first = d.trunk[0].tensors[0], hidden = d.trunk[1].tensors[0], bias = d.trunk[1].tensors[1]
        XCTAssertLessThanOrEqual(first.map(abs).max()!, 1.0 / 4)
        XCTAssertGreaterThan(first.map(abs).max()!, 0.9 / 4)
        let bound = Float((6.0 / 64).squareRoot() / 30)
        XCTAssertLessThanOrEqual(hidden.map(abs).max()!, bound)
        XCTAssertGreaterThan(hidden.map(abs).max()!, 0.9 * bound)
        XCTAssertLessThanOrEqual(bias.map(abs).max()!, 1.0 / 8)
    }

    func testExportImportRoundTripIsExact() throws {
        for config in [ArchitectureConfig.coordNetB(outputs: 3, width: 7, trunkDepth: 2, branchDepth: 1),
                       .siren(outputs: 2, width: 9, peFrequencies: 2), .coordNet(outputs: 2, width: 8, depth: 1)] {
            let net = try Network(config, seed: 21)
            net.inOffset = [0.5, -0.25, 0, 0.125]
            net.inScale = [2, 3, 4, 1]
            let d = net.export()
            let back = try Network(description: d)
            XCTAssertEqual(back.export(), d)
            XCTAssertEqual(back.parameterArray(), net.parameterArray())
            var rng = SeededRandom(seed: 2)
            let x = (0..<(50 * 4)).map { _ in rng.uniform(-1, 1) }
            XCTAssertEqual(back.predict(x), net.predict(x))
            let copy = net.copy()
            XCTAssertEqual(copy.export(), d)
            XCTAssertEqual(copy.predict(x), net.predict(x))
        }
    }

    func testInputMapIsAppliedBeforeEncoding() throws {
        let net = try Network(.siren(outputs: 1, width: 5, peFrequencies: 1), seed: 4)
        let x: [Float] = [0.3, -0.2, 0.1, 0.5]
        let plain = net.predict(x)
        net.inOffset = [0.3, -0.2, 0.1, 0.5]
        net.inScale = [1, 1, 1, 1]
        let atOrigin = net.predict(x)
        net.inOffset = [0, 0, 0, 0]
        XCTAssertEqual(net.predict([0, 0, 0, 0]), atOrigin)
        XCTAssertNotEqual(plain, atOrigin)
    }

    func testInvalidDescriptionsAreRejected() throws {
        let good = try Network(.siren(outputs: 2, width: 4, depth: 2), seed: 1).export()
        var wrongWidth = good
        wrongWidth.trunk[1].inputs = 5
        XCTAssertThrowsError(try Network(description: wrongWidth))
        var shortTensor = good
        shortTensor.trunk[0].tensors[0].removeLast()
        XCTAssertThrowsError(try Network(description: shortTensor)) { error in
            XCTAssertTrue("\(error)".contains("trunk module 0"), "\(error)")
        }
        var nan = good
        nan.branches[0][0].tensors[1][0] = .nan
        XCTAssertThrowsError(try Network(description: nan))
        var noBranch = good
        noBranch.branches = []
        XCTAssertThrowsError(try Network(description: noBranch))
        var badPE = good
        badPE.peFrequencies = 17
        XCTAssertThrowsError(try Network(description: badPE))
        XCTAssertThrowsError(try Network(.coordNetB(outputs: 0, width: 8), seed: 1))
    }

    /// predict in chunks smaller than the input gives the values of one big batch, to float
    /// rounding: on some CPUs OpenBLAS's product of a row depends on the batch's shape (seen on
    /// an AVX-512 Xeon: 1 ulp), so the chunks agree to within a few ulps, not bit for bit.
    func testPredictChunkingIsConsistent() throws {
        let net = try Network(.coordNetB(outputs: 2, width: 6, trunkDepth: 1, branchDepth: 1), seed: 8)
        var rng = SeededRandom(seed: 3)
        let x = (0..<(37 * 4)).map { _ in rng.uniform(-1, 1) }
        let whole = net.predict(x)
        let small = net.copy()
        small.reserve(batchSize: 5)
        let chunked = small.predict(x)
        XCTAssertEqual(chunked.count, whole.count)
        for (a, b) in zip(chunked, whole) { XCTAssertEqual(a, b, accuracy: 4 * max(abs(b), 1e-3) * .ulpOfOne) }
    }

    /// Reptile-style use (MetaLearning): copy θ, take inner Adam steps, read back, restore, and
    /// an outer Adam step on plain arrays moves θ towards the adapted weights.
    func testParameterViewsSupportMetaLearning() throws {
        var rng = SeededRandom(seed: 7)
        let inputs = (0 ..< 400).map { _ in rng.uniform(-1, 1) }
        let targets = stride(from: 0, to: inputs.count, by: 4).map { sin(3 * inputs[$0]) / 2 }
        let net = try Network(.siren(outputs: 1, width: 6, depth: 2), seed: 5)
        let theta = net.parameterArray()
        let inner = Adam(parameterCount: theta.count, learningRate: 1e-3)
        for _ in 0 ..< 5 {
            _ = net.lossAndGradient(inputs: inputs, targets: targets)
            inner.update(net)
        }
        let adapted = net.parameterArray()
        XCTAssertNotEqual(adapted, theta)
        net.setParameters(theta)
        XCTAssertEqual(net.parameterArray(), theta)
        var outer = theta
        let outerAdam = Adam(parameterCount: theta.count, learningRate: 1e-4)
        outerAdam.update(&outer, gradients: zip(theta, adapted).map { $0 - $1 })
        let before = zip(theta, adapted).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        let after = zip(outer, adapted).map { ($0 - $1) * ($0 - $1) }.reduce(0, +)
        XCTAssertLessThan(after, before)
    }
}
