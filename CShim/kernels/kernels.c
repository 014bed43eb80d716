/* Forward numeric kernels: the C decoder evaluates networks with them, and the Swift trainer
 * (INRCore) runs its forward pass through the same functions, so training and decoding agree
 * bit for bit. The trainer-only kernels (backward, Adam, gathers) are in
 * Sources/CTrainingKernels, so the decoder and the ParaView plugin never compile them.
 *
 * Every kernel is a plain C99 loop over float arrays that the compiler auto-vectorises. Each
 * body is written once as a macro and compiled three times: for the baseline x86-64 target,
 * for AVX2+FMA and for AVX-512F, chosen at run time (no special build flags needed). The sine
 * is a polynomial: Cody–Waite reduction by π (k = round(z/π), r = z − kπ in [−π/2, π/2], three parts of π,
 * the first two with 12 significant bits so k·part is exact for |k| < 2^12, i.e. |z| ≲ 1.28e4),
 * sin z = (−1)^k sin r and cos z = (−1)^k cos r with near-minimax polynomials on [−π/2, π/2]
 * (sin: odd, degree 9; cos: even, degree 10; max abs error ≈ 1.6e-7 / 1.8e-7 on [−1.2e4, 1.2e4],
 * float rounding included). The sign comes from the parity of k (a bit of the rounding sum), so
 * sin alone needs one polynomial and costs about half of sin + cos; sin is the same value
 * whether or not cos is computed. Everything is branch-free. */
/* GCC vectorises these loops only with its full cost model (-O3); clang does at -O2. The
 * pragma keeps the plugin's GCC build (any CMAKE_BUILD_TYPE) as fast as SwiftPM's clang build:
 * no-trapping-math lets GCC turn the sine's clamps into blends (else the baseline and AVX2
 * loops stay scalar), fp-contract=fast fuses a·b + c into FMA as clang does by default
 * (-std=c99 turns it off in GCC); ≈ 1.4× on the sine. Neither changes what a formula means. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math", "fp-contract=fast")
#endif
#include "mcinr_kernel_dispatch.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

/* π = P1 + P2 + P3 (+1e-17); P1 = 3217/2^10 and P2 = −2391/2^28 have 12 significant bits. */
#define MCINR_PI_1 3.1416015625f
#define MCINR_PI_2 -8.9071691036224365234375e-6f
#define MCINR_PI_3 -1.7411032e-9f
#define MCINR_INV_PI 0.31830987f
/* 1.5·2^23: adding and subtracting it rounds a float to the nearest integer (|v| < 2^22);
 * the sum's lowest mantissa bit is then the parity of that integer. */
#define MCINR_ROUND_MAGIC 12582912.0f
#define MCINR_Z_BOUND 4194304.0f   /* 2^22: keeps |z/π| < 2^22, the rounding trick's range */

/* sin r on [−π/2, π/2]: r + r³ (S3 + r² (S5 + r² (S7 + r² S9))), near-minimax with the
 * constraint p(π/2) = 1 − 5e-8 (max error 7e-8): the polynomial then peaks at 1 − 6.6e-8, so
 * its float evaluation (FMA or not) never rounds above 1 and no clamp is needed — checked on
 * every float |r| ≤ 1.9 (the most reduction can leave) by CShim/tests (test_kernels). With
 * the unconstrained fit (max error 2e-8) 1 + 1 ulp came out near ±π/2 once FMA-contracted. */
#define MCINR_S3 -0.16666605f
#define MCINR_S5 0.008331878f
#define MCINR_S7 -0.00019733193f
#define MCINR_S9 2.4534343e-06f
/* cos r on [−π/2, π/2]: 1 − r²/2 + r⁴ (C4 + r² (C6 + r² (C8 + r² C10))), max error 6e-9. */
#define MCINR_C4 0.041666657f
#define MCINR_C6 -0.0013888569f
#define MCINR_C8 2.4769304e-05f
#define MCINR_C10 -2.6193814e-07f

/* Reduces z: r_ = z − kπ and sgn_ = (k odd) << 31, the sign bit (−1)^k puts on sin and cos.
 * |z| is clamped to 2^22 (NaN stays NaN and flows through r_; no float→int conversion, so
 * NaN is harmless); beyond ~1.3e4 the reduction loses accuracy and beyond ~6e6 a float sine
 * has none left: r_ then stays within ≈ [−π/2 − 0.3, π/2 + 0.3], so results stay in [−1, 1]. */
