"""vtkMCINRReader for `import vtk` users: a VTK algorithm in Python over the one C decoder.

    import vtk
    from mcinr.vtk_reader import vtkMCINRReader
    reader = vtkMCINRReader()
    reader.SetFileName("model.mci")
    reader.UpdateInformation()                    # variables and time steps, nothing decoded
    reader.DisableAllPointArrays()
    reader.SetPointArrayStatus("temperature", 1)
    reader.UpdateTimeStep(5.0)                    # any time, also between stored steps
    grid = reader.GetOutput()                     # vtkUnstructuredGrid

The same interface and output as the C++ vtkMCINRReader (plugin/Reader): TIME_STEPS and
TIME_RANGE in RequestInformation; RequestData decodes the enabled point arrays at
UPDATE_TIME_STEP (no snapping: the model is continuous in time); float32 arrays named after the
variables; points in the stored precision; 64-bit cell arrays; field data MCINR_metadata,
MCINR_method, MCINR_compression_ratio, MCINR_file_compression_ratio, MCINR_time. Errors go
to ErrorEvent observers (else VTK's output window), the request fails, the output stays empty,
and GetLastError() returns the message (GetLastException() the exception, a DecoderError for
the decoder's). Works with any VTK ≥ 9.1 Python (PyPI's `vtk`, Debian's, ParaView's).
"""
import math
import os
import weakref

from vtkmodules.util.numpy_support import numpy_to_vtk, vtk_to_numpy
from vtkmodules.util.vtkAlgorithm import VTKPythonAlgorithmBase
from vtkmodules.vtkCommonCore import (vtkCommand, vtkDataArraySelection, vtkDoubleArray, vtkOutputWindow, vtkPoints,
                                      vtkStringArray, vtkTypeInt64Array, vtkUnsignedCharArray)
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkDataObject, vtkUnstructuredGrid
from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline

from . import capi
from .file import File, default_threads

MAGIC = b"MCINR\x00\r\n"
_SDDP = vtkStreamingDemandDrivenPipeline


def _int64_array(values):
    array = vtkTypeInt64Array()
    array.SetNumberOfTuples(values.size)
    if values.size:
        vtk_to_numpy(array)[:] = values
    return array


def _json_string_member(metadata, key):
    value = metadata.get(key) if isinstance(metadata, dict) else None
    return value if isinstance(value, str) else ""


