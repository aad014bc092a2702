import Foundation

/// A message to publish: body plus the AMQP properties PayFleet uses.
public struct AMQPOutboundMessage: Sendable {
    public var body: [UInt8]
    /// `message_id` property: the deduplication key.
    public var messageID: String
    /// `type` property: PayFleet puts the routing key here.
    public var type: String
    public var contentType: String
    /// `timestamp` property (AMQP keeps whole seconds).
    public var timestamp: Date
    /// `delivery_mode` 2 (persistent) when `true`, 1 otherwise.
    public var persistent: Bool
    public var headers: [String: AMQPHeaderValue]

    public init(
        body: [UInt8],
        messageID: String,
        type: String,
        contentType: String = "application/json",
        timestamp: Date = .now,
        persistent: Bool = true,
        headers: [String: AMQPHeaderValue] = [:]
    ) {
        self.body = body
        self.messageID = messageID
        self.type = type
        self.contentType = contentType
        self.timestamp = timestamp
        self.persistent = persistent
        self.headers = headers
    }
}
