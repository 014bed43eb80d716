/* Numeric kernels shared by the Swift trainer (INRCore) and the C decoder.
 *
 * Every kernel is a plain C99 loop over float arrays that the compiler auto-vectorises. Each
 * body is written once as a macro and compiled twice: for the baseline x86-64 target and for
 * AVX2+FMA and for AVX-512F, chosen at run time (no special build flags needed). The sine is a polynomial:
 * Cody–Waite reduction by π/2 (four 11-bit parts, so k·part is exact for |k| < 2^13, i.e.
 * |z| ≲ 1.28e4) and the Cephes minimax polynomials for sin and cos on [−π/4, π/4]
 * (max abs error ≈ 2e-7 on [−1e4, 1e4]). Quadrant selection is branch-free. */
/* GCC vectorises these loops only with its full cost model (-O3); clang does at -O2. The
 * pragma keeps the plugin's GCC build (any CMAKE_BUILD_TYPE) as fast as SwiftPM's clang build. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include "mcinr_kernels.h"
#include <math.h>
#include <stdint.h>

/* π/2 = P1 + P2 + P3 + P4 (+6e-17); each part has at most 11 significant bits. */
#define MCINR_PIO2_1 1.5703125f
#define MCINR_PIO2_2 4.837512969970703125e-4f
#define MCINR_PIO2_3 7.549533620476722717e-8f
#define MCINR_PIO2_4 2.563282919254561e-12f
#define MCINR_2_OVER_PI 0.636619772367581343f
/* 1.5·2^23: adding and subtracting it rounds a float to the nearest integer (|v| < 2^22). */
#define MCINR_ROUND_MAGIC 12582912.0f
#define MCINR_Z_BOUND 4194304.0f   /* 2^22: keeps |k| < 2^22, the rounding trick's range */

/* Computes s = sin(z), c = cos(z) for one float; written so that loops around it vectorise
 * (no calls, no branches: selects become blends). */
#define MCINR_SINCOS(z, s_out, c_out)                                                    \
    do {                                                                               \
        /* Clamp |z| to 2^22 (NaN stays NaN) so that k fits the rounding trick and an int;   \
         * beyond ~6e6 a float sine has no accuracy left, the result just stays in [-1, 1]. */ \
        float zc_ = ((z) > MCINR_Z_BOUND) ? MCINR_Z_BOUND : (z);                       \
        zc_ = (zc_ < -MCINR_Z_BOUND) ? -MCINR_Z_BOUND : zc_;                           \
        float k_ = (zc_ * MCINR_2_OVER_PI + MCINR_ROUND_MAGIC) - MCINR_ROUND_MAGIC;    \
        /* NaN (z NaN) must not reach the int conversion (UB); r_ carries the NaN on. */ \
        int32_t q_ = (int32_t)((k_ == k_) ? k_ : 0.0f);                                \
        float r_ = zc_ - k_ * MCINR_PIO2_1;                                            \
        r_ = r_ - k_ * MCINR_PIO2_2;                                                   \
        r_ = r_ - k_ * MCINR_PIO2_3;                                                   \
        r_ = r_ - k_ * MCINR_PIO2_4;                                                   \
        float r2_ = r_ * r_;                                                           \
        float ps_ = r_ + r_ * r2_ * (-1.6666654611e-1f                                 \
                         + r2_ * (8.3321608736e-3f + r2_ * -1.9515295891e-4f));        \
        float pc_ = 1.0f - 0.5f * r2_ + r2_ * r2_ * (4.166664568298827e-2f             \
                         + r2_ * (-1.388731625493765e-3f + r2_ * 2.443315711809948e-5f)); \
        int32_t swap_ = q_ & 1;                                                        \
        float sv_ = swap_ ? pc_ : ps_;                                                 \
        float cv_ = swap_ ? ps_ : pc_;                                                 \
        (s_out) = (q_ & 2) ? -sv_ : sv_;                                               \
        (c_out) = ((q_ + 1) & 2) ? -cv_ : cv_;                                         \
    } while (0)

/* ---- bodies (compiled once per target) ---- */

#define SINE_ROW_LOOP(BIAS_EXPR, STORE_COS)                                             \
    for (size_t j = 0; j < width; j++) {                                               \
        float z = omega * (row[j] + (BIAS_EXPR));                                      \
        float s, c;                                                                    \
        MCINR_SINCOS(z, s, c);                                                         \
        row[j] = s;                                                                    \
        STORE_COS;                                                                     \
    }

/* The four bias/cos combinations get separate loops so each one vectorises cleanly. */
#define SINE_FORWARD_BODY                                                               \
    for (size_t r = 0; r < rows; r++) {                                                \
        float *row = x + r * width;                                                    \
        if (cos_out) {                                                                 \
            float *crow = cos_out + r * width;                                         \
            if (bias) { SINE_ROW_LOOP(bias[j], crow[j] = c) }                          \
            else { SINE_ROW_LOOP(0.0f, crow[j] = c) }                                  \
        } else {                                                                       \
            if (bias) { SINE_ROW_LOOP(bias[j], (void)c) }                              \
            else { SINE_ROW_LOOP(0.0f, (void)c) }                                      \
        }                                                                              \
    }

