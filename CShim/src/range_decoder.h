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

/* Chooses the sub-interval: 0 below bound (the range shrinks to it), else 1 above it. */
static inline int mci_rc_split(mci_rc *rc, uint32_t bound) {
    if (rc->code < bound) {
        rc->range = bound;
        return 0;
    }
    rc->code -= bound;
    rc->range -= bound;
    return 1;
}

/* Refills the range to at least 2^24: 0, or -1 when that would read past the end of the stream.
 * A loop because coder 2's 15-bit probabilities can leave the range under 2^16 (coder 1's 11-bit
 * ones never do: the loop then runs at most once). A corrupt stream can leave code >= range; the
 * unsigned arithmetic then stays defined and the stream fails some later check. */
static inline int mci_rc_normalise(mci_rc *rc) {
    while (rc->range < MCI_RC_TOP) {
        if (rc->pos >= rc->len) return -1;
        rc->range <<= 8;
        rc->code = rc->code << 8 | rc->src[rc->pos++];
    }
    return 0;
}

/* One bit with the adaptive probability *p: 0 or 1, or -1 past the end of the stream. */
static inline int mci_rc_bit(mci_rc *rc, uint16_t *p) {
    int bit = mci_rc_split(rc, (rc->range >> MCI_RC_PROB_BITS) * *p);
    if (bit) *p = (uint16_t)(*p - (*p >> MCI_RC_MOVE_BITS));
    else *p = (uint16_t)(*p + (((1u << MCI_RC_PROB_BITS) - *p) >> MCI_RC_MOVE_BITS));
    return mci_rc_normalise(rc) ? -1 : bit;
}

/* Coder 2 of RESIDUAL (format 1.11): probabilities in units of 2^-15, each with a count n of its
 * updates so far that sets the shift n + 1 (1 … 5): a table of thousands of contexts over a few
 * tens of thousands of values needs the fast start. p stays within 1 … 2^15 - 1, so a bit can
 * leave the range under 2^16: normalisation repeats (coder 1's 11-bit probabilities need one). */
#define MCI_RC2_PROB_BITS 15
#define MCI_RC2_PROB_INIT (1u << 14)
#define MCI_RC2_LAST_COUNT 4u

typedef struct mci_rc2_prob {
    uint16_t p;
    uint8_t n;
} mci_rc2_prob;

static inline int mci_rc2_bit(mci_rc *rc, mci_rc2_prob *q) {
    int bit = mci_rc_split(rc, (rc->range >> MCI_RC2_PROB_BITS) * q->p);
    unsigned shift = q->n + 1u;
    if (bit) q->p = (uint16_t)(q->p - (q->p >> shift));
    else q->p = (uint16_t)(q->p + (((1u << MCI_RC2_PROB_BITS) - q->p) >> shift));
    if (q->n < MCI_RC2_LAST_COUNT) q->n++;
    return mci_rc_normalise(rc) ? -1 : bit; /* twice after a bit of probability under 2^-8 */
}

/* A fixed bit: probability 1/2, never updated (an adaptive bit with p = 1/2 in units of
 * 2^-prob_bits, without branching on the bit: half of these bits go each way, so a branch would
 * be mispredicted half the time). The units matter: (range >> 11) << 10 and (range >> 15) << 14
 * differ in their low bits. */
static inline int mci_rc_fixed_in(mci_rc *rc, unsigned prob_bits) {
    uint32_t bound = (rc->range >> prob_bits) << (prob_bits - 1);
    uint32_t bit = rc->code >= bound, mask = 0u - bit;
    rc->code -= bound & mask;
    rc->range = (bound & ~mask) | ((rc->range - bound) & mask);
    return mci_rc_normalise(rc) ? -1 : (int)bit;
}

static inline int mci_rc_fixed(mci_rc *rc) { return mci_rc_fixed_in(rc, MCI_RC_PROB_BITS); }
static inline int mci_rc2_fixed(mci_rc *rc) { return mci_rc_fixed_in(rc, MCI_RC2_PROB_BITS); }

#endif
