#include "vtkMCINRReader.h"

#include "vtkCellArray.h"
#include "vtkCellData.h"
#include "vtkDataSetAttributes.h"
#include "vtkDataArraySelection.h"
#include "vtkDoubleArray.h"
#include "vtkFieldData.h"
#include "vtkFloatArray.h"
#include "vtkIdTypeArray.h"
#include "vtkInformation.h"
#include "vtkInformationVector.h"
#include "vtkMultiProcessController.h"
#include "vtkNew.h"
#include "vtkObjectFactory.h"
#include "vtkPointData.h"
#include "vtkPoints.h"
#include "vtkSmartPointer.h"
#include "vtkStreamingDemandDrivenPipeline.h"
#include "vtkStringArray.h"
#include "vtkTypeInt64Array.h"
#include "vtkUnsignedCharArray.h"
#include "vtkUnstructuredGrid.h"

#include <vtksys/SystemTools.hxx>

#include "mcinr.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

vtkStandardNewMacro(vtkMCINRReader);

namespace
{
constexpr size_t ErrorLength = 1024;
// Progress milestones of RequestData: file opened (when it was not yet: RequestInformation
// usually opens it), mesh built, fields decoded (assembly takes the rest).
constexpr double OpenDoneProgress = 0.02;
constexpr double MeshDoneProgress = 0.05;
constexpr double DecodeDoneProgress = 0.95;

struct ModelCloser
{
  void operator()(mcinr_model* model) const { mcinr_close(model); }
};
using ModelHandle = std::unique_ptr<mcinr_model, ModelCloser>;

struct PieceCloser
{
  void operator()(mcinr_piece* piece) const { mcinr_piece_free(piece); }
};
using PieceHandle = std::unique_ptr<mcinr_piece, PieceCloser>;

// Identity of a file on disk: a rewritten file gets a new size or modification time.
struct FileStamp
{
  std::string Name;
  long long Size = -1;
  long long MTimeSeconds = 0;
  long long MTimeNanoseconds = 0;

  bool operator==(const FileStamp& other) const
  {
    return this->Name == other.Name && this->Size == other.Size &&
      this->MTimeSeconds == other.MTimeSeconds &&
      this->MTimeNanoseconds == other.MTimeNanoseconds;
  }
};

bool StampFile(const char* name, FileStamp& stamp)
{
  vtksys::SystemTools::Stat_t st;
  if (vtksys::SystemTools::Stat(name, &st) != 0)
  {
    return false;
  }
  stamp.Name = name;
  stamp.Size = static_cast<long long>(st.st_size);
  stamp.MTimeSeconds = static_cast<long long>(st.st_mtime);
#if defined(__linux__)
  stamp.MTimeNanoseconds = static_cast<long long>(st.st_mtim.tv_nsec);
#elif defined(__APPLE__)
  stamp.MTimeNanoseconds = static_cast<long long>(st.st_mtimespec.tv_nsec);
#endif
  return true;
}

// The value of a top-level string member of a JSON object ("method": "MC-INR"), or "" when
// absent or not a plain string. Enough for a label; the whole JSON is passed on as well.
std::string JsonStringMember(const std::string& json, const std::string& key)
{
  const std::string quoted = "\"" + key + "\"";
  size_t pos = json.find(quoted);
  if (pos == std::string::npos)
  {
    return std::string();
  }
  pos = json.find_first_not_of(" \t\r\n", pos + quoted.size());
  if (pos == std::string::npos || json[pos] != ':')
  {
    return std::string();
  }
  pos = json.find_first_not_of(" \t\r\n", pos + 1);
  if (pos == std::string::npos || json[pos] != '"')
  {
    return std::string();
  }
  const size_t end = json.find('"', pos + 1);
  if (end == std::string::npos || json.find('\\', pos + 1) < end)
  {
    return std::string();
  }
  return json.substr(pos + 1, end - pos - 1);
}

// Allocates `tuples` tuples; false (instead of a crash) when memory runs out.
bool AllocateTuples(vtkDataArray* array, int components, vtkIdType tuples)
{
  array->SetNumberOfComponents(components);
  if (tuples > 0 && !array->Allocate(tuples * components))
  {
    return false;
  }
  array->SetNumberOfTuples(tuples);
  return true;
}

// The decoder's options for an open or a decode: `threads` (0: every core) and a progress
// callback with its context.
mcinr_decode_options DecodeOptions(int threads, mcinr_progress_fn progress, void* userData)
{
  mcinr_decode_options options;
  mcinr_decode_options_init(&options);
  options.num_threads =
    threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.progress = progress;
  options.user_data = userData;
  return options;
}
} // namespace

