// swift-tools-version:6.0
//
// readmit: 30-day readmission risk at discharge, served over ZeroMQ.
//
// Module layout (one job each; data flows one way):
//   CDeflate, CZeroMQ, CXGBoost  thin system-library targets over C libraries
//   CMalloc                   glibc's malloc_trim and mallopt (large request buffers stay in the arenas; the
//                             daemon hands memory back after a burst)
//   ReadmitParallel           indexed work on GCD's threads, each result in its own slot (concurrentMap),
//                             and Locked, the one mutex-guarded value
//   CTreeWalk                 AVX2 and AVX-512 walks of the compiled trees (chosen at run time; the Swift walk
//                             is the reference and the fallback; READMIT_TREE_WALK forces one)
//   ReadmitSpec               the dataset spec: its types and its YAML reader (pure)
//   ReadmitTables             tables read through a spec; the cohort, its label and split (pure)
//   ReadmitFeatures           raw features and the one encoder training and serving share (pure)
//   ReadmitModels             detectors, booster, compiled scorers, references, metrics (pure)
//   ReadmitModelFile          the versioned model file and the served model it loads (pure)
//   ReadmitTraining           one type per training stage (pure)
//   ReadmitCore               the pure modules above under one import
//   ReadmitReport             SVG charts and the self-contained HTML report
//   ReadmitWire               the wire protocol codec (pure, no sockets)
//   ReadmitKeys               CURVE key pairs and key files (libzmq's key functions only)
//   ReadmitServer             the daemon's machinery (sockets, workers, reload, auth, stats, INFO)
//   ReadmitHTTP               readmitd's optional HTTP listener: /metrics, /healthz, /readyz (poll(2), bounded)
//   readmit, readmitd         executables: argument parsing and process wiring only
//   FuzzSpec, FuzzModelFile,  libFuzzer targets (fuzz/targets/, fuzz/README.md): in a normal build,
//   FuzzRecords
//                             replayers of their corpus; built with -D READMIT_LIBFUZZER and
//                             -sanitize=fuzzer they are the fuzzers (fuzz/build.sh)
import PackageDescription

/// Whether the release readmitd links the Swift runtime and Foundation in (target readmitd,
/// below). scripts/tests/55-tsan.sh sets READMIT_SHARED_SWIFT_RUNTIME for its ThreadSanitizer
/// build: TSan's interceptors of libdispatch cannot take the calls of a static libdispatch.
let linkSwiftRuntimeStatically = Context.environment["READMIT_SHARED_SWIFT_RUNTIME"] == nil
let releaseOnLinux = BuildSettingCondition.when(platforms: [.linux], configuration: .release)

