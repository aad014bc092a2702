import Foundation
import PayFleetMessages
import PayFleetSandbox
import PaymentChannels
import Testing

@Suite("channel sandbox: WeChat Pay v3 over HTTP")
struct WeChatPayV3SandboxTests {
    @Test("prepay → pay → query says SUCCESS, and the notification verifies at the merchant")
    func prepayPayQuery() async throws {
        try await Harness.run { h in
            let client = try h.weChatClient()
            let no = orderNo()
            let prepayID = try await client.jsapiPrepay(
                .init(outTradeNo: no, description: "PayFleet 测试", amountMinor: 8888, payerOpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"))
            #expect(prepayID.hasPrefix("wx"))
            // The same order again is idempotent.
            #expect(
                try await client.jsapiPrepay(
                    .init(outTradeNo: no, description: "PayFleet 测试", amountMinor: 8888, payerOpenID: "o1")) == prepayID)
            #expect(try await client.queryTransaction(outTradeNo: no).tradeState == .notPay)

            let (status, summary) = try await h.control("POST", "/sandbox/wechatpay/pay/\(no)")
            #expect(status == 200)
            #expect(summary["status"] as? String == "SUCCESS")
            #expect(summary["notification_attempts"] as? Int == 1)

            let paid = try await client.queryTransaction(outTradeNo: no)
            #expect(paid.tradeState == .success)
            #expect(paid.amountTotalMinor == 8888)
            #expect(paid.transactionID != nil && paid.successTime != nil)

            guard case .payment(let payment)? = h.receiver.accepted.first else {
                Issue.record("no verified payment notification: \(h.receiver.received)")
                return
            }
            #expect(payment.paymentNo == no)
            #expect(payment.amountMinor == 8888)
            #expect(payment.kind == .succeeded)
            #expect(payment.channelTradeNo == paid.transactionID)

            let (_, state) = try await h.control("GET", "/sandbox/state/wechatpay/\(no)")
            #expect(state["status"] as? String == "SUCCESS")
            #expect((state["notifications"] as? [[String: Any]])?.first?["delivered"] as? Bool == true)
        }
    }

    @Test("query by transaction_id: the paid order, the same result as by out_trade_no; unknown ones not found")
    func queryByTransactionID() async throws {
        try await Harness.run { h in
            let client = try h.weChatClient()
            let no = orderNo()
            _ = try await client.nativePrepay(.init(outTradeNo: no, description: "by id", amountMinor: 321))
            try await h.control("POST", "/sandbox/wechatpay/pay/\(no)")
            let byNumber = try await client.queryTransaction(outTradeNo: no)
            let transactionID = try #require(byNumber.transactionID)
            let byID = try await client.queryTransaction(transactionID: transactionID)
            #expect(byID.outTradeNo == no)
            #expect(byID.tradeState == .success)
            #expect(byID.amountTotalMinor == 321)
            #expect(byID.successTime == byNumber.successTime)
            let missing = await apiError { _ = try await client.queryTransaction(transactionID: "4200" + no) }
            #expect(missing?.code == .notFound)
            #expect(missing?.channelCode == "ORDER_NOT_EXIST")
        }
    }

    @Test("close → CLOSED; a closed order can be neither paid nor prepaid again; an unknown order is not found")
    func close() async throws {
        try await Harness.run { h in
            let client = try h.weChatClient()
            let no = orderNo()
            let codeURL = try await client.nativePrepay(.init(outTradeNo: no, description: "Native", amountMinor: 100))
            #expect(codeURL.hasPrefix("weixin://wxpay/bizpayurl?pr="))
            try await client.closeTransaction(outTradeNo: no)
            #expect(try await client.queryTransaction(outTradeNo: no).tradeState == .closed)
            let (status, _) = try await h.control("POST", "/sandbox/wechatpay/pay/\(no)")
            #expect(status == 409)
            let again = await apiError { _ = try await client.nativePrepay(.init(outTradeNo: no, description: "Native", amountMinor: 100)) }
            #expect(again?.channelCode == "ORDER_CLOSED")
            #expect(again?.isTransient == false)
            let missing = await apiError { _ = try await client.queryTransaction(outTradeNo: orderNo()) }
            #expect(missing?.code == .notFound)
            #expect(missing?.httpStatus == 404)
        }
    }

    @Test("refunds are bounded by the amount paid; the refund act completes one and notifies it")
    func refundBounded() async throws {
        try await Harness.run { h in
            let client = try h.weChatClient()
            let no = orderNo()
            _ = try await client.nativePrepay(.init(outTradeNo: no, description: "Refund me", amountMinor: 100))
            let unpaid = await apiError {
                _ = try await client.refund(.init(outTradeNo: no, outRefundNo: "R" + no, refundMinor: 10, totalMinor: 100))
            }
            #expect(unpaid?.code == .invalidRequest)
            try await h.control("POST", "/sandbox/wechatpay/pay/\(no)")

            let first = try await client.refund(
                .init(outTradeNo: no, outRefundNo: "R1" + no, refundMinor: 60, totalMinor: 100))
            #expect(first.status == .processing)
            #expect(first.refundMinor == 60)
            let tooMuch = await apiError {
                _ = try await client.refund(.init(outTradeNo: no, outRefundNo: "R2" + no, refundMinor: 50, totalMinor: 100))
            }
            #expect(tooMuch?.code == .invalidRequest)
            #expect(tooMuch?.httpStatus == 400)
            let rest = try await client.refund(
                .init(outTradeNo: no, outRefundNo: "R3" + no, refundMinor: 40, totalMinor: 100))
            #expect(rest.status == .processing)
            // Repeating a refund number never refunds twice.
            #expect(
                try await client.refund(.init(outTradeNo: no, outRefundNo: "R1" + no, refundMinor: 60, totalMinor: 100))
                    .refundID == first.refundID)
            #expect(try await client.queryTransaction(outTradeNo: no).tradeState == .refund)

            let (status, summary) = try await h.control("POST", "/sandbox/wechatpay/refund/R1\(no)")
            #expect(status == 200)
            #expect(summary["refund_status"] as? String == "SUCCESS")
            let done = try await client.queryRefund(outRefundNo: "R1" + no)
            #expect(done.status == .success)
            #expect(done.successTime != nil)
            #expect(try await client.queryRefund(outRefundNo: "R3" + no).status == .processing)
            let refunds = h.receiver.accepted.compactMap { notification -> RefundNotification? in
                if case .refund(let refund) = notification { return refund }
                return nil
            }
            #expect(refunds.count == 1)
            #expect(refunds.first?.amountMinor == 60)
        }
    }