struct vtkMCINRReader::Internals
{
  // The background decode of Model's MESHC mesh (StartMeshPrefetch), and its stop request:
  // the decoder's progress callback, on that thread, aborts the decode when it is set.
  std::thread Prefetch;
  std::atomic<bool> StopPrefetch{ false };
  std::atomic<int> PrefetchState{ 0 }; // GetMeshPrefetchState
  ModelHandle Model;
  FileStamp Stamp;
  int Trusted = 0;   // TrustLargeFiles when Model was opened
  int Validated = 0; // ValidateResidual when Model was opened
  // The mesh of Model, built on first use (null until then).
  vtkSmartPointer<vtkPoints> Points;
  vtkSmartPointer<vtkCellArray> Cells;
  vtkSmartPointer<vtkUnsignedCharArray> CellTypes;
  // The piece of Model last built for a piece request (PieceNumber of NumberOfPieces with
  // GhostLevels): its mesh, global point ids and ghost arrays, reused at other times.
  int PieceNumber = -1, NumberOfPieces = 0, GhostLevels = 0;
  // The piece (its cells freed once copied): its point ids and the mesh points' coordinates it
  // gathered, which mcinr_piece_decode evaluates at (a MESHC mesh is never decoded whole).
  PieceHandle Piece;
  vtkSmartPointer<vtkPoints> PiecePoints;
  vtkSmartPointer<vtkCellArray> PieceCells;
  vtkSmartPointer<vtkUnsignedCharArray> PieceCellTypes;
  vtkSmartPointer<vtkIdTypeArray> PieceGlobalIds;
  vtkSmartPointer<vtkUnsignedCharArray> PiecePointGhosts, PieceCellGhosts;
  size_t PieceOwnChunks = 0, PieceGhostChunkDecodes = 0;

  void ResetPiece()
  {
    this->PieceNumber = -1;
    this->NumberOfPieces = 0;
    this->GhostLevels = 0;
    this->Piece.reset();
    this->PiecePoints = nullptr;
    this->PieceCells = nullptr;
    this->PieceCellTypes = nullptr;
    this->PieceGlobalIds = nullptr;
    this->PiecePointGhosts = nullptr;
    this->PieceCellGhosts = nullptr;
    this->PieceOwnChunks = this->PieceGhostChunkDecodes = 0;
  }

  // Stops (aborts) the background mesh decode, if any, and waits for its thread.
  void JoinPrefetch()
  {
    if (this->Prefetch.joinable())
    {
      this->StopPrefetch = true;
      this->Prefetch.join();
    }
    this->StopPrefetch = false;
    this->PrefetchState = 0;
  }

  void Reset()
  {
    this->JoinPrefetch(); // before the model it decodes is closed
    this->ResetPiece();
    this->Model.reset();
    this->Stamp = FileStamp();
    this->Trusted = 0;
    this->Points = nullptr;
    this->Cells = nullptr;
    this->CellTypes = nullptr;
  }
};

//------------------------------------------------------------------------------
vtkMCINRReader::vtkMCINRReader()
  : DecodedTime(std::numeric_limits<double>::quiet_NaN())
  , PointDataArraySelection(vtkDataArraySelection::New())
  , Impl(new Internals)
{
  this->SetNumberOfInputPorts(0);
  this->SetNumberOfOutputPorts(1);
}

//------------------------------------------------------------------------------
vtkMCINRReader::~vtkMCINRReader()
{
  this->Impl->JoinPrefetch();
  this->SetFileName(nullptr);
  this->PointDataArraySelection->Delete();
}

//------------------------------------------------------------------------------
vtkMTimeType vtkMCINRReader::GetMTime()
{
  return std::max(this->Superclass::GetMTime(), this->PointDataArraySelection->GetMTime());
}

//------------------------------------------------------------------------------
int vtkMCINRReader::CanReadFile(const char* fileName)
{
  static const unsigned char magic[8] = { 0x4D, 0x43, 0x49, 0x4E, 0x52, 0x00, 0x0D, 0x0A };
  if (!fileName)
  {
    return 0;
  }
  std::ifstream in(fileName, std::ios::binary);
  unsigned char head[8] = { 0 };
  if (!in.read(reinterpret_cast<char*>(head), sizeof(head)))
  {
    return 0;
  }
  return std::memcmp(head, magic, sizeof(magic)) == 0 ? 1 : 0;
}

//------------------------------------------------------------------------------
int vtkMCINRReader::GetNumberOfPointArrays()
{
  return this->PointDataArraySelection->GetNumberOfArrays();
}

const char* vtkMCINRReader::GetPointArrayName(int index)
{
  return this->PointDataArraySelection->GetArrayName(index);
}

int vtkMCINRReader::GetPointArrayStatus(const char* name)
{
  return this->PointDataArraySelection->ArrayIsEnabled(name);
}

void vtkMCINRReader::SetPointArrayStatus(const char* name, int status)
{
  if (status)
  {
    this->PointDataArraySelection->EnableArray(name);
  }
  else
  {
    this->PointDataArraySelection->DisableArray(name);
  }
}

void vtkMCINRReader::EnableAllPointArrays()
{
  this->PointDataArraySelection->EnableAllArrays();
}

void vtkMCINRReader::DisableAllPointArrays()
{
  this->PointDataArraySelection->DisableAllArrays();
}

//------------------------------------------------------------------------------
namespace
{
struct OpenProgressContext
{
  vtkMCINRReader* Reader;
  double Start, End;
};

// Called by mcinr_open_file_ex from this thread: progress onto [Start, End], and the reader's
// abort flag (the user's Abort in ParaView) passed on. GetAbortExecute, not CheckAbort: the
// latter does not exist in VTK 9.1, which the plain-VTK build (plugin/vtk-only) supports.
int OpenProgress(void* userData, double fraction)
{
  auto* context = static_cast<OpenProgressContext*>(userData);
  const double clamped = std::min(1.0, std::max(0.0, fraction));
  context->Reader->UpdateProgress(context->Start + (context->End - context->Start) * clamped);
  return context->Reader->GetAbortExecute() ? 1 : 0;
}
} // namespace

