/**
 * @class   vtkMCINRReader
 * @brief   Reads an MC-INR model (*.mci) as a time-varying vtkUnstructuredGrid.
 *
 * An .mci file holds clustered sine networks that represent multivariate fields on an
 * unstructured mesh, plus (optionally) the mesh itself. The reader rebuilds the embedded mesh
 * and decodes the selected point arrays at the requested time with the C decoder (mcinr.h).
 *
 * RequestInformation opens the file (the handle is cached by file name, size and
 * modification time), publishes TIME_STEPS / TIME_RANGE and the variable names; nothing is
 * decoded there. RequestData decodes only the enabled arrays at UPDATE_TIME_STEP. The model
 * is continuous in time: a time between stored steps is decoded directly (no interpolation,
 * no snapping to the nearest step); outside the stored range the networks extrapolate.
 *
 * Vector variables become multi-component arrays with the variable's name (e.g. `velocity`,
 * 3 components). The model's JSON metadata goes to field data as the vtkStringArray
 * `MCINR_metadata`, with `MCINR_method`, `MCINR_compression_ratio` (raw field bytes / weight
 * bytes), `MCINR_file_compression_ratio` (raw field bytes / file bytes) and `MCINR_time`.
 *
 * Pieces: the reader handles piece requests (CAN_HANDLE_PIECE_REQUEST). For piece p of n > 1
 * (UPDATE_PIECE_NUMBER / UPDATE_NUMBER_OF_PIECES, e.g. a rank of pvserver/pvbatch under mpiexec,
 * or UpdatePiece(p, n, ghosts) in plain VTK) it outputs only that piece's cells (balanced groups
 * of MESHC chunks; a MESH file, or fewer chunks than pieces, is split by cell ranges after
 * decoding the whole mesh), their points with `vtkGlobalIds` (the points' indices in the whole
 * mesh) and the selected arrays decoded at those points only (mcinr_piece_decode: the same
 * values bit for bit; a MESHC mesh is decoded chunk by chunk, never whole). With UPDATE_NUMBER_OF_GHOST_LEVELS > 0 it adds that many layers of ghost
 * cells, marked in `vtkGhostType` (DUPLICATECELL; points owned by another piece DUPLICATEPOINT).
 * The piece's mesh is kept for later time steps. One piece without ghost levels is the whole
 * mesh as before.
 *
 * Errors (unreadable, corrupt or truncated files, files without an embedded mesh) are
 * reported with vtkErrorMacro and the request fails; the output is left empty.
 */
#ifndef vtkMCINRReader_h
#define vtkMCINRReader_h

#include "MCINRReaderModule.h" // for export macro
#include "vtkUnstructuredGridAlgorithm.h"

#include <memory> // for std::unique_ptr
#include <string> // for std::string

class vtkDataArraySelection;

class MCINRREADER_EXPORT vtkMCINRReader : public vtkUnstructuredGridAlgorithm
{
public:
  static vtkMCINRReader* New();
  vtkTypeMacro(vtkMCINRReader, vtkUnstructuredGridAlgorithm);
  void PrintSelf(ostream& os, vtkIndent indent) override;

  ///@{
  /// The .mci file to read.
  vtkSetStringMacro(FileName);
  vtkGetStringMacro(FileName);
  ///@}

  /// Cheap test used by ParaView's reader factory: 1 when the file starts with the .mci magic.
  int CanReadFile(const char* fileName);

  ///@{
  /**
   * Worker threads for decoding. 0 (the default) or less means all hardware threads. The
   * values do not depend on it. The decoder calls no BLAS (library 1.4), so OpenBLAS's thread
   * count does not matter; see plugin/README.md, "Threads".
   */
  vtkSetMacro(NumberOfThreads, int);
  vtkGetMacro(NumberOfThreads, int);
  ///@}

  ///@{
  /**
   * Opt-in for trusted files beyond the decoder's limits for untrusted ones. 0 (the default):
   * a file that needs more than 64 × its size + 16 MiB of memory or 4096 × its size + 2^24
   * units of work to open, or whose cluster tree has more than 4096 top-level nodes or depth
   * 64, is refused with an error naming the limit (docs/mci-format.md, Limits), so a small
   * hostile file cannot exhaust ParaView. 1: those limits are lifted (the format checks stay);
   * only for files from a trusted source. Changing it reopens the file.
   */
  vtkSetMacro(TrustLargeFiles, int);
  vtkGetMacro(TrustLargeFiles, int);
  vtkBooleanMacro(TrustLargeFiles, int);
  ///@}

