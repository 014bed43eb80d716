/* Evaluation of an .mci model at arbitrary points: normalise, route through the cluster tree,
 * then evaluate each leaf network on batches of its points (one packed matrix product per layer
 * per batch, mcinr_matmul_packed: a point's values never depend on the other points of its
 * batch, so any subset of the points — a parallel reader's piece — gets the values a decode of
 * every point gives, bit for bit).
 *
 * Points are cut into fixed chunks (independent of the thread count); within a chunk, points are
 * grouped by leaf network and evaluated in batches. Each worker owns its workspace; the model is
 * only read. */
#include "mcinr_internal.h"
#include "mcinr_kernels.h"
#include "pieces.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Points per chunk: N/16 rounded up, within these bounds. It depends only on the number of
 * points (never on the thread count), so results are the same for any thread count; larger
 * chunks give fuller batches when many clusters share a chunk. */
#define CHUNK_MIN 4096u
#define CHUNK_MAX 65536u
#define CHUNK_PARTS 16u
#define BATCH_ROWS 1024u
/* Activation buffers hold at most this many floats each (4 MiB): very wide layers get
 * smaller batches instead of huge workspaces. */
#define BATCH_FLOATS ((size_t)1 << 20)

/* ---- Normalisation and routing ---- */

void mci_normalise(const mcinr_model *m, const double xyz[3], double time, double q[4]) {
    for (int i = 0; i < 3; i++) {
        double ext = m->bbox_max[i] - m->bbox_min[i];
        q[i] = ext > 0.0 ? 2.0 * (xyz[i] - m->bbox_min[i]) / ext - 1.0 : 0.0;
    }
    double span = m->time_max - m->time_min;
    q[3] = span > 0.0 ? 2.0 * (time - m->time_min) / span - 1.0 : 0.0;
}

static double dist2(const double a[3], const double b[3]) {
    double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
    return dx * dx + dy * dy + dz * dz;
}

/* From `node` down to a leaf: the child with the smaller squared distance (ties: child0). The
 * tree was checked to be acyclic at open, so the descent ends. */
static size_t descend(const mcinr_model *m, const double q[3], size_t node) {
    while (m->nodes[node].child0 >= 0) {
        const mci_node *nd = &m->nodes[node];
        double d0 = dist2(q, m->nodes[nd->child0].centroid), d1 = dist2(q, m->nodes[nd->child1].centroid);
        node = (size_t)(d1 < d0 ? nd->child1 : nd->child0);
    }
    return node;
}

size_t mci_route_normalised(const mcinr_model *m, const double q[3]) {
    size_t best = 0;
    double best_d = dist2(q, m->nodes[0].centroid);
    for (size_t i = 1; i < m->num_top; i++) {
        double d = dist2(q, m->nodes[i].centroid);
        if (d < best_d) { /* strict: ties keep the lowest index */
            best_d = d;
            best = i;
        }
    }
    return (size_t)m->nodes[descend(m, q, best)].network;
}

/* Seams (docs/mci-format.md, SEAM): where q is within the margin of the boundary between the
 * node it descends into and the nearest other candidate at some level of the tree, the leaf
 * under that other node is blended in with weight ½ (1 − smoothstep(s / margin)), s the
 * distance from q to the bisecting plane of the two centroids (the level with the smallest s
 * counts). At the boundary both sides give ½ and ½: the decoded field is continuous there. */
static void consider(const mcinr_model *m, size_t chosen, size_t other, double d_chosen, double d_other,
                     double *s_min, size_t *across) {
    double separation = sqrt(dist2(m->nodes[chosen].centroid, m->nodes[other].centroid));
    if (!(separation > 0.0)) return;
    double s = (d_other - d_chosen) / (2.0 * separation);
    if (s < *s_min) {
        *s_min = s;
        *across = other;
    }
}