    @Test("a request whose Authorization was tampered with is refused with 401 SIGN_ERROR")
    func tamperedAuthorization() async throws {
        try await Harness.run { h in
            let tampering = RewritingTransport(upstream: HTTPClientTransport()) { request in
                let index = request.headers.firstIndex { $0.0 == "Authorization" }!
                request.headers[index].1 = request.headers[index].1.replacingOccurrences(
                    of: "signature=\"", with: "signature=\"AAAA")
            }
            let error = await apiError {
                _ = try await h.weChatClient(transport: tampering).nativePrepay(
                    .init(outTradeNo: orderNo(), description: "x", amountMinor: 1))
            }
            #expect(error?.httpStatus == 401)
            #expect(error?.channelCode == "SIGN_ERROR")
            #expect(error?.code == .authentication)
            // A body changed after signing is refused the same way.
            let changedBody = RewritingTransport(upstream: HTTPClientTransport()) { request in
                request.body = Array(String(decoding: request.body, as: UTF8.self)
                    .replacingOccurrences(of: "\"total\":1", with: "\"total\":2").utf8)
            }
            let second = await apiError {
                _ = try await h.weChatClient(transport: changedBody).nativePrepay(
                    .init(outTradeNo: orderNo(), description: "x", amountMinor: 1))
            }
            #expect(second?.channelCode == "SIGN_ERROR")
        }
    }

    @Test("faults: 5xx is a transient SYSTEM_ERROR, a tampered reply fails verification, a dropped reply times out")
    func apiFaults() async throws {
        try await Harness.run { h in
            let client = try h.weChatClient(timeout: .milliseconds(500))
            let no = orderNo()
            try await h.fault("wechatpay.prepay", "error5xx")
            let failed = await apiError { _ = try await client.nativePrepay(.init(outTradeNo: no, description: "x", amountMinor: 5)) }
            #expect(failed?.code == .serverError)
            #expect(failed?.isTransient == true)
            #expect(failed?.channelCode == "SYSTEM_ERROR")
            // The fault was used up; the channel did not act, so the order is new now.
            _ = try await client.nativePrepay(.init(outTradeNo: no, description: "x", amountMinor: 5))

            try await h.fault("wechatpay.query", "tamper")
            let tampered = await apiError { _ = try await client.queryTransaction(outTradeNo: no) }
            #expect(tampered?.code == .responseSignature)
            #expect(tampered?.isTransient == true)

            try await h.fault("wechatpay.close", "drop", delayMS: 1500)
            let dropped = await apiError { try await client.closeTransaction(outTradeNo: no) }
            #expect(dropped?.code == .timeout)
            // The channel acted though its reply was lost.
            #expect(try await client.queryTransaction(outTradeNo: no).tradeState == .closed)

            let (bad, _) = try await h.control(
                "POST", "/sandbox/faults", json: "{\"endpoint\":\"wechatpay.query\",\"mode\":\"duplicate\"}")
            #expect(bad == 400)
            try await h.fault("wechatpay.query", "error5xx", count: -1)
            let (_, listed) = try await h.control("GET", "/sandbox/faults")
            #expect((listed["faults"] as? [Any])?.count == 1)
            try await h.control("DELETE", "/sandbox/faults")
            #expect(try await client.queryTransaction(outTradeNo: no).tradeState == .closed)
        }
    }

