/* Tests of the MESHC section (type 8, format 1.3; CShim/src/mesh_codec.c) against the reference
 * coder tools/mesh_codec.py (the oracle, written from the spec):
 *   test_mesh_codec DIR
 * DIR holds, from tools/make_test_mci.py (CShim/tests/run.sh makes them), for each NAME:
 * NAME.mci (MESHC), NAME.dump (the reference decoder's chunks, mesh_codec.dump_chunks) and
 * NAME_zlib.mci (the same mesh as MESH type 5). Checks: every chunk decoded by mcinr_mesh_chunk
 * equals the reference's chunk (point ids, coordinate bits, cell types and local
 * connectivity, in order); the whole mesh equals the chunks put together and, point for point
 * (bit exact) and cell for cell (as a multiset), the MESH type 5 file's mesh; a MESH file is
 * one chunk; the decoded values with a RESIDUAL are the same for both mesh codings; every
 * single-byte change of the MESHC payload (CRC fixed) fails cleanly at open (header, table) or
 * at the first whole-mesh request (streams), or decodes a consistent mesh; hostile chunk tables
 * fail without allocating; an open on three threads (the chunks decoded concurrently) gives the
 * same mesh, and so do four threads asking for the mesh of a fresh model at once, and a progress
 * callback that asks for the mesh during its decode is refused, not deadlocked (alone with
 * --threads-only, for the ThreadSanitizer run). */
#include "mcinr.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"

static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static mcinr_model *open_path(const char *path) {
    mcinr_model *m = NULL;
    char err[512];
    mcinr_status s = mcinr_open_file(path, &m, err, sizeof err);
    CHECK(s == MCINR_OK, "open %s: %s", path, err);
    return s == MCINR_OK ? m : NULL;
}

static uint64_t le(const uint8_t *q, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | q[i];
    return v;
}

static void put_le(uint8_t *q, uint64_t v, int n) {
    for (int i = 0; i < n; i++) q[i] = (uint8_t)(v >> (8 * i));
}

/* The table entry (offset into the file) of the first section of `type`, or 0. */
static size_t entry_of(const uint8_t *f, size_t len, uint32_t type) {
    if (len < 16) return 0;
    uint32_t count = (uint32_t)le(f + 12, 4);
    for (uint32_t i = 0; i < count && 16 + 32 * (size_t)(i + 1) <= len; i++)
        if (le(f + 16 + 32 * (size_t)i, 4) == type) return 16 + 32 * (size_t)i;
    return 0;
}

static void fix_crc(uint8_t *f, size_t entry) {
    uint64_t off = le(f + entry + 8, 8), n = le(f + entry + 16, 8);
    put_le(f + entry + 24, (uint32_t)crc32(0, f + off, (uInt)n), 4);
}

static uint64_t bits_of(double v, int width) {
    if (width == 32) {
        float x = (float)v;
        uint32_t u;
        memcpy(&u, &x, 4);
        return u;
    }
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
}

/* ---- chunks vs the reference decoder's dump ---- */

