import AMQP
import Foundation
import PayFleetMessages
import PayFleetStore

/// Parks a delivery whose unit of work failed transiently (``DeliveryDisposition/retryLater(reason:)``):
/// in `retries`, due after the routing key's backoff, or — when it was the routing key's last
/// attempt — in `dead_letters` with its error history. The consumer acks the delivery after
/// this returned (the row is committed first; a crash in between only duplicates it).
///
/// The history of errors travels with the message in the `x-payfleet-errors` header (a JSON
/// array of `{"attempt", "error", "at"}`), so each attempt appends to what the earlier ones
/// recorded and the dead letter carries all of them.
public struct RetryScheduler: Sendable {
    /// What became of the delivery.
    public enum Outcome: Sendable, Hashable {
        /// Parked in `retries`; it comes back as `attempt` after `delay`.
        case scheduled(attempt: Int, delay: Duration)
        /// Its last attempt failed: parked in `dead_letters` under `id`.
        case deadLettered(id: Int64)
    }

    /// Errors longer than this are cut, and only the newest ``historyLimit`` are kept, so the
    /// header stays far below the broker's frame size.
    public static let errorLengthLimit = 500
    public static let historyLimit = 30

    let store: PayFleetStore
    public let settings: RetrySettings
    let jitter: @Sendable () -> Double

    /// - Parameter jitter: the uniform draw from 0...1 that scales each delay (full jitter);
    ///   tests pass a constant to make the delays exact.
    public init(
        store: PayFleetStore, settings: RetrySettings,
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) {
        self.store = store
        self.settings = settings
        self.jitter = jitter
    }

    /// Parks `delivery`, which failed with `reason`. Throws when PostgreSQL could not take it
    /// (then the caller falls back to requeueing the delivery).
    public func schedule(_ delivery: AMQPDelivery, reason: String) async throws -> Outcome {
        let attempt = max(1, Int(delivery.headers[MessageHeader.attempt]?.intValue ?? 1))
        let policy = settings.policy(for: delivery.routingKey)
        let message = Self.failedMessage(delivery, attempt: attempt, reason: reason)
        if attempt >= policy.maxAttempts {
            return .deadLettered(id: try await store.deadLetter(message))
        }
        let delay = policy.backoff(afterAttempt: attempt, unit: jitter())
        try await store.scheduleRetry(message, attempt: attempt + 1, after: delay)
        return .scheduled(attempt: attempt + 1, delay: delay)
    }

    /// The delivery as a failed message: its headers without the error history, which goes
    /// to `errors` with this attempt's error appended.
    static func failedMessage(_ delivery: AMQPDelivery, attempt: Int, reason: String) -> FailedMessage {
        var errors = errorHistory(of: delivery.headers)
        errors.append(AttemptError(attempt: attempt, error: String(reason.prefix(errorLengthLimit))))
        var headers = delivery.headers
        headers[MessageHeader.errors] = nil
        return FailedMessage(
            exchange: delivery.exchange, routingKey: delivery.routingKey,
            messageID: delivery.messageID ?? "", type: delivery.type, body: delivery.body,
            headers: headers.mapValues(StoredHeaderValue.init), attempt: attempt,
            errors: Array(errors.suffix(historyLimit)))
    }

    /// The error history a message carries, or none.
    static func errorHistory(of headers: [String: AMQPHeaderValue]) -> [AttemptError] {
        guard let text = headers[MessageHeader.errors]?.stringValue else { return [] }
        return (try? PayFleetJSON.decode([AttemptError].self, from: Array(text.utf8))) ?? []
    }
}

/// Headers of the retry path beside those of ``MessageHeader``.
extension StoredHeaderValue {
    init(_ value: AMQPHeaderValue) {
        switch value {
        case .string(let text): self = .string(text)
        case .int(let number): self = .int(number)
        case .bool(let flag): self = .bool(flag)
        }
    }
}

extension AMQPHeaderValue {
    init(_ value: StoredHeaderValue) {
        switch value {
        case .string(let text): self = .string(text)
        case .int(let number): self = .int(number)
        case .bool(let flag): self = .bool(flag)
        }
    }
}

extension AMQPOutboundMessage {
    /// A parked message, ready to go back to its exchange as attempt `attempt`: the stored
    /// message id, type and body, PayFleet's headers, the original schema version, and the
    /// error history so far.
    public static func republishing(_ message: ParkedMessage, attempt: Int) -> AMQPOutboundMessage {
        var outbound = AMQPOutboundMessage.payfleet(
            body: message.body, messageID: message.messageID, type: message.type ?? message.routingKey,
            attempt: attempt)
        if let schema = message.headers[MessageHeader.schema] {
            outbound.headers[MessageHeader.schema] = AMQPHeaderValue(schema)
        }
        if !message.errors.isEmpty, let history = try? PayFleetJSON.encode(message.errors) {
            outbound.headers[MessageHeader.errors] = .string(String(decoding: history, as: UTF8.self))
        }
        return outbound
    }
}
