import Crypto
import Foundation
import PayFleetMessages
import _CryptoExtras

/// Verifies Baidu cashier ("百度收银台") notifications for one app and normalises them.
///
/// The body is form-encoded UTF-8; `rsaSign` is SHA1withRSA (PKCS#1 v1.5, base64) by a Baidu platform key
/// over every other parameter sorted by key (see ``BaiduSignContent``). Then `dealId` and `appKey`, where
/// present, must be the merchant's.
///
/// - Payment callbacks ("通知支付状态") carry `orderId`, `tpOrderId` (our payment no), `totalMoney` (fen),
///   `payTime` (Unix seconds) and `status`: `2` is paid and becomes a succeeded payment whose id is
///   `orderId`; other statuses are ignored.
/// - Refund callbacks ("通知退款状态") carry `refundBatchId` and `refundStatus` (`1` succeeded, `2` failed).
///   Baidu's documented callback names neither our refund no nor an amount nor a time: the refund no is
///   `bizRefundBatchId` when sent, else Baidu's `refundBatchId` (the refund is then matched by its batch); the
///   amount `refundPayMoney` or `applyRefundMoney` when sent, else none (the refund's own amount counts); the time
///   is `now`. A payment callback's `userId` travels as the payer id: Baidu's refund API asks for it.
///
/// Baidu reads only `errno`: ``successReply(for:)`` answers payments with `data.isConsumed` 2 and refunds
/// with empty `data`.
public struct BaiduVerifier: NotificationVerifier {
    public let merchant: BaiduMerchant

    public var channel: ChannelID { .baidu }
    public var merchantID: String { merchant.id }

    public init(merchant: BaiduMerchant) {
        self.merchant = merchant
    }

    public func verify(_ request: ChannelRequest, now: Date) throws(ChannelError) -> VerifiedNotification {
        if let mediaType = request.mediaType, mediaType != "application/x-www-form-urlencoded" {
            throw ChannelError(
                code: .unsupportedContentType, message: "Baidu notifications are application/x-www-form-urlencoded",
                detail: "content type \(mediaType.prefix(60))")
        }
        let pairs = try FormCodec.decode(request.body)
        var parameters: [String: String] = [:]
        for pair in pairs {
            guard parameters.updateValue(pair.value, forKey: pair.key) == nil else {
                throw .malformed("form body repeats a parameter", detail: "parameter \(pair.key.prefix(40))")
            }
        }
        try checkSignature(parameters: parameters, pairs: pairs)
        try checkMerchant(parameters)
        let raw = String(decoding: request.body, as: UTF8.self)
        if parameters["refundBatchId"] != nil {
            return try refund(parameters, raw: raw, now: now)
        }
        return try payment(parameters, raw: raw)
    }

