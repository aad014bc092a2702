import Crypto
import Foundation
import _CryptoExtras

/// Signs notifications the way WeChat Pay v3 does, for the sandbox and tests: encrypts the resource with
/// the APIv3 key and signs `timestamp\nnonce\nbody\n` with a platform private key.
///
/// Only for test keys: production notifications come from WeChat Pay.
public struct WeChatPayV3NotificationSigner: Sendable {
    public let platformPrivateKey: _RSA.Signing.PrivateKey
    /// Sent as `Wechatpay-Serial`: the certificate serial or `PUB_KEY_ID_…` id of the verifying key.
    public let serial: String
    public let apiV3Key: SymmetricKey

    public init(platformPrivateKey: _RSA.Signing.PrivateKey, serial: String, apiV3Key: SymmetricKey) {
        self.platformPrivateKey = platformPrivateKey
        self.serial = serial
        self.apiV3Key = apiV3Key
    }

    /// A signed notification of `eventType` whose resource is `plaintext`: the resource is encrypted with
    /// a random 12-character nonce and associated data `transaction` (`refund` for `REFUND.*` events), and
    /// the headers carry `now` as the timestamp and `nonce` as `Wechatpay-Nonce`.
    public func sign(
        eventType: String, id: String, resource plaintext: [UInt8], now: Date, nonce: String
    ) throws -> (headers: [String: String], body: [UInt8]) {
        let originalType = eventType.hasPrefix("REFUND.") ? "refund" : "transaction"
        let resourceNonce = Self.randomToken(length: 12)
        let sealed = try AES.GCM.seal(
            plaintext, using: apiV3Key, nonce: AES.GCM.Nonce(data: Array(resourceNonce.utf8)),
            authenticating: Array(originalType.utf8))
        let ciphertext = (sealed.ciphertext + sealed.tag).base64EncodedString()
        let summary = Self.summaries[eventType] ?? eventType
        let body =
            "{\"id\":\(JSONText.quote(id)),\"create_time\":\(JSONText.quote(ChinaStandardTime.rfc3339(now))),"
            + "\"resource_type\":\"encrypt-resource\",\"event_type\":\(JSONText.quote(eventType)),"
            + "\"summary\":\(JSONText.quote(summary)),\"resource\":{\"original_type\":\(JSONText.quote(originalType)),"
            + "\"algorithm\":\"AEAD_AES_256_GCM\",\"ciphertext\":\(JSONText.quote(ciphertext)),"
            + "\"associated_data\":\(JSONText.quote(originalType)),\"nonce\":\(JSONText.quote(resourceNonce))}}"
        let bodyBytes = Array(body.utf8)
        let timestamp = String(Int64(now.timeIntervalSince1970.rounded(.down)))
        let message = Array("\(timestamp)\n\(nonce)\n".utf8) + bodyBytes + [0x0A]
        let signature = try platformPrivateKey.signature(
            for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
        let headers = [
            "Content-Type": "application/json",
            "Wechatpay-Timestamp": timestamp,
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": signature.rawRepresentation.base64EncodedString(),
            "Wechatpay-Serial": serial,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        ]
        return (headers, bodyBytes)
    }

    /// A signed `TRANSACTION.SUCCESS` notification for a JSAPI payment of `amountMinor` (fen).
    public func signTransactionSuccess(
        mchID: String, appID: String, outTradeNo: String, transactionID: String, amountMinor: Int64,
        currency: String = "CNY", successTime: Date, id: String, now: Date
    ) throws -> (headers: [String: String], body: [UInt8]) {
        let resource = Self.transactionJSON(
            mchID: mchID, appID: appID, outTradeNo: outTradeNo, transactionID: transactionID,
            amountMinor: amountMinor, currency: currency, tradeState: "SUCCESS", successTime: successTime)
        return try sign(
            eventType: "TRANSACTION.SUCCESS", id: id, resource: resource, now: now,
            nonce: Self.randomToken(length: 32))
    }

    /// A signed `REFUND.SUCCESS` (or `REFUND.ABNORMAL`, `REFUND.CLOSED`) notification.
    public func signRefund(
        eventType: String = "REFUND.SUCCESS", mchID: String, outTradeNo: String, transactionID: String,
        outRefundNo: String, refundID: String, refundMinor: Int64, totalMinor: Int64, successTime: Date,
        id: String, now: Date
    ) throws -> (headers: [String: String], body: [UInt8]) {
        let status = eventType.hasPrefix("REFUND.") ? String(eventType.dropFirst("REFUND.".count)) : "SUCCESS"
        let resource =
            "{\"mchid\":\(JSONText.quote(mchID)),\"transaction_id\":\(JSONText.quote(transactionID)),"
            + "\"out_trade_no\":\(JSONText.quote(outTradeNo)),\"refund_id\":\(JSONText.quote(refundID)),"
            + "\"out_refund_no\":\(JSONText.quote(outRefundNo)),\"refund_status\":\(JSONText.quote(status)),"
            + "\"success_time\":\(JSONText.quote(ChinaStandardTime.rfc3339(successTime))),"
            + "\"user_received_account\":\"支付用户零钱\",\"amount\":{\"total\":\(totalMinor),"
            + "\"refund\":\(refundMinor),\"payer_total\":\(totalMinor),\"payer_refund\":\(refundMinor)}}"
        return try sign(
            eventType: eventType, id: id, resource: Array(resource.utf8), now: now,
            nonce: Self.randomToken(length: 32))
    }

    /// A transaction resource shaped like WeChat Pay's (JSAPI, with payer and amount).
    public static func transactionJSON(
        mchID: String, appID: String, outTradeNo: String, transactionID: String, amountMinor: Int64,
        currency: String = "CNY", tradeState: String = "SUCCESS", successTime: Date
    ) -> [UInt8] {
        let text =
            "{\"mchid\":\(JSONText.quote(mchID)),\"appid\":\(JSONText.quote(appID)),"
            + "\"out_trade_no\":\(JSONText.quote(outTradeNo)),\"transaction_id\":\(JSONText.quote(transactionID)),"
            + "\"trade_type\":\"JSAPI\",\"trade_state\":\(JSONText.quote(tradeState)),"
            + "\"trade_state_desc\":\(JSONText.quote(tradeState == "SUCCESS" ? "支付成功" : tradeState)),"
            + "\"bank_type\":\"OTHERS\",\"attach\":\"\","
            + "\"success_time\":\(JSONText.quote(ChinaStandardTime.rfc3339(successTime))),"
            + "\"payer\":{\"openid\":\"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o\"},"
            + "\"amount\":{\"total\":\(amountMinor),\"payer_total\":\(amountMinor),"
            + "\"currency\":\(JSONText.quote(currency)),\"payer_currency\":\(JSONText.quote(currency))}}"
        return Array(text.utf8)
    }

    private static let summaries = [
        "TRANSACTION.SUCCESS": "支付成功",
        "REFUND.SUCCESS": "退款成功",
        "REFUND.ABNORMAL": "退款异常",
        "REFUND.CLOSED": "退款关闭",
    ]

    static func randomToken(length: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
    }
}
