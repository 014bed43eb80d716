import ModelDescription
import COpenBLAS
import CMCINRKernels
import CTrainingKernels

/// One module of a network (SINE, LINEAR or RESBLOCK, as in the `.mci` NETS section) with its
/// activation workspace for a batch capacity. Parameters live in the network's flat vector.
final class Module {
    let kind: ModuleDescription.Kind
    let inputs: Int
    let outputs: Int
    /// SINE / LINEAR: the layer; RESBLOCK: S1.
    let first: DenseLayer
    /// RESBLOCK: S2.
    let second: DenseLayer?
    /// RESBLOCK with inputs ≠ outputs: T.
    let transform: DenseLayer?

    // Workspace (capacity × outputs each); allocated by `reserve`, never in the training loop.
    private(set) var capacity = 0
    private(set) var out = FloatBuffer(count: 0)
    private var cos1 = FloatBuffer(count: 0)
    private var hidden = FloatBuffer(count: 0)
    private var cos2 = FloatBuffer(count: 0)
    private var cosT = FloatBuffer(count: 0)

    /// `readsEncoding`: the module's input is the positional encoding of the coordinates
    /// (its S1 and T then never use bf16 products).
    init(shape: ModuleShape, offset: Int, readsEncoding: Bool = false) {
        kind = shape.kind; inputs = shape.inputs; outputs = shape.outputs
        let inputLayerBF16 = DenseLayer.bf16Eligible(inputs: inputs, outputs: outputs,
                                                     readsEncoding: readsEncoding)
        first = DenseLayer(inputs: inputs, outputs: outputs, offset: offset,
                           bf16Eligible: inputLayerBF16 && kind != .linear)
        if kind == .resBlock {
            let s2 = DenseLayer(inputs: outputs, outputs: outputs, offset: offset + first.parameterCount,
                                bf16Eligible: DenseLayer.bf16Eligible(inputs: outputs, outputs: outputs,
                                                                      readsEncoding: false))
            second = s2
            transform = inputs != outputs
                ? DenseLayer(inputs: inputs, outputs: outputs,
                             offset: s2.offset + s2.parameterCount, bf16Eligible: inputLayerBF16)
                : nil
        } else {
            second = nil; transform = nil
        }
    }

    var parameterCount: Int {
        first.parameterCount + (second?.parameterCount ?? 0) + (transform?.parameterCount ?? 0)
    }

    /// Dense layers in file order.
    var layers: [DenseLayer] { [first] + [second, transform].compactMap { $0 } }

    /// Floats of workspace per batch row.
    var workspaceFloatsPerRow: Int {
        switch kind {
        case .linear: return outputs
        case .sine: return 2 * outputs
        case .resBlock: return (transform != nil ? 5 : 4) * outputs
        }
    }

    func reserve(capacity newCapacity: Int) {
        guard newCapacity > capacity else { return }
        capacity = newCapacity
        let n = newCapacity * outputs
        out = FloatBuffer(count: n)
        if kind != .linear { cos1 = FloatBuffer(count: n) }
        if kind == .resBlock {
            hidden = FloatBuffer(count: n)
            cos2 = FloatBuffer(count: n)
            if transform != nil { cosT = FloatBuffer(count: n) }
        }
    }

