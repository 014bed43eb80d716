/* The plane predictor's weights (RESIDUAL predictor bit 4, format 1.6; docs/mci-format.md,
 * "Plane weights"): per mesh point i, one Q16 weight per earlier neighbour j ∈ Nb(i) such that
 * Σ w_j y_j is the value at p_i of the least-squares plane through the neighbours' (p_j, y_j),
 * with the smallest Σ w_j² — exact for a field linear in space, which the neighbours' mean is
 * not where they lie to one side of i (every j < i of a local point order).
 *
 * The indices a reader reconstructs depend on these integers, so every writer and reader must
 * compute them bit for bit alike: IEEE-754 binary64, the operations in the order written here,
 * each product rounded on its own (`product` forbids a fused multiply-add, which compilers may
 * otherwise contract a·b + c into on machines that have one). The writer
 * (Swift, MCIFormat) calls this same function.
 *
 * The quadratic predictor's support and weights (bit 6, format 1.8; "Quadratic support and
 * weights"): the same least-squares fit over ten terms, through up to 24 earlier points within
 * two neighbour steps. */
#include "mcinr_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLANE_ONE 65536.0   /* Q16 */
#define PLANE_MIN_POINTS 4  /* a plane through fewer points is not determined */
#define PLANE_MAX_ABS_SUM 8.0 /* Σ |w| beyond this (an extrapolation far off its points): the mean */
#define PLANE_MIN_PIVOT 0x1p-40
#define MCI_FIT_MAX_TERMS 10 /* the quadratic's: 1, u, v, w, u², v², w², uv, uw, vw */
#define QUAD_MIN_POINTS 12   /* fewer: no quadratic support (docs/mci-format.md, "Quadratic support") */
#define QUAD_MAX_ABS_SUM 16.0

/* a · b rounded on its own: the empty asm makes the product opaque to the optimiser, so it
 * cannot be fused with an addition (no memory round trip, unlike the portable volatile) */
static inline double product(double a, double b) {
#if defined(__GNUC__) && defined(__x86_64__)
    double p = a * b;
    __asm__("" : "+x"(p));
    return p;
#elif defined(__GNUC__) && defined(__aarch64__)
    double p = a * b;
    __asm__("" : "+w"(p));
    return p;
#else
    volatile double p = a * b;
    return p;
#endif
}

/* Round half away from zero to an integer; |x| ≤ 2^19 here. */
static int32_t round_away(double x) {
    return (int32_t)(x >= 0.0 ? floor(x + 0.5) : -floor(-x + 0.5));
}

/* The least-squares fit's weights (the plane's, D = 4, and the quadratic's, D = 10): rows[n] =
 * (1, r_n1 … r_n,D−1) for the k points; solves M z = e₀ for the normal equations M of the rows
 * (docs/mci-format.md, "Plane weights", steps 3 to 6) and w_n = z · rows[n]. 0 if M is
 * singular to the pivot test, a weight is not finite, or Σ |w| exceeds cap (an extrapolation far
 * off its points). */
static int fit(const double *rows, size_t k, int D, double cap, double *w) {
    double M[MCI_FIT_MAX_TERMS][MCI_FIT_MAX_TERMS] = {{0}}, r[MCI_FIT_MAX_TERMS] = {1.0}, z[MCI_FIT_MAX_TERMS];
    for (size_t n = 0; n < k; n++) {
        const double *row = rows + n * (size_t)D;
        for (int a = 0; a < D; a++)
            for (int b = a; b < D; b++) M[a][b] = M[a][b] + product(row[a], row[b]);
    }
    for (int a = 1; a < D; a++)
        for (int b = 0; b < a; b++) M[a][b] = M[b][a];
    /* Gaussian elimination with partial pivoting (the first of equal magnitudes) */
    for (int col = 0; col < D; col++) {
        int p = col;
        for (int row = col + 1; row < D; row++)
            if (fabs(M[row][col]) > fabs(M[p][col])) p = row;
        if (!(fabs(M[p][col]) > PLANE_MIN_PIVOT)) return 0;
        if (p != col) {
            double t[MCI_FIT_MAX_TERMS];
            memcpy(t, M[p], sizeof t);
            memcpy(M[p], M[col], sizeof t);
            memcpy(M[col], t, sizeof t);
            double tr = r[p];
            r[p] = r[col];
            r[col] = tr;
        }
        for (int row = col + 1; row < D; row++) {
            double f = M[row][col] / M[col][col];
            for (int e = col + 1; e < D; e++) M[row][e] = M[row][e] - product(f, M[col][e]);
            r[row] = r[row] - product(f, r[col]);
        }
    }
    for (int row = D - 1; row >= 0; row--) {
        double v = r[row];
        for (int e = row + 1; e < D; e++) v = v - product(M[row][e], z[e]);
        z[row] = v / M[row][row];
    }
    double total = 0.0;
    for (size_t n = 0; n < k; n++) {
        const double *row = rows + n * (size_t)D;
        double v = z[0];
        for (int a = 1; a < D; a++) v = v + product(z[a], row[a]);
        if (!isfinite(v)) return 0;
        w[n] = v;
        total = total + fabs(v);
    }
    return total <= cap;
}

