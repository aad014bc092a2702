import Foundation
import PayFleetMessages
import PayFleetSandbox
import PaymentChannels
import Testing

@Suite("channel sandbox: Stripe API over HTTP")
struct StripeSandboxTests {
    @Test(
        "prepay → pending → pay sends payment_intent.succeeded StripeVerifier accepts → paid → refund → charge.refunded"
    )
    func payNotifyQueryRefund() async throws {
        try await Harness.run { h in
            let client = try h.stripeClient()
            let gateway = StripeGateway(client: client)
            let no = orderNo()
            #expect(try await gateway.query(paymentNo: no) == .notFound)
            let parameters = try await gateway.prepay(
                PrepayOrder(paymentNo: no, amountMinor: 1999, currency: "USD", description: "PayFleet a+b&c=d 测试"))
            let intentID = try #require(parameters["payment_intent"])
            #expect(intentID.hasPrefix("pi_"))
            #expect(parameters["client_secret"]?.hasPrefix(intentID + "_secret_") == true)
            #expect(parameters["publishable_key"] == "pk_test_51PayFleetDemo")
            #expect(try await gateway.query(paymentNo: no) == .pending(detail: "requires_payment_method"))
            let retrieved = try await client.retrievePaymentIntent(id: intentID)
            #expect(retrieved.outTradeNo == no)
            #expect(retrieved.currency == "USD")
            #expect(retrieved.amountMinor == 1999)

            let (status, summary) = try await h.control("POST", "/sandbox/stripe/pay/\(no)")
            #expect(status == 200)
            #expect((summary["notification"] as? [String: Any])?["delivered"] as? Bool == true, "\(summary)")
            guard case .payment(let payment)? = h.receiver.accepted.first else {
                Issue.record("no verified Stripe webhook: \(h.receiver.received)")
                return
            }
            #expect(payment.paymentNo == no)
            #expect(payment.kind == .succeeded)
            guard case .paid(let paid) = try await gateway.query(paymentNo: no) else {
                Issue.record("not paid after the webhook")
                return
            }
            // A query and the webhook settle identically.
            #expect(paid.channelTradeNo == payment.channelTradeNo)
            #expect(paid.amountMinor == payment.amountMinor)
            #expect(paid.currency == payment.currency)
            #expect(paid.amountMinor == 1999)
            #expect(paid.currency == "USD")

            let refund = try await client.createRefund(
                StripeRefundRequest(paymentIntentID: intentID, outTradeNo: no, outRefundNo: "R1" + no, amountMinor: 500)
            )
            // Pending until it completes (here: when the act below says so).
            #expect(refund.status == "pending")
            #expect(refund.outRefundNo == "R1" + no)
            let tooMuch = await apiError {
                _ = try await client.createRefund(
                    StripeRefundRequest(
                        paymentIntentID: intentID, outTradeNo: no, outRefundNo: "R2" + no, amountMinor: 1500))
            }
            #expect(tooMuch?.code == .invalidRequest)
            let closeError = await apiError { try await gateway.close(paymentNo: no) }
            #expect(closeError?.code == .rejected)

            let (refundStatus, refundSummary) = try await h.control("POST", "/sandbox/stripe/refund/R1\(no)")
            #expect(refundStatus == 200, "\(refundSummary)")
            let received = try await h.receiver.wait { $0.compactMap(\.notification).count >= 2 }
            guard case .refund(let notified)? = received.compactMap(\.notification).last else {
                Issue.record("no verified charge.refunded: \(received)")
                return
            }
            #expect(notified.refundNo == "R1" + no)
            #expect(notified.channelRefundNo == refund.id)
            #expect(notified.paymentNo == no)
            #expect(notified.amountMinor == 500)
        }
    }

    @Test("close cancels the PaymentIntent: closed, cannot be paid; closing again and closing nothing succeed")
    func close() async throws {
        try await Harness.run { h in
            let gateway = StripeGateway(client: try h.stripeClient())
            let no = orderNo()
            _ = try await gateway.prepay(PrepayOrder(paymentNo: no, amountMinor: 300, currency: "EUR", description: ""))
            try await gateway.close(paymentNo: no)
            #expect(try await gateway.query(paymentNo: no) == .closed(detail: "canceled"))
            try await gateway.close(paymentNo: no)
            try await gateway.close(paymentNo: orderNo())
            let (paid, _) = try await h.control("POST", "/sandbox/stripe/pay/\(no)")
            #expect(paid == 409)

            // The sandbox's own cancel sends payment_intent.canceled.
            let other = orderNo()
            _ = try await gateway.prepay(
                PrepayOrder(paymentNo: other, amountMinor: 300, currency: "EUR", description: ""))
            let (status, _) = try await h.control("POST", "/sandbox/stripe/close/\(other)")
            #expect(status == 200)
            guard case .payment(let closed)? = h.receiver.accepted.last else {
                Issue.record("no verified payment_intent.canceled: \(h.receiver.received)")
                return
            }
            #expect(closed.kind == .closed)
            #expect(closed.paymentNo == other)
        }
    }

