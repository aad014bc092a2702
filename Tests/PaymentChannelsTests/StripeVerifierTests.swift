import Crypto
import Foundation
import PayFleetMessages
import PaymentChannels
import Testing

@Suite("Stripe events")
struct StripeVerifierTests {
    let merchant: StripeMerchant
    let verifier: StripeVerifier
    let signer: StripeNotificationSigner
    let created = Sandbox.now.addingTimeInterval(-2)

    init() throws {
        merchant = try Sandbox.stripeMerchant()
        verifier = StripeVerifier(merchant: merchant)
        signer = try Sandbox.stripeSigner()
    }

    func succeededBody(outTradeNo: String? = "PF20261118000046", amount: Int64 = 8888, currency: String = "usd")
        -> [UInt8]
    {
        StripeNotificationSigner.paymentIntentEvent(
            eventID: "evt_3PayFleet0000000046", paymentIntentID: "pi_3PayFleet0000000046", outTradeNo: outTradeNo,
            amount: amount, currency: currency, created: created)
    }

    func signed(_ body: [UInt8], by signer: StripeNotificationSigner? = nil, at time: Date = Sandbox.now)
        -> ChannelRequest
    {
        let signed = (signer ?? self.signer).sign(body: body, timestamp: time)
        return ChannelRequest(headers: signed.headers, body: signed.body)
    }

    func expectError(
        _ code: ChannelError.Code, _ request: ChannelRequest, now: Date = Sandbox.now, verifier: StripeVerifier? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ChannelError? {
        expectChannelError(
            code, request, verifier: verifier ?? self.verifier, now: now, sourceLocation: sourceLocation)
    }

    @Test("a signed payment_intent.succeeded becomes a payment")
    func success() throws {
        let body = succeededBody()
        let result = try verifier.verify(signed(body), now: Sandbox.now)
        #expect(
            result
                == .payment(
                    PaymentNotification(
                        id: "evt_3PayFleet0000000046", channel: .stripe, merchant: "stripe-main", kind: .succeeded,
                        paymentNo: "PF20261118000046", channelTradeNo: "pi_3PayFleet0000000046", amountMinor: 8888,
                        currency: "USD", occurredAt: created, raw: String(decoding: body, as: UTF8.self))))
        #expect(verifier.channel == .stripe)
        #expect(verifier.merchantID == "stripe-main")
    }

    @Test("v1 is the hex HMAC-SHA256 of \"t.body\" keyed with the whole whsec_ secret")
    func signatureScheme() throws {
        let body = succeededBody()
        let header = signer.signatureHeader(body: body, timestamp: Sandbox.now)
        let secret = merchant.endpointSecrets[0]
        #expect(String(decoding: secret, as: UTF8.self).hasPrefix("whsec_"))
        let mac = HMAC<SHA256>.authenticationCode(
            for: Array("1795000000.".utf8) + body, using: SymmetricKey(data: secret))
        #expect(header == "t=1795000000,v1=" + mac.map { String(format: "%02x", $0) }.joined())
    }

    @Test("any v1 under any configured secret verifies: a rolled secret and Stripe's double signature")
    func rotation() throws {
        let old = StripeNotificationSigner(endpointSecret: Array("whsec_OldSandboxSecretTESTONLY0000".utf8))
        let body = succeededBody()
        // While rolling, Stripe signs with both secrets: t=…,v1=<new>,v1=<old>.
        let oldV1 = old.signatureHeader(body: body, timestamp: Sandbox.now).split(separator: ",")[1]
        var request = signed(body)
        request.headers["stripe-signature"] = request.header("stripe-signature")! + ",v0=00," + oldV1
        #expect(throws: Never.self) { try verifier.verify(request, now: Sandbox.now) }
        let oldOnly = StripeVerifier(merchant: StripeMerchant(id: "stripe-main", endpointSecrets: [old.endpointSecret]))
        #expect(throws: Never.self) { try oldOnly.verify(request, now: Sandbox.now) }

        let both = StripeVerifier(
            merchant: StripeMerchant(
                id: "stripe-main", endpointSecrets: [old.endpointSecret] + merchant.endpointSecrets))
        #expect(throws: Never.self) { try both.verify(signed(body, by: old), now: Sandbox.now) }
        #expect(throws: Never.self) { try both.verify(signed(body), now: Sandbox.now) }
        _ = expectError(.badSignature, signed(body, by: old))
    }

