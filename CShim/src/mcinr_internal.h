/* Internal model representation of the C decoder (not part of the public API). */
#ifndef MCINR_INTERNAL_H
#define MCINR_INTERNAL_H

#include "mcinr.h"

#include <pthread.h>

#include <string.h>

/* Little-endian reads of the file's integers (n bytes) and binary64 values. */
static inline uint64_t mci_get_le(const uint8_t *q, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | q[i];
    return v;
}

static inline double mci_get_f64(const uint8_t *q) {
    uint64_t u = mci_get_le(q, 8);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Ascending order of k point ids by insertion sort: for the few dozen of a point's neighbours
 * or support (residual.c, plane.c), where it beats qsort's calls. */
static inline void mci_sort_ascending(uint32_t *v, size_t k) {
    for (size_t a = 1; a < k; a++) {
        uint32_t x = v[a];
        size_t b = a;
        for (; b > 0 && v[b - 1] > x; b--) v[b] = v[b - 1];
        v[b] = x;
    }
}

/* Moves the `keep` largest of k > keep distinct point ids to v[0 … keep − 1], in no order:
 * a min-heap of `keep` that each later id replaces the root of when larger, so the work is
 * k log keep whatever the ids (a hostile mesh's long lists cannot make it quadratic). */
static inline void mci_keep_largest(uint32_t *v, size_t k, size_t keep) {
    for (size_t n = keep; n-- > 0;) /* heapify: v[p] ≤ its children */
        for (size_t p = n, c; (c = 2 * p + 1) < keep; p = c) {
            if (c + 1 < keep && v[c + 1] < v[c]) c++;
            if (v[p] <= v[c]) break;
            uint32_t t = v[p];
            v[p] = v[c];
            v[c] = t;
        }
    for (size_t n = keep; n < k; n++) {
        if (v[n] <= v[0]) continue;
        uint32_t x = v[n];
        size_t p = 0, c;
        for (; (c = 2 * p + 1) < keep; p = c) {
            if (c + 1 < keep && v[c + 1] < v[c]) c++;
            if (x <= v[c]) break;
            v[p] = v[c];
        }
        v[p] = x;
    }
}

enum { MODULE_SINE = 1, MODULE_RESBLOCK = 2, MODULE_LINEAR = 3 };

/* One module; weights point into the model's single float array. For RESBLOCK, W/b are S1,
 * W2/b2 are S2 and Wt/bt the transform T (NULL when in == out). */
typedef struct mci_module {
    int kind;
    size_t in, out;
    const float *W, *b, *W2, *b2, *Wt, *bt;
    const float *Wp, *W2p, *Wtp; /* W, W2, Wt packed for mcinr_matmul_packed (NULL where absent) */
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
    /* SEAM (type 9): width of the band around each boundary between networks where the two
     * are blended, in normalised coordinates; 0 = no SEAM section, no blending */
    double seam_margin;
    /* NETS */
    size_t num_networks;
    mci_network *networks;
    mci_module *module_storage; /* every module of every network, one allocation */
    mci_branch *branch_storage;
    float *weights;
    float *packed_weights; /* every matrix packed (mci_module.Wp ...), one allocation */
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
    uint64_t mesh_bytes;       /* stored bytes of the MESH or MESHC section */
    struct mci_meshc *meshc;   /* MESHC (type 8, mesh_codec.c): the chunked payload; NULL for MESH */
    struct mci_meshx *meshx;   /* MESHX (type 10, mesh_index.c): its index; NULL without one */
    /* inflated payloads of compressed sections (flag bit 1), only while the file is parsed */
    uint8_t *inflated[16];
    /* RESIDUAL (residual.c), section type 7: per component bound and bin width; per stream
     * (step-major, T × C) its decompressed size, offset into residual_streams and compressed
     * size */
    int has_residual;
    uint64_t residual_bytes;
    double *residual_max_error, *residual_step;
    uint64_t *residual_raw_size, *residual_stream_offset, *residual_stream_size;
    uint8_t *residual_streams;
    /* each stream's predictor bits and coder (0 zstd, 1 range coder, 2 with sign contexts); the mesh
     * neighbours Nb(i) (CSR: residual_nb[residual_nb_start[i] ... residual_nb_start[i + 1] - 1],
     * at most 32 per point), built only when a stream uses the mesh bit or the range coder */
    uint8_t *residual_predictor, *residual_coder;
    size_t *residual_nb_start;
    uint32_t *residual_nb;
    /* section NEIGHBOURS (type 11, format 1.10): lists shorter than this are extended one
     * neighbour step (mci_neighbour_lists); 0 without the section */
    uint32_t residual_nb_least;
    /* linear predictor (bit 3, format 1.4): 7 Q12 weights per stream (w1 w2 w3 v0 v1 v2 v3,
     * residual_weights[7 k ...]), allocated only when some stream is linear (residual_linear);
     * a linear stream's residual_stream_offset/size then cover its codes, after the weights */
    int residual_linear;
    int32_t *residual_weights;
    /* plane predictor (bit 4, format 1.6): one Q16 weight per entry of residual_nb (plane.c),
     * built only when some stream uses it */
    int32_t *residual_plane;
    /* quadratic predictor (bit 6, format 1.8): each point's support (CSR like residual_nb: at
     * most 24, empty where the quadratic does not apply) and its Q16 weights (plane.c), built
     * only when some stream uses it (residual_quad) */
    int residual_quad;
    size_t *residual_quad_start;
    uint32_t *residual_quad_ids;
    int32_t *residual_quad_weights;
    /* the indices each component's last decode left (residual.c, "The chain cache"); NULL
     * without a residual or when it could not be allocated (decodes then restart every chain) */
    struct mci_chain_cache *residual_cache;
    /* the file's name, for the messages of a stream first checked at decode */
    char *residual_name;
    /* Nb, the plane weights and the quadratic supports are built on first use
     * (mci_residual_geometry; at open only when it validates every chain), under residual_lock
     * (initialised with has_residual): residual_geometry_pending until built (a failed build
     * leaves it set, so the next use tries again); residual_geometry_threads: the threads the
     * open's budget allowed for building them */
    int residual_geometry_pending, residual_uses_plane;
    size_t residual_geometry_threads;
    pthread_mutex_t residual_lock;
};

/* ---- The open's budget (docs/mci-format.md, "Limits") ----
 * With S the file size: every allocation an open makes (cumulative, so it bounds the peak) is
 * charged against MCI_MEMORY_PER_BYTE · S + MCI_MEMORY_BASE bytes, and its work (bytes
 * inflated by zlib or zstd, residual values validated, neighbour-list work) against
 * MCI_WORK_PER_BYTE · S + MCI_WORK_BASE units; the cluster tree has at most MCI_MAX_TOP_NODES
 * top-level nodes and depth MCI_MAX_TREE_DEPTH (the routing work per point). A trusted open
 * (trust_large_files) counts but does not enforce. */
#define MCI_MEMORY_PER_BYTE 64u
#define MCI_MEMORY_BASE ((uint64_t)16 << 20)
#define MCI_WORK_PER_BYTE 4096u
#define MCI_WORK_BASE ((uint64_t)1 << 24)
#define MCI_MAX_TOP_NODES 4096u
#define MCI_MAX_TREE_DEPTH 64u
#define MCI_TRUST_HINT "a trusted file opens with trust_large_files (C: mcinr_open_file_ex; CLI: --trust-large-files; " \
                       "ParaView: Trust Large Files)"

typedef struct mci_budget {
    int trusted;
    uint64_t file_size;
    uint64_t memory_limit, memory_used;
    uint64_t work_limit, work_used;
} mci_budget;

/* Charges `amount` bytes of memory (memory = 1) or units of work (memory = 0). 0 when it fits
 * (or the open is trusted), else -1 and a message naming `what`, the amount, the limit and the
 * opt-in in msg (NUL-terminated; the caller prefixes the file and section). */
int mci_budget_charge(mci_budget *b, int memory, uint64_t amount, const char *what, char *msg, size_t msg_len);

/* What an open needs besides the bytes: its budget, threads and progress (fractions over
 * [from, to] of the part being run). */
typedef struct mci_open_ctx {
    mci_budget *budget;
    size_t threads;
    mcinr_progress_fn progress;
    void *user_data;
    int validate_residual; /* options->validate_residual: every RESIDUAL chain at open */
} mci_open_ctx;

/* The caller's options as this library reads them into *o: only the fields that lie wholly
 * within in->struct_size bytes, the defaults for the rest (NULL: all defaults). fn names the
 * API function in the message of MCINR_ERR_ARGUMENT (struct_size 0 or too small). */
mcinr_status mci_read_options(const mcinr_decode_options *in, mcinr_decode_options *o, const char *fn, char *err,
                              size_t err_len);

/* Normalised coordinates q of a point (double precision, docs/mci-format.md). */
void mci_normalise(const mcinr_model *m, const double xyz[3], double time, double q[4]);
/* Leaf network of a normalised point. */
size_t mci_route_normalised(const mcinr_model *m, const double q[3]);
/* The network of q (as mci_route_normalised) and, within the seam margin of a boundary, the
 * network across it and its blend weight in (0, 0.5]; *weight = 0 when q is not in a seam. */
void mci_route_blended(const mcinr_model *m, const double q[3], uint32_t *network, uint32_t *partner, float *weight);

/* RESIDUAL section (type 7): parses the payload (META and MESH already parsed) and checks its
 * table, charging the open's budget for it and for decoding every stream; with
 * oc->validate_residual also reconstructs every chain, reporting progress over [from, to] and
 * honouring an abort (tasks of mci_parallel_run); frees its storage; adds the residual to a
 * network-only decode at the mesh points when `time` is a stored step (a no-op otherwise),
 * checking every stream it reads (MCINR_ERR_FORMAT naming the file, step, component and point),
 * a task per requested component on up to `threads` threads, progress over [from, to] (mci_parallel_run). mci_residual_cost
 * estimates that work in the units of decode.c's network cost (0 when it does not apply). */
mcinr_status mci_parse_residual(const char *name, const uint8_t *payload, size_t len, mcinr_model *m,
                                const mci_open_ctx *oc, double from, double to, char *err, size_t err_len);
/* A rough estimate of the RESIDUAL validation's work (for the open's progress weights), from
 * the payload's table before it is validated: the non-empty streams times the point count. */
double mci_residual_estimate(const uint8_t *payload, size_t len);
/* The plane predictor's Q16 weights of point i over its k ≤ MCI_PLANE_MAX_NEIGHBOURS earlier
 * neighbours nb (ascending), into out[0 … k − 1] (plane.c; docs/mci-format.md, "Plane weights"). */
#define MCI_PLANE_MAX_NEIGHBOURS 32
void mci_plane_weights(const double *xyz, size_t i, const uint32_t *nb, size_t k, int32_t *out);
/* The quadratic predictor's support of point i (plane.c; docs/mci-format.md, "Quadratic support
 * and weights"): from the earlier neighbour lists (CSR nb_start / nb), its k ≤
 * MCI_QUAD_MAX_SUPPORT points ascending into ids and their Q16 weights into weights; returns k
 * (0: no quadratic support). mark: N entries, none equal to i + 1 before the call. */
#define MCI_QUAD_MAX_SUPPORT 24
size_t mci_quadratic_support(const double *xyz, size_t i, const size_t *nb_start, const uint32_t *nb, size_t *mark,
                             uint32_t *ids, int32_t *weights);
/* Nb (least 0) or Nb′ (least > 0: section NEIGHBOURS, format 1.10) of N points from the M cells
 * (offsets M + 1, connectivity; residual.c; docs/mci-format.md, "Neighbours", "NEIGHBOURS"):
 * CSR lists into new arrays *out_start (N + 1) and *out. MCINR_OK or MCINR_ERR_NOMEM. */
mcinr_status mci_neighbour_lists(size_t N, size_t M, const int64_t *off, const uint32_t *conn, uint32_t least,
                                 size_t **out_start, uint32_t **out);
void mci_free_residual(mcinr_model *m);
/* The residual's mesh geometry (Nb, plane weights, quadratic supports), which its decode reads:
 * built on the first call (the whole mesh first: mci_mesh_whole), on up to `threads` threads
 * (0: as many as the open's budget allowed), progress and abort over [from, to], under the
 * model's residual lock; MCINR_OK at once without a residual or once built. MCINR_ERR_NOMEM and
 * MCINR_ERR_ABORTED keep nothing (a later call tries again), and any error of mci_mesh_whole. */
mcinr_status mci_residual_geometry(const mcinr_model *m, size_t threads, mcinr_progress_fn progress, void *user_data,
                                   double from, double to, char *err, size_t err_len);
/* Per requested component r, replaced[r] = 1 where the residual sets every value at `time` by
 * itself (a data stream at that stored step: the network's value is never read), else 0;
 * returns how many. */
size_t mci_residual_replaces(const mcinr_model *m, double time, const size_t *components, size_t num_components,
                             unsigned char *replaced);
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

/* The same pattern between tasks of a serial phase (the open's sections): reports `fraction`
 * to `progress` (NULL: nothing) on the calling thread; MCINR_ERR_ABORTED when it asks to stop. */
mcinr_status mci_parallel_checkpoint(mcinr_progress_fn progress, void *user_data, double fraction);

/* The one cell check (cells.c), applied at open to every cell of a mesh, MESH or MESHC: the
 * rule of MeshIO's Mesh.validate, which train and export apply. Cell `cell` (its index, for the
 * message) of VTK type `type` with `count` point indices `points`: 0 when its type is in
 * mcinr_cell_point_count's table with that many points, every index is below `num_points`, and it
 * is not a tetrahedron (type 10) that repeats a point; else -1 and "cell N ... " saying what is
 * wrong in msg (NUL-terminated; the caller prefixes the file, the section and, for MESHC, the
 * chunk). Work: O(count); callers charge it to the open's budget. */
#define MCI_CELL_TETRA 10u
int mci_check_cell(uint64_t cell, unsigned char type, const uint32_t *points, size_t count, uint64_t num_points,
                   char *msg, size_t msg_len);

/* The whole-mesh arrays (mesh_points, mesh_types, mesh_offsets, mesh_conn) of a MESHC model
 * (mesh_codec.c) are decoded on first use: anything that reads them calls this first. MCINR_OK
 * at once without a mesh, for MESH (type 5, decoded at open) or once decoded; else decodes
 * every chunk on `threads` threads (0: the open's thread count), progress over [from, to] on
 * the calling thread. Thread-safe (one model lock; other callers wait); a format error is
 * final (later calls return it again with its message, "<file>: section MESHC: chunk k: ...");
 * out of memory and an abort leave the mesh undecoded. A call from the progress callback of
 * the decode in progress (the same thread) returns MCINR_ERR_ARGUMENT (an error-checking lock). */
mcinr_status mci_mesh_whole(const mcinr_model *m, size_t threads, mcinr_progress_fn progress, void *user_data,
                            double from, double to, char *err, size_t err_len);

/* Writes a formatted message into err (if non-NULL), always NUL-terminated. */
void mci_set_error(char *err, size_t err_len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
