import Crypto
import Foundation
import _CryptoExtras

/// Signs Alipay open platform requests with an app's private key (RSA2: SHA256withRSA, PKCS#1 v1.5).
/// Pure: no I/O, no clock.
///
/// The signed content is every parameter except `sign` (`sign_type` included), empty values skipped, sorted by
/// key in byte order, `key=value` joined with `&`, values raw (not URL-encoded): alipay-sdk-java's
/// `AlipaySignature.getSignContent`, as `rsaCheckV2` checks it. Its description never shows the key.
public struct AlipayRequestSigner: Sendable, CustomStringConvertible {
    /// The app id (`app_id`).
    public let appID: String
    private let privateKey: _RSA.Signing.PrivateKey

    public init(appID: String, privateKey: _RSA.Signing.PrivateKey) {
        self.appID = appID
        self.privateKey = privateKey
    }

    /// Loads the app private key ("应用私钥": PEM PKCS#8 or PKCS#1, or the bare base64 the key tool writes).
    public static func load(appID: String, privateKeyFile: String) throws(ChannelError) -> AlipayRequestSigner {
        guard !appID.isEmpty else { throw .keyFile("Alipay app id is empty") }
        return AlipayRequestSigner(appID: appID, privateKey: try PEMKeys.loadRSAPrivateKey(path: privateKeyFile))
    }

    public var description: String {
        "AlipayRequestSigner(app_id: \(appID))"
    }

    /// The content a request signature covers; see the type's documentation.
    public static func signContent(_ parameters: [String: String]) -> String {
        parameters
            .filter { !$0.key.isEmpty && !$0.value.isEmpty && $0.key != "sign" }
            .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            .map { "\($0.key)=\($0.value)" }
            .joined(separator: "&")
    }

    /// The base64 RSA2 signature of `parameters`' sign content.
    public func sign(_ parameters: [String: String]) -> String {
        do {
            return try privateKey.signature(
                for: SHA256.hash(data: Array(Self.signContent(parameters).utf8)), padding: .insecurePKCS1v1_5
            ).rawRepresentation.base64EncodedString()
        } catch {
            // BoringSSL fails to sign a digest with a valid 2048+ bit key only when out of memory.
            preconditionFailure("RSA signing failed: \(error)")
        }
    }

    /// The common parameters of a call of `method` with `bizContent` (JSON text) at `timestamp` — `app_id`,
    /// `method`, `format=JSON`, `charset=utf-8`, `sign_type=RSA2`, `timestamp` (`yyyy-MM-dd HH:mm:ss` at
    /// +08:00), `version=1.0`, `biz_content`, and `notify_url` / `return_url` when given — plus `sign`.
    public func signedParameters(
        method: String, bizContent: String, timestamp: Date, notifyURL: String? = nil, returnURL: String? = nil
    ) -> [String: String] {
        var parameters = [
            "app_id": appID,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": ChinaStandardTime.format(timestamp),
            "version": "1.0",
            "biz_content": bizContent,
        ]
        if let notifyURL, !notifyURL.isEmpty { parameters["notify_url"] = notifyURL }
        if let returnURL, !returnURL.isEmpty { parameters["return_url"] = returnURL }
        parameters["sign"] = sign(parameters)
        return parameters
    }

    /// The signed parameters form-encoded with keys in byte order (`a=1&b=2`, UTF-8, space as `+`): the order
    /// string the Alipay app SDK takes for `alipay.trade.app.pay`, and the query of a `alipay.trade.wap.pay` URL.
    public func orderString(
        method: String, bizContent: String, timestamp: Date, notifyURL: String? = nil, returnURL: String? = nil
    ) -> String {
        FormCodec.encode(
            signedParameters(
                method: method, bizContent: bizContent, timestamp: timestamp, notifyURL: notifyURL,
                returnURL: returnURL))
    }
}
