import Foundation

/// WeChat Pay as both of its API versions play it: one order state machine (`trade_state` NOTPAY, CLOSED,
/// SUCCESS, REFUND), merchants known by `mch_id`, no notification when an order closes, and the same acts. The
/// versions differ in their wire formats and signing only, which stay in ``WeChatPayV3Sandbox`` and
/// ``WeChatPayV2Sandbox``.
protocol WeChatPaySandbox: SandboxChannel {
    associatedtype Merchant
    /// The merchant whose `mch_id` is `mchID`.
    func merchant(mchID: String) -> Merchant?
    /// The refund's state in the version's words (a failed one is v3's `ABNORMAL`, v2's `CHANGE`).
    func refundState(_ refund: SandboxRefund) -> String
    /// Sends the payment notification of the order just paid; the act's reply.
    func announcePayment(_ paid: SandboxPayment, paidAt: Date, merchant: Merchant) async -> SandboxReply
    /// Sends the notification of the refund just completed (or failed); the act's reply.
    func announceRefund(_ refund: SandboxRefund, of payment: SandboxPayment, merchant: Merchant) async -> SandboxReply
}

extension WeChatPaySandbox {
    /// `trade_state`: a paid order is REFUND once it has a refund.
    func tradeState(_ payment: SandboxPayment) -> String {
        switch payment.status {
        case .unpaid: "NOTPAY"
        case .closed: "CLOSED"
        case .paid: payment.refunds.isEmpty ? "SUCCESS" : "REFUND"
        }
    }

    /// `trade_state_desc`: WeChat Pay's words for `trade_state`.
    func tradeStateDescription(_ state: String) -> String {
        let descriptions = ["NOTPAY": "订单未支付", "CLOSED": "订单已关闭", "SUCCESS": "支付成功", "REFUND": "转入退款"]
        return descriptions[state] ?? state
    }

    func pay(outTradeNo: String, account: String?, late: Bool) async -> SandboxReply {
        await onOrder(outTradeNo, account: account) { found in
            let paid = ledger.payUnpaid(found.key, late: late)
            guard let paid, let merchant = merchant(mchID: paid.key.account), let paidAt = paid.paidAt else {
                return .error(409, "\(name) order \(outTradeNo) is closed; it cannot be paid")
            }
            return await announcePayment(paid, paidAt: paidAt, merchant: merchant)
        }
    }

    func close(outTradeNo: String, account: String?) async -> SandboxReply {
        onOrder(outTradeNo, account: account) { found in
            guard ledger.closeUnpaid(found.key) != nil else {
                return .error(409, "\(name) order \(outTradeNo) is paid; it cannot be closed")
            }
            // WeChat Pay sends no notification when an order closes.
            return .json(200, summary(found, status: tradeState, delivery: nil))
        }
    }

    func refund(outRefundNo: String, account: String?) async -> SandboxReply {
        await completingRefund(outRefundNo, account: account) { payment, refund in
            guard let merchant = merchant(mchID: payment.key.account) else { return noRefund(outRefundNo) }
            return await announceRefund(refund, of: payment, merchant: merchant)
        }
    }

    /// The refund act's reply: its summary with the refund's number and state.
    func refundSummary(_ refund: SandboxRefund, of payment: SandboxPayment, delivery: SandboxDelivery) -> SandboxReply {
        var reply = summary(payment, status: tradeState, delivery: delivery)
        reply["out_refund_no"] = refund.outRefundNo
        reply["refund_status"] = refundState(refund)
        return .json(200, reply)
    }

    func state(outTradeNo: String, account: String?) -> SandboxReply {
        onOrder(outTradeNo, account: account) {
            .json(200, $0.stateJSON(state: tradeState($0), refundState: refundState))
        }
    }
}
