/// Errors of the neural core. Each says what is wrong and where.
public enum INRError: Error, CustomStringConvertible, Equatable {
    /// A network description that cannot be evaluated (shapes, counts, values).
    case invalidDescription(String)
    /// An architecture configuration that cannot be built.
    case invalidArchitecture(String)
    /// Training or evaluation data with inconsistent sizes or non-finite values.
    case invalidData(String)

    public var description: String {
        switch self {
        case .invalidDescription(let m): return "invalid network description: \(m)"
        case .invalidArchitecture(let m): return "invalid architecture: \(m)"
        case .invalidData(let m): return "invalid data: \(m)"
        }
    }
}
