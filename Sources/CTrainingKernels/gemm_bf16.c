/* bf16 matrix products with fp32 accumulation (AVX512-BF16: VDPBF16PS), for the trainer's
 * dense layers (issue #19). fp32 in and out: the operands are rounded to bf16 (round to nearest
 * even, VCVTNE2PS2BF16) while they are packed, products of pairs are accumulated in fp32.
 *
 * Only the functions marked MCINR_BF16 use AVX-512 instructions; they run only after
 * mcinr_gemm_bf16_available() has said yes, so the package still builds for (and runs on) any
 * x86-64. Elsewhere (other CPUs, other architectures) mcinr_gemm_bf16 returns -1 and the caller
 * uses cblas_sgemm.
 *
 * Layout of the packed operands (uint32 = two bf16, the lower one first = even k):
 *   B: [k/2][n16] (n16 = n rounded up to 16, zero padded) so one 64-byte load gives 16 columns.
 *   A: op(A) with rows along k (no transpose) is not packed: the micro-kernel reads pairs of
 *      fp32 and rounds them as it broadcasts them (a packing pass cost a third of the time at
 *      width 23); transposed A is packed as [k/2][m16], pair (i, kp) broadcast to all lanes.
 * The micro-kernel keeps MR × NV accumulators (6 rows × up to 4 × 16 columns) in registers. */
#include "mcinr_training_kernels.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if (defined(__x86_64__)) && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 10))
#define MCINR_HAVE_BF16 1
#include <immintrin.h>
#define MCINR_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#else
#define MCINR_HAVE_BF16 0
#endif

static int bf16_forced_off = 0;

int mcinr_gemm_bf16_available(void) {
#if MCINR_HAVE_BF16
    if (__atomic_load_n(&bf16_forced_off, __ATOMIC_RELAXED)) return 0;
    /* The compiler runtime's check includes the OS's saving of the zmm / opmask state. */
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

int mcinr_gemm_bf16_cpu_has(void) {
    int saved = __atomic_exchange_n(&bf16_forced_off, 0, __ATOMIC_RELAXED);
    int has = mcinr_gemm_bf16_available();
    __atomic_store_n(&bf16_forced_off, saved, __ATOMIC_RELAXED);
    return has;
}

void mcinr_gemm_bf16_force_unavailable(int off) {
    __atomic_store_n(&bf16_forced_off, off ? 1 : 0, __ATOMIC_RELAXED);
}

#if MCINR_HAVE_BF16

/* ---- per-thread packing workspace (grown on demand, freed when the thread ends) ---- */

typedef struct { uint32_t *a, *b; size_t a_cap, b_cap; } bf16_workspace;
static pthread_key_t bf16_key;
static pthread_once_t bf16_key_once = PTHREAD_ONCE_INIT;
static void bf16_workspace_free(void *p) {
    bf16_workspace *w = p;
    if (w) { free(w->a); free(w->b); free(w); }
}
static void bf16_key_create(void) { pthread_key_create(&bf16_key, bf16_workspace_free); }

/* Grows *buf to hold `count` uint32 (64-byte aligned, 64 bytes of slack for full-width loads). */
static int grow(uint32_t **buf, size_t *cap, size_t count) {
    if (count <= *cap) return 0;
    size_t bytes = (count * sizeof(uint32_t) + 64 + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, bytes);
    if (!p) return -1;
    free(*buf);
    *buf = p;
    *cap = (bytes - 64) / sizeof(uint32_t);
    return 0;
}

static bf16_workspace *workspace(size_t a_count, size_t b_count) {
    pthread_once(&bf16_key_once, bf16_key_create);
    bf16_workspace *w = pthread_getspecific(bf16_key);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w) return NULL;
        if (pthread_setspecific(bf16_key, w) != 0) { free(w); return NULL; }
    }
    if (grow(&w->a, &w->a_cap, a_count) || grow(&w->b, &w->b_cap, b_count)) return NULL;
    return w;
}

/* ---- packing ---- */

static inline __mmask16 tail_mask(size_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1u);
}

/* out[j] = bf16(r0[j]) | bf16(r1[j]) << 16 for j < n, zero for n ≤ j < n_out (n_out multiple
 * of 16). r1 NULL: zeros (odd k). */
