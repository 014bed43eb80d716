/* Pieces of the embedded mesh for parallel readers (mcinr.h, "Pieces"): which cells piece p of
 * n owns, its points and ghost cells (mcinr_piece_build), and the values at a subset of the mesh
 * points (mcinr_decode_mesh_points; mcinr_piece_decode at the piece's own points, without the
 * whole mesh), bit for bit those of mcinr_decode_mesh (decode.c: a point's value never depends
 * on the points evaluated with it).
 *
 * A piece is built from the mesh chunks (mcinr_mesh_chunk), one pass over a list of chunks per
 * step: the own pass decodes the chunks that hold the piece's cells (each chunk lists every point
 * its cells use, with coordinates, so nothing else is needed without ghost cells); ghost level l
 * decodes the other chunks that may hold such a cell (with a MESHX index those sharing a box with
 * a chunk that gave the piece a cell, else every other chunk) and keeps the cells that share a
 * point with the piece's cells so far. Each pass decodes its chunks concurrently
 * (mci_parallel_run, a chunk per task, a result per chunk), then merges the results in chunk
 * order on the calling thread, so the piece does not depend on the thread count. Point sets are
 * bitmaps over the global point ids (N/8 bytes each). */
#include "mcinr_internal.h"
#include "mesh_index.h"
#include "pieces.h"

#include <stdlib.h>
#include <string.h>

/* ---- Values at a subset of the mesh points ---- */

/* Values at the mesh points point_ids. */
static mcinr_status decode_ids(const char *fn, const mcinr_model *m, double time,
                               const int64_t *point_ids, size_t num_ids, const size_t *components,
                               size_t num_components, float *out, const mcinr_decode_options *options,
                               size_t *evaluated, char *err, size_t err_len) {
    if (evaluated) *evaluated = 0;
    if (!m) {
        mci_set_error(err, err_len, "%s: `model` is NULL", fn);
        return MCINR_ERR_ARGUMENT;
    }
    if (!m->has_mesh) {
        mci_set_error(err, err_len, "%s: the file has no embedded mesh", fn);
        return MCINR_ERR_NO_MESH;
    }
    mcinr_decode_options o;
    mcinr_status s = mci_read_options(options, &o, fn, err, err_len);
    if (s != MCINR_OK) return s;
    if (components && num_components == 0) {
        mci_set_error(err, err_len, "%s: `components` is given but `num_components` is 0", fn);
        return MCINR_ERR_ARGUMENT;
    }
    if (num_ids == 0) return MCINR_OK;
    if (!point_ids || !out) {
        mci_set_error(err, err_len, "%s: `%s` is NULL", fn, point_ids ? "out" : "point_ids");
        return MCINR_ERR_ARGUMENT;
    }
    if (num_ids >= (size_t)MCI_NO_ROW) {
        mci_set_error(err, err_len, "%s: %zu point ids, at most %u per call", fn, num_ids, MCI_NO_ROW - 1u);
        return MCINR_ERR_ARGUMENT;
    }
    size_t N = m->mesh_num_points;
    if (N > SIZE_MAX / sizeof(uint32_t)) {
        mci_set_error(err, err_len, "%s: %zu mesh points overflow", fn, N);
        return MCINR_ERR_ARGUMENT;
    }
    uint32_t *row_of = malloc(N * sizeof *row_of);
    if (!row_of) {
        mci_set_error(err, err_len, "%s: out of memory (%zu bytes for the map of %zu mesh points)", fn,
                      N * sizeof *row_of, N);
        return MCINR_ERR_NOMEM;
    }
    memset(row_of, 0xFF, N * sizeof *row_of);
    for (size_t i = 0; i < num_ids; i++) {
        int64_t id = point_ids[i];
        if (id < 0 || (uint64_t)id >= (uint64_t)N) {
            mci_set_error(err, err_len, "%s: point_ids[%zu] = %lld is not a mesh point (the mesh has %zu)", fn, i,
                          (long long)id, N);
            free(row_of);
            return MCINR_ERR_ARGUMENT;
        }
        if (row_of[id] != MCI_NO_ROW) {
            mci_set_error(err, err_len, "%s: point id %lld is listed twice (point_ids[%u] and point_ids[%zu])", fn,
                          (long long)id, row_of[id], i);
            free(row_of);
            return MCINR_ERR_ARGUMENT;
        }
        row_of[id] = (uint32_t)i;
    }
    s = mci_decode_mesh_rows(fn, m, time, components, num_components, row_of, out, &o, evaluated, err, err_len);
    free(row_of);
    return s;
}

mcinr_status mcinr_decode_mesh_points(const mcinr_model *m, double time, const int64_t *point_ids, size_t num_ids,
                                      const size_t *components, size_t num_components, float *out,
                                      const mcinr_decode_options *options, size_t *evaluated, char *err,
                                      size_t err_len) {
    return decode_ids("mcinr_decode_mesh_points", m, time, point_ids, num_ids, components, num_components, out, options,
                      evaluated, err, err_len);
}

