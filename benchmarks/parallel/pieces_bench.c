/* What one rank of a parallel reader does, without ParaView: mcinr_piece_build then
 * mcinr_piece_decode of one stored step, for every piece p of n, for each n and ghost-level
 * count asked, one thread, in one process (pieces one after another; the model is opened once
 * and its whole mesh is never decoded). Prints one markdown table row per (n, ghost levels):
 * chunks read per piece (own + other), build and decode seconds (mean and slowest piece), and
 * the piece's points and cells (mean and largest).
 *
 *   pieces_bench model.mci [--pieces 1,2,4,8] [--ghosts 0,1] [--step S]
 *
 * Compile (from the repository root):
 *   cc -O2 -std=c99 -D_GNU_SOURCE -ICShim/include -ICShim/kernels/include CShim/src/*.c \
 *      CShim/kernels/*.c benchmarks/parallel/pieces_bench.c -lz -lzstd -lpthread -lm -o pieces_bench
 */
#include "mcinr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t parse_list(char *text, size_t *out, size_t cap) {
    size_t n = 0;
    for (char *t = strtok(text, ","); t && n < cap; t = strtok(NULL, ",")) out[n++] = (size_t)atol(t);
    return n;
}

int main(int argc, char **argv) {
    const char *path = NULL;
    char pieces_arg[64] = "1,2,4,8", ghosts_arg[64] = "0,1";
    size_t step = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pieces") && i + 1 < argc) snprintf(pieces_arg, sizeof pieces_arg, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--ghosts") && i + 1 < argc) snprintf(ghosts_arg, sizeof ghosts_arg, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--step") && i + 1 < argc) step = (size_t)atol(argv[++i]);
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr, "usage: pieces_bench model.mci [--pieces 1,2,4,8] [--ghosts 0,1] [--step S]\n");
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: pieces_bench model.mci [--pieces 1,2,4,8] [--ghosts 0,1] [--step S]\n");
        return 2;
    }
    size_t ns[16], gs[16];
    size_t nn = parse_list(pieces_arg, ns, 16), ng = parse_list(ghosts_arg, gs, 16);
    char err[1024];
    mcinr_model *m = NULL;
    if (mcinr_open_file(path, &m, err, sizeof err) != MCINR_OK) {
        fprintf(stderr, "pieces_bench: %s\n", err);
        return 1;
    }
    if (step >= mcinr_num_times(m)) {
        fprintf(stderr, "pieces_bench: %s has no step %zu\n", path, step);
        return 1;
    }
    size_t K = mcinr_mesh_num_chunks(m), C = mcinr_num_components(m);
    double t = mcinr_times(m)[step];
    printf("%s: %zu points, %zu chunks, MESHX index: %s, step %zu (t = %g), %zu components, one thread\n\n", path,
           mcinr_mesh_num_points(m), K, mcinr_mesh_index(m, NULL) ? "yes" : "no", step, t, C);
    printf("| pieces n | ghost levels | chunks per piece: own + other (mean; largest) | build s (mean; slowest) | "
           "decode s (mean; slowest) | build + decode, slowest piece | points per piece (mean; largest) | "
           "cells per piece (mean; largest) |\n|---:|---:|---|---|---|---:|---|---|\n");
    for (size_t a = 0; a < nn; a++)
        for (size_t b = 0; b < ng; b++) {
            size_t n = ns[a], g = gs[b];
            double own_sum = 0, other_sum = 0, build_sum = 0, decode_sum = 0, build_max = 0, decode_max = 0,
                   total_max = 0, pts_sum = 0, cells_sum = 0;
            size_t chunks_max = 0, pts_max = 0, cells_max = 0;
            for (size_t p = 0; p < n; p++) {
                mcinr_piece *pc = NULL;
                double t0 = now();
                if (mcinr_piece_build(m, p, n, (int)g, NULL, &pc, err, sizeof err) != MCINR_OK) {
                    fprintf(stderr, "pieces_bench: %s\n", err);
                    return 1;
                }
                double t1 = now();
                size_t np = mcinr_piece_num_points(pc), nc = mcinr_piece_num_cells(pc);
                float *out = malloc((np ? np : 1) * C * sizeof(float));
                if (!out || mcinr_piece_decode(pc, m, t, NULL, 0, out, NULL, NULL, err, sizeof err) != MCINR_OK) {
                    fprintf(stderr, "pieces_bench: %s\n", out ? err : "out of memory");
                    return 1;
                }
                double t2 = now();
                size_t own = 0, other = 0;
                mcinr_piece_decoded_chunks(pc, &own, &other);
                own_sum += (double)own;
                other_sum += (double)other;
                if (own + other > chunks_max) chunks_max = own + other;
                build_sum += t1 - t0;
                decode_sum += t2 - t1;
                if (t1 - t0 > build_max) build_max = t1 - t0;
                if (t2 - t1 > decode_max) decode_max = t2 - t1;
                if (t2 - t0 > total_max) total_max = t2 - t0;
                pts_sum += (double)np;
                cells_sum += (double)nc;
                if (np > pts_max) pts_max = np;
                if (nc > cells_max) cells_max = nc;
                free(out);
                mcinr_piece_free(pc);
            }
            printf("| %zu | %zu | %.1f + %.1f (%zu) | %.2f; %.2f | %.3f; %.3f | %.2f | %.0f; %zu | %.0f; %zu |\n", n, g,
                   own_sum / n, other_sum / n, chunks_max, build_sum / n, build_max, decode_sum / n, decode_max,
                   total_max, pts_sum / n, pts_max, cells_sum / n, cells_max);
            fflush(stdout);
        }
    mcinr_close(m);
    return 0;
}
