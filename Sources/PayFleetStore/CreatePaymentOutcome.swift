import PayFleetMessages

/// What ``PayFleetStore/createPayment(_:)`` did with a `payment.create` job.
public enum CreatePaymentOutcome: Sendable, Equatable {
    /// The order, its items, the stock reservation, the pending payment and the
    /// `payment.created` outbox row were written.
    case created(PaymentCreated)
    /// An identical job already created this order: nothing changed.
    case alreadyCreated(paymentNo: String)
    /// The job was not honoured; a `payment.rejected` outbox row was written (once per
    /// distinct job) and nothing else changed.
    case rejected(PaymentRejected)
}