bool vtkMCINRReader::OpenModel(double from, double to)
{
  if (!this->FileName || !*this->FileName)
  {
    vtkErrorMacro("No file name set for the MC-INR reader.");
    return false;
  }
  FileStamp stamp;
  if (!StampFile(this->FileName, stamp))
  {
    this->Impl->Reset();
    vtkErrorMacro("Cannot open MC-INR model '" << this->FileName << "': no such file.");
    return false;
  }
  if (this->Impl->Model && this->Impl->Stamp == stamp && this->Impl->Trusted == this->TrustLargeFiles &&
    this->Impl->Validated == this->ValidateResidual)
  {
    return true;
  }
  this->Impl->Reset();

  // The open checks every section (and, with ValidateResidual, reconstructs every RESIDUAL
  // chain; else a residual stream is checked when a time step first reads it): it reports
  // progress over [from, to] and stops when the user aborts (the decoder's progress callback, as
  // in RequestData).
  this->SetAbortExecute(0);
  this->UpdateProgress(from);
  OpenProgressContext progress{ this, from, to };
  mcinr_decode_options options = DecodeOptions(this->NumberOfThreads, &OpenProgress, &progress);
  options.trust_large_files = this->TrustLargeFiles ? 1 : 0;
  options.validate_residual = this->ValidateResidual ? 1 : 0;
  char err[ErrorLength] = { 0 };
  mcinr_model* model = nullptr;
  const mcinr_status status = mcinr_open_file_ex(this->FileName, &options, &model, err, sizeof(err));
  if (status != MCINR_OK || !model)
  {
    mcinr_close(model);
    // The decoder's messages start with the file path and say what is wrong where.
    if (status == MCINR_ERR_ABORTED)
    {
      vtkErrorMacro("Opening MC-INR model '" << this->FileName << "' was aborted.");
    }
    else if (err[0])
    {
      vtkErrorMacro("Cannot read MC-INR model (" << mcinr_status_string(status) << "): " << err);
    }
    else
    {
      vtkErrorMacro("Cannot read MC-INR model '" << this->FileName << "': "
                                                 << mcinr_status_string(status));
    }
    return false;
  }
  this->Impl->Model.reset(model);
  this->Impl->Stamp = stamp;
  this->Impl->Trusted = this->TrustLargeFiles;
  this->Impl->Validated = this->ValidateResidual;
  this->UpdateProgress(to);
  return true;
}

//------------------------------------------------------------------------------
int vtkMCINRReader::RequestInformation(
  vtkInformation*, vtkInformationVector**, vtkInformationVector* outputVector)
{
  if (!this->OpenModel(0.0, 1.0))
  {
    return 0;
  }
  const mcinr_model* model = this->Impl->Model.get();

  // Publish the file's variables; a name already known keeps the user's choice, names of a
  // previously read file that this one lacks are dropped.
  const size_t numVariables = mcinr_num_variables(model);
  std::vector<std::string> names;
  names.reserve(numVariables);
  for (size_t v = 0; v < numVariables; ++v)
  {
    const char* name = mcinr_variable_name(model, v);
    names.emplace_back(name ? name : "");
  }
  bool sameNames = this->PointDataArraySelection->GetNumberOfArrays() ==
    static_cast<int>(numVariables);
  for (size_t v = 0; sameNames && v < numVariables; ++v)
  {
    sameNames = this->PointDataArraySelection->ArrayExists(names[v].c_str()) != 0;
  }
  if (!sameNames)
  {
    std::vector<int> previous(numVariables, 1);
    for (size_t v = 0; v < numVariables; ++v)
    {
      if (this->PointDataArraySelection->ArrayExists(names[v].c_str()))
      {
        previous[v] = this->PointDataArraySelection->ArrayIsEnabled(names[v].c_str());
      }
    }
    this->PointDataArraySelection->RemoveAllArrays();
    for (size_t v = 0; v < numVariables; ++v)
    {
      this->PointDataArraySelection->AddArray(names[v].c_str(), previous[v] != 0);
    }
  }

  this->StartMeshPrefetch();

  vtkInformation* outInfo = outputVector->GetInformationObject(0);
  // Any piece of any number: each rank of a parallel ParaView decodes only its piece.
  outInfo->Set(vtkAlgorithm::CAN_HANDLE_PIECE_REQUEST(), 1);
  const size_t numTimes = mcinr_num_times(model);
  const double* times = mcinr_times(model);
  if (numTimes > 0 && times)
  {
    outInfo->Set(vtkStreamingDemandDrivenPipeline::TIME_STEPS(), times,
      static_cast<int>(std::min<size_t>(numTimes, std::numeric_limits<int>::max())));
    const double range[2] = { times[0], times[numTimes - 1] };
    outInfo->Set(vtkStreamingDemandDrivenPipeline::TIME_RANGE(), range, 2);
  }
  else
  {
    outInfo->Remove(vtkStreamingDemandDrivenPipeline::TIME_STEPS());
    outInfo->Remove(vtkStreamingDemandDrivenPipeline::TIME_RANGE());
  }
  return 1;
}

//------------------------------------------------------------------------------
namespace
{
// The background decode's progress callback: no VTK calls (another thread), only the stop flag.
int PrefetchProgress(void* userData, double)
{
  return static_cast<std::atomic<bool>*>(userData)->load() ? 1 : 0;
}
} // namespace

