// swift-tools-version: 6.2
import PackageDescription

/// Settings every PayFleet target shares: Swift 6 language mode (the tools default),
/// complete concurrency checking, and the upcoming features the conventions ask for.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "PayFleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "notify-receiver", targets: ["NotifyReceiver"]),
        .executable(name: "payment-worker", targets: ["PaymentWorker"]),
        .executable(name: "fulfilment-worker", targets: ["FulfilmentWorker"]),
        .executable(name: "retry-worker", targets: ["RetryWorker"]),
        .executable(name: "events-worker", targets: ["EventsWorker"]),
        .executable(name: "refund-worker", targets: ["RefundWorker"]),
        .executable(name: "inventory-worker", targets: ["InventoryWorker"]),
        .executable(name: "payfleet", targets: ["PayFleetCLI"]),
        .executable(name: "channel-sandbox", targets: ["ChannelSandbox"]),
        .executable(name: "payfleet-fuzz", targets: ["PayFleetFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: ["YAML"]),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // rabbitmq-c, wrapped; only the AMQP module imports it.
        .systemLibrary(
            name: "CRabbitMQ",
            pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"])]
        ),
        .target(
            name: "AMQP",
            dependencies: [
                "CRabbitMQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // zlib, wrapped; only PaymentChannels' ZipArchive imports it (bill zips and gzip).
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // Versioned wire messages shared by every process and documented for other languages.
        .target(name: "PayFleetMessages"),
        // Every channel's protocol; knows no AMQP and no SQL.
        .target(
            name: "PaymentChannels",
            dependencies: [
                "PayFleetMessages", "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // PostgreSQL: migrations and the units of work of each role.
        .target(
            name: "PayFleetStore",
            dependencies: [
                "PayFleetMessages",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Migrations")]
        ),
        // What every process shares: configuration, logging, metrics, health, consumers, the roles' builders.
        .target(
            name: "PayFleetRuntime",
            dependencies: [
                "AMQP",
                "PayFleetMessages",
                "PayFleetStore",
                "PaymentChannels",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        .executableTarget(name: "NotifyReceiver", dependencies: ["PayFleetRuntime"]),
        .executableTarget(name: "PaymentWorker", dependencies: ["PayFleetRuntime"]),
        .executableTarget(name: "FulfilmentWorker", dependencies: ["PayFleetRuntime"]),
        .executableTarget(name: "RetryWorker", dependencies: ["PayFleetRuntime"]),
        .executableTarget(name: "EventsWorker", dependencies: ["PayFleetRuntime"]),
        .executableTarget(name: "RefundWorker", dependencies: ["PayFleetRuntime"]),
        .executableTarget(name: "InventoryWorker", dependencies: ["PayFleetRuntime"]),
        // The local stand-in for every channel: their APIs and their notification senders.
        .target(
            name: "PayFleetSandbox",
            dependencies: [
                "PaymentChannels", "PayFleetMessages",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "ChannelSandbox",
            dependencies: ["PayFleetSandbox", .product(name: "Configuration", package: "swift-configuration")]
        ),
        // Plays a channel from the command line and the tests: signed notifications with the TEST-ONLY sandbox
        // keys. Kept out of PayFleetRuntime, so no role links it.
        .target(
            name: "PayFleetSandboxNotifier",
            dependencies: [
                "PayFleetRuntime", "PayFleetMessages", "PaymentChannels",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "PayFleetCLI",
            dependencies: [
                "PayFleetRuntime", "PayFleetSandboxNotifier", "PayFleetStore", "PayFleetMessages", "PaymentChannels", "AMQP",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // The parsers' fuzz targets (scripts/fuzz) and their runner: libFuzzer's entry when built with -DFUZZING and
        // -sanitize=fuzzer,address, else a replayer of inputs.
        .target(name: "PayFleetFuzzTargets", dependencies: ["PaymentChannels", "PayFleetMessages"]),
        .executableTarget(name: "PayFleetFuzz", dependencies: ["PayFleetFuzzTargets"]),

        // Helpers the test targets share: service URLs, skip-or-fail policy, signed fixtures.
        .target(
            name: "PayFleetTestSupport",
            dependencies: [
                "PayFleetRuntime", "PayFleetSandboxNotifier",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/PayFleetTestSupport"
        ),
        .testTarget(
            name: "PaymentChannelsTests",
            dependencies: [
                "PaymentChannels", "PayFleetMessages", "PayFleetFuzzTargets",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "AMQPTests", dependencies: ["AMQP"]),
        .testTarget(
            name: "PayFleetStoreTests",
            dependencies: [
                "PayFleetStore", "PayFleetMessages",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "PayFleetRuntimeTests",
            dependencies: [
                "PayFleetRuntime", "PayFleetTestSupport", "PayFleetMessages", "AMQP", "PaymentChannels",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "PayFleetSandboxTests",
            dependencies: [
                "PayFleetSandbox", "PaymentChannels", "PayFleetMessages",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "PayFleetTestSupport", "PayFleetRuntime", "PayFleetMessages", "AMQP",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
