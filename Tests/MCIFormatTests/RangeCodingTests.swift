@testable import MCIFormat
import INRCore
import XCTest

/// The range coder of RESIDUAL type 7. Its one decoder is the C decoder's: these tests check
/// the Swift encoder through it (no second decoder here), on streams long and wide enough to
/// exercise carry propagation, every exponent length and escapes.
final class RangeCodingTests: XCTestCase {
    func testLongWideStreamsDecodeExactlyInTheCDecoder() throws {
        let model = ErrorBoundedTests.base
        let mesh = try XCTUnwrap(model.mesh)
        let N = mesh.pointCount, C = model.componentCount, T = model.times.count
        var rng = SplitMix64(seed: 21)
        // per stream a different magnitude scale: runs of zeros, small values and values near 2^30
        var indices: [[Int32]] = []
        for k in 0..<(T * C) {
            let scale = Int32(1) << Int32(min(30, 3 * (k % 11)))
            indices.append((0..<N).map { i in
                i % 7 == 0 ? 0 : Int32(truncatingIfNeeded: Int64(rng.nextIndex(below: Int(2 * Int64(scale) + 1))) - Int64(scale))
            })
        }
        var escapes = [[Int: Float]](repeating: [:], count: T * C)
        escapes[C] = [1: 7.5, N - 1: -0.125]
        let widths = (0..<C).map { 1e-9 * Double($0 + 1) }
        let quantised = ResidualQuantiser.Quantised(indices: indices, escapes: escapes)
        let network = try MCIDecoder(bytes: MCIWriter.encode(model))
        for coder in [MCIResidual.Coder.range, .rangeSigns] {
            let coded = try ErrorBoundedEncoder.encodeStreams(residual: quantised, data: nil, componentCount: C,
                                                              neighbours: MeshNeighbours(mesh), threads: 2,
                                                              candidates: [[]], coder: coder)
            XCTAssertTrue(coded.allSatisfy { $0.coder == coder && !$0.bytes.isEmpty })
            var withResidual = model
            withResidual.residual = MCIResidual(maxErrors: widths, binWidths: widths, pointCount: N, timeCount: T, streams: coded)
            let bytes = try MCIWriter.encode(withResidual)
            XCTAssertEqual(bytes[10] == 11, coder == .rangeSigns, "minor version 11 exactly with coder 2")
            let decoder = try MCIDecoder(bytes: bytes)
            for t in 0..<T {
                let decoded = try decoder.decodeMesh(time: decoder.times[t]), net = try network.decodeMesh(time: decoder.times[t])
                var wrong = 0
                for i in 0..<N {
                    for c in 0..<C {
                        let k = t * C + c
                        let expected = escapes[k][i] ?? ResidualQuantiser.applied(net[i * C + c], Int64(indices[k][i]), widths[c])
                        wrong += decoded[i * C + c] == expected ? 0 : 1
                    }
                }
                XCTAssertEqual(wrong, 0, "coder \(coder), step \(t)")
            }
        }
    }

    /// Small differences in a calm neighbourhood cost well under a byte each; contexts adapt.
    func testDifferencesCompressBelowZstd() throws {
        let mesh = TestModels.tetMesh(precision: .float32)
        let nb = MeshNeighbours(mesh)
        var rng = SplitMix64(seed: 22)
        let d: [Int64] = (0..<mesh.pointCount).map { _ in Int64(rng.nextIndex(below: 7)) - 3 }
        let ranged = RangeCoding.encode(differences: d, escapes: [:], neighbours: nb)
        let zstd = try StreamCoding.zstdStream(differences: d, escapes: [:]).bytes
        XCTAssertLessThan(ranged.count, d.count, "under 8 bits per value")
        XCTAssertLessThanOrEqual(ranged.count, zstd.count + 8)
        XCTAssertEqual(ranged.first, 0, "LZMA's encoder starts with a 0 byte")
    }
}
