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

    public var messageID: String { "order.paid:\(orderNo)" }

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
        case paidAfterClose = "paid_after_close"
        /// The payment is already paid under another channel trade number: a second payment.
        case duplicatePayment = "duplicate_payment"
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