#define SINCOS_BODY                                                                     \
    for (size_t i = 0; i < n; i++) {                                                   \
        float s, c;                                                                    \
        MCINR_SINCOS(z[i], s, c);                                                      \
        s_out[i] = s;                                                                  \
        c_out[i] = c;                                                                  \
    }

/* Rows are processed in groups so that the inner sincos loop is long enough to vectorise. */
#define PE_BODY                                                                         \
    const size_t w = mcinr_encoding_width(L);                                          \
    float zb[4 * 16], sb[4 * 16], cb[4 * 16];                                          \
    for (size_t r = 0; r < rows; r++) {                                                \
        const float *in = x + r * 4;                                                   \
        float *o = out + r * w;                                                        \
        for (int i = 0; i < 4; i++) o[i] = in[i];                                      \
        unsigned Lc = L > 16 ? 16 : L;                                                 \
        for (unsigned k = 0; k < Lc; k++) {                                            \
            float f = (float)(1u << k) * 3.14159265358979f;                            \
            for (int i = 0; i < 4; i++) zb[4 * k + i] = f * in[i];                     \
        }                                                                              \
        size_t m = 4 * (size_t)Lc;                                                     \
        for (size_t i = 0; i < m; i++) {                                               \
            float s, c;                                                                \
            MCINR_SINCOS(zb[i], s, c);                                                 \
            sb[i] = s;                                                                 \
            cb[i] = c;                                                                 \
        }                                                                              \
        for (unsigned k = 0; k < Lc; k++)                                              \
            for (int i = 0; i < 4; i++) {                                              \
                o[4 + 8 * k + i] = sb[4 * k + i];                                      \
                o[8 + 8 * k + i] = cb[4 * k + i];                                      \
            }                                                                          \
    }

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

/* ---- dispatch ---- */

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MCINR_HAVE_DISPATCH 1
#define MCINR_AVX2 __attribute__((target("avx2,fma")))
#define MCINR_AVX512 __attribute__((target("avx512f,avx2,fma")))
/* 2: AVX-512F, 1: AVX2+FMA, 0: baseline; -1 until first use. */
static int mcinr_level_cached = -1;
static int mcinr_cpu_level(void) {
    /* Every thread computes the same value; atomics keep concurrent first calls well-defined. */
    int value = __atomic_load_n(&mcinr_level_cached, __ATOMIC_RELAXED);
    if (value < 0) {
        __builtin_cpu_init();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        value = avx2 ? (__builtin_cpu_supports("avx512f") ? 2 : 1) : 0;
        __atomic_store_n(&mcinr_level_cached, value, __ATOMIC_RELAXED);
    }
    return value;
}
int mcinr_kernels_level(void) { return mcinr_cpu_level(); }
int mcinr_kernels_limit_level(int max_level) {
    int detected = -1;
    __atomic_store_n(&mcinr_level_cached, -1, __ATOMIC_RELAXED);
    detected = mcinr_cpu_level();
    int level = max_level < detected ? (max_level < 0 ? 0 : max_level) : detected;
    __atomic_store_n(&mcinr_level_cached, level, __ATOMIC_RELAXED);
    return level;
}
#else
#define MCINR_HAVE_DISPATCH 0
int mcinr_kernels_level(void) { return 0; }
int mcinr_kernels_limit_level(int max_level) { (void)max_level; return 0; }
#endif

#if MCINR_HAVE_DISPATCH
/* Defines `void name params` running `body` compiled for the best ISA the CPU has. */
#define MCINR_DEFINE_DISPATCHED(ret, name, params, args, body)                          \
    static ret name##_generic params { body }                                          \
    MCINR_AVX2 static ret name##_avx2 params { body }                                  \
    MCINR_AVX512 static ret name##_avx512 params { body }                              \
    ret name params {                                                                  \
        switch (mcinr_cpu_level()) {                                                   \
        case 2: name##_avx512 args; break;                                             \
        case 1: name##_avx2 args; break;                                               \
        default: name##_generic args; break;                                           \
        }                                                                              \
    }
#else
#define MCINR_DEFINE_DISPATCHED(ret, name, params, args, body) ret name params { body }
#endif

MCINR_DEFINE_DISPATCHED(void, mcinr_sine_forward,
    (float *x, const float *bias, size_t rows, size_t width, float omega, float *cos_out),
    (x, bias, rows, width, omega, cos_out), SINE_FORWARD_BODY)

MCINR_DEFINE_DISPATCHED(void, mcinr_sincos,
    (const float *z, size_t n, float *s_out, float *c_out),
    (z, n, s_out, c_out), SINCOS_BODY)

MCINR_DEFINE_DISPATCHED(void, mcinr_positional_encoding,
    (const float *x, size_t rows, unsigned L, float *out),
    (x, rows, L, out), PE_BODY)

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

/* ---- simple kernels (auto-vectorised at the baseline target is enough) ---- */

void mcinr_add_bias(float *x, const float *bias, size_t rows, size_t width) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * width;
        for (size_t j = 0; j < width; j++) row[j] += bias[j];
    }
}

void mcinr_sine_reference(float *x, const float *bias, size_t rows, size_t width, float omega,
                          float *cos_out) {
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < width; j++) {
            size_t i = r * width + j;
            float z = omega * (x[i] + (bias ? bias[j] : 0.0f));
            x[i] = sinf(z);
            if (cos_out) cos_out[i] = cosf(z);
        }
    }
}

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
