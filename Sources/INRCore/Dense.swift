import COpenBLAS
import CMCINRKernels
import CTrainingKernels

/// One affine map `W x + b` (W: outputs × inputs row-major, then b) stored at `offset` in the
/// network's flat parameter vector, optionally followed by `sin(ω₀ ·)`.
/// Batches are row-major `rows × inputs` matrices; every product is one `cblas_sgemm`.
struct DenseLayer {
    let inputs: Int
    let outputs: Int
    /// Offset of W in the flat parameter (and gradient) vector; b follows W.
    let offset: Int
    var biasOffset: Int { offset + inputs * outputs }
    var parameterCount: Int { outputs * (inputs + 1) }

    /// y = x Wᵀ (+ b, and sin(ω₀ ·) when `omega` is given, writing cos for the backward pass).
    func forward(_ x: UnsafePointer<Float>, rows: Int, params: UnsafePointer<Float>,
                 into y: UnsafeMutablePointer<Float>, omega: Float?, cos: UnsafeMutablePointer<Float>?) {
        StepProfiler.measure(.gemm) {
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
                  ones: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, accumulate: Bool) {
        StepProfiler.measure(.gemm) {
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
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(inputs),
                            Int32(outputs), 1, dA, Int32(ldA), params + offset, Int32(inputs),
                            accumulate ? 1 : 0, dx, Int32(inputs))
            }
        }
    }

    /// Multiply-adds of forward (1 GEMM) and backward (2 GEMMs, 1 when dx is skipped) per row.
    var flopsPerRowForward: Double { 2 * Double(inputs) * Double(outputs) }
}
