/* Internal hooks of pieces.c (decoding at a subset of the mesh points) into decode.c and
 * residual.c; not part of the public API. */
#ifndef MCINR_PIECES_H
#define MCINR_PIECES_H

#include "mcinr_internal.h"

/* row_of[i] of a point that is not wanted. */
#define MCI_NO_ROW ((uint32_t)0xFFFFFFFFu)

/* mcinr_decode_mesh, writing the values of mesh point i to row row_of[i] of out (row_of NULL:
 * row i; MCI_NO_ROW: not decoded); only the wanted points are evaluated, and each value equals
 * mcinr_decode_mesh's bit for bit (a point's value never depends on the points evaluated with
 * it). *evaluated (may be NULL; only with row_of) receives the number of points the networks ran
 * on. The residual (stored times) is reconstructed whole, since its chains run over all the mesh
 * points, and applied to the wanted rows only. o: options already read (mci_read_options); fn
 * names the API function in messages. The model must have a mesh. */
mcinr_status mci_decode_mesh_rows(const char *fn, const mcinr_model *m, double time, const size_t *components,
                                  size_t num_components, const uint32_t *row_of, float *out,
                                  const mcinr_decode_options *o, size_t *evaluated, char *err, size_t err_len);

/* mcinr_decode with options already read and fn naming the API function in messages. */
mcinr_status mci_decode_points(const char *fn, const mcinr_model *m, const double *xyz, size_t num_points, double time,
                               const size_t *components, size_t num_components, float *out,
                               const mcinr_decode_options *o, char *err, size_t err_len);

/* mci_apply_residual with row_of as above (NULL: every point, row i). */
mcinr_status mci_apply_residual_rows(const mcinr_model *m, double time, const size_t *components,
                                     size_t num_components, const uint32_t *row_of, float *out, size_t threads,
                                     mcinr_progress_fn progress, void *user_data, double from, double to, char *err,
                                     size_t err_len);

#endif
