"""Offline study (issue #23): how much smaller an error-bounded model's residual would be if
the range coder's exponent probabilities also depended on what the reader already knows from
the previous step or from the previous component, besides the earlier mesh neighbours' |d|
(today's context κ, docs/mci-format.md "Range coder (coder 1)").

Reads the RESIDUAL section of a model, decodes every stream to its differences d (with the
format's reference rules, tools/make_test_mci.py), and costs each stream with the format's
adaptive binary model (same binarisation, same update rule; the ideal code length
Σ −log2 p, which LZMA's range coder meets within a few bytes) under several context choices:

  kappa            today's: κ of the earlier mesh neighbours (checked against the stored bytes)
  kappa+prev       κ × τ, τ = bucket of |d| at the same point, same component, previous step
  kappa+prevnb     κ × τ, τ = bucket of the mean |d| over the point and all its mesh neighbours
                   at the previous step (all already decoded)
  kappa+comp       κ × τ, τ = bucket of |d| at the same point, previous component, same step
  kappa+prevnb+comp  κ × τ × τ' of the two above
  mix-prev / mix-prevnb / mix-comp   the same 16 levels of κ, its mean |d| taken over the
                   earlier neighbours plus the same point at the previous step / the point and
                   all its neighbours at the previous step / the same point's previous component
  kappa+signnb     today's exponent contexts; the sign's probability also by the sign of the
                   sum of the earlier neighbours' signs (3 levels: a spatially coherent bias of
                   the prediction would show as correlated signs)
  kappa+prev+signnb  both kappa+prev's exponent contexts and kappa+signnb's sign contexts

A stream the file holds in zstd keeps its zstd bytes when that is smaller (the writer keeps the
smaller coding). Prints one table row per model; --json appends the numbers to a file.

    python context_study.py MODEL.mci [MODEL.mci …] [--lib LIBMCINR] [--json OUT.jsonl]
    python context_study.py --table OUT.jsonl
"""
import argparse
import ctypes
import json
import math
import os
import struct
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import mcinr  # noqa: E402  (python/mcinr: the binding of the C decoder, for the mesh)
from mcinr.testing import NEIGHBOURS, _read, section_of_type, sections  # noqa: E402
from make_test_mci import RC_CONTEXTS, RC_EXPONENT_BITS, extend_neighbours, neighbours, range_decode  # noqa: E402

RESIDUAL = 7
LINEAR_WEIGHT_BYTES = 28
# τ buckets of a magnitude: 0, 1, 2–3, 4–7, ≥ 8 (bit_length, capped).
BUCKETS = 5
COST0 = [0.0] + [-math.log2(p / 2048) for p in range(1, 2048)]
COST1 = [0.0] + [-math.log2(1 - p / 2048) for p in range(1, 2048)]


def bucket(m):
    return min(int(m).bit_length(), BUCKETS - 1)


