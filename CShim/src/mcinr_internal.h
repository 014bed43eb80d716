/* Internal model representation of the C decoder (not part of the public API). */
#ifndef MCINR_INTERNAL_H
#define MCINR_INTERNAL_H

#include "mcinr.h"

enum { MODULE_SINE = 1, MODULE_RESBLOCK = 2, MODULE_LINEAR = 3 };

/* One module; weights point into the model's single float array. For RESBLOCK, W/b are S1,
 * W2/b2 are S2 and Wt/bt the transform T (NULL when in == out). */
typedef struct mci_module {
    int kind;
    size_t in, out;
    const float *W, *b, *W2, *b2, *Wt, *bt;
} mci_module;

typedef struct mci_branch {
    size_t num_modules;
    mci_module *modules;
    size_t first_component; /* index of this branch's first output among the C components */
    size_t outputs;
} mci_branch;

typedef struct mci_network {
    float in_offset[4], in_scale[4];
    unsigned pe_freqs;
    float omega0;
    size_t num_trunk;
    mci_module *trunk;
    size_t num_branches;
    mci_branch *branches;
    size_t max_width; /* widest activation, encoding included */
} mci_network;

typedef struct mci_node {
    double centroid[3];
    int32_t parent, child0, child1, network;
} mci_node;

struct mcinr_model {
    uint16_t major, minor;
    /* META */
    size_t num_variables;
    char **variable_names;
    size_t *variable_components, *variable_first;
    size_t num_components;
    double *range_min, *range_max;
    size_t num_times;
    double *times;
    double bbox_min[3], bbox_max[3], time_min, time_max;
    uint64_t num_points, num_cells, raw_field_bytes;
    /* JSON */
    char *json;
    /* TREE */
    size_t num_nodes, num_top;
    mci_node *nodes;
    /* NETS */
    size_t num_networks;
    mci_network *networks;
    mci_module *module_storage; /* every module of every network, one allocation */
    mci_branch *branch_storage;
    float *weights;
    uint64_t weight_bytes;
    size_t max_width;
    /* MESH */
    int has_mesh;
    int mesh_point_type; /* 1 = f32, 2 = f64, as stored */
    size_t mesh_num_points, mesh_num_cells, mesh_conn_len;
    double *mesh_points;
    uint8_t *mesh_types;
    int64_t *mesh_offsets; /* num_cells + 1, offsets[0] = 0 */
    uint32_t *mesh_conn;
    /* inflated payloads of compressed sections (flag bit 1), only while the file is parsed */
    uint8_t *inflated[8];
    /* RESIDUAL (residual.c), section type 7: per component bound and bin width; per stream
     * (step-major, T × C) its decompressed size, offset into residual_streams and compressed
     * size */
    int has_residual;
    uint64_t residual_bytes;
    double *residual_max_error, *residual_step;
    uint64_t *residual_raw_size, *residual_stream_offset, *residual_stream_size;
    uint8_t *residual_streams;
    /* each stream's predictor bits and coder (0 zstd, 1 range coder); the mesh
     * neighbours Nb(i) (CSR: residual_nb[residual_nb_start[i] ... residual_nb_start[i + 1] - 1],
     * at most 32 per point), built only when a stream uses the mesh bit or the range coder */
    uint8_t *residual_predictor, *residual_coder;
    size_t *residual_nb_start;
    uint32_t *residual_nb;
};

/* Normalised coordinates q of a point (double precision, docs/mci-format.md). */
void mci_normalise(const mcinr_model *m, const double xyz[3], double time, double q[4]);
/* Leaf network of a normalised point. */
size_t mci_route_normalised(const mcinr_model *m, const double q[3]);

/* RESIDUAL section (type 7): parses and fully validates the payload (META and MESH
 * already parsed); frees its storage; adds the residual to a network-only decode at the mesh
 * points when `time` is a stored step (a no-op otherwise), a task per requested component on
 * up to `threads` threads, progress over [from, to] (mci_parallel_run). mci_residual_cost
 * estimates that work in the units of decode.c's network cost (0 when it does not apply). */
mcinr_status mci_parse_residual(const char *name, const uint8_t *payload, size_t len, mcinr_model *m, char *err,
                                size_t err_len);
void mci_free_residual(mcinr_model *m);
double mci_residual_cost(const mcinr_model *m, double time, const size_t *components, size_t num_components);
mcinr_status mci_apply_residual(const mcinr_model *m, double time, const size_t *components, size_t num_components,
                                float *out, size_t threads, mcinr_progress_fn progress, void *user_data, double from,
                                double to, char *err, size_t err_len);

/* One parallel loop (parallel.c), the decoder's only threading pattern: tasks 0 … num_tasks−1,
 * each run once, by up to `threads` worker threads (≤ 1: all on the calling thread). A worker
 * first makes its own state with init (NULL means out of memory; init may be NULL for no
 * state), takes tasks in increasing order and ends with fini. With more than one worker the
 * calling thread runs no task: it only calls `progress` (so the callback never runs on another
 * thread) with the fraction of tasks done mapped onto [from, to] (exactly `to` when all are
 * done) and stops the workers when it returns non-zero. A task writes only its own part of the
 * output, so results do not depend on the thread count. */
typedef struct mci_parallel_for {
    size_t num_tasks, threads;
    void *ctx;                                 /* passed to init, fini and task */
    void *(*init)(void *ctx);
    void (*fini)(void *ctx, void *state);
    mcinr_status (*task)(void *ctx, void *state, size_t index);
    mcinr_progress_fn progress;                /* may be NULL */
    void *user_data;
    double from, to;
} mci_parallel_for;

/* MCINR_OK; MCINR_ERR_ABORTED (progress returned non-zero; tasks not yet started are skipped);
 * MCINR_ERR_NOMEM (an init failed; *failed_task = SIZE_MAX); or the status of the lowest-index
 * task that failed (*failed_task = its index). failed_task may be NULL. */
mcinr_status mci_parallel_run(const mci_parallel_for *loop, size_t *failed_task);

/* Writes a formatted message into err (if non-NULL), always NUL-terminated. */
void mci_set_error(char *err, size_t err_len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
