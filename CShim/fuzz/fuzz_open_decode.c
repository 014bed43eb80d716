/* libFuzzer harness: open an .mci file from memory, run every query, decode a few points
 * (all components), every MESHC chunk on its own and, for small meshes, the whole embedded
 * mesh and its stored steps (RESIDUAL streams are checked as a decode reads them: against an
 * open that validates every chain). Any crash, sanitizer report or leak is a finding. Each input is tried as is and with its CRCs repaired, opened
 * with the default limits and, when those refuse it, trusted (trust_large_files: the format
 * checks alone). Built and run by CShim/tests/run.sh.
 *
 * LLVMFuzzerCustomMutator (below) is structure-aware: it mutates the content of one section
 * and writes the file again around it, so the mutant passes the container checks and reaches
 * the section parsers: a compressed section or the MESH body is inflated, mutated and
 * compressed again (with its declared size), a RESIDUAL stream is decompressed, mutated and
 * compressed again (its table entry updated), a RESIDUAL table entry's predictor, coder or
 * sizes, or a linear stream's weight (format 1.4), are changed; offsets, lengths and every CRC-32 are recomputed. One mutation in eight
 * is libFuzzer's own on the raw bytes (so the container itself is fuzzed too). */
#include "mcinr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static uint64_t get_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Rewrites the CRC of every in-bounds section, so mutations reach the section parsers
 * instead of stopping at the checksum. */
static void fix_crcs(uint8_t *d, size_t size) {
    if (size < 16) return;
    uint64_t count = get_le(d + 12, 4);
    for (uint64_t i = 0; i < count && 16 + 32 * (i + 1) <= size; i++) {
        uint8_t *e = d + 16 + 32 * i;
        uint64_t off = get_le(e + 8, 8), len = get_le(e + 16, 8);
        if (len > size || off > size - len) continue;
        uint32_t crc = (uint32_t)crc32(0, d + off, (uInt)len);
        for (int k = 0; k < 4; k++) e[24 + k] = (uint8_t)(crc >> (8 * k));
    }
}