class vtkMCINRReader(VTKPythonAlgorithmBase):
    """Reads an MC-INR model (*.mci) as a time-varying vtkUnstructuredGrid (see the module)."""

    def __init__(self, library=None):
        VTKPythonAlgorithmBase.__init__(self, nInputPorts=0, nOutputPorts=1, outputType="vtkUnstructuredGrid")
        self._library = library
        self._file_name = None
        self._threads = 0
        self._file = None
        self._stamp = None
        self._grid = None  # the mesh (points + cells) of the open file, shared by every step
        self._decoded_time = math.nan
        self._error = None
        self._selection = vtkDataArraySelection()
        me = weakref.ref(self)  # no cycle through the VTK object's observer

        def on_modified(_obj, _event):
            reader = me()
            if reader is not None:
                reader.Modified()

        self._selection.AddObserver(vtkCommand.ModifiedEvent, on_modified)

    def GetOutput(self, port=0):
        """The vtkUnstructuredGrid of the last update (as vtkUnstructuredGridAlgorithm's)."""
        return self.GetOutputDataObject(port)

    # ---- properties (the C++ reader's) ----

    def SetFileName(self, name):
        name = None if name is None else os.fspath(name)
        if name != self._file_name:
            self._file_name = name
            self.Modified()

    def GetFileName(self):
        return self._file_name

    def SetNumberOfThreads(self, n):
        """Decoder threads; 0 (the default) or less: every CPU. The values do not depend on it."""
        if int(n) != self._threads:
            self._threads = int(n)
            self.Modified()

    def GetNumberOfThreads(self):
        return self._threads

    def CanReadFile(self, name):
        """1 when the file starts with the .mci magic."""
        try:
            with open(name, "rb") as f:
                return 1 if f.read(len(MAGIC)) == MAGIC else 0
        except (OSError, TypeError):
            return 0

    def GetPointDataArraySelection(self):
        return self._selection

    def GetNumberOfPointArrays(self):
        return self._selection.GetNumberOfArrays()

    def GetPointArrayName(self, index):
        return self._selection.GetArrayName(index)

    def GetPointArrayStatus(self, name):
        return self._selection.ArrayIsEnabled(name)

    def SetPointArrayStatus(self, name, status):
        if status:
            self._selection.EnableArray(name)
        else:
            self._selection.DisableArray(name)

    def EnableAllPointArrays(self):
        self._selection.EnableAllArrays()

    def DisableAllPointArrays(self):
        self._selection.DisableAllArrays()

    # no cell arrays (pyvista's PointCellDataSelection asks)
    def GetNumberOfCellArrays(self):
        return 0

    def GetCellArrayName(self, index):
        return None

    def GetCellArrayStatus(self, name):
        return 0

    def GetDecodedTime(self):
        """The time decoded by the last successful request (NaN before that)."""
        return self._decoded_time

    def GetLastError(self):
        """The message of the last failed request (None after a successful one)."""
        return None if self._error is None else str(self._error)

    def GetLastException(self):
        """The exception behind the last failed request (DecoderError for the decoder's)."""
        return self._error

    def GetModel(self):
        """The open mcinr.File (after UpdateInformation), or None."""
        return self._file

    # ---- errors ----

    def _fail(self, error):
        self._error = error if isinstance(error, BaseException) else RuntimeError(error)
        message = str(self._error)
        if self.HasObserver(vtkCommand.ErrorEvent):
            self.InvokeEvent(vtkCommand.ErrorEvent, message)
        else:
            vtkOutputWindow.GetInstance().DisplayErrorText("ERROR: In vtkMCINRReader: %s\n" % message)
        return 0

    # ---- the file ----

    def _open(self):
        """Opens FileName, or reuses the open file when name, size and mtime are unchanged."""
        if not self._file_name:
            raise capi.DecoderError(capi.Status.ARGUMENT, "No file name set for the MC-INR reader.")
        try:
            st = os.stat(self._file_name)
        except OSError:
            self._close()
            raise capi.DecoderError(capi.Status.IO, "Cannot open MC-INR model '%s': no such file." % self._file_name)
        stamp = (self._file_name, st.st_size, st.st_mtime_ns)
        if self._file is not None and stamp == self._stamp:
            return self._file
        self._close()
        self._file = File(self._file_name, library=self._library)
        self._stamp = stamp
        return self._file

    def _close(self):
        if self._file is not None:
            self._file.close()
        self._file, self._stamp, self._grid = None, None, None

    def _mesh(self, f):
        if self._grid is None:
            points_np, cells_np = f.points, f.cells  # DecoderError without a (valid) mesh
            grid = vtkUnstructuredGrid()
            points = vtkPoints()
            points.SetData(numpy_to_vtk(points_np, deep=True))
            cells = vtkCellArray()
            cells.SetData(_int64_array(cells_np.offsets), _int64_array(cells_np.connectivity))
            types = vtkUnsignedCharArray()
            types.SetNumberOfTuples(cells_np.types.size)
            if cells_np.types.size:
                vtk_to_numpy(types)[:] = cells_np.types
            grid.SetPoints(points)
            grid.SetCells(types, cells)
            self._grid = grid
        return self._grid

    # ---- pipeline ----

    def RequestInformation(self, request, inInfo, outInfo):
        try:
            f = self._open()
        except Exception as e:  # noqa: BLE001 (never through VTK)
            return self._fail(e)
        names = list(f.variables)
        current = [self._selection.GetArrayName(i) for i in range(self._selection.GetNumberOfArrays())]
        if sorted(current) != sorted(names):
            # a name already known keeps the user's choice; names the file lacks are dropped
            previous = {n: self._selection.ArrayIsEnabled(n) for n in current}
            self._selection.RemoveAllArrays()
            for n in names:
                self._selection.AddArray(n, bool(previous.get(n, 1)))
        info = outInfo.GetInformationObject(0)
        times = f.times
        if times.size:
            info.Set(_SDDP.TIME_STEPS(), [float(t) for t in times], int(times.size))
            info.Set(_SDDP.TIME_RANGE(), [float(times[0]), float(times[-1])], 2)
        else:
            info.Remove(_SDDP.TIME_STEPS())
            info.Remove(_SDDP.TIME_RANGE())
        self._error = None
        return 1

    def RequestData(self, request, inInfo, outInfo):
        info = outInfo.GetInformationObject(0)
        output = vtkUnstructuredGrid.GetData(info)
        output.Initialize()
        self.SetAbortExecute(0)
        try:
            f = self._open()
            times = f.times
            time = float(times[0]) if times.size else 0.0
            if info.Has(_SDDP.UPDATE_TIME_STEP()):
                time = info.Get(_SDDP.UPDATE_TIME_STEP())
            if not math.isfinite(time):
                raise capi.DecoderError(capi.Status.ARGUMENT, "Requested time %r is not a finite number." % time)
            self.UpdateProgress(0.0)
            grid = self._mesh(f)
            self.UpdateProgress(0.05)
            selected = [n for n in f.variables if self._selection.ArrayIsEnabled(n)]
            values = {}
            if selected and f.num_points:
                threads = self._threads if self._threads > 0 else default_threads()
                values = f.decode_mesh(time, selected, num_threads=threads,
                                       progress=lambda x: self.UpdateProgress(0.05 + 0.9 * x) or self.GetAbortExecute())
        except Exception as e:  # noqa: BLE001
            output.Initialize()
            if isinstance(e, capi.DecoderError) and e.status == capi.Status.ABORTED:
                return 0
            return self._fail(e)
        output.ShallowCopy(grid)
        for name in selected:
            if name in values:
                array = numpy_to_vtk(values[name], deep=True)
                array.SetName(name)
                output.GetPointData().AddArray(array)
        self._field_data(f, output, time)
        output.GetInformation().Set(vtkDataObject.DATA_TIME_STEP(), time)
        self._decoded_time = time
        self._error = None
        self.UpdateProgress(1.0)
        return 1

    def _field_data(self, f, output, time):
        fd = output.GetFieldData()
        fd.Initialize()
        metadata = vtkStringArray()
        metadata.SetName("MCINR_metadata")
        metadata.InsertNextValue(f.model.metadata_json)
        fd.AddArray(metadata)
        try:
            method = _json_string_member(f.metadata, "method")
        except ValueError:
            method = ""
        if method:
            a = vtkStringArray()
            a.SetName("MCINR_method")
            a.InsertNextValue(method)
            fd.AddArray(a)
        raw, weights = float(f.model.raw_field_bytes), float(f.model.weight_bytes)
        size = self._stamp[1] if self._stamp else 0
        for name, value in (("MCINR_compression_ratio", raw / weights if raw > 0 and weights > 0 else None),
                            ("MCINR_file_compression_ratio", raw / size if raw > 0 and size > 0 else None),
                            ("MCINR_time", time)):
            if value is not None:
                a = vtkDoubleArray()
                a.SetName(name)
                a.InsertNextValue(value)
                fd.AddArray(a)
