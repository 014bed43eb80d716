/*
 * mcinr_kernels.h — numeric kernels shared by the Swift trainer and the C decoder, so that
 * training and decoding evaluate the network with the same arithmetic.
 * Internal to mcinr-vtk (not part of the stable decoder API in mcinr.h).
 */
#ifndef MCINR_KERNELS_H
#define MCINR_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Sine activation, fused with the bias add and omega:
 *   z = omega * (x[r*width + j] + bias[j]);  x[r*width + j] = sin(z);  cos_out[...] = cos(z)
 * for rows × width values, in place. `bias` may be NULL (no bias); `cos_out` may be NULL
 * (forward only). Accurate to about 1e-6 absolute for |z| up to ~1e4. */
void mcinr_sine_forward(float *x, const float *bias, size_t rows, size_t width, float omega,
                        float *cos_out);

/* Bias add without activation (linear layers): x[r*width + j] += bias[j]. */
void mcinr_add_bias(float *x, const float *bias, size_t rows, size_t width);

/* NeRF positional encoding of rows × 4 inputs into rows × 4(1+2L) outputs:
 * [x0..x3, sin(2^0 pi x0..x3), cos(2^0 pi x0..x3), sin(2^1 pi x) ..., cos(2^(L-1) pi x)]. */
void mcinr_positional_encoding(const float *x, size_t rows, unsigned L, float *out);

/* Width of the positional encoding of 4 inputs with L frequencies: 4 (1 + 2L). */
static inline size_t mcinr_encoding_width(unsigned L) { return 4u * (1u + 2u * (size_t)L); }

#ifdef __cplusplus
}
#endif

#endif /* MCINR_KERNELS_H */
