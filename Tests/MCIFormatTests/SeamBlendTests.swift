import XCTest
@testable import MCIFormat

/// The SEAM section (#21): within the margin of the boundary between two networks the C
/// decoder mixes them, ½ (1 − smoothstep(s / margin)) of the one across, so the field is
/// continuous at the boundary; outside the margin each point is its own network's, as before.
final class SeamBlendTests: XCTestCase {
    /// Two top-level clusters at x = ∓0.5 of a [−1, 1]³ box (normalised coordinates = x):
    /// the boundary is the plane x = 0. `swapped` routes each side to the other network.
    static func model(swapped: Bool = false, margin: Double? = nil) -> MCIModel {
        var m = TestModels.model(.coordNetB, mesh: nil)
        m.boundsMin = [-1, -1, -1]; m.boundsMax = [1, 1, 1]
        m.treeNodes = [MCITreeNode(centroid: [-0.5, 0, 0], network: swapped ? 1 : 0),
                       MCITreeNode(centroid: [0.5, 0, 0], network: swapped ? 0 : 1)]
        m.topLevelCount = 2
        m.networks = Array(m.networks.prefix(2))
        m.seamMargin = margin
        return m
    }

    func testBlendAcrossTheBoundaryAndNothingElsewhere() throws {
        let margin = 0.2
        let plain = try MCIDecoder(bytes: MCIWriter.encode(Self.model()))
        let other = try MCIDecoder(bytes: MCIWriter.encode(Self.model(swapped: true)))
        let bytes = try MCIWriter.encode(Self.model(margin: margin))
        XCTAssertEqual(bytes[10], 3, "a SEAM section makes the file 1.3")
        let seam = try MCIDecoder(bytes: bytes)
        let xs = stride(from: -0.5, through: 0.5, by: 0.0125).map { $0 } + [0, 1e-9, -1e-9]
        let points = xs.flatMap { [$0, 0.1, -0.2] }
        let time = plain.times[3], C = plain.componentCount
        let (a, b, s) = (try plain.decode(points: points, time: time), try other.decode(points: points, time: time),
                         try seam.decode(points: points, time: time, threads: 2))
        var blended = 0
        for (i, x) in xs.enumerated() {
            let d = abs(x), t = min(d / margin, 1)
            // at x = 0 exactly both are at distance 0.5: ties route to the lower index (network 0)
            let w = d < margin ? 0.5 * (1 - t * t * (3 - 2 * t)) : 0
            if w > 0 { blended += 1 }
            for c in 0 ..< C {
                let expected = (1 - w) * Double(a[i * C + c]) + w * Double(b[i * C + c])
                XCTAssertEqual(Double(s[i * C + c]), expected, accuracy: 1e-6 * max(1, abs(expected)), "x = \(x), component \(c)")
                if w == 0 { XCTAssertEqual(s[i * C + c], a[i * C + c], "outside the margin: the network alone, bit for bit") }
            }
        }
        XCTAssertGreaterThan(blended, 20)
        // continuous at the boundary: just left and just right of x = 0 agree to float rounding
        let near = try seam.decode(points: [-1e-9, 0.1, -0.2, 1e-9, 0.1, -0.2], time: time)
        for c in 0 ..< C { XCTAssertEqual(near[c], near[C + c], accuracy: 1e-5 * max(1, abs(near[c]))) }
        // without blending the two sides differ there (the test would not see a seam otherwise)
        let jump = try plain.decode(points: [-1e-9, 0.1, -0.2, 1e-9, 0.1, -0.2], time: time)
        XCTAssertTrue((0 ..< C).contains { abs(jump[$0] - jump[C + $0]) > 1e-3 * max(1, abs(jump[$0])) })
    }

    func testAMarginOutsideItsRangeIsRefused() throws {
        XCTAssertThrowsError(try MCIWriter.encode(Self.model(margin: 0)))
        XCTAssertThrowsError(try MCIWriter.encode(Self.model(margin: 3)))
        // a file whose SEAM section says so is refused by the decoder, naming the section
        var bytes = try MCIWriter.encode(Self.model(margin: 0.5))
        // the SEAM payload, found through the section table, rewritten with a margin of 5
        let count = Int(bytes[12]) | Int(bytes[13]) << 8
        for k in 0 ..< count {
            let entry = 16 + 32 * k
            guard bytes[entry] == 9 else { continue }
            let offset = (0 ..< 8).reduce(0) { $0 | Int(bytes[entry + 8 + $1]) << (8 * $1) }
            withUnsafeBytes(of: (5.0).bitPattern.littleEndian) { for j in 0 ..< 8 { bytes[offset + j] = $0[j] } }
            // the CRC covers the payload: recompute it
            var crc = MCIWriter.crc(Array(bytes[offset ..< offset + 16]))
            withUnsafeBytes(of: &crc) { for j in 0 ..< 4 { bytes[entry + 24 + j] = $0[j] } }
        }
        XCTAssertThrowsError(try MCIDecoder(bytes: bytes)) { error in
            XCTAssertTrue("\(error)".contains("SEAM"), "\(error)")
        }
    }
}
