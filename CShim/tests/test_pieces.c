/* Tests of the pieces API (CShim/src/pieces.c: mcinr_piece_build, mcinr_decode_mesh_points):
 *   test_pieces DIR
 * DIR holds the files CShim/tests/run.sh makes (tools/make_test_mci.py). For MESHC files (chunk
 * groups, and more pieces than chunks: ranges of cells) and MESH files, for 1 ... 5 pieces and
 * 0 ... 2 ghost levels, checked against the whole mesh (mcinr_mesh_points / mcinr_mesh_cells):
 * the pieces' own cells are every cell exactly once; a piece's points are exactly those its
 * cells use (+ lone points, in one piece), in increasing id, their coordinates bit-exact; ghost
 * level l is exactly the cells of other pieces that share a point with the cells of levels < l
 * (by brute force); the points not marked duplicate are every point exactly once; the piece
 * does not depend on the thread count; only the piece's chunks are decoded for its own cells.
 * mcinr_decode_mesh_points at each piece's points equals mcinr_decode_mesh bit for bit (at a
 * stored time with a RESIDUAL, between steps, all and some components) and evaluates fewer
 * exactly the points asked for; a point listed with two coordinates is a format error for a
 * piece that reads both chunks, and with a point no chunk lists for the whole mesh; bad
 * arguments fail with a message. Without ghost levels a piece decodes its own chunks only.
 * With a MESHX index the same holds, a piece decodes fewer chunks than the mesh has, and a bad
 * index (a point in a box its chunk does not list, a wrong chunk count, beside a RESIDUAL) is
 * refused. */
#include "mcinr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static mcinr_model *open_path(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mcinr_model *m = NULL;
    char err[512];
    mcinr_status s = mcinr_open_file(path, &m, err, sizeof err);
    CHECK(s == MCINR_OK, "open %s: %s", path, err);
    return s == MCINR_OK ? m : NULL;
}

/* The whole mesh, for the brute-force checks. */
typedef struct whole {
    size_t N, M, L;
    double *xyz;
    uint8_t *types;
    int64_t *off, *conn;
} whole;

static void whole_load(const mcinr_model *m, whole *w) {
    w->N = mcinr_mesh_num_points(m);
    w->M = mcinr_mesh_num_cells(m);
    w->L = mcinr_mesh_connectivity_size(m);
    w->xyz = malloc(3 * w->N * sizeof(double));
    w->types = malloc(w->M + 1);
    w->off = malloc((w->M + 1) * sizeof(int64_t));
    w->conn = malloc((w->L + 1) * sizeof(int64_t));
    CHECK(mcinr_mesh_points(m, w->xyz) == MCINR_OK, "mesh points");
    CHECK(mcinr_mesh_cells(m, w->types, w->off, w->conn) == MCINR_OK, "mesh cells");
}

static void whole_free(whole *w) {
    free(w->xyz);
    free(w->types);
    free(w->off);
    free(w->conn);
}

/* The whole-mesh index of a piece's cell c: matched by type and global point ids, among the
 * cells that `claimed` has not yet given out (a mesh may repeat a cell). SIZE_MAX if none. */
static size_t find_cell(const whole *w, const mcinr_piece *pc, size_t c, const uint8_t *claimed) {
    const int64_t *ids = mcinr_piece_point_ids(pc), *off = mcinr_piece_offsets(pc), *conn = mcinr_piece_connectivity(pc);
    uint8_t type = mcinr_piece_cell_types(pc)[c];
    int64_t size = off[c + 1] - off[c];
    for (size_t g = 0; g < w->M; g++) {
        if (claimed[g] || w->types[g] != type || w->off[g + 1] - w->off[g] != size) continue;
        int same = 1;
        for (int64_t e = 0; e < size && same; e++) same = w->conn[w->off[g] + e] == ids[conn[off[c] + e]];
        if (same) return g;
    }
    return SIZE_MAX;
}