static void open_and_decode(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    open_and_decode(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    open_and_decode(copy, size);
    free(copy);
    return 0;
}

static void open_and_decode(const uint8_t *data, size_t size) {
    mcinr_model *m = NULL;
    char err[256];
    mcinr_decode_options trusted;
    mcinr_decode_options_init(&trusted);
    trusted.trust_large_files = 1;
    mcinr_status s = mcinr_open_memory(data, size, &m, err, sizeof err);
    const mcinr_decode_options *trusted_open = NULL; /* the options the model opened with, when not the defaults */
    /* trusted: beyond the limits, but within what -rss_limit_mb allows the whole run (a 16 KiB
     * input can still ask for 1032 · 16 KiB inflated and the allocations that follow) */
    if (s == MCINR_ERR_LIMIT && size <= 4096) {
        s = mcinr_open_memory_ex(data, size, &trusted, &m, err, sizeof err);
        trusted_open = &trusted;
    }
    if (s != MCINR_OK) return;
    size_t C = mcinr_num_components(m);
    for (size_t v = 0; v < mcinr_num_variables(m); v++)
        if (!mcinr_variable_name(m, v) || mcinr_variable_components(m, v) == 0) abort();
    double lo, hi, bmin[3], bmax[3];
    for (size_t c = 0; c < C; c++) mcinr_component_range(m, c, &lo, &hi);
    mcinr_bounds(m, bmin, bmax);
    (void)mcinr_metadata_json(m);
    double xyz[15] = {bmin[0], bmin[1], bmin[2], bmax[0], bmax[1], bmax[2],
                      0.5 * (bmin[0] + bmax[0]), 0.5 * (bmin[1] + bmax[1]), 0.5 * (bmin[2] + bmax[2]),
                      -1e300, 1e300, 0.0, 1.0, 2.0, 3.0};
    float *out = malloc(5 * (C > 2 ? C : 2) * sizeof(float)); /* the subset below has 2 components */
    mcinr_decode_options opt;
    mcinr_decode_options_init(&opt);
    if (mcinr_decode(m, xyz, 5, mcinr_times(m)[mcinr_num_times(m) - 1], NULL, 0, out, &opt, err, sizeof err) !=
        MCINR_OK)
        abort(); /* a model that opened must decode */
    for (int i = 0; i < 3; i++) mcinr_route(m, xyz + 3 * i);
    size_t subset[2] = {C - 1, 0}; /* a subset: only some branches run */
    if (mcinr_decode(m, xyz, 5, 0.0, subset, 2, out, &opt, err, sizeof err) != MCINR_OK) abort();
    free(out);
    /* MESHC (type 8): the open checks the chunk table only, each chunk is decoded on request
     * (all of them, bounded by the file size) and the whole mesh on first use: a malformed
     * stream is a clean MCINR_ERR_FORMAT then, the same from every whole-mesh call */
    int whole_ok = 1;
    if (mcinr_mesh_coding(m) == 8) {
        for (size_t k = 0; k < mcinr_mesh_num_chunks(m); k++) {
            size_t cn, cc, ce;
            if (mcinr_mesh_chunk_sizes(m, k, &cn, &cc, &ce) != MCINR_OK) abort();
            if (cn > (1u << 20) || cc > (1u << 20) || ce > (1u << 20)) continue;
            int64_t *ids = malloc((cn + 1) * sizeof(int64_t)), *off = malloc((cc + 1) * sizeof(int64_t));
            int64_t *cconn = malloc((ce + 1) * sizeof(int64_t));
            double *cxyz = malloc((3 * cn + 1) * sizeof(double));
            uint8_t *ctypes = malloc(cc + 1);
            mcinr_status cs = mcinr_mesh_chunk(m, k, ids, cxyz, ctypes, off, cconn, err, sizeof err);
            if (cs != MCINR_OK && cs != MCINR_ERR_FORMAT && cs != MCINR_ERR_NOMEM) abort();
            if (cs == MCINR_OK) {
                if (off[0] != 0 || off[cc] != (int64_t)ce) abort();
                for (size_t j = 0; j < ce; j++)
                    if (cconn[j] < 0 || (size_t)cconn[j] >= cn) abort();
                for (size_t j = 0; j < cn; j++)
                    if (ids[j] < 0 || (size_t)ids[j] >= mcinr_mesh_num_points(m)) abort();
            }
            free(ids), free(off), free(cconn), free(cxyz), free(ctypes);
        }
        /* a piece of two with a ghost level (MESHX: only the chunks near it; a point outside its
         * chunk's listed boxes is a format error there too); a built piece must decode */
        if (mcinr_mesh_num_points(m) <= 4096) {
            mcinr_piece *pc = NULL;
            mcinr_status ps = mcinr_piece_build(m, 1, 2, 1, &opt, &pc, err, sizeof err);
            if (ps != MCINR_OK && ps != MCINR_ERR_FORMAT && ps != MCINR_ERR_NOMEM) abort();
            if (ps == MCINR_OK) {
                float *pv = malloc((mcinr_piece_num_points(pc) + 1) * C * sizeof(float));
                mcinr_status ds = mcinr_piece_decode(pc, m, 0.0, NULL, 0, pv, &opt, NULL, err, sizeof err);
                if (ds != MCINR_OK && ds != MCINR_ERR_FORMAT && ds != MCINR_ERR_NOMEM) abort();
                free(pv);
            }
            mcinr_piece_free(pc);
        }
        mcinr_status ws = mcinr_mesh_decode(m, NULL, err, sizeof err);
        if (ws != MCINR_OK) {
            if (ws != MCINR_ERR_FORMAT && ws != MCINR_ERR_NOMEM) abort();
            if (ws == MCINR_ERR_FORMAT && mcinr_mesh_cells(m, NULL, NULL, NULL) != ws) abort(); /* final */
            whole_ok = 0;
        }
    }
    if (whole_ok && mcinr_has_mesh(m) && mcinr_mesh_num_points(m) <= 4096 &&
        mcinr_mesh_connectivity_size(m) <= (1u << 20)) {
        size_t n = mcinr_mesh_num_points(m), cells = mcinr_mesh_num_cells(m);
        float *vals = malloc(n * (C > 2 ? C : 2) * sizeof(float));
        if (mcinr_decode_mesh(m, 0.0, NULL, 0, vals, &opt, err, sizeof err) != MCINR_OK) abort();
        /* at stored steps, so a RESIDUAL is applied (all components, then a subset; then in time
         * order, as a player asks, each decode continuing the chains the last one left). The open
         * checked the RESIDUAL table, a decode checks the streams it reads: a malformed one is a
         * clean MCINR_ERR_FORMAT, the same when asked again, and then an open that validates
         * every chain refuses the file too; when every step decoded, that open accepts it. */
        const double *times = mcinr_times(m);
        size_t T = mcinr_num_times(m), malformed = 0;
        for (size_t call = 0; call < 2 + (T < 10 ? T : 10); call++) {
            size_t t = call == 0 ? 0 : call == 1 ? T - 1 : call - 2;
            mcinr_status ds = mcinr_decode_mesh(m, times[t], call == 1 ? subset : NULL, call == 1 ? 2 : 0, vals, &opt,
                                                err, sizeof err);
            if (ds == MCINR_ERR_FORMAT && mcinr_has_residual(m)) {
                char again[256];
                if (mcinr_decode_mesh(m, times[t], call == 1 ? subset : NULL, call == 1 ? 2 : 0, vals, &opt, again,
                                      sizeof again) != ds || strcmp(err, again) != 0)
                    abort();
                malformed++;
            } else if (ds != MCINR_OK) {
                abort(); /* a model that opened must decode */
            }
        }
        if (mcinr_has_residual(m) && (malformed || T <= 10)) {
            mcinr_decode_options validating = trusted_open ? *trusted_open : opt;
            validating.validate_residual = 1;
            mcinr_model *v = NULL;
            mcinr_status vs = mcinr_open_memory_ex(data, size, &validating, &v, err, sizeof err);
            /* validating also charges its buffers to the open's budget: a file just under the
             * limits may then be refused for its size, which says nothing of its streams; the
             * same open with the limits lifted (at most 4096 points here) must decide */
            if (vs == MCINR_ERR_LIMIT && !validating.trust_large_files) {
                validating.trust_large_files = 1;
                vs = mcinr_open_memory_ex(data, size, &validating, &v, err, sizeof err);
            }
            if (malformed ? vs != MCINR_ERR_FORMAT : vs != MCINR_OK) abort();
            mcinr_close(v);
        }
        for (size_t c = 0; c < C; c++) {
            double e;
            if (mcinr_residual_max_error(m, c, &e) == MCINR_OK && !(e > 0)) abort();
        }
        free(vals);
        uint8_t *types = malloc(cells + 1);
        int64_t *offsets = malloc((cells + 1) * sizeof(int64_t));
        int64_t *conn = malloc((mcinr_mesh_connectivity_size(m) + 1) * sizeof(int64_t));
        double *pts = malloc(n * 3 * sizeof(double));
        if (mcinr_mesh_cells(m, types, offsets, conn) != MCINR_OK || mcinr_mesh_points(m, pts) != MCINR_OK) abort();
        free(types); free(offsets); free(conn); free(pts);
    }
    mcinr_close(m);
}

/* ---- Structure-aware mutator ---- */

static void put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t rng_next(uint64_t *state) { /* xorshift64*, seeded by libFuzzer */
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1Dull;
}

typedef struct section {
    uint32_t type, flags;
    uint8_t *payload; /* owned copy */
    size_t len;
} section;

/* The container's sections in table order; 0 when the header or table is not well formed. */
static size_t read_sections(const uint8_t *d, size_t size, section *out, size_t cap) {
    if (size < 16 || memcmp(d, "MCINR\0\r\n", 8) != 0) return 0;
    uint64_t count = get_le(d + 12, 4);
    if (count < 1 || count > cap || 16 + 32 * count > size) return 0;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *e = d + 16 + 32 * i;
        uint64_t off = get_le(e + 8, 8), len = get_le(e + 16, 8);
        if (len > size || off > size - len) {
            for (uint64_t k = 0; k < i; k++) free(out[k].payload);
            return 0;
        }
        out[i].type = (uint32_t)get_le(e, 4);
        out[i].flags = (uint32_t)get_le(e + 4, 4);
        out[i].len = (size_t)len;
        out[i].payload = malloc(len ? len : 1);
        memcpy(out[i].payload, d + off, len);
    }
    return (size_t)count;
}

