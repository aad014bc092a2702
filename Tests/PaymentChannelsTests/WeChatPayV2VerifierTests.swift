import Crypto
import Foundation
import PayFleetMessages
import PaymentChannels
import Testing
import _CryptoExtras

@Suite("WeChat Pay v2 notifications")
struct WeChatPayV2VerifierTests {
    let verifier: WeChatPayV2Verifier
    let signer: WeChatPayV2NotificationSigner
    /// 2026-11-18 19:06:35 at +08:00.
    let timeEnd = Sandbox.now.addingTimeInterval(-5)

    init() throws {
        verifier = WeChatPayV2Verifier(merchant: try Sandbox.weChatV2Merchant())
        signer = try Sandbox.weChatV2Signer()
    }

    func parameters(resultCode: String = "SUCCESS", mchID: String = Sandbox.mchID) -> [String: String] {
        WeChatPayV2NotificationSigner.paymentParameters(
            appID: Sandbox.appID, mchID: mchID, outTradeNo: "PF20261118000044",
            transactionID: "4200000000202611180000000044", totalFee: 8888, timeEnd: timeEnd, resultCode: resultCode)
    }

    func request(_ body: [UInt8]) -> ChannelRequest {
        ChannelRequest(headers: ["Content-Type": WeChatPayV2NotificationSigner.contentType], body: body)
    }

    func request(_ body: String) -> ChannelRequest {
        request(Array(body.utf8))
    }

    func expectError(
        _ code: ChannelError.Code, _ request: ChannelRequest, verifier: WeChatPayV2Verifier? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ChannelError? {
        expectChannelError(
            code, request, verifier: verifier ?? self.verifier, now: Sandbox.now, sourceLocation: sourceLocation)
    }

    @Test("WeChat Pay's documented signing example: MD5 9A0A8659… and HMAC-SHA256 6A9AE165…")
    func documentedExample() {
        // pay.weixin.qq.com, API v2 "安全规范 / 签名算法".
        let params = [
            "appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000", "body": "test",
            "nonce_str": "ibuaiVcKdpRxkhJA",
        ]
        let documented = WeChatPayV2NotificationSigner(apiKey: Array("192006250b4c09247ec02edce69f6a2d".utf8))
        #expect(documented.sign(params, signType: .md5) == "9A0A8659F005D6984697E2CA0A9CF3B7")
        #expect(
            documented.sign(params, signType: .hmacSHA256)
                == "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6")
        // Empty values and `sign` itself are left out.
        var noisy = params
        noisy["attach"] = ""
        noisy["sign"] = "whatever"
        #expect(documented.sign(noisy, signType: .md5) == "9A0A8659F005D6984697E2CA0A9CF3B7")
    }

