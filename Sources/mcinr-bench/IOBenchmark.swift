// `mcinr-bench io`: read speed of MeshIO on VTU/PVD files, one JSON line per measurement on
// stdout. benchmarks/io/run runs it next to ParaView's vtkXMLUnstructuredGridReader on the same
// files and writes docs/benchmarks/io.md.
import Foundation
import MeshIO

/// Default input, relative to the repository root (the shared folder sits next to the worktrees).
let defaultIOInput = "../shared/datasets/vessel-small/vessel.pvd"

func ioUsage() -> String {
    """
    usage: mcinr-bench io [--repeat N] [--min-time S] [PATH.pvd|PATH.vtu ...]
      Reads each input best-of-N times and prints one JSON line per reader:
        meshio-series   DatasetReader.read (as shipped: files decoded concurrently,
                        connectivity decoded for the first step only)            [.pvd only]
        meshio-files    VTUReader.read on every file in turn, one thread, full decode
      Default input: \(defaultIOInput)
    """
}

private func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// CPU time of the whole process (all threads): the concurrent reader's work counts in full.
private func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Best (per call) wall and CPU seconds over `repeats` rounds; each round calls `body` until
/// `minTime` wall seconds have passed. Best-of because other users' load only slows a round.
private func bestOf(repeats: Int, minTime: Double, _ body: () throws -> Int) rethrows -> (wall: Double, cpu: Double, sink: Int) {
    var sink = try body()  // warm-up: page cache, lazy allocations
    var bestWall = Double.infinity, bestCPU = Double.infinity
    for _ in 0..<repeats {
        var calls = 0
        let w0 = monotonicSeconds(), c0 = processCPUSeconds()
        repeat {
            sink &+= try body()
            calls += 1
        } while monotonicSeconds() - w0 < minTime
        bestWall = min(bestWall, (monotonicSeconds() - w0) / Double(calls))
        bestCPU = min(bestCPU, (processCPUSeconds() - c0) / Double(calls))
    }
    return (bestWall, bestCPU, sink)
}

/// A value that depends on every decoded array, so that no decode can be optimised away.
private func touch(_ f: VTUFile) -> Int {
    var n = f.mesh.points.count &+ f.mesh.connectivity.count &+ f.mesh.offsets.count &+ f.mesh.cellTypes.count
    for a in f.pointArrays + f.cellArrays { n &+= a.values.count &+ Int(a.values.last?.bitPattern ?? 0) }
    return n
}

private func jsonLine(_ fields: [(String, Any)]) -> String {
    let body = fields.map { key, value -> String in
        switch value {
        case let s as String:
            let escaped = s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(key)\": \"\(escaped)\""
        case let d as Double: return "\"\(key)\": \(String(format: "%.9g", d))"
        default: return "\"\(key)\": \(value)"
        }
    }
    return "{" + body.joined(separator: ", ") + "}"
}

func runIOBenchmark(_ args: [String]) -> Int32 {
    var repeats = 5, minTime = 0.3
    var inputs: [String] = []
    var it = args.makeIterator()
    while let a = it.next() {
        switch a {
        case "--repeat":
            guard let n = it.next().flatMap(Int.init), n > 0 else { print(ioUsage()); return 2 }
            repeats = n
        case "--min-time":
            guard let s = it.next().flatMap(Double.init), s >= 0 else { print(ioUsage()); return 2 }
            minTime = s
        case "-h", "--help": print(ioUsage()); return 0
        default:
            if a.hasPrefix("-") {
                FileHandle.standardError.write("mcinr-bench io: unknown option \(a)\n\(ioUsage())\n".data(using: .utf8)!)
                return 2
            }
            inputs.append(a)
        }
    }
    if inputs.isEmpty { inputs = [defaultIOInput] }
    do {
        for input in inputs {
            let url = URL(fileURLWithPath: input)
            let files: [URL] = url.pathExtension.lowercased() == "pvd"
                ? try DatasetReader.pvdEntries(url).map(\.file) : [url]
            let bytes = try files.reduce(0) { total, f in
                total + ((try FileManager.default.attributesOfItem(atPath: f.path)[.size] as? NSNumber)?.intValue ?? 0)
            }
            func report(_ reader: String, _ t: (wall: Double, cpu: Double, sink: Int)) {
                print(jsonLine([("tool", "meshio"), ("reader", reader), ("input", input), ("files", files.count),
                                ("file_bytes", bytes), ("wall_s", t.wall), ("cpu_s", t.cpu), ("repeats", repeats),
                                ("check", t.sink & 0xffff)]))
                fflush(stdout)
            }
            if files.count > 1 || url.pathExtension.lowercased() == "pvd" {
                report("meshio-series", try bestOf(repeats: repeats, minTime: minTime) {
                    let d = try DatasetReader.read(url)
                    return d.variables.reduce(d.mesh.connectivity.count) { $0 &+ $1.values.count &+ ($1.values.last?.count ?? 0) }
                })
            }
            report("meshio-files", try bestOf(repeats: repeats, minTime: minTime) {
                try files.reduce(0) { $0 &+ touch(try VTUReader.read($1)) }
            })
        }
    } catch {
        FileHandle.standardError.write("mcinr-bench io: \(error)\n".data(using: .utf8)!)
        return 1
    }
    return 0
}
