import AMQP
import Configuration
import Hummingbird
import Logging
import Prometheus
import ServiceLifecycle
import UnixSignals

/// What every role's process shares: its ops port and its shutdown bound.
///
/// Keys: `ops.host` (default 127.0.0.1), `ops.port` (the role's `/health/*` and
/// `/metrics` port; each role has its own default, 0 picks a free one),
/// `shutdown.grace_seconds` (default 25: after SIGTERM, in-flight work gets this long to
/// finish and be acked before the process cancels it).
public struct ProcessSettings: Sendable {
    public var opsHost: String
    public var opsPort: Int
    public var shutdownGrace: Duration

    public init(reader: ConfigReader, defaultOpsPort: Int) {
        opsHost = reader.string(forKey: "ops.host", default: "127.0.0.1")
        opsPort = reader.int(forKey: "ops.port", default: defaultOpsPort)
        shutdownGrace = .seconds(reader.int(forKey: "shutdown.grace_seconds", default: 25))
    }

    /// The ops server on `ops.host:ops.port`: `/health/live`, `/health/ready` (`ready` says what is missing) and
    /// `/metrics` (with `broker`, its connection state too).
    public func opsServer(
        role: String, registry: PrometheusCollectorRegistry, broker: AMQPConnection?, logger: Logger,
        ready: @escaping @Sendable () -> String?
    ) -> some ApplicationProtocol {
        let router = Router()
        OpsRoutes.add(to: router, registry: registry, broker: broker, ready: ready)
        return Application(
            router: router,
            configuration: .init(address: .hostname(opsHost, port: opsPort), serverName: "payfleet-\(role)"),
            logger: logger)
    }

    /// Where the ops server listens, for the role's "configured" log line.
    public var opsAddress: String { "\(opsHost):\(opsPort)" }

    /// One ServiceGroup, dependencies first: it shuts down in reverse order, so the consumer
    /// drains and acks before the broker connection and the database pool close.
    public func serviceGroup(_ services: [any Service], logger: Logger) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = shutdownGrace
        return ServiceGroup(configuration: configuration)
    }
}