/* ---- Which piece owns what ---- */

/* ⌊a · b / c⌋ for c > 0, b ≤ c (so the result ≤ a). */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c) {
#if defined(__SIZEOF_INT128__)
    return (uint64_t)((unsigned __int128)a * b / c);
#else
    return (uint64_t)((long double)a * (long double)b / (long double)c);
#endif
}

typedef struct layout {
    const mcinr_model *m;
    int whole;           /* 1: cells and points come from the model's whole mesh, not chunk decodes */
    size_t K, n, p;      /* chunks, pieces, this piece */
    uint64_t M;          /* cells */
    int by_chunk;        /* K ≥ n: pieces own groups of chunks; else ranges of cells */
    uint64_t *cell0;     /* K + 1: index of each chunk's first cell in the whole mesh */
    size_t *chunk_cells; /* K */
} layout;

/* The piece that owns element idx of `total` split into n balanced ranges [⌊total q / n⌋, ...). */
static size_t owner_in(uint64_t total, size_t n, uint64_t idx) {
    size_t q = (size_t)muldiv(idx, n, total);
    if (q >= n) q = n - 1;
    while (q + 1 < n && muldiv(total, q + 1, n) <= idx) q++;
    while (q > 0 && muldiv(total, q, n) > idx) q--;
    return q;
}

static size_t cell_owner(const layout *L, size_t k, size_t j) {
    return L->by_chunk ? owner_in(L->K, L->n, k) : owner_in(L->M, L->n, L->cell0[k] + j);
}

/* The piece that takes the points chunk k lists but no cell of it uses (the lone points). */
static size_t lone_owner(const layout *L, size_t k) {
    if (L->by_chunk) return owner_in(L->K, L->n, k);
    if (L->M == 0) return 0;
    uint64_t last = L->cell0[k + 1] > 0 ? L->cell0[k + 1] - 1 : 0;
    return owner_in(L->M, L->n, last < L->M ? last : L->M - 1);
}

/* ---- Bitmaps over the global point ids ---- */

static int bit_get(const uint64_t *b, int64_t i) { return (int)((b[(uint64_t)i >> 6] >> ((uint64_t)i & 63)) & 1u); }
static void bit_set(uint64_t *b, int64_t i) { b[(uint64_t)i >> 6] |= (uint64_t)1 << ((uint64_t)i & 63); }

/* ---- One pass: decode a list of chunks, keep some of their cells ---- */

/* The cells a pass keeps from one chunk, with global point ids, and the points they use. */
typedef struct chunk_result {
    size_t num_cells, conn_len, num_points, num_low;
    size_t *cell_index; /* index of each kept cell in its chunk */
    uint8_t *types;
    int64_t *offsets;   /* num_cells + 1 */
    int64_t *conn;      /* global point ids */
    int64_t *point_ids; /* the points of the kept cells (+ lone points in the own pass) */
    double *xyz;
    int64_t *low;       /* level 1: own points that a cell of a lower piece uses */
    char msg[512];
} chunk_result;

static void result_free(chunk_result *r) {
    free(r->cell_index);
    free(r->types);
    free(r->offsets);
    free(r->conn);
    free(r->point_ids);
    free(r->xyz);
    free(r->low);
    memset(r, 0, sizeof *r);
}

typedef struct pass_job {
    const layout *L;
    int level;              /* 0: the own cells; l ≥ 1: ghost level l */
    const size_t *chunks;   /* the chunks of this pass */
    const uint64_t *inset;  /* ghost levels: the piece's points so far */
    const uint64_t *own;    /* level 1: the own cells' points */
    uint8_t *const *taken;  /* per chunk: cells already in the piece (NULL: none) */
    chunk_result *results;  /* one per entry of chunks */
    const uint64_t *unused; /* whole mesh: the points no cell uses (they go with the last chunk) */
    size_t num_unused;
} pass_job;

/* A worker's map from global point ids to the local ids of the chunk it is cutting from the whole
 * mesh (UINT32_MAX: none; reset after each chunk). */
static void *whole_init(void *ctx) {
    const pass_job *job = ctx;
    size_t N = job->L->m->mesh_num_points;
    uint32_t *map = malloc((N ? N : 1) * sizeof *map);
    if (map) memset(map, 0xFF, (N ? N : 1) * sizeof *map);
    return map;
}

static void whole_fini(void *ctx, void *state) {
    (void)ctx;
    free(state);
}

/* Chunk k as mcinr_mesh_chunk would give it (its cells, the points they use in order of first
 * use, and for the last chunk the points no cell uses), cut from the model's whole mesh. The
 * arrays are sized by mcinr_mesh_chunk_sizes (np is an upper bound here: *np_out the count). */
