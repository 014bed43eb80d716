// MeshIO — the dataset model and VTK XML (VTU/PVD) reading and writing of mcinr-vtk.
//
// Reading:
//   let d = try DatasetReader.read(url)                 // .pvd collection or one .vtu
//   let d = try DatasetReader.readSeries([url0, url1])  // plain list; times from TimeValue, else 0, 1, …
//   let f = try VTUReader.read(url)                     // one file: mesh, point/cell arrays, field data
// The trainer's view of a Dataset:
//   d.componentNames ("velocity_x", …, "pressure"), d.componentCount,
//   d.componentValues(c, step: s) -> [Float] (N values), d.componentRanges() (over all steps),
//   try d.selectingVariables(["pressure", "velocity"]), d.summary (one line for the CLI).
// Writing (atomic: temporary file in the same folder, then rename):
//   try d.write(pvd: url, writer: VTUWriter(compress: true), extraPointArrays: { step in [...] })
//   try d.writeStep(s, to: vtuURL, extraPointArrays: [...])
//   try VTUWriter().write(mesh:pointArrays:cellArrays:fieldData:to:), PVDWriter.write(entries:to:)
// Errors: MeshIOError, whose description names the file (and array) and what is wrong.
