/// What a unit of work decided about one delivery.
public enum DeliveryDisposition: Sendable, Equatable {
    /// Done (applied, or a duplicate that changes nothing): ack.
    case ack
    /// The database is down: nack with requeue after a pause, so the message waits in the
    /// broker and nothing is lost (a retry could not be written either). The quorum queue's
    /// delivery limit catches poison.
    case requeueAfterPause
    /// Another dependency failed transiently (a channel API's 5xx or timeout): park the message
    /// in `retries`, due after the routing key's backoff, and ack (DESIGN §6); past the routing
    /// key's last attempt it goes to `dead_letters` with its error history. `reason` joins that
    /// history: say what failed, never a secret. When PostgreSQL cannot take it, or the consumer
    /// has no ``RetryScheduler``, this falls back to ``requeueAfterPause``.
    case retryLater(reason: String)
    /// Cannot ever succeed (malformed, unknown schema): nack without requeue, so the queue
    /// dead-letters it to payfleet.dead for an operator.
    case reject(reason: String)
}
