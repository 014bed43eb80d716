import COpenBLAS
import Glibc

// Parallelism comes from our own threads (clusters in training, point chunks in decoding);
// single-threaded BLAS also makes decoded values identical to what the ParaView reader shows.
openblas_set_num_threads(1)
// A step's arrays and a mesh's come and go by hundreds of MB. glibc's adaptive threshold would
// move such sizes to the heap after the first free, where freed memory stays resident; a fixed
// 1 MiB threshold gives every large buffer back when it is freed (peak RSS at 10⁷ point·steps:
// 1032 → 863 MiB, the same CPU time; docs/benchmarks/memory.md).
// (mallopt is not in Swift's Glibc module; M_MMAP_THRESHOLD is -3 in <malloc.h>.)
if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") {
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    _ = unsafeBitCast(symbol, to: Mallopt.self)(-3, 1 << 20)
}
MCINRTool.main()
