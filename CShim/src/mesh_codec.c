/* The MESHC section, type 8 (format 1.3, docs/mci-format.md "MESHC"): the embedded mesh in
 * chunks that decode independently. Each chunk is one range-coded stream: a face traversal of
 * its tetrahedra (a new tet is the neighbour across an open face, its apex a new point, one of
 * the candidates adjacent to the face or an explicit earlier point), the other cells by a
 * generic path, and every point the chunk uses with its global id and its coordinates, bit
 * exact, as the difference of ordered integers from a prediction (the face's reflection of
 * the opposite point, or the previous point).
 *
 * The open validates the header and the chunk table (sizes, offsets, counts, and what decoding
 * them will cost against the open's budget) and decodes nothing; the section's bytes stay in the
 * model. mcinr_mesh_chunk decodes one chunk with memory proportional to it; the first request
 * for the whole mesh (mci_mesh_whole: the mesh queries, a decode at the mesh points, a RESIDUAL
 * at open) decodes every chunk once, in parallel, into the whole-mesh arrays MESH type 5 fills,
 * under the model's lock. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L /* PTHREAD_MUTEX_ERRORCHECK */
#endif
#include "mcinr_internal.h"
#include "mesh_codec.h"
#include "mesh_index.h"
#include "range_decoder.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TET 10
#define HEADER_BYTES 48u
#define ENTRY_BYTES 40u
#define MAX_ADJ 64u           /* adj(v): the first 64 distinct points that share a tet with v */
#define CAND_CONTEXTS 16u
#define BUCKETS 9u
#define ITEMS_PER_BYTE 400u   /* points + tets + cells + cell entries <= 400 x stream bytes */
#define MAX_CHUNK_TETS ((uint64_t)1 << 19) /* so a tet's points have local ids < 2^21 */
#define MAX_CHUNK_POINTS ((uint64_t)0xFFFFFFFFu)

typedef struct meshc_chunk {
    uint64_t offset, size, points, tets, cells, cell_conn;
} meshc_chunk;

struct mci_meshc {
    uint8_t *data; /* the whole payload */
    size_t len;
    int width;     /* 32 or 64 */
    uint64_t N, M, conn_len;
    size_t num_chunks;
    meshc_chunk *chunk;
    uint64_t payload_bytes;
    const struct mci_meshx *index; /* MESHX: the boxes each chunk's points lie in; NULL without */
    /* the whole mesh, decoded on first use (mci_mesh_whole) */
    char *name;           /* the file, for messages */
    size_t threads;       /* the open's thread count, for an implicit decode */
    pthread_mutex_t lock; /* guards state, failed, message and the model's whole-mesh arrays */
    int state;            /* MESHC_PENDING, MESHC_DECODED or MESHC_FAILED (a format error: final) */
    mcinr_status failed;
    char message[512];
};

enum { MESHC_PENDING = 0, MESHC_DECODED = 1, MESHC_FAILED = 2 };

/* ---- models (every probability 1024 at the start of a chunk) ---- */

typedef struct int_model {
    uint16_t X[64], M[64][3], G;
} int_model;

typedef struct models {
    uint16_t face, start_new, gen_new, apex_new[4], cand[CAND_CONTEXTS];
    int_model expl, expl_gen, gid, size;
    int_model coord[2][3][BUCKETS]; /* [face-predicted, previous][axis][bucket] */
    uint16_t perm[3][32], type[256];
} models;

static void models_init(models *md) {
    uint16_t *p = (uint16_t *)(void *)md;
    for (size_t i = 0; i < sizeof *md / sizeof(uint16_t); i++) p[i] = MCI_RC_PROB_INIT;
}

typedef struct dec {
    mci_rc rc;
    int bad; /* read past the end */
} dec;

static int bit(dec *d, uint16_t *p) {
    int b = mci_rc_bit(&d->rc, p);
    if (b < 0) {
        d->bad = 1;
        return 0;
    }
    return b;
}

/* An unsigned integer: the unary exponent e (< 64), then e mantissa bits. 0 with *ok = 0 on
 * an exponent of 64 or past the end. */
static uint64_t get_uint(dec *d, int_model *mod, int *ok) {
    unsigned e = 0;
    while (bit(d, &mod->X[e])) {
        if (d->bad) break;
        if (++e == 64) {
            *ok = 0;
            return 0;
        }
    }
    uint64_t r = 0;
    for (unsigned b = 0; b < e; b++) {
        int v;
        if (b == 0) v = bit(d, &mod->M[e][0]);
        else if (b == 1) v = bit(d, &mod->M[e][1 + r]);
        else {
            v = mci_rc_fixed(&d->rc);
            if (v < 0) d->bad = 1, v = 0;
        }
        r = r << 1 | (uint64_t)v;
    }
    if (d->bad) *ok = 0;
    return ((uint64_t)1 << e) - 1 + r; /* <= 2^64 - 2 */
}

/* A signed integer: magnitude m, then a sign bit (1 negative) when m > 0. */
static uint64_t get_sint(dec *d, int_model *mod, int *negative, int *ok) {
    uint64_t m = get_uint(d, mod, ok);
    *negative = m && bit(d, &mod->G);
    if (d->bad) *ok = 0;
    return m;
}

static unsigned get_tree(dec *d, uint16_t *probs, unsigned bits) {
    unsigned node = 1;
    for (unsigned b = 0; b < bits; b++) node = node * 2 + (unsigned)bit(d, &probs[node]);
    return node - (1u << bits);
}

/* ---- coordinates ---- */

static int64_t ordered(uint64_t bits, int width) {
    if (width == 32) {
        uint32_t b = (uint32_t)bits;
        return b < 0x80000000u ? (int64_t)b : -1 - (int64_t)(b & 0x7FFFFFFFu);
    }
    return bits < ((uint64_t)1 << 63) ? (int64_t)bits : -1 - (int64_t)(bits & 0x7FFFFFFFFFFFFFFFull);
}

/* (ordered(pred) ± m) modulo 2^width, back to a bit pattern */
static uint64_t unordered_sum(int64_t o, uint64_t m, int negative, int width) {
    uint64_t u = (uint64_t)o + (negative ? (uint64_t)0 - m : m);
    if (width == 32) {
        uint32_t v = (uint32_t)u; /* as a 32-bit two's complement value */
        return v < 0x80000000u ? v : ((0xFFFFFFFFu - v) | 0x80000000u); /* -1 - v' with v' = v - 2^32 */
    }
    return u < ((uint64_t)1 << 63) ? u : ((~u) | ((uint64_t)1 << 63));
}

static int finite_bits(uint64_t b, int width) {
    return width == 32 ? ((b >> 23) & 0xFF) != 0xFF : ((b >> 52) & 0x7FF) != 0x7FF;
}

