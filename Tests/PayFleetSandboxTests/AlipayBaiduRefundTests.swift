import Foundation
import PayFleetMessages
import PayFleetSandbox
import PaymentChannels
import Testing

/// Alipay and Baidu refunds as the sandbox plays them: Alipay's synchronous refund and its later trade notification,
/// Baidu's refund batches, callbacks and `findOrderRefund`, called with raw signed requests.
@Suite("channel sandbox: Alipay and Baidu refunds")
struct AlipayBaiduRefundTests {
    @Test("Alipay: each refund's trade notification carries the trade as that refund left it; faults; console refund")
    func alipay() async throws {
        // Refunds announced when the test says so: the first one after the second was made.
        try await Harness.run { h in
            let no = orderNo()
            let gateway = AlipayGateway(client: try h.alipayClient())
            _ = try await gateway.prepay(
                PrepayOrder(paymentNo: no, amountMinor: 5000, currency: "CNY", description: "x"))
            #expect(try await h.control("POST", "/sandbox/alipay/pay/\(no)").0 == 200)
            func order(_ number: String, _ amount: Int64) -> RefundOrder {
                RefundOrder(
                    refundNo: number, paymentNo: no, channelTradeNo: "", paymentAmountMinor: 5000, amountMinor: amount,
                    currency: "CNY")
            }
            for (number, amount) in [("R1" + no, Int64(2000)), ("R2" + no, 1000)] {
                guard case .succeeded = try await gateway.refund(order(number, amount)) else {
                    Issue.record("an Alipay refund is done at once")
                    return
                }
            }
            #expect(try await h.control("POST", "/sandbox/alipay/refund/R1\(no)").0 == 200)
            // R1 left the trade partly refunded: TRADE_SUCCESS, refund_fee the 20.00 refunded up to it (not R2's
            // 10.00 made since), gmt_refund to the millisecond.
            let first = try #require(try await h.waitForRefunds("alipay") { $0.refundNo == "R1" + no }.first)
            var fields = formFields(first.raw)
            #expect(fields["trade_status"] == "TRADE_SUCCESS" && fields["refund_fee"] == "20.00")
            #expect(fields["out_biz_no"] == "R1" + no && fields["send_back_fee"] == "20.00")
            let gmtRefund = try #require(fields["gmt_refund"])
            #expect(gmtRefund.wholeMatch(of: /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}/) != nil, "\(gmtRefund)")
            let milliseconds = Int((first.occurredAt.timeIntervalSince1970 * 1000).rounded()) % 1000
            #expect(
                String(gmtRefund.suffix(3)) == String(format: "%03d", milliseconds), "the verifier reads the fraction")
            #expect(abs(first.occurredAt.timeIntervalSinceNow) < 30)
            #expect(first.refundedTotalMinor == 2000 && first.amountMinor == 2000 && first.status == .succeeded)
            #expect(try await h.control("POST", "/sandbox/alipay/refund/R2\(no)").0 == 200)
            let second = try #require(try await h.waitForRefunds("alipay") { $0.refundNo == "R2" + no }.first)
            #expect(second.refundedTotalMinor == 3000 && second.amountMinor == 1000)

            // refuse and abnormal (Alipay refunds synchronously: refused too) are permanent; error5xx transient.
            for (number, mode) in [("RX" + no, "refuse"), ("RA" + no, "abnormal")] {
                try await h.fault("alipay.trade.refund", mode)
                let refused = await apiError { _ = try await gateway.refund(order(number, 500)) }
                #expect(refused?.isTransient == false && refused?.channelCode == "ACQ.TRADE_STATUS_ERROR", "\(mode)")
            }
            try await h.fault("alipay.trade.refund", "error5xx")
            let failed = await apiError { _ = try await gateway.refund(order("R5" + no, 500)) }
            #expect(failed?.isTransient == true)

            let (status, made) = try await h.control("POST", "/sandbox/alipay/console-refund/\(no)?amount=1000")
            #expect(status == 200, "\(made)")
            let number = try #require(made["out_refund_no"] as? String)
            let console = try #require(try await h.waitForRefunds("alipay") { $0.refundNo == number }.first)
            #expect(console.amountMinor == 1000 && console.refundedTotalMinor == 4000)

            // The rest: the trade is fully refunded, TRADE_CLOSED, refund_fee 50.00.
            guard case .succeeded = try await gateway.refund(order("R3" + no, 1000)) else {
                Issue.record("the last refund is done at once")
                return
            }
            #expect(try await h.control("POST", "/sandbox/alipay/refund/R3\(no)").0 == 200)
            let last = try #require(try await h.waitForRefunds("alipay") { $0.refundNo == "R3" + no }.first)
            fields = formFields(last.raw)
            #expect(fields["trade_status"] == "TRADE_CLOSED" && fields["refund_fee"] == "50.00")
            #expect(last.refundedTotalMinor == 5000)

            let audit = try await h.audit(channel: "alipay")
            #expect(audit.refunds(numbered: "RX" + no).isEmpty && audit.refunds(numbered: "RA" + no).isEmpty)
            #expect(audit.refused(numbered: "RX" + no).count == 1 && audit.refused(numbered: "RA" + no).count == 1)
            #expect(audit.refunds(numbered: "R5" + no).isEmpty && audit.refused(numbered: "R5" + no).isEmpty)
            #expect(audit.refunds(numbered: number).first?["origin"] as? String == "console")
            #expect(audit.payment(no)?["refunded"] as? Int == 5000)
            #expect(audit.doubles.isEmpty, "\(audit.doubles)")
        }
    }

    @Test("Alipay and Stripe: a late payment pays an order the channel closed, and notifies it")
    func latePayment() async throws {
        try await Harness.run { h in
            let no = orderNo()
            let alipay = try h.alipayClient()
            _ = try await alipay.precreateTrade(.init(outTradeNo: no, totalAmountMinor: 100, subject: "late"))
            #expect(try await h.control("POST", "/sandbox/alipay/close/\(no)").0 == 200)
            #expect(try await h.control("POST", "/sandbox/alipay/pay/\(no)").0 == 409)
            #expect(try await h.control("POST", "/sandbox/alipay/pay/\(no)?late=1").0 == 200)
            #expect(try await alipay.queryTrade(outTradeNo: no).tradeStatus == .success)

            let stripe = StripeGateway(client: try h.stripeClient())
            let intent = orderNo()
            _ = try await stripe.prepay(
                PrepayOrder(paymentNo: intent, amountMinor: 100, currency: "USD", description: ""))
            try await stripe.close(paymentNo: intent)
            #expect(try await h.control("POST", "/sandbox/stripe/pay/\(intent)?late=1").0 == 200)
            guard case .paid = try await stripe.query(paymentNo: intent) else {
                Issue.record("the late-paid PaymentIntent is not succeeded")
                return
            }
            let paid = h.receiver.received.compactMap { received -> PaymentNotification? in
                if case .payment(let payment)? = received.notification, payment.kind == .succeeded { return payment }
                return nil
            }
            #expect(Set(paid.map(\.paymentNo)) == [no, intent], "\(h.receiver.received)")
        }
    }

    /// A paid Baidu order of 3000 and its payer's userId.
    static func paidBaidu(_ h: Harness) async throws -> (no: String, orderID: String, userID: String) {
        let no = orderNo()
        let gateway = BaiduGateway(client: try h.baiduClient())
        let info = try await gateway.prepay(
            PrepayOrder(paymentNo: no, amountMinor: 3000, currency: "CNY", description: "x"))
        _ = try await h.openBaiduCashier(info)
        _ = try await h.control("POST", "/sandbox/baidu/pay/\(no)")
        guard case .paid(let paid) = try await gateway.query(paymentNo: no) else { throw SandboxTestError("not paid") }
        return (no, paid.channelTradeNo, try #require(paid.payerID))
    }

    /// `GET …/findOrderRefund`, signed by the developer key as PayFleet signs it, not through BaiduClient.
    static func findOrderRefund(
        _ h: Harness, tpOrderID: String, userID: String, tamper: Bool = false
    ) async throws -> [String: Any] {
        let signer = try BaiduRequestSigner.load(
            appKey: Keys.baiduAppKey, privateKeyFile: Keys.baiduDeveloperPrivateKey)
        var parameters = signer.signed(["tpOrderId": tpOrderID, "userId": userID, "pmAppKey": Keys.baiduAppKey])
        if tamper { parameters["userId"] = userID + "0" }
        let (status, body) = try await h.raw(
            ChannelHTTPRequest(
                method: "GET",
                url: h.baseURL + "/rest/2.0/smartapp/pay/paymentservice/findOrderRefund?"
                    + FormCodec.encode(parameters),
                headers: [], body: []))
        #expect(status == 200)
        return try #require(body as? [String: Any])
    }

    @Test("Baidu: findOrderRefund follows each batch 1 → 2 or 3 as JSON numbers; refuse; abnormal; console refund")
    func baidu() async throws {
        try await Harness.run { h in
            let (no, orderID, userID) = try await Self.paidBaidu(h)
            let gateway = BaiduGateway(client: try h.baiduClient())
            func order(_ number: String, _ amount: Int64) -> RefundOrder {
                RefundOrder(
                    refundNo: number, paymentNo: no, channelTradeNo: orderID, payerID: userID, paymentAmountMinor: 3000,
                    amountMinor: amount, currency: "CNY", reason: "test")
            }
            let r1 = "71" + no.filter(\.isNumber)
            guard case .processing(let batch?, _) = try await gateway.refund(order(r1, 1000)) else {
                Issue.record("an applied refund is processing with its batch")
                return
            }
            _ = try await gateway.refund(order(r1, 1000))
            var found = try await Self.findOrderRefund(h, tpOrderID: no, userID: userID)
            #expect(found["errno"] as? Int == 0 && found["msg"] as? String == "success", "\(found)")
            var batches = try #require(found["data"] as? [[String: Any]])
            #expect(batches.count == 1)
            let entry = try #require(batches.first)
            // Numbers as JSON numbers, as Baidu sends them.
            #expect((entry["refundStatus"] as? NSNumber)?.intValue == 1 && !(entry["refundStatus"] is String))
            #expect((entry["refundBatchId"] as? NSNumber)?.stringValue == batch)
            #expect((entry["orderId"] as? NSNumber)?.stringValue == orderID)
            #expect((entry["userId"] as? NSNumber)?.stringValue == userID)
            #expect(entry["bizRefundBatchId"] as? String == r1)

            #expect(try await h.control("POST", "/sandbox/baidu/refund/\(r1)").0 == 200)
            let done = try #require(try await h.waitForRefunds("baidu") { $0.channelRefundNo == batch }.first)
            #expect(done.status == .succeeded)

            let ra = "72" + no.filter(\.isNumber)
            try await h.fault("baidu.refund", "abnormal")
            guard case .processing(let failedBatch?, _) = try await gateway.refund(order(ra, 500)) else {
                Issue.record("an abnormal refund is accepted first")
                return
            }
            #expect(try await h.control("POST", "/sandbox/baidu/refund/\(ra)").0 == 200)
            let failed = try #require(try await h.waitForRefunds("baidu") { $0.channelRefundNo == failedBatch }.first)
            #expect(failed.status == .failed && formFields(failed.raw)["refundStatus"] == "2")

            let rx = "73" + no.filter(\.isNumber)
            try await h.fault("baidu.refund", "refuse")
            let refused = await apiError { _ = try await gateway.refund(order(rx, 500)) }
            #expect(refused?.isTransient == false && refused?.channelCode == "10001")

            let (status, made) = try await h.control("POST", "/sandbox/baidu/console-refund/\(no)?amount=200")
            #expect(status == 200, "\(made)")
            let consoleBatch = try #require(made["refund_id"] as? String)
            let console = try #require(try await h.waitForRefunds("baidu") { $0.channelRefundNo == consoleBatch }.first)
            #expect(console.status == .succeeded && console.refundNo == consoleBatch)

            found = try await Self.findOrderRefund(h, tpOrderID: no, userID: userID)
            batches = try #require(found["data"] as? [[String: Any]])
            let statuses = Dictionary(
                batches.map {
                    (($0["refundBatchId"] as? NSNumber)?.stringValue ?? "", $0["refundStatus"] as? Int ?? 0)
                },
                uniquingKeysWith: { first, _ in first })
            #expect(statuses == [batch: 2, failedBatch: 3, consoleBatch: 2], "\(batches)")
            let consoleEntry = batches.first { ($0["refundBatchId"] as? NSNumber)?.stringValue == consoleBatch }
            #expect(consoleEntry?["bizRefundBatchId"] as? String == "", "a console refund has no number of ours")

            // Unknown order: errno 2100 as the order query answers; a signature that does not verify: errno 6.
            #expect(try await Self.findOrderRefund(h, tpOrderID: orderNo(), userID: userID)["errno"] as? Int == 2100)
            #expect(
                try await Self.findOrderRefund(h, tpOrderID: no, userID: userID, tamper: true)["errno"] as? Int == 6)

            let audit = try await h.audit(channel: "baidu")
            #expect(audit.refunds(numbered: r1).first?["requests"] as? Int == 2)
            #expect(audit.refunds(numbered: ra).first?["status"] as? String == "failed")
            #expect(audit.refunds(numbered: rx).isEmpty && audit.refused(numbered: rx).count == 1)
            #expect(audit.payment(no)?["refunded"] as? Int == 1200)
            #expect(audit.doubles.isEmpty, "\(audit.doubles)")
        }
    }
}

struct SandboxTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
