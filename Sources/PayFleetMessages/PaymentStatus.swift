/// A payment's state (`payments.status`), with the moves it may make, in one place.
///
/// ```
/// pending ──▶ paid ──▶ partially_refunded ──▶ refunded
///    │         ▲  ◀──────────┘ (a refund that failed after succeeding gives money back)
///    ▼         │
///  closed ─────┘ (money arrived after the close: settled, the order's stock taken from what is free)
/// ```
public enum PaymentStatus: String, Codable, Sendable, CaseIterable {
    case pending
    case paid
    case closed
    case partiallyRefunded = "partially_refunded"
    case refunded

    /// Money arrived for it: it can be refunded, and a second payment under another trade number is a duplicate.
    public var isSettled: Bool {
        switch self {
        case .paid, .partiallyRefunded, .refunded: true
        case .pending, .closed: false
        }
    }

    /// Whether a payment in this state may move to `next`.
    public func canMove(to next: PaymentStatus) -> Bool {
        switch (self, next) {
        case (.pending, .paid), (.pending, .closed), (.closed, .paid): true
        case (.paid, .partiallyRefunded), (.paid, .refunded): true
        case (.partiallyRefunded, .partiallyRefunded), (.partiallyRefunded, .refunded), (.partiallyRefunded, .paid): true
        case (.refunded, .partiallyRefunded), (.refunded, .paid): true
        default: false
        }
    }

    /// The state of a settled payment of `amountMinor` of which `refundedMinor` has been refunded.
    public static func settled(amountMinor: Int64, refundedMinor: Int64) -> PaymentStatus {
        if refundedMinor <= 0 { return .paid }
        return refundedMinor >= amountMinor ? .refunded : .partiallyRefunded
    }
}

/// A refund's state (`refunds.status`), with the moves it may make, in one place.
///
/// ```
/// requested ──▶ processing ──▶ succeeded
///     │             │   ▲          │
///     │             ▼   │          ▼ (Stripe: a refund may fail after succeeding)
///     └──────────▶ failed ◀────────┘
/// ```
/// `requested`: written before the channel is called, its amount reserved (`refund_pending_minor`).
/// `processing`: the channel accepted it. `succeeded`: the money is back with the payer. `failed`: refused, or
/// the channel gave up; the reservation is released. A channel that reports success for a failed refund (an
/// operator retried it at the merchant platform) moves it to `succeeded` when the payment can still take it.
public enum RefundStatus: String, Codable, Sendable, CaseIterable {
    case requested
    case processing
    case succeeded
    case failed

    /// Its amount is reserved on the payment (`refund_pending_minor`).
    public var isPending: Bool { self == .requested || self == .processing }

    /// Whether a refund in this state may move to `next`.
    public func canMove(to next: RefundStatus) -> Bool {
        switch (self, next) {
        case (.requested, .processing), (.requested, .succeeded), (.requested, .failed): true
        case (.processing, .succeeded), (.processing, .failed): true
        case (.succeeded, .failed), (.failed, .succeeded): true
        default: false
        }
    }
}
