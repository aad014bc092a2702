import Synchronization
import Logging
import PayFleetRuntime
import PostgresNIO

/// Direct SQL access for asserting effects: rows are what a user cares about.
public enum TestDatabase {
    /// Runs `body` with a client of its own, bounded by `timeout`. postgres-nio can leave a query on a connection
    /// that died under it (PostgreSQL restarted mid-query) waiting forever; such a body is abandoned and the call
    /// fails with a timeout, so a test that restarts PostgreSQL (ChaosTests) polls again instead of hanging.
    public static func withClient<T: Sendable>(
        timeout: Duration = .seconds(60), _ body: @escaping @Sendable (PostgresClient) async throws -> T
    ) async throws -> T {
        let settings = try PostgresSettings(url: try TestServices.requirePostgresURL())
        var logger = Logger(label: "test-db")
        logger.logLevel = .error  // the pool's start-up chatter is not what a test reader needs
        let client = settings.makeClient(logger: logger)
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        let work = Task { try await body(client) }
        let first = FirstResult<T>()
        Task { first.finish(await work.result) }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            if first.finish(.failure(TestServicesError("a test database call took longer than \(timeout); abandoned"))) {
                work.cancel()
            }
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                first.start(continuation)
            }
        } onCancel: {
            work.cancel()
        }
    }

    /// The first of two racing results resumes the continuation; the other is dropped.
    final class FirstResult<T: Sendable>: Sendable {
        private let state = Mutex<(CheckedContinuation<T, any Error>?, Result<T, any Error>?, Bool)>((nil, nil, false))

        func start(_ continuation: CheckedContinuation<T, any Error>) {
            let ready: Result<T, any Error>? = state.withLock { state in
                if let result = state.1 {
                    state.2 = true
                    return result
                }
                state.0 = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }

        /// Returns whether this result won.
        @discardableResult
        func finish(_ result: Result<T, any Error>) -> Bool {
            let (won, continuation): (Bool, CheckedContinuation<T, any Error>?) = state.withLock { state in
                guard !state.2, state.1 == nil else { return (false, nil) }
                if let continuation = state.0 {
                    state.2 = true
                    state.0 = nil
                    return (true, continuation)
                }
                state.1 = result
                return (true, nil)
            }
            continuation?.resume(with: result)
            return won
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
