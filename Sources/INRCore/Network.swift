import ModelDescription
import COpenBLAS
import CMCINRKernels
import CTrainingKernels

/// A trainable network in the `.mci` NETS layout: local input map → positional encoding →
/// trunk modules → branches (outputs concatenated). All parameters live in ONE flat vector in
/// file order (the concatenation of `export().…tensors`), so copying, meta-learning and the
/// optimiser work on plain arrays. Holds its own workspace (allocated once per batch capacity).
/// Not thread-safe: use one `Network` per thread (`copy()`).
public final class Network {
    /// Architecture it was built from; nil when imported from a description.
    public let architecture: ArchitectureConfig?
    public let peFrequencies: Int
    public let omega0: Float
    /// Local input map applied to normalised (x, y, z, t) before the encoding:
    /// `(q − inOffset) · inScale` (4 values each).
    public var inOffset: [Float] { didSet { precondition(inOffset.count == 4) } }
    public var inScale: [Float] { didSet { precondition(inScale.count == 4) } }
    public let parameterCount: Int
    /// Number of scalar outputs C (sum of branch outputs).
    public let outputCount: Int
    public var encodingWidth: Int { 4 * (1 + 2 * peFrequencies) }
    /// Size of the weights as float32 bytes.
    public var byteSize: Int { parameterCount * MemoryLayout<Float>.size }

    let trunk: [Module]
    let branches: [[Module]]
    private let params: FloatBuffer
    private let grads: FloatBuffer

    /// Precision of the hidden layers' matrix products in training (`lossAndGradient`); every
    /// other forward (`predict`) is fp32. Default fp32; the trainer sets its configured value.
    public var matmul: MatmulPrecision = .fp32 { didSet { products = matmul.resolved } }
    /// `matmul` resolved for this CPU.
    private var products: MatmulPrecision = .fp32
    /// Huber's δ per output component (normalised units), or empty for the plain MSE: in
    /// training, an output's error beyond ±δ pulls with a constant gradient, so outputs the
    /// network cannot fit (a front thinner than the mesh) stop dominating the gradient. The
    /// error-bounded writer sets δ to the bound (MCINRConfig.lossBound).
    public var lossClip: [Float] = [] {
        willSet { precondition(newValue.isEmpty || newValue.count == outputCount, "lossClip needs one δ per output") }
    }

    // Network-level workspace.
    public private(set) var batchCapacity = 0
    private var mapped = FloatBuffer(count: 0)
    private var encoded = FloatBuffer(count: 0)
    private var output = FloatBuffer(count: 0)
    private var outputGrad = FloatBuffer(count: 0)
    private var branchGrad = FloatBuffer(count: 0)
    private var trunkGrad = FloatBuffer(count: 0)
    private var pingA = FloatBuffer(count: 0)
    private var pingB = FloatBuffer(count: 0)
    private var scratchA = FloatBuffer(count: 0)
    private var scratchB = FloatBuffer(count: 0)
    private var ones = FloatBuffer(count: 0)
    private let maxWidth: Int

    // MARK: construction

    /// A freshly initialised network (SIREN init, METHOD.md) from a seeded generator.
    public convenience init(_ config: ArchitectureConfig, seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        try self.init(config, rng: &rng)
    }

