"""Tests of python/mcinr (the ctypes binding of the C decoder), plain unittest:

    python3 python/tests/test_capi.py [-v]        (python/tests/run.sh runs it with each Python)

Builds libmcinr.so from this checkout into a temporary folder (mcinr.build_library), makes
small models with the reference writer (tools/make_test_mci.py) and checks the binding
against the writer's own values: decoded values within 1e-5 of each component's range of its
naive double-precision evaluation (as CShim/tests/test_decoder.c), residual values exactly
network + index · step (or the data value, or the escaped value), the mesh equal to the
generator's; errors that name the file, progress and abort, the library version.
"""
import ctypes
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import unittest

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import mcinr  # noqa: E402
import make_test_mci as gen  # noqa: E402
from mcinr import testing  # noqa: E402

TOLERANCE = 1e-5  # of the component's range: float32 evaluation against double (test_decoder.c)
WORK = None
LIB = None
MODELS = {  # name: generator arguments (the reference or residual file is added as NAME.ref / NAME.res)
    "tiny": ["--mesh", "tiny", "--split", "--ref-points", "60", "--seed", "1"],
    "siren": ["--mesh", "none", "--arch", "siren", "--width", "24", "--clusters", "2", "--seed", "2"],
    "coordnet_int8z": ["--mesh", "tiny", "--arch", "coordnet", "--width", "12", "--clusters", "4", "--split",
                       "--encoding", "int8", "--compress-nets", "--seed", "3"],
    "residual": ["--mesh", "grid", "--split", "--width", "8", "--seed", "9"],
}


def setUpModule():
    global WORK, LIB
    WORK = tempfile.TemporaryDirectory(prefix="mcinr-pytest-")
    LIB = mcinr.build_library(os.path.join(WORK.name, "lib"), root=ROOT)
    for name, args in MODELS.items():
        extra = ["--residual-predicted", path(name + ".res")] if name == "residual" else ["--reference", path(name + ".ref")]
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "make_test_mci.py"), path(name + ".mci")] + args + extra,
                       check=True, capture_output=True)


def tearDownModule():
    WORK.cleanup()


def path(name):
    return os.path.join(WORK.name, name)


def model(name):
    return mcinr.Model(path(name + ".mci"), library=LIB)


class LibraryTests(unittest.TestCase):
    def test_version(self):
        self.assertEqual(mcinr.version(LIB), "1.11.0")
        self.assertEqual(mcinr.load_library(LIB).version, "1.11.0")
        self.assertIs(mcinr.load_library(LIB), mcinr.load_library(LIB), "loaded once per path")

    def test_limit_status(self):
        """A file beyond the limits for untrusted files (mcinr.h 1.1, docs/mci-format.md "Limits"):
        DecoderError with Status.LIMIT, whose message names the opt-in."""
        p = path("large-mesh.mci")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "make_test_mci.py"), p, "--hostile", "large-mesh"],
                       check=True, capture_output=True)
        with self.assertRaises(mcinr.DecoderError) as e:
            mcinr.Model(p, library=LIB)
        self.assertIs(e.exception.status, mcinr.Status.LIMIT)
        self.assertIn("trust_large_files", str(e.exception))
        self.assertTrue(str(e.exception).startswith(p + ": section MESH: "), str(e.exception))
        # trusted: the limits lifted (a path and bytes), the open reports progress and can be aborted
        fractions = []
        with mcinr.Model(p, library=LIB, trust_large_files=True, progress=fractions.append) as m:
            self.assertEqual(m.mesh().points.shape, (1500000, 3))
        self.assertEqual(fractions[-1], 1.0)
        self.assertEqual(fractions, sorted(fractions))
        with open(p, "rb") as f:
            data = f.read()
        with mcinr.Model.from_bytes(data, library=LIB, trust_large_files=True) as m:
            self.assertTrue(m.has_mesh)
        with self.assertRaises(mcinr.DecoderError) as e:
            mcinr.Model(p, library=LIB, trust_large_files=True, progress=lambda f: f > 0.3)
        self.assertIs(e.exception.status, mcinr.Status.ABORTED)
        with self.assertRaises(ZeroDivisionError):  # an exception in the callback aborts and is raised again
            mcinr.Model(p, library=LIB, trust_large_files=True, progress=lambda f: 1 / 0)

    def test_status_strings(self):
        for s in mcinr.Status:
            self.assertTrue(mcinr.status_string(s, LIB), s)
        self.assertNotEqual(mcinr.status_string(mcinr.Status.CHECKSUM, LIB), mcinr.status_string(mcinr.Status.IO, LIB))

    def test_library_lookup(self):
        with self.assertRaises(mcinr.LibraryError):
            mcinr.load_library(path("no-such-lib.so"))
        old = os.environ.get(mcinr.capi.ENV_LIBRARY)
        os.environ[mcinr.capi.ENV_LIBRARY] = LIB
        try:
            self.assertEqual(mcinr.library_path(), os.path.abspath(LIB))
        finally:
            if old is None:
                del os.environ[mcinr.capi.ENV_LIBRARY]
            else:
                os.environ[mcinr.capi.ENV_LIBRARY] = old

    def test_rebuild_is_skipped_when_up_to_date(self):
        before = os.path.getmtime(LIB)
        self.assertEqual(mcinr.build_library(os.path.dirname(LIB), root=ROOT), LIB)
        self.assertEqual(os.path.getmtime(LIB), before)

    def test_options_struct_matches_the_header(self):
        # the C struct on x86-64/aarch64: size_t, int (+pad), two pointers, three ints (+pad) = 48 bytes
        self.assertEqual(ctypes.sizeof(mcinr.DecodeOptions), 48 if ctypes.sizeof(ctypes.c_void_p) == 8 else 28)
        self.assertEqual(mcinr.DecodeOptions.validate_residual.offset,
                         40 if ctypes.sizeof(ctypes.c_void_p) == 8 else 24)