#define MCINR_REDUCE_PI(z, r_, sgn_)                                                    \
    float r_;                                                                          \
    uint32_t sgn_;                                                                     \
    do {                                                                               \
        float zc_ = ((z) > MCINR_Z_BOUND) ? MCINR_Z_BOUND : (z);                       \
        zc_ = (zc_ < -MCINR_Z_BOUND) ? -MCINR_Z_BOUND : zc_;                           \
        float t_ = zc_ * MCINR_INV_PI + MCINR_ROUND_MAGIC;                             \
        float k_ = t_ - MCINR_ROUND_MAGIC;                                             \
        uint32_t tb_;                                                                  \
        memcpy(&tb_, &t_, sizeof tb_);                                                 \
        sgn_ = tb_ << 31;                                                              \
        r_ = zc_ - k_ * MCINR_PI_1;                                                    \
        r_ = r_ - k_ * MCINR_PI_2;                                                     \
        r_ = r_ - k_ * MCINR_PI_3;                                                     \
    } while (0)

/* v ^= sign bit (flips the sign of v when sgn is 1 << 31). */
#define MCINR_FLIP_SIGN(v, sgn)                                                         \
    do {                                                                               \
        uint32_t vb_;                                                                  \
        memcpy(&vb_, &(v), sizeof vb_);                                                \
        vb_ ^= (sgn);                                                                  \
        memcpy(&(v), &vb_, sizeof vb_);                                                \
    } while (0)

#define MCINR_SIN_POLY(r, r2) ((r) + (r) * (r2) * (MCINR_S3 + (r2) * (MCINR_S5 + (r2) * (MCINR_S7 + (r2) * MCINR_S9))))
#define MCINR_COS_POLY(r2)                                                              \
    (1.0f - 0.5f * (r2) + (r2) * (r2) * (MCINR_C4 + (r2) * (MCINR_C6 + (r2) * (MCINR_C8 + (r2) * MCINR_C10))))

/* s_out = sin(z) for one float (no calls, no branches: loops around it vectorise). */
#define MCINR_SIN(z, s_out)                                                              \
    do {                                                                               \
        MCINR_REDUCE_PI(z, rr_, sg_);                                                  \
        float r2s_ = rr_ * rr_;                                                        \
        float sv_ = MCINR_SIN_POLY(rr_, r2s_);                                         \
        MCINR_FLIP_SIGN(sv_, sg_);                                                     \
        (s_out) = sv_;                                                                 \
    } while (0)

/* s = sin(z), c = cos(z); s is the same value MCINR_SIN gives. */
#define MCINR_SINCOS(z, s_out, c_out)                                                    \
    do {                                                                               \
        MCINR_REDUCE_PI(z, rr_, sg_);                                                  \
        float r2s_ = rr_ * rr_;                                                        \
        float sv_ = MCINR_SIN_POLY(rr_, r2s_);                                         \
        float cv_ = MCINR_COS_POLY(r2s_);                                              \
        MCINR_FLIP_SIGN(sv_, sg_);                                                     \
        MCINR_FLIP_SIGN(cv_, sg_);                                                     \
        (s_out) = sv_;                                                                 \
        (c_out) = cv_;                                                                 \
    } while (0)

/* ---- bodies (compiled once per target) ---- */

/* Rows of a narrow layer (width 18: one 16-lane vector and a 2-value tail per row) are
 * processed as one flat array; the bias then repeats every `width` values, so it is read
 * from a tile of SINE_TILE_ROWS copies of the bias row: 16 rows are a whole number of 16-lane
 * vectors for any width. Same arithmetic per value as row by row. */
#define SINE_TILE_ROWS 16
#define SINE_TILE_MAX_WIDTH 64

