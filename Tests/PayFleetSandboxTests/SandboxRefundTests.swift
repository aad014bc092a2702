import Foundation
import PayFleetMessages
import PayFleetSandbox
import PaymentChannels
import Testing

/// Refunds as the channel-sandbox plays them: accepted refunds complete by themselves and notify, the refund faults
/// (refuse, abnormal), the audit ledger of `GET /sandbox/refunds`, console refunds and late payments. Driven with the
/// real gateways over HTTP; notifications checked with the real verifiers at the test's receiver.
@Suite("channel sandbox: refunds")
struct SandboxRefundTests {
    static let complete: Duration = .milliseconds(100)

    /// A paid WeChat Pay v3 order of 8888; returns its number and transaction id.
    static func paidWeChat(_ h: Harness) async throws -> (String, String) {
        let no = orderNo()
        _ = try await h.weChatClient().nativePrepay(.init(outTradeNo: no, description: "refund test", amountMinor: 8888))
        let (status, _) = try await h.control("POST", "/sandbox/wechatpay/pay/\(no)")
        #expect(status == 200)
        let transactionID = try #require(try await h.weChatClient().queryTransaction(outTradeNo: no).transactionID)
        return (no, transactionID)
    }

    static func refunds(_ h: Harness) async throws -> [[String: Any]] {
        let (_, audit) = try await h.control("GET", "/sandbox/refunds")
        return audit["refunds"] as? [[String: Any]] ?? []
    }

    @Test("WeChat Pay v3: accepted PROCESSING, completes by itself, REFUND.SUCCESS verifies; a repeat is one refund")
    func weChatCompletesByItself() async throws {
        try await Harness.run(refundComplete: Self.complete) { h in
            let (no, transactionID) = try await Self.paidWeChat(h)
            let gateway = WeChatPayV3Gateway(client: try h.weChatClient())
            let order = RefundOrder(
                refundNo: "R1" + no, paymentNo: no, channelTradeNo: transactionID, paymentAmountMinor: 8888,
                amountMinor: 1000, currency: "CNY", reason: "test")
            guard case .processing(let refundID, _) = try await gateway.refund(order) else {
                Issue.record("a new refund is processing")
                return
            }
            // The same refund_no again: the same refund, not a second one.
            guard case .processing(let again, _) = try await gateway.refund(order) else {
                Issue.record("a repeated refund is the same refund")
                return
            }
            #expect(again == refundID)
            let received = try await h.receiver.wait { $0.contains { Self.isRefund($0.notification) } }
            guard let refund = received.compactMap(\.notification).compactMap(Self.refund).first else {
                Issue.record("no verified refund notification: \(received)")
                return
            }
            #expect(refund.refundNo == "R1" + no && refund.status == .succeeded && refund.amountMinor == 1000)
            #expect(refund.channelRefundNo == refundID && refund.channelTradeNo == transactionID)
            guard case .succeeded(let done) = try await gateway.queryRefund(order.lookup(channelRefundNo: nil)) else {
                Issue.record("the completed refund does not query as succeeded")
                return
            }
            #expect(done.amountMinor == 1000)
            let entries = try await Self.refunds(h).filter { $0["out_refund_no"] as? String == "R1" + no }
            #expect(entries.count == 1)
            #expect(entries.first?["requests"] as? Int == 2)
            #expect(entries.first?["amounts_requested"] as? [Int] == [1000])
            #expect(entries.first?["status"] as? String == "success")
        }
    }

