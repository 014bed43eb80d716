/* Opens one file the way a reader would and checks the answer; CShim/tests/run.sh runs it on
 * every hostile file of tools/make_test_mci.py --hostile under `ulimit -v` and `timeout`, so an
 * answer that needs unbounded memory or time fails the test (docs/mci-format.md, Limits).
 *
 *   hostile_open FILE STATUS NEEDLE [trust]
 *
 * STATUS is the mcinr_status the open must return and NEEDLE a text its message must contain
 * ("" for a successful open). A model that opens is then decoded: at every mesh point at its
 * last stored time (with the residual, if any), or at 256 points of its bounding box; the
 * values must all be finite. `trust` opens with trust_large_files. Exit 0 when all of it
 * holds; prints what it saw and the time it took. */
#define _POSIX_C_SOURCE 200809L
#include "mcinr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: hostile_open FILE STATUS NEEDLE [trust]\n");
        return 2;
    }
    int want = atoi(argv[2]);
    const char *needle = argv[3];
    mcinr_decode_options o;
    mcinr_decode_options_init(&o);
    o.trust_large_files = argc > 4 && strcmp(argv[4], "trust") == 0;
    mcinr_model *m = NULL;
    char err[1024] = "";
    double t0 = now();
    mcinr_status s = mcinr_open_file_ex(argv[1], &o, &m, err, sizeof err);
    double t1 = now();
    printf("  %s%s: status %d in %.3f s%s%s\n", argv[1], o.trust_large_files ? " (trusted)" : "", (int)s, t1 - t0,
           s ? ": " : "", s ? err : "");
    if ((int)s != want) {
        printf("  FAIL: expected status %d\n", want);
        mcinr_close(m);
        return 1;
    }
    if (s != MCINR_OK) {
        if (m || !strstr(err, needle)) {
            printf("  FAIL: expected a NULL model and a message containing \"%s\"\n", needle);
            return 1;
        }
        return 0;
    }
    size_t C = mcinr_num_components(m), n = mcinr_has_mesh(m) ? mcinr_mesh_num_points(m) : 256;
    double last = mcinr_times(m)[mcinr_num_times(m) - 1];
    float *out = malloc(n * C * sizeof(float));
    double *xyz = mcinr_has_mesh(m) ? NULL : malloc(3 * n * sizeof(double));
    if (!out || (!mcinr_has_mesh(m) && !xyz)) {
        printf("  FAIL: cannot allocate %zu values\n", n * C);
        return 1;
    }
    if (xyz) {
        double lo[3], hi[3];
        mcinr_bounds(m, lo, hi);
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < 3; k++) xyz[3 * i + k] = lo[k] + (hi[k] - lo[k]) * (double)((i * (k + 3)) % 97) / 96.0;
        s = mcinr_decode(m, xyz, n, last, NULL, 0, out, NULL, err, sizeof err);
    } else {
        s = mcinr_decode_mesh(m, last, NULL, 0, out, NULL, err, sizeof err);
    }
    size_t bad = 0;
    for (size_t i = 0; s == MCINR_OK && i < n * C; i++) bad += !isfinite(out[i]);
    printf("  decoded %zu points: status %d in %.3f s, %zu non-finite values\n", n, (int)s, now() - t1, bad);
    free(out);
    free(xyz);
    mcinr_close(m);
    if (s != MCINR_OK || bad) {
        printf("  FAIL: the model opened but did not decode to finite values%s%s\n", s ? ": " : "", s ? err : "");
        return 1;
    }
    return 0;
}
