"""vessel-small refined once by midpoint subdivision (each tet into 8, each child oriented
positively; the point and tet counts of vessel/make.sh medium, which refines the same gmsh
mesh with scikit-fem, unavailable offline): pvpython benchmarks/mesh/refine.py IN.vtu OUT.vtu"""
import sys
import numpy as np
from vtkmodules.vtkIOXML import vtkXMLUnstructuredGridReader, vtkXMLUnstructuredGridWriter
from vtkmodules.vtkCommonDataModel import vtkUnstructuredGrid, vtkCellArray
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.util.numpy_support import vtk_to_numpy, numpy_to_vtk, numpy_to_vtkIdTypeArray
r = vtkXMLUnstructuredGridReader(); r.SetFileName(sys.argv[1]); r.Update()
g = r.GetOutput()
pts = vtk_to_numpy(g.GetPoints().GetData()).astype(np.float64)
tets = vtk_to_numpy(g.GetCells().GetConnectivityArray()).reshape(-1, 4).astype(np.int64)
N = len(pts)
pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
e = np.concatenate([np.sort(tets[:, [a, b]], axis=1) for a, b in pairs])
uniq, inv = np.unique(e, axis=0, return_inverse=True)
inv = inv.reshape(-1)
mid = N + inv.reshape(6, -1).T  # per tet: m01 m02 m03 m12 m13 m23
newpts = np.concatenate([pts, 0.5 * (pts[uniq[:, 0]] + pts[uniq[:, 1]])]).astype(np.float32)
v0, v1, v2, v3 = tets.T
m01, m02, m03, m12, m13, m23 = mid.T
children = [(v0, m01, m02, m03), (m01, v1, m12, m13), (m02, m12, v2, m23), (m03, m13, m23, v3),
            (m01, m02, m03, m13), (m01, m02, m12, m13), (m02, m03, m13, m23), (m02, m12, m13, m23)]
out = np.stack([np.stack(c, axis=1) for c in children], axis=1).reshape(-1, 4)
P = newpts.astype(np.float64)
vol = np.einsum("ij,ij->i", np.cross(P[out[:, 1]] - P[out[:, 0]], P[out[:, 2]] - P[out[:, 0]]), P[out[:, 3]] - P[out[:, 0]])
neg = vol < 0
out[neg, 1], out[neg, 2] = out[neg, 2].copy(), out[neg, 1].copy()
assert (np.abs(vol) > 0).all()
ug = vtkUnstructuredGrid()
p = vtkPoints(); p.SetData(numpy_to_vtk(newpts, deep=True)); ug.SetPoints(p)
ca = vtkCellArray()
ca.SetData(numpy_to_vtkIdTypeArray(np.arange(0, 4 * len(out) + 1, 4, dtype=np.int64), deep=True),
           numpy_to_vtkIdTypeArray(out.reshape(-1).astype(np.int64), deep=True))
ug.SetCells(10, ca)
w = vtkXMLUnstructuredGridWriter(); w.SetInputData(ug); w.SetFileName(sys.argv[2])
w.SetDataModeToAppended(); w.EncodeAppendedDataOff(); w.SetHeaderTypeToUInt64(); w.Write()
print(len(newpts), len(out))
