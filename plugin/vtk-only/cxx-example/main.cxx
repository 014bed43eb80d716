// mcinr_vtk_example MODEL.mci TIME ARRAY: reads the model with vtkMCINRReader (only ARRAY
// enabled) at TIME and prints the grid's sizes, the time steps and ARRAY's values, one per
// line with 9 significant digits (enough to give back every float32 exactly).
#include <vtkDataArray.h>
#include <vtkInformation.h>
#include <vtkMCINRReader.h>
#include <vtkNew.h>
#include <vtkPointData.h>
#include <vtkStreamingDemandDrivenPipeline.h>
#include <vtkUnstructuredGrid.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char* argv[])
{
  if (argc != 4)
  {
    std::fprintf(stderr, "usage: %s MODEL.mci TIME ARRAY\n", argv[0]);
    return 2;
  }
  vtkNew<vtkMCINRReader> reader;
  reader->SetFileName(argv[1]);
  reader->UpdateInformation();
  vtkInformation* info = reader->GetOutputInformation(0);
  int steps = info->Length(vtkStreamingDemandDrivenPipeline::TIME_STEPS());
  reader->DisableAllPointArrays();
  reader->SetPointArrayStatus(argv[3], 1);
  if (!reader->UpdateTimeStep(std::atof(argv[2])))
  {
    return 1;
  }
  vtkUnstructuredGrid* grid = reader->GetOutput();
  vtkDataArray* array = grid->GetPointData()->GetArray(argv[3]);
  if (!array)
  {
    std::fprintf(stderr, "no array %s\n", argv[3]);
    return 1;
  }
  std::printf("points %lld cells %lld steps %d arrays %d components %d\n",
    static_cast<long long>(grid->GetNumberOfPoints()), static_cast<long long>(grid->GetNumberOfCells()),
    steps, grid->GetPointData()->GetNumberOfArrays(), array->GetNumberOfComponents());
  for (vtkIdType i = 0; i < array->GetNumberOfTuples(); ++i)
  {
    for (int c = 0; c < array->GetNumberOfComponents(); ++c)
    {
      std::printf(c ? " %.9g" : "%.9g", array->GetComponent(i, c));
    }
    std::printf("\n");
  }
  return 0;
}
