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
        // System libraries: OpenBLAS (CBLAS) for the trainer's matrix products (the decoder has its
        // own kernel), zlib for VTU and .mci,
        // zstd for the error-bounded residual streams (RESIDUAL type 7, format 1.2).
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        // LZ4 and LZMA (xz) for reading .vtu written with vtkLZ4DataCompressor / vtkLZMADataCompressor.
        .systemLibrary(name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
                       providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CLZMA", path: "Sources/CLZMA", pkgConfig: "liblzma",
                       providers: [.apt(["liblzma-dev"])]),
        // The data flows top to bottom; a module depends only on modules above it.
        // Leaf: the network architecture as the file stores it, the paper's metrics, component names.
        .target(name: "ModelDescription"),
        // Forward numeric kernels (sine, positional encoding; ISA dispatch), shared by the
        // decoder and the trainer so both evaluate a network with the same arithmetic.
        .target(name: "CMCINRKernels", path: "CShim/kernels", publicHeadersPath: "include"),
        // The C decoder (the one inference implementation): container, networks, mesh, residual.
        .target(name: "CMCINR", dependencies: ["CMCINRKernels", "CZlib", "CZstd"], path: "CShim",
                exclude: ["kernels", "tests", "fuzz", "README.md"],
                sources: ["src"], publicHeadersPath: "include",
                cSettings: [.define("_GNU_SOURCE")],
                linkerSettings: [.linkedLibrary("z"), .linkedLibrary("zstd"), .linkedLibrary("pthread"),
                                 .linkedLibrary("m")]),
        // Trainer-only kernels: sine backward, Adam, gathers, loss.
        .target(name: "CTrainingKernels", dependencies: ["CMCINRKernels"],
                linkerSettings: [.linkedLibrary("m")]),
        // Dataset model and VTU/PVD reading and writing.
        .target(name: "MeshIO", dependencies: ["ModelDescription", "CZlib", "CLZ4", "CLZMA"]),
        // Neural core: layers, networks, Adam, normalisation. Knows nothing of files.
        .target(name: "INRCore", dependencies: ["ModelDescription", "COpenBLAS", "CMCINRKernels", "CTrainingKernels"],
                exclude: ["README.md"]),
        // The .mci container: writer, weight and residual codecs, and the Swift bridge to the C decoder.
        .target(name: "MCIFormat", dependencies: ["ModelDescription", "CMCINR", "CZlib", "CZstd"]),
        // The MPI calls of distributed training, bound at run time (dlopen of Open MPI's libmpi
        // only under mpirun / srun): no build-time MPI dependency (docs/architecture.md).
        .target(name: "CMPIShim", linkerSettings: [.linkedLibrary("dl")]),
        // MC-INR: clustering, meta-learning, training, re-clustering, and the encode sequence
        // (dataset → model file) that every front end calls.
        .target(name: "MCINR", dependencies: ["ModelDescription", "MeshIO", "INRCore", "MCIFormat"]),
        .executableTarget(name: "mcinr-vtk", dependencies: [
            "ModelDescription", "MCINR", "MeshIO", "MCIFormat", "INRCore", "COpenBLAS", "CMPIShim",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "mcinr-bench", dependencies: ["ModelDescription", "INRCore", "MCINR", "MeshIO", "MCIFormat",
                                                             "CMCINR", "CMCINRKernels", "CTrainingKernels", "COpenBLAS"]),
        .testTarget(name: "MeshIOTests", dependencies: ["MeshIO", "INRCore", "CZlib", "CLZ4", "CLZMA"], resources: [.copy("Fixtures")]),
        .testTarget(name: "INRCoreTests", dependencies: ["ModelDescription", "INRCore", "CMCINRKernels", "CTrainingKernels"]),
        .testTarget(name: "MCIFormatTests", dependencies: ["ModelDescription", "MCIFormat", "CMCINR", "CMCINRKernels", "INRCore"]),
        .testTarget(name: "MCINRTests", dependencies: ["ModelDescription", "MCINR", "MeshIO", "INRCore", "MCIFormat"]),
        .testTarget(name: "CLITests", dependencies: ["MeshIO", "MCIFormat", "MCINR"]),
    ]
)
