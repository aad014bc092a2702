import Foundation

/// Where the integration suites find PostgreSQL and RabbitMQ, and the policy when they are
/// absent: a developer's laptop without services skips the integration suites; CI
/// (`CI=true`) never skips — a missing service is a failure there.
///
/// `scripts/test` starts both services and exports:
/// `PAYFLEET_TEST_POSTGRES_URL` (the payfleet_test database) and `PAYFLEET_TEST_AMQP_URL`
/// (the payfleet_test vhost), so tests never touch a running dev fleet's data.
public enum TestServices {
    public static let environment = ProcessInfo.processInfo.environment

    public static var isCI: Bool { environment["CI"]?.lowercased() == "true" }

    public static var postgresURL: String? { environment["PAYFLEET_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }
    public static var amqpURL: String? {
        (environment["PAYFLEET_TEST_AMQP_URL"] ?? environment["PAYFLEET_AMQP_URL"]).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// True when integration suites should run: always in CI (where they then fail loudly if
    /// a service is missing), elsewhere only when the services were exported.
    public static var integrationEnabled: Bool { isCI || (postgresURL != nil && amqpURL != nil) }

    /// Tests that stop and start the shared broker run only when nothing runs beside them:
    /// under `scripts/test` (PAYFLEET_TEST_BROKER_RESTART=1 and `--no-parallel`) and in CI.
    public static var brokerRestartEnabled: Bool {
        isCI || environment["PAYFLEET_TEST_BROKER_RESTART"] == "1"
    }

    public static func requirePostgresURL() throws -> String {
        guard let url = postgresURL else {
            throw TestServicesError("PAYFLEET_TEST_POSTGRES_URL is not set; run the suite with `scripts/test`")
        }
        return url
    }

    public static func requireAMQPURL() throws -> String {
        guard let url = amqpURL else {
            throw TestServicesError("PAYFLEET_TEST_AMQP_URL is not set; run the suite with `scripts/test`")
        }
        return url
    }

    /// The repository root (for config/sandbox keys and scripts/services).
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        fatalError("cannot find the repository root above \(#filePath)")
    }()
}

public struct TestServicesError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