static void chunk_from_whole(const pass_job *job, uint32_t *map, size_t k, int64_t *pid, double *xyz, uint8_t *types,
                             int64_t *off, int64_t *conn, size_t *np_out) {
    const mcinr_model *m = job->L->m;
    uint64_t c0 = job->L->cell0[k], c1 = job->L->cell0[k + 1];
    size_t n = 0;
    off[0] = 0;
    for (uint64_t c = c0; c < c1; c++) {
        types[c - c0] = m->mesh_types[c];
        for (int64_t e = m->mesh_offsets[c]; e < m->mesh_offsets[c + 1]; e++) {
            uint32_t g = m->mesh_conn[e];
            if (map[g] == UINT32_MAX) {
                map[g] = (uint32_t)n;
                pid[n++] = g;
            }
            conn[e - m->mesh_offsets[c0]] = map[g];
        }
        off[c - c0 + 1] = m->mesh_offsets[c + 1] - m->mesh_offsets[c0];
    }
    if (k + 1 == job->L->K)
        for (size_t w = 0; w < m->mesh_num_points / 64 + 1; w++)
            for (uint64_t x = job->unused[w]; x; x &= x - 1) pid[n++] = (int64_t)(w * 64 + (size_t)__builtin_ctzll(x));
    for (size_t i = 0; i < n; i++) {
        memcpy(xyz + 3 * i, m->mesh_points + 3 * pid[i], 3 * sizeof(double));
        map[pid[i]] = UINT32_MAX;
    }
    *np_out = n;
}

static mcinr_status pass_task(void *ctx, void *state, size_t index) {
    const pass_job *job = ctx;
    const layout *L = job->L;
    size_t k = job->chunks[index];
    chunk_result *r = &job->results[index];
    size_t np = 0, nc = 0, nconn = 0;
    mcinr_status s = mcinr_mesh_chunk_sizes(L->m, k, &np, &nc, &nconn);
    /* cut from the whole mesh, the chunk's points are at most those of its cells (+ the unused) */
    if (s == MCINR_OK && L->whole)
        np = (nconn < L->m->mesh_num_points ? nconn : L->m->mesh_num_points) + (k + 1 == L->K ? job->num_unused : 0);
    if (s != MCINR_OK) {
        mci_set_error(r->msg, sizeof r->msg, "chunk %zu: %s", k, mcinr_status_string(s));
        return s;
    }
    int64_t *pid = malloc((np ? np : 1) * sizeof *pid), *off = malloc((nc + 1) * sizeof *off),
            *conn = malloc((nconn ? nconn : 1) * sizeof *conn);
    double *xyz = malloc((np ? np : 1) * 3 * sizeof *xyz);
    uint8_t *types = malloc(nc ? nc : 1), *used = calloc(np ? np : 1, 1), *any = calloc(np ? np : 1, 1);
    s = MCINR_ERR_NOMEM;
    if (!pid || !off || !conn || !xyz || !types || !used || !any) {
        mci_set_error(r->msg, sizeof r->msg, "chunk %zu: out of memory for its %zu points and %zu cells", k, np, nc);
        goto done;
    }
    if (L->whole) {
        chunk_from_whole(job, state, k, pid, xyz, types, off, conn, &np);
    } else {
        s = mcinr_mesh_chunk(L->m, k, pid, xyz, types, off, conn, r->msg, sizeof r->msg);
        if (s != MCINR_OK) goto done;
    }
    const uint8_t *taken = job->taken[k];
    size_t kept = 0, kept_conn = 0;
    /* first: count and flag; the cells are checked by the open (offsets increase, indices < np) */
    uint8_t *keep = calloc(nc ? nc : 1, 1);
    if (!keep) {
        s = MCINR_ERR_NOMEM;
        goto done;
    }
    size_t low = 0;
    for (size_t j = 0; j < nc; j++) {
        int64_t a = off[j], b = off[j + 1];
        for (int64_t e = a; e < b; e++) any[conn[e]] = 1;
        if (taken && taken[j]) continue;
        size_t owner = cell_owner(L, k, j);
        int sel;
        if (job->level == 0) sel = owner == L->p;
        else {
            sel = 0;
            if (owner != L->p)
                for (int64_t e = a; e < b && !sel; e++) sel = bit_get(job->inset, pid[conn[e]]);
        }
        if (!sel) continue;
        keep[j] = 1;
        kept++;
        kept_conn += (size_t)(b - a);
        for (int64_t e = a; e < b; e++) {
            used[conn[e]] = 1;
            if (job->level == 1 && owner < L->p && bit_get(job->own, pid[conn[e]])) low++;
        }
    }
    if (job->level == 0 && lone_owner(L, k) == L->p)
        for (size_t i = 0; i < np; i++)
            if (!any[i]) used[i] = 1;
    size_t npts = 0;
    for (size_t i = 0; i < np; i++) npts += used[i];
    r->cell_index = malloc((kept ? kept : 1) * sizeof *r->cell_index);
    r->types = malloc(kept ? kept : 1);
    r->offsets = malloc((kept + 1) * sizeof *r->offsets);
    r->conn = malloc((kept_conn ? kept_conn : 1) * sizeof *r->conn);
    r->point_ids = malloc((npts ? npts : 1) * sizeof *r->point_ids);
    r->xyz = malloc((npts ? npts : 1) * 3 * sizeof *r->xyz);
    r->low = malloc((low ? low : 1) * sizeof *r->low);
    if (!r->cell_index || !r->types || !r->offsets || !r->conn || !r->point_ids || !r->xyz || !r->low) {
        free(keep);
        mci_set_error(r->msg, sizeof r->msg, "chunk %zu: out of memory for the cells of the piece", k);
        s = MCINR_ERR_NOMEM;
        goto done;
    }
    r->offsets[0] = 0;
    for (size_t j = 0; j < nc; j++) {
        if (!keep[j]) continue;
        size_t c = r->num_cells++;
        r->cell_index[c] = j;
        r->types[c] = types[j];
        size_t owner = cell_owner(L, k, j);
        for (int64_t e = off[j]; e < off[j + 1]; e++) {
            int64_t g = pid[conn[e]];
            r->conn[r->conn_len++] = g;
            if (job->level == 1 && owner < L->p && bit_get(job->own, g)) r->low[r->num_low++] = g;
        }
        r->offsets[c + 1] = (int64_t)r->conn_len;
    }
    for (size_t i = 0; i < np; i++) {
        if (!used[i]) continue;
        r->point_ids[r->num_points] = pid[i];
        memcpy(r->xyz + 3 * r->num_points, xyz + 3 * i, 3 * sizeof(double));
        r->num_points++;
    }
    free(keep);
    s = MCINR_OK;
done:
    free(pid);
    free(off);
    free(conn);
    free(xyz);
    free(types);
    free(used);
    free(any);
    if (s != MCINR_OK && !r->msg[0]) mci_set_error(r->msg, sizeof r->msg, "chunk %zu: %s", k, mcinr_status_string(s));
    return s;
}

