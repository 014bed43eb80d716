"""pvpython tests of the MC-INR reader plugin.

  pvpython test_reader.py --plugin MCINRReaderPlugin.so --lib libmcinr.so --mci model.mci
                          [--pvd ground_truth.pvd] --workdir DIR

Loads the plugin, opens the model with File > Open's reader factory, and checks mesh sizes,
array names/components and time steps (against the ground truth .pvd when given, and always
against the C decoder, called through the one Python binding, python/mcinr), values against
mcinr_decode_mesh at a stored step and between steps, array selection, the metadata field
data, and that a truncated, a checksum-damaged, a non-.mci and a mesh-less file each give an
error and no crash.
"""
import argparse
import os
import shutil
import sys
import time

import numpy as np

from paraview import servermanager
from paraview.simple import (Delete, LoadPlugin, OpenDataFile, PVDReader, ReloadFiles)
from vtkmodules.util.numpy_support import vtk_to_numpy
from vtkmodules.util.misc import calldata_type
from vtkmodules.vtkCommonCore import VTK_STRING

# The one Python binding of the C decoder (python/mcinr), on the libmcinr.so given by --lib.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import mcinr  # noqa: E402
from mcinr import testing  # noqa: E402

FAILURES = []


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message, flush=True)
    if not condition:
        FAILURES.append(message)
    return condition


class ErrorCatcher:
    """Collects the vtkErrorMacro messages of a reader (builtin session: the VTK object lives
    in this process). With an ErrorEvent observer VTK passes the message to it instead of
    printing it; pvpython's own output also goes through vtkOutputWindow, so that stays."""

    def __init__(self, proxy):
        self.messages = []
        self.algorithm = proxy.GetClientSideObject()

        @calldata_type(VTK_STRING)
        def on_error(_obj, _event, message):
            self.messages.append(message)

        self._callback = on_error
        # The executive adds its own "returned failure for request" error.
        self.observers = [(obj, obj.AddObserver("ErrorEvent", on_error))
                          for obj in (self.algorithm, self.algorithm.GetExecutive())]

    def text(self):
        return "\n".join(self.messages)


def reader_catching_errors(path):
    """A reader proxy with an ErrorCatcher attached before it first looks at `path`."""
    proxy = servermanager.sources.MCINRReader()
    errors = ErrorCatcher(proxy)
    proxy.FileName = path
    proxy.UpdatePipelineInformation()
    return proxy, errors


def fetch(reader, time=None):
    if time is None:
        reader.UpdatePipeline()
    else:
        reader.UpdatePipeline(time)
    return servermanager.Fetch(reader)


def point_array(grid, name):
    array = grid.GetPointData().GetArray(name)
    return None if array is None else vtk_to_numpy(array)


def expected_block(model, time, variables, threads):
    """Decoder values for `variables` [(name, first, count)] as {name: (N, count) array}."""
    components = [first + k for _, first, count in variables for k in range(count)]
    table = model.decode_mesh(time, components, threads)
    out, column = {}, 0
    for name, _, count in variables:
        out[name] = table[:, column:column + count].reshape(-1, count)
        column += count
    return out


def compare_values(grid, expected, ranges, what):
    """Arrays equal the decoder's up to float rounding that a different batch split may give."""
    for name, values in expected.items():
        got = point_array(grid, name)
        if not check(got is not None, "%s: array %s present" % (what, name)):
            continue
        got = got.reshape(values.shape)
        # mcinr.h: results do not depend on the thread count or on which components are
        # requested, so the reader's values must be bit-identical to a direct decode.
        diff = float(np.max(np.abs(got.astype(np.float64) - values))) if values.size else 0.0
        check(np.array_equal(got, values),
              "%s: %s equals mcinr_decode_mesh (max diff %.3g, range %.3g)" % (what, name, diff, ranges[name]))


def prefetch_state(reader, seconds=120):
    """The reader's background mesh decode once it is not running (GetMeshPrefetchState: 0 none,
    2 done, 3 failed), waiting for it at most `seconds`."""
    def state():
        reader.UpdatePropertyInformation()
        return reader.GetPropertyValue("MeshPrefetchState")

    deadline = time.time() + seconds
    while state() == 1 and time.time() < deadline:
        time.sleep(0.01)
    return state()


