/* Tests of the C decoder, meant to run under AddressSanitizer + UndefinedBehaviorSanitizer.
 *
 * usage: test_decoder DIR
 * DIR holds files made by tools/make_test_mci.py (see run.sh):
 *   tiny.mci + tiny.ref     CoordNetB-like, split cluster tree, tiny mesh, reference values
 *   siren.mci + siren.ref   SINE trunk + LINEAR head, no mesh
 *   coordnet.mci + coordnet.ref   RESBLOCK trunk + one LINEAR(w→C) branch
 *   small.mci               a small file for every-byte truncation and bit flips
 *   wide.mci                width-64 SIREN, no mesh: full batches of wide products
 *   tiny_f16, tiny_int8 (+ .ref), tiny_f16z, tiny_int8z (NETS compressed): tiny.mci's
 *                           networks in the format 1.1 weight encodings
 *   small_int8.mci, small_f16z.mci   small.mci in int8 / float16 with compressed NETS
 *   residual_predicted.mci + .res, small_residual_predicted.mci + .res   RESIDUAL type 7
 *                           (predicted indices, zstd and range-coded streams) on the grid mesh
 *                           (neighbour rule cases) and the tiny mesh, with the indices the
 *                           generator reconstructed itself
 *   rc/NAME.rc              crafted range-coded streams for small_residual_predicted's mesh
 *   residual_linear.mci + .res, small_residual_linear.mci + .res   RESIDUAL type 7 with the
 *                           linear predictor (format 1.4, --residual-linear), on the same meshes
 *   residual_plane.mci, small_residual_plane.mci + .res   with the plane predictor too (format
 *                           1.6, --plane)
 *   residual_blend.mci, small_residual_blend.mci + .res   with the blend predictor too (format
 *                           1.7, --plane --blend)
 *   residual_quad.mci, small_residual_quad.mci + .res   with the quadratic predictor too (format
 *                           1.8, --plane --blend --quadratic)
 *   residual_anchor.mci, small_residual_anchor.mci + .res   with the anchor too (format 1.9,
 *                           --anchor: h3 is the next block's first step)
 *   residual_nb.mci, small_residual_nb.mci + .res   with a NEIGHBOURS section (format 1.10,
 *                           --neighbours K: lists shorter than K extended one neighbour step)
 *   vessel_plane_nb5.mci + .txt, .quad.txt   as vessel_plane, over Nb′ of K = 5
 *   vessel_plane.mci + .txt vessel-small's float32 mesh and, per point, Nb(i) and the plane
 *                           weights the generator computed in its own arithmetic (--plane-weights);
 *                           .quad.txt: its quadratic supports and weights (--quadratic-support)
 *                           (--range-streams): the tests hold no range encoder of their own
 * The .ref files hold values computed by a naive double-precision Python evaluation.
 * test_kernels checks the sine / encoding kernels' loop variants against each other and libm. */
#include "mcinr.h"
#include "mcinr_kernels.h"
#include "../src/range_decoder.h" /* coder 2's bit primitive, tested alone */

#include <math.h>
#include <stddef.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                                                                              \
    do {                                                                                                              \
        checks++;                                                                                                     \
        if (!(cond)) {                                                                                                \
            failures++;                                                                                               \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                                           \
            fprintf(stderr, __VA_ARGS__);                                                                             \
            fprintf(stderr, "\n");                                                                                    \
        }                                                                                                             \
    } while (0)

typedef struct bytes {
    uint8_t *data;
    size_t size;
} bytes;

static bytes read_all(const char *path) {
    bytes b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b.data = malloc((size_t)n + 1);
    b.size = fread(b.data, 1, (size_t)n, f);
    fclose(f);
    return b;
}

static bytes copy_bytes(bytes b) {
    bytes c = {malloc(b.size + 64), b.size};
    memcpy(c.data, b.data, b.size);
    return c;
}

static uint64_t get_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, int n) {
    for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Table entry of the first section of `type`, or NULL. */
static uint8_t *find_entry(bytes b, uint32_t type) {
    uint32_t count = (uint32_t)get_le(b.data + 12, 4);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *e = b.data + 16 + 32 * i;
        if (get_le(e, 4) == type) return e;
    }
    return NULL;
}

static uint8_t *payload_of(bytes b, uint32_t type, size_t *len) {
    uint8_t *e = find_entry(b, type);
    *len = (size_t)get_le(e + 16, 8);
    return b.data + get_le(e + 8, 8);
}

static void fix_crc(bytes b, uint32_t type) {
    size_t len;
    uint8_t *p = payload_of(b, type, &len);
    put_le(find_entry(b, type) + 24, crc32(0, p, (uInt)len), 4);
}

/* A copy of b with one more section (payload appended at the end, table grown by 32 bytes). */
static bytes add_section_bytes(bytes b, uint32_t type, uint32_t flags, const uint8_t *payload, size_t plen) {
    uint32_t count = (uint32_t)get_le(b.data + 12, 4);
    size_t table_end = 16 + 32 * (size_t)count;
    bytes c = {malloc(b.size + 32 + plen), b.size + 32 + plen};
    memcpy(c.data, b.data, table_end);
    put_le(c.data + 12, count + 1, 4);
    for (uint32_t i = 0; i < count; i++) put_le(c.data + 16 + 32 * i + 8, get_le(b.data + 16 + 32 * i + 8, 8) + 32, 8);
    uint8_t *e = c.data + table_end;
    memset(e, 0, 32);
    put_le(e, type, 4);
    put_le(e + 4, flags, 4);
    put_le(e + 8, b.size + 32, 8);
    put_le(e + 16, plen, 8);
    put_le(e + 24, crc32(0, (const Bytef *)payload, (uInt)plen), 4);
    memcpy(c.data + table_end + 32, b.data + table_end, b.size - table_end);
    memcpy(c.data + b.size + 32, payload, plen);
    return c;
}

static bytes add_section(bytes b, uint32_t type, uint32_t flags, const char *payload) {
    return add_section_bytes(b, type, flags, (const uint8_t *)payload, strlen(payload));
}

/* A copy of b whose section `type` points at a new payload appended at the end. */
static bytes replace_payload(bytes b, uint32_t type, const uint8_t *payload, size_t len) {
    bytes c = {malloc(b.size + len), b.size + len};
    memcpy(c.data, b.data, b.size);
    memcpy(c.data + b.size, payload, len);
    uint8_t *e = find_entry(c, type);
    put_le(e + 8, b.size, 8);
    put_le(e + 16, len, 8);
    put_le(e + 24, crc32(0, payload, (uInt)len), 4);
    return c;
}

static mcinr_status open_bytes(bytes b, mcinr_model **m, char *err, size_t err_len) {
    return mcinr_open_memory(b.data, b.size, m, err, err_len);
}

/* Opening must fail with `want` (or any error when want == MCINR_OK) and a message that
 * contains `needle` (when given). */
