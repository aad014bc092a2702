import Crypto
import Foundation
import PayFleetMessages
import PaymentChannels
import Testing
import _CryptoExtras

@Suite("WeChat Pay v3 notifications")
struct WeChatPayV3VerifierTests {
    let merchant: WeChatPayV3Merchant
    let verifier: WeChatPayV3Verifier
    let signer: WeChatPayV3NotificationSigner
    let successTime = Sandbox.now.addingTimeInterval(-5)

    init() throws {
        merchant = try Sandbox.weChatMerchant()
        verifier = WeChatPayV3Verifier(merchant: merchant)
        signer = try Sandbox.platformSigner()
    }

    func paid(
        by signer: WeChatPayV3NotificationSigner, amountMinor: Int64 = 8888, signedAt: Date = Sandbox.now
    ) throws -> ChannelRequest {
        let signed = try signer.signTransactionSuccess(
            mchID: Sandbox.mchID, appID: Sandbox.appID, outTradeNo: "PF20261118000042",
            transactionID: "4200000000202611180000000042", amountMinor: amountMinor, successTime: successTime,
            id: "EV-2026-0001", now: signedAt)
        return ChannelRequest(headers: signed.headers, body: signed.body)
    }

    func signed(
        event: String = "TRANSACTION.SUCCESS", resource: [UInt8], by signer: WeChatPayV3NotificationSigner? = nil
    ) throws -> ChannelRequest {
        let signed = try (signer ?? self.signer).sign(
            eventType: event, id: "EV-2026-0002", resource: resource, now: Sandbox.now,
            nonce: "5K8264ILTKCH16CQ2502SI8ZNMTM67VS")
        return ChannelRequest(headers: signed.headers, body: signed.body)
    }

    func transaction(mchID: String = Sandbox.mchID, appID: String = Sandbox.appID, state: String = "SUCCESS") -> [UInt8]
    {
        WeChatPayV3NotificationSigner.transactionJSON(
            mchID: mchID, appID: appID, outTradeNo: "PF20261118000042", transactionID: "4200000000202611180000000042",
            amountMinor: 8888, tradeState: state, successTime: successTime)
    }

    func expectError(
        _ code: ChannelError.Code, _ request: ChannelRequest, now: Date = Sandbox.now,
        verifier: WeChatPayV3Verifier? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) -> ChannelError? {
        expectChannelError(
            code, request, verifier: verifier ?? self.verifier, now: now, sourceLocation: sourceLocation)
    }

