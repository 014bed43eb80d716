"""The pyvista reader of .mci files, registered through the `pyvista.readers` entry point
(pyproject.toml), so that with the package installed

    import pyvista as pv
    grid = pv.read("model.mci")                    # UnstructuredGrid at the first stored step
    reader = pv.get_reader("model.mci")            # MCINRReader: time steps and array selection
    reader.set_active_time_value(reader.time_values[3]); reader.disable_point_array("velocity")
    grid = reader.read()

Without the installed entry point (a checkout on PYTHONPATH): mcinr.pyvista_reader.register().
It wraps mcinr.vtk_reader.vtkMCINRReader, so the values are the C decoder's. Unlike pyvista's
VTK readers it raises instead of warning: a file the decoder rejects raises mcinr.DecoderError
with the decoder's message (when the reader is made, or from read()).
"""
import pyvista
from pyvista.core.utilities.reader import BaseReader, PointCellDataSelection, TimeReader
from vtkmodules.vtkCommonExecutionModel import vtkStreamingDemandDrivenPipeline

from .vtk_reader import vtkMCINRReader

_SDDP = vtkStreamingDemandDrivenPipeline


def _ignore(_obj, _event):
    pass


class MCINRReader(BaseReader, PointCellDataSelection, TimeReader):
    """pyvista reader of MC-INR models (*.mci); wraps mcinr.vtk_reader.vtkMCINRReader."""

    _class_reader = vtkMCINRReader
    _vtk_module_name = ""
    _vtk_class_name = ""

    def _set_defaults(self):
        # Failures raise (with the decoder's message), so VTK need not print them as well.
        for obj in (self.reader, self.reader.GetExecutive()):
            obj.AddObserver("ErrorEvent", _ignore)

    def _raise_failure(self):
        error = self.reader.GetLastException()
        if error is not None:
            raise error

    def _update_information(self):
        self.reader.UpdateInformation()
        self._raise_failure()

    def _set_defaults_post(self):
        if self.number_time_points:
            self.set_active_time_point(0)

    def read(self, *args, **kwargs):
        """The UnstructuredGrid at the active time with the enabled point arrays; raises the
        decoder's error (DecoderError) instead of returning an empty grid."""
        data = super().read(*args, **kwargs)
        self._raise_failure()
        return data  # pyvista's wrap is a shallow copy: the next read() leaves it as it is

    # ---- time (TimeReader) ----

    def _info(self):
        return self.reader.GetOutputInformation(0)

    @property
    def number_time_points(self):
        info = self._info()
        return info.Length(_SDDP.TIME_STEPS()) if info.Has(_SDDP.TIME_STEPS()) else 0

    @property
    def time_values(self):
        info = self._info()
        return [info.Get(_SDDP.TIME_STEPS(), i) for i in range(self.number_time_points)]

    def time_point_value(self, time_point):
        return self.time_values[time_point]

    @property
    def active_time_value(self):
        info = self._info()
        return info.Get(_SDDP.UPDATE_TIME_STEP()) if info.Has(_SDDP.UPDATE_TIME_STEP()) else None

    @property
    def active_time_point(self):
        return self.time_values.index(self.active_time_value)

    def set_active_time_value(self, time_value):
        """Any time, also between stored steps (the model is continuous in time)."""
        self._info().Set(_SDDP.UPDATE_TIME_STEP(), float(time_value))

    def set_active_time_point(self, time_point):
        if time_point < 0 or time_point >= self.number_time_points:
            raise ValueError("Time point (%s) out of range [0, %d]" % (time_point, self.number_time_points - 1))
        self.set_active_time_value(self.time_values[time_point])

    # ---- the file ----

    @property
    def model(self):
        """The open mcinr.File."""
        return self.reader.GetModel()

    @property
    def number_of_threads(self):
        return self.reader.GetNumberOfThreads()

    @number_of_threads.setter
    def number_of_threads(self, n):
        self.reader.SetNumberOfThreads(n)


def register(override=False):
    """Registers MCINRReader for '.mci' (what the installed entry point does)."""
    pyvista.register_reader(".mci", MCINRReader, override=override)
