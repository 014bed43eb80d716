/* LZMA's binary range decoder (docs/mci-format.md, "Range coder (coder 1)"): the one C copy,
 * used by the RESIDUAL streams (residual.c) and the MESHC chunks (mesh_codec.c). Probabilities
 * are u16 values of a 0 in units of 2^-11, adapted by 1/32 of the distance; a fixed bit has
 * probability 1/2 and is never updated. */
#ifndef MCI_RANGE_DECODER_H
#define MCI_RANGE_DECODER_H

#include <stddef.h>
#include <stdint.h>

#define MCI_RC_INIT_BYTES 5u
#define MCI_RC_TOP ((uint32_t)1 << 24)
#define MCI_RC_PROB_BITS 11
#define MCI_RC_PROB_INIT 1024u
#define MCI_RC_MOVE_BITS 5

typedef struct mci_rc {
    const uint8_t *src;
    size_t len, pos;
    uint32_t range, code;
} mci_rc;

/* Starts decoding src[0 .. len-1]: NULL, or what is wrong (fewer than 5 bytes, first byte not 0). */
static inline const char *mci_rc_start(mci_rc *rc, const uint8_t *src, size_t len) {
    if (len < MCI_RC_INIT_BYTES) return "the range-coded stream has fewer than 5 bytes";
    if (src[0] != 0) return "the range-coded stream's first byte is not 0";
    rc->src = src;
    rc->len = len;
    rc->pos = MCI_RC_INIT_BYTES;
    rc->range = 0xFFFFFFFFu;
    rc->code = 0;
    for (unsigned b = 1; b < MCI_RC_INIT_BYTES; b++) rc->code = rc->code << 8 | src[b];
    return NULL;
}

/* One bit with the adaptive probability *p: 0 or 1, or -1 when the normalisation would read
 * past the end of the stream. A corrupt stream can leave code >= range; the unsigned
 * arithmetic then stays defined and the stream fails some later check. */
static inline int mci_rc_bit(mci_rc *rc, uint16_t *p) {
    uint32_t bound = (rc->range >> MCI_RC_PROB_BITS) * *p;
    int bit;
    if (rc->code < bound) {
        rc->range = bound;
        *p = (uint16_t)(*p + (((1u << MCI_RC_PROB_BITS) - *p) >> MCI_RC_MOVE_BITS));
        bit = 0;
    } else {
        rc->code -= bound;
        rc->range -= bound;
        *p = (uint16_t)(*p - (*p >> MCI_RC_MOVE_BITS));
        bit = 1;
    }
    if (rc->range < MCI_RC_TOP) {
        if (rc->pos >= rc->len) return -1;
        rc->range <<= 8;
        rc->code = rc->code << 8 | rc->src[rc->pos++];
    }
    return bit;
}

/* A fixed bit: probability 1/2, never updated (mci_rc_bit with p = 1024, without branching on
 * the bit: half of these bits go each way, so a branch would be mispredicted half the time). */
static inline int mci_rc_fixed(mci_rc *rc) {
    uint32_t bound = (rc->range >> MCI_RC_PROB_BITS) * MCI_RC_PROB_INIT;
    uint32_t bit = rc->code >= bound, mask = 0u - bit;
    rc->code -= bound & mask;
    rc->range = (bound & ~mask) | ((rc->range - bound) & mask);
    if (rc->range < MCI_RC_TOP) {
        if (rc->pos >= rc->len) return -1;
        rc->range <<= 8;
        rc->code = rc->code << 8 | rc->src[rc->pos++];
    }
    return (int)bit;
}

#endif
