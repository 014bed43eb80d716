"""Run by the ParaView GUI (`paraview --script=gui_smoke.py --exit`, plugin found through
PV_PLUGIN_PATH, file name in MCINR_SMOKE_MCI): the Qt client loads the plugin, opens the file
through the reader factory and renders it. Prints a line run.sh checks; paraview's exit status
does not reflect errors in the script."""
import os

from paraview.simple import OpenDataFile, Render, Show

path = os.environ["MCINR_SMOKE_MCI"]
reader = OpenDataFile(path)
times = list(reader.TimestepValues)
reader.UpdatePipeline(0.5 * (times[0] + times[-1]))
points = reader.GetDataInformation().GetNumberOfPoints()
Show(reader)
Render()
print("MCINR-GUI-SMOKE reader=%s points=%d arrays=%s" % (reader.GetXMLName(), points,
                                                        ",".join(reader.PointArrayStatus)))
