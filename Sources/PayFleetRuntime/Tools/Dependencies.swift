import AMQP
import Configuration
import Logging
import PayFleetStore
import PostgresNIO

/// Short-lived access to the fleet's dependencies for one-shot commands (the CLI, tests):
/// runs the client beside `body` and shuts it down when `body` returns.
public enum Dependencies {
    public static func withStore<T: Sendable>(
        reader: ConfigReader, logger: Logger, _ body: @Sendable (PayFleetStore, PostgresClient) async throws -> T
    ) async throws -> T {
        let settings = try PostgresSettings(reader: reader)
        // A one-shot command leases its first connection while the pool is still starting,
        // which postgres-nio reports as a warning; it is expected here, so only errors show.
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .error)
        let client = settings.makeClient(logger: poolLogger)
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(PayFleetStore(client: client, logger: logger), client)
        }
    }

    /// A connected broker connection (waits up to `timeout` for it), with the topology declared.
    public static func withBroker<T: Sendable>(
        reader: ConfigReader, logger: Logger, connectionName: String, timeout: Duration = .seconds(10),
        _ body: @Sendable (AMQPConnection, AMQPSettings) async throws -> T
    ) async throws -> T {
        let settings = try AMQPSettings(reader: reader, connectionName: connectionName)
        let connection = AMQPConnection(configuration: settings.configuration, topology: settings.topology, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
            group.addTask { try await connection.run() }
            defer { group.cancelAll() }
            do {
                try await connection.waitUntilConnected(timeout: timeout)
            } catch {
                throw PayFleetError(
                    .dependencyUnavailable,
                    "cannot reach the broker at \(settings.configuration.redactedURL) within \(timeout); "
                        + "is RabbitMQ running (`scripts/services status`)?")
            }
            return try await body(connection, settings)
        }
    }
}
