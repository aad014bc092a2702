import AMQP
import Configuration
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle

/// The notify-receiver process: the HTTP server for channels' notifications, the broker
/// connection it publishes on, and its ops server (`/metrics` there only). No database.
public enum NotifyReceiverApp {
    /// Everything the process runs, built from configuration (see ``ReceiverSettings``,
    /// ``AMQPSettings``, ``MerchantRegistry``, ``ProcessSettings``).
    public static func build(reader: ConfigReader) async throws -> ServiceGroup {
        let (logger, registry) = Observability.bootstrap(label: "notify-receiver", reader: reader)
        let settings = ReceiverSettings(reader: reader)
        let amqp = try AMQPSettings(reader: reader, connectionName: "notify-receiver")
        let merchants = try MerchantRegistry(reader: reader, timestampTolerance: settings.timestampTolerance)
        if merchants.count == 0 {
            logger.warning("no merchants configured: every notification will be answered 404")
        }
        let connection = AMQPConnection(configuration: amqp.configuration, topology: amqp.topology, logger: logger)
        let publisher = AMQPNotificationPublisher(connection: connection, timeout: amqp.publishTimeout)
        let process = ProcessSettings(reader: reader, defaultOpsPort: 9100)
        let app = application(settings: settings, merchants: merchants, publisher: publisher, logger: logger)
        let ops = process.opsServer(role: "notify-receiver", registry: registry, broker: connection, logger: logger) {
            publisher.unavailableReason
        }
        logger.info(
            "notify-receiver configured",
            metadata: [
                "listen": "\(settings.host):\(settings.port)", "ops": "\(process.opsAddress)",
                "merchants": "\(merchants.count)", "amqp": "\(amqp.configuration.redactedURL)",
            ])
        return process.serviceGroup([connection, app, ops], logger: logger)
    }

    /// The channels' HTTP application alone (`/notify/<channel>/<merchant>` and `/health/*`, never `/metrics`: this
    /// port faces the internet), for tests that drive it with HummingbirdTesting.
    public static func application(
        settings: ReceiverSettings, merchants: MerchantRegistry, publisher: any NotificationPublisher, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        OpsRoutes.addHealth(to: router, ready: { publisher.unavailableReason })
        NotifyController(merchants: merchants, publisher: publisher, maxBodyBytes: settings.maxBodyBytes, logger: logger)
            .addRoutes(to: router)
        return Application(
            router: router,
            configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "payfleet-notify-receiver"),
            logger: logger)
    }
}