class QueryTests(unittest.TestCase):
    def test_description(self):
        with model("tiny") as m:
            self.assertEqual(m.format_version, (1, 0))
            self.assertEqual([(v.name, v.components) for v in m.variables], gen.VARIABLES)
            self.assertEqual([v.first_component for v in m.variables], [0, 3, 4, 5])
            self.assertEqual(m.num_components, 6)
            self.assertEqual(m.component_names,
                             ["velocity_x", "velocity_y", "velocity_z", "pressure", "temperature", "tracer"])
            self.assertEqual(m.times, gen.VESSEL_TIMES)
            for c, (lo, hi) in enumerate(gen.RANGES):
                np.testing.assert_allclose(m.component_range(c), (lo, hi), rtol=1e-6)
            with self.assertRaises(mcinr.DecoderError) as e:
                m.component_range(6)
            self.assertEqual(e.exception.status, mcinr.Status.ARGUMENT)
            lo, hi = m.bounds
            self.assertTrue(np.all(lo <= hi))
            self.assertIsInstance(m.metadata, dict)
            self.assertGreater(m.weight_bytes, 0)
            self.assertGreater(m.num_networks, 1)
            self.assertEqual(m.seam_margin, 0.0, "no SEAM section: no blending")
            self.assertIn("tiny.mci", repr(m))

    def test_component_names_rule(self):
        self.assertEqual(mcinr.component_names([("p", 1), ("v", 3), ("s", 2)]), ["p", "v_x", "v_y", "v_z", "s_0", "s_1"])

    def test_mesh_equals_the_generators(self):
        pts, conn, offs, types = gen.tiny_mesh()
        with model("tiny") as m:
            self.assertTrue(m.has_mesh)
            self.assertEqual(m.mesh_point_type, 1)
            mesh = m.mesh()
            np.testing.assert_array_equal(mesh.points, np.array(pts).reshape(-1, 3))
            np.testing.assert_array_equal(mesh.connectivity, conn)
            np.testing.assert_array_equal(mesh.offsets, [0] + offs)
            np.testing.assert_array_equal(mesh.types, types)
            self.assertEqual((m.num_points, m.num_cells), (len(pts) // 3, len(types)))

    def test_no_mesh(self):
        with model("siren") as m:
            self.assertFalse(m.has_mesh)
            self.assertEqual(m.mesh_point_type, 0)
            for call in (m.mesh, lambda: m.decode_mesh(m.times[0])):
                with self.assertRaises(mcinr.DecoderError) as e:
                    call()
                self.assertEqual(e.exception.status, mcinr.Status.NO_MESH)

    def test_closed_model(self):
        m = model("tiny")
        m.close()
        m.close()
        with self.assertRaises(ValueError):
            m.num_components


class DecodeTests(unittest.TestCase):
    def check_reference(self, name):
        ref = np.loadtxt(path(name + ".ref"), ndmin=2)
        with model(name) as m:
            C = m.num_components
            self.assertEqual(ref.shape[1], 4 + C)
            ranges = np.array([hi - lo for lo, hi in map(m.component_range, range(C))])
            got = np.concatenate([m.decode(row[None, :3], row[3]) for row in ref])
        worst = float(np.max(np.abs(got.astype(np.float64) - ref[:, 4:]) / ranges))
        self.assertLessEqual(worst, TOLERANCE, "%s: max error %.3g of the range vs the Python reference" % (name, worst))

    def test_reference_values(self):
        for name in ("tiny", "siren", "coordnet_int8z"):
            with self.subTest(name):
                self.check_reference(name)

    def test_mesh_decode_threads_components_memory(self):
        with model("tiny") as m:
            t = m.times[4]
            full = m.decode_mesh(t)
            self.assertEqual((full.shape, full.dtype), ((m.num_points, 6), np.float32))
            np.testing.assert_array_equal(m.decode_mesh(t, num_threads=3), full)
            np.testing.assert_array_equal(m.decode(m.mesh().points, t), full)
            np.testing.assert_array_equal(m.decode_mesh(t, [5, 0, 5]), full[:, [5, 0, 5]])
            out = np.zeros((m.num_points, 2), dtype=np.float32)
            self.assertIs(m.decode_mesh(t, [1, 2], out=out), out)
            np.testing.assert_array_equal(out, full[:, [1, 2]])
            with self.assertRaises(ValueError):
                m.decode_mesh(t, [1, 2], out=np.zeros((m.num_points, 3), dtype=np.float32))
            with self.assertRaises(ValueError):
                m.decode(np.zeros((4, 2)), t)
            with self.assertRaises(mcinr.DecoderError) as e:
                m.decode_mesh(t, [6])
            self.assertEqual(e.exception.status, mcinr.Status.ARGUMENT)
            with open(path("tiny.mci"), "rb") as f:
                with mcinr.Model.from_bytes(f.read(), library=LIB) as mem:
                    self.assertIsNone(mem.path)
                    np.testing.assert_array_equal(mem.decode_mesh(t), full)

    def test_concurrent_decodes_from_python_threads(self):
        with model("tiny") as m:
            want = [m.decode_mesh(t) for t in m.times]
            got = [None] * len(want)

            def work(i):
                got[i] = m.decode_mesh(m.times[i], num_threads=2)

            threads = [threading.Thread(target=work, args=(i,)) for i in range(len(want))]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            for a, b in zip(got, want):
                np.testing.assert_array_equal(a, b)

    def test_residual_values_exact(self):
        """As test_residual in test_decoder.c: every value at a stored step is the network's
        plus q·s (two double roundings), the data stream's origin + q·s, or the escaped value."""
        with model("residual") as m:
            T, C, N = m.num_times, m.num_components, m.num_points
            self.assertTrue(m.has_residual)
            self.assertGreater(m.residual_bytes, 0)
            self.assertEqual(m.format_version, (1, 11))  # the generator range-codes with coder 2 too
            lo = np.array([m.component_range(c)[0] for c in range(C)])
            hi = np.array([m.component_range(c)[1] for c in range(C)])
            bound = np.array([m.residual_max_error(c) for c in range(C)])
            np.testing.assert_array_equal(bound, np.where(hi > lo, 0.01 * (hi - lo), 1.0))
            step = 2.0 * bound * (1.0 - 1.0 / 64.0)
            with self.assertRaises(mcinr.DecoderError):
                m.residual_max_error(C)
            self.assertFalse(m.residual_applies(0.5 * (m.times[0] + m.times[1])))
            self.assertTrue(m.residual_applies(m.times[-1]))
            kind = np.zeros((T, C, N), dtype="U1")
            value = np.zeros((T, C, N))
            with open(path("residual.res")) as f:
                for line in f:
                    t, c, i, k, v = line.split()
                    kind[int(t), int(c), int(i)] = k
                    value[int(t), int(c), int(i)] = float(v)
            self.assertTrue({"q", "d", "e"} <= set(np.unique(kind)), "the generator's file has every kind of code")
            changed = 0
            for t in reversed(range(T)):  # last step first, as the C test
                net = m.decode_mesh(m.times[t], network_only=True)
                res = m.decode_mesh(m.times[t], num_threads=3)
                want = net.astype(np.float64).T.copy()
                q, k = value[t], kind[t]
                want = np.where(k == "q", want + q * step[:, None], want)
                want = np.where(k == "d", lo[:, None] + q * step[:, None], want)
                want = np.where(k == "e", value[t], want)
                want = np.where(np.abs(want) > np.finfo(np.float32).max, np.sign(want) * np.inf, want).astype(np.float32)
                np.testing.assert_array_equal(res, want.T, "step %d" % t)
                changed += int(np.sum(res != net))
            self.assertGreater(changed, N * C * T // 2)
            between = 0.5 * (m.times[2] + m.times[3])
            np.testing.assert_array_equal(m.decode_mesh(between), m.decode_mesh(between, network_only=True))

    def test_validate_residual_at_open(self):
        """validate_residual=True reconstructs every chain at open (more progress calls than the
        default open, which checks the table only); the values are the same."""
        calls = {}
        for validate in (False, True):
            fractions = []
            with mcinr.Model(path("residual.mci"), library=LIB, validate_residual=validate, num_threads=2,
                             progress=fractions.append) as m:
                calls[validate] = len(fractions)
                got = [m.decode_mesh(t) for t in m.times]
            if validate:
                for a, b in zip(got, want):
                    np.testing.assert_array_equal(a, b)
            want = got
        self.assertGreater(calls[True], calls[False])


class ErrorTests(unittest.TestCase):
    def test_missing_file_names_it(self):
        missing = path("missing.mci")
        with self.assertRaises(mcinr.DecoderError) as e:
            mcinr.Model(missing, library=LIB)
        self.assertEqual(e.exception.status, mcinr.Status.IO)
        self.assertIn(missing, str(e.exception))
        again = pickle.loads(pickle.dumps(e.exception))
        self.assertEqual((again.status, str(again)), (mcinr.Status.IO, str(e.exception)))

    def test_corrupted_file_names_it(self):
        with open(path("tiny.mci"), "rb") as f:
            data = f.read()
        bad = path("corrupted-payload.mci")
        with open(bad, "wb") as f:
            f.write(testing.flip_payload_byte(data))
        with self.assertRaises(mcinr.DecoderError) as e:
            mcinr.Model(bad, library=LIB)
        self.assertEqual(e.exception.status, mcinr.Status.CHECKSUM)
        self.assertIn(bad, str(e.exception))
        with self.assertRaises(mcinr.DecoderError) as e:
            mcinr.Model.from_bytes(data[:100], library=LIB)
        self.assertIn("memory buffer", str(e.exception))
        with self.assertRaises(mcinr.DecoderError) as e:
            mcinr.Model.from_bytes(b"", library=LIB)

    def test_section_edits(self):
        stripped = path("stripped.mci")
        testing.strip_mesh_section(path("residual.mci"), stripped)
        with mcinr.Model(stripped, library=LIB) as m:
            self.assertFalse(m.has_mesh)
            self.assertFalse(m.has_residual)
        same = path("rewritten.mci")
        testing.rewrite_mesh(path("tiny.mci"), same, lambda types, offsets, conn: None)
        with mcinr.Model(same, library=LIB) as m, model("tiny") as ref:
            for a, b in zip(m.mesh(), ref.mesh()):
                np.testing.assert_array_equal(a, b)
        with open(path("tiny.mci"), "rb") as f:
            kinds = [s.type for s in testing.sections(f.read())]
        self.assertEqual(sorted(kinds), [testing.META, testing.JSON, testing.TREE, testing.NETS, testing.MESH])


class ProgressTests(unittest.TestCase):
    def test_progress_is_reported(self):
        for name, call in [("decode_mesh", lambda m, p: m.decode_mesh(m.times[0], num_threads=2, progress=p)),
                           ("decode", lambda m, p: m.decode(np.zeros((5000, 3)), 1.0, progress=p)),
                           ("residual", lambda m, p: m.decode_mesh(m.times[1], num_threads=2, progress=p))]:
            with self.subTest(name), model("residual" if name == "residual" else "tiny") as m:
                seen = []
                call(m, lambda f: seen.append(f))
                self.assertTrue(seen, "progress called")
                self.assertEqual(seen, sorted(seen), "fractions never decrease")
                self.assertEqual(seen[-1], 1.0)

    def test_nonzero_return_aborts(self):
        for name in ("tiny", "residual"):
            with self.subTest(name), model(name) as m:
                with self.assertRaises(mcinr.DecoderError) as e:
                    m.decode_mesh(m.times[1], progress=lambda f: True)
                self.assertEqual(e.exception.status, mcinr.Status.ABORTED)
                self.assertIn("abort", str(e.exception))
                # the model is still usable
                self.assertEqual(m.decode_mesh(m.times[1]).shape, (m.num_points, m.num_components))

    def test_exception_in_callback_aborts_and_is_raised(self):
        class Stop(Exception):
            pass

        def boom(fraction):
            raise Stop(fraction)

        with model("tiny") as m:
            with self.assertRaises(Stop):
                m.decode(np.zeros((5000, 3)), 1.0, progress=boom)


class BlasTests(unittest.TestCase):
    def test_the_library_links_no_blas(self):
        """Library 1.4: the decoder's products are its own kernel, so libmcinr links no BLAS (the
        1.3 thread control raises BlasError, and blas_threads runs its block with a warning), and
        a process's OpenBLAS (the trainer's, here loaded by hand) keeps its thread count."""
        with self.assertRaises(mcinr.BlasError):
            mcinr.blas_library_path(LIB)
        with self.assertWarns(DeprecationWarning):
            with mcinr.blas_threads(1, LIB):
                pass
        try:
            blas = ctypes.CDLL("libopenblas.so.0")
            blas.openblas_get_num_threads.restype = ctypes.c_int
        except (OSError, AttributeError):
            self.skipTest("no libopenblas.so.0 on this machine")
        before = blas.openblas_get_num_threads()
        with model("tiny") as m:
            m.decode_mesh(m.times[0], num_threads=2)
        self.assertEqual(blas.openblas_get_num_threads(), before)


if __name__ == "__main__":
    unittest.main()
