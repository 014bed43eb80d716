import Foundation
import MCIFormat
import MeshIO

/// Resamples the continuous model on a regular grid over the model's bounding box (something
/// no mesh-based format can do): one `.vti` per time plus a `.pvd`. Grid points outside the
/// mesh get NaN and `vtkValidPointMask` = 0 (VTK's probe-filter convention), since the network
/// there only extrapolates.
struct ImageExport {
    let decoder: MCIDecoder
    let dims: (Int, Int, Int)
    let origin: [Double]
    let spacing: [Double]
    let threads: Int
    let variables: [Int]

    init(decoder: MCIDecoder, dimensions: String, threads: Int, variables: [Int]) throws {
        self.decoder = decoder
        self.threads = threads
        self.variables = variables
        let (lo, hi) = decoder.bounds
        let extent = zip(lo, hi).map { $1 - $0 }
        let parts = dimensions.split(whereSeparator: { $0 == "," || $0 == "x" }).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        let maxPoints = 1024
        if parts.count == 3, let x = parts[0], let y = parts[1], let z = parts[2] {
            dims = (x, y, z)
        } else if parts.count == 1, let n = parts[0] {
            let longest = max(extent.max() ?? 0, 1e-300)
            let scaled = extent.map { max(1, Int((Double(n - 1) * $0 / longest).rounded()) + 1) }
            dims = (scaled[0], scaled[1], scaled[2])
        } else {
            throw CLIError("--image-data: '\(dimensions)' is not N or NX,NY,NZ")
        }
        guard [dims.0, dims.1, dims.2].allSatisfy({ $0 >= 1 && $0 <= maxPoints }) else {
            throw CLIError("--image-data: each axis needs 1 … \(maxPoints) points (got \(dims.0)×\(dims.1)×\(dims.2))")
        }
        origin = lo
        spacing = zip(extent, [dims.0, dims.1, dims.2]).map { e, n in n > 1 ? e / Double(n - 1) : max(e, 1) }
    }

    func write(times: [Double], to folder: URL, stem: String) throws {
        let (nx, ny, nz) = dims
        var grid = [Double](repeating: 0, count: nx * ny * nz * 3)
        for k in 0..<nz { for j in 0..<ny { for i in 0..<nx {
            let p = ((k * ny + j) * nx + i) * 3
            grid[p] = origin[0] + Double(i) * spacing[0]
            grid[p + 1] = origin[1] + Double(j) * spacing[1]
            grid[p + 2] = origin[2] + Double(k) * spacing[2]
        } } }
        let inside = try insideMask(grid)
        if !decoder.hasMesh { note("note: the model has no embedded mesh; every grid point is decoded (no inside/outside mask)") }
        let components = variables.flatMap { v in (0..<decoder.variables[v].components).map { decoder.firstComponent(ofVariable: v) + $0 } }
        let writer = VTUWriter()
        var entries: [(time: Double, file: String)] = []
        let transaction = try SeriesTransaction(folder: folder)
        defer { transaction.abort() }  // no-op after the commit
        let digits = max(4, String(max(0, times.count - 1)).count)
        for (s, t) in times.enumerated() {
            let block = try decoder.decode(points: grid, time: t, components: components, threads: threads)
            var arrays: [NamedArray] = []
            var column = 0
            for v in variables {
                let k = decoder.variables[v].components
                var values = extractColumns(block, stride: components.count, first: column, count: k)
                for p in inside.indices where !inside[p] { for c in 0..<k { values[p * k + c] = .nan } }
                arrays.append(NamedArray(name: decoder.variables[v].name, components: k, values: values))
                column += k
            }
            arrays.append(NamedArray(name: "vtkValidPointMask", components: 1, values: inside.map { $0 ? 1 : 0 }))
            let index = String(s)
            let file = "\(stem)_\(String(repeating: "0", count: max(0, digits - index.count)))\(index).vti"
            let data = try writer.encodeImage(dimensions: dims, origin: origin, spacing: spacing, pointArrays: arrays,
                                              fieldData: [(name: "TimeValue", values: [t])], name: file)
            try transaction.stage(data, as: file)
            entries.append((t, file))
        }
        let pvd = folder.appendingPathComponent(stem + ".pvd")
        try transaction.stage(PVDWriter.encode(entries: entries), as: pvd.lastPathComponent)
        try transaction.commit()
        note("wrote \(pvd.path) (\(nx)×\(ny)×\(nz) grid, \(inside.filter { $0 }.count) points inside the mesh)")
    }

    private func insideMask(_ grid: [Double]) throws -> [Bool] {
        guard decoder.hasMesh else { return [Bool](repeating: true, count: grid.count / 3) }
        let locator = TetrahedronLocator(mesh: Mesh(try decoder.mesh()))
        let n = grid.count / 3
        var mask = [Bool](repeating: false, count: n)
        mask.withUnsafeMutableBufferPointer { out in
            let base = out.baseAddress!
            DispatchQueue.concurrentPerform(iterations: max(1, threads)) { chunk in
                let per = (n + threads - 1) / max(1, threads)
                for p in (chunk * per)..<min(n, (chunk + 1) * per) {
                    base[p] = locator.contains(SIMD3(grid[3 * p], grid[3 * p + 1], grid[3 * p + 2]))
                }
            }
        }
        return mask
    }
}