/* Runs ELEM(i, b) for every value i of the rows × width array, b its bias (0 if none). */
#define SINE_FOR_EACH(ELEM)                                                             \
    if (!bias) {                                                                       \
        size_t total_ = rows * width;                                                  \
        for (size_t i = 0; i < total_; i++) ELEM(i, 0.0f)                              \
    } else if (width % 16 == 0 || width > SINE_TILE_MAX_WIDTH) {                       \
        for (size_t r = 0; r < rows; r++) {                                            \
            size_t row_ = r * width;                                                   \
            for (size_t j = 0; j < width; j++) ELEM(row_ + j, bias[j])                 \
        }                                                                              \
    } else {                                                                           \
        float tile_[SINE_TILE_ROWS * SINE_TILE_MAX_WIDTH];                             \
        size_t tile_rows_ = rows < SINE_TILE_ROWS ? rows : SINE_TILE_ROWS;             \
        size_t span_ = tile_rows_ * width, total_ = rows * width;                      \
        for (size_t r = 0; r < tile_rows_; r++)                                        \
            for (size_t j = 0; j < width; j++) tile_[r * width + j] = bias[j];         \
        for (size_t base_ = 0; base_ < total_; base_ += span_) {                       \
            size_t m_ = total_ - base_ < span_ ? total_ - base_ : span_;               \
            float *xb_ = x + base_;                                                    \
            SINE_SPAN_##ELEM                                                           \
        }                                                                              \
    }

#define SIN_ELEM(i, b)                                                                  \
    {                                                                                  \
        float s_;                                                                      \
        MCINR_SIN(omega * (x[i] + (b)), s_);                                           \
        x[i] = s_;                                                                     \
    }
#define SINE_SPAN_SIN_ELEM                                                              \
    for (size_t j = 0; j < m_; j++) {                                                  \
        float s_;                                                                      \
        MCINR_SIN(omega * (xb_[j] + tile_[j]), s_);                                    \
        xb_[j] = s_;                                                                   \
    }

#define SINCOS_ELEM(i, b)                                                               \
    {                                                                                  \
        float s_, c_;                                                                  \
        MCINR_SINCOS(omega * (x[i] + (b)), s_, c_);                                    \
        x[i] = s_;                                                                     \
        cos_out[i] = c_;                                                               \
    }
#define SINE_SPAN_SINCOS_ELEM                                                           \
    for (size_t j = 0; j < m_; j++) {                                                  \
        float s_, c_;                                                                  \
        MCINR_SINCOS(omega * (xb_[j] + tile_[j]), s_, c_);                             \
        xb_[j] = s_;                                                                   \
        cos_out[base_ + j] = c_;                                                       \
    }

#define HALF_ELEM(i, b)                                                                 \
    {                                                                                  \
        float s_;                                                                      \
        MCINR_SIN(omega * (x[i] + (b)), s_);                                           \
        x[i] = 0.5f * (s_ + skip[i]);                                                  \
    }
#define SINE_SPAN_HALF_ELEM                                                             \
    for (size_t j = 0; j < m_; j++) {                                                  \
        float s_;                                                                      \
        MCINR_SIN(omega * (xb_[j] + tile_[j]), s_);                                    \
        xb_[j] = 0.5f * (s_ + skip[base_ + j]);                                        \
    }

#define SINE_FORWARD_BODY                                                               \
    if (cos_out) { SINE_FOR_EACH(SINCOS_ELEM) }                                        \
    else { SINE_FOR_EACH(SIN_ELEM) }

#define SINE_HALF_SUM_BODY SINE_FOR_EACH(HALF_ELEM)

#define SINCOS_BODY                                                                     \
    for (size_t i = 0; i < n; i++) {                                                   \
        float s, c;                                                                    \
        MCINR_SINCOS(z[i], s, c);                                                      \
        s_out[i] = s;                                                                  \
        c_out[i] = c;                                                                  \
    }

/* Blocks of PE_BLOCK rows: all their sines and cosines in one flat loop (long enough to
 * vectorise), then copied into the rows' layout. */
