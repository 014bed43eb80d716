import INRCore

/// The architecture of one network, independent of its weights.
public struct NetworkSpec: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable { case coordNetB, coordNet, siren }
    public var kind: Kind
    public var width: Int
    /// CoordNetB: trunk ResBlocks; CoordNet: ResBlocks; SIREN: hidden sine layers.
    public var trunkBlocks: Int
    /// CoordNetB: ResBlocks per branch (unused otherwise).
    public var branchBlocks: Int
    public var outputs: Int
    public var peFrequencies: Int
    public var omega0: Float

    public init(kind: Kind, width: Int, trunkBlocks: Int, branchBlocks: Int, outputs: Int,
                peFrequencies: Int, omega0: Float) {
        self.kind = kind; self.width = width; self.trunkBlocks = trunkBlocks
        self.branchBlocks = branchBlocks; self.outputs = outputs
        self.peFrequencies = peFrequencies; self.omega0 = omega0
    }

    /// The network a configuration asks for, with `outputs` scalar components.
    public init(config: MCINRConfig, outputs: Int) {
        switch config.method {
        case .mcinr, .coordnetb:
            self.init(kind: .coordNetB, width: config.width, trunkBlocks: config.trunkBlocks,
                      branchBlocks: config.branchBlocks, outputs: outputs,
                      peFrequencies: config.peFrequencies, omega0: config.omega0)
        case .coordnet:
            self.init(kind: .coordNet, width: config.width, trunkBlocks: config.coordNetBlocks,
                      branchBlocks: 0, outputs: outputs,
                      peFrequencies: config.peFrequencies, omega0: config.omega0)
        case .siren:
            self.init(kind: .siren, width: config.width, trunkBlocks: config.sirenHiddenLayers,
                      branchBlocks: 0, outputs: outputs,
                      peFrequencies: config.peFrequencies, omega0: config.omega0)
        }
    }
}

/// What the pipeline needs from a trainable network: flat parameters, a loss with its gradient
/// on a batch, inference for residuals, and export to the file's description. INRCore's
/// networks are adapted to it; tests may plug in their own.
///
/// Inputs are rows of 4 floats, normalised (x, y, z, t) as the decoder computes them; the
/// network applies its local input map itself (as the decoder does). Targets and outputs are
/// rows of `outputCount` normalised components. The loss is the MSE, mean over rows and
/// components.
public protocol TrainableNetwork: AnyObject {
    var parameterCount: Int { get }
    var outputCount: Int { get }
    /// The local input map `x = (q − offset) · scale` applied before the encoding.
    var inputMap: InputMap { get set }
    /// Copies the parameters, in a fixed order, into `destination` (parameterCount floats).
    func readParameters(into destination: UnsafeMutableBufferPointer<Float>)
    /// Replaces the parameters from `source` (parameterCount floats, same order).
    func writeParameters(from source: UnsafeBufferPointer<Float>)
    /// Loss on `rows` samples; writes d loss / d parameters (parameterCount floats).
    func lossAndGradient(inputs: UnsafePointer<Float>, targets: UnsafePointer<Float>, rows: Int,
                         gradient: UnsafeMutableBufferPointer<Float>) -> Float
    /// Network outputs for `rows` samples into `outputs` (rows × outputCount).
    func predict(inputs: UnsafePointer<Float>, rows: Int, outputs: UnsafeMutablePointer<Float>)
    /// Architecture, input map and current weights in the layout of the NETS section.
    func exportDescription() -> NetworkDescription
}

extension TrainableNetwork {
    public var parameters: [Float] {
        get {
            [Float](unsafeUninitializedCapacity: parameterCount) { buffer, count in
                readParameters(into: buffer); count = parameterCount
            }
        }
        set {
            precondition(newValue.count == parameterCount, "parameter count mismatch")
            newValue.withUnsafeBufferPointer { writeParameters(from: $0) }
        }
    }
}

/// Makes a freshly initialised network for a spec and seed. Must be callable from any thread.
public typealias NetworkFactory = @Sendable (NetworkSpec, UInt64) -> TrainableNetwork

/// Adam on a flat parameter vector (Kingma & Ba; β₁ 0.9, β₂ 0.999, ε 1e-8, as PyTorch).
/// Allocation-free per step.
public struct FlatAdam {
    public var learningRate: Float
    public let beta1: Float = 0.9
    public let beta2: Float = 0.999
    public let epsilon: Float = 1e-8
    private var m: [Float]
    private var v: [Float]
    public private(set) var step = 0

    public init(parameterCount: Int, learningRate: Float) {
        self.learningRate = learningRate
        m = [Float](repeating: 0, count: parameterCount)
        v = [Float](repeating: 0, count: parameterCount)
    }

    /// parameters -= lr · m̂ / (√v̂ + ε)
    public mutating func update(_ parameters: inout [Float], gradient: [Float]) {
        step += 1
        let correction1 = 1 - Float(Double(beta1).power(step))
        let correction2 = 1 - Float(Double(beta2).power(step))
        let stepSize = learningRate / correction1
        let b1 = beta1, b2 = beta2, eps = epsilon
        let n = parameters.count
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                parameters.withUnsafeMutableBufferPointer { p in
                    gradient.withUnsafeBufferPointer { g in
                        let inverseSqrtCorrection2 = 1 / correction2.squareRoot()
                        for i in 0 ..< n {
                            let gi = g[i]
                            m[i] = b1 * m[i] + (1 - b1) * gi
                            v[i] = b2 * v[i] + (1 - b2) * gi * gi
                            p[i] -= stepSize * m[i] / (v[i].squareRoot() * inverseSqrtCorrection2 + eps)
                        }
                    }
                }
            }
        }
    }
}

extension Double {
    @inline(__always) func power(_ exponent: Int) -> Double {
        var result = 1.0, base = self, e = exponent
        while e > 0 { if e & 1 == 1 { result *= base }; base *= base; e >>= 1 }
        return result
    }
}
