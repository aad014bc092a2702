/// A refund to request from Alipay (`alipay.trade.refund`).
public struct AlipayRefundRequest: Sendable, Equatable {
    /// The trade refunded (`out_trade_no`).
    public var outTradeNo: String
    /// Our refund number (`out_request_no`): the idempotency key, so a retried refund is never paid twice, and
    /// the key of ``AlipayClient/queryRefund(outTradeNo:outRequestNo:)``.
    public var outRequestNo: String
    /// The amount to refund in minor units (`refund_amount`, a decimal string); more than 0.
    public var refundAmountMinor: Int64
    /// `refund_reason`, optional.
    public var reason: String?

    public init(outTradeNo: String, outRequestNo: String, refundAmountMinor: Int64, reason: String? = nil) {
        self.outTradeNo = outTradeNo
        self.outRequestNo = outRequestNo
        self.refundAmountMinor = refundAmountMinor
        self.reason = reason
    }
}
