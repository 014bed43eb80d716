import ModelDescription
import XCTest
import Foundation
import INRCore
import MCIFormat
import MeshIO
@testable import MCINR

final class ModelTests: XCTestCase {
    private func trainedResult(evaluation: MCINRConfig.Evaluation, threads: Int = 1,
                               data: TrainingData = Fixtures.analyticField()) throws -> PipelineResult {
        var config = Fixtures.fastConfig()
        config.splitThreshold = 0
        config.maxSplits = 2
        config.evaluation = evaluation
        config.threads = threads
        return try MCINRPipeline(config: config).run(data)
    }

    func testDecoderRoutesEveryPointToTheNetworkItWasTrainedIn() throws {
        let data = Fixtures.analyticField()
        let result = try trainedResult(evaluation: .none, data: data)
        XCTAssertEqual(result.splits.count, 2)
        let decoder = try MCIDecoder(bytes: try MCIWriter.encode(try result.makeModel()))
        XCTAssertEqual(decoder.networkCount, result.networks.count)
        XCTAssertEqual(decoder.treeNodes, result.treeNodes)
        let networkIndex = result.tree.networkIndexOfNode
        var trainedIn = [Int](repeating: -1, count: data.pointCount)
        for leaf in result.tree.leaves {
            for point in result.trainingPartition[leaf]! { trainedIn[point] = networkIndex[leaf] }
        }
        let mismatched = (0 ..< data.pointCount).filter {
            decoder.route(Array(data.points[3 * $0 ..< 3 * $0 + 3])) != trainedIn[$0]
        }
        XCTAssertEqual(mismatched.count, 0, "points routed elsewhere by the decoder: \(mismatched.prefix(10))")
    }

    /// The decoder's metrics and the training loop's own residual (`normalizedMSE`, from the
    /// trained networks' forward pass) describe the same model: the MSE agrees once converted
    /// to normalised units (value − min) · 2 / range.
    func testDecoderMetricsAgreeWithTheTrainingForwardPass() throws {
        let result = try trainedResult(evaluation: .decoder)
        XCTAssertEqual(result.metricsSource, "decoder")
        let metrics = try XCTUnwrap(result.metrics)
        let ranges = result.normalization.componentRanges
        let normalized = zip(metrics.perComponent, ranges).map { steps, range in
            steps.reduce(0) { $0 + $1.mse } / Double(steps.count) / (range * range / 4)
        }.reduce(0, +) / Double(ranges.count)
        XCTAssertGreaterThan(result.normalizedMSE, 0)
        XCTAssertEqual(normalized, result.normalizedMSE, accuracy: result.normalizedMSE * 1e-3)
        XCTAssertLessThan(metrics.meanPSNR, Metrics.psnrCap)
    }

    func testModelCarriesNormalisationAndMetadata() throws {
        let data = Fixtures.analyticField()
        let result = try trainedResult(evaluation: .decoder, data: data)
        let mesh = Mesh.tetrahedra(points: data.points, tets: [0, 1, 2, 3, 1, 2, 3, 4])
        let model = try result.makeModel(mesh: MCIMesh(mesh))
        XCTAssertEqual(model.componentNames, data.componentNames)
        XCTAssertEqual(model.networks.count, model.treeNodes.filter(\.isLeaf).count)
        XCTAssertEqual(model.rawFieldBytes, UInt64(data.pointCount * data.timeCount * 3 * 4))
        let decoder = try MCIDecoder(bytes: try MCIWriter.encode(model))
        XCTAssertEqual(decoder.times, data.times)
        XCTAssertEqual(decoder.meshCellCount, 2)
        XCTAssertEqual(decoder.componentRanges[1].lowerBound, result.normalization.componentMin[1])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(decoder.metadataJSON.utf8)) as? [String: Any])
        for key in ["creator", "method", "architecture", "training", "metrics", "config", "clustering", "model"] {
            XCTAssertNotNil(json[key], "JSON lacks \(key)")
        }
        XCTAssertEqual(json["method"] as? String, "mcinr")
        let metrics = try XCTUnwrap(json["metrics"] as? [String: Any])
        XCTAssertEqual(metrics["source"] as? String, "decoder")
        XCTAssertEqual(try XCTUnwrap(metrics["meanPSNR"] as? Double), result.metrics!.meanPSNR, accuracy: 1e-9)
        let clustering = try XCTUnwrap(json["clustering"] as? [String: Any])
        XCTAssertEqual((clustering["splits"] as? [Any])?.count, 2)
    }

    func testSameSeedGivesTheSameFileBytes() throws {
        let first = try MCIWriter.encode(try trainedResult(evaluation: .decoder, threads: 2).makeModel())
        let second = try MCIWriter.encode(try trainedResult(evaluation: .decoder, threads: 2).makeModel())
        XCTAssertTrue(first == second, "two runs with the same seed wrote different bytes")
        // With one thread only the recorded thread count differs.
        var single = try trainedResult(evaluation: .decoder, threads: 1)
        single.config.threads = 2
        let third = try MCIWriter.encode(try single.makeModel())
        XCTAssertTrue(first == third, "the thread count changed the model")
    }

    func testTrainingDataFromAMeshIODataset() throws {
        let points: [Double] = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]
        let mesh = Mesh.tetrahedra(points: points, tets: [0, 1, 2, 3])
        let velocity = Variable(name: "velocity", components: 3,
                                values: [(0 ..< 12).map { Float($0) }, (0 ..< 12).map { Float(100 + $0) }])
        let pressure = Variable(name: "p", components: 1, values: [[1, 2, 3, 4], [5, 6, 7, 8]])
        let dataset = try Dataset(mesh: mesh, times: [0, 1], variables: [pressure, velocity])
        let data = TrainingData(dataset: dataset)
        XCTAssertNoThrow(try data.validate())
        XCTAssertEqual(data.componentNames, ["p", "velocity_x", "velocity_y", "velocity_z"])
        XCTAssertEqual(data.componentNames, dataset.componentNames)
        // Step 1, point 2: p = 7, velocity = 106, 107, 108.
        XCTAssertEqual(Array(data.values[(1 * 4 + 2) * 4 ..< (1 * 4 + 3) * 4]), [7, 106, 107, 108])
        XCTAssertEqual(data.cellCount, 1)
    }

    /// One product version: the CLI, the files' creator and the C decoder library agree.
    func testProductAndDecoderLibraryVersionsAgree() throws {
        XCTAssertEqual(MCIDecoder.libraryVersion, MCINRVersion.string)
        let json = try XCTUnwrap(try trainedResult(evaluation: .none).metadataJSON())
        XCTAssertTrue(json.contains("\"creator\":\"mcinr-vtk \(MCINRVersion.string)\""), json)
    }
}
