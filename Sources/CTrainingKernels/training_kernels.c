/* Trainer-only numeric kernels (INRCore): the sine backward, Adam, gathers and the loss.
 * Same conventions as the forward kernels in CShim/kernels/kernels.c: plain C99 loops the
 * compiler vectorises, the hot ones compiled per instruction set and picked at run time. */
/* As in kernels.c: GCC vectorises these loops only at -O3 (clang does at -O2). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math", "fp-contract=fast")
#endif
#include "mcinr_training_kernels.h"
#include "mcinr_kernel_dispatch.h"
#include <math.h>
#include <stdint.h>

#define SINE_BACKWARD_BODY                                                              \
    for (size_t i = 0; i < n; i++) grad[i] *= scale * cos_in[i];

#define ADAM_BODY                                                                       \
    for (size_t i = 0; i < n; i++) {                                                   \
        float g = grad[i];                                                             \
        float mi = beta1 * m[i] + (1.0f - beta1) * g;                                  \
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;                              \
        m[i] = mi;                                                                     \
        v[i] = vi;                                                                     \
        param[i] -= step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);                 \
    }

MCINR_DEFINE_DISPATCHED(void, mcinr_sine_backward,
    (float *grad, const float *cos_in, size_t n, float scale),
    (grad, cos_in, n, scale), SINE_BACKWARD_BODY)

MCINR_DEFINE_DISPATCHED(void, mcinr_adam_update_raw,
    (float *param, const float *grad, float *m, float *v, size_t n, float beta1, float beta2,
     float eps, float step_size, float inv_sqrt_bc2),
    (param, grad, m, v, n, beta1, beta2, eps, step_size, inv_sqrt_bc2), ADAM_BODY)

void mcinr_adam_update(float *param, const float *grad, float *m, float *v, size_t n,
                       float learning_rate, float beta1, float beta2, float eps,
                       unsigned long long step) {
    /* Bias corrections in double: (1 − β^t) is tiny early on and matters late. */
    double bc1 = 1.0 - pow((double)beta1, (double)step);
    double bc2 = 1.0 - pow((double)beta2, (double)step);
    float step_size = (float)((double)learning_rate / bc1);
    float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    mcinr_adam_update_raw(param, grad, m, v, n, beta1, beta2, eps, step_size, inv_sqrt_bc2);
}

/* ---- simple kernels ---- */

void mcinr_input_map(const float *q, size_t rows, const float *offset, const float *scale,
                     float *out) {
    for (size_t r = 0; r < rows; r++)
        for (int i = 0; i < 4; i++) out[r * 4 + i] = (q[r * 4 + i] - offset[i]) * scale[i];
}

void mcinr_half_sum(float *y, const float *t, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = 0.5f * (y[i] + t[i]);
}

void mcinr_axpy(float *y, const float *x, size_t n, float a) {
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

void mcinr_gather_rows(const float *src, size_t cols, const uint32_t *indices, size_t n,
                       float *dst) {
    for (size_t r = 0; r < n; r++) {
        const float *s = src + (size_t)indices[r] * cols;
        float *d = dst + r * cols;
        for (size_t j = 0; j < cols; j++) d[j] = s[j];
    }
}

void mcinr_copy_columns(const float *src, size_t rows, size_t src_cols, float *dst,
                        size_t dst_stride, size_t dst_offset) {
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < src_cols; j++)
            dst[r * dst_stride + dst_offset + j] = src[r * src_cols + j];
}

double mcinr_mse_gradient(const float *pred, const float *target, size_t n, float grad_scale,
                          float *grad) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        float d = pred[i] - target[i];
        sum += (double)d * (double)d;
        if (grad) grad[i] = grad_scale * d;
    }
    return sum;
}

double mcinr_huber_gradient(const float *pred, const float *target, size_t rows, size_t cols,
                            float grad_scale, const float *clip, float *grad) {
    double sum = 0.0;
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < cols; j++) {
            size_t i = r * cols + j;
            float d = pred[i] - target[i];
            sum += (double)d * (double)d;
            float c = d > clip[j] ? clip[j] : (d < -clip[j] ? -clip[j] : d);
            grad[i] = grad_scale * c;
        }
    }
    return sum;
}
