// swift-tools-version:6.1
// Benchmarks for callwatch, kept out of the main package (as swift-nio does) so `make test` and CI never build
// package-benchmark. Run from this folder: `swift package --allow-writing-to-package-directory benchmark`.
import PackageDescription

let package = Package(
    name: "callwatch-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "callwatch", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // glibc's count of heap bytes in use (`mallinfo2`), for the memory benchmarks.
        .target(name: "HeapInUse"),
        // Corpus, rule generator and harness shared by the engine benchmarks and the profiling driver.
        .target(
            name: "EngineFixtures",
            dependencies: ["HeapInUse", .product(name: "CallWatch", package: "callwatch")]
        ),
        // `engine-profile`: the same workloads as a plain executable, for valgrind/perf (see BENCHMARKS.md).
        .executableTarget(
            name: "engine-profile",
            dependencies: ["EngineFixtures", .product(name: "CallWatch", package: "callwatch")]
        ),
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                "EngineFixtures",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CallWatch", package: "callwatch"),
            ],
            path: "Benchmarks/Engine",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        ),
        // Alert fixtures, the raw-socket HTTP sink and the burst driver shared by the dispatcher benchmarks and
        // `dispatcher-profile`.
        .target(
            name: "DispatcherFixtures",
            dependencies: [
                .product(name: "CallWatch", package: "callwatch"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "dispatcher-profile",
            dependencies: ["DispatcherFixtures", .product(name: "CallWatch", package: "callwatch")]
        ),
        .executableTarget(
            name: "DispatcherBenchmarks",
            dependencies: [
                "DispatcherFixtures",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CallWatch", package: "callwatch"),
            ],
            path: "Benchmarks/Dispatcher",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        ),
    ]
)
