/*
 * mcinr.h — the C decoder of .mci files (MC-INR models of unstructured simulation data).
 *
 * Needs: C99, POSIX threads (the decode workers), zlib (compressed sections, MESH), zstd
 * (RESIDUAL streams) and libm. No printing, no exit/abort. Global state: one process-wide value,
 * the instruction-set level of the numeric kernels (CShim/kernels: 0 baseline, 1 AVX2+FMA,
 * 2 AVX-512F), detected from the CPU on first use and lowered only by mcinr_kernels_limit_level
 * (tests and benchmarks; not part of this API); the level can change the last bits of decoded
 * values. Everything else belongs to one model handle or to one call.
 * Every function that can fail returns an mcinr_status; where a caller passes `err`/`err_len`,
 * a readable message (NUL-terminated, truncated to err_len) is written there on failure. `err`
 * may be NULL.
 *
 * Messages from mcinr_open_* start with the file path ("memory buffer" for
 * mcinr_open_memory), then the section and what is wrong; indices in them (network, module,
 * branch, node, variable) count from 0.
 *
 * Threading: a model is immutable after mcinr_open_*; any number of threads may call the
 * query and decode functions on one model concurrently. mcinr_close must not race them.
 * Reproducibility: a point's decoded values depend only on the model, its coordinates and the
 * time: not on num_threads, nor on the other points of the call or their order (the products
 * are the decoder's own kernel, CShim/kernels, which sums each value in one fixed order; an
 * sgemm would not: OpenBLAS sums a row by another edge kernel depending on its position in the
 * call). So a piece of the mesh (mcinr_piece_decode) or a subset of the points gets the values
 * of a whole decode bit for bit. The values can differ in the last bits between machines
 * (the kernels run at the CPU's instruction-set level).
 *
 * The file format is specified in docs/mci-format.md.
 */