/* s: the largest |p_n − p_i| coordinate over the k points nb; 0 when it is 0 or not finite. */
static double spread(const double *xyz, size_t i, const uint32_t *nb, size_t k) {
    const double *c = xyz + 3 * i;
    double s = 0.0;
    for (size_t n = 0; n < k; n++)
        for (int a = 0; a < 3; a++) {
            double d = fabs(xyz[3 * (size_t)nb[n] + a] - c[a]);
            if (d > s) s = d;
        }
    return s > 0.0 && isfinite(s) ? s : 0.0;
}

/* Weights of the least-squares plane through the k ≥ 4 points nb (ascending) evaluated at p_i,
 * into w; 0 if the plane is not determined or too steep an extrapolation (then the caller
 * uses the mean). */
static int plane(const double *xyz, size_t i, const uint32_t *nb, size_t k, double *w) {
    const double *c = xyz + 3 * i;
    double s = spread(xyz, i, nb, k), rows[MCI_PLANE_MAX_NEIGHBOURS * 4];
    if (s == 0.0) return 0;
    for (size_t n = 0; n < k; n++) { /* (1, u_n), u_n = (p_n − p_i) / s */
        rows[4 * n] = 1.0;
        for (int a = 0; a < 3; a++) rows[4 * n + 1 + (size_t)a] = (xyz[3 * (size_t)nb[n] + a] - c[a]) / s;
    }
    return fit(rows, k, 4, PLANE_MAX_ABS_SUM, w);
}

void mci_plane_weights(const double *xyz, size_t i, const uint32_t *nb, size_t k, int32_t *out) {
    double w[MCI_PLANE_MAX_NEIGHBOURS];
    if (k == 0) return;
    if (k > MCI_PLANE_MAX_NEIGHBOURS || k < PLANE_MIN_POINTS || !plane(xyz, i, nb, k, w))
        for (size_t n = 0; n < k; n++) w[n] = 1.0 / (double)k;
    for (size_t n = 0; n < k; n++) out[n] = round_away(product(w[n], PLANE_ONE));
}

void mcinr_residual_plane_weights(const double *xyz, size_t num_points, const int64_t *nb_start, const int32_t *nb,
                                  int32_t *weights) {
    uint32_t ids[MCI_PLANE_MAX_NEIGHBOURS];
    for (size_t i = 0; i < num_points; i++) {
        size_t a = (size_t)nb_start[i], k = (size_t)(nb_start[i + 1] - nb_start[i]);
        if (k > MCI_PLANE_MAX_NEIGHBOURS) k = MCI_PLANE_MAX_NEIGHBOURS; /* never, for Nb(i) */
        for (size_t n = 0; n < k; n++) ids[n] = (uint32_t)nb[a + n];
        mci_plane_weights(xyz, i, ids, k, weights + a);
    }
}

/* The 24 nearest of the candidates (D ascending, of equal D the larger index first). */
typedef struct quad_candidate {
    double d;
    uint32_t j;
} quad_candidate;

static int nearer(const void *a, const void *b) {
    const quad_candidate *x = a, *y = b;
    if (x->d != y->d) return x->d < y->d ? -1 : 1;
    return x->j > y->j ? -1 : x->j < y->j ? 1 : 0;
}

/* Moves the `keep` nearest of the u > keep candidates to c[0 … keep − 1], in no order (the
 * support is sorted by index afterwards): a heap of `keep` whose root is the farthest kept,
 * which each nearer candidate replaces. The order is total (the candidates are distinct
 * points), so the set is the one a sort would keep, and the work u log keep. */
static void keep_nearest(quad_candidate *c, size_t u, size_t keep) {
    for (size_t n = keep; n-- > 0;) /* heapify: no child is farther than its parent */
        for (size_t p = n, k; (k = 2 * p + 1) < keep; p = k) {
            if (k + 1 < keep && nearer(&c[k + 1], &c[k]) > 0) k++;
            if (nearer(&c[p], &c[k]) >= 0) break;
            quad_candidate t = c[p];
            c[p] = c[k];
            c[k] = t;
        }
    for (size_t n = keep; n < u; n++) {
        if (nearer(&c[n], &c[0]) >= 0) continue;
        quad_candidate x = c[n];
        size_t p = 0, k;
        for (; (k = 2 * p + 1) < keep; p = k) {
            if (k + 1 < keep && nearer(&c[k + 1], &c[k]) > 0) k++;
            if (nearer(&x, &c[k]) >= 0) break;
            c[p] = c[k];
        }
        c[p] = x;
    }
}

