import ModelDescription
import Foundation
@testable import MCIFormat
import INRCore
import CMCINRKernels
import XCTest

/// The error-bounded mode (RESIDUAL section): the bound holds at every mesh point, stored step
/// and component as the C decoder decodes the written bytes; other decodes are network only;
/// corrupt residuals are rejected.
final class ErrorBoundedTests: XCTestCase {
    static let base = TestModels.model(.coordNetB, width: 8, pe: 2, seed: 7)
    static var N: Int { base.mesh!.pointCount }
    static let C = 6
    static let T = 12

    /// Synthetic "data": smooth in point, step and component, spanning each component's range.
    static func truth(_ t: Int) -> [Float] {
        var out = [Float](repeating: 0, count: N * C)
        for i in 0..<N {
            for c in 0..<C {
                let r = base.componentRanges[c]
                let u = 0.5 + 0.45 * sin(0.7 * Double(i) + 0.3 * Double(t) + Double(c))
                out[i * C + c] = Float(r.lowerBound + (r.upperBound - r.lowerBound) * u)
            }
        }
        return out
    }

    /// Writes the model, reopens it from the bytes and checks |decoded − truth| ≤ E_c everywhere.
    func assertBoundHolds(_ model: MCIModel, file: StaticString = #filePath, line: UInt = #line) throws {
        let d = try MCIDecoder(bytes: MCIWriter.encode(model))
        XCTAssertTrue(d.hasResidual, file: file, line: line)
        // the writer's NEIGHBOURS section makes the file 1.10, its coder-2 streams 1.11
        XCTAssertEqual(d.formatVersion.minor, model.residual!.usesSignContexts ? 11 : 10, file: file, line: line)
        let bounds = try XCTUnwrap(d.residualMaxErrors)
        for (t, time) in d.times.enumerated() {
            XCTAssertTrue(d.residualApplies(time: time))
            let decoded = try d.decodeMesh(time: time, threads: 2)
            let data = Self.truth(t)
            for i in 0..<Self.N {
                for c in 0..<Self.C {
                    let err = abs(Double(decoded[i * Self.C + c]) - Double(data[i * Self.C + c]))
                    XCTAssertLessThanOrEqual(err, bounds[c], "point \(i) step \(t) component \(c)", file: file, line: line)
                }
            }
        }
    }

    func testSmallBoundHoldsEverywhereWithMostIndicesNonZero() throws {
        let (model, report) = try ErrorBoundedEncoder.make(Self.base, bound: .relative(1e-5), threads: 2, truth: Self.truth)
        try assertBoundHolds(model)
        let total = Self.N * Self.T * Self.C
        XCTAssertGreaterThan(report.nonZeroIndices + report.escapes, total * 9 / 10,
                             "a random network is far from the data: nearly every value needs a correction")
        for c in 0..<Self.C {
            XCTAssertLessThanOrEqual(report.achievedMaxError[c], report.maxErrors[c])
            XCTAssertGreaterThan(report.networkMaxError[c], report.maxErrors[c])
        }
        XCTAssertGreaterThan(report.metrics.meanPSNR, report.networkMetrics.meanPSNR + 40)
    }

    /// Smooth data and a random network: the data predicts itself far better than the
    /// network's residual does, so the writer picks data streams, and the bound still holds.
    func testTightBoundOnSmoothDataUsesDataStreams() throws {
        let (model, report) = try ErrorBoundedEncoder.make(Self.base, bound: .relative(1e-4), threads: 2, truth: Self.truth)
        try assertBoundHolds(model)
        XCTAssertGreaterThan(report.dataStreams, 0)
        XCTAssertEqual(report.predictorUse.reduce(0, +), Self.T * Self.C)
        let streams = try XCTUnwrap(model.residual).streams
        for k in Self.C..<streams.count where streams[k].predictor.contains(.time) {
            XCTAssertEqual(streams[k].predictor.contains(.data), streams[k - Self.C].predictor.contains(.data),
                           "the time bit never crosses between data and residual streams")
        }
    }

    /// The planning and coding passes give their tasks (components; residual and data
    /// rankings) to whichever thread is free: the file is the same on any number of threads.
    func testSameFileOnAnyNumberOfThreads() throws {
        let (one, _) = try ErrorBoundedEncoder.make(Self.base, bound: .relative(1e-4), threads: 1, truth: Self.truth)
        for threads in [2, 5] {
            let (more, _) = try ErrorBoundedEncoder.make(Self.base, bound: .relative(1e-4), threads: threads, truth: Self.truth)
            XCTAssertEqual(try MCIWriter.encode(more), try MCIWriter.encode(one), "\(threads) threads")
        }
    }

    /// A second residual of the same series and bound (another network, or the same one's
    /// other weight encoding) takes the data streams the first one coded (`DataCosts`), and they
    /// are the very streams it would code itself.
    func testSecondResidualTakesTheDataStreamsOfTheFirst() throws {
        let other = TestModels.model(.coordNetB, width: 8, pe: 2, seed: 8)
        let shared = ErrorBoundedEncoder.DataCosts()
        let (_, first) = try ErrorBoundedEncoder.make(Self.base, bound: .relative(1e-4), threads: 2, dataCosts: shared,
                                                      truth: Self.truth)
        XCTAssertGreaterThan(first.dataStreams, 0)
        let kept = shared.dataStreams
        XCTAssertEqual(kept.count, first.dataStreams, "every data stream of the first residual is kept")
        let (reused, _) = try ErrorBoundedEncoder.make(other, bound: .relative(1e-4), threads: 2, dataCosts: shared,
                                                       truth: Self.truth)
        let (alone, _) = try ErrorBoundedEncoder.make(other, bound: .relative(1e-4), threads: 2, truth: Self.truth)
        XCTAssertEqual(reused.residual!.streams, alone.residual!.streams)
        XCTAssertEqual(try MCIWriter.encode(reused), try MCIWriter.encode(alone))
        try assertBoundHolds(reused)
        // the second residual's data streams that the first had coded are those very streams
        let streams = reused.residual!.streams
        var taken = 0
        for (key, value) in kept where streams[key.step * Self.C + key.component] == value.stream { taken += 1 }
        XCTAssertGreaterThan(taken, 0)
    }

    func testBoundBelowFloatResolutionUsesExactValues() throws {
        // 1e-12 is far below float32 spacing at these magnitudes: only escapes can meet it.
        let (model, report) = try ErrorBoundedEncoder.make(Self.base, bound: .absolute(1e-12), truth: Self.truth)
        XCTAssertGreaterThan(report.escapes, 0)
        try assertBoundHolds(model)
        // tiny values (tracer ~1e-5) can still be met by an index; the rest are exact
        XCTAssertLessThanOrEqual(report.achievedMaxError.max()!, 1e-12)
        XCTAssertEqual(report.achievedMaxError[3], 0, "pressure (~100): only exact values meet 1e-12")
    }

    func testLargeBoundGivesATinySection() throws {
        let (model, report) = try ErrorBoundedEncoder.make(Self.base, bound: .relative(10), truth: Self.truth)
        try assertBoundHolds(model)
        XCTAssertEqual(report.nonZeroIndices, 0)
        XCTAssertEqual(report.escapes, 0)
        // header + bounds + the stream table, no stream bytes
        XCTAssertEqual(report.residualBytes, 16 + 16 * Self.C + 24 * Self.T * Self.C)
        let d = try MCIDecoder(bytes: MCIWriter.encode(model))
        XCTAssertEqual(d.residualBytes, UInt64(report.residualBytes))
        let time = d.times[3]
        XCTAssertEqual(try d.decodeMesh(time: time), try d.decodeMesh(time: time, networkOnly: true))
    }

