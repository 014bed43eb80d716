@testable import MCIFormat
import XCTest

/// The range encoder against a decoder written from the format's text (docs/mci-format.md,
/// "Range coder (coder 1)"): every bit comes back, and the decoder reads exactly the bytes
/// the encoder wrote.
final class RangeCodingTests: XCTestCase {
    /// LZMA's range decoder as the format describes it.
    struct Decoder {
        let bytes: [UInt8]
        var pos = 0, range: UInt32 = 0xFFFF_FFFF, code: UInt32 = 0

        init(_ bytes: [UInt8]) throws {
            self.bytes = bytes
            guard bytes.count >= 5, bytes[0] == 0 else { throw MCIError.invalidModel("bad start") }
            for k in 1..<5 { code = code << 8 | UInt32(bytes[k]) }
            pos = 5
        }

        mutating func decode(_ p: inout UInt16) throws -> Bool {
            let bound = (range >> 11) &* UInt32(p)
            let bit: Bool
            if code < bound {
                range = bound
                p += (2048 - p) >> 5
                bit = false
            } else {
                code &-= bound
                range &-= bound
                p -= p >> 5
                bit = true
            }
            if range < 1 << 24 {
                guard pos < bytes.count else { throw MCIError.invalidModel("read past the end") }
                range <<= 8
                code = code << 8 | UInt32(bytes[pos])
                pos += 1
            }
            return bit
        }
    }

    func testBitsRoundTripAndTheDecoderReadsEveryByte() throws {
        var rng = SystemRandomNumberGenerator()
        for length in [0, 1, 7, 1000, 50_000] {
            // skewed bits in 8 adaptive contexts, and fixed bits
            let bits: [(Bool, Int)] = (0..<length).map { _ in
                let context = Int.random(in: 0..<9, using: &rng)
                return (Double.random(in: 0..<1, using: &rng) < Double(context) / 9, context)
            }
            var encoder = RangeCoding.Encoder()
            var probabilities = [UInt16](repeating: 1024, count: 8)
            for (bit, context) in bits {
                if context == 8 { encoder.encodeFixed(bit) } else { encoder.encode(bit, &probabilities[context]) }
            }
            let bytes = encoder.finish()
            var decoder = try Decoder(bytes)
            probabilities = [UInt16](repeating: 1024, count: 8)
            for (k, (bit, context)) in bits.enumerated() {
                var fixed: UInt16 = 1024
                let got = try context == 8 ? decoder.decode(&fixed) : decoder.decode(&probabilities[context])
                XCTAssertEqual(got, bit, "bit \(k) of \(length)")
            }
            XCTAssertEqual(decoder.pos, bytes.count, "\(length) bits: the decoder reads exactly the stream")
            if length == 50_000 {
                XCTAssertLessThan(bytes.count, length / 8, "skewed bits compress")
            }
        }
    }

    /// Small differences in a calm neighbourhood cost well under a byte each; contexts adapt.
    func testDifferencesCompressBelowZstd() throws {
        let mesh = TestModels.tetMesh(precision: .float32)
        let nb = MCIResidual.Neighbours(mesh)
        var rng = SystemRandomNumberGenerator()
        let d: [Int64] = (0..<mesh.pointCount).map { _ in Int64.random(in: -3...3, using: &rng) }
        let ranged = RangeCoding.encode(differences: d, escapes: [:], neighbours: nb)
        let zstd = try MCIResidual.zstdStream(differences: d, escapes: [:]).bytes
        XCTAssertLessThan(ranged.count, d.count, "under 8 bits per value")
        XCTAssertLessThanOrEqual(ranged.count, zstd.count + 8)
        XCTAssertEqual(ranged.first, 0, "LZMA's encoder starts with a 0 byte")
    }
}