    public convenience init(_ config: ArchitectureConfig, rng: inout SeededRandom) throws {
        try config.validate()
        let shapes = config.moduleShapes()
        let omega = Double(config.omega0)
        func initialise(_ shape: ModuleShape, readsEncoding: Bool) -> ModuleDescription {
            // Per dense layer, in file order: W then b. A layer reading the encoding gets
            // SIREN's first-layer init U(−1/in, 1/in); others U(±√(6/in)/ω₀); biases U(±1/√in).
            var tensors: [[Float]] = []
            let denseShapes: [(Int, Int, Bool)]
            switch shape.kind {
            case .sine, .linear:
                denseShapes = [(shape.inputs, shape.outputs, readsEncoding)]
            case .resBlock:
                var d = [(shape.inputs, shape.outputs, readsEncoding),
                         (shape.outputs, shape.outputs, false)]
                if shape.inputs != shape.outputs { d.append((shape.inputs, shape.outputs, readsEncoding)) }
                denseShapes = d
            }
            for (fanIn, fanOut, isFirst) in denseShapes {
                let bound = isFirst ? 1.0 / Double(fanIn) : (6.0 / Double(fanIn)).squareRoot() / omega
                tensors.append((0..<(fanIn * fanOut)).map { _ in rng.uniform(-bound, bound) })
                let biasBound = 1.0 / Double(fanIn).squareRoot()
                tensors.append((0..<fanOut).map { _ in rng.uniform(-biasBound, biasBound) })
            }
            return ModuleDescription(kind: shape.kind, inputs: shape.inputs, outputs: shape.outputs,
                                     tensors: tensors)
        }
        var trunk: [ModuleDescription] = []
        for (i, s) in shapes.trunk.enumerated() { trunk.append(initialise(s, readsEncoding: i == 0)) }
        var branches: [[ModuleDescription]] = []
        for b in shapes.branches {
            var modules: [ModuleDescription] = []
            for (i, s) in b.enumerated() {
                modules.append(initialise(s, readsEncoding: trunk.isEmpty && i == 0))
            }
            branches.append(modules)
        }
        let description = NetworkDescription(peFrequencies: config.peFrequencies,
                                              omega0: config.omega0, trunk: trunk,
                                              branches: branches)
        try self.init(description: description, architecture: config)
    }

    /// Imports a description (e.g. read from a `.mci`), validating every shape.
    public convenience init(description: NetworkDescription) throws {
        try self.init(description: description, architecture: nil)
    }

    private init(description d: NetworkDescription, architecture: ArchitectureConfig?) throws {
        try Network.validate(d)
        self.architecture = architecture
        peFrequencies = d.peFrequencies
        omega0 = d.omega0
        inOffset = d.inOffset
        inScale = d.inScale
        var offset = 0
        func build(_ m: ModuleDescription, readsEncoding: Bool) -> Module {
            let module = Module(shape: ModuleShape(m.kind, m.inputs, m.outputs), offset: offset,
                                readsEncoding: readsEncoding)
            offset += module.parameterCount
            return module
        }
        trunk = d.trunk.enumerated().map { build($0.element, readsEncoding: $0.offset == 0) }
        let branchesReadEncoding = d.trunk.isEmpty
        branches = d.branches.map { branch in
            branch.enumerated().map { build($0.element, readsEncoding: branchesReadEncoding && $0.offset == 0) }
        }
        parameterCount = offset
        outputCount = d.outputCount
        let storage = FloatBuffer(count: offset)
        var position = 0
        for m in d.trunk + d.branches.joined() {
            for t in m.tensors {
                t.withUnsafeBufferPointer { (storage.pointer + position).update(from: $0.baseAddress!, count: t.count) }
                position += t.count
            }
        }
        params = storage
        grads = FloatBuffer(count: offset)
        let widths = (d.trunk + d.branches.joined()).flatMap { [$0.inputs, $0.outputs] }
        maxWidth = max(widths.max() ?? 1, 4 * (1 + 2 * d.peFrequencies), d.outputCount)
    }