static void check_against_dump(const char *mci, const char *dump) {
    mcinr_model *m = open_path(mci);
    FILE *f = fopen(dump, "r");
    CHECK(f != NULL, "cannot read %s", dump);
    if (!m || !f) {
        if (f) fclose(f);
        mcinr_close(m);
        return;
    }
    unsigned long long N;
    int width;
    size_t K;
    CHECK(fscanf(f, "meshc %llu %d %zu\n", &N, &width, &K) == 3, "%s: header", dump);
    CHECK(mcinr_mesh_coding(m) == 8, "%s: coding %d, expected MESHC", mci, mcinr_mesh_coding(m));
    CHECK(mcinr_mesh_num_chunks(m) == K, "%s: %zu chunks, the reference has %zu", mci, mcinr_mesh_num_chunks(m), K);
    CHECK(mcinr_mesh_num_points(m) == N, "%s: %zu points, the reference %llu", mci, mcinr_mesh_num_points(m), N);
    CHECK(mcinr_mesh_point_type(m) == (width == 32 ? 1 : 2), "%s: point type", mci);
    CHECK(mcinr_mesh_bytes(m) > 48, "%s: mesh bytes %llu", mci, (unsigned long long)mcinr_mesh_bytes(m));
    size_t NP = mcinr_mesh_num_points(m), NC = mcinr_mesh_num_cells(m), NE = mcinr_mesh_connectivity_size(m);
    double *wp = malloc(3 * NP * sizeof(double));
    uint8_t *wt = malloc(NC + 1);
    int64_t *wo = malloc((NC + 1) * sizeof(int64_t)), *wc = malloc((NE + 1) * sizeof(int64_t));
    CHECK(mcinr_mesh_points(m, wp) == MCINR_OK && mcinr_mesh_cells(m, wt, wo, wc) == MCINR_OK, "%s: whole mesh", mci);
    size_t cell0 = 0, mismatches = 0;
    for (size_t k = 0; k < K && k < mcinr_mesh_num_chunks(m); k++) {
        size_t kk, n, c, e, n2, c2, e2;
        CHECK(fscanf(f, "chunk %zu %zu %zu %zu\n", &kk, &n, &c, &e) == 4 && kk == k, "%s: chunk %zu header", dump, k);
        CHECK(mcinr_mesh_chunk_sizes(m, k, &n2, &c2, &e2) == MCINR_OK && n2 == n && c2 == c && e2 == e,
              "%s: chunk %zu sizes %zu %zu %zu, reference %zu %zu %zu", mci, k, n2, c2, e2, n, c, e);
        int64_t *ids = malloc((n + 1) * sizeof(int64_t)), *offs = malloc((c + 1) * sizeof(int64_t)),
                *conn = malloc((e + 1) * sizeof(int64_t));
        double *xyz = malloc((3 * n + 1) * sizeof(double));
        uint8_t *types = malloc(c + 1);
        char err[256];
        CHECK(mcinr_mesh_chunk(m, k, ids, xyz, types, offs, conn, err, sizeof err) == MCINR_OK, "%s: chunk %zu: %s",
              mci, k, err);
        for (size_t i = 0; i < n; i++) {
            unsigned long long g, b[3];
            if (fscanf(f, "p %llu %llx %llx %llx\n", &g, &b[0], &b[1], &b[2]) != 4) {
                CHECK(0, "%s: point line", dump);
                break;
            }
            int same = ids[i] == (int64_t)g;
            for (int a = 0; a < 3; a++) {
                same &= bits_of(xyz[3 * i + a], width) == b[a];
                same &= bits_of(wp[3 * g + a], width) == b[a]; /* the whole mesh at the global id */
            }
            if (!same && mismatches++ < 5) CHECK(0, "%s: chunk %zu point %zu (id %llu) differs from the reference", mci, k, i, g);
        }
        CHECK(offs[0] == 0, "%s: chunk %zu offsets[0]", mci, k);
        for (size_t i = 0; i < c; i++) {
            int type;
            if (fscanf(f, "c %d", &type) != 1) {
                CHECK(0, "%s: cell line", dump);
                break;
            }
            int same = types[i] == type && wt[cell0 + i] == type;
            size_t size = (size_t)(offs[i + 1] - offs[i]);
            for (size_t j = 0; j < size; j++) {
                long long v;
                if (fscanf(f, " %lld", &v) != 1) same = 0;
                same &= conn[offs[i] + (int64_t)j] == v;
                /* the whole mesh lists the chunks' cells in order, with global ids */
                same &= wc[wo[cell0 + i] + (int64_t)j] == ids[v];
            }
            same &= wo[cell0 + i + 1] - wo[cell0 + i] == (int64_t)size;
            if (fscanf(f, "\n") != 0) same = 0;
            if (!same && mismatches++ < 5) CHECK(0, "%s: chunk %zu cell %zu differs from the reference", mci, k, i);
        }
        cell0 += c;
        free(ids), free(offs), free(conn), free(xyz), free(types);
    }
    CHECK(cell0 == NC, "%s: the chunks hold %zu cells, the mesh %zu", mci, cell0, NC);
    char err[256];
    CHECK(mcinr_mesh_chunk(m, K, NULL, NULL, NULL, NULL, NULL, err, sizeof err) == MCINR_ERR_ARGUMENT,
          "%s: chunk K out of range accepted", mci);
    free(wp), free(wt), free(wo), free(wc);
    fclose(f);
    mcinr_close(m);
}