/* ---- The piece ---- */

struct mcinr_piece {
    const mcinr_model *model; /* the model it was built from (checked by mcinr_piece_decode) */
    size_t mesh_points;       /* N */
    size_t num_points, num_cells, num_own, conn_len;
    int64_t *point_ids;
    double *xyz;
    uint8_t *types;
    int64_t *offsets;
    int64_t *conn;
    uint8_t *levels;
    uint8_t *duplicate;
    size_t own_chunks, ghost_decodes;
};

void mcinr_piece_free(mcinr_piece *pc) {
    if (!pc) return;
    free(pc->point_ids);
    free(pc->xyz);
    free(pc->types);
    free(pc->offsets);
    free(pc->conn);
    free(pc->levels);
    free(pc->duplicate);
    free(pc);
}

/* A growing array of elements of `size` bytes. */
typedef struct grow {
    unsigned char *p;
    size_t n, cap, size;
} grow;

static int grow_append(grow *g, const void *src, size_t count) {
    if (count == 0) return 0;
    if (count > SIZE_MAX / g->size - g->n) return -1;
    if (g->n + count > g->cap) {
        size_t cap = g->cap ? g->cap : 1024;
        while (cap < g->n + count) cap = cap > SIZE_MAX / 2 / g->size ? g->n + count : 2 * cap;
        unsigned char *p = realloc(g->p, cap * g->size);
        if (!p) return -1;
        g->p = p;
        g->cap = cap;
    }
    memcpy(g->p + g->n * g->size, src, count * g->size);
    g->n += count;
    return 0;
}

/* Everything a build holds until the piece is assembled. */
typedef struct builder {
    layout L;
    uint64_t *inset, *own, *low; /* bitmaps over the point ids */
    uint64_t *unused;             /* whole mesh: the points no cell uses */
    uint64_t *added_points;       /* the points of a pass, until it is merged */
    size_t num_unused;
    size_t words;
    uint8_t **taken;              /* per chunk, NULL until a cell of it is kept */
    grow types, sizes, conn, levels, coords; /* coords: coord_rec (id, x, y, z) records */
} builder;

typedef struct coord_rec {
    int64_t id;
    double xyz[3];
} coord_rec;

static void builder_free(builder *b) {
    free(b->L.cell0);
    free(b->L.chunk_cells);
    free(b->inset);
    free(b->own);
    free(b->low);
    free(b->unused);
    free(b->added_points);
    if (b->taken)
        for (size_t k = 0; k < b->L.K; k++) free(b->taken[k]);
    free(b->taken);
    free(b->types.p);
    free(b->sizes.p);
    free(b->conn.p);
    free(b->levels.p);
    free(b->coords.p);
}

