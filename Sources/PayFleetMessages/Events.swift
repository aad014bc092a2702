import Foundation

/// Event `order.paid`: emitted once per order, through the outbox, when its payment settles.
public struct OrderPaid: Codable, Sendable, Equatable {
    public var orderNo: String
    public var paymentNo: String
    public var channel: ChannelID
    public var channelTradeNo: String
    public var amountMinor: Int64
    public var currency: String
    public var paidAt: Date

    public init(
        orderNo: String, paymentNo: String, channel: ChannelID, channelTradeNo: String, amountMinor: Int64,
        currency: String, paidAt: Date
    ) {
        self.orderNo = orderNo
        self.paymentNo = paymentNo
        self.channel = channel
        self.channelTradeNo = channelTradeNo
        self.amountMinor = amountMinor
        self.currency = currency
        self.paidAt = paidAt
    }

    public var messageID: String { Self.messageIDPrefix + orderNo }

    /// `order.paid:`: an order.paid event's message id is this followed by the order number.
    public static let messageIDPrefix = "order.paid:"

    enum CodingKeys: String, CodingKey {
        case channel, currency
        case orderNo = "order_no"
        case paymentNo = "payment_no"
        case channelTradeNo = "channel_trade_no"
        case amountMinor = "amount_minor"
        case paidAt = "paid_at"
    }
}

/// Event `payment.created`: the order exists, its stock is reserved and its payment is pending.
public struct PaymentCreated: Codable, Sendable, Equatable {
    public var orderNo: String
    public var paymentNo: String
    public var channel: ChannelID
    public var merchant: String
    public var amountMinor: Int64
    public var currency: String
    public var expiresAt: Date?
    /// What the client needs to start paying (e.g. WeChat JSAPI's signed set); empty until
    /// the channel's prepay call is made.
    public var payParameters: [String: String]

    public init(
        orderNo: String, paymentNo: String, channel: ChannelID, merchant: String, amountMinor: Int64, currency: String,
        expiresAt: Date?, payParameters: [String: String] = [:]
    ) {
        self.orderNo = orderNo
        self.paymentNo = paymentNo
        self.channel = channel
        self.merchant = merchant
        self.amountMinor = amountMinor
        self.currency = currency
        self.expiresAt = expiresAt
        self.payParameters = payParameters
    }

    public var messageID: String { "payment.created:\(paymentNo)" }

    enum CodingKeys: String, CodingKey {
        case channel, merchant, currency
        case orderNo = "order_no"
        case paymentNo = "payment_no"
        case amountMinor = "amount_minor"
        case expiresAt = "expires_at"
        case payParameters = "pay_parameters"
    }
}

/// Event `payment.rejected`: a payment.create job that could not be honoured.
public struct PaymentRejected: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable {
        case insufficientStock = "insufficient_stock"
        case invalidJob = "invalid_job"
        case conflictingJob = "conflicting_job"
        case channelRejected = "channel_rejected"
    }

    public var orderNo: String
    public var reason: Reason
    public var detail: String

    public init(orderNo: String, reason: Reason, detail: String) {
        self.orderNo = orderNo
        self.reason = reason
        self.detail = detail
    }

    public var messageID: String { "payment.rejected:\(orderNo)" }

    enum CodingKeys: String, CodingKey {
        case reason, detail
        case orderNo = "order_no"
    }
}