static double as_double(uint64_t b, int width) {
    if (width == 32) {
        uint32_t u = (uint32_t)b;
        float f;
        memcpy(&f, &u, sizeof f);
        return (double)f;
    }
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static unsigned bucket(uint64_t b, int width) {
    int e = width == 32 ? (int)((b >> 23) & 0xFF) - 119 : (int)((b >> 52) & 0x7FF) - 1015;
    return e < 0 ? 0 : e > (int)BUCKETS - 1 ? BUCKETS - 1 : (unsigned)e;
}

/* ((s + s) / 3) - o with s = (a + b) + c, in double (no multiplication, so no contraction),
 * rounded to the point type (overflow gives an infinity) */
static uint64_t face_prediction(uint64_t a, uint64_t b, uint64_t c, uint64_t o, int width) {
    double s = (as_double(a, width) + as_double(b, width)) + as_double(c, width);
    double p = (s + s) / 3.0 - as_double(o, width);
    if (width == 32) {
        float f = (float)p;
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        return u;
    }
    uint64_t u;
    memcpy(&u, &p, sizeof u);
    return u;
}

/* ---- one chunk ---- */

/* The face table: open addressing over 32-bit entries, 0 = an empty slot. An entry names its
 * face by the tet position that added it, ref = 4 tet + k + 1 (tets < 2^19, so ref <= 2^21):
 * the face is that tet's frame without position k. Bits 22-30 hold 9 bits of the face's hash
 * (a probe reads the tet's frame only when they match), bit 31 is set once a second tet has
 * the face (closed). */
#define FACE_CLOSED 0x80000000u
#define FACE_TAG 0x7FC00000u
#define FACE_REF 0x003FFFFFu
#define ADJ_BLOCK 8u      /* adj(v) in blocks of 8 entries: v's own, then blocks chained on demand */
#define QUEUE_FIRST 1024u /* the open faces' queue starts with room for 1024 and doubles when full */

/* Scratch and output of one chunk decode; every array sized from the chunk table. The points'
 * global ids, their coordinates and the tets' vertex orders may be decoded straight into the
 * caller's output arrays (mcinr_mesh_chunk), which then hold no copy of their own. */
typedef struct chunk_dec {
    const struct mci_meshc *mc;
    const meshc_chunk *ck;
    dec d;
    models md;
    int width;
    /* points */
    size_t n;            /* introduced so far */
    uint64_t *gid;       /* [points] */
    unsigned char *bits; /* [3 points] coordinates as bit patterns, 8 bytes each (bits_get,
                          * bits_set); doubles once the chunk is decoded (chunk_decode) */
    uint32_t *gid_set;   /* hash set of local ids by their global id, UINT32_MAX = empty;
                          * capacity gid_mask + 1 */
    size_t gid_mask;
    /* tets */
    size_t t;
    uint64_t *tv;        /* [4 tets]: position i of tet t is frame[i] | orig[i] << 32 (local ids) */
    uint8_t *p;          /* parity of frame vs orig */
    uint32_t *faces;
    size_t face_mask;
    uint32_t *queue;     /* ring of the face table slots of the faces to visit (faces never move) */
    size_t queue_mask, q_head, q_tail; /* entries [q_head, q_tail), at index & queue_mask */
    /* adjacency: block v then its chain (adj_next; 0 ends it: block 0 is no one's next); only
     * tet points have adjacency (local ids < 4 t), so blocks <= 8 min(4 t, points) */
    uint32_t *adj;       /* [ADJ_BLOCK blocks] */
    uint32_t *adj_next;  /* [blocks] */
    size_t adj_used;
    uint8_t *adj_deg;
    uint32_t *stamp; /* candidates' marks */
    uint32_t stamp_now;
    uint32_t order[3 * MAX_ADJ], cands[3 * MAX_ADJ];
    /* generic cells */
    uint8_t *types;      /* [cells] */
    uint64_t *cell_end;  /* [cells] end offsets in cell_vert */
    uint32_t *cell_vert; /* [cell_conn] */
    int own_gid, own_bits, own_tv; /* allocated here, not the caller's */
    const char *why;
    char msg[320];
} chunk_dec;

static size_t pow2_at_least(uint64_t v) {
    size_t c = 16;
    while (c < v) c <<= 1;
    return c;
}

/* Scratch bytes of a chunk decode at most (for the open's budget): the point, tet and
 * adjacency arrays as if none were the caller's, the face table, the queue at its largest
 * (while it doubles). */
static uint64_t chunk_scratch_bytes(const meshc_chunk *k) {
    uint64_t n = k->points, t = k->tets, na = 4 * t < n ? 4 * t : n;
    uint64_t faces = pow2_at_least(4 * t), gids = pow2_at_least(2 * n + 16);
    return n * (8 + 24 + 1 + 4) + gids * 4 + t * (32 + 1) + faces * 4 + (faces + faces / 2 + QUEUE_FIRST) * 4 +
           na * (MAX_ADJ / ADJ_BLOCK) * (ADJ_BLOCK * 4 + 4) + k->cells * 9 + k->cell_conn * 4 + sizeof(chunk_dec);
}

static void chunk_free(chunk_dec *c) {
    if (c->own_gid) free(c->gid);
    if (c->own_bits) free(c->bits);
    if (c->own_tv) free(c->tv);
    free(c->gid_set);
    free(c->p);
    free(c->faces);
    free(c->queue);
    free(c->adj);
    free(c->adj_next);
    free(c->adj_deg);
    free(c->stamp);
    free(c->types);
    free(c->cell_end);
    free(c->cell_vert);
}

static void *alloc0(uint64_t count, size_t size) {
    if (count == 0) count = 1;
    if (count > SIZE_MAX / size) return NULL;
    return calloc((size_t)count, size);
}

/* `point_ids`, `xyz`, `connectivity`: the caller's arrays to decode into (sized by the chunk
 * table), or NULL for arrays of its own. Arrays that are filled in order or sparsely (the
 * adjacency blocks) are left unwritten (malloc): memory is used as they fill. */
static int chunk_alloc(chunk_dec *c, int64_t *point_ids, double *xyz, int64_t *connectivity) {
    const meshc_chunk *k = c->ck;
    uint64_t n = k->points, t = k->tets;
    /* a tet adds at most 4 faces, so while tet i adds its faces the table holds at most
     * 4 i + 3 < 4 t of them: a probe always meets an empty slot. A tet mesh has about 2
     * faces per tet, a load of about 1/2 (a chunk of 65536 tets: 1 MiB) */
    c->face_mask = pow2_at_least(4 * t) - 1;
    c->gid_mask = pow2_at_least(2 * n + 16) - 1;
    c->own_gid = !point_ids;
    c->own_bits = !xyz;
    c->own_tv = !connectivity;
    c->gid = point_ids ? (uint64_t *)(void *)point_ids : alloc0(n, sizeof *c->gid);
    c->bits = xyz ? (unsigned char *)(void *)xyz : alloc0(3 * n, sizeof(uint64_t));
    c->tv = connectivity ? (uint64_t *)(void *)connectivity : alloc0(4 * t, sizeof *c->tv);
    c->gid_set = malloc((c->gid_mask + 1) * sizeof *c->gid_set);
    c->p = alloc0(t, 1);
    c->faces = alloc0(c->face_mask + 1, sizeof *c->faces);
    size_t queue = c->face_mask + 1 < QUEUE_FIRST ? c->face_mask + 1 : QUEUE_FIRST;
    c->queue = malloc(queue * sizeof *c->queue);
    c->queue_mask = queue - 1;
    uint64_t na = 4 * t < n ? 4 * t : n, blocks = na * (MAX_ADJ / ADJ_BLOCK);
    c->adj = malloc((blocks ? blocks : 1) * ADJ_BLOCK * sizeof *c->adj);
    c->adj_next = malloc((blocks ? blocks : 1) * sizeof *c->adj_next);
    c->adj_used = (size_t)na;
    c->adj_deg = alloc0(n, 1);
    c->stamp = alloc0(n, sizeof *c->stamp);
    c->types = alloc0(k->cells, 1);
    c->cell_end = alloc0(k->cells, sizeof *c->cell_end);
    c->cell_vert = alloc0(k->cell_conn, sizeof *c->cell_vert);
    if (!c->gid || !c->bits || !c->tv || !c->gid_set || !c->p || !c->faces || !c->queue || !c->adj || !c->adj_next ||
        !c->adj_deg || !c->stamp || !c->types || !c->cell_end || !c->cell_vert)
        return -1;
    memset(c->gid_set, 0xFF, (c->gid_mask + 1) * sizeof *c->gid_set);
    return 0;
}

static uint64_t bits_get(const chunk_dec *c, size_t i) {
    uint64_t v;
    memcpy(&v, c->bits + 8 * i, sizeof v);
    return v;
}

static void bits_set(chunk_dec *c, size_t i, uint64_t v) { memcpy(c->bits + 8 * i, &v, sizeof v); }

#define FAIL(...) (snprintf(c->msg, sizeof c->msg, __VA_ARGS__), c->why = c->msg, -1)
#define PAST_END() FAIL("the stream ends early (the range coder reads past its end)")
#define NO_MEMORY() (c->why = NULL, -2)

static uint64_t hash3(uint32_t a, uint32_t b, uint32_t c) {
    uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ull ^ (uint64_t)b * 0xC2B2AE3D27D4EB4Full ^
                 (uint64_t)c * 0x165667B19E3779F9ull;
    return h ^ (h >> 29);
}

static void sort3(uint32_t *a, uint32_t *b, uint32_t *c) {
    uint32_t t;
    if (*a > *b) t = *a, *a = *b, *b = t;
    if (*b > *c) t = *b, *b = *c, *c = t;
    if (*a > *b) t = *a, *a = *b, *b = t;
}

/* Where the probes for face v (sorted) start, and its tag. The faces of one smallest point
 * share a window of 16 slots: the traversal visits the faces of recent points, so probes stay
 * in cache. */
static size_t face_home(const chunk_dec *c, const uint32_t v[3], uint32_t *tag) {
    uint64_t h = hash3(v[0], v[1], v[2]);
    *tag = (uint32_t)(h >> 10) & FACE_TAG;
    return ((size_t)v[0] * 16u + (size_t)(h >> 60)) & c->face_mask;
}

/* Whether table entry `entry` is face v (sorted). */
static int face_is(const chunk_dec *c, uint32_t entry, const uint32_t v[3]) {
    size_t e = (size_t)(entry & FACE_REF) - 1, t = e >> 2, k = e & 3u;
    uint32_t w[3];
    for (size_t j = 0, n = 0; j < 4; j++)
        if (j != k) w[n++] = (uint32_t)c->tv[4 * t + j];
    sort3(&w[0], &w[1], &w[2]);
    return w[0] == v[0] && w[1] == v[1] && w[2] == v[2];
}

/* The slot of face v (sorted): 0 (empty) if new, else its entry; *tag: its tag. */
static uint32_t *face_find(chunk_dec *c, const uint32_t v[3], uint32_t *tag_out) {
    uint32_t tag;
    size_t i = face_home(c, v, &tag);
    *tag_out = tag;
    for (;;) {
        uint32_t *s = &c->faces[i];
        if (*s == 0 || ((*s & FACE_TAG) == tag && face_is(c, *s, v))) return s;
        i = (i + 1) & c->face_mask;
    }
}

/* Queues a face table slot; the ring doubles when full (it holds at most the 4 t faces). */
static int queue_push(chunk_dec *c, uint32_t slot) {
    if (c->q_tail - c->q_head > c->queue_mask) {
        size_t cap = c->queue_mask + 1, live = c->q_tail - c->q_head;
        uint32_t *q = malloc(2 * cap * sizeof *q);
        if (!q) return -1;
        for (size_t i = 0; i < live; i++) q[i] = c->queue[(c->q_head + i) & c->queue_mask];
        free(c->queue);
        c->queue = q;
        c->queue_mask = 2 * cap - 1;
        c->q_head = 0;
        c->q_tail = live;
    }
    c->queue[c->q_tail++ & c->queue_mask] = slot;
    return 0;
}

/* Puts x at position `at` (0 ... ADJ_BLOCK) of block b, the last of adj(v): at ADJ_BLOCK, in a
 * new block chained to it. */
static void adj_put(chunk_dec *c, size_t b, unsigned at, uint32_t v, uint32_t x) {
    if (at == ADJ_BLOCK) { /* adj(v) has fewer than MAX_ADJ entries: a block of its 8 is free */
        size_t next = c->adj_used++;
        c->adj_next[b] = (uint32_t)next;
        b = next;
        at = 0;
    }
    c->adj[b * ADJ_BLOCK + at] = x;
    c->adj_deg[v]++;
}

/* Appends x to adj(v) unless it is there or adj(v) is full. The membership test reads each
 * block's entries without branching (the compiler vectorises it): most calls do not find x. */
static void adj_add(chunk_dec *c, uint32_t v, uint32_t x) {
    unsigned left = c->adj_deg[v];
    if (left >= MAX_ADJ) return;
    size_t b = v;
    for (;;) {
        const uint32_t *a = &c->adj[b * ADJ_BLOCK];
        unsigned m = left < ADJ_BLOCK ? left : ADJ_BLOCK, found = 0;
        for (unsigned i = 0; i < m; i++) found |= a[i] == x;
        if (found) return;
        if (left <= ADJ_BLOCK) break;
        left -= ADJ_BLOCK;
        b = c->adj_next[b];
    }
    adj_put(c, b, left, v, x);
}

/* Appends x, known not to be in adj(v) (a point new to the chunk). */
static void adj_append(chunk_dec *c, uint32_t v, uint32_t x) {
    unsigned left = c->adj_deg[v];
    if (left >= MAX_ADJ) return;
    size_t b = v;
    while (left > ADJ_BLOCK) {
        b = c->adj_next[b];
        left -= ADJ_BLOCK;
    }
    adj_put(c, b, left, v, x);
}

static unsigned parity4(const uint64_t *g) {
    unsigned inv = 0;
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++) inv += g[i] > g[j];
    return inv & 1u;
}

