/* MESHX section (type 10, format 1.5): the index of a MESHC mesh (mesh_index.c;
 * docs/mci-format.md, "MESHX"): a grid of boxes over the points and, per chunk, the boxes its
 * points lie in. With it a piece's ghost levels read only the chunks that share a box with the
 * chunks that gave the piece a cell (pieces.c). */
#ifndef MCI_MESH_INDEX_H
#define MCI_MESH_INDEX_H

#include "mcinr_internal.h"

#define MCI_MESHX_MAX_AXIS_BOXES 1024u
#define MCI_MESHX_MAX_BOXES ((uint32_t)1 << 20)

struct mci_meshx {
    uint32_t G[3];      /* boxes per axis */
    double *splits[3];  /* G[a] − 1 strictly increasing values per axis (into one allocation) */
    size_t num_chunks;
    uint32_t *box_start; /* chunk k's boxes: boxes[box_start[k] ... box_start[k + 1]), increasing */
    uint32_t *boxes;
};

/* Validates the payload against the model's MESHC (parsed before) and keeps it in m->meshx;
 * MCINR_OK, or a status and "<name>: section MESHX: <what>" in err. */
mcinr_status mci_parse_meshx(const char *name, const uint8_t *payload, size_t len, mcinr_model *m,
                             const mci_open_ctx *oc, char *err, size_t err_len);
void mci_free_meshx(mcinr_model *m);

/* Total boxes, and the box of a point: per axis the number of splits ≤ the coordinate (exact
 * comparisons), box = bx + G_x · (by + G_y · bz). */
uint32_t mci_meshx_num_boxes(const struct mci_meshx *x);
uint32_t mci_meshx_box(const struct mci_meshx *x, const double p[3]);

/* Whether chunk k lists box b (a chunk decode checks that every point of the chunk lies in one
 * of its boxes). */
int mci_meshx_chunk_has_box(const struct mci_meshx *x, size_t k, uint32_t b);
/* Whether one of chunk k's boxes is marked (marked: one byte per box). */
int mci_meshx_chunk_touches(const struct mci_meshx *x, size_t k, const uint8_t *marked);
/* Marks chunk k's boxes. */
void mci_meshx_mark_chunk(const struct mci_meshx *x, size_t k, uint8_t *marked);

#endif
