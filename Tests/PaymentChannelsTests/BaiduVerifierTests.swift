import Crypto
import Foundation
import PayFleetMessages
import PaymentChannels
import Testing
import _CryptoExtras

@Suite("Baidu cashier notifications")
struct BaiduVerifierTests {
    let verifier: BaiduVerifier
    let signer: BaiduNotificationSigner
    let payTime = Sandbox.now.addingTimeInterval(-5)

    init() throws {
        verifier = BaiduVerifier(merchant: try Sandbox.baiduMerchant())
        signer = try Sandbox.baiduSigner()
    }

    func parameters(status: String = "2", dealID: String = Sandbox.baiduDealID) -> [String: String] {
        BaiduNotificationSigner.paymentParameters(
            dealID: dealID, orderID: "81288776562801", tpOrderID: "PF20261118000045", totalMoney: 8888,
            payTime: payTime, status: status)
    }

    func request(_ body: [UInt8]) -> ChannelRequest {
        ChannelRequest(headers: ["Content-Type": BaiduNotificationSigner.contentType], body: body)
    }

    func request(_ body: String) -> ChannelRequest {
        request(Array(body.utf8))
    }

    func expectError(
        _ code: ChannelError.Code, _ request: ChannelRequest, verifier: BaiduVerifier? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ChannelError? {
        expectChannelError(
            code, request, verifier: verifier ?? self.verifier, now: Sandbox.now, sourceLocation: sourceLocation)
    }

    @Test("Baidu's documented signing example verifies with the documented 1024-bit key; tampered, it does not")
    func documentedExample() throws {
        // smartprogram.baidu.com "签名与验签": appKey=MMMabc&dealId=470193086&totalAmount=11300&tpOrderId=3028903626
        // signed with the example private key of "密钥生成"; the fixture holds its public half.
        let key = try #require(
            Bundle.module.url(
                forResource: "baidu-docs-example-public-key", withExtension: "pem", subdirectory: "Fixtures"))
        let merchant = try BaiduMerchant.load(
            id: "bd-docs", appKey: "MMMabc", dealID: "470193086", platformPublicKeyFiles: [key.path])
        #expect(merchant.platformPublicKeys.first?.keySizeInBits == 1024)
        let documented = BaiduVerifier(merchant: merchant)
        let sign =
            "TN0ZNPyQeTnPjCN5hUa7JwrXOhR8uDASXPazidVQHFSiGCH5aouBkVvJxtf8PeqzGYWAASwS2oOt2eJfunzC5dTFd/pWJeJToMgCSgRY7K"
            + "tQUCCDnMrtpqiMAf+dLiXps3HpWhVB4CK6MXfHc64ejP5a2fu5bg8B0BTcHrqaGc0="
        let body =
            "tpOrderId=3028903626&appKey=MMMabc&totalAmount=11300&dealId=470193086&rsaSign="
            + FormCodec.encodeComponent(sign)
        // Authentic, but not a payment callback (no status): ignored, which proves the signature verified.
        let result = try documented.verify(request(body), now: Sandbox.now)
        #expect(result == .ignored(reason: "Baidu payment status none (2 is paid)"))
        _ = expectError(
            .badSignature, request(body.replacingOccurrences(of: "totalAmount=11300", with: "totalAmount=11301")),
            verifier: documented)
        // The sandbox's platform key does not verify it.
        _ = expectError(.badSignature, request(body))
    }

