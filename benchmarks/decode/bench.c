/* Decode throughput of an .mci model, next to single-thread cblas_sgemm at the same shapes (the
 * GEMM ceiling: the decoder itself calls no BLAS since library 1.4).
 *
 *   bench model.mci [--step S] [--threads 1,2] [--repeats N] [--min-seconds X] [--blas-threads-as-is]
 *
 * Decodes every component at every embedded mesh point at stored step S (mcinr_decode_mesh),
 * best of N, for each thread count. FLOPs are counted analytically from the network shapes:
 * 2·in·out per matrix product, for the matrices the decoder multiplies (trunk, every branch,
 * ResBlock skip projections), per point routed to that network. Sine, encoding, routing and
 * output scaling are not counted (they are the overhead this benchmark exposes).
 *
 * The sgemm reference replays, single-threaded and in the same process, exactly the sgemm
 * calls of the decode (same row counts per batch, same in/out sizes, same transposes), so its
 * rate is the ceiling the decoder could reach if everything but the matrix products were free.
 * A second reference runs the same layers with full 1024-row batches; a third runs the sine
 * kernel on as many values as the decode activates, as one flat array per layer.
 *
 * --blas-threads-as-is leaves OpenBLAS's thread count as the environment set it (default:
 * this program sets it to 1), to measure the decoder next to a multi-threaded OpenBLAS.
 *
 * Prints one JSON object. Compile (from the repository root):
 *   cc -O2 -std=c99 -ICShim/include -ICShim/kernels/include -ICShim/src CShim/src/*.c \
 *      CShim/kernels/*.c benchmarks/decode/bench.c -lopenblas -lz -lzstd -lpthread -lm
 * It reads the model's layer shapes through CShim/src/mcinr_internal.h (internal, not the API).
 */
#define _POSIX_C_SOURCE 199309L
#include "mcinr.h"
#include "mcinr_internal.h"
#include "mcinr_kernels.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Must match CShim/src/decode.c (the replay reproduces its batching: one whole sgemm per layer
 * per batch, where the decoder, since library 1.4, calls its own kernel, mcinr_matmul_packed). */
#define CHUNK_MIN 4096u
#define CHUNK_MAX 65536u
#define CHUNK_PARTS 16u
#define BATCH_ROWS 1024u
#define BATCH_FLOATS ((size_t)1 << 20)

void openblas_set_num_threads(int);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the calling thread: unlike wall time, it does not count the time other
 * processes on a shared machine hold the core (single-threaded measurements only). */
static double now_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now_process_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct layer {
    size_t in, out;
    const float *W;
    int sine; /* followed by a sine activation */
} layer;

typedef struct shapes {
    layer *layers;
    size_t count, cap;
    double flops_per_point;
    double activations_per_point; /* sine evaluations per point */
} shapes;

static void push(shapes *s, size_t in, size_t out, const float *W, int sine) {
    if (s->count == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->layers = realloc(s->layers, s->cap * sizeof *s->layers);
        if (!s->layers) { fprintf(stderr, "bench: out of memory\n"); exit(1); }
    }
    s->layers[s->count++] = (layer){in, out, W, sine};
    s->flops_per_point += 2.0 * (double)in * (double)out;
    if (sine) s->activations_per_point += (double)out;
}

static void add_module(shapes *s, const mci_module *mod) {
    switch (mod->kind) {
    case MODULE_SINE: push(s, mod->in, mod->out, mod->W, 1); break;
    case MODULE_LINEAR: push(s, mod->in, mod->out, mod->W, 0); break;
    default:
        push(s, mod->in, mod->out, mod->W, 1);
        push(s, mod->out, mod->out, mod->W2, 1);
        if (mod->Wt) push(s, mod->in, mod->out, mod->Wt, 1);
        break;
    }
}

/* The matrix products of one network when all components are decoded. */
static shapes network_shapes(const mci_network *net) {
    shapes s = {0};
    for (size_t k = 0; k < net->num_trunk; k++) add_module(&s, &net->trunk[k]);
    for (size_t b = 0; b < net->num_branches; b++)
        for (size_t k = 0; k < net->branches[b].num_modules; k++) add_module(&s, &net->branches[b].modules[k]);
    return s;
}