    static func validate(_ d: NetworkDescription) throws {
        func fail(_ m: String) -> INRError { .invalidDescription(m) }
        guard d.inOffset.count == 4, d.inScale.count == 4 else {
            throw fail("inOffset and inScale need 4 values each")
        }
        guard (d.inOffset + d.inScale).allSatisfy({ $0.isFinite }) else {
            throw fail("non-finite input map")
        }
        let frequencies = NetworkDescription.peFrequencyRange
        guard frequencies.contains(d.peFrequencies) else {
            throw fail("peFrequencies \(d.peFrequencies) not in \(frequencies.lowerBound)…\(frequencies.upperBound)")
        }
        guard d.omega0.isFinite, d.omega0 > 0 else { throw fail("omega0 \(d.omega0) invalid") }
        guard !d.branches.isEmpty else { throw fail("no branches") }
        let encoding = 4 * (1 + 2 * d.peFrequencies)
        func check(_ modules: [ModuleDescription], from width: Int, _ name: String) throws -> Int {
            var w = width
            for (i, m) in modules.enumerated() {
                guard (1...65536).contains(m.inputs), (1...65536).contains(m.outputs) else {
                    throw fail("\(name) module \(i): sizes \(m.inputs)→\(m.outputs) out of range")
                }
                guard m.inputs == w else {
                    throw fail("\(name) module \(i): input width \(m.inputs), expected \(w)")
                }
                let expected = ModuleShape(m.kind, m.inputs, m.outputs).tensorSizes
                guard m.tensors.map(\.count) == expected else {
                    throw fail("\(name) module \(i): tensor sizes \(m.tensors.map(\.count)), expected \(expected)")
                }
                guard m.tensors.allSatisfy({ $0.allSatisfy { $0.isFinite } }) else {
                    throw fail("\(name) module \(i): non-finite weights")
                }
                w = m.outputs
            }
            return w
        }
        let trunkOut = try check(d.trunk, from: encoding, "trunk")
        for (b, branch) in d.branches.enumerated() {
            guard !branch.isEmpty else { throw fail("branch \(b) has no modules") }
            _ = try check(branch, from: trunkOut, "branch \(b)")
        }
    }

    /// A deep copy of the parameters and input map (with its own, not yet allocated, workspace).
    public func copy() -> Network {
        // Import of our own export cannot fail; the architecture is carried over.
        let clone = try! Network(description: export(), architecture: architecture)
        clone.matmul = matmul
        clone.lossClip = lossClip
        return clone
    }

    /// The network as an interchange description (exact copy of the weights).
    public func export() -> NetworkDescription {
        func describe(_ m: Module) -> ModuleDescription {
            var tensors: [[Float]] = []
            for layer in m.layers {
                tensors.append(Array(UnsafeBufferPointer(start: params.pointer + layer.offset,
                                                         count: layer.inputs * layer.outputs)))
                tensors.append(Array(UnsafeBufferPointer(start: params.pointer + layer.biasOffset,
                                                         count: layer.outputs)))
            }
            return ModuleDescription(kind: m.kind, inputs: m.inputs, outputs: m.outputs, tensors: tensors)
        }
        return NetworkDescription(inOffset: inOffset, inScale: inScale, peFrequencies: peFrequencies,
                                  omega0: omega0, trunk: trunk.map(describe),
                                  branches: branches.map { $0.map(describe) })
    }

    // MARK: parameters as flat views

    /// The live parameter vector (file order). Valid as long as the network lives.
    public var parameters: UnsafeMutableBufferPointer<Float> { params.buffer }
    /// Gradients of the last `lossAndGradient` call, same layout as `parameters`.
    public var gradients: UnsafeMutableBufferPointer<Float> { grads.buffer }

    public func parameterArray() -> [Float] { Array(params.buffer) }
    public func gradientArray() -> [Float] { Array(grads.buffer) }

    public func setParameters(_ values: [Float]) {
        precondition(values.count == parameterCount, "parameter count mismatch")
        values.withUnsafeBufferPointer { params.pointer.update(from: $0.baseAddress!, count: parameterCount) }
    }

    /// Copies parameters (and the input map) from a network of the same layout.
    public func setParameters(from other: Network) {
        precondition(other.parameterCount == parameterCount, "parameter count mismatch")
        params.pointer.update(from: other.params.pointer, count: parameterCount)
        inOffset = other.inOffset; inScale = other.inScale
    }

    // MARK: workspace

    /// Bytes of workspace `reserve(batchSize:)` allocates for a batch size (∝ batch × widths;
    /// parameters, gradients and Adam moments come on top: 4 × `byteSize`).
    public func workspaceBytes(batchSize: Int) -> Int {
        let perRow = 4 + encodingWidth + 2 * outputCount + 6 * maxWidth + 1
            + (trunk + branches.joined()).reduce(0) { $0 + $1.workspaceFloatsPerRow }
        return perRow * batchSize * MemoryLayout<Float>.size
    }

