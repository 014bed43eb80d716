/* Decode time per stored step of an error-bounded .mci, the way a reader asks for steps.
 *
 *   stepping model.mci [--repeats N] [--threads T]
 *
 * For each model, best of N rounds (each round on a freshly opened model, so nothing a
 * decode leaves carries from one round to the next):
 *   in_order   every stored step from the first to the last, as a player animates time
 *              (mcinr_decode_mesh, every component, at every mesh point), per step;
 *   alone      each step as the first decode after the open (a jump in time), per step;
 *   network    each step with network_only = 1 (the network without the residual), per step;
 *   open       mcinr_open_file_ex (the library's default options: since 1.8.0 it checks the
 *              residual's table and each stream is checked when first decoded).
 * Wall clock; the best round of each kind is kept, and its mean over the steps printed.
 * Prints one JSON object. Compile from the repository root:
 *   cc -O2 -std=c99 -ICShim/include -ICShim/kernels/include CShim/src/*.c CShim/kernels/*.c \
 *      benchmarks/decode/stepping.c -lz -lzstd -lpthread -lm
 */
#define _POSIX_C_SOURCE 199309L
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

static mcinr_model *open_model(const char *path, int threads, double *seconds) {
    char err[512];
    mcinr_decode_options opt;
    mcinr_decode_options_init(&opt);
    opt.num_threads = threads;
    mcinr_model *m = NULL;
    double t0 = now();
    if (mcinr_open_file_ex(path, &opt, &m, err, sizeof err) != MCINR_OK) {
        fprintf(stderr, "stepping: %s\n", err);
        exit(1);
    }
    *seconds = now() - t0;
    return m;
}

/* The mean seconds per step of decoding `steps` (NULL: 0 … T − 1) in that order on m. */
static double decode_steps(mcinr_model *m, const size_t *steps, size_t count, int threads, int network_only,
                           float *out) {
    char err[512];
    mcinr_decode_options opt;
    mcinr_decode_options_init(&opt);
    opt.num_threads = threads;
    opt.network_only = network_only;
    double total = 0.0;
    for (size_t n = 0; n < count; n++) {
        double t0 = now();
        if (mcinr_decode_mesh(m, mcinr_times(m)[steps ? steps[n] : n], NULL, 0, out, &opt, err, sizeof err) != MCINR_OK) {
            fprintf(stderr, "stepping: %s\n", err);
            exit(1);
        }
        total += now() - t0;
    }
    return total / (double)count;
}

int main(int argc, char **argv) {
    const char *path = NULL;
    int repeats = 3, threads = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr, "stepping: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!path || repeats < 1) {
        fprintf(stderr, "usage: stepping model.mci [--repeats N] [--threads T]\n");
        return 2;
    }
    double open_s;
    mcinr_model *m = open_model(path, threads, &open_s);
    size_t T = mcinr_num_times(m), N = mcinr_mesh_num_points(m), C = mcinr_num_components(m);
    mcinr_close(m);
    float *out = malloc(N * C * sizeof(float));
    double best_open = 1e300, best_order = 1e300, best_alone = 1e300, best_net = 1e300;
    for (int r = 0; r < repeats; r++) {
        double s;
        m = open_model(path, threads, &s);
        if (s < best_open) best_open = s;
        if ((s = decode_steps(m, NULL, T, threads, 0, out)) < best_order) best_order = s;
        if ((s = decode_steps(m, NULL, T, threads, 1, out)) < best_net) best_net = s;
        mcinr_close(m);
        double alone = 0.0;
        for (size_t t = 0; t < T; t++) {
            m = open_model(path, threads, &s);
            alone += decode_steps(m, &t, 1, threads, 0, out);
            mcinr_close(m);
        }
        if (alone / (double)T < best_alone) best_alone = alone / (double)T;
    }
    printf("{\"model\": \"%s\", \"points\": %zu, \"components\": %zu, \"steps\": %zu, \"threads\": %d, "
           "\"repeats\": %d, \"open_s\": %.6f, \"in_order_s\": %.6f, \"alone_s\": %.6f, \"network_s\": %.6f}\n",
           path, N, C, T, threads, repeats, best_open, best_order, best_alone, best_net);
    free(out);
    return 0;
}
