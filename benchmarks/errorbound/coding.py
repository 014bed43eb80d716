"""How much the residual coding of format 1.2 saves on one error-bounded model: the model's
quantisation indices (recovered through the C decoder as (with residual − network alone) / s_c)
coded as format 1.1 did (zlib on zigzag varints, no prediction) and with zstd but no
prediction, next to the size the file actually holds (RESIDUAL type 7).

    python3 coding.py MODEL.mci [--lib plugin/build/lib/libmcinr.so]
"""
import argparse
import os
import struct
import sys
import time
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "plugin", "tests"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import mcinr_ctypes  # noqa: E402  (ctypes binding of the C decoder)
from make_test_mci import zstd_compress  # noqa: E402  (system libzstd through ctypes)

DEFAULT_LIB = os.path.join(ROOT, "plugin", "build", "lib", "libmcinr.so")


def varints(q):
    """Zigzag LEB128 codes (u = zigzag(q) + 1) of an int64 array, as bytes."""
    u = np.where(q >= 0, 2 * q, -2 * q - 1).astype(np.uint64) + 1
    nbytes = np.ones(len(u), dtype=np.int64)
    for k in range(1, 10):
        nbytes += u >= (np.uint64(1) << np.uint64(7 * k))
    out = np.zeros(int(nbytes.sum()), dtype=np.uint8)
    start = np.concatenate([[0], np.cumsum(nbytes)[:-1]])
    for k in range(int(nbytes.max())):
        has = nbytes > k
        byte = (u[has] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (nbytes[has] > k + 1).astype(np.uint64) << np.uint64(7)
        out[start[has] + k] = (byte | more).astype(np.uint8)
    return out.tobytes()


def indices(path, lib):
    """T × C × N int64 quantisation indices of an error-bounded model."""
    m = mcinr_ctypes.Model(lib, path)
    try:
        if not m.has_residual():
            raise SystemExit(f"{path}: no RESIDUAL section (not an error-bounded model)")
        C = m.num_components()
        widths = np.array([2 * m.residual_max_error(c) * (1 - 1 / 64) for c in range(C)])
        out = []
        for t in m.times():
            res = np.ctypeslib.as_array(m.decode_mesh(t)).reshape(-1, C).astype(np.float64)
            net = np.ctypeslib.as_array(m.decode_mesh(t, network_only=True)).reshape(-1, C).astype(np.float64)
            out.append(np.rint((res - net) / widths).T.astype(np.int64))
        return np.array(out)
    finally:
        m.close()


def decode_seconds(path, lib=DEFAULT_LIB, threads=1):
    """Seconds to open the model (which validates every residual stream) and the mean seconds
    per stored step of mcinr_decode_mesh, network alone and with the residual."""
    t0 = time.perf_counter()
    m = mcinr_ctypes.Model(lib, path)
    opened = time.perf_counter() - t0
    try:
        out = dict(open=opened)
        for key, network_only in [("network", True), ("residual", False)]:
            t0 = time.perf_counter()
            for t in m.times():
                m.decode_mesh(t, num_threads=threads, network_only=network_only)
            out[key] = (time.perf_counter() - t0) / len(m.times())
        return out
    finally:
        m.close()


def order0_bits(v):
    """Order-0 entropy of an integer array, in bits (the estimate the writer picks predictors by)."""
    _, counts = np.unique(v, return_counts=True)
    return float(-(counts * np.log2(counts / counts.sum())).sum())


def earlier_neighbour_mean(m):
    """A sparse-free stand-in for the format's mean over Nb(i): for each point the earlier points
    sharing a cell (cells of 2…64 points; without the format's 32-neighbour cap), as a
    function y → mean of y over them (0 where there are none)."""
    _, _, offs, conn = m.mesh()
    offs, conn = np.ctypeslib.as_array(offs).astype(np.int64), np.ctypeslib.as_array(conn).astype(np.int64)
    rows, cols = [], []
    for a_, b_ in zip(offs[:-1], offs[1:]):
        if 2 <= b_ - a_ <= 64:
            cell = conn[a_:b_]
            i, j = np.meshgrid(cell, cell, indexing="ij")
            keep = j < i
            rows.append(i[keep]); cols.append(j[keep])
    pairs = np.unique(np.stack([np.concatenate(rows), np.concatenate(cols)]), axis=1)
    n = len(np.ctypeslib.as_array(m.mesh()[0])) // 3
    count = np.bincount(pairs[0], minlength=n)
    return lambda y: np.where(count > 0, np.bincount(pairs[0], weights=y[pairs[1]], minlength=n) / np.maximum(count, 1), 0)


def data_domain_study(path, lib=DEFAULT_LIB):
    """Order-0 entropy (bytes) of the model's indices under the time + mesh predictor as stored
    (predicting the network's residual) and predicting the data itself from the decoded values
    of the earlier neighbours and of the previous step (as SZ does), over steps 1 … T−1."""
    m = mcinr_ctypes.Model(lib, path)
    try:
        C, times = m.num_components(), m.times()
        widths = np.array([2 * m.residual_max_error(c) * (1 - 1 / 64) for c in range(C)])
        mean = earlier_neighbour_mean(m)
        residual_bits = data_bits = 0.0
        previous = None
        for t in times:
            dec = np.ctypeslib.as_array(m.decode_mesh(t)).reshape(-1, C).astype(np.float64)
            net = np.ctypeslib.as_array(m.decode_mesh(t, network_only=True)).reshape(-1, C).astype(np.float64)
            q = np.rint((dec - net) / widths).astype(np.int64)
            if previous is not None:
                pdec, pq = previous
                for c in range(C):
                    y = q[:, c] - pq[:, c]
                    residual_bits += order0_bits(y - np.rint(mean(y)).astype(np.int64))
                    guess = pdec[:, c] + mean(dec[:, c] - pdec[:, c])
                    data_bits += order0_bits(q[:, c] - np.rint((guess - net[:, c]) / widths[c]).astype(np.int64))
            previous = (dec, q)
        return dict(residual_time_mesh=residual_bits / 8, data_time_mesh=data_bits / 8)
    finally:
        m.close()


def sizes(path, lib=DEFAULT_LIB):
    """Bytes of the RESIDUAL payload: as stored (type 7), as format 1.1 coded the same
    indices (type 6: zlib, no prediction), and zstd without prediction."""
    q = indices(path, lib)
    T, C, N = q.shape
    header = 16 + 16 * C
    v11, zstd_only = header + 16 * T * C, header + 24 * T * C
    for t in range(T):
        for c in range(C):
            if not q[t, c].any():
                continue
            raw = varints(q[t, c])
            v11 += len(zlib.compress(raw, 9))
            zstd_only += len(zstd_compress(raw, 19))
    with open(path, "rb") as f:
        data = f.read()
    stored = None
    for k in range(struct.unpack_from("<I", data, 12)[0]):
        typ, _, _, length = struct.unpack_from("<IIQQ", data, 16 + 32 * k)
        if typ in (6, 7):
            stored = length
    return dict(stored=stored, format_1_1=v11, zstd_unpredicted=zstd_only)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--lib", default=DEFAULT_LIB)
    args = ap.parse_args()
    s = sizes(args.model, args.lib)
    for k, v in s.items():
        print(f"{k:18} {v:12d} B  ({v / s['format_1_1']:.3f} of format 1.1)")


if __name__ == "__main__":
    main()
