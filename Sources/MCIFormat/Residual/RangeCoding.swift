/// The range coders of RESIDUAL type 7 (docs/mci-format.md, "Range coder (coder 1)" and "Range
/// coder with sign and occupancy contexts (coder 2)"): LZMA's binary range encoder, and the
/// binarisation of a stream's differences with one set of adaptive probabilities per context.
/// Coder 1 measured 9–13 % smaller than zstd on the same differences at R = 1e-4; coder 2
/// 3.5–5 % smaller than coder 1 at R = 1e-3 (docs/benchmarks/error-bounded.md).
enum RangeCoding {
    static let contexts = 16
    static let exponents = 34          // unary exponent bits; 34 ones = an escape

    /// What differs between the two coders: the probabilities' units, whether each counts its
    /// updates (shift n + 1 for its first four, then 5), and the contexts beyond κ.
    struct Scheme: Sendable {
        let probabilityBits: UInt32
        let counted: Bool
        /// ν levels (the share of non-zero neighbour differences) and σ levels (their signs).
        let occupancyLevels: Int, signLevels: Int

        static let coder1 = Scheme(probabilityBits: 11, counted: false, occupancyLevels: 1, signLevels: 1)
        static let coder2 = Scheme(probabilityBits: 15, counted: true, occupancyLevels: 4, signLevels: 5)

        static func of(_ coder: MCIResidual.Coder) -> Scheme { coder == .range ? .coder1 : .coder2 }

        var half: UInt16 { UInt16(1) << UInt16(probabilityBits - 1) }
    }

    static let moveBits: UInt16 = 5
    static let lastCount: UInt8 = 4
    /// Coder 1's starting probability (1/2 in 2^-11), also the MESHC chunks'.
    static let initialProbability: UInt16 = 1 << 10

    /// An adaptive probability of a 0 and (coder 2) how many updates it has had, up to 4.
    struct Probability {
        var p: UInt16
        var n: UInt8 = 0
    }

    /// LZMA's range encoder (low, range, cache and carry propagation).
    struct Encoder {
        let scheme: Scheme
        private(set) var bytes: [UInt8] = []
        private var low: UInt64 = 0
        private var range: UInt32 = 0xFFFF_FFFF
        private var cache: UInt8 = 0
        private var cacheSize = 1

        init(scheme: Scheme = .coder1) { self.scheme = scheme }

        /// One bit with a coder-1 probability p (of a 0, in 2^-11, shift 5), updated: the
        /// MESHC chunks' bits.
        mutating func encode(_ bit: Bool, _ p: inout UInt16) {
            var q = Probability(p: p)
            encode(bit, &q)
            p = q.p
        }

        /// One bit with an adaptive probability, updated.
        mutating func encode(_ bit: Bool, _ q: inout Probability) {
            let bound = (range >> scheme.probabilityBits) &* UInt32(q.p)
            let shift = scheme.counted ? UInt16(q.n) + 1 : moveBits
            if bit {
                low &+= UInt64(bound)
                range &-= bound
                q.p &-= q.p >> shift
            } else {
                range = bound
                q.p &+= ((1 << UInt16(scheme.probabilityBits)) - q.p) >> shift
            }
            if scheme.counted && q.n < lastCount { q.n += 1 }
            normalise()
        }

        /// One bit with the fixed probability 1/2 (never updated).
        mutating func encodeFixed(_ bit: Bool) {
            let bound = (range >> scheme.probabilityBits) << (scheme.probabilityBits - 1)
            if bit {
                low &+= UInt64(bound)
                range &-= bound
            } else {
                range = bound
            }
            normalise()
        }

        private mutating func normalise() {
            while range < 1 << 24 {
                range <<= 8
                shiftLow()
            }
        }

        private mutating func shiftLow() {
            if low < 0xFF00_0000 || low >= 1 << 32 {
                let carry = UInt8(truncatingIfNeeded: low >> 32)
                var byte = cache
                repeat {
                    bytes.append(byte &+ carry)
                    byte = 0xFF
                    cacheSize -= 1
                } while cacheSize != 0
                cache = UInt8(truncatingIfNeeded: low >> 24)
            }
            cacheSize += 1
            low = (low & 0x00FF_FFFF) << 8
        }

