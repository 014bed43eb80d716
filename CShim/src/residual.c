/* The RESIDUAL section (docs/mci-format.md): quantised residuals at the embedded mesh points
 * that make mcinr_decode_mesh error-bounded at the stored time steps.
 *
 * Everything is validated at open (every stream inflated and every code checked), so applying
 * the residual at decode time can only fail for lack of memory. Only the compressed streams
 * stay in memory; a decode inflates the streams of its step and requested components. */
#include "mcinr_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_DEFLATE_RATIO 1032u /* zlib's best case; a larger claim cannot be genuine */
#define MAX_VARINT_BYTES 8u
#define MAX_CODE ((uint64_t)1 << 54) /* zigzag(q) + 1, so -2^53 <= q < 2^53: exact in a double */
#define MAX_BYTES_PER_VALUE 8u       /* an 8-byte varint; an escape takes 1 + 4 */

static uint64_t get_le(const uint8_t *q, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | q[i];
    return v;
}

static double get_f64(const uint8_t *q) {
    uint64_t u = get_le(q, 8);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static float get_f32(const uint8_t *q) {
    uint32_t u = (uint32_t)get_le(q, 4);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}


/* One coded value: an escape (exact float) or a quantisation index q. */
typedef struct code {
    int escape;
    float value;
    int64_t q;
} code;

/* Reads the next value of a raw stream at *pos. 0 on success, else a static description. */
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
    if (u > MAX_CODE) return "a code exceeds 2^54 (an index beyond 2^53)";
    uint64_t z = u - 1;
    out->escape = 0;
    /* zigzag: 0, -1, 1, -2, ... ; |q| <= 2^53 so the conversions are exact */
    out->q = (z & 1u) ? -(int64_t)(z >> 1) - 1 : (int64_t)(z >> 1);
    return NULL;
}

void mci_free_residual(mcinr_model *m) {
    free(m->residual_max_error);
    free(m->residual_step);
    free(m->residual_raw_size);
    free(m->residual_stream_offset);
    free(m->residual_stream_size);
    free(m->residual_streams);
}

mcinr_status mci_parse_residual(const char *name, const uint8_t *p, size_t len, mcinr_model *m, char *err,
                                size_t err_len) {
#define FAIL(status, ...)                                                                                     \
    do {                                                                                                      \
        char what_[400];                                                                                      \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                                           \
        mci_set_error(err, err_len, "%s: section RESIDUAL: %s", name, what_);                                 \
        st = (status);                                                                                        \
        goto done;                                                                                            \
    } while (0)
    mcinr_status st = MCINR_OK;
    uint8_t *raw = NULL;
    if (!m->has_mesh) {
        mci_set_error(err, err_len, "%s: section RESIDUAL: present, but the file has no MESH section (residuals are "
                      "stored at the mesh points)", name);
        return MCINR_ERR_FORMAT;
    }
    if (len < 16) FAIL(MCINR_ERR_FORMAT, "truncated in the header (%zu bytes)", len);
    uint64_t N = get_le(p, 8);
    uint32_t T = (uint32_t)get_le(p + 8, 4), C = (uint32_t)get_le(p + 12, 4);
    if (N != m->mesh_num_points)
        FAIL(MCINR_ERR_FORMAT, "holds %llu points, the mesh has %zu", (unsigned long long)N, m->mesh_num_points);
    if (T != m->num_times) FAIL(MCINR_ERR_FORMAT, "holds %u time steps, META has %zu", T, m->num_times);
    if (C != m->num_components) FAIL(MCINR_ERR_FORMAT, "holds %u components, META has %zu", C, m->num_components);
    size_t pos = 16;
    if ((uint64_t)C * 16u > len - pos) FAIL(MCINR_ERR_FORMAT, "truncated in the error bounds of %u components", C);
    /* T·C ≤ 1e7 · 2^20 fits 64 bits; each table entry needs 16 bytes of the payload. */
    uint64_t S = (uint64_t)T * C;
    if (S > (len - pos - (size_t)C * 16u) / 16u)
        FAIL(MCINR_ERR_FORMAT, "the table of %llu streams does not fit in the %zu remaining bytes", (unsigned long long)S,
             len - pos - (size_t)C * 16u);
    m->residual_max_error = malloc(C * sizeof(double));
    m->residual_step = malloc(C * sizeof(double));
    m->residual_raw_size = malloc((size_t)S * sizeof(uint64_t));
    m->residual_stream_offset = malloc((size_t)S * sizeof(uint64_t));
    m->residual_stream_size = malloc((size_t)S * sizeof(uint64_t));
    if (!m->residual_max_error || !m->residual_step || !m->residual_raw_size || !m->residual_stream_offset ||
        !m->residual_stream_size)
        FAIL(MCINR_ERR_NOMEM, "out of memory for %llu streams", (unsigned long long)S);
    for (uint32_t c = 0; c < C; c++, pos += 16) {
        double e = get_f64(p + pos), s = get_f64(p + pos + 8);
        if (!isfinite(e) || !(e > 0.0))
            FAIL(MCINR_ERR_FORMAT, "component %u has error bound %g (must be finite and > 0)", c, e);
        if (!isfinite(s) || !(s > 0.0) || s > 2.0 * e)
            FAIL(MCINR_ERR_FORMAT, "component %u has bin width %g (must be > 0 and <= 2 × the bound %g)", c, s, e);
        m->residual_max_error[c] = e;
        m->residual_step[c] = s;
    }
    uint64_t total = 0, max_raw = 0;
    /* a raw stream holds N values of 1 … 8 bytes */
    uint64_t raw_limit = N > UINT64_MAX / MAX_BYTES_PER_VALUE ? UINT64_MAX : N * MAX_BYTES_PER_VALUE;
    for (uint64_t k = 0; k < S; k++, pos += 16) {
        uint64_t raw_size = get_le(p + pos, 8), size = get_le(p + pos + 8, 8);
        unsigned step = (unsigned)(k / C), comp = (unsigned)(k % C);
        if (size == 0) {
            if (raw_size != 0)
                FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u is empty but declares %llu bytes", step, comp,
                     (unsigned long long)raw_size);
        } else {
            uint64_t expand = size > (UINT64_MAX - 64) / MAX_DEFLATE_RATIO ? UINT64_MAX : size * MAX_DEFLATE_RATIO + 64;
            if (raw_size < N || raw_size > raw_limit || raw_size > expand || raw_size > SIZE_MAX)
                FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u declares %llu bytes from %llu compressed bytes "
                     "for %llu values", step, comp, (unsigned long long)raw_size, (unsigned long long)size,
                     (unsigned long long)N);
        }
        if (size > UINT64_MAX - total) FAIL(MCINR_ERR_FORMAT, "stream sizes overflow");
        m->residual_raw_size[k] = raw_size;
        m->residual_stream_offset[k] = total;
        m->residual_stream_size[k] = size;
        total += size;
        if (raw_size > max_raw) max_raw = raw_size;
    }
    if (total != len - pos)
        FAIL(MCINR_ERR_FORMAT, "the streams take %llu bytes, but %zu remain", (unsigned long long)total, len - pos);
    m->residual_streams = malloc(total ? (size_t)total : 1);
    raw = malloc(max_raw ? (size_t)max_raw : 1);
    if (!m->residual_streams || !raw) FAIL(MCINR_ERR_NOMEM, "out of memory for %llu bytes", (unsigned long long)total);
    memcpy(m->residual_streams, p + pos, (size_t)total);
    for (uint64_t k = 0; k < S; k++) {
        if (m->residual_stream_size[k] == 0) continue;
        unsigned step = (unsigned)(k / C), comp = (unsigned)(k % C);
        size_t raw_size = (size_t)m->residual_raw_size[k];
        const char *why = mcinr_inflate_exact(m->residual_streams + m->residual_stream_offset[k],
                                      (size_t)m->residual_stream_size[k], raw, raw_size);
        if (why) FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u: %s", step, comp, why);
        size_t rpos = 0;
        for (uint64_t i = 0; i < N; i++) {
            code cd;
            if ((why = next_code(raw, raw_size, &rpos, &cd)))
                FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u, point %llu: %s", step, comp,
                     (unsigned long long)i, why);
        }
        if (rpos != raw_size)
            FAIL(MCINR_ERR_FORMAT, "stream of step %u component %u has %zu bytes after its %llu values", step, comp,
                 raw_size - rpos, (unsigned long long)N);
    }
    m->residual_bytes = len;
    m->has_residual = 1;