/* Runs one pass over `chunks` and merges its results in chunk order; *added: cells kept. */
static mcinr_status run_pass(builder *b, int level, const size_t *chunks, size_t count, const mcinr_decode_options *o,
                             double from, double to, size_t *added, char *err, size_t err_len) {
    *added = 0;
    if (count == 0) return MCINR_OK;
    chunk_result *res = calloc(count, sizeof *res);
    if (!res) {
        mci_set_error(err, err_len, "mcinr_piece_build: out of memory");
        return MCINR_ERR_NOMEM;
    }
    pass_job job = {&b->L, level, chunks, b->inset, b->own, b->taken, res, b->unused, b->num_unused};
    size_t threads = o->num_threads > 1 ? (size_t)o->num_threads : 1;
    if (threads > count) threads = count;
    mci_parallel_for loop = {count, threads, &job, b->L.whole ? whole_init : NULL, b->L.whole ? whole_fini : NULL,
                             pass_task, o->progress, o->user_data, from, to};
    size_t failed = SIZE_MAX;
    mcinr_status s = mci_parallel_run(&loop, &failed);
    if (s != MCINR_OK) {
        if (s == MCINR_ERR_ABORTED) mci_set_error(err, err_len, "mcinr_piece_build: aborted by the progress callback");
        else if (failed < count) mci_set_error(err, err_len, "mcinr_piece_build: %s", res[failed].msg);
        else mci_set_error(err, err_len, "mcinr_piece_build: out of memory");
        goto done;
    }
    /* Merge in chunk order (the pass's tasks ran in any order). Points of this pass join the set
     * only now, so a level's cells touch the points of the levels before it. */
    for (size_t i = 0; i < count && s == MCINR_OK; i++) {
        chunk_result *r = &res[i];
        size_t k = chunks[i];
        if (r->num_cells && !b->taken[k] && !(b->taken[k] = calloc(b->L.chunk_cells[k] ? b->L.chunk_cells[k] : 1, 1)))
            s = MCINR_ERR_NOMEM;
        uint8_t lv = (uint8_t)level;
        for (size_t c = 0; c < r->num_cells && s == MCINR_OK; c++) {
            b->taken[k][r->cell_index[c]] = 1;
            int64_t size = r->offsets[c + 1] - r->offsets[c];
            if (grow_append(&b->types, &r->types[c], 1) || grow_append(&b->sizes, &size, 1) ||
                grow_append(&b->levels, &lv, 1))
                s = MCINR_ERR_NOMEM;
        }
        if (s == MCINR_OK && grow_append(&b->conn, r->conn, r->conn_len)) s = MCINR_ERR_NOMEM;
        for (size_t q = 0; q < r->num_points && s == MCINR_OK; q++) {
            coord_rec rec;
            rec.id = r->point_ids[q];
            memcpy(rec.xyz, r->xyz + 3 * q, sizeof rec.xyz);
            if (grow_append(&b->coords, &rec, 1)) s = MCINR_ERR_NOMEM;
        }
        for (size_t q = 0; q < r->num_low; q++) bit_set(b->low, r->low[q]);
        *added += r->num_cells;
        /* the pass's new points: marked in `added_points`, joining the set after the pass */
        for (size_t q = 0; q < r->num_points; q++) bit_set(b->added_points, r->point_ids[q]);
        result_free(r); /* merged: the piece's arrays hold it now (one copy, not two) */
    }
    if (s == MCINR_OK)
        for (size_t w = 0; w < b->words; w++) {
            b->inset[w] |= b->added_points[w];
            b->added_points[w] = 0;
        }
    if (s == MCINR_ERR_NOMEM) mci_set_error(err, err_len, "mcinr_piece_build: out of memory for the piece's cells");
done:
    for (size_t i = 0; i < count; i++) result_free(&res[i]);
    free(res);
    return s;
}

static size_t popcount64(uint64_t x) {
#if defined(__GNUC__)
    return (size_t)__builtin_popcountll(x);
#else
    size_t c = 0;
    while (x) { x &= x - 1; c++; }
    return c;
#endif
}

/* Assembles the piece from the builder: points = the set bits, connectivity as ranks. */
/* A grow array's buffer, shrunk to `count` elements (at least 1), handed over: the builder no
 * longer owns it. */
static void *hand_over(grow *g, size_t count) {
    size_t bytes = (count ? count : 1) * g->size;
    void *p = g->p;
    if (!p) p = malloc(bytes);
    else if (g->cap != (count ? count : 1)) {
        void *q = realloc(p, bytes);
        if (q) p = q; /* a failed shrink keeps the larger buffer */
    }
    g->p = NULL;
    g->n = g->cap = 0;
    return p;
}

/* Assembles the piece from the builder: points = the set bits, connectivity as ranks. The cell
 * arrays are converted in place and handed over, so a piece never needs two copies of them. */
