import AMQP
import Foundation
import PayFleetMessages

/// Where the receiver sends what it verified. The AMQP connection in production; the
/// protocol lets HTTP-level tests of the receiver count what would have been published.
public protocol NotificationPublisher: Sendable {
    /// Returns once the broker has confirmed the message durable; throws otherwise.
    func publish(_ notification: VerifiedMessage) async throws
    /// nil while able to publish, else why not (for `/health/ready`).
    var unavailableReason: String? { get }
}

/// A verified, normalised notification ready for `payfleet.notify`.
public struct VerifiedMessage: Sendable {
    public var routingKey: String
    public var messageID: String
    public var body: [UInt8]

    public init(_ notification: PaymentNotification) throws {
        routingKey = notification.routingKey
        messageID = notification.dedupKey
        body = notification.encodedJSON()
    }

    public init(_ notification: RefundNotification) throws {
        routingKey = notification.routingKey
        messageID = notification.dedupKey
        body = try PayFleetJSON.encode(notification)
    }
}

/// Publishes to `payfleet.notify` with publisher confirms.
public struct AMQPNotificationPublisher: NotificationPublisher {
    let connection: AMQPConnection
    let timeout: Duration

    public init(connection: AMQPConnection, timeout: Duration) {
        self.connection = connection
        self.timeout = timeout
    }

    public func publish(_ message: VerifiedMessage) async throws {
        try await connection.publish(
            AMQPOutboundMessage.payfleet(body: message.body, messageID: message.messageID, type: message.routingKey),
            exchange: Exchange.notify, routingKey: message.routingKey, timeout: timeout)
    }

    public var unavailableReason: String? { connection.isConnected ? nil : "broker not connected" }
}

extension AMQPOutboundMessage {
    /// A persistent JSON message with PayFleet's headers (DESIGN §3).
    public static func payfleet(body: [UInt8], messageID: String, type: String, attempt: Int = 1) -> AMQPOutboundMessage {
        AMQPOutboundMessage(
            body: body, messageID: messageID, type: type, contentType: "application/json", timestamp: Date(),
            persistent: true,
            headers: [
                MessageHeader.attempt: .int(Int64(attempt)),
                MessageHeader.schema: .int(Int64(PayFleetSchema.version)),
            ])
    }
}
