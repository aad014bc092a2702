import Crypto
import Foundation
import PayFleetMessages
import _CryptoExtras

/// Verifies WeChat Pay API v3 notifications for one merchant and normalises them.
///
/// Checks, in order: content type, the four `Wechatpay-*` headers, `Wechatpay-Signature-Type` (absent, or
/// `WECHATPAY2-SHA256-RSA2048`: any other algorithm is refused as a bad signature), WeChat Pay's
/// `WECHATPAY/SIGNTEST/` probe, the timestamp window, the key named by `Wechatpay-Serial`, the RSA-SHA256 signature over
/// `timestamp\nnonce\nbody\n` (raw body bytes), then decrypts the AES-256-GCM resource with the APIv3 key
/// and checks `mchid`/`appid`.
public struct WeChatPayV3Verifier: NotificationVerifier {
    /// What WeChat Pay puts at the start of `Wechatpay-Signature` when it probes a merchant's verification.
    public static let probeSignaturePrefix = "WECHATPAY/SIGNTEST/"
    /// The only signature algorithm WeChat Pay API v3 notifications use (RSA-SHA256 with a 2048-bit key).
    public static let signatureType = "WECHATPAY2-SHA256-RSA2048"

    public let merchant: WeChatPayV3Merchant
    /// How far `Wechatpay-Timestamp` may be from `now`, either way.
    public let timestampTolerance: Duration

    public var channel: ChannelID { .wechatpay }
    public var merchantID: String { merchant.id }

    public init(merchant: WeChatPayV3Merchant, timestampTolerance: Duration = .seconds(300)) {
        self.merchant = merchant
        self.timestampTolerance = timestampTolerance
    }

    public func verify(_ request: ChannelRequest, now: Date) throws(ChannelError) -> VerifiedNotification {
        try normalise(open(request, now: now))
    }

    /// Verifies the signature and decrypts the resource without interpreting it. Pure: no I/O.
    public func open(_ request: ChannelRequest, now: Date) throws(ChannelError) -> WeChatPayV3Notification {
        if let mediaType = request.mediaType, mediaType != "application/json" {
            throw ChannelError(
                code: .unsupportedContentType, message: "WeChat Pay notifications are application/json",
                detail: "content type \(mediaType.prefix(60))")
        }
        let timestamp = try requiredHeader(request, "Wechatpay-Timestamp")
        let nonce = try requiredHeader(request, "Wechatpay-Nonce")
        let signature = try requiredHeader(request, "Wechatpay-Signature")
        let serial = try requiredHeader(request, "Wechatpay-Serial")
        if let signatureType = request.header("Wechatpay-Signature-Type"), signatureType != Self.signatureType {
            throw .badSignature(
                "Wechatpay-Signature-Type must be \(Self.signatureType)",
                detail: "Wechatpay-Signature-Type \(signatureType.prefix(40))")
        }

        try WeChatPayV3SignatureCheck.verify(
            timestamp: timestamp, nonce: nonce, signature: signature, serial: serial, body: request.body,
            keys: merchant.verificationKeys, merchantID: merchant.id, now: now, tolerance: timestampTolerance)
        return try decrypt(request.body)
    }

    public func successReply() -> ChannelReply {
        ChannelReply(status: 204, contentType: "application/json", body: "")
    }

    public func failureReply(status: Int, message: String) -> ChannelReply {
        channel.failureReply(status: status, message: message)
    }

    private func requiredHeader(_ request: ChannelRequest, _ name: String) throws(ChannelError) -> String {
        guard let value = request.header(name), !value.isEmpty else {
            throw ChannelError(code: .missingHeader, message: "header \(name) is missing")
        }
        return value
    }

    private func decrypt(_ body: [UInt8]) throws(ChannelError) -> WeChatPayV3Notification {
        guard let envelope = WeChatPayV3Envelope.decode(body) else {
            throw .malformed("WeChat Pay notification is not the JSON envelope expected")
        }
        guard let id = envelope.id, !id.isEmpty else { throw .malformed("notification has no id") }
        guard let eventType = envelope.eventType else { throw .malformed("notification has no event_type") }
        guard let resource = envelope.resource else { throw .malformed("notification has no resource") }
        guard resource.algorithm == "AEAD_AES_256_GCM" else {
            throw .malformed(
                "resource algorithm is not AEAD_AES_256_GCM", detail: "algorithm \(resource.algorithm ?? "none")")
        }
        guard let ciphertext = resource.ciphertext.flatMap({ Data(base64Encoded: $0) }),
            ciphertext.count >= 16
        else {
            throw .malformed("resource ciphertext is missing or not base64")
        }
        guard let nonceText = resource.nonce, let nonce = try? AES.GCM.Nonce(data: Array(nonceText.utf8)) else {
            throw .malformed("resource nonce is missing or shorter than 12 bytes")
        }
        let plaintext: Data
        do {
            let box = try AES.GCM.SealedBox(
                nonce: nonce, ciphertext: ciphertext.dropLast(16), tag: ciphertext.suffix(16))
            plaintext = try AES.GCM.open(
                box, using: merchant.apiV3Key, authenticating: Array((resource.associatedData ?? "").utf8))
        } catch {
            throw ChannelError(
                code: .decryptionFailed,
                message: "resource does not decrypt with merchant \(merchant.id)'s APIv3 key; check the key",
                detail: "event \(eventType), notification \(id)")
        }
        guard let text = String(validating: Array(plaintext), as: UTF8.self) else {
            throw .malformed("decrypted resource is not UTF-8")
        }
        return WeChatPayV3Notification(
            id: id, createTime: envelope.createTime ?? "", eventType: eventType,
            resourceType: envelope.resourceType ?? "", summary: envelope.summary,
            originalType: resource.originalType, plaintext: text)
    }
}