#ifndef MCINR_H
#define MCINR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Library version. mcinr_version() returns MCINR_VERSION_STRING of the library actually linked,
 * which a caller may compare with the macros of the header it was compiled with.
 * 1.1.0 added (a 1.0.0 caller keeps working): mcinr_open_file_ex / mcinr_open_memory_ex (options
 * with trust_large_files, progress and abort at open), MCINR_ERR_LIMIT and the limits for
 * untrusted files, the mesh chunk API (mcinr_mesh_num_chunks, _chunk_sizes, _chunk, _bytes,
 * _coding, _decode; MESHC, format 1.3) and mcinr_cell_point_count; an open now refuses malformed cells;
 * the pieces API for parallel readers (mcinr_piece_build and its getters, mcinr_piece_decode,
 * mcinr_decode_mesh_points).
 * 1.2.0 reads format 1.4: the linear residual predictor (RESIDUAL predictor bit 3).
 * 1.3.0 reads format 1.5: the MESHX index of a MESHC mesh (mcinr_mesh_index), with which a
 * piece's ghost levels decode only the chunks near it.
 * 1.4.0: the products are the decoder's own kernel instead of a CBLAS sgemm (no BLAS needed), so
 * a point's values never depend on the other points decoded with it (values change in the last
 * bits against 1.3.0); a piece without ghost levels decodes only its own chunks, and
 * mcinr_decode_mesh_points and mcinr_piece_decode evaluate the networks at the requested points
 * only.
 * 1.5.0 reads format 1.6: the plane residual predictor (RESIDUAL predictor bit 4), and adds
 * mcinr_residual_plane_weights for writers.
 * 1.6.0 reads format 1.7: the blend residual predictor (RESIDUAL predictor bit 5).
 * 1.7.0 reads format 1.8: the quadratic residual predictor (RESIDUAL predictor bit 6), and adds
 * mcinr_residual_quadratic_support for writers; decodes keep each component's prediction chain
 * (the next stored step reads one stream).
 * 1.8.0: an open checks the RESIDUAL table and each stream is checked when a decode first reads
 * it (a malformed one fails that decode with MCINR_ERR_FORMAT); options->validate_residual
 * validates every chain at open as before.
 * 1.8.1: at a stored step, a component whose RESIDUAL stream quantises the data (predictor bit 2)
 * is decoded without evaluating its network branch (its values come from the residual alone;
 * the same values, less work: no network at all when every requested component is such).
 * 1.8.2: an open of an error-bounded file decodes neither a MESHC mesh nor the residual's mesh
 * neighbour lists and predictor supports: the first decode at the mesh points (or
 * mcinr_mesh_decode, which now prepares both) builds them; options->validate_residual still
 * does all of it at open.
 * 1.9.0 reads format 1.9: the anchor (RESIDUAL predictor bit 7: a linear stream's third level is
 * the next block's first step, which a decode of such a step reconstructs too, once per chain).
 * 1.10.0 reads format 1.10: the NEIGHBOURS section (type 11: the residual's earlier-neighbour
 * lists shorter than K extended one neighbour step); mcinr_residual_neighbours for writers.
 * 1.11.0 reads format 1.11: RESIDUAL coder 2 (the range coder with counted 15-bit probabilities,
 * occupancy and sign contexts). */
#define MCINR_VERSION_MAJOR 1
#define MCINR_VERSION_MINOR 11
#define MCINR_VERSION_PATCH 0
#define MCINR_VERSION_STRING "1.11.0"
/* major·10000 + minor·100 + patch, for `#if MCINR_VERSION_NUMBER >= 10000` */
#define MCINR_VERSION_NUMBER (MCINR_VERSION_MAJOR * 10000 + MCINR_VERSION_MINOR * 100 + MCINR_VERSION_PATCH)

/* The .mci format versions this decoder reads. */
#define MCINR_FORMAT_MAJOR 1
#define MCINR_FORMAT_MINOR 11 /* the newest minor whose features it knows; it opens any minor of its major */

typedef enum mcinr_status {
    MCINR_OK = 0,
    MCINR_ERR_IO = 1,         /* file cannot be opened or read */
    MCINR_ERR_FORMAT = 2,     /* not an .mci file, or malformed content (truncated, bad sizes) */
    MCINR_ERR_VERSION = 3,    /* unsupported major version, unknown required section/encoding,
                                 a retired section type (6) */
    MCINR_ERR_CHECKSUM = 4,   /* a section's CRC-32 does not match */
    MCINR_ERR_NOMEM = 5,      /* allocation failed */
    MCINR_ERR_ARGUMENT = 6,   /* invalid argument (NULL pointer, index out of range, ...) */
    MCINR_ERR_NO_MESH = 7,    /* the file has no embedded mesh */
    MCINR_ERR_ABORTED = 8,    /* the progress callback asked to stop */
    MCINR_ERR_LIMIT = 9       /* the file asks for more memory or work than the limits for a file
                                 of its size allow (docs/mci-format.md, "Limits"); a trusted file
                                 opens with options.trust_large_files = 1 */
} mcinr_status;

/* Opaque, immutable model handle. */
typedef struct mcinr_model mcinr_model;

/* Library version string, MCINR_VERSION_STRING of the library ("1.5.0"). Static storage. */
const char *mcinr_version(void);

/* Short static description of a status code ("checksum mismatch", ...). Never NULL. */
const char *mcinr_status_string(mcinr_status status);

/* Open a model from a file path. On success *out receives a handle to free with mcinr_close.
 * On failure *out is set to NULL and a message naming the file and the problem is written
 * to err. Same as mcinr_open_file_ex with default options (limits for untrusted files, no
 * progress). The path must be a regular file or a pipe (read to its end): a device (e.g. a
 * link to /dev/zero, which never ends) or a folder gives MCINR_ERR_IO before anything is read. */
mcinr_status mcinr_open_file(const char *path, mcinr_model **out, char *err, size_t err_len);

/* Open a model from a memory buffer of `size` bytes. The buffer is copied as needed; the
 * caller may free it after the call returns. Same as mcinr_open_memory_ex with default options. */
mcinr_status mcinr_open_memory(const void *data, size_t size, mcinr_model **out,
                               char *err, size_t err_len);

/* Free a model. NULL is allowed. */
void mcinr_close(mcinr_model *model);

/* ---- Queries (never fail on a valid handle; out-of-range indices give 0 / NULL) ---- */

/* Format version of the opened file. */
void mcinr_format_version(const mcinr_model *model, uint16_t *major, uint16_t *minor);

/* Variables: names (UTF-8, NUL-terminated, owned by the model) and component counts. */
size_t mcinr_num_variables(const mcinr_model *model);
const char *mcinr_variable_name(const mcinr_model *model, size_t variable);
size_t mcinr_variable_components(const mcinr_model *model, size_t variable);
/* Index of the variable's first scalar component among all components. */
size_t mcinr_variable_first_component(const mcinr_model *model, size_t variable);

/* Scalar components, ordered variable by variable. */
size_t mcinr_num_components(const mcinr_model *model);
/* Global value range of a component (over all stored time steps). Returns MCINR_ERR_ARGUMENT
 * for an out-of-range index. */
mcinr_status mcinr_component_range(const mcinr_model *model, size_t component,
                                   double *min, double *max);

/* Stored time steps (strictly increasing); times points to model-owned storage. */
size_t mcinr_num_times(const mcinr_model *model);
const double *mcinr_times(const mcinr_model *model);

/* Coordinate bounding box of the training data (xyz). */
void mcinr_bounds(const mcinr_model *model, double bmin[3], double bmax[3]);

/* Time normalisation interval [tmin, tmax] (META time_min/time_max). Either pointer may be NULL. */
void mcinr_time_interval(const mcinr_model *model, double *tmin, double *tmax);

/* Point and cell counts of the training mesh as recorded in META (informational). */
uint64_t mcinr_training_num_points(const mcinr_model *model);
uint64_t mcinr_training_num_cells(const mcinr_model *model);

/* Cluster tree and networks. */
size_t mcinr_num_networks(const mcinr_model *model);
size_t mcinr_num_tree_nodes(const mcinr_model *model);
/* Number of weight bytes as stored: the tensors of all networks in their encodings (float32,
 * float16 or int8), excluding headers, scaled by the NETS compression when that section is
 * compressed (the paper's model size; docs/mci-format.md, NETS). */
uint64_t mcinr_weight_bytes(const mcinr_model *model);
/* Raw field bytes of the training data (N·T·C·4), for the compression ratio. */
uint64_t mcinr_raw_field_bytes(const mcinr_model *model);

/* The JSON metadata section (method, architecture, training summary, metrics), or "{}" if
 * the file has none. NUL-terminated, owned by the model. */
const char *mcinr_metadata_json(const mcinr_model *model);

/* Number of top-level clusters (tree nodes 0 … num_top−1). */
size_t mcinr_num_tree_top(const mcinr_model *model);

/* One node of the cluster tree: centroid (normalised coordinates), parent, children and leaf
 * network (−1 where absent), as stored. Any output pointer may be NULL. Returns
 * MCINR_ERR_ARGUMENT for an out-of-range node. */
mcinr_status mcinr_tree_node(const mcinr_model *model, size_t node, double centroid[3], int32_t *parent,
                             int32_t *child0, int32_t *child1, int32_t *network);

/* Index of the leaf network that a point (in original coordinates) is routed to. */
size_t mcinr_route(const mcinr_model *model, const double xyz[3]);

/* The SEAM section's blend margin in normalised coordinates (1.3, docs/mci-format.md "SEAM"):
 * the width of the band around each boundary between networks where the decoder blends the
 * two; 0 when the file has none (every point decoded by its own network). */
double mcinr_seam_margin(const mcinr_model *model);

/* ---- Embedded mesh ---- */

int mcinr_has_mesh(const mcinr_model *model);       /* 1 if a MESH section is present */
size_t mcinr_mesh_num_points(const mcinr_model *model);
size_t mcinr_mesh_num_cells(const mcinr_model *model);
size_t mcinr_mesh_connectivity_size(const mcinr_model *model);
/* Precision the mesh points are stored with: 1 = float32, 2 = float64; 0 without a mesh.
 * mcinr_mesh_points always returns doubles. */
int mcinr_mesh_point_type(const mcinr_model *model);

/* Copy the mesh points (3 per point, xyz interleaved) into `xyz` (capacity 3·num_points).
 * MCINR_ERR_NO_MESH without a mesh. A MESHC mesh is decoded on the first call that needs it
 * (see mcinr_mesh_decode): then also MCINR_ERR_FORMAT (a malformed chunk) or MCINR_ERR_NOMEM,
 * whose message mcinr_mesh_decode returns. */
mcinr_status mcinr_mesh_points(const mcinr_model *model, double *xyz);

/* Copy the cells: `types` (num_cells), `offsets` (num_cells + 1, VTK style: offsets[0] = 0,
 * cell i uses connectivity[offsets[i] .. offsets[i+1]) ), `connectivity`
 * (connectivity_size). Any pointer may be NULL to skip that array. Errors as mcinr_mesh_points. */
mcinr_status mcinr_mesh_cells(const mcinr_model *model, uint8_t *types, int64_t *offsets,
                              int64_t *connectivity);

/* ---- Decoding ---- */

/* Progress callback: called from the calling thread with a fraction in [0, 1]; return
 * non-zero to abort the decode (the call then returns MCINR_ERR_ABORTED). */
typedef int (*mcinr_progress_fn)(void *user_data, double fraction);

/* Decode options. Versioned by size: call mcinr_decode_options_init first, then set what you
 * need. The decoder reads only the fields that lie within `struct_size` bytes, so a caller
 * compiled against an older (smaller) header keeps working: the fields it does not have take
 * their defaults; fields a newer (larger) header adds are ignored by an older library. */
typedef struct mcinr_decode_options {
    size_t struct_size;          /* sizeof(mcinr_decode_options) of the caller's header; set by mcinr_decode_options_init */
    int num_threads;             /* worker threads; <= 0 means 1 */
    mcinr_progress_fn progress;  /* may be NULL */
    void *user_data;             /* passed to progress */
    int network_only;            /* 0: add the stored residual at stored times; 1: the network alone */
    int trust_large_files;       /* open only: 0 (default) enforces the limits for untrusted files,
                                    1 lifts them (see mcinr_open_file_ex) */
    int validate_residual;       /* open only (1.8.0): 1 reconstructs every RESIDUAL chain at open, so
                                    every format error of the file shows there; 0 (default) checks
                                    the RESIDUAL table at open and each stream when a decode first
                                    reads it (see mcinr_open_file_ex) */
} mcinr_decode_options;

/* Sets every field to its default (1 thread, no progress callback, residual applied, limits
 * for untrusted files enforced, residual streams checked when first decoded) and
 * struct_size to sizeof(mcinr_decode_options). NULL is allowed (does nothing).
 * Passing options == NULL to a decode function means the same defaults. A struct whose
 * struct_size is 0 (e.g. only zeroed with memset) or too small to hold num_threads is
 * rejected with MCINR_ERR_ARGUMENT. */
void mcinr_decode_options_init(mcinr_decode_options *options);

/* Open a model (a file path, or `size` bytes of memory, copied as needed) with options; NULL
 * options mean the defaults. On success *out receives a handle to free with mcinr_close; on
 * failure *out is NULL and err says which file, which section and what is wrong.
 *
 * Limits (docs/mci-format.md, "Limits"): by default an open is safe on a hostile file: with S
 * the file's size in bytes, the memory it allocates is at most 64·S + 16 MiB, its work (bytes
 * inflated, residual values validated, neighbour-list work) at most 4096·S + 2^24 units, the
 * cluster tree has at most 4096 top-level nodes and depth 64, and whatever exceeds them fails
 * with MCINR_ERR_LIMIT and a message naming the section, the limit and this option. A file
 * from a trusted source that legitimately needs more (e.g. a mesh that compresses unusually
 * well) opens with options->trust_large_files = 1, which lifts these limits but keeps every
 * format check (sizes against the bytes present, zlib's maximum expansion, no nested
 * compression, the 8-step prediction chains).
 *
 * What the open checks of a RESIDUAL (error-bounded mode): its header and stream table
 * (predictors, coders, sizes, linear weights, chains), and, against the limits, what decoding
 * every stream will cost. Its streams' codes and indices are checked when a decode first reads
 * them, as a MESHC mesh's chunks are: a malformed stream makes that mcinr_decode_mesh fail with
 * MCINR_ERR_FORMAT and a message naming the file, step, component and point, and the same again
 * at every decode that reads it. options->validate_residual = 1 reconstructs every chain at
 * open instead (the behaviour before 1.8.0; what `mcinr-vtk info` does), so a file that opens
 * then decodes at every stored step; the writer of mcinr-vtk decodes every step of every file
 * it writes, so its files never fail later. Since 1.8.2 the open does not decode a MESHC mesh
 * for the residual either, nor build the mesh neighbour lists, plane weights and quadratic
 * supports its predictors read (charged against the limits all the same): the first decode at
 * the mesh points, or mcinr_mesh_decode, builds them once (validate_residual: at open).
 *
 * Progress and abort as in mcinr_decode (the one pattern, mci_parallel_run): options->progress
 * is called from the calling thread with non-decreasing fractions in [0, 1] (after each
 * section's checksum, inflation and parse, and while the RESIDUAL chains are validated),
 * ending at 1.0 on success; a non-zero return stops the open with MCINR_ERR_ABORTED (nothing
 * is leaked, *out is NULL). options->num_threads threads validate the RESIDUAL chains (the
 * result, and whether the file opens, do not depend on it); network_only is ignored.
 * Errors: as mcinr_open_file / mcinr_open_memory, plus MCINR_ERR_LIMIT, MCINR_ERR_ABORTED, and
 * MCINR_ERR_ARGUMENT for options not set up by mcinr_decode_options_init. */
mcinr_status mcinr_open_file_ex(const char *path, const mcinr_decode_options *options, mcinr_model **out,
                                char *err, size_t err_len);
mcinr_status mcinr_open_memory_ex(const void *data, size_t size, const mcinr_decode_options *options,
                                  mcinr_model **out, char *err, size_t err_len);

/* Decode scalar components at `num_points` points (xyz interleaved, original coordinates)
 * at time `time` (any value; times between stored steps are decoded directly, the model is
 * continuous in time; outside the stored range the network extrapolates).
 * `components` lists `num_components` component indices (each < mcinr_num_components; repeats
 * allowed). With `components` NULL all C components are decoded in order, and
 * `num_components` must be 0 or C.
 * `out` receives num_points × num_components floats (C with `components` NULL), row-major
 * (point-major), de-normalised. `options` may be NULL.
 * Only the branches that produce a requested component are evaluated. Results do not depend
 * on num_threads (points are processed in fixed chunks). With num_threads > 1 the work runs
 * on that many new threads and the calling thread only waits, reports progress and passes on
 * an abort; the callback is only ever called from the calling thread, after each chunk of
 * points, with non-decreasing fractions ending at 1.0. options->network_only is ignored.
 * Errors: MCINR_ERR_ARGUMENT (NULL model/xyz/out, component out of range, options not set up
 * by mcinr_decode_options_init: struct_size 0 or too small), MCINR_ERR_NOMEM,
 * MCINR_ERR_ABORTED (the callback returned non-zero; `out` is then partly written). */
mcinr_status mcinr_decode(const mcinr_model *model, const double *xyz, size_t num_points,
                          double time, const size_t *components, size_t num_components,
                          float *out, const mcinr_decode_options *options,
                          char *err, size_t err_len);

/* Decode at every embedded mesh point (same layout as mcinr_decode with the mesh points).
 * MCINR_ERR_NO_MESH without a mesh.
 * In an error-bounded model (mcinr_has_residual), when `time` equals one of the stored times
 * exactly (one of the doubles mcinr_times returns, compared with ==), the stored residual is
 * added to each requested component unless options->network_only is set: every value is then
 * within mcinr_residual_max_error of the training data. Any other time gives the network alone.
 * A component whose stream at that step quantises the data itself (RESIDUAL predictor bit 2)
 * takes every value from the residual: its network branch is not evaluated (nor any network
 * when that holds for every requested component), the values being the same either way.
 * Threads, progress and abort as in mcinr_decode, over both phases: the network evaluation
 * reports the first part of [0, 1] (the part is the phases' estimated share of the work), the
 * residual step the rest, one call per requested component, so the fractions never decrease
 * and end at 1.0; an abort in either phase returns MCINR_ERR_ABORTED (`out` partly written).
 * The residual of a component does not depend on num_threads either.
 * A stored step's residual is predicted from the steps before it in its chain (up to 8 steps)
 * and, where its stream has the anchor bit (format 1.9), from the next block's first step, so
 * the model keeps, per component, the indices of the last step decoded, of the three before it
 * and of the anchor (4 bytes each per mesh point; at most 1 GiB per model, freed by mcinr_close): a
 * decode of the next stored step, or of the same one, then reads one step's residual instead
 * of the chain from its start, as a player stepping through time asks. The values do not
 * depend on the order of the calls. Errors as mcinr_decode, and MCINR_ERR_FORMAT when a residual
 * stream the step reads is malformed (unless the open validated every chain:
 * options->validate_residual of mcinr_open_file_ex; the message names the file, step, component
 * and point; `out` is then partly written, and the same call fails the same way again) or a
 * MESHC chunk is (mcinr_mesh_decode). */
mcinr_status mcinr_decode_mesh(const mcinr_model *model, double time,
                               const size_t *components, size_t num_components,
                               float *out, const mcinr_decode_options *options,
                               char *err, size_t err_len);

/* ---- Error-bounded models (RESIDUAL section, type 7, format 1.2; the retired type 6 is
 * rejected at open with MCINR_ERR_VERSION) ---- */

/* 1 if the model carries quantised residuals at its mesh points (always with a mesh). */
int mcinr_has_residual(const mcinr_model *model);

/* The absolute error bound E_c of a component: mcinr_decode_mesh at a stored time step (with
 * network_only 0) returns values within E_c of the data the model was trained on.
 * MCINR_ERR_ARGUMENT without a residual or for an out-of-range component. */
mcinr_status mcinr_residual_max_error(const mcinr_model *model, size_t component, double *max_error);

/* Bytes of the RESIDUAL section payload (0 without one), for honest compression ratios. */
uint64_t mcinr_residual_bytes(const mcinr_model *model);

/* 1 if mcinr_decode_mesh at `time` applies the residual (the model has one and `time` is
 * exactly a stored time), else 0. */
int mcinr_residual_applies(const mcinr_model *model, double time);

/* For writers of RESIDUAL sections (format 1.6): the plane predictor's Q16 weights
 * (docs/mci-format.md, "Plane weights"). xyz: the mesh points as the file stores them, 3 per
 * point (float32 points widened to double); for each point i its earlier neighbours Nb(i)
 * ascending in nb[nb_start[i] ... nb_start[i + 1] - 1] (at most 32); weights gets one entry per
 * entry of nb. A reader reconstructs the indices with exactly these integers. */
void mcinr_residual_plane_weights(const double *xyz, size_t num_points, const int64_t *nb_start, const int32_t *nb,
                                  int32_t *weights);

/* For writers of RESIDUAL sections (format 1.8): the quadratic predictor's supports and Q16
 * weights (docs/mci-format.md, "Quadratic support and weights"), from the same points and Nb as
 * mcinr_residual_plane_weights. Point i's support is q_ids[q_start[i] ... q_start[i + 1] - 1]
 * (ascending, at most 24; none where the quadratic does not apply) with q_weights alike; q_start
 * has num_points + 1 entries, q_ids and q_weights room for 24 per point. 0, or -1 when out of
 * memory. */
int mcinr_residual_quadratic_support(const double *xyz, size_t num_points, const int64_t *nb_start, const int32_t *nb,
                                     int64_t *q_start, int32_t *q_ids, int32_t *q_weights);

/* For writers of RESIDUAL sections: the earlier-neighbour lists Nb (least 0) or, with a
 * NEIGHBOURS section (format 1.10), Nb′ (least 1 ... 32: lists of fewer entries extended one
 * neighbour step; docs/mci-format.md, "Neighbours", "NEIGHBOURS") of a mesh of num_points points
 * and num_cells cells (cell_offsets: num_cells + 1 entries from 0, connectivity: point ids below
 * num_points), as the decoder builds them. nb_start gets num_points + 1 entries, nb room for 32
 * per point; the plane weights and quadratic supports are computed over these lists. 0, or -1
 * when out of memory. */
int mcinr_residual_neighbours(size_t num_points, size_t num_cells, const int64_t *cell_offsets,
                              const int64_t *connectivity, uint32_t least, int64_t *nb_start, int32_t *nb);

/* ---- Mesh chunks (MESHC section, type 8, format 1.3; docs/mci-format.md "MESHC") ----
 * A MESHC mesh is stored in chunks that decode independently: each holds some cells and every
 * point they use (a point used by cells of several chunks is in each of them), with its global
 * id (its index in mcinr_mesh_points). A file with a MESH section (type 5) has one chunk, the
 * whole mesh. The whole-mesh queries above work for both (they decode every chunk once, on
 * first use: mcinr_mesh_decode).
 * Cell order: the mesh queries list the cells chunk by chunk, in each chunk's coded order
 * (tets first, then the other cells), not in the order of the mesh the writer was given. */

/* Decodes the whole mesh now, if it is not yet. An open validates a MESHC section's header and
 * chunk table (and charges what decoding it will take against the limits) but decodes no chunk;
 * the whole mesh is decoded once, on the first call that needs it (mcinr_mesh_points,
 * mcinr_mesh_cells, mcinr_decode_mesh, mcinr_decode_mesh_points, or an open with
 * options->validate_residual whose file has a RESIDUAL), every chunk as a task on the open's
 * num_threads threads; mcinr_mesh_chunk decodes
 * its chunk only. Call this first to choose the threads (options->num_threads; NULL options:
 * the open's) and to get progress, abort and the message of an error. A MESH (type 5) file is decoded at open: this
 * returns MCINR_OK at once, as for a mesh already decoded. With a RESIDUAL (library 1.8.2) it
 * then also builds what the residual's decode derives from the mesh, once (its neighbour lists,
 * plane weights and quadratic supports: otherwise on the first decode at the mesh points), with
 * progress over the second half of [0, 1]. Thread-safe: concurrent callers on
 * one model wait for one decode; a whole-mesh request from the progress callback of that decode
 * (the same thread) fails with MCINR_ERR_ARGUMENT instead of waiting for itself. Memory: the whole mesh (about 33 bytes per tet) plus one chunk's scratch per
 * thread. Errors: MCINR_ERR_ARGUMENT (NULL model, options not set up), MCINR_ERR_NO_MESH,
 * MCINR_ERR_FORMAT (a malformed chunk, a point in no chunk or with other coordinates in another
 * chunk, a cell the .mci readers refuse: the message names the file, the chunk and what is
 * wrong; final: later calls return it again), MCINR_ERR_NOMEM, MCINR_ERR_ABORTED (nothing kept:
 * a later call decodes again), MCINR_ERR_ARGUMENT (called from its own progress callback). */
mcinr_status mcinr_mesh_decode(const mcinr_model *model, const mcinr_decode_options *options, char *err,
                               size_t err_len);

/* Number of chunks: 0 without a mesh, 1 for MESH (type 5), the chunk count for MESHC. */
size_t mcinr_mesh_num_chunks(const mcinr_model *model);

/* The sizes of chunk `chunk`: its points, cells and connectivity entries (each pointer may be
 * NULL). MCINR_ERR_NO_MESH without a mesh; MCINR_ERR_ARGUMENT for a chunk out of range. */
mcinr_status mcinr_mesh_chunk_sizes(const mcinr_model *model, size_t chunk, size_t *num_points,
                                    size_t *num_cells, size_t *connectivity_size);

/* Decodes chunk `chunk` into caller-owned arrays sized by mcinr_mesh_chunk_sizes (any may be
 * NULL to skip it): point_ids[num_points] global point ids, xyz[3 num_points] their
 * coordinates (bit-exact as stored), types[num_cells] VTK cell types, offsets[num_cells + 1]
 * VTK style (offsets[0] = 0), connectivity[connectivity_size] as indices into this chunk's
 * points (0 ... num_points - 1). Memory: proportional to the chunk, not to the mesh: about 40
 * bytes per tet of scratch (freed before returning) when every array is given (the decode uses
 * them as workspace), more for each that is NULL. After an error the arrays hold partial values. Thread-safe: any number of chunks may be
 * decoded at once from one model. The chunk's stream and cells are checked as it is decoded
 * (the open checks the chunk table only); the checks across chunks (every point listed, the
 * same coordinates in every chunk that lists a point) are made by a whole-mesh decode.
 * MCINR_ERR_NO_MESH, MCINR_ERR_ARGUMENT (chunk out of range), MCINR_ERR_FORMAT (a malformed
 * chunk: the message names the file and the chunk), MCINR_ERR_NOMEM, with a message in err. */
mcinr_status mcinr_mesh_chunk(const mcinr_model *model, size_t chunk, int64_t *point_ids, double *xyz,
                              uint8_t *types, int64_t *offsets, int64_t *connectivity, char *err,
                              size_t err_len);

/* Stored bytes of the mesh section (MESH or MESHC payload; 0 without a mesh). */
uint64_t mcinr_mesh_bytes(const mcinr_model *model);

/* The mesh section's type: 5 (MESH, one zlib stream), 8 (MESHC, chunks), 0 without a mesh. */
int mcinr_mesh_coding(const mcinr_model *model);

/* Whether the MESHC mesh has a MESHX index (format 1.5: a box grid over the points and the boxes
 * each chunk's points lie in, so a piece's ghost levels decode only the chunks near it): 1 and
 * the boxes per axis in boxes[0..2] (may be NULL), else 0. */
int mcinr_mesh_index(const mcinr_model *model, size_t boxes[3]);

/* ---- Pieces: a part of the mesh and its values, for parallel readers (CShim/src/pieces.c) ----
 * Piece p of n (every rank of a parallel reader asks for its own, computed from p and n alone):
 * with K = mcinr_mesh_num_chunks ≥ n, the cells of the contiguous chunks
 * [⌊K p / n⌋, ⌊K (p+1) / n⌋) (balanced groups of chunks, compact regions); with K < n (a MESH
 * file has K = 1, or a small MESHC), the cells whose index in the whole mesh's cell order
 * (mcinr_mesh_cells) lies in [⌊M p / n⌋, ⌊M (p+1) / n⌋), M the cell count (a MESH file holds
 * its whole mesh in memory from the open: only MESHC pieces keep memory per rank down). A piece
 * lists every point its cells use, in
 * increasing global id (the index in mcinr_mesh_points), plus the points no cell uses that are
 * listed by a chunk whose last cell it owns (so every point is in some piece). */

/* Decodes scalar components at `num_ids` embedded mesh points given by their global ids
 * (`point_ids[i]` in 0 … mcinr_mesh_num_points − 1, each at most once), at time `time`: `out`
 * receives num_ids × num_components floats (C with `components` NULL), row i for point_ids[i]. The
 * values are mcinr_decode_mesh's bit for bit (the residual included at stored times, unless
 * options->network_only): the networks run on the requested points only, and a point's values
 * never depend on the points evaluated with it (*evaluated, if not NULL, receives the points the
 * networks ran on: num_ids, twice for points in a seam; 0 at a stored step where every requested
 * component's stream quantises the data, which needs no network). The residual's
 * prediction chains run over every mesh point: at a stored time each requested component's chain
 * is reconstructed whole (work and about 24 bytes × mesh points per thread, as in
 * mcinr_decode_mesh), then applied to the requested points. Memory besides: 4 bytes per mesh
 * point, and, for a MESHC model, the whole mesh, decoded on first use (mcinr_mesh_decode) for the
 * points' coordinates (mcinr_piece_decode needs only its piece's). Threads, progress and abort as
 * in mcinr_decode_mesh.
 * Errors: MCINR_ERR_ARGUMENT (NULL model, point_ids or out with num_ids > 0, a point id out of
 * range or listed twice (the message names it), a component out of range, num_ids ≥ 2^32 − 1,
 * options not set up), MCINR_ERR_NO_MESH, MCINR_ERR_NOMEM, MCINR_ERR_ABORTED. */
mcinr_status mcinr_decode_mesh_points(const mcinr_model *model, double time, const int64_t *point_ids,
                                      size_t num_ids, const size_t *components, size_t num_components,
                                      float *out, const mcinr_decode_options *options, size_t *evaluated,
                                      char *err, size_t err_len);

/* A piece of the mesh (opaque; owns its arrays; immutable once built, but for
 * mcinr_piece_free_cells). */
typedef struct mcinr_piece mcinr_piece;

/* Builds piece `piece` of `num_pieces` (0 ≤ piece < num_pieces ≤ 2^31) with `ghost_levels`
 * (0 … 255) layers of ghost cells: level l holds the cells of other pieces that share a point
 * with the piece's own cells or with the cells of levels < l. A MESHC piece decodes its own
 * chunks (each lists every point its cells use, with its coordinates: without ghost levels
 * nothing else is read), then for each ghost level the other chunks that may hold one of its
 * cells (with a MESHX index the chunks sharing a box with a chunk that gave the piece a cell,
 * else every other chunk), never the whole mesh at once: its memory is the piece, one chunk per
 * thread and bitmaps of N/8 bytes over the mesh points. A MESH file's
 * piece is cut from the whole mesh, which the open decoded. Cells: the own cells first, in the
 * order of mcinr_mesh_cells, then the ghost cells level by level in that order. A point no cell
 * uses goes with the chunk that lists it (for a MESH file: the last one).
 * With ghost_levels ≥ 1 every point that another piece also lists and owns is marked
 * duplicate: a point belongs to the lowest piece whose own cells use it (a lone point to the
 * piece that lists it), so the points not marked duplicate over all pieces are every mesh point
 * exactly once. options: num_threads chunks decode at once, progress and abort as in
 * mcinr_decode_mesh (NULL: defaults). On success *out receives a piece to free with
 * mcinr_piece_free. Errors: MCINR_ERR_ARGUMENT (NULL model or out, piece ≥ num_pieces,
 * num_pieces 0 or > 2^31, ghost_levels outside 0 … 255), MCINR_ERR_NO_MESH, MCINR_ERR_NOMEM,
 * MCINR_ERR_ABORTED, MCINR_ERR_FORMAT for a point that two of the chunks it reads list with other
 * coordinates (the message names it; what only the whole mesh shows, e.g. a point no chunk lists,
 * is refused by mcinr_mesh_decode, not here), and the errors of mcinr_mesh_chunk, with a message
 * in err. */
mcinr_status mcinr_piece_build(const mcinr_model *model, size_t piece, size_t num_pieces, int ghost_levels,
                               const mcinr_decode_options *options, mcinr_piece **out, char *err, size_t err_len);
void mcinr_piece_free(mcinr_piece *piece); /* NULL is allowed */

/* Sizes: points, cells (own + ghost), own cells, connectivity entries (0 for NULL). */
size_t mcinr_piece_num_points(const mcinr_piece *piece);
size_t mcinr_piece_num_cells(const mcinr_piece *piece);
size_t mcinr_piece_num_own_cells(const mcinr_piece *piece);
size_t mcinr_piece_connectivity_size(const mcinr_piece *piece);
/* The piece's arrays, owned by it (NULL for an empty array or a NULL piece): point_ids
 * (num_points, increasing global ids), points (3 num_points, xyz, bit-exact as stored),
 * cell_types (num_cells, VTK types), offsets (num_cells + 1, VTK style), connectivity
 * (indices into the piece's points), cell_ghost_levels (num_cells: 0 own, l ≥ 1 a ghost cell of
 * level l), point_duplicate (num_points: 1 for a point another piece owns, see above; all 0
 * without ghost levels). */
const int64_t *mcinr_piece_point_ids(const mcinr_piece *piece);
const double *mcinr_piece_points(const mcinr_piece *piece);
const uint8_t *mcinr_piece_cell_types(const mcinr_piece *piece);
const int64_t *mcinr_piece_offsets(const mcinr_piece *piece);
const int64_t *mcinr_piece_connectivity(const mcinr_piece *piece);
const uint8_t *mcinr_piece_cell_ghost_levels(const mcinr_piece *piece);
const uint8_t *mcinr_piece_point_duplicate(const mcinr_piece *piece);
/* What building it read: chunks of the piece's own cells, and the other chunks' decodes (for the
 * ghost levels, a chunk once per level; 0 without ghost levels). Either pointer may be NULL. */
void mcinr_piece_decoded_chunks(const mcinr_piece *piece, size_t *own_chunks, size_t *other_chunk_decodes);

/* The values at the piece's points (row i for mcinr_piece_point_ids[i]), as
 * mcinr_decode_mesh_points with those ids (the same bits), but at the piece's own coordinates:
 * a MESHC model's whole mesh is not decoded (except by the open of a file with a RESIDUAL, whose
 * chains need the mesh; at its stored times the residual is applied as there). `model` must be the one the piece was built from.
 * Threads, progress, abort and errors as mcinr_decode_mesh_points; MCINR_ERR_ARGUMENT also for a
 * NULL piece or a piece of another model. Safe to call from several threads on one piece. */
mcinr_status mcinr_piece_decode(const mcinr_piece *piece, const mcinr_model *model, double time,
                                const size_t *components, size_t num_components, float *out,
                                const mcinr_decode_options *options, size_t *evaluated, char *err,
                                size_t err_len);

/* Frees the piece's cell arrays (types, offsets, connectivity, ghost levels; their getters then
 * return NULL and the cell counts 0), keeping its points and what mcinr_piece_decode needs: for a
 * caller that has copied the cells. Not concurrently with other calls on the same piece. */
void mcinr_piece_free_cells(mcinr_piece *piece);

/* Point count of a cell of VTK type `type` in a .mci mesh: the exact count, or 0 for the
 * variable-size types (poly-vertex, poly-line, strip, polygon) with the minimum in *min_points
 * (may be NULL); -1 for a type readers do not support (polyhedra, higher-order Lagrange cells). */
int mcinr_cell_point_count(unsigned char type, int *min_points);

#ifdef __cplusplus
}
#endif

#endif /* MCINR_H */
