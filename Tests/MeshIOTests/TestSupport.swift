import Foundation
import XCTest
@testable import MeshIO

/// Shared helpers: fixture locations, scratch folders, the closed formulas of make_fixtures.py.
enum Fixtures {
    static var folder: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    }

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    /// Every single-step encoding variant that holds the reference grid and arrays.
    static var variantNames: [String] {
        var names = ["ascii.vtu"]
        for h in ["h32", "h64"] {
            for z in ["raw", "zlib", "lz4", "lzma"] {
                names += ["binary_\(z)_\(h).vtu", "appended_raw_\(z)_\(h).vtu", "appended_base64_\(z)_\(h).vtu"]
            }
        }
        return names
    }

    static let nx = 4, ny = 3, nz = 3

    /// The points of the fixture grid, as ParaView stored them (Float32).
    static func points() -> [Double] {
        var p: [Double] = []
        for k in 0..<nz {
            for j in 0..<ny {
                for i in 0..<nx {
                    p += [0.3 * Double(i) + 0.01 * Double(j * j), 0.45 * Double(j) + 0.02 * Double(k),
                          0.7 * Double(k) + 0.001 * Double(i)].map { Double(Float($0)) }
                }
            }
        }
        return p
    }

    static let cellCount = (nx - 1) * (ny - 1) * (nz - 1) * 6 + 1

    /// The expected point arrays for time step `step`, as Float (Double for `dist`).
    static func expected(step: Int = 0) -> (scalar: [Double], velocity: [Double], ids: [Double], dist: [Double], quality: [Double]) {
        let p = points()
        let t = 0.25 * Double(step)
        var scalar: [Double] = [], velocity: [Double] = [], ids: [Double] = [], dist: [Double] = []
        for i in 0..<(p.count / 3) {
            let x = p[3 * i], y = p[3 * i + 1], z = p[3 * i + 2]
            scalar.append(sin(3 * x + t) * cos(2 * y) + z)
            velocity += [x * y - t, -z + 0.125 * Double(i), exp(-x) + t]
            ids.append(Double(i * 7 - 40 + step))
            dist.append((x * x + y * y + z * z).squareRoot() + 1e-9 * Double(i) + t)
        }
        let quality = (0..<cellCount).map { 0.5 * Double($0) - 3.25 + Double(step) }
        return (scalar, velocity, ids, dist, quality)
    }

    static var vesselPVD: URL { URL(fileURLWithPath: "/work/shared/datasets/vessel-small/vessel.pvd") }
}

/// A fresh temporary folder, removed at the end of the test.
func makeScratchFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("meshio-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

func assertClose(_ a: [Float], _ b: [Double], tolerance: Double = 1e-6, _ message: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(message): count", file: file, line: line)
    guard a.count == b.count else { return }
    var worst = 0.0, at = 0
    for i in 0..<a.count {
        let e = abs(Double(a[i]) - b[i]) / max(1, abs(b[i]))
        if e > worst { worst = e; at = i }
    }
    XCTAssertLessThanOrEqual(worst, tolerance, "\(message): worst relative error at index \(at): \(a[at]) vs \(b[at])", file: file, line: line)
}

/// Asserts that `body` throws a MeshIOError for which `matches` is true.
func assertMeshIOError<T>(_ body: @autoclosure () throws -> T, _ message: String,
                          file: StaticString = #filePath, line: UInt = #line,
                          _ matches: (MeshIOError) -> Bool) {
    do {
        _ = try body()
        XCTFail("\(message): no error thrown", file: file, line: line)
    } catch let e as MeshIOError {
        XCTAssertTrue(matches(e), "\(message): unexpected error \(e)", file: file, line: line)
    } catch {
        XCTFail("\(message): not a MeshIOError: \(error)", file: file, line: line)
    }
}

/// `/usr/bin/python3` when it can import ParaView's vtk, else nil.
let pythonWithVTK: String? = {
    let python = "/usr/bin/python3"
    guard FileManager.default.isExecutableFile(atPath: python) else { return nil }
    let (status, _) = runProcess(python, ["-c", "import vtk"])
    return status == 0 ? python : nil
}()

func runProcess(_ executable: String, _ arguments: [String]) -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "PYTHONPATH")
    env.removeValue(forKey: "VIRTUAL_ENV")
    p.environment = env
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    do { try p.run() } catch { return (-1, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
