/* For the design of thinner ghost rings (docs/benchmarks/parallel-reading.md, "Next"): how many
 * mesh points more than one MESHC chunk lists, and how many cells use such a point (the only
 * cells a neighbouring piece's first ghost layer can take from a chunk).
 *
 *   boundary_cells model.mci
 *
 * Compile (from the repository root):
 *   cc -O2 -std=c99 -D_GNU_SOURCE -ICShim/include -ICShim/kernels/include CShim/src/*.c \
 *      CShim/kernels/*.c benchmarks/parallel/boundary_cells.c -lz -lzstd -lpthread -lm -o boundary_cells
 */
#include "mcinr.h"
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    char err[512];
    mcinr_model *m = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: boundary_cells model.mci\n");
        return 2;
    }
    if (mcinr_open_file(argv[1], &m, err, sizeof err) != MCINR_OK) {
        fprintf(stderr, "boundary_cells: %s\n", err);
        return 1;
    }
    size_t K = mcinr_mesh_num_chunks(m), N = mcinr_mesh_num_points(m);
    unsigned char *count = calloc(N ? N : 1, 1);
    if (!count) {
        fprintf(stderr, "boundary_cells: out of memory\n");
        return 1;
    }
    size_t total_cells = 0, boundary_cells = 0, total_listed = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < K; k++) {
            size_t np, nc, nconn;
            mcinr_mesh_chunk_sizes(m, k, &np, &nc, &nconn);
            int64_t *pid = malloc((np + 1) * 8), *off = malloc((nc + 1) * 8), *conn = malloc((nconn + 1) * 8);
            double *xyz = malloc((np + 1) * 24);
            unsigned char *types = malloc(nc + 1);
            if (!pid || !off || !conn || !xyz || !types) {
                fprintf(stderr, "boundary_cells: out of memory\n");
                return 1;
            }
            if (mcinr_mesh_chunk(m, k, pid, xyz, types, off, conn, err, sizeof err) != MCINR_OK) {
                fprintf(stderr, "boundary_cells: %s\n", err);
                return 1;
            }
            if (pass == 0) {
                for (size_t i = 0; i < np; i++) if (count[pid[i]] < 255) count[pid[i]]++;
                total_listed += np;
            } else {
                for (size_t c = 0; c < nc; c++) {
                    int shared = 0;
                    for (int64_t e = off[c]; e < off[c + 1]; e++) shared |= count[pid[conn[e]]] > 1;
                    boundary_cells += shared;
                }
                total_cells += nc;
            }
            free(pid); free(off); free(conn); free(xyz); free(types);
        }
    size_t shared_points = 0;
    for (size_t i = 0; i < N; i++) shared_points += count[i] > 1;
    printf("%zu chunks, %zu points (listed %zu times: %.3f per point), %zu shared by >1 chunk (%.1f %%); "
           "%zu cells, %zu use a shared point (%.1f %%)\n", K, N, total_listed, (double)total_listed / N, shared_points,
           100.0 * shared_points / N, total_cells, boundary_cells, 100.0 * boundary_cells / total_cells);
    free(count);
    mcinr_close(m);
    return 0;
}
