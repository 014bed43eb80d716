/* Parsing and validation of .mci files (docs/mci-format.md), and the model queries.
 * Every count and length read from the file is untrusted: each is checked against its limit
 * and against the bytes that remain before anything is allocated or read. */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L /* fileno, fstat */
#endif
#include "mcinr_internal.h"
#include "mcinr_kernels.h"
#include "mesh_codec.h"
#include "mesh_index.h"

#include <sys/stat.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Limits (docs/mci-format.md, "Limits"). */
#define MAX_SECTIONS 4096u
#define MAX_VARIABLES 65536u
#define MAX_VAR_COMPONENTS 16u
#define MAX_TIMES 10000000u
#define MAX_NODES 1000000u
#define MAX_NETWORKS 1000000u
#define MAX_PE_FREQS 16u
#define MAX_TRUNK_MODULES 1024u
#define MAX_BRANCHES 4096u
#define MAX_BRANCH_MODULES 1024u
#define MAX_WIDTH 65536u
#define MAX_DEFLATE_RATIO 1032u /* zlib's best case; a larger claim cannot be genuine */
#define SECTION_COMPRESSED 2u     /* section flag bit 1: u64 size + zlib stream (format 1.1) */

/* Type 6 (the RESIDUAL of format 1.1, plain indices in zlib streams) is retired: no writer ever
 * produced it, and a file that has one is rejected (docs/mci-format.md, Section types). */
enum { SEC_META = 1, SEC_JSON = 2, SEC_TREE = 3, SEC_NETS = 4, SEC_MESH = 5, SEC_RETIRED_RESIDUAL = 6,
       SEC_RESIDUAL_PREDICTED = 7, SEC_MESHC = 8, SEC_SEAM = 9, SEC_MESHX = 10, SEC_NEIGHBOURS = 11,
       SEC_LAST = 11 };
static const char *const section_names[] = {"?", "META", "JSON", "TREE", "NETS", "MESH", "retired RESIDUAL", "RESIDUAL",
                                            "MESHC", "SEAM", "MESHX", "NEIGHBOURS"};

