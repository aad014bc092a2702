import Crypto
import Foundation
import _CryptoExtras

/// Signs requests to WeChat Pay API v3 with a merchant's API private key (RSA-SHA256, PKCS#1 v1.5), and the
/// JSAPI pay parameters handed to the payer's WeChat client. Pure: no I/O, no clock, no randomness.
///
/// Its description never shows the key.
public struct WeChatPayV3RequestSigner: Sendable, CustomStringConvertible {
    /// The authorization scheme of API v3.
    public static let scheme = "WECHATPAY2-SHA256-RSA2048"

    /// WeChat Pay's merchant number (`mchid`).
    public let mchID: String
    /// The serial number of the merchant API certificate (`serial_no`), upper-case hex.
    public let serialNumber: String
    private let privateKey: _RSA.Signing.PrivateKey

    public init(mchID: String, serialNumber: String, privateKey: _RSA.Signing.PrivateKey) {
        self.mchID = mchID
        self.serialNumber = serialNumber
        self.privateKey = privateKey
    }

    /// Loads the merchant API private key (`apiclient_key.pem`) and takes the serial number from the merchant API
    /// certificate (`apiclient_cert.pem`), checking that the two belong together.
    public static func load(
        mchID: String, privateKeyFile: String, certificateFile: String
    ) throws(ChannelError) -> WeChatPayV3RequestSigner {
        guard !mchID.isEmpty else { throw .keyFile("WeChat Pay mchid is empty") }
        let privateKey = try PEMKeys.loadRSAPrivateKey(path: privateKeyFile)
        let certificate = try PEMKeys.loadCertificate(path: certificateFile)
        guard certificate.publicKey.derRepresentation == privateKey.publicKey.derRepresentation else {
            throw .keyFile(
                "merchant API certificate \(certificateFile) does not belong to private key \(privateKeyFile)")
        }
        return WeChatPayV3RequestSigner(mchID: mchID, serialNumber: certificate.serial, privateKey: privateKey)
    }

    public var description: String {
        "WeChatPayV3RequestSigner(mchid: \(mchID), serial: \(serialNumber))"
    }

    /// The string a request signature covers: `METHOD\nPATH?QUERY\ntimestamp\nnonce\nbody\n`. The URL is the
    /// absolute path and query exactly as sent, without scheme and host; a GET has an empty body (so the
    /// message ends `\n\n`).
    public static func message(
        method: String, pathAndQuery: String, timestamp: Int64, nonce: String, body: [UInt8]
    ) -> [UInt8] {
        var message = Array("\(method)\n\(pathAndQuery)\n\(timestamp)\n\(nonce)\n".utf8)
        message += body
        message.append(0x0A)
        return message
    }

    /// The base64 RSA-SHA256 signature of `message` with the merchant API private key.
    public func sign(_ message: [UInt8]) -> String {
        do {
            return try privateKey.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
                .rawRepresentation.base64EncodedString()
        } catch {
            // BoringSSL fails to sign a digest with a valid 2048+ bit key only when out of memory.
            preconditionFailure("RSA signing failed: \(error)")
        }
    }

    /// The `Authorization` header value:
    /// `WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",timestamp="…",serial_no="…",signature="…"`.
    public func authorization(
        method: String, pathAndQuery: String, timestamp: Int64, nonce: String, body: [UInt8]
    ) -> String {
        let signature = sign(
            Self.message(method: method, pathAndQuery: pathAndQuery, timestamp: timestamp, nonce: nonce, body: body))
        return "\(Self.scheme) mchid=\"\(mchID)\",nonce_str=\"\(nonce)\",timestamp=\"\(timestamp)\","
            + "serial_no=\"\(serialNumber)\",signature=\"\(signature)\""
    }

    /// The parameters a JSAPI payment is started with in the payer's WeChat client (`wx.requestPayment` /
    /// `WeixinJSBridge.invoke('getBrandWCPayRequest', …)`): `appId`, `timeStamp`, `nonceStr`,
    /// `package` = `prepay_id=…`, `signType` = `RSA` and `paySign`, the RSA-SHA256 signature over
    /// `appId\ntimeStamp\nnonceStr\npackage\n` with the merchant API private key.
    public func jsapiPayParameters(
        appID: String, prepayID: String, timestamp: Int64, nonce: String
    ) -> [String: String] {
        let package = "prepay_id=\(prepayID)"
        let timeStamp = String(timestamp)
        let paySign = sign(Array("\(appID)\n\(timeStamp)\n\(nonce)\n\(package)\n".utf8))
        return [
            "appId": appID,
            "timeStamp": timeStamp,
            "nonceStr": nonce,
            "package": package,
            "signType": "RSA",
            "paySign": paySign,
        ]
    }
}
