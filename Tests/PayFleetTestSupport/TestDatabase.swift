import Logging
import PayFleetRuntime
import PostgresNIO

/// Direct SQL access for asserting effects: rows are what a user cares about.
public enum TestDatabase {
    public static func withClient<T: Sendable>(_ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let settings = try PostgresSettings(url: try TestServices.requirePostgresURL())
        var logger = Logger(label: "test-db")
        logger.logLevel = .error  // the pool's start-up chatter is not what a test reader needs
        let client = settings.makeClient(logger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// A single integer from a query (`count(*)` and friends).
    public static func scalar(_ client: PostgresClient, _ query: PostgresQuery) async throws -> Int64 {
        let rows = try await client.query(query)
        for try await (value) in rows.decode(Int64.self) { return value }
        return 0
    }

    /// A single text value from a query, or nil when no row matched.
    public static func text(_ client: PostgresClient, _ query: PostgresQuery) async throws -> String? {
        let rows = try await client.query(query)
        for try await (value) in rows.decode(String?.self) { return value }
        return nil
    }

    /// The text values of a query's first column, one per row.
    public static func texts(_ client: PostgresClient, _ query: PostgresQuery) async throws -> [String] {
        var values: [String] = []
        for try await value in try await client.query(query).decode(String.self) { values.append(value) }
        return values
    }
}