MCINR_BF16 static void pack_interleave(const float *r0, const float *r1, size_t n, size_t n_out,
                                       uint32_t *out) {
    for (size_t j = 0; j < n_out; j += 16) {
        size_t left = j < n ? n - j : 0;
        __mmask16 m = tail_mask(left);
        __m512 x0 = _mm512_maskz_loadu_ps(m, r0 + j);
        __m512 x1 = r1 ? _mm512_maskz_loadu_ps(m, r1 + j) : _mm512_setzero_ps();
        /* cvtne2ps(hi, lo): bf16 lanes 0..15 from lo, 16..31 from hi; unpack pairs them. */
        __m512i both = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
        __m256i lo = _mm512_castsi512_si256(both), hi = _mm512_extracti64x4_epi64(both, 1);
        __m512i l32 = _mm512_cvtepu16_epi32(lo), h32 = _mm512_cvtepu16_epi32(hi);
        __m512i pairs = _mm512_or_si512(l32, _mm512_slli_epi32(h32, 16));
        _mm512_store_si512((void *)(out + j), pairs);
    }
}

/* Row of k floats → k/2 (rounded up) pairs of consecutive values, zero padded when k is odd. */
MCINR_BF16 static void pack_row_pairs(const float *x, size_t k, uint32_t *out) {
    size_t j = 0;
    for (; j < k; j += 32) {
        size_t left = k - j;
        __m512 lo = _mm512_maskz_loadu_ps(tail_mask(left), x + j);
        __m512 hi = _mm512_maskz_loadu_ps(tail_mask(left > 16 ? left - 16 : 0), x + j + 16);
        __m512i both = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
        size_t pairs = left >= 32 ? 16 : (left + 1) / 2;
        _mm512_mask_storeu_epi32(out + j / 2, tail_mask(pairs), both);
    }
}

/* ---- micro-kernel: C[MR × 16·NV] (+)= A-pairs · B-pairs over kpairs ---- */

#define MR_MAX 6

/* A pair (a[0], a[1]) of fp32 rounded to bf16 and broadcast; `single`: (a[0], 0). */
MCINR_BF16 static inline __attribute__((always_inline)) __m512bh broadcast_pair(const float *a, int single) {
    __m128 v = single ? _mm_set_ss(a[0]) : _mm_castpd_ps(_mm_load_sd((const double *)a));
    return (__m512bh)_mm512_broadcastd_epi32((__m128i)_mm_cvtneps_pbh(v));
}

/* A is either packed pairs (a_raw NULL: pair (r, kp) at ap[r·a_is + kp·a_ps]) or, for a row-major
 * A whose rows run along k, the fp32 rows themselves (a_raw[r·lda + 2kp], rounded here: no
 * packing pass; k odd ends with a single value). */
MCINR_BF16 static inline __attribute__((always_inline)) void micro(
    const int mr, const int nv, size_t kpairs, const uint32_t *ap, size_t a_is, size_t a_ps,
    const float *a_raw, size_t lda, int k_odd,
    const uint32_t *bp, size_t ldb, float *c, size_t ldc, __mmask16 last, int accumulate) {
    __m512 acc[MR_MAX][4];
    for (int r = 0; r < mr; r++)
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_setzero_ps();
    if (a_raw) {
        size_t full = kpairs - (size_t)k_odd;
        for (size_t kp = 0; kp < kpairs; kp++) {
            int single = kp == full;
            __m512bh b[4];
            for (int v = 0; v < nv; v++) b[v] = (__m512bh)_mm512_load_si512((const void *)(bp + kp * ldb + 16 * v));
            for (int r = 0; r < mr; r++) {
                __m512bh a = broadcast_pair(a_raw + r * lda + 2 * kp, single);
                for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], a, b[v]);
            }
        }
    } else {
        for (size_t kp = 0; kp < kpairs; kp++) {
            __m512bh b[4];
            for (int v = 0; v < nv; v++) b[v] = (__m512bh)_mm512_load_si512((const void *)(bp + kp * ldb + 16 * v));
            for (int r = 0; r < mr; r++) {
                __m512bh a = (__m512bh)_mm512_set1_epi32((int)ap[r * a_is + kp * a_ps]);
                for (int v = 0; v < nv; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], a, b[v]);
            }
        }
    }
    for (int r = 0; r < mr; r++) {
        float *row = c + r * ldc;
        for (int v = 0; v < nv; v++) {
            __mmask16 m = v == nv - 1 ? last : (__mmask16)0xFFFF;
            __m512 out = acc[r][v];
            if (accumulate) out = _mm512_add_ps(out, _mm512_maskz_loadu_ps(m, row + 16 * v));
            _mm512_mask_storeu_ps(row + 16 * v, m, out);
        }
    }
}

#define MICRO_ARGS kpairs, ap, a_is, a_ps, a_raw, lda, k_odd, bp, ldb, c, ldc, last, accumulate
#define MICRO_NV(MRV)                                       \
    switch (nv) {                                           \
    case 1: micro(MRV, 1, MICRO_ARGS); break;               \
    case 2: micro(MRV, 2, MICRO_ARGS); break;               \
    case 3: micro(MRV, 3, MICRO_ARGS); break;               \
    default: micro(MRV, 4, MICRO_ARGS); break;              \
    }