static mcinr_status assemble(builder *b, size_t num_own, int ghost_levels, mcinr_piece *pc, int64_t *bad_point) {
    size_t words = b->words;
    size_t *rank = malloc((words + 1) * sizeof *rank);
    if (!rank) return MCINR_ERR_NOMEM;
    rank[0] = 0;
    for (size_t w = 0; w < words; w++) rank[w + 1] = rank[w] + popcount64(b->inset[w]);
    size_t np = rank[words], nc = b->types.n, nconn = b->conn.n;
    pc->num_points = np;
    pc->num_cells = nc;
    pc->num_own = num_own;
    pc->conn_len = nconn;
    pc->point_ids = malloc((np ? np : 1) * sizeof *pc->point_ids);
    pc->xyz = malloc((np ? np : 1) * 3 * sizeof *pc->xyz);
    pc->duplicate = calloc(np ? np : 1, 1);
    /* offsets: the sizes become offsets in place (one more element) */
    if (grow_append(&b->sizes, &(int64_t){0}, 1)) {
        free(rank);
        return MCINR_ERR_NOMEM;
    }
    if (!pc->point_ids || !pc->xyz || !pc->duplicate) {
        free(rank);
        return MCINR_ERR_NOMEM;
    }
    size_t i = 0;
    for (size_t w = 0; w < words; w++)
        for (uint64_t x = b->inset[w]; x; x &= x - 1) {
            int64_t id = (int64_t)(w * 64 + (size_t)__builtin_ctzll(x));
            pc->point_ids[i] = id;
            if (ghost_levels > 0) pc->duplicate[i] = !bit_get(b->own, id) || bit_get(b->low, id);
            i++;
        }
#define RANK(id) (rank[(uint64_t)(id) >> 6] + popcount64(b->inset[(uint64_t)(id) >> 6] & (((uint64_t)1 << ((uint64_t)(id) & 63)) - 1)))
    /* A point listed by several chunks must have the same coordinates in each (as a whole-mesh
     * decode checks): added_points (empty between passes) marks the points written so far. */
    const coord_rec *recs = (const coord_rec *)b->coords.p;
    mcinr_status s = MCINR_OK;
    for (size_t q = 0; q < b->coords.n && s == MCINR_OK; q++) {
        double *dst = pc->xyz + 3 * RANK(recs[q].id);
        if (!bit_get(b->added_points, recs[q].id)) {
            bit_set(b->added_points, recs[q].id);
            memcpy(dst, recs[q].xyz, 3 * sizeof(double));
        } else if (memcmp(dst, recs[q].xyz, 3 * sizeof(double))) {
            *bad_point = recs[q].id;
            s = MCINR_ERR_FORMAT;
        }
    }
    free(b->coords.p);
    b->coords.p = NULL;
    b->coords.n = b->coords.cap = 0;
    int64_t *conn = (int64_t *)b->conn.p;
    for (size_t e = 0; e < nconn; e++) conn[e] = (int64_t)RANK(conn[e]);
#undef RANK
    int64_t *off = (int64_t *)b->sizes.p, running = 0;
    for (size_t c = 0; c <= nc; c++) {
        int64_t size = off[c];
        off[c] = running;
        running += size;
    }
    pc->conn = hand_over(&b->conn, nconn);
    pc->offsets = hand_over(&b->sizes, nc + 1);
    pc->types = hand_over(&b->types, nc);
    pc->levels = hand_over(&b->levels, nc);
    free(rank);
    if (s != MCINR_OK) return s;
    return pc->conn && pc->offsets && pc->types && pc->levels ? MCINR_OK : MCINR_ERR_NOMEM;
}