static void check_pieces(const char *dir, const char *name, int by_cells_expected) {
    mcinr_model *m = open_path(dir, name);
    if (!m) return;
    whole w;
    whole_load(m, &w);
    size_t K = mcinr_mesh_num_chunks(m);
    char err[512];
    for (size_t n = 1; n <= 5; n++) {
        for (int ghosts = 0; ghosts <= 2; ghosts++) {
            uint8_t *own_claim = calloc(w.M + 1, 1);
            size_t *owner_of = malloc((w.M + 1) * sizeof *owner_of);
            size_t *owned_points = calloc(w.N + 1, sizeof(size_t));
            size_t own_total = 0;
            mcinr_piece **pcs = calloc(n, sizeof *pcs);
            for (size_t p = 0; p < n; p++) {
                mcinr_decode_options o;
                mcinr_decode_options_init(&o);
                mcinr_status s = mcinr_piece_build(m, p, n, ghosts, &o, &pcs[p], err, sizeof err);
                CHECK(s == MCINR_OK, "%s piece %zu/%zu ghosts %d: %s", name, p, n, ghosts, err);
                if (s != MCINR_OK) continue;
                const mcinr_piece *pc = pcs[p];
                size_t np = mcinr_piece_num_points(pc), own = mcinr_piece_num_own_cells(pc);
                const int64_t *ids = mcinr_piece_point_ids(pc);
                const double *xyz = mcinr_piece_points(pc);
                for (size_t i = 0; i < np; i++) {
                    CHECK(ids[i] >= 0 && (size_t)ids[i] < w.N, "%s: point id %lld", name, (long long)ids[i]);
                    if (i) CHECK(ids[i] > ids[i - 1], "%s: ids not increasing at %zu", name, i);
                    if (ids[i] >= 0 && (size_t)ids[i] < w.N)
                        CHECK(!memcmp(xyz + 3 * i, w.xyz + 3 * ids[i], 3 * sizeof(double)), "%s: coordinates of %lld",
                              name, (long long)ids[i]);
                }
                /* own cells: each a cell of the mesh, none twice over all pieces */
                for (size_t c = 0; c < own; c++) {
                    CHECK(mcinr_piece_cell_ghost_levels(pc)[c] == 0, "%s: own cell %zu has a ghost level", name, c);
                    size_t g = find_cell(&w, pc, c, own_claim);
                    CHECK(g != SIZE_MAX, "%s piece %zu/%zu: own cell %zu is not a (further) mesh cell", name, p, n, c);
                    if (g != SIZE_MAX) {
                        own_claim[g] = 1;
                        owner_of[g] = p;
                    }
                }
                own_total += own;
                size_t own_chunks = 0, ghost_decodes = 0;
                mcinr_piece_decoded_chunks(pc, &own_chunks, &ghost_decodes);
                if (K >= n) {
                    CHECK(own_chunks == K * (p + 1) / n - K * p / n, "%s piece %zu/%zu: %zu own chunks decoded", name, p,
                          n, own_chunks);
                    /* without ghost levels a piece decodes its own chunks only (they list every
                     * point of its cells); with them, every other chunk unless an index narrows
                     * them down to those near the piece (check_index) */
                    int indexed = mcinr_mesh_index(m, NULL);
                    CHECK(ghosts > 0 || ghost_decodes == 0,
                          "%s: %zu other chunk decodes without ghost levels (%zu chunks, %zu own)", name,
                          ghost_decodes, K, own_chunks);
                    CHECK(ghosts == 0 || mcinr_mesh_coding(m) != 8 || indexed || ghost_decodes >= K - own_chunks,
                          "%s: %zu other chunk decodes with ghost levels", name, ghost_decodes);
                } else {
                    CHECK(by_cells_expected || K >= n, "%s: unexpected", name);
                }
                /* every point of the piece is used by one of its cells, or a lone point */
                uint8_t *used = calloc(np + 1, 1);
                const int64_t *off = mcinr_piece_offsets(pc), *conn = mcinr_piece_connectivity(pc);
                for (size_t e = 0; e < mcinr_piece_connectivity_size(pc); e++) {
                    CHECK(conn[e] >= 0 && (size_t)conn[e] < np, "%s: connectivity %lld", name, (long long)conn[e]);
                    if (conn[e] >= 0 && (size_t)conn[e] < np) used[conn[e]] = 1;
                }
                CHECK(off[0] == 0 && (size_t)off[mcinr_piece_num_cells(pc)] == mcinr_piece_connectivity_size(pc),
                      "%s: offsets", name);
                const uint8_t *dup = mcinr_piece_point_duplicate(pc);
                for (size_t i = 0; i < np; i++) {
                    if (!dup || !dup[i]) owned_points[ids[i]]++;
                    if (!used[i]) { /* a lone point: no cell of the whole mesh uses it */
                        int any = 0;
                        for (size_t e = 0; e < w.L && !any; e++) any = w.conn[e] == ids[i];
                        CHECK(!any, "%s piece %zu/%zu: point %lld is listed but its cells there do not use it", name,
                              p, n, (long long)ids[i]);
                    }
                }
                free(used);
            }
            CHECK(own_total == w.M, "%s %zu pieces: %zu own cells in all, the mesh has %zu", name, n, own_total, w.M);
            /* ghost levels, by brute force over the whole mesh */
            for (size_t p = 0; p < n && own_total == w.M; p++) {
                const mcinr_piece *pc = pcs[p];
                if (!pc) continue;
                uint8_t *inset = calloc(w.N + 1, 1), *in_piece = calloc(w.M + 1, 1);
                for (size_t g = 0; g < w.M; g++)
                    if (owner_of[g] == p) {
                        in_piece[g] = 1;
                        for (int64_t e = w.off[g]; e < w.off[g + 1]; e++) inset[w.conn[e]] = 1;
                    }
                size_t expected = mcinr_piece_num_own_cells(pc);
                for (int level = 1; level <= ghosts; level++) {
                    uint8_t *next = malloc(w.N + 1);
                    memcpy(next, inset, w.N + 1);
                    size_t count = 0;
                    for (size_t g = 0; g < w.M; g++) {
                        if (in_piece[g]) continue;
                        int touch = 0;
                        for (int64_t e = w.off[g]; e < w.off[g + 1] && !touch; e++) touch = inset[w.conn[e]];
                        if (!touch) continue;
                        in_piece[g] = (uint8_t)(level + 1);
                        count++;
                        for (int64_t e = w.off[g]; e < w.off[g + 1]; e++) next[w.conn[e]] = 1;
                    }
                    size_t got = 0;
                    for (size_t c = 0; c < mcinr_piece_num_cells(pc); c++)
                        got += mcinr_piece_cell_ghost_levels(pc)[c] == level;
                    CHECK(got == count, "%s piece %zu/%zu: %zu ghost cells of level %d, expected %zu", name, p, n, got,
                          level, count);
                    expected += count;
                    free(inset);
                    inset = next;
                }
                CHECK(mcinr_piece_num_cells(pc) == expected, "%s piece %zu/%zu ghosts %d: %zu cells, expected %zu",
                      name, p, n, ghosts, mcinr_piece_num_cells(pc), expected);
                free(inset);
                free(in_piece);
            }
            if (ghosts > 0)
                for (size_t i = 0; i < w.N; i++)
                    CHECK(owned_points[i] == 1, "%s %zu pieces, %d ghost levels: point %zu is owned by %zu pieces",
                          name, n, ghosts, i, owned_points[i]);
            /* with ghost levels the piece is cut from the whole mesh, without from its chunks: the
             * same own cells, in the same order */
            if (n == 3 && ghosts == 1 && pcs[1]) {
                mcinr_piece *z = NULL;
                CHECK(mcinr_piece_build(m, 1, 3, 0, NULL, &z, err, sizeof err) == MCINR_OK, "ghosts 0: %s", err);
                if (z) {
                    const mcinr_piece *a = pcs[1];
                    int same = mcinr_piece_num_own_cells(z) == mcinr_piece_num_own_cells(a);
                    const int64_t *za = mcinr_piece_point_ids(z), *aa = mcinr_piece_point_ids(a);
                    const int64_t *zo = mcinr_piece_offsets(z), *ao = mcinr_piece_offsets(a);
                    const int64_t *zc = mcinr_piece_connectivity(z), *ac = mcinr_piece_connectivity(a);
                    for (size_t c = 0; same && c < mcinr_piece_num_own_cells(z); c++) {
                        same = zo[c + 1] - zo[c] == ao[c + 1] - ao[c] &&
                               mcinr_piece_cell_types(z)[c] == mcinr_piece_cell_types(a)[c];
                        for (int64_t e = 0; same && e < zo[c + 1] - zo[c]; e++)
                            same = za[zc[zo[c] + e]] == aa[ac[ao[c] + e]];
                    }
                    CHECK(same, "%s: piece 1/3's own cells differ between 0 (its chunks) and 1 ghost level (the whole "
                          "mesh)", name);
                    mcinr_piece_free(z);
                }
            }
            /* the same piece on 3 threads */
            if (n == 3 && ghosts == 1 && pcs[1]) {
                mcinr_decode_options o;
                mcinr_decode_options_init(&o);
                o.num_threads = 3;
                mcinr_piece *t = NULL;
                CHECK(mcinr_piece_build(m, 1, 3, 1, &o, &t, err, sizeof err) == MCINR_OK, "threads: %s", err);
                if (t) {
                    const mcinr_piece *a = pcs[1];
                    CHECK(mcinr_piece_num_points(t) == mcinr_piece_num_points(a) &&
                              mcinr_piece_num_cells(t) == mcinr_piece_num_cells(a) &&
                              mcinr_piece_connectivity_size(t) == mcinr_piece_connectivity_size(a),
                          "%s: sizes differ on 3 threads", name);
                    if (mcinr_piece_connectivity_size(t) == mcinr_piece_connectivity_size(a) &&
                        mcinr_piece_num_cells(t) == mcinr_piece_num_cells(a))
                        CHECK(!memcmp(mcinr_piece_connectivity(t), mcinr_piece_connectivity(a),
                                      mcinr_piece_connectivity_size(a) * sizeof(int64_t)) &&
                                  !memcmp(mcinr_piece_cell_ghost_levels(t), mcinr_piece_cell_ghost_levels(a),
                                          mcinr_piece_num_cells(a)),
                              "%s: cells differ on 3 threads", name);
                    mcinr_piece_free(t);
                }
            }
            for (size_t p = 0; p < n; p++) mcinr_piece_free(pcs[p]);
            free(pcs);
            free(own_claim);
            free(owner_of);
            free(owned_points);
        }
    }
    whole_free(&w);
    mcinr_close(m);
}

