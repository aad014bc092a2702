import Foundation
import PayFleetMessages

/// Stripe as payment-worker calls it, over a ``StripeClient``.
///
/// - prepay: creates a PaymentIntent (`metadata[out_trade_no]` = the payment number, idempotent on it) and
///   answers `client_secret`, `payment_intent` (its id) and, when configured, `publishable_key`: what Stripe.js or
///   the mobile SDKs confirm the payment with.
/// - query: searches the PaymentIntents of the payment number (the gateway knows no PaymentIntent id). One
///   `succeeded` is paid, with the PaymentIntent id as the channel trade number (as ``StripeVerifier`` reports a
///   `payment_intent.succeeded`, so a query and a webhook settle identically), `amount_received`, the currency
///   upper-cased; `requires_*` and `processing` pending; all `canceled` closed; none found not found. Stripe's
///   search lags writes by up to about a minute, so a payment opened moments ago may still be not found.
/// - close: cancels every PaymentIntent of the payment that is not final; none found counts as closed; a
///   `succeeded` one fails with ``ChannelAPIError/Code/rejected`` so the caller queries and settles it.
/// - refund: a Refund of the PaymentIntent already made under our refund number is answered as it is (Idempotency-Keys
///   last 24 hours); otherwise one is created with our refund number as its `Idempotency-Key` and
///   `metadata[out_refund_no]`: `succeeded` is succeeded, `pending` / `requires_action`
///   processing, `failed` / `canceled` failed. Refund query: by the refund's id when known, else the PaymentIntent's
///   refunds whose `metadata.out_refund_no` is ours; none is not found.
public struct StripeGateway: PaymentGateway {
    public let client: StripeClient
    public var channel: ChannelID { .stripe }
    public var merchantID: String { client.merchantID }
    /// The clock `paidAt` is read from: a PaymentIntent carries no time of payment.
    private let now: @Sendable () -> Date

    public init(client: StripeClient, now: (@Sendable () -> Date)? = nil) {
        self.client = client
        self.now = now ?? { Date() }
    }

    public func prepay(_ order: PrepayOrder) async throws(ChannelAPIError) -> [String: String] {
        let intent = try await client.createPaymentIntent(
            StripePaymentIntentRequest(
                outTradeNo: order.paymentNo, amountMinor: order.amountMinor, currency: order.currency,
                description: order.description.isEmpty ? nil : order.description))
        guard let clientSecret = intent.clientSecret, !clientSecret.isEmpty else {
            throw ChannelAPIError(
                code: .malformedResponse, channel: .stripe, operation: "create_payment_intent", httpStatus: 200,
                message: "the PaymentIntent has no client_secret")
        }
        var parameters = ["client_secret": clientSecret, "payment_intent": intent.id]
        if let key = client.configuration.publishableKey, !key.isEmpty { parameters["publishable_key"] = key }
        return parameters
    }

    public func query(paymentNo: String) async throws(ChannelAPIError) -> ChannelPaymentState {
        let intents = try await client.searchPaymentIntents(outTradeNo: paymentNo)
        if let paid = intents.first(where: { $0.status == .succeeded }) {
            return .paid(
                ChannelPayment(
                    paymentNo: paymentNo, channelTradeNo: paid.id,
                    amountMinor: paid.amountReceivedMinor > 0 ? paid.amountReceivedMinor : paid.amountMinor,
                    currency: paid.currency, paidAt: now(), raw: paid.raw))
        }
        if let open = intents.first(where: { $0.status != .canceled }) {
            return .pending(detail: open.status.rawValue)
        }
        return intents.isEmpty ? .notFound : .closed(detail: StripePaymentIntent.Status.canceled.rawValue)
    }

    public func close(paymentNo: String) async throws(ChannelAPIError) {
        let intents = try await client.searchPaymentIntents(outTradeNo: paymentNo)
        if intents.contains(where: { $0.status == .succeeded }) {
            throw ChannelAPIError(
                code: .rejected, channel: .stripe, operation: "cancel_payment_intent",
                message: "the payment succeeded at Stripe; it cannot be closed")
        }
        for intent in intents where intent.status != .canceled {
            do {
                _ = try await client.cancelPaymentIntent(id: intent.id, outTradeNo: paymentNo)
            } catch where error.code == .notFound {
                continue
            }
        }
    }

    /// Stripe keeps an `Idempotency-Key` for 24 hours only: a refund retried later (a dead letter replayed the next
    /// day) would be a second refund. So the PaymentIntent's refunds are looked at first, and one already made under
    /// this refund number is answered instead of creating another.
    public func refund(_ order: RefundOrder) async throws(ChannelAPIError) -> ChannelRefundState {
        if let existing = try await client.listRefunds(paymentIntentID: order.channelTradeNo).first(where: {
            $0.outRefundNo == order.refundNo
        }) {
            return state(existing, refundNo: order.refundNo)
        }
        return state(
            try await client.createRefund(
                StripeRefundRequest(
                    paymentIntentID: order.channelTradeNo, outTradeNo: order.paymentNo, outRefundNo: order.refundNo,
                    amountMinor: order.amountMinor, reason: order.reason.isEmpty ? nil : order.reason)),
            refundNo: order.refundNo)
    }

    public func queryRefund(_ lookup: RefundLookup) async throws(ChannelAPIError) -> ChannelRefundState {
        if let id = lookup.channelRefundNo, !id.isEmpty {
            do {
                return state(try await client.retrieveRefund(id: id), refundNo: lookup.refundNo)
            } catch where error.code == .notFound {
                return .notFound
            }
        }
        guard !lookup.channelTradeNo.isEmpty else { return .notFound }
        let refunds = try await client.listRefunds(paymentIntentID: lookup.channelTradeNo)
        guard let refund = refunds.first(where: { $0.outRefundNo == lookup.refundNo }) else { return .notFound }
        return state(refund, refundNo: lookup.refundNo)
    }

    private func state(_ refund: StripeRefund, refundNo: String) -> ChannelRefundState {
        switch refund.status {
        case "succeeded":
            .succeeded(
                ChannelRefund(
                    refundNo: refundNo, channelRefundNo: refund.id, amountMinor: refund.amountMinor,
                    succeededAt: now(), raw: refund.raw))
        case "failed", "canceled":
            .failed(channelRefundNo: refund.id, detail: refund.status, raw: refund.raw)
        default:
            .processing(channelRefundNo: refund.id, raw: refund.raw)
        }
    }

    public var offersBill: Bool { true }

    /// The PaymentIntents and Refunds created in `day` (UTC), every page, as a bill (see ``StripeBill``). Stripe puts
    /// a PaymentIntent on the day it was created (its `created`; a PaymentIntent records no time of success), so a
    /// payment created on one day and paid on the next is on the first day's list.
    public func bill(for day: BillDay) async throws(ChannelAPIError) -> ChannelBill {
        let listed = try await client.listBill(day: day)
        return ChannelBill(channel: .stripe, merchantID: merchantID, day: day, records: listed.records)
    }
}