    /// Allocates the workspace for batches of up to `batchSize` rows (memory ∝ batch × width).
    public func reserve(batchSize: Int) {
        precondition(batchSize >= 1)
        guard batchSize > batchCapacity else { return }
        batchCapacity = batchSize
        let b = batchSize
        mapped = FloatBuffer(count: b * 4)
        encoded = FloatBuffer(count: b * encodingWidth)
        output = FloatBuffer(count: b * outputCount)
        outputGrad = FloatBuffer(count: b * outputCount)
        branchGrad = FloatBuffer(count: b * maxWidth)
        trunkGrad = FloatBuffer(count: b * maxWidth)
        pingA = FloatBuffer(count: b * maxWidth)
        pingB = FloatBuffer(count: b * maxWidth)
        scratchA = FloatBuffer(count: b * maxWidth)
        scratchB = FloatBuffer(count: b * maxWidth)
        ones = FloatBuffer(count: b)
        ones.pointer.update(repeating: 1, count: b)
        for m in trunk + branches.joined() { m.reserve(capacity: b) }
    }

    // MARK: forward / backward

    /// Forward of `rows` ≤ batchCapacity input rows (rows × 4 normalised x, y, z, t); returns
    /// the rows × C output in the workspace (valid until the next call).
    @discardableResult
    func forward(_ inputs: UnsafePointer<Float>, rows: Int, training: Bool) -> UnsafeMutablePointer<Float> {
        precondition(rows <= batchCapacity, "batch larger than reserved capacity")
        let products = training ? self.products : .fp32
        let p = UnsafePointer(params.pointer)
        inOffset.withUnsafeBufferPointer { off in
            inScale.withUnsafeBufferPointer { sc in
                mcinr_input_map(inputs, rows, off.baseAddress!, sc.baseAddress!, mapped.pointer)
            }
        }
        mcinr_positional_encoding(mapped.pointer, rows, UInt32(peFrequencies), encoded.pointer)
        var x = UnsafePointer(encoded.pointer)
        for m in trunk {
            m.forward(x, rows: rows, params: p, omega: omega0, training: training, scratch: scratchA.pointer,
                      products: products)
            x = UnsafePointer(m.out.pointer)
        }
        let trunkOut = x
        var column = 0
        for branch in branches {
            x = trunkOut
            for m in branch {
                m.forward(x, rows: rows, params: p, omega: omega0, training: training, scratch: scratchA.pointer,
                      products: products)
                x = UnsafePointer(m.out.pointer)
            }
            let width = branch.last!.outputs
            mcinr_copy_columns(x, rows, width, output.pointer, outputCount, column)
            column += width
        }
        return output.pointer
    }

    /// Backward after a training forward, from dL/d(output) in `outputGrad`.
    private func backward(rows: Int) {
        let p = UnsafePointer(params.pointer), g = grads.pointer
        let trunkOut = UnsafePointer(trunk.last?.out.pointer ?? encoded.pointer)
        let C = outputCount
        var column = 0
        for (b, branch) in branches.enumerated() {
            let width = branch.last!.outputs
            // The branch's columns of dL/d(output), made contiguous (a copy per column).
            for j in 0..<width {
                cblas_scopy(Int32(rows), outputGrad.pointer + column + j, Int32(C),
                            branchGrad.pointer + j, Int32(width))
            }
            column += width
            var dy = branchGrad.pointer
            for i in stride(from: branch.count - 1, through: 0, by: -1) {
                let m = branch[i]
                let x = i > 0 ? UnsafePointer(branch[i - 1].out.pointer) : trunkOut
                let dx: UnsafeMutablePointer<Float>?
                if i > 0 { dx = dy == pingA.pointer ? pingB.pointer : pingA.pointer }
                else { dx = trunk.isEmpty ? nil : trunkGrad.pointer }
                m.backward(dy: dy, x: x, rows: rows, params: p, grads: g, omega: omega0,
                           ones: ones.pointer, dx: dx, accumulate: i == 0 && b > 0,
                           scratchA: scratchA.pointer, scratchB: scratchB.pointer, products: products)
                if let dx { dy = dx }
            }
        }
        var dy = trunkGrad.pointer
        for i in stride(from: trunk.count - 1, through: 0, by: -1) {
            let m = trunk[i]
            let x = i > 0 ? UnsafePointer(trunk[i - 1].out.pointer) : UnsafePointer(encoded.pointer)
            let dx: UnsafeMutablePointer<Float>? = i > 0 ? (dy == pingA.pointer ? pingB.pointer : pingA.pointer) : nil
            m.backward(dy: dy, x: x, rows: rows, params: p, grads: g, omega: omega0,
                       ones: ones.pointer, dx: dx, accumulate: false,
                       scratchA: scratchA.pointer, scratchB: scratchB.pointer, products: products)
            if let dx { dy = dx }
        }
    }

