import CMCINR

/// Errors of reading, writing and decoding `.mci` files. The message names the file and
/// what is wrong (for the C decoder's errors, it is the C decoder's message).
public enum MCIError: Error, CustomStringConvertible, Equatable {
    case io(String)
    case format(String)
    case version(String)
    case checksum(String)
    case outOfMemory(String)
    case argument(String)
    case noMesh(String)
    case aborted(String)
    /// The file asks for more memory or work than the limits for untrusted files of its size
    /// allow (docs/mci-format.md, Limits); it opens with `trustLargeFiles` if it is trusted.
    case limit(String)
    /// The model given to `MCIWriter` violates the format (message says which field).
    case invalidModel(String)

    public var description: String {
        switch self {
        case .io(let m), .format(let m), .version(let m), .checksum(let m), .outOfMemory(let m),
             .argument(let m), .noMesh(let m), .aborted(let m), .limit(let m), .invalidModel(let m):
            return m
        }
    }

    init(status: mcinr_status, message: String) {
        switch status {
        case MCINR_ERR_IO: self = .io(message)
        case MCINR_ERR_FORMAT: self = .format(message)
        case MCINR_ERR_VERSION: self = .version(message)
        case MCINR_ERR_CHECKSUM: self = .checksum(message)
        case MCINR_ERR_NOMEM: self = .outOfMemory(message)
        case MCINR_ERR_NO_MESH: self = .noMesh(message)
        case MCINR_ERR_ABORTED: self = .aborted(message)
        case MCINR_ERR_LIMIT: self = .limit(message)
        default: self = .argument(message)
        }
    }
}
