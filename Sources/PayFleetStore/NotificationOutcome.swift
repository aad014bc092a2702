import PayFleetMessages

/// What ``PayFleetStore/apply(_:)`` did with a payment notification.
public enum NotificationOutcome: Sendable, Equatable {
    /// The payment and its order turned paid; an `order.paid` outbox row was written.
    case settled(OrderPaid)
    /// The pending payment and its order were closed and the stock reservation released;
    /// a `payment.closed` outbox row was written.
    case closed(paymentNo: String)
    /// This notification (same dedup key) was applied before: nothing changed.
    case duplicate
    /// The notification must not be applied: an `anomalies` row and a `payment.anomaly`
    /// outbox row were written; the payment is unchanged.
    case anomaly(PaymentAnomaly)
    /// The payment is already in the state the notification reports (e.g. paid under the
    /// same channel trade number): nothing changed.
    case alreadyInState(paymentNo: String)
}