void mci_route_blended(const mcinr_model *m, const double q[3], uint32_t *network, uint32_t *partner, float *weight) {
    size_t best = 0, second = SIZE_MAX;
    double best_d = dist2(q, m->nodes[0].centroid), second_d = INFINITY;
    for (size_t i = 1; i < m->num_top; i++) {
        double d = dist2(q, m->nodes[i].centroid);
        if (d < best_d) { /* the same choice as mci_route_normalised */
            second = best;
            second_d = best_d;
            best = i;
            best_d = d;
        } else if (d < second_d) {
            second = i;
            second_d = d;
        }
    }
    double s_min = INFINITY;
    size_t across = SIZE_MAX;
    if (second != SIZE_MAX) consider(m, best, second, best_d, second_d, &s_min, &across);
    while (m->nodes[best].child0 >= 0) {
        const mci_node *nd = &m->nodes[best];
        double d0 = dist2(q, m->nodes[nd->child0].centroid), d1 = dist2(q, m->nodes[nd->child1].centroid);
        size_t chosen = (size_t)(d1 < d0 ? nd->child1 : nd->child0), other = (size_t)(d1 < d0 ? nd->child0 : nd->child1);
        consider(m, chosen, other, d1 < d0 ? d1 : d0, d1 < d0 ? d0 : d1, &s_min, &across);
        best = chosen;
    }
    *network = (uint32_t)m->nodes[best].network;
    *partner = *network;
    *weight = 0.0f;
    double margin = m->seam_margin;
    if (across == SIZE_MAX || !(margin > 0.0) || !(s_min < margin)) return;
    double x = s_min > 0.0 ? s_min / margin : 0.0;
    *partner = (uint32_t)m->nodes[descend(m, q, across)].network;
    if (*partner != *network) *weight = (float)(0.5 * (1.0 - x * x * (3.0 - 2.0 * x)));
}

double mcinr_seam_margin(const mcinr_model *m) { return m ? m->seam_margin : 0.0; }

size_t mcinr_route(const mcinr_model *m, const double xyz[3]) {
    if (!m || !xyz) return 0;
    double q[4];
    mci_normalise(m, xyz, m->time_min, q);
    return mci_route_normalised(m, q);
}

/* ---- Network evaluation on a batch of rows ---- */

static void sine_layer(const float *x, size_t rows, size_t in, size_t out, const float *W, const float *b,
                       float omega, float *y) {
    mcinr_matmul_packed(x, rows, in, out, W, y);
    /* Bias, omega and sine in one pass (the kernel walks narrow rows as one flat array). */
    mcinr_sine_forward(y, b, rows, out, omega, NULL);
}

/* y = module(x); t1, t2 are scratch buffers; y, t1, t2 and x are distinct. */
static void apply_module(const mci_module *mod, const float *x, size_t rows, float omega, float *y, float *t1,
                         float *t2) {
    switch (mod->kind) {
    case MODULE_SINE:
        sine_layer(x, rows, mod->in, mod->out, mod->Wp, mod->b, omega, y);
        break;
    case MODULE_LINEAR:
        mcinr_matmul_packed(x, rows, mod->in, mod->out, mod->Wp, y);
        mcinr_add_bias(y, mod->b, rows, mod->out);
        break;
    default: { /* RESBLOCK: 0.5 (S2(S1(x)) + T(x)), T = identity when in = out */
        const float *skip = x;
        if (mod->Wtp) {
            sine_layer(x, rows, mod->in, mod->out, mod->Wtp, mod->bt, omega, t2);
            skip = t2;
        }
        sine_layer(x, rows, mod->in, mod->out, mod->Wp, mod->b, omega, t1);
        /* S2 with the average fused into its sine (same values as sine, then half sum). */
        mcinr_matmul_packed(t1, rows, mod->out, mod->out, mod->W2p, y);
        mcinr_sine_half_sum(y, mod->b2, rows, mod->out, omega, skip);
        break;
    }
    }
}

typedef struct workspace {
    size_t batch;     /* rows per batch */
    float *buf[6];    /* encoding, two ping-pong buffers, a third for branches, two scratch */
    float *x;         /* batch × 4 local inputs */
    double *q;        /* chunk × 4 normalised coordinates */
    uint32_t *net_of; /* chunk: network of each point */
    uint32_t *partner_of; /* chunk, with seams: the network across the nearest boundary */
    float *weight;    /* chunk, with seams: its blend weight (0: not in a seam) */
    uint32_t *order;  /* chunk: point indices grouped by network */
    size_t *counts;   /* networks + 1: counting-sort offsets */
    size_t base;      /* the chunk's first point */
} workspace;