/* ---- the same mesh through MESH (type 5) and MESHC ---- */

typedef struct cell_key {
    int type;
    int64_t v[70];
    size_t n;
} cell_key;

static int cell_cmp(const void *a, const void *b) {
    const cell_key *x = a, *y = b;
    if (x->type != y->type) return x->type - y->type;
    if (x->n != y->n) return x->n < y->n ? -1 : 1;
    for (size_t i = 0; i < x->n; i++)
        if (x->v[i] != y->v[i]) return x->v[i] < y->v[i] ? -1 : 1;
    return 0;
}

static cell_key *cells_sorted(mcinr_model *m) {
    size_t NC = mcinr_mesh_num_cells(m), NE = mcinr_mesh_connectivity_size(m);
    uint8_t *t = malloc(NC + 1);
    int64_t *o = malloc((NC + 1) * sizeof(int64_t)), *c = malloc((NE + 1) * sizeof(int64_t));
    cell_key *keys = calloc(NC + 1, sizeof *keys);
    mcinr_mesh_cells(m, t, o, c);
    for (size_t i = 0; i < NC; i++) {
        keys[i].type = t[i];
        keys[i].n = (size_t)(o[i + 1] - o[i]) < 70 ? (size_t)(o[i + 1] - o[i]) : 70;
        for (size_t j = 0; j < keys[i].n; j++) keys[i].v[j] = c[o[i] + (int64_t)j];
    }
    qsort(keys, NC, sizeof *keys, cell_cmp);
    free(t), free(o), free(c);
    return keys;
}

static void check_same_mesh(const char *meshc, const char *zlib_file) {
    mcinr_model *a = open_path(meshc), *b = open_path(zlib_file);
    if (!a || !b) {
        mcinr_close(a), mcinr_close(b);
        return;
    }
    CHECK(mcinr_mesh_coding(b) == 5 && mcinr_mesh_num_chunks(b) == 1, "%s: MESH type 5 is one chunk", zlib_file);
    size_t N = mcinr_mesh_num_points(a);
    CHECK(N == mcinr_mesh_num_points(b) && mcinr_mesh_num_cells(a) == mcinr_mesh_num_cells(b) &&
              mcinr_mesh_connectivity_size(a) == mcinr_mesh_connectivity_size(b),
          "%s vs %s: sizes differ", meshc, zlib_file);
    CHECK(mcinr_mesh_point_type(a) == mcinr_mesh_point_type(b), "%s: point type", meshc);
    if (N == mcinr_mesh_num_points(b) && mcinr_mesh_num_cells(a) == mcinr_mesh_num_cells(b)) {
        double *pa = malloc(3 * N * sizeof(double)), *pb = malloc(3 * N * sizeof(double));
        mcinr_mesh_points(a, pa), mcinr_mesh_points(b, pb);
        CHECK(memcmp(pa, pb, 3 * N * sizeof(double)) == 0, "%s: points differ from %s (original order, bit exact)",
              meshc, zlib_file);
        cell_key *ka = cells_sorted(a), *kb = cells_sorted(b);
        size_t NC = mcinr_mesh_num_cells(a), diff = 0;
        for (size_t i = 0; i < NC; i++) diff += cell_cmp(&ka[i], &kb[i]) != 0;
        CHECK(diff == 0, "%s: %zu of %zu cells differ from %s (vertex order included)", meshc, diff, NC, zlib_file);
        free(ka), free(kb), free(pa), free(pb);
        /* the type 5 file's one chunk is its whole mesh */
        size_t n, c, e;
        CHECK(mcinr_mesh_chunk_sizes(b, 0, &n, &c, &e) == MCINR_OK && n == N && c == NC, "%s: chunk 0 sizes", zlib_file);
        int64_t *ids = malloc(n * sizeof(int64_t));
        CHECK(mcinr_mesh_chunk(b, 0, ids, NULL, NULL, NULL, NULL, NULL, 0) == MCINR_OK && ids[n - 1] == (int64_t)(n - 1),
              "%s: chunk 0 ids", zlib_file);
        free(ids);
    }
    mcinr_close(a), mcinr_close(b);
}