static void expect_open_error(bytes b, mcinr_status want, const char *needle, const char *what) {
    char err[512] = "";
    mcinr_model *m = (mcinr_model *)1;
    mcinr_status s = open_bytes(b, &m, err, sizeof err);
    CHECK(s != MCINR_OK, "%s: opened although it should fail", what);
    CHECK(m == NULL, "%s: out handle not cleared", what);
    if (want != MCINR_OK) CHECK(s == want, "%s: status %d (%s), want %d; message: %s", what, s, mcinr_status_string(s), want, err);
    if (needle) CHECK(strstr(err, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err, needle);
    CHECK(strncmp(err, "memory buffer: ", 15) == 0, "%s: message \"%s\" does not name the source", what, err);
    if (s == MCINR_OK) mcinr_close(m);
}

/* A malformed RESIDUAL: an open with validate_residual fails with MCINR_ERR_FORMAT and `needle`.
 * With at_decode (a stream's content), the default open succeeds, and decoding the stored steps
 * in order fails at the first that reads the stream with the same message, again when that
 * step is asked for again; else (the table) the default open fails with the same message. */
static void expect_residual_error(bytes b, const char *needle, const char *what, int at_decode) {
    char want[512] = "", err[512] = "";
    mcinr_decode_options o;
    mcinr_decode_options_init(&o);
    o.validate_residual = 1;
    mcinr_model *m = NULL;
    mcinr_status s = mcinr_open_memory_ex(b.data, b.size, &o, &m, want, sizeof want);
    CHECK(s == MCINR_ERR_FORMAT && !m && strstr(want, needle), "%s, validated at open: status %d, \"%s\" lacks \"%s\"",
          what, (int)s, want, needle);
    mcinr_close(m);
    m = NULL;
    s = open_bytes(b, &m, err, sizeof err);
    if (!at_decode) {
        CHECK(s == MCINR_ERR_FORMAT && !m && strcmp(err, want) == 0, "%s: the default open says %d \"%s\", the "
              "validating one \"%s\"", what, (int)s, err, want);
        mcinr_close(m);
        return;
    }
    CHECK(s == MCINR_OK && m, "%s: the default open reads the stream's content (%s)", what, err);
    if (!m) return;
    size_t N = mcinr_mesh_num_points(m), C = mcinr_num_components(m), T = mcinr_num_times(m), t = 0;
    float *out = malloc(N * C * sizeof(float));
    for (s = MCINR_OK; t < T; t++)
        if ((s = mcinr_decode_mesh(m, mcinr_times(m)[t], NULL, 0, out, NULL, err, sizeof err)) != MCINR_OK) break;
    CHECK(s == MCINR_ERR_FORMAT && strcmp(err, want) == 0, "%s: the decode says %d \"%s\", the validating open \"%s\"",
          what, (int)s, err, want);
    if (t < T) {
        s = mcinr_decode_mesh(m, mcinr_times(m)[t], NULL, 0, out, NULL, err, sizeof err);
        CHECK(s == MCINR_ERR_FORMAT && strcmp(err, want) == 0, "%s: the step again says %d \"%s\"", what, (int)s, err);
    }
    free(out);
    mcinr_close(m);
}

/* Exercises every query and a small decode on whatever opened (fuzz-like inputs). */
static void touch_model(const mcinr_model *m) {
    size_t C = mcinr_num_components(m);
    for (size_t v = 0; v < mcinr_num_variables(m); v++) {
        const char *name = mcinr_variable_name(m, v);
        CHECK(name && strlen(name) > 0, "variable %zu has no name", v);
    }
    double bmin[3], bmax[3];
    mcinr_bounds(m, bmin, bmax);
    double xyz[12] = {bmin[0], bmin[1], bmin[2], bmax[0], bmax[1], bmax[2], 0, 0, 0, 1e30, -1e30, NAN};
    float *out = malloc(4 * C * sizeof(float));
    char err[256];
    mcinr_status s = mcinr_decode(m, xyz, 4, mcinr_times(m)[0], NULL, 0, out, NULL, err, sizeof err);
    CHECK(s == MCINR_OK, "decode of an opened model failed: %s", err);
    free(out);
}

/* ---- Valid files ---- */

typedef struct reference {
    size_t n, C;
    double *rows; /* n × (4 + C) */
} reference;

static reference read_reference(const char *path, size_t C) {
    reference r = {0, C, NULL};
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    size_t cap = 0;
    double v;
    size_t k = 0;
    while (fscanf(f, "%lf", &v) == 1) {
        if (k == cap) {
            cap = cap ? 2 * cap : 1024;
            r.rows = realloc(r.rows, cap * sizeof(double));
        }
        r.rows[k++] = v;
    }
    fclose(f);
    r.n = k / (4 + C);
    return r;
}

/* Decoded values against the naive reference; returns the max error relative to each
 * component's range. */
static double compare_reference(const mcinr_model *m, const char *ref_path) {
    size_t C = mcinr_num_components(m);
    reference r = read_reference(ref_path, C);
    CHECK(r.n > 0, "%s: no reference points", ref_path);
    double worst = 0.0;
    float *out = malloc(C * sizeof(float));
    for (size_t i = 0; i < r.n; i++) {
        const double *row = r.rows + i * (4 + C);
        char err[256];
        mcinr_status s = mcinr_decode(m, row, 1, row[3], NULL, 0, out, NULL, err, sizeof err);
        CHECK(s == MCINR_OK, "decode: %s", err);
        for (size_t c = 0; c < C; c++) {
            double lo, hi;
            mcinr_component_range(m, c, &lo, &hi);
            double e = fabs((double)out[c] - row[4 + c]) / (hi - lo);
            if (e > worst) worst = e;
        }
    }
    free(out);
    free(r.rows);
    return worst;
}

static int progress_calls;
static int count_progress(void *user, double fraction) {
    (void)user;
    CHECK(fraction >= 0.0 && fraction <= 1.0, "progress fraction %g", fraction);
    progress_calls++;
    return 0;
}
static int count_progress_quiet(void *user, double fraction) {
    (void)user;
    return !(fraction >= 0.0 && fraction <= 1.0);
}
static int abort_progress(void *user, double fraction) {
    (void)fraction;
    (*(int *)user)++;
    return 1;
}

/* Options set up the documented way: mcinr_decode_options_init, then the fields. */
static mcinr_decode_options options(int threads, mcinr_progress_fn progress, void *user_data, int network_only) {
    mcinr_decode_options o;
    mcinr_decode_options_init(&o);
    o.num_threads = threads;
    o.progress = progress;
    o.user_data = user_data;
    o.network_only = network_only;
    return o;
}

typedef struct concurrent_decode {
    const mcinr_model *m;
    const double *xyz;
    size_t n;
    float *out;
    mcinr_status status;
} concurrent_decode;

static void *decode_thread(void *arg) {
    concurrent_decode *d = arg;
    mcinr_decode_options opt = options(2, count_progress_quiet, NULL, 0);
    d->status = mcinr_decode(d->m, d->xyz, d->n, 30.0, NULL, 0, d->out, &opt, NULL, 0);
    return NULL;
}

/* Several threads decode from one model at once (each with 2 workers): same results as a
 * single decode. Under ThreadSanitizer this also checks the model is never written. */
static void test_concurrent(const mcinr_model *m, const double *xyz, size_t n) {
    size_t C = mcinr_num_components(m);
    float *expected = malloc(n * C * sizeof(float));
    CHECK(mcinr_decode(m, xyz, n, 30.0, NULL, 0, expected, NULL, NULL, 0) == MCINR_OK, "single decode");
    concurrent_decode d[3];
    pthread_t ids[3];
    for (int i = 0; i < 3; i++) {
        d[i] = (concurrent_decode){m, xyz, n, malloc(n * C * sizeof(float)), MCINR_ERR_IO};
        pthread_create(&ids[i], NULL, decode_thread, &d[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(ids[i], NULL);
        CHECK(d[i].status == MCINR_OK, "concurrent decode %d: status %d", i, d[i].status);
        CHECK(memcmp(d[i].out, expected, n * C * sizeof(float)) == 0, "concurrent decode %d differs", i);
        free(d[i].out);
    }
    free(expected);
}

typedef struct concurrent_mesh_decode {
    const mcinr_model *m;
    size_t step;
    float *out;
    mcinr_status status;
} concurrent_mesh_decode;

/* Decodes the steps from 0 to d->step in order (each continuing the chain the last decode of
 * the model left, when no other thread took it meanwhile), d->out the last. */
static void *decode_mesh_thread(void *arg) {
    concurrent_mesh_decode *d = arg;
    mcinr_decode_options opt = options(2, NULL, NULL, 0);
    d->status = MCINR_OK;
    for (size_t t = 0; t <= d->step && d->status == MCINR_OK; t++)
        d->status = mcinr_decode_mesh(d->m, mcinr_times(d->m)[t], NULL, 0, d->out, &opt, NULL, 0);
    return NULL;
}

/* Several threads decode the mesh with the residual up to different stored steps of one model
 * at once: each gets the single-threaded values (each decode decompresses into its own
 * buffers, and the chains decodes leave are taken and given back under a lock;
 * ThreadSanitizer checks nothing else is shared). */
static void test_concurrent_residual(const mcinr_model *m) {
    size_t C = mcinr_num_components(m), N = mcinr_mesh_num_points(m), T = mcinr_num_times(m);
    concurrent_mesh_decode d[4];
    pthread_t ids[4];
    for (int i = 0; i < 4; i++) {
        d[i] = (concurrent_mesh_decode){m, (size_t)(T - 1 - (size_t)i % T), malloc(N * C * sizeof(float)), MCINR_ERR_IO};
        pthread_create(&ids[i], NULL, decode_mesh_thread, &d[i]);
    }
    float *expected = malloc(N * C * sizeof(float));
    for (int i = 0; i < 4; i++) {
        pthread_join(ids[i], NULL);
        CHECK(d[i].status == MCINR_OK, "concurrent mesh decode %d: status %d", i, d[i].status);
        CHECK(mcinr_decode_mesh(m, mcinr_times(m)[d[i].step], NULL, 0, expected, NULL, NULL, 0) == MCINR_OK, "serial");
        CHECK(memcmp(d[i].out, expected, N * C * sizeof(float)) == 0, "concurrent mesh decode %d differs", i);
        free(d[i].out);
    }
    free(expected);
}

/* Copies paths[0] into paths[1] (a FIFO), for the open of a pipe. */
static void *feed_fifo(void *arg) {
    const char *const *paths = arg;
    FILE *in = fopen(paths[0], "rb"), *out = fopen(paths[1], "wb");
    char buf[4096];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    if (in) fclose(in);
    if (out) fclose(out);
    return NULL;
}

static void test_valid(const char *dir) {
    char path[1024], ref[1024], err[512];
    const char *names[] = {"tiny", "siren", "coordnet", "tiny_f16", "tiny_int8", "tiny_f16z", "tiny_int8z"};
    for (int k = 0; k < 7; k++) {
        snprintf(path, sizeof path, "%s/%s.mci", dir, names[k]);
        snprintf(ref, sizeof ref, "%s/%s.ref", dir, names[k]);
        mcinr_model *m = NULL;
        mcinr_status s = mcinr_open_file(path, &m, err, sizeof err);
        CHECK(s == MCINR_OK, "open %s: %s", path, err);
        if (s != MCINR_OK) continue;
        double worst = compare_reference(m, ref);
        /* float32 evaluation against double: 1e-5 of the component range */
        CHECK(worst <= 1e-5, "%s: max error %.3g of the range vs the Python reference", names[k], worst);
        printf("  %s: max |decode - reference| / range = %.2e\n", names[k], worst);
        mcinr_close(m);
    }

    snprintf(path, sizeof path, "%s/tiny.mci", dir);
    mcinr_model *m = NULL;
    CHECK(mcinr_open_file(path, &m, err, sizeof err) == MCINR_OK, "open: %s", err);
    if (!m) return;
    uint16_t major, minor;
    mcinr_format_version(m, &major, &minor);
    CHECK(major == 1 && minor == 0, "version %u.%u", major, minor);
    CHECK(mcinr_num_variables(m) == 4, "variables %zu", mcinr_num_variables(m));
    CHECK(strcmp(mcinr_variable_name(m, 0), "velocity") == 0, "name %s", mcinr_variable_name(m, 0));
    CHECK(mcinr_variable_components(m, 0) == 3 && mcinr_variable_first_component(m, 3) == 5, "components");
    CHECK(mcinr_variable_name(m, 4) == NULL, "out-of-range name");
    CHECK(mcinr_num_components(m) == 6, "components %zu", mcinr_num_components(m));
    CHECK(mcinr_num_times(m) == 12 && fabs(mcinr_times(m)[11] - 40.0) < 1e-12, "times");
    CHECK(mcinr_component_range(m, 6, NULL, NULL) == MCINR_ERR_ARGUMENT, "range index check");
    CHECK(mcinr_num_tree_nodes(m) == 5 && mcinr_num_networks(m) == 4, "tree %zu nets %zu", mcinr_num_tree_nodes(m),
          mcinr_num_networks(m));
    CHECK(strstr(mcinr_metadata_json(m), "\"creator\"") != NULL, "json %s", mcinr_metadata_json(m));
    CHECK(mcinr_has_mesh(m) && mcinr_mesh_num_points(m) == 27 && mcinr_mesh_num_cells(m) == 48 &&
              mcinr_mesh_connectivity_size(m) == 192,
          "mesh");
    size_t N = mcinr_mesh_num_points(m), C = mcinr_num_components(m);
    double *pts = malloc(N * 3 * sizeof(double));
    CHECK(mcinr_mesh_points(m, pts) == MCINR_OK, "mesh points");
    int64_t *offs = malloc((mcinr_mesh_num_cells(m) + 1) * sizeof(int64_t));
    int64_t *conn = malloc(mcinr_mesh_connectivity_size(m) * sizeof(int64_t));
    uint8_t *types = malloc(mcinr_mesh_num_cells(m));
    CHECK(mcinr_mesh_cells(m, types, offs, conn) == MCINR_OK, "mesh cells");
    CHECK(offs[0] == 0 && offs[48] == 192 && types[0] == 10 && conn[191] < 27, "cells content");

    /* mesh decode == point decode; threads 1 == 4; component subsets == columns */
    float *a = malloc(N * C * sizeof(float)), *b = malloc(N * C * sizeof(float));
    mcinr_decode_options one = options(1, count_progress, NULL, 0), four = options(4, count_progress, NULL, 0);
    progress_calls = 0;
    CHECK(mcinr_decode_mesh(m, 17.5, NULL, 0, a, &one, err, sizeof err) == MCINR_OK, "decode_mesh: %s", err);
    CHECK(progress_calls >= 1, "progress not called");
    CHECK(mcinr_decode(m, pts, N, 17.5, NULL, C, b, &four, err, sizeof err) == MCINR_OK, "decode: %s", err);
    CHECK(memcmp(a, b, N * C * sizeof(float)) == 0, "decode_mesh differs from decode at mesh points");
    size_t comps[2] = {4, 1};
    float *sub = malloc(N * 2 * sizeof(float));
    CHECK(mcinr_decode(m, pts, N, 17.5, comps, 2, sub, NULL, err, sizeof err) == MCINR_OK, "subset: %s", err);
    int same = 1;
    for (size_t i = 0; i < N; i++) same &= sub[2 * i] == a[i * C + 4] && sub[2 * i + 1] == a[i * C + 1];
    CHECK(same, "component subset differs from the full decode");
    size_t bad = 6;
    CHECK(mcinr_decode(m, pts, N, 0, &bad, 1, sub, NULL, err, sizeof err) == MCINR_ERR_ARGUMENT, "bad component");
    CHECK(mcinr_decode(m, NULL, N, 0, NULL, 0, sub, NULL, err, sizeof err) == MCINR_ERR_ARGUMENT, "NULL xyz");

    /* many points over several chunks: threads 1 vs 4 bitwise equal; abort stops */
    size_t big = 20000;
    double *many = malloc(big * 3 * sizeof(double));
    srand(7);
    for (size_t i = 0; i < big * 3; i++) many[i] = 2.0 * rand() / RAND_MAX;
    float *c1 = malloc(big * C * sizeof(float)), *c4 = malloc(big * C * sizeof(float));
    progress_calls = 0;
    CHECK(mcinr_decode(m, many, big, 21.0, NULL, 0, c1, &one, err, sizeof err) == MCINR_OK, "%s", err);
    CHECK(progress_calls >= 5, "progress calls %d over 5 chunks", progress_calls);
    progress_calls = 0;
    CHECK(mcinr_decode(m, many, big, 21.0, NULL, 0, c4, &four, err, sizeof err) == MCINR_OK, "%s", err);
    CHECK(progress_calls >= 1, "threaded progress calls %d", progress_calls);
    CHECK(memcmp(c1, c4, big * C * sizeof(float)) == 0, "threads 1 and 4 differ");
    int aborts = 0;
    mcinr_decode_options stop1 = options(1, abort_progress, &aborts, 0), stop4 = options(4, abort_progress, &aborts, 0);
    CHECK(mcinr_decode(m, many, big, 21.0, NULL, 0, c4, &stop1, err, sizeof err) == MCINR_ERR_ABORTED, "abort 1");
    CHECK(mcinr_decode(m, many, big, 21.0, NULL, 0, c4, &stop4, err, sizeof err) == MCINR_ERR_ABORTED, "abort 4");
    CHECK(aborts == 2, "abort callback calls %d", aborts);
    test_concurrent(m, many, big);

    /* routing: every mesh point goes to a valid leaf network */
    int routed = 1;
    for (size_t i = 0; i < N; i++) routed &= mcinr_route(m, pts + 3 * i) < mcinr_num_networks(m);
    CHECK(routed, "routing out of range");

    free(many); free(c1); free(c4); free(sub); free(a); free(b);
    free(pts); free(offs); free(conn); free(types);
    mcinr_close(m);

    /* an unreadable path names the file */
    m = (mcinr_model *)1;
    CHECK(mcinr_open_file("/nonexistent/x.mci", &m, err, sizeof err) == MCINR_ERR_IO && m == NULL, "missing file");
    CHECK(strstr(err, "/nonexistent/x.mci") != NULL, "message %s", err);
    /* a device or a folder is refused before anything is read (/dev/zero never ends) */
    CHECK(mcinr_open_file("/dev/zero", &m, err, sizeof err) == MCINR_ERR_IO && m == NULL, "/dev/zero");
    CHECK(strstr(err, "/dev/zero: not a regular file or a pipe (a character device)") != NULL, "message %s", err);
    CHECK(mcinr_open_file(dir, &m, err, sizeof err) == MCINR_ERR_IO && m == NULL, "a folder");
    CHECK(strstr(err, "not a regular file or a pipe (a folder)") != NULL, "message %s", err);
    { /* a pipe is read to its end */
        char fifo[1100], src[1100];
        snprintf(fifo, sizeof fifo, "%s/pipe-%d.mci", dir, (int)getpid());
        snprintf(src, sizeof src, "%s/tiny.mci", dir);
        CHECK(mkfifo(fifo, 0600) == 0, "mkfifo %s", fifo);
        const char *paths[2] = {src, fifo};
        pthread_t writer;
        pthread_create(&writer, NULL, feed_fifo, (void *)paths);
        m = NULL;
        CHECK(mcinr_open_file(fifo, &m, err, sizeof err) == MCINR_OK && mcinr_num_variables(m) == 4, "a pipe: %s", err);
        pthread_join(writer, NULL);
        mcinr_close(m);
        unlink(fifo);
    }
}

/* The library version (header macros and mcinr_version agree) and the versioned options:
 * init gives the defaults, a zeroed struct is rejected with a message that says what to do, a
 * caller with an older, smaller struct (struct_size covering only the first fields) gets the
 * defaults for the rest. */
static void test_version_and_options(const char *dir) {
    char want[32], path[1024], err[512];
    snprintf(want, sizeof want, "%d.%d.%d", MCINR_VERSION_MAJOR, MCINR_VERSION_MINOR, MCINR_VERSION_PATCH);
    CHECK(strcmp(mcinr_version(), want) == 0 && strcmp(MCINR_VERSION_STRING, want) == 0, "version %s, macros %s / %s",
          mcinr_version(), MCINR_VERSION_STRING, want);
    CHECK(MCINR_VERSION_NUMBER == MCINR_VERSION_MAJOR * 10000 + MCINR_VERSION_MINOR * 100 + MCINR_VERSION_PATCH &&
              MCINR_VERSION_NUMBER >= 10000,
          "version number %d", MCINR_VERSION_NUMBER);

    mcinr_decode_options o;
    memset(&o, 0xAB, sizeof o);
    mcinr_decode_options_init(&o);
    CHECK(o.struct_size == sizeof o && o.num_threads == 1 && o.progress == NULL && o.user_data == NULL &&
              o.network_only == 0,
          "init: size %zu threads %d network_only %d", o.struct_size, o.num_threads, o.network_only);
    mcinr_decode_options_init(NULL); /* allowed */

    snprintf(path, sizeof path, "%s/residual_predicted.mci", dir);
    mcinr_model *m = NULL;
    CHECK(mcinr_open_file(path, &m, err, sizeof err) == MCINR_OK, "open: %s", err);
    if (!m) return;
    size_t N = mcinr_mesh_num_points(m), C = mcinr_num_components(m);
    double t = mcinr_times(m)[1];
    float *want_values = malloc(N * C * sizeof(float)), *got = malloc(N * C * sizeof(float));
    CHECK(mcinr_decode_mesh(m, t, NULL, 0, want_values, NULL, err, sizeof err) == MCINR_OK, "defaults: %s", err);
    CHECK(mcinr_decode_mesh(m, t, NULL, 0, got, &o, err, sizeof err) == MCINR_OK, "init: %s", err);
    CHECK(memcmp(got, want_values, N * C * sizeof(float)) == 0, "init differs from NULL options");

    /* zeroed (the 0.x way of setting up options): rejected, pointing at the init function */
    mcinr_decode_options zero;
    memset(&zero, 0, sizeof zero);
    double xyz[3] = {0.5, 0.5, 0.5};
    err[0] = 0;
    CHECK(mcinr_decode_mesh(m, t, NULL, 0, got, &zero, err, sizeof err) == MCINR_ERR_ARGUMENT, "zeroed options");
    CHECK(strstr(err, "struct_size is 0") && strstr(err, "mcinr_decode_options_init"), "message: %s", err);
    err[0] = 0;
    CHECK(mcinr_decode(m, xyz, 1, t, NULL, 0, got, &zero, err, sizeof err) == MCINR_ERR_ARGUMENT, "zeroed options");
    CHECK(strstr(err, "mcinr_decode: ") && strstr(err, "mcinr_decode_options_init"), "message: %s", err);
    zero.struct_size = offsetof(mcinr_decode_options, num_threads) + sizeof(int) - 1; /* num_threads cut */
    CHECK(mcinr_decode(m, xyz, 1, t, NULL, 0, got, &zero, err, sizeof err) == MCINR_ERR_ARGUMENT, "size too small");

    /* an older caller's struct: struct_size and num_threads only, in a buffer just that long
     * (ASan sees any read past it); the rest must take the defaults (residual applied) */
    size_t small = offsetof(mcinr_decode_options, num_threads) + sizeof(int);
    unsigned char *older = malloc(small);
    mcinr_decode_options head;
    mcinr_decode_options_init(&head);
    head.struct_size = small;
    head.num_threads = 3;
    memcpy(older, &head, small);
    CHECK(mcinr_decode_mesh(m, t, NULL, 0, got, (const mcinr_decode_options *)(const void *)older, err, sizeof err) ==
              MCINR_OK,
          "older struct: %s", err);
    CHECK(memcmp(got, want_values, N * C * sizeof(float)) == 0, "older struct: values differ from the defaults");
    free(older);
    /* a struct that ends before network_only: network_only is not read (residual applied) */
    o = options(2, NULL, NULL, 1);
    o.struct_size = offsetof(mcinr_decode_options, network_only);
    CHECK(mcinr_decode_mesh(m, t, NULL, 0, got, &o, err, sizeof err) == MCINR_OK, "%s", err);
    CHECK(memcmp(got, want_values, N * C * sizeof(float)) == 0, "network_only beyond struct_size was read");
    /* a larger struct_size (a newer header): the known fields are read */
    o = options(2, NULL, NULL, 1);
    o.struct_size = sizeof o + 64;
    float *net = malloc(N * C * sizeof(float));
    mcinr_decode_options only = options(1, NULL, NULL, 1);
    CHECK(mcinr_decode_mesh(m, t, NULL, 0, net, &only, err, sizeof err) == MCINR_OK, "%s", err);
    CHECK(mcinr_decode_mesh(m, t, NULL, 0, got, &o, err, sizeof err) == MCINR_OK, "%s", err);
    CHECK(memcmp(got, net, N * C * sizeof(float)) == 0, "larger struct_size: network_only not read");
    CHECK(memcmp(net, want_values, N * C * sizeof(float)) != 0, "the residual changes nothing at step 1");
    free(net);
    free(want_values);
    free(got);
    mcinr_close(m);
}

/* Every progress fraction of a decode, in call order; aborts at call `abort_at` (1-based, 0:
 * never). Called only from the decoding thread, so no locking. */
typedef struct progress_log {
    double fractions[4096];
    size_t calls, abort_at;
} progress_log;

static int log_progress(void *user, double fraction) {
    progress_log *log = user;
    if (log->calls < sizeof log->fractions / sizeof log->fractions[0]) log->fractions[log->calls] = fraction;
    log->calls++;
    return log->abort_at != 0 && log->calls == log->abort_at;
}

/* Monotonic in [0, 1] and ending at exactly 1. */
static int progress_ok(const progress_log *log) {
    int ok = log->calls > 0 && log->fractions[log->calls - 1] == 1.0;
    for (size_t i = 0; i < log->calls; i++)
        ok &= log->fractions[i] >= 0.0 && log->fractions[i] <= 1.0 && (i == 0 || log->fractions[i] >= log->fractions[i - 1]);
    return ok;
}

static int abort_past_half(void *user, double fraction) {
    if (!(fraction > 0.5)) return 0;
    (*(int *)user)++;
    return 1;
}

/* The residual's neighbour lists, plane weights and quadratic supports are built on first use,
 * not at open (unless the open validates every chain, which reads them): mcinr_mesh_decode
 * builds them after the mesh, reporting that part over [0.5, 1], so fractions strictly between
 * 0.5 and 1 show a build. An abort there keeps nothing; the next decode builds them and gives
 * the values of a model whose open built them. */
static void test_residual_geometry_lazy(const char *dir, const char *stem) {
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/%s.mci", dir, stem);
    mcinr_model *lazy = NULL, *eager = NULL;
    mcinr_decode_options one = options(1, NULL, NULL, 0), validating = one;
    validating.validate_residual = 1;
    CHECK(mcinr_open_file_ex(path, &one, &lazy, err, sizeof err) == MCINR_OK, "open %s: %s", stem, err);
    CHECK(mcinr_open_file_ex(path, &validating, &eager, err, sizeof err) == MCINR_OK, "open %s: %s", stem, err);
    if (!lazy || !eager) goto done;
    static progress_log log;
    int built = 0;
    for (int model = 0; model < 2; model++) {
        memset(&log, 0, sizeof log);
        mcinr_decode_options o = options(1, log_progress, &log, 0);
        CHECK(mcinr_mesh_decode(model ? eager : lazy, &o, err, sizeof err) == MCINR_OK, "mesh decode: %s", err);
        CHECK(progress_ok(&log), "%s: mesh decode progress", stem);
        built = 0;
        for (size_t i = 0; i < log.calls && i < 4096; i++) built |= log.fractions[i] > 0.5 && log.fractions[i] < 1.0;
        CHECK(built == !model, "%s: the %s open's mesh decode %s the residual's geometry", stem,
              model ? "validating" : "lazy", built ? "built" : "did not build");
    }
    mcinr_close(lazy);
    lazy = NULL;
    CHECK(mcinr_open_file_ex(path, &one, &lazy, err, sizeof err) == MCINR_OK, "open %s: %s", stem, err);
    if (!lazy) goto done;
    int calls = 0;
    mcinr_decode_options o = options(1, abort_past_half, &calls, 0);
    CHECK(mcinr_mesh_decode(lazy, &o, err, sizeof err) == MCINR_ERR_ABORTED, "%s: abort in the geometry", stem);
    CHECK(calls == 1, "%s: %d progress calls past 0.5 after the abort", stem, calls);
    CHECK(strstr(err, "aborted") != NULL, "%s: abort message: %s", stem, err);
    size_t C = mcinr_num_components(lazy), N = mcinr_mesh_num_points(lazy), T = mcinr_num_times(lazy);
    float *a = malloc(N * C * sizeof(float)), *b = malloc(N * C * sizeof(float));
    double t = mcinr_times(lazy)[T - 1];
    CHECK(mcinr_decode_mesh(lazy, t, NULL, 0, a, NULL, err, sizeof err) == MCINR_OK, "decode after abort: %s", err);
    CHECK(mcinr_decode_mesh(eager, t, NULL, 0, b, NULL, err, sizeof err) == MCINR_OK, "decode: %s", err);
    CHECK(memcmp(a, b, N * C * sizeof(float)) == 0, "%s: lazily built geometry decodes other values", stem);
    free(a);
    free(b);
done:
    mcinr_close(lazy);
    mcinr_close(eager);
}

/* mcinr_decode_mesh with a residual: progress covers the network phase and then the residual
 * phase, monotonic up to 1; an abort in the residual phase returns MCINR_ERR_ABORTED; 1 and 4
 * threads give the same bits. */
static void test_residual_progress(const char *dir, const char *stem) {
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/%s.mci", dir, stem);
    mcinr_model *m = NULL;
    CHECK(mcinr_open_file(path, &m, err, sizeof err) == MCINR_OK, "open %s: %s", path, err);
    if (!m) return;
    size_t N = mcinr_mesh_num_points(m), C = mcinr_num_components(m), T = mcinr_num_times(m);
    float *a = malloc(N * C * sizeof(float)), *b = malloc(N * C * sizeof(float));
    static progress_log log; /* large: not on the stack */
    for (int threads = 1; threads <= 4; threads += 3) {
        double t = mcinr_times(m)[T - 1];
        /* the network phase alone: how many calls it makes */
        memset(&log, 0, sizeof log);
        mcinr_decode_options o = options(threads, log_progress, &log, 1);
        CHECK(mcinr_decode_mesh(m, t, NULL, 0, a, &o, err, sizeof err) == MCINR_OK, "%s", err);
        CHECK(progress_ok(&log), "%s, %d threads, network only: progress not monotonic to 1", stem, threads);
        size_t network_calls = log.calls;
        /* with the residual: more calls, still monotonic to 1, and the network phase ends below 1 */
        memset(&log, 0, sizeof log);
        o = options(threads, log_progress, &log, 0);
        CHECK(mcinr_decode_mesh(m, t, NULL, 0, a, &o, err, sizeof err) == MCINR_OK, "%s", err);
        CHECK(progress_ok(&log), "%s, %d threads: progress not monotonic to 1 (%zu calls)", stem, threads, log.calls);
        CHECK(log.calls > network_calls && log.fractions[network_calls - 1] < 1.0,
              "%s, %d threads: %zu calls (network phase %zu), network phase ends at %g", stem, threads, log.calls,
              network_calls, log.fractions[network_calls - 1]);
        /* abort at the first call of the residual phase */
        memset(&log, 0, sizeof log);
        log.abort_at = network_calls + 1;
        err[0] = 0;
        CHECK(mcinr_decode_mesh(m, t, NULL, 0, b, &o, err, sizeof err) == MCINR_ERR_ABORTED,
              "%s, %d threads: abort in the residual phase", stem, threads);
        CHECK(log.calls == network_calls + 1, "%s, %d threads: %zu progress calls after the abort at %zu", stem, threads,
              log.calls, network_calls + 1);
        CHECK(strstr(err, "aborted") != NULL, "abort message: %s", err);
        /* the same values with 1 and 4 threads, at every stored step */
        for (size_t step = 0; step < T; step++) {
            mcinr_decode_options one = options(1, NULL, NULL, 0), four = options(4, NULL, NULL, 0);
            CHECK(mcinr_decode_mesh(m, mcinr_times(m)[step], NULL, 0, a, &one, err, sizeof err) == MCINR_OK, "%s", err);
            CHECK(mcinr_decode_mesh(m, mcinr_times(m)[step], NULL, 0, b, &four, err, sizeof err) == MCINR_OK, "%s", err);
            CHECK(memcmp(a, b, N * C * sizeof(float)) == 0, "%s: step %zu differs between 1 and 4 threads", stem, step);
        }
        /* between steps the residual does not apply: the network phase reaches 1 itself */
        memset(&log, 0, sizeof log);
        o = options(threads, log_progress, &log, 0);
        CHECK(mcinr_decode_mesh(m, 0.5 * (mcinr_times(m)[0] + mcinr_times(m)[1]), NULL, 0, a, &o, err, sizeof err) ==
                  MCINR_OK, "%s", err);
        CHECK(progress_ok(&log) && log.calls == network_calls, "%s: between steps %zu calls", stem, log.calls);
    }
    free(a);
    free(b);
    mcinr_close(m);
}

/* mcinr_open_*_ex: the options (NULL, not set up, an older struct without trust_large_files),
 * progress over the whole open (monotonic, ending at 1; with validate_residual the RESIDUAL
 * validation reports as it goes, without it the open does not validate the chains), an abort
 * at every progress call (MCINR_ERR_ABORTED, no model, nothing leaked), the RESIDUAL
 * validation's threads (the same model, the same first error), and the memory limit growing
 * with the file size (64 · S + 16 MiB, docs/mci-format.md, Limits). */
static void test_open_options(const char *dir) {
    char path[1024], err[512];
    mcinr_model *m = NULL;
    snprintf(path, sizeof path, "%s/residual_predicted.mci", dir);
    bytes b = read_all(path);
    CHECK(mcinr_open_memory_ex(b.data, b.size, NULL, &m, err, sizeof err) == MCINR_OK && m, "NULL options: %s", err);
    mcinr_close(m);
    mcinr_decode_options zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    m = (mcinr_model *)&zeroed; /* must be reset to NULL */
    CHECK(mcinr_open_file_ex(path, &zeroed, &m, err, sizeof err) == MCINR_ERR_ARGUMENT && !m &&
              strstr(err, "mcinr_decode_options_init"), "zeroed options: %s", err);
    /* progress: monotonic to 1; count the calls */
    static progress_log log;
    memset(&log, 0, sizeof log);
    mcinr_decode_options o = options(1, log_progress, &log, 0);
    CHECK(mcinr_open_memory_ex(b.data, b.size, &o, &m, err, sizeof err) == MCINR_OK, "open with progress: %s", err);
    mcinr_close(m);
    CHECK(progress_ok(&log), "open: progress not monotonic to 1 (%zu calls)", log.calls);
    size_t lazy_calls = log.calls;
    memset(&log, 0, sizeof log);
    o.validate_residual = 1; /* from here on: every chain at open */
    CHECK(mcinr_open_memory_ex(b.data, b.size, &o, &m, err, sizeof err) == MCINR_OK, "open with progress: %s", err);
    mcinr_close(m);
    CHECK(progress_ok(&log), "validating open: progress not monotonic to 1 (%zu calls)", log.calls);
    size_t calls = log.calls;
    CHECK(calls >= 8, "open: %zu progress calls (sections and RESIDUAL tasks)", calls);
    CHECK(lazy_calls < calls, "the default open reports %zu times, the validating one %zu: it validated the chains",
          lazy_calls, calls);
    /* an abort at every call */
    int residual_aborts = 0;
    for (size_t at = 1; at <= calls; at++) {
        memset(&log, 0, sizeof log);
        log.abort_at = at;
        m = NULL;
        err[0] = 0;
        mcinr_status s = mcinr_open_memory_ex(b.data, b.size, &o, &m, err, sizeof err);
        CHECK(s == MCINR_ERR_ABORTED && !m && strstr(err, "aborted by the progress callback") && log.calls == at,
              "abort at progress call %zu of %zu: status %d, %zu calls, %s", at, calls, (int)s, log.calls, err);
        residual_aborts += strstr(err, "RESIDUAL") != NULL;
        mcinr_close(m);
    }
    CHECK(residual_aborts > 0, "no abort landed in the RESIDUAL validation");
    /* threads: the same values at every step, and the same first error */
    mcinr_model *one = NULL, *four = NULL;
    mcinr_decode_options o1 = options(1, NULL, NULL, 0), o4 = options(4, count_progress, NULL, 0);
    o1.validate_residual = o4.validate_residual = 1;
    CHECK(mcinr_open_memory_ex(b.data, b.size, &o1, &one, err, sizeof err) == MCINR_OK, "%s", err);
    CHECK(mcinr_open_memory_ex(b.data, b.size, &o4, &four, err, sizeof err) == MCINR_OK, "%s", err);
    if (one && four) {
        size_t N = mcinr_mesh_num_points(one), C = mcinr_num_components(one);
        float *a = malloc(N * C * sizeof(float)), *c = malloc(N * C * sizeof(float));
        for (size_t t = 0; t < mcinr_num_times(one); t++) {
            double time = mcinr_times(one)[t];
            CHECK(mcinr_decode_mesh(one, time, NULL, 0, a, &o1, err, sizeof err) == MCINR_OK, "%s", err);
            CHECK(mcinr_decode_mesh(four, time, NULL, 0, c, &o1, err, sizeof err) == MCINR_OK, "%s", err);
            CHECK(memcmp(a, c, N * C * sizeof(float)) == 0, "opened with 1 and 4 threads: step %zu differs", t);
        }
        free(a);
        free(c);
    }
    mcinr_close(one);
    mcinr_close(four);
    {
        /* two zstd streams of different components (the last ones) declare one byte more than
         * their frames hold: the first in table order of (component, block) is reported */
        size_t len;
        bytes c = copy_bytes(b);
        uint8_t *q = payload_of(c, 7, &len);
        size_t T = (size_t)get_le(q + 8, 4), C = (size_t)get_le(q + 12, 4), table = 16 + 16 * C, changed = 0;
        size_t last_comp = SIZE_MAX, first_comp = SIZE_MAX; /* validated component-major: the lower is reported */
        for (size_t k = T * C; k-- > 0 && changed < 2;) {
            uint8_t *e = q + table + 24 * k;
            if (e[1] != 0 || get_le(e + 16, 8) == 0 || k % C == last_comp) continue;
            put_le(e + 8, get_le(e + 8, 8) + 1, 8);
            last_comp = k % C;
            first_comp = last_comp < first_comp ? last_comp : first_comp;
            changed++;
        }
        fix_crc(c, 7);
        char e1[512] = "", e4[512] = "";
        mcinr_status s1 = mcinr_open_memory_ex(c.data, c.size, &o1, &m, e1, sizeof e1);
        mcinr_close(m);
        mcinr_status s4 = mcinr_open_memory_ex(c.data, c.size, &o4, &m, e4, sizeof e4);
        mcinr_close(m);
        char want[64];
        snprintf(want, sizeof want, "component %zu: the zstd frame", first_comp);
        CHECK(changed == 2 && s1 == MCINR_ERR_FORMAT && s4 == s1 && strcmp(e1, e4) == 0 && strstr(e1, want),
              "two corrupt streams, 1 and 4 threads: %d \"%s\" / %d \"%s\" (want \"%s\")", (int)s1, e1, (int)s4, e4, want);
        free(c.data);
    }
    free(b.data);
    /* an older caller's struct ends before trust_large_files: the field is not read */
    snprintf(path, sizeof path, "%s/wide-tree-5000.mci", dir);
    mcinr_decode_options trusted = options(1, NULL, NULL, 0), older = trusted;
    trusted.trust_large_files = older.trust_large_files = 1;
    older.struct_size = offsetof(mcinr_decode_options, trust_large_files);
    CHECK(mcinr_open_file_ex(path, &older, &m, err, sizeof err) == MCINR_ERR_LIMIT && !m &&
              strstr(err, "section TREE: 5000 top-level nodes, beyond the limit of 4096") && strstr(err, "trust_large_files"),
          "older struct: %s", err);
    CHECK(mcinr_open_file(path, &m, err, sizeof err) == MCINR_ERR_LIMIT, "default: %s", err);
    CHECK(mcinr_open_file_ex(path, &trusted, &m, err, sizeof err) == MCINR_OK && m, "trusted: %s", err);
    mcinr_close(m);
    /* the memory limit grows with the file's size: the large mesh opens once enough bytes follow
     * it (bytes after the last payload are ignored but stored, so they count) */
    snprintf(path, sizeof path, "%s/large-mesh.mci", dir);
    b = read_all(path);
    for (size_t padded = 400000; padded <= 1000000; padded += 600000) {
        uint8_t *d = calloc(padded, 1);
        memcpy(d, b.data, b.size);
        mcinr_status s = mcinr_open_memory_ex(d, padded, NULL, &m, err, sizeof err);
        /* 1.5 M points: about 18 MiB inflated + 34 MiB of points; 64 · 400000 + 16 MiB = 40.4 MiB, 64 · 1e6 + 16 MiB = 77 MiB */
        CHECK(padded < 1000000 ? s == MCINR_ERR_LIMIT && strstr(err, "section MESH") && strstr(err, "64 x file size + 16 MiB")
                               : s == MCINR_OK,
              "large mesh padded to %zu bytes: status %d: %s", padded, (int)s, s ? err : "");
        mcinr_close(m);
        free(d);
    }
    free(b.data);
}

/* The decoder's matrix product (mcinr_matmul_packed) at every instruction-set level: close to a
 * double-precision product, and each row's values the same bits whatever rows share the call
 * (alone, in any block, at any position, the tail of a tile included). */
static void test_matmul_packed(void) {
    const size_t shapes[9][2] = {{1, 1}, {3, 5}, {4, 16}, {36, 64}, {64, 64}, {128, 128}, {64, 3}, {18, 20}, {100, 37}};
    const size_t rows = 29;
    for (int level = 0; level <= 2; level++) {
        if (mcinr_kernels_limit_level(level) != level) continue;
        for (int sh = 0; sh < 9; sh++) {
            size_t in = shapes[sh][0], out = shapes[sh][1];
            float *x = malloc(rows * in * sizeof(float)), *W = malloc(in * out * sizeof(float));
            float *packed = malloc(mcinr_packed_floats(in, out) * sizeof(float));
            float *all = malloc(rows * out * sizeof(float)), *part = malloc(rows * out * sizeof(float));
            uint32_t seed = (uint32_t)(sh * 7 + 1);
            for (size_t i = 0; i < rows * in; i++) x[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 8) / 8388608.0f - 1.0f;
            for (size_t i = 0; i < in * out; i++) W[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 8) / 8388608.0f - 1.0f;
            mcinr_pack_matrix(W, out, in, packed);
            mcinr_matmul_packed(x, rows, in, out, packed, all);
            double worst = 0.0;
            for (size_t r = 0; r < rows; r++)
                for (size_t j = 0; j < out; j++) {
                    double ref = 0.0;
                    for (size_t k = 0; k < in; k++) ref += (double)x[r * in + k] * (double)W[j * in + k];
                    double d = fabs(ref - (double)all[r * out + j]);
                    if (d > worst) worst = d;
                }
            CHECK(worst <= 4e-7 * (double)in, "level %d, %zu × %zu: error %.3g against double", level, in, out, worst);
            size_t differ = 0;
            for (size_t first = 0; first < rows; first++)
                for (size_t count = 1; first + count <= rows; count += 5) {
                    mcinr_matmul_packed(x + first * in, count, in, out, packed, part);
                    differ += memcmp(part, all + first * out, count * out * sizeof(float)) != 0;
                }
            CHECK(differ == 0, "level %d, %zu × %zu: %zu row blocks differ from the whole product", level, in, out,
                  differ);
            free(x);
            free(W);
            free(packed);
            free(all);
            free(part);
        }
    }
    mcinr_kernels_limit_level(99);
}

/* wide.mci (width 64): the values do not depend on the decoder's threads, and a point's values do
 * not depend on the other points of the call (every point alone, the points reversed, every
 * third point), so a parallel reader's piece gets the same bits as a decode of every point. */
static void test_point_independence(const char *dir) {
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/wide.mci", dir);
    mcinr_model *m = NULL;
    CHECK(mcinr_open_file(path, &m, err, sizeof err) == MCINR_OK, "open %s: %s", path, err);
    if (!m) return;
    size_t n = 20000, C = mcinr_num_components(m);
    double *xyz = malloc(n * 3 * sizeof(double)), *sub = malloc(n * 3 * sizeof(double));
    for (size_t i = 0; i < n * 3; i++) xyz[i] = (double)((i * 7919u) % 1000u) / 500.0;
    float *want = malloc(n * C * sizeof(float)), *got = malloc(n * C * sizeof(float));
    CHECK(mcinr_decode(m, xyz, n, 21.0, NULL, 0, want, NULL, err, sizeof err) == MCINR_OK, "%s", err);
    for (int workers = 2; workers <= 4; workers += 2) {
        mcinr_decode_options o = options(workers, NULL, NULL, 0);
        CHECK(mcinr_decode(m, xyz, n, 21.0, NULL, 0, got, &o, err, sizeof err) == MCINR_OK, "%s", err);
        CHECK(memcmp(got, want, n * C * sizeof(float)) == 0, "%d workers: values differ", workers);
    }
    size_t alone = 0;
    for (size_t i = 0; i < n; i += 97) {
        CHECK(mcinr_decode(m, xyz + 3 * i, 1, 21.0, NULL, 0, got, NULL, err, sizeof err) == MCINR_OK, "%s", err);
        alone += memcmp(got, want + i * C, C * sizeof(float)) != 0;
    }
    CHECK(alone == 0, "%zu points decoded alone differ", alone);
    for (int pattern = 0; pattern < 2; pattern++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (pattern == 0 || i % 3 == 1) memcpy(sub + 3 * k++, xyz + 3 * (pattern == 0 ? n - 1 - i : i), 3 * sizeof(double));
        CHECK(mcinr_decode(m, sub, k, 21.0, NULL, 0, got, NULL, err, sizeof err) == MCINR_OK, "%s", err);
        size_t differ = 0;
        for (size_t j = 0; j < k; j++) {
            size_t i = pattern == 0 ? n - 1 - j : 3 * j + 1;
            differ += memcmp(got + j * C, want + i * C, C * sizeof(float)) != 0;
        }
        CHECK(differ == 0, "%s: %zu points differ", pattern == 0 ? "reversed" : "every third point", differ);
    }
    free(xyz);
    free(sub);
    free(want);
    free(got);
    mcinr_close(m);
}

/* Format 1.1 encodings of tiny.mci's networks: versions and stored weight bytes. */
static void test_encodings(const char *dir) {
    const char *names[5] = {"tiny", "tiny_f16", "tiny_int8", "tiny_f16z", "tiny_int8z"};
    uint64_t wb[5] = {0};
    char path[1024], err[512];
    for (int k = 0; k < 5; k++) {
        snprintf(path, sizeof path, "%s/%s.mci", dir, names[k]);
        mcinr_model *m = NULL;
        CHECK(mcinr_open_file(path, &m, err, sizeof err) == MCINR_OK, "open %s: %s", path, err);
        if (!m) return;
        uint16_t major, minor;
        mcinr_format_version(m, &major, &minor);
        CHECK(major == 1 && minor == (k == 0 ? 0 : 1), "%s: version %u.%u", names[k], major, minor);
        wb[k] = mcinr_weight_bytes(m);
        mcinr_close(m);
    }
    /* float16 halves every tensor exactly; int8 keeps 4-byte biases and row scales */
    CHECK(wb[1] * 2 == wb[0], "f16 weight bytes %llu vs f32 %llu", (unsigned long long)wb[1], (unsigned long long)wb[0]);
    /* width 16: biases and scales are a fifth of the int8 bytes, so the ratio is ~2.9, not 4 */
    CHECK(wb[2] * 5 < wb[0] * 2 && wb[2] * 4 > wb[0], "int8 weight bytes %llu vs f32 %llu", (unsigned long long)wb[2],
          (unsigned long long)wb[0]);
    /* compression counts: random weights barely compress, but the stored size is reported */
    CHECK(wb[3] > 0 && wb[3] <= wb[1] + wb[1] / 50, "compressed f16 weight bytes %llu vs %llu", (unsigned long long)wb[3],
          (unsigned long long)wb[1]);
    CHECK(wb[4] > 0 && wb[4] <= wb[2] + wb[2] / 50, "compressed int8 weight bytes %llu vs %llu", (unsigned long long)wb[4],
          (unsigned long long)wb[2]);
    printf("  weight bytes: f32 %llu, f16 %llu, int8 %llu, f16+zlib %llu, int8+zlib %llu\n", (unsigned long long)wb[0],
           (unsigned long long)wb[1], (unsigned long long)wb[2], (unsigned long long)wb[3], (unsigned long long)wb[4]);
}

/* ---- Hostile input ---- */

static void test_truncation(bytes b) {
    size_t failed = 0;
    for (size_t n = 0; n < b.size; n++) {
        uint8_t *prefix = malloc(n ? n : 1); /* exact-size copy so ASan sees any over-read */
        memcpy(prefix, b.data, n);
        mcinr_model *m = NULL;
        char err[512];
        mcinr_status s = mcinr_open_memory(prefix, n, &m, err, sizeof err);
        if (s != MCINR_OK) failed++;
        else mcinr_close(m);
        free(prefix);
    }
    CHECK(failed == b.size, "%zu of %zu truncated prefixes opened", b.size - failed, b.size);
    printf("  truncation: all %zu prefixes rejected\n", b.size);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t next_random(void) { /* xorshift64*, seeded: reproducible */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

/* Random bit flips in the file, or inside one of its sections of `types` (0-terminated; NULL:
 * META, TREE, NETS, MESH) with the CRC repaired. */
static void test_bit_flips(bytes b, const uint32_t *types) {
    int rejected = 0, opened = 0, crc_rejected = 0;
    static const uint32_t plain[5] = {1, 3, 4, 5, 0};
    if (!types) types = plain;
    uint32_t ntypes = 0;
    while (types[ntypes]) ntypes++;
    for (int trial = 0; trial < 3000; trial++) {
        bytes c = copy_bytes(b);
        int flips = 1 + (int)(next_random() % 3);
        /* half of the trials re-compute the CRC after flipping inside a section, so the
         * parsers behind the checksum see the corruption too */
        int fix = trial % 2;
        uint32_t type = types[next_random() % ntypes];
        size_t len;
        uint8_t *p = payload_of(c, type, &len);
        for (int f = 0; f < flips; f++) {
            if (fix) p[next_random() % len] ^= (uint8_t)(1u << (next_random() % 8));
            else c.data[next_random() % c.size] ^= (uint8_t)(1u << (next_random() % 8));
        }
        if (fix) fix_crc(c, type);
        mcinr_model *m = NULL;
        char err[512];
        mcinr_status s = open_bytes(c, &m, err, sizeof err);
        if (s == MCINR_OK) {
            opened++;
            touch_model(m);
            mcinr_close(m);
        } else {
            rejected++;
            if (!fix && s == MCINR_ERR_CHECKSUM) crc_rejected++;
            CHECK(strlen(err) > 15, "empty message for status %d", s);
        }
        free(c.data);
    }
    CHECK(crc_rejected > 1000, "only %d raw flips caught by the CRC", crc_rejected);
    printf("  bit flips: %d rejected (%d by CRC), %d still valid and decoded\n", rejected, crc_rejected, opened);
}

static void test_targeted(bytes b) {
    bytes c;
    size_t len;
    uint8_t *p;

    c = copy_bytes(b);
    put_le(c.data + 8, 2, 2);
    expect_open_error(c, MCINR_ERR_VERSION, "version 2.0", "major version 2");
    free(c.data);

    c = copy_bytes(b);
    put_le(c.data + 10, 7, 2); /* a newer minor of major 1 opens */
    mcinr_model *m = NULL;
    char err[512];
    CHECK(open_bytes(c, &m, err, sizeof err) == MCINR_OK, "minor 7: %s", err);
    mcinr_close(m);
    free(c.data);

    c = copy_bytes(b);
    c.data[0] = 'X';
    expect_open_error(c, MCINR_ERR_FORMAT, "magic", "bad magic");
    free(c.data);

    c = copy_bytes(b);
    put_le(c.data + 12, 0xFFFFFFFFu, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "section count", "absurd section count");
    free(c.data);

    c = copy_bytes(b);
    put_le(find_entry(c, 4) + 16, UINT64_MAX, 8);
    expect_open_error(c, MCINR_ERR_FORMAT, "outside", "absurd section length");
    free(c.data);

    c = copy_bytes(b);
    put_le(find_entry(c, 4) + 8, UINT64_MAX - 4, 8);
    expect_open_error(c, MCINR_ERR_FORMAT, "outside", "absurd section offset");
    free(c.data);

    c = copy_bytes(b);
    put_le(find_entry(c, 3) + 24, get_le(find_entry(c, 3) + 24, 4) ^ 1u, 4);
    expect_open_error(c, MCINR_ERR_CHECKSUM, "TREE", "wrong CRC");
    free(c.data);

    c = copy_bytes(b);
    memcpy(find_entry(c, 1), find_entry(c, 3), 4); /* two TREE sections, no META */
    put_le(find_entry(c, 3), 3, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, NULL, "duplicate section");
    free(c.data);

    c = copy_bytes(b);
    put_le(find_entry(c, 4) + 4, 0, 4); /* NETS renamed to an unknown optional type */
    put_le(find_entry(c, 4), 99, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "NETS is missing", "missing required section");
    free(c.data);

    c = add_section(b, 77, 1, "future stuff");
    expect_open_error(c, MCINR_ERR_VERSION, "type 77", "unknown required section");
    free(c.data);

    c = add_section(b, 77, 0, "future stuff");
    m = NULL;
    CHECK(open_bytes(c, &m, err, sizeof err) == MCINR_OK, "unknown optional section: %s", err);
    if (m) touch_model(m);
    mcinr_close(m);
    free(c.data);

    /* absurd counts inside sections (CRC fixed so the parsers see them) */
    c = copy_bytes(b);
    p = payload_of(c, 1, &len);
    put_le(p, 0xFFFFFFFFu, 4);
    fix_crc(c, 1);
    expect_open_error(c, MCINR_ERR_FORMAT, "section META: variable count", "absurd variable count");
    free(c.data);

    c = copy_bytes(b);
    p = payload_of(c, 1, &len);
    put_le(p, 60000, 4);
    fix_crc(c, 1);
    expect_open_error(c, MCINR_ERR_FORMAT, "do not fit", "variable count beyond the data");
    free(c.data);

    c = copy_bytes(b);
    p = payload_of(c, 3, &len);
    put_le(p, 1000000, 4);
    fix_crc(c, 3);
    expect_open_error(c, MCINR_ERR_FORMAT, "section TREE", "absurd node count");
    free(c.data);

    c = copy_bytes(b);
    p = payload_of(c, 4, &len);
    put_le(p, 1000000, 4);
    fix_crc(c, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "section NETS", "absurd network count");
    free(c.data);

    /* first trunk module of network 0: header at 4 (count) + 32 (map) + 12 (L, omega, trunk) */
    c = copy_bytes(b);
    p = payload_of(c, 4, &len);
    put_le(p + 4 + 32 + 12 + 4, 0, 4);
    fix_crc(c, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "module 0 of the trunk of network 0 declares 0 inputs", "zero inputs");
    free(c.data);

    c = copy_bytes(b);
    p = payload_of(c, 4, &len);
    put_le(p + 4 + 32 + 12 + 8, 0xFFFFFFFFu, 4);
    fix_crc(c, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "outputs", "absurd outputs");
    free(c.data);

    c = copy_bytes(b);
    p = payload_of(c, 4, &len);
    p[4 + 32 + 12 + 1] = 9;
    fix_crc(c, 4);
    expect_open_error(c, MCINR_ERR_VERSION, "encoding 9", "unknown encoding");
    free(c.data);

    c = copy_bytes(b);
    p = payload_of(c, 5, &len);
    put_le(p, UINT64_MAX, 8);
    fix_crc(c, 5);
    expect_open_error(c, MCINR_ERR_FORMAT, "section MESH", "absurd mesh size");
    free(c.data);

    c = copy_bytes(b);
    p = payload_of(c, 5, &len);
    put_le(p, get_le(p, 8) - 1, 8);
    fix_crc(c, 5);
    expect_open_error(c, MCINR_ERR_FORMAT, "more than the declared", "mesh size one short");
    free(c.data);

    /* a cycle 3 -> 4 -> 3 (each with a leaf as its other child) that no top node reaches */
    {
        uint8_t tree[8 + 40 * 7];
        memset(tree, 0, sizeof tree);
        put_le(tree, 7, 4);
        put_le(tree + 4, 3, 4);
        const int32_t links[7][4] = {{-1, -1, -1, 0}, {-1, -1, -1, 1}, {-1, -1, -1, 2}, {4, 4, 5, -1},
                                     {3, 3, 6, -1},   {3, -1, -1, 3},  {4, -1, -1, 0}};
        for (int i = 0; i < 7; i++)
            for (int k = 0; k < 4; k++) put_le(tree + 8 + 40 * i + 24 + 4 * k, (uint32_t)links[i][k], 4);
        c = replace_payload(b, 3, tree, sizeof tree);
        expect_open_error(c, MCINR_ERR_FORMAT, "cycle", "tree cycle");
        free(c.data);
        put_le(tree + 8 + 40 * 3 + 24, 0, 4); /* now hang the pair under node 0: still a cycle below it */
        put_le(tree + 8 + 24 + 4, 3, 4);
        put_le(tree + 8 + 24 + 8, 5, 4);
        put_le(tree + 8 + 24 + 12, (uint32_t)-1, 4);
        c = replace_payload(b, 3, tree, sizeof tree);
        expect_open_error(c, MCINR_ERR_FORMAT, "section TREE", "tree with a bad parent link");
        free(c.data);
    }
}

/* The one cell check at open (cells.c, the rule of MeshIO's Mesh.validate): a MESH (type 5)
 * body with one cell made wrong is refused with the cell's index and what is wrong; cells the
 * rule accepts (a polygon with a repeated point, a poly-vertex) open. `b` has a MESH section. */
typedef struct mesh_body {
    uint8_t *data;
    size_t size;
    uint64_t N, M, L;
    uint8_t *types;   /* [M] */
    uint8_t *offsets; /* [M] u64 end offsets */
    uint8_t *conn;    /* [L] u32 */
} mesh_body;

static mesh_body inflate_mesh(bytes b) {
    size_t len;
    const uint8_t *p = payload_of(b, 5, &len);
    mesh_body mb = {NULL, (size_t)get_le(p, 8), 0, 0, 0, NULL, NULL, NULL};
    mb.data = malloc(mb.size);
    uLongf out = (uLongf)mb.size;
    CHECK(uncompress(mb.data, &out, p + 8, (uLong)(len - 8)) == Z_OK && out == mb.size, "inflating MESH");
    mb.N = get_le(mb.data, 8);
    size_t psize = mb.data[8] == 1 ? 4 : 8, at = 16 + (size_t)mb.N * 3 * psize;
    mb.M = get_le(mb.data + at, 8);
    mb.L = get_le(mb.data + at + 8, 8);
    mb.types = mb.data + at + 16;
    mb.offsets = mb.types + mb.M;
    mb.conn = mb.offsets + 8 * mb.M;
    return mb;
}

/* b with its MESH body replaced by mb's (deflated again). */
static bytes with_mesh(bytes b, const mesh_body *mb) {
    uLongf cap = compressBound((uLong)mb->size);
    uint8_t *payload = malloc(8 + cap);
    put_le(payload, mb->size, 8);
    CHECK(compress(payload + 8, &cap, mb->data, (uLong)mb->size) == Z_OK, "deflating MESH");
    bytes c = replace_payload(b, 5, payload, 8 + cap);
    free(payload);
    return c;
}

static void test_mesh_cells(bytes b) {
    mesh_body mb = inflate_mesh(b);
    CHECK(mb.M >= 10 && mb.L == 4 * mb.M && mb.types[0] == 10, "the test mesh is tetrahedra (%llu cells)",
          (unsigned long long)mb.M);
    if (mb.M < 10 || mb.L != 4 * mb.M) {
        free(mb.data);
        return;
    }
    uint8_t *saved = malloc(mb.size);
    memcpy(saved, mb.data, mb.size);
    char needle[160];
    struct {
        const char *what;
        int cell;
    } cases[] = {{"unknown type", 3}, {"triangle with 4 points", 5}, {"degenerate tetrahedron", 7},
                 {"point out of range", 8}, {"type 255", 9}};
    for (int k = 0; k < 5; k++) {
        memcpy(mb.data, saved, mb.size);
        int cell = cases[k].cell;
        uint8_t *v = mb.conn + 16 * (size_t)cell;
        switch (k) {
        case 0: mb.types[cell] = 42; snprintf(needle, sizeof needle, "cell %d has VTK cell type 42, which", cell); break;
        case 1: mb.types[cell] = 5; snprintf(needle, sizeof needle, "cell %d of VTK cell type 5 has 4 points (3 expected)", cell); break;
        case 2:
            memcpy(v + 8, v, 4); /* the third point = the first */
            snprintf(needle, sizeof needle, "cell %d, a tetrahedron, repeats a point (%u %u %u %u): degenerate", cell,
                     (unsigned)get_le(v, 4), (unsigned)get_le(v + 4, 4), (unsigned)get_le(v, 4),
                     (unsigned)get_le(v + 12, 4));
            break;
        case 3:
            put_le(v + 12, mb.N, 4);
            snprintf(needle, sizeof needle, "cell %d uses point %llu (its point 3), but the mesh has %llu points", cell,
                     (unsigned long long)mb.N, (unsigned long long)mb.N);
            break;
        case 4: mb.types[cell] = 255; snprintf(needle, sizeof needle, "cell %d has VTK cell type 255", cell); break;
        }
        bytes c = with_mesh(b, &mb);
        expect_open_error(c, MCINR_ERR_FORMAT, needle, cases[k].what);
        CHECK(strstr(needle, "cell") != NULL, "needle");
        { /* the message names the section too */
            char err[512] = "";
            mcinr_model *m = NULL;
            open_bytes(c, &m, err, sizeof err);
            CHECK(strstr(err, "section MESH: cell ") != NULL, "%s: \"%s\" names the section", cases[k].what, err);
            mcinr_close(m);
        }
        free(c.data);
    }
    /* what the rule accepts: a polygon (7) of 4 points with a repeated point, a poly-vertex (2),
     * a quad (9) */
    memcpy(mb.data, saved, mb.size);
    mb.types[1] = 7;
    memcpy(mb.conn + 16 + 8, mb.conn + 16, 4);
    mb.types[2] = 2;
    mb.types[4] = 9;
    {
        bytes c = with_mesh(b, &mb);
        mcinr_model *m = NULL;
        char err[512] = "";
        CHECK(open_bytes(c, &m, err, sizeof err) == MCINR_OK, "polygon, poly-vertex and quad cells: %s", err);
        if (m) {
            uint8_t *types = malloc(mcinr_mesh_num_cells(m));
            mcinr_mesh_cells(m, types, NULL, NULL);
            CHECK(types[1] == 7 && types[2] == 2 && types[4] == 9, "cell types as stored");
            free(types);
        }
        mcinr_close(m);
        free(c.data);
    }
    free(saved);
    free(mb.data);
}

/* Variable names in META: unique and free of control characters (train's rule for its input,
 * MeshIO's validateArrayNames), else refused naming the variables. `b` has at least 3
 * variables whose names 0 and 1 have the same length (tools/make_test_mci.py: velocity,
 * pressure, temperature, tracer). */
static void test_variable_names(bytes b) {
    size_t len, at[8], n[8];
    uint8_t *p = payload_of(b, 1, &len);
    uint32_t V = (uint32_t)get_le(p, 4);
    size_t pos = 4;
    for (uint32_t v = 0; v < V && v < 8; v++) {
        n[v] = (size_t)get_le(p + pos, 2);
        at[v] = pos + 2;
        pos += 2 + n[v] + 4;
    }
    CHECK(V >= 3 && n[0] == n[1], "test file: %u variables", V);
    if (V < 3 || n[0] != n[1]) return;
    bytes c = copy_bytes(b);
    uint8_t *q = payload_of(c, 1, &len);
    memcpy(q + at[1], q + at[0], n[0]); /* variable 1 named as variable 0 */
    fix_crc(c, 1);
    char needle[200];
    snprintf(needle, sizeof needle, "section META: variables 0 and 1 have the same name \"%.*s\"", (int)n[0],
             (const char *)p + at[0]);
    expect_open_error(c, MCINR_ERR_FORMAT, needle, "duplicate variable names");
    free(c.data);
    const uint8_t bad[3][2] = {{0x07, 0}, {0x7F, 0}, {0xC2, 0x85}}; /* BEL, DEL, U+0085 (NEL) */
    for (int k = 0; k < 3; k++) {
        c = copy_bytes(b);
        q = payload_of(c, 1, &len);
        q[at[2] + 1] = bad[k][0];
        if (bad[k][1]) q[at[2] + 2] = bad[k][1];
        fix_crc(c, 1);
        snprintf(needle, sizeof needle, "section META: variable 2 has a control character in its name (byte 1 of %zu: "
                 "0x%02X)", n[2], bad[k][1] ? bad[k][1] : bad[k][0]);
        expect_open_error(c, MCINR_ERR_FORMAT, needle, "control character in a name");
        free(c.data);
    }
    /* printable UTF-8 is fine: "é" (0xC3 0xA9) */
    c = copy_bytes(b);
    q = payload_of(c, 1, &len);
    q[at[2] + 1] = 0xC3;
    q[at[2] + 2] = 0xA9;
    fix_crc(c, 1);
    mcinr_model *m = NULL;
    char err[512] = "";
    CHECK(open_bytes(c, &m, err, sizeof err) == MCINR_OK, "a UTF-8 name: %s", err);
    mcinr_close(m);
    free(c.data);
}

/* Hostile values in the 1.1 encodings. `int8` is small_int8.mci (plain NETS), `f16z` is
 * small_f16z.mci (compressed NETS). The first trunk module's header is at NETS offset 48, its
 * first tensor at 60 (in int8: 3 row scales, then the int8 matrix). */
static void test_targeted_encodings(bytes int8, bytes f16z) {
    bytes c;
    size_t len;
    uint8_t *p;

    c = copy_bytes(int8);
    p = payload_of(c, 4, &len);
    CHECK(p[48 + 1] == 2, "small_int8.mci: first module has encoding %u", p[49]);
    p[48 + 1] = 3;
    fix_crc(c, 4);
    expect_open_error(c, MCINR_ERR_VERSION, "unknown weight encoding 3", "encoding 3");
    free(c.data);

    c = copy_bytes(int8);
    p = payload_of(c, 4, &len);
    put_le(p + 60 + 4, 0xBF800000u, 4); /* row scale -1 */
    fix_crc(c, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "int8 scale in tensor 0", "negative int8 scale");
    free(c.data);

    c = copy_bytes(int8);
    p = payload_of(c, 4, &len);
    put_le(p + 60, 0x7FC00000u, 4); /* row scale NaN */
    fix_crc(c, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "non-finite int8 scale", "NaN int8 scale");
    free(c.data);

    c = copy_bytes(int8);
    p = payload_of(c, 4, &len);
    p[60 + 12 + 5] = 0x80; /* q = -128 */
    fix_crc(c, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "-128", "int8 -128");
    free(c.data);

    c = copy_bytes(int8);
    p = payload_of(c, 4, &len);
    p[60 + 12 + 5] = 0x81; /* q = -127 is fine */
    fix_crc(c, 4);
    mcinr_model *m = NULL;
    char err[512];
    CHECK(open_bytes(c, &m, err, sizeof err) == MCINR_OK, "int8 -127: %s", err);
    mcinr_close(m);
    free(c.data);

    /* a float16 infinity, in a plain float16 NETS built from the compressed one */
    {
        p = payload_of(f16z, 4, &len);
        uLongf size = (uLongf)get_le(p, 8);
        uint8_t *plain = malloc(size);
        CHECK(uncompress(plain, &size, p + 8, (uLong)(len - 8)) == Z_OK, "inflate the test file's NETS");
        CHECK(plain[49] == 1, "small_f16z.mci: first module has encoding %u", plain[49]);
        c = replace_payload(f16z, 4, plain, size);
        put_le(find_entry(c, 4) + 4, 1, 4); /* required, not compressed */
        CHECK(open_bytes(c, &m, err, sizeof err) == MCINR_OK, "uncompressed f16 NETS: %s", err);
        mcinr_close(m);
        free(c.data);
        put_le(plain + 60 + 6, 0x7C00u, 2);
        c = replace_payload(f16z, 4, plain, size);
        put_le(find_entry(c, 4) + 4, 1, 4);
        expect_open_error(c, MCINR_ERR_FORMAT, "non-finite weight in tensor 0", "float16 infinity");
        free(c.data);
        free(plain);
    }

    /* compressed sections: absurd and wrong sizes, too short, a flag on a plain payload */
    c = copy_bytes(f16z);
    p = payload_of(c, 4, &len);
    put_le(p, UINT64_MAX, 8);
    fix_crc(c, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "section NETS: compressed payload declares", "absurd inflated size");
    free(c.data);

    c = copy_bytes(f16z);
    p = payload_of(c, 4, &len);
    put_le(p, get_le(p, 8) - 1, 8);
    fix_crc(c, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "more than the declared", "inflated size one short");
    free(c.data);

    c = copy_bytes(f16z);
    p = payload_of(c, 4, &len);
    put_le(p, get_le(p, 8) + 1, 8);
    fix_crc(c, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "section NETS", "inflated size one long");
    free(c.data);

    c = copy_bytes(f16z);
    put_le(find_entry(c, 4) + 16, 5, 8);
    fix_crc(c, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "has no size", "compressed payload shorter than its size");
    free(c.data);

    c = copy_bytes(int8);
    put_le(find_entry(c, 4) + 4, 3, 4); /* plain NETS marked compressed */
    expect_open_error(c, MCINR_ERR_FORMAT, "section NETS", "compressed flag on a plain payload");
    free(c.data);

    c = copy_bytes(f16z);
    put_le(find_entry(c, 4) + 4, 1, 4); /* compressed NETS without the flag */
    expect_open_error(c, MCINR_ERR_FORMAT, "section NETS", "compressed payload without the flag");
    free(c.data);

    /* any section may be compressed: META stored compressed opens and reads the same */
    {
        p = payload_of(int8, 1, &len);
        uLongf bound = compressBound((uLong)len);
        uint8_t *packed = malloc(8 + bound);
        put_le(packed, len, 8);
        CHECK(compress2(packed + 8, &bound, p, (uLong)len, 9) == Z_OK, "compress META");
        c = replace_payload(int8, 1, packed, 8 + bound);
        put_le(find_entry(c, 1) + 4, 3, 4);
        CHECK(open_bytes(c, &m, err, sizeof err) == MCINR_OK, "compressed META: %s", err);
        CHECK(m && mcinr_num_components(m) == 6 && mcinr_num_times(m) == 12, "compressed META content");
        mcinr_close(m);
        free(c.data);
        free(packed);
    }
}

/* ---- RESIDUAL (error-bounded mode) ---- */

/* Deliberate test oracle: the spec's decoded value (docs/mci-format.md, Error-bounded mode,
 * Decoded value), q·s and the sum as separate double roundings. It stays here because the
 * value depends on the float32 network output n, which only the C decoder gives (the Python
 * generator evaluates in double): the generator supplies the indices q, this line the formula. */
static float apply_q(float network, long long q, double step) {
    volatile double correction = (double)q * step;
    double v = (double)network + correction;
    if (v > 3.4028234663852886e38) return HUGE_VALF;
    if (v < -3.4028234663852886e38) return -HUGE_VALF;
    return (float)v;
}

/* Deliberate test oracle, as apply_q: a data stream's value (docs/mci-format.md, type 7 data
 * bit): origin + q·s, the same roundings. */
static float data_value(double origin, long long q, double step) {
    volatile double scaled = (double)q * step;
    double v = origin + scaled;
    if (v > 3.4028234663852886e38) return HUGE_VALF;
    if (v < -3.4028234663852886e38) return -HUGE_VALF;
    return (float)v;
}

/* STEM.mci carries a RESIDUAL (type 7) whose indices STEM.res lists (`t c i q INDEX`,
 * `t c i d INDEX` for a data stream, `t c i e VALUE`; reconstructed by the generator's own Python):
 * every decoded value at a stored step must be exactly network + index, whatever the order
 * of the decodes and whichever components are asked for. */
/* The plane weights (format 1.6) of mcinr_residual_plane_weights against the generator's own
 * computation from the spec, on a real float32 mesh: every weight equal, bit for bit. */
/* The quadratic supports and weights (format 1.8) of mcinr_residual_quadratic_support against
 * those make_test_mci.py computed from the spec (STEM.quad.txt: `i k j_1 … j_k V_1 … V_k`). */
static void test_quadratic_support(const char *dir, const char *stem, const double *xyz, size_t N, const int64_t *start,
                                   const int32_t *nb) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.quad.txt", dir, stem);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "open %s", path);
    int64_t *q_start = malloc((N + 1) * sizeof(int64_t));
    int32_t *ids = malloc(24 * N * sizeof(int32_t)), *weights = malloc(24 * N * sizeof(int32_t));
    CHECK(mcinr_residual_quadratic_support(xyz, N, start, nb, q_start, ids, weights) == 0, "quadratic support");
    size_t lines = 0, differ = 0, fitted = 0;
    for (size_t i = 0; f && i < N; i++) {
        long id, k;
        int32_t v;
        if (fscanf(f, "%ld %ld", &id, &k) != 2 || id != (long)i || k < 0 || k > 24) break;
        size_t a = (size_t)q_start[i];
        differ += (int64_t)k != q_start[i + 1] - q_start[i];
        for (long n = 0; n < 2 * k; n++) {
            CHECK(fscanf(f, "%d", &v) == 1, "support of %zu", i);
            if ((int64_t)k == q_start[i + 1] - q_start[i]) differ += v != (n < k ? ids[a + (size_t)n] : weights[a + (size_t)(n - k)]);
        }
        fitted += k > 0;
        lines++;
    }
    if (f) fclose(f);
    CHECK(lines == N, "%s.quad.txt: %zu of %zu points", stem, lines, N);
    CHECK(differ == 0, "%s: %zu quadratic supports or weights differ from the generator's", stem, differ);
    CHECK(fitted > N / 4, "%s: only %zu of %zu points have a quadratic support", stem, fitted, N);
    free(q_start);
    free(ids);
    free(weights);
}

/* Reads STEM.txt's lists (`i k j_1 … j_k W_1 … W_k`) into start/nb and, unless NULL, weights (room
 * for 32 per point); the number of points read. */
static size_t read_lists(const char *dir, const char *stem, size_t N, int64_t *start, int32_t *nb, int32_t *weights) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.txt", dir, stem);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "open %s", path);
    size_t lines = 0, used = 0;
    int32_t w;
    start[0] = 0;
    for (size_t i = 0; f && i < N; i++) {
        long id, k;
        if (fscanf(f, "%ld %ld", &id, &k) != 2 || id != (long)i || k < 0 || k > 32) break;
        for (long n = 0; n < k; n++) CHECK(fscanf(f, "%d", &nb[used + n]) == 1, "neighbour of %zu", i);
        for (long n = 0; n < k; n++) {
            CHECK(fscanf(f, "%d", &w) == 1, "weight of %zu", i);
            if (weights) weights[used + n] = w;
        }
        start[i + 1] = (int64_t)(used += (size_t)k);
        lines++;
    }
    if (f) fclose(f);
    return lines;
}

static void test_plane_weights(const char *dir, const char *stem) {
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/%s.mci", dir, stem);
    mcinr_model *m = NULL;
    CHECK(mcinr_open_file(path, &m, err, sizeof err) == MCINR_OK, "open %s.mci: %s", stem, err);
    if (!m) return;
    size_t N = mcinr_mesh_num_points(m);
    double *xyz = malloc(3 * N * sizeof(double));
    int64_t *start = malloc((N + 1) * sizeof(int64_t));
    int32_t *nb = malloc(32 * N * sizeof(int32_t)), *want = malloc(32 * N * sizeof(int32_t)),
            *got = malloc(32 * N * sizeof(int32_t));
    CHECK(mcinr_mesh_points(m, xyz) == MCINR_OK, "points");
    size_t lines = read_lists(dir, stem, N, start, nb, want), used = lines == N ? (size_t)start[N] : 0, fitted = 0;
    CHECK(lines == N, "%s.txt: %zu of %zu points", stem, lines, N);
    for (size_t i = 0; i < lines; i++) { /* the mean's Q16 weight is round(65536 / k): anything else is a plane */
        int64_t k = start[i + 1] - start[i];
        for (int64_t e = start[i]; e < start[i + 1]; e++)
            if (want[e] != (int32_t)floor(65536.0 / (double)k + 0.5)) { fitted++; break; }
    }
    if (lines == N) {
        mcinr_residual_plane_weights(xyz, N, start, nb, got);
        size_t differ = 0;
        for (size_t e = 0; e < used; e++) differ += got[e] != want[e];
        CHECK(differ == 0, "%s: %zu of %zu plane weights differ from the generator's", stem, differ, used);
        CHECK(fitted > N / 4, "%s: only %zu of %zu points have a fitted plane", stem, fitted, N);
        test_quadratic_support(dir, stem, xyz, N, start, nb);
    }
    free(xyz);
    free(start);
    free(nb);
    free(want);
    free(got);
    mcinr_close(m);
}

/* mcinr_residual_neighbours on vessel-small's mesh against the generator's own sets: Nb
 * (vessel_plane.txt) and Nb′ of K = 5 (format 1.10, vessel_plane_nb5.txt), every list equal,
 * and some extended. */
static void test_neighbour_lists(const char *dir) {
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/vessel_plane.mci", dir);
    mcinr_model *m = NULL;
    CHECK(mcinr_open_file(path, &m, err, sizeof err) == MCINR_OK, "open vessel_plane.mci: %s", err);
    if (!m) return;
    size_t N = mcinr_mesh_num_points(m), M = mcinr_mesh_num_cells(m), E = mcinr_mesh_connectivity_size(m);
    int64_t *offsets = malloc((M + 1) * sizeof(int64_t)), *conn = malloc(E * sizeof(int64_t));
    int64_t *want_start = malloc((N + 1) * sizeof(int64_t)), *got_start = malloc((N + 1) * sizeof(int64_t));
    int32_t *want = malloc(32 * N * sizeof(int32_t)), *got = malloc(32 * N * sizeof(int32_t));
    CHECK(mcinr_mesh_cells(m, NULL, offsets, conn) == MCINR_OK, "cells");
    size_t plain_entries = 0;
    for (unsigned least = 0; least <= 5; least += 5) {
        const char *stem = least ? "vessel_plane_nb5" : "vessel_plane";
        CHECK(read_lists(dir, stem, N, want_start, want, NULL) == N, "%s.txt: not %zu points", stem, N);
        CHECK(mcinr_residual_neighbours(N, M, offsets, conn, least, got_start, got) == 0, "neighbour lists");
        size_t differ = 0;
        for (size_t i = 0; i < N; i++) {
            int64_t k = got_start[i + 1] - got_start[i];
            if (k != want_start[i + 1] - want_start[i]) differ++;
            else differ += memcmp(got + got_start[i], want + want_start[i], (size_t)k * sizeof(int32_t)) != 0;
        }
        CHECK(differ == 0, "K = %u: %zu of %zu neighbour lists differ from the generator's", least, differ, N);
        if (!least) plain_entries = (size_t)got_start[N];
        else CHECK((size_t)got_start[N] > plain_entries + N / 10, "K = 5: %lld entries, Nb %zu", (long long)got_start[N],
                   plain_entries);
    }
    free(offsets);
    free(conn);
    free(want_start);
    free(got_start);
    free(want);
    free(got);
    mcinr_close(m);
}

static void test_residual(const char *dir, const char *stem, unsigned want_minor) {
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/%s.mci", dir, stem);
    mcinr_model *m = NULL;
    /* opened on 4 threads: the plane weights and quadratic supports are built in blocks of 32
     * points on several (the grid fixtures have 64 points), checked against the reference */
    mcinr_decode_options four = options(4, NULL, NULL, 0);
    CHECK(mcinr_open_file_ex(path, &four, &m, err, sizeof err) == MCINR_OK, "open %s.mci: %s", stem, err);
    if (!m) return;
    uint16_t major, minor;
    mcinr_format_version(m, &major, &minor);
    CHECK(major == 1 && minor == want_minor, "%s: version %u.%u", stem, major, minor);
    CHECK(mcinr_has_residual(m) == 1, "has residual");
    CHECK(mcinr_residual_bytes(m) > 0, "residual bytes");
    size_t C = mcinr_num_components(m), N = mcinr_mesh_num_points(m), T = mcinr_num_times(m);
    double lo, hi, e;
    double *steps = malloc(C * sizeof(double)), *origins = malloc(C * sizeof(double));
    for (size_t c = 0; c < C; c++) {
        mcinr_component_range(m, c, &lo, &hi);
        origins[c] = lo; /* data streams decode as the minimum + q · s */
        CHECK(mcinr_residual_max_error(m, c, &e) == MCINR_OK, "bound of %zu", c);
        double want = hi > lo ? 0.01 * (hi - lo) : 1.0;
        CHECK(e == want, "component %zu: bound %.17g, generator wrote %.17g", c, e, want);
        steps[c] = 2.0 * e * (1.0 - 1.0 / 64.0);
    }
    CHECK(mcinr_residual_max_error(m, C, &e) == MCINR_ERR_ARGUMENT, "bound index check");
    CHECK(mcinr_residual_max_error(NULL, 0, &e) == MCINR_ERR_ARGUMENT, "bound NULL model");
    CHECK(!mcinr_residual_applies(m, 0.5 * (mcinr_times(m)[0] + mcinr_times(m)[1])), "between steps");
    CHECK(mcinr_residual_applies(m, mcinr_times(m)[T - 1]), "at a stored step");
    /* expected values: read the code list */
    snprintf(path, sizeof path, "%s/%s.res", dir, stem);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "open %s", path);
    char *kind = calloc(T * C * N, 1); /* 0: no code (empty stream), 'q', 'd' (data stream) or 'e' */
    long long *q = calloc(T * C * N, sizeof(long long));
    float *exact = calloc(T * C * N, sizeof(float));
    size_t t, c, i;
    char k;
    double value;
    while (f && fscanf(f, "%zu %zu %zu %c %lf", &t, &c, &i, &k, &value) == 5) {
        size_t at = (t * C + c) * N + i;
        kind[at] = k;
        if (k == 'q' || k == 'd') q[at] = (long long)value; /* exact: the generator's indices fit a double */
        else exact[at] = (float)value;
    }
    if (f) fclose(f);
    float *net = malloc(N * C * sizeof(float)), *res = malloc(N * C * sizeof(float));
    float *sub = malloc(N * 3 * sizeof(float)), *one = malloc(N * sizeof(float));
    float *every = malloc(T * N * C * sizeof(float)); /* each step's values, decoded last step first */
    mcinr_decode_options only = options(1, NULL, NULL, 1), with = options(3, NULL, NULL, 0);
    size_t mismatches = 0, changed = 0, large = 0;
    /* last step first, so no step's decode follows the decode of the steps it is predicted from
     * (each starts its chain afresh; the decodes of one step after the first repeat it) */
    for (size_t back = 0; back < T; back++) {
        t = T - 1 - back;
        double time = mcinr_times(m)[t];
        CHECK(mcinr_decode_mesh(m, time, NULL, 0, net, &only, err, sizeof err) == MCINR_OK, "network only: %s", err);
        CHECK(mcinr_decode_mesh(m, time, NULL, 0, res, &with, err, sizeof err) == MCINR_OK, "with residual: %s", err);
        memcpy(every + t * N * C, res, N * C * sizeof(float));
        for (c = 0; c < C; c++)
            for (i = 0; i < N; i++) {
                size_t at = (t * C + c) * N + i;
                float want = net[i * C + c];
                if (kind[at] == 'e') want = exact[at];
                else if (kind[at] == 'q' && q[at] != 0) want = apply_q(want, q[at], steps[c]);
                else if (kind[at] == 'd') want = data_value(origins[c], q[at], steps[c]);
                if (memcmp(&want, &res[i * C + c], sizeof want) != 0) mismatches++;
                if (res[i * C + c] != net[i * C + c]) changed++;
                if (kind[at] == 'q' && (q[at] > 1000000 || q[at] < -1000000)) large++;
            }
        /* one component at a time: the same values */
        for (c = 0; c < C; c++) {
            CHECK(mcinr_decode_mesh(m, time, &c, 1, one, NULL, err, sizeof err) == MCINR_OK, "one: %s", err);
            for (i = 0; i < N; i++)
                if (memcmp(&one[i], &res[i * C + c], sizeof(float)) != 0) mismatches++;
        }
        /* a subset with a repeat: the same corrected values */
        size_t comps[3] = {C - 1, 0, C - 1};
        CHECK(mcinr_decode_mesh(m, time, comps, 3, sub, NULL, err, sizeof err) == MCINR_OK, "subset: %s", err);
        for (i = 0; i < N; i++)
            for (size_t r = 0; r < 3; r++)
                if (sub[i * 3 + r] != res[i * C + comps[r]]) mismatches++;
    }
    CHECK(mismatches == 0, "%s: %zu decoded values differ from network + residual", stem, mismatches);
    /* a component whose stream quantises the data (codes 'd') takes every value from the
     * residual: no network runs for it at that step; one with network residual codes ('q')
     * evaluates every point; the network alone always does */
    int64_t *ids = malloc(N * sizeof *ids);
    for (i = 0; i < N; i++) ids[i] = (int64_t)i;
    size_t skipped = 0, ran = 0;
    for (t = 0; t < T; t++)
        for (c = 0; c < C; c++) {
            int data = 0, residual = 0;
            for (i = 0; i < N; i++) {
                data |= kind[(t * C + c) * N + i] == 'd';
                residual |= kind[(t * C + c) * N + i] == 'q';
            }
            if (data == residual) continue; /* an empty stream: either */
            size_t evaluated = SIZE_MAX;
            CHECK(mcinr_decode_mesh_points(m, mcinr_times(m)[t], ids, N, &c, 1, one, &with, &evaluated, err,
                                           sizeof err) == MCINR_OK, "%s", err);
            CHECK(evaluated == (data ? 0 : N), "%s step %zu component %zu (%s stream): the networks ran at %zu points",
                  stem, t, c, data ? "a data" : "a residual", evaluated);
            for (i = 0; i < N; i++) mismatches += memcmp(&one[i], &every[(t * N + i) * C + c], sizeof(float)) != 0;
            CHECK(mcinr_decode_mesh_points(m, mcinr_times(m)[t], ids, N, &c, 1, one, &only, &evaluated, err,
                                           sizeof err) == MCINR_OK, "%s", err);
            CHECK(evaluated == N, "%s: the network alone ran at %zu points", stem, evaluated);
            skipped += data;
            ran += residual;
        }
    CHECK(mismatches == 0, "%s: %zu values of mcinr_decode_mesh_points differ", stem, mismatches);
    CHECK(skipped > 0 && ran > 0, "%s: %zu data and %zu residual streams tried", stem, skipped, ran);
    free(ids);
    CHECK(changed > N * C * T / 2, "%s: only %zu values changed by the residual", stem, changed);
    /* in time order, as a player asks (each decode continues the chain the last one left), with a
     * repeat, a skip, one component at a time, and from a second model: the same values */
    size_t order[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 1, 3, 6, 7, 0, 8}, orders = sizeof order / sizeof *order;
    mismatches = 0;
    for (size_t n = 0; n < orders; n++) {
        if ((t = order[n]) >= T) continue;
        CHECK(mcinr_decode_mesh(m, mcinr_times(m)[t], NULL, 0, res, &with, err, sizeof err) == MCINR_OK, "%s", err);
        mismatches += memcmp(res, every + t * N * C, N * C * sizeof(float)) != 0;
        c = n % C;
        CHECK(mcinr_decode_mesh(m, mcinr_times(m)[t], &c, 1, one, NULL, err, sizeof err) == MCINR_OK, "%s", err);
        for (i = 0; i < N; i++) mismatches += memcmp(&one[i], &every[(t * N + i) * C + c], sizeof(float)) != 0;
    }
    CHECK(mismatches == 0, "%s: %zu decodes in time order differ from those last step first", stem, mismatches);
    CHECK(T >= 8, "%s: %zu steps, the order above wants 8 or more", stem, T);
    free(every);
    CHECK(large > 0, "%s: no index beyond ±10^6 was tested", stem);
    /* between steps and through mcinr_decode: the network alone */
    double between = 0.5 * (mcinr_times(m)[2] + mcinr_times(m)[3]);
    CHECK(mcinr_decode_mesh(m, between, NULL, 0, net, &only, err, sizeof err) == MCINR_OK, "%s", err);
    CHECK(mcinr_decode_mesh(m, between, NULL, 0, res, NULL, err, sizeof err) == MCINR_OK, "%s", err);
    CHECK(memcmp(net, res, N * C * sizeof(float)) == 0, "between steps differs from the network alone");
    double *xyz = malloc(N * 3 * sizeof(double));
    mcinr_mesh_points(m, xyz);
    CHECK(mcinr_decode(m, xyz, N, mcinr_times(m)[3], NULL, 0, res, NULL, err, sizeof err) == MCINR_OK, "%s", err);
    CHECK(mcinr_decode_mesh(m, mcinr_times(m)[3], NULL, 0, net, &only, err, sizeof err) == MCINR_OK, "%s", err);
    CHECK(memcmp(net, res, N * C * sizeof(float)) == 0, "mcinr_decode applied a residual");
    free(xyz); free(net); free(res); free(sub); free(one); free(kind); free(q); free(exact); free(steps); free(origins);
    mcinr_close(m);
}

/* ---- RESIDUAL type 7 (predicted indices, zstd) ---- */

/* Hand-made zstd-coder content (LEB128 varints of zigzag(d) + 1, docs/mci-format.md): kept on
 * purpose, because the hostile cases need bytes no writer makes (varints longer than 8 bytes,
 * codes above 2^34, a value cut short); no prediction or neighbour rule is involved. */

static size_t put_varint(uint8_t *p, uint64_t u) {
    size_t n = 0;
    while (u >= 0x80) {
        p[n++] = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    p[n++] = (uint8_t)u;
    return n;
}

/* The code of a difference d: zigzag(d) + 1. */
static size_t put_difference(uint8_t *p, int64_t d) {
    return put_varint(p, (d >= 0 ? 2 * (uint64_t)d : 2 * (uint64_t)(-(d + 1)) + 1) + 1);
}

/* N codes of the same difference d. */
static size_t same_differences(uint8_t *raw, size_t N, int64_t d) {
    size_t n = 0;
    for (size_t i = 0; i < N; i++) n += put_difference(raw + n, d);
    return n;
}

/* ---- crafted range-coded streams (type 7 coders 1 and 2) ---- */

/* The test holds no range encoder and no copy of the neighbour rule: the crafted range-coded
 * streams come from tools/make_test_mci.py (the independent reference implementation of the
 * spec), written by `--range-streams DIR/rc` for small_residual_predicted.mci's mesh, one
 * DIR/rc/NAME.rc (coder 1) and DIR/rc/NAME.rc2 (coder 2) per case of its range_stream_cases
 * (the values are described there). */
static const char *stream_dir;

static size_t read_range_stream(const char *name, unsigned coder, uint8_t *out, size_t cap) {
    char path[1024];
    snprintf(path, sizeof path, "%s/rc/%s.rc%s", stream_dir, name, coder == 2 ? "2" : "");
    bytes b = read_all(path);
    CHECK(b.size <= cap, "%s: %zu bytes", path, b.size);
    size_t n = b.size <= cap ? b.size : cap;
    memcpy(out, b.data, n);
    free(b.data);
    return n;
}

/* Coder 2's bit primitive alone (range_decoder.h): DIR/rc/one_probability.rc2 codes, with one
 * adaptive probability, 20 times (200 zeros, then a one), then 7 zeros (the generator's
 * one_probability_bits). After the long runs a one has probability near 2^-10, and at least one
 * of them leaves the range under 2^16: a decoder that normalises once per bit, as coder 1's may,
 * loses the stream there. Every byte is read, none beyond. */
static void test_range_coder2_normalisation(void) {
    uint8_t data[256];
    size_t len = read_range_stream("one_probability", 2, data, sizeof data);
    mci_rc rc;
    memset(&rc, 0, sizeof rc);
    const char *why = mci_rc_start(&rc, data, len);
    CHECK(why == NULL, "one_probability.rc2: %s", why ? why : "");
    if (why) return;
    mci_rc2_prob q = {MCI_RC2_PROB_INIT, 0};
    size_t wrong = 0, n = 0;
    for (int run = 0; run < 20; run++)
        for (int j = 0; j <= 200; j++, n++) wrong += mci_rc2_bit(&rc, &q) != (j == 200);
    for (int j = 0; j < 7; j++, n++) wrong += mci_rc2_bit(&rc, &q) != 0;
    CHECK(wrong == 0 && rc.pos == len, "one_probability.rc2: %zu of %zu bits wrong, %zu of %zu bytes read", wrong, n,
          rc.pos, len);
}

/* Counts a type 7 payload's non-empty streams per coder (0, 1, 2). */
static void count_coders(bytes b, size_t counts[3]) {
    size_t len;
    const uint8_t *p = payload_of(b, 7, &len);
    uint32_t T = (uint32_t)get_le(p + 8, 4), C = (uint32_t)get_le(p + 12, 4);
    counts[0] = counts[1] = counts[2] = 0;
    for (size_t k = 0; k < (size_t)T * C; k++) {
        const uint8_t *e = p + 16 + 16 * (size_t)C + 24 * k;
        if (get_le(e + 16, 8) != 0 && e[1] < 3) counts[e[1]]++;
    }
}

/* How a crafted stream's zstd frame is spoiled. */
enum { FRAME_OK, FRAME_BAD_MAGIC, FRAME_TRUNCATED, FRAME_TWO, FRAME_TRAILING, FRAME_SKIPPABLE, FRAME_SIZE_PLUS_ONE };

typedef struct crafted_stream {
    size_t k; /* stream t·C + c */
    unsigned predictor;
    const uint8_t *raw; /* NULL: stored empty (every d = 0); coders 1, 2: the range-coded bytes */
    size_t raw_len;
    int frame;
    unsigned coder;
    const int32_t *weights; /* a linear stream (predictor bit 3): its 7 weights before the codes */
} crafted_stream;

/* A type 7 payload with the header and bounds of `orig` in which every stream is empty with
 * predictor 0 except the crafted ones (in table order). Returns its length; out has room. */
static size_t predicted_payload(const uint8_t *orig, const crafted_stream *cs, size_t ncs, uint8_t *out) {
    uint32_t T = (uint32_t)get_le(orig + 8, 4), C = (uint32_t)get_le(orig + 12, 4);
    size_t table = 16 + 16 * (size_t)C, pos = table + 24 * (size_t)T * C;
    memcpy(out, orig, table);
    memset(out + table, 0, 24 * (size_t)T * C);
    for (size_t n = 0; n < ncs; n++) {
        uint8_t *e = out + table + 24 * cs[n].k;
        e[0] = (uint8_t)cs[n].predictor;
        e[1] = (uint8_t)cs[n].coder;
        size_t head = 0;
        if (cs[n].weights) { /* a linear stream: the weights, then the codes (below) */
            for (int j = 0; j < 7; j++) put_le(out + pos + 4 * j, (uint32_t)cs[n].weights[j], 4);
            head = 28;
            pos += head;
            put_le(e + 16, head, 8);
        }
        if (!cs[n].raw) continue;
        if (cs[n].coder != 0) { /* range-coded: stored as is, raw_size 0 */
            memcpy(out + pos, cs[n].raw, cs[n].raw_len);
            put_le(e + 16, head + cs[n].raw_len, 8);
            pos += cs[n].raw_len;
            continue;
        }
        size_t z = ZSTD_compress(out + pos, ZSTD_compressBound(cs[n].raw_len), cs[n].raw, cs[n].raw_len, 3);
        CHECK(!ZSTD_isError(z), "ZSTD_compress");
        size_t declared = cs[n].raw_len;
        switch (cs[n].frame) {
        case FRAME_BAD_MAGIC: out[pos] ^= 1; break;
        case FRAME_TRUNCATED: z--; break;
        case FRAME_TWO: memcpy(out + pos + z, out + pos, z); z *= 2; break;
        case FRAME_TRAILING: memset(out + pos + z, 0, 3); z += 3; break;
        case FRAME_SKIPPABLE: /* an empty skippable frame before the real one */
            memmove(out + pos + 8, out + pos, z);
            put_le(out + pos, 0x184D2A50u, 4);
            put_le(out + pos + 4, 0, 4);
            z += 8;
            break;
        case FRAME_SIZE_PLUS_ONE: declared++; break;
        default: break;
        }
        put_le(e + 8, declared, 8);
        put_le(e + 16, head + z, 8);
        pos += z;
    }
    return pos;
}

/* Decodes the mesh at step t (all components) with the residual, or the network alone. */
static void decode_step(const mcinr_model *m, size_t t, int network_only, float *out) {
    char err[512];
    mcinr_decode_options opt = options(1, NULL, NULL, network_only);
    CHECK(mcinr_decode_mesh(m, mcinr_times(m)[t], NULL, 0, out, &opt, err, sizeof err) == MCINR_OK, "decode: %s", err);
}

/* The linear predictor (predictor bit 3, format 1.4) in crafted payloads on
 * small_residual_predicted's mesh (the rest of the streams empty, predictor 0): each format
 * error of its table entry and weights, named by step and component; an index out of range
 * through the prediction; and a valid chain whose values are worked out here by hand (the
 * generator's --residual-linear files test the arithmetic at large). */
static void test_linear_targeted(bytes b) {
    size_t len;
    const uint8_t *orig = payload_of(b, 7, &len);
    uint64_t N = get_le(orig, 8);
    uint32_t C = (uint32_t)get_le(orig + 12, 4);
    uint8_t *p = malloc(len + 65536), raw[4096], raw2[4096];
    const int32_t lim = (int32_t)1 << 20, big = (int32_t)(((int64_t)1 << 31) - 1);
    static const int32_t zero[7] = {0};
    /* w1 w2 w3 v0 v1 v2 v3 */
    const int32_t too_big[7] = {0, 0, 0, lim + 1, 0, 0, 0}, too_small[7] = {-lim - 1, 0, 0, 0, 0, 0, 0};
    const int32_t w1[7] = {1, 0, 0, 0, 0, 0, 0}, v2[7] = {0, 0, 0, 0, 0, 5, 0}, w2[7] = {7, 7, 0, 0, 0, 0, 0};
    const int32_t v3[7] = {0, 0, 0, 0, 3, 3, 3}, spread[7] = {0, 0, 0, lim, 0, 0, 0}, w23[7] = {0, 0, 9, 0, 0, 7, 4};
    uint8_t three[3] = {0, 0, 0}, short_weights[27] = {0};
    struct {
        const char *what, *needle;
        crafted_stream cs[3];
    } cases[] = {
        {"weight above 2^20",
         "stream of step 0 component 0: linear predictor weight v0 is 1048577 (allowed -2^20 ... 2^20",
         {{0, 8, NULL, 0, FRAME_OK, 0, too_big}}},
        {"weight below -2^20", "stream of step 2 component 2: linear predictor weight w1 is -1048577",
         {{2 * C + 2, 9, NULL, 0, FRAME_OK, 1, too_small}}},
        {"w1 without the time bit", "stream of step 0 component 0: linear predictor weight w1 is 1, but it reads the "
         "step 1 back, before the start of its prediction chain (0 steps back: the stream lacks the time bit)",
         {{0, 8, NULL, 0, FRAME_OK, 0, w1}}},
        {"v2 without the time bit", "stream of step 3 component 1: linear predictor weight v2 is 5",
         {{3 * C + 1, 12, NULL, 0, FRAME_OK, 0, v2}}},
        {"w2 one step into a chain", "stream of step 2 component 0: linear predictor weight w2 is 7, but it reads the "
         "step 2 back, before the start of its prediction chain (1 steps back)",
         {{C, 8, NULL, 0, FRAME_OK, 0, zero}, {2 * C, 9, NULL, 0, FRAME_OK, 0, w2}}},
        {"v3 two steps into a chain", "stream of step 3 component 4: linear predictor weight v3 is 3, but it reads "
         "the step 3 back, before the start of its prediction chain (2 steps back)",
         {{C + 4, 8, NULL, 0, FRAME_OK, 0, zero}, {2 * C + 4, 1, NULL, 0, FRAME_OK, 0, NULL},
          {3 * C + 4, 9, NULL, 0, FRAME_OK, 1, v3}}},
        {"mesh bit with bit 3 (10)", "stream of step 0 component 3 has predictor 10: the linear predictor (bit 3) with "
         "the mesh bit", {{3, 10, NULL, 0, FRAME_OK, 0, zero}}},
        {"mesh bit with bit 3 (15)", "stream of step 1 component 0 has predictor 15: the linear predictor",
         {{C, 15, NULL, 0, FRAME_OK, 0, zero}}},
        {"anchor bit alone (128)", "stream of step 0 component 1 has predictor 128: the anchor bit (bit 7) without the "
         "time bit (bit 0) and the linear predictor (bit 3), whose level h3 it replaces (allowed 0 ... 7, 8, 9, 12, 13, "
         "24, 25, 28, 29, 56, 57, 60, 61, 120, 121, 124, 125, and 137", {{1, 128, NULL, 0, FRAME_OK, 0, zero}}},
        {"anchor bit without the linear predictor (129)", "stream of step 1 component 1 has predictor 129: the anchor "
         "bit (bit 7) without", {{C + 1, 129, NULL, 0, FRAME_OK, 0, NULL}}},
        {"anchor bit without the time bit (136)", "stream of step 1 component 2 has predictor 136: the anchor bit",
         {{C + 2, 136, NULL, 0, FRAME_OK, 0, zero}}},
        {"anchor past the last step", "stream of step 9 component 0 has the anchor bit (bit 7), but its anchor, step 16, "
         "is past the last step", {{8 * C, 8, NULL, 0, FRAME_OK, 0, zero}, {9 * C, 137, NULL, 0, FRAME_OK, 0, zero}}},
        {"anchor quantises the data", "stream of step 1 component 0 has the anchor bit (bit 7), but the stream of its "
         "anchor, step 8, quantises the data, not the residual",
         {{0, 8, NULL, 0, FRAME_OK, 0, zero}, {C, 137, NULL, 0, FRAME_OK, 0, zero}, {8 * C, 12, NULL, 0, FRAME_OK, 0, zero}}},
        {"w3 of an anchor stream at step 1 is allowed, v2 not", "stream of step 1 component 3: linear predictor weight v2 "
         "is 7, but it reads the step 2 back, before the start of its prediction chain (1 steps back)",
         {{3, 8, NULL, 0, FRAME_OK, 0, zero}, {C + 3, 137, NULL, 0, FRAME_OK, 0, w23}}},
        {"quadratic bit alone (64)", "stream of step 0 component 1 has predictor 64: the quadratic bit (bit 6) without "
         "the blend bit (bit 5)", {{1, 64, NULL, 0, FRAME_OK, 0, zero}}},
        {"quadratic bit with the plane bit, no blend (88)", "stream of step 0 component 1 has predictor 88: the quadratic "
         "bit (bit 6) without the blend bit (bit 5)", {{1, 88, NULL, 0, FRAME_OK, 0, zero}}},
        {"quadratic blend with the mesh bit (122)", "stream of step 0 component 2 has predictor 122: the linear "
         "predictor (bit 3) with the mesh bit", {{2, 122, NULL, 0, FRAME_OK, 0, zero}}},
        {"blend bit without the plane bit (40)", "stream of step 0 component 1 has predictor 40: the blend bit (bit 5) "
         "without the plane bit (bit 4)", {{1, 40, NULL, 0, FRAME_OK, 0, zero}}},
        {"blend bit alone (32)", "stream of step 0 component 1 has predictor 32: the blend bit (bit 5) without the plane "
         "bit (bit 4)", {{1, 32, NULL, 0, FRAME_OK, 0, zero}}},
        {"blend with the mesh bit (58)", "stream of step 0 component 2 has predictor 58: the linear predictor (bit 3) "
         "with the mesh bit", {{2, 58, NULL, 0, FRAME_OK, 0, zero}}},
        {"plane bit without bit 3 (16)", "stream of step 0 component 1 has predictor 16: the plane bit (bit 4) without "
         "the linear predictor (bit 3)", {{1, 16, NULL, 0, FRAME_OK, 0, zero}}},
        {"plane bit with the mesh bit (26)", "stream of step 0 component 2 has predictor 26: the linear predictor (bit 3) "
         "with the mesh bit", {{2, 26, NULL, 0, FRAME_OK, 0, zero}}},
        {"stream of 27 bytes", "stream of step 1 component 2: linear predictor (bit 3) in 27 bytes (at least 28",
         {{C + 2, 9, short_weights, sizeof short_weights, FRAME_OK, 1, NULL}}},
        {"empty linear stream", "stream of step 0 component 5: linear predictor (bit 3) in 0 bytes (at least 28",
         {{5, 8, NULL, 0, FRAME_OK, 0, NULL}}},
        {"time bit at step 8", "stream of step 8 component 0 predicts from the previous step (predictor 9), but every "
         "prediction chain restarts", {{8 * C, 9, NULL, 0, FRAME_OK, 0, zero}}},
        {"time bit at step 0", "stream of step 0 component 1 predicts from the previous step (predictor 13)",
         {{1, 13, NULL, 0, FRAME_OK, 0, zero}}},
        {"data bit differs from the previous step", "stream of step 1 component 0 predicts from the previous step, "
         "whose stream quantises the residual, not the data",
         {{0, 8, NULL, 0, FRAME_OK, 0, zero}, {C, 13, NULL, 0, FRAME_OK, 0, zero}}},
        {"range-coded codes of 3 bytes", "stream of step 0 component 0: range-coded in 3 bytes (at least 5)",
         {{0, 8, three, 3, FRAME_OK, 1, zero}}},
        {"index 2^31 through the linear prediction", "stream of step 0 component 0, point 1: the reconstructed index is "
         "2^31 or more", {{0, 8, raw, 0, FRAME_OK, 0, spread}}},
        {"bytes after the codes", "stream of step 1 component 1 has 2 bytes after its",
         {{C + 1, 8, raw2, 0, FRAME_OK, 0, zero}}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        crafted_stream *cs = cases[k].cs;
        size_t ncs = 1;
        while (ncs < 3 && (cs[ncs].predictor || cs[ncs].weights || cs[ncs].raw)) ncs++;
        /* point 0: 2^31 − 1, no neighbour; point 1 (its neighbour point 0, tiny mesh): v0 = 2^20
         * predicts 256 (2^31 − 1) */
        if (cs[0].raw == raw) cs[0].raw_len = put_difference(raw, big) + same_differences(raw + 5, N - 1, 0);
        if (cs[0].raw == raw2) cs[0].raw_len = same_differences(raw2, N + 2, 0);
        size_t plen = predicted_payload(orig, cs, ncs, p);
        bytes c = replace_payload(b, 7, p, plen);
        expect_residual_error(c, cases[k].needle, cases[k].what, cs[0].raw == raw || cs[0].raw == raw2);
        free(c.data);
    }
    /* valid: weights at ±2^20 where the chain allows them (component 1); a chain of component 0
     * with an empty time step (which costs nothing at open and leaves its buffer shared by two
     * steps of the history) between linear ones: step 0 q = 1 (d = 1), step 1 linear
     * q = h1 + 2 = 3, step 2 (time bit, empty) q = 3, step 3 linear with empty codes (28 bytes):
     * pred = h1 + 2 h2 − 5 h3 = 3 + 6 − 5 = 4; step 4: 0. The empty streams carry coder 0, 1,
     * then 2. */
    for (unsigned coder = 0; coder < 3; coder++) {
        const int32_t edge[7] = {lim, 0, 0, -lim, lim, 0, 0}, copy[7] = {4096, 0, 0, 0, 0, 0, 0};
        const int32_t three_steps[7] = {4096, 8192, -5 * 4096, 0, 0, 0, 0};
        size_t n0 = same_differences(raw, N, 1), n1 = same_differences(raw2, N, 2);
        crafted_stream cs[5] = {{0, 0, raw, n0, FRAME_OK, 0, NULL},
                                {C, 9, raw2, n1, FRAME_OK, 0, copy},
                                {C + 1, 9, NULL, 0, FRAME_OK, coder, edge},
                                {2 * C, 1, NULL, 0, FRAME_OK, coder, NULL},
                                {3 * C, 9, NULL, 0, FRAME_OK, coder, three_steps}};
        size_t plen = predicted_payload(orig, cs, 5, p);
        bytes c = replace_payload(b, 7, p, plen);
        mcinr_model *m = NULL;
        char err[512];
        CHECK(open_bytes(c, &m, err, sizeof err) == MCINR_OK, "valid linear chain, coder %u: %s", coder, err);
        if (m) {
            double s0;
            mcinr_residual_max_error(m, 0, &s0);
            s0 = 2.0 * s0 * (1.0 - 1.0 / 64.0);
            float *net = malloc(N * C * sizeof(float)), *res = malloc(N * C * sizeof(float));
            const long long want_q[5] = {1, 3, 3, 4, 0};
            size_t bad = 0;
            for (size_t back = 0; back < 5; back++) { /* latest first: each decode rebuilds its chain */
                size_t t = 4 - back;
                decode_step(m, t, 1, net);
                decode_step(m, t, 0, res);
                for (size_t i = 0; i < N; i++)
                    for (size_t comp = 0; comp < C; comp++) {
                        float want = net[i * C + comp];
                        if (comp == 0 && want_q[t] != 0) want = apply_q(want, want_q[t], s0);
                        if (memcmp(&want, &res[i * C + comp], sizeof want) != 0) bad++;
                    }
            }
            CHECK(bad == 0, "valid linear chain, coder %u: %zu values differ", coder, bad);
            free(net);
            free(res);
            mcinr_close(m);
        }
        free(c.data);
    }
    free(p);
}

/* RESIDUAL type 6 (format 1.1) is retired: a file with such a section, optional or required,
 * with or without a type 7 beside it, is rejected with MCINR_ERR_VERSION naming the type. */
static void test_retired_type6(bytes b) {
    static const uint8_t payload[16] = {0}; /* never parsed */
    bytes without = copy_bytes(b);
    put_le(find_entry(without, 7), 77, 4); /* type 7 renamed to an unknown optional type */
    put_le(find_entry(without, 77) + 4, 0, 4);
    mcinr_model *m = NULL;
    CHECK(open_bytes(without, &m, NULL, 0) == MCINR_OK, "the file without its type 7 section opens");
    mcinr_close(m);
    const bytes bases[2] = {b, without};
    for (int base = 0; base < 2; base++)
        for (uint32_t flags = 0; flags <= 1; flags++) {
            bytes c = add_section_bytes(bases[base], 6, flags, payload, sizeof payload);
            char what[96];
            snprintf(what, sizeof what, "type 6 section (flags %u, %s type 7)", flags, base ? "without" : "with");
            expect_open_error(c, MCINR_ERR_VERSION, "has type 6, the RESIDUAL of format 1.1, which is retired", what);
            free(c.data);
        }
    free(without.data);
}

/* Hostile (and a few valid but unusual) type 7 payloads, built from small_residual_predicted
 * (b). */
static void test_predicted_targeted(bytes b, const char *dir) {
    stream_dir = dir;
    test_range_coder2_normalisation();
    size_t len;
    const uint8_t *orig = payload_of(b, 7, &len);
    uint64_t N = get_le(orig, 8);
    uint32_t T = (uint32_t)get_le(orig + 8, 4), C = (uint32_t)get_le(orig + 12, 4);
    size_t table = 16 + 16 * (size_t)C, streams = table + 24 * (size_t)T * C;
    size_t first = 0, first_rc = 0; /* first non-empty zstd and range-coded streams */
    while (first < (size_t)T * C && (get_le(orig + table + 24 * first + 16, 8) == 0 || orig[table + 24 * first + 1] != 0))
        first++;
    while (first_rc < (size_t)T * C &&
           (get_le(orig + table + 24 * first_rc + 16, 8) == 0 || orig[table + 24 * first_rc + 1] != 1))
        first_rc++;
    CHECK(first < (size_t)T * C, "small_residual_predicted has no zstd stream");
    CHECK(first_rc < (size_t)T * C, "small_residual_predicted has no range-coded stream");
    uint8_t *p = malloc(len + 65536), raw[4096], raw2[4096];
    /* edits of the valid payload's table */
    struct { const char *what, *needle; int kind; } edits[] = {
        {"predictor 128", "predictor 128: the anchor bit (bit 7) without the time bit (bit 0) and the linear predictor "
         "(bit 3)", 0},
        {"plane bit alone", "predictor 18: the plane bit (bit 4) without the linear predictor (bit 3)", 17},
        {"data bit at step 0 under a residual time chain", "whose stream quantises the data, not the residual", 16},
        {"predictor 255", "predictor 255: the linear predictor (bit 3) with the mesh bit (bit 1)", 1},
        {"time bit at step 0", "step 0 component 0 predicts from the previous step", 2},
        {"raw size below N", "declares", 3},
        {"raw size above 8 N", "declares", 4},
        {"empty stream declaring raw bytes", "empty", 5},
        {"one byte less than the streams need", "remain", 6},
        {"one byte more than the streams need", "remain", 7},
        {"stream sizes overflow", "overflow", 8},
        {"header only", "truncated", 9},
        {"table cut short", "does not fit", 10},
        {"point count differs from the mesh", "points", 11},
        {"coder 3", "stream of step 0 component 0 has unknown coder 3", 12},
        {"coder 255 on an empty stream", "unknown coder 255", 13},
        {"range-coded stream declaring raw bytes", "range-coded, but declares", 14},
        {"range-coded stream of 4 bytes", "range-coded in 4 bytes (at least 5)", 15},
    };
    for (size_t k = 0; k < sizeof edits / sizeof edits[0]; k++) {
        memcpy(p, orig, len);
        size_t plen = len;
        uint8_t *e = p + table + 24 * first;
        switch (edits[k].kind) {
        case 0: p[table + 24 * 5] = 128; break;
        case 17: p[table + 24 * 5] = 18; break; /* mesh + plane */
        case 16: p[table + 24 * 5] |= 4; break; /* step 1 of component 5 predicts from step 0 (the generator's chain) */
        case 1: p[table + 24 * 5] = 255; break;
        case 2: p[table] |= 1; break;
        case 3: put_le(e + 8, N - 1, 8); break;
        case 4: put_le(e + 8, 8 * N + 1, 8); break;
        case 5: { size_t z = first == 0 ? 1 : 0; /* an empty stream elsewhere, or make one */
                  if (get_le(p + table + 24 * z + 16, 8) == 0) put_le(p + table + 24 * z + 8, N, 8);
                  else put_le(e + 16, 0, 8); } break;
        case 6: plen = len - 1; break;
        case 7: p[len] = 0; plen = len + 1; break;
        case 8: put_le(e + 16, UINT64_MAX - 3, 8); break;
        case 9: plen = 16; break;
        case 10: plen = streams - 1; break;
        case 11: put_le(p, N + 1, 8); break;
        case 12: p[table + 1] = 3; break;
        case 13: { size_t z = 0; /* an empty stream, if any */
                   while (z + 1 < (size_t)T * C && get_le(p + table + 24 * z + 16, 8) != 0) z++;
                   p[table + 24 * z + 1] = 255; } break;
        case 14: put_le(p + table + 24 * first_rc + 8, N, 8); break;
        case 15: { /* the stream keeps its first 4 bytes; later streams move up */
                   uint64_t size = get_le(p + table + 24 * first_rc + 16, 8), at = 0;
                   for (size_t k2 = 0; k2 < first_rc; k2++) at += get_le(p + table + 24 * k2 + 16, 8);
                   memmove(p + streams + at + 4, p + streams + at + size, len - streams - at - size);
                   plen = len - (size_t)(size - 4);
                   put_le(p + table + 24 * first_rc + 16, 4, 8); } break;
        }
        bytes c = replace_payload(b, 7, p, plen);
        expect_residual_error(c, edits[k].needle, edits[k].what, 0);
        free(c.data);
    }
    /* crafted streams (the rest empty with predictor 0) */
    const int64_t big = ((int64_t)1 << 31) - 1;
    struct { const char *what, *needle; int kind; } crafts[] = {
        {"bad zstd magic", "bad magic", 0},
        {"truncated zstd frame", "corrupt or truncated", 1},
        {"two zstd frames", "bytes after the zstd frame", 2},
        {"bytes after the zstd frame", "bytes after the zstd frame", 3},
        {"skippable frame first", "bad magic", 4},
        {"frame content one byte short of the declared size", "content size differs", 5},
        {"a code above 2^34", "exceeds 2^34", 6},
        {"index 2^31", "2^31 or more", 7},
        {"index -2^31", "2^31 or more", 8},
        {"index 2^31 through the time predictor", "stream of step 1 component 0, point 0: the reconstructed index", 9},
        {"index 2^31 through the mesh predictor", "stream of step 0 component 0, point 1: the reconstructed index", 10},
        {"escape that is NaN", "not finite", 11},
        {"varint longer than 8 bytes", "longer than 8 bytes", 12},
        {"a value missing", "ends inside", 13},
        {"bytes after the values", "after its", 14},
        {"predictor 3 at step 0 in a crafted table", "step 0 component 2 predicts", 15},
    };
    for (size_t k = 0; k < sizeof crafts / sizeof crafts[0]; k++) {
        crafted_stream cs[2] = {{0, 0, raw, 0, FRAME_OK, 0, NULL}, {0, 0, NULL, 0, FRAME_OK, 0, NULL}};
        size_t ncs = 1;
        int kind = crafts[k].kind;
        cs[0].raw_len = same_differences(raw, N, 1);
        if (kind <= 5) cs[0].frame = kind == 0 ? FRAME_BAD_MAGIC : kind == 1 ? FRAME_TRUNCATED : kind == 2 ? FRAME_TWO
                                   : kind == 3 ? FRAME_TRAILING : kind == 4 ? FRAME_SKIPPABLE : FRAME_SIZE_PLUS_ONE;
        if (kind == 6) { /* 2^34 + 1 */
            cs[0].raw_len = 0;
            for (uint64_t i = 0; i < N; i++) cs[0].raw_len += put_varint(raw + cs[0].raw_len, ((uint64_t)1 << 34) + 1);
        }
        if (kind == 7) cs[0].raw_len = same_differences(raw, N, big + 1);
        if (kind == 8) cs[0].raw_len = same_differences(raw, N, -big - 1);
        if (kind == 9) { /* step 0: 2^31 - 1 everywhere; step 1, time predictor: + 1 */
            cs[0].raw_len = same_differences(raw, N, big);
            cs[1] = (crafted_stream){C, 1, raw2, same_differences(raw2, N, 1), FRAME_OK, 0, NULL};
            ncs = 2;
        }
        if (kind == 10) { /* point 1's only earlier neighbour is point 0 (tiny mesh) */
            cs[0].predictor = 2;
            cs[0].raw_len = put_difference(raw, big);
            for (uint64_t i = 1; i < N; i++) cs[0].raw_len += put_difference(raw + cs[0].raw_len, 1);
        }
        if (kind == 11) {
            raw[0] = 0;
            put_le(raw + 1, 0x7FC00000u, 4);
            cs[0].raw_len = 5 + same_differences(raw + 5, N - 1, 0);
        }
        if (kind == 12) {
            memset(raw, 0x80, 8);
            raw[8] = 1;
            cs[0].raw_len = 9 + same_differences(raw + 9, N - 1, 0);
        }
        if (kind == 13) { /* N − 1 codes, then a varint that does not end */
            cs[0].raw_len = same_differences(raw, N - 1, 0);
            raw[cs[0].raw_len++] = 0x81;
        }
        if (kind == 14) cs[0].raw_len = same_differences(raw, N + 2, 0);
        if (kind == 15) cs[0] = (crafted_stream){2, 3, raw, same_differences(raw, N, 0), FRAME_OK, 0, NULL};
        size_t plen = predicted_payload(orig, cs, ncs, p);
        bytes c = replace_payload(b, 7, p, plen);
        expect_residual_error(c, crafts[k].needle, crafts[k].what, kind != 15);
        free(c.data);
    }
    /* crafted range-coded streams (coders 1 and 2, from the generator), the rest empty */
    struct { const char *what, *needle, *stream; int kind; } rcrafts[] = {
        {"range coder: first byte not 0", "stream of step 0 component 0: the range-coded stream's first byte is not 0", "ramp", 0},
        {"range coder: last byte missing", "reads past the end of the stream", "ramp", 1},
        {"range coder: two bytes after the values", "has 2 bytes after its", "ramp", 2},
        {"range coder: escape that is NaN", "point 0: an escaped value is not finite", "nan_at_0", 3},
        {"range coder: escape that is +infinity", "point 5: an escaped value is not finite", "inf_at_5", 3},
        {"range coder: difference 2^33 (exponent 33)", "point 0: the reconstructed index is 2^31 or more", "d_2pow33_at_0", 3},
        {"range coder: difference -(2^34 - 2), the largest", "point 3: the reconstructed index is 2^31 or more", "d_min_at_3", 3},
        /* point 1's only earlier neighbour is point 0 (tiny mesh): 2^31 − 1 + 1 */
        {"range coder: index 2^31 through the mesh predictor", "step 0 component 0, point 1: the reconstructed index", "big_then_1", 7},
        {"range coder: only the 5 start bytes", "reads past the end", "ramp", 8},
    };
    for (size_t n = 0; n < 2 * (sizeof rcrafts / sizeof rcrafts[0]); n++) { /* each case in coder 1, then 2 */
        size_t k = n / 2;
        unsigned coder = 1 + (unsigned)(n % 2);
        int kind = rcrafts[k].kind;
        /* coder 2's probabilities adapt so fast that the 5 start bytes (all 0) code this small
         * mesh's N zeros without reading another byte: a valid stream there */
        if (kind == 8 && coder == 2) continue;
        size_t stored = read_range_stream(rcrafts[k].stream, coder, raw, sizeof raw - 2);
        if (kind == 0) raw[0] = 1;
        if (kind == 1) stored--;
        if (kind == 2) {
            raw[stored++] = 0;
            raw[stored++] = 0;
        }
        if (kind == 8) {
            memset(raw, 0, 5);
            stored = 5;
        }
        crafted_stream cs = {0, kind == 7 ? 2u : 0u, raw, stored, FRAME_OK, coder, NULL};
        size_t plen = predicted_payload(orig, &cs, 1, p);
        bytes c = replace_payload(b, 7, p, plen);
        expect_residual_error(c, rcrafts[k].needle, rcrafts[k].what, 1);
        free(c.data);
    }
    /* valid extremes: ±(2^31 − 1), an empty stream continuing a chain, an escape in a chain;
     * zstd, then range-coded (coders 1 and 2, with an empty stream of the same coder) */
    for (unsigned coder = 0; coder < 3; coder++) {
        size_t n0 = same_differences(raw, N, big), n1 = same_differences(raw2, N, -big);
        uint8_t raw3[4096];
        size_t n3 = same_differences(raw3, 3, 0);
        raw3[n3++] = 0;
        float escaped = 1.5f;
        memcpy(raw3 + n3, &escaped, 4); /* little-endian hosts */
        n3 += 4;
        n3 += same_differences(raw3 + n3, N - 4, 0);
        if (coder != 0) { /* the same values, range-coded by the generator */
            n0 = read_range_stream("all_big", coder, raw, sizeof raw);
            n1 = read_range_stream("all_minus_big", coder, raw2, sizeof raw2);
            n3 = read_range_stream("escape_1_5_at_3", coder, raw3, sizeof raw3);
        }
        crafted_stream cs[4] = {{0, 0, raw, n0, FRAME_OK, coder, NULL}, {1, 0, raw2, n1, FRAME_OK, coder, NULL},
                                {C, 3, NULL, 0, FRAME_OK, coder, NULL}, {2 * C, 1, raw3, n3, FRAME_OK, coder, NULL}};
        size_t plen = predicted_payload(orig, cs, 4, p);
        bytes c = replace_payload(b, 7, p, plen);
        mcinr_model *m = NULL;
        char err[512];
        CHECK(open_bytes(c, &m, err, sizeof err) == MCINR_OK, "valid extreme indices, coder %u: %s", coder, err);
        if (m) {
            double s0, s1;
            mcinr_residual_max_error(m, 0, &s0);
            mcinr_residual_max_error(m, 1, &s1);
            s0 = 2.0 * s0 * (1.0 - 1.0 / 64.0);
            s1 = 2.0 * s1 * (1.0 - 1.0 / 64.0);
            float *net = malloc(N * C * sizeof(float)), *res = malloc(N * C * sizeof(float));
            size_t bad = 0;
            for (size_t t = 0; t < 4; t++) {
                decode_step(m, t, 1, net);
                decode_step(m, t, 0, res);
                for (size_t i = 0; i < N; i++)
                    for (size_t comp = 0; comp < C; comp++) {
                        float want = net[i * C + comp];
                        /* step 0: +big (c 0), −big (c 1); steps 1, 2: c 0 keeps +big but for
                         * the escape at point 3 of step 2; step 3: all zero */
                        if (comp == 0 && t <= 2) want = apply_q(want, big, s0);
                        if (comp == 1 && t == 0) want = apply_q(want, -big, s1);
                        if (comp == 0 && t == 2 && i == 3) want = escaped;
                        if (memcmp(&want, &res[i * C + comp], sizeof want) != 0) bad++;
                    }
            }
            CHECK(bad == 0, "valid extreme indices, coder %u: %zu values differ", coder, bad);
            free(net);
            free(res);
            mcinr_close(m);
        }
        free(c.data);
    }
    /* pad bytes are ignored; the required flag may be cleared: the same values; stored
     * zlib-compressed (flag bit 1) it is refused (compression inside compression) */
    {
        mcinr_model *m0 = NULL;
        CHECK(open_bytes(b, &m0, NULL, 0) == MCINR_OK, "small_residual_predicted opens");
        size_t counts[3];
        count_coders(b, counts);
        CHECK(counts[0] > 0 && counts[1] > 0 && counts[2] > 0,
              "small_residual_predicted: %zu zstd, %zu coder-1 and %zu coder-2 streams", counts[0], counts[1], counts[2]);
        float *want = malloc(N * C * sizeof(float)), *got = malloc(N * C * sizeof(float));
        if (m0) decode_step(m0, T - 1, 0, want);
        memcpy(p, orig, len);
        for (size_t k = 0; k < (size_t)T * C; k++) memset(p + table + 24 * k + 2, 0xAB, 6);
        bytes variants[3];
        variants[0] = replace_payload(b, 7, p, len);
        variants[1] = copy_bytes(b);
        put_le(find_entry(variants[1], 7) + 4, 0, 4);
        uLongf zlen = compressBound((uLong)len);
        uint8_t *z = malloc(8 + zlen);
        put_le(z, len, 8);
        compress2(z + 8, &zlen, orig, (uLong)len, 9);
        variants[2] = replace_payload(b, 7, z, 8 + zlen);
        put_le(find_entry(variants[2], 7) + 4, 3, 4);
        const char *names[2] = {"pad bytes set", "required flag cleared"};
        expect_open_error(variants[2], MCINR_ERR_FORMAT, "section RESIDUAL: stored compressed (flag bit 1), but its "
                          "content is already compressed", "compressed RESIDUAL (nested compression)");
        free(variants[2].data);
        for (int v = 0; v < 2; v++) {
            mcinr_model *m = NULL;
            char err[512];
            CHECK(open_bytes(variants[v], &m, err, sizeof err) == MCINR_OK, "%s: %s", names[v], err);
            if (m) {
                decode_step(m, T - 1, 0, got);
                CHECK(memcmp(got, want, N * C * sizeof(float)) == 0, "%s: decoded values differ", names[v]);
                mcinr_close(m);
            }
            free(variants[v].data);
        }
        free(z);
        free(want);
        free(got);
        mcinr_close(m0);
    }
    /* NEIGHBOURS (type 11, format 1.10): a u32 from 1 to 32, only beside a RESIDUAL */
    {
        static const struct {
            uint32_t least;
            size_t len;
            const char *needle;
        } nbcases[] = {{5, 3, "section NEIGHBOURS: 3 bytes (expected 4: a u32 from 1 to 32)"},
                       {5, 5, "section NEIGHBOURS: 5 bytes"},
                       {0, 4, "section NEIGHBOURS: least 0 (expected 1 ... 32)"},
                       {33, 4, "section NEIGHBOURS: least 33 (expected 1 ... 32)"}};
        for (size_t k = 0; k < sizeof nbcases / sizeof nbcases[0]; k++) {
            uint8_t u[5] = {0};
            put_le(u, nbcases[k].least, 4);
            bytes c = add_section_bytes(b, 11, 1, u, nbcases[k].len);
            expect_open_error(c, MCINR_ERR_FORMAT, nbcases[k].needle, "NEIGHBOURS");
            free(c.data);
        }
        uint8_t u[4];
        put_le(u, 32, 4);
        bytes c = copy_bytes(b);
        put_le(find_entry(c, 7), 77, 4); /* RESIDUAL renamed to an unknown optional type */
        put_le(find_entry(c, 77) + 4, 0, 4);
        bytes d = add_section_bytes(c, 11, 1, u, 4);
        expect_open_error(d, MCINR_ERR_FORMAT, "section NEIGHBOURS: a file without a RESIDUAL section has no NEIGHBOURS",
                          "NEIGHBOURS without a RESIDUAL");
        free(c.data);
        free(d.data);
    }
    /* twice type 7, type 7 without a mesh */
    bytes c = add_section(b, 7, 1, "x");
    expect_open_error(c, MCINR_ERR_FORMAT, "more than once", "type 7 twice");
    free(c.data);
    c = copy_bytes(b);
    put_le(find_entry(c, 5), 77, 4);
    expect_open_error(c, MCINR_ERR_FORMAT, "no MESH", "type 7 without a mesh");
    free(c.data);
    free(p);
}

/* The decoder's kernel shortcuts give the values of the plain formulas: the flat (bias tile)
 * walk over narrow rows equals a row-at-a-time call, sin alone equals the sin of sin + cos, the
 * fused ResBlock average equals sine then half sum, the blocked positional encoding equals
 * mcinr_sincos of each 2^k·π·x; all within 2e-6 of libm (at the float argument). At every
 * instruction-set level. */
static void test_kernels(void) {
    const size_t widths[] = {1, 3, 16, 18, 22, 33, 64, 65, 100};
    const size_t row_counts[] = {1, 5, 16, 17, 37};
    int detected = mcinr_kernels_limit_level(99);
    for (int level = 0; level <= detected; level++) {
        mcinr_kernels_limit_level(level);
        unsigned seed = 7;
        for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++)
            for (size_t ri = 0; ri < sizeof row_counts / sizeof *row_counts; ri++) {
                size_t width = widths[wi], rows = row_counts[ri], n = rows * width;
                float *x = malloc(n * sizeof *x), *bias = malloc(width * sizeof *bias);
                float *flat = malloc(n * sizeof *flat), *by_row = malloc(n * sizeof *by_row);
                float *with_cos = malloc(n * sizeof *with_cos), *cosines = malloc(n * sizeof *cosines);
                float *fused = malloc(n * sizeof *fused), *skip = malloc(n * sizeof *skip);
                for (size_t i = 0; i < n; i++) {
                    seed = seed * 1103515245u + 12345u;
                    x[i] = (float)((seed >> 8) & 0xffff) / 65536.0f * 4.0f - 2.0f;
                    skip[i] = (float)i / (float)n - 0.5f;
                }
                for (size_t j = 0; j < width; j++) bias[j] = 0.37f * (float)j - 1.0f;
                memcpy(flat, x, n * sizeof *x);
                memcpy(by_row, x, n * sizeof *x);
                memcpy(with_cos, x, n * sizeof *x);
                memcpy(fused, x, n * sizeof *x);
                mcinr_sine_forward(flat, bias, rows, width, 30.0f, NULL);
                for (size_t r = 0; r < rows; r++) mcinr_sine_forward(by_row + r * width, bias, 1, width, 30.0f, NULL);
                mcinr_sine_forward(with_cos, bias, rows, width, 30.0f, cosines);
                mcinr_sine_half_sum(fused, bias, rows, width, 30.0f, skip);
                double worst = 0.0;
                int same_rows = 1, same_cos = 1, same_fused = 1;
                for (size_t i = 0; i < n; i++) {
                    double z = (double)(30.0f * (x[i] + bias[i % width])); /* the float argument */
                    worst = fmax(worst, fabs(flat[i] - sin(z)));
                    worst = fmax(worst, fabs(cosines[i] - cos(z)));
                    same_rows &= flat[i] == by_row[i];
                    same_cos &= flat[i] == with_cos[i];
                    same_fused &= fused[i] == 0.5f * (flat[i] + skip[i]);
                }
                CHECK(worst <= 2e-6, "level %d, %zu × %zu: sine error %.3g", level, rows, width, worst);
                CHECK(same_rows, "level %d, %zu × %zu: flat sine differs from row by row", level, rows, width);
                CHECK(same_cos, "level %d, %zu × %zu: sin changes when cos is stored", level, rows, width);
                CHECK(same_fused, "level %d, %zu × %zu: fused ResBlock average differs", level, rows, width);
                free(x); free(bias); free(flat); free(by_row); free(with_cos); free(cosines); free(fused); free(skip);
            }
        /* Bounded sin/cos: the polynomials only ever see the reduced r, |r| ≤ π/2 + 0.25 even for
         * clamped huge z, so every float r with 1.3 ≤ |r| ≤ 1.9 (where they approach ±1) is tried. */
        {
            size_t cap = (size_t)1 << 20, over = 0;
            float *z = malloc(cap * sizeof *z), *s = malloc(cap * sizeof *s), *c = malloc(cap * sizeof *c);
            for (int side = -1; side <= 1; side += 2) {
                float v = 1.3f;
                while (v <= 1.9f) {
                    size_t n = 0;
                    for (; n < cap && v <= 1.9f; v = nextafterf(v, 2.0f)) z[n++] = (float)side * v;
                    mcinr_sincos(z, n, s, c);
                    for (size_t i = 0; i < n; i++) over += fabsf(s[i]) > 1.0f || fabsf(c[i]) > 1.0f;
                }
            }
            CHECK(over == 0, "level %d: %zu sin/cos values beyond ±1 near |r| = π/2", level, over);
            free(z);
            free(s);
            free(c);
        }
        /* Positional encoding, across the 32-row blocks and a partial one. */
        for (unsigned L = 0; L <= 7; L += 7) {
            size_t rows = 70, w = mcinr_encoding_width(L);
            float *in = malloc(rows * 4 * sizeof *in), *enc = malloc(rows * w * sizeof *enc);
            for (size_t i = 0; i < rows * 4; i++) in[i] = (float)i / (float)(rows * 4) * 2.0f - 1.0f;
            mcinr_positional_encoding(in, rows, L, enc);
            int same = 1;
            double worst = 0.0;
            for (size_t r = 0; r < rows; r++)
                for (unsigned k = 0; k < L; k++)
                    for (int i = 0; i < 4; i++) {
                        float v = in[4 * r + i], z = (float)(1u << k) * 3.14159265358979f * v, s, c;
                        mcinr_sincos(&z, 1, &s, &c);
                        same &= enc[r * w + 4 + 8 * k + i] == s && enc[r * w + 8 + 8 * k + i] == c;
                        same &= enc[r * w + i] == v;
                        worst = fmax(worst, fabs(s - sin((double)z)));
                    }
            CHECK(same, "level %d, L %u: positional encoding differs from mcinr_sincos", level, L);
            CHECK(worst <= 2e-6, "level %d, L %u: encoding error %.3g", level, L, worst);
            free(in);
            free(enc);
        }
    }
    mcinr_kernels_limit_level(99);
}

/* Widths 32, 64 and 128 (the widest products), with and without a type 7 residual: the values
 * are identical for 1, 2 and 4 decoder threads, and the values at the mesh points equal those at
 * the same coordinates decoded as arbitrary points. The models are generated here (python3
 * tools/make_test_mci.py, run from the repository root). */
static void test_width_threads(const char *dir) {
    const int widths[3] = {32, 64, 128};
    for (int wi = 0; wi < 3; wi++)
        for (int residual = 0; residual <= 1; residual++) {
            char path[1024], cmd[4096], err[512];
            snprintf(path, sizeof path, "%s/width%d%s.mci", dir, widths[wi], residual ? "_residual" : "");
            snprintf(cmd, sizeof cmd, "python3 tools/make_test_mci.py '%s' --mesh grid --clusters 3 --split "
                     "--width %d --seed %d%s%s%s > /dev/null", path, widths[wi], 30 + wi,
                     residual ? " --residual-predicted '" : "", residual ? path : "", residual ? ".res'" : "");
            CHECK(system(cmd) == 0, "could not generate %s", path);
            mcinr_model *m = NULL;
            CHECK(mcinr_open_file(path, &m, err, sizeof err) == MCINR_OK, "open %s: %s", path, err);
            if (!m) continue;
            size_t n = 20000, C = mcinr_num_components(m), P = mcinr_mesh_num_points(m);
            double *xyz = malloc(n * 3 * sizeof(double));
            for (size_t i = 0; i < n * 3; i++) xyz[i] = (double)((i * 7919u) % 1000u) / 500.0 - 0.5;
            double t_mid = 0.5 * (mcinr_times(m)[0] + mcinr_times(m)[mcinr_num_times(m) - 1]);
            float *want = malloc(n * C * sizeof(float)), *got = malloc(n * C * sizeof(float));
            float *mesh_want = malloc(P * C * sizeof(float)), *mesh_got = malloc(P * C * sizeof(float));
            mcinr_decode_options one = options(1, NULL, NULL, 0);
            CHECK(mcinr_decode(m, xyz, n, t_mid, NULL, 0, want, &one, err, sizeof err) == MCINR_OK, "%s", err);
            CHECK(mcinr_decode_mesh(m, mcinr_times(m)[0], NULL, 0, mesh_want, &one, err, sizeof err) == MCINR_OK,
                  "%s", err);
            const int workers[2] = {2, 4};
            for (int k = 0; k < 2; k++) {
                mcinr_decode_options o = options(workers[k], NULL, NULL, 0);
                CHECK(mcinr_decode(m, xyz, n, t_mid, NULL, 0, got, &o, err, sizeof err) == MCINR_OK, "%s", err);
                CHECK(memcmp(got, want, n * C * sizeof(float)) == 0, "width %d%s: %d workers: values differ",
                      widths[wi], residual ? " + residual" : "", workers[k]);
                CHECK(mcinr_decode_mesh(m, mcinr_times(m)[0], NULL, 0, mesh_got, &o, err, sizeof err) == MCINR_OK,
                      "%s", err);
                CHECK(memcmp(mesh_got, mesh_want, P * C * sizeof(float)) == 0,
                      "width %d%s, mesh: %d workers: values differ", widths[wi], residual ? " + residual" : "",
                      workers[k]);
            }
            if (!residual) { /* the mesh points as arbitrary points, in reverse order */
                double *mp = malloc(P * 3 * sizeof(double)), *rev = malloc(P * 3 * sizeof(double));
                CHECK(mcinr_mesh_points(m, mp) == MCINR_OK, "mesh points");
                for (size_t i = 0; i < P; i++) memcpy(rev + 3 * i, mp + 3 * (P - 1 - i), 3 * sizeof(double));
                free(mp);
                CHECK(mcinr_decode(m, rev, P, mcinr_times(m)[0], NULL, 0, mesh_got, &one, err, sizeof err) == MCINR_OK,
                      "%s", err);
                size_t differ = 0;
                for (size_t i = 0; i < P; i++)
                    differ += memcmp(mesh_got + i * C, mesh_want + (P - 1 - i) * C, C * sizeof(float)) != 0;
                CHECK(differ == 0, "width %d: %zu mesh points differ decoded as arbitrary points", widths[wi], differ);
                free(rev);
            }
            free(xyz);
            free(want);
            free(got);
            free(mesh_want);
            free(mesh_got);
            mcinr_close(m);
        }
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s DIR [--threads-only]\n", argv[0]);
        return 2;
    }
    if (argc == 3) { /* the ThreadSanitizer pass: only the multi-threaded cases */
        char path[1024], err[512];
        snprintf(path, sizeof path, "%s/tiny.mci", argv[1]);
        mcinr_model *m = NULL;
        CHECK(mcinr_open_file(path, &m, err, sizeof err) == MCINR_OK, "open: %s", err);
        if (m) {
            size_t n = 9000;
            double *xyz = malloc(n * 3 * sizeof(double));
            for (size_t i = 0; i < n * 3; i++) xyz[i] = (double)(i % 97) / 48.0;
            test_concurrent(m, xyz, n);
            int aborts = 0;
            mcinr_decode_options stop = options(3, abort_progress, &aborts, 0);
            float *out = malloc(n * mcinr_num_components(m) * sizeof(float));
            CHECK(mcinr_decode(m, xyz, n, 1.0, NULL, 0, out, &stop, NULL, 0) == MCINR_ERR_ABORTED, "abort");
            free(out);
            free(xyz);
            mcinr_close(m);
        }
        snprintf(path, sizeof path, "%s/residual_predicted.mci", argv[1]);
        m = NULL;
        CHECK(mcinr_open_file(path, &m, err, sizeof err) == MCINR_OK, "open: %s", err);
        if (m) {
            test_concurrent_residual(m);
            mcinr_close(m);
        }
        test_residual_progress(argv[1], "residual_predicted");
        /* the linear predictor's history buffers are per decode too; the neighbour lists, plane
         * weights and quadratic supports are built by the first decode, under the model's lock */
        for (int f = 0; f < 2; f++) {
            snprintf(path, sizeof path, "%s/%s.mci", argv[1], f ? "residual_quad" : "residual_linear");
            m = NULL;
            CHECK(mcinr_open_file(path, &m, err, sizeof err) == MCINR_OK, "open: %s", err);
            if (m) {
                test_concurrent_residual(m);
                mcinr_close(m);
            }
        }
        printf("%d checks, %d failures\n", checks, failures);
        return failures ? 1 : 0;
    }
    char path[1024];
    printf("version and options\n");
    test_version_and_options(argv[1]);
    printf("open options: progress, abort, threads, limits\n");
    test_open_options(argv[1]);
    printf("kernels\n");
    test_kernels();
    printf("matrix product: accuracy, rows independent of each other\n");
    test_matmul_packed();
    printf("values independent of the threads and of the other points\n");
    test_point_independence(argv[1]);
    printf("widths 32/64/128: values independent of the decoder's threads\n");
    test_width_threads(argv[1]);
    printf("valid files\n");
    test_valid(argv[1]);
    snprintf(path, sizeof path, "%s/small.mci", argv[1]);
    bytes small = read_all(path);
    printf("hostile input (%zu-byte file)\n", small.size);
    test_truncation(small);
    test_bit_flips(small, NULL);
    test_targeted(small);
    test_mesh_cells(small);
    test_variable_names(small);
    free(small.data);
    printf("format 1.1 encodings\n");
    test_encodings(argv[1]);
    snprintf(path, sizeof path, "%s/small_int8.mci", argv[1]);
    bytes int8 = read_all(path);
    snprintf(path, sizeof path, "%s/small_f16z.mci", argv[1]);
    bytes f16z = read_all(path);
    printf("hostile input, int8 (%zu bytes) and float16 + compressed NETS (%zu bytes)\n", int8.size, f16z.size);
    test_truncation(int8);
    test_truncation(f16z);
    test_bit_flips(int8, NULL);
    test_bit_flips(f16z, NULL);
    test_targeted_encodings(int8, f16z);
    free(int8.data);
    free(f16z.data);
    printf("error-bounded mode (RESIDUAL type 7: predicted indices)\n");
    /* the generator range-codes with coders 1 and 2 by turns, so every residual fixture is 1.11 */
    test_residual(argv[1], "residual_predicted", 11);
    test_residual(argv[1], "small_residual_predicted", 11);
    printf("RESIDUAL type 7, linear predictor (format 1.4)\n");
    test_residual(argv[1], "residual_linear", 11);
    test_residual(argv[1], "small_residual_linear", 11);
    printf("RESIDUAL type 7, plane predictor (format 1.6)\n");
    test_residual(argv[1], "residual_plane", 11);
    test_residual(argv[1], "small_residual_plane", 11);
    test_residual(argv[1], "residual_blend", 11);
    test_residual(argv[1], "small_residual_blend", 11);
    test_residual(argv[1], "residual_quad", 11);
    test_residual(argv[1], "small_residual_quad", 11);
    test_residual(argv[1], "residual_anchor", 11);
    test_residual(argv[1], "small_residual_anchor", 11);
    test_residual(argv[1], "residual_nb", 11);
    test_residual(argv[1], "small_residual_nb", 11);
    test_plane_weights(argv[1], "vessel_plane");
    test_plane_weights(argv[1], "vessel_plane_nb5");
    test_neighbour_lists(argv[1]);
    test_residual_progress(argv[1], "residual_linear");
    test_residual_progress(argv[1], "residual_predicted");
    test_residual_geometry_lazy(argv[1], "residual_quad");
    test_residual_geometry_lazy(argv[1], "residual_plane");
    test_residual_progress(argv[1], "small_residual_predicted");
    snprintf(path, sizeof path, "%s/small_residual_predicted.mci", argv[1]);
    bytes small_predicted = read_all(path);
    printf("hostile RESIDUAL type 7 (%zu-byte file)\n", small_predicted.size);
    test_predicted_targeted(small_predicted, argv[1]);
    test_linear_targeted(small_predicted);
    test_retired_type6(small_predicted);
    test_truncation(small_predicted);
    static const uint32_t with_predicted[6] = {1, 3, 4, 5, 7, 0};
    test_bit_flips(small_predicted, with_predicted);
    free(small_predicted.data);
    printf("%d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