/* add(F, O) of the spec. `across` is the position k of F whose face is the popped open face
 * (a new tet across it; -1 for a component start) and `slot` that face's table slot;
 * `apex_new`: F[across] is a point new to the chunk. What the spec's general steps would find
 * is known there, so it is not searched for (the same faces, queue and adjacency result):
 *  - the face without position `across` is the popped one: it becomes closed;
 *  - the other faces hold the apex: new faces if the apex is new (inserted without a lookup);
 *  - the three face points were points of one tet already, so each is in the others' adj
 *    unless that adj was full then (and still is): only the apex's pairs can change adj, and
 *    a new apex is in no adj yet and has an empty one.
 * 0, or -2 out of memory (the queue could not grow). */
static int add_tet(chunk_dec *c, const uint32_t f[4], const uint32_t o[4], int across, uint32_t slot, int apex_new) {
    size_t t = c->t++;
    uint64_t gf[4], go[4];
    for (int i = 0; i < 4; i++) {
        c->tv[4 * t + (size_t)i] = (uint64_t)f[i] | (uint64_t)o[i] << 32;
        gf[i] = c->gid[f[i]];
        go[i] = c->gid[o[i]];
    }
    c->p[t] = (uint8_t)(parity4(gf) ^ parity4(go));
    for (int k = 0; k < 4; k++) {
        if (k == across) {
            c->faces[slot] |= FACE_CLOSED;
            continue;
        }
        uint32_t v[3];
        for (int j = 0, n = 0; j < 4; j++)
            if (j != k) v[n++] = f[j];
        sort3(&v[0], &v[1], &v[2]);
        uint32_t *s, tag;
        if (apex_new) { /* a new face: the first empty slot of its probe sequence */
            size_t i = face_home(c, v, &tag);
            while (c->faces[i]) i = (i + 1) & c->face_mask;
            s = &c->faces[i];
        } else {
            s = face_find(c, v, &tag);
        }
        if (*s == 0) { /* new: open, queued */
            *s = (uint32_t)(4 * t + (size_t)k + 1) | tag;
            if (queue_push(c, (uint32_t)(s - c->faces))) return -2;
        } else {
            *s |= FACE_CLOSED;
        }
    }
    if (across < 0) {
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                if (j != i) adj_add(c, f[i], f[j]);
        return 0;
    }
    uint32_t apex = f[across];
    for (int i = 0; i < 4; i++) {
        if (i == across) {
            for (int j = 0; j < 4; j++)
                if (j != across) {
                    if (apex_new) adj_append(c, apex, f[j]);
                    else adj_add(c, apex, f[j]);
                }
        } else if (apex_new) {
            adj_append(c, f[i], apex);
        } else {
            adj_add(c, f[i], apex);
        }
    }
    return 0;
}

