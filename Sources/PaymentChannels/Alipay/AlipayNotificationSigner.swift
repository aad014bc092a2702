import Crypto
import Foundation
import _CryptoExtras

/// Signs notifications the way Alipay does, for the sandbox and tests (RSA2, as ``AlipayVerifier`` checks).
///
/// Only for test keys: production notifications come from Alipay.
public struct AlipayNotificationSigner: Sendable {
    /// The private half of the "Alipay public key" the verifier is configured with.
    public let privateKey: _RSA.Signing.PrivateKey

    /// The Content-Type to post the body with.
    public static let contentType = "application/x-www-form-urlencoded; charset=utf-8"

    public init(privateKey: _RSA.Signing.PrivateKey) {
        self.privateKey = privateKey
    }

    /// `params` plus `sign_type=RSA2` and `sign`, form-encoded with keys in byte order.
    public func signedBody(params: [String: String]) -> [UInt8] {
        var parameters = params
        parameters["sign_type"] = "RSA2"
        parameters["sign"] = sign(parameters)
        return Array(FormCodec.encode(parameters).utf8)
    }

    /// The RSA2 signature (base64) of `params` as Alipay computes it.
    public func sign(_ params: [String: String]) -> String {
        let content = AlipaySignContent.bytes(of: params.map { (key: $0.key, value: $0.value) })
        do {
            return try privateKey.signature(for: SHA256.hash(data: content), padding: .insecurePKCS1v1_5)
                .rawRepresentation.base64EncodedString()
        } catch {
            // BoringSSL fails to sign a digest with a valid 2048+ bit key only when out of memory.
            preconditionFailure("RSA signing failed: \(error)")
        }
    }

    /// A signed `TRADE_SUCCESS` notification shaped like Alipay's, for `totalAmount` minor units (fen).
    public func signTradeSuccess(
        appID: String, sellerID: String?, outTradeNo: String, tradeNo: String, totalAmount: Int64,
        notifyID: String, gmtPayment: Date, subject: String = "PayFleet order"
    ) -> [UInt8] {
        signedBody(
            params: Self.tradeParameters(
                appID: appID, sellerID: sellerID, outTradeNo: outTradeNo, tradeNo: tradeNo,
                totalAmount: totalAmount, notifyID: notifyID, gmtPayment: gmtPayment, subject: subject,
                tradeStatus: "TRADE_SUCCESS"))
    }

    /// The unsigned parameters of a `trade_status_sync` notification with `tradeStatus`.
    public static func tradeParameters(
        appID: String, sellerID: String?, outTradeNo: String, tradeNo: String, totalAmount: Int64,
        notifyID: String, gmtPayment: Date, subject: String = "PayFleet order", tradeStatus: String
    ) -> [String: String] {
        let amount = Money.formatDecimal(totalAmount)
        var parameters = [
            "gmt_create": ChinaStandardTime.format(gmtPayment.addingTimeInterval(-2)),
            "charset": "utf-8",
            "subject": subject,
            "buyer_id": "2088102177846875",
            "invoice_amount": amount,
            "notify_id": notifyID,
            "fund_bill_list": "[{\"amount\":\"\(amount)\",\"fundChannel\":\"ALIPAYACCOUNT\"}]",
            "notify_type": "trade_status_sync",
            "trade_status": tradeStatus,
            "receipt_amount": amount,
            "buyer_pay_amount": amount,
            "app_id": appID,
            "gmt_payment": ChinaStandardTime.format(gmtPayment),
            "notify_time": ChinaStandardTime.format(gmtPayment.addingTimeInterval(1)),
            "version": "1.0",
            "out_trade_no": outTradeNo,
            "total_amount": amount,
            "trade_no": tradeNo,
            "auth_app_id": appID,
            "buyer_logon_id": "sandbox***@example.com",
            "point_amount": "0.00",
        ]
        if let sellerID { parameters["seller_id"] = sellerID }
        return parameters
    }
}