    func testOnlyStoredStepsAtMeshPointsGetTheResidual() throws {
        let (model, _) = try ErrorBoundedEncoder.make(Self.base, bound: .relative(1e-4), truth: Self.truth)
        let d = try MCIDecoder(bytes: MCIWriter.encode(model))
        let times = d.times
        let between = 0.5 * (times[4] + times[5])
        XCTAssertFalse(d.residualApplies(time: between))
        XCTAssertFalse(d.residualApplies(time: times[4].nextUp), "equal means exactly equal")
        XCTAssertEqual(try d.decodeMesh(time: between), try d.decodeMesh(time: between, networkOnly: true))
        XCTAssertEqual(try d.decodeMesh(time: times[4].nextUp), try d.decodeMesh(time: times[4].nextUp, networkOnly: true))
        // mcinr_decode at the mesh points is the network alone, also at a stored step
        let points = try d.mesh().points
        XCTAssertEqual(try d.decode(points: points, time: times[4]), try d.decodeMesh(time: times[4], networkOnly: true))
        XCTAssertNotEqual(try d.decodeMesh(time: times[4]), try d.decodeMesh(time: times[4], networkOnly: true))
        // a subset (with a repeat) gets the same corrected values as a full decode
        let all = try d.decodeMesh(time: times[7])
        let subset = try d.decodeMesh(time: times[7], components: [5, 0, 5, 3])
        for i in 0..<Self.N {
            for (r, c) in [5, 0, 5, 3].enumerated() { XCTAssertEqual(subset[i * 4 + r], all[i * Self.C + c]) }
        }
        // the same answer with any thread count
        XCTAssertEqual(try d.decodeMesh(time: times[7], threads: 3), all)
    }

    /// A residual stream's value is the network's plus its correction, and the network's float
    /// value depends on the CPU: the AVX2 and AVX-512 kernels fuse multiply-adds, the baseline
    /// x86-64 kernels do not (a few ulps apart). The indices never read the network, and the
    /// bin width's slack (E_c / 64) absorbs the difference, so a file written on one machine
    /// holds its bound decoded on any: here decoded with every kernel level this CPU has.
    func testBoundHoldsWithEveryKernelLevel() throws {
        let network = try MCIDecoder(bytes: MCIWriter.encode(Self.base))
        let nets = try (0..<Self.T).map { try network.decodeMesh(time: Self.base.times[$0], networkOnly: true) }
        // the network plus a smooth disturbance of a few bins: residual streams win over the data's own
        func truth(_ t: Int) -> [Float] {
            nets[t].enumerated().map { k, v in
                let r = Self.base.componentRanges[k % Self.C]
                return v + Float(3e-4 * (r.upperBound - r.lowerBound) * sin(0.05 * Double(k / Self.C) + 0.2 * Double(t)))
            }
        }
        let (model, report) = try ErrorBoundedEncoder.make(Self.base, bound: .relative(1e-4), threads: 2, truth: truth)
        XCTAssertLessThan(report.dataStreams, Self.T * Self.C / 2, "most streams must correct the network")
        let bytes = try MCIWriter.encode(model)
        let detected = mcinr_kernels_limit_level(Int32.max)
        defer { _ = mcinr_kernels_limit_level(Int32.max) }
        // per level, each step's decode and network alone
        var decodes: [[(values: [Float], network: [Float])]] = []
        for level in 0...detected {
            XCTAssertEqual(mcinr_kernels_limit_level(level), level)
            let d = try MCIDecoder(bytes: bytes)
            let bounds = try XCTUnwrap(d.residualMaxErrors)
            decodes.append(try d.times.enumerated().map { t, time in
                let decoded = try d.decodeMesh(time: time, threads: 2), data = truth(t)
                for k in decoded.indices {
                    XCTAssertLessThanOrEqual(abs(Double(decoded[k]) - Double(data[k])), bounds[k % Self.C],
                                             "level \(level): point \(k / Self.C) step \(t) component \(k % Self.C)")
                }
                return (decoded, try d.decodeMesh(time: time, networkOnly: true))
            })
        }
        guard detected > 0 else { return }  // one kernel level on this CPU: nothing to compare
        let top = decodes[Int(detected)]
        XCTAssertNotEqual(decodes[0][5].network, top[5].network, "the baseline kernels must round differently")
        // the same indices at every level: values apart by no more than their networks (and a rounding)
        for (level, steps) in decodes.enumerated() {
            for (t, step) in steps.enumerated() {
                for k in step.values.indices {
                    let slack = abs(Double(step.network[k]) - Double(top[t].network[k]))
                        + 2 * Double(max(abs(step.values[k]), abs(top[t].values[k])).ulp)
                    XCTAssertLessThanOrEqual(abs(Double(step.values[k]) - Double(top[t].values[k])), slack,
                                             "level \(level): point \(k / Self.C) step \(t) component \(k % Self.C)")
                }
            }
        }
    }

    func testModelWithoutResidualStaysVersion10() throws {
        var model = Self.base
        model.meshCoding = .zlib  // MESHC would make it 1.3
        let d = try MCIDecoder(bytes: MCIWriter.encode(model))
        XCTAssertFalse(d.hasResidual)
        XCTAssertNil(d.residualMaxErrors)
        XCTAssertEqual(d.residualBytes, 0)
        XCTAssertEqual(d.formatVersion.minor, 0)
    }

    /// The bound holds as well over MESH (zlib, format 1.2: the cells in their order) as over
    /// MESHC (the default, the cells in the chunks' order).
    func testBoundHoldsWithTheZlibMesh() throws {
        var base = Self.base
        base.meshCoding = .zlib
        let (model, _) = try ErrorBoundedEncoder.make(base, bound: .relative(1e-4), threads: 2, truth: Self.truth)
        XCTAssertEqual(model.meshCoding, .zlib)
        try assertBoundHolds(model)
    }

    func testWriterRejectsResidualWithoutMesh() throws {
        var (model, _) = try ErrorBoundedEncoder.make(Self.base, bound: .relative(1e-3), truth: Self.truth)
        model.mesh = nil
        XCTAssertThrowsError(try MCIWriter.encode(model)) { XCTAssertTrue("\($0)".contains("mesh"), "\($0)") }
        var noMesh = Self.base
        noMesh.mesh = nil
        XCTAssertThrowsError(try ErrorBoundedEncoder.make(noMesh, bound: .relative(1e-3), truth: Self.truth))
        XCTAssertThrowsError(try ErrorBoundedEncoder.make(Self.base, bound: .absolute(0), truth: Self.truth))
        XCTAssertThrowsError(try ErrorBoundedEncoder.make(Self.base, bound: .absolute(1)) { _ in [1, 2, 3] })
    }

    // MARK: - Corrupt residuals

    /// The bytes of `model` with the RESIDUAL payload replaced by `patch(payload)` (CRC fixed).
    func patched(_ model: MCIModel, _ patch: (inout [UInt8]) -> Void) throws -> [UInt8] {
        var bytes = try MCIWriter.encode(model)
        let count = Int(le(bytes, 12, 4))
        for s in 0..<count {
            let e = 16 + 32 * s
            guard le(bytes, e, 4) == 7 else { continue }
            let offset = Int(le(bytes, e + 8, 8)), length = Int(le(bytes, e + 16, 8))
            var payload = Array(bytes[offset..<(offset + length)])
            patch(&payload)
            // the new payload after the others (payloads may lie anywhere after the table), then
            // offset, length and CRC
            put(&bytes, e + 8, UInt64(bytes.count), 8)
            bytes += payload
            put(&bytes, e + 16, UInt64(payload.count), 8)
            put(&bytes, e + 24, UInt64(crc32(payload)), 4)
            return bytes
        }
        XCTFail("no RESIDUAL section")
        return bytes
    }