void mci_set_error(char *err, size_t err_len, const char *fmt, ...) {
    if (!err || err_len == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

const char *mcinr_status_string(mcinr_status status) {
    switch (status) {
    case MCINR_OK: return "ok";
    case MCINR_ERR_IO: return "I/O error";
    case MCINR_ERR_FORMAT: return "malformed .mci file";
    case MCINR_ERR_VERSION: return "unsupported format version, section or encoding";
    case MCINR_ERR_CHECKSUM: return "checksum mismatch";
    case MCINR_ERR_NOMEM: return "out of memory";
    case MCINR_ERR_ARGUMENT: return "invalid argument";
    case MCINR_ERR_NO_MESH: return "the file has no embedded mesh";
    case MCINR_ERR_ABORTED: return "aborted";
    case MCINR_ERR_LIMIT: return "beyond the limits for untrusted files (trust_large_files)";
    }
    return "unknown status";
}

/* ---- Parse context: file name, section, and the caller's error buffer ---- */

typedef struct ctx {
    const char *name;
    const char *section;
    char *err;
    size_t err_len;
    const mci_open_ctx *oc; /* budget, threads, progress */
    double done, total;     /* progress: estimated work of the steps done, of all steps */
} ctx;

static mcinr_status fail(ctx *c, mcinr_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static mcinr_status fail(ctx *c, mcinr_status status, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (c->section)
        mci_set_error(c->err, c->err_len, "%s: section %s: %s", c->name, c->section, what);
    else
        mci_set_error(c->err, c->err_len, "%s: %s", c->name, what);
    return status;
}

/* ---- The open's budget (docs/mci-format.md, Limits) ---- */

static void format_bytes(char *buf, size_t len, uint64_t n) {
    if (n < ((uint64_t)1 << 20)) snprintf(buf, len, "%llu bytes", (unsigned long long)n);
    else if (n < ((uint64_t)1 << 30)) snprintf(buf, len, "%.1f MiB", (double)n / 1048576.0);
    else snprintf(buf, len, "%.1f GiB", (double)n / 1073741824.0);
}

int mci_budget_charge(mci_budget *b, int memory, uint64_t amount, const char *what, char *msg, size_t msg_len) {
    uint64_t *used = memory ? &b->memory_used : &b->work_used;
    uint64_t limit = memory ? b->memory_limit : b->work_limit;
    uint64_t total = amount > UINT64_MAX - *used ? UINT64_MAX : *used + amount;
    if (b->trusted || total <= limit) {
        *used = total;
        return 0;
    }
    char need[32], lim[32], size[32];
    format_bytes(size, sizeof size, b->file_size);
    if (memory) {
        format_bytes(need, sizeof need, total);
        format_bytes(lim, sizeof lim, limit);
        mci_set_error(msg, msg_len, "%s would bring the memory of this open to %s, beyond the limit of %s for a file of "
                      "%s (%u x file size + 16 MiB, docs/mci-format.md, Limits); %s", what, need, lim, size,
                      MCI_MEMORY_PER_BYTE, MCI_TRUST_HINT);
    } else {
        mci_set_error(msg, msg_len, "%s would bring the work of this open to %llu units, beyond the limit of %llu for a "
                      "file of %s (%u x file size + 2^24, docs/mci-format.md, Limits); %s", what,
                      (unsigned long long)total, (unsigned long long)limit, size, MCI_WORK_PER_BYTE, MCI_TRUST_HINT);
    }
    return -1;
}

/* Charges memory (`memory` = 1) or work to the open's budget; MCINR_ERR_LIMIT with the message
 * when it does not fit. */
static mcinr_status charge(ctx *c, int memory, uint64_t amount, const char *what) {
    char msg[600];
    if (mci_budget_charge(c->oc->budget, memory, amount, what, msg, sizeof msg) == 0) return MCINR_OK;
    return fail(c, MCINR_ERR_LIMIT, "%s", msg);
}

/* bytes = count · size, saturating (a charge that large fails anyway) */
static uint64_t times(uint64_t count, uint64_t size) { return size && count > UINT64_MAX / size ? UINT64_MAX : count * size; }

/* Progress (the pattern of mci_parallel_run): `units` of the estimated work are done. */
static mcinr_status step_done(ctx *c, double units) {
    c->done += units;
    double f = c->total > 0.0 ? c->done / c->total : 0.0;
    mcinr_status s = mci_parallel_checkpoint(c->oc->progress, c->oc->user_data, f < 1.0 ? f : 1.0);
    if (s == MCINR_ERR_ABORTED) {
        c->section = NULL;
        return fail(c, MCINR_ERR_ABORTED, "opening aborted by the progress callback");
    }
    return s;
}

/* ---- Bounds-checked little-endian reader: a short read clears `ok` and yields 0 ---- */

typedef struct rd {
    const uint8_t *p;
    size_t len, pos;
    int ok;
} rd;

static size_t rd_left(const rd *r) { return r->len - r->pos; }

static const uint8_t *rd_take(rd *r, size_t n) {
    if (!r->ok || rd_left(r) < n) {
        r->ok = 0;
        return NULL;
    }
    const uint8_t *q = r->p + r->pos;
    r->pos += n;
    return q;
}

static uint8_t rd_u8(rd *r) { const uint8_t *q = rd_take(r, 1); return q ? q[0] : 0; }
static uint16_t rd_u16(rd *r) { const uint8_t *q = rd_take(r, 2); return q ? (uint16_t)mci_get_le(q, 2) : 0; }
static uint32_t rd_u32(rd *r) { const uint8_t *q = rd_take(r, 4); return q ? (uint32_t)mci_get_le(q, 4) : 0; }
static uint64_t rd_u64(rd *r) { const uint8_t *q = rd_take(r, 8); return q ? mci_get_le(q, 8) : 0; }
static int32_t rd_i32(rd *r) {
    uint32_t u = rd_u32(r);
    int32_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}
static float bits_to_f32(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }
static float rd_f32(rd *r) { return bits_to_f32(rd_u32(r)); }
static double rd_f64(rd *r) {
    uint64_t u = rd_u64(r);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* ---- META ---- */

static int compare_names(const void *a, const void *b) {
    return strcmp(**(char *const *const *)a, **(char *const *const *)b);
}

/* Variable names are unique (ParaView shows one of two arrays with the same name): sorted
 * pointers to them, O(V log V); the message names both variables. */
static mcinr_status unique_names(ctx *c, mcinr_model *m) {
    size_t V = m->num_variables;
    if (V < 2) return MCINR_OK;
    mcinr_status st = charge(c, 1, times(V, sizeof(char **)), "checking the variable names");
    if (st != MCINR_OK) return st;
    if ((st = charge(c, 0, times(V, 16), "checking the variable names")) != MCINR_OK) return st;
    char ***order = malloc(V * sizeof *order);
    if (!order) return fail(c, MCINR_ERR_NOMEM, "out of memory checking %zu variable names", V);
    for (size_t v = 0; v < V; v++) order[v] = &m->variable_names[v];
    qsort(order, V, sizeof *order, compare_names);
    for (size_t k = 1; k < V; k++)
        if (strcmp(*order[k - 1], *order[k]) == 0) {
            size_t a = (size_t)(order[k - 1] - m->variable_names), b = (size_t)(order[k] - m->variable_names);
            if (a > b) {
                size_t t = a;
                a = b;
                b = t;
            }
            free(order);
            return fail(c, MCINR_ERR_FORMAT, "variables %zu and %zu have the same name \"%s\" (names must be unique)", a, b,
                        m->variable_names[a]);
        }
    free(order);
    return MCINR_OK;
}

static mcinr_status parse_meta(ctx *c, rd *r, mcinr_model *m) {
    uint32_t V = rd_u32(r);
    if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "truncated before the variable count");
    if (V < 1 || V > MAX_VARIABLES)
        return fail(c, MCINR_ERR_FORMAT, "variable count %u is outside 1 ... %u", V, MAX_VARIABLES);
    /* Each variable takes at least 7 bytes (name length, one name byte, components). */
    if ((uint64_t)V * 7u > rd_left(r))
        return fail(c, MCINR_ERR_FORMAT, "%u variables do not fit in the %zu remaining bytes", V, rd_left(r));
    mcinr_status st = charge(c, 1, times(V, sizeof(char *) + 2 * sizeof(size_t)), "the variable table");
    if (st != MCINR_OK) return st;
    m->variable_names = calloc(V, sizeof *m->variable_names);
    m->variable_components = calloc(V, sizeof(size_t));
    m->variable_first = calloc(V, sizeof(size_t));
    if (!m->variable_names || !m->variable_components || !m->variable_first)
        return fail(c, MCINR_ERR_NOMEM, "out of memory for %u variables", V);
    m->num_variables = V;
    size_t total = 0;
    for (uint32_t v = 0; v < V; v++) {
        uint16_t name_len = rd_u16(r);
        const uint8_t *name = rd_take(r, name_len);
        uint32_t comps = rd_u32(r);
        if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "truncated in variable %u", v);
        if (name_len == 0) return fail(c, MCINR_ERR_FORMAT, "variable %u has an empty name", v);
        if (memchr(name, 0, name_len)) return fail(c, MCINR_ERR_FORMAT, "variable %u has a NUL byte in its name", v);
        /* printable, as train requires of its input (MeshIO's validateArrayNames): no control
         * character (Unicode Cc: bytes 0x01-0x1F, 0x7F, and U+0080-U+009F as UTF-8 0xC2 0x80-0x9F),
         * which would make a .vtu that ParaView cannot parse */
        for (uint16_t k = 0; k < name_len; k++)
            if (name[k] < 0x20 || name[k] == 0x7F || (name[k] == 0xC2 && k + 1 < name_len && name[k + 1] >= 0x80 &&
                                                       name[k + 1] <= 0x9F))
                return fail(c, MCINR_ERR_FORMAT, "variable %u has a control character in its name (byte %u of %u: "
                            "0x%02X)", v, (unsigned)k, (unsigned)name_len, name[k] == 0xC2 ? name[k + 1] : name[k]);
        if (comps < 1 || comps > MAX_VAR_COMPONENTS)
            return fail(c, MCINR_ERR_FORMAT, "variable %u declares %u components (allowed 1 ... %u)", v, comps,
                        MAX_VAR_COMPONENTS);
        if ((st = charge(c, 1, (uint64_t)name_len + 1, "a variable name")) != MCINR_OK) return st;
        m->variable_names[v] = malloc((size_t)name_len + 1);
        if (!m->variable_names[v]) return fail(c, MCINR_ERR_NOMEM, "out of memory for variable names");
        memcpy(m->variable_names[v], name, name_len);
        m->variable_names[v][name_len] = '\0';
        m->variable_components[v] = comps;
        m->variable_first[v] = total;
        total += comps;
    }
    if ((st = unique_names(c, m)) != MCINR_OK) return st;
    uint32_t C = rd_u32(r);
    if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "truncated before the component count");
    if (C != total)
        return fail(c, MCINR_ERR_FORMAT, "component count %u differs from the variables' total %zu", C, total);
    if ((uint64_t)C * 16u > rd_left(r)) return fail(c, MCINR_ERR_FORMAT, "truncated in the component ranges");
    m->num_components = C;
    if ((st = charge(c, 1, times(C, 2 * sizeof(double)), "the component ranges")) != MCINR_OK) return st;
    m->range_min = malloc(C * sizeof(double));
    m->range_max = malloc(C * sizeof(double));
    if (!m->range_min || !m->range_max) return fail(c, MCINR_ERR_NOMEM, "out of memory for component ranges");
    for (uint32_t k = 0; k < C; k++) {
        double lo = rd_f64(r), hi = rd_f64(r);
        if (!isfinite(lo) || !isfinite(hi) || hi < lo)
            return fail(c, MCINR_ERR_FORMAT, "component %u has an invalid range [%g, %g]", k, lo, hi);
        m->range_min[k] = lo;
        m->range_max[k] = hi;
    }
    uint32_t T = rd_u32(r);
    if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "truncated before the time-step count");
    if (T < 1 || T > MAX_TIMES)
        return fail(c, MCINR_ERR_FORMAT, "time-step count %u is outside 1 ... %u", T, MAX_TIMES);
    if ((uint64_t)T * 8u > rd_left(r)) return fail(c, MCINR_ERR_FORMAT, "truncated in the %u time values", T);
    if ((st = charge(c, 1, times(T, sizeof(double)), "the time steps")) != MCINR_OK) return st;
    m->times = malloc((size_t)T * sizeof(double));
    if (!m->times) return fail(c, MCINR_ERR_NOMEM, "out of memory for %u time steps", T);
    m->num_times = T;
    for (uint32_t t = 0; t < T; t++) {
        m->times[t] = rd_f64(r);
        if (!isfinite(m->times[t])) return fail(c, MCINR_ERR_FORMAT, "time %u is not finite", t);
        if (t > 0 && !(m->times[t] > m->times[t - 1]))
            return fail(c, MCINR_ERR_FORMAT, "times are not strictly increasing at step %u", t);
    }
    for (int i = 0; i < 3; i++) m->bbox_min[i] = rd_f64(r);
    for (int i = 0; i < 3; i++) m->bbox_max[i] = rd_f64(r);
    m->time_min = rd_f64(r);
    m->time_max = rd_f64(r);
    m->num_points = rd_u64(r);
    m->num_cells = rd_u64(r);
    m->raw_field_bytes = rd_u64(r);
    if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "truncated in the bounding box, time interval or counts");
    for (int i = 0; i < 3; i++)
        if (!isfinite(m->bbox_min[i]) || !isfinite(m->bbox_max[i]) || m->bbox_max[i] < m->bbox_min[i])
            return fail(c, MCINR_ERR_FORMAT, "invalid bounding box on axis %d: [%g, %g]", i, m->bbox_min[i],
                        m->bbox_max[i]);
    if (!isfinite(m->time_min) || !isfinite(m->time_max) || m->time_max < m->time_min)
        return fail(c, MCINR_ERR_FORMAT, "invalid time interval [%g, %g]", m->time_min, m->time_max);
    /* the normalisation computes 2 (x - min) / (max - min) - 1: if 2 (max - min) overflows to
     * infinity, points inside the box give inf / inf = NaN (every decoded value NaN) */
    for (int i = 0; i < 3; i++)
        if (!isfinite(2.0 * (m->bbox_max[i] - m->bbox_min[i])))
            return fail(c, MCINR_ERR_FORMAT, "the bounding box on axis %d, [%g, %g], is too large: twice its extent "
                        "overflows a double, so coordinates inside it cannot be normalised", i, m->bbox_min[i],
                        m->bbox_max[i]);
    if (!isfinite(2.0 * (m->time_max - m->time_min)))
        return fail(c, MCINR_ERR_FORMAT, "the time interval [%g, %g] is too large: twice its length overflows a "
                    "double, so times cannot be normalised", m->time_min, m->time_max);
    if (rd_left(r) != 0) return fail(c, MCINR_ERR_FORMAT, "%zu unexpected bytes after the content", rd_left(r));
    return MCINR_OK;
}

/* ---- NETS: pass 1 (fill == 0) validates and counts, pass 2 fills preallocated storage ---- */

typedef struct nets_count {
    size_t modules, branches, floats;
    uint64_t stored_bytes; /* tensor bytes as encoded in the file */
} nets_count;

typedef struct nets_fill {
    mci_module *module_next;
    mci_branch *branch_next;
    float *float_next;
} nets_fill;

enum { ENC_F32 = 0, ENC_F16 = 1, ENC_I8 = 2 };

/* Stored bytes of a tensor of n values in an encoding; `rows` > 0 for a matrix (int8 keeps one
 * f32 scale per row and stores biases as f32). n ≤ 2^32, so no overflow. */
static uint64_t tensor_stored_bytes(int encoding, uint64_t n, uint64_t rows) {
    if (encoding == ENC_F16) return 2 * n;
    if (encoding == ENC_I8 && rows > 0) return 4 * rows + n;
    return 4 * n;
}

/* IEEE binary16 → float32, exact; infinities and NaNs clear *finite. */
static float half_to_f32(uint16_t h, int *finite) {
    unsigned e = (h >> 10) & 0x1Fu, f = h & 0x3FFu;
    if (e == 31) {
        *finite = 0;
        return 0.0f;
    }
    float v = e == 0 ? ldexpf((float)f, -24) : ldexpf((float)(f | 0x400u), (int)e - 25);
    return (h & 0x8000u) ? -v : v;
}

/* Reads one tensor of n values (a matrix of `rows` rows, or a bias with rows = 0) in
 * `encoding` and converts it to float32 into dst (NULL: validate only). Returns NULL or what
 * is wrong with the values. */
