import Foundation
import PayFleetMessages

extension WeChatPayV3Verifier {
    /// Turns a verified, decrypted notification into what PayFleet publishes.
    func normalise(_ notification: WeChatPayV3Notification) throws(ChannelError) -> VerifiedNotification {
        let event = notification.eventType
        if event.hasPrefix("TRANSACTION.") {
            return try transaction(notification)
        }
        switch event {
        case "REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED":
            return try refund(notification)
        default:
            return .ignored(reason: "WeChat Pay event \(event) is not handled")
        }
    }

    private func transaction(_ notification: WeChatPayV3Notification) throws(ChannelError) -> VerifiedNotification {
        let transaction = try decode(WeChatPayV3Transaction.self, notification)
        guard transaction.mchid == merchant.mchID, transaction.appid == merchant.appID else {
            throw ChannelError(
                code: .merchantMismatch,
                message: "transaction's mchid/appid are not merchant \(merchant.id)'s",
                detail: "mchid \(transaction.mchid ?? "none"), appid \(transaction.appid ?? "none")")
        }
        let state = transaction.tradeState ?? ""
        guard notification.eventType == "TRANSACTION.SUCCESS", state == "SUCCESS" else {
            return .ignored(reason: "WeChat Pay \(notification.eventType) with trade_state \(state)")
        }
        guard let paymentNo = transaction.outTradeNo, !paymentNo.isEmpty else {
            throw .malformed("transaction has no out_trade_no")
        }
        guard let tradeNo = transaction.transactionID, !tradeNo.isEmpty else {
            throw .malformed("transaction has no transaction_id")
        }
        guard let total = transaction.amount?.total, total >= 0 else {
            throw .malformed("transaction has no amount.total")
        }
        let occurredAt = try time(transaction.successTime ?? notification.createTime, field: "success_time")
        return .payment(
            PaymentNotification(
                id: notification.id, channel: .wechatpay, merchant: merchant.id, kind: .succeeded,
                paymentNo: paymentNo, channelTradeNo: tradeNo, amountMinor: total,
                currency: (transaction.amount?.currency ?? "CNY").uppercased(), occurredAt: occurredAt,
                raw: notification.plaintext))
    }

    private func refund(_ notification: WeChatPayV3Notification) throws(ChannelError) -> VerifiedNotification {
        let refund = try decode(WeChatPayV3Refund.self, notification)
        guard refund.mchid == merchant.mchID else {
            throw ChannelError(
                code: .merchantMismatch, message: "refund's mchid is not merchant \(merchant.id)'s",
                detail: "mchid \(refund.mchid ?? "none")")
        }
        guard let refundNo = refund.outRefundNo, !refundNo.isEmpty else {
            throw .malformed("refund has no out_refund_no")
        }
        guard let refundID = refund.refundID, !refundID.isEmpty else { throw .malformed("refund has no refund_id") }
        guard let paymentNo = refund.outTradeNo, !paymentNo.isEmpty else {
            throw .malformed("refund has no out_trade_no")
        }
        guard let amount = refund.amount?.refund, amount >= 0 else { throw .malformed("refund has no amount.refund") }
        let occurredAt = try time(refund.successTime ?? notification.createTime, field: "success_time")
        return .refund(
            RefundNotification(
                id: notification.id, channel: .wechatpay, merchant: merchant.id, refundNo: refundNo,
                channelRefundNo: refundID, paymentNo: paymentNo,
                status: notification.eventType == "REFUND.SUCCESS" ? .succeeded : .failed, amountMinor: amount,
                occurredAt: occurredAt, raw: notification.plaintext,
                channelTradeNo: refund.transactionID.flatMap { $0.isEmpty ? nil : $0 }))
    }

    private func decode<T: JSONObjectDecodable>(
        _ type: T.Type, _ notification: WeChatPayV3Notification
    ) throws(ChannelError) -> T {
        guard let resource = T.decode(notification.plaintext.utf8) else {
            throw .malformed(
                "decrypted \(notification.eventType) resource is not the JSON expected",
                detail: "notification \(notification.id)")
        }
        return resource
    }

    private func time(_ text: String, field: String) throws(ChannelError) -> Date {
        guard let date = ISO8601.parse(text) else {
            throw .malformed("\(field) is not an RFC 3339 time", detail: "\(field) \(text.prefix(40))")
        }
        return date
    }
}