    @Test("Idempotency-Key: the same request replays the same PaymentIntent; other parameters are refused")
    func idempotency() async throws {
        try await Harness.run { h in
            let client = try h.stripeClient()
            let no = orderNo()
            let request = StripePaymentIntentRequest(outTradeNo: no, amountMinor: 700, currency: "usd")
            let first = try await client.createPaymentIntent(request)
            let replay = try await client.createPaymentIntent(request)
            #expect(replay.id == first.id)
            #expect(replay.clientSecret == first.clientSecret)

            var changed = request
            changed.amountMinor = 701
            let refused = await apiError { _ = try await client.createPaymentIntent(changed) }
            #expect(refused?.code == .invalidRequest)
            #expect(refused?.channelCode == "idempotency_error")
            #expect(refused?.isTransient == false)
            // Another key for the same payment number: the sandbox keeps one PaymentIntent per payment.
            let rekeyed = RewritingTransport(upstream: HTTPClientTransport()) { request in
                request.headers = request.headers.map { $0.0 == "Idempotency-Key" ? ($0.0, "other-key") : $0 }
            }
            let second = await apiError {
                _ = try await h.stripeClient(transport: rekeyed).createPaymentIntent(request)
            }
            #expect(second?.code == .invalidRequest)
        }
    }

    @Test("a wrong secret key is refused with 401; a 5xx fault is transient")
    func authenticationAndFaults() async throws {
        try await Harness.run { h in
            let wrong = try #require(StripeSecretKey("sk_test_51PayFleetNotTheSandboxKey000000000000"))
            let refused = await apiError {
                _ = try await h.stripeClient(secretKey: wrong).searchPaymentIntents(outTradeNo: "PF1")
            }
            #expect(refused?.code == .authentication)
            #expect(refused?.httpStatus == 401)
            #expect(refused?.isTransient == false)
            #expect(refused.map { !$0.debugDescription.contains("NotTheSandboxKey") } == true)

            let client = try h.stripeClient()
            try await h.fault("stripe.search", "error5xx")
            let failed = await apiError { _ = try await client.searchPaymentIntents(outTradeNo: orderNo()) }
            #expect(failed?.code == .serverError)
            #expect(failed?.isTransient == true)
            let missing = await apiError { _ = try await client.retrievePaymentIntent(id: "pi_unknown") }
            #expect(missing?.code == .notFound)
            #expect(missing?.channelCode == "resource_missing")
        }
    }

    @Test("an unanswered Stripe webhook is retried with Stripe's schedule, compressed")
    func notificationRetry() async throws {
        // 1 min / 2400 = 25 ms.
        try await Harness.run(compression: 2400) { h in
            let gateway = StripeGateway(client: try h.stripeClient())
            let no = orderNo()
            _ = try await gateway.prepay(PrepayOrder(paymentNo: no, amountMinor: 50, currency: "USD", description: ""))
            h.receiver.failNext(1)
            let (_, summary) = try await h.control("POST", "/sandbox/stripe/pay/\(no)")
            #expect(summary["notification_attempts"] as? Int == 1)
            let received = try await h.receiver.wait { $0.count >= 2 }
            #expect(received.count == 2)
            #expect(received.allSatisfy { $0.notification != nil })
        }
    }
}

@Suite("channel sandbox: Baidu and Stripe configuration")
struct BaiduStripeSandboxSettingsTests {
    @Test("the local fleet's config file plays Baidu and Stripe with its TEST-ONLY keys")
    func sandboxConfigFile() async throws {
        let previous = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(Keys.root.path)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        let settings = try await SandboxSettings.load(environment: [
            "PAYFLEET_CONFIG": Keys.root.appendingPathComponent("config/sandbox/payfleet.sandbox.yaml").path
        ])
        #expect(settings.baidu?.merchant(appKey: Keys.baiduAppKey)?.id == "demo")
        #expect(settings.baidu?.merchant(appKey: Keys.baiduAppKey)?.dealID == Keys.baiduDealID)
        let key = try String(contentsOfFile: Keys.stripeSecretKeyFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(settings.stripe?.merchant(secretKey: Array(key.utf8))?.id == "demo")
        #expect(settings.stripe?.merchant(secretKey: Array("sk_test_other".utf8)) == nil)
        let server = SandboxServer(settings: settings, logger: SandboxServer.logger(level: "error"))
        #expect(server.channelNames.contains("baidu"))
        #expect(server.channelNames.contains("stripe"))
    }

}
