import Foundation

/// A message delivered to an ``AMQPConsumer``. Settle it once with ``ack()`` or ``nack(requeue:)``.
public struct AMQPDelivery: Sendable {
    public var body: [UInt8]
    public var messageID: String?
    public var type: String?
    public var contentType: String?
    public var exchange: String
    public var routingKey: String
    /// The broker delivered this message before (to this or another consumer) without an ack.
    public var redelivered: Bool
    public var headers: [String: AMQPHeaderValue]
    public var timestamp: Date?
    /// The broker's delivery tag, unique per channel.
    public var deliveryTag: UInt64

    /// Where the delivery came from; `nil` for a delivery made with the public initializer.
    let origin: DeliveryOrigin?

    /// Makes a delivery that is not attached to any broker, for tests of message handlers:
    /// its ``ack()`` and ``nack(requeue:)`` do nothing.
    public init(
        body: [UInt8],
        messageID: String? = nil,
        type: String? = nil,
        contentType: String? = nil,
        exchange: String = "",
        routingKey: String = "",
        redelivered: Bool = false,
        headers: [String: AMQPHeaderValue] = [:],
        timestamp: Date? = nil,
        deliveryTag: UInt64 = 0
    ) {
        self.body = body
        self.messageID = messageID
        self.type = type
        self.contentType = contentType
        self.exchange = exchange
        self.routingKey = routingKey
        self.redelivered = redelivered
        self.headers = headers
        self.timestamp = timestamp
        self.deliveryTag = deliveryTag
        self.origin = nil
    }

    init(
        body: [UInt8], properties: InboundProperties, exchange: String, routingKey: String, redelivered: Bool,
        deliveryTag: UInt64, origin: DeliveryOrigin
    ) {
        self.body = body
        self.messageID = properties.messageID
        self.type = properties.type
        self.contentType = properties.contentType
        self.headers = properties.headers
        self.timestamp = properties.timestamp
        self.exchange = exchange
        self.routingKey = routingKey
        self.redelivered = redelivered
        self.deliveryTag = deliveryTag
        self.origin = origin
    }

    /// Acknowledges the delivery: the broker forgets the message.
    /// Returns once the ack is written to the connection the message came on.
    /// - Throws: ``AMQPError/Code/staleDelivery`` if that connection or channel is gone (the broker will
    ///   redeliver the message), ``AMQPError/Code/closed`` after shutdown.
    public func ack() async throws(AMQPError) {
        guard let origin else { return }
        try await origin.core.settle(origin: origin, deliveryTag: deliveryTag, settlement: .ack)
    }

    /// Rejects the delivery. With `requeue` the broker delivers it again (the quorum queue counts the
    /// attempt against its delivery limit); without, it is dead-lettered (or dropped without a DLX).
    /// - Throws: like ``ack()``.
    public func nack(requeue: Bool) async throws(AMQPError) {
        guard let origin else { return }
        try await origin.core.settle(origin: origin, deliveryTag: deliveryTag, settlement: .nack(requeue: requeue))
    }
}

/// Identifies the consumer channel incarnation a delivery came on, so that a late ack on a
/// newer channel with the same number is refused rather than acking the wrong message.
struct DeliveryOrigin: Sendable {
    let core: ConnectionCore
    let consumerID: UInt64
    /// Incremented each time the consumer's channel is (re)opened.
    let channelEpoch: UInt64
}

enum Settlement: Sendable {
    case ack
    case nack(requeue: Bool)
}

/// The basic properties of an inbound message, copied out of rabbitmq-c's buffers.
struct InboundProperties: Sendable {
    var messageID: String?
    var type: String?
    var contentType: String?
    var timestamp: Date?
    var headers: [String: AMQPHeaderValue] = [:]
}
