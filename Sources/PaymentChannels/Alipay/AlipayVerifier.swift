import Crypto
import Foundation
import PayFleetMessages
import _CryptoExtras

/// Verifies Alipay asynchronous trade notifications (`trade_status_sync`) for one app and normalises them.
///
/// The body is form-encoded UTF-8; the RSA2 signature (SHA256withRSA, PKCS#1 v1.5) covers every
/// parameter but `sign` and `sign_type`, empty values skipped, sorted by key, `k=v` joined with `&`, values
/// decoded (alipay-sdk-java's `getSignCheckContentV1`). Then `app_id` (and `seller_id` when configured) must
/// be the merchant's. Refund notifications (with `refund_fee`/`gmt_refund`/`out_biz_no`) are ignored.
public struct AlipayVerifier: NotificationVerifier {
    public let merchant: AlipayMerchant

    public var channel: ChannelID { .alipay }
    public var merchantID: String { merchant.id }

    public init(merchant: AlipayMerchant) {
        self.merchant = merchant
    }

    public func verify(_ request: ChannelRequest, now: Date) throws(ChannelError) -> VerifiedNotification {
        if let mediaType = request.mediaType, mediaType != "application/x-www-form-urlencoded" {
            throw ChannelError(
                code: .unsupportedContentType,
                message: "Alipay notifications are application/x-www-form-urlencoded",
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

        guard parameters["app_id"] == merchant.appID else {
            throw ChannelError(
                code: .merchantMismatch, message: "app_id is not merchant \(merchant.id)'s",
                detail: "app_id \(parameters["app_id"] ?? "none")")
        }
        if let sellerID = merchant.sellerID, parameters["seller_id"] != sellerID {
            throw ChannelError(
                code: .merchantMismatch, message: "seller_id is not merchant \(merchant.id)'s",
                detail: "seller_id \(parameters["seller_id"] ?? "none")")
        }
        return try normalise(parameters, raw: String(decoding: request.body, as: UTF8.self))
    }

    public func successReply() -> ChannelReply {
        ChannelReply(status: 200, contentType: "text/plain", body: "success")
    }

    public func failureReply(status: Int, message: String) -> ChannelReply {
        channel.failureReply(status: status, message: message)
    }

    private func checkSignature(
        parameters: [String: String], pairs: [(key: String, value: String)]
    ) throws(ChannelError) {
        guard let sign = parameters["sign"], !sign.isEmpty else {
            throw .badSignature("Alipay notification has no sign parameter")
        }
        if let signType = parameters["sign_type"], signType != "RSA2" {
            throw .badSignature("sign_type must be RSA2", detail: "sign_type \(signType.prefix(16))")
        }
        // Base64 has no spaces: a '+' sent unencoded arrives as a space.
        guard let signature = Data(base64Encoded: sign.replacingOccurrences(of: " ", with: "+")) else {
            throw .badSignature("sign is not base64")
        }
        let digest = SHA256.hash(data: AlipaySignContent.bytes(of: pairs))
        let rsaSignature = _RSA.Signing.RSASignature(rawRepresentation: signature)
        let valid = merchant.publicKeys.contains {
            $0.isValidSignature(rsaSignature, for: digest, padding: .insecurePKCS1v1_5)
        }
        guard valid else {
            throw .badSignature(
                "Alipay signature does not verify with any of merchant \(merchant.id)'s keys",
                detail: "\(merchant.publicKeys.count) keys tried, \(pairs.count) parameters")
        }
    }

    private func normalise(_ parameters: [String: String], raw: String) throws(ChannelError) -> VerifiedNotification {
        guard let status = parameters["trade_status"], !status.isEmpty else {
            return .ignored(reason: "Alipay notification without trade_status (\(parameters["notify_type"] ?? "?"))")
        }
        // A refund is announced with the trade's status and refund fields.
        if parameters["gmt_refund"] != nil || parameters["refund_fee"] != nil || parameters["out_biz_no"] != nil {
            return try refund(parameters, raw: raw)
        }
        let kind: PaymentNotification.Kind
        let timeFields: [String]
        switch status {
        case "TRADE_SUCCESS", "TRADE_FINISHED":
            kind = .succeeded
            timeFields = ["gmt_payment", "notify_time"]
        case "TRADE_CLOSED":
            kind = .closed
            timeFields = ["gmt_close", "notify_time"]
        default:
            return .ignored(reason: "Alipay trade_status \(status)")
        }
        guard let notifyID = parameters["notify_id"], !notifyID.isEmpty else {
            throw .malformed("Alipay notification has no notify_id")
        }
        guard let paymentNo = parameters["out_trade_no"], !paymentNo.isEmpty else {
            throw .malformed("Alipay notification has no out_trade_no")
        }
        guard let tradeNo = parameters["trade_no"], !tradeNo.isEmpty else {
            throw .malformed("Alipay notification has no trade_no")
        }
        guard let totalAmount = parameters["total_amount"] else {
            throw .malformed("Alipay notification has no total_amount")
        }
        let amount = try Money.parseDecimal(totalAmount)
        guard let occurredAt = timeFields.lazy.compactMap({ parameters[$0] }).compactMap(ChinaStandardTime.parse).first
        else {
            throw .malformed(
                "Alipay notification has no \(timeFields.joined(separator: " or ")) as yyyy-MM-dd HH:mm:ss")
        }
        let currency = parameters["trans_currency"].flatMap { $0.isEmpty ? nil : $0.uppercased() } ?? "CNY"
        return .payment(
            PaymentNotification(
                id: notifyID, channel: .alipay, merchant: merchant.id, kind: kind, paymentNo: paymentNo,
                channelTradeNo: tradeNo, amountMinor: amount, currency: currency, occurredAt: occurredAt, raw: raw))
    }

    /// A trade notification carrying refund fields: `out_biz_no` (our out_request_no), `refund_fee` (everything
    /// refunded on the trade so far, not this refund's amount), `gmt_refund`, and `send_back_fee` (this refund's
    /// amount) where Alipay sends it. Alipay has no refund number of its own here: the channel refund number is
    /// out_biz_no too.
    private func refund(_ parameters: [String: String], raw: String) throws(ChannelError) -> VerifiedNotification {
        guard let notifyID = parameters["notify_id"], !notifyID.isEmpty else {
            throw .malformed("Alipay notification has no notify_id")
        }
        guard let paymentNo = parameters["out_trade_no"], !paymentNo.isEmpty else {
            throw .malformed("Alipay refund notification has no out_trade_no")
        }
        guard let refundNo = parameters["out_biz_no"], !refundNo.isEmpty else {
            throw .malformed("Alipay refund notification has no out_biz_no")
        }
        var total: Int64?
        if let text = parameters["refund_fee"], !text.isEmpty { total = try Money.parseDecimal(text) }
        var amount: Int64?
        if let text = parameters["send_back_fee"], !text.isEmpty { amount = try Money.parseDecimal(text) }
        guard
            let occurredAt = ["gmt_refund", "notify_time"].lazy.compactMap({ parameters[$0] })
                .compactMap(ChinaStandardTime.parse).first
        else {
            throw .malformed("Alipay refund notification has no gmt_refund or notify_time as yyyy-MM-dd HH:mm:ss")
        }
        return .refund(
            RefundNotification(
                id: notifyID, channel: .alipay, merchant: merchant.id, refundNo: refundNo, channelRefundNo: refundNo,
                paymentNo: paymentNo, status: .succeeded, amountMinor: amount, occurredAt: occurredAt, raw: raw,
                channelTradeNo: parameters["trade_no"].flatMap { $0.isEmpty ? nil : $0 }, refundedTotalMinor: total))
    }
}