    @Test("a signed TRANSACTION.SUCCESS becomes a payment")
    func success() throws {
        let request = try paid(by: signer)
        let result = try verifier.verify(request, now: Sandbox.now)
        let raw = String(decoding: transaction(), as: UTF8.self)
        #expect(
            result
                == .payment(
                    PaymentNotification(
                        id: "EV-2026-0001", channel: .wechatpay, merchant: "wx-main", kind: .succeeded,
                        paymentNo: "PF20261118000042", channelTradeNo: "4200000000202611180000000042",
                        amountMinor: 8888, currency: "CNY", occurredAt: successTime, raw: raw)))
        #expect(verifier.channel == .wechatpay)
        #expect(verifier.merchantID == "wx-main")
    }

    @Test("the signature covers timestamp, nonce and the raw body, each followed by a newline")
    func signatureMessage() throws {
        let request = try paid(by: signer)
        let key = try PEMKeys.loadCertificate(path: Sandbox.platformCertificate).publicKey
        let message =
            Array(
                "\(request.header("wechatpay-timestamp")!)\n\(request.header("wechatpay-nonce")!)\n".utf8)
            + request.body + [0x0A]
        let signature = _RSA.Signing.RSASignature(
            rawRepresentation: try #require(Data(base64Encoded: request.header("wechatpay-signature")!)))
        #expect(key.isValidSignature(signature, for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5))
        #expect(request.header("wechatpay-timestamp") == "1795000000")
        #expect(request.header("wechatpay-serial") == Sandbox.platformSerial)
    }

    @Test("a platform certificate serial and a PUB_KEY_ID key are live at once; each verifies")
    func bothKeysLive() throws {
        #expect(Set(merchant.verificationKeys.keys) == [Sandbox.platformSerial, Sandbox.publicKeyID])
        let byCertificate = try verifier.verify(try paid(by: signer), now: Sandbox.now)
        let byPublicKey = try verifier.verify(try paid(by: try Sandbox.publicKeySigner()), now: Sandbox.now)
        #expect(byCertificate == byPublicKey)
        guard case .payment(let payment) = byPublicKey else {
            Issue.record("expected a payment, got \(byPublicKey)")
            return
        }
        #expect(payment.amountMinor == 8888)
    }

    @Test("one tampered body byte fails the signature")
    func tamperedBody() throws {
        var request = try paid(by: signer)
        request.body[request.body.count / 2] ^= 0x01
        let error = expectError(.badSignature, request)
        #expect(error?.isProbe == false)
        #expect(error?.httpStatus == 401)
    }

    @Test("a signature by another key fails")
    func wrongKey() throws {
        let impostor = WeChatPayV3NotificationSigner(
            platformPrivateKey: try PEMKeys.loadRSAPrivateKey(path: Sandbox.alipayPrivateKey),
            serial: Sandbox.platformSerial, apiV3Key: try Sandbox.apiV3Key())
        _ = expectError(.badSignature, try paid(by: impostor))
        // The public key's private key, claiming the certificate's serial.
        let crossed = WeChatPayV3NotificationSigner(
            platformPrivateKey: try PEMKeys.loadRSAPrivateKey(path: Sandbox.publicKeyPrivateKey),
            serial: Sandbox.platformSerial, apiV3Key: try Sandbox.apiV3Key())
        _ = expectError(.badSignature, try paid(by: crossed))
    }

    @Test("an unknown serial is unknownKey")
    func unknownSerial() throws {
        let stranger = WeChatPayV3NotificationSigner(
            platformPrivateKey: try PEMKeys.loadRSAPrivateKey(path: Sandbox.platformPrivateKey),
            serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", apiV3Key: try Sandbox.apiV3Key())
        let error = expectError(.unknownKey, try paid(by: stranger))
        #expect(error?.httpStatus == 401)
    }

    @Test("timestamps more than 300 s away either way are stale; 300 s and less are accepted")
    func timestampWindow() throws {
        let request = try paid(by: signer)
        _ = expectError(.staleTimestamp, request, now: Sandbox.now.addingTimeInterval(301))
        _ = expectError(.staleTimestamp, request, now: Sandbox.now.addingTimeInterval(-301))
        for offset in [-300.0, -299, 0, 299, 300] {
            #expect(throws: Never.self) { try verifier.verify(request, now: Sandbox.now.addingTimeInterval(offset)) }
        }
        var garbled = request
        garbled.headers["wechatpay-timestamp"] = "17950O0000"
        _ = expectError(.staleTimestamp, garbled)
    }

    @Test("the tolerance is configurable")
    func tolerance() throws {
        let strict = WeChatPayV3Verifier(merchant: merchant, timestampTolerance: .seconds(60))
        let request = try paid(by: signer)
        _ = expectError(.staleTimestamp, request, now: Sandbox.now.addingTimeInterval(61), verifier: strict)
        #expect(throws: Never.self) { try strict.verify(request, now: Sandbox.now.addingTimeInterval(60)) }
    }

    @Test(
        "each missing signature header is missingHeader",
        arguments: ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial"])
    func missingHeader(_ name: String) throws {
        var request = try paid(by: signer)
        request.headers[name.lowercased()] = nil
        let error = expectError(.missingHeader, request)
        #expect(error?.description.contains(name) == true)
    }

    @Test("WeChat Pay's WECHATPAY/SIGNTEST probe is refused and marked as a probe")
    func probe() throws {
        var request = try paid(by: signer)
        request.headers["wechatpay-signature"] = "WECHATPAY/SIGNTEST/" + request.header("wechatpay-signature")!
        let error = expectError(.badSignature, request)
        #expect(error?.isProbe == true)
        #expect(error?.httpStatus == 401)
    }

    @Test("a transaction for another mchid or appid is merchantMismatch")
    func merchantMismatch() throws {
        _ = expectError(.merchantMismatch, try signed(resource: transaction(mchID: "1900000999")))
        let error = expectError(.merchantMismatch, try signed(resource: transaction(appID: "wx0000000000000000")))
        #expect(error?.httpStatus == 400)
    }

    @Test("a transaction not paid yet is ignored")
    func notPaid() throws {
        let result = try verifier.verify(try signed(resource: transaction(state: "NOTPAY")), now: Sandbox.now)
        guard case .ignored(let reason) = result else {
            Issue.record("expected ignored, got \(result)")
            return
        }
        #expect(reason.contains("NOTPAY"))
    }

    @Test("a resource encrypted with another APIv3 key is decryptionFailed")
    func wrongAPIv3Key() throws {
        let otherKey = WeChatPayV3NotificationSigner(
            platformPrivateKey: try PEMKeys.loadRSAPrivateKey(path: Sandbox.platformPrivateKey),
            serial: Sandbox.platformSerial, apiV3Key: SymmetricKey(data: Array("AnotherSandboxAPIv3Key0000000002".utf8))
        )
        let error = expectError(.decryptionFailed, try paid(by: otherKey))
        #expect(error?.httpStatus == 500)
    }

    @Test("unknown fields in the envelope and in the resource are ignored")
    func unknownFields() throws {
        let fixture = try #require(
            Bundle.module.url(
                forResource: "wechatpay-transaction-extra-fields", withExtension: "json", subdirectory: "Fixtures"))
        let resource = Array(try Data(contentsOf: fixture))
        let plain = try signed(resource: resource)
        // Add fields to the envelope too, and sign it again as WeChat Pay would.
        var body = String(decoding: plain.body, as: UTF8.self)
        body.insert(
            contentsOf: #""future":{"x":[1,{"y":null}]},"amount_hint":12.5,"#, at: body.index(after: body.startIndex))
        let request = try signedRaw(Array(body.utf8))
        let result = try verifier.verify(request, now: Sandbox.now)
        guard case .payment(let payment) = result else {
            Issue.record("expected a payment, got \(result)")
            return
        }
        #expect(payment.amountMinor == 8888)
        #expect(payment.paymentNo == "PF20261118000042")
        #expect(payment.occurredAt == successTime)
        #expect(payment.raw == String(decoding: resource, as: UTF8.self))
    }

    @Test("REFUND.SUCCESS is a succeeded refund; REFUND.ABNORMAL and REFUND.CLOSED failed ones")
    func refunds() throws {
        for (event, status) in [
            ("REFUND.SUCCESS", RefundNotification.Status.succeeded), ("REFUND.ABNORMAL", .failed),
            ("REFUND.CLOSED", .failed),
        ] {
            let signed = try signer.signRefund(
                eventType: event, mchID: Sandbox.mchID, outTradeNo: "PF20261118000042",
                transactionID: "4200000000202611180000000042", outRefundNo: "RF20261118000001",
                refundID: "50000000382019052709732678859", refundMinor: 888, totalMinor: 8888,
                successTime: successTime, id: "EV-REFUND-1", now: Sandbox.now)
            let result = try verifier.verify(
                ChannelRequest(headers: signed.headers, body: signed.body), now: Sandbox.now)
            guard case .refund(let refund) = result else {
                Issue.record("expected a refund, got \(result)")
                continue
            }
            #expect(refund.status == status)
            #expect(refund.id == "EV-REFUND-1")
            #expect(refund.channel == .wechatpay)
            #expect(refund.merchant == "wx-main")
            #expect(refund.refundNo == "RF20261118000001")
            #expect(refund.channelRefundNo == "50000000382019052709732678859")
            #expect(refund.paymentNo == "PF20261118000042")
            #expect(refund.amountMinor == 888)
            #expect(refund.occurredAt == successTime)
        }
        let foreign = try signer.signRefund(
            mchID: "1900000999", outTradeNo: "PF1", transactionID: "T1", outRefundNo: "R1", refundID: "RID1",
            refundMinor: 1, totalMinor: 1, successTime: successTime, id: "EV-REFUND-2", now: Sandbox.now)
        _ = expectError(.merchantMismatch, ChannelRequest(headers: foreign.headers, body: foreign.body))
    }

    @Test("an event type PayFleet does not handle is ignored")
    func unknownEvent() throws {
        let result = try verifier.verify(
            try signed(event: "MARKETING.FAVOR.USED", resource: Array(#"{"stock_id":"9865000"}"#.utf8)),
            now: Sandbox.now)
        #expect(result == .ignored(reason: "WeChat Pay event MARKETING.FAVOR.USED is not handled"))
    }

    @Test("a body that is not the envelope is malformedBody; a foreign content type is refused")
    func malformed() throws {
        _ = expectError(.malformedBody, try signedRaw(Array(#"{"id":"x"}"#.utf8)))
        _ = expectError(.malformedBody, try signedRaw(Array("not json".utf8)))
        var xml = try paid(by: signer)
        xml.headers["content-type"] = "text/xml"
        let error = expectError(.unsupportedContentType, xml)
        #expect(error?.httpStatus == 415)
        var charset = try paid(by: signer)
        charset.headers["content-type"] = "Application/JSON; charset=utf-8"
        #expect(throws: Never.self) { try verifier.verify(charset, now: Sandbox.now) }
    }

    @Test("replies: 204 with an empty body; failures as {\"code\":\"FAIL\",\"message\":…}")
    func replies() {
        #expect(verifier.successReply() == ChannelReply(status: 204, contentType: "application/json", body: ""))
        #expect(
            verifier.failureReply(status: 401, message: "bad \"signature\"\n\\ 签名")
                == ChannelReply(
                    status: 401, contentType: "application/json",
                    body: #"{"code":"FAIL","message":"bad \"signature\"\n\\ 签名"}"#))
    }

    @Test("errors say nothing of the body or the keys")
    func errorsKeepSecrets() throws {
        var request = try paid(by: signer)
        request.body[request.body.count / 2] ^= 0x01
        let error = try #require(expectError(.badSignature, request))
        let apiV3Key = try String(contentsOfFile: Sandbox.apiV3KeyFile, encoding: .utf8)
        for text in [error.description, error.debugDescription] {
            #expect(!text.contains("ciphertext"))
            #expect(!text.contains(apiV3Key))
            #expect(!text.contains(request.header("wechatpay-signature")!))
        }
    }

    @Test("loading checks the APIv3 key and requires a verification key")
    func loading() throws {
        let short = try TemporaryFile(contents: "tooShortKey\n")
        let error = #expect(throws: ChannelError.self) {
            try WeChatPayV3Merchant.load(
                id: "wx", mchID: Sandbox.mchID, appID: Sandbox.appID, apiV3KeyFile: short.path,
                platformCertificateFiles: [Sandbox.platformCertificate], publicKeys: [])
        }
        #expect(error?.code == .keyFile)
        #expect(error?.description.contains(short.path) == true)
        #expect(error?.description.contains("tooShortKey") == false)

        let padded = try TemporaryFile(contents: "  PayFleetSandboxAPIv3Key000000001\n")
        let none = #expect(throws: ChannelError.self) {
            try WeChatPayV3Merchant.load(
                id: "wx", mchID: Sandbox.mchID, appID: Sandbox.appID, apiV3KeyFile: padded.path,
                platformCertificateFiles: [], publicKeys: [])
        }
        #expect(none?.code == .keyFile)
        let onlyPublicKey = try WeChatPayV3Merchant.load(
            id: "wx", mchID: Sandbox.mchID, appID: Sandbox.appID, apiV3KeyFile: padded.path,
            platformCertificateFiles: [], publicKeys: [(id: Sandbox.publicKeyID, path: Sandbox.publicKey)])
        #expect(Array(onlyPublicKey.verificationKeys.keys) == [Sandbox.publicKeyID])
        #expect(onlyPublicKey.apiV3Key.bitCount == 256)
    }

    @Test("a SIGNTEST probe stays a quiet probe even when its timestamp is stale and its serial unknown")
    func probeBeforeOtherChecks() throws {
        var request = try paid(by: signer)
        request.headers["wechatpay-signature"] = "WECHATPAY/SIGNTEST/" + request.header("wechatpay-signature")!
        request.headers["wechatpay-serial"] = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
        let error = expectError(.badSignature, request, now: Sandbox.now.addingTimeInterval(3600))
        #expect(error?.isProbe == true)
        #expect(error?.debugDescription.contains("probe") == true)
        // An ordinary bad signature is not a probe.
        var forged = try paid(by: signer)
        forged.headers["wechatpay-signature"] = "AAAA" + forged.header("wechatpay-signature")!.dropFirst(4)
        #expect(expectError(.badSignature, forged)?.isProbe == false)
    }

    @Test("every channel's failure reply is in its own format")
    func failureReplies() {
        #expect(ChannelID.wechatpayV2.failureReply(status: 400, message: "m").contentType == "application/xml")
        #expect(ChannelID.baidu.failureReply(status: 400, message: "m").body == #"{"errno":1,"msg":"m","data":{}}"#)
        #expect(ChannelID.stripe.failureReply(status: 400, message: "m").body == #"{"code":"FAIL","message":"m"}"#)
        #expect(ChannelID.alipay.failureReply(status: 400, message: "m").body == "fail")
        for channel in ChannelID.allCases {
            #expect(channel.failureReply(status: 503, message: "m").status == 503)
        }
    }

    /// `body` signed with the platform key as WeChat Pay signs notifications.
    func signedRaw(_ body: [UInt8], nonce: String = "fjV1jzRtzc0ZTSSWPKBmXaBaJ7VuEqzQ") throws -> ChannelRequest {
        let key = try PEMKeys.loadRSAPrivateKey(path: Sandbox.platformPrivateKey)
        let timestamp = String(Int64(Sandbox.now.timeIntervalSince1970))
        let message = Array("\(timestamp)\n\(nonce)\n".utf8) + body + [0x0A]
        let signature = try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
        return ChannelRequest(
            headers: [
                "Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce, "Wechatpay-Serial": Sandbox.platformSerial,
                "Wechatpay-Signature": signature.rawRepresentation.base64EncodedString(),
                "Content-Type": "application/json",
            ],
            body: body)
    }
}

extension WeChatPayV3VerifierTests {
    @Test("a Wechatpay-Signature-Type other than WECHATPAY2-SHA256-RSA2048 is refused like a bad signature")
    func signatureType() throws {
        var request = try paid(by: signer)
        #expect(request.header("Wechatpay-Signature-Type") == "WECHATPAY2-SHA256-RSA2048")
        guard case .payment = try verifier.verify(request, now: Sandbox.now) else {
            Issue.record("the genuine notification was not a payment")
            return
        }
        for other in ["WECHATPAY2-SM2-WITH-SM3", "HMAC-SHA256", "wechatpay2-sha256-rsa2048", " "] {
            request.headers["wechatpay-signature-type"] = other
            _ = expectError(.badSignature, request)
        }
        // Absent, it is what the signature implies: accepted.
        request.headers["wechatpay-signature-type"] = nil
        #expect(throws: Never.self) { try verifier.verify(request, now: Sandbox.now) }
    }
}