/* The candidates for the apex across face k of tet t: points other than the face's and the
 * opposite one adjacent to all three face points, then to two, in order of first appearance
 * in adj(a), adj(b), adj(c). A point first seen in adj(c) occurs once, so adj(c) only counts
 * points already seen. mark[x] = now + (occurrences so far) for a point seen in this call,
 * now + 4 and up for the excluded ones (set first, so they are never listed); older values
 * are below now. */
static size_t candidates(chunk_dec *c, size_t t, int k) {
    uint32_t f[4];
    for (int j = 0; j < 4; j++) f[j] = (uint32_t)c->tv[4 * t + (size_t)j];
    uint32_t face[3];
    for (int j = 0, n = 0; j < 4; j++)
        if (j != k) face[n++] = f[j];
    uint32_t *mark = c->stamp;
    if (c->stamp_now > UINT32_MAX - 16) { /* about to wrap: clear the marks */
        memset(mark, 0, c->ck->points * sizeof *mark);
        c->stamp_now = 0;
    }
    uint32_t now = c->stamp_now += 8;
    mark[face[0]] = mark[face[1]] = mark[face[2]] = mark[f[k]] = now + 4;
    size_t no = 0;
    /* block by block, the marks and the order list without branches: whether a point is new to
     * the scan is data, not a pattern a branch predictor learns. order[no] is written for every
     * entry and kept by no += fresh (no < 2 MAX_ADJ: it has room) */
    for (int i = 0; i < 3; i++) {
        size_t b = face[i];
        unsigned left = c->adj_deg[face[i]];
        for (;;) {
            const uint32_t *blk = &c->adj[b * ADJ_BLOCK];
            unsigned m = left < ADJ_BLOCK ? left : ADJ_BLOCK;
            if (i < 2) {
                for (unsigned e = 0; e < m; e++) {
                    uint32_t x = blk[e], v = mark[x], fresh = v < now;
                    c->order[no] = x;
                    no += fresh;
                    mark[x] = (fresh ? now : v) + 1;
                }
            } else {
                for (unsigned e = 0; e < m; e++) {
                    uint32_t x = blk[e], v = mark[x];
                    mark[x] = v + (v >= now);
                }
            }
            if (left <= ADJ_BLOCK) break;
            left -= ADJ_BLOCK;
            b = c->adj_next[b];
        }
    }
    size_t n3 = 0, n2 = 0;
    uint32_t two[2 * MAX_ADJ];
    for (size_t i = 0; i < no; i++) {
        uint32_t x = c->order[i], count = mark[x] - now;
        if (count == 3) c->cands[n3++] = x;
        else if (count == 2) two[n2++] = x;
    }
    memcpy(&c->cands[n3], two, n2 * sizeof *two);
    return n3 + n2;
}

static int new_point(chunk_dec *c, const uint64_t pred[3], int kind, uint64_t ref, uint32_t *out) {
    if (c->n >= c->ck->points) return FAIL("more points than the chunk table's %llu", (unsigned long long)c->ck->points);
    int ok = 1, neg;
    uint64_t m = get_sint(&c->d, &c->md.gid, &neg, &ok);
    if (!ok) return c->d.bad ? PAST_END() : FAIL("a point id's exponent is 64");
    uint64_t N = c->mc->N, g;
    if (neg) {
        if (m > ref) return FAIL("point id %llu - %llu is negative", (unsigned long long)ref, (unsigned long long)m);
        g = ref - m;
    } else {
        if (m >= N - ref) return FAIL("point id %llu + %llu is not below the point count %llu", (unsigned long long)ref,
                                      (unsigned long long)m, (unsigned long long)N);
        g = ref + m;
    }
    size_t h = (size_t)(g * 0x9E3779B97F4A7C15ull >> 17) & c->gid_mask;
    while (c->gid_set[h] != UINT32_MAX) {
        if (c->gid[c->gid_set[h]] == g) return FAIL("point %llu occurs twice in the chunk", (unsigned long long)g);
        h = (h + 1) & c->gid_mask;
    }
    size_t i = c->n; /* < points <= 2^32 - 1: never UINT32_MAX */
    c->gid[i] = g;
    c->gid_set[h] = (uint32_t)i;
    for (int ax = 0; ax < 3; ax++) {
        m = get_sint(&c->d, &c->md.coord[kind][ax][bucket(pred[ax], c->width)], &neg, &ok);
        if (!ok) return c->d.bad ? PAST_END() : FAIL("a coordinate's exponent is 64");
        uint64_t b = unordered_sum(ordered(pred[ax], c->width), m, neg, c->width);
        if (!finite_bits(b, c->width))
            return FAIL("point %llu has a non-finite coordinate", (unsigned long long)g);
        bits_set(c, 3 * i + (size_t)ax, b);
    }
    c->n++;
    *out = (uint32_t)i;
    return 0;
}

static int new_point_prev(chunk_dec *c, uint32_t *out) {
    uint64_t pred[3] = {0, 0, 0};
    if (c->n)
        for (int ax = 0; ax < 3; ax++) pred[ax] = bits_get(c, 3 * (c->n - 1) + (size_t)ax);
    return new_point(c, pred, 1, c->n ? c->gid[c->n - 1] : 0, out);
}

static int existing(chunk_dec *c, int_model *mod, uint32_t *out) {
    int ok = 1;
    uint64_t v = get_uint(&c->d, mod, &ok);
    if (!ok) return c->d.bad ? PAST_END() : FAIL("a point reference's exponent is 64");
    if (v >= c->n) return FAIL("a reference to point %llu back, with %zu points so far", (unsigned long long)v, c->n);
    *out = (uint32_t)(c->n - 1 - v);
    return 0;
}

static int vertex(chunk_dec *c, uint16_t *flag, int_model *expl, uint32_t *out) {
    int b = bit(&c->d, flag);
    if (c->d.bad) return PAST_END();
    return b ? new_point_prev(c, out) : existing(c, expl, out);
}

static const uint8_t PERMS[24][4] = {
    {0, 1, 2, 3}, {0, 1, 3, 2}, {0, 2, 1, 3}, {0, 2, 3, 1}, {0, 3, 1, 2}, {0, 3, 2, 1},
    {1, 0, 2, 3}, {1, 0, 3, 2}, {1, 2, 0, 3}, {1, 2, 3, 0}, {1, 3, 0, 2}, {1, 3, 2, 0},
    {2, 0, 1, 3}, {2, 0, 3, 1}, {2, 1, 0, 3}, {2, 1, 3, 0}, {2, 3, 0, 1}, {2, 3, 1, 0},
    {3, 0, 1, 2}, {3, 0, 2, 1}, {3, 1, 0, 2}, {3, 1, 2, 0}, {3, 2, 0, 1}, {3, 2, 1, 0}};

/* Decodes chunk c->ck completely (allocated by chunk_alloc). 0, -1 with c->why (a format
 * error) or -2 (out of memory). */
