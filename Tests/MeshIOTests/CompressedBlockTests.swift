import CLZ4
import CLZMA
import CZlib
import Foundation
import XCTest
@testable import MeshIO

/// Compressed arrays (zlib, LZ4, LZMA) are decompressed one block at a time while they are
/// converted: block sizes that split an element between two blocks, big-endian files, inline
/// base64 and appended raw (mapped) data must all give the values that were written. Blocks
/// are compressed here as VTK's compressors do (compress2, LZ4_compress_default,
/// lzma_easy_buffer_encode with CRC-32).
final class CompressedBlockTests: XCTestCase {
    let points: [Double] = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1.5]
    let scalar: [Float] = [0.25, -1, 3.5, 1e-3]

    static let codecs: [BlockCodec] = [.zlib, .lz4, .lzma]

    /// One block compressed as VTK's compressor for `codec` does.
    static func compressBlock(_ piece: [UInt8], _ codec: BlockCodec) -> [UInt8] {
        switch codec {
        case .zlib:
            var out = [UInt8](repeating: 0, count: Int(compressBound(uLong(piece.count))))
            var len = uLongf(out.count)
            XCTAssertEqual(compress2(&out, &len, piece, uLong(piece.count), 6), Z_OK)
            return Array(out[0..<Int(len)])
        case .lz4:
            var out = [CChar](repeating: 0, count: Int(LZ4_compressBound(Int32(piece.count))))
            let n = piece.withUnsafeBufferPointer { p in
                p.withMemoryRebound(to: CChar.self) { LZ4_compress_default($0.baseAddress, &out, Int32(piece.count), Int32(out.count)) }
            }
            XCTAssertGreaterThan(n, 0)
            return out[0..<Int(n)].map { UInt8(bitPattern: $0) }
        case .lzma:
            var out = [UInt8](repeating: 0, count: piece.count + piece.count / 4 + 128)   // VTK's bound
            var pos = 0
            XCTAssertEqual(lzma_easy_buffer_encode(5, LZMA_CHECK_CRC32, nil, piece, piece.count, &out, &pos, out.count), LZMA_OK)
            return Array(out[0..<pos])
        }
    }

    /// The VTK header and data of one compressed array: `bytes` cut into blocks of `blockSize`
    /// uncompressed bytes (or of the lengths `pieces`, against the header); header words of 4
    /// bytes. Also where the last block starts.
    func compressed(_ bytes: [UInt8], codec: BlockCodec, blockSize: Int, bigEndian: Bool,
                    claimedBlockSize: Int? = nil, pieces: [Int]? = nil) -> (bytes: [UInt8], lastBlock: Int) {
        var blocks: [[UInt8]] = []
        var i = 0, k = 0
        while i < bytes.count {
            let n = pieces?[k] ?? blockSize
            blocks.append(Self.compressBlock(Array(bytes[i..<min(bytes.count, i + n)]), codec))
            i += n; k += 1
        }
        func word(_ v: Int) -> [UInt8] {
            let le = withUnsafeBytes(of: UInt32(v).littleEndian) { Array($0) }
            return bigEndian ? le.reversed() : le
        }
        let last = bytes.count % blockSize
        var header = word(blocks.count) + word(claimedBlockSize ?? blockSize) + word(last)
        for b in blocks { header += word(b.count) }
        let all = header + blocks.flatMap { $0 }
        return (all, all.count - blocks.last!.count)
    }

    func raw<T>(_ values: [T], bigEndian: Bool) -> [UInt8] {
        let size = MemoryLayout<T>.size
        let bytes = values.withUnsafeBytes { Array($0) }
        guard bigEndian else { return bytes }
        return stride(from: 0, to: bytes.count, by: size).flatMap { bytes[$0..<($0 + size)].reversed() }
    }

    /// A one-tetrahedron file whose points (Float64) and scalar (Float32) are compressed;
    /// `corrupt` may change the scalar's bytes, given where its last block starts.
    func file(codec: BlockCodec = .zlib, blockSize: Int, bigEndian: Bool, appended: Bool, claimedBlockSize: Int? = nil,
              pointPieces: [Int]? = nil, corrupt: ((inout [UInt8], Int) -> Void)? = nil) -> [UInt8] {
        let p = compressed(raw(points, bigEndian: bigEndian), codec: codec, blockSize: blockSize, bigEndian: bigEndian,
                           claimedBlockSize: claimedBlockSize, pieces: pointPieces).bytes
        var (s, lastBlock) = compressed(raw(scalar, bigEndian: bigEndian), codec: codec, blockSize: blockSize, bigEndian: bigEndian)
        corrupt?(&s, lastBlock)
        func data(_ bytes: [UInt8], offset: Int) -> String {
            appended ? "format=\"appended\" offset=\"\(offset)\"/>" : "format=\"binary\">\(Data(bytes).base64EncodedString())</DataArray>"
        }
        var xml = """
        <?xml version="1.0"?>
        <VTKFile type="UnstructuredGrid" version="1.0" byte_order="\(bigEndian ? "BigEndian" : "LittleEndian")" header_type="UInt32" compressor="\(codec.rawValue)">
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
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mcinr-blocks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for codec in Self.codecs {
            // 20 and 13 bytes: Float64 and Float32 values cross block boundaries; 4096: one block.
            for blockSize in [20, 13, 24, 4096] {
                for bigEndian in [false, true] {
                    for appended in [false, true] {
                        let label = "\(codec), block \(blockSize), \(bigEndian ? "big" : "little")-endian, \(appended ? "appended (mapped)" : "inline base64")"
                        let bytes = file(codec: codec, blockSize: blockSize, bigEndian: bigEndian, appended: appended)
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
    }

    func testCorruptBlockNamesFileArrayAndCompressor() throws {
        for codec in Self.codecs {
            // The last block's first bytes set to 0xFF: a broken zlib header, a broken .xz magic,
            // an LZ4 literal run (15 + 255 + …) longer than the 13-byte block.
            var corruptions: [(String, (inout [UInt8], Int) -> Void)] = [
                ("first bytes", { s, last in s[last] = 0xFF; s[last + 1] = 0xFF; s[last + 2] = 0xFF }),
            ]
            if codec != .lz4 {
                // Near the end: zlib's Adler-32 and the .xz CRC-32 / index catch it (raw LZ4 blocks carry no checksum).
                corruptions.append(("near the end", { s, _ in s[s.count - 3] ^= 0x55 }))
            }
            for (what, corrupt) in corruptions {
                for appended in [false, true] {
                    let bytes = file(codec: codec, blockSize: 13, bigEndian: false, appended: appended, corrupt: corrupt)
                    assertMeshIOError(try VTUReader.read(bytes: bytes, name: "corrupt.vtu"), "\(codec) \(what), appended \(appended)") {
                        if case let .decompressionFailure(file, array, compressor, detail) = $0 {
                            return file == "corrupt.vtu" && array == "s" && compressor == codec.rawValue && detail.contains("block 1 of 2")
                        }
                        return false
                    }
                }
            }
        }
    }

    func testHeaderClaimsBeyondTheCodecAreRefusedAndAHugeLoneBlockSizeIsHarmless() throws {
        for codec in Self.codecs {
            // One block whose header claims a 1 GiB block size: only the last block's size counts.
            let single = file(codec: codec, blockSize: 4096, bigEndian: false, appended: false, claimedBlockSize: 1 << 30)
            let f = try VTUReader.read(bytes: single, name: "claim.vtu")
            XCTAssertEqual(f.mesh.points, points, "\(codec)")
            // Two blocks and a claimed block size of 1 GiB: block 0 cannot hold that much.
            // (The points array is compressed with the claim; it is read first.)
            let two = file(codec: codec, blockSize: 20, bigEndian: false, appended: true, claimedBlockSize: 1 << 30)
            assertMeshIOError(try VTUReader.read(bytes: two, name: "claim.vtu"), "\(codec): 1 GiB block") {
                if case let .decompressionFailure(file, array, compressor, detail) = $0 {
                    return file == "claim.vtu" && array == "Points" && compressor == codec.rawValue && detail.contains("header claims")
                }
                return false
            }
            // A consistent header (4 blocks of 24 bytes) over blocks that hold 20 or 28 bytes:
            // within the codec's ratio, so only each block's decoded size can catch it.
            for (pieces, bad) in [([24, 24, 20, 28], 2), ([28, 20, 24, 24], 0)] {
                let uneven = file(codec: codec, blockSize: 24, bigEndian: false, appended: true, pointPieces: pieces)
                assertMeshIOError(try VTUReader.read(bytes: uneven, name: "uneven.vtu"), "\(codec): blocks \(pieces)") {
                    if case let .decompressionFailure(file, array, compressor, detail) = $0 {
                        return file == "uneven.vtu" && array == "Points" && compressor == codec.rawValue
                            && detail.hasPrefix("block \(bad) of 4")
                    }
                    return false
                }
            }
        }
    }
}
