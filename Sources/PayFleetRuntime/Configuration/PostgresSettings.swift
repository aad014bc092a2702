import Configuration
import Foundation
import Logging
import PostgresNIO

/// PostgreSQL connection settings.
///
/// Keys: `postgres.url` (required; `postgres://user:password@host:port/database`, query
/// `sslmode=disable|prefer|require`), `postgres.max_connections` (default 20),
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
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme),
            let host = components.host, !host.isEmpty
        else {
            throw PayFleetError(.invalidSetting, "postgres.url is not a postgres://user:password@host:port/database URL")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        let sslMode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw PayFleetError(.invalidSetting, "postgres.url has sslmode=\(sslMode); use disable, prefer or require")
        }
        configuration = .init(
            host: host, port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: database.isEmpty ? nil : database, tls: tls)
        var redacted = components
        if redacted.password != nil { redacted.password = "***" }
        redactedURL = redacted.string ?? "postgres://\(host)"
    }

    public func makeClient(logger: Logger) -> PostgresClient {
        PostgresClient(configuration: configuration, backgroundLogger: logger)
    }
}