    /// MSE loss (mean over rows × C) of one batch and its gradient into `gradients` (Huber's
    /// gradient where `lossClip` is set; the value returned is still the MSE).
    /// `rows` ≤ batchCapacity (call `reserve` first). Allocates nothing.
    public func lossAndGradient(inputs: UnsafePointer<Float>, targets: UnsafePointer<Float>,
                                rows: Int) -> Double {
        guard rows > 0 else { return 0 }
        let out = forward(inputs, rows: rows, training: true)
        let n = rows * outputCount
        let sum = lossClip.isEmpty
            ? mcinr_mse_gradient(out, targets, n, Float(2.0 / Double(n)), outputGrad.pointer)
            : mcinr_huber_gradient(out, targets, rows, outputCount, Float(2.0 / Double(n)), lossClip, outputGrad.pointer)
        backward(rows: rows)
        return sum / Double(n)
    }

    /// Convenience for small batches (tests): reserves capacity as needed.
    public func lossAndGradient(inputs: [Float], targets: [Float]) -> Double {
        let rows = inputs.count / 4
        precondition(inputs.count == rows * 4 && targets.count == rows * outputCount)
        reserve(batchSize: max(rows, 1))
        return inputs.withUnsafeBufferPointer { i in
            targets.withUnsafeBufferPointer { t in
                lossAndGradient(inputs: i.baseAddress!, targets: t.baseAddress!, rows: rows)
            }
        }
    }

    /// Forward-only evaluation of `count` rows (count × 4) into `output` (count × C), in chunks
    /// of the reserved capacity (reserves `chunk` rows if none is reserved yet).
    public func predict(inputs: UnsafePointer<Float>, count: Int, into result: UnsafeMutablePointer<Float>,
                        chunk: Int = 4096) {
        if batchCapacity == 0 { reserve(batchSize: max(1, min(chunk, count))) }
        var start = 0
        while start < count {
            let rows = min(batchCapacity, count - start)
            let out = forward(inputs + start * 4, rows: rows, training: false)
            (result + start * outputCount).update(from: out, count: rows * outputCount)
            start += rows
        }
    }

    /// Forward-only evaluation: inputs n × 4 (normalised x, y, z, t) → n × C normalised outputs.
    public func predict(_ inputs: [Float]) -> [Float] {
        let count = inputs.count / 4
        precondition(inputs.count == count * 4, "inputs must be n × 4")
        var result = [Float](repeating: 0, count: count * outputCount)
        inputs.withUnsafeBufferPointer { i in
            result.withUnsafeMutableBufferPointer { r in
                guard count > 0 else { return }
                predict(inputs: i.baseAddress!, count: count, into: r.baseAddress!)
            }
        }
        return result
    }

    /// Mean squared error over rows × C of a forward pass (no gradients).
    public func meanSquaredError(inputs: [Float], targets: [Float]) -> Double {
        let prediction = predict(inputs)
        precondition(prediction.count == targets.count)
        guard !targets.isEmpty else { return 0 }
        return prediction.withUnsafeBufferPointer { p in
            targets.withUnsafeBufferPointer { t in
                mcinr_mse_gradient(p.baseAddress!, t.baseAddress!, targets.count, 0, nil)
            }
        } / Double(targets.count)
    }

    /// GEMM FLOPs of one training step per row (forward + backward), for benchmarks.
    public var trainingFlopsPerRow: Double {
        var total = 0.0
        for (i, m) in trunk.enumerated() { total += m.trainingFlopsPerRow(needsInputGradient: i > 0) }
        for branch in branches {
            for (i, m) in branch.enumerated() {
                total += m.trainingFlopsPerRow(needsInputGradient: i > 0 || !trunk.isEmpty)
            }
        }
        return total
    }
}
