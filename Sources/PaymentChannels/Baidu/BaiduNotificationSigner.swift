import Crypto
import Foundation
import _CryptoExtras

/// Signs notifications the way Baidu's cashier does, for the sandbox and tests: SHA1withRSA with a platform
/// private key over every parameter (empty ones included) sorted by key, sent as `rsaSign`.
///
/// Only for test keys: production notifications come from Baidu.
public struct BaiduNotificationSigner: Sendable {
    /// The private half of a platform public key the verifier is configured with.
    public let platformPrivateKey: _RSA.Signing.PrivateKey

    /// The Content-Type to post the body with.
    public static let contentType = "application/x-www-form-urlencoded"

    public init(platformPrivateKey: _RSA.Signing.PrivateKey) {
        self.platformPrivateKey = platformPrivateKey
    }

    /// The `rsaSign` (base64) of `params` as Baidu computes it.
    public func sign(_ params: [String: String]) -> String {
        let content = BaiduSignContent.bytes(of: params.map { (key: $0.key, value: $0.value) })
        do {
            return try platformPrivateKey.signature(for: Insecure.SHA1.hash(data: content), padding: .insecurePKCS1v1_5)
                .rawRepresentation.base64EncodedString()
        } catch {
            // BoringSSL fails to sign a digest with a valid key only when out of memory.
            preconditionFailure("RSA signing failed: \(error)")
        }
    }

    /// `params` plus `rsaSign`, form-encoded with keys in byte order.
    public func signedBody(params: [String: String]) -> [UInt8] {
        var parameters = params
        parameters["rsaSign"] = sign(params)
        return Array(FormCodec.encode(parameters).utf8)
    }

    /// The unsigned parameters of a payment callback shaped like Baidu's, `totalMoney` in fen.
    public static func paymentParameters(
        dealID: String, orderID: String, tpOrderID: String, totalMoney: Int64, payTime: Date, status: String = "2",
        returnData: String = ""
    ) -> [String: String] {
        let money = String(totalMoney)
        return [
            "userId": "149235070",
            "orderId": orderID,
            "unitPrice": money,
            "count": "1",
            "totalMoney": money,
            "payMoney": money,
            "promoMoney": "0",
            "hbMoney": "0",
            "hbBalanceMoney": "0",
            "giftCardMoney": "0",
            "dealId": dealID,
            "payTime": String(Int64(payTime.timeIntervalSince1970.rounded(.down))),
            "promoDetail": "",
            "payType": "1087",
            "partnerId": "6000001",
            "status": status,
            "tpOrderId": tpOrderID,
            "returnData": returnData,
        ]
    }

    /// The unsigned parameters of a refund callback shaped like Baidu's (`refundStatus` 1 succeeded, 2 failed).
    public static func refundParameters(
        orderID: String, tpOrderID: String, refundBatchID: String, refundStatus: String = "1"
    ) -> [String: String] {
        [
            "userId": "149235070",
            "orderId": orderID,
            "tpOrderId": tpOrderID,
            "refundBatchId": refundBatchID,
            "refundStatus": refundStatus,
        ]
    }
}
