import Crypto
import Foundation
import PayFleetMessages

/// Verifies Stripe webhook events for one endpoint and normalises them.
///
/// `Stripe-Signature: t=…,v1=…[,v1=…]`: HMAC-SHA256, keyed with an endpoint secret, of `t`, `.` and the raw
/// body, lower-case hex. Any `v1` matching under any of the merchant's secrets is accepted (compared in
/// constant time); then `t` may be at most `timestampTolerance` old, as Stripe's libraries check, and (unlike them) at
/// most that far in the future.
///
/// Events: `payment_intent.succeeded` is a succeeded payment and `payment_intent.canceled` a closed one
/// (payment no from the PaymentIntent's `metadata.out_trade_no`, id the event id); `charge.refunded` (its
/// newest embedded refund), `refund.created`, `refund.updated`, `refund.failed` and
/// `charge.refund.updated` are refunds once the refund is `succeeded` (or `failed`/`canceled`). Amounts are
/// Stripe's integers, already in the currency's minor unit (zero-decimal currencies such as JPY included).
/// Anything else authentic is ignored.
public struct StripeVerifier: NotificationVerifier {
    public let merchant: StripeMerchant
    /// How old `t` may be.
    public let timestampTolerance: Duration

    public var channel: ChannelID { .stripe }
    public var merchantID: String { merchant.id }

    public init(merchant: StripeMerchant, timestampTolerance: Duration = .seconds(300)) {
        self.merchant = merchant
        self.timestampTolerance = timestampTolerance
    }

    public func verify(_ request: ChannelRequest, now: Date) throws(ChannelError) -> VerifiedNotification {
        if let mediaType = request.mediaType, mediaType != "application/json" {
            throw ChannelError(
                code: .unsupportedContentType, message: "Stripe events are application/json",
                detail: "content type \(mediaType.prefix(60))")
        }
        guard let headerText = request.header("Stripe-Signature"), !headerText.isEmpty else {
            throw ChannelError(code: .missingHeader, message: "header Stripe-Signature is missing")
        }
        let header = try StripeSignatureHeader(headerText)
        try checkSignature(header, body: request.body)
        try checkTimestamp(header.timestamp, now: now)
        let event: StripeEvent
        do {
            event = try JSONDecoder().decode(StripeEvent.self, from: Data(request.body))
        } catch {
            throw .malformed("Stripe event is not the JSON expected")
        }
        return try normalise(event, raw: String(decoding: request.body, as: UTF8.self))
    }

    /// 200 `{"received":true}`.
    public func successReply() -> ChannelReply {
        ChannelReply(status: 200, contentType: "application/json", body: #"{"received":true}"#)
    }

    public func failureReply(status: Int, message: String) -> ChannelReply {
        channel.failureReply(status: status, message: message)
    }

    /// The lower-case hex `v1` signature of `body` signed at `timestamp` with `secret`.
    static func signature(timestamp: Int64, body: [UInt8], secret: [UInt8]) -> String {
        let message = Array("\(timestamp).".utf8) + body
        return Hex.encode(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret)))
    }

    private func checkSignature(_ header: StripeSignatureHeader, body: [UInt8]) throws(ChannelError) {
        var valid = false
        for secret in merchant.endpointSecrets {
            let expected = Array(Self.signature(timestamp: header.timestamp, body: body, secret: secret).utf8)
            for candidate in header.v1 where ConstantTime.equals(expected, Array(candidate.utf8)) {
                valid = true
            }
        }
        guard valid else {
            throw .badSignature(
                "Stripe signature does not verify with any of merchant \(merchant.id)'s endpoint secrets",
                detail:
                    "\(merchant.endpointSecrets.count) secrets, \(header.v1.count) v1 signatures, body \(body.count) bytes"
            )
        }
    }

    private func checkTimestamp(_ timestamp: Int64, now: Date) throws(ChannelError) {
        let (whole, attoseconds) = timestampTolerance.components
        let tolerance = Double(whole) + Double(attoseconds) / 1e18
        let age = now.timeIntervalSince1970 - Double(timestamp)
        guard age <= tolerance else {
            throw ChannelError(
                code: .staleTimestamp,
                message: "Stripe-Signature timestamp is more than \(whole) s old; check the clock or a replay",
                detail: "age \(Int64(age.rounded())) s")
        }
        // Stripe's libraries accept any future t; a signature dated far ahead would stay replayable that much
        // longer, so the window is symmetric.
        guard -age <= tolerance else {
            throw ChannelError(
                code: .staleTimestamp,
                message: "Stripe-Signature timestamp is more than \(whole) s in the future; check the clock",
                detail: "ahead \(Int64((-age).rounded())) s")
        }
    }
}