/* decoded values (network + residual) at a stored step agree for both mesh codings */
static void check_same_values(const char *meshc, const char *zlib_file) {
    mcinr_model *a = open_path(meshc), *b = open_path(zlib_file);
    if (a && b) {
        CHECK(mcinr_has_residual(a) && mcinr_has_residual(b), "%s: residual expected", meshc);
        size_t N = mcinr_mesh_num_points(a), C = mcinr_num_components(a);
        double t = mcinr_times(a)[1];
        float *va = malloc(N * C * sizeof(float)), *vb = malloc(N * C * sizeof(float));
        char err[256];
        mcinr_decode_options o;
        mcinr_decode_options_init(&o);
        CHECK(mcinr_decode_mesh(a, t, NULL, 0, va, &o, err, sizeof err) == MCINR_OK, "%s: %s", meshc, err);
        CHECK(mcinr_decode_mesh(b, t, NULL, 0, vb, &o, err, sizeof err) == MCINR_OK, "%s: %s", zlib_file, err);
        CHECK(memcmp(va, vb, N * C * sizeof(float)) == 0, "%s: values with the residual differ from %s", meshc, zlib_file);
        free(va), free(vb);
    }
    mcinr_close(a), mcinr_close(b);
}

/* the open decodes the chunks on several threads: the same mesh as on one */
static void check_threaded_open(const char *path) {
    mcinr_decode_options o;
    mcinr_decode_options_init(&o);
    o.num_threads = 3;
    mcinr_model *a = open_path(path), *b = NULL;
    char err[512];
    CHECK(mcinr_open_file_ex(path, &o, &b, err, sizeof err) == MCINR_OK, "%s with 3 threads: %s", path, err);
    if (a && b) {
        size_t N = mcinr_mesh_num_points(a), NC = mcinr_mesh_num_cells(a), NE = mcinr_mesh_connectivity_size(a);
        CHECK(mcinr_mesh_num_chunks(a) > 1, "%s: a multi-chunk file expected", path);
        double *pa = malloc(3 * N * sizeof(double)), *pb = malloc(3 * N * sizeof(double));
        int64_t *ca = malloc((NE + NC + 1) * sizeof(int64_t)), *cb = malloc((NE + NC + 1) * sizeof(int64_t));
        mcinr_mesh_points(a, pa), mcinr_mesh_points(b, pb);
        mcinr_mesh_cells(a, NULL, ca + NE, ca), mcinr_mesh_cells(b, NULL, cb + NE, cb);
        CHECK(memcmp(pa, pb, 3 * N * sizeof(double)) == 0 && memcmp(ca, cb, (NE + NC + 1) * sizeof(int64_t)) == 0,
              "%s: the mesh opened on 3 threads differs", path);
        free(pa), free(pb), free(ca), free(cb);
    }
    mcinr_close(a), mcinr_close(b);
}

/* the first whole-mesh request from several threads at once (one decode, under the model's
 * lock): every thread gets the mesh of a single-threaded open */
typedef struct first_use {
    mcinr_model *m;
    double *xyz;
    int64_t *conn;
    mcinr_status s;
} first_use;

static void *first_use_thread(void *arg) {
    first_use *u = arg;
    u->s = mcinr_mesh_points(u->m, u->xyz);
    if (u->s == MCINR_OK) u->s = mcinr_mesh_cells(u->m, NULL, NULL, u->conn);
    return NULL;
}