        /// The complete stream (5 flushing shifts: exactly what the decoder reads).
        mutating func finish() -> [UInt8] {
            for _ in 0..<5 { shiftLow() }
            return bytes
        }
    }

    /// The contexts of point i from the differences of this stream at its earlier neighbours
    /// (escapes 0): κ = 0 without any, else 1 + min(bit_length(⌊4A/k⌋), 14) with A the sum of
    /// their |d| and k their count; and with the scheme's levels, ν (how many are non-zero) and
    /// σ (the sum of their signs).
    @inline(__always)
    static func context(_ i: Int, _ values: UnsafeBufferPointer<Int64>, _ nb: MeshNeighbours, _ scheme: Scheme)
        -> (kappa: Int, occupancy: Int, signs: Int) {
        let lo = nb.offsets[i], hi = nb.offsets[i + 1]
        guard hi > lo else { return (0, 0, 0) }
        var sum: UInt64 = 0, nonZero = 0, signSum = 0
        for k in lo..<hi {
            let d = values[Int(nb.indices[k])]
            sum += d.magnitude
            nonZero += d != 0 ? 1 : 0
            signSum += Int(d.signum())
        }
        let k = hi - lo
        let scaled = 4 * sum / UInt64(k)
        let kappa = 1 + min(UInt64.bitWidth - scaled.leadingZeroBitCount, contexts - 2)
        guard scheme.signLevels > 1 else { return (kappa, 0, 0) }
        let occupancy = nonZero == 0 ? 0 : 2 * nonZero < k ? 1 : nonZero < k ? 2 : 3
        let signs = signSum == 0 ? 0 : signSum == 1 ? 1 : signSum >= 2 ? 2 : signSum == -1 ? 3 : 4
        return (kappa, occupancy, signs)
    }

    /// The range-coded stream of one (step, component) in `coder` (1 or 2): per point its
    /// difference d, or the exact value of an escape.
    static func encode(differences d: [Int64], escapes: [Int: Float], neighbours nb: MeshNeighbours,
                       coder: MCIResidual.Coder = .rangeSigns) -> [UInt8] {
        precondition(coder != .zstd)
        let scheme = Scheme.of(coder)
        let start = Probability(p: scheme.half)
        var exponent = [Probability](repeating: start, count: contexts * scheme.occupancyLevels * exponents)
        var mantissa = [Probability](repeating: start, count: exponents * 3)
        var sign = [Probability](repeating: start, count: contexts * scheme.signLevels)
        var values = [Int64](repeating: 0, count: d.count)
        var rc = Encoder(scheme: scheme)
        values.withUnsafeMutableBufferPointer { seen in
            for i in d.indices {
                let x = context(i, UnsafeBufferPointer(seen), nb, scheme)
                let row = (x.kappa * scheme.occupancyLevels + x.occupancy) * exponents
                if let exact = escapes[i] {
                    for j in 0..<exponents { rc.encode(true, &exponent[row + j]) }
                    let bits = exact.bitPattern
                    for b in (0..<32).reversed() { rc.encodeFixed((bits >> UInt32(b)) & 1 == 1) }
                    continue   // an escape counts 0 in the contexts
                }
                let m = d[i].magnitude
                let e = UInt64.bitWidth - (m + 1).leadingZeroBitCount - 1   // 0 … 33
                for j in 0..<e { rc.encode(true, &exponent[row + j]) }
                rc.encode(false, &exponent[row + e])
                let r = m + 1 - (1 << UInt64(e))
                if e >= 1 {
                    let first = (r >> UInt64(e - 1)) & 1 == 1
                    rc.encode(first, &mantissa[e * 3])
                    if e >= 2 {
                        rc.encode((r >> UInt64(e - 2)) & 1 == 1, &mantissa[e * 3 + (first ? 2 : 1)])
                        for b in stride(from: e - 3, through: 0, by: -1) { rc.encodeFixed((r >> UInt64(b)) & 1 == 1) }
                    }
                }
                if m > 0 { rc.encode(d[i] < 0, &sign[x.kappa * scheme.signLevels + x.signs]) }
                seen[i] = d[i]
            }
        }
        return rc.finish()
    }
}
