import Foundation
import PayFleetMessages

/// A refund to make at a channel: what refund-worker passes to ``PaymentGateway/refund(_:)``.
public struct RefundOrder: Sendable, Equatable {
    /// Our refund number: the channel's out_refund_no / out_request_no / bizRefundBatchId / Idempotency-Key, so a
    /// repeated call never becomes a second refund.
    public var refundNo: String
    /// Our payment number (out_trade_no).
    public var paymentNo: String
    /// The channel's trade number of the payment (WeChat Pay transaction_id, Alipay trade_no, Baidu orderId, Stripe
    /// PaymentIntent id).
    public var channelTradeNo: String
    /// The payer's id where the channel's refund API asks for it (Baidu's userId); nil elsewhere.
    public var payerID: String?
    /// What the payment was, in minor units (WeChat Pay checks it).
    public var paymentAmountMinor: Int64
    /// What to give back, in minor units; more than 0.
    public var amountMinor: Int64
    /// ISO 4217, upper case.
    public var currency: String
    /// Shown to the payer where the channel shows one, cut to what it takes (WeChat Pay 80 characters, Alipay 256);
    /// may be empty.
    public var reason: String

    public init(
        refundNo: String, paymentNo: String, channelTradeNo: String, payerID: String? = nil,
        paymentAmountMinor: Int64, amountMinor: Int64, currency: String, reason: String = ""
    ) {
        self.refundNo = refundNo
        self.paymentNo = paymentNo
        self.channelTradeNo = channelTradeNo
        self.payerID = payerID
        self.paymentAmountMinor = paymentAmountMinor
        self.amountMinor = amountMinor
        self.currency = currency
        self.reason = reason
    }

    /// What ``PaymentGateway/queryRefund(_:)`` needs to find this refund again, once the channel's own refund number
    /// (if any) is known.
    public func lookup(channelRefundNo: String?) -> RefundLookup {
        RefundLookup(
            refundNo: refundNo, paymentNo: paymentNo, channelTradeNo: channelTradeNo,
            channelRefundNo: channelRefundNo, payerID: payerID)
    }
}

/// A refund to ask a channel about: what refund-worker passes to ``PaymentGateway/queryRefund(_:)``.
public struct RefundLookup: Sendable, Equatable {
    public var refundNo: String
    public var paymentNo: String
    public var channelTradeNo: String
    /// The channel's refund number, once it gave one (WeChat Pay refund_id, Baidu refundBatchId, Stripe `re_…`).
    public var channelRefundNo: String?
    /// Baidu's userId; nil elsewhere.
    public var payerID: String?

    public init(
        refundNo: String, paymentNo: String, channelTradeNo: String, channelRefundNo: String? = nil,
        payerID: String? = nil
    ) {
        self.refundNo = refundNo
        self.paymentNo = paymentNo
        self.channelTradeNo = channelTradeNo
        self.channelRefundNo = channelRefundNo
        self.payerID = payerID
    }
}

/// A refund the channel reports done.
public struct ChannelRefund: Sendable, Equatable {
    public var refundNo: String
    /// The channel's own refund number.
    public var channelRefundNo: String
    /// What the channel says was refunded, in minor units, when it says so; compared with ours when settling.
    public var amountMinor: Int64?
    /// When the money went back, when the channel says so.
    public var succeededAt: Date?
    /// The verified response text, for the audit trail.
    public var raw: String

    public init(refundNo: String, channelRefundNo: String, amountMinor: Int64?, succeededAt: Date?, raw: String) {
        self.refundNo = refundNo
        self.channelRefundNo = channelRefundNo
        self.amountMinor = amountMinor
        self.succeededAt = succeededAt
        self.raw = raw
    }
}

/// What a channel says about one refund, after a refund call or a refund query.
public enum ChannelRefundState: Sendable, Equatable {
    /// Accepted, money on its way (WeChat Pay PROCESSING, Baidu's batch opened, Stripe `pending`); the outcome
    /// comes in a notification or a later query.
    case processing(channelRefundNo: String?, raw: String)
    /// The money is back with the payer (WeChat Pay SUCCESS, Alipay `fund_change=Y` / REFUND_SUCCESS, Stripe
    /// `succeeded`).
    case succeeded(ChannelRefund)
    /// The channel gave the refund up after accepting it (WeChat Pay ABNORMAL / CLOSED, v2 CHANGE / REFUNDCLOSE,
    /// Baidu refund failed, Stripe `failed` / `canceled`); `detail` is its own state name.
    case failed(channelRefundNo: String?, detail: String, raw: String)
    /// The channel has no refund under this number.
    case notFound
}
