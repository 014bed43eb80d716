/* MESHC section (type 8, format 1.3): the mesh in independently decodable chunks
 * (mesh_codec.c; docs/mci-format.md, "MESHC"). */
#ifndef MCI_MESH_CODEC_H
#define MCI_MESH_CODEC_H

#include "mcinr_internal.h"

struct mci_meshx;

/* Validates the header and the chunk table (no chunk is decoded), sets the model's mesh counts
 * and point type, keeps a copy of the payload for mcinr_mesh_chunk and mci_mesh_whole (declared
 * in mcinr_internal.h), and charges the open's budget with what decoding the whole mesh will
 * take. MCINR_OK, or a status and "<name>: section MESHC: <what>" in err. */
mcinr_status mci_parse_meshc(const char *name, const uint8_t *payload, size_t len, mcinr_model *m,
                             const mci_open_ctx *oc, char *err, size_t err_len);
void mci_free_meshc(mcinr_model *m);
/* The MESHX index of the mesh (NULL: none): a chunk decode then checks that every point of
 * chunk k lies in one of the boxes the index lists for it (a format error otherwise). */
void mci_meshc_set_index(mcinr_model *m, const struct mci_meshx *index);
/* From the chunk table, without decoding: bounds on Σ s and Σ s (s − 1) / 2 over the cells of
 * s = 2 … 64 points (what building the residual's neighbour lists costs): each tet 4 and 6
 * exactly, each other cell's entries as if in cells of 64 points. */
void mci_meshc_incidence_bound(const mcinr_model *m, uint64_t *incidence, uint64_t *pairs);

#endif