static void free_workspace(workspace *w) {
    for (int i = 0; i < 6; i++) free(w->buf[i]);
    free(w->x);
    free(w->q);
    free(w->net_of);
    free(w->partner_of);
    free(w->weight);
    free(w->order);
    free(w->counts);
    memset(w, 0, sizeof *w);
}

/* Sized for `chunk` points per chunk (a small decode gets a small workspace). */
static int alloc_workspace(const mcinr_model *m, size_t chunk, workspace *w) {
    memset(w, 0, sizeof *w);
    size_t width = m->max_width;
    w->batch = BATCH_FLOATS / width;
    if (w->batch > BATCH_ROWS) w->batch = BATCH_ROWS;
    if (w->batch > chunk) w->batch = chunk;
    if (w->batch < 1) w->batch = 1;
    int ok = 1;
    for (int i = 0; i < 6; i++) ok &= (w->buf[i] = malloc(w->batch * width * sizeof(float))) != NULL;
    ok &= (w->x = malloc(w->batch * 4 * sizeof(float))) != NULL;
    ok &= (w->q = malloc(chunk * 4 * sizeof(double))) != NULL;
    ok &= (w->net_of = malloc(chunk * sizeof(uint32_t))) != NULL;
    if (m->seam_margin > 0.0) {
        ok &= (w->partner_of = malloc(chunk * sizeof(uint32_t))) != NULL;
        ok &= (w->weight = malloc(chunk * sizeof(float))) != NULL;
    }
    ok &= (w->order = malloc(chunk * sizeof(uint32_t))) != NULL;
    ok &= (w->counts = malloc((m->num_networks + 1) * sizeof(size_t))) != NULL;
    if (!ok) free_workspace(w);
    return ok;
}

typedef struct request {
    const mcinr_model *m;
    const double *xyz;
    size_t num_points;
    double time;
    const size_t *components; /* NULL: all */
    size_t num_components;    /* values per output row */
    float *out;
    size_t chunk;             /* points per chunk (the last chunk may be shorter) */
    const uint32_t *row_of;   /* NULL: point i → output row i; else row_of[i] (MCI_NO_ROW: not wanted) */
    size_t *evaluated;        /* with row_of: per chunk, the points the networks evaluated */
    const unsigned char *replaced; /* NULL, or per requested component: 1 = the residual sets its
                                    * values (a data stream), so its branch is not evaluated */
} request;

/* The output row of point i of the request (MCI_NO_ROW when it is not wanted). */
static size_t output_row(const request *rq, size_t i) { return rq->row_of ? rq->row_of[i] : i; }

static size_t requested(const request *rq, size_t r) { return rq->components ? rq->components[r] : r; }

/* Whether branch br gives the value of requested component r (it produces that component and
 * the residual does not replace it). */
static int fills(const request *rq, const mci_branch *br, size_t r) {
    size_t comp = requested(rq, r);
    return comp >= br->first_component && comp < br->first_component + br->outputs &&
           !(rq->replaced && rq->replaced[r]);
}

static int branch_needed(const request *rq, const mci_branch *br) {
    for (size_t r = 0; r < rq->num_components; r++)
        if (fills(rq, br, r)) return 1;
    return 0;
}

/* Evaluates network `net` on the `rows` points idx[0..rows) of the chunk in w;
 * with `blend`, mixes the result into the output already there: (1 − w) · out + w · value,
 * w = blend[idx[i]]. */