mcinr_status mcinr_piece_build(const mcinr_model *m, size_t piece, size_t num_pieces, int ghost_levels,
                               const mcinr_decode_options *options, mcinr_piece **out, char *err, size_t err_len) {
    static const char *fn = "mcinr_piece_build";
    if (out) *out = NULL;
    if (!m || !out) {
        mci_set_error(err, err_len, "%s: `%s` is NULL", fn, m ? "out" : "model");
        return MCINR_ERR_ARGUMENT;
    }
    if (num_pieces == 0 || num_pieces > ((size_t)1 << 31) || piece >= num_pieces) {
        mci_set_error(err, err_len, "%s: piece %zu of %zu (pieces: 1 ... 2^31, piece below their count)", fn, piece,
                      num_pieces);
        return MCINR_ERR_ARGUMENT;
    }
    if (ghost_levels < 0 || ghost_levels > 255) {
        mci_set_error(err, err_len, "%s: %d ghost levels (0 ... 255)", fn, ghost_levels);
        return MCINR_ERR_ARGUMENT;
    }
    if (!m->has_mesh) {
        mci_set_error(err, err_len, "%s: the file has no embedded mesh", fn);
        return MCINR_ERR_NO_MESH;
    }
    mcinr_decode_options o;
    mcinr_status s = mci_read_options(options, &o, fn, err, err_len);
    if (s != MCINR_OK) return s;

    builder b;
    memset(&b, 0, sizeof b);
    b.types.size = 1;
    b.levels.size = 1;
    b.sizes.size = sizeof(int64_t);
    b.conn.size = sizeof(int64_t);
    b.coords.size = sizeof(coord_rec);
    mcinr_piece *pc = calloc(1, sizeof *pc);
    size_t *list = NULL;
    size_t K = mcinr_mesh_num_chunks(m), N = m->mesh_num_points;
    b.L.m = m;
    b.L.K = K;
    b.L.n = num_pieces;
    b.L.p = piece;
    b.L.by_chunk = K >= num_pieces;
    b.words = N / 64 + 1;
    b.L.cell0 = malloc((K + 1) * sizeof *b.L.cell0);
    b.L.chunk_cells = malloc((K ? K : 1) * sizeof *b.L.chunk_cells);
    b.taken = calloc(K ? K : 1, sizeof *b.taken);
    b.inset = calloc(b.words, sizeof(uint64_t));
    b.own = calloc(b.words, sizeof(uint64_t));
    b.low = calloc(b.words, sizeof(uint64_t));
    b.added_points = calloc(b.words, sizeof(uint64_t));
    list = malloc((K ? K : 1) * sizeof *list);
    if (!pc || !b.L.cell0 || !b.L.chunk_cells || !b.taken || !b.inset || !b.own || !b.low || !b.added_points || !list) {
        mci_set_error(err, err_len, "%s: out of memory (bitmaps of %zu points, tables of %zu chunks)", fn, N, K);
        s = MCINR_ERR_NOMEM;
        goto fail;
    }
    b.L.cell0[0] = 0;
    for (size_t k = 0; k < K; k++) {
        size_t nc = 0;
        s = mcinr_mesh_chunk_sizes(m, k, NULL, &nc, NULL);
        if (s != MCINR_OK) {
            mci_set_error(err, err_len, "%s: chunk %zu: %s", fn, k, mcinr_status_string(s));
            goto fail;
        }
        b.L.chunk_cells[k] = nc;
        b.L.cell0[k + 1] = b.L.cell0[k] + nc;
    }
    b.L.M = b.L.cell0[K];
    pc->model = m;
    pc->mesh_points = N;
    /* A MESH (type 5) file has the whole mesh in memory: the piece is cut from it. A MESHC piece
     * decodes its own chunks (they list every point their cells use), then the chunks of each
     * ghost level. */
    if (!m->meshc) {
        s = mci_mesh_whole(m, o.num_threads > 1 ? (size_t)o.num_threads : 1, o.progress, o.user_data, 0.0, 0.0, err,
                           err_len);
        if (s != MCINR_OK) goto fail;
        b.L.whole = 1;
        b.unused = calloc(b.words, sizeof(uint64_t));
        if (!b.unused) {
            mci_set_error(err, err_len, "%s: out of memory", fn);
            s = MCINR_ERR_NOMEM;
            goto fail;
        }
        for (size_t i = 0; i < N; i++) bit_set(b.unused, (int64_t)i);
        for (size_t e = 0; e < m->mesh_conn_len; e++)
            b.unused[m->mesh_conn[e] >> 6] &= ~((uint64_t)1 << (m->mesh_conn[e] & 63));
        for (size_t w = 0; w < b.words; w++) b.num_unused += popcount64(b.unused[w]);
    }

    /* The own pass: the piece's chunks (by chunk), or every chunk holding one of its cells. */
    size_t count = 0;
    if (b.L.by_chunk) {
        size_t first = (size_t)muldiv(K, piece, num_pieces), end = (size_t)muldiv(K, piece + 1, num_pieces);
        for (size_t k = first; k < end; k++) list[count++] = k;
    } else {
        uint64_t lo = muldiv(b.L.M, piece, num_pieces), hi = muldiv(b.L.M, piece + 1, num_pieces);
        for (size_t k = 0; k < K; k++)
            if ((b.L.cell0[k] < hi && b.L.cell0[k + 1] > lo) || lone_owner(&b.L, k) == piece) list[count++] = k;
    }
    /* Progress: the own pass, then each ghost level, weighted by the chunks they may decode. */
    size_t others = b.L.by_chunk ? K - count : K;
    double total = (double)count + (double)ghost_levels * (double)others, done = 0.0;
    if (total <= 0.0) total = 1.0;
    size_t added = 0;
    s = run_pass(&b, 0, list, count, &o, 0.0, (double)count / total, &added, err, err_len);
    if (s != MCINR_OK) goto fail;
    done = (double)count;
    pc->own_chunks = count;
    size_t num_own = b.types.n;
    memcpy(b.own, b.inset, b.words * sizeof(uint64_t));

    const struct mci_meshx *x = m->meshx;
    for (int level = 1; level <= ghost_levels; level++) {
        /* The chunks that may hold a cell of this level: every other chunk; with an index, those
         * that share a box with a chunk that gave the piece a cell (a ghost cell shares a point
         * with such a cell, both chunks list that point, so both list its box). Chunks that give
         * nothing leave the merge as it was, so the piece is the same either way. */
        size_t n = 0;
        uint8_t *near_boxes = x ? calloc(mci_meshx_num_boxes(x), 1) : NULL;
        if (x && !near_boxes) {
            s = MCINR_ERR_NOMEM;
            mci_set_error(err, err_len, "%s: out of memory", fn);
            goto fail;
        }
        for (size_t c = 0; x && c < K; c++)
            if (b.taken[c]) mci_meshx_mark_chunk(x, c, near_boxes);
        for (size_t k = 0; k < K; k++) {
            int mine = b.L.by_chunk && owner_in(K, num_pieces, k) == piece;
            if (!mine && (!x || mci_meshx_chunk_touches(x, k, near_boxes))) list[n++] = k;
        }
        free(near_boxes);
        s = run_pass(&b, level, list, n, &o, done / total, (done + (double)n) / total, &added, err, err_len);
        if (s != MCINR_OK) goto fail;
        done += (double)n;
        pc->ghost_decodes += n;
        if (added == 0) break; /* no cell joined: no later level can add one */
    }
    int64_t bad_point = -1;
    s = assemble(&b, num_own, ghost_levels, pc, &bad_point);
    if (s == MCINR_ERR_FORMAT) {
        mci_set_error(err, err_len, "%s: two chunks list mesh point %lld with different coordinates (a format error)",
                      fn, (long long)bad_point);
        goto fail;
    }
    if (s != MCINR_OK) {
        mci_set_error(err, err_len, "%s: out of memory assembling the piece", fn);
        s = MCINR_ERR_NOMEM;
        goto fail;
    }
    if (o.progress && mci_parallel_checkpoint(o.progress, o.user_data, 1.0) != MCINR_OK) {
        mci_set_error(err, err_len, "%s: aborted by the progress callback", fn);
        s = MCINR_ERR_ABORTED;
        goto fail;
    }
    builder_free(&b);
    free(list);
    *out = pc;
    return MCINR_OK;
fail:
    builder_free(&b);
    free(list);
    mcinr_piece_free(pc);
    return s;
}

