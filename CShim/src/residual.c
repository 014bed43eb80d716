/* The RESIDUAL section, type 7 (docs/mci-format.md): quantised residuals at the embedded mesh
 * points that make mcinr_decode_mesh error-bounded at the stored time steps. Each index is
 * stored as its difference from a prediction (the previous stored step, the mean of earlier
 * mesh neighbours, or both; or, format 1.4, the linear predictor: seven Q12 weights at the
 * stream's start over the point's own indices at the last three steps of its chain and the
 * sums of its neighbours' indices at this step and those three, or, format 1.6, the values at
 * the point of the least-squares plane through them: plane.c; format 1.7, a blend of five
 * predictions weighted by their errors at the earlier neighbours), in zstd frames or with an
 * adaptive binary range coder (LZMA's) whose contexts are the sizes of the earlier neighbours'
 * differences (coder 1), and since format 1.11 also their share of non-zeros and their signs,
 * with counted 15-bit probabilities (coder 2). (Type 6, plain indices in zlib streams, is retired: model.c rejects it.)
 *
 * The open checks the header and the stream table (predictors, coders, sizes, weights, chains)
 * and charges what decoding every stream will cost; a stream's codes and indices are checked
 * when a decode first reads it (every code, every index, nothing left over), so a malformed
 * stream fails that decode with a format error naming the file, step, component and point, as
 * the open's validation would (options->validate_residual: every chain at open, as before
 * 1.8.0). Only the compressed streams stay in memory; a decode decompresses the streams of its
 * step's time chains and requested components, into buffers of its own, from the chain the last
 * decode of each component left when it can (the chain cache, below: a player's next step reads
 * one stream); concurrent decodes share nothing else. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L /* strdup */
#endif
#include "mcinr_internal.h"
#include "mesh_codec.h"
#include "pieces.h"
#include "range_decoder.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#define MAX_VARINT_BYTES 8u
#define MAX_CODE ((uint64_t)1 << 34) /* zigzag(d) + 1, so |d| <= 2^33 */
#define MAX_BYTES_PER_VALUE 8u       /* an 8-byte varint; an escape takes 1 + 4 */
#define INDEX_LIMIT ((int64_t)1 << 31) /* |q| < 2^31, so every sum below fits 64 bits */
#define PREDICT_TIME 1u              /* predictor bits */
#define PREDICT_MESH 2u
#define PREDICT_DATA 4u              /* the indices quantise the data, not the network's residual */
#define PREDICT_LINEAR 8u            /* the linear predictor (format 1.4); never with PREDICT_MESH */
#define PREDICT_PLANE 16u            /* with PREDICT_LINEAR: plane values replace the neighbour sums (1.6) */
#define PREDICT_BLEND 32u            /* with PREDICT_PLANE: the blend of five predictions (1.7) */
#define PREDICT_QUAD 64u             /* with PREDICT_BLEND: two more, from the quadratic (1.8) */
/* Steps per prediction chain: the time bit is a format error at multiples of this (the writer
 * restarts every chain there), so a decode reconstructs at most this many steps (and an anchor)
 * and the chains of blocks of this many steps are independent (separate tasks of the open's
 * validation, when asked for). */
#define CHAIN_STEPS 8u
#define PREDICT_ANCHOR 128u          /* with PREDICT_TIME and PREDICT_LINEAR: h3 is the next block's first step (1.9) */
#define ALLOWED_PREDICTORS "allowed 0 ... 7, 8, 9, 12, 13, 24, 25, 28, 29, 56, 57, 60, 61, 120, 121, 124, 125, " \
                           "and 137, 141, 153, 157, 185, 189, 249, 253 (those with bit 0 and the anchor bit 7)"
#define BLEND_PREDICTIONS 5u         /* linear, plane, previous step, its plane change, its trend */
#define QUAD_PREDICTIONS 7u          /* and the quadratic, the previous step plus its change */
#define BLEND_ERROR_LIMIT ((int64_t)1 << 24) /* an error is kept up to this, in 1/16 units */
#define BLEND_EPSILON 8              /* half an index, in 1/16 units: added to each mean error */
#define BLEND_UNIT 1024              /* the best prediction's weight is BLEND_UNIT² */
#define BLEND_CLAMP ((int64_t)1 << 36) /* predictions are clamped to ±2^36 (1/16 units) */
#define PLANE_SHIFT 4                /* a plane value is kept in 1/16 index units */
#define PLANE_ROUND 4096             /* Q16 weights → 1/16 units */
#define LINEAR_WEIGHTS 7u            /* w1 w2 w3 v0 v1 v2 v3, i32 each, before the stream's codes */
#define LINEAR_BYTES (4u * LINEAR_WEIGHTS)
#define LINEAR_ONE 4096              /* Q12: the weight 1 */
#define LINEAR_WEIGHT_LIMIT ((int32_t)1 << 20) /* |w| ≤ 2^20: with |q| < 2^31 and k′ ≤ 32, |P| < 2^59 */
#define LINEAR_LAGS 3u               /* steps back a linear stream may read */
#define MAX_NEIGHBOURS 32u           /* Nb(i) keeps the 32 largest j */
#define MIN_CELL_POINTS 2            /* cells that make neighbours: 2 ... 64 points */
#define MAX_CELL_POINTS 64
#define CODER_ZSTD 0u                /* coders */
#define CODER_RANGE 1u
#define CODER_RANGE_SIGNS 2u        /* coder 2 (1.11): the range coder with sign and occupancy contexts */
#define RC_INIT_BYTES MCI_RC_INIT_BYTES /* range coder (docs/mci-format.md, Range coder (coder 1)) */
#define RC_PROB_INIT MCI_RC_PROB_INIT   /* p = 1/2, also the fixed bits' probability */
#define RC_CONTEXTS 16               /* κ = 0 … 15 */
#define RC_EXPONENT_BITS 34          /* unary exponent bits; 34 ones = escape */
#define RC_MAX_BIT_LENGTH 14

static float get_f32(const uint8_t *q) {
    uint32_t u = (uint32_t)mci_get_le(q, 4);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* One coded value: an escape (exact float) or the difference d of an index from its
 * prediction. */
typedef struct code {
    int escape;
    float value;
    int64_t q;
} code;

/* Reads the next value of a zstd stream's content at *pos; codes above 2^34 are errors. NULL on
 * success, else a static description. */
static const char *next_code(const uint8_t *raw, size_t len, size_t *pos, code *out) {
    uint64_t u = 0;
    unsigned shift = 0, n = 0;
    for (;;) {
        if (*pos >= len) return "the stream ends inside a value";
        if (n == MAX_VARINT_BYTES) return "a varint is longer than 8 bytes";
        uint8_t b = raw[(*pos)++];
        u |= (uint64_t)(b & 0x7Fu) << shift;
        shift += 7;
        n++;
        if (!(b & 0x80u)) break;
    }
    if (u == 0) {
        if (len - *pos < 4) return "the stream ends inside an escaped value";
        out->escape = 1;
        out->value = get_f32(raw + *pos);
        *pos += 4;
        if (!isfinite(out->value)) return "an escaped value is not finite";
        return NULL;
    }
    if (u > MAX_CODE) return "a code exceeds 2^34 (a difference beyond 2^33)";
    uint64_t z = u - 1;
    out->escape = 0;
    /* zigzag: 0, -1, 1, -2, ... ; |d| <= 2^33 so the conversions are exact */
    out->q = (z & 1u) ? -(int64_t)(z >> 1) - 1 : (int64_t)(z >> 1);
    return NULL;
}

/* Decompresses a type 7 stream: exactly one zstd frame of exactly src_len bytes (no skippable
 * or legacy frame, nothing after it) whose content is exactly dst_len bytes. NULL on success,
 * else a static description. */
static const char *unzstd_exact(ZSTD_DCtx *dctx, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len) {
    if (src_len < 4 || mci_get_le(src, 4) != ZSTD_MAGICNUMBER) return "not a zstd frame (bad magic number)";
    size_t frame = ZSTD_findFrameCompressedSize(src, src_len);
    if (ZSTD_isError(frame)) return "corrupt or truncated zstd frame";
    if (frame != src_len) return "bytes after the zstd frame";
    unsigned long long content = ZSTD_getFrameContentSize(src, src_len);
    if (content == ZSTD_CONTENTSIZE_ERROR) return "corrupt zstd frame header";
    if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != dst_len)
        return "the zstd frame's content size differs from the declared size";
    size_t got = ZSTD_decompressDCtx(dctx, dst, dst_len, src, src_len);
    if (ZSTD_isError(got))
        return ZSTD_getErrorCode(got) == ZSTD_error_dstSize_tooSmall ? "the zstd frame holds more than the declared size"
                                                                     : "corrupt zstd frame";
    if (got != dst_len) return "the zstd frame holds fewer bytes than declared";
    return NULL;
}

/* The per stream probability tables of the binarisation around LZMA's binary range decoder
 * (range_decoder.h, shared with the MESHC chunks). Coder 1: X, exponent bits per context κ; M,
 * the two leading mantissa bits per exponent; G, sign per κ. Coder 2 (format 1.11): the same
 * binarisation with counted 15-bit probabilities, exponent bits per κ and occupancy ν, sign per
 * κ and neighbours' signs σ. About 9 KB, so it lives on the caller's stack. */
#define RC2_OCCUPANCY 4u             /* ν: none, under half, half or more, all neighbours non-zero */
#define RC2_SIGNS 5u                 /* σ: the sum of the neighbours' signs 0, 1, ≥ 2, −1, ≤ −2 */
typedef struct range_decoder {
    mci_rc rc;
    unsigned coder;
    union { /* the stream's coder's tables only */
        struct {
            uint16_t X[RC_CONTEXTS][RC_EXPONENT_BITS], M[RC_EXPONENT_BITS][3], G[RC_CONTEXTS];
        } c1;
        struct {
            mci_rc2_prob X[RC_CONTEXTS][RC2_OCCUPANCY][RC_EXPONENT_BITS], M[RC_EXPONENT_BITS][3], G[RC_CONTEXTS][RC2_SIGNS];
        } c2;
    } t;
} range_decoder;

static const char *rc_start(range_decoder *rc, unsigned coder, const uint8_t *src, size_t len) {
    const char *why = mci_rc_start(&rc->rc, src, len); /* >= 5 bytes: checked at parse */
    if (why) return why;
    rc->coder = coder;
    if (coder == CODER_RANGE) {
        for (unsigned c = 0; c < RC_CONTEXTS; c++) {
            for (unsigned j = 0; j < RC_EXPONENT_BITS; j++) rc->t.c1.X[c][j] = RC_PROB_INIT;
            rc->t.c1.G[c] = RC_PROB_INIT;
        }
        for (unsigned e = 0; e < RC_EXPONENT_BITS; e++) rc->t.c1.M[e][0] = rc->t.c1.M[e][1] = rc->t.c1.M[e][2] = RC_PROB_INIT;
        return NULL;
    }
    const mci_rc2_prob start = {MCI_RC2_PROB_INIT, 0};
    for (unsigned c = 0; c < RC_CONTEXTS; c++) {
        for (unsigned v = 0; v < RC2_OCCUPANCY; v++)
            for (unsigned j = 0; j < RC_EXPONENT_BITS; j++) rc->t.c2.X[c][v][j] = start;
        for (unsigned g = 0; g < RC2_SIGNS; g++) rc->t.c2.G[c][g] = start;
    }
    for (unsigned e = 0; e < RC_EXPONENT_BITS; e++) rc->t.c2.M[e][0] = rc->t.c2.M[e][1] = rc->t.c2.M[e][2] = start;
    return NULL;
}

/* What the contexts of one value read: κ for both coders, ν and σ for coder 2 (else 0). */
typedef struct rc_ctx {
    unsigned kappa, occupancy, signs;
} rc_ctx;

/* One adaptive bit of the exponent (j), the mantissa (e, slot) or the sign, in the stream's
 * coder's tables (0, 1, or -1 past the end of the stream), and a fixed bit in its units. */
