import AMQP
import Configuration
import Logging
import PayFleetStore
import ServiceLifecycle

/// retry-worker: republishes the due rows of `retries` (see ``RetryRelay``) — PostgreSQL
/// pool, broker connection, the relay and the ops server (`/health/*`, `/metrics`, default
/// port 9103) as one ServiceGroup. Keys: ``RetrySettings``, ``PostgresSettings``,
/// ``AMQPSettings``, ``ProcessSettings``.
public enum RetryWorkerApp {
    public static let role = "retry-worker"

    public static func build(reader: ConfigReader) async throws -> ServiceGroup {
        let (logger, registry) = Observability.bootstrap(label: role, reader: reader)
        let postgres = try PostgresSettings(reader: reader)
        let amqp = try AMQPSettings(reader: reader, connectionName: role)
        let retry = try RetrySettings(reader: reader)
        let process = ProcessSettings(reader: reader, defaultOpsPort: 9103)

        let client = postgres.makeClient(logger: logger)
        let store = PayFleetStore(client: client, logger: logger)
        let connection = AMQPConnection(configuration: amqp.configuration, topology: amqp.topology, logger: logger)
        let relay = RetryRelay(
            store: store, connection: connection, settings: retry, publishTimeout: amqp.publishTimeout, logger: logger)

        let ops = process.opsServer(role: role, registry: registry, broker: connection, logger: logger) {
            connection.isConnected ? nil : "broker not connected"
        }
        logger.info(
            "\(role) configured",
            metadata: [
                "batch_size": "\(retry.batchSize)", "poll_interval": "\(retry.pollInterval)",
                "ops": "\(process.opsAddress)", "postgres": "\(postgres.redactedURL)",
                "amqp": "\(amqp.configuration.redactedURL)",
            ])
        return process.serviceGroup([client, connection, relay, ops], logger: logger)
    }
}