static void run_layers(const shapes *s, size_t rows, float *x, float *y) {
    for (size_t i = 0; i < s->count; i++) {
        const layer *l = &s->layers[i];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)l->out, (int)l->in, 1.0f, x,
                    (int)l->in, l->W, (int)l->in, 0.0f, y, (int)l->out);
    }
}

/* The same number of sine values as one flat row per layer (what full vectors would cost). */
static void run_sines_flat(const shapes *s, size_t rows, float *y) {
    for (size_t i = 0; i < s->count; i++)
        if (s->layers[i].sine) mcinr_sine_forward(y, NULL, 1, rows * s->layers[i].out, 30.0f, NULL);
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *path = NULL;
    size_t step = 0;
    int repeats = 5;
    double min_seconds = 0.3;
    int threads[8] = {1, 2};
    int num_thread_counts = 2;
    int only_decode = 0; /* for profilers: skip the references */
    int blas_as_is = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--step") && i + 1 < argc) step = (size_t)atol(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only-decode")) only_decode = 1;
        else if (!strcmp(argv[i], "--blas-threads-as-is")) blas_as_is = 1;
        else if (!strcmp(argv[i], "--min-seconds") && i + 1 < argc) min_seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            num_thread_counts = 0;
            for (char *t = strtok(argv[++i], ","); t && num_thread_counts < 8; t = strtok(NULL, ","))
                threads[num_thread_counts++] = atoi(t);
        } else if (argv[i][0] != '-' && !path) path = argv[i];
        else { fprintf(stderr, "bench: unknown argument %s\n", argv[i]); return 2; }
    }
    if (!path || repeats < 1) {
        fprintf(stderr, "usage: bench model.mci [--step S] [--threads 1,2] [--repeats N] [--min-seconds X] "
                        "[--blas-threads-as-is]\n");
        return 2;
    }
    /* The decoder's own threads do the parallel work; OpenBLAS must not add its own. (This
     * program is its own process; the decoder library never changes this setting.) */
    if (!blas_as_is) openblas_set_num_threads(1);

    char err[512];
    mcinr_model *m = NULL;
    double t0 = now();
    if (mcinr_open_file(path, &m, err, sizeof err) != MCINR_OK) { fprintf(stderr, "bench: %s\n", err); return 1; }
    double open_s = now() - t0;
    if (!mcinr_has_mesh(m)) { fprintf(stderr, "bench: %s has no embedded mesh\n", path); return 1; }
    if (step >= mcinr_num_times(m)) { fprintf(stderr, "bench: %s has no step %zu\n", path, step); return 1; }
    double time = mcinr_times(m)[step];
    size_t n = mcinr_mesh_num_points(m), C = mcinr_num_components(m), L = m->num_networks;

    double *xyz = malloc(3 * n * sizeof *xyz);
    float *out = malloc(n * C * sizeof *out);
    size_t *route = malloc(n * sizeof *route);
    shapes *net_shapes = calloc(L, sizeof *net_shapes);
    if (!xyz || !out || !route || !net_shapes) { fprintf(stderr, "bench: out of memory\n"); return 1; }
    mcinr_mesh_points(m, xyz);

    /* FLOPs of the decode: each point costs its network's matrix products. */
    double flops = 0, activations = 0;
    size_t max_width = 0, max_layer_width = 0;
    for (size_t k = 0; k < L; k++) {
        net_shapes[k] = network_shapes(&m->networks[k]);
        if (m->networks[k].max_width > max_width) max_width = m->networks[k].max_width;
        for (size_t i = 0; i < net_shapes[k].count; i++)
            if (net_shapes[k].layers[i].out > max_layer_width) max_layer_width = net_shapes[k].layers[i].out;
    }
    for (size_t p = 0; p < n; p++) {
        route[p] = mcinr_route(m, xyz + 3 * p);
        flops += net_shapes[route[p]].flops_per_point;
        activations += net_shapes[route[p]].activations_per_point;
    }

    /* The decoder's batches: fixed chunks, points grouped by network, at most `batch` rows. */
    size_t chunk = n / CHUNK_PARTS + 1;
    if (chunk < CHUNK_MIN) chunk = CHUNK_MIN;
    if (chunk > CHUNK_MAX) chunk = CHUNK_MAX;
    if (chunk > n) chunk = n;
    size_t batch = BATCH_FLOATS / max_width;
    if (batch > BATCH_ROWS) batch = BATCH_ROWS;
    if (batch > chunk) batch = chunk;
    if (batch < 1) batch = 1;
    size_t *count = calloc(L, sizeof *count);
    size_t cap_batches = n + L * (n / chunk + 1), num_batches = 0;
    size_t *batch_net = malloc(cap_batches * sizeof *batch_net), *batch_rows = malloc(cap_batches * sizeof *batch_rows);
    for (size_t base = 0; base < n; base += chunk) {
        size_t end = base + chunk < n ? base + chunk : n;
        memset(count, 0, L * sizeof *count);
        for (size_t p = base; p < end; p++) count[route[p]]++;
        for (size_t k = 0; k < L; k++)
            for (size_t left = count[k]; left > 0;) {
                size_t r = left < batch ? left : batch;
                batch_net[num_batches] = k;
                batch_rows[num_batches++] = r;
                left -= r;
            }
    }
    size_t *sorted_rows = malloc(num_batches * sizeof *sorted_rows);
    memcpy(sorted_rows, batch_rows, num_batches * sizeof *sorted_rows);
    qsort(sorted_rows, num_batches, sizeof *sorted_rows, cmp_size);

    /* sgemm buffers: random inputs in [-1, 1] (the values do not change sgemm's speed). */
    size_t buf_floats = BATCH_ROWS * (max_layer_width > max_width ? max_layer_width : max_width);
    float *x = malloc(buf_floats * sizeof *x), *y = malloc(buf_floats * sizeof *y);
    srand(1);
    for (size_t i = 0; i < buf_floats; i++) x[i] = 2.0f * (float)rand() / (float)RAND_MAX - 1.0f;

    /* Reference 1: replay of the decode's own sgemm calls (best of N, each ≥ min_seconds). */
    double replay_best = 1e30, replay_cpu_best = 1e30;
    for (int r = 0; r < repeats && !only_decode; r++) {
        int reps = 0;
        double start = now(), start_cpu = now_cpu(), el;
        do {
            for (size_t b = 0; b < num_batches; b++) run_layers(&net_shapes[batch_net[b]], batch_rows[b], x, y);
            reps++;
            el = now() - start;
        } while (el < min_seconds);
        if (el / reps < replay_best) replay_best = el / reps;
        double cpu = (now_cpu() - start_cpu) / reps;
        if (cpu < replay_cpu_best) replay_cpu_best = cpu;
    }
    /* Reference 2: the same layers in full 1024-row batches (per-row cost × points). */
    double full_best = 1e30;
    for (int r = 0; r < repeats && !only_decode; r++) {
        double total = 0;
        for (size_t k = 0; k < L; k++) {
            size_t pts = 0;
            for (size_t p = 0; p < n; p++) pts += route[p] == k;
            if (!pts) continue;
            int reps = 0;
            double start = now(), el;
            do {
                run_layers(&net_shapes[k], BATCH_ROWS, x, y);
                reps++;
                el = now() - start;
            } while (el < min_seconds / (double)L);
            total += el / reps / BATCH_ROWS * (double)pts;
        }
        if (total < full_best) full_best = total;
    }
    /* The sine kernel on the decode's activations as one flat array per layer: what the sines
     * would cost at full vector width (the kernel is branch-free, so values do not matter). */
    for (size_t i = 0; i < buf_floats; i++) y[i] = x[i];
    double sine_flat_best = 1e30, sine_flat_cpu_best = 1e30;
    for (int r = 0; r < repeats && !only_decode; r++) {
        int reps = 0;
        double start = now(), start_cpu = now_cpu(), el;
        do {
            for (size_t b = 0; b < num_batches; b++) run_sines_flat(&net_shapes[batch_net[b]], batch_rows[b], y);
            reps++;
            el = now() - start;
        } while (el < min_seconds);
        if (el / reps < sine_flat_best) sine_flat_best = el / reps;
        if ((now_cpu() - start_cpu) / reps < sine_flat_cpu_best) sine_flat_cpu_best = (now_cpu() - start_cpu) / reps;
    }

    /* The decode itself, per thread count (best of N; each repeat decodes the whole step). */
    printf("{\"model\": \"%s\", \"points\": %zu, \"components\": %zu, \"networks\": %zu, \"step\": %zu, "
           "\"time\": %.9g, \"open_s\": %.6f, \"flops_per_decode\": %.6g, \"activations_per_decode\": %.6g, "
           "\"max_width\": %zu, \"chunk\": %zu, \"batch_cap\": %zu, \"batches\": %zu, "
           "\"batch_rows_mean\": %.1f, \"batch_rows_median\": %zu, \"kernels_level\": %d, "
           "\"sgemm_replay_s\": %.6f, \"sgemm_full_batch_s\": %.6f, \"sine_flat_s\": %.6f, "
           "\"decode\": [",
           path, n, C, L, step, time, open_s, flops, activations, max_width, chunk, batch, num_batches,
           (double)n / (double)num_batches, sorted_rows[num_batches / 2], mcinr_kernels_level(), replay_best,
           full_best, sine_flat_best);
    /* Thread counts interleaved within each repeat, so that load from other processes on a
     * shared machine hits them alike. */
    double best[8], best_cpu_1 = 1e30; /* thread CPU time of the 1-thread decode (serial path) */
    double cores[8];                    /* process CPU time / wall time of the best run: how many
                                         * cores the decode actually got on a shared machine */
    for (int t = 0; t < num_thread_counts; t++) best[t] = 1e30;
    for (int r = 0; r < repeats; r++)
        for (int t = 0; t < num_thread_counts; t++) {
            mcinr_decode_options opt;
            mcinr_decode_options_init(&opt);
            opt.num_threads = threads[t];
            double start = now(), start_cpu = now_cpu(), start_pcpu = now_process_cpu();
            if (mcinr_decode_mesh(m, time, NULL, 0, out, &opt, err, sizeof err) != MCINR_OK) {
                fprintf(stderr, "bench: decode failed: %s\n", err);
                return 1;
            }
            double el = now() - start, cpu = now_cpu() - start_cpu;
            if (el < best[t]) {
                best[t] = el;
                cores[t] = (now_process_cpu() - start_pcpu) / el;
            }
            if (threads[t] <= 1 && cpu < best_cpu_1) best_cpu_1 = cpu;
        }
    for (int t = 0; t < num_thread_counts; t++)
        printf("%s{\"threads\": %d, \"seconds\": %.6f, \"cores_used\": %.3f}", t ? ", " : "", threads[t], best[t],
               cores[t]);
    printf("], \"layers_network0\": [");
    for (size_t i = 0; i < net_shapes[0].count; i++)
        printf("%s[%zu, %zu, %d]", i ? ", " : "", net_shapes[0].layers[i].in, net_shapes[0].layers[i].out,
               net_shapes[0].layers[i].sine);
    printf("], \"points_per_network\": [");
    for (size_t k = 0; k < L; k++) {
        size_t pts = 0;
        for (size_t p = 0; p < n; p++) pts += route[p] == k;
        printf("%s%zu", k ? ", " : "", pts);
    }
    /* A checksum so that the decode cannot be optimised away and bad output is visible. */
    double sum = 0;
    for (size_t i = 0; i < n * C; i++) sum += out[i];
    printf("], \"decode_1_cpu_s\": %.6f, \"sgemm_replay_cpu_s\": %.6f, "
           "\"sine_flat_cpu_s\": %.6f, \"output_mean\": %.9g}\n", best_cpu_1, replay_cpu_best,
           sine_flat_cpu_best, sum / (double)(n * C));
    mcinr_close(m);
    return 0;
}