    @Test("a tampered body, another secret, a v0-only or garbled header fail; no header is missingHeader")
    func badSignatures() throws {
        var tampered = signed(succeededBody())
        tampered.body[tampered.body.count / 2] ^= 0x01
        let error = expectError(.badSignature, tampered)
        #expect(error?.httpStatus == 401)
        let stranger = StripeNotificationSigner(endpointSecret: Array("whsec_StrangerSecretTESTONLY00000".utf8))
        _ = expectError(.badSignature, signed(succeededBody(), by: stranger))

        var v0Only = signed(succeededBody())
        v0Only.headers["stripe-signature"] = "t=1795000000,v0=" + String(repeating: "ab", count: 32)
        _ = expectError(.badSignature, v0Only)
        var noTimestamp = signed(succeededBody())
        noTimestamp.headers["stripe-signature"] = noTimestamp.header("stripe-signature")!
            .replacingOccurrences(of: "t=1795000000,", with: "")
        _ = expectError(.badSignature, noTimestamp)
        var otherTimestamp = signed(succeededBody())
        otherTimestamp.headers["stripe-signature"] = otherTimestamp.header("stripe-signature")!
            .replacingOccurrences(of: "t=1795000000", with: "t=1795000001")
        _ = expectError(.badSignature, otherTimestamp)

        var missing = signed(succeededBody())
        missing.headers["stripe-signature"] = nil
        _ = expectError(.missingHeader, missing)
    }

    @Test("a timestamp more than 300 s old is stale; 300 s old and future ones are accepted; tolerance configurable")
    func timestamps() throws {
        let request = signed(succeededBody())
        let error = expectError(.staleTimestamp, request, now: Sandbox.now.addingTimeInterval(301))
        #expect(error?.httpStatus == 401)
        for offset in [-60.0, 0, 299, 300] {
            #expect(throws: Never.self) { try verifier.verify(request, now: Sandbox.now.addingTimeInterval(offset)) }
        }
        let strict = StripeVerifier(merchant: merchant, timestampTolerance: .seconds(30))
        _ = expectError(.staleTimestamp, request, now: Sandbox.now.addingTimeInterval(31), verifier: strict)
    }

    @Test("payment_intent.canceled is a closed payment at canceled_at")
    func canceled() throws {
        let body = StripeNotificationSigner.paymentIntentEvent(
            type: "payment_intent.canceled", eventID: "evt_3PayFleetCancel", paymentIntentID: "pi_3PayFleetCancel",
            outTradeNo: "PF20261118000047", amount: 1200, currency: "eur", created: created)
        guard case .payment(let payment) = try verifier.verify(signed(body), now: Sandbox.now) else {
            Issue.record("expected a payment")
            return
        }
        #expect(payment.kind == .closed)
        #expect(payment.amountMinor == 1200)
        #expect(payment.currency == "EUR")
        #expect(payment.occurredAt == created)
        #expect(payment.channelTradeNo == "pi_3PayFleetCancel")
    }

    @Test("zero-decimal currencies keep Stripe's integer: 5000 JPY is 5000")
    func zeroDecimal() throws {
        guard
            case .payment(let payment) = try verifier.verify(
                signed(succeededBody(amount: 5000, currency: "jpy")), now: Sandbox.now)
        else {
            Issue.record("expected a payment")
            return
        }
        #expect(payment.amountMinor == 5000)
        #expect(payment.currency == "JPY")
    }

