print("mcinr-vtk 0.1.0")
