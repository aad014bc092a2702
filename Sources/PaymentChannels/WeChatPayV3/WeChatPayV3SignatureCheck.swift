import Crypto
import Foundation
import _CryptoExtras

/// The check WeChat Pay v3 signatures share, on notifications and on API responses alike: the
/// `WECHATPAY/SIGNTEST/` probe, the timestamp window, the key named by `Wechatpay-Serial`, and RSA-SHA256
/// (PKCS#1 v1.5) over `timestamp\nnonce\nbody\n` with the raw body bytes.
enum WeChatPayV3SignatureCheck {
    static func verify(
        timestamp: String, nonce: String, signature: String, serial: String, body: [UInt8],
        keys: [String: _RSA.Signing.PublicKey], merchantID: String, now: Date, tolerance: Duration
    ) throws(ChannelError) {
        if signature.hasPrefix(WeChatPayV3Verifier.probeSignaturePrefix) {
            throw .badSignature(
                "WeChat Pay signature probe (WECHATPAY/SIGNTEST/): refused by design", probe: true)
        }
        try checkTimestamp(timestamp, now: now, tolerance: tolerance)
        guard let key = keys[serial] else {
            throw ChannelError(
                code: .unknownKey,
                message: "Wechatpay-Serial names no configured platform certificate or public key",
                detail: "serial \(serial.prefix(64)), merchant \(merchantID)")
        }
        guard let signatureBytes = Data(base64Encoded: signature) else {
            throw .badSignature("Wechatpay-Signature is not base64")
        }
        var message: [UInt8] = []
        message.reserveCapacity(body.count + timestamp.utf8.count + nonce.utf8.count + 3)
        message += timestamp.utf8
        message.append(0x0A)
        message += nonce.utf8
        message.append(0x0A)
        message += body
        message.append(0x0A)
        let valid = key.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signatureBytes), for: SHA256.hash(data: message),
            padding: .insecurePKCS1v1_5)
        guard valid else {
            throw .badSignature(
                "WeChat Pay signature does not verify", detail: "serial \(serial), body \(body.count) bytes")
        }
    }

    private static func checkTimestamp(_ text: String, now: Date, tolerance: Duration) throws(ChannelError) {
        guard (1...12).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let seconds = Int64(text)
        else {
            throw ChannelError(code: .staleTimestamp, message: "Wechatpay-Timestamp is not a Unix time in seconds")
        }
        let (whole, attoseconds) = tolerance.components
        let toleranceSeconds = Double(whole) + Double(attoseconds) / 1e18
        let skew = now.timeIntervalSince1970 - Double(seconds)
        guard abs(skew) <= toleranceSeconds else {
            throw ChannelError(
                code: .staleTimestamp,
                message: "Wechatpay-Timestamp is more than \(whole) s from now; check the clock or a replay",
                detail: "skew \(Int64(skew.rounded())) s")
        }
    }
}
