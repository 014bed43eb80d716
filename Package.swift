// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "mcinr-vtk",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mcinr-vtk", targets: ["mcinr-vtk"]),
        .library(name: "MCINR", targets: ["MCINR"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries: OpenBLAS (CBLAS) for every matrix product, zlib for VTU and .mci,
        // zstd for the error-bounded residual streams (RESIDUAL type 7, format 1.2).
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        // The C decoder (the one inference implementation) and the shared numeric kernels.
        .target(name: "CMCINR", dependencies: ["COpenBLAS", "CZlib"], path: "CShim",
                exclude: ["tests", "fuzz", "README.md"],
                sources: ["src"], publicHeadersPath: "include",
                cSettings: [.define("_GNU_SOURCE")],
                linkerSettings: [.linkedLibrary("openblas"), .linkedLibrary("z"), .linkedLibrary("zstd"),
                                 .linkedLibrary("pthread"), .linkedLibrary("m")]),
        // Dataset model and VTU/PVD reading and writing.
        .target(name: "MeshIO", dependencies: ["CZlib"]),
        // Neural core: layers, networks, Adam, training loop, normalisation, metrics.
        .target(name: "INRCore", dependencies: ["COpenBLAS", "CMCINR"], exclude: ["README.md"]),
        // The .mci container: model description, writer, and the Swift bridge to the C decoder.
        .target(name: "MCIFormat", dependencies: ["CMCINR", "CZlib", "CZstd", "INRCore"]),
        // MC-INR: clustering, meta-learning, per-cluster training, re-clustering, pipeline.
        .target(name: "MCINR", dependencies: ["MeshIO", "INRCore", "MCIFormat"]),
        .executableTarget(name: "mcinr-vtk", dependencies: [
            "MCINR", "MeshIO", "MCIFormat", "INRCore", "COpenBLAS",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "mcinr-bench", dependencies: ["INRCore", "MCINR", "MeshIO", "MCIFormat", "COpenBLAS"]),
        .testTarget(name: "MeshIOTests", dependencies: ["MeshIO"], resources: [.copy("Fixtures")]),
        .testTarget(name: "INRCoreTests", dependencies: ["INRCore"]),
        .testTarget(name: "MCIFormatTests", dependencies: ["MCIFormat", "CMCINR", "INRCore"]),
        .testTarget(name: "MCINRTests", dependencies: ["MCINR", "MeshIO", "INRCore", "MCIFormat"]),
        .testTarget(name: "CLITests", dependencies: ["MeshIO", "MCIFormat"]),
    ]
)
