// MeshIO module