    func le(_ b: [UInt8], _ at: Int, _ n: Int) -> UInt64 { (0..<n).reversed().reduce(0) { $0 << 8 | UInt64(b[at + $1]) } }
    func put(_ b: inout [UInt8], _ at: Int, _ v: UInt64, _ n: Int) { for k in 0..<n { b[at + k] = UInt8((v >> (8 * UInt64(k))) & 0xFF) } }
    func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in data {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    /// The open fails with a RESIDUAL format error containing `fragment`; with `atDecode` (a
    /// stream's content) only the open that validates every chain does, and the default open
    /// succeeds and the first decode of step 0 fails with the same message.
    func assertFormatError(_ bytes: [UInt8], _ fragment: String, atDecode: Bool = false, file: StaticString = #filePath,
                           line: UInt = #line) {
        var messages: [String] = []
        func check(_ error: Error) {
            guard case MCIError.format(let message) = error else {
                return XCTFail("expected a format error, got \(error)", file: file, line: line)
            }
            XCTAssertTrue(message.contains("bad.mci: section RESIDUAL:") && message.contains(fragment), message,
                          file: file, line: line)
            messages.append(message)
        }
        XCTAssertThrowsError(try MCIDecoder(bytes: bytes, name: "bad.mci", options: .init(validateResidual: true)),
                             file: file, line: line, check)
        guard atDecode else {
            return XCTAssertThrowsError(try MCIDecoder(bytes: bytes, name: "bad.mci"), file: file, line: line, check)
        }
        do {
            let lazy = try MCIDecoder(bytes: bytes, name: "bad.mci")
            XCTAssertThrowsError(try lazy.decodeMesh(time: lazy.times[0]), file: file, line: line, check)
            XCTAssertEqual(messages.count, 2, file: file, line: line)
            XCTAssertEqual(messages.first, messages.last, "the decode and the validating open differ", file: file,
                           line: line)
        } catch {
            XCTFail("the default open reads the streams: \(error)", file: file, line: line)
        }
    }

    func testCorruptResidualIsAnError() throws {
        // zstd streams: their frames are what the checks below spoil
        let (model, _) = try ErrorBoundedEncoder.make(Self.base, bound: .relative(1e-4), coder: .zstd, truth: Self.truth)
        let C = Self.C, T = Self.T
        let tableAt = 16 + 16 * C, streamsAt = tableAt + 24 * T * C
        // sanity: the untouched payload opens
        XCTAssertNoThrow(try MCIDecoder(bytes: patched(model) { _ in }))
        assertFormatError(try patched(model) { $0.removeLast() }, "remain")
        assertFormatError(try patched(model) { $0 = Array($0[0..<(tableAt + 8)]) }, "does not fit")
        assertFormatError(try patched(model) { $0 = Array($0[0..<10]) }, "truncated")
        assertFormatError(try patched(model) { self.put(&$0, 0, UInt64(Self.N + 1), 8) }, "points")
        assertFormatError(try patched(model) { self.put(&$0, 8, UInt64(T - 1), 4) }, "time steps")
        assertFormatError(try patched(model) { self.put(&$0, 16, 0, 8) }, "error bound")
        assertFormatError(try patched(model) { self.put(&$0, 24, Double.infinity.bitPattern, 8) }, "bin width")
        // a stream whose declared decompressed size is one byte off
        assertFormatError(try patched(model) { p in
            self.put(&p, tableAt + 8, self.le(p, tableAt + 8, 8) + 1, 8)
        }, "stream of step 0 component 0", atDecode: true)
        // a flipped byte in the first stream's zstd frame header
        assertFormatError(try patched(model) { $0[streamsAt] ^= 0x55 }, "stream of step 0 component 0", atDecode: true)
        // predictor bits without the bits they need, and the time predictor at step 0
        assertFormatError(try patched(model) { $0[tableAt] = 128 }, "the anchor bit (bit 7) without the time bit")
        assertFormatError(try patched(model) { $0[tableAt] = 64 }, "the quadratic bit (bit 6) without the blend bit")
        assertFormatError(try patched(model) { $0[tableAt] = 40 }, "the blend bit (bit 5) without the plane bit")
        assertFormatError(try patched(model) { $0[tableAt] = 16 }, "the plane bit (bit 4) without the linear predictor")
        assertFormatError(try patched(model) { $0[tableAt] = 1 }, "step 0")
        // the time bit across a data and a residual stream
        let streams = try XCTUnwrap(model.residual).streams
        let timed = try XCTUnwrap((C..<streams.count).first { streams[$0].predictor.contains(.time) })
        assertFormatError(try patched(model) { $0[tableAt + 24 * timed] ^= 4 }, "predicts from the previous step, whose stream")
        // an empty stream that declares raw bytes
        assertFormatError(try patched(model) { p in
            let k = tableAt + 24 * 3
            let size = Int(self.le(p, k + 16, 8))
            var offset = streamsAt
            for j in 0..<3 { offset += Int(self.le(p, tableAt + 24 * j + 16, 8)) }
            p.removeSubrange(offset..<(offset + size))
            self.put(&p, k + 16, 0, 8)
        }, "empty")
        // a bit flip without fixing the CRC is a checksum error
        var flipped = try MCIWriter.encode(model)
        flipped[flipped.count - 3] ^= 1
        XCTAssertThrowsError(try MCIDecoder(bytes: flipped)) { error in
            guard case MCIError.checksum = error else { return XCTFail("\(error)") }
        }
        // a RESIDUAL whose MESH or MESHC is hidden (section type changed to an unknown optional type)
        var noMesh = try MCIWriter.encode(model)
        for s in 0..<Int(le(noMesh, 12, 4)) where [5, 8].contains(le(noMesh, 16 + 32 * s, 4)) {
            put(&noMesh, 16 + 32 * s, 99, 4)
            put(&noMesh, 16 + 32 * s + 4, 0, 4)
        }
        XCTAssertThrowsError(try MCIDecoder(bytes: noMesh, name: "bad.mci")) { error in
            XCTAssertTrue("\(error)".contains("no MESH"), "\(error)")
        }
    }

    // MARK: - Prediction (format 1.2)

    /// Two tetrahedra sharing a face, a vertex cell, a 40-point cell (more than 32 earlier
    /// neighbours) and a 65-point cell (ignored: more than 64 points).
    func testNeighboursFollowTheFormat() {
        var connectivity: [Int64] = [0, 1, 2, 3, 3, 1, 2, 4, 5]
        connectivity += (5..<45).map(Int64.init)
        connectivity += (45..<110).map(Int64.init)
        let cellOffsets: [Int64] = [0, 4, 8, 9, 49, 114]
        let mesh = MCIMesh(points: [Double](repeating: 0, count: 3 * 110), pointPrecision: .float32,
                           cellTypes: [10, 10, 1, 42, 42], cellOffsets: cellOffsets, connectivity: connectivity)
        let nb = MeshNeighbours(mesh)
        func of(_ i: Int) -> [Int32] { Array(nb.indices[nb.offsets[i]..<nb.offsets[i + 1]]) }
        XCTAssertEqual(of(0), [])
        XCTAssertEqual(of(1), [0])
        XCTAssertEqual(of(3), [0, 1, 2])
        XCTAssertEqual(of(4), [1, 2, 3], "a shared edge counts once")
        XCTAssertEqual(of(5), [], "the vertex cell adds nothing, the 40-point cell nothing below 5")
        XCTAssertEqual(of(44), (12..<44).map(Int32.init), "the 32 largest of 39 earlier neighbours")
        XCTAssertEqual(of(100), [], "cells of more than 64 points are ignored")
    }

    func testPredictionIsTheMeanRoundedHalfAwayFromZero() {
        // point 3 has neighbours 0, 1, 2 (one tetrahedron); point 4 has 1, 2, 3
        let mesh = MCIMesh(points: [Double](repeating: 0, count: 15), pointPrecision: .float32, cellTypes: [10, 10],
                           cellOffsets: [0, 4, 8], connectivity: [0, 1, 2, 3, 1, 2, 3, 4])
        let nb = MeshNeighbours(mesh)
        func predicted(_ y: [Int64], _ i: Int) -> Int64 { y.withUnsafeBufferPointer { nb.prediction(i, $0) } }
        XCTAssertEqual(predicted([1, 2, 0, 0, 0], 3), 1, "3/3")
        XCTAssertEqual(predicted([1, 0, 0, 0, 0], 2), 1, "1/2 rounds away from zero")
        XCTAssertEqual(predicted([-1, 0, 0, 0, 0], 2), -1, "-1/2 rounds away from zero")
        XCTAssertEqual(predicted([1, 0, 0, 0, 0], 3), 0, "1/3")
        XCTAssertEqual(predicted([0, -4, -1, 0, 0], 3), -2, "-5/3")
        XCTAssertEqual(predicted([0, 0, 0, 0, 0], 0), 0, "no neighbours")
        // differences under each predictor; the escape at point 2 has index 0
        let q: [Int32] = [5, 6, 99, 8, 9], previous: [Int32] = [4, 4, 4, 4, 4]
        let escapes: [Int: Float] = [2: 1.5]
        XCTAssertEqual(ResidualPrediction.differences(q, escapes: escapes, previous: nil, predictor: [], neighbours: nb), [5, 6, 0, 8, 9])
        XCTAssertEqual(ResidualPrediction.differences(q, escapes: escapes, previous: previous, predictor: .time, neighbours: nb),
                       [1, 2, -4, 4, 5])
        // y = [5, 6, 0, 8, 9]: point 1 predicted 5, point 2 round(11/2) = 6, point 3 round(11/3) = 4, point 4 round(14/3) = 5
        XCTAssertEqual(ResidualPrediction.differences(q, escapes: escapes, previous: nil, predictor: .mesh, neighbours: nb),
                       [5, 1, -6, 4, 4])
    }

    /// Indices that repeat from step to step are coded against the previous step, except at
    /// the keyframe steps (multiples of 8), and the section is far smaller than unpredicted.
    func testStreamsPickTheirPredictor() throws {
        let mesh = try XCTUnwrap(Self.base.mesh)
        let N = mesh.pointCount, C = 2, T = 10
        var rng = SplitMix64(seed: 31)
        let pattern = (0..<C).map { _ in (0..<N).map { _ in Int32.random(in: -300...300, using: &rng) } }
        let indices = (0..<(T * C)).map { pattern[$0 % C] }
        let escapes = [[Int: Float]](repeating: [:], count: T * C)
        let nb = MeshNeighbours(mesh)
        let coded = try ErrorBoundedEncoder.encodeStreams(residual: .init(indices: indices, escapes: escapes), data: nil,
                                                   componentCount: C, neighbours: nb, threads: 2)
        for t in 0..<T {
            for c in 0..<C {
                let stream = coded[t * C + c]
                if t % 8 == 0 {
                    XCTAssertFalse(stream.predictor.contains(.time), "step \(t)")
                    XCTAssertGreaterThan(stream.bytes.count, 0)
                } else {
                    XCTAssertEqual(stream.predictor, .time, "step \(t): the same indices as the step before")
                    XCTAssertEqual(stream.rawSize, 0, "every difference is 0")
                    XCTAssertTrue(stream.bytes.isEmpty)
                }
            }
        }
    }

    /// The coding pass takes the planner's evaluations of a step instead of evaluating its
    /// candidates again (`ranked(known:)`): the same two candidates, differences, weights and bits.
    func testRankingFromKnownEvaluationsIsTheSame() throws {
        let mesh = try XCTUnwrap(Self.base.mesh)
        let N = mesh.pointCount, C = 2
        var rng = SplitMix64(seed: 5)
        func step(_ t: Int) -> [Int32] { (0..<N).map { i in Int32(40 * sin(0.3 * Double(i) + 0.5 * Double(t))) + Int32.random(in: -3...3, using: &rng) } }
        let steps = (0..<4).map { _ in (0..<C).map { _ in step(0) } }.enumerated().map { t, s in s.map { $0.map { $0 + Int32(t) } } }
        let nb = MeshNeighbours(mesh)
        let quantised = ResidualQuantiser.Quantised(indices: steps[3], escapes: [[3: 1.5], [:]])
        let chain: (isData: Bool, history: [[Int32]]) = (false, [steps[2][0], steps[1][0], steps[0][0]])
        let candidates = MCIResidual.Predictor.all
        var evaluated: [MCIResidual.Predictor: ErrorBoundedEncoder.StepStreams.Evaluation] = [:]
        let fresh = ErrorBoundedEncoder.StepStreams.ranked(candidates, component: 0, step: 3, residual: quantised, data: nil,
                                                           chain: chain, neighbours: nb, record: { evaluated[$0] = $1 })
        XCTAssertEqual(evaluated.count, candidates.count, "every candidate recorded")
        for anchors in [[:], [false: steps[0][1]]] as [[Bool: [Int32]]] {
            let again = ErrorBoundedEncoder.StepStreams.ranked(candidates, component: 0, step: 3, residual: quantised, data: nil,
                                                               chain: chain, neighbours: nb, anchors: anchors)
            let known = ErrorBoundedEncoder.StepStreams.ranked(candidates, component: 0, step: 3, residual: quantised, data: nil,
                                                               chain: chain, neighbours: nb, anchors: anchors, known: evaluated)
            XCTAssertEqual(known.count, 2)
            if anchors.isEmpty { XCTAssertEqual(again.map(\.predictor), fresh.map(\.predictor)) }
            XCTAssertEqual(known.map(\.predictor), again.map(\.predictor))
            XCTAssertEqual(known.map(\.d), again.map(\.d))
            XCTAssertEqual(known.map(\.weights), again.map(\.weights))
            XCTAssertEqual(known.map(\.bits), again.map(\.bits))
        }
        // what is known is taken as it is, not evaluated again
        var doctored = evaluated
        doctored[[]] = .init(bits: 0, weights: nil)
        let taken = ErrorBoundedEncoder.StepStreams.ranked(candidates, component: 0, step: 3, residual: quantised, data: nil,
                                                           chain: chain, neighbours: nb, known: doctored)
        XCTAssertEqual(taken[0].predictor, [])
        XCTAssertEqual(taken[0].d, quantised.indices[0].enumerated().map { $0.offset == 3 ? 0 : Int64($0.element) })
    }

    /// The blend with and without the quadratic in one pass gives each the differences of its
    /// own pass, for every chain length (with the anchor's levels too) and with escapes.
    func testBlendWithAndWithoutQuadraticInOnePassIsTheSame() throws {
        let mesh = try XCTUnwrap(Self.base.mesh)
        let N = mesh.pointCount, nb = MeshNeighbours(mesh)
        var rng = SplitMix64(seed: 9)
        // a curved field (where the quadratic beats the plane) drifting in time, with a front
        // and noise elsewhere: each prediction is the best somewhere
        let x = mesh.points
        func level(_ t: Int) -> [Int32] {
            (0..<N).map { i in
                let (a, b, c) = (x[3 * i], x[3 * i + 1], x[3 * i + 2])
                let curved = 4000 * (a * a - b * c) + 300 * Double(t) * a
                let front: Int32 = i % 97 < 20 ? 300 : 0
                return Int32(curved.rounded()) + front + (i % 5 == 0 ? Int32.random(in: -40...40, using: &rng) : 0)
            }
        }
        let levels = (0..<4).map { level($0) }
        let escapes: [Int: Float] = [5: 0.5, N / 2: -2]
        let q = levels[3].enumerated().map { escapes[$0.offset] == nil ? $0.element : 0 }
        for depth in 0...3 {
            let history = Array(levels[0..<3].reversed().prefix(depth))
            let weights = ResidualPrediction.fitLinear(q, escapes: escapes, history: history, neighbours: nb, plane: true)
            for chainSteps in Set([depth, min(depth, 1)]) {
                let both = ResidualPrediction.blendDifferencesWithAndWithoutQuadratic(
                    q, escapes: escapes, history: history, weights: weights, neighbours: nb, chainSteps: chainSteps)
                let quadratic = ResidualPrediction.blendDifferences(q, escapes: escapes, history: history, weights: weights,
                                                                    neighbours: nb, quadratic: true, chainSteps: chainSteps)
                let blend = ResidualPrediction.blendDifferences(q, escapes: escapes, history: history, weights: weights,
                                                                neighbours: nb, quadratic: false, chainSteps: chainSteps)
                XCTAssertEqual(both.quadratic, quadratic, "depth \(depth), chain \(chainSteps)")
                XCTAssertEqual(both.blend, blend, "depth \(depth), chain \(chainSteps)")
                XCTAssertNotEqual(quadratic, blend, "the quadratic's predictions take part")
            }
        }
    }

    /// Indices that follow a linear recurrence in time (here a damped oscillation per point,
    /// q_t = 1.6 q_{t−1} − 0.8 q_{t−2}, which the previous step alone predicts poorly) pick the
    /// linear predictor once two earlier steps are in the chain, with weights near the
    /// recurrence's, and code much smaller than the best other predictor; the file is 1.4.
    func testLinearPredictorExtrapolatesInTime() throws {
        let mesh = MeshCodingTests.mixedMesh(n: 10, precision: .float32)   // 1001 points: the weights' 28 bytes pay
        let N = mesh.pointCount, C = Self.C, T = Self.T
        var rng = SplitMix64(seed: 33)
        var indices = [[Int32]](repeating: [], count: T * C)
        for c in 0..<C {
            // no spatial structure: only the point's own history predicts it
            var steps: [[Double]] = [(0..<N).map { _ in Double.random(in: -3000...3000, using: &rng) }]
            steps.append(steps[0].map { 0.9 * $0 + Double.random(in: -300...300, using: &rng) })
            while steps.count < T { steps.append(zip(steps[steps.count - 1], steps[steps.count - 2]).map { 1.6 * $0 - 0.8 * $1 }) }
            for t in 0..<T { indices[t * C + c] = steps[t].map { Int32($0.rounded()) + Int32.random(in: -1...1, using: &rng) } }
        }
        let quantised = ResidualQuantiser.Quantised(indices: indices, escapes: Array(repeating: [:], count: T * C))
        let nb = MeshNeighbours(mesh)
        // the mean's linear predictor (format 1.4) against the predictors before it
        let chosen = try ErrorBoundedEncoder.encodeStreams(residual: quantised, data: nil, componentCount: C, neighbours: nb, threads: 1,
                                                           candidates: MCIResidual.Predictor.all.filter { !$0.contains(.plane) })
        let withoutLinear = try ErrorBoundedEncoder.encodeStreams(residual: quantised, data: nil, componentCount: C, neighbours: nb,
                                                                  threads: 1, candidates: MCIResidual.Predictor.all.filter { !$0.contains(.linear) })
        // two earlier steps in the chain (which restarts at 8)
        for t in 2..<8 {
            for c in 0..<C {
                let k = t * C + c
                XCTAssertEqual(chosen[k].predictor, [.linear, .time], "step \(t) component \(c)")
                let w = try XCTUnwrap(chosen[k].weights)
                if t == 2 {  // later, three steps of an exact recurrence are collinear: the weights are not unique
                    XCTAssertEqual(Double(w[0]) / 4096, 1.6, accuracy: 0.05, "step \(t): weight of t − 1")
                    XCTAssertEqual(Double(w[1]) / 4096, -0.8, accuracy: 0.05, "step \(t): weight of t − 2")
                }
                XCTAssertLessThan(chosen[k].storedBytes * 2, withoutLinear[k].storedBytes, "step \(t) component \(c)")
            }
        }
        for k in 0..<C {
            XCTAssertFalse(chosen[k].predictor.contains(.time), "no history at step 0")
            XCTAssertFalse(chosen[8 * C + k].predictor.contains(.time), "no history at the keyframe 8")
        }
        var model = TestModels.model(.coordNetB, mesh: mesh)
        model.residual = MCIResidual(maxErrors: Array(repeating: 1, count: C), binWidths: Array(repeating: 1, count: C),
                                     pointCount: N, timeCount: T, streams: chosen)
        let bytes = try MCIWriter.encode(model)
        XCTAssertEqual(bytes[10], model.residual!.usesSignContexts ? 11 : 4, "a linear predictor makes the file 1.4")
    }

    /// Indices of a field linear in space, a new gradient at every step (so no earlier step
    /// predicts it), on a jittered grid whose points see their earlier neighbours on one side:
    /// the plane through them predicts within rounding where their mean is off by the gradient,
    /// so the streams pick the plane and code far smaller than without it;
    /// the C decoder reconstructs the same indices, and the file is 1.6.
    func testPlanePredictorIsExactOnALinearField() throws {
        let mesh = MeshCodingTests.mixedMesh(n: 10, precision: .float32)
        let N = mesh.pointCount, C = Self.C, T = Self.T
        var rng = SplitMix64(seed: 35)
        var indices: [[Int32]] = []
        for _ in 0..<(T * C) {
            // a steep gradient along every axis, so the mean's offset costs in every direction
            let g = (0..<3).map { _ in Double.random(in: 1000...2000, using: &rng) * (Bool.random(using: &rng) ? 1 : -1) }
            indices.append((0..<N).map { i in
                Int32((g[0] * mesh.points[3 * i] + g[1] * mesh.points[3 * i + 1] + g[2] * mesh.points[3 * i + 2]).rounded())
            })
        }
        let quantised = ResidualQuantiser.Quantised(indices: indices, escapes: Array(repeating: [:], count: T * C))
        let nb = MeshNeighbours(mesh)
        // (the blend, exact here too, is the next test's)
        let chosen = try ErrorBoundedEncoder.encodeStreams(residual: quantised, data: nil, componentCount: C, neighbours: nb, threads: 1,
                                                           candidates: MCIResidual.Predictor.all.filter { !$0.contains(.blend) })
        let withoutPlane = try ErrorBoundedEncoder.encodeStreams(residual: quantised, data: nil, componentCount: C, neighbours: nb,
                                                                 threads: 1, candidates: MCIResidual.Predictor.all.filter { !$0.contains(.plane) })
        // (with earlier steps the mean's linear predictor learns the gradient too: three earlier
        // gradients span space, so it can subtract the mean's offset; the steps with less
        // history need the plane)
        for t in [0, 1, 2, 8, 9, 10] {
            for c in 0..<C {
                let k = t * C + c
                XCTAssertTrue(chosen[k].predictor.contains([.linear, .plane]), "stream \(k): \(chosen[k].predictor.rawValue)")
                // without history, the points without a fitted plane (the first layer and rows:
                // about a fifth) cost the most
                if t % 8 == 0 { XCTAssertLessThan(chosen[k].storedBytes * 3, withoutPlane[k].storedBytes * 2, "stream \(k)") }
            }
        }
        var model = try assertDecodesTheIndices(chosen, indices, mesh: mesh, steps: [0, 5, 11], minor: 6)
        // the plane bit without the linear predictor is not a format
        model.residual!.streams[0].predictor = .plane
        model.residual!.streams[0].weights = nil
        XCTAssertThrowsError(try MCIWriter.encode(model))
    }

    /// Where each point of one region drifts at its own rate (the previous step's trend is
    /// exact there) and another region is a new plane each step (the plane is exact there), no
    /// one set of weights fits both; the blend (format 1.7) weighs, point by point, the
    /// predictions that fit its neighbours, and codes far smaller than the best single one.
    func testBlendFollowsThePredictorThatWorksInEachRegion() throws {
        let mesh = MeshCodingTests.mixedMesh(n: 10, precision: .float32)
        let N = mesh.pointCount, C = Self.C, T = Self.T
        var rng = SplitMix64(seed: 36)
        let start = (0..<(C * N)).map { _ in Int32.random(in: -5000...5000, using: &rng) }
        let rate = (0..<(C * N)).map { _ in Int32.random(in: -300...300, using: &rng) }
        var indices: [[Int32]] = []
        for t in 0..<T {
            for c in 0..<C {
                let g = (0..<3).map { _ in Double.random(in: -2000...2000, using: &rng) }
                indices.append((0..<N).map { i in
                    let p = (mesh.points[3 * i], mesh.points[3 * i + 1], mesh.points[3 * i + 2])
                    return p.2 < 0.5 ? start[c * N + i] + Int32(t) * rate[c * N + i]
                        : Int32((g[0] * p.0 + g[1] * p.1 + g[2] * p.2).rounded())
                })
            }
        }
        let quantised = ResidualQuantiser.Quantised(indices: indices, escapes: Array(repeating: [:], count: T * C))
        let nb = MeshNeighbours(mesh)
        let chosen = try ErrorBoundedEncoder.encodeStreams(residual: quantised, data: nil, componentCount: C, neighbours: nb, threads: 1,
                                                           candidates: MCIResidual.Predictor.all.filter { !$0.contains(.quadratic) })
        let single = try ErrorBoundedEncoder.encodeStreams(residual: quantised, data: nil, componentCount: C, neighbours: nb, threads: 1,
                                                           candidates: MCIResidual.Predictor.all.filter { !$0.contains(.blend) })
        // with two steps before it (the trend is one of the predictions); a single set of seven
        // weights can fit both regions' second differences too, but only roughly where the
        // plane's rounding meets the drift's random values
        let streams = [2, 3, 4, 10, 11].flatMap { t in (0..<C).map { t * C + $0 } }
        let blended = streams.filter { chosen[$0].predictor.contains(.blend) }.count
        XCTAssertGreaterThanOrEqual(blended * 4, streams.count * 3, "\(streams.map { chosen[$0].predictor.rawValue })")
        let bytes = (blend: streams.reduce(0) { $0 + chosen[$1].storedBytes }, single: streams.reduce(0) { $0 + single[$1].storedBytes })
        XCTAssertLessThan(bytes.blend * 4, bytes.single * 3, "\(bytes)")
        var model = try assertDecodesTheIndices(chosen, indices, mesh: mesh, steps: [0, 3, 10], minor: 7)
        // the blend bit without the plane bit is not a format
        model.residual!.streams[C].predictor = [.linear, .time, .blend]
        XCTAssertThrowsError(try MCIWriter.encode(model))
    }

    /// A field curved in space (a different quadratic at every step and component, on the
    /// float32 grid): the plane through the earlier neighbours is off by the curvature, which the
    /// quadratic through the points within two neighbour steps reproduces, so the writer takes
    /// the blend with the quadratic (format 1.8) in most streams, and codes them smaller than the
    /// blend without it; the C decoder reconstructs the indices (its supports and weights are
    /// the ones the writer used).
    func testQuadraticPredictsACurvedField() throws {
        let mesh = MeshCodingTests.mixedMesh(n: 10, precision: .float32)
        let N = mesh.pointCount, C = Self.C, T = Self.T
        var rng = SplitMix64(seed: 37)
        var indices: [[Int32]] = []
        for _ in 0..<T {
            for _ in 0..<C {
                let a = (0..<9).map { _ in Double.random(in: -20000...20000, using: &rng) }
                indices.append((0..<N).map { i in
                    let x = mesh.points[3 * i], y = mesh.points[3 * i + 1], z = mesh.points[3 * i + 2]
                    let v = a[0] * x * x + a[1] * y * y + a[2] * z * z + a[3] * x * y + a[4] * x * z + a[5] * y * z
                        + a[6] * x + a[7] * y + a[8] * z
                    return Int32(v.rounded()) + Int32.random(in: -1...1, using: &rng)
                })
            }
        }
        let quantised = ResidualQuantiser.Quantised(indices: indices, escapes: Array(repeating: [:], count: T * C))
        let nb = MeshNeighbours(mesh)
        XCTAssertGreaterThan(nb.quadraticOffsets.indices.dropLast().filter { nb.quadraticOffsets[$0 + 1] > nb.quadraticOffsets[$0] }.count,
                             N / 2, "points with a quadratic support")
        let chosen = try ErrorBoundedEncoder.encodeStreams(residual: quantised, data: nil, componentCount: C, neighbours: nb, threads: 1)
        let blend = try ErrorBoundedEncoder.encodeStreams(residual: quantised, data: nil, componentCount: C, neighbours: nb, threads: 1,
                                                          candidates: MCIResidual.Predictor.all.filter { !$0.contains(.quadratic) })
        let quadratic = chosen.filter { $0.predictor.contains(.quadratic) }.count
        XCTAssertGreaterThanOrEqual(quadratic * 4, chosen.count * 3, "\(chosen.map { $0.predictor.rawValue })")
        let bytes = (quadratic: chosen.reduce(0) { $0 + $1.storedBytes }, blend: blend.reduce(0) { $0 + $1.storedBytes })
        XCTAssertLessThan(bytes.quadratic * 4, bytes.blend * 3, "\(bytes)")
        var model = try assertDecodesTheIndices(chosen, indices, mesh: mesh, steps: [0, 1, 2, 5, 11], minor: 8)
        // the quadratic bit without the blend bit is not a format
        model.residual!.streams[C].predictor = [.linear, .time, .plane, .quadratic]
        XCTAssertThrowsError(try MCIWriter.encode(model))
    }

    /// Each component moves from one random field to another across a block (q_t = A + (B − A) t / 8,
    /// then on from B): step 1 has only step 0 before it, which says nothing of B, while the next
    /// block's first step (B itself) does, so its streams read that anchor (format 1.9), which
    /// the C decoder reconstructs too.
    /// A grid of tets refined once, its coarse points numbered first (as one uniform refinement
    /// of a solver's mesh numbers them): every coarse point's edges lead to later midpoints.
    static func refinedMesh(n: Int) -> MCIMesh {
        var points: [Double] = []
        for k in 0..<n { for j in 0..<n { for i in 0..<n { points += [Double(i), Double(j), Double(k)].map { $0 / Double(n - 1) } } } }
        var midpoint: [Int: Int] = [:]  // edge key → point
        func mid(_ a: Int, _ b: Int) -> Int {
            let key = min(a, b) * n * n * n + max(a, b)  // a, b: coarse points
            if let m = midpoint[key] { return m }
            let m = points.count / 3
            points += (0..<3).map { (points[3 * a + $0] + points[3 * b + $0]) / 2 }
            midpoint[key] = m
            return m
        }
        var conn: [Int64] = []
        func idx(_ i: Int, _ j: Int, _ k: Int) -> Int { i + n * (j + n * k) }
        for k in 0..<(n - 1) { for j in 0..<(n - 1) { for i in 0..<(n - 1) {
            let c = (0..<8).map { v in idx(i + (v & 1), j + ((v >> 1) & 1), k + (v >> 2)) }
            for t in [[0, 1, 3, 7], [0, 5, 1, 7], [0, 3, 2, 7], [0, 2, 6, 7], [0, 4, 5, 7], [0, 6, 4, 7]] {
                let (a, b, cc, d) = (c[t[0]], c[t[1]], c[t[2]], c[t[3]])
                let (ab, ac, ad, bc, bd, cd) = (mid(a, b), mid(a, cc), mid(a, d), mid(b, cc), mid(b, d), mid(cc, d))
                for tet in [[a, ab, ac, ad], [b, ab, bc, bd], [cc, ac, bc, cd], [d, ad, bd, cd],
                            [ab, ac, ad, bd], [ab, ac, bc, bd], [ac, ad, bd, cd], [ac, bc, bd, cd]] {
                    conn += tet.map(Int64.init)
                }
            }
        } } }
        let cells = conn.count / 4
        return MCIMesh(points: points, pointPrecision: .float64, cellTypes: [UInt8](repeating: 10, count: cells),
                       cellOffsets: (0...cells).map { Int64(4 * $0) }, connectivity: conn)
    }

    func testNeighboursOneStepFurtherReachACoarseFirstMesh() throws {
        let n = 5, mesh = Self.refinedMesh(n: n), coarse = n * n * n
        let plain = MeshNeighbours(mesh), extended = MeshNeighbours(mesh, extendingBelow: 5)
        func of(_ nb: MeshNeighbours, _ i: Int) -> [Int32] { Array(nb.indices[nb.offsets[i]..<nb.offsets[i + 1]]) }
        // the coarse points have no earlier neighbour; one step further, their coarse neighbours
        XCTAssertTrue((0..<coarse).allSatisfy { of(plain, $0).isEmpty })
        XCTAssertTrue((1..<coarse).allSatisfy { i in !of(extended, i).isEmpty && of(extended, i).allSatisfy { $0 < i } })
        XCTAssertEqual(of(extended, 1), [0])
        // (2, 2, 2): the seven earlier of its 14 edges in the coarse grid's six tets per cube
        let p = 2 + n * (2 + n * 2)
        XCTAssertEqual(of(extended, p), [p - n * n - n - 1, p - n * n - n, p - n * n - 1, p - n * n, p - n - 1, p - n, p - 1].map(Int32.init))
        for i in coarse..<mesh.pointCount where of(plain, i).count >= 5 { XCTAssertEqual(of(extended, i), of(plain, i)) }
        // the residual of a smooth field: smaller over Nb′, the bound held either way
        let base = TestModels.model(.coordNetB, mesh: mesh), C = Self.C
        func truth(_ t: Int) -> [Float] {
            (0..<mesh.pointCount).flatMap { i in
                (0..<C).map { c -> Float in
                    let (x, y, z) = (mesh.points[3 * i], mesh.points[3 * i + 1], mesh.points[3 * i + 2])
                    let r = base.componentRanges[c]
                    let u = 0.5 + 0.4 * sin(2.1 * x + 1.3 * y * y + 0.9 * z + 0.2 * Double(t) + Double(c))
                    return Float(r.lowerBound + (r.upperBound - r.lowerBound) * u)
                }
            }
        }
        let (with, report) = try ErrorBoundedEncoder.make(base, bound: .relative(1e-3), truth: truth)
        let (without, _) = try ErrorBoundedEncoder.make(base, bound: .relative(1e-3), neighbourLeast: 0, truth: truth)
        let bytes = (with: with.residual!.payloadBytes, without: without.residual!.payloadBytes)
        XCTAssertLessThan(bytes.with * 100, bytes.without * 95, "\(bytes)")
        XCTAssertLessThanOrEqual(zip(report.achievedMaxError, report.maxErrors).filter { $0 > $1 }.count, 0)
        let file = try MCIWriter.encode(with), old = try MCIWriter.encode(without)
        func sectionTypes(_ b: [UInt8]) -> [Int] { (0..<Int(le(b, 12, 4))).map { Int(le(b, 16 + 32 * $0, 4)) } }
        XCTAssertTrue(sectionTypes(file).contains(11) && !sectionTypes(old).contains(11), "NEIGHBOURS only with K > 0")
        XCTAssertEqual(file[10], with.residual!.usesSignContexts ? 11 : 10, "format minor")
        let d = try MCIDecoder(bytes: file)
        for t in [0, 5, 11] {
            let decoded = try d.decodeMesh(time: d.times[t]), data = truth(t)
            let bounds = try XCTUnwrap(d.residualMaxErrors)
            for k in decoded.indices where abs(Double(decoded[k]) - Double(data[k])) > bounds[k % C] {
                XCTFail("step \(t) value \(k)")
                break
            }
        }
        XCTAssertThrowsError(try ErrorBoundedEncoder.make(base, bound: .relative(1e-3), neighbourLeast: 33, truth: truth))
    }

    func testAnchorPredictsAStepFromTheNextBlock() throws {
        let mesh = MeshCodingTests.mixedMesh(n: 10, precision: .float32)
        let N = mesh.pointCount, C = Self.C, T = Self.T
        var rng = SplitMix64(seed: 41)
        let fields = (0..<(3 * C)).map { _ in (0..<N).map { _ in Double.random(in: -8000...8000, using: &rng) } }
        var indices: [[Int32]] = []
        for t in 0..<T {
            for c in 0..<C {
                let (from, to, s) = t < 8 ? (fields[c], fields[C + c], Double(t) / 8) : (fields[C + c], fields[2 * C + c], Double(t - 8) / 8)
                indices.append((0..<N).map { i in Int32((from[i] + (to[i] - from[i]) * s).rounded()) + Int32.random(in: -2...2, using: &rng) })
            }
        }
        let quantised = ResidualQuantiser.Quantised(indices: indices, escapes: Array(repeating: [:], count: T * C))
        let nb = MeshNeighbours(mesh)
        let plan = [[Bool]](repeating: [Bool](repeating: false, count: C), count: 2)
        let chosen = try ErrorBoundedEncoder.encodeStreams(residual: quantised, data: nil, componentCount: C, neighbours: nb,
                                                           threads: 1, plan: plan)
        let without = try ErrorBoundedEncoder.encodeStreams(residual: quantised, data: nil, componentCount: C, neighbours: nb,
                                                            threads: 1, plan: plan, anchors: false)
        let anchored = chosen.indices.filter { chosen[$0].predictor.contains(.anchor) }
        // only block 0 has a next block; there step 1 leans on it
        XCTAssertTrue(anchored.allSatisfy { $0 / C >= 1 && $0 / C < 8 }, "\(anchored)")
        XCTAssertEqual(chosen[C..<(2 * C)].filter { $0.predictor.contains(.anchor) }.count, C,
                       "\(chosen.map { $0.predictor.rawValue })")
        XCTAssertFalse(without.contains { $0.predictor.contains(.anchor) })
        let bytes = (anchored: chosen.reduce(0) { $0 + $1.storedBytes }, without: without.reduce(0) { $0 + $1.storedBytes })
        XCTAssertLessThan(bytes.anchored * 100, bytes.without * 97, "\(bytes)")
        // decoded as a jump, in order (the chain cache keeps the anchor) and at the anchor itself
        var model = try assertDecodesTheIndices(chosen, indices, mesh: mesh, steps: [7, 3, 4, 5, 6, 8, 1], minor: 9)
        // an anchor must quantise what its streams do, and lies before the last step
        func assertAnchorRefused(_ model: MCIModel, _ step: Int) {
            XCTAssertThrowsError(try MCIWriter.encode(model)) { error in
                XCTAssertTrue("\(error)".contains("reads an anchor, step \(step)"), "\(error)")
            }
        }
        let k = anchored[0]
        model.residual!.streams[8 * C + k % C].predictor.insert(.data)
        assertAnchorRefused(model, 8)
        model.residual!.streams[8 * C + k % C].predictor.remove(.data)
        model.residual!.streams[9 * C].predictor = [.linear, .time, .anchor]
        model.residual!.streams[9 * C].weights = [Int32](repeating: 0, count: 7)
        assertAnchorRefused(model, 16)
    }

    /// Writes `streams` (of `indices`, bin widths 1e-3 … 6e-3) on a small network over `mesh`,
    /// checks the file's minor version, and that the C decoder gives the network plus index ×
    /// width at every point of `steps`; returns the model for more checks.
    private func assertDecodesTheIndices(_ streams: [MCIResidual.Stream], _ indices: [[Int32]], mesh: MCIMesh, steps: [Int],
                                         minor: UInt8, line: UInt = #line) throws -> MCIModel {
        let N = mesh.pointCount, C = Self.C, T = Self.T
        let widths = (0..<C).map { 1e-3 * Double($0 + 1) }
        let plain = TestModels.model(.coordNetB, mesh: mesh)
        var model = plain
        model.residual = MCIResidual(maxErrors: widths, binWidths: widths, pointCount: N, timeCount: T, streams: streams)
        let file = try MCIWriter.encode(model)
        XCTAssertEqual(file[10], model.residual!.usesSignContexts ? 11 : minor, "format minor (11 with coder 2)", line: line)
        let d = try MCIDecoder(bytes: file), network = try MCIDecoder(bytes: MCIWriter.encode(plain))
        for t in steps {
            let decoded = try d.decodeMesh(time: d.times[t]), net = try network.decodeMesh(time: d.times[t])
            for i in 0..<N {
                for c in 0..<C where decoded[i * C + c] != ResidualQuantiser.applied(net[i * C + c], Int64(indices[t * C + c][i]), widths[c]) {
                    XCTFail("step \(t) point \(i) component \(c)", line: line)
                    return model
                }
            }
        }
        return model
    }

    /// The plane weights (from the C decoder's function) sum to 1 and reproduce a point's own
    /// coordinates from its neighbours' where a plane is fitted — which is most points of a
    /// jittered grid — and are the mean's elsewhere.
    func testPlaneWeightsInterpolateLinearFunctions() {
        let mesh = MeshCodingTests.mixedMesh(n: 8, precision: .float64)
        let nb = MeshNeighbours(mesh)
        var fitted = 0
        for i in 0..<mesh.pointCount {
            let lo = nb.offsets[i], hi = nb.offsets[i + 1]
            guard hi > lo else { continue }
            let w = nb.planeWeights[lo..<hi].map { Double($0) / 65536 }
            XCTAssertEqual(w.reduce(0, +), 1, accuracy: Double(hi - lo) / 65536, "point \(i)")
            let mean = (65536.0 / Double(hi - lo)).rounded()
            guard nb.planeWeights[lo..<hi].contains(where: { Double($0) != mean }) else { continue }
            fitted += 1
            for a in 0..<3 {
                let at = zip(w, nb.indices[lo..<hi]).reduce(0.0) { $0 + $1.0 * mesh.points[3 * Int($1.1) + a] }
                XCTAssertEqual(at, mesh.points[3 * i + a], accuracy: 1e-3, "point \(i) axis \(a)")
            }
        }
        XCTAssertGreaterThan(fitted, mesh.pointCount / 2)
    }

    /// A block whose first step favours the network's residual (small, but new noise every
    /// step) while the data follows its own history exactly: choosing step by step locks the
    /// block into the residual; the planner sees the whole block, puts it on the data, and the
    /// block codes much smaller.
    func testPlannerKeepsABlockOnTheQuantisationThatPaysOverTheBlock() throws {
        let mesh = MeshCodingTests.mixedMesh(n: 10, precision: .float32)
        let N = mesh.pointCount, C = 2, T = 8
        var rng = SplitMix64(seed: 34)
        var residual: [[Int32]] = [], data: [[Int32]] = []
        let start = (0..<C).map { _ in (0..<N).map { _ in Int32.random(in: -3000...3000, using: &rng) } }
        for t in 0..<T {
            for c in 0..<C {
                residual.append((0..<N).map { _ in Int32.random(in: -8...8, using: &rng) })
                data.append(start[c].map { $0 + Int32(5 * t) })
            }
        }
        let none = [[Int: Float]](repeating: [:], count: T * C)
        let r = ResidualQuantiser.Quantised(indices: residual, escapes: none), d = ResidualQuantiser.Quantised(indices: data, escapes: none)
        let nb = MeshNeighbours(mesh)
        var planner = ErrorBoundedEncoder.DomainPlanner(componentCount: C, neighbours: nb, threads: 2)
        for t in 0..<T {
            let step = t * C ..< (t + 1) * C
            planner.add(residual: .init(indices: Array(residual[step]), escapes: Array(none[step])),
                        data: .init(indices: Array(data[step]), escapes: Array(none[step])))
        }
        let plan = planner.finish()
        XCTAssertEqual(plan, [[true, true]], "one block, both components on the data")
        let greedy = try ErrorBoundedEncoder.encodeStreams(residual: r, data: d, componentCount: C, neighbours: nb, threads: 2)
        let planned = try ErrorBoundedEncoder.encodeStreams(residual: r, data: d, componentCount: C, neighbours: nb, threads: 2, plan: plan)
        XCTAssertFalse(greedy[0].predictor.contains(.data), "step by step, the first step picks the residual")
        XCTAssertTrue(planned.allSatisfy { $0.predictor.contains(.data) })
        let size = { (streams: [MCIResidual.Stream]) in streams.reduce(0) { $0 + $1.storedBytes } }
        XCTAssertLessThan(2 * size(planned), size(greedy))
    }

    /// The C decoder reconstructs what the Swift writer coded, under every predictor (residual
    /// and data) and with either coder: each
    /// decoded value is exactly network + q · s (or the escaped value), at every step, with
    /// steps decoded out of order.
    func testDecoderReconstructsEveryPredictor() throws {
        let mesh = try XCTUnwrap(Self.base.mesh)
        let N = mesh.pointCount, C = Self.C, T = Self.T
        var rng = SplitMix64(seed: 32)
        // indices that drift in time and vary smoothly over the points, plus noise
        var indices: [[Int32]] = []
        for t in 0..<T {
            for c in 0..<C {
                indices.append((0..<N).map { i in
                    Int32(40 * sin(0.3 * Double(i) + Double(c)) + 3 * Double(t)) + Int32.random(in: -2...2, using: &rng)
                })
            }
        }
        var escapes = [[Int: Float]](repeating: [:], count: T * C)
        escapes[C + 1] = [0: 42.5, 7: -3.25]          // step 1: the time chain restarts at 0 there
        escapes[5 * C + 2] = [N - 1: 1e-3]
        let widths = (0..<C).map { 1e-3 * Double($0 + 1) }
        let network = try MCIDecoder(bytes: MCIWriter.encode(Self.base))
        let nb = MeshNeighbours(mesh)
        let quantised = ResidualQuantiser.Quantised(indices: indices, escapes: escapes)
        for predictor in MCIResidual.Predictor.everything {
          for coder in [MCIResidual.Coder.zstd, .range] {
            // the same indices read as the residual's or, with the data bit, as the data's
            let coded = try ErrorBoundedEncoder.encodeStreams(residual: quantised, data: quantised, componentCount: C,
                                                      neighbours: nb, threads: 2, candidates: [predictor], coder: coder)
            XCTAssertEqual(coded[C + 1].predictor, predictor, "step 1 uses the forced predictor")
            XCTAssertEqual(coded[C + 1].coder, coder)
            var model = Self.base
            model.residual = MCIResidual(maxErrors: widths, binWidths: widths, pointCount: N, timeCount: T, streams: coded)
            let d = try MCIDecoder(bytes: MCIWriter.encode(model))
            for t in [9, 3, 0, 11, 8, 1, 5] {
                let time = d.times[t]
                let decoded = try d.decodeMesh(time: time), net = try network.decodeMesh(time: time)
                for i in 0..<N {
                    for c in 0..<C {
                        let k = t * C + c
                        let q = Int64(indices[k][i])
                        let expected = escapes[k][i] ?? (predictor.contains(.data)
                            ? ResidualQuantiser.dataValue(Self.base.componentRanges[c].lowerBound, q, widths[c])
                            : ResidualQuantiser.applied(net[i * C + c], q, widths[c]))
                        XCTAssertEqual(decoded[i * C + c], expected,
                                       "predictor \(predictor.rawValue), coder \(coder), step \(t), point \(i), component \(c)")
                    }
                }
            }
          }
        }
    }
}