static void eval_batch(const request *rq, const mci_network *net, workspace *w, const uint32_t *idx, size_t rows,
                       const float *blend) {
    const mcinr_model *m = rq->m;
    for (size_t i = 0; i < rows; i++) {
        const double *q = w->q + 4 * (size_t)idx[i];
        for (int k = 0; k < 4; k++) w->x[4 * i + k] = ((float)q[k] - net->in_offset[k]) * net->in_scale[k];
    }
    float *enc = w->buf[0];
    mcinr_positional_encoding(w->x, rows, net->pe_freqs, enc);
    const float *cur = enc;
    float *ping[2] = {w->buf[1], w->buf[2]};
    for (size_t k = 0; k < net->num_trunk; k++) {
        float *dst = ping[k & 1];
        apply_module(&net->trunk[k], cur, rows, net->omega0, dst, w->buf[4], w->buf[5]);
        cur = dst;
    }
    const float *trunk_out = cur;
    /* Branch ping-pong buffers: the two of buf[1..3] that do not hold the trunk output. */
    float *bp[2];
    int nb = 0;
    for (int i = 1; i <= 3 && nb < 2; i++)
        if (w->buf[i] != trunk_out) bp[nb++] = w->buf[i];
    for (size_t b = 0; b < net->num_branches; b++) {
        const mci_branch *br = &net->branches[b];
        if (!branch_needed(rq, br)) continue;
        cur = trunk_out;
        for (size_t k = 0; k < br->num_modules; k++) {
            float *dst = bp[k & 1];
            apply_module(&br->modules[k], cur, rows, net->omega0, dst, w->buf[4], w->buf[5]);
            cur = dst;
        }
        for (size_t r = 0; r < rq->num_components; r++) {
            if (!fills(rq, br, r)) continue;
            size_t comp = requested(rq, r);
            size_t col = comp - br->first_component;
            double lo = m->range_min[comp], scale = 0.5 * (m->range_max[comp] - lo);
            for (size_t i = 0; i < rows; i++) {
                size_t row = output_row(rq, w->base + idx[i]);
                double v = ((double)cur[i * br->outputs + col] + 1.0) * scale + lo;
                float *o = &rq->out[row * rq->num_components + r];
                if (blend) {
                    double wt = blend[idx[i]];
                    v = (1.0 - wt) * (double)*o + wt * v;
                }
                *o = (float)v;
            }
        }
    }
}

/* net_of[i] of a point that is not evaluated (not wanted). */
#define NO_NETWORK UINT32_MAX

/* Counting sort of the chunk's points by net_of[] (those with include[i] > 0 when given, else
 * those with a network), then each network on batches of its points. counts[] holds the
 * per-network tallies. */
static void run_networks(const request *rq, workspace *w, size_t chunk, size_t n, const uint32_t *net_of,
                         const float *include, const float *blend) {
    const mcinr_model *m = rq->m;
    size_t L = m->num_networks;
    /* Counting sort by network (stable: points keep their order within a network). */
    for (size_t k = 0; k < L; k++) w->counts[k + 1] += w->counts[k];
    size_t total = w->counts[L];
    for (size_t i = 0; i < n; i++)
        if (include ? include[i] > 0.0f : net_of[i] != NO_NETWORK) w->order[w->counts[net_of[i]]++] = (uint32_t)i;
    /* counts[k] is now the end of network k's run, the start of network k + 1's. */
    size_t i = 0;
    while (i < total) {
        uint32_t net = net_of[w->order[i]];
        size_t end = w->counts[net];
        while (i < end) {
            size_t rows = end - i < w->batch ? end - i : w->batch;
            eval_batch(rq, &m->networks[net], w, w->order + i, rows, blend);
            if (rq->row_of) rq->evaluated[chunk] += rows;
            i += rows;
        }
    }
}

static void eval_chunk(const request *rq, workspace *w, size_t chunk) {
    const mcinr_model *m = rq->m;
    w->base = chunk * rq->chunk;
    size_t n = rq->num_points - w->base < rq->chunk ? rq->num_points - w->base : rq->chunk;
    size_t L = m->num_networks;
    if (rq->row_of) rq->evaluated[chunk] = 0;
    memset(w->counts, 0, (L + 1) * sizeof *w->counts);
    for (size_t i = 0; i < n; i++) {
        if (rq->row_of && rq->row_of[w->base + i] == MCI_NO_ROW) { /* not wanted: not evaluated */
            w->net_of[i] = NO_NETWORK;
            if (w->weight) w->weight[i] = 0.0f;
            continue;
        }
        double *q = w->q + 4 * i;
        mci_normalise(m, rq->xyz + 3 * (w->base + i), rq->time, q);
        uint32_t net;
        if (w->weight) {
            mci_route_blended(m, q, &net, &w->partner_of[i], &w->weight[i]);
        } else {
            net = (uint32_t)mci_route_normalised(m, q);
        }
        w->net_of[i] = net;
        w->counts[net + 1]++;
    }
    run_networks(rq, w, chunk, n, w->net_of, NULL, NULL);
    if (!w->weight) return;
    /* Seams: the points within a margin get the network across the boundary blended in. */
    memset(w->counts, 0, (L + 1) * sizeof *w->counts);
    for (size_t i = 0; i < n; i++)
        if (w->weight[i] > 0.0f) w->counts[w->partner_of[i] + 1]++;
    run_networks(rq, w, chunk, n, w->partner_of, w->weight, w->weight);
}

