import Foundation

/// Alipay's answer to a refund request (`alipay.trade.refund`).
public struct AlipayRefundResult: Sendable, Equatable {
    public var outTradeNo: String
    public var tradeNo: String?
    /// `refund_fee`: the total refunded on the trade so far, in minor units (all refunds, not only this one).
    public var refundFeeMinor: Int64
    /// `fund_change == "Y"`: this call moved money. `false` on a repeated call of a refund already made; query
    /// it to be sure.
    public var fundChange: Bool
    /// `gmt_refund_pay`: when Alipay refunded (China Standard Time), the refund's time on Alipay's bill; nil when
    /// the answer has none or it does not parse.
    public var refundedAt: Date?
    /// The verified `alipay_trade_refund_response` text, for the audit trail.
    public var raw: String

    public init(
        outTradeNo: String, tradeNo: String?, refundFeeMinor: Int64, fundChange: Bool, refundedAt: Date? = nil,
        raw: String
    ) {
        self.outTradeNo = outTradeNo
        self.tradeNo = tradeNo
        self.refundFeeMinor = refundFeeMinor
        self.fundChange = fundChange
        self.refundedAt = refundedAt
        self.raw = raw
    }
}
