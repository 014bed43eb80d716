import CTrainingKernels

/// Arithmetic of the hidden layers' matrix products while training (issue #19).
///
/// `bf16` rounds both operands of the three products of a hidden layer (forward y = x Wᵀ,
/// weight gradient dW = dAᵀ x, input gradient dx = dA W) to bfloat16 and accumulates in fp32
/// (AVX512-BF16's VDPBF16PS, our kernel in CTrainingKernels/gemm_bf16.c). The layers that read
/// the coordinates' encoding and the narrow output layers always stay fp32, and so does every
/// forward outside training (prediction, evaluation, the decoder): the model is an fp32 model
/// trained with cheaper products. On a CPU without AVX512-BF16, bf16 runs fp32 (`resolved`
/// says so). Measured on ~10^6 point-steps (docs/benchmarks/bf16.md): 1.3–1.7× faster epochs,
/// the same PSNR per epoch within seed noise, +1.0 dB in a 120 s budget; hence `auto` is the
/// trainer's default. (A variant keeping the weight gradient in fp32 was slower and no more
/// accurate; it was removed.)
public enum MatmulPrecision: String, Sendable, Codable, CaseIterable {
    /// bf16 where the CPU has AVX512-BF16, else fp32.
    case auto
    case fp32
    case bf16

    /// Whether this CPU runs the bf16 products (AVX512-BF16 with the OS's zmm support).
    public static var bf16Available: Bool { mcinr_gemm_bf16_available() != 0 }

    /// What training will actually run on this CPU: never `auto`, and fp32 when the CPU
    /// lacks AVX512-BF16.
    public var resolved: MatmulPrecision {
        switch self {
        case .fp32: return .fp32
        case .auto, .bf16: return Self.bf16Available ? .bf16 : .fp32
        }
    }

    /// Whether a resolved precision asks for bf16 products.
    var bf16Products: Bool { self == .bf16 }
}