static int chunk_run(chunk_dec *c) {
    const meshc_chunk *k = c->ck;
    const char *why = mci_rc_start(&c->d.rc, c->mc->data + k->offset, (size_t)k->size);
    if (why) return FAIL("%s", why);
    models_init(&c->md);
    while (c->t < k->tets) {
        if (c->q_head == c->q_tail) { /* a new component: four vertices */
            uint32_t v[4];
            for (int i = 0; i < 4; i++)
                if (vertex(c, &c->md.start_new, &c->md.expl, &v[i])) return -1;
            for (int i = 0; i < 4; i++)
                for (int j = i + 1; j < 4; j++)
                    if (v[i] == v[j]) return FAIL("tet %zu starts a component with a repeated point", c->t);
            if (add_tet(c, v, v, -1, 0, 0)) return NO_MEMORY();
            continue;
        }
        uint32_t slot = c->queue[c->q_head++ & c->queue_mask];
        uint32_t entry = c->faces[slot];
        if (entry & FACE_CLOSED) continue;
        size_t e = (size_t)(entry & FACE_REF) - 1, t = e >> 2; /* the tet position that queued it */
        int kk = (int)(e & 3u);
        uint32_t f[4], face[3];
        for (int j = 0; j < 4; j++) f[j] = (uint32_t)c->tv[4 * t + (size_t)j];
        for (int j = 0, n = 0; j < 4; j++)
            if (j != kk) face[n++] = f[j];
        int b = bit(&c->d, &c->md.face);
        if (c->d.bad) return PAST_END();
        if (!b) continue;
        size_t nc = candidates(c, t, kk);
        uint32_t apex;
        int apex_new = bit(&c->d, &c->md.apex_new[nc < 3 ? nc : 3]);
        if (c->d.bad) return PAST_END();
        if (apex_new) {
            uint64_t pred[3];
            for (int ax = 0; ax < 3; ax++)
                pred[ax] = face_prediction(bits_get(c, 3 * (size_t)face[0] + (size_t)ax),
                                           bits_get(c, 3 * (size_t)face[1] + (size_t)ax),
                                           bits_get(c, 3 * (size_t)face[2] + (size_t)ax),
                                           bits_get(c, 3 * (size_t)f[kk] + (size_t)ax), c->width);
            uint64_t ref = c->gid[face[0]];
            if (c->gid[face[1]] < ref) ref = c->gid[face[1]];
            if (c->gid[face[2]] < ref) ref = c->gid[face[2]];
            if (new_point(c, pred, 0, ref, &apex)) return -1;
        } else {
            size_t j = 0;
            while (j < nc) {
                b = bit(&c->d, &c->md.cand[j < CAND_CONTEXTS - 1 ? j : CAND_CONTEXTS - 1]);
                if (c->d.bad) return PAST_END();
                if (!b) break;
                j++;
            }
            if (j < nc) apex = c->cands[j];
            else if (existing(c, &c->md.expl, &apex)) return -1;
            if (apex == face[0] || apex == face[1] || apex == face[2])
                return FAIL("tet %zu: the apex is a point of its own face", c->t);
        }
        uint32_t nf[4] = {f[0], f[1], f[2], f[3]};
        nf[kk] = apex;
        uint64_t g[4];
        uint32_t S[4];
        for (int i = 0; i < 4; i++) S[i] = nf[i];
        for (int i = 1; i < 4; i++) /* sorted by global id */
            for (int j = i; j > 0 && c->gid[S[j - 1]] > c->gid[S[j]]; j--) {
                uint32_t tmp = S[j];
                S[j] = S[j - 1];
                S[j - 1] = tmp;
            }
        for (int i = 0; i < 4; i++) g[i] = c->gid[nf[i]];
        unsigned h = parity4(g) ^ c->p[t] ^ 1u;
        unsigned s = get_tree(&c->d, c->md.perm[h], 5);
        if (c->d.bad) return PAST_END();
        if (s >= 24) return FAIL("tet %zu has vertex-order symbol %u (allowed 0 ... 23)", c->t, s);
        uint32_t o[4] = {S[PERMS[s][0]], S[PERMS[s][1]], S[PERMS[s][2]], S[PERMS[s][3]]};
        if (add_tet(c, nf, o, kk, slot, apex_new)) return NO_MEMORY();
    }
    uint64_t total = 0;
    for (uint64_t i = 0; i < k->cells; i++) {
        unsigned type = get_tree(&c->d, c->md.type, 8);
        int ok = 1;
        uint64_t size = get_uint(&c->d, &c->md.size, &ok);
        if (!ok) return c->d.bad ? PAST_END() : FAIL("a cell size's exponent is 64");
        if (size > k->cell_conn - total)
            return FAIL("cell %llu ends beyond the chunk table's %llu cell entries", (unsigned long long)i,
                        (unsigned long long)k->cell_conn);
        for (uint64_t j = 0; j < size; j++)
            if (vertex(c, &c->md.gen_new, &c->md.expl_gen, &c->cell_vert[total + j])) return -1;
        /* the one cell rule (cells.c). The tets of the traversal need no check: type 10, four
         * points, distinct by construction (a component starts with four distinct points, an
         * apex is never a point of its face) and local ids are distinct points of the chunk */
        char why[200];
        if (mci_check_cell(k->tets + i, (unsigned char)type, &c->cell_vert[total], (size_t)size, k->points, why,
                           sizeof why))
            return FAIL("%s (its index in the chunk; point ids local to the chunk)", why);
        total += size;
        c->types[i] = (uint8_t)type;
        c->cell_end[i] = total;
    }
    if (total != k->cell_conn)
        return FAIL("the cells hold %llu entries, the chunk table says %llu", (unsigned long long)total,
                    (unsigned long long)k->cell_conn);
    while (c->n < k->points) {
        uint32_t ignored;
        if (new_point_prev(c, &ignored)) return -1;
    }
    if (c->d.rc.pos != c->d.rc.len)
        return FAIL("the stream has %zu bytes, %zu were read", c->d.rc.len, c->d.rc.pos);
    return 0;
}

/* Decodes chunk `index` into c (the caller's arrays where not NULL, see chunk_alloc). 0: the
 * points' coordinates are doubles (c->bits, in place), the tets' positions in c->tv; -1 with
 * c->why (a format error) or -2 (out of memory). Either way chunk_free(c) after. */
static int chunk_decode(const struct mci_meshc *mc, size_t index, chunk_dec *c, int64_t *point_ids, double *xyz,
                        int64_t *connectivity) {
    memset(c, 0, sizeof *c);
    c->mc = mc;
    c->ck = &mc->chunk[index];
    c->width = mc->width;
    if (chunk_alloc(c, point_ids, xyz, connectivity)) return NO_MEMORY();
    int r = chunk_run(c);
    if (r) return r;
    for (size_t i = 0; i < 3 * c->n; i++) {
        double v = as_double(bits_get(c, i), c->width);
        memcpy(c->bits + 8 * i, &v, sizeof v);
    }
    if (mc->index) { /* MESHX: a piece reader skips the chunks whose boxes it does not need */
        for (size_t i = 0; i < c->n; i++) {
            double p[3];
            memcpy(p, c->bits + 24 * i, sizeof p);
            uint32_t b = mci_meshx_box(mc->index, p);
            if (!mci_meshx_chunk_has_box(mc->index, index, b))
                return FAIL("point %llu (%g, %g, %g) lies in box %u, which the MESHX index does not list for the "
                            "chunk", (unsigned long long)c->gid[i], p[0], p[1], p[2], b);
        }
    }
    return 0;
}

void mci_meshc_set_index(mcinr_model *m, const struct mci_meshx *index) {
    if (m && m->meshc) m->meshc->index = index;
}
void mci_meshc_incidence_bound(const mcinr_model *m, uint64_t *incidence, uint64_t *pairs) {
    *incidence = *pairs = 0;
    for (size_t k = 0; m && m->meshc && k < m->meshc->num_chunks; k++) {
        const meshc_chunk *ck = &m->meshc->chunk[k];
        *incidence += 4 * ck->tets + ck->cell_conn;
        *pairs += 6 * ck->tets + ck->cell_conn * 63 / 2;
    }
}

/* ---- the section ---- */

