import ModelDescription
import XCTest
@testable import INRCore

/// Backward passes against central finite differences of the (double-accumulated) MSE.
final class GradientCheckTests: XCTestCase {
    /// Aggregate relative error (observed 3e-5…3e-4 here) ‖g_fd − g‖ / max(‖g‖, ‖g_fd‖) over (a sample of) parameters.
    func gradientError(_ net: Network, rows: Int = 9, seed: UInt64 = 7, maxChecked: Int = 250,
                       step h: Float = 1e-3) -> Double {
        var rng = SeededRandom(seed: seed)
        let inputs = (0..<(rows * 4)).map { _ in rng.uniform(-1, 1) }
        let targets = (0..<(rows * net.outputCount)).map { _ in rng.uniform(-1, 1) }
        _ = net.lossAndGradient(inputs: inputs, targets: targets)
        let analytic = net.gradientArray()
        var indices = Array(0..<net.parameterCount)
        if indices.count > maxChecked {
            for i in 0..<maxChecked { indices.swapAt(i, i + rng.nextIndex(below: indices.count - i)) }
            indices = Array(indices[0..<maxChecked])
        }
        var diff2 = 0.0, a2 = 0.0, n2 = 0.0
        for i in indices {
            // Five-point stencil (error O(h⁴)): sine layers with ω₀ = 30 curve strongly.
            let original = net.parameters[i]
            func loss(at offset: Float) -> Double {
                net.parameters[i] = original + offset
                return net.meanSquaredError(inputs: inputs, targets: targets)
            }
            let numeric = (8 * (loss(at: h) - loss(at: -h)) - (loss(at: 2 * h) - loss(at: -2 * h)))
                / (12 * Double(h))
            net.parameters[i] = original
            diff2 += (numeric - Double(analytic[i])) * (numeric - Double(analytic[i]))
            a2 += Double(analytic[i]) * Double(analytic[i]); n2 += numeric * numeric
        }
        XCTAssertGreaterThan(a2, 0, "all checked gradients are zero")
        return (diff2 / max(a2, n2)).squareRoot()
    }

    func network(trunk: [ModuleShape], branches: [[ModuleShape]], pe: Int = 0, omega: Float = 30,
                 seed: UInt64 = 3) throws -> Network {
        var rng = SeededRandom(seed: seed)
        func make(_ s: ModuleShape, first: Bool) -> ModuleDescription {
            let tensors = s.tensorSizes.enumerated().map { (k, size) -> [Float] in
                let fanIn = (k == 2 || k == 3) && s.kind == .resBlock ? s.outputs : s.inputs
                let bound = first ? 1.0 / Double(fanIn) : (6.0 / Double(fanIn)).squareRoot() / Double(omega)
                return (0..<size).map { _ in rng.uniform(-bound, bound) }
            }
            return ModuleDescription(kind: s.kind, inputs: s.inputs, outputs: s.outputs, tensors: tensors)
        }
        let d = NetworkDescription(inOffset: [0.1, -0.2, 0.05, 0], inScale: [1.2, 0.9, 1, 1.1],
                                   peFrequencies: pe, omega0: omega,
                                   trunk: trunk.enumerated().map { make($1, first: $0 == 0) },
                                   branches: branches.map { $0.map { make($0, first: trunk.isEmpty) } })
        return try Network(description: d)
    }

    func testSineLayer() throws {
        let net = try network(trunk: [ModuleShape(.sine, 4, 5)], branches: [[ModuleShape(.linear, 5, 2)]])
        XCTAssertLessThan(gradientError(net), 1e-3)
    }

    func testLinearLayerAlone() throws {
        let net = try network(trunk: [], branches: [[ModuleShape(.linear, 12, 3)]], pe: 1)
        XCTAssertLessThan(gradientError(net), 1e-3)
    }

    func testStackedSineLayers() throws {
        let net = try network(trunk: [ModuleShape(.sine, 4, 6), ModuleShape(.sine, 6, 6)],
                              branches: [[ModuleShape(.sine, 6, 3), ModuleShape(.linear, 3, 1)]])
        XCTAssertLessThan(gradientError(net), 1e-3)
    }

    func testResBlockWithProjection() throws {
        let net = try network(trunk: [ModuleShape(.resBlock, 12, 5)], branches: [[ModuleShape(.linear, 5, 2)]], pe: 1)
        XCTAssertLessThan(gradientError(net), 1e-3)
    }

    func testResBlockIdentity() throws {
        let net = try network(trunk: [ModuleShape(.sine, 4, 5), ModuleShape(.resBlock, 5, 5)],
                              branches: [[ModuleShape(.linear, 5, 2)]])
        XCTAssertLessThan(gradientError(net), 1e-3)
    }

    func testBranchesWithoutTrunk() throws {
        let net = try network(trunk: [], branches: [[ModuleShape(.resBlock, 4, 3), ModuleShape(.linear, 3, 1)],
                                                    [ModuleShape(.sine, 4, 4), ModuleShape(.linear, 4, 2)]])
        XCTAssertLessThan(gradientError(net), 1e-3)
    }

    func testWholeSIREN() throws {
        let net = try Network(.siren(outputs: 3, width: 6), seed: 11)
        XCTAssertLessThan(gradientError(net), 1e-3)
    }

    func testWholeSIRENWithEncoding() throws {
        let net = try Network(.siren(outputs: 2, width: 5, depth: 3, peFrequencies: 2), seed: 12)
        XCTAssertLessThan(gradientError(net), 1e-3)
    }

    func testWholeCoordNet() throws {
        let net = try Network(.coordNet(outputs: 2, width: 8, depth: 2, peFrequencies: 1), seed: 13)
        XCTAssertLessThan(gradientError(net), 1e-3)
    }

    func testWholeCoordNetB() throws {
        let net = try Network(.coordNetB(outputs: 3, width: 6, trunkDepth: 2, branchDepth: 2, peFrequencies: 2), seed: 14)
        XCTAssertLessThan(gradientError(net), 1e-3)
    }
}
