/// A refund to request from WeChat Pay (`POST /v3/refund/domestic/refunds`).
public struct WeChatPayV3RefundRequest: Sendable, Equatable {
    /// The payment refunded (`out_trade_no`).
    public var outTradeNo: String
    /// Our refund number (`out_refund_no`): the idempotency key, so a retried refund is never paid twice.
    public var outRefundNo: String
    /// The amount to refund, in minor units; more than 0 and at most ``totalMinor``.
    public var refundMinor: Int64
    /// The payment's total, in minor units (WeChat Pay checks it).
    public var totalMinor: Int64
    /// ISO 4217 code; `CNY`.
    public var currency: String
    /// Shown to the payer (`reason`), optional.
    public var reason: String?
    /// Overrides ``WeChatPayV3ClientConfiguration/refundNotifyURL`` for this refund.
    public var notifyURL: String?

    public init(
        outTradeNo: String, outRefundNo: String, refundMinor: Int64, totalMinor: Int64, currency: String = "CNY",
        reason: String? = nil, notifyURL: String? = nil
    ) {
        self.outTradeNo = outTradeNo
        self.outRefundNo = outRefundNo
        self.refundMinor = refundMinor
        self.totalMinor = totalMinor
        self.currency = currency
        self.reason = reason
        self.notifyURL = notifyURL
    }
}
