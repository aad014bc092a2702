import Crypto
import Foundation
import PayFleetMessages

/// Verifies WeChat Pay API v2 notifications for one merchant and normalises them.
///
/// The body is flat XML, parsed by ``SimpleXML`` (no DOCTYPE, no entities: no XXE).
///
/// - Payment results carry `sign`: MD5 (when `sign_type` is absent or `MD5`) or HMAC-SHA256 over every
///   non-empty parameter but `sign`, sorted by key, `k=v&…&key=<API key>`, upper-case hex, compared in
///   constant time. Then `appid` and `mch_id` must be the merchant's. `return_code` and `result_code` both
///   `SUCCESS` make a succeeded payment; anything else authentic is ignored.
/// - Refund results carry no `sign` but `req_info`, AES-256-ECB under MD5(API key): the outer `appid` and
///   `mch_id` must be the merchant's and `req_info` must decrypt with its key, which is the authenticity
///   check WeChat Pay provides. (ECB has no integrity of its own; the refund is keyed by `refund_id`, and the
///   fields must parse, so spliced blocks of two genuine notifications are refused or deduplicated.)
public struct WeChatPayV2Verifier: NotificationVerifier {
    public let merchant: WeChatPayV2Merchant

    public var channel: ChannelID { .wechatpayV2 }
    public var merchantID: String { merchant.id }

    public init(merchant: WeChatPayV2Merchant) {
        self.merchant = merchant
    }

    public func verify(_ request: ChannelRequest, now: Date) throws(ChannelError) -> VerifiedNotification {
        if let mediaType = request.mediaType, !mediaType.hasSuffix("/xml") {
            throw ChannelError(
                code: .unsupportedContentType, message: "WeChat Pay v2 notifications are text/xml",
                detail: "content type \(mediaType.prefix(60))")
        }
        let document = try SimpleXML.parse(request.body)
        guard document.root == "xml" else {
            throw .malformed("WeChat Pay v2 notification's root element is not <xml>")
        }
        let parameters = Dictionary(document.fields, uniquingKeysWith: { first, _ in first })
        if let reqInfo = parameters["req_info"] {
            try checkMerchant(parameters)
            return try refund(reqInfo: reqInfo, now: now)
        }
        try checkSignature(document.fields, parameters: parameters)
        try checkMerchant(parameters)
        return try payment(parameters, body: request.body)
    }

    /// `<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>`.
    public func successReply() -> ChannelReply {
        ChannelReply(
            status: 200, contentType: "application/xml",
            body: "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>")
    }

    public func failureReply(status: Int, message: String) -> ChannelReply {
        channel.failureReply(status: status, message: message)
    }

    private func checkSignature(
        _ fields: [(key: String, value: String)], parameters: [String: String]
    ) throws(ChannelError) {
        guard let sign = parameters["sign"], !sign.isEmpty else {
            let returnCode = parameters["return_code"] ?? "none"
            throw .badSignature(
                "WeChat Pay v2 notification has no sign", detail: "return_code \(returnCode.prefix(16))")
        }
        let signType: WeChatPayV2SignType
        switch parameters["sign_type"] {
        case nil, "": signType = .md5
        case let text?:
            guard let known = WeChatPayV2SignType(rawValue: text) else {
                throw .badSignature("sign_type must be MD5 or HMAC-SHA256", detail: "sign_type \(text.prefix(16))")
            }
            signType = known
        }
        let expected = WeChatPayV2Signature.sign(fields, type: signType, apiKey: merchant.apiKey)
        guard ConstantTime.equals(Array(expected.utf8), Array(sign.uppercased().utf8)) else {
            throw .badSignature(
                "WeChat Pay v2 \(signType.rawValue) signature does not verify with merchant \(merchant.id)'s API key",
                detail: "\(fields.count) parameters")
        }
    }

    private func checkMerchant(_ parameters: [String: String]) throws(ChannelError) {
        guard parameters["mch_id"] == merchant.mchID, parameters["appid"] == merchant.appID else {
            let mchID = parameters["mch_id"]?.prefix(32) ?? "none"
            let appID = parameters["appid"]?.prefix(32) ?? "none"
            throw ChannelError(
                code: .merchantMismatch, message: "appid/mch_id are not merchant \(merchant.id)'s",
                detail: "mch_id \(mchID), appid \(appID)")
        }
    }

