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
