import Foundation

/// A message parked in PostgreSQL by the retry path (DESIGN §6): a row of `retries`
/// (waiting for its `runAt`) or of `dead_letters` (waiting for an operator).
public struct ParkedMessage: Sendable, Hashable {
    /// The row's id in its table.
    public var id: Int64
    /// Where the message was published and goes back to.
    public var exchange: String
    public var routingKey: String
    /// The AMQP `message_id`: the dedup key of the unit of work.
    public var messageID: String
    /// The AMQP `type` property; PayFleet puts the routing key there.
    public var type: String?
    /// The AMQP body as received.
    public var body: [UInt8]
    /// The AMQP headers as received (the kinds PayFleet uses).
    public var headers: [String: StoredHeaderValue]
    /// In `retries`: the attempt number the republished message carries. In `dead_letters`:
    /// the last attempt made.
    public var attempt: Int
    /// The error of every failed attempt, oldest first.
    public var errors: [AttemptError]
    /// When it becomes due (`retries` only).
    public var runAt: Date?
    public var createdAt: Date

    public init(
        id: Int64, exchange: String, routingKey: String, messageID: String, type: String?, body: [UInt8],
        headers: [String: StoredHeaderValue], attempt: Int, errors: [AttemptError], runAt: Date?, createdAt: Date
    ) {
        self.id = id
        self.exchange = exchange
        self.routingKey = routingKey
        self.messageID = messageID
        self.type = type
        self.body = body
        self.headers = headers
        self.attempt = attempt
        self.errors = errors
        self.runAt = runAt
        self.createdAt = createdAt
    }

    /// The most recent error, if any.
    public var lastError: String? { errors.last?.error }
}

/// A message whose unit of work failed, on its way into `retries` or `dead_letters`.
public struct FailedMessage: Sendable, Hashable {
    public var exchange: String
    public var routingKey: String
    public var messageID: String
    public var type: String?
    public var body: [UInt8]
    public var headers: [String: StoredHeaderValue]
    /// The attempt that just failed (1 for the first delivery).
    public var attempt: Int
    /// Every failed attempt's error so far, this one included, oldest first.
    public var errors: [AttemptError]

    public init(
        exchange: String, routingKey: String, messageID: String, type: String?, body: [UInt8],
        headers: [String: StoredHeaderValue], attempt: Int, errors: [AttemptError]
    ) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.messageID = messageID
        self.type = type
        self.body = body
        self.headers = headers
        self.attempt = attempt
        self.errors = errors
    }
}

/// One failed attempt: its number, what went wrong (no secrets: an error's description), and when.
public struct AttemptError: Sendable, Hashable, Codable {
    public var attempt: Int
    public var error: String
    public var at: Date

    public init(attempt: Int, error: String, at: Date = Date()) {
        self.attempt = attempt
        self.error = error
        self.at = at
    }
}

/// A header value kept with a parked message: the AMQP field kinds PayFleet uses, stored as
/// the bare JSON string, number or boolean.
public enum StoredHeaderValue: Sendable, Hashable, Codable {
    case string(String)
    case int(Int64)
    case bool(Bool)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        }
    }
}