#define SFAIL(status, ...)                                                                         \
    do {                                                                                           \
        char what_[400];                                                                           \
        snprintf(what_, sizeof what_, __VA_ARGS__);                                                \
        mci_set_error(err, err_len, "%s: section MESHC: %s", name, what_);                         \
        return status;                                                                             \
    } while (0)

static mcinr_status charge(const mci_open_ctx *oc, int memory, uint64_t amount, const char *what, const char *name,
                           char *err, size_t err_len) {
    char msg[600];
    if (!oc || mci_budget_charge(oc->budget, memory, amount, what, msg, sizeof msg) == 0) return MCINR_OK;
    mci_set_error(err, err_len, "%s: section MESHC: %s", name, msg);
    return MCINR_ERR_LIMIT;
}

/* One chunk's points as the whole-mesh decode keeps them until they are put at their ids. */
typedef struct chunk_points {
    size_t n;
    uint64_t *gid;
    double *xyz;
    char *why; /* the chunk's format error */
} chunk_points;

typedef struct whole_job {
    const struct mci_meshc *mc;
    uint8_t *types;
    int64_t *offsets;
    uint32_t *conn;
    chunk_points *res;
    uint64_t *cell_start, *entry_start; /* where chunk k's cells and entries go in the whole mesh */
} whole_job;

static mcinr_status whole_task(void *ctx, void *state, size_t k) {
    (void)state;
    whole_job *job = ctx;
    const struct mci_meshc *mc = job->mc;
    chunk_dec *c = malloc(sizeof *c);
    if (!c) return MCINR_ERR_NOMEM;
    int r = chunk_decode(mc, k, c, NULL, NULL, NULL);
    mcinr_status st = MCINR_OK;
    if (r == -2) {
        st = MCINR_ERR_NOMEM;
    } else if (r) {
        size_t n = strlen(c->why) + 1;
        job->res[k].why = malloc(n);
        if (job->res[k].why) memcpy(job->res[k].why, c->why, n);
        st = MCINR_ERR_FORMAT;
    } else {
        chunk_points *out = &job->res[k];
        out->n = c->n;
        out->gid = c->gid; /* taken over, and the coordinates (doubles in place) */
        out->xyz = (double *)(void *)c->bits;
        c->gid = NULL;
        c->bits = NULL;
        size_t cell = (size_t)job->cell_start[k], entry = (size_t)job->entry_start[k];
        for (size_t t = 0; t < c->t; t++) {
            job->types[cell] = TET;
            for (int i = 0; i < 4; i++) job->conn[entry++] = (uint32_t)out->gid[c->tv[4 * t + (size_t)i] >> 32];
            job->offsets[++cell] = (int64_t)entry;
        }
        uint64_t start = 0;
        for (uint64_t i = 0; i < mc->chunk[k].cells; i++) {
            job->types[cell] = c->types[i];
            for (uint64_t j = start; j < c->cell_end[i]; j++) job->conn[entry++] = (uint32_t)out->gid[c->cell_vert[j]];
            start = c->cell_end[i];
            job->offsets[++cell] = (int64_t)entry;
        }
    }
    chunk_free(c);
    free(c);
    return st;
}

/* Decodes every chunk (a task each on up to `threads` threads, mci_parallel_run, progress over
 * [from, to]) into new whole-mesh arrays, puts the points at their ids and checks that every
 * point is listed and that a point listed by several chunks has the same coordinate bits in
 * each; on success the arrays go to the model. The message (err) names the file, the section
 * and the chunk. */
static mcinr_status decode_whole(mcinr_model *m, size_t threads, mcinr_progress_fn progress, void *user_data,
                                 double from, double to, char *err, size_t err_len) {
    const struct mci_meshc *mc = m->meshc;
    const char *name = mc->name;
    size_t K = mc->num_chunks;
    uint64_t N = mc->N, M = mc->M, L = mc->conn_len;
    double *points = malloc((size_t)N * 3 * sizeof(double));
    uint8_t *defined = calloc((size_t)(N / 8 + 1), 1);
    whole_job job = {mc, malloc(M ? (size_t)M : 1), malloc(((size_t)M + 1) * sizeof(int64_t)),
                     malloc((L ? (size_t)L : 1) * sizeof(uint32_t)), calloc(K, sizeof(chunk_points)),
                     calloc(K + 1, sizeof(uint64_t)), calloc(K + 1, sizeof(uint64_t))};
    mcinr_status result = MCINR_OK;
    if (!points || !defined || !job.types || !job.offsets || !job.conn || !job.res || !job.cell_start ||
        !job.entry_start) {
        result = MCINR_ERR_NOMEM;
        mci_set_error(err, err_len, "%s: section MESHC: out of memory for %llu points and %llu cells", name,
                      (unsigned long long)N, (unsigned long long)M);
    } else {
        /* the chunks in parallel: each writes its cells into its own range of the whole-mesh
         * arrays and keeps its points; then, serially, the points are put at their ids */
        for (size_t k = 0; k < K; k++) {
            job.cell_start[k + 1] = job.cell_start[k] + mc->chunk[k].tets + mc->chunk[k].cells;
            job.entry_start[k + 1] = job.entry_start[k] + 4 * mc->chunk[k].tets + mc->chunk[k].cell_conn;
        }
        job.offsets[0] = 0;
        if (threads < 1) threads = 1;
        mci_parallel_for loop = {K, threads < K ? threads : K, &job, NULL, NULL, whole_task, progress, user_data,
                                 from, to};
        size_t failed = SIZE_MAX;
        result = mci_parallel_run(&loop, &failed);
        if (result == MCINR_ERR_ABORTED)
            mci_set_error(err, err_len, "%s: section MESHC: decoding the mesh aborted by the progress callback", name);
        else if (result != MCINR_OK && failed < K && job.res[failed].why)
            mci_set_error(err, err_len, "%s: section MESHC: chunk %zu: %s", name, failed, job.res[failed].why);
        else if (result != MCINR_OK)
            mci_set_error(err, err_len, "%s: section MESHC: out of memory decoding the chunks", name);
    }
    for (size_t k = 0; job.res && k < K; k++) {
        chunk_points *r = &job.res[k];
        for (size_t i = 0; i < r->n && result == MCINR_OK; i++) {
            uint64_t g = r->gid[i];
            double *xyz = &r->xyz[3 * i];
            if (defined[g / 8] & (1u << (g % 8))) {
                if (memcmp(xyz, &points[3 * g], 3 * sizeof(double)) != 0) {
                    result = MCINR_ERR_FORMAT;
                    mci_set_error(err, err_len, "%s: section MESHC: chunk %zu: point %llu has other coordinates "
                                  "than in an earlier chunk", name, k, (unsigned long long)g);
                }
            } else {
                defined[g / 8] |= (uint8_t)(1u << (g % 8));
                memcpy(&points[3 * g], xyz, 3 * sizeof(double));
            }
        }
        free(r->gid);
        free(r->xyz);
        free(r->why);
    }
    for (uint64_t g = 0; g < N && result == MCINR_OK; g++)
        if (!(defined[g / 8] & (1u << (g % 8)))) {
            result = MCINR_ERR_FORMAT;
            mci_set_error(err, err_len, "%s: section MESHC: point %llu is in no chunk", name, (unsigned long long)g);
        }
    free(defined);
    free(job.res);
    free(job.cell_start);
    free(job.entry_start);
    if (result != MCINR_OK) {
        free(points);
        free(job.types);
        free(job.offsets);
        free(job.conn);
        return result;
    }
    m->mesh_points = points;
    m->mesh_types = job.types;
    m->mesh_offsets = job.offsets;
    m->mesh_conn = job.conn;
    return MCINR_OK;
}

