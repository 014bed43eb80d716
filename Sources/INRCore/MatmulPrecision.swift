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
/// the same PSNR per epoch within seed noise, +1.0 dB in a 120 s budget. Clusters that converge
/// well within their time gained nothing from the speed and ended ~0.25 dB lower than fp32
/// (vessel-small, two seeds; docs/benchmarks/quality-scale.md), hence `auto` chooses per
/// cluster. (A variant keeping the weight gradient in fp32 was slower and no more accurate,
/// and switching to fp32 at the first plateau won back only 0.06–0.08 dB: both removed.)
public enum MatmulPrecision: String, Sendable, Codable, CaseIterable {
    /// Per cluster, where the CPU has AVX512-BF16: fp32, switched to bf16 when the first
    /// `autoProbeBatches` batches show that the cluster's time to its deadline allows fewer
    /// than `autoEpochsToConverge` epochs; fp32 without a deadline. (With a deadline the
    /// pipeline meta-learns in bf16: a fifth of the cluster's time at most, an initialisation.)
    case auto
    case fp32
    case bf16

    /// Whether this CPU runs the bf16 products (AVX512-BF16 with the OS's zmm support).
    public static var bf16Available: Bool { mcinr_gemm_bf16_available() != 0 }

    /// Epochs a cluster needs to converge, with a margin: clusters of vessel-small and the
    /// analytic set that converged stopped on their plateau after 455–786 epochs (seeds 1, 2).
    public static let autoEpochsToConverge = 1500
    /// Batches timed (in fp32) before `auto` chooses.
    public static let autoProbeBatches = 16

    /// What training will run on this CPU: fp32 when the CPU lacks AVX512-BF16; `auto` stays
    /// `auto` (the trainer chooses per cluster).
    public var resolved: MatmulPrecision {
        switch self {
        case .fp32: return .fp32
        case .auto: return Self.bf16Available ? .auto : .fp32
        case .bf16: return Self.bf16Available ? .bf16 : .fp32
        }
    }

    /// Whether a resolved precision asks for bf16 products (`auto` computes fp32 until the
    /// trainer switches the network to `bf16`).
    var bf16Products: Bool { self == .bf16 }
}
