import Foundation

/// A payment notification a channel sent, verified and normalised by the notify-receiver.
/// Published to `payfleet.notify` with routing key `payment.<kind>.<channel>`.
public struct PaymentNotification: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// The customer paid: settle the payment.
        case succeeded
        /// The channel closed the trade unpaid.
        case closed
    }

    /// The channel's notification id, or a digest of the verified body when it has none;
    /// together with the channel it is the dedup key.
    public var id: String
    public var channel: ChannelID
    /// Our merchant account id (the `<merchant>` of `/notify/<channel>/<merchant>`).
    public var merchant: String
    public var kind: Kind
    /// Our out_trade_no.
    public var paymentNo: String
    public var channelTradeNo: String
    /// Amount in minor units (fen, cents); never floating point.
    public var amountMinor: Int64
    /// ISO 4217, upper case.
    public var currency: String
    public var occurredAt: Date
    /// The verified original body (decrypted resource where the channel encrypts), for audit.
    public var raw: String

    public init(
        id: String, channel: ChannelID, merchant: String, kind: Kind, paymentNo: String, channelTradeNo: String,
        amountMinor: Int64, currency: String, occurredAt: Date, raw: String
    ) {
        self.id = id
        self.channel = channel
        self.merchant = merchant
        self.kind = kind
        self.paymentNo = paymentNo
        self.channelTradeNo = channelTradeNo
        self.amountMinor = amountMinor
        self.currency = currency
        self.occurredAt = occurredAt
        self.raw = raw
    }

    /// `message_id` on the wire and the inbox key: stable across a channel's retries.
    public var dedupKey: String { "\(channel.rawValue):\(id)" }

    public var routingKey: String {
        switch kind {
        case .succeeded: RoutingKey.paymentSucceeded(channel)
        case .closed: RoutingKey.paymentClosed(channel)
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, channel, merchant, kind, currency, raw
        case paymentNo = "payment_no"
        case channelTradeNo = "channel_trade_no"
        case amountMinor = "amount_minor"
        case occurredAt = "occurred_at"
    }
}

/// A refund notification, normalised. Published with routing key `refund.<status>.<channel>`.
public struct RefundNotification: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case succeeded
        case failed
    }

    public var id: String
    public var channel: ChannelID
    public var merchant: String
    /// Our out_refund_no.
    public var refundNo: String
    public var channelRefundNo: String
    public var paymentNo: String
    public var status: Status
    public var amountMinor: Int64
    public var occurredAt: Date
    public var raw: String

    public init(
        id: String, channel: ChannelID, merchant: String, refundNo: String, channelRefundNo: String,
        paymentNo: String, status: Status, amountMinor: Int64, occurredAt: Date, raw: String
    ) {
        self.id = id
        self.channel = channel
        self.merchant = merchant
        self.refundNo = refundNo
        self.channelRefundNo = channelRefundNo
        self.paymentNo = paymentNo
        self.status = status
        self.amountMinor = amountMinor
        self.occurredAt = occurredAt
        self.raw = raw
    }

    public var dedupKey: String { "\(channel.rawValue):\(id)" }

    public var routingKey: String {
        switch status {
        case .succeeded: RoutingKey.refundSucceeded(channel)
        case .failed: RoutingKey.refundFailed(channel)
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, channel, merchant, status, raw
        case refundNo = "refund_no"
        case channelRefundNo = "channel_refund_no"
        case paymentNo = "payment_no"
        case amountMinor = "amount_minor"
        case occurredAt = "occurred_at"
    }
}