/* mcinr_decode_mesh_points at each piece's points vs mcinr_decode_mesh, bit for bit. */
static void check_values(const char *dir, const char *name, size_t n, int expect_fewer) {
    mcinr_model *m = open_path(dir, name);
    if (!m) return;
    size_t N = mcinr_mesh_num_points(m), C = mcinr_num_components(m), T = mcinr_num_times(m);
    const double *times = mcinr_times(m);
    double when[3] = {times[T > 1 ? 1 : 0], 0.5 * (times[0] + times[T - 1]) + 1e-3, times[T - 1]};
    size_t some[2] = {C - 1, 0};
    char err[512];
    float *all = malloc(N * C * sizeof(float)), *sub = malloc(N * C * sizeof(float));
    for (int wi = 0; wi < 3; wi++) {
        for (int subset = 0; subset < 2; subset++) {
            const size_t *comps = subset ? some : NULL;
            size_t nc = subset ? 2 : C;
            CHECK(mcinr_decode_mesh(m, when[wi], comps, subset ? 2 : 0, all, NULL, err, sizeof err) == MCINR_OK,
                  "%s decode: %s", name, err);
            size_t evaluated_total = 0;
            for (size_t p = 0; p < n; p++) {
                mcinr_piece *pc = NULL;
                if (mcinr_piece_build(m, p, n, 1, NULL, &pc, err, sizeof err) != MCINR_OK) {
                    CHECK(0, "%s: %s", name, err);
                    continue;
                }
                size_t np = mcinr_piece_num_points(pc), evaluated = 0;
                const int64_t *ids = mcinr_piece_point_ids(pc);
                mcinr_decode_options o;
                mcinr_decode_options_init(&o);
                o.num_threads = 1 + (int)(p % 3);
                mcinr_status s = mcinr_decode_mesh_points(m, when[wi], ids, np, comps, subset ? 2 : 0, sub, &o,
                                                          &evaluated, err, sizeof err);
                CHECK(s == MCINR_OK, "%s decode_mesh_points: %s", name, err);
                for (size_t i = 0; i < np && s == MCINR_OK; i++)
                    if (memcmp(sub + i * nc, all + (size_t)ids[i] * nc, nc * sizeof(float))) {
                        CHECK(0, "%s piece %zu/%zu, time %g: point %lld differs from mcinr_decode_mesh", name, p, n,
                              when[wi], (long long)ids[i]);
                        break;
                    }
                CHECK(mcinr_seam_margin(m) > 0.0 ? evaluated >= np && evaluated <= 2 * np : evaluated == np,
                      "%s: %zu points evaluated for %zu", name, evaluated, np);
                /* mcinr_piece_decode: the same bits at the coordinates the piece gathered (a second
                 * model: its whole mesh is never decoded), also after its cells are freed */
                {
                    char path[1024];
                    snprintf(path, sizeof path, "%s/%s", dir, name);
                    mcinr_model *fresh = NULL;
                    mcinr_piece *fp = NULL;
                    float *again = malloc((np ? np : 1) * nc * sizeof(float));
                    size_t ev2 = 0;
                    CHECK(mcinr_open_file(path, &fresh, err, sizeof err) == MCINR_OK, "%s", err);
                    CHECK(fresh && mcinr_piece_build(fresh, p, n, wi % 2, &o, &fp, err, sizeof err) == MCINR_OK,
                          "%s", err);
                    if (fp) {
                        if (subset) mcinr_piece_free_cells(fp);
                        CHECK(mcinr_piece_num_points(fp) == np || wi % 2 != 1, "%s: piece size", name);
                        const int64_t *fids = mcinr_piece_point_ids(fp);
                        size_t fnp = mcinr_piece_num_points(fp);
                        free(again);
                        again = malloc((fnp ? fnp : 1) * nc * sizeof(float));
                        s = mcinr_piece_decode(fp, fresh, when[wi], comps, subset ? 2 : 0, again, &o, &ev2, err,
                                               sizeof err);
                        CHECK(s == MCINR_OK, "%s mcinr_piece_decode: %s", name, err);
                        for (size_t i = 0; i < fnp && s == MCINR_OK; i++)
                            if (memcmp(again + i * nc, all + (size_t)fids[i] * nc, nc * sizeof(float))) {
                                CHECK(0, "%s piece %zu/%zu, time %g: mcinr_piece_decode differs at point %lld", name,
                                      p, n, when[wi], (long long)fids[i]);
                                break;
                            }
                        CHECK(!subset || (mcinr_piece_num_cells(fp) == 0 && mcinr_piece_connectivity(fp) == NULL),
                              "%s: cells freed", name);
                        CHECK(mcinr_piece_decode(fp, m, when[wi], NULL, 0, again, NULL, NULL, err, sizeof err) ==
                                  MCINR_ERR_ARGUMENT && strstr(err, "another model"),
                              "%s: a piece of another model is refused", name);
                        mcinr_piece_free(fp);
                    }
                    free(again);
                    mcinr_close(fresh);
                }
                evaluated_total += evaluated;
                if (expect_fewer && wi == 0 && subset == 0)
                    printf("  %s piece %zu/%zu: %zu points, networks evaluated at %zu of %zu\n", name, p, n, np,
                           evaluated, N);
                mcinr_piece_free(pc);
            }
            /* without skipping batches every piece would evaluate all N points */
            if (expect_fewer)
                CHECK(evaluated_total < n * N, "%s: %zu pieces evaluated %zu points in all, the mesh has %zu", name,
                      n, evaluated_total, N);
        }
    }
    /* reversed order and a single point */
    CHECK(mcinr_decode_mesh(m, times[0], NULL, 0, all, NULL, err, sizeof err) == MCINR_OK, "decode");
    int64_t rev[3] = {(int64_t)N - 1, (int64_t)N / 2, 0};
    CHECK(mcinr_decode_mesh_points(m, times[0], rev, 3, NULL, 0, sub, NULL, NULL, err, sizeof err) == MCINR_OK,
          "reversed: %s", err);
    for (int i = 0; i < 3; i++)
        CHECK(!memcmp(sub + i * C, all + (size_t)rev[i] * C, C * sizeof(float)), "%s: reversed ids, row %d", name, i);
    /* errors */
    int64_t bad[2] = {0, (int64_t)N};
    CHECK(mcinr_decode_mesh_points(m, times[0], bad, 2, NULL, 0, sub, NULL, NULL, err, sizeof err) ==
                  MCINR_ERR_ARGUMENT &&
              strstr(err, "point_ids[1]"),
          "out of range id: %s", err);
    int64_t neg[1] = {-1};
    CHECK(mcinr_decode_mesh_points(m, times[0], neg, 1, NULL, 0, sub, NULL, NULL, err, sizeof err) ==
              MCINR_ERR_ARGUMENT,
          "negative id");
    int64_t twice[3] = {1, 2, 1};
    CHECK(mcinr_decode_mesh_points(m, times[0], twice, 3, NULL, 0, sub, NULL, NULL, err, sizeof err) ==
                  MCINR_ERR_ARGUMENT &&
              strstr(err, "listed twice"),
          "duplicate id: %s", err);
    CHECK(mcinr_decode_mesh_points(m, times[0], NULL, 1, NULL, 0, sub, NULL, NULL, err, sizeof err) ==
              MCINR_ERR_ARGUMENT,
          "NULL ids");
    CHECK(mcinr_decode_mesh_points(m, times[0], rev, 1, NULL, 0, NULL, NULL, NULL, err, sizeof err) ==
              MCINR_ERR_ARGUMENT,
          "NULL out");
    size_t badc = C;
    CHECK(mcinr_decode_mesh_points(m, times[0], rev, 1, &badc, 1, sub, NULL, NULL, err, sizeof err) ==
              MCINR_ERR_ARGUMENT,
          "component out of range");
    CHECK(mcinr_decode_mesh_points(NULL, times[0], rev, 1, NULL, 0, sub, NULL, NULL, err, sizeof err) ==
              MCINR_ERR_ARGUMENT,
          "NULL model");
    mcinr_piece *pc = (mcinr_piece *)&pc;
    CHECK(mcinr_piece_build(m, 2, 2, 0, NULL, &pc, err, sizeof err) == MCINR_ERR_ARGUMENT && pc == NULL,
          "piece beyond count");
    CHECK(mcinr_piece_build(m, 0, 0, 0, NULL, &pc, err, sizeof err) == MCINR_ERR_ARGUMENT, "no pieces");
    CHECK(mcinr_piece_build(m, 0, 1, -1, NULL, &pc, err, sizeof err) == MCINR_ERR_ARGUMENT, "ghosts -1");
    CHECK(mcinr_piece_build(m, 0, 1, 256, NULL, &pc, err, sizeof err) == MCINR_ERR_ARGUMENT, "ghosts 256");
    CHECK(mcinr_piece_build(m, 0, 1, 0, NULL, NULL, err, sizeof err) == MCINR_ERR_ARGUMENT, "NULL out");
    CHECK(mcinr_piece_num_points(NULL) == 0 && mcinr_piece_point_ids(NULL) == NULL, "NULL piece");
    mcinr_piece_free(NULL);
    free(all);
    free(sub);
    mcinr_close(m);
}