static const char *read_tensor(rd *r, int encoding, uint64_t n, uint64_t rows, float *dst) {
    uint64_t bytes = tensor_stored_bytes(encoding, n, rows);
    const uint8_t *q = bytes <= rd_left(r) ? rd_take(r, (size_t)bytes) : NULL;
    if (!q) {
        r->ok = 0;
        return "is truncated";
    }
    int finite = 1;
    if (encoding == ENC_F16) {
        for (uint64_t i = 0; i < n; i++) {
            float f = half_to_f32((uint16_t)mci_get_le(q + 2 * i, 2), &finite);
            if (dst) dst[i] = f;
        }
    } else if (encoding == ENC_I8 && rows > 0) {
        uint64_t cols = n / rows;
        const uint8_t *qs = q + 4 * rows;
        for (uint64_t row = 0; row < rows; row++) {
            float scale = bits_to_f32((uint32_t)mci_get_le(q + 4 * row, 4));
            if (!isfinite(scale) || !(scale >= 0.0f)) return "has a negative or non-finite int8 scale";
            for (uint64_t k = row * cols; k < (row + 1) * cols; k++) {
                int v = qs[k] < 128 ? (int)qs[k] : (int)qs[k] - 256;
                if (v == -128) return "has the int8 value -128 (allowed -127 ... 127)";
                if (dst) dst[k] = (float)v * scale; /* one float32 product, as the spec says */
            }
        }
    } else {
        for (uint64_t i = 0; i < n; i++) {
            float f = bits_to_f32((uint32_t)mci_get_le(q + 4 * i, 4));
            if (!isfinite(f)) finite = 0;
            if (dst) dst[i] = f;
        }
    }
    return finite ? NULL : "has a non-finite weight";
}

/* Parses one module whose input width must be `in_width`; `mod` receives it (weight pointers
 * are NULL in pass 1). */
static mcinr_status parse_module(ctx *c, rd *r, size_t in_width, const char *where, mci_module *mod,
                                 nets_count *count, nets_fill *fill) {
    uint8_t kind = rd_u8(r), encoding = rd_u8(r);
    uint16_t reserved = rd_u16(r);
    uint32_t in = rd_u32(r), out = rd_u32(r);
    if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "%s is truncated in its header", where);
    if (kind < MODULE_SINE || kind > MODULE_LINEAR)
        return fail(c, MCINR_ERR_FORMAT, "%s has unknown kind %u", where, kind);
    if (encoding > ENC_I8)
        return fail(c, MCINR_ERR_VERSION,
                    "%s uses unknown weight encoding %u (this decoder reads 0 = float32, 1 = float16, 2 = int8)",
                    where, encoding);
    if (reserved != 0) return fail(c, MCINR_ERR_FORMAT, "%s has non-zero reserved bits", where);
    if (in < 1 || in > MAX_WIDTH)
        return fail(c, MCINR_ERR_FORMAT, "%s declares %u inputs (allowed 1 ... %u)", where, in, MAX_WIDTH);
    if (out < 1 || out > MAX_WIDTH)
        return fail(c, MCINR_ERR_FORMAT, "%s declares %u outputs (allowed 1 ... %u)", where, out, MAX_WIDTH);
    if (in != in_width)
        return fail(c, MCINR_ERR_FORMAT, "%s declares %u inputs but receives %zu values", where, in, in_width);
    /* Tensor sizes: at most 3 · 2^32 + 3 · 2^16 floats, no 64-bit overflow possible. */
    uint64_t wi = (uint64_t)out * in, ww = (uint64_t)out * out;
    uint64_t sizes[6] = {wi, out, 0, 0, 0, 0};
    int ntensors = 2;
    if (kind == MODULE_RESBLOCK) {
        sizes[2] = ww;
        sizes[3] = out;
        ntensors = 4;
        if (in != out) {
            sizes[4] = wi;
            sizes[5] = out;
            ntensors = 6;
        }
    }
    /* Even tensors are matrices of `out` rows, odd ones biases. Sums stay below 2^36. */
    uint64_t total = 0, stored = 0;
    for (int t = 0; t < ntensors; t++) {
        total += sizes[t];
        stored += tensor_stored_bytes(encoding, sizes[t], t % 2 == 0 ? out : 0);
    }
    if (stored > rd_left(r))
        return fail(c, MCINR_ERR_FORMAT, "%s needs %llu weight bytes but only %zu remain", where,
                    (unsigned long long)stored, rd_left(r));
    const float *ptr[6] = {0};
    for (int t = 0; t < ntensors; t++) {
        float *dst = fill ? fill->float_next : NULL;
        const char *bad = read_tensor(r, encoding, sizes[t], t % 2 == 0 ? out : 0, dst);
        if (bad) return fail(c, MCINR_ERR_FORMAT, "%s %s in tensor %d", where, bad, t);
        if (fill) {
            ptr[t] = dst;
            fill->float_next += sizes[t];
        }
    }
    count->floats += (size_t)total;
    count->stored_bytes += stored;
    count->modules++;
    mod->kind = kind;
    mod->in = in;
    mod->out = out;
    mod->W = ptr[0];
    mod->b = ptr[1];
    mod->W2 = ptr[2];
    mod->b2 = ptr[3];
    mod->Wt = ptr[4];
    mod->bt = ptr[5];
    return MCINR_OK;
}

static mcinr_status parse_network(ctx *c, rd *r, size_t n, size_t C, mci_network *net, nets_count *count,
                                  nets_fill *fill) {
    char where[160];
    mci_module scratch;
    for (int i = 0; i < 4; i++) net->in_offset[i] = rd_f32(r);
    for (int i = 0; i < 4; i++) net->in_scale[i] = rd_f32(r);
    uint32_t L = rd_u32(r);
    net->omega0 = rd_f32(r);
    uint32_t num_trunk = rd_u32(r);
    if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "network %zu is truncated in its header", n);
    for (int i = 0; i < 4; i++)
        if (!isfinite(net->in_offset[i]) || !isfinite(net->in_scale[i]))
            return fail(c, MCINR_ERR_FORMAT, "network %zu has a non-finite input map", n);
    if (L > MAX_PE_FREQS)
        return fail(c, MCINR_ERR_FORMAT, "network %zu has %u encoding frequencies (allowed 0 ... %u)", n, L,
                    MAX_PE_FREQS);
    if (!isfinite(net->omega0)) return fail(c, MCINR_ERR_FORMAT, "network %zu has a non-finite omega0", n);
    if (num_trunk > MAX_TRUNK_MODULES)
        return fail(c, MCINR_ERR_FORMAT, "network %zu declares %u trunk modules (allowed 0 ... %u)", n, num_trunk,
                    MAX_TRUNK_MODULES);
    net->pe_freqs = L;
    net->num_trunk = num_trunk;
    size_t enc = 4u * (1u + 2u * (size_t)L);
    size_t width = enc, max_width = enc;
    net->trunk = fill ? fill->module_next : NULL;
    if (fill) fill->module_next += num_trunk;
    for (uint32_t k = 0; k < num_trunk; k++) {
        mci_module *mod = fill ? &net->trunk[k] : &scratch;
        snprintf(where, sizeof where, "module %u of the trunk of network %zu", k, n);
        mcinr_status s = parse_module(c, r, width, where, mod, count, fill);
        if (s != MCINR_OK) return s;
        width = mod->out;
        if (width > max_width) max_width = width;
    }
    uint32_t num_branches = rd_u32(r);
    if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "network %zu is truncated before its branch count", n);
    if (num_branches < 1 || num_branches > MAX_BRANCHES)
        return fail(c, MCINR_ERR_FORMAT, "network %zu declares %u branches (allowed 1 ... %u)", n, num_branches,
                    MAX_BRANCHES);
    net->num_branches = num_branches;
    net->branches = fill ? fill->branch_next : NULL;
    if (fill) fill->branch_next += num_branches;
    count->branches += num_branches;
    size_t outputs = 0;
    for (uint32_t b = 0; b < num_branches; b++) {
        uint32_t num_modules = rd_u32(r);
        if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "branch %u of network %zu is truncated", b, n);
        if (num_modules < 1 || num_modules > MAX_BRANCH_MODULES)
            return fail(c, MCINR_ERR_FORMAT, "branch %u of network %zu declares %u modules (allowed 1 ... %u)", b, n,
                        num_modules, MAX_BRANCH_MODULES);
        mci_module *mods = fill ? fill->module_next : NULL;
        if (fill) fill->module_next += num_modules;
        size_t w = width;
        for (uint32_t k = 0; k < num_modules; k++) {
            mci_module *mod = fill ? &mods[k] : &scratch;
            snprintf(where, sizeof where, "module %u of branch %u of network %zu", k, b, n);
            mcinr_status s = parse_module(c, r, w, where, mod, count, fill);
            if (s != MCINR_OK) return s;
            w = mod->out;
            if (w > max_width) max_width = w;
        }
        if (fill) {
            net->branches[b].num_modules = num_modules;
            net->branches[b].modules = mods;
            net->branches[b].first_component = outputs;
            net->branches[b].outputs = w;
        }
        outputs += w; /* at most 4096 · 65536: no overflow */
    }
    if (outputs != C)
        return fail(c, MCINR_ERR_FORMAT, "the branches of network %zu give %zu outputs but META declares %zu components",
                    n, outputs, C);
    net->max_width = max_width;
    return MCINR_OK;
}

