import Configuration
import Foundation
import Logging
import PayFleetStore
import PostgresNIO

/// PostgreSQL connection settings.
///
/// Keys: `postgres.url` (required; `postgres://user:password@host:port/database`, query
/// `sslmode=disable|prefer|require`, default prefer — parsed by ``PayFleetStore/clientConfiguration(url:)``), `postgres.max_connections` (default 20),
/// `postgres.connect_timeout_ms` (default 5000).
public struct PostgresSettings: Sendable {
    public var configuration: PostgresClient.Configuration
    public var redactedURL: String

    public init(reader: ConfigReader) throws {
        let url = try reader.requiredSetting(
            "postgres.url", isSecret: true, hint: "run `scripts/services start` and export what it prints, or point it at a database")
        try self.init(url: url)
        configuration.options.maximumConnections = reader.int(forKey: "postgres.max_connections", default: 20)
        configuration.options.connectTimeout = .milliseconds(reader.int(forKey: "postgres.connect_timeout_ms", default: 5000))
    }

    public init(url: String) throws {
        do {
            configuration = try PayFleetStore.clientConfiguration(url: url)
        } catch {
            throw PayFleetError(.invalidSetting, "postgres.url: \(error)")
        }
        var redacted = URLComponents(string: url)
        if redacted?.password != nil { redacted?.password = "***" }
        redactedURL = redacted?.string ?? "postgres://(unparsable)"
    }

    public func makeClient(logger: Logger) -> PostgresClient {
        PostgresClient(configuration: configuration, backgroundLogger: logger)
    }
}