#define PE_BLOCK 32
#define PE_BODY                                                                         \
    const size_t w = mcinr_encoding_width(L);                                          \
    const unsigned Lc = L > 16 ? 16 : L;                                               \
    float zb[16 * 4 * PE_BLOCK], sb[16 * 4 * PE_BLOCK], cb[16 * 4 * PE_BLOCK];         \
    for (size_t r0 = 0; r0 < rows; r0 += PE_BLOCK) {                                   \
        const size_t nb = rows - r0 < PE_BLOCK ? rows - r0 : PE_BLOCK, m = 4 * nb;     \
        const float *in = x + 4 * r0;                                                  \
        for (unsigned k = 0; k < Lc; k++) {                                            \
            float f = (float)(1u << k) * 3.14159265358979f;                            \
            for (size_t i = 0; i < m; i++) zb[k * m + i] = f * in[i];                  \
        }                                                                              \
        size_t total = Lc * m;                                                         \
        for (size_t i = 0; i < total; i++) {                                           \
            float s, c;                                                                \
            MCINR_SINCOS(zb[i], s, c);                                                 \
            sb[i] = s;                                                                 \
            cb[i] = c;                                                                 \
        }                                                                              \
        for (size_t r = 0; r < nb; r++) {                                              \
            float *o = out + (r0 + r) * w;                                             \
            for (int i = 0; i < 4; i++) o[i] = in[4 * r + i];                          \
            for (unsigned k = 0; k < Lc; k++)                                          \
                for (int i = 0; i < 4; i++) {                                          \
                    o[4 + 8 * k + i] = sb[k * m + 4 * r + i];                          \
                    o[8 + 8 * k + i] = cb[k * m + 4 * r + i];                          \
                }                                                                      \
        }                                                                              \
    }

/* Matrix product on a packed matrix (mcinr_matmul_packed): tiles of 6 rows × 2 vectors, twelve
 * accumulators (GCC/Clang vector extensions: 8 floats in one AVX register at the AVX levels, 4
 * in one SSE/NEON register at the baseline, where GCC would split 8-float vectors badly; both
 * may_alias, as the packed floats are read through them). Every output value is one chain
 * acc = acc + x·w over k = 0, 1, ... from 0, the same statement for a row of a full tile and a
 * row of the tail, so a row's values never depend on which rows share the call (unlike an
 * sgemm, whose edge kernels sum in another order). Tiles start below `out` and read at most
 * MCINR_PACK_COLUMNS columns of the packing, a multiple of the tile's width. */
/* Floats per packed row: out rounded up to MCINR_PACK_COLUMNS. */
static inline size_t packed_stride(size_t out) {
    return (out + MCINR_PACK_COLUMNS - 1) / MCINR_PACK_COLUMNS * MCINR_PACK_COLUMNS;
}

typedef float mcinr_v8 __attribute__((vector_size(32), aligned(4), may_alias));
typedef float mcinr_v4 __attribute__((vector_size(16), aligned(4), may_alias));
#define MM_ROWS 6
#define MATMUL_BODY(VT, VW)                                                             \
    const size_t outp = packed_stride(out);                                            \
    for (size_t r = 0; r < rows; r += MM_ROWS) {                                       \
        const size_t nr = rows - r < MM_ROWS ? rows - r : MM_ROWS;                     \
        const float *xr = x + r * in;                                                  \
        for (size_t j0 = 0; j0 < out; j0 += 2 * (VW)) {                                \
            const size_t n = out - j0 < 2 * (VW) ? out - j0 : 2 * (VW);                \
            const float *w = packed + j0;                                              \
            VT t[MM_ROWS][2];                                                          \
            if (nr == MM_ROWS) {                                                       \
                VT c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0};   \
                VT c30 = {0}, c31 = {0}, c40 = {0}, c41 = {0}, c50 = {0}, c51 = {0};   \
                for (size_t k = 0; k < in; k++, w += outp) {                           \
                    const VT w0 = *(const VT *)w, w1 = *(const VT *)(w + (VW));        \
                    float b = xr[k];                                                   \
                    c00 = c00 + b * w0; c01 = c01 + b * w1;                            \
                    b = xr[in + k];                                                    \
                    c10 = c10 + b * w0; c11 = c11 + b * w1;                            \
                    b = xr[2 * in + k];                                                \
                    c20 = c20 + b * w0; c21 = c21 + b * w1;                            \
                    b = xr[3 * in + k];                                                \
                    c30 = c30 + b * w0; c31 = c31 + b * w1;                            \
                    b = xr[4 * in + k];                                                \
                    c40 = c40 + b * w0; c41 = c41 + b * w1;                            \
                    b = xr[5 * in + k];                                                \
                    c50 = c50 + b * w0; c51 = c51 + b * w1;                            \
                }                                                                      \
                t[0][0] = c00; t[0][1] = c01; t[1][0] = c10; t[1][1] = c11;            \
                t[2][0] = c20; t[2][1] = c21; t[3][0] = c30; t[3][1] = c31;            \
                t[4][0] = c40; t[4][1] = c41; t[5][0] = c50; t[5][1] = c51;            \
            } else {                                                                   \
                for (size_t a = 0; a < nr; a++) {                                      \
                    VT c0 = {0}, c1 = {0};                                             \
                    const float *wa = w;                                               \
                    for (size_t k = 0; k < in; k++, wa += outp) {                      \
                        const VT w0 = *(const VT *)wa, w1 = *(const VT *)(wa + (VW));  \
                        const float b = xr[a * in + k];                                \
                        c0 = c0 + b * w0; c1 = c1 + b * w1;                            \
                    }                                                                  \
                    t[a][0] = c0;                                                      \
                    t[a][1] = c1;                                                      \
                }                                                                      \
            }                                                                          \
            for (size_t a = 0; a < nr; a++) memcpy(y + (r + a) * out + j0, t[a], n * sizeof(float)); \
        }                                                                              \
    }

