import Crypto
import Foundation
import PayFleetMessages
import PaymentChannels
import Testing
import _CryptoExtras

@Suite("Alipay notifications")
struct AlipayVerifierTests {
    let verifier: AlipayVerifier
    let signer: AlipayNotificationSigner
    /// 2026-11-18 19:06:35 at +08:00.
    let gmtPayment = Sandbox.now.addingTimeInterval(-5)

    init() throws {
        verifier = AlipayVerifier(merchant: try Sandbox.alipayMerchant())
        signer = try Sandbox.alipaySigner()
    }

    func parameters(status: String = "TRADE_SUCCESS", amount: Int64 = 8888) -> [String: String] {
        AlipayNotificationSigner.tradeParameters(
            appID: Sandbox.alipayAppID, sellerID: Sandbox.alipaySellerID, outTradeNo: "PF20261118000043",
            tradeNo: "2026111822001400000000000043", totalAmount: amount, notifyID: "2026111800222030635000000043",
            gmtPayment: gmtPayment, tradeStatus: status)
    }

    func request(_ body: [UInt8]) -> ChannelRequest {
        ChannelRequest(headers: ["Content-Type": AlipayNotificationSigner.contentType], body: body)
    }

    func request(_ body: String) -> ChannelRequest {
        request(Array(body.utf8))
    }

