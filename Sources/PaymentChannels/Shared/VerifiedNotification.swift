import PayFleetMessages

/// The outcome of verifying a channel notification.
public enum VerifiedNotification: Sendable, Equatable {
    /// A payment settled or closed: publish it.
    case payment(PaymentNotification)
    /// A refund finished: publish it.
    case refund(RefundNotification)
    /// Authentic, but nothing to do (e.g. a trade still waiting for the buyer, an event type PayFleet does not
    /// handle): reply success and publish nothing.
    case ignored(reason: String)
}
