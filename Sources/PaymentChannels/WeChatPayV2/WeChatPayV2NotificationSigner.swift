import Foundation

/// Signs notifications the way WeChat Pay v2 does, for the sandbox and tests: payment results signed with
/// the API key (MD5 or HMAC-SHA256) and rendered as XML, refund results with `req_info` encrypted under
/// MD5(API key), as ``WeChatPayV2Verifier`` checks.
///
/// Only for test keys: production notifications come from WeChat Pay.
public struct WeChatPayV2NotificationSigner: Sendable {
    /// The merchant's API key (32 ASCII characters).
    public let apiKey: [UInt8]

    /// The Content-Type to post the body with.
    public static let contentType = "text/xml"

    public init(apiKey: [UInt8]) {
        self.apiKey = apiKey
    }

    /// The upper-case hex signature of `params` (without `sign`; `sign_type` is signed when present).
    public func sign(_ params: [String: String], signType: WeChatPayV2SignType = .md5) -> String {
        WeChatPayV2Signature.sign(params.map { (key: $0.key, value: $0.value) }, type: signType, apiKey: apiKey)
    }

    /// `params` plus `sign` rendered as `<xml>` with keys in byte order. HMAC-SHA256 also sets
    /// `sign_type=HMAC-SHA256`; MD5 leaves `sign_type` as `params` have it (absent means MD5).
    public func signedBody(params: [String: String], signType: WeChatPayV2SignType = .md5) -> [UInt8] {
        var parameters = params
        if signType == .hmacSHA256 { parameters["sign_type"] = signType.rawValue }
        parameters["sign"] = sign(parameters, signType: signType)
        return Array(SimpleXML.render(Self.sorted(parameters)).utf8)
    }

    /// The unsigned parameters of a JSAPI payment result shaped like WeChat Pay's, `totalFee` in fen.
    public static func paymentParameters(
        appID: String, mchID: String, outTradeNo: String, transactionID: String, totalFee: Int64,
        feeType: String = "CNY", timeEnd: Date, resultCode: String = "SUCCESS"
    ) -> [String: String] {
        var parameters = [
            "appid": appID,
            "mch_id": mchID,
            "nonce_str": WeChatPayV3NotificationSigner.randomToken(length: 32),
            "return_code": "SUCCESS",
            "result_code": resultCode,
            "openid": "oUpF8uMEb4qRXf22hE3X68TekukE",
            "is_subscribe": "N",
            "trade_type": "JSAPI",
            "bank_type": "OTHERS",
            "out_trade_no": outTradeNo,
            "attach": "",
        ]
        if resultCode == "SUCCESS" {
            parameters["total_fee"] = String(totalFee)
            parameters["cash_fee"] = String(totalFee)
            parameters["fee_type"] = feeType
            parameters["transaction_id"] = transactionID
            parameters["time_end"] = compactTime(timeEnd)
        } else {
            parameters["err_code"] = "ORDERCLOSED"
            parameters["err_code_des"] = "订单已关闭"
        }
        return parameters
    }

    /// A signed payment result (`SUCCESS`) for `totalFee` fen.
    public func signPaymentSuccess(
        appID: String, mchID: String, outTradeNo: String, transactionID: String, totalFee: Int64,
        timeEnd: Date, signType: WeChatPayV2SignType = .md5
    ) -> [UInt8] {
        signedBody(
            params: Self.paymentParameters(
                appID: appID, mchID: mchID, outTradeNo: outTradeNo, transactionID: transactionID,
                totalFee: totalFee, timeEnd: timeEnd),
            signType: signType)
    }

    /// A refund result: the outer `<xml>` with `appid`, `mch_id`, `nonce_str` and `req_info` encrypting the
    /// `<root>` of refund fields (`refundStatus` `SUCCESS`, `CHANGE` or `REFUNDCLOSE`).
    public func refundBody(
        appID: String, mchID: String, outRefundNo: String, refundID: String, outTradeNo: String,
        transactionID: String, refundFee: Int64, totalFee: Int64, refundStatus: String = "SUCCESS",
        successTime: Date?
    ) -> [UInt8] {
        var fields = [
            "out_refund_no": outRefundNo,
            "out_trade_no": outTradeNo,
            "refund_account": "REFUND_SOURCE_RECHARGE_FUNDS",
            "refund_fee": String(refundFee),
            "refund_id": refundID,
            "refund_recv_accout": "支付用户零钱",
            "refund_request_source": "API",
            "refund_status": refundStatus,
            "settlement_refund_fee": String(refundFee),
            "settlement_total_fee": String(totalFee),
            "total_fee": String(totalFee),
            "transaction_id": transactionID,
        ]
        if let successTime { fields["success_time"] = ChinaStandardTime.format(successTime) }
        let reqInfo = encryptReqInfo(SimpleXML.render(root: "root", Self.sorted(fields)))
        let outer: [(key: String, value: String)] = [
            (key: "return_code", value: "SUCCESS"), (key: "appid", value: appID), (key: "mch_id", value: mchID),
            (key: "nonce_str", value: WeChatPayV3NotificationSigner.randomToken(length: 32)),
            (key: "req_info", value: reqInfo),
        ]
        return Array(SimpleXML.render(outer).utf8)
    }

    /// `plaintext` encrypted as WeChat Pay encrypts `req_info`: AES-256-ECB, PKCS#7, key = hex MD5(API key).
    public func encryptReqInfo(_ plaintext: String) -> String {
        WeChatPayV2ReqInfo.encrypt(Array(plaintext.utf8), apiKey: apiKey)
    }

    /// `yyyyMMddHHmmss` at +08:00, as WeChat Pay v2 writes `time_end`.
    public static func compactTime(_ date: Date) -> String {
        ChinaStandardTime.format(date).filter { $0.isNumber }
    }

    private static func sorted(_ parameters: [String: String]) -> [(key: String, value: String)] {
        parameters.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { (key: $0.key, value: $0.value) }
    }
}
