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

    @Test("v3 abnormal: REFUND.ABNORMAL's resource says ABNORMAL with no success_time; nothing was given back")
    func abnormal() async throws {
        try await Harness.run(refundComplete: .milliseconds(100)) { h in
            let (no, transactionID) = try await SandboxRefundTests.paidWeChat(h)
            let gateway = WeChatPayV3Gateway(client: try h.weChatClient())
            try await h.fault("wechatpay.refund", "abnormal")
            guard case .processing = try await gateway.refund(Self.order(no, transactionID, "RA" + no, 700)) else {
                Issue.record("an abnormal refund is accepted first")
                return
            }
            let failed = try #require(try await h.waitForRefunds("wechatpay") { $0.refundNo == "RA" + no }.first)
            #expect(failed.status == .failed && failed.amountMinor == 700)
            let resource = try #require(
                try JSONSerialization.jsonObject(with: Data(failed.raw.utf8)) as? [String: Any])
            #expect(resource["refund_status"] as? String == "ABNORMAL")
            #expect(resource["success_time"] == nil, "the money never went back: \(resource)")
            let audit = try await h.audit(channel: "wechatpay")
            let entry = audit.refunds(numbered: "RA" + no).first
            #expect(entry?["status"] as? String == "failed" && entry?["failed_at"] is String)
            #expect(entry?["succeeded_at"] == nil)
            #expect(audit.payment(no)?["refunded"] as? Int == 0)
        }
    }

    @Test("v2: completes by itself (req_info SUCCESS), a repeat is one refund, refuse is permanent, abnormal is CHANGE")
    func weChatPayV2() async throws {
        try await WeChatPayV2Harness.run(refundComplete: .milliseconds(100)) { v2 in
            let h = v2.harness
            let client = try v2.client()
            let gateway = WeChatPayV2Gateway(client: client)
            let no = orderNo("V2")
            _ = try await client.unifiedOrder(
                .init(outTradeNo: no, description: "refund", totalFee: 8888, tradeType: .native))
            #expect(try await h.control("POST", "/sandbox/wechatpay-v2/pay/\(no)").0 == 200)
            let transactionID = try #require(try await client.queryOrder(outTradeNo: no).transactionID)

            guard
                case .processing(let refundID?, _) = try await gateway.refund(
                    Self.order(no, transactionID, "R1" + no, 1000))
            else {
                Issue.record("a new v2 refund is processing")
                return
            }
            _ = try await gateway.refund(Self.order(no, transactionID, "R1" + no, 1000))
            let done = try await h.waitForRefunds("wechatpay-v2") { $0.refundNo == "R1" + no }
            #expect(done.first?.status == .succeeded && done.first?.channelRefundNo == refundID)
            #expect(done.first?.amountMinor == 1000 && done.first?.channelTradeNo == transactionID)
            guard
                case .succeeded = try await gateway.queryRefund(
                    Self.order(no, transactionID, "R1" + no, 1000).lookup(channelRefundNo: nil))
            else {
                Issue.record("refundquery does not say SUCCESS")
                return
            }

            try await h.fault("wechatpay-v2.refund", "refuse")
            let refused = await apiError { _ = try await gateway.refund(Self.order(no, transactionID, "RX" + no, 500)) }
            #expect(refused?.isTransient == false && refused?.channelCode == "INVALID_REQUEST")
            #expect(
                try await gateway.queryRefund(
                    Self.order(no, transactionID, "RX" + no, 500).lookup(channelRefundNo: nil)) == .notFound)

            try await h.fault("wechatpay-v2.refund", "abnormal")
            guard case .processing = try await gateway.refund(Self.order(no, transactionID, "RA" + no, 700)) else {
                Issue.record("an abnormal v2 refund is accepted first")
                return
            }
            let failed = try await h.waitForRefunds("wechatpay-v2") { $0.refundNo == "RA" + no }
            #expect(failed.first?.status == .failed)
            let raw = try #require(failed.first?.raw)
            #expect(raw.contains("CHANGE"), "the decrypted req_info says CHANGE: \(raw)")
            guard
                case .failed(_, let detail, _) = try await gateway.queryRefund(
                    Self.order(no, transactionID, "RA" + no, 700).lookup(channelRefundNo: nil))
            else {
                Issue.record("refundquery does not report the abnormal refund as failed")
                return
            }
            #expect(detail == "CHANGE")

            let (status, made) = try await h.control("POST", "/sandbox/wechatpay-v2/console-refund/\(no)?amount=300")
            #expect(status == 200, "\(made)")
            let number = try #require(made["out_refund_no"] as? String)
            let console = try await h.waitForRefunds("wechatpay-v2") { $0.refundNo == number }
            #expect(console.first?.amountMinor == 300 && number != "R1" + no)

            let audit = try await h.audit(channel: "wechatpay-v2")
            #expect(audit.refunds(numbered: "R1" + no).first?["requests"] as? Int == 2)
            #expect(audit.refunds(numbered: "RX" + no).isEmpty && audit.refused(numbered: "RX" + no).count == 1)
            #expect(audit.refunds(numbered: "RA" + no).first?["status"] as? String == "failed")
            // The failed refund gave nothing back: 1000 and the console's 300.
            #expect(audit.payment(no)?["refunded"] as? Int == 1300)
            #expect(audit.doubles.isEmpty, "\(audit.doubles)")
        }
    }
}
