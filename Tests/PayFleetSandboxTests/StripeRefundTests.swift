import Foundation
import PayFleetMessages
import PayFleetSandbox
import PaymentChannels
import Testing

/// Stripe refunds as the sandbox plays them: pending refunds that complete by themselves with two events, the refund
/// faults, `GET /v1/refunds/:id` and `GET /v1/refunds` called with raw requests, idempotency on the Idempotency-Key
/// alone (so the audit shows the double a reused key would make), and Dashboard (console) refunds.
@Suite("channel sandbox: Stripe refunds")
struct StripeRefundTests {
    static func bearer() throws -> String {
        "Bearer "
            + (try String(contentsOfFile: Keys.stripeSecretKeyFile, encoding: .utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func get(_ h: Harness, _ path: String, authorized: Bool = true) async throws -> (Int, [String: Any]) {
        let headers = authorized ? [("Authorization", try bearer())] : []
        let (status, body) = try await h.raw(
            ChannelHTTPRequest(method: "GET", url: h.baseURL + path, headers: headers, body: []))
        return (status, body as? [String: Any] ?? [:])
    }

    static func postRefund(
        _ h: Harness, key: String, intent: String, no: String, refundNo: String, amount: Int64
    ) async throws -> (Int, [String: Any]) {
        let form = FormCodec.encode([
            (key: "payment_intent", value: intent), (key: "amount", value: String(amount)),
            (key: "metadata[out_trade_no]", value: no), (key: "metadata[out_refund_no]", value: refundNo),
        ])
        let (status, body) = try await h.raw(
            ChannelHTTPRequest(
                method: "POST", url: h.baseURL + "/v1/refunds",
                headers: [
                    ("Authorization", try bearer()), ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Idempotency-Key", key),
                ],
                body: Array(form.utf8)))
        return (status, body as? [String: Any] ?? [:])
    }

    /// The event type and data.object of a verified Stripe notification's raw body.
    static func event(_ refund: RefundNotification) -> (type: String, object: [String: Any]) {
        let body = (try? JSONSerialization.jsonObject(with: Data(refund.raw.utf8))) as? [String: Any]
        let object = (body?["data"] as? [String: Any])?["object"] as? [String: Any]
        return (body?["type"] as? String ?? "", object ?? [:])
    }

    @Test("created pending; refund.updated and charge.refunded; retrieve and list; refuse; abnormal; a reused key")
    func refunds() async throws {
        try await Harness.run(refundComplete: .milliseconds(100)) { h in
            let no = orderNo()
            let gateway = StripeGateway(client: try h.stripeClient())
            let parameters = try await gateway.prepay(
                PrepayOrder(paymentNo: no, amountMinor: 2000, currency: "USD", description: ""))
            let intent = try #require(parameters["payment_intent"])
            #expect(try await h.control("POST", "/sandbox/stripe/pay/\(no)").0 == 200)
            func order(_ number: String, _ amount: Int64) -> RefundOrder {
                RefundOrder(
                    refundNo: number, paymentNo: no, channelTradeNo: intent, paymentAmountMinor: 2000,
                    amountMinor: amount, currency: "USD")
            }
            guard case .processing(let r1?, _) = try await gateway.refund(order("R1" + no, 500)) else {
                Issue.record("a new Stripe refund is pending")
                return
            }
            var (status, refund) = try await Self.get(h, "/v1/refunds/\(r1)")
            #expect(
                status == 200 && refund["status"] as? String == "pending" && refund["object"] as? String == "refund")
            #expect(refund["payment_intent"] as? String == intent && refund["amount"] as? Int == 500)
            #expect(refund["metadata"] as? [String: String] == ["out_trade_no": no, "out_refund_no": "R1" + no])

            let events = try await h.waitForRefunds("stripe", count: 2) { $0.channelRefundNo == r1 }
            #expect(Set(events.map { Self.event($0).type }) == ["refund.updated", "charge.refunded"])
            #expect(events.allSatisfy { $0.refundNo == "R1" + no && $0.status == .succeeded && $0.amountMinor == 500 })
            (status, refund) = try await Self.get(h, "/v1/refunds/\(r1)")
            #expect(refund["status"] as? String == "succeeded")

            // refuse: a permanent invalid_request_error, nothing made.
            try await h.fault("stripe.refund", "refuse")
            let refused = await apiError { _ = try await gateway.refund(order("RX" + no, 100)) }
            #expect(refused?.isTransient == false && refused?.code == .invalidRequest, "\(String(describing: refused))")

            // abnormal: pending, then failed, with refund.updated and refund.failed.
            try await h.fault("stripe.refund", "abnormal")
            guard case .processing(let r2?, _) = try await gateway.refund(order("R2" + no, 300)) else {
                Issue.record("an abnormal Stripe refund is pending first")
                return
            }
            let failed = try await h.waitForRefunds("stripe", count: 2) { $0.channelRefundNo == r2 }
            #expect(Set(failed.map { Self.event($0).type }) == ["refund.updated", "refund.failed"])
            #expect(failed.allSatisfy { $0.status == .failed && $0.refundNo == "R2" + no })
            (status, refund) = try await Self.get(h, "/v1/refunds/\(r2)")
            #expect(refund["status"] as? String == "failed" && refund["failure_reason"] is String)

            // Stripe is idempotent on the key alone: R1's number under another key is a second refund…
            let (created, double) = try await Self.postRefund(
                h, key: "another-key-" + no, intent: intent, no: no, refundNo: "R1" + no, amount: 500)
            #expect(created == 200, "\(double)")
            let doubleID = try #require(double["id"] as? String)
            #expect(doubleID != r1)
            try await h.waitForRefunds("stripe", count: 2) { $0.channelRefundNo == doubleID }
            // …and R1's key with another amount is refused, yet counted.
            let (mismatch, error) = try await Self.postRefund(
                h, key: "R1" + no, intent: intent, no: no, refundNo: "R1" + no, amount: 400)
            #expect(mismatch == 400 && (error["error"] as? [String: Any])?["type"] as? String == "idempotency_error")

            var list: [String: Any]
            (status, list) = try await Self.get(h, "/v1/refunds?payment_intent=\(intent)&limit=10")
            #expect(status == 200 && list["object"] as? String == "list" && list["url"] as? String == "/v1/refunds")
            #expect(list["has_more"] as? Bool == false)
            let ids = (list["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids == [doubleID, r2, r1], "newest first")
            (status, list) = try await Self.get(h, "/v1/refunds?payment_intent=\(intent)&limit=1")
            #expect(list["has_more"] as? Bool == true && (list["data"] as? [Any])?.count == 1)

            let (missing, notFound) = try await Self.get(h, "/v1/refunds/re_nosuchrefund")
            #expect(missing == 404 && (notFound["error"] as? [String: Any])?["code"] as? String == "resource_missing")
            #expect(try await Self.get(h, "/v1/refunds/\(r1)", authorized: false).0 == 401)

            let audit = try await h.audit(channel: "stripe")
            let numbered = audit.refunds(numbered: "R1" + no)
            #expect(numbered.count == 2, "the double is in the audit")
            let first = numbered.first { $0["refund_id"] as? String == r1 }
            #expect(first?["requests"] as? Int == 2 && first?["amounts_requested"] as? [Int] == [500, 400])
            #expect(audit.refused(numbered: "R1" + no).count == 1 && audit.refused(numbered: "RX" + no).count == 1)
            #expect(audit.refunds(numbered: "RX" + no).isEmpty)
            #expect(audit.doubles.count == 2, "R1 twice, and asked with two amounts: \(audit.doubles)")
            #expect(audit.payment(no)?["refunded"] as? Int == 1000, "R1 and its double both gave money back")
        }
    }

    @Test("a Dashboard refund has no metadata; charge.refunded embeds the charge's refunds newest first")
    func console() async throws {
        try await Harness.run(refundComplete: .milliseconds(100)) { h in
            let no = orderNo()
            let gateway = StripeGateway(client: try h.stripeClient())
            let intent = try #require(
                try await gateway.prepay(
                    PrepayOrder(paymentNo: no, amountMinor: 2000, currency: "USD", description: ""))[
                        "payment_intent"])
            #expect(try await h.control("POST", "/sandbox/stripe/pay/\(no)").0 == 200)
            guard
                case .processing(let r1?, _) = try await gateway.refund(
                    RefundOrder(
                        refundNo: "R1" + no, paymentNo: no, channelTradeNo: intent, paymentAmountMinor: 2000,
                        amountMinor: 500, currency: "USD"))
            else {
                Issue.record("a new Stripe refund is pending")
                return
            }
            try await h.waitForRefunds("stripe", count: 2) { $0.channelRefundNo == r1 }

            let (status, made) = try await h.control("POST", "/sandbox/stripe/console-refund/\(no)?amount=100")
            #expect(status == 200, "\(made)")
            let consoleID = try #require(made["refund_id"] as? String)
            let events = try await h.waitForRefunds("stripe", count: 2) { $0.channelRefundNo == consoleID }
            #expect(events.allSatisfy { $0.refundNo == consoleID && $0.amountMinor == 100 && $0.status == .succeeded })
            let updated = try #require(events.map(Self.event).first { $0.type == "refund.updated" })
            #expect(updated.object["metadata"] as? [String: String] == [:], "no number of ours, no metadata at all")
            let charge = try #require(events.map(Self.event).first { $0.type == "charge.refunded" })
            let embedded = try #require(charge.object["refunds"] as? [String: Any])
            let ids = (embedded["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(ids == [consoleID, r1] && embedded["total_count"] as? Int == 2)
            #expect(charge.object["amount_refunded"] as? Int == 600)

            let audit = try await h.audit(channel: "stripe")
            #expect(audit.refunds(numbered: consoleID).first?["origin"] as? String == "console")
            #expect(audit.payment(no)?["refunded"] as? Int == 600)
            #expect(audit.doubles.isEmpty, "\(audit.doubles)")
        }
    }
}