void vtkMCINRReader::StartMeshPrefetch()
{
  const mcinr_model* model = this->Impl->Model.get();
  vtkMultiProcessController* controller = vtkMultiProcessController::GetGlobalController();
  // Something to do in the background: a MESHC mesh to decode, or an error-bounded file's
  // neighbour lists and supports to build (from the mesh, on first use: mcinr_mesh_decode).
  if (!this->PrefetchMesh || !model || this->Impl->Prefetch.joinable() || this->Impl->Points ||
    (mcinr_mesh_coding(model) != 8 && !mcinr_has_residual(model)) ||
    (controller && controller->GetNumberOfProcesses() > 1))
  {
    return;
  }
  // The first RequestData builds the mesh with mcinr_mesh_points / _cells, and decodes a step
  // with mcinr_decode_mesh, which wait for this decode (or redo it after an abort); a format
  // error is final and reported there.
  mcinr_decode_options options =
    DecodeOptions(this->NumberOfThreads, &PrefetchProgress, &this->Impl->StopPrefetch);
  std::atomic<int>* state = &this->Impl->PrefetchState;
  *state = 1;
  try
  {
    this->Impl->Prefetch = std::thread([model, options, state]() {
      char err[ErrorLength];
      *state = mcinr_mesh_decode(model, &options, err, sizeof(err)) == MCINR_OK ? 2 : 3;
    });
  }
  catch (const std::system_error&) // no thread: the first RequestData decodes the mesh
  {
    *state = 0;
  }
}

int vtkMCINRReader::GetMeshPrefetchState()
{
  return this->Impl->PrefetchState.load();
}

//------------------------------------------------------------------------------
bool vtkMCINRReader::BuildMesh()
{
  const mcinr_model* model = this->Impl->Model.get();
  const size_t numPoints = mcinr_mesh_num_points(model);
  const size_t numCells = mcinr_mesh_num_cells(model);
  const size_t connectivitySize = mcinr_mesh_connectivity_size(model);
  const size_t idMax = static_cast<size_t>(std::numeric_limits<vtkIdType>::max() / 3);
  if (numPoints > idMax || numCells >= idMax || connectivitySize > idMax)
  {
    vtkErrorMacro("The mesh of '" << this->FileName << "' is too large for this VTK build ("
                                  << numPoints << " points, " << numCells << " cells).");
    return false;
  }

  // Points keep the precision they are stored with (the decoder hands out doubles).
  vtkSmartPointer<vtkDataArray> coordinates = vtkSmartPointer<vtkDoubleArray>::New();
  const bool floatPoints = mcinr_mesh_point_type(model) == 1;
  std::vector<double> pointScratch;
  if (floatPoints)
  {
    coordinates = vtkSmartPointer<vtkFloatArray>::New();
    try
    {
      pointScratch.resize(3 * numPoints);
    }
    catch (const std::bad_alloc&)
    {
      vtkErrorMacro("Out of memory for the " << numPoints << " points of '" << this->FileName
                                             << "'.");
      return false;
    }
  }
  vtkNew<vtkUnsignedCharArray> cellTypes;
  vtkNew<vtkTypeInt64Array> offsets;
  vtkNew<vtkTypeInt64Array> connectivity;
  if (!AllocateTuples(coordinates, 3, static_cast<vtkIdType>(numPoints)) ||
    !AllocateTuples(cellTypes, 1, static_cast<vtkIdType>(numCells)) ||
    !AllocateTuples(offsets, 1, static_cast<vtkIdType>(numCells + 1)) ||
    !AllocateTuples(connectivity, 1, static_cast<vtkIdType>(connectivitySize)))
  {
    vtkErrorMacro("Out of memory for the mesh of '" << this->FileName << "' (" << numPoints
                                                    << " points, " << numCells << " cells).");
    return false;
  }
  mcinr_status status = mcinr_mesh_points(model,
    floatPoints ? pointScratch.data() : vtkDoubleArray::SafeDownCast(coordinates)->GetPointer(0));
  if (status == MCINR_OK && floatPoints)
  {
    std::copy(pointScratch.begin(), pointScratch.end(),
      vtkFloatArray::SafeDownCast(coordinates)->GetPointer(0));
    std::vector<double>().swap(pointScratch);
  }
  if (status == MCINR_OK)
  {
    // vtkTypeInt64 (long long) and int64_t (long) are distinct types of the same layout.
    static_assert(sizeof(vtkTypeInt64) == sizeof(int64_t), "64-bit ids expected");
    status = mcinr_mesh_cells(model, cellTypes->GetPointer(0),
      reinterpret_cast<int64_t*>(offsets->GetPointer(0)),
      reinterpret_cast<int64_t*>(connectivity->GetPointer(0)));
  }
  if (status != MCINR_OK)
  {
    vtkErrorMacro("Cannot read the mesh of '" << this->FileName
                                              << "': " << mcinr_status_string(status));
    return false;
  }
  const unsigned char* typePtr = cellTypes->GetPointer(0);
  const vtkTypeInt64* offsetPtr = offsets->GetPointer(0);
  const vtkTypeInt64* connPtr = connectivity->GetPointer(0);
  if (offsetPtr[0] != 0 || offsetPtr[numCells] != static_cast<vtkTypeInt64>(connectivitySize))
  {
    vtkErrorMacro("The mesh of '" << this->FileName << "' has inconsistent cell offsets.");
    return false;
  }
  for (size_t c = 0; c < numCells; ++c)
  {
    const vtkTypeInt64 size = offsetPtr[c + 1] - offsetPtr[c];
    int minPoints = 1;
    // The decoder's table: a malformed file must not hand VTK a tetrahedron with three points
    // (filters and renderers index blindly into cells).
    const int expected = mcinr_cell_point_count(typePtr[c], &minPoints);
    if (expected < 0)
    {
      vtkErrorMacro("The mesh of '" << this->FileName << "' has cell " << c
                                    << " of VTK cell type " << static_cast<int>(typePtr[c])
                                    << ", which this reader does not support.");
      return false;
    }
    if ((expected > 0 && size != expected) || (expected == 0 && size < minPoints))
    {
      vtkErrorMacro("The mesh of '" << this->FileName << "' has cell " << c << " of VTK type "
                                    << static_cast<int>(typePtr[c]) << " with " << size
                                    << " points.");
      return false;
    }
  }
  for (size_t i = 0; i < connectivitySize; ++i)
  {
    if (connPtr[i] < 0 || static_cast<size_t>(connPtr[i]) >= numPoints)
    {
      vtkErrorMacro("The mesh of '" << this->FileName << "' refers to point " << connPtr[i]
                                    << ", but has only " << numPoints << " points.");
      return false;
    }
  }

  vtkNew<vtkPoints> points;
  points->SetData(coordinates);
  vtkNew<vtkCellArray> cells;
  cells->SetData(offsets, connectivity);
  this->Impl->Points = points;
  this->Impl->Cells = cells;
  this->Impl->CellTypes = cellTypes;
  return true;
}