/* Every matrix in the layout of mcinr_matmul_packed (mcinr_kernels.h), once per open: the
 * decoder's products then give each point the same value whatever points share its batch. */
/* Floats of a module's packed matrices. */
static size_t module_packed_floats(const mci_module *mod) {
    return mcinr_packed_floats(mod->in, mod->out) + (mod->W2 ? mcinr_packed_floats(mod->out, mod->out) : 0) +
           (mod->Wt ? mcinr_packed_floats(mod->in, mod->out) : 0);
}

/* W (out × in) packed at *next, which then moves past it; NULL for an absent matrix. */
static const float *pack_into(const float *W, size_t out, size_t in, float **next) {
    if (!W) return NULL;
    float *packed = *next;
    mcinr_pack_matrix(W, out, in, packed);
    *next += mcinr_packed_floats(in, out);
    return packed;
}

static mcinr_status pack_weights(ctx *c, mcinr_model *m) {
    size_t total = 0, modules = 0;
    for (size_t n = 0; n < m->num_networks; n++) {
        const mci_network *net = &m->networks[n];
        modules += net->num_trunk;
        for (size_t b = 0; b < net->num_branches; b++) modules += net->branches[b].num_modules;
    }
    mci_module *mods = m->module_storage;
    for (size_t i = 0; i < modules; i++) total += module_packed_floats(&mods[i]);
    mcinr_status st = charge(c, 1, times(total + 1, sizeof(float)), "the packed weights");
    if (st != MCINR_OK) return st;
    float *next = m->packed_weights = malloc((total ? total : 1) * sizeof(float));
    if (!next) return fail(c, MCINR_ERR_NOMEM, "out of memory for %zu packed weights", total);
    for (size_t i = 0; i < modules; i++) {
        mci_module *mod = &mods[i];
        mod->Wp = pack_into(mod->W, mod->out, mod->in, &next);
        mod->W2p = pack_into(mod->W2, mod->out, mod->out, &next);
        mod->Wtp = pack_into(mod->Wt, mod->out, mod->in, &next);
    }
    return MCINR_OK;
}

static mcinr_status parse_nets(ctx *c, const uint8_t *payload, size_t len, mcinr_model *m) {
    nets_count count = {0, 0, 0, 0};
    mci_network scratch;
    uint32_t N;
    /* Pass 1: validate everything, count modules, branches and weights. */
    {
        rd r = {payload, len, 0, 1};
        N = rd_u32(&r);
        if (!r.ok) return fail(c, MCINR_ERR_FORMAT, "truncated before the network count");
        if (N < 1 || N > MAX_NETWORKS)
            return fail(c, MCINR_ERR_FORMAT, "network count %u is outside 1 ... %u", N, MAX_NETWORKS);
        for (uint32_t n = 0; n < N; n++) {
            mcinr_status s = parse_network(c, &r, n, m->num_components, &scratch, &count, NULL);
            if (s != MCINR_OK) return s;
        }
        if (rd_left(&r) != 0)
            return fail(c, MCINR_ERR_FORMAT, "%zu unexpected bytes after the last network", rd_left(&r));
    }
    /* Pass 2: the counts are bounded by the payload size, so these allocations are too (and
     * charged: inflated NETS can be 1032 times its stored bytes, and int8 weights take 4 bytes
     * each as float32). */
    uint64_t need = times(N, sizeof(mci_network));
    need += times(count.modules + 1, sizeof(mci_module)) + times(count.branches, sizeof(mci_branch));
    need += times(count.floats + 1, sizeof(float));
    char what[96];
    snprintf(what, sizeof what, "the weights of %u networks (%zu float32 values)", N, count.floats);
    mcinr_status st = charge(c, 1, need, what);
    if (st != MCINR_OK) return st;
    m->networks = calloc(N, sizeof *m->networks);
    m->module_storage = calloc(count.modules ? count.modules : 1, sizeof *m->module_storage);
    m->branch_storage = calloc(count.branches, sizeof *m->branch_storage);
    m->weights = malloc((count.floats ? count.floats : 1) * sizeof(float));
    if (!m->networks || !m->module_storage || !m->branch_storage || !m->weights)
        return fail(c, MCINR_ERR_NOMEM, "out of memory for %u networks", N);
    m->num_networks = N;
    nets_fill fill = {m->module_storage, m->branch_storage, m->weights};
    nets_count recount = {0, 0, 0, 0};
    rd r = {payload, len, 4, 1};
    m->max_width = 0;
    for (uint32_t n = 0; n < N; n++) {
        mcinr_status s = parse_network(c, &r, n, m->num_components, &m->networks[n], &recount, &fill);
        if (s != MCINR_OK) return s;
        if (m->networks[n].max_width > m->max_width) m->max_width = m->networks[n].max_width;
    }
    m->weight_bytes = count.stored_bytes;
    return pack_weights(c, m);
}

/* ---- TREE ---- */

static mcinr_status parse_tree(ctx *c, rd *r, mcinr_model *m) {
    uint32_t num_nodes = rd_u32(r), num_top = rd_u32(r);
    if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "truncated before the node counts");
    if (num_nodes < 1 || num_nodes > MAX_NODES)
        return fail(c, MCINR_ERR_FORMAT, "node count %u is outside 1 ... %u", num_nodes, MAX_NODES);
    if (num_top < 1 || num_top > num_nodes)
        return fail(c, MCINR_ERR_FORMAT, "top-level node count %u is outside 1 ... %u", num_top, num_nodes);
    if ((uint64_t)num_nodes * 40u != rd_left(r))
        return fail(c, MCINR_ERR_FORMAT, "%u nodes need %llu bytes but the section holds %zu", num_nodes,
                    (unsigned long long)num_nodes * 40u, rd_left(r));
    if (num_top > MCI_MAX_TOP_NODES && !c->oc->budget->trusted)
        return fail(c, MCINR_ERR_LIMIT, "%u top-level nodes, beyond the limit of %u (every point is compared with each: "
                    "docs/mci-format.md, Limits); %s", num_top, MCI_MAX_TOP_NODES, MCI_TRUST_HINT);
    mcinr_status st = charge(c, 1, times(num_nodes, sizeof(mci_node) + 1 + sizeof(uint32_t)), "the cluster tree");
    if (st != MCINR_OK) return st;
    m->nodes = malloc((size_t)num_nodes * sizeof *m->nodes);
    if (!m->nodes) return fail(c, MCINR_ERR_NOMEM, "out of memory for %u nodes", num_nodes);
    m->num_nodes = num_nodes;
    m->num_top = num_top;
    for (uint32_t i = 0; i < num_nodes; i++) {
        mci_node *nd = &m->nodes[i];
        for (int k = 0; k < 3; k++) nd->centroid[k] = rd_f64(r);
        nd->parent = rd_i32(r);
        nd->child0 = rd_i32(r);
        nd->child1 = rd_i32(r);
        nd->network = rd_i32(r);
        for (int k = 0; k < 3; k++)
            if (!isfinite(nd->centroid[k])) return fail(c, MCINR_ERR_FORMAT, "node %u has a non-finite centroid", i);
    }
    const int64_t nn = num_nodes;
    for (uint32_t i = 0; i < num_nodes; i++) {
        const mci_node *nd = &m->nodes[i];
        if (i < num_top) {
            if (nd->parent != -1)
                return fail(c, MCINR_ERR_FORMAT, "top-level node %u has parent %d (must be -1)", i, nd->parent);
        } else {
            if (nd->parent < 0 || nd->parent >= nn || (uint32_t)nd->parent == i)
                return fail(c, MCINR_ERR_FORMAT, "node %u has invalid parent %d", i, nd->parent);
            const mci_node *p = &m->nodes[nd->parent];
            if (p->child0 != (int32_t)i && p->child1 != (int32_t)i)
                return fail(c, MCINR_ERR_FORMAT, "node %u names parent %d, which does not name it as a child", i,
                            nd->parent);
        }
        if (nd->child0 == -1 && nd->child1 == -1) {
            if (nd->network < 0 || (uint64_t)nd->network >= m->num_networks)
                return fail(c, MCINR_ERR_FORMAT, "leaf node %u has network %d (valid: 0 ... %zu)", i, nd->network,
                            m->num_networks - 1);
        } else {
            int32_t ch[2] = {nd->child0, nd->child1};
            if (ch[0] == ch[1])
                return fail(c, MCINR_ERR_FORMAT, "node %u has children %d and %d (two distinct nodes required)", i,
                            ch[0], ch[1]);
            for (int k = 0; k < 2; k++) {
                if (ch[k] < (int32_t)num_top || ch[k] >= nn)
                    return fail(c, MCINR_ERR_FORMAT, "node %u has invalid child %d", i, ch[k]);
                if (m->nodes[ch[k]].parent != (int32_t)i)
                    return fail(c, MCINR_ERR_FORMAT, "node %u names child %d, whose parent is %d", i, ch[k],
                                m->nodes[ch[k]].parent);
            }
            if (nd->network != -1)
                return fail(c, MCINR_ERR_FORMAT, "internal node %u has network %d (must be -1)", i, nd->network);
        }
    }
    /* Every non-top node has one parent that names it, so following parents from any node
     * either reaches a top-level node or loops. state: 0 unknown, 1 on the current walk,
     * 2 reaches the top (depth known); each node is walked once, O(num_nodes). The depth (a
     * top-level node has depth 0) is the routing's descent per point. */
    uint8_t *state = calloc(num_nodes, 1);
    uint32_t *depth = calloc(num_nodes, sizeof *depth);
    if (!state || !depth) {
        free(state);
        free(depth);
        return fail(c, MCINR_ERR_NOMEM, "out of memory checking the tree");
    }
    for (uint32_t i = 0; i < num_top; i++) state[i] = 2;
    mcinr_status result = MCINR_OK;
    for (uint32_t i = num_top; i < num_nodes && result == MCINR_OK; i++) {
        int32_t at = (int32_t)i;
        uint32_t walked = 0;
        while (state[at] == 0) {
            state[at] = 1;
            walked++;
            at = m->nodes[at].parent;
        }
        int cycle = state[at] == 1;
        uint32_t d = cycle ? 0 : depth[at] + walked; /* the depth of node i; its parent's is one less */
        for (int32_t w = (int32_t)i; state[w] == 1; w = m->nodes[w].parent, d--) {
            state[w] = cycle ? 3 : 2;
            depth[w] = d;
        }
        if (cycle)
            result = fail(c, MCINR_ERR_FORMAT, "node %u lies on a cycle (not reachable from a top-level node)", i);
        else if (depth[i] > MCI_MAX_TREE_DEPTH && !c->oc->budget->trusted)
            result = fail(c, MCINR_ERR_LIMIT, "node %u lies at depth %u, beyond the limit of %u (the routing descends "
                          "it for every point: docs/mci-format.md, Limits); %s", i, depth[i], MCI_MAX_TREE_DEPTH,
                          MCI_TRUST_HINT);
    }
    free(state);
    free(depth);
    return result;
}

