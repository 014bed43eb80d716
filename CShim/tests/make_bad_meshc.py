"""Writes MESHC files that break the checks across chunks, for test_pieces.c (the whole-mesh
decode and mcinr_piece_build must refuse both):
    python3 CShim/tests/make_bad_meshc.py DIR
DIR/pieces_unlisted.mci: a point that no chunk lists (the last chunk leaves out one of the points
no cell uses); DIR/pieces_moved.mci: the second chunk stores its points with another x (one unit
in the last place), so the points it shares with the first chunk have two coordinates. Both come
from tools/make_test_mci.py with tools/mesh_codec.encode_chunk patched; the table is consistent.
With a MESHX index (tools/mesh_codec.index_section patched): DIR/index_outside.mci, chunk 1
lists one box fewer than its points lie in (a chunk decode refuses it);
DIR/index_count.mci, an index of one chunk more than MESHC has (refused at open);
DIR/index_residual.mci, an index beside a RESIDUAL section (refused at open);
DIR/index_greedy.mci, chunk 0's list claims every byte left, with none for the later chunks'
counts (refused at open: a fuzzer found it overran the list's allocation).
"""
import struct
import os
import runpy
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import mesh_codec  # noqa: E402

original = mesh_codec.encode_chunk


def make(path, patch, extra):
    calls = {"n": 0}

    def encode_chunk(tets, others, lone, points, width):
        calls["n"] += 1
        return patch(calls["n"] - 1, tets, others, lone, points, width)

    mesh_codec.encode_chunk = encode_chunk
    try:
        sys.argv = [os.path.join(ROOT, "tools", "make_test_mci.py"), path, "--mesh", "vessel", "--mesh-cells", "3000",
                    "--mesh-coding", "meshc", "--chunk-cells", "1000", "--clusters", "2", "--seed", "3"] + extra
        runpy.run_path(sys.argv[0], run_name="__main__")
    finally:
        mesh_codec.encode_chunk = original


original_index = mesh_codec.index_section


def make_indexed(path, patch, extra):
    mesh_codec.index_section = lambda payload, per_axis=None: patch(original_index(payload, per_axis))
    try:
        make(path, lambda index, *a: original(*a), ["--mesh-index", "2"] + extra)
    finally:
        mesh_codec.index_section = original_index


def chunk_lists(b):
    """The offsets of each chunk's box list (count, then the boxes) in a MESHX payload."""
    K = struct.unpack_from("<I", b, 0)[0]
    at, out = 16 + 8 * (sum(struct.unpack_from("<3I", b, 4)) - 3), []
    for _ in range(K):
        out.append(at)
        at += 4 + 4 * struct.unpack_from("<I", b, at)[0]
    return out


def outside(b):
    at = chunk_lists(b)[1]
    count = struct.unpack_from("<I", b, at)[0]
    assert count >= 1
    return b[:at] + struct.pack("<I", count - 1) + b[at + 8:]  # its first box dropped


def greedy(b):
    at = chunk_lists(b)[0]
    return b[:at] + struct.pack("<I", (len(b) - at - 4) // 4) + b[at + 4:]


def one_more(b):
    K = struct.unpack_from("<I", b, 0)[0]
    return struct.pack("<I", K + 1) + b[4:] + struct.pack("<I", 0)


def unlisted(index, tets, others, lone, points, width):
    return original(tets, others, lone[:-1] if lone else lone, points, width)


def moved(index, tets, others, lone, points, width):
    if index == 1:
        points = [[(p[0] + 1) & ((1 << width) - 1), p[1], p[2]] for p in points]
    return original(tets, others, lone, points, width)


if __name__ == "__main__":
    out = sys.argv[1]
    make(os.path.join(out, "pieces_unlisted.mci"), unlisted, [])
    make(os.path.join(out, "pieces_moved.mci"), moved, [])
    make_indexed(os.path.join(out, "index_outside.mci"), outside, [])
    make_indexed(os.path.join(out, "index_count.mci"), one_more, [])
    make_indexed(os.path.join(out, "index_greedy.mci"), greedy, [])
    make_indexed(os.path.join(out, "index_residual.mci"), lambda b: b, ["--residual-predicted", os.path.join(out, "index_residual.res")])
