import Foundation
import PayFleetMessages

extension StripeVerifier {
    /// Turns a verified event into what PayFleet publishes.
    func normalise(_ event: StripeEvent, raw: String) throws(ChannelError) -> VerifiedNotification {
        guard let id = event.id, !id.isEmpty else { throw .malformed("Stripe event has no id") }
        guard let type = event.type, !type.isEmpty else { throw .malformed("Stripe event has no type") }
        guard let object = event.data?.object else { throw .malformed("Stripe event has no data.object") }
        guard let created = event.created else { throw .malformed("Stripe event has no created time") }
        let eventTime = Date(timeIntervalSince1970: TimeInterval(created))
        switch type {
        case "payment_intent.succeeded":
            return try payment(object, kind: .succeeded, eventID: id, time: eventTime, raw: raw)
        case "payment_intent.canceled":
            let time = object.canceledAt.map { Date(timeIntervalSince1970: TimeInterval($0)) } ?? eventTime
            return try payment(object, kind: .closed, eventID: id, time: time, raw: raw)
        case "checkout.session.completed", "checkout.session.async_payment_succeeded":
            return try checkoutSession(object, eventID: id, time: eventTime, raw: raw)
        case "charge.refunded":
            // Before API version 2022-11-15 the Charge embeds its refunds (newest first); since, it does not, and the
            // refund.* events of the same refund carry it.
            guard let refund = object.refunds?.data?.first else {
                return .ignored(reason: "Stripe charge.refunded without embedded refunds; refund.* events carry them")
            }
            return try self.refund(refund, charge: object, time: eventTime, raw: raw)
        case "refund.created", "refund.updated", "refund.failed", "charge.refund.updated":
            return try refund(object, charge: nil, time: eventTime, raw: raw)
        default:
            return .ignored(reason: "Stripe event \(type.prefix(60)) is not handled")
        }
    }

    private func payment(
        _ intent: StripeEvent.Object, kind: PaymentNotification.Kind, eventID: String, time: Date, raw: String
    ) throws(ChannelError) -> VerifiedNotification {
        guard let intentID = intent.id, !intentID.isEmpty else { throw .malformed("PaymentIntent has no id") }
        guard let paymentNo = intent.metadata?["out_trade_no"], !paymentNo.isEmpty else {
            return .ignored(reason: "Stripe PaymentIntent \(intentID.prefix(40)) has no metadata.out_trade_no")
        }
        let received = kind == .succeeded ? intent.amountReceived : nil
        guard let amount = received ?? intent.amount, amount >= 0 else {
            throw .malformed("PaymentIntent has no amount", detail: "payment intent \(intentID.prefix(40))")
        }
        guard let currency = intent.currency, !currency.isEmpty else {
            throw .malformed("PaymentIntent has no currency", detail: "payment intent \(intentID.prefix(40))")
        }
        return .payment(
            PaymentNotification(
                id: eventID, channel: .stripe, merchant: merchant.id, kind: kind, paymentNo: paymentNo,
                channelTradeNo: intentID, amountMinor: amount, currency: currency.uppercased(), occurredAt: time,
                raw: raw))
    }

    /// A paid Checkout Session in payment mode: the same payment as its PaymentIntent's `payment_intent.succeeded`
    /// (channel trade number the PaymentIntent id), so whichever of the two arrives first settles it, once. Our
    /// payment number is `metadata.out_trade_no`, else `client_reference_id`.
    private func checkoutSession(
        _ session: StripeEvent.Object, eventID: String, time: Date, raw: String
    ) throws(ChannelError) -> VerifiedNotification {
        guard let sessionID = session.id, !sessionID.isEmpty else { throw .malformed("Checkout Session has no id") }
        guard session.paymentStatus == "paid", session.mode == nil || session.mode == "payment" else {
            return .ignored(
                reason: "Stripe Checkout Session \(sessionID.prefix(40)) is \((session.paymentStatus ?? "?").prefix(24))")
        }
        let paymentNo =
            session.metadata?["out_trade_no"].flatMap { $0.isEmpty ? nil : $0 }
            ?? session.clientReferenceID.flatMap { $0.isEmpty ? nil : $0 }
        guard let paymentNo else {
            return .ignored(reason: "Stripe Checkout Session \(sessionID.prefix(40)) names no out_trade_no")
        }
        guard let intentID = session.paymentIntent, !intentID.isEmpty else {
            throw .malformed("a paid Checkout Session has no payment_intent", detail: "session \(sessionID.prefix(40))")
        }
        guard let amount = session.amountTotal, amount >= 0 else {
            throw .malformed("Checkout Session has no amount_total", detail: "session \(sessionID.prefix(40))")
        }
        guard let currency = session.currency, !currency.isEmpty else {
            throw .malformed("Checkout Session has no currency", detail: "session \(sessionID.prefix(40))")
        }
        return .payment(
            PaymentNotification(
                id: eventID, channel: .stripe, merchant: merchant.id, kind: .succeeded, paymentNo: paymentNo,
                channelTradeNo: intentID, amountMinor: amount, currency: currency.uppercased(), occurredAt: time,
                raw: raw))
    }

    /// A refund, with the charge it came in when the event is `charge.refunded`. The id is the refund's id
    /// and status, so the several events announcing one outcome are one notification. A refund made in the
    /// Dashboard carries none of our numbers: its payment is named by the PaymentIntent (the channel trade number)
    /// and its refund number is its own id.
    private func refund(
        _ refund: StripeEvent.Object, charge: StripeEvent.Object?, time: Date, raw: String
    ) throws(ChannelError) -> VerifiedNotification {
        guard let refundID = refund.id, !refundID.isEmpty else { throw .malformed("Refund has no id") }
        let stripeStatus = refund.status ?? "none"
        let status: RefundNotification.Status
        switch stripeStatus {
        case "succeeded": status = .succeeded
        case "failed", "canceled": status = .failed
        default: return .ignored(reason: "Stripe refund \(refundID.prefix(40)) is \(stripeStatus.prefix(24))")
        }
        let paymentNo =
            refund.metadata?["out_trade_no"].flatMap { $0.isEmpty ? nil : $0 }
            ?? charge?.metadata?["out_trade_no"].flatMap { $0.isEmpty ? nil : $0 }
        let intentID = (refund.paymentIntent ?? charge?.paymentIntent).flatMap { $0.isEmpty ? nil : $0 }
        guard paymentNo != nil || intentID != nil else {
            return .ignored(reason: "Stripe refund \(refundID.prefix(40)) names neither out_trade_no nor payment_intent")
        }
        guard let amount = refund.amount, amount >= 0 else {
            throw .malformed("Refund has no amount", detail: "refund \(refundID.prefix(40))")
        }
        let refundNo = refund.metadata?["out_refund_no"].flatMap { $0.isEmpty ? nil : $0 } ?? refundID
        return .refund(
            RefundNotification(
                id: "\(refundID):\(stripeStatus)", channel: .stripe, merchant: merchant.id, refundNo: refundNo,
                channelRefundNo: refundID, paymentNo: paymentNo ?? "", status: status, amountMinor: amount,
                occurredAt: time, raw: raw, channelTradeNo: intentID))
    }
}
