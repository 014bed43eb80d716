/* MESHX section (type 10, format 1.5): see mesh_index.h and docs/mci-format.md, "MESHX". */
#include "mesh_index.h"
#include "mesh_codec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XFAIL(status, ...)                                                                         \
    do {                                                                                           \
        char what_[400];                                                                           \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                                \
        mci_set_error(err, err_len, "%s: section MESHX: %s", name, what_);                         \
        return status;                                                                             \
    } while (0)

mcinr_status mci_parse_meshx(const char *name, const uint8_t *p, size_t len, mcinr_model *m,
                             const mci_open_ctx *oc, char *err, size_t err_len) {
    if (!m->meshc) XFAIL(MCINR_ERR_FORMAT, "the file has no MESHC section for it to index");
    if (len < 16) XFAIL(MCINR_ERR_FORMAT, "%zu bytes, at least 16", len);
    uint64_t K = mci_get_le(p, 4);
    uint32_t G[3];
    uint64_t splits = 0, boxes = 1;
    for (int a = 0; a < 3; a++) {
        G[a] = (uint32_t)mci_get_le(p + 4 + 4 * a, 4);
        if (G[a] < 1 || G[a] > MCI_MESHX_MAX_AXIS_BOXES)
            XFAIL(MCINR_ERR_FORMAT, "axis %d has %u boxes (allowed 1 ... %u)", a, G[a], MCI_MESHX_MAX_AXIS_BOXES);
        splits += G[a] - 1;
        boxes *= G[a];
    }
    if (boxes > MCI_MESHX_MAX_BOXES)
        XFAIL(MCINR_ERR_FORMAT, "%llu boxes in all (allowed at most %u)", (unsigned long long)boxes,
              MCI_MESHX_MAX_BOXES);
    if (K != mcinr_mesh_num_chunks(m))
        XFAIL(MCINR_ERR_FORMAT, "indexes %llu chunks, MESHC has %zu", (unsigned long long)K, mcinr_mesh_num_chunks(m));
    /* K < 2^32 and splits < 3 · 2^10: no overflow; each chunk then needs at least 4 bytes */
    uint64_t fixed = 16 + 8 * splits;
    if ((uint64_t)len < fixed + 4 * K)
        XFAIL(MCINR_ERR_FORMAT, "%zu bytes, at least %llu for %llu chunks and %llu splits", len,
              (unsigned long long)(fixed + 4 * K), (unsigned long long)K, (unsigned long long)splits);
    uint64_t entries = ((uint64_t)len - fixed - 4 * K) / 4; /* every list entry is 4 bytes */
    char msg[600];
    uint64_t bytes = 8 * splits + 4 * (K + 1) + 4 * entries;
    if (oc && mci_budget_charge(oc->budget, 1, bytes, "the mesh index", msg, sizeof msg)) {
        mci_set_error(err, err_len, "%s: section MESHX: %s", name, msg);
        return MCINR_ERR_LIMIT;
    }
    struct mci_meshx *x = calloc(1, sizeof *x);
    double *values = malloc((size_t)splits * sizeof(double) + sizeof(double));
    uint32_t *start = malloc((size_t)(K + 1) * sizeof *start), *list = malloc((size_t)entries * 4 + 4);
    if (!x || !values || !start || !list) {
        free(x);
        free(values);
        free(start);
        free(list);
        XFAIL(MCINR_ERR_NOMEM, "out of memory for the index of %llu chunks", (unsigned long long)K);
    }
    x->splits[0] = values;
    x->box_start = start;
    x->boxes = list;
    x->num_chunks = (size_t)K;
    m->meshx = x; /* freed by mci_free_meshx from here on, also on a failure below */
    for (uint64_t i = 0; i < splits; i++) values[i] = mci_get_f64(p + 16 + 8 * i);
    double *v = values;
    for (int a = 0; a < 3; a++) {
        x->G[a] = G[a];
        x->splits[a] = v;
        for (uint32_t i = 0; i + 1 < G[a]; i++)
            if (!isfinite(v[i]) || (i > 0 && !(v[i] > v[i - 1])))
                XFAIL(MCINR_ERR_FORMAT, "split %u of axis %d is %g: splits must be finite and strictly increasing", i,
                      a, v[i]);
        v += G[a] - 1;
    }
    size_t at = (size_t)fixed, n = 0;
    for (uint64_t k = 0; k < K; k++) {
        if (len - at < 4) XFAIL(MCINR_ERR_FORMAT, "ends in chunk %llu's box count", (unsigned long long)k);
        uint64_t count = mci_get_le(p + at, 4);
        at += 4;
        /* the later chunks' counts need their 4 bytes each: the lists fit in what is left */
        uint64_t later = 4 * (K - 1 - k), left = (uint64_t)(len - at);
        if (left < later || count > (left - later) / 4 || count > entries - n)
            XFAIL(MCINR_ERR_FORMAT, "chunk %llu lists %llu boxes, %zu bytes remain for it and %llu later chunks",
                  (unsigned long long)k, (unsigned long long)count, len - at, (unsigned long long)(K - 1 - k));
        start[k] = (uint32_t)n;
        for (uint64_t i = 0; i < count; i++, at += 4) {
            uint32_t b = (uint32_t)mci_get_le(p + at, 4);
            if (b >= boxes || (i > 0 && b <= list[n - 1]))
                XFAIL(MCINR_ERR_FORMAT, "chunk %llu's box %llu is %u (below %llu, increasing)", (unsigned long long)k,
                      (unsigned long long)i, b, (unsigned long long)boxes);
            list[n++] = b;
        }
    }
    start[K] = (uint32_t)n;
    if (at != len) XFAIL(MCINR_ERR_FORMAT, "%zu bytes after the last chunk's boxes", len - at);
    mci_meshc_set_index(m, x);
    return MCINR_OK;
}

