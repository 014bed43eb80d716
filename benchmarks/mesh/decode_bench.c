/* Mesh decode speed of the C decoder (benchmarks/mesh/run.py):
 *   decode_bench FILE.mci [REPEATS] [THREADS]
 * prints one line of key-value pairs, each time the best of REPEATS: open_s (the open: for MESHC
 * it checks the chunk table and decodes nothing; for MESH it inflates and checks the whole
 * mesh), whole_s (a fresh model's whole mesh, mcinr_mesh_decode, one thread), whole_threads_s
 * (the same on THREADS threads, default 2), chunks_s (every chunk through mcinr_mesh_chunk, one
 * thread, one after the other: what a piece reader does). */
#define _POSIX_C_SOURCE 200809L
#include "mcinr.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static const char *data;
static size_t len;
static char err[512];

static mcinr_model *open_model(void) {
    mcinr_decode_options o;
    mcinr_decode_options_init(&o);
    o.trust_large_files = 1;
    mcinr_model *m = NULL;
    if (mcinr_open_memory_ex(data, len, &o, &m, err, sizeof err) != MCINR_OK) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    return m;
}

/* seconds of a whole-mesh decode of a fresh model on `threads` threads */
static double whole(int threads) {
    mcinr_model *m = open_model();
    mcinr_decode_options o;
    mcinr_decode_options_init(&o);
    o.num_threads = threads;
    double t0 = now();
    if (mcinr_mesh_decode(m, &o, err, sizeof err) != MCINR_OK) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    double t = now() - t0;
    mcinr_close(m);
    return t;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int repeats = argc > 2 ? atoi(argv[2]) : 3, threads = argc > 3 ? atoi(argv[3]) : 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 1;
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(len);
    if (!buf || fread(buf, 1, len, f) != len) return 1;
    fclose(f);
    data = buf;
    double best_open = 1e30, best_whole = 1e30, best_threads = 1e30, best_chunks = 1e30;
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        mcinr_model *m = open_model();
        double t = now() - t0;
        if (t < best_open) best_open = t;
        mcinr_close(m);
    }
    for (int r = 0; r < repeats; r++) {
        double t = whole(1);
        if (t < best_whole) best_whole = t;
        t = whole(threads);
        if (t < best_threads) best_threads = t;
    }
    mcinr_model *m = open_model();
    size_t K = mcinr_mesh_num_chunks(m);
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        for (size_t k = 0; k < K; k++) {
            size_t n, c, e;
            mcinr_mesh_chunk_sizes(m, k, &n, &c, &e);
            int64_t *ids = malloc(n * 8), *offs = malloc((c + 1) * 8), *conn = malloc(e * 8 + 8);
            double *xyz = malloc(n * 24);
            unsigned char *types = malloc(c + 1);
            if (mcinr_mesh_chunk(m, k, ids, xyz, types, offs, conn, err, sizeof err) != MCINR_OK) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
            free(ids), free(offs), free(conn), free(xyz), free(types);
        }
        double t1 = now();
        if (t1 - t0 < best_chunks) best_chunks = t1 - t0;
    }
    printf("coding %d chunks %zu points %zu cells %zu mesh_bytes %llu open_s %.4f whole_s %.4f threads %d "
           "whole_threads_s %.4f chunks_s %.4f\n",
           mcinr_mesh_coding(m), K, mcinr_mesh_num_points(m), mcinr_mesh_num_cells(m),
           (unsigned long long)mcinr_mesh_bytes(m), best_open, best_whole, threads, best_threads, best_chunks);
    mcinr_close(m);
    free(buf);
    return 0;
}