static int rc_exponent_bit(range_decoder *rc, rc_ctx x, unsigned j) {
    return rc->coder == CODER_RANGE ? mci_rc_bit(&rc->rc, &rc->t.c1.X[x.kappa][j])
                                    : mci_rc2_bit(&rc->rc, &rc->t.c2.X[x.kappa][x.occupancy][j]);
}
static int rc_mantissa_bit(range_decoder *rc, unsigned e, unsigned slot) {
    return rc->coder == CODER_RANGE ? mci_rc_bit(&rc->rc, &rc->t.c1.M[e][slot]) : mci_rc2_bit(&rc->rc, &rc->t.c2.M[e][slot]);
}
static int rc_sign_bit(range_decoder *rc, rc_ctx x) {
    return rc->coder == CODER_RANGE ? mci_rc_bit(&rc->rc, &rc->t.c1.G[x.kappa]) : mci_rc2_bit(&rc->rc, &rc->t.c2.G[x.kappa][x.signs]);
}
static int rc_fixed_bit(range_decoder *rc) { return rc->coder == CODER_RANGE ? mci_rc_fixed(&rc->rc) : mci_rc2_fixed(&rc->rc); }

#define RC_PAST_END "the range coder reads past the end of the stream"

/* Reads one value with contexts x: the unary exponent, the escape's f32 or the mantissa and
 * sign. NULL on success, else a static description. */
static const char *rc_value(range_decoder *rc, rc_ctx x, code *out) {
    unsigned e = 0;
    int bit;
    while (e < RC_EXPONENT_BITS) {
        if ((bit = rc_exponent_bit(rc, x, e)) < 0) return RC_PAST_END;
        if (bit == 0) break;
        e++;
    }
    if (e == RC_EXPONENT_BITS) { /* escape: the f32's 32 bits, most significant first */
        uint32_t u = 0;
        for (unsigned b = 0; b < 32; b++) {
            if ((bit = rc_fixed_bit(rc)) < 0) return RC_PAST_END;
            u = u << 1 | (uint32_t)bit;
        }
        out->escape = 1;
        memcpy(&out->value, &u, sizeof u);
        if (!isfinite(out->value)) return "an escaped value is not finite";
        return NULL;
    }
    uint64_t r = 0;
    for (unsigned b = 0; b < e; b++) {
        /* the first mantissa bit by M[e][0], the second by M[e][1 + first], the rest fixed */
        bit = b == 0 ? rc_mantissa_bit(rc, e, 0) : b == 1 ? rc_mantissa_bit(rc, e, 1 + (unsigned)r) : rc_fixed_bit(rc);
        if (bit < 0) return RC_PAST_END;
        r = r << 1 | (uint64_t)bit;
    }
    uint64_t mag = ((uint64_t)1 << e) + r - 1; /* ≤ 2^34 − 2 */
    int negative = 0;
    if (mag > 0) {
        if ((bit = rc_sign_bit(rc, x)) < 0) return RC_PAST_END;
        negative = bit;
    }
    out->escape = 0;
    out->q = negative ? -(int64_t)mag : (int64_t)mag;
    return NULL;
}

/* The contexts of point i from the differences of this stream at Nb(i) (escapes 0): κ = 0
 * without earlier neighbours, else 1 + min(bit_length(⌊4A/k⌋), 14) with A the sum of their |d|
 * (A < 32 · 2^34, so 4A fits); with signs (coder 2), ν by how many are non-zero and σ by the
 * sum of their signs. */
static rc_ctx rc_context(const mcinr_model *m, size_t i, const int64_t *dval, int signs) {
    rc_ctx x = {0, 0, 0};
    size_t a = m->residual_nb_start[i], b = m->residual_nb_start[i + 1];
    if (b == a) return x;
    uint64_t A = 0;
    size_t nonzero = 0;
    int64_t g = 0;
    for (size_t n = a; n < b; n++) {
        int64_t d = dval[m->residual_nb[n]];
        A += d < 0 ? (uint64_t)(-d) : (uint64_t)d;
        if (signs) {
            nonzero += d != 0;
            g += (d > 0) - (d < 0);
        }
    }
    size_t k = b - a;
    uint64_t v = 4 * A / (uint64_t)k;
    unsigned bits = 0;
    while (v) {
        bits++;
        v >>= 1;
    }
    x.kappa = 1 + (bits < RC_MAX_BIT_LENGTH ? bits : RC_MAX_BIT_LENGTH);
    if (signs) {
        x.occupancy = nonzero == 0 ? 0 : 2 * nonzero < k ? 1 : nonzero < k ? 2 : 3;
        x.signs = g == 0 ? 0 : g == 1 ? 1 : g >= 2 ? 2 : g == -1 ? 3 : 4;
    }
    return x;
}

/* The values of one type 7 stream, whatever its coder: an empty stream (every d 0), the
 * varints of a decompressed zstd frame, or the range decoder (which also needs the d already
 * read at each point, for the contexts). */
typedef struct stream_reader {
    int empty;
    unsigned coder;
    const uint8_t *raw;
    size_t raw_size, pos;
    range_decoder rc;
    int64_t *dval;
} stream_reader;

/* Prepares stream k: decompresses a zstd frame into raw (raw_size bytes) or starts the range
 * decoder; dval (N values) is needed for range-coded streams only. NULL, or what is wrong. */
static const char *start_stream(const mcinr_model *m, size_t k, ZSTD_DCtx *dctx, uint8_t *raw, int64_t *dval,
                                stream_reader *r) {
    const uint8_t *src = m->residual_streams + m->residual_stream_offset[k];
    size_t size = (size_t)m->residual_stream_size[k];
    r->empty = size == 0;
    r->coder = m->residual_coder[k];
    r->raw = raw;
    r->raw_size = (size_t)m->residual_raw_size[k];
    r->pos = 0;
    r->dval = dval;
    if (r->empty) return NULL;
    if (r->coder == CODER_ZSTD) return unzstd_exact(dctx, src, size, raw, r->raw_size);
    return rc_start(&r->rc, r->coder, src, size);
}

/* The next value of the stream at point i. */
static const char *stream_value(const mcinr_model *m, stream_reader *r, size_t i, code *cd) {
    if (r->empty) return NULL; /* cd stays d = 0 */
    if (r->coder == CODER_ZSTD) return next_code(r->raw, r->raw_size, &r->pos, cd);
    const char *why = rc_value(&r->rc, rc_context(m, i, r->dval, r->coder != CODER_RANGE), cd);
    if (!why) r->dval[i] = cd->escape ? 0 : cd->q;
    return why;
}

/* Bytes of the stream (zstd: of its content) left after the N values; must be 0. */
static size_t stream_left(const stream_reader *r) {
    return r->empty ? 0 : r->coder == CODER_ZSTD ? r->raw_size - r->pos : r->rc.rc.len - r->rc.rc.pos;
}

static void chain_cache_free(struct mci_chain_cache *cache);

/* Frees Nb, the plane weights and the quadratic supports (all NULL after). */
static void free_geometry(mcinr_model *m) {
    free(m->residual_nb_start);
    free(m->residual_nb);
    free(m->residual_plane);
    free(m->residual_quad_start);
    free(m->residual_quad_ids);
    free(m->residual_quad_weights);
    m->residual_nb_start = m->residual_quad_start = NULL;
    m->residual_nb = m->residual_quad_ids = NULL;
    m->residual_plane = m->residual_quad_weights = NULL;
}

void mci_free_residual(mcinr_model *m) {
    free(m->residual_max_error);
    free(m->residual_step);
    free(m->residual_raw_size);
    free(m->residual_stream_offset);
    free(m->residual_stream_size);
    free(m->residual_streams);
    free(m->residual_predictor);
    free(m->residual_coder);
    free(m->residual_weights);
    free_geometry(m);
    chain_cache_free(m->residual_cache);
    free(m->residual_name);
    if (m->has_residual) pthread_mutex_destroy(&m->residual_lock);
}

/* n / d (d > 0) to the nearest integer, halves away from zero: the format's one rounding of a
 * prediction (exact: every n here is below 2^62). */
static int64_t div_round(int64_t n, int64_t d) {
    return n >= 0 ? (2 * n + d) / (2 * d) : -((-2 * n + d) / (2 * d));
}

/* Appends the k ≤ N ids of found[] as the next list of (*out, *used, *cap): the 32 largest,
 * ascending (the plane weights' sums run in this order); grows to at most 32 N. 0, or -1 when
 * out of memory. */
static int append_list(uint32_t **out, size_t *used, size_t *cap, size_t N, uint32_t *found, size_t k) {
    if (k > MAX_NEIGHBOURS) {
        mci_keep_largest(found, k, MAX_NEIGHBOURS);
        k = MAX_NEIGHBOURS;
    }
    mci_sort_ascending(found, k);
    if (*used + k > *cap) {
        size_t ncap = *cap * 2 < MAX_NEIGHBOURS * N ? *cap * 2 : MAX_NEIGHBOURS * N;
        uint32_t *grown = realloc(*out, ncap * sizeof(uint32_t));
        if (!grown) return -1;
        *out = grown;
        *cap = ncap;
    }
    memcpy(*out + *used, found, k * sizeof(uint32_t));
    *used += k;
    return 0;
}

/* Nb(i) for every mesh point (docs/mci-format.md, type 7 Neighbours): the points j < i that
 * share a cell of 2 ... 64 points with i (its connectivity length; a repeated point counts
 * once), the 32 largest when there are more, ascending. Built through the point-to-cell
 * incidence, so the work is Σ cell size² ≤ 64 · connectivity length and the result at most
 * 32 N indices. With least > 0 (section NEIGHBOURS, format 1.10), Nb′: a list of fewer than
 * `least` entries also takes the earlier points of Nb(m) for every m sharing such a cell with i
 * (one neighbour step further; work ≤ 32 Σ cell size²), into new lists while Nb is kept for
 * the lookups. MCINR_OK or MCINR_ERR_NOMEM (nothing allocated then). */
mcinr_status mci_neighbour_lists(size_t N, size_t M, const int64_t *off, const uint32_t *conn, uint32_t least,
                                 size_t **out_start, uint32_t **out) {
    mcinr_status st = MCINR_ERR_NOMEM;
    size_t *cell_start = calloc(N + 1, sizeof(size_t)), *cells = NULL, *mark = NULL;
    size_t *nb_start = malloc((N + 1) * sizeof(size_t)), *ext_start = NULL;
    uint32_t *found = NULL, *nb = NULL, *ext = NULL, *visited = NULL;
    if (!cell_start || !nb_start) goto done;
    for (size_t k = 0; k < M; k++) {
        int64_t s = off[k + 1] - off[k];
        if (s < MIN_CELL_POINTS || s > MAX_CELL_POINTS) continue;
        for (int64_t e = off[k]; e < off[k + 1]; e++) cell_start[conn[e] + 1]++;
    }
    for (size_t i = 0; i < N; i++) cell_start[i + 1] += cell_start[i];
    cells = malloc((cell_start[N] ? cell_start[N] : 1) * sizeof(size_t));
    mark = calloc(N ? N : 1, sizeof(size_t));
    found = malloc((N ? N : 1) * sizeof(uint32_t));
    if (!cells || !mark || !found) goto done;
    { /* fill the incidence lists; `mark` counts the entries placed per point for now */
        for (size_t k = 0; k < M; k++) {
            int64_t s = off[k + 1] - off[k];
            if (s < MIN_CELL_POINTS || s > MAX_CELL_POINTS) continue;
            for (int64_t e = off[k]; e < off[k + 1]; e++) {
                uint32_t p = conn[e];
                cells[cell_start[p] + mark[p]++] = k;
            }
        }
        memset(mark, 0, N * sizeof(size_t));
    }
    size_t cap = N < 64 ? 64 : N, used = 0;
    if (!(nb = malloc(cap * sizeof(uint32_t)))) goto done;
    nb_start[0] = 0;
    for (size_t i = 0; i < N; i++) {
        size_t k = 0;
        for (size_t a = cell_start[i]; a < cell_start[i + 1]; a++)
            for (int64_t e = off[cells[a]]; e < off[cells[a] + 1]; e++) {
                uint32_t j = conn[e];
                if (j < i && mark[j] != i + 1) { /* mark[j] = i + 1: j already found for i */
                    mark[j] = i + 1;
                    found[k++] = j;
                }
            }
        if (append_list(&nb, &used, &cap, N, found, k) != 0) goto done;
        nb_start[i + 1] = used;
    }
    if (least) {
        size_t ecap = used > 64 ? used : 64, eused = 0;
        ext_start = malloc((N + 1) * sizeof(size_t));
        visited = calloc(N ? N : 1, sizeof(uint32_t));
        if (!ext_start || !visited || !(ext = malloc(ecap * sizeof(uint32_t)))) goto done;
        memset(mark, 0, N * sizeof(size_t));
        ext_start[0] = 0;
        for (size_t i = 0; i < N; i++) {
            size_t k = 0;
            for (size_t e = nb_start[i]; e < nb_start[i + 1]; e++) {
                mark[nb[e]] = i + 1;
                found[k++] = nb[e];
            }
            if (k < least) /* the earlier points of Nb(m), m sharing a cell with i (each m once:
                            * it shares several of i's cells; visited[m] = i + 1) */
                for (size_t a = cell_start[i]; a < cell_start[i + 1]; a++)
                    for (int64_t c = off[cells[a]]; c < off[cells[a] + 1]; c++) {
                        uint32_t m = conn[c];
                        if (visited[m] == (uint32_t)i + 1) continue;
                        visited[m] = (uint32_t)i + 1;
                        for (size_t e = nb_start[m]; e < nb_start[m + 1]; e++) {
                            uint32_t j = nb[e];
                            if (j < i && mark[j] != i + 1) {
                                mark[j] = i + 1;
                                found[k++] = j;
                            }
                        }
                    }
            if (append_list(&ext, &eused, &ecap, N, found, k) != 0) goto done;
            ext_start[i + 1] = eused;
        }
        free(nb_start);
        free(nb);
        nb_start = ext_start;
        nb = ext;
        ext_start = NULL;
        ext = NULL;
    }
    *out_start = nb_start;
    *out = nb;
    nb_start = NULL;
    nb = NULL;
    st = MCINR_OK;
done:
    free(cell_start);
    free(cells);
    free(mark);
    free(found);
    free(nb_start);
    free(nb);
    free(ext_start);
    free(ext);
    free(visited);
    return st;
}