let package = Package(
    name: "readmit",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "readmit", targets: ["readmit"]),
        .executable(name: "readmitd", targets: ["readmitd"]),
        .library(name: "ReadmitCore", targets: ["ReadmitCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        // YAML for dataset specs: libyaml underneath, and nodes that keep their line and column.
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CXGBoost", providers: [.apt(["libxgboost-dev"])]),
        .systemLibrary(name: "CMalloc"),
        .target(name: "CTreeWalk"),
        .target(name: "ReadmitFiles"),
        .target(name: "ReadmitParallel"),
        .target(name: "ReadmitTextIndex"),
        .target(name: "ReadmitSpec", dependencies: ["ReadmitFiles", .product(name: "Yams", package: "Yams")]),
        .target(name: "ReadmitTables", dependencies: ["ReadmitSpec", "ReadmitTextIndex", "CDeflate", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "ReadmitFeatures", dependencies: ["ReadmitSpec", "ReadmitTables", "ReadmitTextIndex", "ReadmitParallel"]),
        .target(name: "ReadmitModels", dependencies: ["ReadmitSpec", "ReadmitTables", "ReadmitFeatures", "ReadmitParallel", "CXGBoost", "CTreeWalk"]),
        .target(
            name: "ReadmitModelFile",
            dependencies: ["ReadmitFiles", "ReadmitSpec", "ReadmitTables", "ReadmitFeatures", "ReadmitModels", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "ReadmitTraining", dependencies: ["ReadmitSpec", "ReadmitTables", "ReadmitFeatures", "ReadmitModels", "ReadmitModelFile", "ReadmitParallel"]),
        .target(
            name: "ReadmitCore",
            dependencies: ["ReadmitSpec", "ReadmitTables", "ReadmitFeatures", "ReadmitModels", "ReadmitModelFile", "ReadmitTraining"]
        ),
        .target(name: "ReadmitReport", dependencies: ["ReadmitFiles", "ReadmitParallel"]),
        .target(name: "ReadmitWire", dependencies: ["ReadmitTextIndex"]),
        // The INFO description of a model: rendered by the daemon and by `readmit inspect` alike.
        .target(name: "ReadmitModelInfo", dependencies: ["ReadmitCore", "ReadmitSpec", "ReadmitWire"]),
        .target(name: "ReadmitKeys", dependencies: ["CZeroMQ", "ReadmitFiles"]),
        .target(
            name: "ReadmitServer",
            dependencies: [
                "ReadmitSpec", "ReadmitCore", "ReadmitWire", "ReadmitModelInfo", "ReadmitKeys", "ReadmitParallel", "CZeroMQ", "CMalloc",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "readmit",
            dependencies: [
                "ReadmitFiles", "ReadmitSpec", "ReadmitCore", "ReadmitReport", "ReadmitKeys", "ReadmitModelInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ReadmitHTTP",
            dependencies: [
                "ReadmitServer", "ReadmitParallel",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "readmitd",
            dependencies: [
                "ReadmitServer", "ReadmitHTTP", "ReadmitCore", "ReadmitFiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The release daemon links the Swift runtime and Foundation in (swiftc's
            // -static-stdlib at the link alone, so the rest of the build and `readmit` are
            // unchanged): a host that serves models needs no Swift toolchain, and a one-row
            // SCORE's round trip is 1-2% shorter without the calls across shared libraries
            // (benchmarks/daemon/README.md). SwiftPM's --static-swift-stdlib would do it for
            // every product and recompile everything when a build without it came between.
            linkerSettings: !linkSwiftRuntimeStatically ? [] : [
                .unsafeFlags(["-static-stdlib"], releaseOnLinux),
                // Libraries the static Foundation needs that objects compiled against the
                // shared Foundation do not name (those name only the shared libraries).
                .linkedLibrary("CoreFoundation", releaseOnLinux),
                .linkedLibrary("_FoundationCShims", releaseOnLinux),
                .linkedLibrary("_FoundationCollections", releaseOnLinux),
                .linkedLibrary("_FoundationICU", releaseOnLinux),
                .linkedLibrary("swiftSynchronization", releaseOnLinux),
            ]
        ),
        .target(name: "CLibFuzzer", path: "fuzz/targets/CLibFuzzer"),
        .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "fuzz/targets/FuzzSupport"),
        .executableTarget(name: "FuzzSpec", dependencies: ["FuzzSupport", "ReadmitSpec", "ReadmitModelFile"], path: "fuzz/targets/FuzzSpec"),
        .executableTarget(
            name: "FuzzModelFile",
            dependencies: ["FuzzSupport", "ReadmitFeatures", "ReadmitModels", "ReadmitModelFile", "ReadmitTables", .product(name: "Crypto", package: "swift-crypto")],
            path: "fuzz/targets/FuzzModelFile"
        ),
        .executableTarget(
            name: "FuzzRecords",
            dependencies: ["FuzzSupport", "ReadmitFeatures", "ReadmitModels", "ReadmitModelFile", "ReadmitTables"],
            path: "fuzz/targets/FuzzRecords"
        ),
        .testTarget(name: "ReadmitSpecTests", dependencies: ["ReadmitSpec"]),
        .testTarget(
            name: "ReadmitCoreTests",
            dependencies: ["ReadmitCore", "ReadmitFiles", "ReadmitSpec", "ReadmitTables", "ReadmitFeatures", "ReadmitModels", "ReadmitModelFile", "ReadmitTraining"]
        ),
        .testTarget(name: "ReadmitCLITests", dependencies: ["ReadmitCore", "ReadmitSpec"]),
        .testTarget(name: "ReadmitReportTests", dependencies: ["ReadmitReport"]),
        .testTarget(name: "ReadmitWireTests", dependencies: ["ReadmitWire"]),
        .testTarget(name: "ReadmitTextIndexTests", dependencies: ["ReadmitTextIndex"]),
        .testTarget(name: "ReadmitParallelTests", dependencies: ["ReadmitParallel"]),
        .testTarget(name: "ReadmitHTTPTests", dependencies: ["ReadmitHTTP"]),
        .testTarget(name: "ReadmitServerTests", dependencies: ["ReadmitServer", "ReadmitParallel", "ReadmitWire", "ReadmitCore", "ReadmitSpec", "ReadmitKeys", "CZeroMQ"]),
    ]
)