  ///@{
  /**
   * Validate every error-bounded residual stream when the file is opened. 0 (the default): the
   * open checks the residual's table, and each stream is checked when a time step first reads
   * it, so a large error-bounded file opens at once and a malformed stream shows as an error of
   * that time step. 1: the open reconstructs every stream (slower; every format error shows
   * when the file is opened). Changing it reopens the file.
   */
  vtkSetMacro(ValidateResidual, int);
  vtkGetMacro(ValidateResidual, int);
  vtkBooleanMacro(ValidateResidual, int);
  ///@}

  ///@{
  /**
   * Decode a compressed (MESHC) mesh on a background thread as soon as RequestInformation has
   * opened the file, and for an error-bounded file build the residual's mesh neighbour lists
   * and predictor supports (C library 1.8.2: on first use, no longer at open), so that the
   * first RequestData (in ParaView: after the user's Apply) finds them ready instead of waiting
   * for them. 1 (the default): only in a serial process (no
   * vtkMultiProcessController with more than one process: each rank of a parallel ParaView
   * decodes only its piece's chunks). The values do not depend on it; a RequestData that comes
   * first waits for the decode under way (the decoder's lock). Closing or reopening the file
   * stops it.
   */
  vtkSetMacro(PrefetchMesh, int);
  vtkGetMacro(PrefetchMesh, int);
  vtkBooleanMacro(PrefetchMesh, int);
  /// The background mesh decode of the open file: 0 none (not started: PrefetchMesh 0, neither
  /// a MESHC mesh nor a residual, a parallel process, or no file), 1 running, 2 done, 3 failed
  /// or stopped (the
  /// first RequestData then decodes the mesh itself and reports any error).
  int GetMeshPrefetchState();
  ///@}

  ///@{
  /**
   * Which variables (point arrays) to decode. All are enabled by default. The names are
   * known after UpdateInformation().
   */
  vtkGetObjectMacro(PointDataArraySelection, vtkDataArraySelection);
  int GetNumberOfPointArrays();
  const char* GetPointArrayName(int index);
  int GetPointArrayStatus(const char* name);
  void SetPointArrayStatus(const char* name, int status);
  void EnableAllPointArrays();
  void DisableAllPointArrays();
  ///@}

  /// The time actually decoded by the last successful RequestData (NaN before that).
  vtkGetMacro(DecodedTime, double);

  ///@{
  /**
   * What the last RequestData decoded (per rank in a parallel ParaView; also in the field-data
   * array `MCINR_piece_decoded`: piece, pieces, decoded points, evaluated points, the piece's own
   * chunks decoded, other chunks decoded, and GetMeshPrefetchState() at that time): the points
   * whose values it decoded (the piece's points, ghosts included), the points the networks ran
   * on (whole batches: at least that many; none for the components a stored step's residual
   * sets alone, see mcinr_decode_mesh), and the mesh chunks it decoded (own + other; 0 when the mesh of the same piece was
   * reused, e.g. at a time change; a MESHC piece decodes the other chunks once, for the ghost
   * cells and the coordinates its values are evaluated at).
   */
  vtkGetMacro(DecodedPointCount, vtkIdType);
  vtkGetMacro(EvaluatedPointCount, vtkIdType);
  vtkGetMacro(DecodedChunkCount, vtkIdType);
  ///@}

  /// Includes the array selection's modification time.
  vtkMTimeType GetMTime() override;

protected:
  vtkMCINRReader();
  ~vtkMCINRReader() override;

  int RequestInformation(vtkInformation*, vtkInformationVector**, vtkInformationVector*) override;
  int RequestData(vtkInformation*, vtkInformationVector**, vtkInformationVector*) override;

  char* FileName = nullptr;
  int NumberOfThreads = 0;
  int TrustLargeFiles = 0;
  int ValidateResidual = 0;
  int PrefetchMesh = 1;
  double DecodedTime;
  vtkIdType DecodedPointCount = 0;
  vtkIdType EvaluatedPointCount = 0;
  vtkIdType DecodedChunkCount = 0;
  vtkDataArraySelection* PointDataArraySelection;

private:
  vtkMCINRReader(const vtkMCINRReader&) = delete;
  void operator=(const vtkMCINRReader&) = delete;

  struct Internals;
  std::unique_ptr<Internals> Impl;

  // Opens FileName (or reuses the cached handle opened with the same TrustLargeFiles),
  // reporting progress over [from, to] and honouring the abort flag; false with a
  // vtkErrorMacro on failure (an abort included).
  bool OpenModel(double from, double to);
  // Copies and checks the embedded mesh into Impl; false with a vtkErrorMacro on failure.
  bool BuildMesh();
  // Starts the background decode of a MESHC mesh (PrefetchMesh) unless one is running or done.
  void StartMeshPrefetch();
  // Builds piece `piece` of `numPieces` with `ghostLevels` ghost levels into Impl
  // (mcinr_piece_build), progress over [from, to]; false with a vtkErrorMacro on failure.
  bool BuildPiece(int piece, int numPieces, int ghostLevels, double from, double to);
};

#endif