    @Test("a signed MD5 payment result, without sign_type, becomes a payment")
    func md5Success() throws {
        let body = signer.signPaymentSuccess(
            appID: Sandbox.appID, mchID: Sandbox.mchID, outTradeNo: "PF20261118000044",
            transactionID: "4200000000202611180000000044", totalFee: 8888, timeEnd: timeEnd)
        let text = String(decoding: body, as: UTF8.self)
        #expect(!text.contains("<sign_type>"))
        #expect(text.contains("<time_end><![CDATA[20261118190635]]></time_end>"))
        let result = try verifier.verify(request(body), now: Sandbox.now)
        #expect(
            result
                == .payment(
                    PaymentNotification(
                        id: "4200000000202611180000000044", channel: .wechatpayV2, merchant: "wx2-main",
                        kind: .succeeded, paymentNo: "PF20261118000044",
                        channelTradeNo: "4200000000202611180000000044", amountMinor: 8888, currency: "CNY",
                        occurredAt: timeEnd, raw: text)))
        #expect(verifier.channel == .wechatpayV2)
        #expect(verifier.merchantID == "wx2-main")
    }

    @Test("HMAC-SHA256 with sign_type verifies; explicit MD5 too; an unknown sign_type does not")
    func signTypes() throws {
        let hmac = signer.signedBody(params: parameters(), signType: .hmacSHA256)
        #expect(String(decoding: hmac, as: UTF8.self).contains("<sign_type><![CDATA[HMAC-SHA256]]></sign_type>"))
        guard case .payment(let payment) = try verifier.verify(request(hmac), now: Sandbox.now) else {
            Issue.record("expected a payment")
            return
        }
        #expect(payment.amountMinor == 8888)

        var explicitMD5 = parameters()
        explicitMD5["sign_type"] = "MD5"
        #expect(throws: Never.self) {
            try verifier.verify(request(signer.signedBody(params: explicitMD5)), now: Sandbox.now)
        }

        // An HMAC signature presented without sign_type is checked as MD5 and fails.
        var unlabelled = parameters()
        unlabelled["sign"] = signer.sign(unlabelled, signType: .hmacSHA256)
        _ = expectError(.badSignature, request(SimpleXML.render(unlabelled.sorted { $0.key < $1.key }.map { $0 })))

        var sha1 = parameters()
        sha1["sign_type"] = "SHA1"
        _ = expectError(.badSignature, request(signer.signedBody(params: sha1)))
    }

    @Test("a lower-case sign is accepted; one tampered field fails")
    func tampered() throws {
        var params = parameters()
        params["sign"] = signer.sign(params).lowercased()
        let lower = SimpleXML.render(params.sorted { $0.key < $1.key }.map { $0 })
        #expect(throws: Never.self) { try verifier.verify(request(lower), now: Sandbox.now) }

        let body = String(decoding: signer.signedBody(params: parameters()), as: UTF8.self)
        #expect(body.contains("<total_fee><![CDATA[8888]]></total_fee>"))
        let error = expectError(
            .badSignature,
            request(body.replacingOccurrences(of: "<![CDATA[8888]]></total_fee>", with: "<![CDATA[1]]></total_fee>")))
        #expect(error?.httpStatus == 401)
        // A field added after signing changes the content too.
        _ = expectError(
            .badSignature, request(body.replacingOccurrences(of: "</xml>", with: "<extra>1</extra></xml>")))
        // No sign at all.
        _ = expectError(.badSignature, request(SimpleXML.render(parameters().sorted { $0.key < $1.key }.map { $0 })))
    }

    @Test("a body signed with another API key fails")
    func wrongKey() {
        let other = WeChatPayV2NotificationSigner(apiKey: Array("AnotherSandboxV2APIKey0000000002".utf8))
        for signType in WeChatPayV2SignType.allCases {
            _ = expectError(.badSignature, request(other.signedBody(params: parameters(), signType: signType)))
        }
    }

    @Test("DOCTYPE, ENTITY and entity references are refused before anything else (XXE)")
    func xxe() throws {
        let body = String(decoding: signer.signedBody(params: parameters()), as: UTF8.self)
        let doctype =
            #"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>"#
            + body.replacingOccurrences(of: "</xml>", with: "<x>&xxe;</x></xml>")
        let error = expectError(.malformedBody, request(doctype))
        #expect(error?.httpStatus == 400)
        _ = expectError(
            .malformedBody, request(body.replacingOccurrences(of: "<xml>", with: #"<!ENTITY a "b"><xml>"#)))
        _ = expectError(.malformedBody, request(body.replacingOccurrences(of: "</xml>", with: "<a>&a;</a></xml>")))
    }

    @Test("result_code FAIL is authentic and ignored")
    func resultFail() throws {
        let result = try verifier.verify(
            request(signer.signedBody(params: parameters(resultCode: "FAIL"))), now: Sandbox.now)
        guard case .ignored(let reason) = result else {
            Issue.record("expected ignored, got \(result)")
            return
        }
        #expect(reason.contains("FAIL"))
        #expect(reason.contains("ORDERCLOSED"))
    }

    @Test("another mch_id or appid is merchantMismatch, for payments and refunds")
    func wrongMerchant() throws {
        let error = expectError(.merchantMismatch, request(signer.signedBody(params: parameters(mchID: "1900000999"))))
        #expect(error?.httpStatus == 400)
        var otherApp = parameters()
        otherApp["appid"] = "wx0000000000000000"
        _ = expectError(.merchantMismatch, request(signer.signedBody(params: otherApp)))

        let refund = signer.refundBody(
            appID: Sandbox.appID, mchID: "1900000999", outRefundNo: "RF1", refundID: "50000000000000000001",
            outTradeNo: "PF1", transactionID: "T1", refundFee: 1, totalFee: 1, successTime: timeEnd)
        _ = expectError(.merchantMismatch, request(refund))
    }

    @Test("a refund's req_info decrypts to a refund; SUCCESS succeeded, CHANGE and REFUNDCLOSE failed")
    func refunds() throws {
        for (refundStatus, status) in [
            ("SUCCESS", RefundNotification.Status.succeeded), ("CHANGE", .failed), ("REFUNDCLOSE", .failed),
        ] {
            let body = signer.refundBody(
                appID: Sandbox.appID, mchID: Sandbox.mchID, outRefundNo: "RF20261118000001",
                refundID: "50000000382019052709732678859", outTradeNo: "PF20261118000044",
                transactionID: "4200000000202611180000000044", refundFee: 888, totalFee: 8888,
                refundStatus: refundStatus, successTime: refundStatus == "SUCCESS" ? timeEnd : nil)
            let text = String(decoding: body, as: UTF8.self)
            #expect(!text.contains("RF20261118000001"))
            #expect(!text.contains("<sign>"))
            let result = try verifier.verify(request(body), now: Sandbox.now)
            guard case .refund(let refund) = result else {
                Issue.record("expected a refund, got \(result)")
                continue
            }
            #expect(refund.id == "50000000382019052709732678859:\(refundStatus)")
            #expect(refund.channel == .wechatpayV2)
            #expect(refund.merchant == "wx2-main")
            #expect(refund.refundNo == "RF20261118000001")
            #expect(refund.channelRefundNo == "50000000382019052709732678859")
            #expect(refund.paymentNo == "PF20261118000044")
            #expect(refund.status == status)
            #expect(refund.amountMinor == 888)
            #expect(refund.occurredAt == (refundStatus == "SUCCESS" ? timeEnd : Sandbox.now))
            #expect(refund.raw.hasPrefix("<root><out_refund_no><![CDATA[RF20261118000001]]></out_refund_no>"))
        }
    }

    @Test("req_info under another key is decryptionFailed; garbage is malformed")
    func refundWrongKey() throws {
        let other = WeChatPayV2NotificationSigner(apiKey: Array("AnotherSandboxV2APIKey0000000002".utf8))
        let body = other.refundBody(
            appID: Sandbox.appID, mchID: Sandbox.mchID, outRefundNo: "RF1", refundID: "50000000000000000001",
            outTradeNo: "PF1", transactionID: "T1", refundFee: 1, totalFee: 1, successTime: timeEnd)
        let error = expectError(.decryptionFailed, request(body))
        #expect(error?.httpStatus == 500)

        let garbage = SimpleXML.render([
            (key: "return_code", value: "SUCCESS"), (key: "appid", value: Sandbox.appID),
            (key: "mch_id", value: Sandbox.mchID), (key: "req_info", value: "bm90IGJsb2Nrcw=="),
        ])
        _ = expectError(.malformedBody, request(garbage))
        // Well-padded plaintext that is not the flat XML expected.
        let notXML = SimpleXML.render([
            (key: "return_code", value: "SUCCESS"), (key: "appid", value: Sandbox.appID),
            (key: "mch_id", value: Sandbox.mchID), (key: "req_info", value: signer.encryptReqInfo("plain text")),
        ])
        _ = expectError(.malformedBody, request(notXML))
    }

    @Test("req_info encryption is AES-256-ECB/PKCS#7 under hex MD5(key), as OpenSSL computes it")
    func reqInfoVector() {
        // openssl enc -aes-256-ecb -K hex("d96eb16afdd491fa1e705096edbc2205"), the MD5 of the documented key.
        let documented = WeChatPayV2NotificationSigner(apiKey: Array("192006250b4c09247ec02edce69f6a2d".utf8))
        let plaintext =
            "<root><out_refund_no><![CDATA[RF20261118000001]]></out_refund_no>"
            + "<refund_status><![CDATA[SUCCESS]]></refund_status></root>"
        #expect(
            documented.encryptReqInfo(plaintext)
                == "WBzGpzQuNpcFxIlFjUUD9FS4tLqEQ5H8bdh90ek2njNOw5/I3EsLwP66KHoPXKGNxyIJDKwsKMcMuxrZm5SNh0KbwWiwniCLsQRj"
                + "RwQePkMx7QujTFbtX2qKGENEMyETVoK2aG4vJSUpxYla3dvzCzK41i2d/idy5Vi/jM5QUGY=")
    }

    @Test("the AES block primitive ECB is built on matches FIPS-197 C.3")
    func aesBlockVector() throws {
        var block: [UInt8] = [
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
        ]
        let key = SymmetricKey(data: Array(UInt8(0x00)...UInt8(0x1F)))
        try AES.permute(&block, key: key)
        #expect(
            block == [
                0x8E, 0xA2, 0xB7, 0xCA, 0x51, 0x67, 0x45, 0xBF, 0xEA, 0xFC, 0x49, 0x90, 0x4B, 0x49, 0x60, 0x89,
            ])
        try AES.inversePermute(&block, key: key)
        #expect(block.first == 0x00 && block.last == 0xFF)
    }

    @Test("content type must be XML; the root must be <xml>; a bad time_end or total_fee is malformed")
    func malformed() throws {
        var json = request(signer.signedBody(params: parameters()))
        json.headers["content-type"] = "application/json"
        let error = expectError(.unsupportedContentType, json)
        #expect(error?.httpStatus == 415)
        var applicationXML = request(signer.signedBody(params: parameters()))
        applicationXML.headers["content-type"] = "application/xml; charset=UTF-8"
        #expect(throws: Never.self) { try verifier.verify(applicationXML, now: Sandbox.now) }

        _ = expectError(.malformedBody, request("<root><a>1</a></root>"))
        var badTime = parameters()
        badTime["time_end"] = "2026-11-18 19:06:35"
        _ = expectError(.malformedBody, request(signer.signedBody(params: badTime)))
        var badFee = parameters()
        badFee["total_fee"] = "88.88"
        _ = expectError(.malformedBody, request(signer.signedBody(params: badFee)))
    }

    @Test("without transaction_id the id is the body's SHA-256; fee_type is upper-cased")
    func idFallback() throws {
        var params = parameters()
        params["transaction_id"] = nil
        params["fee_type"] = "usd"
        let body = signer.signedBody(params: params)
        guard case .payment(let payment) = try verifier.verify(request(body), now: Sandbox.now) else {
            Issue.record("expected a payment")
            return
        }
        let digest = SHA256.hash(data: body).map { String(format: "%02x", $0) }.joined()
        #expect(payment.id == digest)
        #expect(payment.currency == "USD")
    }

    @Test("replies: XML SUCCESS/OK and the channel's FAIL")
    func replies() {
        #expect(
            verifier.successReply()
                == ChannelReply(
                    status: 200, contentType: "application/xml",
                    body:
                        "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"
                ))
        #expect(verifier.successReply(for: .ignored(reason: "x")) == verifier.successReply())
        #expect(
            verifier.failureReply(status: 401, message: "bad ]]> sign")
                == ChannelID.wechatpayV2.failureReply(status: 401, message: "bad ]]> sign"))
        #expect(
            verifier.failureReply(status: 401, message: "sign").body
                == "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[sign]]></return_msg></xml>")
    }

    @Test("loading checks the API key file and names it without echoing it")
    func loading() throws {
        let merchant = try Sandbox.weChatV2Merchant()
        #expect(merchant.apiKey.count == 32)
        let short = try TemporaryFile(contents: "tooShortKey\n")
        let error = #expect(throws: ChannelError.self) {
            try WeChatPayV2Merchant.load(id: "wx2", mchID: Sandbox.mchID, appID: Sandbox.appID, apiKeyFile: short.path)
        }
        #expect(error?.code == .keyFile)
        #expect(error?.description.contains(short.path) == true)
        #expect(error?.description.contains("tooShortKey") == false)
        let padded = try TemporaryFile(contents: "\n PayFleetSandboxV2APIKey000000001 \n")
        let loaded = try WeChatPayV2Merchant.load(
            id: "wx2", mchID: Sandbox.mchID, appID: Sandbox.appID, apiKeyFile: padded.path)
        #expect(loaded.apiKey == merchant.apiKey)
    }
}