done:
    free(raw);
    return st;
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

/* q · step and the sum are separate double roundings (no fused multiply-add), as the format
 * specifies; the encoder reproduces exactly this arithmetic. */
static float corrected(float network, int64_t q, double step) {
    volatile double correction = (double)q * step;
    double v = (double)network + correction;
    if (v > (double)FLT_MAX) return HUGE_VALF; /* a conversion out of range would be undefined */
    if (v < -(double)FLT_MAX) return -HUGE_VALF;
    return (float)v;
}

mcinr_status mci_apply_residual(const mcinr_model *m, double time, const size_t *components, size_t num_components,
                                float *out, char *err, size_t err_len) {
    if (!m->has_residual) return MCINR_OK;
    long t = find_step(m, time);
    if (t < 0) return MCINR_OK;
    size_t nc = components ? num_components : m->num_components;
    size_t N = m->mesh_num_points, C = m->num_components;
    size_t max_raw = 0;
    for (size_t r = 0; r < nc; r++) {
        size_t k = (size_t)t * C + (components ? components[r] : r);
        if (m->residual_raw_size[k] > max_raw) max_raw = (size_t)m->residual_raw_size[k];
    }
    if (max_raw == 0) return MCINR_OK; /* every requested residual is zero */
    uint8_t *raw = malloc(max_raw);
    if (!raw) {
        mci_set_error(err, err_len, "mcinr_decode_mesh: out of memory for the residual (%zu bytes)", max_raw);
        return MCINR_ERR_NOMEM;
    }
    for (size_t r = 0; r < nc; r++) {
        size_t comp = components ? components[r] : r, k = (size_t)t * C + comp;
        if (m->residual_stream_size[k] == 0) continue;
        size_t raw_size = (size_t)m->residual_raw_size[k];
        /* validated at open: neither can fail on a model that opened */
        if (mcinr_inflate_exact(m->residual_streams + m->residual_stream_offset[k], (size_t)m->residual_stream_size[k], raw,
                        raw_size)) {
            free(raw);
            mci_set_error(err, err_len, "mcinr_decode_mesh: cannot inflate the residual of step %ld component %zu", t,
                          comp);
            return MCINR_ERR_NOMEM;
        }
        double step = m->residual_step[comp];
        size_t pos = 0;
        for (size_t i = 0; i < N; i++) {
            code cd;
            if (next_code(raw, raw_size, &pos, &cd)) break;
            float *v = &out[i * nc + r];
            *v = cd.escape ? cd.value : cd.q == 0 ? *v : corrected(*v, cd.q, step);
        }
    }
    free(raw);
    return MCINR_OK;
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
