/* Mesh decode speed of the C decoder (benchmarks/mesh/run.sh):
 *   decode_bench FILE.mci [REPEATS]
 * prints one line: coding, chunks, points, cells, mesh bytes, open seconds (best of REPEATS; it
 * decodes every chunk into the whole mesh) and chunk-decode seconds (every chunk through
 * mcinr_mesh_chunk, best of REPEATS), on one thread. */
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

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int repeats = argc > 2 ? atoi(argv[2]) : 3;
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 1;
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc(len);
    if (!data || fread(data, 1, len, f) != len) return 1;
    fclose(f);
    mcinr_decode_options o;
    mcinr_decode_options_init(&o);
    o.trust_large_files = 1;
    double best_open = 1e30, best_chunks = 1e30;
    mcinr_model *m = NULL;
    char err[512];
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        if (mcinr_open_memory_ex(data, len, &o, &m, err, sizeof err) != MCINR_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        double t1 = now();
        if (t1 - t0 < best_open) best_open = t1 - t0;
        if (r + 1 < repeats) mcinr_close(m);
    }
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
    printf("coding %d chunks %zu points %zu cells %zu mesh_bytes %llu open_s %.4f chunks_s %.4f\n",
           mcinr_mesh_coding(m), K, mcinr_mesh_num_points(m), mcinr_mesh_num_cells(m),
           (unsigned long long)mcinr_mesh_bytes(m), best_open, best_chunks);
    mcinr_close(m);
    free(data);
    return 0;
}
