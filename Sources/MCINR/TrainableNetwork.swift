import ModelDescription
import INRCore

/// What the pipeline needs from a trainable network. The requirements mirror INRCore's
/// `Network`, which conforms as is; tests may plug in their own implementation.
///
/// Inputs are rows of 4 floats, normalised (x, y, z, t) as the decoder computes them; the
/// network applies its local input map `(q − inOffset) · inScale` itself, as the decoder does.
/// Targets and outputs are rows of `outputCount` normalised components; the loss is the MSE,
/// mean over rows and components, or Huber's with `lossClip`.
public protocol TrainableNetwork: AnyObject {
    var parameterCount: Int { get }
    var outputCount: Int { get }
    var inOffset: [Float] { get set }
    var inScale: [Float] { get set }
    /// The live parameter vector (flat, a fixed order).
    var parameters: UnsafeMutableBufferPointer<Float> { get }
    /// Gradients of the last `lossAndGradient`, same layout.
    var gradients: UnsafeMutableBufferPointer<Float> { get }
    /// Prepares workspaces for batches of up to `batchSize` rows.
    func reserve(batchSize: Int)
    /// MSE of one batch (rows ≤ reserved capacity); gradients into `gradients`.
    func lossAndGradient(inputs: UnsafePointer<Float>, targets: UnsafePointer<Float>, rows: Int) -> Double
    /// Outputs of `count` rows into `result` (count × outputCount), any count.
    func predict(inputs: UnsafePointer<Float>, count: Int, into result: UnsafeMutablePointer<Float>, chunk: Int)
    /// Architecture, input map and current weights in the layout of the NETS section.
    func export() -> NetworkDescription
    /// Precision of the matrix products in training (INRCore's `MatmulPrecision`); networks
    /// without the choice compute in fp32 and ignore it (the default below).
    var matmul: MatmulPrecision { get set }
    /// Huber's δ per output (normalised units; empty: the MSE): the gradient of an error beyond
    /// ±δ is clipped (`MCINRConfig.lossBound`); `lossAndGradient` still returns the MSE.
    var lossClip: [Float] { get set }
}

extension Network: TrainableNetwork {}

extension TrainableNetwork {
    public var matmul: MatmulPrecision {
        get { .fp32 }
        set {}
    }

    var inputMap: InputMap {
        get { InputMap(offset: inOffset, scale: inScale) }
        set { inOffset = newValue.offset; inScale = newValue.scale }
    }

    /// A copy of the parameters.
    func copyParameters() -> [Float] { Array(parameters) }

    /// Replaces all parameters.
    func loadParameters(_ values: [Float]) {
        precondition(values.count == parameterCount, "parameter count mismatch")
        _ = parameters.update(fromContentsOf: values)
    }
}

/// Makes a freshly initialised network for an architecture and seed; callable from any
/// thread. The architecture has been validated before any call.
public typealias NetworkFactory = @Sendable (ArchitectureConfig, UInt64) -> TrainableNetwork

public enum NetworkFactories {
    /// INRCore's networks (the production choice).
    public static let inrCore: NetworkFactory = { architecture, seed in
        // The pipeline validated the architecture, so construction cannot fail.
        try! Network(architecture, seed: seed)
    }
}

extension MCINRConfig {
    /// The network architecture this configuration asks for, with `outputs` components.
    public func architecture(outputs: Int) -> ArchitectureConfig {
        switch method {
        case .mcinr, .coordnetb:
            return .coordNetB(outputs: outputs, width: width, trunkDepth: trunkBlocks,
                              branchDepth: branchBlocks, peFrequencies: peFrequencies, omega0: omega0)
        case .coordnet:
            return .coordNet(outputs: outputs, width: width, depth: coordNetBlocks,
                             peFrequencies: peFrequencies, omega0: omega0)
        case .siren:
            // SIREN reads raw (x, y, z, t), as in Sitzmann et al.
            return .siren(outputs: outputs, width: width, depth: sirenHiddenLayers,
                          peFrequencies: 0, omega0: omega0)
        }
    }
}

extension MCINRConfig {
    /// Networks the model can end up with: the clusters plus one per allowed split (each split
    /// turns one leaf into two).
    public var maximumNetworkCount: Int {
        effectiveClusters + (reclusters ? effectiveMaxSplits : 0)
    }

    /// The largest width whose model (all `maximumNetworkCount` networks, float32 weights) fits
    /// in `weightBytes`, or nil when even width 1 does not. Lets a caller aim at a compression
    /// ratio: `weightBytes = rawFieldBytes / ratio`.
    public func largestWidth(fittingWeightBytes weightBytes: Int, outputs: Int) -> Int? {
        var candidate = self
        func bytes(_ width: Int) -> Int {
            candidate.width = width
            return candidate.architecture(outputs: outputs).parameterCount * 4 * maximumNetworkCount
        }
        guard bytes(1) <= weightBytes else { return nil }
        var low = 1, high = 4096
        while low < high {
            let middle = (low + high + 1) / 2
            if bytes(middle) <= weightBytes { low = middle } else { high = middle - 1 }
        }
        return low
    }
}