    @Test("refund events: succeeded, failed and canceled are refunds; pending is ignored")
    func refunds() throws {
        for (type, stripeStatus, status) in [
            ("refund.updated", "succeeded", RefundNotification.Status.succeeded),
            ("refund.created", "succeeded", .succeeded), ("refund.failed", "failed", .failed),
            ("charge.refund.updated", "canceled", .failed),
        ] {
            let body = StripeNotificationSigner.refundEvent(
                type: type, eventID: "evt_refund_\(stripeStatus)", refundID: "re_3PayFleet0000000046",
                paymentIntentID: "pi_3PayFleet0000000046", outTradeNo: "PF20261118000046",
                outRefundNo: "RF20261118000003", amount: 888, status: stripeStatus, created: created)
            let result = try verifier.verify(signed(body), now: Sandbox.now)
            #expect(
                result
                    == .refund(
                        RefundNotification(
                            id: "re_3PayFleet0000000046:\(stripeStatus)", channel: .stripe, merchant: "stripe-main",
                            refundNo: "RF20261118000003", channelRefundNo: "re_3PayFleet0000000046",
                            paymentNo: "PF20261118000046", status: status, amountMinor: 888, occurredAt: created,
                            raw: String(decoding: body, as: UTF8.self), channelTradeNo: "pi_3PayFleet0000000046")),
                "\(type) \(stripeStatus)")
        }
        let pending = StripeNotificationSigner.refundEvent(
            eventID: "evt_refund_pending", refundID: "re_3PayFleetPending", paymentIntentID: "pi_1",
            outTradeNo: "PF1", outRefundNo: "RF1", amount: 1, status: "pending", created: created)
        #expect(
            try verifier.verify(signed(pending), now: Sandbox.now)
                == .ignored(reason: "Stripe refund re_3PayFleetPending is pending"))

        let dashboard = StripeNotificationSigner.refundEvent(
            eventID: "evt_refund_dashboard", refundID: "re_3PayFleetDashboard", paymentIntentID: "pi_1",
            outTradeNo: "PF1", outRefundNo: nil, amount: 1, created: created)
        guard case .refund(let refund) = try verifier.verify(signed(dashboard), now: Sandbox.now) else {
            Issue.record("expected a refund")
            return
        }
        #expect(refund.refundNo == "re_3PayFleetDashboard")

        // Made in the Dashboard, with no metadata of ours: named by its PaymentIntent, so it is not lost.
        let console = StripeNotificationSigner.refundEvent(
            eventID: "evt_refund_console", refundID: "re_3PayFleetConsole", paymentIntentID: "pi_1",
            outTradeNo: nil, outRefundNo: nil, amount: 1, created: created)
        guard case .refund(let consoleRefund) = try verifier.verify(signed(console), now: Sandbox.now) else {
            Issue.record("a Dashboard refund was not read as a refund")
            return
        }
        #expect(consoleRefund.paymentNo == "" && consoleRefund.channelTradeNo == "pi_1")
        #expect(consoleRefund.refundNo == "re_3PayFleetConsole" && consoleRefund.amountMinor == 1)
    }

    @Test("charge.refunded takes its newest embedded refund, the payment no from the charge's metadata")
    func chargeRefunded() throws {
        let seconds = Int64(created.timeIntervalSince1970)
        let charge =
            #"{"id":"ch_3PayFleet","object":"charge","amount":8888,"amount_refunded":888,"currency":"usd","#
            + #""metadata":{"out_trade_no":"PF20261118000046"},"payment_intent":{"id":"pi_3PayFleet0000000046"},"#
            + #""refunded":false,"refunds":{"object":"list","data":[{"id":"re_new","object":"refund","amount":888,"#
            + #""currency":"usd","metadata":{"out_refund_no":"RF20261118000004"},"status":"succeeded"},"#
            + #"{"id":"re_old","object":"refund","amount":100,"currency":"usd","metadata":{},"status":"succeeded"}],"#
            + #""has_more":false},"status":"succeeded"}"#
        let body = StripeNotificationSigner.envelope(
            type: "charge.refunded", eventID: "evt_charge_refunded", object: charge, created: seconds)
        guard case .refund(let refund) = try verifier.verify(signed(body), now: Sandbox.now) else {
            Issue.record("expected a refund")
            return
        }
        #expect(refund.channelRefundNo == "re_new")
        #expect(refund.refundNo == "RF20261118000004")
        #expect(refund.paymentNo == "PF20261118000046")
        #expect(refund.amountMinor == 888)
        #expect(refund.id == "re_new:succeeded")

        let modern = StripeNotificationSigner.envelope(
            type: "charge.refunded", eventID: "evt_charge_refunded_2",
            object: #"{"id":"ch_3PayFleet","object":"charge","amount":8888,"metadata":{},"refunded":true}"#,
            created: seconds)
        guard case .ignored = try verifier.verify(signed(modern), now: Sandbox.now) else {
            Issue.record("expected ignored")
            return
        }
    }

    @Test("other events and PaymentIntents without out_trade_no are ignored; bad JSON is malformed")
    func ignoredAndMalformed() throws {
        let other = StripeNotificationSigner.envelope(
            type: "customer.created", eventID: "evt_customer", object: #"{"id":"cus_1","object":"customer"}"#,
            created: 1_795_000_000)
        #expect(
            try verifier.verify(signed(other), now: Sandbox.now)
                == .ignored(reason: "Stripe event customer.created is not handled"))
        #expect(
            try verifier.verify(signed(succeededBody(outTradeNo: nil)), now: Sandbox.now)
                == .ignored(reason: "Stripe PaymentIntent pi_3PayFleet0000000046 has no metadata.out_trade_no"))
        _ = expectError(.malformedBody, signed(Array("not json".utf8)))
        _ = expectError(.malformedBody, signed(Array(#"{"id":"evt_1","type":"payment_intent.succeeded"}"#.utf8)))
        var form = signed(succeededBody())
        form.headers["content-type"] = "application/x-www-form-urlencoded"
        _ = expectError(.unsupportedContentType, form)
    }

    @Test("replies: 200 {\"received\":true}; failures as the channel's JSON")
    func replies() {
        #expect(
            verifier.successReply()
                == ChannelReply(status: 200, contentType: "application/json", body: #"{"received":true}"#))
        #expect(
            verifier.failureReply(status: 401, message: "signature")
                == ChannelReply(
                    status: 401, contentType: "application/json", body: #"{"code":"FAIL","message":"signature"}"#))
    }

    @Test("loading requires whsec_ secrets and names a bad file without echoing it")
    func loading() throws {
        #expect(throws: ChannelError.self) { try StripeMerchant.load(id: "s", endpointSecretFiles: []) }
        let bad = try TemporaryFile(contents: "sk_test_notASigningSecret\n")
        let error = #expect(throws: ChannelError.self) {
            try StripeMerchant.load(id: "s", endpointSecretFiles: [bad.path])
        }
        #expect(error?.code == .keyFile)
        #expect(error?.description.contains(bad.path) == true)
        #expect(error?.description.contains("notASigningSecret") == false)
        let two = try StripeMerchant.load(
            id: "s", endpointSecretFiles: [Sandbox.stripeEndpointSecretFile, Sandbox.stripeEndpointSecretFile])
        #expect(two.endpointSecrets.count == 2)
    }
}

extension StripeVerifierTests {
    static func checkoutSession(
        paymentStatus: String = "paid", outTradeNo: String? = "PF20261118000046", clientReference: String? = nil,
        intent: String = "pi_3PayFleet0000000046"
    ) -> String {
        let metadata = outTradeNo.map { #"{"out_trade_no":"\#($0)"}"# } ?? "{}"
        let reference = clientReference.map { #""\#($0)""# } ?? "null"
        return #"{"id":"cs_test_a1PayFleet","object":"checkout.session","amount_subtotal":8888,"amount_total":8888,"#
            + #""client_reference_id":\#(reference),"currency":"usd","metadata":\#(metadata),"mode":"payment","#
            + #""payment_intent":"\#(intent)","payment_status":"\#(paymentStatus)","status":"complete"}"#
    }

    @Test("a paid checkout.session.completed settles like payment_intent.succeeded: same trade number, amount_total")
    func checkoutSessionCompleted() throws {
        let created = Int64(self.created.timeIntervalSince1970)
        let body = StripeNotificationSigner.envelope(
            type: "checkout.session.completed", eventID: "evt_checkout_1", object: Self.checkoutSession(),
            created: created)
        let result = try verifier.verify(signed(body), now: Sandbox.now)
        #expect(
            result
                == .payment(
                    PaymentNotification(
                        id: "evt_checkout_1", channel: .stripe, merchant: "stripe-main", kind: .succeeded,
                        paymentNo: "PF20261118000046", channelTradeNo: "pi_3PayFleet0000000046", amountMinor: 8888,
                        currency: "USD", occurredAt: self.created, raw: String(decoding: body, as: UTF8.self))))
        // The PaymentIntent's own event names the same payment under the same trade number.
        guard case .payment(let intent) = try verifier.verify(signed(succeededBody()), now: Sandbox.now) else {
            Issue.record("payment_intent.succeeded is a payment")
            return
        }
        #expect(intent.channelTradeNo == "pi_3PayFleet0000000046" && intent.paymentNo == "PF20261118000046")

        // client_reference_id names the payment when metadata does not.
        let referenced = StripeNotificationSigner.envelope(
            type: "checkout.session.completed", eventID: "evt_checkout_2",
            object: Self.checkoutSession(outTradeNo: nil, clientReference: "PF20261118000099"), created: created)
        guard case .payment(let byReference) = try verifier.verify(signed(referenced), now: Sandbox.now) else {
            Issue.record("client_reference_id did not name the payment")
            return
        }
        #expect(byReference.paymentNo == "PF20261118000099")

        // Unpaid (a delayed payment method): nothing to settle yet.
        let unpaid = StripeNotificationSigner.envelope(
            type: "checkout.session.completed", eventID: "evt_checkout_3",
            object: Self.checkoutSession(paymentStatus: "unpaid"), created: created)
        #expect(
            try verifier.verify(signed(unpaid), now: Sandbox.now)
                == .ignored(reason: "Stripe Checkout Session cs_test_a1PayFleet is unpaid"))
    }

    @Test("charge.refunded: the pre-2022 shape embeds the refund; the current one does not and is left to refund.*")
    func chargeRefundedShapes() throws {
        let created = Int64(self.created.timeIntervalSince1970)
        let refund =
            #"{"id":"re_legacy1","object":"refund","amount":300,"currency":"usd","#
            + #""metadata":{"out_refund_no":"RF9","out_trade_no":"PF20261118000046"},"#
            + #""payment_intent":"pi_3PayFleet0000000046","status":"succeeded"}"#
        let legacy =
            #"{"id":"ch_1","object":"charge","amount":8888,"amount_refunded":300,"currency":"usd","metadata":{},"#
            + #""payment_intent":"pi_3PayFleet0000000046","refunded":false,"#
            + #""refunds":{"object":"list","data":[\#(refund)],"has_more":false}}"#
        let legacyBody = StripeNotificationSigner.envelope(
            type: "charge.refunded", eventID: "evt_legacy", object: legacy, created: created)
        guard case .refund(let embedded) = try verifier.verify(signed(legacyBody), now: Sandbox.now) else {
            Issue.record("the pre-2022 charge.refunded was not read as a refund")
            return
        }
        #expect(embedded.refundNo == "RF9" && embedded.id == "re_legacy1:succeeded" && embedded.amountMinor == 300)
        #expect(embedded.channelTradeNo == "pi_3PayFleet0000000046")

        let current =
            #"{"id":"ch_1","object":"charge","amount":8888,"amount_refunded":300,"currency":"usd","metadata":{},"#
            + #""payment_intent":"pi_3PayFleet0000000046","refunded":false}"#
        let currentBody = StripeNotificationSigner.envelope(
            type: "charge.refunded", eventID: "evt_current", object: current, created: created)
        #expect(
            try verifier.verify(signed(currentBody), now: Sandbox.now)
                == .ignored(reason: "Stripe charge.refunded without embedded refunds; refund.* events carry them"))
    }
}
