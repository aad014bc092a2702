import AMQP
import Configuration
import Logging
import PayFleetStore
import ServiceLifecycle

/// events-worker: the outbox relay (``OutboxRelay``) — PostgreSQL pool, broker connection,
/// the relay and the ops server (`/health/*`, `/metrics`, default port 9104) as one
/// ServiceGroup. Keys: ``OutboxRelaySettings``, ``PostgresSettings``, ``AMQPSettings``,
/// ``ProcessSettings``. Run as many copies as needed.
public enum EventsWorkerApp {
    public static let role = "events-worker"

    public static func build(reader: ConfigReader) async throws -> ServiceGroup {
        let (logger, registry) = Observability.bootstrap(label: role, reader: reader)
        let postgres = try PostgresSettings(reader: reader)
        let amqp = try AMQPSettings(reader: reader, connectionName: role)
        let settings = OutboxRelaySettings(reader: reader)
        let process = ProcessSettings(reader: reader, defaultOpsPort: 9104)

        let client = postgres.makeClient(logger: logger)
        let connection = AMQPConnection(configuration: amqp.configuration, topology: amqp.topology, logger: logger)
        let relay = OutboxRelay(
            store: PayFleetStore(client: client, logger: logger), connection: connection, settings: settings,
            publishTimeout: amqp.publishTimeout, logger: logger)

        let ops = process.opsServer(role: role, registry: registry, broker: connection, logger: logger) {
            connection.isConnected ? nil : "broker not connected"
        }
        logger.info(
            "\(role) configured",
            metadata: [
                "batch_size": "\(settings.batchSize)", "ops": "\(process.opsAddress)",
                "postgres": "\(postgres.redactedURL)", "amqp": "\(amqp.configuration.redactedURL)",
            ])
        return process.serviceGroup([client, connection, relay, ops], logger: logger)
    }
}
