/* The C decoder alone, for benchmarks/python_decode.py: opens a model and times
 * mcinr_decode_mesh (every component, every mesh point, stored step S) R times.
 *
 *   python_decode MODEL.mci STEP THREADS REPEATS
 *
 * Prints one line per repeat (after one untimed call): the wall time of the call and its CPU
 * time in seconds: the calling thread's with THREADS = 1 (the decoder then runs on it), the
 * process's otherwise. CPU time does not count the time other processes hold the core. Linked against the same
 * libmcinr.so the Python package loads (python_decode.py compiles it), so the two sides
 * differ only by what Python adds.
 */
#define _POSIX_C_SOURCE 199309L
#include "mcinr.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_seconds(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL.mci STEP THREADS REPEATS\n", argv[0]);
        return 2;
    }
    char err[1024] = {0};
    mcinr_model *m = NULL;
    if (mcinr_open_file(argv[1], &m, err, sizeof(err)) != MCINR_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    size_t step = (size_t)atol(argv[2]), n = mcinr_mesh_num_points(m), c = mcinr_num_components(m);
    if (step >= mcinr_num_times(m)) {
        fprintf(stderr, "step %zu out of range\n", step);
        return 1;
    }
    double t = mcinr_times(m)[step];
    float *out = malloc(n * c * sizeof(float));
    mcinr_decode_options options;
    mcinr_decode_options_init(&options);
    options.num_threads = atoi(argv[3]);
    /* one untimed call first, as the Python side makes: pages, threads, OpenBLAS's buffers */
    if (mcinr_decode_mesh(m, t, NULL, 0, out, &options, err, sizeof(err)) != MCINR_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    clockid_t cpu = options.num_threads > 1 ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_THREAD_CPUTIME_ID;
    for (int r = 0; r < atoi(argv[4]); r++) {
        double t0 = clock_seconds(CLOCK_MONOTONIC), c0 = clock_seconds(cpu);
        if (mcinr_decode_mesh(m, t, NULL, 0, out, &options, err, sizeof(err)) != MCINR_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        double c1 = clock_seconds(cpu), t1 = clock_seconds(CLOCK_MONOTONIC);
        printf("%.9f %.9f\n", t1 - t0, c1 - c0);
    }
    free(out);
    mcinr_close(m);
    return 0;
}
