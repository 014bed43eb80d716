/* The plane predictor's weights (RESIDUAL predictor bit 4, format 1.6; docs/mci-format.md,
 * "Plane weights"): per mesh point i, one Q16 weight per earlier neighbour j ∈ Nb(i) such that
 * Σ w_j y_j is the value at p_i of the least-squares plane through the neighbours' (p_j, y_j),
 * with the smallest Σ w_j² — exact for a field linear in space, which the neighbours' mean is
 * not where they lie to one side of i (every j < i of a local point order).
 *
 * The indices a reader reconstructs depend on these integers, so every writer and reader must
 * compute them bit for bit alike: IEEE-754 binary64, the operations in the order written here,
 * each product rounded on its own (the volatile stores forbid a fused multiply-add, which
 * compilers may otherwise contract a·b + c into on machines that have one). The writer
 * (Swift, MCIFormat) calls this same function. */
#include "mcinr_internal.h"

#include <math.h>
#include <string.h>

#define PLANE_ONE 65536.0   /* Q16 */
#define PLANE_MIN_POINTS 4  /* a plane through fewer points is not determined */
#define PLANE_MAX_ABS_SUM 8.0 /* Σ |w| beyond this (an extrapolation far off its points): the mean */
#define PLANE_MIN_PIVOT 0x1p-40

static double product(double a, double b) {
    volatile double p = a * b;
    return p;
}

/* Round half away from zero to an integer; |x| ≤ 2^19 here. */
static int32_t round_away(double x) {
    return (int32_t)(x >= 0.0 ? floor(x + 0.5) : -floor(-x + 0.5));
}

/* Weights of the least-squares plane through the k ≥ 4 points nb (ascending) evaluated at p_i,
 * into w; 0 if the plane is not determined or too steep an extrapolation (then the caller
 * uses the mean). */
static int plane(const double *xyz, size_t i, const uint32_t *nb, size_t k, double *w) {
    const double *c = xyz + 3 * i;
    double s = 0.0;
    for (size_t n = 0; n < k; n++)
        for (int a = 0; a < 3; a++) {
            double d = fabs(xyz[3 * (size_t)nb[n] + a] - c[a]);
            if (d > s) s = d;
        }
    if (!(s > 0.0) || !isfinite(s)) return 0;
    /* the normal equations of the rows (1, u_n) with u_n = (p_n − p_i) / s, upper triangle */
    double M[4][4] = {{0}}, r[4] = {1.0, 0.0, 0.0, 0.0}, z[4];
    for (size_t n = 0; n < k; n++) {
        double row[4] = {1.0, 0.0, 0.0, 0.0};
        for (int a = 0; a < 3; a++) row[a + 1] = (xyz[3 * (size_t)nb[n] + a] - c[a]) / s;
        for (int a = 0; a < 4; a++)
            for (int b = a; b < 4; b++) M[a][b] = M[a][b] + product(row[a], row[b]);
    }
    for (int a = 1; a < 4; a++)
        for (int b = 0; b < a; b++) M[a][b] = M[b][a];
    /* Gaussian elimination with partial pivoting (the first of equal magnitudes) */
    for (int col = 0; col < 4; col++) {
        int p = col;
        for (int row = col + 1; row < 4; row++)
            if (fabs(M[row][col]) > fabs(M[p][col])) p = row;
        if (!(fabs(M[p][col]) > PLANE_MIN_PIVOT)) return 0;
        if (p != col) {
            double t[4];
            memcpy(t, M[p], sizeof t);
            memcpy(M[p], M[col], sizeof t);
            memcpy(M[col], t, sizeof t);
            double tr = r[p];
            r[p] = r[col];
            r[col] = tr;
        }
        for (int row = col + 1; row < 4; row++) {
            double f = M[row][col] / M[col][col];
            for (int e = col + 1; e < 4; e++) M[row][e] = M[row][e] - product(f, M[col][e]);
            r[row] = r[row] - product(f, r[col]);
        }
    }
    for (int row = 3; row >= 0; row--) {
        double v = r[row];
        for (int e = row + 1; e < 4; e++) v = v - product(M[row][e], z[e]);
        z[row] = v / M[row][row];
    }
    double total = 0.0;
    for (size_t n = 0; n < k; n++) {
        double v = z[0];
        for (int a = 0; a < 3; a++) v = v + product(z[a + 1], (xyz[3 * (size_t)nb[n] + a] - c[a]) / s);
        if (!isfinite(v)) return 0;
        w[n] = v;
        total = total + fabs(v);
    }
    return total <= PLANE_MAX_ABS_SUM;
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