    /// Forward of `rows` rows of x (rows × inputs) into `out`. `training` stores the cosines the
    /// backward pass needs. `scratch` holds ≥ rows × outputs floats.
    /// `products`: the resolved training precision of the matrix products (`.fp32` when not
    /// training).
    func forward(_ x: UnsafePointer<Float>, rows: Int, params: UnsafePointer<Float>, omega: Float,
                 training: Bool, scratch: UnsafeMutablePointer<Float>, products: MatmulPrecision = .fp32) {
        switch kind {
        case .linear:
            first.forward(x, rows: rows, params: params, into: out.pointer, omega: nil, cos: nil, products: products)
        case .sine:
            first.forward(x, rows: rows, params: params, into: out.pointer, omega: omega,
                          cos: training ? cos1.pointer : nil, products: products)
        case .resBlock:
            first.forward(x, rows: rows, params: params, into: hidden.pointer, omega: omega,
                          cos: training ? cos1.pointer : nil, products: products)
            second!.forward(hidden.pointer, rows: rows, params: params, into: out.pointer,
                            omega: omega, cos: training ? cos2.pointer : nil, products: products)
            if let transform {
                transform.forward(x, rows: rows, params: params, into: scratch, omega: omega,
                                  cos: training ? cosT.pointer : nil, products: products)
                mcinr_half_sum(out.pointer, scratch, rows * outputs)
            } else {
                mcinr_half_sum(out.pointer, x, rows * outputs)
            }
        }
    }

    /// Backward of the last training forward. `dy` (rows × outputs) is dL/d(out) and is
    /// clobbered. Writes parameter gradients; writes (or adds, `accumulate`) dL/dx into `dx`
    /// when given. `scratchA`, `scratchB` hold ≥ rows × outputs floats each.
    func backward(dy: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, rows: Int,
                  params: UnsafePointer<Float>, grads: UnsafeMutablePointer<Float>, omega: Float,
                  ones: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
                  scratchA: UnsafeMutablePointer<Float>, scratchB: UnsafeMutablePointer<Float>,
                  products: MatmulPrecision = .fp32) {
        let n = rows * outputs
        switch kind {
        case .linear:
            first.backward(dA: dy, ldA: outputs, x: x, rows: rows, params: params, grads: grads,
                           ones: ones, dx: dx, accumulate: accumulate, products: products)
        case .sine:
            StepProfiler.measure(.sineBackward) { mcinr_sine_backward(dy, cos1.pointer, n, omega) }
            first.backward(dA: dy, ldA: outputs, x: x, rows: rows, params: params, grads: grads,
                           ones: ones, dx: dx, accumulate: accumulate, products: products)
        case .resBlock:
            // y = ½ (S2(S1(x)) + T(x)): the ½ folds into the sine derivative of S2 and T.
            scratchA.update(from: dy, count: n)
            StepProfiler.measure(.sineBackward) { mcinr_sine_backward(scratchA, cos2.pointer, n, 0.5 * omega) }
            second!.backward(dA: scratchA, ldA: outputs, x: hidden.pointer, rows: rows,
                             params: params, grads: grads, ones: ones, dx: scratchB,
                             accumulate: false, products: products)
            StepProfiler.measure(.sineBackward) { mcinr_sine_backward(scratchB, cos1.pointer, n, omega) }
            first.backward(dA: scratchB, ldA: outputs, x: x, rows: rows, params: params,
                           grads: grads, ones: ones, dx: dx, accumulate: accumulate, products: products)
            if let transform {
                StepProfiler.measure(.sineBackward) { mcinr_sine_backward(dy, cosT.pointer, n, 0.5 * omega) }
                transform.backward(dA: dy, ldA: outputs, x: x, rows: rows, params: params,
                                   grads: grads, ones: ones, dx: dx, accumulate: true, products: products)
            } else if let dx {
                mcinr_axpy(dx, dy, n, 0.5)
            }
        }
    }

    /// FLOPs per row of one training step (forward + weight gradient + input gradient when
    /// `needsInputGradient`), counting 2 per multiply-add of the GEMMs only.
    func trainingFlopsPerRow(needsInputGradient: Bool) -> Double {
        var total = 0.0
        for (i, layer) in layers.enumerated() {
            let mac = Double(layer.inputs * layer.outputs)
            // S2 always needs its input gradient (it feeds S1); S1 and T only if dx is wanted.
            let inputGrad = (kind == .resBlock && i == 1) || needsInputGradient
            total += 2 * mac * (inputGrad ? 3 : 2)
        }
        return total
    }
}
