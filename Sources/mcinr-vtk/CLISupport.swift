import ArgumentParser
import Foundation
import ModelDescription
import INRCore
import MCIFormat
import MeshIO

/// A one-line error for the user; ArgumentParser prints it on stderr and exits non-zero.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

/// A series (a .pvd, a .vtu/.pvtu, or .vtu/.pvtu steps) opened for reading one step at a time.
func openSeries(_ paths: [String], cells: SeriesStream.CellReading = .mesh) throws -> SeriesStream {
    let urls = try seriesURLs(paths)
    return urls.count == 1 ? try SeriesStream(urls[0], cells: cells) : try SeriesStream(files: urls, cells: cells)
}

/// The input files of a series, checked: they exist, one .pvd, or .vtu / .pvtu steps.
private func seriesURLs(_ paths: [String]) throws -> [URL] {
    guard !paths.isEmpty else { throw CLIError("no input given") }
    let urls = paths.map { URL(fileURLWithPath: $0) }
    for url in urls {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CLIError("\(url.path): no such file")
        }
        let ext = url.pathExtension.lowercased()
        guard ext == "pvd" || ext == "vtu" || ext == "pvtu" else {
            throw CLIError("\(url.path): expected a .pvd, .vtu or .pvtu file, got '.\(ext)'")
        }
    }
    guard urls.count == 1 || urls.allSatisfy({ ["vtu", "pvtu"].contains($0.pathExtension.lowercased()) }) else {
        throw CLIError("several inputs must all be .vtu or .pvtu files (one per time step); give a .pvd alone")
    }
    return urls
}

/// Opens a model the user gave: with the C decoder's limits for untrusted files unless
/// `--trust-large-files`; with `validateResidual` (`info`, the command that checks a file) every
/// residual chain is validated now, on `threads` threads, else each residual stream when a decode
/// first reads it (`export` and `eval` decode what they need once). An open that takes more than a
/// second shows its progress on stderr (`StepProgress`); Ctrl-C during it stops the decoder at
/// its next checkpoint and ends the command ("interrupted while opening", exit status 130,
/// nothing written); a second Ctrl-C ends the process at once.
func openModel(_ path: String, limits: DecoderLimits = DecoderLimits(), threads: Int = 1,
               validateResidual: Bool = false) throws -> MCIDecoder {
    let url = URL(fileURLWithPath: path)
    guard FileManager.default.fileExists(atPath: url.path) else { throw CLIError("\(path): no such file") }
    guard url.pathExtension.lowercased() == "mci" else {
        throw CLIError("\(path): expected an .mci model file")
    }
    let progress = StepProgress(), phase = "opening \(url.lastPathComponent)"
    let options = MCIDecoder.OpenOptions(trustLargeFiles: limits.trustLargeFiles, validateResidual: validateResidual,
                                         threads: threads) { fraction in
        progress.update(phase, fraction: fraction, after: 1)
        return OpenInterrupt.requested == 0
    }
    func interrupted() -> Never {
        progress.interrupt()
        note("mcinr-vtk: interrupted while opening \(path); nothing was written")
        Foundation.exit(130)
    }
    let decoder: MCIDecoder
    do {
        decoder = try OpenInterrupt.during { try MCIDecoder(url: url, options: options) }
    } catch MCIError.aborted where OpenInterrupt.requested != 0 {
        interrupted()
    }
    if OpenInterrupt.requested != 0 { interrupted() } // after the last checkpoint
    return decoder
}

/// Ctrl-C while a model opens: the SIGINT handler of `during` only sets `requested`, which the
/// open's progress callback turns into a stop (the C decoder frees what it allocated and
/// returns MCINR_ERR_ABORTED); a second Ctrl-C before that ends the process (exit 130). The
/// handler that was installed before (none, or export's) is back afterwards.
enum OpenInterrupt {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0

    static func during<T>(_ body: () throws -> T) rethrows -> T {
        requested = 0
        let previous = signal(SIGINT) { _ in
            if OpenInterrupt.requested != 0 {
                let message = "\nmcinr-vtk: interrupted; nothing was written\n"
                _ = message.withCString { write(STDERR_FILENO, $0, strlen($0)) }
                _exit(130)
            }
            OpenInterrupt.requested = 1
        }
        defer { signal(SIGINT, previous) }
        return try body()
    }
}

func defaultThreads() -> Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

/// Stderr writes for progress and notes, so that stdout stays clean for tables and JSON.
func note(_ text: String) {
    FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
}

func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// A plain text table with right-aligned numeric columns.
func table(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in
            i == 0 ? c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[i] - c.count) + c
        }.joined(separator: "  ")
    }
    return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        + rows.map(line)).joined(separator: "\n")
}

/// The per-component metrics table (PSNR, NRMSE, R², max |err|) with a mean row.
func metricsTable(_ report: MetricsReport, names: [String]) -> String {
    var rows = report.componentSummaries(names: names).map {
        [$0.name, fmt($0.psnr), sci($0.nrmse), fmt($0.r2, 5), sci($0.maxAbsError)]
    }
    rows.append(["mean", fmt(report.meanPSNR), sci(report.meanNRMSE), fmt(report.meanR2, 5), sci(report.maxAbsError)])
    return table(["component", "PSNR dB", "NRMSE", "R2", "max |err|"], rows)
}

func formatBytes(_ n: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n), u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
}

func fmt(_ x: Double, _ digits: Int = 2) -> String {
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    return String(format: "%.\(digits)f", x)
}

func sci(_ x: Double) -> String { String(format: "%.3e", x) }

/// `--variables`, shared by train, eval and export.
struct VariableSelection: ParsableArguments {
    @Option(help: "Comma-separated variables (default: all).") var variables: String?
    /// The names given, or nil for all.
    var names: [String]? { variables.map(parseList) }
}

/// `--trust-large-files` of the commands that open a model (info, eval, export): the C
/// decoder's opt-in for trusted files beyond the limits for untrusted ones.
struct DecoderLimits: ParsableArguments {
    @Flag(name: .customLong("trust-large-files"),
          help: ArgumentHelp("Open a model that needs more memory or work than the limits for untrusted files of its size allow.",
                             discussion: "By default a model may take at most 64 × its file size + 16 MiB of memory and 4096 × its size + 2^24 units of work to open, and its cluster tree at most 4096 top-level nodes and depth 64 (docs/mci-format.md, Limits), so a small hostile file cannot exhaust the machine. Use this only for files from a trusted source; the format checks stay."))
    var trustLargeFiles = false
}

/// `--threads` of the commands that decode (eval, export), with the decoder's limits.
struct DecoderThreads: ParsableArguments {
    @OptionGroup var limits: DecoderLimits
    @Option(help: "Decoder threads (default: all cores).") var threads: Int?
    var count: Int { threads ?? defaultThreads() }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }
}
