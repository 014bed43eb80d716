/* Internal hooks of pieces.c (decoding at a subset of the mesh points) into decode.c and
 * residual.c; not part of the public API. */
#ifndef MCINR_PIECES_H
#define MCINR_PIECES_H

#include "mcinr_internal.h"

/* row_of[i] of a point that is not wanted. */
#define MCI_NO_ROW ((uint32_t)0xFFFFFFFFu)

/* mcinr_decode_mesh at the mesh points' coordinates xyz (3 per point, as mcinr_mesh_points gives
 * them; NULL: the model's whole mesh, decoded now if it is not yet), writing the values of mesh
 * point i to row row_of[i] of out (row_of NULL:
 * row i; MCI_NO_ROW: not decoded). The networks run on exactly the batches of points a decode of
 * every point runs (decode.c's chunks of the mesh points — ranges of the points, or with a
 * MESHX index its boxes —, grouped by network, cut into batches), but only on the batches that
 * hold a wanted point, so each value equals mcinr_decode_mesh's bit for bit. With an index,
 * `have` (a bitmap over the point ids; NULL: every point) marks the points whose coordinates xyz
 * holds: it must include every mesh point of each box that holds a wanted point. *evaluated (may be NULL; only with row_of) receives the number of points the networks
 * ran on. The residual (stored times) is reconstructed whole, since its chains run over all the
 * mesh points, and applied to the wanted rows only. o: options already read (mci_read_options);
 * fn names the API function in messages. The model must have a mesh. */
mcinr_status mci_decode_mesh_rows(const char *fn, const mcinr_model *m, const double *xyz, const uint64_t *have,
                                  double time, const size_t *components, size_t num_components,
                                  const uint32_t *row_of, float *out, const mcinr_decode_options *o,
                                  size_t *evaluated, char *err, size_t err_len);

/* mci_apply_residual with row_of as above (NULL: every point, row i). */
mcinr_status mci_apply_residual_rows(const mcinr_model *m, double time, const size_t *components,
                                     size_t num_components, const uint32_t *row_of, float *out, size_t threads,
                                     mcinr_progress_fn progress, void *user_data, double from, double to, char *err,
                                     size_t err_len);

#endif
