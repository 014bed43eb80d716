import CZlib
import Foundation
import XCTest
@testable import MeshIO

/// zlib-compressed arrays are inflated one block at a time while they are converted: block
/// sizes that split an element between two blocks, big-endian files, inline base64 and
/// appended raw (mapped) data must all give the values that were written.
final class CompressedBlockTests: XCTestCase {
    let points: [Double] = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1.5]
    let scalar: [Float] = [0.25, -1, 3.5, 1e-3]

    /// The VTK header and data of one compressed array: values of `elementSize` bytes cut
    /// into blocks of `blockSize` inflated bytes; header words of 4 bytes.
    func compressed(_ bytes: [UInt8], blockSize: Int, bigEndian: Bool, claimedBlockSize: Int? = nil) -> [UInt8] {
        var blocks: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            let piece = Array(bytes[i..<min(bytes.count, i + blockSize)])
            var out = [UInt8](repeating: 0, count: Int(compressBound(uLong(piece.count))))
            var len = uLongf(out.count)
            XCTAssertEqual(compress2(&out, &len, piece, uLong(piece.count), 6), Z_OK)
            blocks.append(Array(out[0..<Int(len)]))
            i += blockSize
        }
        func word(_ v: Int) -> [UInt8] {
            let le = withUnsafeBytes(of: UInt32(v).littleEndian) { Array($0) }
            return bigEndian ? le.reversed() : le
        }
        let last = bytes.count % blockSize
        var header = word(blocks.count) + word(claimedBlockSize ?? blockSize) + word(last)
        for b in blocks { header += word(b.count) }
        return header + blocks.flatMap { $0 }
    }

    func raw<T>(_ values: [T], bigEndian: Bool) -> [UInt8] {
        let size = MemoryLayout<T>.size
        let bytes = values.withUnsafeBytes { Array($0) }
        guard bigEndian else { return bytes }
        return stride(from: 0, to: bytes.count, by: size).flatMap { bytes[$0..<($0 + size)].reversed() }
    }

    /// A one-tetrahedron file whose points (Float64) and scalar (Float32) are compressed.
    func file(blockSize: Int, bigEndian: Bool, appended: Bool, claimedBlockSize: Int? = nil,
              corrupt: Bool = false) -> [UInt8] {
        let p = compressed(raw(points, bigEndian: bigEndian), blockSize: blockSize, bigEndian: bigEndian, claimedBlockSize: claimedBlockSize)
        var s = compressed(raw(scalar, bigEndian: bigEndian), blockSize: blockSize, bigEndian: bigEndian)
        if corrupt { s[s.count - 3] ^= 0x55 }
        func data(_ bytes: [UInt8], offset: Int) -> String {
            appended ? "format=\"appended\" offset=\"\(offset)\"/>" : "format=\"binary\">\(Data(bytes).base64EncodedString())</DataArray>"
        }
        var xml = """
        <?xml version="1.0"?>
        <VTKFile type="UnstructuredGrid" version="1.0" byte_order="\(bigEndian ? "BigEndian" : "LittleEndian")" header_type="UInt32" compressor="vtkZLibDataCompressor">
        <UnstructuredGrid><Piece NumberOfPoints="4" NumberOfCells="1">
        <PointData><DataArray type="Float32" Name="s" \(data(s, offset: p.count))
        </PointData>
        <Points><DataArray type="Float64" NumberOfComponents="3" \(data(p, offset: 0))
        </Points>
        <Cells>
        <DataArray type="Int64" Name="connectivity" format="ascii">0 1 2 3</DataArray>
        <DataArray type="Int64" Name="offsets" format="ascii">4</DataArray>
        <DataArray type="UInt8" Name="types" format="ascii">10</DataArray>
        </Cells>
        </Piece></UnstructuredGrid>
        """
        var bytes = Array(xml.utf8)
        if appended {
            bytes += Array("\n<AppendedData encoding=\"raw\">\n_".utf8) + p + s + Array("\n</AppendedData>".utf8)
        }
        xml = "\n</VTKFile>\n"
        return bytes + Array(xml.utf8)
    }

    func testBlocksThatSplitElementsBothByteOrdersInlineAndMapped() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mcinr-zlib-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // 20 and 13 bytes: Float64 and Float32 values cross block boundaries; 4096: one block.
        for blockSize in [20, 13, 24, 4096] {
            for bigEndian in [false, true] {
                for appended in [false, true] {
                    let label = "block \(blockSize), \(bigEndian ? "big" : "little")-endian, \(appended ? "appended (mapped)" : "inline base64")"
                    let bytes = file(blockSize: blockSize, bigEndian: bigEndian, appended: appended)
                    let f: VTUFile
                    if appended {
                        let url = dir.appendingPathComponent("t.vtu")
                        try Data(bytes).write(to: url)
                        f = try VTUReader.read(url)
                    } else {
                        f = try VTUReader.read(bytes: bytes, name: "t.vtu")
                    }
                    XCTAssertEqual(f.mesh.points, points, label)
                    XCTAssertEqual(f.pointArrays.first?.values, scalar, label)
                }
            }
        }
    }

    func testCorruptBlockNamesTheArrayAndHugeClaimedBlockSizeIsHarmless() throws {
        for appended in [false, true] {
            let bytes = file(blockSize: 13, bigEndian: false, appended: appended, corrupt: true)
            assertMeshIOError(try VTUReader.read(bytes: bytes, name: "corrupt.vtu"), "corrupt block") {
                if case let .zlibFailure(file, array, _) = $0 { return file == "corrupt.vtu" && array == "s" }
                return false
            }
        }
        // One block whose header claims a 1 GiB block size: only the last block's size counts.
        let single = file(blockSize: 4096, bigEndian: false, appended: false, claimedBlockSize: 1 << 30)
        let f = try VTUReader.read(bytes: single, name: "claim.vtu")
        XCTAssertEqual(f.mesh.points, points)
    }
}