/* Header (version of `d`), table and payloads back to back, every CRC computed; 0 when it does
 * not fit in max_size. */
static size_t write_sections(uint8_t *d, size_t max_size, const section *sec, size_t count) {
    size_t total = 16 + 32 * count;
    for (size_t i = 0; i < count; i++) total += sec[i].len;
    if (total > max_size) return 0;
    put_le(d + 12, count, 4);
    size_t off = 16 + 32 * count;
    for (size_t i = 0; i < count; i++) {
        uint8_t *e = d + 16 + 32 * i;
        put_le(e, sec[i].type, 4);
        put_le(e + 4, sec[i].flags, 4);
        put_le(e + 8, off, 8);
        put_le(e + 16, sec[i].len, 8);
        put_le(e + 24, (uint32_t)crc32(0, sec[i].payload, (uInt)sec[i].len), 4);
        put_le(e + 28, 0, 4);
        memcpy(d + off, sec[i].payload, sec[i].len);
        off += sec[i].len;
    }
    return total;
}

#define CONTENT_MAX ((size_t)1 << 20) /* inflated content the mutator works on */

/* Replaces *payload (u64 size + zlib stream) by the mutated content, compressed again. */
static int mutate_zlib_payload(section *s) {
    if (s->len < 8) return 0;
    uint64_t size = get_le(s->payload, 8);
    if (size > CONTENT_MAX / 2) return 0;
    uint8_t *content = malloc(CONTENT_MAX);
    uLongf got = (uLongf)size;
    if (uncompress(content, &got, s->payload + 8, (uLong)(s->len - 8)) != Z_OK || got != size) {
        free(content);
        return 0;
    }
    size_t n = LLVMFuzzerMutate(content, (size_t)size, (size_t)size + 64);
    uLongf bound = compressBound((uLong)n);
    uint8_t *packed = malloc(8 + bound);
    put_le(packed, n, 8);
    compress2(packed + 8, &bound, content, (uLong)n, 1);
    free(content);
    free(s->payload);
    s->payload = packed;
    s->len = 8 + bound;
    return 1;
}