/* A MESHX file: without ghost levels a piece decodes its own chunks only; with one, its own and
 * the chunks sharing a box with them, fewer than the mesh has; bad indexes are refused. */
static void check_index(const char *dir) {
    char err[512];
    mcinr_model *m = open_path(dir, "pieces_indexed.mci");
    if (m) {
        size_t K = mcinr_mesh_num_chunks(m);
        for (size_t n = 2; n <= 4; n += 2)
            for (int ghosts = 0; ghosts <= 1; ghosts++) {
                size_t fewer = 0;
                for (size_t p = 0; p < n; p++) {
                    mcinr_piece *pc = NULL;
                    CHECK(mcinr_piece_build(m, p, n, ghosts, NULL, &pc, err, sizeof err) == MCINR_OK, "%s", err);
                    size_t own = 0, other = 0;
                    mcinr_piece_decoded_chunks(pc, &own, &other);
                    printf("  pieces_indexed.mci piece %zu/%zu, %d ghost levels: %zu own + %zu other chunks of %zu\n",
                           p, n, ghosts, own, other, K);
                    fewer += own + other < K;
                    CHECK(ghosts > 0 || other == 0, "indexed: piece %zu/%zu decoded %zu other chunks", p, n, other);
                    mcinr_piece_free(pc);
                }
                CHECK(fewer > 0, "indexed: no piece of %zu decoded fewer than the %zu chunks", n, K);
            }
        mcinr_close(m);
    }
    /* a point in a box its chunk does not list: the whole-mesh decode and a piece refuse it */
    m = open_path(dir, "index_outside.mci");
    if (m) {
        size_t N = mcinr_mesh_num_points(m), C = mcinr_num_components(m);
        float *out = malloc((N ? N : 1) * C * sizeof(float));
        mcinr_status s = mcinr_decode_mesh(m, mcinr_times(m)[0], NULL, 0, out, NULL, err, sizeof err);
        CHECK(s == MCINR_ERR_FORMAT && strstr(err, "does not list for the chunk") && strstr(err, "chunk 1"),
              "index_outside.mci decode: %d %s", (int)s, err);
        free(out);
        mcinr_close(m);
    }
    m = open_path(dir, "index_outside.mci");
    if (m) {
        size_t refused = 0;
        for (size_t p = 0; p < 3; p++) {
            mcinr_piece *pc = NULL;
            mcinr_status s = mcinr_piece_build(m, p, 3, 1, NULL, &pc, err, sizeof err);
            CHECK(s == MCINR_OK || (s == MCINR_ERR_FORMAT && strstr(err, "does not list for the chunk")),
                  "index_outside.mci piece %zu: %d %s", p, (int)s, err);
            refused += s == MCINR_ERR_FORMAT;
            mcinr_piece_free(pc);
        }
        CHECK(refused > 0, "index_outside.mci: no piece decoded chunk 1");
        mcinr_close(m);
    }
    const char *bad[3][2] = {{"index_count.mci", "indexes"}, {"index_residual.mci", "has no MESHX"},
                             {"index_greedy.mci", "later chunks"}};
    for (int b = 0; b < 3; b++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, bad[b][0]);
        mcinr_model *x = NULL;
        mcinr_status s = mcinr_open_file(path, &x, err, sizeof err);
        CHECK(s == MCINR_ERR_FORMAT && x == NULL && strstr(err, "section MESHX") && strstr(err, bad[b][1]),
              "%s: %d %s", bad[b][0], (int)s, err);
        mcinr_close(x);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_pieces DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    check_pieces(dir, "meshc_tiny.mci", 1);    /* few chunks: more pieces than chunks too */
    check_pieces(dir, "meshc_grid.mci", 1);
    check_pieces(dir, "meshc_residual.mci", 1);
    check_pieces(dir, "meshc_grid_zlib.mci", 1); /* MESH: one chunk, ranges of cells */
    check_values(dir, "meshc_residual.mci", 3, 0);
    check_values(dir, "meshc_residual_zlib.mci", 2, 0);
    check_values(dir, "residual_predicted.mci", 4, 0);
    check_values(dir, "meshc_vessel.mci", 3, 0);
    check_values(dir, "pieces_vessel.mci", 3, 1); /* 16 clusters: a piece skips the batches of the others */
    check_pieces(dir, "pieces_indexed.mci", 1);
    check_values(dir, "pieces_indexed.mci", 4, 1);
    check_index(dir);
    /* the checks across chunks (CShim/tests/make_bad_meshc.py): the whole-mesh decode refuses
     * both files; a piece sees what its chunks show: a point that two of the chunks it decodes
     * list with other coordinates (with a ghost level every chunk is read here), not a point that
     * no chunk lists (no piece has it) */
    const char *bad[2][3] = {{"pieces_unlisted.mci", "is in no chunk", NULL},
                             {"pieces_moved.mci", "has other coordinates than in an earlier chunk", "different coordinates"}};
    for (int b = 0; b < 2; b++) {
        mcinr_model *m = open_path(dir, bad[b][0]);
        if (!m) continue;
        char err[512] = "";
        size_t N = mcinr_mesh_num_points(m), C = mcinr_num_components(m);
        float *out = malloc((N ? N : 1) * C * sizeof(float));
        mcinr_status st = mcinr_decode_mesh(m, mcinr_times(m)[0], NULL, 0, out, NULL, err, sizeof err);
        CHECK(st == MCINR_ERR_FORMAT && strstr(err, bad[b][1]), "%s, whole mesh: %d %s", bad[b][0], (int)st, err);
        free(out);
        mcinr_close(m);
        m = open_path(dir, bad[b][0]);
        size_t refused = 0;
        for (size_t p = 0; m && p < 2; p++) {
            mcinr_piece *pc = NULL;
            st = mcinr_piece_build(m, p, 2, 1, NULL, &pc, err, sizeof err);
            CHECK(bad[b][2] ? st == MCINR_OK || (st == MCINR_ERR_FORMAT && pc == NULL && strstr(err, bad[b][2]))
                            : st == MCINR_OK,
                  "%s, piece %zu: %d %s", bad[b][0], p, (int)st, err);
            refused += st != MCINR_OK;
            mcinr_piece_free(pc);
        }
        CHECK(!bad[b][2] || refused > 0, "%s: no piece refused it", bad[b][0]);
        mcinr_close(m);
    }
    mcinr_model *none = open_path(dir, "siren.mci");
    if (none) {
        char err[256];
        mcinr_piece *pc = NULL;
        int64_t id = 0;
        float v[64];
        CHECK(mcinr_piece_build(none, 0, 1, 0, NULL, &pc, err, sizeof err) == MCINR_ERR_NO_MESH, "no mesh");
        CHECK(mcinr_decode_mesh_points(none, 0.0, &id, 1, NULL, 0, v, NULL, NULL, err, sizeof err) == MCINR_ERR_NO_MESH,
              "no mesh (values)");
        mcinr_close(none);
    }
    if (failures) {
        fprintf(stderr, "test_pieces: %d failures\n", failures);
        return 1;
    }
    printf("test_pieces: all passed\n");
    return 0;
}