size_t mci_quadratic_support(const double *xyz, size_t i, const size_t *nb_start, const uint32_t *nb, size_t *mark,
                             uint32_t *ids, int32_t *weights) {
    /* U(i): Nb(i) and the Nb of each of its points, distinct (mark[j] = i + 1: j is in) */
    quad_candidate cand[MCI_PLANE_MAX_NEIGHBOURS * (MCI_PLANE_MAX_NEIGHBOURS + 1)];
    size_t u = 0;
    const double *c = xyz + 3 * i;
    for (size_t a = nb_start[i]; a < nb_start[i + 1]; a++) {
        uint32_t j = nb[a];
        for (size_t b = nb_start[j]; b <= nb_start[j + 1]; b++) {
            uint32_t l = b < nb_start[j + 1] ? nb[b] : j; /* j itself last */
            if (mark[l] == i + 1) continue;
            mark[l] = i + 1;
            double d0 = xyz[3 * (size_t)l] - c[0], d1 = xyz[3 * (size_t)l + 1] - c[1], d2 = xyz[3 * (size_t)l + 2] - c[2];
            cand[u].d = (product(d0, d0) + product(d1, d1)) + product(d2, d2);
            cand[u++].j = l;
        }
    }
    if (u < QUAD_MIN_POINTS) return 0;
    if (u > MCI_QUAD_MAX_SUPPORT) {
        keep_nearest(cand, u, MCI_QUAD_MAX_SUPPORT);
        u = MCI_QUAD_MAX_SUPPORT;
    }
    uint32_t kept[MCI_QUAD_MAX_SUPPORT];
    for (size_t n = 0; n < u; n++) kept[n] = cand[n].j;
    mci_sort_ascending(kept, u); /* u ≤ MCI_QUAD_MAX_SUPPORT */
    double s = spread(xyz, i, kept, u), rows[MCI_QUAD_MAX_SUPPORT * MCI_FIT_MAX_TERMS], w[MCI_QUAD_MAX_SUPPORT];
    if (s == 0.0) return 0;
    for (size_t n = 0; n < u; n++) { /* (1, u, v, w, u², v², w², uv, uw, vw) */
        double *row = rows + n * MCI_FIT_MAX_TERMS, x[3];
        for (int a = 0; a < 3; a++) x[a] = (xyz[3 * (size_t)kept[n] + a] - c[a]) / s;
        row[0] = 1.0;
        row[1] = x[0], row[2] = x[1], row[3] = x[2];
        row[4] = product(x[0], x[0]), row[5] = product(x[1], x[1]), row[6] = product(x[2], x[2]);
        row[7] = product(x[0], x[1]), row[8] = product(x[0], x[2]), row[9] = product(x[1], x[2]);
    }
    if (!fit(rows, u, MCI_FIT_MAX_TERMS, QUAD_MAX_ABS_SUM, w)) return 0;
    for (size_t n = 0; n < u; n++) {
        ids[n] = kept[n];
        weights[n] = round_away(product(w[n], PLANE_ONE));
    }
    return u;
}

int mcinr_residual_quadratic_support(const double *xyz, size_t num_points, const int64_t *nb_start, const int32_t *nb,
                                     int64_t *q_start, int32_t *q_ids, int32_t *q_weights) {
    size_t *start = malloc((num_points + 1) * sizeof(size_t)), *mark = calloc(num_points ? num_points : 1, sizeof(size_t));
    uint32_t *ids = malloc(((size_t)nb_start[num_points] ? (size_t)nb_start[num_points] : 1) * sizeof(uint32_t));
    int ok = start && mark && ids;
    if (ok) {
        for (size_t i = 0; i <= num_points; i++) start[i] = (size_t)nb_start[i];
        for (size_t e = 0; e < start[num_points]; e++) ids[e] = (uint32_t)nb[e];
        q_start[0] = 0;
        for (size_t i = 0; i < num_points; i++) {
            size_t at = (size_t)q_start[i];
            size_t k = mci_quadratic_support(xyz, i, start, ids, mark, (uint32_t *)(q_ids + at), q_weights + at);
            q_start[i + 1] = (int64_t)(at + k);
        }
    }
    free(start);
    free(mark);
    free(ids);
    return ok ? 0 : -1;
}