mcinr_status mci_mesh_whole(const mcinr_model *model, size_t threads, mcinr_progress_fn progress, void *user_data,
                            double from, double to, char *err, size_t err_len) {
    if (!model || !model->meshc) return MCINR_OK; /* no mesh, or MESH (type 5): decoded at open */
    mcinr_model *m = (mcinr_model *)model;       /* the lazily decoded arrays, under the lock */
    struct mci_meshc *mc = m->meshc;
    if (pthread_mutex_lock(&mc->lock) != 0) { /* EDEADLK: from a progress callback of this decode */
        mci_set_error(err, err_len, "%s: section MESHC: the whole mesh was asked for while it is being decoded on "
                      "this thread (from a progress callback?)", mc->name);
        return MCINR_ERR_ARGUMENT;
    }
    mcinr_status st;
    if (mc->state == MESHC_DECODED) {
        st = MCINR_OK;
    } else if (mc->state == MESHC_FAILED) {
        st = mc->failed;
        mci_set_error(err, err_len, "%s", mc->message);
    } else {
        st = decode_whole(m, threads ? threads : mc->threads, progress, user_data, from, to, mc->message,
                          sizeof mc->message);
        if (st == MCINR_OK) {
            mc->state = MESHC_DECODED;
        } else {
            mci_set_error(err, err_len, "%s", mc->message);
            if (st == MCINR_ERR_FORMAT) { /* the bytes do not change: the answer is final */
                mc->state = MESHC_FAILED;
                mc->failed = st;
            }
        }
    }
    pthread_mutex_unlock(&mc->lock);
    return st;
}

mcinr_status mcinr_mesh_decode(const mcinr_model *m, const mcinr_decode_options *options, char *err, size_t err_len) {
    if (!m) {
        mci_set_error(err, err_len, "mcinr_mesh_decode: `model` is NULL");
        return MCINR_ERR_ARGUMENT;
    }
    mcinr_decode_options o;
    mcinr_status s = mci_read_options(options, &o, "mcinr_mesh_decode", err, err_len);
    if (s != MCINR_OK) return s;
    if (!m->has_mesh) {
        mci_set_error(err, err_len, "mcinr_mesh_decode: the file has no embedded mesh");
        return MCINR_ERR_NO_MESH;
    }
    size_t threads = !options ? 0 : o.num_threads > 1 ? (size_t)o.num_threads : 1; /* NULL: the open's */
    /* and the residual's neighbour lists and supports, which a decode at the mesh points reads */
    double split = m->has_residual ? 0.5 : 1.0;
    s = mci_mesh_whole(m, threads, o.progress, o.user_data, 0.0, split, err, err_len);
    if (s == MCINR_OK) s = mci_residual_geometry(m, threads, o.progress, o.user_data, split, 1.0, err, err_len);
    if (s == MCINR_OK && o.progress && o.progress(o.user_data, 1.0)) {
        mci_set_error(err, err_len, "mcinr_mesh_decode: aborted by the progress callback");
        return MCINR_ERR_ABORTED;
    }
    return s;
}

mcinr_status mci_parse_meshc(const char *name, const uint8_t *payload, size_t len, mcinr_model *m,
                             const mci_open_ctx *oc, char *err, size_t err_len) {
    if (len < HEADER_BYTES) SFAIL(MCINR_ERR_FORMAT, "payload of %zu bytes is shorter than its 48-byte header", len);
    uint64_t N = mci_get_le(payload, 8), M = mci_get_le(payload + 16, 8), conn_len = mci_get_le(payload + 24, 8);
    unsigned ptype = payload[8];
    uint32_t K = (uint32_t)mci_get_le(payload + 32, 4);
    if (ptype != 1 && ptype != 2) SFAIL(MCINR_ERR_FORMAT, "unknown point type %u (1 = f32, 2 = f64)", ptype);
    if (mci_get_le(payload + 36, 4) != 0 || mci_get_le(payload + 40, 8) != 0) SFAIL(MCINR_ERR_FORMAT, "reserved header fields are not 0");
    if (K < 1 || K > (len - HEADER_BYTES) / ENTRY_BYTES)
        SFAIL(MCINR_ERR_FORMAT, "chunk count %u does not fit in the %zu bytes after the header (40 per chunk, at least 1)",
              K, len - HEADER_BYTES);
    size_t base = HEADER_BYTES + (size_t)K * ENTRY_BYTES, avail = len - base;
    if (N < 1) SFAIL(MCINR_ERR_FORMAT, "the mesh has no points");
    if (N > ((uint64_t)ITEMS_PER_BYTE * avail) || M > ((uint64_t)ITEMS_PER_BYTE * avail) ||
        conn_len > ((uint64_t)ITEMS_PER_BYTE * avail))
        SFAIL(MCINR_ERR_FORMAT, "%llu points, %llu cells and %llu connectivity entries cannot be coded in %zu bytes "
              "(at most %u items per byte)", (unsigned long long)N, (unsigned long long)M, (unsigned long long)conn_len,
              avail, ITEMS_PER_BYTE);
    size_t name_len = strlen(name) + 1;
    mcinr_status st = charge(oc, 1, sizeof(struct mci_meshc) + (uint64_t)K * sizeof(meshc_chunk) + len + name_len,
                             "the mesh chunk table", name, err, err_len);
    if (st != MCINR_OK) return st;
    struct mci_meshc *mc = calloc(1, sizeof *mc);
    if (!mc) SFAIL(MCINR_ERR_NOMEM, "out of memory");
    /* error-checking: a second lock from the thread that decodes (a progress callback asking
     * for the mesh) fails instead of deadlocking */
    pthread_mutexattr_t attr;
    int lock_ok = pthread_mutexattr_init(&attr) == 0;
    if (lock_ok) {
        lock_ok = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK) == 0 &&
                  pthread_mutex_init(&mc->lock, &attr) == 0;
        pthread_mutexattr_destroy(&attr);
    }
    if (!lock_ok) {
        free(mc);
        SFAIL(MCINR_ERR_NOMEM, "cannot create the mesh's lock");
    }
    m->meshc = mc;
    mc->chunk = calloc(K, sizeof *mc->chunk);
    mc->data = malloc(len);
    mc->name = malloc(name_len);
    if (!mc->chunk || !mc->data || !mc->name) SFAIL(MCINR_ERR_NOMEM, "out of memory for %u chunks", K);
    memcpy(mc->data, payload, len);
    memcpy(mc->name, name, name_len);
    mc->len = len;
    mc->width = ptype == 1 ? 32 : 64;
    mc->N = N, mc->M = M, mc->conn_len = conn_len;
    mc->num_chunks = K;
    mc->payload_bytes = len;
    mc->threads = oc && oc->threads > 1 ? oc->threads : 1;
    uint64_t offset = base, cells = 0, conn = 0, max_scratch = 0;
    for (uint32_t k = 0; k < K; k++) {
        const uint8_t *e = payload + HEADER_BYTES + (size_t)k * ENTRY_BYTES;
        meshc_chunk *ck = &mc->chunk[k];
        ck->size = mci_get_le(e, 8), ck->points = mci_get_le(e + 8, 8), ck->tets = mci_get_le(e + 16, 8), ck->cells = mci_get_le(e + 24, 8);
        ck->cell_conn = mci_get_le(e + 32, 8);
        ck->offset = offset;
        if (ck->size < MCI_RC_INIT_BYTES || ck->size > len - offset)
            SFAIL(MCINR_ERR_FORMAT, "chunk %u: stream of %llu bytes at offset %llu does not fit the %zu-byte payload "
                  "(at least 5 bytes)", k, (unsigned long long)ck->size, (unsigned long long)offset, len);
        offset += ck->size;
        /* every item costs at least one decoded bit, every bit at least 1/50 of a stream bit */
        uint64_t cap = ck->size * ITEMS_PER_BYTE;
        if (ck->points > cap || ck->tets > cap || ck->cells > cap || ck->cell_conn > cap ||
            ck->points + ck->tets + ck->cells + ck->cell_conn > cap)
            SFAIL(MCINR_ERR_FORMAT, "chunk %u: %llu points, %llu tets, %llu cells and %llu cell entries cannot be coded "
                  "in %llu bytes (at most %u items per byte)", k, (unsigned long long)ck->points,
                  (unsigned long long)ck->tets, (unsigned long long)ck->cells, (unsigned long long)ck->cell_conn,
                  (unsigned long long)ck->size, ITEMS_PER_BYTE);
        if (ck->points > N || ck->points > MAX_CHUNK_POINTS || ck->tets > MAX_CHUNK_TETS)
            SFAIL(MCINR_ERR_FORMAT, "chunk %u: %llu points (mesh %llu, at most 2^32 - 1) and %llu tets (at most 2^30)", k,
                  (unsigned long long)ck->points, (unsigned long long)N, (unsigned long long)ck->tets);
        if (ck->tets && ck->points < 4) SFAIL(MCINR_ERR_FORMAT, "chunk %u: tets with fewer than 4 points", k);
        cells += ck->tets + ck->cells;
        conn += 4 * ck->tets + ck->cell_conn;
        uint64_t s = chunk_scratch_bytes(ck);
        if (s > max_scratch) max_scratch = s;
    }
    if (offset != len)
        SFAIL(MCINR_ERR_FORMAT, "the chunk streams end at byte %llu of %zu", (unsigned long long)offset, len);
    if (cells != M || conn != conn_len)
        SFAIL(MCINR_ERR_FORMAT, "the chunks hold %llu cells with %llu connectivity entries, the header says %llu and %llu",
              (unsigned long long)cells, (unsigned long long)conn, (unsigned long long)M, (unsigned long long)conn_len);
    /* Nothing is decoded here (mci_mesh_whole decodes on first use, mcinr_mesh_chunk one chunk),
     * but what a whole decode will need is charged now, so a file whose mesh would exceed the
     * limits fails at open: the whole mesh as MESH type 5 holds it, one chunk's scratch per
     * worker, the chunks' points until they are placed, a bitmap of points. */
    uint64_t whole = N * 24 + M * 9 + 8 + conn_len * 4 + N / 8 + 1, listed = 0;
    for (uint32_t k = 0; k < K; k++) listed += mc->chunk[k].points;
    uint64_t workers = mc->threads < K ? mc->threads : K;
    if ((st = charge(oc, 1, whole + workers * max_scratch + listed * 32 + (uint64_t)K * 48, "decoding the mesh chunks",
                     name, err, err_len)) != MCINR_OK)
        return st;
    if ((st = charge(oc, 0, 16 * (N + M + conn_len), "decoding the mesh chunks", name, err, err_len)) != MCINR_OK)
        return st;
    m->mesh_num_points = (size_t)N;
    m->mesh_point_type = (int)ptype;
    m->mesh_num_cells = (size_t)M;
    m->mesh_conn_len = (size_t)conn_len;
    m->has_mesh = 1;
    return MCINR_OK;
}