static void check_concurrent_first_use(const char *path) {
    mcinr_model *a = open_path(path), *b = open_path(path);
    if (a && b) {
        size_t N = mcinr_mesh_num_points(a), NE = mcinr_mesh_connectivity_size(a);
        double *want = malloc(3 * N * sizeof(double));
        int64_t *want_conn = malloc(NE * sizeof(int64_t));
        CHECK(mcinr_mesh_points(a, want) == MCINR_OK && mcinr_mesh_cells(a, NULL, NULL, want_conn) == MCINR_OK,
              "%s: whole mesh", path);
        enum { T = 4 };
        first_use u[T];
        pthread_t th[T];
        for (int i = 0; i < T; i++) {
            u[i] = (first_use){b, malloc(3 * N * sizeof(double)), malloc(NE * sizeof(int64_t)), MCINR_ERR_ARGUMENT};
            pthread_create(&th[i], NULL, first_use_thread, &u[i]);
        }
        for (int i = 0; i < T; i++) {
            pthread_join(th[i], NULL);
            CHECK(u[i].s == MCINR_OK && memcmp(u[i].xyz, want, 3 * N * sizeof(double)) == 0 &&
                      memcmp(u[i].conn, want_conn, NE * sizeof(int64_t)) == 0,
                  "%s: thread %d's first whole-mesh request differs (status %d)", path, i, u[i].s);
            free(u[i].xyz), free(u[i].conn);
        }
        free(want), free(want_conn);
    }
    mcinr_close(a), mcinr_close(b);
}

/* a progress callback of the whole-mesh decode that asks for the mesh itself gets an error
 * instead of a deadlock (the model's lock checks its owner); the decode still completes */
typedef struct reentry {
    mcinr_model *m;
    double *xyz;
    int calls, refused;
} reentry;

static int reentry_progress(void *user, double fraction) {
    (void)fraction;
    reentry *r = user;
    r->calls++;
    if (mcinr_mesh_points(r->m, r->xyz) == MCINR_ERR_ARGUMENT) r->refused++;
    return 0;
}

static void check_reentry(const char *path) {
    for (int threads = 1; threads <= 2; threads++) {
        mcinr_model *m = open_path(path);
        if (!m) return;
        reentry r = {m, malloc(3 * mcinr_mesh_num_points(m) * sizeof(double)), 0, 0};
        mcinr_decode_options o;
        mcinr_decode_options_init(&o);
        o.num_threads = threads;
        o.progress = reentry_progress;
        o.user_data = &r;
        char err[512];
        mcinr_status s = mcinr_mesh_decode(m, &o, err, sizeof err);
        CHECK(s == MCINR_OK, "%s: decode with a re-entering progress callback (%d threads): %s", path, threads, err);
        CHECK(r.calls > 0 && r.refused > 0, "%s: %d progress calls, %d refused re-entries (%d threads)", path, r.calls,
              r.refused, threads);
        CHECK(mcinr_mesh_points(m, r.xyz) == MCINR_OK, "%s: the mesh after the decode", path);
        free(r.xyz);
        mcinr_close(m);
    }
}

/* ---- corrupted and hostile payloads ---- */

static int open_bytes(const uint8_t *f, size_t len, mcinr_model **m, char *err, size_t err_len) {
    return mcinr_open_memory(f, len, m, err, err_len);
}

/* The chunk whose stream holds payload byte `at` (SIZE_MAX: the header or the chunk table). */
static size_t chunk_at(const uint8_t *payload, uint64_t at) {
    uint64_t K = le(payload + 32, 4), start = 48 + 40 * K;
    if (at < start) return SIZE_MAX;
    for (uint64_t k = 0; k < K; k++) {
        start += le(payload + 48 + 40 * k, 8);
        if (at < start) return (size_t)k;
    }
    return SIZE_MAX;
}

/* every byte of the MESHC payload changed three ways (CRC fixed): a clean error at open (what
 * the header and the chunk table show) or at the first whole-mesh request (the streams, and
 * counts only a decode can refute: the open decodes no chunk), or a mesh whose every
 * connectivity entry is below the point count. A
 * change in chunk k's stream leaves every other chunk decodable; a whole-mesh error is final
 * (the same status and message again) and every whole-mesh call returns it. */