mcinr_status mcinr_piece_decode(const mcinr_piece *pc, const mcinr_model *m, double time, const size_t *components,
                                size_t num_components, float *out, const mcinr_decode_options *options,
                                size_t *evaluated, char *err, size_t err_len) {
    static const char *fn = "mcinr_piece_decode";
    if (evaluated) *evaluated = 0;
    if (!pc || !m) {
        mci_set_error(err, err_len, "%s: `%s` is NULL", fn, pc ? "model" : "piece");
        return MCINR_ERR_ARGUMENT;
    }
    if (pc->model != m || pc->mesh_points != m->mesh_num_points) {
        mci_set_error(err, err_len, "%s: the piece was built from another model", fn);
        return MCINR_ERR_ARGUMENT;
    }
    /* At a stored time step with a residual, its chains need the whole mesh (decoded at open);
     * else the networks run on the piece's own points only. */
    mcinr_decode_options o;
    mcinr_status s = mci_read_options(options, &o, fn, err, err_len);
    if (s != MCINR_OK) return s;
    if (!o.network_only && mci_residual_cost(m, time, components, num_components) > 0.0)
        return decode_ids(fn, m, time, pc->point_ids, pc->num_points, components, num_components, out, options,
                          evaluated, err, err_len);
    s = mci_decode_points(fn, m, pc->xyz, pc->num_points, time, components, num_components, out, &o, err, err_len);
    if (s == MCINR_OK && evaluated) *evaluated = pc->num_points;
    return s;
}

void mcinr_piece_free_cells(mcinr_piece *pc) {
    if (!pc) return;
    free(pc->types);
    free(pc->offsets);
    free(pc->conn);
    free(pc->levels);
    pc->types = pc->levels = NULL;
    pc->offsets = pc->conn = NULL;
    pc->num_cells = pc->num_own = pc->conn_len = 0;
}

size_t mcinr_piece_num_points(const mcinr_piece *pc) { return pc ? pc->num_points : 0; }
size_t mcinr_piece_num_cells(const mcinr_piece *pc) { return pc ? pc->num_cells : 0; }
size_t mcinr_piece_num_own_cells(const mcinr_piece *pc) { return pc ? pc->num_own : 0; }
size_t mcinr_piece_connectivity_size(const mcinr_piece *pc) { return pc ? pc->conn_len : 0; }
const int64_t *mcinr_piece_point_ids(const mcinr_piece *pc) { return pc && pc->num_points ? pc->point_ids : NULL; }
const double *mcinr_piece_points(const mcinr_piece *pc) { return pc && pc->num_points ? pc->xyz : NULL; }
const uint8_t *mcinr_piece_cell_types(const mcinr_piece *pc) { return pc && pc->num_cells ? pc->types : NULL; }
const int64_t *mcinr_piece_offsets(const mcinr_piece *pc) { return pc ? pc->offsets : NULL; }
const int64_t *mcinr_piece_connectivity(const mcinr_piece *pc) { return pc && pc->conn_len ? pc->conn : NULL; }
const uint8_t *mcinr_piece_cell_ghost_levels(const mcinr_piece *pc) { return pc && pc->num_cells ? pc->levels : NULL; }
const uint8_t *mcinr_piece_point_duplicate(const mcinr_piece *pc) { return pc && pc->num_points ? pc->duplicate : NULL; }

void mcinr_piece_decoded_chunks(const mcinr_piece *pc, size_t *own_chunks, size_t *other_chunk_decodes) {
    if (own_chunks) *own_chunks = pc ? pc->own_chunks : 0;
    if (other_chunk_decodes) *other_chunk_decodes = pc ? pc->ghost_decodes : 0;
}