def zstd_codes(data, raw_size, n):
    lib = ctypes.CDLL("libzstd.so.1")
    lib.ZSTD_decompress.restype = ctypes.c_size_t
    lib.ZSTD_decompress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    out = ctypes.create_string_buffer(raw_size)
    got = lib.ZSTD_decompress(out, raw_size, bytes(data), len(data))
    raw = out.raw[:got]
    codes, pos = [], 0
    for _ in range(n):
        u, shift = 0, 0
        while True:
            b = raw[pos]
            pos += 1
            u |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        if u == 0:
            codes.append(("e", struct.unpack_from("<I", raw, pos)[0]))
            pos += 4
        else:
            v = u - 1
            codes.append(-(v + 1) // 2 if v & 1 else v // 2)
    return codes


def parse(path):
    """N, T, C and the stream table [(predictor, coder, raw_size, bytes)] of a model's RESIDUAL."""
    data = _read(path)
    s = section_of_type(data, RESIDUAL, path)
    p = bytes(data[s.offset:s.offset + s.length])
    n, t, c = struct.unpack_from("<QII", p, 0)
    at = 16 + 16 * c
    table = []
    for k in range(t * c):
        pred, coder, raw, size = struct.unpack_from("<BB6xQQ", p, at + 24 * k)
        table.append([pred, coder, raw, size])
    at += 24 * t * c
    for e in table:
        e.append(p[at:at + e[3]])
        at += e[3]
    return n, t, c, table


def differences(entry, n, nb):
    """The stream's codes: an int per point, ('e', bits) for an escape."""
    pred, coder, raw, size, body = entry
    if size == 0:
        return [0] * n
    if pred & 8:
        body = body[LINEAR_WEIGHT_BYTES:]
        if not body:
            return [0] * n
    return range_decode(body, n, nb, coder) if coder else zstd_codes(body, raw, n)


def cost_bits(codes, nb, tau, levels, extra_sum=None, extra_count=None, sign_context=False):
    """Σ −log2 p of the stream under the format's binarisation with exponent and sign tables
    indexed by (κ, τ_i) (τ_i in 0 … levels − 1). With extra_sum / extra_count, κ is taken
    over the earlier neighbours' |d| plus extra_sum[i] from extra_count[i] more terms (the
    same 16 levels, information folded into A and k instead of more tables). With
    sign_context, the sign table is also indexed by the sign of the earlier neighbours' sum
    of signs (escapes count 0)."""
    X = [[1024] * RC_EXPONENT_BITS for _ in range(RC_CONTEXTS * levels)]
    M = [[1024] * 3 for _ in range(RC_EXPONENT_BITS)]
    G = [1024] * (RC_CONTEXTS * levels * 3)
    signs = [0] * len(codes)
    mags = [0] * len(codes)
    bits = 0.0
    c0, c1 = COST0, COST1
    for i, d in enumerate(codes):
        nbi = nb[i]
        if extra_count is not None and (nbi or extra_count[i]):
            a = sum(mags[j] for j in nbi) + extra_sum[i]
            kappa = 1 + min((4 * a // (len(nbi) + extra_count[i])).bit_length(), 14)
        elif nbi:
            kappa = 1 + min((4 * sum(mags[j] for j in nbi) // len(nbi)).bit_length(), 14)
        else:
            kappa = 0
        ctx = kappa * levels + tau[i]
        x = X[ctx]
        if isinstance(d, tuple):
            for j in range(RC_EXPONENT_BITS):
                p = x[j]
                bits += c1[p]
                x[j] = p - (p >> 5)
            bits += 32
            continue
        m = d if d >= 0 else -d
        e = (m + 1).bit_length() - 1
        for j in range(e):
            p = x[j]
            bits += c1[p]
            x[j] = p - (p >> 5)
        p = x[e]
        bits += c0[p]
        x[e] = p + ((2048 - p) >> 5)
        if e >= 1:
            r = m + 1 - (1 << e)
            first = (r >> (e - 1)) & 1
            mm = M[e]
            p = mm[0]
            if first:
                bits += c1[p]
                mm[0] = p - (p >> 5)
            else:
                bits += c0[p]
                mm[0] = p + ((2048 - p) >> 5)
            if e >= 2:
                k = 1 + first
                p = mm[k]
                if (r >> (e - 2)) & 1:
                    bits += c1[p]
                    mm[k] = p - (p >> 5)
                else:
                    bits += c0[p]
                    mm[k] = p + ((2048 - p) >> 5)
                bits += e - 2
        if m > 0:
            g = ctx * 3
            if sign_context:
                sg = sum(signs[j] for j in nbi)
                g += (sg > 0) + 2 * (sg < 0)
            p = G[g]
            if d < 0:
                bits += c1[p]
                G[g] = p - (p >> 5)
            else:
                bits += c0[p]
                G[g] = p + ((2048 - p) >> 5)
            signs[i] = -1 if d < 0 else 1
        mags[i] = m
    return bits


def magnitudes(codes):
    return np.array([0 if isinstance(d, tuple) else abs(d) for d in codes], dtype=np.int64)


def study(path, lib=None):
    t0 = time.perf_counter()
    with mcinr.Model(path, library=lib) as m:
        mesh = m.mesh()
    n, T, C, table = parse(path)
    nb = neighbours(n, mesh.connectivity.tolist(), mesh.offsets[1:].tolist())
    data = _read(path)
    least = next((struct.unpack_from("<I", data, s.offset)[0] for s in sections(data) if s.type == NEIGHBOURS), 0)
    if least:  # format 1.10: the file's streams read Nb′
        nb = extend_neighbours(nb, least, n, mesh.connectivity.tolist(), mesh.offsets[1:].tolist())
    # Every neighbour (both directions) and the point itself, for the previous step's mean.
    full = [set([i]) for i in range(n)]
    for i, js in enumerate(nb):
        for j in js:
            full[i].add(j)
            full[j].add(i)
    rows = np.repeat(np.arange(n), [len(s) for s in full])
    cols = np.fromiter((j for s in full for j in s), dtype=np.int64, count=rows.size)
    counts = np.array([len(s) for s in full], dtype=np.int64)
    variants = ["kappa", "kappa+prev", "kappa+prevnb", "kappa+comp", "kappa+prevnb+comp", "mix-prev", "mix-prevnb",
                "mix-comp", "kappa+signnb", "kappa+prev+signnb"]
    total = {v: 0.0 for v in variants}
    # A writer that picks the context rule per stream (one more stream-table bit): the smaller of
    # today's and each other rule, summed.
    chosen = {v: 0.0 for v in variants[1:]}
    stored = 0
    by_coder = {0: 0, 1: 0}
    prev_mag = [None] * C
    for t in range(T):
        comp_mag = None
        for c in range(C):
            entry = table[t * C + c]
            pred, coder, raw, size, body = entry
            stored += size
            codes = differences(entry, n, nb)
            mag = magnitudes(codes)
            if size == 0:
                for v in variants:
                    total[v] += 0
            else:
                by_coder[coder] += 1
                prev = prev_mag[c]
                tp = np.zeros(n, np.int64) if prev is None else np.minimum(
                    np.array([int(x).bit_length() for x in prev]), BUCKETS - 1)
                if prev is None:
                    tpn = np.zeros(n, np.int64)
                else:
                    mean = np.bincount(rows, weights=prev[cols], minlength=n) / counts
                    tpn = np.minimum(np.array([int(x).bit_length() for x in np.floor(2 * mean).astype(np.int64)]),
                                     BUCKETS - 1)
                tc = np.zeros(n, np.int64) if comp_mag is None else np.minimum(
                    np.array([int(x).bit_length() for x in comp_mag]), BUCKETS - 1)
                taus = {"kappa": (np.zeros(n, np.int64), 1), "kappa+prev": (tp, BUCKETS), "kappa+prevnb": (tpn, BUCKETS),
                        "kappa+comp": (tc, BUCKETS), "kappa+prevnb+comp": (tpn * BUCKETS + tc, BUCKETS * BUCKETS)}
                zero, ones = np.zeros(n, np.int64), np.ones(n, np.int64)
                mixes = {"mix-prev": (zero, zero) if prev is None else (prev, ones),
                         "mix-prevnb": (zero, zero) if prev is None else (np.bincount(rows, weights=prev[cols], minlength=n)
                                                                          .astype(np.int64), counts),
                         "mix-comp": (zero, zero) if comp_mag is None else (comp_mag, ones)}
                extra = LINEAR_WEIGHT_BYTES if pred & 8 else 0
                sizes = {}
                for v in variants:
                    if v in mixes:
                        es, ec = mixes[v]
                        bits = cost_bits(codes, nb, [0] * n, 1, es.tolist(), ec.tolist())
                    elif v == "kappa+signnb":
                        bits = cost_bits(codes, nb, [0] * n, 1, sign_context=True)
                    elif v == "kappa+prev+signnb":
                        bits = cost_bits(codes, nb, tp.tolist(), BUCKETS, sign_context=True)
                    else:
                        tau, levels = taus[v]
                        bits = cost_bits(codes, nb, tau.tolist(), levels)
                    rc_bytes = math.ceil(bits / 8) + 5 + extra
                    # the writer keeps the smaller coding: zstd streams stay as they are if smaller
                    sizes[v] = min(rc_bytes, size) if coder == 0 else rc_bytes
                    total[v] += sizes[v]
                for v in chosen:
                    chosen[v] += min(sizes["kappa"], sizes[v])
            prev_mag[c] = mag
            comp_mag = mag
    return dict(model=os.path.basename(path), stored_bytes=stored, streams=T * C, range_streams=by_coder[1],
                zstd_streams=by_coder[0], estimated_bytes={v: int(round(b)) for v, b in total.items()},
                per_stream_choice_bytes={v: int(round(b)) for v, b in chosen.items()},
                seconds=time.perf_counter() - t0)


def table(path):
    """A markdown table of the JSON lines `--json` wrote: per model the stored bytes and each
    rule's estimate against today's (κ), alone and chosen per stream."""
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    variants = []  # in order of first appearance (rows of an earlier version lack the later rules)
    for r in rows:
        variants += [v for v in r["estimated_bytes"] if v != "kappa" and v not in variants]
    out = ["| model | stored B | κ (today's rule) B | " + " | ".join(variants) + " |",
           "|---|---:|---:|" + "---:|" * len(variants)]
    for r in rows:
        base = r["estimated_bytes"]["kappa"]
        cells = []
        for v in variants:
            if v not in r["estimated_bytes"]:
                cells.append("—")
                continue
            alone = f"{100 * (r['estimated_bytes'][v] / base - 1):+.1f} %"
            chosen = r.get("per_stream_choice_bytes", {}).get(v)
            cells.append(alone + (f" / {100 * (chosen / base - 1):+.1f} %" if chosen is not None else ""))
        out.append(f"| {r['model']} | {r['stored_bytes']} | {base} | " + " | ".join(cells) + " |")
    print("\n".join(out))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("models", nargs="*")
    p.add_argument("--table", help="print the markdown table of a --json file and exit")
    p.add_argument("--lib")
    p.add_argument("--json")
    args = p.parse_args()
    if args.table:
        table(args.table)
        return
    for path in args.models:
        r = study(path, args.lib)
        base = r["estimated_bytes"]["kappa"]
        gains = "  ".join(f"{v} {b} ({100 * (b / base - 1):+.1f} %)" for v, b in r["estimated_bytes"].items())
        gains += "; chosen per stream against kappa: " + "  ".join(
            f"{v} {b} ({100 * (b / base - 1):+.1f} %)" for v, b in r["per_stream_choice_bytes"].items())
        print(f"{r['model']}: stored {r['stored_bytes']} B ({r['range_streams']} range, {r['zstd_streams']} zstd streams); "
              f"estimated {gains}; {r['seconds']:.0f} s", flush=True)
        if args.json:
            with open(args.json, "a") as f:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