/* ---- Tasks of the parallel loop: one chunk each, a workspace per worker ---- */

static void *chunk_worker_init(void *ctx) {
    const request *rq = ctx;
    workspace *w = malloc(sizeof *w);
    if (w && !alloc_workspace(rq->m, rq->chunk, w)) {
        free(w);
        w = NULL;
    }
    return w;
}

static void chunk_worker_fini(void *ctx, void *state) {
    (void)ctx;
    free_workspace(state);
    free(state);
}

static mcinr_status chunk_task(void *ctx, void *state, size_t chunk) {
    eval_chunk(ctx, state, chunk);
    return MCINR_OK;
}

/* ---- Progress weights ---- */

/* Calls visit(module, ctx) for every module of every network (trunks and branches). */
static void visit_modules(const mcinr_model *m, void (*visit)(const mci_module *, void *), void *ctx) {
    for (size_t k = 0; k < m->num_networks; k++) {
        const mci_network *net = &m->networks[k];
        for (size_t b = 0; b <= net->num_branches; b++) {
            const mci_module *mods = b == 0 ? net->trunk : net->branches[b - 1].modules;
            size_t count = b == 0 ? net->num_trunk : net->branches[b - 1].num_modules;
            for (size_t i = 0; i < count; i++) visit(&mods[i], ctx);
        }
    }
}


/* ---- Options ---- */

void mcinr_decode_options_init(mcinr_decode_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->num_threads = 1;
}

mcinr_status mci_read_options(const mcinr_decode_options *in, mcinr_decode_options *o, const char *fn, char *err,
                                 size_t err_len) {
    mcinr_decode_options_init(o);
    if (!in) return MCINR_OK;
    size_t size = in->struct_size;
    if (size < offsetof(mcinr_decode_options, num_threads) + sizeof(int)) {
        mci_set_error(err, err_len, "%s: options.struct_size is %zu (at least %zu; this library's struct has %zu "
                      "bytes): call mcinr_decode_options_init(&options) before setting fields", fn, size,
                      offsetof(mcinr_decode_options, num_threads) + sizeof(int), sizeof *o);
        return MCINR_ERR_ARGUMENT;
    }
#define READ_FIELD(f) \
    if (size >= offsetof(mcinr_decode_options, f) + sizeof o->f) memcpy(&o->f, &in->f, sizeof o->f)
    READ_FIELD(num_threads);
    READ_FIELD(progress);
    READ_FIELD(user_data);
    READ_FIELD(network_only);
    READ_FIELD(trust_large_files);
    READ_FIELD(validate_residual);
#undef READ_FIELD
    return MCINR_OK;
}

/* The checks of a decode's model and component list; *num_components becomes the count
 * requested (C when components is NULL). */
static mcinr_status check_components(const char *fn, const mcinr_model *m, const size_t *components,
                                     size_t *num_components_io, char *err, size_t err_len) {
    size_t num_components = *num_components_io;
    if (!m) {
        mci_set_error(err, err_len, "%s: `model` is NULL", fn);
        return MCINR_ERR_ARGUMENT;
    }
    if (components) {
        if (num_components == 0) {
            mci_set_error(err, err_len, "%s: `components` is given but `num_components` is 0", fn);
            return MCINR_ERR_ARGUMENT;
        }
        for (size_t r = 0; r < num_components; r++)
            if (components[r] >= m->num_components) {
                mci_set_error(err, err_len, "%s: component %zu is out of range (the model has %zu)", fn,
                              components[r], m->num_components);
                return MCINR_ERR_ARGUMENT;
            }
    } else {
        if (num_components != 0 && num_components != m->num_components) {
            mci_set_error(err, err_len, "%s: `components` is NULL (all %zu) but `num_components` is %zu", fn,
                          m->num_components, num_components);
            return MCINR_ERR_ARGUMENT;
        }
        num_components = m->num_components;
    }
    *num_components_io = num_components;
    return MCINR_OK;
}