def ground_truth(pvd_path):
    """(times, points, cells, {name: components}) of the first dataset of a .pvd."""
    gt = PVDReader(FileName=pvd_path)
    gt.UpdatePipelineInformation()
    times = list(gt.TimestepValues) if gt.TimestepValues else []
    data = servermanager.Fetch(gt)
    arrays = {}
    pd = data.GetPointData()
    for i in range(pd.GetNumberOfArrays()):
        arrays[pd.GetArrayName(i)] = pd.GetArray(i).GetNumberOfComponents()
    result = (times, data.GetNumberOfPoints(), data.GetNumberOfCells(), arrays)
    Delete(gt)
    return result


def ground_truth_values(pvd_path, time):
    """{name: values} of the .pvd's point arrays at `time`."""
    gt = PVDReader(FileName=pvd_path)
    gt.UpdatePipeline(time)
    data = servermanager.Fetch(gt)
    pd = data.GetPointData()
    values = {pd.GetArrayName(i): vtk_to_numpy(pd.GetArray(i)).copy() for i in range(pd.GetNumberOfArrays())}
    Delete(gt)
    return values


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--plugin", required=True)
    ap.add_argument("--lib", required=True)
    ap.add_argument("--mci", required=True)
    ap.add_argument("--other-mci", help="a second model with the same mesh, for the reload test")
    ap.add_argument("--pvd")
    ap.add_argument("--exported-pvd", help="what `mcinr-vtk export --vtu` wrote for this model")
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)

    LoadPlugin(args.plugin, ns=globals())
    model = mcinr.Model(args.mci, library=args.lib)
    variables = model.variables
    names = [v.name for v in variables]
    times = model.times
    pts_ref, types_ref, offs_ref, conn_ref = model.mesh()

    # ---- Information: variables and time steps, before any decoding ----
    reader = OpenDataFile(args.mci)
    check(reader is not None and reader.GetXMLName() == "MCINRReader",
          "OpenDataFile picks the MC-INR reader for *.mci")
    good_errors = ErrorCatcher(reader)
    reader.UpdatePipelineInformation()
    check(list(reader.PointArrayStatus) == names, "PointArrayStatus lists the variables %s" % names)
    check(list(reader.TimestepValues) == times, "TimestepValues equal the stored times (%d)" % len(times))
    check(reader.NumberOfThreads == 0 if hasattr(reader, "NumberOfThreads") else False,
          "NumberOfThreads property exists, default 0")
    reader.NumberOfThreads = 2
    is_meshc = any(s.type == testing.MESHC for s in testing.sections(testing._read(args.mci)))
    check(reader.PrefetchMesh == 1, "PrefetchMesh property exists, default 1")
    state = prefetch_state(reader)
    # a MESHC mesh, and an error-bounded file's residual geometry (built on first use since C
    # library 1.8.2), are prepared in the background; a MESH file without a residual has nothing
    background = is_meshc or model.has_residual
    check(state == (2 if background else 0),
          "the mesh prefetch after the information pass: state %d (%s)" % (
              state, "decoded in the background" + (" with the residual's geometry" if model.has_residual else "")
              if background else "MESH: none"))

    # ---- Mesh and all arrays at the first stored step ----
    grid = fetch(reader, times[0])
    n_points, n_cells = len(pts_ref), len(types_ref)
    check(grid.GetNumberOfPoints() == n_points, "points: %d" % grid.GetNumberOfPoints())
    check(grid.GetNumberOfCells() == n_cells, "cells: %d" % grid.GetNumberOfCells())
    got_pts = vtk_to_numpy(grid.GetPoints().GetData())
    check(np.array_equal(got_pts.reshape(-1), pts_ref.reshape(-1)), "point coordinates equal the decoder's")
    stored_type = model.mesh_point_type
    if stored_type:
        want = np.float32 if stored_type == 1 else np.float64
        check(got_pts.dtype == want, "points keep their stored precision (%s)" % np.dtype(want).name)
    cells = grid.GetCells()
    check(np.array_equal(vtk_to_numpy(cells.GetOffsetsArray()), offs_ref)
          and np.array_equal(vtk_to_numpy(cells.GetConnectivityArray()), conn_ref)
          and np.array_equal(vtk_to_numpy(grid.GetCellTypesArray()), types_ref),
          "cell offsets, connectivity and types equal the decoder's")
    pd = grid.GetPointData()
    got_arrays = {pd.GetArrayName(i): pd.GetArray(i).GetNumberOfComponents()
                  for i in range(pd.GetNumberOfArrays())}
    check(got_arrays == {name: count for name, _, count in variables},
          "point arrays and components: %s" % got_arrays)
    expected0 = expected_block(model, times[0], variables, 2)
    ranges = {name: float(np.ptp(values)) for name, values in expected0.items()}
    compare_values(grid, expected0, ranges, "t=%g" % times[0])
    # without the background decode: none started, the same mesh and values; a reader deleted
    # right after its information pass stops its background decode (no hang, no crash)
    lazy = servermanager.sources.MCINRReader()  # PrefetchMesh set before the file is opened
    lazy.PrefetchMesh = 0
    lazy.FileName = args.mci
    lazy.UpdatePipelineInformation()
    check(prefetch_state(lazy) == 0, "PrefetchMesh 0: no background mesh decode")
    lazy_grid = fetch(lazy, times[0])
    check(np.array_equal(vtk_to_numpy(lazy_grid.GetPoints().GetData()), got_pts)
          and np.array_equal(vtk_to_numpy(lazy_grid.GetCells().GetConnectivityArray()), conn_ref),
          "PrefetchMesh 0: the same mesh")
    compare_values(lazy_grid, expected0, ranges, "PrefetchMesh 0, t=%g" % times[0])
    Delete(lazy)
    gone = OpenDataFile(args.mci)
    gone.UpdatePipelineInformation()
    Delete(gone)  # joins its thread: a hang or crash here fails the run
    if model.has_residual:
        # error-bounded model: the values just compared include the residual (the reader
        # gets it through mcinr_decode_mesh), so they differ from the network alone
        components = [first + k for _, first, count in variables for k in range(count)]
        network = model.decode_mesh(times[0], components, 2, network_only=True).reshape(-1)
        with_residual = np.concatenate([expected0[name].reshape(len(network) // len(components), -1)
                                        for name, _, _ in variables], axis=1).reshape(-1)
        check(not np.array_equal(network, with_residual),
              "error-bounded model: the reader's values at a stored step include the residual")
        if args.pvd:
            # ... and are within the stored bound E_c of the ground truth at every point
            truth = ground_truth_values(args.pvd, times[0])
            for name, first, count in variables:
                got = point_array(grid, name).reshape(-1, count).astype(np.float64)
                want = truth[name].reshape(-1, count).astype(np.float64)
                worst = [float(np.max(np.abs(got[:, k] - want[:, k])) / model.residual_max_error(first + k))
                         for k in range(count)]
                check(max(worst) <= 1.0, "error-bounded model: %s within E_c of the ground truth "
                      "(max |err| / E_c = %.4f)" % (name, max(worst)))

    if args.pvd:
        gt_times, gt_points, gt_cells, gt_arrays = ground_truth(args.pvd)
        check(grid.GetNumberOfPoints() == gt_points and grid.GetNumberOfCells() == gt_cells,
              "mesh size equals the ground truth (%d points, %d cells)" % (gt_points, gt_cells))
        check(all(gt_arrays.get(name) == count for name, count in got_arrays.items()),
              "arrays and components match the ground truth %s" % gt_arrays)
        check(len(gt_times) == len(times) and np.allclose(gt_times, times, rtol=1e-5, atol=0),
              "time steps equal the ground truth's (%d, to the .pvd's 6 printed digits)" % len(gt_times))

    if args.exported_pvd:
        # The CLI and ParaView go through the same decoder: the exported VTU holds the same values.
        exported = PVDReader(FileName=args.exported_pvd)
        exported.UpdatePipelineInformation()
        for t in [times[0], times[-1]]:
            exported.UpdatePipeline(t)
            ex = servermanager.Fetch(exported)
            mine = fetch(reader, t)
            for name, _, count in variables:
                a, b = point_array(ex, name), point_array(mine, name)
                check(a is not None and b is not None and np.array_equal(a, b),
                      "t=%g: %s equals what mcinr-vtk export wrote" % (t, name))
        Delete(exported)

    # ---- Field data ----
    fd = grid.GetFieldData()
    meta = fd.GetAbstractArray("MCINR_metadata")
    check(meta is not None and meta.GetValue(0) == model.metadata_json,
          "field data MCINR_metadata holds the model's JSON")
    t_field = fd.GetArray("MCINR_time")
    check(t_field is not None and t_field.GetValue(0) == times[0], "field data MCINR_time = requested time")

    # ---- A time between stored steps is decoded directly ----
    if len(times) >= 2:
        t_mid = 0.5 * (times[0] + times[1])
        grid_mid = fetch(reader, t_mid)
        check(grid_mid.GetFieldData().GetArray("MCINR_time").GetValue(0) == t_mid,
              "time between steps: decoded at t=%g" % t_mid)
        expected_mid = expected_block(model, t_mid, variables, 2)
        compare_values(grid_mid, expected_mid, ranges, "t=%g" % t_mid)
        expected1 = expected_block(model, times[1], variables, 2)
        # A variable that is constant in the data decodes to its constant everywhere: skip it.
        varying = [n for n in names if np.ptp(expected0[n]) > 0 or np.ptp(expected1[n]) > 0]
        differs = all(not np.array_equal(point_array(grid_mid, n).reshape(expected0[n].shape), expected0[n]) and
                      not np.array_equal(point_array(grid_mid, n).reshape(expected1[n].shape), expected1[n])
                      for n in varying)
        check(bool(varying) and differs,
              "values between steps differ from both neighbouring steps (not snapped): %s" % varying)

    if model.has_residual:
        # ---- Playing the stored steps in order (the decoder continues each component's
        # prediction chain from the step before): the values of decodes last step first, on a
        # model of their own ----
        alone = mcinr.Model(args.mci, library=args.lib)
        want = {t: expected_block(alone, t, variables, 2) for t in reversed(times)}
        for t in times:
            compare_values(fetch(reader, t), want[t], ranges, "played in order, t=%g" % t)

    # ---- Array selection: only the chosen variables are decoded ----
    vector = [v for v in variables if v[2] > 1]
    scalar = [v for v in variables if v[2] == 1]
    chosen = ([vector[0]] if vector else []) + ([scalar[-1]] if scalar else [])
    chosen = chosen[:2] if len(variables) > 2 else chosen[:1]
    reader.PointArrayStatus = [v[0] for v in chosen]
    grid_sel = fetch(reader, times[-1])
    pd = grid_sel.GetPointData()
    got_sel = sorted(pd.GetArrayName(i) for i in range(pd.GetNumberOfArrays()))
    check(got_sel == sorted(v[0] for v in chosen), "selection %s gives arrays %s" % ([v[0] for v in chosen], got_sel))
    compare_values(grid_sel, expected_block(model, times[-1], chosen, 2), ranges, "selection, t=%g" % times[-1])
    if vector:
        arr = pd.GetArray(vector[0][0])
        check(arr is not None and arr.GetNumberOfComponents() == vector[0][2],
              "vector variable %s has %d components" % (vector[0][0], vector[0][2]))
    reader.PointArrayStatus = []
    grid_none = fetch(reader, times[0])
    check(grid_none.GetPointData().GetNumberOfArrays() == 0 and grid_none.GetNumberOfPoints() == n_points,
          "no array selected: mesh only")
    reader.PointArrayStatus = names

    # ---- The thread count does not change the values ----
    reader.NumberOfThreads = 1
    compare_values(fetch(reader, times[0]), expected0, ranges, "1 thread, t=%g" % times[0])
    reader.NumberOfThreads = 2

    # ---- Progress and abort ----
    algorithm = reader.GetClientSideObject()
    progress, abort = [], {"on": False}

    def on_progress(obj, _event):
        progress.append(obj.GetProgress())
        if abort["on"] and obj.GetProgress() > 0.05:
            obj.SetAbortExecute(1)

    observer = algorithm.AddObserver("ProgressEvent", on_progress)
    grid_p = fetch(reader, times[-1] + 0.25 * (times[-1] - times[0] if len(times) > 1 else 1.0))
    inner = [p for p in progress if 0.05 < p < 1.0]
    check(grid_p.GetNumberOfPoints() == n_points and len(inner) >= 1 and inner == sorted(inner),
          "progress reported while decoding (%d values in (0.05, 1), non-decreasing)" % len(inner))
    check(not good_errors.messages, "no errors from the good file so far")
    abort["on"] = True
    grid_a = fetch(reader, times[0] + 0.125 * (times[-1] - times[0]))
    check(grid_a.GetNumberOfPoints() == 0, "abort during decoding: empty output")
    good_errors.messages.clear()  # the executive reports the aborted request as failed
    abort["on"] = False
    grid_b = fetch(reader, times[0] + 0.375 * (times[-1] - times[0]))
    check(grid_b.GetNumberOfPoints() == n_points and grid_b.GetPointData().GetNumberOfArrays() == len(variables),
          "the request after an abort runs normally")
    algorithm.RemoveObserver(observer)

    # ---- Reload after the file changed on disk (handle cache keyed by name + mtime) ----
    if args.other_mci:
        path = os.path.join(args.workdir, "reload.mci")
        shutil.copyfile(args.mci, path)
        r2 = OpenDataFile(path)
        r2.NumberOfThreads = 2
        before = point_array(fetch(r2, times[0]), names[-1]).copy()
        shutil.copyfile(args.other_mci, path + ".tmp")
        os.replace(path + ".tmp", path)
        os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
        ReloadFiles(r2)
        after = point_array(fetch(r2, times[0]), names[-1])
        other = mcinr.Model(args.other_mci, library=args.lib)
        want = expected_block(other, times[0], [variables[-1]], 2)[names[-1]].reshape(-1)
        check(not np.array_equal(before, after) and np.allclose(after, want, rtol=0, atol=1e-5 * max(ranges[names[-1]], 1e-30)),
              "reloading a rewritten file decodes the new model")
        other.close()
        Delete(r2)

    # ---- Bad files: an error naming the problem, empty output, no crash ----
    data = open(args.mci, "rb").read()
    bad = {}
    bad["truncated"] = data[: len(data) // 2]
    bad["checksum"] = testing.flip_payload_byte(data)
    checksum_text = mcinr.status_string(mcinr.Status.CHECKSUM, args.lib)
    bad["not-mci"] = b"this is not an MC-INR model\n" * 4
    for kind, content in bad.items():
        path = os.path.join(args.workdir, "bad-%s.mci" % kind)
        open(path, "wb").write(content)
        r, errors = reader_catching_errors(path)
        out = fetch(r)
        message = errors.text()
        line = next((l for l in message.splitlines() if "MC-INR" in l), "(no message)")
        check(out.GetNumberOfPoints() == 0 and path in message,
              "%s file: error naming the file, empty output: %s" % (kind, line))
        if kind == "checksum":
            check(checksum_text in message, "checksum file: the error says '%s'" % checksum_text)
        Delete(r)

    # Cells the decoder accepts (indices in range) but VTK must not get: the reader checks.
    def unknown_type(types, offsets, conn):
        types[0] = 99

    def short_tetra(types, offsets, conn):
        # The first cell claims to be a tetrahedron but has 3 points.
        size = offsets[0]
        del conn[size - 1]
        types[0] = 10
        offsets[:] = [o - 1 for o in offsets]

    has_mesh_section = any(s.type == testing.MESH for s in testing.sections(data))
    for kind, edit in (("unknown-cell-type", unknown_type), ("short-tetra", short_tetra)):
        if not has_mesh_section:  # MESHC (mcinr-vtk's default): checked below
            break
        path = os.path.join(args.workdir, "bad-%s.mci" % kind)
        testing.rewrite_mesh(args.mci, path, edit)
        r, errors = reader_catching_errors(path)
        out = fetch(r)
        line = next((l for l in errors.text().splitlines() if "cell 0" in l), "(no message)")
        check(out.GetNumberOfPoints() == 0 and "cell 0" in errors.text(),
              "%s mesh: error, empty output: %s" % (kind, line))
        Delete(r)
    if any(s.type == testing.MESHC for s in testing.sections(data)):
        # a malformed chunk stream (CRC fixed) passes the open's table checks and fails when the
        # mesh is decoded (at open when a RESIDUAL needs the cells, else on the mesh request)
        path = os.path.join(args.workdir, "bad-chunk.mci")
        testing.corrupt_mesh_chunk(args.mci, path)
        r, errors = reader_catching_errors(path)
        r.UpdatePipelineInformation()
        if not model.has_residual:  # (with one the open decodes the mesh, and fails)
            check(prefetch_state(r) == 3, "malformed MESHC chunk: the background decode fails (state 3)")
        out = fetch(r)
        line = next((l for l in errors.text().splitlines() if "mesh" in l.lower()), "(no message)")
        check(out.GetNumberOfPoints() == 0 and path in errors.text() and "mesh" in errors.text().lower(),
              "malformed MESHC chunk: error naming the file, empty output: %s" % line)
        Delete(r)

    nomesh = os.path.join(args.workdir, "no-mesh.mci")
    testing.strip_mesh_section(args.mci, nomesh)
    r, errors = reader_catching_errors(nomesh)
    r.UpdatePipelineInformation()
    check(list(r.TimestepValues) == times, "mesh-less file: time steps still published")
    out = fetch(r)
    message = errors.text()
    check(out.GetNumberOfPoints() == 0 and "no embedded mesh" in message,
          "mesh-less file: clear error, empty output")
    Delete(r)

    # ---- Still alive and working after the errors ----
    grid_again = fetch(reader, times[0])
    check(grid_again.GetNumberOfPoints() == n_points and
          grid_again.GetPointData().GetNumberOfArrays() == len(variables),
          "the process still reads good files after the errors")
    check(not good_errors.messages, "no errors from the good file: %s" % good_errors.text()[:200])
    model.close()

    print("%d failure(s)" % len(FAILURES))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