static mcinr_status build_neighbours(mcinr_model *m) {
    return mci_neighbour_lists(m->mesh_num_points, m->mesh_num_cells, m->mesh_offsets, m->mesh_conn,
                               m->residual_nb_least, &m->residual_nb_start, &m->residual_nb);
}

int mcinr_residual_neighbours(size_t num_points, size_t num_cells, const int64_t *cell_offsets,
                              const int64_t *connectivity, uint32_t least, int64_t *nb_start, int32_t *nb) {
    size_t entries = num_cells ? (size_t)cell_offsets[num_cells] : 0, *start = NULL;
    uint32_t *conn = malloc((entries ? entries : 1) * sizeof(uint32_t)), *lists = NULL;
    if (!conn) return -1;
    for (size_t e = 0; e < entries; e++) conn[e] = (uint32_t)connectivity[e];
    mcinr_status st = mci_neighbour_lists(num_points, num_cells, cell_offsets, conn, least, &start, &lists);
    free(conn);
    if (st != MCINR_OK) return -1;
    for (size_t i = 0; i <= num_points; i++) nb_start[i] = (int64_t)start[i];
    for (size_t e = 0; e < start[num_points]; e++) nb[e] = (int32_t)lists[e];
    free(start);
    free(lists);
    return 0;
}

/* Where the decoded values of a reconstructed step go (decode only): out[i · stride] holds
 * the network value at point i and receives the corrected one. */
typedef struct residual_target {
    float *out;
    size_t stride;
    const uint32_t *row_of; /* NULL: point i is row i; else its row, MCI_NO_ROW: not wanted */
    double step;
    double origin; /* data streams: the component's minimum (META) */
} residual_target;

static float corrected(float network, int64_t q, double step);
static float data_value(double origin, int64_t q, double step);
static size_t chain_start(const mcinr_model *m, size_t t, size_t c);

/* Scratch of one chain reconstruction (open validation or one decode): the indices of the
 * chain's latest steps, y, the differences the range coder's contexts read, and a zstd context.
 * level[m] holds the indices m + 1 steps before the step being reconstructed (level[0]: the
 * previous step), NULL when they are all 0 or lie before the chain's start (never read then).
 * Without a linear stream in the chain only the previous step is read, so one buffer, updated
 * in place, holds it (buf[0]); with one (history), a step is written into a buffer of buf[0 … 3]
 * that no level points at, so the three steps a linear stream reads stay intact, and the levels
 * move down a step by pointers alone. */
typedef struct chain_buffers {
    int64_t *buf[LINEAR_LAGS + 1]; /* buf[1 …] only with history */
    int64_t *level[LINEAR_LAGS];
    int64_t *y;
    int64_t *dval; /* range-coded streams only: the differences read (escapes 0) */
    uint32_t *blend_error; /* blend streams only: blend_stride(m) errors per point, interleaved */
    int64_t *anchor;       /* chains with the anchor bit only: the next block's first step */
    size_t anchor_step;    /* the step anchor holds, SIZE_MAX: none yet */
    ZSTD_DCtx *dctx;
    int history;
} chain_buffers;

static void chain_buffers_free(chain_buffers *b) {
    for (unsigned n = 0; n <= LINEAR_LAGS; n++) free(b->buf[n]);
    free(b->y);
    free(b->dval);
    free(b->blend_error);
    free(b->anchor);
    ZSTD_freeDCtx(b->dctx);
    memset(b, 0, sizeof *b);
}

/* Errors a blend keeps per point: seven in a file with quadratic streams, else five. */
static size_t blend_stride(const mcinr_model *m) { return m->residual_quad ? QUAD_PREDICTIONS : BLEND_PREDICTIONS; }

/* 0 on success; on failure everything is freed. history: the chains have linear streams;
 * blend: the errors a blend keeps per point (0: no blend stream); anchor: a stream has the
 * anchor bit. */
static int chain_buffers_alloc(chain_buffers *b, size_t N, int uses_range, int history, size_t blend, int anchor) {
    int ok = 1;
    memset(b, 0, sizeof *b);
    b->history = history;
    for (unsigned n = 0; n <= (history ? LINEAR_LAGS : 0); n++) ok &= (b->buf[n] = malloc(N * sizeof(int64_t))) != NULL;
    b->y = malloc(N * sizeof(int64_t));
    b->dval = uses_range ? malloc(N * sizeof(int64_t)) : NULL;
    b->blend_error = blend ? malloc(N * blend * sizeof(uint32_t)) : NULL;
    b->anchor = anchor ? malloc((N ? N : 1) * sizeof(int64_t)) : NULL;
    b->anchor_step = SIZE_MAX;
    b->dctx = ZSTD_createDCtx();
    if (ok && b->y && (!uses_range || b->dval) && (!blend || b->blend_error) && (!anchor || b->anchor) && b->dctx)
        return 0;
    chain_buffers_free(b);
    return -1;
}

/* A chain starts from nothing: no step before it is read, no anchor. */
static void chain_restart(chain_buffers *b) {
    for (unsigned n = 0; n < LINEAR_LAGS; n++) b->level[n] = NULL;
    b->anchor_step = SIZE_MAX;
}

/* ---- The chain cache ----
 * A step of a time chain is reconstructed from every step before it in its chain, and a player
 * asks for the steps in order: so each decode leaves, per component, the indices of the step it
 * applied and of the steps before it that a later one reads, and the next decode of that
 * component at the same step or a later one of the same chain starts from them: one stream per
 * step instead of the chain from its start. The values are the same either way (the indices
 * are, exactly). Entries are taken and given back under a lock and used outside it, so two
 * concurrent decodes of one component never wait: one of them reconstructs from the chain's
 * start. At most CHAIN_CACHE_LIMIT bytes per model; past it a decode keeps nothing. */
#define CHAIN_CACHE_LIMIT ((uint64_t)1 << 30)
#define CACHED_STEPS (LINEAR_LAGS + 1) /* the step applied and the three a linear stream reads */

typedef struct cached_chain {
    size_t t;                  /* the step applied */
    int history;               /* steps t − 2, t − 3 are kept (the chain's buffers had history) */
    int32_t *q[CACHED_STEPS];  /* q[n]: the indices of step t − n (|q| < 2^31); NULL: all 0 */
    int32_t *anchor;           /* the chain's anchor (its array, or NULL: none kept) */
    size_t anchor_step;        /* the step anchor holds, SIZE_MAX: none */
    int32_t *store;            /* memory: CACHED_STEPS arrays of N with history, else 2, then the anchor's */
    uint64_t bytes;
} cached_chain;

typedef struct mci_chain_cache {
    pthread_mutex_t lock;
    uint64_t bytes;            /* every cached_chain allocated, in a slot or taken */
    size_t components;
    cached_chain *slot[];      /* per component, NULL when none is kept */
} mci_chain_cache;

static void chain_cache_free(mci_chain_cache *cache) {
    if (!cache) return;
    for (size_t c = 0; c < cache->components; c++)
        if (cache->slot[c]) {
            free(cache->slot[c]->store);
            free(cache->slot[c]);
        }
    pthread_mutex_destroy(&cache->lock);
    free(cache);
}

/* The open's last step: an empty cache (NULL if out of memory: decodes then keep nothing). */
static mci_chain_cache *chain_cache_new(size_t components) {
    mci_chain_cache *cache = calloc(1, sizeof *cache + components * sizeof(cached_chain *));
    if (!cache) return NULL;
    if (pthread_mutex_init(&cache->lock, NULL) != 0) {
        free(cache);
        return NULL;
    }
    cache->components = components;
    return cache;
}

/* Component c's entry, now the caller's (NULL: none kept). */
static cached_chain *chain_cache_take(mci_chain_cache *cache, size_t c) {
    if (!cache) return NULL;
    pthread_mutex_lock(&cache->lock);
    cached_chain *e = cache->slot[c];
    cache->slot[c] = NULL;
    pthread_mutex_unlock(&cache->lock);
    return e;
}

/* Frees a taken entry (or nothing for NULL) and its share of the cache's bytes. */
static void chain_cache_drop(mci_chain_cache *cache, cached_chain *e) {
    if (!cache || !e) return;
    pthread_mutex_lock(&cache->lock);
    cache->bytes -= e->bytes;
    pthread_mutex_unlock(&cache->lock);
    free(e->store);
    free(e);
}

/* Returns a taken entry (or NULL) as component c's, dropping what another decode left meanwhile. */
static void chain_cache_give(mci_chain_cache *cache, size_t c, cached_chain *e) {
    if (!cache || !e) return;
    pthread_mutex_lock(&cache->lock);
    cached_chain *old = cache->slot[c];
    cache->slot[c] = e;
    pthread_mutex_unlock(&cache->lock);
    chain_cache_drop(cache, old);
}

/* An entry for N points (reusing e when it is large enough, else dropping it), or NULL when the
 * limit or memory allows none; with room for an anchor if asked. */
static cached_chain *chain_cache_entry(mci_chain_cache *cache, cached_chain *e, size_t N, int history, int anchor) {
    if (!cache) return NULL;
    size_t arrays = (history ? CACHED_STEPS : 2) + (anchor ? 1 : 0);
    uint64_t bytes = (uint64_t)arrays * N * sizeof(int32_t);
    if (!e || e->bytes < bytes) {
        chain_cache_drop(cache, e);
        int fits;
        pthread_mutex_lock(&cache->lock);
        fits = bytes <= CHAIN_CACHE_LIMIT - cache->bytes && cache->bytes <= CHAIN_CACHE_LIMIT;
        if (fits) cache->bytes += bytes;
        pthread_mutex_unlock(&cache->lock);
        if (!fits) return NULL;
        e = calloc(1, sizeof *e);
        int32_t *store = e ? malloc(arrays * N * sizeof(int32_t) + 1) : NULL;
        if (!store) {
            free(e);
            pthread_mutex_lock(&cache->lock);
            cache->bytes -= bytes;
            pthread_mutex_unlock(&cache->lock);
            return NULL;
        }
        e->store = store;
        e->bytes = bytes;
    }
    e->history = history;
    e->anchor = anchor ? e->store + (arrays - 1) * N : NULL;
    e->anchor_step = SIZE_MAX;
    return e;
}

