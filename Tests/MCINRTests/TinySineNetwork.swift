import Foundation
import INRCore
@testable import MCINR

/// A tiny sine MLP (SIREN layout: sine layers, then a linear output) with plain loops, so the
/// pipeline's tests run without the production networks and stay fast. Implements the same
/// input map and export layout as the real networks.
final class TinySineNetwork: TrainableNetwork {
    let widths: [Int]          // [4, hidden..., C]
    let omega: Float
    var inputMap = InputMap.identity
    private var weights: [Float]
    private var offsets: [(w: Int, b: Int)] = []

    var parameterCount: Int { weights.count }
    var outputCount: Int { widths.last! }

    init(hidden: [Int], outputs: Int, omega: Float = 30, seed: UInt64) {
        widths = [4] + hidden + [outputs]
        self.omega = omega
        var generator = SplitMix64(seed: seed)
        var parameters: [Float] = []
        for layer in 0 ..< widths.count - 1 {
            let fanIn = widths[layer], fanOut = widths[layer + 1]
            let bound = layer == 0 ? 1 / Double(fanIn) : (6 / Double(fanIn)).squareRoot() / Double(omega)
            offsets.append((parameters.count, parameters.count + fanIn * fanOut))
            for _ in 0 ..< fanIn * fanOut { parameters.append(Float((generator.nextUnitDouble() * 2 - 1) * bound)) }
            let biasBound = 1 / Double(fanIn).squareRoot()
            for _ in 0 ..< fanOut { parameters.append(Float((generator.nextUnitDouble() * 2 - 1) * biasBound)) }
        }
        weights = parameters
    }

    func readParameters(into destination: UnsafeMutableBufferPointer<Float>) {
        _ = destination.initialize(from: weights)
    }

    func writeParameters(from source: UnsafeBufferPointer<Float>) {
        precondition(source.count == weights.count)
        weights = Array(source)
    }

    /// Activations of every layer for one row (last = output).
    private func forwardRow(_ input: UnsafePointer<Float>) -> (activations: [[Float]], cosines: [[Float]]) {
        let q = SIMD4(input[0], input[1], input[2], input[3])
        let x = inputMap.apply(q)
        var activations: [[Float]] = [[x.x, x.y, x.z, x.w]]
        var cosines: [[Float]] = []
        for layer in 0 ..< widths.count - 1 {
            let fanIn = widths[layer], fanOut = widths[layer + 1]
            let (w, b) = offsets[layer]
            var next = [Float](repeating: 0, count: fanOut), cosine = [Float](repeating: 0, count: fanOut)
            for o in 0 ..< fanOut {
                var z = weights[b + o]
                for i in 0 ..< fanIn { z += weights[w + o * fanIn + i] * activations[layer][i] }
                if layer < widths.count - 2 {
                    next[o] = sin(omega * z); cosine[o] = cos(omega * z)
                } else {
                    next[o] = z
                }
            }
            activations.append(next); cosines.append(cosine)
        }
        return (activations, cosines)
    }

    func predict(inputs: UnsafePointer<Float>, rows: Int, outputs: UnsafeMutablePointer<Float>) {
        for r in 0 ..< rows {
            let output = forwardRow(inputs + 4 * r).activations.last!
            for k in 0 ..< outputCount { outputs[r * outputCount + k] = output[k] }
        }
    }

    func lossAndGradient(inputs: UnsafePointer<Float>, targets: UnsafePointer<Float>, rows: Int,
                         gradient: UnsafeMutableBufferPointer<Float>) -> Float {
        for i in gradient.indices { gradient[i] = 0 }
        var loss: Float = 0
        let scale = 2 / Float(rows * outputCount)
        for r in 0 ..< rows {
            let (activations, cosines) = forwardRow(inputs + 4 * r)
            var delta = (0 ..< outputCount).map { k -> Float in
                let e = activations.last![k] - targets[r * outputCount + k]
                loss += e * e
                return e * scale
            }
            for layer in stride(from: widths.count - 2, through: 0, by: -1) {
                let fanIn = widths[layer], fanOut = widths[layer + 1]
                let (w, b) = offsets[layer]
                if layer < widths.count - 2 {
                    for o in 0 ..< fanOut { delta[o] *= omega * cosines[layer][o] }
                }
                var previous = [Float](repeating: 0, count: fanIn)
                for o in 0 ..< fanOut {
                    gradient[b + o] += delta[o]
                    for i in 0 ..< fanIn {
                        gradient[w + o * fanIn + i] += delta[o] * activations[layer][i]
                        previous[i] += weights[w + o * fanIn + i] * delta[o]
                    }
                }
                delta = previous
            }
        }
        return loss / Float(rows * outputCount)
    }

    func exportDescription() -> NetworkDescription {
        var trunk: [ModuleDescription] = []
        for layer in 0 ..< widths.count - 1 {
            let fanIn = widths[layer], fanOut = widths[layer + 1]
            let (w, b) = offsets[layer]
            let module = ModuleDescription(kind: layer < widths.count - 2 ? .sine : .linear,
                                           inputs: fanIn, outputs: fanOut,
                                           tensors: [Array(weights[w ..< w + fanIn * fanOut]),
                                                     Array(weights[b ..< b + fanOut])])
            trunk.append(module)
        }
        let output = trunk.removeLast()
        return NetworkDescription(inOffset: inputMap.offset, inScale: inputMap.scale, peFrequencies: 0,
                                  omega0: omega, trunk: trunk, branches: [[output]])
    }

    /// Factory with the given hidden widths (ignores the spec's architecture, keeps its outputs).
    static func factory(hidden: [Int]) -> NetworkFactory {
        { spec, seed in TinySineNetwork(hidden: hidden, outputs: spec.outputs, omega: spec.omega0, seed: seed) }
    }
}
