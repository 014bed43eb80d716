import COpenBLAS
import CMCINRKernels
import CTrainingKernels

/// One affine map `W x + b` (W: outputs × inputs row-major, then b) stored at `offset` in the
/// network's flat parameter vector, optionally followed by `sin(ω₀ ·)`.
/// Batches are row-major `rows × inputs` matrices; every product is one `cblas_sgemm`, or one
/// `mcinr_gemm_bf16` when training asks for bf16 products (`MatmulPrecision`) and the layer
/// may use them.
struct DenseLayer {
    let inputs: Int
    let outputs: Int
    /// Offset of W in the flat parameter (and gradient) vector; b follows W.
    let offset: Int
    /// Whether bf16 products may be used here: hidden layers at least 16 wide on both sides.
    /// Layers reading the coordinates' encoding keep fp32 (positions rounded to 8 significant
    /// bits would lose detail), and so do narrow layers (the output), where the kernel's
    /// 16-lane vectors would be mostly empty.
    var bf16Eligible = false

    static func bf16Eligible(inputs: Int, outputs: Int, readsEncoding: Bool) -> Bool {
        !readsEncoding && inputs >= 16 && outputs >= 16
    }
    var biasOffset: Int { offset + inputs * outputs }
    var parameterCount: Int { outputs * (inputs + 1) }

    /// y = x Wᵀ (+ b, and sin(ω₀ ·) when `omega` is given, writing cos for the backward pass).
    /// `products` is the resolved training precision (`.fp32` outside training).
    func forward(_ x: UnsafePointer<Float>, rows: Int, params: UnsafePointer<Float>,
                 into y: UnsafeMutablePointer<Float>, omega: Float?, cos: UnsafeMutablePointer<Float>?,
                 products: MatmulPrecision = .fp32) {
        StepProfiler.measure(.gemm) {
            if products.bf16Products && bf16Eligible
                && mcinr_gemm_bf16(0, 1, rows, outputs, inputs, x, inputs, params + offset, inputs,
                                   0, y, outputs) == 0 { return }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs),
                        Int32(inputs), 1, x, Int32(inputs), params + offset, Int32(inputs), 0,
                        y, Int32(outputs))
        }
        if let omega {
            StepProfiler.measure(.sineForward) {
                mcinr_sine_forward(y, params + biasOffset, rows, outputs, omega, cos)
            }
        } else {
            mcinr_add_bias(y, params + biasOffset, rows, outputs)
        }
    }

    /// Given dA = dL/d(Wx+b) (rows × outputs, leading dimension `ldA`) and the layer input x:
    /// writes dW and db into `grads` (overwriting: each parameter is used once per forward) and,
    /// when `dx` is given, dx = dA W (added to dx when `accumulate`).
    func backward(dA: UnsafePointer<Float>, ldA: Int, x: UnsafePointer<Float>, rows: Int,
                  params: UnsafePointer<Float>, grads: UnsafeMutablePointer<Float>,
                  ones: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, accumulate: Bool,
                  products: MatmulPrecision = .fp32) {
        let bf16 = products.bf16Products && bf16Eligible
        StepProfiler.measure(.gemm) {
            if bf16 && mcinr_gemm_bf16(1, 0, outputs, inputs, rows, dA, ldA, x, inputs, 0,
                                   grads + offset, inputs) == 0 { return }
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(outputs), Int32(inputs),
                        Int32(rows), 1, dA, Int32(ldA), x, Int32(inputs), 0,
                        grads + offset, Int32(inputs))
        }
        StepProfiler.measure(.gemv) {
            cblas_sgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(outputs), 1, dA, Int32(ldA),
                        ones, 1, 0, grads + biasOffset, 1)
        }
        if let dx {
            StepProfiler.measure(.gemm) {
                if bf16 && mcinr_gemm_bf16(0, 0, rows, inputs, outputs, dA, ldA, params + offset,
                                           inputs, accumulate ? 1 : 0, dx, inputs) == 0 { return }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(inputs),
                            Int32(outputs), 1, dA, Int32(ldA), params + offset, Int32(inputs),
                            accumulate ? 1 : 0, dx, Int32(inputs))
            }
        }
    }

    /// Multiply-adds of forward (1 GEMM) and backward (2 GEMMs, 1 when dx is skipped) per row.
    var flopsPerRowForward: Double { 2 * Double(inputs) * Double(outputs) }
}