/* Keeps b's anchor, if it holds one, in e (which has room for it). */
static void chain_cache_put_anchor(cached_chain *e, const chain_buffers *b, size_t N) {
    if (!e->anchor || b->anchor_step == SIZE_MAX) return;
    for (size_t i = 0; i < N; i++) e->anchor[i] = (int32_t)b->anchor[i];
    e->anchor_step = b->anchor_step;
}

/* Keeps level (N indices, or NULL: all 0) as step t − n of e. */
static void chain_cache_put(cached_chain *e, unsigned n, const int64_t *level, size_t N) {
    if (!level) {
        e->q[n] = NULL;
        return;
    }
    /* with history, step t − n in array n; without, steps t and t − 1 in arrays 0 and 1 */
    int32_t *dst = e->store + (size_t)n * N;
    for (size_t i = 0; i < N; i++) dst[i] = (int32_t)level[i];
    e->q[n] = dst;
}

/* Sets b's levels to those before step s of e's chain, s = e->t (a repeat) or e->t + 1. */
static void chain_cache_restore(chain_buffers *b, const cached_chain *e, size_t s, size_t N) {
    unsigned from = s == e->t ? 1 : 0, levels = b->history ? LINEAR_LAGS : 1;
    chain_restart(b);
    for (unsigned n = 0; n < levels && from + n < (e->history ? CACHED_STEPS : 2u); n++) {
        const int32_t *src = e->q[from + n];
        if (!src) continue;
        for (size_t i = 0; i < N; i++) b->buf[n][i] = src[i];
        b->level[n] = b->buf[n];
    }
    if (b->anchor && e->anchor && e->anchor_step != SIZE_MAX) {
        for (size_t i = 0; i < N; i++) b->anchor[i] = e->anchor[i];
        b->anchor_step = e->anchor_step;
    }
}

/* Where the target wants point i's value, or NULL (no target, or a row not asked for). */
static float *target_slot(const residual_target *target, size_t i) {
    if (!target || (target->row_of && target->row_of[i] == MCI_NO_ROW)) return NULL;
    return &target->out[(target->row_of ? target->row_of[i] : i) * target->stride];
}

/* Writes index qi of point i (or keeps the network value for qi = 0 on a residual stream). */
static void put_index(const residual_target *target, unsigned predictor, size_t i, int64_t qi) {
    float *v = (qi != 0 || (predictor & PREDICT_DATA)) ? target_slot(target, i) : NULL;
    if (v)
        *v = (predictor & PREDICT_DATA) ? data_value(target->origin, qi, target->step) : corrected(*v, qi, target->step);
}

#define INDEX_TOO_LARGE "the reconstructed index is 2^31 or more in magnitude"

/* One step of the time and mesh predictors (predictor bits 0 … 2): base = the previous step's
 * index (NULL: all 0, or no time bit), pred = the mean of the earlier neighbours' y. q may be
 * base itself (updated in place: base[i] is read before q[i] is written). */
static const char *mean_step(const mcinr_model *m, unsigned predictor, stream_reader *r, const int64_t *base,
                             int64_t *q, int64_t *y, const residual_target *target, size_t *point) {
    size_t N = m->mesh_num_points;
    if (r->empty) predictor &= ~PREDICT_MESH; /* every y is 0: so is every prediction */
    for (size_t i = 0; i < N; i++) {
        code cd = {0, 0.0f, 0};
        const char *why = stream_value(m, r, i, &cd);
        if (why) {
            *point = i;
            return why;
        }
        int64_t b = base ? base[i] : 0;
        if (cd.escape) {
            float *v = target_slot(target, i);
            y[i] = -b;
            q[i] = 0;
            if (v) *v = cd.value;
            continue;
        }
        int64_t pred = 0;
        if (predictor & PREDICT_MESH) {
            size_t a = m->residual_nb_start[i], e = m->residual_nb_start[i + 1];
            if (e > a) {
                /* |y| < 2^32 and k ≤ 32: |S| < 2^37 */
                int64_t S = 0, k = (int64_t)(e - a);
                for (size_t n = a; n < e; n++) S += y[m->residual_nb[n]];
                pred = div_round(S, k);
            }
        }
        int64_t yi = cd.q + pred, qi = b + yi; /* |d| < 2^34, |pred| < 2^32, |base| < 2^31 */
        if (qi >= INDEX_LIMIT || qi <= -INDEX_LIMIT) {
            *point = i;
            return INDEX_TOO_LARGE;
        }
        y[i] = yi;
        q[i] = qi;
        put_index(target, predictor, i, qi);
    }
    return NULL;
}

/* A blend stream's prediction at point i (docs/mci-format.md, "Blend predictor"): the K
 * predictions s[] taking part (1/16 units, clamped) weighted by the squared inverse of their
 * mean errors at the earlier neighbours (err: `stride` per point, in the order of s[]),
 * relative to the best one. |Σ ω s| ≤ 7 · 2^20 · 2^36 < 2^59. */
static int64_t blend_prediction(const mcinr_model *m, size_t a, size_t e, const uint32_t *err, size_t stride,
                                const int64_t *s, unsigned K) {
    int64_t E[QUAD_PREDICTIONS] = {0}, kp = e > a ? (int64_t)(e - a) : 1, least = 0, num = 0, den = 0;
    for (size_t n = a; n < e; n++) { /* Σ ≤ 32 · 2^24 */
        const uint32_t *ej = err + (size_t)m->residual_nb[n] * stride;
        for (unsigned p = 0; p < K; p++) E[p] += ej[p];
    }
    /* the quotients ⌊a / b⌋ below have 0 ≤ a < 2^52: those of binary64 division are exact (the
     * gap to the next integer, ≥ 1/b, exceeds half an ulp of a / b), and far cheaper */
    for (unsigned p = 0; p < K; p++) {
        E[p] = (int64_t)((double)E[p] / (double)kp) + BLEND_EPSILON;
        if (p == 0 || E[p] < least) least = E[p];
    }
    for (unsigned p = 0; p < K; p++) {
        int64_t r = E[p] == least ? BLEND_UNIT : (int64_t)((double)(BLEND_UNIT * least) / (double)E[p]);
        int64_t w = r * r; /* the best: 2^20 */
        num += w * s[p];
        den += w;
    }
    return div_round(num, den << PLANE_SHIFT);
}

static int64_t clamp_prediction(int64_t v) { return v > BLEND_CLAMP ? BLEND_CLAMP : v < -BLEND_CLAMP ? -BLEND_CLAMP : v; }

/* One step of the linear predictor (bit 3) of stream k: h[m − 1] the indices m steps back
 * (NULL: all 0 — before the chain's start the weights are 0, checked at open), q this step's,
 * written here point by point (the neighbours j < i of point i are done when it is read);
 * back = t − t0, the steps of the chain before this one; err: the blend's errors (blend
 * streams only). |q| < 2^31, k′ ≤ 32 and |w| ≤ 2^20 keep every term below 2^56 and P below
 * 2^59; with the plane bit (Σ |W| ≤ 2^19 + 16), below 2^60 and 2^62. */
static const char *linear_step(const mcinr_model *m, size_t k, stream_reader *r, int64_t *const h[LINEAR_LAGS],
                               size_t back, int64_t *q, uint32_t *err, const residual_target *target, size_t *point) {
    size_t N = m->mesh_num_points;
    unsigned predictor = m->residual_predictor[k];
    const int32_t *w = m->residual_weights + LINEAR_WEIGHTS * k;
    /* a level that is all 0 adds nothing: its weights are dropped, so it is never read */
    int64_t own[LINEAR_LAGS], nb[LINEAR_LAGS + 1] = {w[LINEAR_LAGS]};
    for (unsigned l = 0; l < LINEAR_LAGS; l++) {
        own[l] = h[l] ? w[l] : 0;
        nb[l + 1] = h[l] ? w[LINEAR_LAGS + 1 + l] : 0;
    }
    /* a blend reads the plane values (and with the quadratic bit the quadratic's) at this step
     * and, with a step before it, the last one, whatever the weights; its predictions s_p take
     * part by the steps the chain has: use[0 … K − 1], and each point's errors are kept in that
     * order */
    int blend = (predictor & PREDICT_BLEND) != 0, quad = (predictor & PREDICT_QUAD) != 0;
    size_t stride = blend_stride(m);
    unsigned use[QUAD_PREDICTIONS], K = 0;
    for (unsigned p = 0; blend && p < QUAD_PREDICTIONS; p++) {
        static const unsigned steps_needed[QUAD_PREDICTIONS] = {0, 0, 1, 1, 2, 0, 1}; /* s₀ … s₆ */
        if ((p < BLEND_PREDICTIONS || quad) && back >= steps_needed[p]) use[K++] = p;
    }
    /* without neighbour weights k′ cancels (⌊(2k′X + Dk′)/2Dk′⌋ = ⌊(2X + D)/2D⌋): k′ = 1, and Nb
     * is not read (nor need it exist) */
    int mesh = blend || nb[0] || nb[1] || nb[2] || nb[3];
    /* built whenever Nb is (a plane stream without neighbour weights reads neither, and the
     * scale then cancels as k′ does) */
    const int32_t *plane = (predictor & PREDICT_PLANE) ? m->residual_plane : NULL;
    for (size_t i = 0; i < N; i++) {
        code cd = {0, 0.0f, 0};
        const char *why = stream_value(m, r, i, &cd);
        if (why) {
            *point = i;
            return why;
        }
        if (cd.escape) {
            float *v = target_slot(target, i);
            q[i] = 0; /* an escape's index is 0, also for the neighbours and steps that read it */
            if (v) *v = cd.value;
            if (blend) memset(err + i * stride, 0, stride * sizeof *err);
            continue;
        }
        size_t a = mesh ? m->residual_nb_start[i] : 0, e = mesh ? m->residual_nb_start[i + 1] : 0;
        /* the scale a of P = a (w·own) + v·S, D = 4096 a: k′ for the sums, 16 for plane values */
        int64_t kp = plane ? (int64_t)1 << PLANE_SHIFT : e > a ? (int64_t)(e - a) : 1, P = 0;
        int64_t R[2] = {0, 0}; /* the plane values at t and t − 1, for the blend */
        for (unsigned l = 0; l < LINEAR_LAGS; l++)
            if (own[l]) P += own[l] * h[l][i];
        P *= kp;
        if (e > a) { /* the sums S_m or plane values, only for the weights that are not 0 */
            for (unsigned l = 0; l <= LINEAR_LAGS; l++) {
                int wanted = blend && l < 2 && back >= l; /* R₀ always, R₁ with a step before */
                if (!nb[l] && !wanted) continue;
                const int64_t *src = l == 0 ? q : h[l - 1];
                int64_t S = 0;
                if (!src) {
                    S = 0; /* a level of zeros */
                } else if (plane) { /* Σ W y in Q16 (|Σ| < 2^51), rounded to 1/16: |S| < 2^40 */
                    for (size_t n = a; n < e; n++) S += (int64_t)plane[n] * src[m->residual_nb[n]];
                    S = div_round(S, PLANE_ROUND);
                } else {
                    for (size_t n = a; n < e; n++) S += src[m->residual_nb[n]];
                }
                P += nb[l] * S;
                if (l < 2) R[l] = S;
            }
        }
        int64_t pred, s[QUAD_PREDICTIONS];
        if (blend) { /* the predictions in 1/16 units (docs/mci-format.md, "Blend predictor") */
            int64_t h1 = h[0] ? h[0][i] : 0, h2 = h[1] ? h[1][i] : 0, all[QUAD_PREDICTIONS], T[2] = {R[0], R[1]};
            all[0] = div_round(P, LINEAR_ONE);
            all[1] = R[0];
            all[2] = h1 * 16;
            all[3] = h1 * 16 + R[0] - R[1];
            all[4] = (2 * h1 - h2) * 16;
            if (quad && m->residual_quad_start[i + 1] > m->residual_quad_start[i]) {
                /* the quadratic values at t and t − 1: Σ V y in Q16 (|Σ| < 2^52), to 1/16 */
                size_t qa = m->residual_quad_start[i], qe = m->residual_quad_start[i + 1];
                for (unsigned l = 0; l < 2; l++) {
                    const int64_t *src = l == 0 ? q : back >= 1 ? h[0] : NULL;
                    int64_t S = 0;
                    for (size_t n = qa; src && n < qe; n++)
                        S += (int64_t)m->residual_quad_weights[n] * src[m->residual_quad_ids[n]];
                    T[l] = div_round(S, PLANE_ROUND);
                }
            }
            all[5] = T[0];
            all[6] = h1 * 16 + T[0] - T[1];
            for (unsigned r = 0; r < K; r++) s[r] = clamp_prediction(all[use[r]]);
            pred = blend_prediction(m, a, e, err, stride, s, K);
        } else {
            pred = div_round(P, LINEAR_ONE * kp);
        }
        int64_t qi = pred + cd.q; /* |pred| < 2^47, |d| < 2^34 */
        if (qi >= INDEX_LIMIT || qi <= -INDEX_LIMIT) {
            *point = i;
            return INDEX_TOO_LARGE;
        }
        q[i] = qi;
        if (blend) { /* |16 q − s| < 2^35 + 2^36 */
            uint32_t *ei = err + i * stride;
            for (unsigned p = 0; p < stride; p++) {
                int64_t x = p < K ? qi * 16 - s[p] : 0;
                if (x < 0) x = -x;
                ei[p] = (uint32_t)(x > BLEND_ERROR_LIMIT ? BLEND_ERROR_LIMIT : x);
            }
        }
        put_index(target, predictor, i, qi);
    }
    return NULL;
}

