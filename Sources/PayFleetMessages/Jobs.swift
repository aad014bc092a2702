import Foundation

/// One line of an order: `quantity` units of `sku`.
public struct OrderItem: Codable, Sendable, Equatable {
    public var sku: String
    public var quantity: Int32

    public init(sku: String, quantity: Int32) {
        self.sku = sku
        self.quantity = quantity
    }
}

/// Job `payment.create` on `payfleet.jobs`: create the order, reserve its stock and open a
/// pending payment. Idempotent on `order_no`. See docs/messages.md for the JSON.
public struct CreatePayment: Codable, Sendable, Equatable {
    public var orderNo: String
    public var userID: String
    public var channel: ChannelID
    public var merchant: String
    public var amountMinor: Int64
    public var currency: String
    public var items: [OrderItem]
    public var description: String
    public var expiresAt: Date?
    /// The out_trade_no the channel will see. Optional: generated when absent
    /// (at most 32 letters and digits).
    public var paymentNo: String?
    /// Client context the channel needs for prepay, such as `openid` for WeChat JSAPI.
    public var client: [String: String]

    public init(
        orderNo: String, userID: String, channel: ChannelID, merchant: String, amountMinor: Int64, currency: String,
        items: [OrderItem], description: String, expiresAt: Date? = nil, paymentNo: String? = nil,
        client: [String: String] = [:]
    ) {
        self.orderNo = orderNo
        self.userID = userID
        self.channel = channel
        self.merchant = merchant
        self.amountMinor = amountMinor
        self.currency = currency
        self.items = items
        self.description = description
        self.expiresAt = expiresAt
        self.paymentNo = paymentNo
        self.client = client
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        orderNo = try c.decode(String.self, forKey: .orderNo)
        userID = try c.decode(String.self, forKey: .userID)
        channel = try c.decode(ChannelID.self, forKey: .channel)
        merchant = try c.decode(String.self, forKey: .merchant)
        amountMinor = try c.decode(Int64.self, forKey: .amountMinor)
        currency = try c.decode(String.self, forKey: .currency)
        items = try c.decode([OrderItem].self, forKey: .items)
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
        expiresAt = try c.decodeIfPresent(Date.self, forKey: .expiresAt)
        paymentNo = try c.decodeIfPresent(String.self, forKey: .paymentNo)
        client = try c.decodeIfPresent([String: String].self, forKey: .client) ?? [:]
    }

    /// `message_id` on the wire: one job per order.
    public var dedupKey: String { "payment.create:\(orderNo)" }

    enum CodingKeys: String, CodingKey {
        case channel, merchant, currency, items, description, client
        case orderNo = "order_no"
        case userID = "user_id"
        case amountMinor = "amount_minor"
        case expiresAt = "expires_at"
        case paymentNo = "payment_no"
    }
}

/// Job `payment.query` on `payfleet.jobs`: ask the payment's channel about it and, when the channel
/// says it is paid, settle it exactly as its notification would. How a missed notification is recovered.
/// Repeating it is harmless.
public struct QueryPayment: Codable, Sendable, Equatable {
    public var paymentNo: String

    public init(paymentNo: String) {
        self.paymentNo = paymentNo
    }

    public var dedupKey: String { "payment.query:\(paymentNo)" }

    enum CodingKeys: String, CodingKey {
        case paymentNo = "payment_no"
    }
}

/// Job `payment.close` on `payfleet.jobs`: close a pending payment at its channel and locally, releasing its
/// stock reservation. A payment the channel reports paid is settled instead. Repeating it is harmless.
public struct ClosePayment: Codable, Sendable, Equatable {
    public enum Reason: String, Codable, Sendable {
        /// Asked for by an upstream service (the customer cancelled the order, …).
        case requested
        /// Written by payment-worker's expiry sweep: the payment passed its `expires_at` unpaid.
        case expired
    }

    public var paymentNo: String
    public var reason: Reason

    public init(paymentNo: String, reason: Reason = .requested) {
        self.paymentNo = paymentNo
        self.reason = reason
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        paymentNo = try c.decode(String.self, forKey: .paymentNo)
        reason = try c.decodeIfPresent(Reason.self, forKey: .reason) ?? .requested
    }

    public var dedupKey: String { "payment.close:\(paymentNo)" }

    enum CodingKeys: String, CodingKey {
        case reason
        case paymentNo = "payment_no"
    }
}

/// Job `refund.create` on `payfleet.jobs`: give part or all of a paid payment back to the payer through its
/// channel. `refund_no` is chosen by the caller and is the idempotency key end to end: the channel sees it as
/// its out_refund_no / out_request_no / Idempotency-Key, so the same job again never refunds twice. Name the
/// payment by `payment_no` or by `order_no`.
public struct CreateRefund: Codable, Sendable, Equatable {
    public var refundNo: String
    public var paymentNo: String?
    public var orderNo: String?
    /// In minor units; more than 0.
    public var amountMinor: Int64
    /// ISO 4217, upper case: must be the payment's.
    public var currency: String
    /// Shown to the payer where the channel shows one.
    public var reason: String

    public init(
        refundNo: String, paymentNo: String? = nil, orderNo: String? = nil, amountMinor: Int64, currency: String,
        reason: String = ""
    ) {
        self.refundNo = refundNo
        self.paymentNo = paymentNo
        self.orderNo = orderNo
        self.amountMinor = amountMinor
        self.currency = currency
        self.reason = reason
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        refundNo = try c.decode(String.self, forKey: .refundNo)
        paymentNo = try c.decodeIfPresent(String.self, forKey: .paymentNo)
        orderNo = try c.decodeIfPresent(String.self, forKey: .orderNo)
        amountMinor = try c.decode(Int64.self, forKey: .amountMinor)
        currency = try c.decode(String.self, forKey: .currency)
        reason = try c.decodeIfPresent(String.self, forKey: .reason) ?? ""
    }

    /// `message_id` on the wire: one job per refund.
    public var dedupKey: String { "refund.create:\(refundNo)" }

    /// A refund number the channels all take: 1 to 64 letters, digits, `-` or `_`.
    public static func isValidRefundNo(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == 0x2D || byte == 0x5F
            }
    }

    enum CodingKeys: String, CodingKey {
        case currency, reason
        case refundNo = "refund_no"
        case paymentNo = "payment_no"
        case orderNo = "order_no"
        case amountMinor = "amount_minor"
    }
}

/// Job `refund.query` on `payfleet.jobs`: ask the refund's channel about it and settle it exactly as its
/// notification would. How a lost refund notification is recovered; refund-worker's sweep writes one for every
/// refund processing longer than `refunds.query_after_seconds`. Repeating it is harmless.
public struct QueryRefund: Codable, Sendable, Equatable {
    public var refundNo: String

    public init(refundNo: String) {
        self.refundNo = refundNo
    }

    public var dedupKey: String { "refund.query:\(refundNo)" }

    enum CodingKeys: String, CodingKey {
        case refundNo = "refund_no"
    }
}