    /// `{"errno":0,"msg":"success","data":{"isConsumed":2}}`: the payment callback's reply.
    public func successReply() -> ChannelReply {
        ChannelReply(
            status: 200, contentType: "application/json", body: #"{"errno":0,"msg":"success","data":{"isConsumed":2}}"#)
    }

    /// The payment reply, or `{"errno":0,"msg":"success","data":{}}` for a refund callback.
    public func successReply(for notification: VerifiedNotification) -> ChannelReply {
        guard case .refund = notification else { return successReply() }
        return ChannelReply(
            status: 200, contentType: "application/json", body: #"{"errno":0,"msg":"success","data":{}}"#)
    }

    public func failureReply(status: Int, message: String) -> ChannelReply {
        channel.failureReply(status: status, message: message)
    }

    private func checkSignature(
        parameters: [String: String], pairs: [(key: String, value: String)]
    ) throws(ChannelError) {
        guard let sign = parameters["rsaSign"], !sign.isEmpty else {
            throw .badSignature("Baidu notification has no rsaSign parameter")
        }
        // Base64 has no spaces: a '+' sent unencoded arrives as a space.
        guard let signature = Data(base64Encoded: sign.replacingOccurrences(of: " ", with: "+")) else {
            throw .badSignature("rsaSign is not base64")
        }
        let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: signature)
        let digests = [
            Insecure.SHA1.hash(data: BaiduSignContent.bytes(of: pairs, includingEmpty: true)),
            Insecure.SHA1.hash(data: BaiduSignContent.bytes(of: pairs, includingEmpty: false)),
        ]
        let valid = merchant.platformPublicKeys.contains { key in
            digests.contains { key.isValidSignature(rsaSignature, for: $0, padding: .insecurePKCS1v1_5) }
        }
        guard valid else {
            throw .badSignature(
                "Baidu signature does not verify with any of merchant \(merchant.id)'s platform keys",
                detail: "\(merchant.platformPublicKeys.count) keys tried, \(pairs.count) parameters")
        }
    }

    private func checkMerchant(_ parameters: [String: String]) throws(ChannelError) {
        if let dealID = parameters["dealId"], dealID != merchant.dealID {
            throw ChannelError(
                code: .merchantMismatch, message: "dealId is not merchant \(merchant.id)'s",
                detail: "dealId \(dealID.prefix(32))")
        }
        if let appKey = parameters["appKey"], appKey != merchant.appKey {
            throw ChannelError(
                code: .merchantMismatch, message: "appKey is not merchant \(merchant.id)'s",
                detail: "appKey \(appKey.prefix(32))")
        }
    }

    private func payment(_ parameters: [String: String], raw: String) throws(ChannelError) -> VerifiedNotification {
        guard parameters["dealId"] != nil else {
            throw ChannelError(
                code: .merchantMismatch, message: "Baidu payment notification names no dealId",
                detail: "merchant \(merchant.id)")
        }
        let status = parameters["status"] ?? "none"
        guard status == "2" else {
            return .ignored(reason: "Baidu payment status \(status.prefix(8)) (2 is paid)")
        }
        guard let orderID = parameters["orderId"], !orderID.isEmpty else {
            throw .malformed("Baidu notification has no orderId")
        }
        guard let paymentNo = parameters["tpOrderId"], !paymentNo.isEmpty else {
            throw .malformed("Baidu notification has no tpOrderId")
        }
        guard let totalMoney = parameters["totalMoney"] else {
            throw .malformed("Baidu notification has no totalMoney")
        }
        let amount = try Money.parseDecimal(totalMoney, exponent: 0)
        guard let payTime = parameters["payTime"], let occurredAt = Self.unixTime(payTime) else {
            throw .malformed("Baidu notification has no payTime in Unix seconds")
        }
        return .payment(
            PaymentNotification(
                id: orderID, channel: .baidu, merchant: merchant.id, kind: .succeeded, paymentNo: paymentNo,
                channelTradeNo: orderID, amountMinor: amount, currency: "CNY", occurredAt: occurredAt, raw: raw,
                payerID: parameters["userId"].flatMap { $0.isEmpty || $0 == "0" ? nil : $0 }))
    }

    private func refund(
        _ parameters: [String: String], raw: String, now: Date
    ) throws(ChannelError) -> VerifiedNotification {
        guard let batchID = parameters["refundBatchId"], !batchID.isEmpty else {
            throw .malformed("Baidu refund notification has an empty refundBatchId")
        }
        let refundStatus = parameters["refundStatus"] ?? "none"
        let status: RefundNotification.Status
        switch refundStatus {
        case "1": status = .succeeded
        case "2": status = .failed
        default: return .ignored(reason: "Baidu refundStatus \(refundStatus.prefix(8)) (1 succeeded, 2 failed)")
        }
        guard let paymentNo = parameters["tpOrderId"], !paymentNo.isEmpty else {
            throw .malformed("Baidu refund notification has no tpOrderId")
        }
        let refundNo = parameters["bizRefundBatchId"].flatMap { $0.isEmpty ? nil : $0 } ?? batchID
        var amount: Int64?
        if let text = ["refundPayMoney", "applyRefundMoney"].lazy.compactMap({ parameters[$0] }).first(where: {
            !$0.isEmpty
        }) {
            amount = try Money.parseDecimal(text, exponent: 0)
        }
        return .refund(
            RefundNotification(
                id: "\(batchID):\(refundStatus)", channel: .baidu, merchant: merchant.id, refundNo: refundNo,
                channelRefundNo: batchID, paymentNo: paymentNo, status: status, amountMinor: amount, occurredAt: now,
                raw: raw, channelTradeNo: parameters["orderId"].flatMap { $0.isEmpty ? nil : $0 }))
    }

    /// Unix seconds, digits only.
    static func unixTime(_ text: String) -> Date? {
        guard (1...12).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let seconds = Int64(text)
        else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}
