import AMQP
import Configuration
import Logging
import PayFleetStore
import PostgresNIO
import ServiceLifecycle

/// The scaffold every consuming role shares: PostgreSQL pool, broker connection, one queue
/// consumer (with the retry path of ``RetrySettings``), and the ops server — as one ServiceGroup.
enum WorkerProcess {
    static func build(
        role: String, queue: String, defaultOpsPort: Int, defaultConcurrency: Int = 8, reader: ConfigReader,
        handler: @escaping @Sendable (PayFleetStore) -> QueueConsumerService.Handler,
        services: @Sendable (PayFleetStore, Logger) -> [any Service] = { _, _ in [] }
    ) async throws -> ServiceGroup {
        let (logger, registry) = Observability.bootstrap(label: role, reader: reader)
        let postgres = try PostgresSettings(reader: reader)
        let amqp = try AMQPSettings(reader: reader, connectionName: role)
        let worker = WorkerSettings(reader: reader, defaultConcurrency: defaultConcurrency)
        let process = ProcessSettings(reader: reader, defaultOpsPort: defaultOpsPort)
        let retry = try RetrySettings(reader: reader)

        let client = postgres.makeClient(logger: logger)
        let store = PayFleetStore(client: client, logger: logger)
        let connection = AMQPConnection(configuration: amqp.configuration, topology: amqp.topology, logger: logger)
        // `.retryLater` from the handler parks the message in `retries` (DESIGN §6).
        let consumer = QueueConsumerService(
            connection: connection, queue: queue, concurrency: worker.concurrency,
            pauseBeforeRequeue: worker.requeuePause, retryScheduler: RetryScheduler(store: store, settings: retry),
            logger: logger, handler: handler(store))

        let database = DatabaseProbe(store: store, logger: logger)
        let ops = process.opsServer(role: role, registry: registry, broker: connection, logger: logger) {
            connection.isConnected ? database.problem : "broker not connected"
        }
        logger.info(
            "\(role) configured",
            metadata: [
                "queue": "\(queue)", "concurrency": "\(worker.concurrency)", "ops": "\(process.opsAddress)",
                "postgres": "\(postgres.redactedURL)", "amqp": "\(amqp.configuration.redactedURL)",
            ])
        return process.serviceGroup([client, connection, database, consumer] + services(store, logger) + [ops], logger: logger)
    }
}