    @Test("refuse: a permanent refusal, nothing made, recorded as refused; abnormal: accepted, then REFUND.ABNORMAL")
    func faults() async throws {
        try await Harness.run(refundComplete: Self.complete) { h in
            let (no, transactionID) = try await Self.paidWeChat(h)
            let gateway = WeChatPayV3Gateway(client: try h.weChatClient())
            func order(_ number: String, _ amount: Int64) -> RefundOrder {
                RefundOrder(
                    refundNo: number, paymentNo: no, channelTradeNo: transactionID, paymentAmountMinor: 8888,
                    amountMinor: amount, currency: "CNY")
            }
            try await h.fault("wechatpay.refund", "refuse")
            let refused = await apiError { _ = try await gateway.refund(order("RX" + no, 500)) }
            #expect(refused?.isTransient == false, "\(String(describing: refused))")
            #expect(try await gateway.queryRefund(order("RX" + no, 500).lookup(channelRefundNo: nil)) == .notFound)
            let (_, audit) = try await h.control("GET", "/sandbox/refunds?channel=wechatpay")
            let refusals = (audit["refused"] as? [[String: Any]] ?? []).filter { $0["out_refund_no"] as? String == "RX" + no }
            #expect(refusals.count == 1)

            try await h.fault("wechatpay.refund", "abnormal")
            guard case .processing = try await gateway.refund(order("RA" + no, 700)) else {
                Issue.record("an abnormal refund is accepted first")
                return
            }
            let received = try await h.receiver.wait {
                $0.compactMap { Self.refund($0.notification) }.contains { $0.refundNo == "RA" + no }
            }
            let failed = received.compactMap { Self.refund($0.notification) }.first { $0.refundNo == "RA" + no }
            #expect(failed?.status == .failed)
            guard case .failed(_, let detail, _) = try await gateway.queryRefund(order("RA" + no, 700).lookup(channelRefundNo: nil))
            else {
                Issue.record("the abnormal refund does not query as failed")
                return
            }
            #expect(detail == "ABNORMAL")
            // Its amount is free again: a refund of everything fits.
            guard case .processing = try await gateway.refund(order("RB" + no, 8888)) else {
                Issue.record("the failed refund still took its amount")
                return
            }
        }
    }

    @Test("Alipay refunds synchronously, then sends the trade notification with the refund fields")
    func alipay() async throws {
        try await Harness.run(refundComplete: Self.complete) { h in
            let no = orderNo()
            let gateway = AlipayGateway(client: try h.alipayClient())
            _ = try await gateway.prepay(PrepayOrder(paymentNo: no, amountMinor: 5000, currency: "CNY", description: "x"))
            let (status, _) = try await h.control("POST", "/sandbox/alipay/pay/\(no)")
            #expect(status == 200)
            let order = RefundOrder(
                refundNo: "R1" + no, paymentNo: no, channelTradeNo: "", paymentAmountMinor: 5000, amountMinor: 5000,
                currency: "CNY")
            guard case .succeeded(let refund) = try await gateway.refund(order) else {
                Issue.record("an Alipay refund is done at once")
                return
            }
            #expect(refund.amountMinor == 5000)
            // Again: fund_change N, confirmed by the refund query.
            guard case .succeeded = try await gateway.refund(order) else {
                Issue.record("a repeated Alipay refund is the refund made before")
                return
            }
            let received = try await h.receiver.wait { $0.contains { Self.isRefund($0.notification) } }
            let notified = try #require(received.compactMap { Self.refund($0.notification) }.first)
            #expect(notified.refundNo == "R1" + no && notified.refundedTotalMinor == 5000 && notified.amountMinor == 5000)
            #expect(try await gateway.query(paymentNo: no) != .notFound)
            let entries = try await Self.refunds(h).filter { $0["out_refund_no"] as? String == "R1" + no }
            #expect(entries.count == 1 && entries.first?["requests"] as? Int == 2)
        }
    }

    @Test("Baidu: applyOrderRefund opens a batch, findOrderRefund follows it, the callback comes by itself")
    func baidu() async throws {
        try await Harness.run(refundComplete: Self.complete) { h in
            let no = orderNo()
            let gateway = BaiduGateway(client: try h.baiduClient())
            let info = try await gateway.prepay(PrepayOrder(paymentNo: no, amountMinor: 3000, currency: "CNY", description: "x"))
            _ = try await h.openBaiduCashier(info)
            _ = try await h.control("POST", "/sandbox/baidu/pay/\(no)")
            guard case .paid(let paid) = try await gateway.query(paymentNo: no) else {
                Issue.record("not paid")
                return
            }
            let payer = try #require(paid.payerID, "the order query names the payer")
            let order = RefundOrder(
                refundNo: "R1" + no, paymentNo: no, channelTradeNo: paid.channelTradeNo, payerID: payer,
                paymentAmountMinor: 3000, amountMinor: 1200, currency: "CNY", reason: "test")
            guard case .processing(let batch?, _) = try await gateway.refund(order) else {
                Issue.record("an applied Baidu refund is processing with its batch")
                return
            }
            let received = try await h.receiver.wait { $0.contains { Self.isRefund($0.notification) } }
            let callback = try #require(received.compactMap { Self.refund($0.notification) }.first)
            #expect(callback.channelRefundNo == batch && callback.status == .succeeded && callback.amountMinor == nil)
            guard case .succeeded(let done) = try await gateway.queryRefund(order.lookup(channelRefundNo: batch)) else {
                Issue.record("findOrderRefund does not report the batch succeeded")
                return
            }
            #expect(done.channelRefundNo == batch)
        }
    }

