import Foundation
import MeshIO
import XCTest

/// Runs the built `mcinr-vtk` executable.
struct CLIRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    static var executable: URL {
        // The test bundle lives in the products folder, next to the executables.
        var dir = Bundle(for: BundleMarker.self).bundleURL
        if dir.pathExtension == "xctest" { dir.deleteLastPathComponent() }
        return dir.appendingPathComponent("mcinr-vtk")
    }

    @discardableResult
    static func run(_ arguments: [String], interruptAfter seconds: Double? = nil) throws -> CLIRun {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        if let seconds {
            Thread.sleep(forTimeInterval: seconds)
            process.interrupt()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIRun(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    static func json(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(object as? [String: Any], "not a JSON object: \(text.prefix(200))")
    }

    /// Every top-level JSON object of a text that prints several one after the other (braces
    /// counted outside strings).
    static func jsonObjects(_ text: String) throws -> [[String: Any]] {
        var objects: [[String: Any]] = [], depth = 0, inString = false, escaped = false
        var start: String.Index?
        for i in text.indices {
            let ch = text[i]
            if inString {
                if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { inString = false }
                continue
            }
            switch ch {
            case "\"": inString = true
            case "{":
                if depth == 0 { start = i }
                depth += 1
            case "}":
                depth -= 1
                if depth == 0, let s = start { objects.append(try json(String(text[s...i]))) }
            default: break
            }
        }
        return objects
    }
}

private final class BundleMarker {}

/// A small analytic dataset on a tetrahedral box mesh: a 3-vector and a scalar over 4 steps.
enum SmallDataset {
    /// `nanAt`: (step, point) where temperature is NaN, to test non-finite input handling.
    static func make(in folder: URL, n: Int = 9, steps: Int = 4, name: String = "small",
                     nanAt: (step: Int, point: Int)? = nil) throws -> (pvd: URL, dataset: Dataset) {
        var points: [Double] = []
        for k in 0..<n { for j in 0..<n { for i in 0..<n {
            points += [Double(i) / Double(n - 1), Double(j) / Double(n - 1), 0.5 * Double(k) / Double(n - 1)]
        } } }
        func id(_ i: Int, _ j: Int, _ k: Int) -> Int { (k * n + j) * n + i }
        var tets: [Int] = []
        for k in 0..<(n - 1) { for j in 0..<(n - 1) { for i in 0..<(n - 1) {
            let c = [id(i, j, k), id(i + 1, j, k), id(i + 1, j + 1, k), id(i, j + 1, k),
                     id(i, j, k + 1), id(i + 1, j, k + 1), id(i + 1, j + 1, k + 1), id(i, j + 1, k + 1)]
            // Kuhn subdivision of the cube into 6 tetrahedra along the 0–6 diagonal.
            for t in [[0, 1, 2, 6], [0, 2, 3, 6], [0, 3, 7, 6], [0, 7, 4, 6], [0, 4, 5, 6], [0, 5, 1, 6]] {
                tets += t.map { c[$0] }
            }
        } } }
        let mesh = Mesh.tetrahedra(points: points, tets: tets)
        let times = (0..<steps).map { 1.0 + 0.5 * Double($0) }
        var velocity: [[Float]] = [], temperature: [[Float]] = []
        for t in times {
            var v: [Float] = [], s: [Float] = []
            for p in 0..<(points.count / 3) {
                let x = points[3 * p], y = points[3 * p + 1], z = points[3 * p + 2]
                v += [Float(sin(2 * x + t)), Float(cos(3 * y) * 0.5), Float(z * t)]
                s.append(Float(300 + 20 * exp(-8 * ((x - 0.2 * t) * (x - 0.2 * t) + (y - 0.5) * (y - 0.5)))))
            }
            velocity.append(v); temperature.append(s)
        }
        if let bad = nanAt { temperature[bad.step][bad.point] = .nan }
        let dataset = try Dataset(mesh: mesh, times: times, variables: [
            Variable(name: "velocity", components: 3, values: velocity),
            Variable(name: "temperature", components: 1, values: temperature),
        ])
        let pvd = folder.appendingPathComponent("\(name).pvd")
        try dataset.write(pvd: pvd)
        return (pvd, dataset)
    }
}

func temporaryFolder(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mcinr-cli-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