MCINR_BF16 static void micro_dispatch(int mr, int nv, size_t kpairs, const uint32_t *ap,
                                      size_t a_is, size_t a_ps, const float *a_raw, size_t lda,
                                      int k_odd, const uint32_t *bp, size_t ldb,
                                      float *c, size_t ldc, __mmask16 last, int accumulate) {
    switch (mr) {
    case 1: MICRO_NV(1) break;
    case 2: MICRO_NV(2) break;
    case 3: MICRO_NV(3) break;
    case 4: MICRO_NV(4) break;
    case 5: MICRO_NV(5) break;
    default: MICRO_NV(6) break;
    }
}

MCINR_BF16 static int gemm_bf16(int trans_a, int trans_b, size_t m, size_t n, size_t k,
                                const float *a, size_t lda, const float *b, size_t ldb,
                                int accumulate, float *c, size_t ldc) {
    size_t kpairs = (k + 1) / 2;
    size_t n16 = (n + 15) & ~(size_t)15;
    size_t m16 = (m + 15) & ~(size_t)15;
    /* A packed: NoTrans → [i][kp] (stride kpairs); Trans → [kp][i] (stride m16). */
    size_t a_count = trans_a ? kpairs * m16 : 0;
    bf16_workspace *w = workspace(a_count, kpairs * n16 + 16);
    if (!w) return -2;
    uint32_t *ap = w->a, *bp = w->b;
    size_t a_is = 0, a_ps = 0;
    const float *a_raw = NULL;
    if (!trans_a) {  /* A is m × k, rows along k: read (and rounded) in the micro-kernel */
        a_raw = a;
    } else {         /* A stored k × m: element (i, p) at a[p·lda + i] */
        for (size_t kp = 0; kp < kpairs; kp++)
            pack_interleave(a + 2 * kp * lda, 2 * kp + 1 < k ? a + (2 * kp + 1) * lda : NULL,
                            m, m16, ap + kp * m16);
        a_is = 1; a_ps = m16;
    }
    if (!trans_b) {  /* B stored k × n, rows along n */
        for (size_t kp = 0; kp < kpairs; kp++)
            pack_interleave(b + 2 * kp * ldb, 2 * kp + 1 < k ? b + (2 * kp + 1) * ldb : NULL,
                            n, n16, bp + kp * n16);
    } else {         /* B stored n × k: element (p, j) at b[j·ldb + p]; transpose the pairs */
        uint32_t *row = bp + kpairs * n16;  /* scratch for one row: at most 16 pairs at a time */
        memset(bp, 0, kpairs * n16 * sizeof(uint32_t));
        for (size_t j = 0; j < n; j++) {
            for (size_t p0 = 0; p0 < k; p0 += 32) {
                size_t len = k - p0 < 32 ? k - p0 : 32;
                pack_row_pairs(b + j * ldb + p0, len, row);
                size_t pairs = (len + 1) / 2;
                for (size_t q = 0; q < pairs; q++) bp[(p0 / 2 + q) * n16 + j] = row[q];
            }
        }
    }
    /* Column blocks of 64 (4 vectors) outside, row blocks of 6 inside: the B block (kpairs × 64
     * pairs) stays in cache while A streams. */
    for (size_t j0 = 0; j0 < n; j0 += 64) {
        size_t cols = n - j0 < 64 ? n - j0 : 64;
        int nv = (int)((cols + 15) / 16);
        __mmask16 last = tail_mask(cols - 16 * (size_t)(nv - 1));
        for (size_t i0 = 0; i0 < m; i0 += MR_MAX) {
            int mr = (int)(m - i0 < MR_MAX ? m - i0 : MR_MAX);
            micro_dispatch(mr, nv, kpairs, ap + i0 * a_is, a_is, a_ps, a_raw ? a_raw + i0 * lda : NULL,
                           lda, (int)(k & 1), bp + j0, n16, c + i0 * ldc + j0, ldc, last, accumulate);
        }
    }
    return 0;
}

#endif /* MCINR_HAVE_BF16 */

int mcinr_gemm_bf16(int trans_a, int trans_b, size_t m, size_t n, size_t k, const float *a,
                    size_t lda, const float *b, size_t ldb, int accumulate, float *c, size_t ldc) {
    if (m == 0 || n == 0) return 0;
    if (!mcinr_gemm_bf16_available()) return -1;
    if (k == 0) {
        if (!accumulate)
            for (size_t i = 0; i < m; i++) memset(c + i * ldc, 0, n * sizeof(float));
        return 0;
    }
#if MCINR_HAVE_BF16
    return gemm_bf16(trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
#else
    (void)trans_a; (void)trans_b; (void)a; (void)lda; (void)b; (void)ldb; (void)c; (void)ldc;
    return -1;
#endif
}
