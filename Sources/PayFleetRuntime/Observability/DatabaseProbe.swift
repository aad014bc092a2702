import Logging
import PayFleetStore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Checks PostgreSQL every `interval` (`SELECT 1`, bounded by `timeout`) so a worker's
/// `/health/ready` can say "database unreachable" instead of ready while its units of work
/// are being requeued. Reads of ``problem`` are cheap: a lock, no I/O.
public final class DatabaseProbe: Service, Sendable {
    let store: PayFleetStore
    let interval: Duration
    let timeout: Duration
    let logger: Logger
    private let state = Mutex<String?>("not checked yet")

    public init(store: PayFleetStore, interval: Duration = .seconds(2), timeout: Duration = .seconds(2), logger: Logger) {
        self.store = store
        self.interval = interval
        self.timeout = timeout
        self.logger = logger
    }

    /// Why the database is not usable, or nil when the last check passed.
    public var problem: String? { state.withLock { $0 } }

    public func run() async throws {
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let result = await check()
            let previous = state.withLock { old in
                defer { old = result }
                return old
            }
            if (previous == nil) != (result == nil) {
                if let result {
                    logger.warning("database unreachable; not ready", metadata: ["reason": "\(result)"])
                } else {
                    logger.info("database reachable; ready")
                }
            }
            await pauseUnlessShuttingDown(for: interval)
        }
    }

    private func check() async -> String? {
        let (store, logger, timeout) = (store, logger, timeout)
        return await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    try await store.withConnection { connection in
                        _ = try await connection.query("SELECT 1", logger: logger)
                    }
                    return nil
                } catch {
                    return "database unreachable"
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : "database did not answer within \(timeout)"
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
