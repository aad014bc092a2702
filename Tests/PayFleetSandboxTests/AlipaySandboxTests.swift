import Foundation
import PayFleetMessages
import PayFleetSandbox
import PaymentChannels
import Testing

@Suite("channel sandbox: Alipay gateway over HTTP")
struct AlipaySandboxTests {
    @Test("create → query WAIT_BUYER_PAY → close → query TRADE_CLOSED; a closed trade cannot be paid")
    func createQueryClose() async throws {
        try await Harness.run { h in
            let client = try h.alipayClient()
            let no = orderNo()
            let tradeNo = try await client.createTrade(
                .init(outTradeNo: no, totalAmountMinor: 8888, subject: "PayFleet 测试 a+b&c=d", buyerID: "2088102177846875"))
            let waiting = try await client.queryTrade(outTradeNo: no)
            #expect(waiting.tradeStatus == .waitBuyerPay)
            #expect(waiting.tradeNo == tradeNo)
            #expect(waiting.totalAmountMinor == 8888)
            try await client.closeTrade(outTradeNo: no)
            #expect(try await client.queryTrade(outTradeNo: no).tradeStatus == .closed)
            let (status, _) = try await h.control("POST", "/sandbox/alipay/pay/\(no)")
            #expect(status == 409)
            let missing = await apiError { _ = try await client.queryTrade(outTradeNo: orderNo()) }
            #expect(missing?.code == .notFound)
            #expect(missing?.channelCode == "ACQ.TRADE_NOT_EXIST")
        }
    }

    @Test("precreate → pay sends a notification AlipayVerifier accepts → TRADE_SUCCESS → refunds bounded by the amount")
    func payNotifyRefund() async throws {
        try await Harness.run { h in
            let client = try h.alipayClient()
            let no = orderNo()
            let qr = try await client.precreateTrade(.init(outTradeNo: no, totalAmountMinor: 1000, subject: "QR"))
            #expect(qr.hasPrefix("https://qr.alipay.com/"))
            let (status, summary) = try await h.control("POST", "/sandbox/alipay/pay/\(no)")
            #expect(status == 200)
            #expect(summary["status"] as? String == "TRADE_SUCCESS")
            #expect((summary["notification"] as? [String: Any])?["delivered"] as? Bool == true)
            guard case .payment(let payment)? = h.receiver.accepted.first else {
                Issue.record("no verified Alipay notification: \(h.receiver.received)")
                return
            }
            #expect(payment.paymentNo == no)
            #expect(payment.amountMinor == 1000)
            #expect(payment.kind == .succeeded)
            let paid = try await client.queryTrade(outTradeNo: no)
            #expect(paid.tradeStatus == .success)
            #expect(paid.sendPayDate != nil)

            let refund = try await client.refund(.init(outTradeNo: no, outRequestNo: "R1" + no, refundAmountMinor: 300))
            #expect(refund.fundChange)
            #expect(refund.refundFeeMinor == 300)
            let again = try await client.refund(.init(outTradeNo: no, outRequestNo: "R1" + no, refundAmountMinor: 300))
            #expect(!again.fundChange)
            let tooMuch = await apiError {
                _ = try await client.refund(.init(outTradeNo: no, outRequestNo: "R2" + no, refundAmountMinor: 701))
            }
            #expect(tooMuch?.code == .rejected)
            #expect(tooMuch?.channelCode == "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL")
            let queried = try await client.queryRefund(outTradeNo: no, outRequestNo: "R1" + no)
            #expect(queried.succeeded)
            #expect(queried.refundAmountMinor == 300)
            #expect(try await client.queryRefund(outTradeNo: no, outRequestNo: "R9" + no).succeeded == false)
            // Refunding the rest closes the trade.
            #expect(try await client.refund(.init(outTradeNo: no, outRequestNo: "R3" + no, refundAmountMinor: 700)).refundFeeMinor == 1000)
            #expect(try await client.queryTrade(outTradeNo: no).tradeStatus == .closed)
            let (refundStatus, _) = try await h.control("POST", "/sandbox/alipay/refund/R1\(no)")
            #expect(refundStatus == 200)
        }
    }

    @Test("a tampered sign is refused with error_response isv.invalid-signature; faults reach the client")
    func signatureAndFaults() async throws {
        try await Harness.run { h in
            let tampering = RewritingTransport(upstream: HTTPClientTransport()) { request in
                request.url = request.url.replacingOccurrences(of: "&sign=", with: "&sign=AAAA")
            }
            let refused = await apiError { _ = try await h.alipayClient(transport: tampering).queryTrade(outTradeNo: orderNo()) }
            #expect(refused?.code == .authentication)
            #expect(refused?.channelCode == "isv.invalid-signature")

            let client = try h.alipayClient()
            try await h.fault("alipay.trade.query", "error5xx")
            let failed = await apiError { _ = try await client.queryTrade(outTradeNo: orderNo()) }
            #expect(failed?.code == .serverError)
            #expect(failed?.isTransient == true)
            try await h.fault("alipay.trade.precreate", "tamper")
            let tampered = await apiError {
                _ = try await client.precreateTrade(.init(outTradeNo: orderNo(), totalAmountMinor: 1, subject: "t"))
            }
            #expect(tampered?.code == .responseSignature)
        }
    }

    @Test("an unanswered Alipay notification is retried with Alipay's schedule, compressed")
    func notificationRetry() async throws {
        // 4 min / 2400 = 0.1 s.
        try await Harness.run(compression: 2400) { h in
            let client = try h.alipayClient()
            let no = orderNo()
            _ = try await client.precreateTrade(.init(outTradeNo: no, totalAmountMinor: 50, subject: "retry"))
            try await h.fault("alipay.notify", "drop")
            let (_, summary) = try await h.control("POST", "/sandbox/alipay/pay/\(no)")
            #expect(summary["notification_attempts"] as? Int == 1)
            #expect(h.receiver.received.isEmpty)
            let received = try await h.receiver.wait { !$0.isEmpty }
            #expect(received.count == 1)
            #expect(received.first?.notification != nil)
        }
    }
}

@Suite("channel sandbox: configuration")
struct SandboxSettingsTests {
    @Test("the local fleet's config file configures both channels with its TEST-ONLY keys")
    func sandboxConfigFile() async throws {
        let previous = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(Keys.root.path)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        let settings = try await SandboxSettings.load(environment: [
            "PAYFLEET_CONFIG": Keys.root.appendingPathComponent("config/sandbox/payfleet.sandbox.yaml").path,
            "PAYFLEET_SANDBOX_PORT": "18090",
        ])
        #expect(settings.host == "127.0.0.1")
        #expect(settings.port == 18090)
        #expect(settings.timeCompression == 60)
        #expect(settings.notifyBaseURL == "http://127.0.0.1:8080")
        #expect(settings.wechatpay?.merchant(mchID: Keys.mchID)?.id == "demo")
        #expect(settings.wechatpay?.platformSerial == "6F2C1E0A3B4D5E6F708192A3B4C5D6E7F8091A2B")
        #expect(settings.wechatpay?.merchantAPISerial == "1DA3C6B4E2F7085A9C3D4E5F60718293A4B5C6D7")
        #expect(settings.alipay?.merchant(appID: Keys.alipayAppID)?.sellerID == Keys.alipaySellerID)
    }

    @Test("a missing PAYFLEET_CONFIG file is an error that names it")
    func missingFile() async throws {
        await #expect(throws: SandboxError.self) {
            _ = try await SandboxSettings.load(environment: ["PAYFLEET_CONFIG": "/nonexistent/payfleet.yaml"])
        }
    }
}
