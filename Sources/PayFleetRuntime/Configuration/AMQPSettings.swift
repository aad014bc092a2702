import AMQP
import Configuration

/// Broker settings.
///
/// Keys: `amqp.url` (required; `amqp://user:password@host:port/vhost`, `amqps://` for TLS),
/// `amqp.heartbeat_seconds` (default 10), `amqp.delivery_limit` (quorum queues'
/// `x-delivery-limit`, default 20), `amqp.publish_timeout_ms` (default 5000).
public struct AMQPSettings: Sendable {
    public var configuration: AMQPConfiguration
    public var deliveryLimit: Int
    public var publishTimeout: Duration

    public init(reader: ConfigReader, connectionName: String) throws {
        let url = try reader.requiredSetting(
            "amqp.url", isSecret: true, hint: "run `scripts/services start` and export what it prints, or point it at a broker")
        do {
            configuration = try AMQPConfiguration(url: url, connectionName: connectionName)
        } catch {
            throw PayFleetError(.invalidSetting, "amqp.url is not a valid amqp:// URL: \(error)")
        }
        configuration.heartbeat = .seconds(reader.int(forKey: "amqp.heartbeat_seconds", default: 10))
        deliveryLimit = reader.int(forKey: "amqp.delivery_limit", default: 20)
        publishTimeout = .milliseconds(reader.int(forKey: "amqp.publish_timeout_ms", default: 5000))
    }

    public var topology: AMQPTopology { .payfleet(deliveryLimit: deliveryLimit) }
}