void mci_free_meshx(mcinr_model *m) {
    if (!m || !m->meshx) return;
    mci_meshc_set_index(m, NULL);
    free(m->meshx->splits[0]);
    free(m->meshx->box_start);
    free(m->meshx->boxes);
    free(m->meshx);
    m->meshx = NULL;
}

uint32_t mci_meshx_num_boxes(const struct mci_meshx *x) { return x->G[0] * x->G[1] * x->G[2]; }

/* The number of splits ≤ v (a binary search over the sorted splits). */
static uint32_t axis_box(const double *s, uint32_t n, double v) {
    uint32_t lo = 0, hi = n; /* answer in [lo, hi] */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s[mid] <= v) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

uint32_t mci_meshx_box(const struct mci_meshx *x, const double p[3]) {
    uint32_t b[3];
    for (int a = 0; a < 3; a++) b[a] = axis_box(x->splits[a], x->G[a] - 1, p[a]);
    return b[0] + x->G[0] * (b[1] + x->G[1] * b[2]);
}

int mci_meshx_chunk_has_box(const struct mci_meshx *x, size_t k, uint32_t b) {
    uint32_t lo = x->box_start[k], hi = x->box_start[k + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (x->boxes[mid] == b) return 1;
        if (x->boxes[mid] < b) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

int mci_meshx_chunk_touches(const struct mci_meshx *x, size_t k, const uint8_t *marked) {
    for (uint32_t i = x->box_start[k]; i < x->box_start[k + 1]; i++)
        if (marked[x->boxes[i]]) return 1;
    return 0;
}

void mci_meshx_mark_chunk(const struct mci_meshx *x, size_t k, uint8_t *marked) {
    for (uint32_t i = x->box_start[k]; i < x->box_start[k + 1]; i++) marked[x->boxes[i]] = 1;
}

int mcinr_mesh_index(const mcinr_model *m, size_t boxes[3]) {
    if (!m || !m->meshx) return 0;
    if (boxes)
        for (int a = 0; a < 3; a++) boxes[a] = m->meshx->G[a];
    return 1;
}
