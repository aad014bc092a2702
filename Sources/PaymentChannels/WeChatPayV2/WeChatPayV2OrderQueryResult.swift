import Foundation

/// What WeChat Pay v2 says about one order (`POST /pay/orderquery`).
public struct WeChatPayV2OrderQueryResult: Sendable, Equatable {
    /// `trade_state`; the same names as API v3's, unknown values kept as they are.
    public typealias TradeState = WeChatPayV3TransactionQueryResult.TradeState

    public var outTradeNo: String
    /// WeChat Pay's order number (`transaction_id`); absent until paid.
    public var transactionID: String?
    public var tradeState: TradeState
    /// `trade_state_desc`, e.g. 支付成功.
    public var tradeStateDescription: String?
    /// `total_fee` in fen.
    public var totalFee: Int64?
    /// `fee_type`, upper-cased; CNY when absent.
    public var feeType: String?
    /// `time_end` (`yyyyMMddHHmmss` at +08:00); present once paid.
    public var timeEnd: Date?
    /// The verified response body, for the audit trail.
    public var raw: String

    public init(
        outTradeNo: String, transactionID: String?, tradeState: TradeState, tradeStateDescription: String?,
        totalFee: Int64?, feeType: String?, timeEnd: Date?, raw: String
    ) {
        self.outTradeNo = outTradeNo
        self.transactionID = transactionID
        self.tradeState = tradeState
        self.tradeStateDescription = tradeStateDescription
        self.totalFee = totalFee
        self.feeType = feeType
        self.timeEnd = timeEnd
        self.raw = raw
    }
}
