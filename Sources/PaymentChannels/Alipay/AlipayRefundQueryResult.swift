/// What Alipay says about one refund (`alipay.trade.fastpay.refund.query`).
public struct AlipayRefundQueryResult: Sendable, Equatable {
    public var outTradeNo: String
    public var outRequestNo: String
    public var tradeNo: String?
    /// `refund_amount` in minor units; absent when Alipay has no successful refund under this number.
    public var refundAmountMinor: Int64?
    /// `refund_status`: `REFUND_SUCCESS`, or nil when the refund was not received or failed.
    public var refundStatus: String?
    /// The verified `alipay_trade_fastpay_refund_query_response` text, for the audit trail.
    public var raw: String

    public init(
        outTradeNo: String, outRequestNo: String, tradeNo: String?, refundAmountMinor: Int64?, refundStatus: String?,
        raw: String
    ) {
        self.outTradeNo = outTradeNo
        self.outRequestNo = outRequestNo
        self.tradeNo = tradeNo
        self.refundAmountMinor = refundAmountMinor
        self.refundStatus = refundStatus
        self.raw = raw
    }

    /// True when Alipay reports the refund done (`REFUND_SUCCESS`).
    public var succeeded: Bool { refundStatus == "REFUND_SUCCESS" }
}
