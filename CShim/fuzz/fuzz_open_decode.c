/* libFuzzer harness: open an .mci file from memory, run every query, decode a few points
 * (all components) and, for small meshes, the whole embedded mesh. Any crash, sanitizer
 * report or leak is a finding. Each input is tried as is and with its CRCs repaired. Built and run by CShim/tests/run.sh. */
#include "mcinr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

static uint64_t get_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Rewrites the CRC of every in-bounds section, so mutations reach the section parsers
 * instead of stopping at the checksum. */
static void fix_crcs(uint8_t *d, size_t size) {
    if (size < 16) return;
    uint64_t count = get_le(d + 12, 4);
    for (uint64_t i = 0; i < count && 16 + 32 * (i + 1) <= size; i++) {
        uint8_t *e = d + 16 + 32 * i;
        uint64_t off = get_le(e + 8, 8), len = get_le(e + 16, 8);
        if (len > size || off > size - len) continue;
        uint32_t crc = (uint32_t)crc32(0, d + off, (uInt)len);
        for (int k = 0; k < 4; k++) e[24 + k] = (uint8_t)(crc >> (8 * k));
    }
}

static void open_and_decode(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    open_and_decode(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    fix_crcs(copy, size);
    open_and_decode(copy, size);
    free(copy);
    return 0;
}

static void open_and_decode(const uint8_t *data, size_t size) {
    mcinr_model *m = NULL;
    char err[256];
    if (mcinr_open_memory(data, size, &m, err, sizeof err) != MCINR_OK) return;
    size_t C = mcinr_num_components(m);
    for (size_t v = 0; v < mcinr_num_variables(m); v++)
        if (!mcinr_variable_name(m, v) || mcinr_variable_components(m, v) == 0) abort();
    double lo, hi, bmin[3], bmax[3];
    for (size_t c = 0; c < C; c++) mcinr_component_range(m, c, &lo, &hi);
    mcinr_bounds(m, bmin, bmax);
    (void)mcinr_metadata_json(m);
    double xyz[15] = {bmin[0], bmin[1], bmin[2], bmax[0], bmax[1], bmax[2],
                      0.5 * (bmin[0] + bmax[0]), 0.5 * (bmin[1] + bmax[1]), 0.5 * (bmin[2] + bmax[2]),
                      -1e300, 1e300, 0.0, 1.0, 2.0, 3.0};
    float *out = malloc(5 * C * sizeof(float));
    mcinr_decode_options opt;
    mcinr_decode_options_init(&opt);
    if (mcinr_decode(m, xyz, 5, mcinr_times(m)[mcinr_num_times(m) - 1], NULL, 0, out, &opt, err, sizeof err) !=
        MCINR_OK)
        abort(); /* a model that opened must decode */
    for (int i = 0; i < 3; i++) mcinr_route(m, xyz + 3 * i);
    size_t subset[2] = {C - 1, 0}; /* a subset: only some branches run */
    if (mcinr_decode(m, xyz, 5, 0.0, subset, 2, out, &opt, err, sizeof err) != MCINR_OK) abort();
    free(out);
    if (mcinr_has_mesh(m) && mcinr_mesh_num_points(m) <= 4096 && mcinr_mesh_connectivity_size(m) <= (1u << 20)) {
        size_t n = mcinr_mesh_num_points(m), cells = mcinr_mesh_num_cells(m);
        float *vals = malloc(n * C * sizeof(float));
        if (mcinr_decode_mesh(m, 0.0, NULL, 0, vals, &opt, err, sizeof err) != MCINR_OK) abort();
        /* at stored steps, so a RESIDUAL is applied (all components, then a subset) */
        const double *times = mcinr_times(m);
        if (mcinr_decode_mesh(m, times[0], NULL, 0, vals, &opt, err, sizeof err) != MCINR_OK) abort();
        if (mcinr_decode_mesh(m, times[mcinr_num_times(m) - 1], subset, 2, vals, &opt, err, sizeof err) != MCINR_OK)
            abort();
        for (size_t c = 0; c < C; c++) {
            double e;
            if (mcinr_residual_max_error(m, c, &e) == MCINR_OK && !(e > 0)) abort();
        }
        free(vals);
        uint8_t *types = malloc(cells + 1);
        int64_t *offsets = malloc((cells + 1) * sizeof(int64_t));
        int64_t *conn = malloc((mcinr_mesh_connectivity_size(m) + 1) * sizeof(int64_t));
        double *pts = malloc(n * 3 * sizeof(double));
        if (mcinr_mesh_cells(m, types, offsets, conn) != MCINR_OK || mcinr_mesh_points(m, pts) != MCINR_OK) abort();
        free(types); free(offsets); free(conn); free(pts);
    }
    mcinr_close(m);
}