/* ---- MESH ---- */

/* Inflates exactly src_len bytes into exactly dst_len bytes. NULL on success, else a static
 * description of the problem. */
static const char *inflate_exact_why(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK) return "cannot initialise zlib";
    size_t in_pos = 0, out_pos = 0;
    int rc = Z_OK;
    const size_t step = (size_t)1 << 30; /* zlib counts in uInt */
    while (rc == Z_OK) {
        size_t in_chunk = src_len - in_pos < step ? src_len - in_pos : step;
        size_t out_chunk = dst_len - out_pos < step ? dst_len - out_pos : step;
        zs.next_in = (Bytef *)(uintptr_t)(src + in_pos);
        zs.avail_in = (uInt)in_chunk;
        zs.next_out = dst + out_pos;
        zs.avail_out = (uInt)out_chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        in_pos += in_chunk - zs.avail_in;
        out_pos += out_chunk - zs.avail_out;
        if (rc == Z_BUF_ERROR) {
            if (in_pos == src_len || out_pos == dst_len) break;
            rc = Z_OK;
        }
    }
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        if (rc == Z_BUF_ERROR && out_pos == dst_len) return "the zlib stream inflates to more than the declared size";
        if (rc == Z_BUF_ERROR) return "the zlib stream is truncated";
        return "corrupt zlib stream";
    }
    if (out_pos != dst_len) return "the zlib stream inflates to fewer bytes than declared";
    if (in_pos != src_len) return "unexpected bytes after the zlib stream";
    return NULL;
}

static mcinr_status inflate_exact(ctx *c, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len) {
    const char *why = inflate_exact_why(src, src_len, dst, dst_len);
    if (why) return fail(c, MCINR_ERR_FORMAT, "%s (%zu bytes declared)", why, dst_len);
    return MCINR_OK;
}

static mcinr_status parse_mesh_body(ctx *c, rd *r, mcinr_model *m) {
    uint64_t N = rd_u64(r);
    uint8_t point_type = rd_u8(r);
    rd_take(r, 7);
    if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "truncated before the points");
    if (point_type != 1 && point_type != 2)
        return fail(c, MCINR_ERR_FORMAT, "unknown point type %u (1 = f32, 2 = f64)", point_type);
    size_t psize = point_type == 1 ? 4 : 8;
    if (N < 1 || N > rd_left(r) / (3 * psize))
        return fail(c, MCINR_ERR_FORMAT, "point count %llu does not fit in the %zu remaining bytes",
                    (unsigned long long)N, rd_left(r));
    mcinr_status st = charge(c, 1, times(N, 3 * sizeof(double)), "the mesh points");
    if (st != MCINR_OK) return st;
    m->mesh_points = malloc((size_t)N * 3 * sizeof(double));
    if (!m->mesh_points) return fail(c, MCINR_ERR_NOMEM, "out of memory for %llu points", (unsigned long long)N);
    const uint8_t *q = rd_take(r, (size_t)N * 3 * psize);
    for (size_t i = 0; i < (size_t)N * 3; i++) {
        double v;
        if (psize == 4)
            v = bits_to_f32((uint32_t)mci_get_le(q + 4 * i, 4));
        else {
            uint64_t u = mci_get_le(q + 8 * i, 8);
            memcpy(&v, &u, sizeof v);
        }
        if (!isfinite(v)) return fail(c, MCINR_ERR_FORMAT, "point %zu has a non-finite coordinate", i / 3);
        m->mesh_points[i] = v;
    }
    m->mesh_num_points = (size_t)N;
    m->mesh_point_type = point_type;
    uint64_t M = rd_u64(r), conn_len = rd_u64(r);
    if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "truncated before the cells");
    /* types (1) + offsets (8) per cell, 4 per connectivity entry */
    if (M > rd_left(r) / 9 || conn_len > (rd_left(r) - M * 9) / 4 || rd_left(r) - M * 9 - conn_len * 4 != 0)
        return fail(c, MCINR_ERR_FORMAT, "%llu cells with %llu connectivity entries do not match the %zu remaining bytes",
                    (unsigned long long)M, (unsigned long long)conn_len, rd_left(r));
    if ((st = charge(c, 1, M + times(M + 1, sizeof(int64_t)) + times(conn_len, sizeof(uint32_t)), "the mesh cells")) !=
        MCINR_OK)
        return st;
    m->mesh_types = malloc(M ? (size_t)M : 1);
    m->mesh_offsets = malloc(((size_t)M + 1) * sizeof(int64_t));
    m->mesh_conn = malloc((conn_len ? (size_t)conn_len : 1) * sizeof(uint32_t));
    if (!m->mesh_types || !m->mesh_offsets || !m->mesh_conn)
        return fail(c, MCINR_ERR_NOMEM, "out of memory for %llu cells", (unsigned long long)M);
    memcpy(m->mesh_types, rd_take(r, (size_t)M), (size_t)M);
    const uint8_t *offs = rd_take(r, (size_t)M * 8);
    m->mesh_offsets[0] = 0;
    uint64_t prev = 0;
    for (size_t i = 0; i < (size_t)M; i++) {
        uint64_t o = mci_get_le(offs + 8 * i, 8);
        if (o < prev || o > conn_len)
            return fail(c, MCINR_ERR_FORMAT, "cell %zu has end offset %llu (previous %llu, connectivity size %llu)", i,
                        (unsigned long long)o, (unsigned long long)prev, (unsigned long long)conn_len);
        m->mesh_offsets[i + 1] = (int64_t)o;
        prev = o;
    }
    if (prev != conn_len)
        return fail(c, MCINR_ERR_FORMAT, "the last cell ends at %llu, not at the connectivity size %llu",
                    (unsigned long long)prev, (unsigned long long)conn_len);
    const uint8_t *conn = rd_take(r, (size_t)conn_len * 4);
    for (size_t i = 0; i < (size_t)conn_len; i++) m->mesh_conn[i] = (uint32_t)mci_get_le(conn + 4 * i, 4);
    /* every cell against the one rule (cells.c): its type, point count, indices and no
     * degenerate tetrahedron; the offsets cover every connectivity entry */
    if ((st = charge(c, 0, M + conn_len, "validating the mesh cells")) != MCINR_OK) return st;
    for (size_t i = 0; i < (size_t)M; i++) {
        char what[200];
        size_t from = (size_t)m->mesh_offsets[i];
        if (mci_check_cell(i, m->mesh_types[i], m->mesh_conn + from, (size_t)m->mesh_offsets[i + 1] - from, N, what,
                           sizeof what))
            return fail(c, MCINR_ERR_FORMAT, "%s", what);
    }
    m->mesh_num_cells = (size_t)M;
    m->mesh_conn_len = (size_t)conn_len;
    m->has_mesh = 1;
    return MCINR_OK;
}

static mcinr_status parse_mesh(ctx *c, rd *r, mcinr_model *m) {
    uint64_t size = rd_u64(r);
    if (!r->ok) return fail(c, MCINR_ERR_FORMAT, "truncated before the uncompressed size");
    size_t compressed = rd_left(r);
    /* zlib cannot expand more than ~1032:1, so a larger claim is corrupt (and must not
     * drive a huge allocation). */
    uint64_t limit = (uint64_t)compressed > (UINT64_MAX - 64) / MAX_DEFLATE_RATIO
                         ? UINT64_MAX
                         : (uint64_t)compressed * MAX_DEFLATE_RATIO + 64;
    if (size > limit || size > SIZE_MAX)
        return fail(c, MCINR_ERR_FORMAT, "declares %llu uncompressed bytes from %zu compressed bytes",
                    (unsigned long long)size, compressed);
    mcinr_status st = charge(c, 1, size, "inflating the mesh");
    if (st == MCINR_OK) st = charge(c, 0, size, "inflating the mesh");
    if (st != MCINR_OK) return st;
    uint8_t *body = malloc(size ? (size_t)size : 1);
    if (!body) return fail(c, MCINR_ERR_NOMEM, "out of memory for %llu mesh bytes", (unsigned long long)size);
    mcinr_status s = inflate_exact(c, r->p + r->pos, compressed, body, (size_t)size);
    if (s == MCINR_OK) {
        rd br = {body, (size_t)size, 0, 1};
        s = parse_mesh_body(c, &br, m);
    }
    free(body);
    return s;
}

