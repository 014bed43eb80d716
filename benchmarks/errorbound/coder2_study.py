"""Offline study (issue #23) behind RESIDUAL coder 2 (docs/mci-format.md, format 1.11): how many
bytes a model's residual streams would take under variants of coder 1's probability model.

Reads the RESIDUAL section of each model, decodes every stream to its differences d (with the
format's reference rules, tools/make_test_mci.py) and costs each stream under the format's
binarisation (unary exponent, two modelled mantissa bits, sign) with the ideal code length
Σ −log2 p of the adaptive probabilities (which the range coder meets within a few bytes):

  coder1        coder 1: 11-bit probabilities moved by 1/32, exponent and sign tables by κ
  +signs        the sign table also by σ, the sum of the earlier neighbours' signs (0, 1, ≥ 2,
                −1, ≤ −2)
  +15bit        and 15-bit probabilities
  +occupancy    and the exponent table also by ν, the share of non-zero neighbour differences
                (none, under half, half or more, all)
  +fast start   and each probability counts its updates: shift n + 1 for the first four
                (= coder 2)
  fine κ        instead of ν: κ from ⌊16A/k⌋ (22 levels), with the fast start

Prints one row per model: bytes per variant and the change against coder1.

    python coder2_study.py MODEL.mci [MODEL.mci …]
"""
import math
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from context_study import NEIGHBOURS, _read, differences, extend_neighbours, mcinr, neighbours, parse, sections  # noqa: E402
from make_test_mci import RC_EXPONENT_BITS  # noqa: E402

LOG = {b: [0.0] + [-math.log2(p / (1 << b)) for p in range(1, 1 << b)] for b in (11, 15)}
# name: (probability bits, σ, ν, fast start, fine κ)
VARIANTS = {"coder1": (11, False, False, False, False), "+signs": (11, True, False, False, False),
            "+15bit": (15, True, False, False, False), "+occupancy": (15, True, True, False, False),
            "+fast start": (15, True, True, True, False), "fine κ": (15, True, False, True, True)}


def cost(codes, nb, variant):
    bits_units, signs, occupancy, fast, fine = variant
    top = 1 << bits_units
    log = LOG[bits_units]
    X, G, M = {}, {}, [[[top >> 1, 0] for _ in range(3)] for _ in range(RC_EXPONENT_BITS)]
    total = 0.0
    ds = [0] * len(codes)

    def code(prob, b):
        nonlocal total
        p = prob[0]
        total += log[top - p] if b else log[p]
        shift = prob[1] + 1 if fast else 5
        prob[0] = p - (p >> shift) if b else p + ((top - p) >> shift)
        if fast and prob[1] < 4:
            prob[1] += 1

    for i, d in enumerate(codes):
        nbi = nb[i]
        k = len(nbi)
        a = sum(abs(ds[j]) for j in nbi)
        kappa = 0 if not k else 1 + min(((16 if fine else 4) * a // k).bit_length(), 20 if fine else 14)
        nu = 0
        if occupancy and k:
            z = sum(1 for j in nbi if ds[j])
            nu = 0 if z == 0 else 1 if 2 * z < k else 2 if z < k else 3
        x = X.setdefault((kappa, nu), [[top >> 1, 0] for _ in range(RC_EXPONENT_BITS)])
        if isinstance(d, tuple):  # an escape: 34 ones, 32 fixed bits, counts 0
            for j in range(RC_EXPONENT_BITS):
                code(x[j], 1)
            total += 32
            continue
        m = abs(d)
        e = (m + 1).bit_length() - 1
        for j in range(e):
            code(x[j], 1)
        code(x[e], 0)
        if e >= 1:
            r = m + 1 - (1 << e)
            first = (r >> (e - 1)) & 1
            code(M[e][0], first)
            if e >= 2:
                code(M[e][1 + first], (r >> (e - 2)) & 1)
                total += e - 2
        if m > 0:
            g = sum((ds[j] > 0) - (ds[j] < 0) for j in nbi) if signs else 0
            sigma = 0 if g == 0 else 1 if g == 1 else 2 if g >= 2 else 3 if g == -1 else 4
            code(G.setdefault((kappa, sigma), [top >> 1, 0]), d < 0)
        ds[i] = d
    return total / 8


def study(path):
    t0 = time.perf_counter()
    with mcinr.Model(path) as m:
        mesh = m.mesh()
    n, T, C, table = parse(path)
    conn, ends = mesh.connectivity.tolist(), mesh.offsets[1:].tolist()
    nb = neighbours(n, conn, ends)
    least = next((struct.unpack_from("<I", _read(path), s.offset)[0] for s in sections(_read(path)) if s.type == NEIGHBOURS), 0)
    if least:
        nb = extend_neighbours(nb, least, n, conn, ends)
    total = {v: 0.0 for v in VARIANTS}
    for entry in table:
        if entry[3] == 0:
            continue
        codes = differences(entry, n, nb)
        for v, spec in VARIANTS.items():
            total[v] += cost(codes, nb, spec)
    base = total["coder1"]
    cells = "  ".join(f"{v} {total[v]:.0f} B ({100 * (total[v] / base - 1):+.2f} %)" for v in VARIANTS)
    print(f"{os.path.basename(path)}: {cells}; {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) > 1 else 2)
    for p in sys.argv[1:]:
        study(p)
