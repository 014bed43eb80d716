"""How much the residual coding of format 1.2 saves on one error-bounded model: the model's
quantisation indices (recovered through the C decoder as (with residual − network alone) / s_c)
coded as format 1.1 did (zlib on zigzag varints, no prediction) and with zstd but no
prediction, next to the size the file actually holds (RESIDUAL type 7).

    python3 coding.py MODEL.mci [--lib LIBMCINR]

The decoder library: --lib, else $MCINR_LIBRARY, else one built from this checkout
(mcinr.build_library) into a temporary folder.
"""
import argparse
import os
import sys
import tempfile
import time
import zlib

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import mcinr  # noqa: E402  (python/mcinr: the binding of the C decoder)
from mcinr.testing import RESIDUAL_SECTIONS, sections  # noqa: E402
# The format's reference rules (the Python reference writer): the varint of a signed index,
# the mesh-neighbour rule of type 7, and zstd through the system libzstd.
from make_test_mci import neighbours, zigzag_code, zstd_compress  # noqa: E402


def varints(q):
    """The zigzag varint codes (zigzag(q) + 1, as format 1.1 stored them) of an integer array, as bytes."""
    return b"".join(zigzag_code(v) for v in q.tolist())


def step_widths(m):
    """Quantisation step s_c = 2·E_c·(1 − 1/64) of every component."""
    return np.array([2 * m.residual_max_error(c) * (1 - 1 / 64) for c in range(m.num_components)])


def indices(path, lib=None):
    """T × C × N int64 quantisation indices of an error-bounded model."""
    with mcinr.Model(path, library=lib) as m:
        if not m.has_residual:
            raise SystemExit(f"{path}: no RESIDUAL section (not an error-bounded model)")
        widths = step_widths(m)
        out = []
        for t in m.times:
            res = m.decode_mesh(t).astype(np.float64)
            net = m.decode_mesh(t, network_only=True).astype(np.float64)
            out.append(np.rint((res - net) / widths).T.astype(np.int64))
        return np.array(out)


def decode_seconds(path, lib=None, threads=1):
    """Seconds to open the model (which validates every residual stream) and the mean seconds
    per stored step of mcinr_decode_mesh, network alone and with the residual; `steps`: the
    number of stored steps the means are over."""
    t0 = time.perf_counter()
    with mcinr.Model(path, library=lib) as m:
        out = dict(open=time.perf_counter() - t0, steps=len(m.times))
        for key, network_only in [("network", True), ("residual", False)]:
            t0 = time.perf_counter()
            for t in m.times:
                m.decode_mesh(t, num_threads=threads, network_only=network_only)
            out[key] = (time.perf_counter() - t0) / len(m.times)
        return out


def order0_bits(v):
    """Order-0 entropy of an integer array, in bits (the estimate the writer picks predictors by)."""
    _, counts = np.unique(v, return_counts=True)
    return float(-(counts * np.log2(counts / counts.sum())).sum())


def earlier_neighbour_mean(m):
    """The mean over Nb(i) (the format's neighbour rule, make_test_mci.neighbours) of the
    model's mesh, as a function y → mean of y over each point's earlier neighbours (0 where
    there are none), in floating point (the format rounds an integer mean)."""
    mesh = m.mesh()
    nb = neighbours(len(mesh.points), mesh.connectivity.tolist(), mesh.offsets[1:].tolist())
    count = np.array([len(x) for x in nb])
    rows = np.repeat(np.arange(len(nb)), count)
    cols = np.array([j for x in nb for j in x], dtype=np.int64)
    n = len(nb)
    return lambda y: np.where(count > 0, np.bincount(rows, weights=y[cols], minlength=n) / np.maximum(count, 1), 0)


def data_domain_study(path, lib=None):
    """Order-0 entropy (bytes) of the model's indices under the time + mesh predictor as stored
    (predicting the network's residual) and predicting the data itself from the decoded values
    of the earlier neighbours and of the previous step (as SZ does), over steps 1 … T−1."""
    with mcinr.Model(path, library=lib) as m:
        C, times = m.num_components, m.times
        widths = step_widths(m)
        mean = earlier_neighbour_mean(m)
        residual_bits = data_bits = 0.0
        previous = None
        for t in times:
            dec = m.decode_mesh(t).astype(np.float64)
            net = m.decode_mesh(t, network_only=True).astype(np.float64)
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


def sizes(path, lib=None):
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
        stored = next((s.length for s in sections(f.read()) if s.type in RESIDUAL_SECTIONS), None)
    return dict(stored=stored, format_1_1=v11, zstd_unpredicted=zstd_only)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--lib", help="libmcinr.so (default: $MCINR_LIBRARY, else built from this checkout)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lib = args.lib or os.environ.get(mcinr.capi.ENV_LIBRARY) or mcinr.build_library(tmp)
        s = sizes(args.model, lib)
    for k, v in s.items():
        print(f"{k:18} {v:12d} B  ({v / s['format_1_1']:.3f} of format 1.1)")


if __name__ == "__main__":
    main()
