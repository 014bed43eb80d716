import Foundation

/// Everything that can go wrong while reading or writing VTU/PVD data. Every case names the
/// file (and the array where one is involved) so that the message alone tells the user what to fix.
public enum MeshIOError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or read at all.
    case cannotRead(file: String, reason: String)
    /// The file ends before the data it announces (XML head or binary payload).
    case truncated(file: String, detail: String)
    /// The XML head is not parseable (unterminated tag, missing attribute, …).
    case malformedXML(file: String, detail: String)
    /// A VTKFile whose `type` is not `UnstructuredGrid` (or not `Collection` for a .pvd).
    case wrongFileType(file: String, expected: String, found: String)
    /// `format`/`encoding` attribute with a value we do not know.
    case unknownEncoding(file: String, array: String, encoding: String)
    /// DataArray `type` (or header_type) we do not know.
    case unknownType(file: String, array: String, type: String)
    /// A compressor other than vtkZLibDataCompressor, vtkLZ4DataCompressor and vtkLZMADataCompressor.
    case unsupportedCompressor(file: String, compressor: String)
    /// Invalid base64 text (bad character, bad padding, too short).
    case badBase64(file: String, array: String, detail: String)
    /// An array holds a different number of values than the piece announces.
    case wrongArraySize(file: String, array: String, expected: Int, found: Int)
    /// The file has no `<Points>` or no `<Cells>` (or no `<Piece>`).
    case missingSection(file: String, section: String)
    /// Connectivity/offsets/types that do not describe a valid mesh.
    case invalidMesh(file: String, detail: String)
    /// zlib could not deflate a block (writing).
    case zlibFailure(file: String, array: String, detail: String)
    /// A compressed array that cannot be decompressed (reading): a corrupt block, or a header
    /// whose sizes the blocks cannot hold. `compressor` is the file's, e.g. vtkLZ4DataCompressor.
    case decompressionFailure(file: String, array: String, compressor: String, detail: String)
    /// A .pvd references a file that does not exist.
    case missingReferencedFile(pvd: String, referenced: String)
    /// Time steps that do not share the same mesh or arrays.
    case inconsistentStep(file: String, detail: String)
    /// A series with no step in it.
    case emptySeries(file: String)
    /// A variable name that the dataset does not hold.
    case unknownVariable(name: String, available: [String])
    /// Writing failed (folder missing, disk full, …), or the data given to the writer is inconsistent.
    case writeFailed(file: String, reason: String)
    /// An array name that VTK files cannot carry safely (repeated, empty or with control characters).
    case invalidName(file: String, name: String, reason: String)
    /// Writing stopped on request (Ctrl-C) before anything was replaced.
    case interrupted(file: String)

    public var description: String {
        switch self {
        case let .cannotRead(file, reason): return "\(file): cannot read: \(reason)"
        case let .truncated(file, detail): return "\(file): file is truncated: \(detail)"
        case let .malformedXML(file, detail): return "\(file): malformed XML: \(detail)"
        case let .wrongFileType(file, expected, found):
            return "\(file): expected a VTKFile of type \(expected), found \(found.isEmpty ? "no type" : "'\(found)'")"
        case let .unknownEncoding(file, array, encoding):
            return "\(file): array '\(array)': unknown format/encoding '\(encoding)'"
        case let .unknownType(file, array, type): return "\(file): array '\(array)': unknown data type '\(type)'"
        case let .unsupportedCompressor(file, compressor):
            return "\(file): unsupported compressor '\(compressor)' (supported: vtkZLibDataCompressor, vtkLZ4DataCompressor, vtkLZMADataCompressor)"
        case let .badBase64(file, array, detail): return "\(file): array '\(array)': bad base64 data: \(detail)"
        case let .wrongArraySize(file, array, expected, found):
            return "\(file): array '\(array)': expected \(expected) values, found \(found)"
        case let .missingSection(file, section): return "\(file): missing <\(section)>"
        case let .invalidMesh(file, detail): return "\(file): invalid mesh: \(detail)"
        case let .zlibFailure(file, array, detail): return "\(file): array '\(array)': zlib: \(detail)"
        case let .decompressionFailure(file, array, compressor, detail): return "\(file): array '\(array)': \(compressor): \(detail)"
        case let .missingReferencedFile(pvd, referenced):
            return "\(pvd): referenced file '\(referenced)' does not exist"
        case let .inconsistentStep(file, detail): return "\(file): inconsistent with the first step: \(detail)"
        case let .emptySeries(file): return "\(file): the series holds no time step"
        case let .unknownVariable(name, available):
            return "unknown variable '\(name)'; available: \(available.joined(separator: ", "))"
        case let .writeFailed(file, reason): return "\(file): cannot write: \(reason)"
        case let .invalidName(file, name, reason):
            return "\(file): array name \(name.debugDescription) \(reason)"
        case let .interrupted(file): return "\(file): interrupted; nothing was replaced"
        }
    }
}