/* Reconstructs step t of one component's indices (docs/mci-format.md, type 7, Reconstruction)
 * from the values of its stream k, after the chain's earlier steps in b (on return, the levels
 * have moved down a step). With a target, applies the step's residual to it. NULL on success,
 * else what is wrong at point *point.
 * An empty stream of the time or mesh predictor (every d = 0) makes every y 0 (point 0 has no
 * earlier neighbour, and a mean of zeros is 0), so its indices are the base: the previous
 * step's with the time bit, else 0, which are valid already. Without a target it costs nothing
 * (the previous step's buffer, or "all 0", becomes this step's), so a file of empty streams
 * cannot make the open loop over every point of every step. A linear stream whose codes are
 * empty still predicts, so it is reconstructed (and its work charged at open). */
static const char *reconstruct(const mcinr_model *m, size_t k, stream_reader *r, chain_buffers *b,
                               const residual_target *target, size_t *point) {
    unsigned predictor = m->residual_predictor[k];
    int64_t *h[LINEAR_LAGS] = {b->level[0], b->level[1], b->level[2]};
    if (!(predictor & PREDICT_TIME)) h[0] = h[1] = h[2] = NULL; /* a chain starts here */
    if (predictor & PREDICT_ANCHOR) h[2] = b->anchor;          /* loaded by chain_step */
    int64_t *q;
    if (!(predictor & PREDICT_LINEAR) && r->empty && !target) {
        q = h[0];
    } else {
        q = b->buf[0];
        if (b->history) /* a buffer no level points at: at most 3 of the 4 are */
            for (unsigned n = 0; n <= LINEAR_LAGS; n++)
                if (b->buf[n] != h[0] && b->buf[n] != h[1] && b->buf[n] != h[2]) {
                    q = b->buf[n];
                    break;
                }
        const char *why;
        if (predictor & PREDICT_LINEAR) { /* back = t − t0: the blend's predictions by the steps the chain has */
            size_t t = k / m->num_components, back = t - chain_start(m, t, k % m->num_components);
            why = linear_step(m, k, r, h, back, q, b->blend_error, target, point);
        } else {
            why = mean_step(m, predictor, r, h[0], q, b->y, target, point);
        }
        if (why) return why;
    }
    b->level[2] = h[1];
    b->level[1] = h[0];
    b->level[0] = q;
    return NULL;
}

/* Reads stream k, checking that its values end exactly at its end: as the next step of the chain
 * in b (see reconstruct), or with anchor, as a chain start into b->anchor. NULL, or what is
 * wrong at *point (SIZE_MAX: the stream as a whole; for "bytes after its values", *point is how
 * many). raw: max raw_size bytes. */
#define BYTES_AFTER "bytes after its values"
static const char *read_stream(const mcinr_model *m, size_t k, uint8_t *raw, chain_buffers *b,
                               const residual_target *target, int anchor, size_t *point) {
    stream_reader reader;
    const char *why;
    *point = 0;
    if ((why = start_stream(m, k, b->dctx, raw, b->dval, &reader))) {
        *point = SIZE_MAX;
        return why;
    }
    if (anchor) { /* a block's first step: no time bit, no level read */
        unsigned predictor = m->residual_predictor[k];
        int64_t *none[LINEAR_LAGS] = {NULL, NULL, NULL};
        why = (predictor & PREDICT_LINEAR) ? linear_step(m, k, &reader, none, 0, b->anchor, b->blend_error, NULL, point)
                                           : mean_step(m, predictor, &reader, NULL, b->anchor, b->y, NULL, point);
    } else {
        why = reconstruct(m, k, &reader, b, target, point);
    }
    if (why) return why;
    if (stream_left(&reader) != 0) {
        *point = stream_left(&reader);
        return BYTES_AFTER;
    }
    return NULL;
}

/* The step of a stream's anchor (predictor bit 7): the next block's first step. */
static size_t anchor_of(size_t t) { return (t / CHAIN_STEPS + 1) * CHAIN_STEPS; }

/* Stream k as the next step of the chain in b, after its anchor where it reads one (once per
 * chain: b keeps it). NULL, or what is wrong at *point of the stream of step *at (this one or
 * its anchor's). */
static const char *chain_step(const mcinr_model *m, size_t k, uint8_t *raw, chain_buffers *b,
                              const residual_target *target, size_t *at, size_t *point) {
    size_t C = m->num_components, t = k / C;
    *at = t;
    if (m->residual_predictor[k] & PREDICT_ANCHOR) {
        size_t t1 = anchor_of(t);
        if (b->anchor_step != t1) {
            const char *why = read_stream(m, t1 * C + k % C, raw, b, NULL, 1, point);
            if (why) {
                b->anchor_step = SIZE_MAX;
                *at = t1;
                return why;
            }
            b->anchor_step = t1;
        }
    }
    return read_stream(m, k, raw, b, target, 0, point);
}

/* "FILE: section RESIDUAL: stream of step t component c…: why", the message of a chain_step
 * failure, at open or at decode. */
static void stream_error(const char *name, size_t N, size_t t, size_t c, size_t point, const char *why, char *err,
                         size_t err_len) {
    if (strcmp(why, BYTES_AFTER) == 0)
        mci_set_error(err, err_len, "%s: section RESIDUAL: stream of step %zu component %zu has %zu bytes after its %zu "
                      "values", name, t, c, point, N);
    else if (point == SIZE_MAX)
        mci_set_error(err, err_len, "%s: section RESIDUAL: stream of step %zu component %zu: %s", name, t, c, why);
    else
        mci_set_error(err, err_len, "%s: section RESIDUAL: stream of step %zu component %zu, point %zu: %s", name, t, c,
                      point, why);
}

/* What a zstd decompression context takes (about 95 KiB in zstd 1.4 … 1.5), charged per worker. */
#define ZSTD_DCTX_BYTES ((uint64_t)160 << 10)

double mci_residual_estimate(const uint8_t *p, size_t len) {
    if (len < 16) return 0.0;
    uint64_t N = mci_get_le(p, 8);
    uint64_t S = mci_get_le(p + 8, 4) * mci_get_le(p + 12, 4), nonempty = 0;
    size_t pos = 16 + 16 * (size_t)mci_get_le(p + 12, 4);
    for (uint64_t k = 0; k < S && pos <= len && len - pos >= 24; k++, pos += 24) nonempty += mci_get_le(p + pos + 16, 8) != 0;
    return (double)nonempty * (double)N;
}

/* The points' plane weights and quadratic supports at open (geometry alone, the same for every
 * stream): a task per block of GEOMETRY_POINTS points (mci_parallel_run, ctx: the model). A
 * support is written at MCI_QUAD_MAX_SUPPORT · i, its size in quad_start[i + 1], and packed in
 * point order afterwards. */
#define GEOMETRY_POINTS 32u /* small blocks balance the threads; a point's fit outweighs a task's overhead */

static void *geometry_init(void *ctx) { /* mci_quadratic_support's marks (mark[j] = i + 1) */
    const mcinr_model *m = ctx;
    return calloc(m->residual_quad && m->mesh_num_points ? m->mesh_num_points : 1, sizeof(size_t));
}

static void geometry_fini(void *ctx, void *state) {
    (void)ctx;
    free(state);
}

static mcinr_status geometry_task(void *ctx, void *state, size_t index) {
    mcinr_model *m = ctx;
    size_t N = m->mesh_num_points, from = index * GEOMETRY_POINTS, to = N - from > GEOMETRY_POINTS ? from + GEOMETRY_POINTS : N;
    for (size_t i = from; i < to; i++) {
        size_t a = m->residual_nb_start[i], e = m->residual_nb_start[i + 1];
        if (m->residual_plane) mci_plane_weights(m->mesh_points, i, m->residual_nb + a, e - a, m->residual_plane + a);
        if (m->residual_quad)
            m->residual_quad_start[i + 1] = mci_quadratic_support(m->mesh_points, i, m->residual_nb_start, m->residual_nb,
                                                                  state, m->residual_quad_ids + MCI_QUAD_MAX_SUPPORT * i,
                                                                  m->residual_quad_weights + MCI_QUAD_MAX_SUPPORT * i);
    }
    return MCINR_OK;
}

/* Σ s and Σ s (s − 1) / 2 over the cells of s = 2 … 64 points (build_neighbours' work and its
 * lists' bound): exact for a decoded mesh; for MESHC, which the open does not decode, a bound
 * from its chunk table (exact for tets). */
static void cell_incidence(const mcinr_model *m, uint64_t *incidence, uint64_t *pairs) {
    if (m->meshc) {
        mci_meshc_incidence_bound(m, incidence, pairs);
        return;
    }
    *incidence = *pairs = 0;
    for (size_t k = 0; k < m->mesh_num_cells; k++) {
        uint64_t sz = (uint64_t)(m->mesh_offsets[k + 1] - m->mesh_offsets[k]);
        if (sz < MIN_CELL_POINTS || sz > MAX_CELL_POINTS) continue;
        *incidence += sz;
        *pairs += sz * (sz - 1) / 2;
    }
}

/* Nb, then the plane weights and the quadratic supports where streams use them, from the
 * whole mesh, on `threads` threads, progress over [from, to]. MCINR_OK, or MCINR_ERR_NOMEM or
 * MCINR_ERR_ABORTED with nothing kept. */
static mcinr_status build_geometry(mcinr_model *m, size_t threads, mcinr_progress_fn progress, void *user_data,
                                   double from, double to) {
    size_t N = m->mesh_num_points, failed = SIZE_MAX;
    mcinr_status s = MCINR_ERR_NOMEM;
    if (build_neighbours(m) != MCINR_OK) goto fail;
    if (m->residual_uses_plane) {
        size_t entries = m->residual_nb_start[N];
        if (!(m->residual_plane = malloc((entries ? entries : 1) * sizeof(int32_t)))) goto fail;
    }
    if (m->residual_quad) { /* a quadratic stream has the blend and plane bits, so Nb is built */
        m->residual_quad_start = malloc((N + 1) * sizeof(size_t));
        m->residual_quad_ids = malloc((N ? MCI_QUAD_MAX_SUPPORT * N : 1) * sizeof(uint32_t));
        m->residual_quad_weights = malloc((N ? MCI_QUAD_MAX_SUPPORT * N : 1) * sizeof(int32_t));
        if (!m->residual_quad_start || !m->residual_quad_ids || !m->residual_quad_weights) goto fail;
    }
    if (m->residual_plane || m->residual_quad) {
        mci_parallel_for loop = {(N + GEOMETRY_POINTS - 1) / GEOMETRY_POINTS, threads, m, geometry_init, geometry_fini,
                                 geometry_task, progress, user_data, from, to};
        if ((s = mci_parallel_run(&loop, &failed)) != MCINR_OK) goto fail;
        if (m->residual_quad) { /* each support after the one before it; start[i + 1] held its size */
            size_t *start = m->residual_quad_start, used = 0;
            start[0] = 0;
            for (size_t i = 0; i < N; i++) {
                size_t k = start[i + 1], at = MCI_QUAD_MAX_SUPPORT * i; /* used ≤ at: the moves go down */
                memmove(m->residual_quad_ids + used, m->residual_quad_ids + at, k * sizeof(uint32_t));
                memmove(m->residual_quad_weights + used, m->residual_quad_weights + at, k * sizeof(int32_t));
                start[i + 1] = used += k;
            }
        }
    }
    return MCINR_OK;
fail:
    free_geometry(m);
    return s;
}

