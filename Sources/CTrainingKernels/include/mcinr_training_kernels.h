/*
 * mcinr_training_kernels.h — numeric kernels only the trainer (INRCore) needs: the sine
 * backward, Adam, mini-batch gathers, the loss. The forward kernels are in mcinr_kernels.h
 * (CShim/kernels), shared with the decoder. Internal to mcinr-vtk.
 */
#ifndef MCINR_TRAINING_KERNELS_H
#define MCINR_TRAINING_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Backward of a sine layer: grad[i] *= scale * cos_in[i] (scale = omega, times 0.5 inside a
 * ResBlock), turning dL/dy into dL/d(pre-activation). */
void mcinr_sine_backward(float *grad, const float *cos_in, size_t n, float scale);

/* Local input map of rows × 4 values: out[r*4+i] = (q[r*4+i] - offset[i]) * scale[i]. */
void mcinr_input_map(const float *q, size_t rows, const float *offset, const float *scale,
                     float *out);

/* y[i] = 0.5 * (y[i] + t[i])  (the ResBlock average). */
void mcinr_half_sum(float *y, const float *t, size_t n);

/* y[i] += a * x[i]. */
void mcinr_axpy(float *y, const float *x, size_t n, float a);

/* dst[r*cols + j] = src[indices[r]*cols + j] for r < n (mini-batch gather). */
void mcinr_gather_rows(const float *src, size_t cols, const uint32_t *indices, size_t n,
                       float *dst);

/* dst[r*dst_stride + dst_offset + j] = src[r*src_cols + j] (concatenating branch outputs). */
void mcinr_copy_columns(const float *src, size_t rows, size_t src_cols, float *dst,
                        size_t dst_stride, size_t dst_offset);

/* Returns Σ (pred−target)² (double accumulation); if grad is not NULL also writes
 * grad[i] = grad_scale * (pred[i] − target[i]). */
double mcinr_mse_gradient(const float *pred, const float *target, size_t n, float grad_scale,
                          float *grad);

/* The same over rows × cols values with Huber's gradient: grad = grad_scale * (pred − target)
 * clamped to ±clip[j] in column j (the loss is quadratic within ±clip[j], linear beyond).
 * Still returns Σ (pred−target)², the MSE's numerator. */
double mcinr_huber_gradient(const float *pred, const float *target, size_t rows, size_t cols,
                            float grad_scale, const float *clip, float *grad);

/* One bias-corrected Adam step (PyTorch's formula) for step number `step` (1-based):
 * m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²;
 * param −= lr/(1−β1^step) · m / (sqrt(v)/sqrt(1−β2^step) + eps). */
void mcinr_adam_update(float *param, const float *grad, float *m, float *v, size_t n,
                       float learning_rate, float beta1, float beta2, float eps,
                       unsigned long long step);

/* ---- bf16 matrix products (gemm_bf16.c) ---- */

/* 1 when this CPU runs AVX512-BF16 (with AVX512-F/BW/VL, and the OS saves the zmm state) and
 * the bf16 products have not been switched off with mcinr_gemm_bf16_force_unavailable; else 0. */
int mcinr_gemm_bf16_available(void);

/* 1 when the CPU has AVX512-BF16, whatever mcinr_gemm_bf16_force_unavailable says. */
int mcinr_gemm_bf16_cpu_has(void);

/* For tests and benchmarks: off != 0 makes mcinr_gemm_bf16_available() return 0 (so callers
 * take their fp32 path); 0 restores detection. Process-wide; call it while no product runs. */
void mcinr_gemm_bf16_force_unavailable(int off);

/* Row-major C = op(A) · op(B) (accumulate == 0) or C += op(A) · op(B) (accumulate != 0), with
 * C m × n (leading dimension ldc), op(A) m × k, op(B) k × n; trans_a / trans_b as in cblas
 * (trans_a: A is stored k × m, element (i, p) at a[p·lda + i]; trans_b: B is stored n × k).
 * Every operand value is rounded to bf16 (round to nearest even), products of pairs are summed
 * in fp32 (VDPBF16PS): relative error about 2^-8 · Σ|a·b| / |Σ a·b|, not the fp32 result.
 * Uses a per-thread packing buffer (≈ 2 (m + n) k bytes, grown on demand, freed when the
 * thread ends); no other state. Single-threaded.
 * Returns 0 on success; -1 when bf16 products are unavailable (C untouched: use cblas_sgemm);
 * -2 when the packing buffer cannot be allocated (C untouched). */
int mcinr_gemm_bf16(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
                    size_t lda, const float *b, size_t ldb, int accumulate, float *c, size_t ldc);

#ifdef __cplusplus
}
#endif

#endif /* MCINR_TRAINING_KERNELS_H */
