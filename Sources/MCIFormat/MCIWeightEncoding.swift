import ModelDescription


/// How the network tensors are stored in a `.mci` file (docs/mci-format.md, "Weight
/// encodings"). `.float16` and `.int8` need format 1.1; readers convert back to float32 when
/// they open the file, so evaluation is the same for all encodings.
public enum MCIWeightEncoding: UInt8, CaseIterable, Sendable {
    /// 4 bytes per value, lossless.
    case float32 = 0
    /// IEEE binary16, round to nearest even: 2 bytes per value.
    case float16 = 1
    /// Symmetric int8 per output row (a float32 scale per row of each matrix), biases float32:
    /// about 1 byte per value.
    case int8 = 2

    /// The CLI's names: f32, f16, int8.
    public var shortName: String {
        switch self {
        case .float32: return "f32"
        case .float16: return "f16"
        case .int8: return "int8"
        }
    }

    public init?(shortName: String) {
        guard let e = Self.allCases.first(where: { $0.shortName == shortName }) else { return nil }
        self = e
    }

    /// Stored bytes of one tensor of `count` values; `rows` > 0 for a matrix of that many rows.
    public func storedBytes(count: Int, rows: Int) -> Int {
        switch self {
        case .float32: return 4 * count
        case .float16: return 2 * count
        case .int8: return rows > 0 ? 4 * rows + count : 4 * count
        }
    }

    /// Stored tensor bytes of a module (no header). Tensors alternate matrix (even index,
    /// `outputs` rows) and bias (odd index).
    public func storedBytes(of module: ModuleDescription) -> Int {
        module.tensors.enumerated().reduce(0) { sum, t in
            sum + storedBytes(count: t.element.count, rows: t.offset % 2 == 0 ? module.outputs : 0)
        }
    }

    /// Stored tensor bytes of all networks: what `mcinr_weight_bytes` reports for an
    /// uncompressed NETS section.
    public func storedBytes(of networks: [NetworkDescription]) -> Int {
        networks.reduce(0) { sum, net in
            sum + (net.trunk + net.branches.flatMap { $0 }).reduce(0) { $0 + storedBytes(of: $1) }
        }
    }

    /// The networks with every tensor replaced by the float32 values a reader gets back from
    /// this encoding (the decoder's conversion, done here bit for bit). `.float32` is the
    /// identity. Writing the result as float32 and decoding it gives the same numbers as
    /// decoding the model written in this encoding.
    public func quantised(_ networks: [NetworkDescription]) throws -> [NetworkDescription] {
        guard self != .float32 else { return networks }
        return try networks.map { net in
            var q = net
            q.trunk = try net.trunk.map(quantised)
            q.branches = try net.branches.map { try $0.map(quantised) }
            return q
        }
    }

    func quantised(_ module: ModuleDescription) throws -> ModuleDescription {
        var m = module
        for (i, t) in module.tensors.enumerated() {
            switch self {
            case .float32: break
            case .float16: m.tensors[i] = try t.map { MCIHalf.float(MCIHalf.bits(try MCIHalf.checked($0))) }
            case .int8:
                if i % 2 == 0 { m.tensors[i] = try MCIInt8Rows(matrix: t, rows: module.outputs).dequantised }
            }
        }
        return m
    }
}

/// IEEE binary16 conversions (no dependence on the platform's Float16).
enum MCIHalf {
    /// A weight that float16 cannot hold is an error, never a silent infinity.
    static func checked(_ f: Float) throws -> Float {
        guard f.isFinite, abs(f) < 65520 else {
            throw MCIError.invalidModel("MCIModel: weight \(f) cannot be stored as float16 (|w| ≤ 65504)")
        }
        return f
    }

    /// float32 → binary16 bits, round to nearest, ties to even. Finite inputs only
    /// (|f| < 65520 rounds to at most 65504).
    static func bits(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let a = x & 0x7FFF_FFFF
        if a >= 0x477F_F000 { return sign | 0x7C00 } // ≥ 65520: overflow (callers check first)
        if a < 0x3880_0000 { // below 2^-14: a subnormal half; scaling by 2^24 is exact
            let scaled = Float(bitPattern: a) * 16_777_216
            return sign | UInt16(scaled.rounded(.toNearestOrEven))
        }
        let rebiased = a - 0x3800_0000 // exponent 127 → 15 bias
        let roundBit = (rebiased >> 13) & 1
        return sign | UInt16((rebiased + 0xFFF + roundBit) >> 13)
    }

    /// binary16 bits → float32, exact.
    static func float(_ h: UInt16) -> Float {
        let e = Int((h >> 10) & 0x1F), f = Float(h & 0x3FF)
        let magnitude: Float
        switch e {
        case 0: magnitude = f * 0x1p-24
        case 31: magnitude = f == 0 ? .infinity : .nan
        default: magnitude = (f + 1024) * Float(sign: .plus, exponent: e - 25, significand: 1)
        }
        return h & 0x8000 != 0 ? -magnitude : magnitude
    }
}

/// A matrix in the int8 per-row encoding: `scale_r = max|row| / 127` (float32),
/// `q = round(w / scale_r)` (ties away from zero, clamped to ±127), value `Float(q) · scale_r`.
struct MCIInt8Rows {
    var scales: [Float]
    var q: [Int8]
    let columns: Int

    init(matrix: [Float], rows: Int) throws {
        guard let bad = matrix.first(where: { !$0.isFinite }) else { try self.init(finite: matrix, rows: rows); return }
        throw MCIError.invalidModel("MCIModel: weight \(bad) cannot be stored as int8")
    }

    private init(finite matrix: [Float], rows: Int) throws {
        let cols = rows > 0 ? matrix.count / rows : 0
        columns = cols
        scales = [Float](repeating: 0, count: rows)
        q = [Int8](repeating: 0, count: matrix.count)
        for r in 0..<rows {
            let row = matrix[r * cols ..< (r + 1) * cols]
            let scale = row.reduce(Float(0)) { max($0, abs($1)) } / 127
            scales[r] = scale
            guard scale > 0 else { continue }
            for k in row.indices {
                q[k] = Int8(max(-127, min(127, (matrix[k] / scale).rounded(.toNearestOrAwayFromZero))))
            }
        }
    }

    /// What a reader gets back.
    var dequantised: [Float] {
        q.indices.map { Float(q[$0]) * scales[$0 / max(columns, 1)] }
    }
}
