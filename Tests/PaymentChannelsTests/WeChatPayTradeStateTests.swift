import Foundation
import PayFleetMessages
import Testing

@testable import PaymentChannels

/// payment.query on WeChat Pay (v3 query_transaction, v2 orderquery): one mapping of trade_state for both versions.
@Suite("WeChat Pay trade states")
struct WeChatPayTradeStateTests {
    typealias TradeState = WeChatPayV3TransactionQueryResult.TradeState

    static func state(
        _ tradeState: TradeState, transactionID: String? = "4200001", amount: Int64? = 1000, paidAt: Date? = Date(timeIntervalSince1970: 1_764_000_000)
    ) throws(ChannelAPIError) -> ChannelPaymentState {
        try tradeState.paymentState(
            paymentNo: "PF1", transactionID: transactionID, amountMinor: amount, currency: nil, paidAt: paidAt, raw: "{}",
            channel: .wechatpayV2, operation: "orderquery", incomplete: "paid without transaction_id")
    }

    @Test("SUCCESS and REFUND are paid (CNY when no currency is given); CLOSED and REVOKED closed; the rest pending")
    func states() throws {
        let paid = ChannelPaymentState.paid(
            ChannelPayment(
                paymentNo: "PF1", channelTradeNo: "4200001", amountMinor: 1000, currency: "CNY",
                paidAt: Date(timeIntervalSince1970: 1_764_000_000), raw: "{}"))
        #expect(try Self.state(.success) == paid)
        #expect(try Self.state(.refund) == paid)
        #expect(try Self.state(.closed) == .closed(detail: "CLOSED"))
        #expect(try Self.state(.revoked) == .closed(detail: "REVOKED"))
        for pending in [TradeState.notPay, .userPaying, .payError, TradeState(rawValue: "SOMETHING_NEW")] {
            #expect(try Self.state(pending) == .pending(detail: pending.rawValue))
        }
    }

    @Test("paid without the transaction id, amount or time is a malformed answer, not a payment")
    func incompletePaid() {
        for (id, amount, time) in [(nil, 1000, Date()), ("4200001", nil, Date()), ("4200001", 1000, nil)] as [(String?, Int64?, Date?)] {
            #expect(throws: ChannelAPIError.self) { try Self.state(.success, transactionID: id, amount: amount, paidAt: time) }
            do {
                _ = try Self.state(.success, transactionID: id, amount: amount, paidAt: time)
            } catch {
                #expect(error.code == .malformedResponse && error.channel == .wechatpayV2)
            }
        }
    }
}