    func expectError(
        _ code: ChannelError.Code, _ request: ChannelRequest, verifier: AlipayVerifier? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ChannelError? {
        expectChannelError(
            code, request, verifier: verifier ?? self.verifier, now: Sandbox.now, sourceLocation: sourceLocation)
    }

    @Test("a signed TRADE_SUCCESS with unicode and encoded + & = becomes a payment")
    func success() throws {
        var params = parameters()
        params["subject"] = "中文 订单"
        params["passback_params"] = "a+b&c=d%e"
        params["body"] = ""
        let body = signer.signedBody(params: params)
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains("subject=%E4%B8%AD%E6%96%87+%E8%AE%A2%E5%8D%95"))
        #expect(text.contains("passback_params=a%2Bb%26c%3Dd%25e"))
        let result = try verifier.verify(request(body), now: Sandbox.now)
        #expect(
            result
                == .payment(
                    PaymentNotification(
                        id: "2026111800222030635000000043", channel: .alipay, merchant: "ali-main", kind: .succeeded,
                        paymentNo: "PF20261118000043", channelTradeNo: "2026111822001400000000000043",
                        amountMinor: 8888, currency: "CNY", occurredAt: gmtPayment, raw: text)))
        #expect(verifier.channel == .alipay)
        #expect(verifier.merchantID == "ali-main")
    }

    @Test("the signed content is the sorted, decoded, non-empty parameters without sign and sign_type")
    func signContent() throws {
        let key = try PEMKeys.loadRSAPrivateKey(path: Sandbox.alipayPrivateKey)
        let content =
            "app_id=\(Sandbox.alipayAppID)&gmt_payment=2026-11-18 19:06:35&notify_id=N1&out_trade_no=PF1"
            + "&seller_id=\(Sandbox.alipaySellerID)&subject=中文 a+b&total_amount=0.01&trade_no=T1&trade_status=TRADE_SUCCESS"
        let sign = try key.signature(for: SHA256.hash(data: Array(content.utf8)), padding: .insecurePKCS1v1_5)
            .rawRepresentation.base64EncodedString()
        let body =
            "trade_status=TRADE_SUCCESS&total_amount=0.01&buyer_logon_id=&subject=%E4%B8%AD%E6%96%87+a%2Bb"
            + "&sign_type=RSA2&sign=\(FormCodec.encodeComponent(sign))&app_id=\(Sandbox.alipayAppID)"
            + "&seller_id=\(Sandbox.alipaySellerID)&notify_id=N1&out_trade_no=PF1&trade_no=T1"
            + "&gmt_payment=2026-11-18%2019%3A06%3A35"
        let result = try verifier.verify(request(body), now: Sandbox.now)
        guard case .payment(let payment) = result else {
            Issue.record("expected a payment, got \(result)")
            return
        }
        #expect(payment.amountMinor == 1)
        #expect(payment.occurredAt == gmtPayment)
        #expect(signer.sign(["a": "1", "sign_type": "RSA2", "sign": "x", "b": ""]) == signer.sign(["a": "1"]))
    }

    @Test("+ and %20 both decode to a space and verify")
    func spaces() throws {
        var params = parameters()
        params["subject"] = "Order for a b c"
        params["sign_type"] = "RSA2"
        params["sign"] = signer.sign(params)
        let plus = FormCodec.encode(params)
        #expect(plus.contains("subject=Order+for+a+b+c"))
        let percent = plus.replacingOccurrences(of: "subject=Order+for+a+b+c", with: "subject=Order%20for%20a%20b%20c")
        #expect(throws: Never.self) { try verifier.verify(request(plus), now: Sandbox.now) }
        #expect(throws: Never.self) { try verifier.verify(request(percent), now: Sandbox.now) }
    }

    @Test("a tampered amount fails the signature")
    func tamperedAmount() throws {
        let body = String(decoding: signer.signedBody(params: parameters()), as: UTF8.self)
        #expect(body.contains("total_amount=88.88"))
        let error = expectError(
            .badSignature, request(body.replacingOccurrences(of: "total_amount=88.88", with: "total_amount=88.89")))
        #expect(error?.httpStatus == 401)
    }

    @Test("during a rotation every configured key verifies; others do not")
    func rotation() throws {
        let oldKey = try PEMKeys.loadRSAPrivateKey(path: Sandbox.merchantAPIPrivateKey)
        let merchant = try Sandbox.alipayMerchant()
        let rotating = AlipayVerifier(
            merchant: AlipayMerchant(
                id: merchant.id, appID: merchant.appID, sellerID: merchant.sellerID,
                publicKeys: [oldKey.publicKey] + merchant.publicKeys))
        let body = signer.signedBody(params: parameters())
        #expect(throws: Never.self) { try rotating.verify(request(body), now: Sandbox.now) }
        let oldBody = AlipayNotificationSigner(privateKey: oldKey).signedBody(params: parameters())
        #expect(throws: Never.self) { try rotating.verify(request(oldBody), now: Sandbox.now) }
        _ = expectError(.badSignature, request(oldBody))
        let stranger = AlipayNotificationSigner(
            privateKey: try PEMKeys.loadRSAPrivateKey(path: Sandbox.platformPrivateKey))
        _ = expectError(.badSignature, request(stranger.signedBody(params: parameters())), verifier: rotating)
    }

    @Test("another app_id or seller_id is merchantMismatch; seller_id is checked only when configured")
    func merchantMismatch() throws {
        var otherApp = parameters()
        otherApp["app_id"] = "2021000000000999"
        _ = expectError(.merchantMismatch, request(signer.signedBody(params: otherApp)))
        var otherSeller = parameters()
        otherSeller["seller_id"] = "2088000000000999"
        let error = expectError(.merchantMismatch, request(signer.signedBody(params: otherSeller)))
        #expect(error?.httpStatus == 400)
        var noSeller = parameters()
        noSeller["seller_id"] = nil
        _ = expectError(.merchantMismatch, request(signer.signedBody(params: noSeller)))

        let anySeller = AlipayVerifier(merchant: try Sandbox.alipayMerchant(sellerID: nil))
        #expect(throws: Never.self) {
            try anySeller.verify(request(signer.signedBody(params: otherSeller)), now: Sandbox.now)
        }
    }

    @Test("WAIT_BUYER_PAY is ignored; TRADE_CLOSED is a closed payment; TRADE_FINISHED a succeeded one")
    func statuses() throws {
        let waiting = try verifier.verify(
            request(signer.signedBody(params: parameters(status: "WAIT_BUYER_PAY"))), now: Sandbox.now)
        #expect(waiting == .ignored(reason: "Alipay trade_status WAIT_BUYER_PAY"))

        var closedParams = parameters(status: "TRADE_CLOSED", amount: 1)
        closedParams["gmt_close"] = "2026-11-18 19:10:00"
        let closed = try verifier.verify(request(signer.signedBody(params: closedParams)), now: Sandbox.now)
        guard case .payment(let closedPayment) = closed else {
            Issue.record("expected a payment, got \(closed)")
            return
        }
        #expect(closedPayment.kind == .closed)
        #expect(closedPayment.amountMinor == 1)
        #expect(closedPayment.occurredAt == Sandbox.now.addingTimeInterval(200))

        let finished = try verifier.verify(
            request(signer.signedBody(params: parameters(status: "TRADE_FINISHED"))), now: Sandbox.now)
        guard case .payment(let finishedPayment) = finished else {
            Issue.record("expected a payment, got \(finished)")
            return
        }
        #expect(finishedPayment.kind == .succeeded)
    }

    @Test("without gmt_payment the time is notify_time; trans_currency overrides CNY")
    func timeAndCurrency() throws {
        var params = parameters()
        params["gmt_payment"] = nil
        params["trans_currency"] = "usd"
        let result = try verifier.verify(request(signer.signedBody(params: params)), now: Sandbox.now)
        guard case .payment(let payment) = result else {
            Issue.record("expected a payment, got \(result)")
            return
        }
        #expect(payment.occurredAt == gmtPayment.addingTimeInterval(1))
        #expect(payment.currency == "USD")
    }

    @Test("a trade notification with refund fields is a refund: out_biz_no is ours, refund_fee the trade's total")
    func refundNotification() throws {
        var params = parameters(status: "TRADE_CLOSED")
        params["refund_fee"] = "88.88"
        params["gmt_refund"] = "2026-11-18 20:00:00.123"
        params["out_biz_no"] = "RF20261118000001"
        let body = signer.signedBody(params: params)
        guard case .refund(let full) = try verifier.verify(request(body), now: Sandbox.now) else {
            Issue.record("a refund notification was not a refund")
            return
        }
        // 20:00:00.123 in China is 12:00:00.123 UTC.
        #expect(abs(full.occurredAt.timeIntervalSince1970 - 1_795_003_200.123) < 0.0005)
        let expected = RefundNotification(
            id: "2026111800222030635000000043", channel: .alipay, merchant: "ali-main", refundNo: "RF20261118000001",
            channelRefundNo: "RF20261118000001", paymentNo: "PF20261118000043", status: .succeeded, amountMinor: nil,
            occurredAt: full.occurredAt, raw: String(decoding: body, as: UTF8.self),
            channelTradeNo: "2026111822001400000000000043", refundedTotalMinor: 8888)
        #expect(full == expected)
        // Partial, with this refund's own amount (send_back_fee): the trade stays TRADE_SUCCESS.
        var partial = parameters()
        partial["refund_fee"] = "10.00"
        partial["send_back_fee"] = "10.00"
        partial["gmt_refund"] = "2026-11-18 20:00:00"
        partial["out_biz_no"] = "RF20261118000002"
        guard case .refund(let refund) = try verifier.verify(request(signer.signedBody(params: partial)), now: Sandbox.now)
        else {
            Issue.record("a partial refund notification was not a refund")
            return
        }
        #expect(refund.amountMinor == 1000 && refund.refundedTotalMinor == 1000 && refund.refundNo == "RF20261118000002")
        // No out_biz_no: nothing to settle by.
        var anonymous = parameters()
        anonymous["refund_fee"] = "10.00"
        anonymous["gmt_refund"] = "2026-11-18 20:00:00"
        #expect(throws: ChannelError.self) { try verifier.verify(request(signer.signedBody(params: anonymous)), now: Sandbox.now) }
    }

    @Test("sign_type other than RSA2, a missing sign, duplicates and bad amounts are refused")
    func refusals() throws {
        var rsa1 = parameters()
        rsa1["sign"] = signer.sign(rsa1)
        rsa1["sign_type"] = "RSA"
        _ = expectError(.badSignature, request(FormCodec.encode(rsa1)))
        _ = expectError(.badSignature, request(FormCodec.encode(parameters())))

        let body = String(decoding: signer.signedBody(params: parameters()), as: UTF8.self)
        _ = expectError(.malformedBody, request(body + "&total_amount=0.01"))
        _ = expectError(.malformedBody, request(body + "&x=%ZZ"))

        var badAmount = parameters()
        badAmount["total_amount"] = "88.888"
        _ = expectError(.malformedBody, request(signer.signedBody(params: badAmount)))

        var json = request(body)
        json.headers["content-type"] = "application/json"
        _ = expectError(.unsupportedContentType, json)
    }

    @Test("replies: text/plain success and fail")
    func replies() {
        #expect(verifier.successReply() == ChannelReply(status: 200, contentType: "text/plain", body: "success"))
        #expect(
            verifier.failureReply(status: 401, message: "signature")
                == ChannelReply(status: 401, contentType: "text/plain", body: "fail"))
    }

    @Test("loading requires a key and names a bad file")
    func loading() throws {
        #expect(throws: ChannelError.self) {
            try AlipayMerchant.load(id: "a", appID: Sandbox.alipayAppID, sellerID: nil, publicKeyFiles: [])
        }
        let error = #expect(throws: ChannelError.self) {
            try AlipayMerchant.load(
                id: "a", appID: Sandbox.alipayAppID, sellerID: nil, publicKeyFiles: [Sandbox.platformCertificate])
        }
        #expect(error?.code == .keyFile)
        #expect(error?.description.contains(Sandbox.platformCertificate) == true)
    }
}