/* ---- Compressed sections (flag bit 1): u64 size, then a zlib stream ---- */

/* The inflated size a compressed payload declares, if it passes the format's checks (at least
 * 8 bytes, at most zlib's maximum expansion); else UINT64_MAX. */
static uint64_t declared_inflated_size(const uint8_t *payload, size_t length) {
    if (length < 8) return UINT64_MAX;
    uint64_t size = mci_get_le(payload, 8);
    size_t compressed = length - 8;
    uint64_t limit = (uint64_t)compressed > (UINT64_MAX - 64) / MAX_DEFLATE_RATIO
                         ? UINT64_MAX
                         : (uint64_t)compressed * MAX_DEFLATE_RATIO + 64;
    return size > limit || size > SIZE_MAX - 1 ? UINT64_MAX : size;
}

/* Inflates the payload of a known section stored with the compressed flag into a buffer owned
 * by the model (released after parsing) and points payload/length at it. MESH and RESIDUAL
 * hold compressed streams of their own, so a compressed MESH or RESIDUAL would be compression
 * inside compression, whose expansions multiply: no writer makes one, and it is refused. */
static mcinr_status inflate_section(ctx *c, int type, const uint8_t **payload, size_t *length, mcinr_model *m) {
    c->section = section_names[type];
    if (type == SEC_MESH || type == SEC_RESIDUAL_PREDICTED || type == SEC_MESHC)
        return fail(c, MCINR_ERR_FORMAT, "stored compressed (flag bit 1), but its content is already compressed (%s): "
                    "nested compression is not allowed (docs/mci-format.md, Compressed sections)",
                    type == SEC_MESH ? "a zlib stream" : type == SEC_MESHC ? "range-coded chunks"
                                                                            : "zstd or range-coded streams");
    if (*length < 8) return fail(c, MCINR_ERR_FORMAT, "compressed payload of %zu bytes has no size", *length);
    uint64_t size = mci_get_le(*payload, 8);
    size_t compressed = *length - 8;
    if (declared_inflated_size(*payload, *length) == UINT64_MAX)
        return fail(c, MCINR_ERR_FORMAT, "compressed payload declares %llu bytes from %zu compressed bytes",
                    (unsigned long long)size, compressed);
    mcinr_status s = charge(c, 1, size, "inflating the section");
    if (s == MCINR_OK) s = charge(c, 0, size, "inflating the section");
    if (s != MCINR_OK) return s;
    m->inflated[type] = malloc(size ? (size_t)size : 1);
    if (!m->inflated[type])
        return fail(c, MCINR_ERR_NOMEM, "out of memory for %llu inflated bytes", (unsigned long long)size);
    s = inflate_exact(c, *payload + 8, compressed, m->inflated[type], (size_t)size);
    if (s != MCINR_OK) return s;
    *payload = m->inflated[type];
    *length = (size_t)size;
    return MCINR_OK;
}

static void release_inflated(mcinr_model *m) {
    for (int type = 0; type <= SEC_LAST; type++) {
        free(m->inflated[type]);
        m->inflated[type] = NULL;
    }
}

/* ---- Container ---- */

static uint32_t crc_of(const uint8_t *p, size_t n) {
    uLong crc = crc32(0L, Z_NULL, 0);
    const size_t step = (size_t)1 << 30;
    while (n > 0) {
        size_t k = n < step ? n : step;
        crc = crc32(crc, p, (uInt)k);
        p += k;
        n -= k;
    }
    return (uint32_t)crc;
}

void mcinr_close(mcinr_model *m) {
    if (!m) return;
    if (m->variable_names)
        for (size_t v = 0; v < m->num_variables; v++) free(m->variable_names[v]);
    free(m->variable_names);
    free(m->variable_components);
    free(m->variable_first);
    free(m->range_min);
    free(m->range_max);
    free(m->times);
    free(m->json);
    free(m->nodes);
    free(m->networks);
    free(m->module_storage);
    free(m->branch_storage);
    free(m->weights);
    free(m->packed_weights);
    free(m->mesh_points);
    free(m->mesh_types);
    free(m->mesh_offsets);
    free(m->mesh_conn);
    mci_free_meshx(m);
    mci_free_meshc(m);
    release_inflated(m);
    mci_free_residual(m);
    free(m);
}

/* Progress weights: the estimated work of each step of an open, in bytes processed (the
 * checksums, inflation, parsing; the residual chains in index reconstructions, which cost
 * about RESIDUAL_INDEX_BYTES bytes of checksum each). Only the progress bar depends on them. */
#define RESIDUAL_INDEX_BYTES 8.0

static double inflated_estimate(const uint8_t *payload, size_t length, int compressed) {
    if (!compressed) return (double)length;
    uint64_t size = declared_inflated_size(payload, length);
    return size == UINT64_MAX ? 0.0 : (double)size;
}

