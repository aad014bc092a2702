import Foundation

/// Signs webhook events the way Stripe does, for the sandbox and tests: `Stripe-Signature: t=…,v1=…` with
/// an endpoint secret, as ``StripeVerifier`` checks.
///
/// Only for test secrets: production events come from Stripe.
public struct StripeNotificationSigner: Sendable {
    /// The endpoint secret's bytes (`whsec_…`).
    public let endpointSecret: [UInt8]

    /// The Content-Type to post the body with.
    public static let contentType = "application/json; charset=utf-8"

    public init(endpointSecret: [UInt8]) {
        self.endpointSecret = endpointSecret
    }

    /// `t=<timestamp>,v1=<hex HMAC-SHA256 of "t.body">`.
    public func signatureHeader(body: [UInt8], timestamp: Date) -> String {
        let seconds = Int64(timestamp.timeIntervalSince1970.rounded(.down))
        return "t=\(seconds),v1=\(StripeVerifier.signature(timestamp: seconds, body: body, secret: endpointSecret))"
    }

    /// The headers Stripe sends with `body` signed at `timestamp`.
    public func sign(body: [UInt8], timestamp: Date) -> (headers: [String: String], body: [UInt8]) {
        let headers = [
            "Content-Type": Self.contentType,
            "Stripe-Signature": signatureHeader(body: body, timestamp: timestamp),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        ]
        return (headers, body)
    }

    /// A `payment_intent.*` event (`succeeded`, `canceled`, …) shaped like Stripe's, `amount` in the
    /// currency's minor unit; `outTradeNo` goes to `metadata.out_trade_no`.
    public static func paymentIntentEvent(
        type: String = "payment_intent.succeeded", eventID: String, paymentIntentID: String, outTradeNo: String?,
        amount: Int64, currency: String = "usd", created: Date
    ) -> [UInt8] {
        let seconds = Int64(created.timeIntervalSince1970.rounded(.down))
        let succeeded = type == "payment_intent.succeeded"
        let canceled = type == "payment_intent.canceled"
        let status = succeeded ? "succeeded" : canceled ? "canceled" : "requires_payment_method"
        let metadata = outTradeNo.map { "{\"out_trade_no\":\(JSONText.quote($0))}" } ?? "{}"
        let object =
            "{\"id\":\(JSONText.quote(paymentIntentID)),\"object\":\"payment_intent\",\"amount\":\(amount),"
            + "\"amount_capturable\":0,\"amount_received\":\(succeeded ? amount : 0),"
            + "\"canceled_at\":\(canceled ? String(seconds) : "null"),"
            + "\"cancellation_reason\":\(canceled ? "\"abandoned\"" : "null"),\"capture_method\":\"automatic\","
            + "\"created\":\(seconds - 60),\"currency\":\(JSONText.quote(currency)),\"livemode\":false,"
            + "\"metadata\":\(metadata),\"payment_method_types\":[\"card\"],\"status\":\(JSONText.quote(status))}"
        return envelope(type: type, eventID: eventID, object: object, created: seconds)
    }

    /// A `refund.*` event shaped like Stripe's (`status` `succeeded`, `pending`, `failed`, `canceled`).
    public static func refundEvent(
        type: String = "refund.updated", eventID: String, refundID: String, paymentIntentID: String,
        outTradeNo: String?, outRefundNo: String?, amount: Int64, currency: String = "usd",
        status: String = "succeeded",
        created: Date
    ) -> [UInt8] {
        let seconds = Int64(created.timeIntervalSince1970.rounded(.down))
        var metadata: [String] = []
        if let outRefundNo { metadata.append("\"out_refund_no\":\(JSONText.quote(outRefundNo))") }
        if let outTradeNo { metadata.append("\"out_trade_no\":\(JSONText.quote(outTradeNo))") }
        let object =
            "{\"id\":\(JSONText.quote(refundID)),\"object\":\"refund\",\"amount\":\(amount),"
            + "\"charge\":\"ch_3PayFleetSandbox0000001\",\"created\":\(seconds - 5),"
            + "\"currency\":\(JSONText.quote(currency)),\"metadata\":{\(metadata.joined(separator: ","))},"
            + "\"payment_intent\":\(JSONText.quote(paymentIntentID)),\"reason\":\"requested_by_customer\","
            + "\"status\":\(JSONText.quote(status))}"
        return envelope(type: type, eventID: eventID, object: object, created: seconds)
    }

    /// `{"id":…,"object":"event","api_version":…,"created":…,"data":{"object":…},…,"type":…}`.
    public static func envelope(type: String, eventID: String, object: String, created: Int64) -> [UInt8] {
        let text =
            "{\"id\":\(JSONText.quote(eventID)),\"object\":\"event\",\"api_version\":\"2024-06-20\","
            + "\"created\":\(created),\"data\":{\"object\":\(object)},\"livemode\":false,\"pending_webhooks\":1,"
            + "\"request\":{\"id\":null,\"idempotency_key\":null},\"type\":\(JSONText.quote(type))}"
        return Array(text.utf8)
    }
}
