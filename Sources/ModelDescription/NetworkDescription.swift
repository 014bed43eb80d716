/// Plain, serialisable description of a network's architecture and weights, in the layout of
/// the `.mci` NETS section (docs/mci-format.md). INRCore networks export to and import from
/// this; MCIFormat writes it; the C decoder evaluates it.
public struct ModuleDescription: Equatable, Sendable {
    public enum Kind: UInt8, Sendable { case sine = 1, resBlock = 2, linear = 3 }
    public var kind: Kind
    public var inputs: Int
    public var outputs: Int
    /// Tensors in file order: SINE/LINEAR `[W (outputs×inputs, row-major), b]`;
    /// RESBLOCK `[S1.W, S1.b, S2.W, S2.b]` plus `[T.W, T.b]` when inputs ≠ outputs.
    public var tensors: [[Float]]

    public init(kind: Kind, inputs: Int, outputs: Int, tensors: [[Float]]) {
        self.kind = kind; self.inputs = inputs; self.outputs = outputs; self.tensors = tensors
    }

    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.count } }
}

public struct NetworkDescription: Equatable, Sendable {
    /// Local input map applied to normalised (x, y, z, t): `(q - inOffset) * inScale`.
    public var inOffset: [Float] = [0, 0, 0, 0]
    public var inScale: [Float] = [1, 1, 1, 1]
    /// NeRF positional-encoding frequencies L (input width 4(1+2L)).
    public var peFrequencies: Int
    /// The positional-encoding frequencies a `.mci` network may have (docs/mci-format.md, NETS).
    public static let peFrequencyRange = 0...16
    public var omega0: Float
    public var trunk: [ModuleDescription]
    /// One module list per branch; branch outputs concatenated give the components.
    public var branches: [[ModuleDescription]]

    public init(inOffset: [Float] = [0, 0, 0, 0], inScale: [Float] = [1, 1, 1, 1],
                peFrequencies: Int, omega0: Float,
                trunk: [ModuleDescription], branches: [[ModuleDescription]]) {
        self.inOffset = inOffset; self.inScale = inScale
        self.peFrequencies = peFrequencies; self.omega0 = omega0
        self.trunk = trunk; self.branches = branches
    }

    public var parameterCount: Int {
        trunk.reduce(0) { $0 + $1.parameterCount }
            + branches.joined().reduce(0) { $0 + $1.parameterCount }
    }
    /// Total outputs (scalar components).
    public var outputCount: Int { branches.reduce(0) { $0 + ($1.last?.outputs ?? 0) } }
}