/* The values of mcinr_decode for components already checked (check_components: num_components
 * is the count requested), progress over [from, to]; the remaining argument checks; fn names
 * the API function in messages. `replaced`: see request. */
static mcinr_status decode_points(const char *fn, const mcinr_model *m, const double *xyz, size_t num_points,
                                  double time, const size_t *components, size_t num_components, float *out,
                                  const mcinr_decode_options *o, double from, double to, const uint32_t *row_of,
                                  const unsigned char *replaced, size_t *evaluated, char *err, size_t err_len) {
    if (num_points == 0) return MCINR_OK;
    if (!xyz || !out) {
        mci_set_error(err, err_len, "%s: `%s` is NULL", fn, xyz ? "out" : "xyz");
        return MCINR_ERR_ARGUMENT;
    }
    if (num_points > SIZE_MAX / sizeof(float) / num_components || num_points > SIZE_MAX / (3 * sizeof(double))) {
        mci_set_error(err, err_len, "%s: %zu points × %zu components overflow", fn, num_points,
                      num_components);
        return MCINR_ERR_ARGUMENT;
    }
    size_t chunk = num_points / CHUNK_PARTS + 1;
    if (chunk < CHUNK_MIN) chunk = CHUNK_MIN;
    if (chunk > CHUNK_MAX) chunk = CHUNK_MAX;
    if (chunk > num_points) chunk = num_points;
    size_t threads = o->num_threads > 1 ? (size_t)o->num_threads : 1;
    request rq = {m, xyz, num_points, time, components, num_components, out, chunk, row_of, NULL, replaced};
    size_t num_chunks = num_points / chunk + (num_points % chunk != 0);
    if (row_of && !(rq.evaluated = calloc(num_chunks, sizeof *rq.evaluated))) {
        mci_set_error(err, err_len, "%s: out of memory for the decode workspace", fn);
        return MCINR_ERR_NOMEM;
    }
    mci_parallel_for loop = {num_chunks, threads, &rq, chunk_worker_init, chunk_worker_fini, chunk_task, o->progress,
                             o->user_data, from, to};
    mcinr_status s = mci_parallel_run(&loop, NULL);
    if (rq.evaluated) {
        size_t total = 0;
        for (size_t k = 0; k < num_chunks; k++) total += rq.evaluated[k];
        if (evaluated) *evaluated = total;
        free(rq.evaluated);
    }
    if (s == MCINR_ERR_NOMEM) mci_set_error(err, err_len, "%s: out of memory for the decode workspace", fn);
    if (s == MCINR_ERR_ABORTED) mci_set_error(err, err_len, "%s: aborted by the progress callback", fn);
    return s;
}

/* Multiply-adds per point of one module (a ResBlock: two or three matrices). */
static void add_module_cost(const mci_module *mod, void *ctx) {
    double matrices = mod->kind == MODULE_RESBLOCK ? 2.0 + (mod->Wt != NULL) : 1.0;
    *(double *)ctx += matrices * (double)mod->in * (double)mod->out;
}

/* Multiply-adds per point of the network evaluation, averaged over the networks (every
 * branch counted): the progress weight of the network phase of mcinr_decode_mesh. */
static double network_cost(const mcinr_model *m) {
    double total = 0.0;
    visit_modules(m, add_module_cost, &total);
    return m->num_networks ? total / (double)m->num_networks : 0.0;
}

