import Logging
import PostgresNIO
import Synchronization

/// Keeps work on a leased connection from hanging when the connection dies under it.
///
/// postgres-nio 1.33 writes each query to the channel with no write promise: a query sent
/// after the connection has closed (PostgreSQL restarted, the backend was terminated between
/// two statements of a transaction) reaches no handler and its result never arrives. A unit
/// of work would wait forever and its message would never be acked. The watchdog polls the
/// connection while the work runs; once the connection is closed and the work has not
/// finished by itself within a grace period, the caller gets ``StoreError/Code/connectionLost``
/// (transient) and the stuck task is abandoned. The transaction was never committed, so a
/// retry is safe, and the pool replaces the closed connection.
///
/// One watcher per process polls every unit of work in flight (a registry, not a timer task
/// per transaction: two tasks and a timer for each settlement showed in the fulfilment-worker's
/// profile).
enum ConnectionWatchdog {
    static let pollInterval: Duration = .milliseconds(200)
    static let grace: Duration = .seconds(1)

    static func run<T: Sendable>(
        on connection: PostgresConnection, logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let outcome = Outcome<T>()
        let work = Task {
            do {
                outcome.finish(.success(try await body(connection)))
            } catch {
                outcome.finish(.failure(error))
            }
        }
        let id = Watcher.shared.watch(
            Watcher.Entry(
                connection: connection,
                abandon: {
                    logger.warning("abandoning work on a PostgreSQL connection that closed under it")
                    outcome.finish(
                        .failure(
                            StoreError(
                                code: .connectionLost,
                                message: "the PostgreSQL connection closed in the middle of a unit of work; retry it")))
                }))
        defer { Watcher.shared.forget(id) }
        return try await withTaskCancellationHandler {
            try await outcome.value()
        } onCancel: {
            work.cancel()
        }
    }

    /// The process's one watcher: every `pollInterval` it looks at the connection of each unit of work in flight,
    /// and abandons a unit whose connection has been closed for `grace` without the work finishing by itself.
    final class Watcher: Sendable {
        struct Entry: Sendable {
            var connection: PostgresConnection
            var abandon: @Sendable () -> Void
            var closedSince: ContinuousClock.Instant?
        }

        static let shared = Watcher()

        private let state = Mutex<(nextID: UInt64, entries: [UInt64: Entry], polling: Bool)>((0, [:], false))

        func watch(_ entry: Entry) -> UInt64 {
            let (id, startPolling) = state.withLock { state in
                state.nextID += 1
                state.entries[state.nextID] = entry
                let start = !state.polling
                state.polling = true
                return (state.nextID, start)
            }
            if startPolling {
                // Lives as long as the process; it sleeps between polls and touches only the registry.
                Task.detached { await self.poll() }
            }
            return id
        }

        func forget(_ id: UInt64) {
            _ = state.withLock { $0.entries.removeValue(forKey: id) }
        }

        private func poll() async {
            while true {
                try? await Task.sleep(for: ConnectionWatchdog.pollInterval)
                let now = ContinuousClock.now
                let abandoned: [@Sendable () -> Void] = state.withLock { state in
                    var abandoned: [@Sendable () -> Void] = []
                    for (id, var entry) in state.entries where entry.connection.isClosed {
                        if let closedSince = entry.closedSince {
                            if now - closedSince >= ConnectionWatchdog.grace {
                                abandoned.append(entry.abandon)
                                state.entries.removeValue(forKey: id)
                            }
                        } else {
                            entry.closedSince = now
                            state.entries[id] = entry
                        }
                    }
                    return abandoned
                }
                for abandon in abandoned { abandon() }
            }
        }
    }

    /// The first result delivered wins; later ones are dropped.
    final class Outcome<T: Sendable>: Sendable {
        private enum State {
            case pending
            case waiting(CheckedContinuation<T, any Error>)
            case finished(Result<T, any Error>)
            case delivered
        }

        private let state = Mutex<State>(.pending)

        func finish(_ result: Result<T, any Error>) {
            let continuation: CheckedContinuation<T, any Error>? = state.withLock { state in
                switch state {
                case .pending:
                    state = .finished(result)
                    return nil
                case .waiting(let continuation):
                    state = .delivered
                    return continuation
                case .finished, .delivered:
                    return nil
                }
            }
            continuation?.resume(with: result)
        }

        func value() async throws -> T {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<T, any Error>? = state.withLock { state in
                    switch state {
                    case .pending:
                        state = .waiting(continuation)
                        return nil
                    case .finished(let result):
                        state = .delivered
                        return result
                    case .waiting, .delivered:
                        preconditionFailure("an outcome is awaited once")
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        }
    }
}

extension PayFleetStore {
    /// Runs `body` on a leased connection, failing with the transient
    /// ``StoreError/Code/connectionLost`` instead of hanging if the connection dies under it.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        return try await client.withConnection { connection in
            try await ConnectionWatchdog.run(on: connection, logger: logger, body)
        }
    }

    /// Runs `body` in one transaction (committed when it returns, rolled back when it throws)
    /// on a leased connection, guarded like ``withConnection(_:)``. For units of work written
    /// outside this module: use it rather than `PostgresClient.withTransaction`.
    public func withTransaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        return try await withConnection { connection in
            try await connection.withTransaction(logger: logger) { connection in
                try await body(connection)
            }
        }
    }
}