//------------------------------------------------------------------------------
namespace
{
struct ProgressContext
{
  vtkMCINRReader* Reader;
  double Start; // progress when decoding starts
  double End;   // progress when decoding is done
};

int DecodeProgress(void* userData, double fraction);
} // namespace

bool vtkMCINRReader::BuildPiece(int piece, int numPieces, int ghostLevels, double from, double to)
{
  this->Impl->ResetPiece();
  const mcinr_model* model = this->Impl->Model.get();
  ProgressContext progress{ this, from, to };
  const mcinr_decode_options options = DecodeOptions(this->NumberOfThreads, &DecodeProgress, &progress);
  char err[ErrorLength] = { 0 };
  mcinr_piece* built = nullptr;
  const mcinr_status status = mcinr_piece_build(model, static_cast<size_t>(piece),
    static_cast<size_t>(numPieces), ghostLevels, &options, &built, err, sizeof(err));
  PieceHandle holder(built);
  if (status != MCINR_OK)
  {
    if (status != MCINR_ERR_ABORTED)
    {
      vtkErrorMacro("Cannot build piece " << piece << " of " << numPieces << " of '" << this->FileName
                                          << "' (" << mcinr_status_string(status)
                                          << "): " << (err[0] ? err : "no details"));
    }
    return false;
  }
  const size_t numPoints = mcinr_piece_num_points(built);
  const size_t numCells = mcinr_piece_num_cells(built);
  const size_t connectivitySize = mcinr_piece_connectivity_size(built);
  const size_t idMax = static_cast<size_t>(std::numeric_limits<vtkIdType>::max() / 3);
  if (numPoints > idMax || numCells >= idMax || connectivitySize > idMax)
  {
    vtkErrorMacro("Piece " << piece << " of '" << this->FileName << "' is too large for this VTK build.");
    return false;
  }
  vtkSmartPointer<vtkDataArray> coordinates;
  const double* xyz = mcinr_piece_points(built);
  if (mcinr_mesh_point_type(model) == 1)
  {
    coordinates = vtkSmartPointer<vtkFloatArray>::New();
  }
  else
  {
    coordinates = vtkSmartPointer<vtkDoubleArray>::New();
  }
  vtkNew<vtkUnsignedCharArray> cellTypes;
  vtkNew<vtkTypeInt64Array> offsets;
  vtkNew<vtkTypeInt64Array> connectivity;
  auto globalIds = vtkSmartPointer<vtkIdTypeArray>::New();
  globalIds->SetName("vtkGlobalIds");
  if (!AllocateTuples(coordinates, 3, static_cast<vtkIdType>(numPoints)) ||
    !AllocateTuples(cellTypes, 1, static_cast<vtkIdType>(numCells)) ||
    !AllocateTuples(offsets, 1, static_cast<vtkIdType>(numCells + 1)) ||
    !AllocateTuples(connectivity, 1, static_cast<vtkIdType>(connectivitySize)) ||
    !AllocateTuples(globalIds, 1, static_cast<vtkIdType>(numPoints)))
  {
    vtkErrorMacro("Out of memory for piece " << piece << " of '" << this->FileName << "' ("
                                             << numPoints << " points, " << numCells << " cells).");
    return false;
  }
  // Float coordinates were stored as float32: the doubles convert back exactly.
  if (auto* floats = vtkFloatArray::SafeDownCast(coordinates))
  {
    std::transform(xyz, xyz + 3 * numPoints, floats->GetPointer(0),
      [](double v) { return static_cast<float>(v); });
  }
  else if (numPoints > 0)
  {
    std::copy(xyz, xyz + 3 * numPoints, vtkDoubleArray::SafeDownCast(coordinates)->GetPointer(0));
  }
  const int64_t* ids = mcinr_piece_point_ids(built);
  for (size_t i = 0; i < numPoints; ++i)
  {
    globalIds->SetValue(static_cast<vtkIdType>(i), static_cast<vtkIdType>(ids[i]));
  }
  if (numCells > 0)
  {
    std::copy(mcinr_piece_cell_types(built), mcinr_piece_cell_types(built) + numCells,
      cellTypes->GetPointer(0));
  }
  std::copy(mcinr_piece_offsets(built), mcinr_piece_offsets(built) + numCells + 1,
    offsets->GetPointer(0));
  if (connectivitySize > 0)
  {
    std::copy(mcinr_piece_connectivity(built), mcinr_piece_connectivity(built) + connectivitySize,
      connectivity->GetPointer(0));
  }
  if (ghostLevels > 0)
  {
    auto pointGhosts = vtkSmartPointer<vtkUnsignedCharArray>::New();
    auto cellGhosts = vtkSmartPointer<vtkUnsignedCharArray>::New();
    pointGhosts->SetName(vtkDataSetAttributes::GhostArrayName());
    cellGhosts->SetName(vtkDataSetAttributes::GhostArrayName());
    if (!AllocateTuples(pointGhosts, 1, static_cast<vtkIdType>(numPoints)) ||
      !AllocateTuples(cellGhosts, 1, static_cast<vtkIdType>(numCells)))
    {
      vtkErrorMacro("Out of memory for the ghost arrays of '" << this->FileName << "'.");
      return false;
    }
    const uint8_t* duplicate = mcinr_piece_point_duplicate(built);
    for (size_t i = 0; i < numPoints; ++i)
    {
      pointGhosts->SetValue(static_cast<vtkIdType>(i),
        duplicate && duplicate[i] ? vtkDataSetAttributes::DUPLICATEPOINT : 0);
    }
    const uint8_t* levels = mcinr_piece_cell_ghost_levels(built);
    for (size_t c = 0; c < numCells; ++c)
    {
      cellGhosts->SetValue(static_cast<vtkIdType>(c),
        levels && levels[c] ? vtkDataSetAttributes::DUPLICATECELL : 0);
    }
    this->Impl->PiecePointGhosts = pointGhosts;
    this->Impl->PieceCellGhosts = cellGhosts;
  }
  vtkNew<vtkPoints> points;
  points->SetData(coordinates);
  vtkNew<vtkCellArray> cells;
  cells->SetData(offsets, connectivity);
  this->Impl->PiecePoints = points;
  this->Impl->PieceCells = cells;
  this->Impl->PieceCellTypes = cellTypes;
  this->Impl->PieceGlobalIds = globalIds;
  mcinr_piece_decoded_chunks(built, &this->Impl->PieceOwnChunks, &this->Impl->PieceGhostChunkDecodes);
  // The cells are in the VTK arrays now; the piece keeps what decoding its values needs.
  mcinr_piece_free_cells(built);
  this->Impl->Piece = std::move(holder);
  this->Impl->PieceNumber = piece;
  this->Impl->NumberOfPieces = numPieces;
  this->Impl->GhostLevels = ghostLevels;
  return true;
}