static mcinr_status parse_file(ctx *c, const uint8_t *data, size_t size, mcinr_model *m) {
    if (size < 16) return fail(c, MCINR_ERR_FORMAT, "file is too short for an .mci header (%zu bytes)", size);
    static const uint8_t magic[8] = {'M', 'C', 'I', 'N', 'R', 0, '\r', '\n'};
    if (memcmp(data, magic, 8) != 0) return fail(c, MCINR_ERR_FORMAT, "not an .mci file (bad magic)");
    rd r = {data, size, 8, 1};
    m->major = rd_u16(&r);
    m->minor = rd_u16(&r);
    uint32_t count = rd_u32(&r);
    if (m->major != MCINR_FORMAT_MAJOR)
        return fail(c, MCINR_ERR_VERSION, "format version %u.%u is not supported (this decoder reads %d.x)", m->major,
                    m->minor, MCINR_FORMAT_MAJOR);
    if (count < 1 || count > MAX_SECTIONS)
        return fail(c, MCINR_ERR_FORMAT, "section count %u is outside 1 ... %u", count, MAX_SECTIONS);
    uint64_t table_end = 16u + 32u * (uint64_t)count;
    if (table_end > size)
        return fail(c, MCINR_ERR_FORMAT, "the section table (%u entries) is truncated: file has %zu bytes", count, size);
    const uint8_t *payload[SEC_LAST + 1] = {0};
    size_t length[SEC_LAST + 1] = {0};
    uint32_t section_flags[SEC_LAST + 1] = {0};
    /* the table first (cheap), so that the progress weights are known before the checksums */
    double crc_bytes = 0.0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t type = rd_u32(&r);
        (void)rd_u32(&r);
        uint64_t offset = rd_u64(&r), len = rd_u64(&r);
        (void)rd_u64(&r);
        const char *name = type >= 1 && type <= SEC_LAST ? section_names[type] : "unknown";
        if (offset < table_end || len > size || offset > size - len)
            return fail(c, MCINR_ERR_FORMAT, "section %u (%s, type %u) at offset %llu with length %llu lies outside "
                        "the file's payload area (%llu ... %zu)", i, name, type, (unsigned long long)offset,
                        (unsigned long long)len, (unsigned long long)table_end, size);
        crc_bytes += (double)len;
    }
    {
        /* estimates from the entries as stored (a known type's first entry; duplicates fail below) */
        const uint8_t *p[SEC_LAST + 1] = {0};
        size_t l[SEC_LAST + 1] = {0};
        int z[SEC_LAST + 1] = {0};
        for (uint32_t i = 0; i < count; i++) {
            const uint8_t *e = data + 16 + 32 * (size_t)i;
            uint32_t type = (uint32_t)mci_get_le(e, 4);
            if (type < 1 || type > SEC_LAST || p[type]) continue;
            p[type] = data + mci_get_le(e + 8, 8);
            l[type] = (size_t)mci_get_le(e + 16, 8);
            z[type] = (mci_get_le(e + 4, 4) & SECTION_COMPRESSED) != 0;
        }
        double total = crc_bytes;
        for (int t = 1; t <= SEC_LAST; t++) {
            if (!p[t]) continue;
            double inflated = inflated_estimate(p[t], l[t], z[t]);
            if (z[t]) total += inflated; /* inflating */
            total += t == SEC_NETS ? 2.0 * inflated : inflated;
        }
        if (p[SEC_MESH] && l[SEC_MESH] >= 8) { /* the mesh body, inflated and parsed */
            uint64_t body = mci_get_le(p[SEC_MESH], 8), cap = (uint64_t)l[SEC_MESH] * MAX_DEFLATE_RATIO + 64;
            total += 2.0 * (double)(body < cap ? body : cap);
        }
        if (p[SEC_RESIDUAL_PREDICTED] && !z[SEC_RESIDUAL_PREDICTED] && c->oc->validate_residual)
            total += RESIDUAL_INDEX_BYTES * mci_residual_estimate(p[SEC_RESIDUAL_PREDICTED], l[SEC_RESIDUAL_PREDICTED]);
        c->total = total;
        c->done = 0.0;
    }
    mcinr_status s;
    r.pos = 16;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t type = rd_u32(&r), flags = rd_u32(&r);
        uint64_t offset = rd_u64(&r), len = rd_u64(&r);
        uint32_t crc = rd_u32(&r);
        (void)rd_u32(&r);
        const char *name = type >= 1 && type <= SEC_LAST ? section_names[type] : "unknown";
        uint32_t actual = crc_of(data + offset, (size_t)len);
        if (actual != crc)
            return fail(c, MCINR_ERR_CHECKSUM, "section %u (%s, type %u): CRC-32 is %08x, the table says %08x", i, name,
                        type, actual, crc);
        if (type == SEC_RETIRED_RESIDUAL) /* whatever its flags: ignoring it would drop the error bound */
            return fail(c, MCINR_ERR_VERSION, "section %u has type 6, the RESIDUAL of format 1.1, which is retired (no "
                        "writer ever produced it) and not read by this decoder; error-bounded files use type 7", i);
        if (type >= 1 && type <= SEC_LAST) {
            if (payload[type])
                return fail(c, MCINR_ERR_FORMAT, "section %s occurs more than once", name);
            payload[type] = data + offset;
            length[type] = (size_t)len;
            section_flags[type] = flags;
        } else if (flags & 1u) {
            return fail(c, MCINR_ERR_VERSION, "section %u has unknown type %u and is marked required", i, type);
        }
        if ((s = step_done(c, (double)len)) != MCINR_OK) return s;
    }
    static const int required[3] = {SEC_META, SEC_TREE, SEC_NETS};
    for (int k = 0; k < 3; k++)
        if (!payload[required[k]])
            return fail(c, MCINR_ERR_FORMAT, "required section %s is missing", section_names[required[k]]);
    size_t nets_stored = length[SEC_NETS];
    for (int type = 1; type <= SEC_LAST; type++) {
        if (!payload[type] || !(section_flags[type] & SECTION_COMPRESSED)) continue;
        if ((s = inflate_section(c, type, &payload[type], &length[type], m)) != MCINR_OK) return s;
        if ((s = step_done(c, (double)length[type])) != MCINR_OK) return s;
    }
    c->section = "META";
    rd meta = {payload[SEC_META], length[SEC_META], 0, 1};
    if ((s = parse_meta(c, &meta, m)) != MCINR_OK) return s;
    if ((s = step_done(c, (double)length[SEC_META])) != MCINR_OK) return s;
    c->section = "NETS";
    if ((s = parse_nets(c, payload[SEC_NETS], length[SEC_NETS], m)) != MCINR_OK) return s;
    if (section_flags[SEC_NETS] & SECTION_COMPRESSED) /* the headers' share of the compression removed */
        m->weight_bytes = (uint64_t)llround((double)m->weight_bytes * (double)nets_stored / (double)length[SEC_NETS]);
    if ((s = step_done(c, 2.0 * (double)length[SEC_NETS])) != MCINR_OK) return s;
    c->section = "TREE";
    if (payload[SEC_SEAM]) { /* 16 bytes: f64 margin, 8 reserved zero bytes */
        rd seam = {payload[SEC_SEAM], length[SEC_SEAM], 0, 1};
        double margin = rd_f64(&seam);
        uint64_t reserved = rd_u64(&seam);
        if (length[SEC_SEAM] != 16 || !(margin > 0.0 && margin <= 2.0) || reserved != 0)
            return fail(c, MCINR_ERR_FORMAT, "SEAM: %zu bytes, margin %g, reserved %llu (expected 16 bytes, a margin in (0, 2], 0)",
                        length[SEC_SEAM], margin, (unsigned long long)reserved);
        m->seam_margin = margin;
    }
    rd tree = {payload[SEC_TREE], length[SEC_TREE], 0, 1};
    if ((s = parse_tree(c, &tree, m)) != MCINR_OK) return s;
    if ((s = step_done(c, (double)length[SEC_TREE])) != MCINR_OK) return s;
    c->section = "JSON";
    const char *json = payload[SEC_JSON] ? (const char *)payload[SEC_JSON] : "{}";
    size_t json_len = payload[SEC_JSON] ? length[SEC_JSON] : 2;
    if (memchr(json, 0, json_len)) return fail(c, MCINR_ERR_FORMAT, "the text contains a NUL byte");
    if ((s = charge(c, 1, (uint64_t)json_len + 1, "the JSON text")) != MCINR_OK) return s;
    m->json = malloc(json_len + 1);
    if (!m->json) return fail(c, MCINR_ERR_NOMEM, "out of memory for %zu bytes of JSON", json_len);
    memcpy(m->json, json, json_len);
    m->json[json_len] = '\0';
    if (payload[SEC_JSON] && (s = step_done(c, (double)json_len)) != MCINR_OK) return s;
    if (payload[SEC_MESH]) {
        c->section = "MESH";
        rd mesh = {payload[SEC_MESH], length[SEC_MESH], 0, 1};
        if ((s = parse_mesh(c, &mesh, m)) != MCINR_OK) return s;
        uint64_t body = mci_get_le(payload[SEC_MESH], 8); /* checked by parse_mesh */
        if ((s = step_done(c, (double)length[SEC_MESH] + 2.0 * (double)body)) != MCINR_OK) return s;
        m->mesh_bytes = length[SEC_MESH];
    }
    if (payload[SEC_MESHC]) { /* the chunked mesh (format 1.3, mesh_codec.c) */
        c->section = "MESHC";
        if (payload[SEC_MESH]) return fail(c, MCINR_ERR_FORMAT, "a file holds MESH or MESHC, not both");
        if ((s = mci_parse_meshc(c->name, payload[SEC_MESHC], length[SEC_MESHC], m, c->oc, c->err, c->err_len)) !=
            MCINR_OK)
            return s;
        m->mesh_bytes = length[SEC_MESHC];
        if ((s = step_done(c, 0.0)) != MCINR_OK) return s;
    }
    if (payload[SEC_MESHX]) { /* the MESHC index (format 1.5, mesh_index.c) */
        c->section = "MESHX";
        if (payload[SEC_RESIDUAL_PREDICTED])
            return fail(c, MCINR_ERR_FORMAT, "a file with a RESIDUAL section has no MESHX (the residual's chains "
                        "run over every point, so its values are evaluated as without an index)");
        if ((s = mci_parse_meshx(c->name, payload[SEC_MESHX], length[SEC_MESHX], m, c->oc, c->err, c->err_len)) !=
            MCINR_OK)
            return s;
    }
    if (payload[SEC_NEIGHBOURS]) { /* u32 least: the residual's neighbour rule (format 1.10) */
        c->section = "NEIGHBOURS";
        if (!payload[SEC_RESIDUAL_PREDICTED])
            return fail(c, MCINR_ERR_FORMAT, "a file without a RESIDUAL section has no NEIGHBOURS (it sets the "
                        "residual's neighbour lists)");
        if (length[SEC_NEIGHBOURS] != 4)
            return fail(c, MCINR_ERR_FORMAT, "%zu bytes (expected 4: a u32 from 1 to 32)", length[SEC_NEIGHBOURS]);
        uint32_t least = (uint32_t)mci_get_le(payload[SEC_NEIGHBOURS], 4);
        if (least < 1 || least > 32) return fail(c, MCINR_ERR_FORMAT, "least %u (expected 1 ... 32)", least);
        m->residual_nb_least = least;
    }
    if (payload[SEC_RESIDUAL_PREDICTED]) {
        c->section = "RESIDUAL";
        double from = c->total > 0.0 ? c->done / c->total : 0.0;
        /* a validation reads the cells: a MESHC mesh is decoded now; else on first use, with the
         * residual's neighbour lists and supports (mci_residual_geometry) */
        if (c->oc->validate_residual &&
            (s = mci_mesh_whole(m, c->oc->threads, c->oc->progress, c->oc->user_data, from < 1.0 ? from : 1.0,
                                from < 1.0 ? from : 1.0, c->err, c->err_len)) != MCINR_OK)
            return s;
        if ((s = mci_parse_residual(c->name, payload[SEC_RESIDUAL_PREDICTED], length[SEC_RESIDUAL_PREDICTED], m, c->oc,
                                    from < 1.0 ? from : 1.0, 1.0, c->err, c->err_len)) != MCINR_OK)
            return s;
    }
    c->section = NULL;
    c->done = c->total;
    return step_done(c, 0.0); /* exactly 1.0 */
}

static mcinr_status open_buffer(const char *name, const uint8_t *data, size_t size, const mcinr_decode_options *o,
                                mcinr_model **out, char *err, size_t err_len) {
    mci_budget budget = {o->trust_large_files != 0, size, 0, 0, 0, 0};
    budget.memory_limit = size > (UINT64_MAX - MCI_MEMORY_BASE) / MCI_MEMORY_PER_BYTE
                              ? UINT64_MAX
                              : (uint64_t)size * MCI_MEMORY_PER_BYTE + MCI_MEMORY_BASE;
    budget.work_limit = size > (UINT64_MAX - MCI_WORK_BASE) / MCI_WORK_PER_BYTE
                            ? UINT64_MAX
                            : (uint64_t)size * MCI_WORK_PER_BYTE + MCI_WORK_BASE;
    mci_open_ctx oc = {&budget, o->num_threads > 1 ? (size_t)o->num_threads : 1, o->progress, o->user_data,
                       o->validate_residual != 0};
    ctx c = {name, NULL, err, err_len, &oc, 0.0, 0.0};
    mcinr_model *m = calloc(1, sizeof *m);
    if (!m) return fail(&c, MCINR_ERR_NOMEM, "out of memory");
    mcinr_status s = parse_file(&c, data, size, m);
    release_inflated(m); /* parsed sections own copies of what they keep */
    if (s != MCINR_OK) {
        mcinr_close(m);
        return s;
    }
    *out = m;
    return MCINR_OK;
}