/* RESIDUAL (type 7): a table entry changed, a linear stream's weight changed (near the limits
 * or anything), or one zstd stream's content mutated and compressed again (after a linear
 * stream's 28 bytes of weights; its entry's sizes updated, the following streams moved). */
static int mutate_residual(section *s, uint64_t *rng) {
    uint8_t *p = s->payload;
    if (s->len < 16) return 0;
    uint64_t T = get_le(p + 8, 4), C = get_le(p + 12, 4), S = T * C;
    size_t table = 16 + 16 * (size_t)C;
    if (S == 0 || S > (s->len - 16) / 24 || table + 24 * S > s->len) return 0;
    size_t k = (size_t)(rng_next(rng) % S), e = table + 24 * k, start = table + 24 * (size_t)S;
    for (size_t j = 0; j < k; j++) start += (size_t)get_le(p + table + 24 * j + 16, 8);
    uint64_t raw = get_le(p + e + 8, 8), size = get_le(p + e + 16, 8);
    if (start > s->len || size > s->len - start) return 0;
    size_t head = (p[e] & 8u) && size >= 28 ? 28 : 0; /* a linear stream's weights */
    switch (rng_next(rng) % 5) {
    case 0: /* predictor: one bit flipped (time, mesh, data, linear, plane, blend, quadratic, anchor), or any
             * byte */
        if (rng_next(rng) % 2) p[e] ^= (uint8_t)(1u << (rng_next(rng) % 8));
        else p[e] = (uint8_t)(rng_next(rng) % 256);
        return 1;
    case 1: p[e + 1] = (uint8_t)(rng_next(rng) % 3); return 1;   /* coder */
    case 2: put_le(p + e + 8, raw + (rng_next(rng) % 5) - 2, 8); return 1; /* raw size off by -2 … 2 */
    case 3: { /* one weight of a linear stream */
        static const uint32_t picks[8] = {0, 1, 0xFFFFFFFFu, 4096, 0xFFFFF000u, 1u << 20, 0xFFF00000u, (1u << 20) + 1};
        if (!head) return 0;
        uint32_t v = rng_next(rng) % 2 ? picks[rng_next(rng) % 8] : (uint32_t)rng_next(rng);
        put_le(p + start + 4 * (size_t)(rng_next(rng) % 7), v, 4);
        return 1;
    }
    default: break;
    }
    if (p[e + 1] != 0 || size == head || raw > CONTENT_MAX / 2) return 0;
    start += head;
    size -= head;
    uint8_t *content = malloc(CONTENT_MAX);
    size_t got = ZSTD_decompress(content, (size_t)raw, p + start, (size_t)size);
    if (ZSTD_isError(got) || got != raw) {
        free(content);
        return 0;
    }
    size_t n = LLVMFuzzerMutate(content, got, got + 16);
    size_t bound = ZSTD_compressBound(n);
    uint8_t *frame = malloc(bound);
    size_t z = ZSTD_compress(frame, bound, content, n, 1);
    free(content);
    if (ZSTD_isError(z)) {
        free(frame);
        return 0;
    }
    uint8_t *q = malloc(s->len - size + z);
    memcpy(q, p, start);
    memcpy(q + start, frame, z);
    memcpy(q + start + z, p + start + size, s->len - start - size);
    put_le(q + e + 8, n, 8);
    put_le(q + e + 16, head + z, 8);
    free(frame);
    free(s->payload);
    s->payload = q;
    s->len = s->len - size + z;
    return 1;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    uint64_t rng = 0x9E3779B97F4A7C15ull ^ seed;
    section sec[64];
    size_t count = rng_next(&rng) % 8 == 0 ? 0 : read_sections(data, size, sec, 64);
    if (count == 0) return LLVMFuzzerMutate(data, size, max_size);
    size_t i = (size_t)(rng_next(&rng) % count);
    section *s = &sec[i];
    int done = 0;
    if (s->flags & 2u) /* a compressed section: its inflated content */
        done = mutate_zlib_payload(s);
    else if (s->type == 5 && rng_next(&rng) % 4 != 0) /* MESH: the inflated body */
        done = mutate_zlib_payload(s);
    else if (s->type == 7 && rng_next(&rng) % 2 == 0)
        done = mutate_residual(s, &rng);
    if (!done) { /* the payload's bytes as they are stored */
        uint8_t *grown = malloc(s->len + 64);
        memcpy(grown, s->payload, s->len);
        s->len = LLVMFuzzerMutate(grown, s->len, s->len + 64);
        free(s->payload);
        s->payload = grown;
    }
    size_t n = write_sections(data, max_size, sec, count);
    for (size_t k = 0; k < count; k++) free(sec[k].payload);
    return n ? n : LLVMFuzzerMutate(data, size, max_size);
}
