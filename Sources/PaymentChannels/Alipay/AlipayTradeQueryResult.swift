import Foundation

/// What Alipay says about one trade (`alipay.trade.query`).
public struct AlipayTradeQueryResult: Sendable, Equatable {
    /// `trade_status`; unknown values are kept as they are.
    public struct TradeStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// Created, not paid yet.
        public static let waitBuyerPay = TradeStatus(rawValue: "WAIT_BUYER_PAY")
        /// Closed unpaid, or fully refunded.
        public static let closed = TradeStatus(rawValue: "TRADE_CLOSED")
        /// Paid; refunds still possible.
        public static let success = TradeStatus(rawValue: "TRADE_SUCCESS")
        /// Paid and final; no more refunds.
        public static let finished = TradeStatus(rawValue: "TRADE_FINISHED")

        public var description: String { rawValue }
    }

    public var outTradeNo: String
    /// Alipay's trade number (`trade_no`).
    public var tradeNo: String?
    public var tradeStatus: TradeStatus
    /// `total_amount` in minor units.
    public var totalAmountMinor: Int64?
    /// `buyer_pay_amount` in minor units, when Alipay sends it.
    public var buyerPayAmountMinor: Int64?
    /// `send_pay_date` (read at +08:00), when paid.
    public var sendPayDate: Date?
    /// The verified `alipay_trade_query_response` text, for the audit trail.
    public var raw: String

    public init(
        outTradeNo: String, tradeNo: String?, tradeStatus: TradeStatus, totalAmountMinor: Int64?,
        buyerPayAmountMinor: Int64?, sendPayDate: Date?, raw: String
    ) {
        self.outTradeNo = outTradeNo
        self.tradeNo = tradeNo
        self.tradeStatus = tradeStatus
        self.totalAmountMinor = totalAmountMinor
        self.buyerPayAmountMinor = buyerPayAmountMinor
        self.sendPayDate = sendPayDate
        self.raw = raw
    }
}
