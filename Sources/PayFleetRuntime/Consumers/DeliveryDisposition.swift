/// What a unit of work decided about one delivery.
public enum DeliveryDisposition: Sendable, Equatable {
    /// Done (applied, or a duplicate that changes nothing): ack.
    case ack
    /// A dependency is down: nack with requeue after a pause, so the message waits in the
    /// broker and nothing is lost. The quorum queue's delivery limit catches poison.
    case requeueAfterPause
    /// Cannot ever succeed (malformed, unknown schema): nack without requeue, so the queue
    /// dead-letters it to payfleet.dead for an operator.
    case reject(reason: String)
}