    @Test("Stripe: created pending, completes by itself with refund.updated and charge.refunded; retrieve and list")
    func stripe() async throws {
        try await Harness.run(refundComplete: Self.complete) { h in
            let no = orderNo()
            let gateway = StripeGateway(client: try h.stripeClient())
            let parameters = try await gateway.prepay(
                PrepayOrder(paymentNo: no, amountMinor: 2000, currency: "USD", description: ""))
            let intent = try #require(parameters["payment_intent"])
            _ = try await h.control("POST", "/sandbox/stripe/pay/\(no)")
            let order = RefundOrder(
                refundNo: "R1" + no, paymentNo: no, channelTradeNo: intent, paymentAmountMinor: 2000, amountMinor: 800,
                currency: "USD", reason: "customer changed mind")
            guard case .processing(let refundID?, _) = try await gateway.refund(order) else {
                Issue.record("a new Stripe refund is pending")
                return
            }
            let received = try await h.receiver.wait {
                $0.compactMap { Self.refund($0.notification) }.count >= 2
            }
            let refunds = received.compactMap { Self.refund($0.notification) }
            #expect(refunds.count == 2, "refund.updated and charge.refunded: \(received)")
            #expect(refunds.allSatisfy { $0.channelRefundNo == refundID && $0.refundNo == "R1" + no && $0.status == .succeeded })
            #expect(Set(refunds.map(\.id)).count == 1, "both events name one outcome of one refund")
            guard case .succeeded = try await gateway.queryRefund(order.lookup(channelRefundNo: refundID)),
                case .succeeded = try await gateway.queryRefund(order.lookup(channelRefundNo: nil))
            else {
                Issue.record("retrieve or list does not report the refund succeeded")
                return
            }
        }
    }

    @Test("a console refund carries none of the merchant's numbers; a late payment pays a closed order")
    func consoleAndLate() async throws {
        try await Harness.run(refundComplete: Self.complete) { h in
            let (no, transactionID) = try await Self.paidWeChat(h)
            let (status, made) = try await h.control("POST", "/sandbox/wechatpay/console-refund/\(no)?amount=300")
            #expect(status == 200, "\(made)")
            let received = try await h.receiver.wait { $0.contains { Self.isRefund($0.notification) } }
            let refund = try #require(received.compactMap { Self.refund($0.notification) }.first)
            #expect(refund.refundNo == made["out_refund_no"] as? String && refund.amountMinor == 300)
            #expect(refund.channelTradeNo == transactionID)
            let entry = try await Self.refunds(h).first { $0["out_refund_no"] as? String == refund.refundNo }
            #expect(entry?["origin"] as? String == "console")

            let client = try h.weChatClient()
            let late = orderNo()
            _ = try await client.nativePrepay(.init(outTradeNo: late, description: "late", amountMinor: 100))
            try await client.closeTransaction(outTradeNo: late)
            let (refusedPay, _) = try await h.control("POST", "/sandbox/wechatpay/pay/\(late)")
            #expect(refusedPay == 409)
            let (latePay, _) = try await h.control("POST", "/sandbox/wechatpay/pay/\(late)?late=1")
            #expect(latePay == 200)
            #expect(try await client.queryTransaction(outTradeNo: late).tradeState == .success)
        }
    }

    static func refund(_ notification: VerifiedNotification?) -> RefundNotification? {
        if case .refund(let refund)? = notification { return refund }
        return nil
    }

    static func isRefund(_ notification: VerifiedNotification?) -> Bool { refund(notification) != nil }
}
