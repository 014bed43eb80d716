import XCTest
import INRCore
import MCIFormat

/// The trainer's forward (INRCore) and the C decoder evaluate the same network with the same
/// kernels: the same floats up to the last bits of the products. The decoder cuts each product
/// into row blocks below OpenBLAS's threading threshold (decode.c, SGEMM_SERIAL_MNK) where the
/// trainer makes one call; on CPUs whose OpenBLAS kernels give the same bits either way
/// (AVX-512) the values are equal, on others (AVX2) some differ in the last bits.
final class TrainerDecoderAgreementTests: XCTestCase {
    func testDecoderMatchesNetworkPredict() throws {
        for config in [ArchitectureConfig.coordNetB(outputs: 3, width: 16, trunkDepth: 2, branchDepth: 2),
                       .siren(outputs: 3, width: 24), .coordNet(outputs: 3, width: 16, depth: 2, peFrequencies: 4)] {
            let net = try Network(config, seed: 5)
            net.inOffset = [0.1, -0.2, 0.3, 0]
            net.inScale = [1.5, 2, 1, 1.25]
            let norm = try Normalizer(bboxMin: [-1, 0, 2], bboxMax: [3, 5, 4], timeMin: 0, timeMax: 10,
                                      componentMin: [-2, 0, 5], componentMax: [2, 1, 9])
            let model = MCIModel(variables: [MCIVariable(name: "v", components: 2), MCIVariable(name: "p", components: 1)],
                                 componentRanges: [-2...2, 0...1, 5...9], times: [0, 5, 10],
                                 boundsMin: norm.bboxMin, boundsMax: norm.bboxMax, timeInterval: 0...10,
                                 numPoints: 10, numCells: 1, rawFieldBytes: 360,
                                 treeNodes: [MCITreeNode(centroid: [0, 0, 0], network: 0)], topLevelCount: 1,
                                 networks: [net.export()], metadataJSON: "{}")
            let decoder = try MCIDecoder(bytes: try MCIWriter.encode(model))
            var rng = SeededRandom(seed: 3)
            var points: [Double] = []
            for _ in 0..<500 {
                points += [Double(rng.uniform(-1, 3)), Double(rng.uniform(0, 5)), Double(rng.uniform(2, 4))]
            }
            let decoded = try decoder.decode(points: points, time: 3.7)
            let predicted = norm.denormalize(values: net.predict(norm.inputs(points: points, time: 3.7)))
            // Same kernels and arithmetic on both sides: within a few float32 ulps of the ranges
            // (a different formula, e.g. a missing bias or ω₀, would be off by far more).
            let ranges = model.componentRanges, C = ranges.count
            XCTAssertEqual(decoded.count, predicted.count)
            var worst = 0.0
            for (i, (d, p)) in zip(decoded, predicted).enumerated() {
                let range = ranges[i % C]
                worst = max(worst, Double(abs(d - p)) / (range.upperBound - range.lowerBound))
            }
            XCTAssertLessThanOrEqual(worst, 2e-6, "\(config.family): largest difference / range")
        }
    }
}
