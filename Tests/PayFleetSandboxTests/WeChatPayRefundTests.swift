import Foundation
import PayFleetMessages
import PayFleetSandbox
import PaymentChannels
import Testing

/// WeChat Pay v3 and v2 refunds as the sandbox plays them, through the real gateways: refunds that complete by
/// themselves, the refund faults, and the audit of `GET /sandbox/refunds`.
@Suite("channel sandbox: WeChat Pay refunds")
struct WeChatPayRefundTests {
    static func order(_ no: String, _ transactionID: String, _ refundNo: String, _ amount: Int64) -> RefundOrder {
        RefundOrder(
            refundNo: refundNo, paymentNo: no, channelTradeNo: transactionID, paymentAmountMinor: 8888,
            amountMinor: amount, currency: "CNY", reason: "test")
    }

    @Test("v3: a second number is a second refund; one completed by the act first is announced once; paid ≥ refunded")
    func secondNumberAndAnnouncedOnce() async throws {
        try await Harness.run(refundComplete: .milliseconds(300)) { h in
            let (no, transactionID) = try await SandboxRefundTests.paidWeChat(h)
            let gateway = WeChatPayV3Gateway(client: try h.weChatClient())
            guard
                case .processing(let first?, _) = try await gateway.refund(
                    Self.order(no, transactionID, "R1" + no, 1000))
            else {
                Issue.record("a new refund is processing")
                return
            }
            // The act completes R1 now, before its scheduled completion.
            let (status, acted) = try await h.control("POST", "/sandbox/wechatpay/refund/R1\(no)")
            #expect(status == 200 && acted["refund_status"] as? String == "SUCCESS", "\(acted)")
            guard
                case .processing(let second?, _) = try await gateway.refund(
                    Self.order(no, transactionID, "R2" + no, 2000))
            else {
                Issue.record("a second number is a new refund, processing")
                return
            }
            #expect(second != first)
            try await h.waitForRefunds("wechatpay") { $0.refundNo == "R2" + no }
            // Past R1's scheduled completion too: R1 was announced by the act alone.
            try await Task.sleep(for: .milliseconds(500))
            let notified = h.refundNotifications("wechatpay")
            #expect(notified.filter { $0.refundNo == "R1" + no }.count == 1, "\(notified)")
            #expect(notified.filter { $0.refundNo == "R2" + no }.map(\.amountMinor) == [2000])
            #expect(notified.allSatisfy { $0.status == .succeeded && $0.channelTradeNo == transactionID })

            let audit = try await h.audit(channel: "wechatpay")
            let r1 = audit.refunds(numbered: "R1" + no)
            let r2 = audit.refunds(numbered: "R2" + no)
            #expect(r1.count == 1 && r2.count == 1)
            #expect(r1.first?["refund_id"] as? String == first && r2.first?["refund_id"] as? String == second)
            #expect(r1.first?["requests"] as? Int == 1 && r2.first?["requests"] as? Int == 1)
            #expect(r1.first?["status"] as? String == "success" && r1.first?["origin"] as? String == "api")
            #expect(r1.first?["succeeded_at"] is String && r2.first?["created_at"] is String)
            #expect(audit.payment(no)?["amount"] as? Int == 8888 && audit.payment(no)?["refunded"] as? Int == 3000)
            #expect(audit.doubles.isEmpty, "\(audit.doubles)")
        }
    }

    @Test("v3 faults on the refund: error5xx makes nothing; drop and delay make the refund before the reply")
    func transportFaults() async throws {
        try await Harness.run(refundComplete: .milliseconds(100)) { h in
            let (no, transactionID) = try await SandboxRefundTests.paidWeChat(h)
            let gateway = WeChatPayV3Gateway(client: try h.weChatClient())
            try await h.fault("wechatpay.refund", "error5xx")
            let failed = await apiError { _ = try await gateway.refund(Self.order(no, transactionID, "R5" + no, 100)) }
            #expect(failed?.isTransient == true && failed?.code == .serverError)
            var audit = try await h.audit(channel: "wechatpay")
            #expect(audit.refunds(numbered: "R5" + no).isEmpty && audit.refused(numbered: "R5" + no).isEmpty)

            // drop: the refund is made, the reply lost (the test harness holds it 1 s, then closes).
            try await h.fault("wechatpay.refund", "drop")
            let dropped = await apiError { _ = try await gateway.refund(Self.order(no, transactionID, "R6" + no, 600)) }
            #expect(dropped?.isTransient == true, "\(String(describing: dropped))")
            audit = try await h.audit(channel: "wechatpay")
            let made = try #require(audit.refunds(numbered: "R6" + no).first)
            #expect(made["amount"] as? Int == 600 && made["requests"] as? Int == 1)
            // The retry under the same number is that refund, counted, never a second one.
            let retried = try await gateway.refund(Self.order(no, transactionID, "R6" + no, 600))
            switch retried {
            case .processing(let id, _): #expect(id == made["refund_id"] as? String)
            case .succeeded(let refund): #expect(refund.channelRefundNo == made["refund_id"] as? String)
            default: Issue.record("the retried refund is \(retried)")
            }
            audit = try await h.audit(channel: "wechatpay")
            #expect(audit.refunds(numbered: "R6" + no).first?["requests"] as? Int == 2)

            // delay: the refund exists while its reply is still on its way.
            try await h.fault("wechatpay.refund", "delay", delayMS: 800)
            let late = Task { try await gateway.refund(Self.order(no, transactionID, "R7" + no, 700)) }
            try await Task.sleep(for: .milliseconds(300))
            audit = try await h.audit(channel: "wechatpay")
            let early = try #require(audit.refunds(numbered: "R7" + no).first, "the refund is made before the reply")
            guard case .processing(let id?, _) = try await late.value else {
                Issue.record("the delayed reply is the processing refund")
                return
            }
            #expect(id == early["refund_id"] as? String)
            #expect(audit.doubles.isEmpty, "\(audit.doubles)")
        }
    }

    @Test("v3 console refund: a refund under WeChat Pay's own number, notified; more than is left is refused")
    func console() async throws {
        try await Harness.run(refundComplete: .milliseconds(100)) { h in
            let (no, transactionID) = try await SandboxRefundTests.paidWeChat(h)
            let (tooMuch, _) = try await h.control("POST", "/sandbox/wechatpay/console-refund/\(no)?amount=9000")
            #expect(tooMuch == 409)
            let (status, made) = try await h.control("POST", "/sandbox/wechatpay/console-refund/\(no)?amount=888")
            #expect(status == 200, "\(made)")
            let number = try #require(made["out_refund_no"] as? String)
            #expect(number.hasPrefix("MP") && made["origin"] as? String == "console")
            let notified = try await h.waitForRefunds("wechatpay") { $0.refundNo == number }
            #expect(notified.first?.amountMinor == 888 && notified.first?.channelTradeNo == transactionID)
            #expect(notified.first?.channelRefundNo == made["refund_id"] as? String)
            let audit = try await h.audit(channel: "wechatpay")
            #expect(audit.refunds(numbered: number).first?["origin"] as? String == "console")
            // The console's refusal is no refund API call: nothing for the audit's refused.
            #expect(audit.refused.isEmpty, "\(audit.refused)")
            #expect(audit.payment(no)?["refunded"] as? Int == 888)
        }
    }
}