mcinr_status mci_residual_geometry(const mcinr_model *model, size_t threads, mcinr_progress_fn progress,
                                   void *user_data, double from, double to, char *err, size_t err_len) {
    mcinr_model *m = (mcinr_model *)model; /* built once, under the lock */
    if (!m || !m->has_residual) return MCINR_OK;
    mcinr_status s = mci_mesh_whole(m, threads, NULL, NULL, 0.0, 0.0, err, err_len);
    if (s != MCINR_OK) return s;
    if (pthread_mutex_lock(&m->residual_lock) != 0) {
        mci_set_error(err, err_len, "%s: section RESIDUAL: could not lock the model", m->residual_name);
        return MCINR_ERR_ARGUMENT;
    }
    if (m->residual_geometry_pending) {
        size_t most = m->residual_geometry_threads;
        s = build_geometry(m, threads && threads < most ? threads : most, progress, user_data, from, to);
        m->residual_geometry_pending = s != MCINR_OK;
        if (s == MCINR_ERR_ABORTED)
            mci_set_error(err, err_len, "%s: section RESIDUAL: building the mesh neighbours and supports aborted by "
                          "the progress callback", m->residual_name);
        else if (s != MCINR_OK)
            mci_set_error(err, err_len, "%s: section RESIDUAL: out of memory for the mesh neighbours and supports of "
                          "%zu points", m->residual_name, m->mesh_num_points);
    }
    pthread_mutex_unlock(&m->residual_lock);
    return s;
}

/* The work of reconstructing one stream that has codes or predicts (charged at open). */
static uint64_t stream_work(unsigned predictor, uint64_t raw_size, uint64_t N) {
    uint64_t work = N + raw_size;
    if (predictor & PREDICT_BLEND) work += 4 * BLEND_PREDICTIONS * N; /* the errors' sums */
    if (predictor & PREDICT_QUAD) work += (4 * QUAD_PREDICTIONS + 2 * MCI_QUAD_MAX_SUPPORT) * N;
    return work;
}

/* The open's validation: a task per (component, block of CHAIN_STEPS steps), component-major,
 * reconstructing the block's chain from zero (mci_parallel_run, the decoder's one pattern). */
typedef struct validate_job {
    const mcinr_model *m;
    size_t blocks, max_raw;
    int uses_range, uses_linear, uses_blend, uses_anchor;
} validate_job;

typedef struct validate_state {
    uint8_t *raw;
    chain_buffers chain;
} validate_state;

static void validate_fini(void *ctx, void *state) {
    (void)ctx;
    validate_state *st = state;
    if (!st) return;
    free(st->raw);
    chain_buffers_free(&st->chain);
    free(st);
}

static void *validate_init(void *ctx) {
    const validate_job *job = ctx;
    validate_state *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->raw = malloc(job->max_raw ? job->max_raw : 1);
    if (!st->raw || chain_buffers_alloc(&st->chain, job->m->mesh_num_points, job->uses_range, job->uses_linear,
                                         job->uses_blend ? blend_stride(job->m) : 0, job->uses_anchor)) {
        validate_fini(ctx, st);
        return NULL;
    }
    return st;
}

/* Task `index`: NULL when its block is valid, else what is wrong, at *step and *point. */
static const char *validate_block(const validate_job *job, validate_state *st, size_t index, size_t *step,
                                  size_t *point) {
    const mcinr_model *m = job->m;
    size_t C = m->num_components, c = index / job->blocks, first = (index % job->blocks) * CHAIN_STEPS;
    size_t last = first + CHAIN_STEPS < m->num_times ? first + CHAIN_STEPS : m->num_times;
    chain_restart(&st->chain);
    for (size_t t = first; t < last; t++) {
        const char *why = chain_step(m, t * C + c, st->raw, &st->chain, NULL, step, point);
        if (why) return why;
    }
    return NULL;
}

static mcinr_status validate_task(void *ctx, void *state, size_t index) {
    size_t step, point;
    return validate_block(ctx, state, index, &step, &point) ? MCINR_ERR_FORMAT : MCINR_OK;
}