mcinr_status mci_decode_points(const char *fn, const mcinr_model *m, const double *xyz, size_t num_points, double time,
                               const size_t *components, size_t num_components, float *out,
                               const mcinr_decode_options *o, char *err, size_t err_len) {
    mcinr_status s = check_components(fn, m, components, &num_components, err, err_len);
    if (s != MCINR_OK) return s;
    return decode_points(fn, m, xyz, num_points, time, components, num_components, out, o, 0.0, 1.0, NULL, NULL, NULL,
                         err, err_len);
}

mcinr_status mcinr_decode(const mcinr_model *m, const double *xyz, size_t num_points, double time,
                          const size_t *components, size_t num_components, float *out,
                          const mcinr_decode_options *options, char *err, size_t err_len) {
    mcinr_decode_options o;
    mcinr_status s = mci_read_options(options, &o, "mcinr_decode", err, err_len);
    if (s != MCINR_OK) return s;
    return mci_decode_points("mcinr_decode", m, xyz, num_points, time, components, num_components, out, &o, err,
                             err_len);
}

mcinr_status mci_decode_mesh_rows(const char *fn, const mcinr_model *m, double time, const size_t *components, size_t num_components,
                                  const uint32_t *row_of, float *out, const mcinr_decode_options *o,
                                  size_t *evaluated, char *err, size_t err_len) {
    /* a MESHC mesh is decoded on first use (mesh_codec.c), its chunks on this call's threads */
    mcinr_status s0 = mci_mesh_whole(m, o->num_threads > 1 ? (size_t)o->num_threads : 1, o->progress, o->user_data,
                                     0.0, 0.0, err, err_len);
    if (s0 != MCINR_OK) return s0;
    size_t nc = num_components;
    mcinr_status s = check_components(fn, m, components, &nc, err, err_len);
    if (s != MCINR_OK) return s;
    /* Progress: the network phase, then the residual phase, each weighted by its estimated work. */
    double residual = o->network_only ? 0.0 : mci_residual_cost(m, time, components, num_components);
    double network = network_cost(m) * (double)m->mesh_num_points;
    /* The components whose values the residual sets by itself at this step (data streams) need
     * no network: their branches are not evaluated, nor the networks at all when that is every
     * requested component. */
    unsigned char some[64], *replaced = NULL;
    size_t skipped = 0;
    if (residual > 0.0) {
        replaced = nc <= sizeof some ? some : malloc(nc);
        if (!replaced) {
            mci_set_error(err, err_len, "%s: out of memory for the decode workspace", fn);
            return MCINR_ERR_NOMEM;
        }
        skipped = mci_residual_replaces(m, time, components, num_components, replaced);
        network *= (double)(nc - skipped) / (double)nc;
    }
    double split = residual > 0.0 ? network / (network + residual) : 1.0;
    if (skipped < nc)
        s = decode_points(fn, m, m->mesh_points, m->mesh_num_points, time, components, nc, out, o, 0.0, split, row_of,
                          replaced, evaluated, err, err_len);
    else if (evaluated)
        *evaluated = 0;
    if (replaced != some) free(replaced);
    if (s != MCINR_OK || residual <= 0.0) return s;
    size_t threads = o->num_threads > 1 ? (size_t)o->num_threads : 1;
    return mci_apply_residual_rows(m, time, components, num_components, row_of, out, threads, o->progress,
                                   o->user_data, split, 1.0, err, err_len);
}

mcinr_status mcinr_decode_mesh(const mcinr_model *m, double time, const size_t *components, size_t num_components,
                               float *out, const mcinr_decode_options *options, char *err, size_t err_len) {
    if (!m) {
        mci_set_error(err, err_len, "mcinr_decode_mesh: `model` is NULL");
        return MCINR_ERR_ARGUMENT;
    }
    if (!m->has_mesh) {
        mci_set_error(err, err_len, "mcinr_decode_mesh: the file has no embedded mesh");
        return MCINR_ERR_NO_MESH;
    }
    mcinr_decode_options o;
    mcinr_status s = mci_read_options(options, &o, "mcinr_decode_mesh", err, err_len);
    if (s != MCINR_OK) return s;
    return mci_decode_mesh_rows("mcinr_decode_mesh", m, time, components, num_components, NULL, out, &o, NULL, err,
                                err_len);
}
