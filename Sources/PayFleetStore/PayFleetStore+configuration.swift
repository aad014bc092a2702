import Foundation
import PostgresNIO

extension PayFleetStore {
    /// A `PostgresClient` configuration from a URL such as
    /// `postgres://payfleet:secret@127.0.0.1:25432/payfleet?sslmode=disable`.
    ///
    /// `sslmode` may be `disable`, `prefer` (the default) or `require`; user and password are
    /// percent-decoded. Errors never repeat the password.
    public static func clientConfiguration(url text: String) throws -> PostgresClient.Configuration {
        func invalid(_ why: String) -> StoreError {
            StoreError(
                code: .invalidDatabaseURL,
                message: "the PostgreSQL URL is invalid: \(why); expected postgres://user:password@host:port/database")
        }
        guard let components = URLComponents(string: text) else { throw invalid("it cannot be parsed") }
        guard components.scheme == "postgres" || components.scheme == "postgresql" else {
            throw invalid("the scheme must be postgres or postgresql")
        }
        guard let host = components.host, !host.isEmpty else { throw invalid("it has no host") }
        guard let user = components.user, !user.isEmpty else { throw invalid("it has no user") }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let tls: PostgresClient.Configuration.TLS
        switch components.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer" {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw invalid("sslmode must be disable, prefer or require")
        }
        return PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: database.isEmpty ? nil : database, tls: tls)
    }
}
