import Foundation
import INRCore
@testable import MCIFormat
import XCTest

/// Format 1.1 weight encodings (float16, int8 per row) and the compressed NETS section.
final class WeightEncodingTests: XCTestCase {
    func points(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SeededRNG(seed: seed)
        return (0..<(3 * n)).map { _ in Double.random(in: -0.2...2.2, using: &rng) }
    }

    func decode(_ model: MCIModel, _ pts: [Double], time: Double = 17.5) throws -> (MCIDecoder, [Float]) {
        let d = try MCIDecoder(bytes: try MCIWriter.encode(model))
        return (d, try d.decode(points: pts, time: time))
    }

    /// Largest |a − b| over all values, as a fraction of the component's range.
    func worstRelativeError(_ a: [Float], _ b: [Float], _ model: MCIModel) -> Double {
        let C = model.componentCount
        return a.indices.reduce(0) { worst, i in
            let r = model.componentRanges[i % C]
            return max(worst, Double(abs(a[i] - b[i])) / (r.upperBound - r.lowerBound))
        }
    }

    /// The decoder's conversion is exact: decoding the f16 / int8 file gives bit for bit what
    /// decoding the float32 file of the quantised weights gives (tolerance 0), with and
    /// without NETS compression. The loss against the original float32 weights is bounded.
    func testEncodedDecodeEqualsDecodeOfQuantisedFloat32Model() throws {
        let pts = points(400, seed: 11)
        for arch in [Architecture.coordNetB, .siren] {
            let original = TestModels.model(arch, width: 16, mesh: nil)
            let (d32, exact) = try decode(original, pts)
            XCTAssertEqual(d32.formatVersion.minor, 0, "plain float32 stays format 1.0")
            for encoding in [MCIWeightEncoding.float16, .int8] {
                var asFloat32 = original
                asFloat32.networks = try encoding.quantised(original.networks)
                XCTAssertNotEqual(asFloat32.networks, original.networks, "\(encoding) changed nothing")
                let (_, reference) = try decode(asFloat32, pts)
                for compress in [false, true] {
                    var encoded = original
                    encoded.weightEncoding = encoding
                    encoded.compressNets = compress
                    let (d, values) = try decode(encoded, pts)
                    XCTAssertEqual(d.formatVersion.major, 1)
                    XCTAssertEqual(d.formatVersion.minor, 1, "\(encoding) needs format 1.1")
                    XCTAssertEqual(values, reference, "\(arch) \(encoding) compress \(compress): decode differs")
                }
                // bounds with a 10× margin for these seeded random nets (measured: f16 ≤ 1.2e-4,
                // int8 ≤ 8.3e-4 of the range)
                let loss = worstRelativeError(reference, exact, original)
                print("\(arch) \(encoding): max |decode - float32 decode| / range = \(loss)")
                XCTAssertGreaterThan(loss, 0)
                XCTAssertLessThan(loss, encoding == .float16 ? 1.2e-3 : 8.3e-3, "\(arch) \(encoding) loss \(loss)")
            }
        }
    }

    /// Stored weight bytes: float16 exactly half, int8 one byte per matrix value plus
    /// float32 row scales and biases; the decoder reports them; compression shrinks them
    /// and is only used where it helps.
    func testStoredWeightBytesShrinkAsExpected() throws {
        var model = TestModels.model(.coordNetB, width: 16, mesh: nil)
        let f32Bytes = model.networks.reduce(0) { $0 + $1.parameterCount } * 4
        var matrixValues = 0, rows = 0, biasValues = 0
        for net in model.networks {
            for module in net.trunk + net.branches.flatMap({ $0 }) {
                for (i, t) in module.tensors.enumerated() {
                    if i % 2 == 0 { matrixValues += t.count; rows += module.outputs } else { biasValues += t.count }
                }
            }
        }
        var stored: [MCIWeightEncoding: UInt64] = [:]
        for encoding in MCIWeightEncoding.allCases {
            model.weightEncoding = encoding
            model.compressNets = false
            let plain = try MCIWriter.encode(model)
            let d = try MCIDecoder(bytes: plain)
            XCTAssertEqual(d.weightBytes, UInt64(model.weightBytes))
            stored[encoding] = d.weightBytes
            model.compressNets = true
            let packed = try MCIWriter.encode(model)
            let dz = try MCIDecoder(bytes: packed)
            if packed.count < plain.count {
                XCTAssertEqual(dz.formatVersion.minor, 1)
                XCTAssertLessThan(dz.weightBytes, d.weightBytes)
            } else { // compression did not help: written plain, byte for byte
                XCTAssertEqual(packed, plain)
            }
        }
        XCTAssertEqual(stored[.float32], UInt64(f32Bytes))
        XCTAssertEqual(stored[.float16], UInt64(f32Bytes / 2))
        XCTAssertEqual(stored[.int8], UInt64(matrixValues + 4 * rows + 4 * biasValues))
        XCTAssertLessThan(Double(stored[.int8]!), Double(f32Bytes) / 2.5)
        // float16 weights of these random nets compress (their exponents are redundant)
        model.weightEncoding = .float16
        model.compressNets = true
        let dz = try MCIDecoder(bytes: try MCIWriter.encode(model))
        XCTAssertEqual(dz.formatVersion.minor, 1)
        XCTAssertLessThan(dz.weightBytes, stored[.float16]!)
    }