/// Event `payment.anomaly`: a notification that must not be settled (amount or currency
/// mismatch, unknown payment). The payment, if any, stays as it was.
public struct PaymentAnomaly: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case amountMismatch = "amount_mismatch"
        case currencyMismatch = "currency_mismatch"
        case unknownPayment = "unknown_payment"
        case channelMismatch = "channel_mismatch"
        /// Not written since schema 4: money that arrives for a closed payment is settled, and inventory-worker
        /// takes the order's stock from what is free or refunds the payment (`order.oversold`).
        case paidAfterClose = "paid_after_close"
        /// The payment is already paid under another channel trade number: a second payment.
        case duplicatePayment = "duplicate_payment"
        /// A refund PayFleet never asked for (made in the channel's merchant console). Recorded as a refund of the
        /// payment when its amount is known and fits; otherwise only here, for an operator.
        case unrequestedRefund = "unrequested_refund"
        /// The channel reports one of our refunds with another amount than we asked for: not settled.
        case refundAmountMismatch = "refund_amount_mismatch"
    }

    public var kind: Kind
    public var paymentNo: String
    public var notificationID: String
    public var channel: ChannelID
    public var expectedAmountMinor: Int64?
    public var notifiedAmountMinor: Int64
    public var expectedCurrency: String?
    public var notifiedCurrency: String
    public var detail: String

    public init(
        kind: Kind, paymentNo: String, notificationID: String, channel: ChannelID, expectedAmountMinor: Int64?,
        notifiedAmountMinor: Int64, expectedCurrency: String?, notifiedCurrency: String, detail: String
    ) {
        self.kind = kind
        self.paymentNo = paymentNo
        self.notificationID = notificationID
        self.channel = channel
        self.expectedAmountMinor = expectedAmountMinor
        self.notifiedAmountMinor = notifiedAmountMinor
        self.expectedCurrency = expectedCurrency
        self.notifiedCurrency = notifiedCurrency
        self.detail = detail
    }

    public var messageID: String { "payment.anomaly:\(channel.rawValue):\(notificationID)" }

    enum CodingKeys: String, CodingKey {
        case kind, channel, detail
        case paymentNo = "payment_no"
        case notificationID = "notification_id"
        case expectedAmountMinor = "expected_amount_minor"
        case notifiedAmountMinor = "notified_amount_minor"
        case expectedCurrency = "expected_currency"
        case notifiedCurrency = "notified_currency"
    }
}

/// Event `payment.closed`: the payment was closed unpaid (by the channel or on expiry) and
/// its stock reservation released.
public struct PaymentClosed: Codable, Sendable, Equatable {
    public var orderNo: String
    public var paymentNo: String
    public var channel: ChannelID
    public var closedAt: Date

    public init(orderNo: String, paymentNo: String, channel: ChannelID, closedAt: Date) {
        self.orderNo = orderNo
        self.paymentNo = paymentNo
        self.channel = channel
        self.closedAt = closedAt
    }

    public var messageID: String { "payment.closed:\(paymentNo)" }

    enum CodingKeys: String, CodingKey {
        case channel
        case orderNo = "order_no"
        case paymentNo = "payment_no"
        case closedAt = "closed_at"
    }
}

/// Event `refund.succeeded`: the money of one refund is back with the payer; the payment's refunded amount grew.
public struct RefundSucceeded: Codable, Sendable, Equatable {
    public enum Origin: String, Codable, Sendable {
        /// Asked for with `refund.create`.
        case requested
        /// Made outside PayFleet (the channel's merchant console) and learnt from the channel's notification.
        case channel
    }

    public var refundNo: String
    public var paymentNo: String
    public var orderNo: String
    public var channel: ChannelID
    public var channelRefundNo: String
    public var amountMinor: Int64
    public var currency: String
    /// Everything refunded on the payment now, this refund included.
    public var refundedMinor: Int64
    /// The payment's state now: `partially_refunded` or `refunded`.
    public var paymentStatus: PaymentStatus
    public var origin: Origin
    public var succeededAt: Date

    public init(
        refundNo: String, paymentNo: String, orderNo: String, channel: ChannelID, channelRefundNo: String,
        amountMinor: Int64, currency: String, refundedMinor: Int64, paymentStatus: PaymentStatus, origin: Origin,
        succeededAt: Date
    ) {
        self.refundNo = refundNo
        self.paymentNo = paymentNo
        self.orderNo = orderNo
        self.channel = channel
        self.channelRefundNo = channelRefundNo
        self.amountMinor = amountMinor
        self.currency = currency
        self.refundedMinor = refundedMinor
        self.paymentStatus = paymentStatus
        self.origin = origin
        self.succeededAt = succeededAt
    }

    public var messageID: String { "refund.succeeded:\(refundNo)" }

    enum CodingKeys: String, CodingKey {
        case channel, currency, origin
        case refundNo = "refund_no"
        case paymentNo = "payment_no"
        case orderNo = "order_no"
        case channelRefundNo = "channel_refund_no"
        case amountMinor = "amount_minor"
        case refundedMinor = "refunded_minor"
        case paymentStatus = "payment_status"
        case succeededAt = "succeeded_at"
    }
}

