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
    /// The payer's id at the channel where a later call needs it (Baidu's `userId`, which its refund API asks
    /// for); nil elsewhere.
    public var payerID: String?

    public init(
        id: String, channel: ChannelID, merchant: String, kind: Kind, paymentNo: String, channelTradeNo: String,
        amountMinor: Int64, currency: String, occurredAt: Date, raw: String, payerID: String? = nil
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
        self.payerID = payerID
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
        case payerID = "payer_id"
    }
}

/// A refund notification, normalised: a refund the channel finished (succeeded, or failed / closed / abnormal).
/// Published with routing key `refund.<status>.<channel>`; refund-worker settles it.
public struct RefundNotification: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case succeeded
        case failed
    }

    /// The channel's notification id, or what identifies this outcome of this refund (`<refund id>:<status>`)
    /// when it has none; with the channel, the dedup key.
    public var id: String
    public var channel: ChannelID
    public var merchant: String
    /// Our out_refund_no / out_request_no / bizRefundBatchId / Stripe `metadata.out_refund_no`. For a refund
    /// made in the channel's console, which carries none of ours, the channel's own refund number.
    public var refundNo: String
    public var channelRefundNo: String
    /// Our out_trade_no; empty when the channel names the payment only by its own number (`channelTradeNo`).
    public var paymentNo: String
    public var status: Status
    /// This refund's amount in minor units, when the channel states it (Baidu's callback and Alipay's trade
    /// notification do not); nil otherwise.
    public var amountMinor: Int64?
    public var occurredAt: Date
    public var raw: String
    /// The channel's trade number of the payment refunded (WeChat Pay transaction_id, Alipay trade_no, Stripe
    /// PaymentIntent id), when the notification carries it.
    public var channelTradeNo: String?
    /// Everything refunded on the payment so far, when that is what the channel states instead of this refund's
    /// amount (Alipay's `refund_fee`).
    public var refundedTotalMinor: Int64?

    public init(
        id: String, channel: ChannelID, merchant: String, refundNo: String, channelRefundNo: String,
        paymentNo: String, status: Status, amountMinor: Int64?, occurredAt: Date, raw: String,
        channelTradeNo: String? = nil, refundedTotalMinor: Int64? = nil
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
        self.channelTradeNo = channelTradeNo
        self.refundedTotalMinor = refundedTotalMinor
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
        case channelTradeNo = "channel_trade_no"
        case refundedTotalMinor = "refunded_total_minor"
    }
}