    private func payment(_ parameters: [String: String], body: [UInt8]) throws(ChannelError) -> VerifiedNotification {
        let returnCode = parameters["return_code"] ?? ""
        let resultCode = parameters["result_code"] ?? ""
        guard returnCode == "SUCCESS", resultCode == "SUCCESS" else {
            let errCode = parameters["err_code"].map { ", err_code \($0.prefix(32))" } ?? ""
            let codes = "return_code \(returnCode.prefix(16)), result_code \(resultCode.prefix(16))\(errCode)"
            return .ignored(reason: "WeChat Pay v2 \(codes)")
        }
        guard let paymentNo = parameters["out_trade_no"], !paymentNo.isEmpty else {
            throw .malformed("WeChat Pay v2 notification has no out_trade_no")
        }
        guard let totalFee = parameters["total_fee"] else {
            throw .malformed("WeChat Pay v2 notification has no total_fee")
        }
        let amount = try Money.parseDecimal(totalFee, exponent: 0)
        guard let timeEnd = parameters["time_end"], let occurredAt = Self.parseCompactTime(timeEnd) else {
            throw .malformed("WeChat Pay v2 notification has no time_end as yyyyMMddHHmmss")
        }
        let transactionID = parameters["transaction_id"] ?? ""
        let id = transactionID.isEmpty ? Hex.encode(SHA256.hash(data: body)) : transactionID
        let currency = parameters["fee_type"].flatMap { $0.isEmpty ? nil : $0.uppercased() } ?? "CNY"
        return .payment(
            PaymentNotification(
                id: id, channel: .wechatpayV2, merchant: merchant.id, kind: .succeeded, paymentNo: paymentNo,
                channelTradeNo: transactionID, amountMinor: amount, currency: currency, occurredAt: occurredAt,
                raw: String(decoding: body, as: UTF8.self)))
    }

    private func refund(reqInfo: String, now: Date) throws(ChannelError) -> VerifiedNotification {
        let plaintext = try WeChatPayV2ReqInfo.decrypt(reqInfo, apiKey: merchant.apiKey)
        let document: (root: String, fields: [(key: String, value: String)])
        do {
            document = try SimpleXML.parse(plaintext)
        } catch {
            throw .malformed("decrypted req_info is not the flat XML expected", detail: error.message)
        }
        let fields = Dictionary(document.fields, uniquingKeysWith: { first, _ in first })
        guard let refundNo = fields["out_refund_no"], !refundNo.isEmpty else {
            throw .malformed("req_info has no out_refund_no")
        }
        guard let refundID = fields["refund_id"], !refundID.isEmpty else {
            throw .malformed("req_info has no refund_id")
        }
        guard let paymentNo = fields["out_trade_no"], !paymentNo.isEmpty else {
            throw .malformed("req_info has no out_trade_no")
        }
        guard let refundFee = fields["refund_fee"] else { throw .malformed("req_info has no refund_fee") }
        let amount = try Money.parseDecimal(refundFee, exponent: 0)
        guard let status = fields["refund_status"], !status.isEmpty else {
            throw .malformed("req_info has no refund_status")
        }
        var occurredAt = now
        if let successTime = fields["success_time"], !successTime.isEmpty {
            guard let parsed = ChinaStandardTime.parse(successTime) else {
                throw .malformed(
                    "req_info success_time is not yyyy-MM-dd HH:mm:ss", detail: "success_time \(successTime.prefix(40))"
                )
            }
            occurredAt = parsed
        }
        return .refund(
            RefundNotification(
                id: "\(refundID):\(status)", channel: .wechatpayV2, merchant: merchant.id, refundNo: refundNo,
                channelRefundNo: refundID, paymentNo: paymentNo, status: status == "SUCCESS" ? .succeeded : .failed,
                amountMinor: amount, occurredAt: occurredAt, raw: String(decoding: plaintext, as: UTF8.self),
                channelTradeNo: fields["transaction_id"].flatMap { $0.isEmpty ? nil : $0 }))
    }

    /// `yyyyMMddHHmmss` read at +08:00 (`time_end`).
    static func parseCompactTime(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 14, bytes.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        let digits = String(decoding: bytes, as: UTF8.self)
        func part(_ from: Int, _ length: Int) -> Substring {
            let start = digits.index(digits.startIndex, offsetBy: from)
            return digits[start..<digits.index(start, offsetBy: length)]
        }
        return ChinaStandardTime.parse(
            "\(part(0, 4))-\(part(4, 2))-\(part(6, 2)) \(part(8, 2)):\(part(10, 2)):\(part(12, 2))")
    }
}