mcinr_status mcinr_open_memory_ex(const void *data, size_t size, const mcinr_decode_options *options,
                                  mcinr_model **out, char *err, size_t err_len) {
    if (!out) {
        mci_set_error(err, err_len, "mcinr_open_memory: `out` is NULL");
        return MCINR_ERR_ARGUMENT;
    }
    *out = NULL;
    if (!data && size > 0) {
        mci_set_error(err, err_len, "mcinr_open_memory: `data` is NULL");
        return MCINR_ERR_ARGUMENT;
    }
    mcinr_decode_options o;
    mcinr_status s = mci_read_options(options, &o, "mcinr_open_memory_ex", err, err_len);
    if (s != MCINR_OK) return s;
    static const uint8_t empty[1] = {0};
    return open_buffer("memory buffer", data ? (const uint8_t *)data : empty, size, &o, out, err, err_len);
}

mcinr_status mcinr_open_memory(const void *data, size_t size, mcinr_model **out, char *err, size_t err_len) {
    return mcinr_open_memory_ex(data, size, NULL, out, err, err_len);
}

mcinr_status mcinr_open_file_ex(const char *path, const mcinr_decode_options *options, mcinr_model **out, char *err,
                                size_t err_len) {
    if (!out || !path) {
        mci_set_error(err, err_len, "mcinr_open_file: `%s` is NULL", out ? "path" : "out");
        return MCINR_ERR_ARGUMENT;
    }
    *out = NULL;
    mcinr_decode_options o;
    mcinr_status s = mci_read_options(options, &o, "mcinr_open_file_ex", err, err_len);
    if (s != MCINR_OK) return s;
    FILE *f = fopen(path, "rb");
    if (!f) {
        mci_set_error(err, err_len, "%s: cannot open the file", path);
        return MCINR_ERR_IO;
    }
    uint8_t *data = NULL;
    size_t size = 0, cap = 0;
    struct stat st;
    int have_stat = fstat(fileno(f), &st) == 0;
    /* only regular files and pipes: a device (a link to /dev/zero would be read until memory runs
     * out) or a folder is refused before anything is read */
    if (have_stat && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        fclose(f);
        mci_set_error(err, err_len, "%s: not a regular file or a pipe (%s)", path,
                      S_ISDIR(st.st_mode) ? "a folder" : S_ISCHR(st.st_mode) ? "a character device" : "a device or socket");
        return MCINR_ERR_IO;
    }
    /* a regular file is read in one allocation of its size (+1 to see the end) */
    if (have_stat && S_ISREG(st.st_mode) && (uint64_t)st.st_size < SIZE_MAX) {
        cap = (size_t)st.st_size + 1;
        data = malloc(cap);
        if (!data) {
            fclose(f);
            mci_set_error(err, err_len, "%s: out of memory reading %llu bytes", path, (unsigned long long)st.st_size);
            return MCINR_ERR_NOMEM;
        }
    }
    for (;;) { /* read whole, growing: works for pipes and files whose size changes */
        if (size == cap) {
            size_t ncap = cap ? cap * 2 : (size_t)1 << 20;
            uint8_t *nd = ncap > cap ? realloc(data, ncap) : NULL;
            if (!nd) {
                free(data);
                fclose(f);
                mci_set_error(err, err_len, "%s: out of memory reading the file", path);
                return MCINR_ERR_NOMEM;
            }
            data = nd;
            cap = ncap;
        }
        size_t got = fread(data + size, 1, cap - size, f);
        size += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(data);
        mci_set_error(err, err_len, "%s: read error", path);
        return MCINR_ERR_IO;
    }
    s = open_buffer(path, data, size, &o, out, err, err_len);
    free(data);
    return s;
}

mcinr_status mcinr_open_file(const char *path, mcinr_model **out, char *err, size_t err_len) {
    return mcinr_open_file_ex(path, NULL, out, err, err_len);
}

/* ---- Queries ---- */

void mcinr_format_version(const mcinr_model *m, uint16_t *major, uint16_t *minor) {
    if (major) *major = m ? m->major : 0;
    if (minor) *minor = m ? m->minor : 0;
}
size_t mcinr_num_variables(const mcinr_model *m) { return m ? m->num_variables : 0; }
const char *mcinr_variable_name(const mcinr_model *m, size_t v) {
    return m && v < m->num_variables ? m->variable_names[v] : NULL;
}
size_t mcinr_variable_components(const mcinr_model *m, size_t v) {
    return m && v < m->num_variables ? m->variable_components[v] : 0;
}
size_t mcinr_variable_first_component(const mcinr_model *m, size_t v) {
    return m && v < m->num_variables ? m->variable_first[v] : 0;
}
size_t mcinr_num_components(const mcinr_model *m) { return m ? m->num_components : 0; }
mcinr_status mcinr_component_range(const mcinr_model *m, size_t k, double *min, double *max) {
    if (!m || k >= m->num_components) return MCINR_ERR_ARGUMENT;
    if (min) *min = m->range_min[k];
    if (max) *max = m->range_max[k];
    return MCINR_OK;
}
size_t mcinr_num_times(const mcinr_model *m) { return m ? m->num_times : 0; }
const double *mcinr_times(const mcinr_model *m) { return m ? m->times : NULL; }
void mcinr_bounds(const mcinr_model *m, double bmin[3], double bmax[3]) {
    for (int i = 0; i < 3; i++) {
        if (bmin) bmin[i] = m ? m->bbox_min[i] : 0.0;
        if (bmax) bmax[i] = m ? m->bbox_max[i] : 0.0;
    }
}
void mcinr_time_interval(const mcinr_model *m, double *tmin, double *tmax) {
    if (tmin) *tmin = m ? m->time_min : 0.0;
    if (tmax) *tmax = m ? m->time_max : 0.0;
}
uint64_t mcinr_training_num_points(const mcinr_model *m) { return m ? m->num_points : 0; }
uint64_t mcinr_training_num_cells(const mcinr_model *m) { return m ? m->num_cells : 0; }
size_t mcinr_num_networks(const mcinr_model *m) { return m ? m->num_networks : 0; }
size_t mcinr_num_tree_nodes(const mcinr_model *m) { return m ? m->num_nodes : 0; }
size_t mcinr_num_tree_top(const mcinr_model *m) { return m ? m->num_top : 0; }
mcinr_status mcinr_tree_node(const mcinr_model *m, size_t node, double centroid[3], int32_t *parent, int32_t *child0,
                             int32_t *child1, int32_t *network) {
    if (!m || node >= m->num_nodes) return MCINR_ERR_ARGUMENT;
    const mci_node *nd = &m->nodes[node];
    if (centroid)
        for (int i = 0; i < 3; i++) centroid[i] = nd->centroid[i];
    if (parent) *parent = nd->parent;
    if (child0) *child0 = nd->child0;
    if (child1) *child1 = nd->child1;
    if (network) *network = nd->network;
    return MCINR_OK;
}
uint64_t mcinr_weight_bytes(const mcinr_model *m) { return m ? m->weight_bytes : 0; }
uint64_t mcinr_raw_field_bytes(const mcinr_model *m) { return m ? m->raw_field_bytes : 0; }
const char *mcinr_metadata_json(const mcinr_model *m) { return m ? m->json : NULL; }

int mcinr_has_mesh(const mcinr_model *m) { return m && m->has_mesh; }
size_t mcinr_mesh_num_points(const mcinr_model *m) { return m ? m->mesh_num_points : 0; }
size_t mcinr_mesh_num_cells(const mcinr_model *m) { return m ? m->mesh_num_cells : 0; }
size_t mcinr_mesh_connectivity_size(const mcinr_model *m) { return m ? m->mesh_conn_len : 0; }
int mcinr_mesh_point_type(const mcinr_model *m) { return m ? m->mesh_point_type : 0; }

mcinr_status mcinr_mesh_points(const mcinr_model *m, double *xyz) {
    if (!m) return MCINR_ERR_ARGUMENT;
    if (!m->has_mesh) return MCINR_ERR_NO_MESH;
    if (!xyz) return MCINR_ERR_ARGUMENT;
    mcinr_status s = mci_mesh_whole(m, 0, NULL, NULL, 0.0, 0.0, NULL, 0); /* MESHC: decoded on first use */
    if (s != MCINR_OK) return s;
    memcpy(xyz, m->mesh_points, m->mesh_num_points * 3 * sizeof(double));
    return MCINR_OK;
}

mcinr_status mcinr_mesh_cells(const mcinr_model *m, uint8_t *types, int64_t *offsets, int64_t *connectivity) {
    if (!m) return MCINR_ERR_ARGUMENT;
    if (!m->has_mesh) return MCINR_ERR_NO_MESH;
    mcinr_status s = mci_mesh_whole(m, 0, NULL, NULL, 0.0, 0.0, NULL, 0); /* MESHC: decoded on first use */
    if (s != MCINR_OK) return s;
    if (types) memcpy(types, m->mesh_types, m->mesh_num_cells);
    if (offsets) memcpy(offsets, m->mesh_offsets, (m->mesh_num_cells + 1) * sizeof(int64_t));
    if (connectivity)
        for (size_t i = 0; i < m->mesh_conn_len; i++) connectivity[i] = m->mesh_conn[i];
    return MCINR_OK;
}
