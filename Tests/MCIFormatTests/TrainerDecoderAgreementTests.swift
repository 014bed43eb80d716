import XCTest
import INRCore
import MCIFormat

/// The trainer's forward (INRCore) and the C decoder evaluate the same network identically:
/// the same floats, not merely close ones.
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
            // The same kernels and the same arithmetic on both sides (README: "bit for bit").
            XCTAssertEqual(decoded, predicted, "\(config.family)")
        }
    }
}