mcinr_status mci_parse_residual(const char *name, const uint8_t *p, size_t len, mcinr_model *m,
                                const mci_open_ctx *oc, double from, double to, char *err, size_t err_len) {
#define FAIL(status, ...)                                                                                     \
    do {                                                                                                      \
        char what_[700];                                                                                      \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                                           \
        mci_set_error(err, err_len, "%s: section RESIDUAL: %s", name, what_);                                 \
        st = (status);                                                                                        \
        goto done;                                                                                            \
    } while (0)
#define CHARGE(memory, amount, what)                                                                          \
    do {                                                                                                      \
        char msg_[600];                                                                                       \
        if (mci_budget_charge(oc->budget, (memory), (amount), (what), msg_, sizeof msg_))                    \
            FAIL(MCINR_ERR_LIMIT, "%s", msg_);                                                                \
    } while (0)
    mcinr_status st = MCINR_OK;
    const size_t entry = 24u; /* bytes per stream table entry */
    if (!m->has_mesh) {
        mci_set_error(err, err_len, "%s: section RESIDUAL: present, but the file has no MESH section (residuals are "
                      "stored at the mesh points)", name);
        return MCINR_ERR_FORMAT;
    }
    if (len < 16) FAIL(MCINR_ERR_FORMAT, "truncated in the header (%zu bytes)", len);
    uint64_t N = mci_get_le(p, 8);
    uint32_t T = (uint32_t)mci_get_le(p + 8, 4), C = (uint32_t)mci_get_le(p + 12, 4);
    if (N != m->mesh_num_points)
        FAIL(MCINR_ERR_FORMAT, "holds %llu points, the mesh has %zu", (unsigned long long)N, m->mesh_num_points);
    if (T != m->num_times) FAIL(MCINR_ERR_FORMAT, "holds %u time steps, META has %zu", T, m->num_times);
    if (C != m->num_components) FAIL(MCINR_ERR_FORMAT, "holds %u components, META has %zu", C, m->num_components);
    size_t pos = 16;
    if ((uint64_t)C * 16u > len - pos) FAIL(MCINR_ERR_FORMAT, "truncated in the error bounds of %u components", C);
    /* T·C ≤ 1e7 · 2^20 fits 64 bits; each table entry needs 24 bytes of the payload. */
    uint64_t S = (uint64_t)T * C;
    if (S > (len - pos - (size_t)C * 16u) / entry)
        FAIL(MCINR_ERR_FORMAT, "the table of %llu streams does not fit in the %zu remaining bytes", (unsigned long long)S,
             len - pos - (size_t)C * 16u);
    CHARGE(1, (uint64_t)C * 16u + S * 26u, "the stream table");
    m->residual_max_error = malloc(C * sizeof(double));
    m->residual_step = malloc(C * sizeof(double));
    m->residual_raw_size = malloc((size_t)S * sizeof(uint64_t));
    m->residual_stream_offset = malloc((size_t)S * sizeof(uint64_t));
    m->residual_stream_size = malloc((size_t)S * sizeof(uint64_t));
    m->residual_predictor = malloc((size_t)S);
    m->residual_coder = malloc((size_t)S);
    if (!m->residual_max_error || !m->residual_step || !m->residual_raw_size || !m->residual_stream_offset ||
        !m->residual_stream_size || !m->residual_predictor || !m->residual_coder)
        FAIL(MCINR_ERR_NOMEM, "out of memory for %llu streams", (unsigned long long)S);
    for (uint32_t c = 0; c < C; c++, pos += 16) {
        double e = mci_get_f64(p + pos), s = mci_get_f64(p + pos + 8);
        if (!isfinite(e) || !(e > 0.0))
            FAIL(MCINR_ERR_FORMAT, "component %u has error bound %g (must be finite and > 0)", c, e);
        if (!isfinite(s) || !(s > 0.0) || s > 2.0 * e)
            FAIL(MCINR_ERR_FORMAT, "component %u has bin width %g (must be > 0 and <= 2 × the bound %g)", c, s, e);
        m->residual_max_error[c] = e;
        m->residual_step[c] = s;
    }
    uint64_t total = 0, max_raw = 0, work = 0, nonempty = 0;
    int uses_mesh = 0, uses_range = 0, uses_linear = 0, uses_plane = 0, uses_blend = 0, uses_anchor = 0;
    /* a raw stream holds N values of 1 … 8 bytes */
    uint64_t raw_limit = N > UINT64_MAX / MAX_BYTES_PER_VALUE ? UINT64_MAX : N * MAX_BYTES_PER_VALUE;
    for (uint64_t k = 0; k < S; k++, pos += entry) {
        unsigned step = (unsigned)(k / C), comp = (unsigned)(k % C);
        uint64_t raw_size, size;
        unsigned predictor = p[pos];
        if ((predictor & PREDICT_LINEAR) && (predictor & PREDICT_MESH))
            FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u has predictor %u: the linear predictor (bit 3) with "
                 "the mesh bit (bit 1), which it replaces (" ALLOWED_PREDICTORS ")", step, comp, predictor);
        if ((predictor & PREDICT_PLANE) && !(predictor & PREDICT_LINEAR))
            FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u has predictor %u: the plane bit (bit 4) without the "
                 "linear predictor (bit 3), whose neighbour sums it replaces (" ALLOWED_PREDICTORS ")", step, comp,
                 predictor);
        if ((predictor & PREDICT_BLEND) && !(predictor & PREDICT_PLANE))
            FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u has predictor %u: the blend bit (bit 5) without the "
                 "plane bit (bit 4), whose predictions it blends (" ALLOWED_PREDICTORS ")", step, comp, predictor);
        if ((predictor & PREDICT_QUAD) && !(predictor & PREDICT_BLEND))
            FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u has predictor %u: the quadratic bit (bit 6) without "
                 "the blend bit (bit 5), which weighs its predictions (" ALLOWED_PREDICTORS ")", step, comp, predictor);
        if ((predictor & PREDICT_ANCHOR) && (predictor & (PREDICT_TIME | PREDICT_LINEAR)) != (PREDICT_TIME | PREDICT_LINEAR))
            FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u has predictor %u: the anchor bit (bit 7) without the "
                 "time bit (bit 0) and the linear predictor (bit 3), whose level h3 it replaces (" ALLOWED_PREDICTORS ")",
                 step, comp, predictor);
        if ((predictor & PREDICT_ANCHOR) && anchor_of(step) >= T)
            FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u has the anchor bit (bit 7), but its anchor, step %zu, "
                 "is past the last step (%u steps)", step, comp, anchor_of(step), T);
        uses_anchor |= (predictor & PREDICT_ANCHOR) != 0;
        uses_plane |= (predictor & PREDICT_PLANE) != 0;
        uses_blend |= (predictor & PREDICT_BLEND) != 0;
        m->residual_quad |= (predictor & PREDICT_QUAD) != 0;
        if (step == 0 && (predictor & PREDICT_TIME))
            FAIL(MCINR_ERR_FORMAT, "stream of step 0 component %u predicts from the previous step (predictor %u)",
                 comp, predictor);
        if (step % CHAIN_STEPS == 0 && (predictor & PREDICT_TIME))
            FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u predicts from the previous step (predictor %u), but "
                 "every prediction chain restarts at the multiples of %u steps (docs/mci-format.md, RESIDUAL)", step,
                 comp, predictor, CHAIN_STEPS);
        /* the previous step's indices must quantise the same thing (data or residual) */
        if ((predictor & PREDICT_TIME) && ((predictor ^ m->residual_predictor[k - C]) & PREDICT_DATA))
            FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u predicts from the previous step, whose stream "
                 "quantises the %s", step, comp, (predictor & PREDICT_DATA) ? "residual, not the data" : "data, not the residual");
        unsigned coder = p[pos + 1];
        if (coder != CODER_ZSTD && coder != CODER_RANGE && coder != CODER_RANGE_SIGNS)
            FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u has unknown coder %u (allowed 0 zstd, 1 range "
                 "coder, 2 range coder with sign contexts)", step, comp, coder);
        m->residual_predictor[k] = (uint8_t)predictor;
        m->residual_coder[k] = (uint8_t)coder;
        raw_size = mci_get_le(p + pos + 8, 8);
        uint64_t stored = mci_get_le(p + pos + 16, 8);
        /* a linear stream's weights come first; the coder's rules are those of the codes after them */
        size = stored;
        if (predictor & PREDICT_LINEAR) {
            if (stored < LINEAR_BYTES)
                FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u: linear predictor (bit 3) in %llu bytes (at "
                     "least %u: its %u weights)", step, comp, (unsigned long long)stored, LINEAR_BYTES, LINEAR_WEIGHTS);
            size = stored - LINEAR_BYTES;
            uses_linear = 1;
        }
        if (coder != CODER_ZSTD && size != 0) { /* an empty stream is all d = 0 whatever the coder */
            if (raw_size != 0)
                FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u: range-coded, but declares %llu "
                     "decompressed bytes (must be 0)", step, comp, (unsigned long long)raw_size);
            if (size < RC_INIT_BYTES)
                FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u: range-coded in %llu bytes (at least 5)",
                     step, comp, (unsigned long long)size);
            uses_range = 1;
        }
        if (size == 0 || coder != CODER_ZSTD) {
            if (raw_size != 0)
                FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u is empty but declares %llu bytes", step, comp,
                     (unsigned long long)raw_size);
        } else {
            /* a zstd frame's content size is checked against its header when it is decompressed */
            if (raw_size < N || raw_size > raw_limit || raw_size > SIZE_MAX)
                FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u declares %llu bytes from %llu compressed bytes "
                     "for %llu values", step, comp, (unsigned long long)raw_size, (unsigned long long)size,
                     (unsigned long long)N);
        }
        if (stored > UINT64_MAX - total) FAIL(MCINR_ERR_FORMAT, "stream sizes overflow");
        /* empty streams cost nothing to validate, and need no neighbours; a linear one predicts
         * even without codes (its neighbours: below, from its weights) */
        if (size != 0 || (predictor & PREDICT_LINEAR)) {
            uses_mesh |= (predictor & (PREDICT_MESH | PREDICT_BLEND)) != 0; /* a blend reads Nb always */
            nonempty++;
            work += stream_work(predictor, raw_size, N); /* < 2^64: N and raw_size are bounded by the mesh */
        }
        m->residual_raw_size[k] = raw_size;
        m->residual_stream_offset[k] = total + (stored - size); /* the codes */
        m->residual_stream_size[k] = size;
        total += stored;
        if (raw_size > max_raw) max_raw = raw_size;
    }
    if (total != len - pos)
        FAIL(MCINR_ERR_FORMAT, "the streams take %llu bytes, but %zu remain", (unsigned long long)total, len - pos);
    if (uses_anchor) /* each anchor quantises what its streams do, and is read once more per block that reads it */
        for (uint64_t k = 0; k < S; k++) {
            unsigned predictor = m->residual_predictor[k], step = (unsigned)(k / C), comp = (unsigned)(k % C);
            if (!(predictor & PREDICT_ANCHOR)) continue;
            uint64_t k1 = anchor_of(step) * (uint64_t)C + comp;
            if ((predictor ^ m->residual_predictor[k1]) & PREDICT_DATA)
                FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u has the anchor bit (bit 7), but the stream of its "
                     "anchor, step %zu, quantises the %s", step, comp, anchor_of(step),
                     (predictor & PREDICT_DATA) ? "residual, not the data" : "data, not the residual");
            int first_in_block = 1; /* no earlier stream of the component in this block reads it */
            for (unsigned s = step / CHAIN_STEPS * CHAIN_STEPS; s < step && first_in_block; s++)
                first_in_block = !(m->residual_predictor[(uint64_t)s * C + comp] & PREDICT_ANCHOR);
            if (first_in_block) work += stream_work(m->residual_predictor[k1], m->residual_raw_size[k1], N);
        }
    if (uses_linear) { /* the linear streams' weights, now that every predictor (the chains) is known */
        static const char *const names[LINEAR_WEIGHTS] = {"w1", "w2", "w3", "v0", "v1", "v2", "v3"};
        CHARGE(1, S * LINEAR_BYTES, "the linear predictors' weights");
        m->residual_weights = calloc((size_t)S * LINEAR_WEIGHTS, sizeof(int32_t));
        if (!m->residual_weights)
            FAIL(MCINR_ERR_NOMEM, "out of memory for the weights of %llu streams", (unsigned long long)S);
        m->residual_linear = 1;
        for (uint64_t k = 0; k < S; k++) {
            if (!(m->residual_predictor[k] & PREDICT_LINEAR)) continue;
            unsigned step = (unsigned)(k / C), comp = (unsigned)(k % C);
            /* steps before the chain's start t0 are another chain's: their weights must be 0 */
            size_t back = step - chain_start(m, step, comp); /* t − t0 */
            const uint8_t *q = p + pos + m->residual_stream_offset[k] - LINEAR_BYTES;
            int32_t *w = m->residual_weights + LINEAR_WEIGHTS * k;
            for (unsigned j = 0; j < LINEAR_WEIGHTS; j++) {
                w[j] = (int32_t)(uint32_t)mci_get_le(q + 4 * j, 4);
                unsigned lag = j < LINEAR_LAGS ? j + 1 : j - LINEAR_LAGS; /* w_m, v_m read step t − m */
                if (w[j] > LINEAR_WEIGHT_LIMIT || w[j] < -LINEAR_WEIGHT_LIMIT)
                    FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u: linear predictor weight %s is %ld (allowed "
                         "-2^20 ... 2^20, Q12)", step, comp, names[j], (long)w[j]);
                int anchored = (m->residual_predictor[k] & PREDICT_ANCHOR) && lag == LINEAR_LAGS; /* h3: the anchor */
                if (w[j] != 0 && lag > back && !anchored)
                    FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u: linear predictor weight %s is %ld, but it "
                         "reads the step %u back, before the start of its prediction chain (%zu steps back%s); it must "
                         "be 0",
                         step, comp, names[j], (long)w[j], lag, back,
                         (m->residual_predictor[k] & PREDICT_TIME) ? "" : ": the stream lacks the time bit");
                if (w[j] != 0 && j >= LINEAR_LAGS) uses_mesh = 1; /* a neighbour weight reads Nb */
            }
        }
    }
    /* the work and memory ahead, charged before any of it is done */
    {
        char what[160];
        snprintf(what, sizeof what, "validating %llu non-empty streams of %llu values each", (unsigned long long)nonempty,
                 (unsigned long long)N);
        CHARGE(0, work, what);
    }
    /* the range coder's contexts read Nb(i) whatever the predictor */
    int need_neighbours = uses_mesh || uses_range;
    size_t geometry_threads = 1;
    if (need_neighbours) {
        /* work Σ s² over the cells of 2 … 64 points; memory: the incidence lists, marks, and the
         * lists themselves (at most the pairs Σ s (s − 1) / 2, at most 32 N, and the growth) */
        uint64_t incidence, pairs;
        cell_incidence(m, &incidence, &pairs);
        uint64_t lists = 2 * pairs > N ? 2 * pairs : N;
        if (lists < 64) lists = 64;
        if (lists > MAX_NEIGHBOURS * N) lists = MAX_NEIGHBOURS * N;
        CHARGE(0, incidence * MAX_CELL_POINTS, "building the mesh neighbours");
        CHARGE(1, 2 * 8 * (N + 1) + 8 * incidence + 12 * N + 4 * lists, "the mesh neighbour lists");
        if (m->residual_nb_least) { /* Nb′: ≤ 32 lookups per pair of Σ s², lists of up to 32 N */
            CHARGE(0, MAX_NEIGHBOURS * incidence * MAX_CELL_POINTS, "extending the mesh neighbours (section NEIGHBOURS)");
            CHARGE(1, 8 * (N + 1) + 4 * N + 4 * (uint64_t)MAX_NEIGHBOURS * N, "the extended mesh neighbour lists");
            lists = MAX_NEIGHBOURS * N;
        }
        if (uses_plane) {
            CHARGE(0, 64 * (N + lists), "the plane predictor's weights");
            CHARGE(1, 4 * lists, "the plane predictor's weights");
        }
        if (m->residual_quad) { /* U(i) ≤ 32 · 33 candidates, a 10-term fit over ≤ 24 points */
            CHARGE(0, 4096 * N, "the quadratic predictor's supports");
            CHARGE(1, 8 * (N + 1) + 8 * MCI_QUAD_MAX_SUPPORT * N + 8 * N, "the quadratic predictor's supports");
        }
    }
    CHARGE(1, total, "the residual streams");
    /* a worker building the supports marks U(i) in an array of N of its own: as many threads as
     * the budget holds once the streams are charged (so whether a file opens does not depend on
     * the thread count) */
    while (need_neighbours && geometry_threads < oc->threads && geometry_threads * GEOMETRY_POINTS < N &&
           (!m->residual_quad || mci_budget_charge(oc->budget, 1, 8 * (uint64_t)N, "", NULL, 0) == 0))
        geometry_threads++;
    m->residual_streams = malloc(total ? (size_t)total : 1);
    if (!m->residual_streams) FAIL(MCINR_ERR_NOMEM, "out of memory for %llu bytes", (unsigned long long)total);
    memcpy(m->residual_streams, p + pos, (size_t)total);
    m->residual_uses_plane = need_neighbours && uses_plane;
    m->residual_geometry_threads = geometry_threads;
    m->residual_geometry_pending = need_neighbours;
    if (need_neighbours && oc->validate_residual) { /* the validation reads them (the mesh is decoded) */
        if (build_geometry(m, geometry_threads, NULL, NULL, 0.0, 0.0) != MCINR_OK)
            FAIL(MCINR_ERR_NOMEM, "out of memory for the neighbours and supports of %llu points", (unsigned long long)N);
        m->residual_geometry_pending = 0;
    }
    if (oc->validate_residual) {
        /* the chains: a task per component and block of CHAIN_STEPS steps; each worker needs
         * its own buffers, so the threads are as many as the budget holds (at least one: whether
         * the file opens does not depend on the thread count) */
        validate_job job = {m, (T + CHAIN_STEPS - 1) / CHAIN_STEPS, (size_t)max_raw, uses_range, uses_linear, uses_blend,
                            uses_anchor};
        /* q and y, the differences for the range coder, three more steps for the linear predictor, the
         * blend's errors, the anchor */
        uint64_t per_worker = (16u + (uses_range ? 8u : 0u) + (uses_linear ? 24u : 0u) + (uses_blend ? 4 * blend_stride(m) : 0u) +
                               (uses_anchor ? 8u : 0u)) * N + max_raw + ZSTD_DCTX_BYTES;
        size_t tasks = (size_t)C * job.blocks, failed = SIZE_MAX, threads = 1;
        CHARGE(1, per_worker, "the buffers of the residual validation");
        while (threads < oc->threads && threads < tasks &&
               mci_budget_charge(oc->budget, 1, per_worker, "", NULL, 0) == 0)
            threads++;
        mci_parallel_for loop = {nonempty ? tasks : 0, threads, &job, validate_init, validate_fini, validate_task,
                                 oc->progress, oc->user_data, from, to};
        st = mci_parallel_run(&loop, &failed);
        if (st == MCINR_ERR_ABORTED) {
            mci_set_error(err, err_len, "%s: opening aborted by the progress callback (validating the RESIDUAL section)",
                          name);
            goto done;
        }
        if (st == MCINR_ERR_NOMEM && failed == SIZE_MAX)
            FAIL(MCINR_ERR_NOMEM, "out of memory for the validation buffers of %llu points", (unsigned long long)N);
        if (st != MCINR_OK) { /* the lowest failed task again, on this thread, for its message */
            validate_state *vs = validate_init(&job);
            size_t step = 0, point = 0;
            const char *why = vs ? validate_block(&job, vs, failed, &step, &point) : NULL;
            validate_fini(&job, vs);
            if (!why) FAIL(MCINR_ERR_NOMEM, "out of memory for the validation buffers of %llu points", (unsigned long long)N);
            stream_error(name, (size_t)N, step, failed / job.blocks, point, why, err, err_len);
            st = MCINR_ERR_FORMAT;
            goto done;
        }
    }
    if (!(m->residual_name = strdup(name))) FAIL(MCINR_ERR_NOMEM, "out of memory");
    if (pthread_mutex_init(&m->residual_lock, NULL) != 0) FAIL(MCINR_ERR_NOMEM, "could not create a lock");
    m->residual_cache = chain_cache_new(C);
    m->residual_bytes = len;
    m->has_residual = 1;