    func testPlainFloat32FilesAreUnchangedByTheNewOptions() throws {
        let model = TestModels.model(.siren, mesh: nil)
        let bytes = try MCIWriter.encode(model)
        XCTAssertEqual(bytes[10], 0, "minor version")
        var explicit = model
        explicit.weightEncoding = .float32
        XCTAssertEqual(try MCIWriter.encode(explicit), bytes)
    }

    func testHalfConversionRoundsToNearestEvenAndIsExactBack() throws {
        XCTAssertEqual(MCIHalf.bits(1), 0x3C00)
        XCTAssertEqual(MCIHalf.bits(-2), 0xC000)
        XCTAssertEqual(MCIHalf.bits(0.1), 0x2E66)
        XCTAssertEqual(MCIHalf.bits(65504), 0x7BFF)
        XCTAssertEqual(MCIHalf.bits(65519.99), 0x7BFF)
        XCTAssertEqual(MCIHalf.bits(0x1p-24), 0x0001) // smallest subnormal
        XCTAssertEqual(MCIHalf.bits(0x1p-25), 0x0000) // tie → even (0)
        XCTAssertEqual(MCIHalf.bits(0x1.8p-24), 0x0002) // tie 1.5 ulp → even (2)
        XCTAssertEqual(MCIHalf.bits(1 + 0x1p-11), 0x3C00) // tie → even mantissa
        XCTAssertEqual(MCIHalf.bits(1 + 0x1.8p-10), 0x3C02) // tie → even mantissa, upwards
        XCTAssertEqual(MCIHalf.bits(0x1.ffep-15), 0x0400) // rounds up into the smallest normal
        XCTAssertThrowsError(try MCIHalf.checked(65520))
        XCTAssertThrowsError(try MCIHalf.checked(.nan))
        // every finite half survives half → float → half
        for h in UInt16.min...UInt16.max where (h >> 10) & 0x1F != 0x1F {
            let f = MCIHalf.float(h)
            XCTAssertTrue(f.isFinite)
            if MCIHalf.bits(f) != h { XCTFail(String(format: "half %04x → %g → %04x", h, f, MCIHalf.bits(f))); break }
        }
        XCTAssertEqual(MCIHalf.float(0x0001), 0x1p-24)
        XCTAssertEqual(MCIHalf.float(0xFBFF), -65504)
    }

    func testInt8RowsAreSymmetricPerRowWithZeroRows() throws {
        // row 0: scale exactly 1, so the ties 63.5 and -2.5 are exact (away from zero)
        let rows = try MCIInt8Rows(matrix: [127, 63.5, -2.5, 0, 0, 0, 0.25, -0.1, 0.0625], rows: 3)
        XCTAssertEqual(rows.scales, [1, 0, Float(0.25) / 127])
        XCTAssertEqual(rows.q, [127, 64, -3, 0, 0, 0, 127, -51, 32])
        XCTAssertEqual(Array(rows.dequantised[0..<6]), [127, 64, -3, 0, 0, 0])
        XCTAssertEqual(rows.dequantised[7], -51 * (Float(0.25) / 127))
        XCTAssertThrowsError(try MCIInt8Rows(matrix: [1, .infinity], rows: 1))
    }

    func testWeightsThatAnEncodingCannotHoldAreRejected() throws {
        var model = TestModels.model(.siren, mesh: nil)
        model.networks[0].trunk[0].tensors[0][0] = 70000
        model.weightEncoding = .float16
        XCTAssertThrowsError(try MCIWriter.encode(model)) {
            guard case .invalidModel(let m) = $0 as? MCIError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("float16"), m)
        }
        model.weightEncoding = .int8 // int8 scales any finite row
        XCTAssertNoThrow(try MCIWriter.encode(model))
    }

    func testShortNames() {
        XCTAssertEqual(MCIWeightEncoding.allCases.map(\.shortName), ["f32", "f16", "int8"])
        XCTAssertEqual(MCIWeightEncoding(shortName: "int8"), .int8)
        XCTAssertNil(MCIWeightEncoding(shortName: "f64"))
    }
}
