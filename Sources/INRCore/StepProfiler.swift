import Foundation

/// Opt-in breakdown of training time into BLAS products and sine kernels, for mcinr-bench.
/// Off by default: each instrumented call then costs one test of a constant-initialised global.
/// When on, every instrumented call reads the thread CPU clock twice. Not thread-safe: enable
/// it only while a single thread trains (the benchmark), never in the library's own code.
public enum StepProfiler {
    // Unchecked: a dynamic exclusivity check (swift_beginAccess) on every read would be the
    // only cost of the profiler when off.
    @exclusivity(unchecked) public static var isEnabled = false
    /// Thread CPU seconds accumulated since the last `reset()`.
    public static var gemmSeconds = 0.0
    public static var gemvSeconds = 0.0
    public static var sineForwardSeconds = 0.0
    public static var sineBackwardSeconds = 0.0
    public static var gemmCalls = 0

    public static func reset() {
        gemmSeconds = 0; gemvSeconds = 0; sineForwardSeconds = 0; sineBackwardSeconds = 0; gemmCalls = 0
    }

    @inline(__always)
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    enum Part { case gemm, gemv, sineForward, sineBackward }

    @inline(__always)
    static func measure(_ part: Part, _ body: () -> Void) {
        guard isEnabled else { body(); return }
        let start = now()
        body()
        let t = now() - start
        switch part {
        case .gemm: gemmSeconds += t; gemmCalls += 1
        case .gemv: gemvSeconds += t
        case .sineForward: sineForwardSeconds += t
        case .sineBackward: sineBackwardSeconds += t
        }
    }
}