done:
    return st;
#undef CHARGE
#undef FAIL
}

/* The stored step whose time equals `time` exactly, or -1. */
static long find_step(const mcinr_model *m, double time) {
    size_t lo = 0, hi = m->num_times;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->times[mid] < time) lo = mid + 1;
        else hi = mid;
    }
    return lo < m->num_times && m->times[lo] == time ? (long)lo : -1;
}

/* Data streams: origin + q · step in the same arithmetic as corrected(). */
static float data_value(double origin, int64_t q, double step) {
    volatile double scaled = (double)q * step;
    double v = origin + scaled;
    if (v > (double)FLT_MAX) return HUGE_VALF;
    if (v < -(double)FLT_MAX) return -HUGE_VALF;
    return (float)v;
}

/* q · step and the sum are separate double roundings (no fused multiply-add), as the format
 * specifies; the encoder reproduces exactly this arithmetic. */
static float corrected(float network, int64_t q, double step) {
    volatile double correction = (double)q * step;
    double v = (double)network + correction;
    if (v > (double)FLT_MAX) return HUGE_VALF; /* a conversion out of range would be undefined */
    if (v < -(double)FLT_MAX) return -HUGE_VALF;
    return (float)v;
}

/* The first step of the time chain that ends at step t of component c: the latest t0 ≤ t
 * whose predictor lacks the time bit (step 0 always does). */
static size_t chain_start(const mcinr_model *m, size_t t, size_t c) {
    while (t > 0 && (m->residual_predictor[t * m->num_components + c] & PREDICT_TIME)) t--;
    return t;
}

/* The anchor step that the chain up to step t of component c reads (a stream with the anchor
 * bit among its steps), or SIZE_MAX. */
static size_t chain_anchor(const mcinr_model *m, size_t t, size_t c) {
    for (size_t s = chain_start(m, t, c); s <= t; s++)
        if (m->residual_predictor[s * m->num_components + c] & PREDICT_ANCHOR) return anchor_of(s);
    return SIZE_MAX;
}

/* Multiply-add equivalents (decode.c's unit of progress weight) per reconstructed index: what
 * one index of a zstd or range-coded chain costs next to one multiply-add of the network
 * evaluation, roughly (800 … 2200 measured on a 33k-point model of random indices from
 * tools/make_test_mci.py; only the progress bar depends on it). */
#define COST_PER_INDEX 1000.0

/* What went wrong in an applying task: the stream's step, the point and why (chain_step). */
typedef struct apply_failure {
    const char *why;
    size_t step, point;
} apply_failure;

/* The applying decode of one step: a task per requested component (mci_parallel_run), each
 * writing only its own output column. */
typedef struct apply_job {
    const mcinr_model *m;
    size_t t, nc, max_raw;
    const size_t *components;
    float *out;
    int uses_range, uses_linear, uses_blend, uses_anchor;
    const uint32_t *row_of;
    apply_failure *failure; /* per requested component, written by its task only */
} apply_job;

typedef struct apply_state {
    uint8_t *raw;
    chain_buffers chain;
} apply_state;

static void apply_fini(void *ctx, void *state) {
    (void)ctx;
    apply_state *st = state;
    if (!st) return;
    free(st->raw);
    chain_buffers_free(&st->chain);
    free(st);
}

static void *apply_init(void *ctx) {
    const apply_job *job = ctx;
    apply_state *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->raw = malloc(job->max_raw);
    if (!st->raw || chain_buffers_alloc(&st->chain, job->m->mesh_num_points, job->uses_range, job->uses_linear,
                                         job->uses_blend ? blend_stride(job->m) : 0, job->uses_anchor)) {
        apply_fini(ctx, st);
        return NULL;
    }
    return st;
}

/* Component r of the request: reconstructs its time chain up to step t and applies step t.
 * Every stream it reads is checked (chain_step): MCINR_ERR_FORMAT and job->failure[r] when one
 * is malformed. */
static mcinr_status apply_task(void *ctx, void *state, size_t r) {
    const apply_job *job = ctx;
    apply_state *st = state;
    const mcinr_model *m = job->m;
    size_t C = m->num_components, c = job->components ? job->components[r] : r;
    residual_target target = {job->out + r, job->nc, job->row_of, m->residual_step[c], m->range_min[c]};
    size_t N = m->mesh_num_points, s = chain_start(m, job->t, c);
    chain_buffers *b = &st->chain;
    /* the chain from what the last decode of c left, when it lies in this chain up to t */
    cached_chain *e = chain_cache_take(m->residual_cache, c);
    int repeat = 0;
    if (e && e->t >= s && e->t <= job->t && (e->history || !b->history)) {
        repeat = e->t == job->t;
        s = repeat ? e->t : e->t + 1;
        chain_cache_restore(b, e, s, N);
    } else {
        chain_restart(b);
    }
    for (; s <= job->t; s++) {
        size_t point, at;
        if (s == job->t && !repeat) { /* keep the steps this one reads, for a repeat */
            e = chain_cache_entry(m->residual_cache, e, N, b->history, b->anchor != NULL);
            for (unsigned n = 0; e && n < (b->history ? LINEAR_LAGS : 1u); n++) chain_cache_put(e, n + 1, b->level[n], N);
        }
        const char *why = chain_step(m, s * C + c, st->raw, b, s == job->t ? &target : NULL, &at, &point);
        if (why) {
            job->failure[r] = (apply_failure){why, at, point};
            chain_cache_drop(m->residual_cache, e);
            return MCINR_ERR_FORMAT;
        }
    }
    if (e && !repeat) {
        e->t = job->t;
        chain_cache_put(e, 0, b->level[0], N);
        chain_cache_put_anchor(e, b, N);
    }
    chain_cache_give(m->residual_cache, c, e);
    return MCINR_OK;
}

double mci_residual_cost(const mcinr_model *m, double time, const size_t *components, size_t num_components) {
    if (!m->has_residual) return 0.0;
    long t = find_step(m, time);
    if (t < 0) return 0.0;
    size_t nc = components ? num_components : m->num_components, indices = 0;
    for (size_t r = 0; r < nc; r++) {
        size_t c = components ? components[r] : r;
        indices += (size_t)t + 1 - chain_start(m, (size_t)t, c) + (chain_anchor(m, (size_t)t, c) != SIZE_MAX);
    }
    /* > 0 whenever it applies (even all-empty streams are visited) */
    return COST_PER_INDEX * (double)(indices ? indices : 1) * (double)(m->mesh_num_points ? m->mesh_num_points : 1);
}

mcinr_status mci_apply_residual(const mcinr_model *m, double time, const size_t *components, size_t num_components,
                                float *out, size_t threads, mcinr_progress_fn progress, void *user_data, double from,
                                double to, char *err, size_t err_len) {
    return mci_apply_residual_rows(m, time, components, num_components, NULL, out, threads, progress, user_data, from,
                                   to, err, err_len);
}

mcinr_status mci_apply_residual_rows(const mcinr_model *m, double time, const size_t *components,
                                     size_t num_components, const uint32_t *row_of, float *out, size_t threads,
                                     mcinr_progress_fn progress, void *user_data, double from, double to, char *err,
                                     size_t err_len) {
    if (!m->has_residual) return MCINR_OK;
    long t = find_step(m, time);
    if (t < 0) return MCINR_OK;
    mcinr_status s0 = mci_residual_geometry(m, threads, progress, user_data, from, from, err, err_len);
    if (s0 != MCINR_OK) return s0;
    size_t C = m->num_components, nc = components ? num_components : C, max_raw = 1;
    int uses_range = 0, uses_linear = 0, uses_blend = 0, uses_anchor = 0;
    for (size_t r = 0; r < nc; r++) {
        size_t c = components ? components[r] : r, anchor = chain_anchor(m, (size_t)t, c);
        uses_anchor |= anchor != SIZE_MAX;
        size_t first = chain_start(m, (size_t)t, c), steps = (size_t)t + 1 - first + (anchor != SIZE_MAX);
        for (size_t n = 0; n < steps; n++) { /* the chain, then its anchor */
            size_t k = (first + n <= (size_t)t ? first + n : anchor) * C + c;
            if (m->residual_raw_size[k] > max_raw) max_raw = (size_t)m->residual_raw_size[k];
            uses_range |= m->residual_coder[k] != CODER_ZSTD && m->residual_stream_size[k] != 0;
            uses_linear |= (m->residual_predictor[k] & PREDICT_LINEAR) != 0; /* reads the chain's last 3 steps */
            uses_blend |= (m->residual_predictor[k] & PREDICT_BLEND) != 0;
        }
    }
    apply_failure *failure = calloc(nc ? nc : 1, sizeof *failure);
    if (!failure) {
        mci_set_error(err, err_len, "mcinr_decode_mesh: out of memory for the residual");
        return MCINR_ERR_NOMEM;
    }
    apply_job job = {m, (size_t)t, nc, max_raw, components, out, uses_range, uses_linear, uses_blend, uses_anchor,
                     row_of, failure};
    mci_parallel_for loop = {nc, threads, &job, apply_init, apply_fini, apply_task, progress, user_data, from, to};
    size_t failed = SIZE_MAX;
    mcinr_status s = mci_parallel_run(&loop, &failed);
    if (s == MCINR_ERR_ABORTED)
        mci_set_error(err, err_len, "mcinr_decode_mesh: aborted by the progress callback (adding the residual)");
    else if (s == MCINR_ERR_FORMAT) /* the lowest failed component's first malformed stream */
        stream_error(m->residual_name, m->mesh_num_points, failure[failed].step,
                     components ? components[failed] : failed, failure[failed].point, failure[failed].why, err, err_len);
    else if (s != MCINR_OK)
        mci_set_error(err, err_len, "mcinr_decode_mesh: out of memory for the residual (%zu bytes per thread)",
                      max_raw + ((uses_linear ? 6 : 3) + (uses_anchor ? 1 : 0)) * m->mesh_num_points * sizeof(int64_t) +
                          (uses_blend ? blend_stride(m) * m->mesh_num_points * sizeof(uint32_t) : 0));
    free(failure);
    return s;
}

size_t mci_residual_replaces(const mcinr_model *m, double time, const size_t *components, size_t num_components,
                             unsigned char *replaced) {
    size_t nc = components ? num_components : m->num_components, count = 0;
    long t = m->has_residual ? find_step(m, time) : -1;
    for (size_t r = 0; r < nc; r++) {
        size_t c = components ? components[r] : r;
        replaced[r] = t >= 0 && (m->residual_predictor[(size_t)t * m->num_components + c] & PREDICT_DATA);
        count += replaced[r];
    }
    return count;
}

int mcinr_has_residual(const mcinr_model *m) { return m && m->has_residual; }

mcinr_status mcinr_residual_max_error(const mcinr_model *m, size_t component, double *max_error) {
    if (!m || !m->has_residual || component >= m->num_components) return MCINR_ERR_ARGUMENT;
    if (max_error) *max_error = m->residual_max_error[component];
    return MCINR_OK;
}

uint64_t mcinr_residual_bytes(const mcinr_model *m) { return m && m->has_residual ? m->residual_bytes : 0; }

int mcinr_residual_applies(const mcinr_model *m, double time) {
    return m && m->has_residual && find_step(m, time) >= 0;
}
