import Foundation
import PayFleetMessages

/// What WeChat Pay says about one order (`GET /v3/pay/transactions/out-trade-no/{out_trade_no}`).
public struct WeChatPayV3TransactionQueryResult: Sendable, Equatable {
    /// `trade_state`; unknown values are kept as they are.
    public struct TradeState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// Paid.
        public static let success = TradeState(rawValue: "SUCCESS")
        /// Paid, then (partly) refunded.
        public static let refund = TradeState(rawValue: "REFUND")
        /// Not paid yet.
        public static let notPay = TradeState(rawValue: "NOTPAY")
        /// Closed unpaid.
        public static let closed = TradeState(rawValue: "CLOSED")
        /// Revoked (payment code payments).
        public static let revoked = TradeState(rawValue: "REVOKED")
        /// The payer is entering a password.
        public static let userPaying = TradeState(rawValue: "USERPAYING")
        /// Payment failed (e.g. refused by the bank).
        public static let payError = TradeState(rawValue: "PAYERROR")

        public var description: String { rawValue }
    }

    public var outTradeNo: String
    /// WeChat Pay's order number (`transaction_id`); absent until paid.
    public var transactionID: String?
    public var tradeState: TradeState
    /// `trade_state_desc`, e.g. 支付成功.
    public var tradeStateDescription: String?
    /// `amount.total` in minor units; absent for some unpaid orders.
    public var amountTotalMinor: Int64?
    /// `amount.currency`, upper-cased.
    public var currency: String?
    /// `success_time`; present once paid.
    public var successTime: Date?
    /// The verified response body, for the audit trail.
    public var raw: String

    public init(
        outTradeNo: String, transactionID: String?, tradeState: TradeState, tradeStateDescription: String?,
        amountTotalMinor: Int64?, currency: String?, successTime: Date?, raw: String
    ) {
        self.outTradeNo = outTradeNo
        self.transactionID = transactionID
        self.tradeState = tradeState
        self.tradeStateDescription = tradeStateDescription
        self.amountTotalMinor = amountTotalMinor
        self.currency = currency
        self.successTime = successTime
        self.raw = raw
    }
}

extension WeChatPayV3TransactionQueryResult.TradeState {
    /// What payment-worker makes of a queried trade, in both API versions (v2's orderquery has the same states):
    /// SUCCESS and REFUND paid — with the transaction id, amount and time a paid order must carry, else the answer
    /// is malformed — CLOSED and REVOKED closed, the rest (NOTPAY, USERPAYING, PAYERROR) pending.
    func paymentState(
        paymentNo: String, transactionID: String?, amountMinor: Int64?, currency: String?, paidAt: Date?, raw: String,
        channel: ChannelID, operation: String, incomplete: String
    ) throws(ChannelAPIError) -> ChannelPaymentState {
        switch self {
        case .success, .refund:
            guard let transactionID, let amountMinor, let paidAt else {
                throw ChannelAPIError(code: .malformedResponse, channel: channel, operation: operation, message: incomplete)
            }
            return .paid(
                ChannelPayment(
                    paymentNo: paymentNo, channelTradeNo: transactionID, amountMinor: amountMinor,
                    currency: currency ?? "CNY", paidAt: paidAt, raw: raw))
        case .closed, .revoked:
            return .closed(detail: rawValue)
        default:
            return .pending(detail: rawValue)
        }
    }
}
