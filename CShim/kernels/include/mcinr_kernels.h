/*
 * mcinr_kernels.h — the forward numeric kernels: the C decoder evaluates networks with them and
 * the Swift trainer runs its forward pass through the same functions, so training and decoding
 * use the same arithmetic. Internal to mcinr-vtk (not part of the stable decoder API in mcinr.h).
 * The trainer's own kernels (backward, Adam) are in Sources/CTrainingKernels.
 */
#ifndef MCINR_KERNELS_H
#define MCINR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sine activation, fused with the bias add and omega:
 *   z = omega * (x[r*width + j] + bias[j]);  x[r*width + j] = sin(z);  cos_out[...] = cos(z)
 * for rows × width values, in place. `bias` may be NULL (no bias); `cos_out` may be NULL
 * (forward only; then only sin is evaluated, about half the cost, and the sin values are the
 * same as with cos_out). Accurate to about 1e-6 absolute for |z| up to ~1e4 (measured 1.6e-7 up
 * to 1.2e4). Beyond ~6e6 (and for ±inf) results stay in [-1, 1] but are meaningless; NaN stays
 * NaN. */
void mcinr_sine_forward(float *x, const float *bias, size_t rows, size_t width, float omega,
                        float *cos_out);

/* The second sine layer of a ResBlock fused with the ResBlock average:
 *   x[i] = 0.5 * (sin(omega * (x[i] + bias[j])) + skip[i])
 * the same values as mcinr_sine_forward(x, bias, rows, width, omega, NULL) followed by
 * mcinr_half_sum(x, skip, rows * width); skip must not overlap x. */
void mcinr_sine_half_sum(float *x, const float *bias, size_t rows, size_t width, float omega,
                         const float *skip);

/* Bias add without activation (linear layers): x[r*width + j] += bias[j]. */
void mcinr_add_bias(float *x, const float *bias, size_t rows, size_t width);

/* Matrix products of the decoder, y = x · Wᵀ for x rows × in and W out × in (row-major, the
 * layout of a .mci layer), on W packed once by mcinr_pack_matrix. Each value is the sum over k in
 * increasing order, accumulated from 0 (fused multiply-adds where the CPU has them), so a row's
 * values depend only on that row of x and on W: never on how many rows the call has, or where
 * the row sits among them (an sgemm sums edge rows in another order). A parallel reader's piece
 * therefore gets the same values bit for bit as a decode of every point. Speed against OpenBLAS:
 * benchmarks/decode/matmul_bench.c. */
#define MCINR_PACK_COLUMNS 16
/* Floats of a packed in × out matrix: in × (out rounded up to MCINR_PACK_COLUMNS). */
size_t mcinr_packed_floats(size_t in, size_t out);
/* packed[k · out' + j] = W[j · in + k], zero in the padding columns. */
void mcinr_pack_matrix(const float *W, size_t out, size_t in, float *packed);
void mcinr_matmul_packed(const float *x, size_t rows, size_t in, size_t out, const float *packed, float *y);

/* NeRF positional encoding of rows × 4 inputs into rows × 4(1+2L) outputs:
 * [x0..x3, sin(2^0 pi x0..x3), cos(2^0 pi x0..x3), sin(2^1 pi x) ..., cos(2^(L-1) pi x)]. */
void mcinr_positional_encoding(const float *x, size_t rows, unsigned L, float *out);

/* s_out[i] = sin(z[i]), c_out[i] = cos(z[i]) with the same polynomial as mcinr_sine_forward. */
void mcinr_sincos(const float *z, size_t n, float *s_out, float *c_out);

/* The scalar libm version of mcinr_sine_forward (sinf/cosf), kept for tests and benchmarks. */
void mcinr_sine_reference(float *x, const float *bias, size_t rows, size_t width, float omega,
                          float *cos_out);

/* Instruction-set level the kernels run: 2 = AVX-512F, 1 = AVX2+FMA, 0 = baseline (any CPU).
 * Detected on first use. All levels compute the same formulas; results may differ in the last
 * bit (FMA contraction). */
int mcinr_kernels_level(void);

/* For tests and benchmarks: re-detects, then caps the level at `max_level`; returns the level
 * now in use. Process-wide; call it while no kernel runs on another thread. */
int mcinr_kernels_limit_level(int max_level);

/* Width of the positional encoding of 4 inputs with L frequencies: 4 (1 + 2L). */
static inline size_t mcinr_encoding_width(unsigned L) { return 4u * (1u + 2u * (size_t)L); }

#ifdef __cplusplus
}
#endif

#endif /* MCINR_KERNELS_H */