/* ---- instruction-set level ---- */

#if MCINR_HAVE_DISPATCH
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
int mcinr_kernels_level(void) { return 0; }
int mcinr_kernels_limit_level(int max_level) { (void)max_level; return 0; }
#endif

MCINR_DEFINE_DISPATCHED(void, mcinr_sine_forward,
    (float *x, const float *bias, size_t rows, size_t width, float omega, float *cos_out),
    (x, bias, rows, width, omega, cos_out), SINE_FORWARD_BODY)

MCINR_DEFINE_DISPATCHED(void, mcinr_sine_half_sum,
    (float *x, const float *bias, size_t rows, size_t width, float omega, const float *skip),
    (x, bias, rows, width, omega, skip), SINE_HALF_SUM_BODY)

MCINR_DEFINE_DISPATCHED(void, mcinr_sincos,
    (const float *z, size_t n, float *s_out, float *c_out),
    (z, n, s_out, c_out), SINCOS_BODY)

#if MCINR_HAVE_DISPATCH
static void matmul_generic(const float *x, size_t rows, size_t in, size_t out, const float *packed, float *y) {
    MATMUL_BODY(mcinr_v4, 4)
}
MCINR_AVX2 static void matmul_avx2(const float *x, size_t rows, size_t in, size_t out, const float *packed, float *y) {
    MATMUL_BODY(mcinr_v8, 8)
}
MCINR_AVX512 static void matmul_avx512(const float *x, size_t rows, size_t in, size_t out, const float *packed,
                                       float *y) {
    MATMUL_BODY(mcinr_v8, 8) /* 8-wide here too: 16-wide tiles are not measured yet */
}
void mcinr_matmul_packed(const float *x, size_t rows, size_t in, size_t out, const float *packed, float *y) {
    switch (mcinr_kernels_level()) {
    case 2: matmul_avx512(x, rows, in, out, packed, y); break;
    case 1: matmul_avx2(x, rows, in, out, packed, y); break;
    default: matmul_generic(x, rows, in, out, packed, y); break;
    }
}
#else
void mcinr_matmul_packed(const float *x, size_t rows, size_t in, size_t out, const float *packed, float *y) {
    MATMUL_BODY(mcinr_v4, 4)
}
#endif

MCINR_DEFINE_DISPATCHED(void, mcinr_positional_encoding,
    (const float *x, size_t rows, unsigned L, float *out),
    (x, rows, L, out), PE_BODY)

/* ---- simple kernels (auto-vectorised at the baseline target is enough) ---- */

size_t mcinr_packed_floats(size_t in, size_t out) {
    return in * packed_stride(out);
}

void mcinr_pack_matrix(const float *W, size_t out, size_t in, float *packed) {
    const size_t outp = packed_stride(out);
    for (size_t k = 0; k < in; k++) {
        float *row = packed + k * outp;
        for (size_t j = 0; j < out; j++) row[j] = W[j * in + k];
        for (size_t j = out; j < outp; j++) row[j] = 0.0f;
    }
}

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
