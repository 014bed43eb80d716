import ModelDescription
/// Architecture of one network: which family, how wide, how deep, encoding and ω₀.
/// A value type: it is recorded in the `.mci` JSON and fully determines the module shapes.
public struct ArchitectureConfig: Equatable, Hashable, Sendable, Codable {
    public enum Family: String, Equatable, Hashable, Sendable, Codable, CaseIterable {
        /// Sine MLP: `trunkDepth` sine layers (the first reads the encoding), then LINEAR → C.
        case siren
        /// ResBlocks encoding→w/4→w/2→w, then `trunkDepth` ResBlocks w→w, then LINEAR → C.
        case coordNet
        /// `trunkDepth` shared ResBlocks, then per component a branch of `branchDepth`
        /// ResBlocks and LINEAR(w→1) (MC-INR §2.2).
        case coordNetB
    }

    public var family: Family
    /// Number of scalar output components C.
    public var outputs: Int
    public var width: Int
    /// SIREN: sine layers; CoordNet: full-width ResBlocks after the ramp; CoordNetB: trunk ResBlocks.
    public var trunkDepth: Int
    /// CoordNetB: ResBlocks per branch (ignored by the other families).
    public var branchDepth: Int
    /// NeRF positional-encoding frequencies L (0 = raw (x, y, z, t)).
    public var peFrequencies: Int
    public var omega0: Float

    public init(family: Family, outputs: Int, width: Int, trunkDepth: Int, branchDepth: Int = 0,
                peFrequencies: Int = 6, omega0: Float = 30) {
        self.family = family; self.outputs = outputs; self.width = width
        self.trunkDepth = trunkDepth; self.branchDepth = branchDepth
        self.peFrequencies = peFrequencies; self.omega0 = omega0
    }

    /// MC-INR's branched network: 5 trunk ResBlocks, 6 per branch, PE L = 6, ω₀ = 30.
    public static func coordNetB(outputs: Int, width: Int, trunkDepth: Int = 5,
                                 branchDepth: Int = 6, peFrequencies: Int = 6,
                                 omega0: Float = 30) -> ArchitectureConfig {
        ArchitectureConfig(family: .coordNetB, outputs: outputs, width: width,
                           trunkDepth: trunkDepth, branchDepth: branchDepth,
                           peFrequencies: peFrequencies, omega0: omega0)
    }

    /// SIREN baseline: 5 sine layers (4 → w, then 4 × w → w), no encoding by default.
    public static func siren(outputs: Int, width: Int, depth: Int = 5, peFrequencies: Int = 0,
                             omega0: Float = 30) -> ArchitectureConfig {
        ArchitectureConfig(family: .siren, outputs: outputs, width: width, trunkDepth: depth,
                           branchDepth: 0, peFrequencies: peFrequencies, omega0: omega0)
    }

    /// CoordNet baseline: raw (x, y, z, t) by default (METHOD.md: ResBlocks 4→64→128→256),
    /// ramp to `width` (w/4 → w/2 → w), then `depth` (10) × width.
    public static func coordNet(outputs: Int, width: Int = 256, depth: Int = 10,
                                peFrequencies: Int = 0, omega0: Float = 30) -> ArchitectureConfig {
        ArchitectureConfig(family: .coordNet, outputs: outputs, width: width, trunkDepth: depth,
                           branchDepth: 0, peFrequencies: peFrequencies, omega0: omega0)
    }

    /// Width of the network input after the positional encoding: 4(1 + 2L).
    public var encodingWidth: Int { 4 * (1 + 2 * peFrequencies) }

    public func validate() throws {
        guard outputs >= 1, outputs <= 4096 else {
            throw INRError.invalidArchitecture("outputs \(outputs) not in 1…4096")
        }
        guard width >= 1, width <= 65536 else {
            throw INRError.invalidArchitecture("width \(width) not in 1…65536")
        }
        let frequencies = NetworkDescription.peFrequencyRange
        guard frequencies.contains(peFrequencies) else {
            throw INRError.invalidArchitecture("peFrequencies \(peFrequencies) not in \(frequencies.lowerBound)…\(frequencies.upperBound)")
        }
        guard omega0.isFinite, omega0 > 0 else {
            throw INRError.invalidArchitecture("omega0 \(omega0) must be finite and > 0")
        }
        guard trunkDepth >= 0, branchDepth >= 0 else {
            throw INRError.invalidArchitecture("negative depth")
        }
        switch family {
        case .siren:
            guard trunkDepth >= 1 else { throw INRError.invalidArchitecture("SIREN needs ≥ 1 sine layer") }
        case .coordNet:
            break
        case .coordNetB:
            guard trunkDepth + branchDepth >= 1 else {
                throw INRError.invalidArchitecture("CoordNetB needs ≥ 1 ResBlock")
            }
        }
    }

    /// Module shapes (kind, in, out) of trunk and branches, in file order.
    public func moduleShapes() -> (trunk: [ModuleShape], branches: [[ModuleShape]]) {
        let e = encodingWidth, w = width
        switch family {
        case .siren:
            var trunk = [ModuleShape(.sine, e, w)]
            for _ in 1..<max(trunkDepth, 1) { trunk.append(ModuleShape(.sine, w, w)) }
            return (trunk, [[ModuleShape(.linear, w, outputs)]])
        case .coordNet:
            let ramp = [max(1, w / 4), max(1, w / 2), w]
            var trunk: [ModuleShape] = []
            var previous = e
            for r in ramp { trunk.append(ModuleShape(.resBlock, previous, r)); previous = r }
            for _ in 0..<trunkDepth { trunk.append(ModuleShape(.resBlock, w, w)) }
            return (trunk, [[ModuleShape(.linear, w, outputs)]])
        case .coordNetB:
            var trunk: [ModuleShape] = []
            var previous = e
            for _ in 0..<trunkDepth { trunk.append(ModuleShape(.resBlock, previous, w)); previous = w }
            var branch: [ModuleShape] = []
            var branchIn = previous
            for _ in 0..<branchDepth { branch.append(ModuleShape(.resBlock, branchIn, w)); branchIn = w }
            branch.append(ModuleShape(.linear, branchIn, 1))
            return (trunk, Array(repeating: branch, count: outputs))
        }
    }

    /// Number of float parameters of the network this configuration builds.
    public var parameterCount: Int {
        let shapes = moduleShapes()
        return (shapes.trunk + shapes.branches.joined()).reduce(0) { $0 + $1.parameterCount }
    }

    /// Size of the weights as float32, in bytes (the paper's "model size").
    public var byteSize: Int { parameterCount * MemoryLayout<Float>.size }
}

/// Kind and size of one module (see `ModuleDescription`).
public struct ModuleShape: Equatable, Hashable, Sendable {
    public var kind: ModuleDescription.Kind
    public var inputs: Int
    public var outputs: Int
    public init(_ kind: ModuleDescription.Kind, _ inputs: Int, _ outputs: Int) {
        self.kind = kind; self.inputs = inputs; self.outputs = outputs
    }
    /// Tensor sizes in file order.
    public var tensorSizes: [Int] {
        switch kind {
        case .sine, .linear:
            return [outputs * inputs, outputs]
        case .resBlock:
            var sizes = [outputs * inputs, outputs, outputs * outputs, outputs]
            if inputs != outputs { sizes += [outputs * inputs, outputs] }
            return sizes
        }
    }
    public var parameterCount: Int { tensorSizes.reduce(0, +) }
}