    @Test("a refused notification is retried on WeChat Pay's schedule, compressed")
    func notificationRetries() async throws {
        // 15 s / 600 = 25 ms, then 25 ms, 50 ms.
        try await Harness.run(compression: 600) { h in
            let client = try h.weChatClient()
            let no = orderNo()
            _ = try await client.nativePrepay(.init(outTradeNo: no, description: "retry", amountMinor: 7))
            h.receiver.failNext(2)
            let (_, summary) = try await h.control("POST", "/sandbox/wechatpay/pay/\(no)")
            #expect(summary["notification_attempts"] as? Int == 1)
            #expect((summary["notification"] as? [String: Any])?["delivered"] as? Bool == false)
            let received = try await h.receiver.wait { $0.count >= 3 }
            #expect(received.count == 3)
            #expect(received.allSatisfy { $0.notification != nil })
            if received.count == 3 {
                #expect(received[1].at.timeIntervalSince(received[0].at) >= 0.02)
                #expect(received[2].at.timeIntervalSince(received[1].at) >= 0.02)
            }
            try await Task.sleep(for: .milliseconds(200))
            #expect(h.receiver.received.count == 3)
            let (_, state) = try await h.control("GET", "/sandbox/state/wechatpay/\(no)")
            let delivery = (state["notifications"] as? [[String: Any]])?.first
            #expect(delivery?["attempts"] as? Int == 3)
            #expect(delivery?["delivered"] as? Bool == true)
            #expect(delivery?["finished"] as? Bool == true)
        }
    }

    @Test("notification faults: duplicate delivers twice; tamper is refused by the verifier, then retried")
    func notificationFaults() async throws {
        try await Harness.run { h in
            let client = try h.weChatClient()
            let first = orderNo()
            _ = try await client.nativePrepay(.init(outTradeNo: first, description: "dup", amountMinor: 3))
            try await h.fault("wechatpay.notify", "duplicate")
            try await h.control("POST", "/sandbox/wechatpay/pay/\(first)")
            let ids = h.receiver.accepted.compactMap { notification -> String? in
                if case .payment(let payment) = notification { return payment.id }
                return nil
            }
            #expect(ids.count == 2)
            #expect(Set(ids).count == 1)

            let second = orderNo()
            _ = try await client.nativePrepay(.init(outTradeNo: second, description: "tamper", amountMinor: 4))
            try await h.fault("wechatpay.notify", "tamper")
            let (_, summary) = try await h.control("POST", "/sandbox/wechatpay/pay/\(second)")
            #expect((summary["notification"] as? [String: Any])?["delivered"] as? Bool == false)
            let received = try await h.receiver.wait { $0.count >= 4 }
            #expect(received.count == 4)
            #expect(received.count == 4 && received[2].notification == nil && received[2].error == "bad_signature")
            #expect(received.count == 4 && received[3].notification != nil)
        }
    }

    @Test("bill times: created_at and refunded_at take a number and an ISO 8601 time, and refuse anything else")
    func billTimes() async throws {
        try await Harness.run { h in
            for (path, numberKey, timeKey) in [
                ("/sandbox/bills/created_at", "out_trade_no", "created_at"),
                ("/sandbox/bills/refunded_at", "out_refund_no", "refunded_at"),
            ] {
                let (ok, echoed) = try await h.control(
                    "POST", path, json: "{\"\(numberKey)\":\"PF1\",\"\(timeKey)\":\"2021-03-04T10:00:00Z\"}")
                #expect(ok == 200)
                #expect(echoed[numberKey] as? String == "PF1" && echoed[timeKey] as? String == "2021-03-04T10:00:00Z")
                for bad in [
                    "{\"\(numberKey)\":\"PF1\",\"\(timeKey)\":\"yesterday\"}", "{\"\(numberKey)\":\"\",\"\(timeKey)\":\"2021-03-04T10:00:00Z\"}",
                    "{\"\(timeKey)\":\"2021-03-04T10:00:00Z\"}", "not json",
                ] {
                    let (status, reply) = try await h.control("POST", path, json: bad)
                    #expect(status == 400, "\(bad)")
                    #expect((reply["error"] as? String)?.contains(timeKey) == true, "\(reply)")
                }
            }
        }
    }
}