/// Event `refund.failed`: a refund that did not and will not happen — refused before reaching the channel, refused
/// by it, or given up by it (WeChat Pay ABNORMAL / CLOSED, Stripe failed). Its reserved amount is released.
public struct RefundFailed: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable {
        /// The job is malformed (amount, currency, refund_no, no payment named).
        case invalidJob = "invalid_job"
        /// No payment has this payment_no / order_no.
        case unknownPayment = "unknown_payment"
        /// The payment is not paid (pending or closed unpaid): there is nothing to give back.
        case notRefundable = "not_refundable"
        /// Refunded + pending + this amount would exceed what was paid.
        case exceedsRefundable = "exceeds_refundable"
        /// The refund_no is already used by a refund of another amount or payment.
        case refundNoConflict = "refund_no_conflict"
        /// The channel refused the refund (a permanent error).
        case channelRejected = "channel_rejected"
        /// The channel accepted the refund and later reported it failed or closed.
        case channelFailed = "channel_failed"
    }

    public var refundNo: String
    public var paymentNo: String?
    public var orderNo: String?
    public var amountMinor: Int64
    public var reason: Reason
    /// What was wrong, in plain words.
    public var detail: String

    public init(
        refundNo: String, paymentNo: String?, orderNo: String?, amountMinor: Int64, reason: Reason, detail: String
    ) {
        self.refundNo = refundNo
        self.paymentNo = paymentNo
        self.orderNo = orderNo
        self.amountMinor = amountMinor
        self.reason = reason
        self.detail = detail
    }

    /// `refund.failed:<refund_no>`: a refund fails once. A job refused because its refund_no belongs to another
    /// refund carries a longer id (see docs/messages.md), so it never hides the real refund's own event.
    public var messageID: String { "refund.failed:\(refundNo)" }

    enum CodingKeys: String, CodingKey {
        case reason, detail
        case refundNo = "refund_no"
        case paymentNo = "payment_no"
        case orderNo = "order_no"
        case amountMinor = "amount_minor"
    }
}

/// Event `inventory.confirmed`: a paid order's stock left the warehouse — its reservation became a deduction
/// (on_hand and reserved both decreased), or, when the reservation had been released (a payment paid after it
/// closed), the free stock covered it.
public struct InventoryConfirmed: Codable, Sendable, Equatable {
    public enum Source: String, Codable, Sendable {
        /// The order's own reservation.
        case reservation
        /// Stock nobody had reserved: the reservation was released before the money arrived.
        case freeStock = "free_stock"
    }

    public var orderNo: String
    public var items: [OrderItem]
    public var source: Source
    public var confirmedAt: Date

    public init(orderNo: String, items: [OrderItem], source: Source, confirmedAt: Date) {
        self.orderNo = orderNo
        self.items = items
        self.source = source
        self.confirmedAt = confirmedAt
    }

    public var messageID: String { "inventory.confirmed:\(orderNo)" }

    enum CodingKeys: String, CodingKey {
        case items, source
        case orderNo = "order_no"
        case confirmedAt = "confirmed_at"
    }
}

/// Event `order.oversold`: a paid order whose stock is gone (its reservation was released when the payment
/// closed, and the money came later); nothing was deducted and a `refund.create` for the whole payment was
/// written in the same transaction, under `refund_no`.
public struct OrderOversold: Codable, Sendable, Equatable {
    /// A sku the order wants more of than is free.
    public struct Shortage: Codable, Sendable, Equatable {
        public var sku: String
        public var wanted: Int64
        public var available: Int64

        public init(sku: String, wanted: Int64, available: Int64) {
            self.sku = sku
            self.wanted = wanted
            self.available = available
        }
    }

    public var orderNo: String
    public var paymentNo: String
    public var shortages: [Shortage]
    /// The automatic refund's number: `OVS<payment_no>`.
    public var refundNo: String
    public var refundAmountMinor: Int64

    public init(orderNo: String, paymentNo: String, shortages: [Shortage], refundNo: String, refundAmountMinor: Int64) {
        self.orderNo = orderNo
        self.paymentNo = paymentNo
        self.shortages = shortages
        self.refundNo = refundNo
        self.refundAmountMinor = refundAmountMinor
    }

    public var messageID: String { "order.oversold:\(orderNo)" }

    /// The refund number of the automatic refund of an oversold order's payment.
    public static func refundNo(paymentNo: String) -> String { "OVS\(paymentNo)" }

    enum CodingKeys: String, CodingKey {
        case shortages
        case orderNo = "order_no"
        case paymentNo = "payment_no"
        case refundNo = "refund_no"
        case refundAmountMinor = "refund_amount_minor"
    }
}
