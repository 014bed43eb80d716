import CTrainingKernels

/// Arithmetic of the hidden layers' matrix products while training (issue #19).
///
/// `bf16` rounds both operands of the forward product (y = x Wᵀ) and of the input gradient
/// (dx = dA W) to bfloat16 and accumulates in fp32 (AVX512-BF16's VDPBF16PS, our kernel in
/// CTrainingKernels/gemm_bf16.c); the weight gradient stays fp32. `bf16All` also computes the
/// weight gradient in bf16. The layers that read the coordinates' encoding and the narrow
/// output layers always stay fp32, and so does every forward outside training (prediction,
/// evaluation, the decoder): the model is an fp32 model trained with cheaper products.
/// On a CPU without AVX512-BF16 the bf16 modes run fp32 (`resolved` says so).
/// Measurements and the choice of the default: docs/benchmarks/bf16.md.
public enum MatmulPrecision: String, Sendable, Codable, CaseIterable {
    /// bf16 where the CPU has AVX512-BF16, else fp32.
    case auto
    case fp32
    case bf16
    case bf16All = "bf16-all"

    /// Whether this CPU runs the bf16 products (AVX512-BF16 with the OS's zmm support).
    public static var bf16Available: Bool { mcinr_gemm_bf16_available() != 0 }

    /// What training will actually run on this CPU: never `auto`, and fp32 when the CPU
    /// lacks AVX512-BF16.
    public var resolved: MatmulPrecision {
        switch self {
        case .fp32: return .fp32
        case .auto, .bf16: return Self.bf16Available ? .bf16 : .fp32
        case .bf16All: return Self.bf16Available ? .bf16All : .fp32
        }
    }

    var bf16Products: Bool { self == .bf16 || self == .bf16All }
    var bf16WeightGradient: Bool { self == .bf16All }
}