    @Test("a signed paid callback (status 2) with empty values becomes a payment")
    func success() throws {
        let body = signer.signedBody(params: parameters())
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains("returnData=&"))
        #expect(text.contains("promoDetail=&"))
        let result = try verifier.verify(request(body), now: Sandbox.now)
        #expect(
            result
                == .payment(
                    PaymentNotification(
                        id: "81288776562801", channel: .baidu, merchant: "bd-main", kind: .succeeded,
                        paymentNo: "PF20261118000045", channelTradeNo: "81288776562801", amountMinor: 8888,
                        currency: "CNY", occurredAt: payTime, raw: text, payerID: "149235070")))
        #expect(verifier.channel == .baidu)
        #expect(verifier.merchantID == "bd-main")
        #expect(verifier.successReply(for: result) == verifier.successReply())
    }

    @Test("a signature over the non-empty values only is accepted too, and neither lets a value change")
    func emptyValueForms() throws {
        let key = try PEMKeys.loadRSAPrivateKey(path: Sandbox.baiduPlatformPrivateKey)
        let params = parameters()
        let content = params.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            .joined(separator: "&")
        #expect(!content.contains("returnData"))
        let sign = try key.signature(for: Insecure.SHA1.hash(data: Array(content.utf8)), padding: .insecurePKCS1v1_5)
        var signed = params
        signed["rsaSign"] = sign.rawRepresentation.base64EncodedString()
        #expect(throws: Never.self) { try verifier.verify(request(FormCodec.encode(signed)), now: Sandbox.now) }
        // Filling an empty value changes both forms.
        signed["returnData"] = "x"
        _ = expectError(.badSignature, request(FormCodec.encode(signed)))
    }

    @Test("tampered, unsigned or foreign-signed callbacks fail the signature")
    func badSignatures() throws {
        let body = String(decoding: signer.signedBody(params: parameters()), as: UTF8.self)
        #expect(body.contains("totalMoney=8888"))
        let error = expectError(
            .badSignature, request(body.replacingOccurrences(of: "totalMoney=8888", with: "totalMoney=8889")))
        #expect(error?.httpStatus == 401)
        _ = expectError(.badSignature, request(FormCodec.encode(parameters())))
        let stranger = BaiduNotificationSigner(
            platformPrivateKey: try PEMKeys.loadRSAPrivateKey(path: Sandbox.alipayPrivateKey))
        _ = expectError(.badSignature, request(stranger.signedBody(params: parameters())))
        var notBase64 = parameters()
        notBase64["rsaSign"] = "***"
        _ = expectError(.badSignature, request(FormCodec.encode(notBase64)))
    }

    @Test("during a rotation every configured platform key verifies")
    func rotation() throws {
        let merchant = try Sandbox.baiduMerchant()
        let other = try PEMKeys.loadRSAPrivateKey(path: Sandbox.alipayPrivateKey)
        let rotating = BaiduVerifier(
            merchant: BaiduMerchant(
                id: merchant.id, appKey: merchant.appKey, dealID: merchant.dealID,
                platformPublicKeys: [other.publicKey] + merchant.platformPublicKeys))
        for key in [other, try PEMKeys.loadRSAPrivateKey(path: Sandbox.baiduPlatformPrivateKey)] {
            let body = BaiduNotificationSigner(platformPrivateKey: key).signedBody(params: parameters())
            #expect(throws: Never.self) { try rotating.verify(request(body), now: Sandbox.now) }
        }
    }

    @Test("another dealId or appKey is merchantMismatch; a payment must name its dealId")
    func merchantMismatch() throws {
        let error = expectError(.merchantMismatch, request(signer.signedBody(params: parameters(dealID: "470193087"))))
        #expect(error?.httpStatus == 400)
        var otherApp = parameters()
        otherApp["appKey"] = "MMMxyz"
        _ = expectError(.merchantMismatch, request(signer.signedBody(params: otherApp)))
        var noDeal = parameters()
        noDeal["dealId"] = nil
        _ = expectError(.merchantMismatch, request(signer.signedBody(params: noDeal)))
        var sameApp = parameters()
        sameApp["appKey"] = Sandbox.baiduAppKey
        #expect(throws: Never.self) {
            try verifier.verify(request(signer.signedBody(params: sameApp)), now: Sandbox.now)
        }
    }

    @Test("a status other than 2 is ignored")
    func unpaid() throws {
        let result = try verifier.verify(request(signer.signedBody(params: parameters(status: "1"))), now: Sandbox.now)
        #expect(result == .ignored(reason: "Baidu payment status 1 (2 is paid)"))
    }

    @Test("refund callbacks: refundStatus 1 succeeded, 2 failed, no amount stated, answered with empty data")
    func refunds() throws {
        for (refundStatus, status) in [("1", RefundNotification.Status.succeeded), ("2", .failed)] {
            let params = BaiduNotificationSigner.refundParameters(
                orderID: "81288776562801", tpOrderID: "PF20261118000045", refundBatchID: "152713835",
                refundStatus: refundStatus)
            let body = signer.signedBody(params: params)
            let result = try verifier.verify(request(body), now: Sandbox.now)
            #expect(
                result
                    == .refund(
                        RefundNotification(
                            id: "152713835:\(refundStatus)", channel: .baidu, merchant: "bd-main",
                            refundNo: "152713835",
                            channelRefundNo: "152713835", paymentNo: "PF20261118000045", status: status,
                            amountMinor: nil, occurredAt: Sandbox.now, raw: String(decoding: body, as: UTF8.self),
                            channelTradeNo: "81288776562801")))
            #expect(
                verifier.successReply(for: result)
                    == ChannelReply(
                        status: 200, contentType: "application/json", body: #"{"errno":0,"msg":"success","data":{}}"#))
        }
        var withOurs = BaiduNotificationSigner.refundParameters(
            orderID: "81288776562801", tpOrderID: "PF20261118000045", refundBatchID: "152713836")
        withOurs["bizRefundBatchId"] = "RF20261118000002"
        withOurs["refundPayMoney"] = "888"
        guard
            case .refund(let refund) = try verifier.verify(
                request(signer.signedBody(params: withOurs)), now: Sandbox.now)
        else {
            Issue.record("expected a refund")
            return
        }
        #expect(refund.refundNo == "RF20261118000002")
        #expect(refund.channelRefundNo == "152713836")
        #expect(refund.amountMinor == 888)

        let pending = BaiduNotificationSigner.refundParameters(
            orderID: "81288776562801", tpOrderID: "PF20261118000045", refundBatchID: "152713837", refundStatus: "3")
        #expect(
            try verifier.verify(request(signer.signedBody(params: pending)), now: Sandbox.now)
                == .ignored(reason: "Baidu refundStatus 3 (1 succeeded, 2 failed)"))
    }

    @Test("missing fields, repeats, bad amounts and a foreign content type are refused")
    func malformed() throws {
        var noOrder = parameters()
        noOrder["orderId"] = nil
        _ = expectError(.malformedBody, request(signer.signedBody(params: noOrder)))
        var badMoney = parameters()
        badMoney["totalMoney"] = "88.88"
        _ = expectError(.malformedBody, request(signer.signedBody(params: badMoney)))
        var badTime = parameters()
        badTime["payTime"] = "2026-11-18"
        _ = expectError(.malformedBody, request(signer.signedBody(params: badTime)))
        let body = String(decoding: signer.signedBody(params: parameters()), as: UTF8.self)
        _ = expectError(.malformedBody, request(body + "&status=2"))
        var json = request(body)
        json.headers["content-type"] = "application/json"
        _ = expectError(.unsupportedContentType, json)
    }

    @Test("replies: errno 0 with isConsumed 2; failures errno 1 in JSON")
    func replies() {
        #expect(
            verifier.successReply()
                == ChannelReply(
                    status: 200, contentType: "application/json",
                    body: #"{"errno":0,"msg":"success","data":{"isConsumed":2}}"#))
        #expect(
            verifier.failureReply(status: 401, message: "bad \"sign\"")
                == ChannelReply(
                    status: 401, contentType: "application/json", body: #"{"errno":1,"msg":"bad \"sign\"","data":{}}"#))
    }

    @Test("loading requires a key file and names a bad one")
    func loading() throws {
        #expect(throws: ChannelError.self) {
            try BaiduMerchant.load(id: "b", appKey: "MMMabc", dealID: "1", platformPublicKeyFiles: [])
        }
        let error = #expect(throws: ChannelError.self) {
            try BaiduMerchant.load(
                id: "b", appKey: "MMMabc", dealID: "1", platformPublicKeyFiles: [Sandbox.baiduPlatformPrivateKey])
        }
        #expect(error?.code == .keyFile)
        #expect(error?.description.contains(Sandbox.baiduPlatformPrivateKey) == true)
        let merchant = try Sandbox.baiduMerchant()
        #expect(merchant.platformPublicKeys.first?.keySizeInBits == 2048)
    }
}
