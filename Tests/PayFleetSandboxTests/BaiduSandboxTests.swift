import Foundation
import PayFleetMessages
import PayFleetSandbox
import PaymentChannels
import Testing

@Suite("channel sandbox: Baidu cashier over HTTP")
struct BaiduSandboxTests {
    @Test(
        "orderInfo → cashier → pending → pay sends a callback BaiduVerifier accepts → paid → refund → refund callback")
    func payNotifyQueryRefund() async throws {
        try await Harness.run { h in
            let client = try h.baiduClient()
            let gateway = BaiduGateway(client: client)
            let no = orderNo()
            let info = try await gateway.prepay(
                PrepayOrder(paymentNo: no, amountMinor: 1000, currency: "CNY", description: "PayFleet 测试 a+b&c=d"))
            #expect(try await gateway.query(paymentNo: no) == .notFound)
            let (opened, body) = try await h.openBaiduCashier(info)
            #expect(opened == 200)
            #expect(body["errno"] as? Int == 0, "\(body)")
            #expect(try await gateway.query(paymentNo: no) == .pending(detail: "status 1"))

            let (status, summary) = try await h.control("POST", "/sandbox/baidu/pay/\(no)")
            #expect(status == 200)
            #expect((summary["notification"] as? [String: Any])?["delivered"] as? Bool == true, "\(summary)")
            guard case .payment(let payment)? = h.receiver.accepted.first else {
                Issue.record("no verified Baidu callback: \(h.receiver.received)")
                return
            }
            #expect(payment.paymentNo == no)
            #expect(payment.amountMinor == 1000)
            #expect(payment.channel == .baidu)
            #expect(payment.merchant == "demo")
            guard case .paid(let paid) = try await gateway.query(paymentNo: no) else {
                Issue.record("not paid after the callback")
                return
            }
            // A query and the callback settle identically.
            #expect(paid.channelTradeNo == payment.channelTradeNo)
            #expect(paid.amountMinor == payment.amountMinor)
            #expect(paid.currency == payment.currency)

            // Refund with Baidu's orderId and userId, as the payment callback gave them.
            let callback = try FormCodec.decode(Array(payment.raw.utf8))
            let userID = try #require(callback.first { $0.key == "userId" }?.value)
            let request = BaiduRefundRequest(
                tpOrderID: no, orderID: payment.channelTradeNo, userID: userID, refundNo: "R1" + no, amountMinor: 300,
                reason: "退货")
            let refund = try await client.applyRefund(request)
            #expect(refund.refundPayMoneyMinor == 300)
            let again = try await client.applyRefund(request)
            #expect(again.refundBatchID == refund.refundBatchID)
            var tooMuch = request
            tooMuch.refundNo = "R2" + no
            tooMuch.amountMinor = 701
            let refused = await apiError { _ = try await client.applyRefund(tooMuch) }
            #expect(refused?.code == .rejected)
            #expect(refused?.channelCode == "10001")
            var wrongUser = request
            wrongUser.refundNo = "R3" + no
            wrongUser.userID = "1"
            #expect(await apiError { _ = try await client.applyRefund(wrongUser) }?.code == .invalidRequest)

            let (refundStatus, refundSummary) = try await h.control("POST", "/sandbox/baidu/refund/R1\(no)")
            #expect(refundStatus == 200, "\(refundSummary)")
            let received = try await h.receiver.wait { $0.compactMap(\.notification).count >= 2 }
            guard case .refund(let notified)? = received.compactMap(\.notification).last else {
                Issue.record("no verified Baidu refund callback: \(received)")
                return
            }
            #expect(notified.paymentNo == no)
            #expect(notified.channelRefundNo == refund.refundBatchID)
            #expect(notified.status == .succeeded)
        }
    }

    @Test("close succeeds without a call; a cancelled order is closed and cannot be paid; unknown orders not found")
    func closeAndCancel() async throws {
        try await Harness.run { h in
            let gateway = BaiduGateway(client: try h.baiduClient())
            let no = orderNo()
            let info = try await gateway.prepay(
                PrepayOrder(paymentNo: no, amountMinor: 1, currency: "CNY", description: "close"))
            _ = try await h.openBaiduCashier(info)
            try await gateway.close(paymentNo: no)
            #expect(try await gateway.query(paymentNo: no) == .pending(detail: "status 1"))
            let (cancelled, _) = try await h.control("POST", "/sandbox/baidu/close/\(no)")
            #expect(cancelled == 200)
            #expect(try await gateway.query(paymentNo: no) == .closed(detail: "status -1"))
            let (paid, _) = try await h.control("POST", "/sandbox/baidu/pay/\(no)")
            #expect(paid == 409)
            let missing = await apiError { _ = try await gateway.client.queryOrder(tpOrderID: orderNo()) }
            #expect(missing?.code == .notFound)
            #expect(missing?.channelCode == "2100")
        }
    }

    @Test("a request or orderInfo signed with another key is refused; a 5xx fault is transient")
    func signatureAndFaults() async throws {
        try await Harness.run { h in
            // The platform key is not the developer key: Baidu refuses the signature.
            let wrongKey = try h.baiduClient(privateKeyFile: Keys.baiduPlatformPrivateKey)
            let refused = await apiError { _ = try await wrongKey.queryOrder(tpOrderID: orderNo()) }
            #expect(refused?.code == .authentication)
            #expect(refused?.isTransient == false)
            #expect(refused?.channelCode == "6")

            let client = try h.baiduClient()
            var info = try client.orderInfo(.init(tpOrderID: orderNo(), totalAmountMinor: 100, dealTitle: "t"))
            info["totalAmount"] = "1"
            let (_, forged) = try await h.openBaiduCashier(info)
            #expect(forged["errno"] as? Int == 6)

            try await h.fault("baidu.query", "error5xx")
            let failed = await apiError { _ = try await client.queryOrder(tpOrderID: orderNo()) }
            #expect(failed?.code == .serverError)
            #expect(failed?.isTransient == true)
            #expect(failed?.httpStatus == 500)
        }
    }

    @Test("an unanswered Baidu callback is retried with Baidu's schedule, compressed")
    func notificationRetry() async throws {
        // 2 min / 1200 = 0.1 s.
        try await Harness.run(compression: 1200) { h in
            let client = try h.baiduClient()
            let no = orderNo()
            _ = try await h.openBaiduCashier(
                try client.orderInfo(.init(tpOrderID: no, totalAmountMinor: 50, dealTitle: "r")))
            try await h.fault("baidu.notify", "drop")
            let (_, summary) = try await h.control("POST", "/sandbox/baidu/pay/\(no)")
            #expect(summary["notification_attempts"] as? Int == 1)
            #expect(h.receiver.received.isEmpty)
            let received = try await h.receiver.wait { !$0.isEmpty }
            #expect(received.count == 1)
            #expect(received.first?.notification != nil)
        }
    }
}
