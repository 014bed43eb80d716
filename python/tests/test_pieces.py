"""Tests of mcinr.File.read_piece (the pieces API of mcinr.h through the Python package).

Builds libmcinr.so from this checkout into a temporary folder, makes a MESHC model with a
RESIDUAL (tools/make_test_mci.py: the 64-point grid mesh, 166 cells in 5 chunks) and a MESH
one, and checks for 1, 2, 4, 8 pieces (8: more pieces than chunks) and 0 / 1 ghost levels: the pieces' own cells are the mesh's cells (by global point ids), every
piece's points and values equal File.points and decode_mesh bit for bit at its global ids, the
points not marked duplicate are every point once, and bad requests raise DecoderError.
"""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import mcinr  # noqa: E402

WORK = tempfile.TemporaryDirectory(prefix="mcinr-pieces-test.")
LIB = None
FILES = {}


def setUpModule():
    global LIB
    LIB = mcinr.build_library(os.path.join(WORK.name, "lib"), root=ROOT)
    gen = os.path.join(ROOT, "tools", "make_test_mci.py")
    for name, extra in (("chunked", ["--mesh-coding", "meshc", "--chunk-cells", "40"]), ("zlib", [])):
        path = os.path.join(WORK.name, name + ".mci")
        subprocess.run([sys.executable, gen, path, "--mesh", "grid", "--clusters", "6", "--width", "8", "--split",
                        "--residual-predicted", path + ".codes", "--seed", "11"] + extra,
                       check=True, stdout=subprocess.DEVNULL)
        FILES[name] = path


def cell_tuples(cells, ids, keep=None):
    out = []
    for c in range(len(cells.types)):
        if keep is None or keep[c]:
            out.append((int(cells.types[c]),) + tuple(int(i) for i in ids[cells.connectivity[cells.offsets[c]:cells.offsets[c + 1]]]))
    return out


class PieceTests(unittest.TestCase):
    def check_file(self, name):
        with mcinr.open(FILES[name], library=LIB) as f:
            whole = sorted(cell_tuples(f.cells, np.arange(f.num_points)))
            t = float(f.times[1])
            want = f.decode_mesh(t, num_threads=1)
            for n in (1, 2, 4, 8):  # 8 > the 5 chunks: ranges of cells
                for ghosts in (0, 1):
                    union, owned = [], np.zeros(f.num_points, np.int64)
                    for p in range(n):
                        pc = f.read_piece(p, n, ghost_levels=ghosts, time=t, num_threads=1 + p % 2)
                        self.assertTrue(np.all(np.diff(pc.point_ids) > 0))
                        self.assertTrue(np.array_equal(pc.points, f.points[pc.point_ids]))
                        for var, values in want.items():
                            self.assertTrue(np.array_equal(pc.values[var].view(np.uint32),
                                                           values[pc.point_ids].view(np.uint32)),
                                            "%s piece %d/%d: %s differs from decode_mesh" % (name, p, n, var))
                        self.assertGreaterEqual(pc.evaluated, len(pc.point_ids))
                        union += cell_tuples(pc.cells, pc.point_ids, pc.cell_ghost_levels == 0)
                        if ghosts:
                            owned[pc.point_ids[pc.point_duplicate == 0]] += 1
                            if n > 1:
                                self.assertGreater(int(np.count_nonzero(pc.cell_ghost_levels)), 0)
                        else:
                            self.assertFalse(pc.cell_ghost_levels.any() or pc.point_duplicate.any())
                    self.assertEqual(sorted(union), whole, "%s, %d pieces: own cells" % (name, n))
                    if ghosts:
                        self.assertTrue(np.all(owned == 1), "%s, %d pieces: owned points" % (name, n))
            # a piece without a time: mesh only
            pc = f.read_piece(0, 2)
            self.assertEqual(pc.values, {})
            with self.assertRaises(mcinr.DecoderError) as e:
                f.read_piece(2, 2)
            self.assertIn("piece 2 of 2", str(e.exception))
            with self.assertRaises(mcinr.DecoderError):
                f.read_piece(0, 1, ghost_levels=300)

    def test_meshc(self):
        self.check_file("chunked")

    def test_mesh_zlib(self):
        self.check_file("zlib")


if __name__ == "__main__":
    unittest.main()