//------------------------------------------------------------------------------
namespace
{

// Called by the decoder from the thread that called mcinr_decode_mesh (this one).
int DecodeProgress(void* userData, double fraction)
{
  auto* context = static_cast<ProgressContext*>(userData);
  const double clamped = std::min(1.0, std::max(0.0, fraction));
  // Never past End, which RequestData reports itself after the decode.
  context->Reader->UpdateProgress(std::min(
    context->End, context->Start + (context->End - context->Start) * clamped));
  return context->Reader->GetAbortExecute() ? 1 : 0;
}
} // namespace

int vtkMCINRReader::RequestData(
  vtkInformation*, vtkInformationVector**, vtkInformationVector* outputVector)
{
  vtkInformation* outInfo = outputVector->GetInformationObject(0);
  vtkUnstructuredGrid* output = vtkUnstructuredGrid::GetData(outInfo);
  if (!output)
  {
    vtkErrorMacro("The output is not a vtkUnstructuredGrid.");
    return 0;
  }
  output->Initialize();
  // VTK does not clear the flag after an aborted request; clear it so the next one runs.
  this->SetAbortExecute(0);
  if (!this->OpenModel(0.0, OpenDoneProgress))
  {
    return 0;
  }
  const mcinr_model* model = this->Impl->Model.get();

  if (!mcinr_has_mesh(model))
  {
    vtkErrorMacro("The MC-INR model '"
      << this->FileName
      << "' has no embedded mesh (no MESH section), so there is nothing to place the decoded "
         "values on. Encode it again with the mesh embedded, or decode it at your own points "
         "with the C API (mcinr_decode).");
    return 0;
  }

  // Requested time: any value; the networks are continuous in t, so no snapping.
  const size_t numTimes = mcinr_num_times(model);
  const double* times = mcinr_times(model);
  double time = (numTimes > 0 && times) ? times[0] : 0.0;
  if (outInfo->Has(vtkStreamingDemandDrivenPipeline::UPDATE_TIME_STEP()))
  {
    time = outInfo->Get(vtkStreamingDemandDrivenPipeline::UPDATE_TIME_STEP());
  }
  if (!std::isfinite(time))
  {
    vtkErrorMacro("Requested time " << time << " is not a finite number.");
    return 0;
  }

  // The piece asked for (a parallel ParaView: each rank its own; plain VTK: UpdatePiece).
  int piece = 0, numPieces = 1, ghostLevels = 0;
  if (outInfo->Has(vtkStreamingDemandDrivenPipeline::UPDATE_PIECE_NUMBER()))
  {
    piece = outInfo->Get(vtkStreamingDemandDrivenPipeline::UPDATE_PIECE_NUMBER());
  }
  if (outInfo->Has(vtkStreamingDemandDrivenPipeline::UPDATE_NUMBER_OF_PIECES()))
  {
    numPieces = outInfo->Get(vtkStreamingDemandDrivenPipeline::UPDATE_NUMBER_OF_PIECES());
  }
  if (outInfo->Has(vtkStreamingDemandDrivenPipeline::UPDATE_NUMBER_OF_GHOST_LEVELS()))
  {
    ghostLevels = outInfo->Get(vtkStreamingDemandDrivenPipeline::UPDATE_NUMBER_OF_GHOST_LEVELS());
  }
  if (numPieces < 1 || piece < 0 || piece >= numPieces || ghostLevels < 0 || ghostLevels > 255)
  {
    vtkErrorMacro("Invalid piece request for '" << this->FileName << "': piece " << piece << " of "
                                                << numPieces << " with " << ghostLevels
                                                << " ghost levels.");
    return 0;
  }
  // One piece without ghost cells is the whole mesh as it always was (no global ids); anything
  // else goes through the pieces API (mcinr_piece_build), which decodes only the piece's chunks.
  const bool pieced = numPieces > 1 || ghostLevels > 0;

  this->UpdateProgress(OpenDoneProgress);
  // The mesh does not change with time: built and checked once per opened file (per piece
  // request), then shared by the outputs of every time step.
  size_t decodedChunks = 0, ownChunks = 0;
  size_t numPoints = 0;
  if (pieced)
  {
    if (this->Impl->PieceNumber != piece || this->Impl->NumberOfPieces != numPieces ||
      this->Impl->GhostLevels != ghostLevels || !this->Impl->PiecePoints)
    {
      if (!this->BuildPiece(piece, numPieces, ghostLevels, OpenDoneProgress, MeshDoneProgress))
      {
        return 0;
      }
      decodedChunks = this->Impl->PieceOwnChunks + this->Impl->PieceGhostChunkDecodes;
      ownChunks = this->Impl->PieceOwnChunks;
    }
    numPoints = mcinr_piece_num_points(this->Impl->Piece.get());
  }
  else
  {
    if (!this->Impl->Points)
    {
      if (!this->BuildMesh())
      {
        return 0;
      }
      decodedChunks = ownChunks = mcinr_mesh_num_chunks(model);
    }
    numPoints = static_cast<size_t>(this->Impl->Points->GetNumberOfPoints());
  }
  this->UpdateProgress(MeshDoneProgress);
  if (this->GetAbortExecute())
  {
    vtkDebugMacro("Reading '" << this->FileName << "' aborted.");
    return 0;
  }

  // ---- Fields: one decode call for all selected components, so that the networks' shared
  // trunk runs once per point; then split into one array per variable. ----
  struct Selected
  {
    std::string Name;
    size_t First;
    size_t Components;
  };
  std::vector<Selected> selected;
  std::vector<size_t> components;
  const size_t numVariables = mcinr_num_variables(model);
  for (size_t v = 0; v < numVariables; ++v)
  {
    const char* name = mcinr_variable_name(model, v);
    if (!name || !this->PointDataArraySelection->ArrayIsEnabled(name))
    {
      continue;
    }
    const size_t first = mcinr_variable_first_component(model, v);
    const size_t count = mcinr_variable_components(model, v);
    selected.push_back({ name, first, count });
    for (size_t k = 0; k < count; ++k)
    {
      components.push_back(first + k);
    }
  }

  std::vector<vtkSmartPointer<vtkFloatArray>> arrays;
  if (!components.empty() && numPoints > 0)
  {
    const size_t width = components.size();
    for (const Selected& variable : selected)
    {
      auto array = vtkSmartPointer<vtkFloatArray>::New();
      array->SetName(variable.Name.c_str());
      if (!AllocateTuples(array, static_cast<int>(variable.Components),
            static_cast<vtkIdType>(numPoints)))
      {
        vtkErrorMacro("Out of memory for array '" << variable.Name << "' of '" << this->FileName
                                                  << "'.");
        return 0;
      }
      arrays.push_back(array);
    }

    // A single selected variable is decoded straight into its array.
    std::vector<float> scratch;
    float* decoded = nullptr;
    if (arrays.size() == 1)
    {
      decoded = arrays[0]->GetPointer(0);
    }
    else
    {
      try
      {
        scratch.resize(numPoints * width);
      }
      catch (const std::bad_alloc&)
      {
        vtkErrorMacro("Out of memory decoding '" << this->FileName << "' (" << numPoints
                                                 << " points × " << width << " components).");
        return 0;
      }
      decoded = scratch.data();
    }

    ProgressContext progress{ this, MeshDoneProgress, DecodeDoneProgress };
    const mcinr_decode_options options =
      DecodeOptions(this->NumberOfThreads, &DecodeProgress, &progress);
    char err[ErrorLength] = { 0 };
    size_t evaluated = numPoints;
    const mcinr_status status = pieced
      ? mcinr_piece_decode(this->Impl->Piece.get(), model, time, components.data(), width, decoded,
          &options, &evaluated, err, sizeof(err))
      : mcinr_decode_mesh(model, time, components.data(), width, decoded, &options, err, sizeof(err));
    this->EvaluatedPointCount = static_cast<vtkIdType>(evaluated);
    if (status == MCINR_ERR_ABORTED)
    {
      vtkDebugMacro("Decoding '" << this->FileName << "' aborted.");
      output->Initialize();
      return 0;
    }
    if (status != MCINR_OK)
    {
      vtkErrorMacro("Cannot decode '" << this->FileName << "' at time " << time << " ("
                                      << mcinr_status_string(status)
                                      << "): " << (err[0] ? err : "no details from the decoder"));
      output->Initialize();
      return 0;
    }
    if (!scratch.empty())
    {
      size_t column = 0;
      for (size_t a = 0; a < arrays.size(); ++a)
      {
        const size_t count = selected[a].Components;
        float* target = arrays[a]->GetPointer(0);
        for (size_t p = 0; p < numPoints; ++p)
        {
          const float* row = decoded + p * width + column;
          std::copy(row, row + count, target + p * count);
        }
        column += count;
      }
    }
  }
  this->UpdateProgress(DecodeDoneProgress);
  if (this->GetAbortExecute())
  {
    vtkDebugMacro("Reading '" << this->FileName << "' aborted.");
    return 0;
  }

  // ---- Assemble the output only now, so that a failure above leaves it empty. ----
  if (pieced)
  {
    output->SetPoints(this->Impl->PiecePoints);
    output->SetCells(this->Impl->PieceCellTypes, this->Impl->PieceCells);
    output->GetPointData()->SetGlobalIds(this->Impl->PieceGlobalIds);
    if (ghostLevels > 0)
    {
      output->GetPointData()->AddArray(this->Impl->PiecePointGhosts);
      output->GetCellData()->AddArray(this->Impl->PieceCellGhosts);
    }
    output->GetInformation()->Set(vtkDataObject::DATA_NUMBER_OF_GHOST_LEVELS(), ghostLevels);
  }
  else
  {
    output->SetPoints(this->Impl->Points);
    output->SetCells(this->Impl->CellTypes, this->Impl->Cells);
  }
  for (const auto& array : arrays)
  {
    output->GetPointData()->AddArray(array);
  }
  if (components.empty() || numPoints == 0)
  {
    this->EvaluatedPointCount = 0;
  }
  this->DecodedPointCount = components.empty() ? 0 : static_cast<vtkIdType>(numPoints);
  this->DecodedChunkCount = static_cast<vtkIdType>(decodedChunks);
  // What this request decoded (per rank in a parallel ParaView), for tests and benchmarks.
  const vtkIdType counters[4] = { static_cast<vtkIdType>(piece), static_cast<vtkIdType>(numPieces),
    this->DecodedPointCount, this->EvaluatedPointCount };
  vtkNew<vtkIdTypeArray> counterArray;
  counterArray->SetName("MCINR_piece_decoded");
  counterArray->SetNumberOfComponents(1);
  for (vtkIdType value : counters)
  {
    counterArray->InsertNextValue(value);
  }
  counterArray->InsertNextValue(static_cast<vtkIdType>(ownChunks));
  counterArray->InsertNextValue(static_cast<vtkIdType>(decodedChunks - ownChunks));
  counterArray->InsertNextValue(static_cast<vtkIdType>(this->Impl->PrefetchState.load()));
  output->GetFieldData()->AddArray(counterArray);

  const std::string json = mcinr_metadata_json(model) ? mcinr_metadata_json(model) : "{}";
  vtkNew<vtkStringArray> metadata;
  metadata->SetName("MCINR_metadata");
  metadata->InsertNextValue(json);
  output->GetFieldData()->AddArray(metadata);
  const std::string method = JsonStringMember(json, "method");
  if (!method.empty())
  {
    vtkNew<vtkStringArray> methodArray;
    methodArray->SetName("MCINR_method");
    methodArray->InsertNextValue(method);
    output->GetFieldData()->AddArray(methodArray);
  }
  const double rawBytes = static_cast<double>(mcinr_raw_field_bytes(model));
  const double weightBytes = static_cast<double>(mcinr_weight_bytes(model));
  if (rawBytes > 0 && weightBytes > 0)
  {
    vtkNew<vtkDoubleArray> ratio;
    ratio->SetName("MCINR_compression_ratio");
    ratio->InsertNextValue(rawBytes / weightBytes);
    output->GetFieldData()->AddArray(ratio);
  }
  if (rawBytes > 0 && this->Impl->Stamp.Size > 0)
  {
    vtkNew<vtkDoubleArray> fileRatio;
    fileRatio->SetName("MCINR_file_compression_ratio");
    fileRatio->InsertNextValue(rawBytes / static_cast<double>(this->Impl->Stamp.Size));
    output->GetFieldData()->AddArray(fileRatio);
  }
  vtkNew<vtkDoubleArray> timeArray;
  timeArray->SetName("MCINR_time");
  timeArray->InsertNextValue(time);
  output->GetFieldData()->AddArray(timeArray);

  output->GetInformation()->Set(vtkDataObject::DATA_TIME_STEP(), time);
  this->DecodedTime = time;
  this->UpdateProgress(1.0);
  return 1;
}

//------------------------------------------------------------------------------
void vtkMCINRReader::PrintSelf(ostream& os, vtkIndent indent)
{
  this->Superclass::PrintSelf(os, indent);
  os << indent << "FileName: " << (this->FileName ? this->FileName : "(none)") << "\n";
  os << indent << "NumberOfThreads: " << this->NumberOfThreads << "\n";
  os << indent << "TrustLargeFiles: " << this->TrustLargeFiles << "\n";
  os << indent << "ValidateResidual: " << this->ValidateResidual << "\n";
  os << indent << "PrefetchMesh: " << this->PrefetchMesh << "\n";
  os << indent << "DecodedTime: " << this->DecodedTime << "\n";
  os << indent << "PointDataArraySelection:\n";
  this->PointDataArraySelection->PrintSelf(os, indent.GetNextIndent());
}