void mci_free_meshc(mcinr_model *m) {
    if (!m || !m->meshc) return;
    pthread_mutex_destroy(&m->meshc->lock);
    free(m->meshc->data);
    free(m->meshc->chunk);
    free(m->meshc->name);
    free(m->meshc);
    m->meshc = NULL;
}

/* ---- public API ---- */

size_t mcinr_mesh_num_chunks(const mcinr_model *m) {
    if (!m || !m->has_mesh) return 0;
    return m->meshc ? m->meshc->num_chunks : 1;
}

mcinr_status mcinr_mesh_chunk_sizes(const mcinr_model *m, size_t chunk, size_t *num_points, size_t *num_cells,
                                    size_t *connectivity_size) {
    if (!m) return MCINR_ERR_ARGUMENT;
    if (!m->has_mesh) return MCINR_ERR_NO_MESH;
    if (chunk >= mcinr_mesh_num_chunks(m)) return MCINR_ERR_ARGUMENT;
    size_t p = m->mesh_num_points, c = m->mesh_num_cells, e = m->mesh_conn_len;
    if (m->meshc) {
        const meshc_chunk *k = &m->meshc->chunk[chunk];
        p = (size_t)k->points, c = (size_t)(k->tets + k->cells), e = (size_t)(4 * k->tets + k->cell_conn);
    }
    if (num_points) *num_points = p;
    if (num_cells) *num_cells = c;
    if (connectivity_size) *connectivity_size = e;
    return MCINR_OK;
}

mcinr_status mcinr_mesh_chunk(const mcinr_model *m, size_t chunk, int64_t *point_ids, double *xyz, uint8_t *types,
                              int64_t *offsets, int64_t *connectivity, char *err, size_t err_len) {
    if (!m) return MCINR_ERR_ARGUMENT;
    if (!m->has_mesh) return MCINR_ERR_NO_MESH;
    if (chunk >= mcinr_mesh_num_chunks(m)) {
        mci_set_error(err, err_len, "mcinr_mesh_chunk: chunk %zu of %zu", chunk, mcinr_mesh_num_chunks(m));
        return MCINR_ERR_ARGUMENT;
    }
    if (!m->meshc) { /* MESH type 5: one chunk, the whole mesh */
        for (size_t i = 0; i < m->mesh_num_points; i++) {
            if (point_ids) point_ids[i] = (int64_t)i;
        }
        if (xyz) memcpy(xyz, m->mesh_points, m->mesh_num_points * 3 * sizeof(double));
        if (types) memcpy(types, m->mesh_types, m->mesh_num_cells);
        if (offsets) memcpy(offsets, m->mesh_offsets, (m->mesh_num_cells + 1) * sizeof(int64_t));
        if (connectivity)
            for (size_t i = 0; i < m->mesh_conn_len; i++) connectivity[i] = m->mesh_conn[i];
        return MCINR_OK;
    }
    chunk_dec *c = malloc(sizeof *c);
    if (!c) return MCINR_ERR_NOMEM;
    /* the point ids, coordinates and tets are decoded in the caller's arrays (no copy here) */
    int r = chunk_decode(m->meshc, chunk, c, point_ids, xyz, connectivity);
    mcinr_status st = MCINR_OK;
    if (r == -2) {
        st = MCINR_ERR_NOMEM;
        mci_set_error(err, err_len, "mcinr_mesh_chunk: out of memory for chunk %zu", chunk);
    } else if (r) { /* the open checked the chunk table, not the streams */
        st = MCINR_ERR_FORMAT;
        mci_set_error(err, err_len, "%s: section MESHC: chunk %zu: %s", m->meshc->name, chunk, c->why);
    } else { /* point_ids and xyz hold their values; connectivity the tets' positions */
        size_t cell = 0, entry = 0;
        if (offsets) offsets[0] = 0;
        for (size_t t = 0; t < c->t; t++, cell++) {
            if (types) types[cell] = TET;
            for (int i = 0; i < 4; i++, entry++)
                if (connectivity) connectivity[entry] = (int64_t)(c->tv[entry] >> 32);
            if (offsets) offsets[cell + 1] = (int64_t)entry;
        }
        uint64_t start = 0;
        for (uint64_t i = 0; i < c->ck->cells; i++, cell++) {
            if (types) types[cell] = c->types[i];
            for (uint64_t j = start; j < c->cell_end[i]; j++, entry++)
                if (connectivity) connectivity[entry] = c->cell_vert[j];
            start = c->cell_end[i];
            if (offsets) offsets[cell + 1] = (int64_t)entry;
        }
    }
    chunk_free(c);
    free(c);
    return st;
}

uint64_t mcinr_mesh_bytes(const mcinr_model *m) { return m ? m->mesh_bytes : 0; }

int mcinr_mesh_coding(const mcinr_model *m) {
    if (!m || !m->has_mesh) return 0;
    return m->meshc ? 8 : 5;
}
