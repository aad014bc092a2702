import Foundation

/// What an operator looks at before scaling, from PostgreSQL's side (`payfleet status`).
public struct StatusSummary: Sendable, Equatable {
    /// Number of payments per status (`pending`, `paid`, …); statuses with none are absent.
    public var paymentsByStatus: [String: Int]
    /// Outbox rows not yet published to payfleet.events.
    public var outboxUnpublished: Int
    /// Age in seconds of the oldest unpublished outbox row: the events-worker's lag.
    public var oldestUnpublishedAgeSeconds: Double?
    /// Anomalies not yet marked resolved.
    public var anomalies: Int
    /// When the oldest still-pending payment was created.
    public var oldestPendingPaymentCreatedAt: Date?
    /// Messages waiting in `retries`.
    public var retries: Int
    /// Of those, how many are due (run_at in the past): the retry-worker's backlog.
    public var retriesDue: Int
    /// Messages parked in `dead_letters`.
    public var deadLetters: Int
    /// Pending payments not yet opened at their channel (no prepay recorded): growing means the channel's API
    /// is failing and payment.create jobs are waiting in the retry path.
    public var awaitingPrepay: Int
    /// When the oldest of those was created.
    public var oldestAwaitingPrepayCreatedAt: Date?
    /// Number of refunds per status (`requested`, `processing`, `succeeded`, `failed`); statuses with none absent.
    public var refundsByStatus: [String: Int] = [:]
    /// Money given back (succeeded refunds) per currency, in minor units.
    public var refundedMinorByCurrency: [String: Int64] = [:]
    /// Money on its way back (requested or processing refunds) per currency, in minor units.
    public var refundPendingMinorByCurrency: [String: Int64] = [:]
    /// When the oldest refund still processing at its channel was accepted.
    public var oldestProcessingRefundAt: Date?
    /// Paid orders whose stock was gone (refunded automatically).
    public var oversoldOrders: Int = 0
    /// Paid orders whose stock is still reserved, waiting for inventory-worker.
    public var awaitingInventory: Int = 0
    /// Skus with at most ``lowStockThreshold`` free (on hand − reserved), fewest first (at most 10).
    public var lowStock: [StockLevel] = []
    /// What counts as low stock.
    public var lowStockThreshold: Int64 = 0
    /// Unresolved anomalies by kind (`amount_mismatch`, `unrequested_refund`, …).
    public var anomaliesByKind: [String: Int] = [:]
    /// How long the oldest due retry has been due: the retry-worker's lag.
    public var oldestDueRetryAgeSeconds: Double?

    public init(
        paymentsByStatus: [String: Int], outboxUnpublished: Int, oldestUnpublishedAgeSeconds: Double?, anomalies: Int,
        oldestPendingPaymentCreatedAt: Date?, retries: Int, retriesDue: Int, deadLetters: Int, awaitingPrepay: Int = 0,
        oldestAwaitingPrepayCreatedAt: Date? = nil
    ) {
        self.paymentsByStatus = paymentsByStatus
        self.outboxUnpublished = outboxUnpublished
        self.oldestUnpublishedAgeSeconds = oldestUnpublishedAgeSeconds
        self.anomalies = anomalies
        self.oldestPendingPaymentCreatedAt = oldestPendingPaymentCreatedAt
        self.retries = retries
        self.retriesDue = retriesDue
        self.deadLetters = deadLetters
        self.awaitingPrepay = awaitingPrepay
        self.oldestAwaitingPrepayCreatedAt = oldestAwaitingPrepayCreatedAt
    }
}

/// One sku's stock, as `payfleet status` shows the low ones.
public struct StockLevel: Sendable, Equatable {
    public var sku: String
    public var onHand: Int64
    public var reserved: Int64
    public var free: Int64 { onHand - reserved }

    public init(sku: String, onHand: Int64, reserved: Int64) {
        self.sku = sku
        self.onHand = onHand
        self.reserved = reserved
    }
}