static void check_byte_changes(const char *path) {
    size_t len;
    uint8_t *orig = read_all(path, &len);
    CHECK(orig != NULL, "read %s", path);
    if (!orig) return;
    size_t entry = entry_of(orig, len, 8);
    CHECK(entry != 0, "%s: no MESHC section", path);
    uint64_t off = le(orig + entry + 8, 8), n = le(orig + entry + 16, 8);
    uint8_t *f = malloc(len);
    size_t opened = 0, failed = 0, failed_later = 0, bad_status = 0;
    static const uint8_t masks[3] = {0x01, 0x80, 0xFF};
    for (uint64_t i = 0; i < n; i++)
        for (int v = 0; v < 3; v++) {
            memcpy(f, orig, len);
            f[off + i] ^= masks[v];
            fix_crc(f, entry);
            mcinr_model *m = NULL;
            char err[512];
            mcinr_status s = open_bytes(f, len, &m, err, sizeof err);
            if (s == MCINR_OK) {
                size_t NC = mcinr_mesh_num_cells(m), NE = mcinr_mesh_connectivity_size(m), N = mcinr_mesh_num_points(m);
                size_t changed = chunk_at(orig + off, i); /* SIZE_MAX: the header or the table */
                int64_t *c = malloc((NE + 1) * sizeof(int64_t)), *o = malloc((NC + 1) * sizeof(int64_t));
                double *xyz = malloc((3 * N + 1) * sizeof(double));
                char err2[512];
                mcinr_status w = mcinr_mesh_decode(m, NULL, err, sizeof err);
                if (w == MCINR_OK) {
                    opened++;
                    if (mcinr_mesh_cells(m, NULL, o, c) != MCINR_OK) bad_status++;
                    for (size_t j = 0; j < NE; j++)
                        if (c[j] < 0 || (size_t)c[j] >= N) bad_status++;
                    if (o[NC] != (int64_t)NE) bad_status++;
                    for (size_t k = 0; k < mcinr_mesh_num_chunks(m); k++)
                        if (mcinr_mesh_chunk(m, k, NULL, NULL, NULL, NULL, NULL, NULL, 0) != MCINR_OK) bad_status++;
                } else {
                    failed++, failed_later++;
                    if (w != MCINR_ERR_FORMAT || !strstr(err, "section MESHC: ") ||
                        (!strstr(err, "chunk ") && !strstr(err, "point ")))
                        bad_status++;
                    /* final: the same answer again, and from every whole-mesh call */
                    if (mcinr_mesh_decode(m, NULL, err2, sizeof err2) != w || strcmp(err, err2) != 0) bad_status++;
                    if (mcinr_mesh_points(m, xyz) != w || mcinr_mesh_cells(m, NULL, o, c) != w) bad_status++;
                    float v[64];
                    if (mcinr_num_components(m) * N <= 64 &&
                        mcinr_decode_mesh(m, 0.0, NULL, 0, v, NULL, err2, sizeof err2) != w)
                        bad_status++;
                    if (changed != SIZE_MAX) {
                        /* a changed stream: the other chunks' streams are intact */
                        for (size_t k = 0; k < mcinr_mesh_num_chunks(m); k++)
                            if (k != changed && mcinr_mesh_chunk(m, k, NULL, NULL, NULL, NULL, NULL, NULL, 0) != MCINR_OK)
                                bad_status++;
                        /* a chunk that fails names the file, the section and itself */
                        w = mcinr_mesh_chunk(m, changed, NULL, NULL, NULL, NULL, NULL, err2, sizeof err2);
                        char want[64];
                        snprintf(want, sizeof want, "section MESHC: chunk %zu: ", changed);
                        if (w != MCINR_OK && (w != MCINR_ERR_FORMAT || !strstr(err2, want))) bad_status++;
                    }
                }
                free(c), free(o), free(xyz);
                mcinr_close(m);
            } else {
                failed++;
                if (s != MCINR_ERR_FORMAT && s != MCINR_ERR_LIMIT && s != MCINR_ERR_NOMEM) bad_status++;
                if (s == MCINR_ERR_FORMAT && !strstr(err, "section MESHC")) bad_status++;
            }
        }
    CHECK(bad_status == 0, "%s: %zu byte changes gave an inconsistent mesh or an unexpected status", path, bad_status);
    CHECK(failed > n, "%s: only %zu of %llu byte changes were detected", path, failed, (unsigned long long)(3 * n));
    CHECK(failed_later > 0, "%s: no byte change of a stream failed the whole-mesh decode", path);
    printf("  %s: %llu byte changes: %zu rejected (%zu by the whole-mesh decode after a clean open), %zu decode "
           "(coordinate bits, probabilities)\n", path, (unsigned long long)(3 * n), failed, failed_later, opened);
    /* truncation of the payload at every length (table length and CRC fixed) */
    size_t truncated_ok = 0;
    for (uint64_t cut = 0; cut < n; cut++) {
        memcpy(f, orig, len);
        put_le(f + entry + 16, cut, 8);
        fix_crc(f, entry);
        mcinr_model *m = NULL;
        char err[512];
        if (open_bytes(f, len, &m, err, sizeof err) == MCINR_OK) {
            truncated_ok++;
            mcinr_close(m);
        }
    }
    CHECK(truncated_ok == 0, "%s: %zu truncated MESHC payloads opened", path, truncated_ok);
    /* hostile chunk table: chunk 0 claims 2^30 tets and 4e9 points in its few bytes */
    memcpy(f, orig, len);
    put_le(f + off + 48 + 16, (uint64_t)1 << 30, 8);
    fix_crc(f, entry);
    mcinr_model *m = NULL;
    char err[512];
    mcinr_status s = open_bytes(f, len, &m, err, sizeof err);
    CHECK(s == MCINR_ERR_FORMAT && strstr(err, "cannot be coded"), "%s: hostile tet count: status %d, %s", path, s, err);
    if (s == MCINR_OK) mcinr_close(m);
    /* a MESHC beside a MESH: not allowed (copy the type 8 entry's type to 5 is not enough, so
     * change the section type to 5 and expect MESH's own parser to reject the bytes) */
    memcpy(f, orig, len);
    put_le(f + entry, 5, 4);
    s = open_bytes(f, len, &m, err, sizeof err);
    CHECK(s == MCINR_ERR_FORMAT, "%s: MESHC bytes as MESH accepted (status %d)", path, s);
    if (s == MCINR_OK) mcinr_close(m);
    /* compressed flag on MESHC: nested compression refused */
    memcpy(f, orig, len);
    put_le(f + entry + 4, le(f + entry + 4, 4) | 2u, 4);
    s = open_bytes(f, len, &m, err, sizeof err);
    CHECK(s == MCINR_ERR_FORMAT && strstr(err, "nested compression"), "%s: compressed MESHC: %d %s", path, s, err);
    if (s == MCINR_OK) mcinr_close(m);
    free(f);
    free(orig);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *D = argv[1];
    char a[1024], b[1024];
    if (argc > 2 && strcmp(argv[2], "--threads-only") == 0) { /* the ThreadSanitizer run */
        snprintf(a, sizeof a, "%s/meshc_vessel.mci", D);
        check_threaded_open(a);
        check_concurrent_first_use(a);
        check_reentry(a);
        printf(failures ? "test_mesh_codec --threads-only: %d failure(s)\n" : "test_mesh_codec --threads-only: passed\n",
               failures);
        return failures != 0;
    }
    static const char *const names[] = {"meshc_tiny", "meshc_grid", "meshc_grid64", "meshc_vessel"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(a, sizeof a, "%s/%s.mci", D, names[i]);
        snprintf(b, sizeof b, "%s/%s.dump", D, names[i]);
        check_against_dump(a, b);
        snprintf(b, sizeof b, "%s/%s_zlib.mci", D, names[i]);
        check_same_mesh(a, b);
        printf("  %s: chunks = reference, whole mesh = MESH type 5\n", names[i]);
    }
    snprintf(a, sizeof a, "%s/meshc_vessel.mci", D);
    check_threaded_open(a);
    check_concurrent_first_use(a);
    check_reentry(a);
    snprintf(a, sizeof a, "%s/meshc_residual.mci", D);
    snprintf(b, sizeof b, "%s/meshc_residual_zlib.mci", D);
    check_same_values(a, b);
    snprintf(a, sizeof a, "%s/meshc_grid.mci", D);
    check_byte_changes(a);
    if (failures) {
        fprintf(stderr, "test_mesh_codec: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_mesh_codec: all passed\n");
    return 0;
}
