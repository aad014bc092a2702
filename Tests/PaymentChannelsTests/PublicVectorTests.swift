// Public interoperability vectors: notifications really signed by the channels' own SDK test
// suites, so our verifiers are checked against someone else's signer, not only our own.
// - WeChat Pay v3: the values of wechatpay-go (Apache-2.0), core/notify/notify_test.go,
//   TestHandler_ParseNotifyRequest: certificate, headers, body, APIv3 key and expected plaintext.
// - Alipay: the values of alipay-sdk-nodejs-all (MIT), test/alipay.test.ts, the signed
//   TRADE_SUCCESS notification of "verify sign should delete sign_type" and its public key.
import Crypto
import Foundation
import PayFleetMessages
import PaymentChannels
import Testing
import _CryptoExtras

@Suite struct PublicVectorTests {
    // wechatpay-go core/notify/notify_test.go TestHandler_ParseNotifyRequest
    static let certificate = """
        -----BEGIN CERTIFICATE-----
        MIIDVzCCAj+gAwIBAgIJANfOWdH1ItcBMA0GCSqGSIb3DQEBCwUAMEIxCzAJBgNV
        BAYTAlhYMRUwEwYDVQQHDAxEZWZhdWx0IENpdHkxHDAaBgNVBAoME0RlZmF1bHQg
        Q29tcGFueSBMdGQwHhcNMjEwNDI3MDg1NTIzWhcNMzEwNDI1MDg1NTIzWjBCMQsw
        CQYDVQQGEwJYWDEVMBMGA1UEBwwMRGVmYXVsdCBDaXR5MRwwGgYDVQQKDBNEZWZh
        dWx0IENvbXBhbnkgTHRkMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA
        2VCTd91fnUn73Xy9DLvt/V62TVxRTEEstVdeRaZ3B3leO0pldE806mXO4RwdHXag
        HQ4vGeZN0yqm++rDsGK+U3AH7kejyD2pXshNP9Cq5YwbptiLGtjcquw4HNxJQUOm
        DeJf2vg6byms9RUipiq4SzbJKqJFlUpbuIPDpSpWz10PYmyCNeDGUUK65E5h2B83
        4uxl1zNLYQCrkdBzb8oUxwYeP5a2DNxmjL5lsJML7DGr5znsevnoqGRwTm9fxCGf
        y8wus7hwKz6clt3Whmmda7UAdb1c08hEQFVRbF14AR73xbnd8N0obCWJPCbzMCtk
        aSef4FdEEgEXJiw0VAJT8wIDAQABo1AwTjAdBgNVHQ4EFgQUT1c7nd/SUO76HSoZ
        umNUJv1R5PwwHwYDVR0jBBgwFoAUT1c7nd/SUO76HSoZumNUJv1R5PwwDAYDVR0T
        BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAfTjxKRQMzNB/U6ZoCUS+BSNfa2Oh
        0plMN6ZuzwiVVZwg1jywvv5yv04koS7Pd4i9E4gt9ZBUQXlpq+A3oOCEEHNRR6b2
        kyazGRM7s0OP5X21WrbpSmKmU6K7hkfx30yYs08LVs/Q8DIhvaj1FCFeJzUCzYn/
        fHMq4tsbKO0dKAeydPM/nrUZBmaYQVKMVOORGLFjFKVO7JV6Kq/R86ouhjEPgJOe
        2xulNBUcjicqtZlBdEh/PWCYP2SpGVDclKm8jeo175T3EVAkdKzzmfpxtMmnMlmq
        cTJOU9TxuGvNASMtjj7pYIerTx+xgZDXEVBWFW9PjJ0TV06tCRsgSHItgg==
        -----END CERTIFICATE-----
        """
    static let headers = [
        "Content-Type": "application/json",
        "Wechatpay-Nonce": "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz",
        "Wechatpay-Timestamp": "1624523846",
        "Wechatpay-Serial": "D7CE59D1F522D701",
        "Wechatpay-Signature": "tJHIiIS9eB2hAYstmAmbbD3ZE5LiIm/Ug5tuL4fC0YOFRWIHV39UFIZXC0e9Wl6lBu6sKvkqDkzpqzBsVHyXF"
            + "lbYZTOQrVdG4b6LfTnK4mikv9++ixJMd3vTf2yCqvBkh98zs3Ds5zsYQakzbcwhmw4fMJs4nPLws28H0UW9FjDR//rxELLwXvV1VEA1I"
            + "BLX70xptjL8hrfUjEE8kkry6yNJTHZRU8CAc7qHli2Ng1V1qb9ARbK8A3ThmFmPQvRGrapI/jS2laKKgYUmfdEdkNO6B2Cke5e8VTxY4"
            + "06ArAmQ90GAihDwIcb16TQMnzCMBoutnwZKNiKRACrFmtxw2Q==",
    ]
    static let body =
        "{" + "\"id\":\"3119dfba-e649-5eec-ab1e-3412bc4d2e17\"," + "\"create_time\":\"2021-06-24T16:37:26+08:00\","
        + "\"resource_type\":\"encrypt-resource\"," + "\"event_type\":\"PAYSCORE.USER_OPEN_SERVICE\","
        + "\"summary\":\"签约成功\"," + "\"resource\":{" + "\"original_type\":\"payscore\","
        + "\"algorithm\":\"AEAD_AES_256_GCM\","
        + "\"ciphertext\":\"YDS3lKPaC4Y52Gf3uhft5qUBlIa8b428AWTtTauHQfQrRw+X1WpiuHIDy0vo1Vd6VEq67aVyqPdDYMkRVSDaZL3iZt"
        + "tevRMOoPKMifozg6XPWjIZumks/GpT48lI4NizyeaqLBokNebthah3o1H76qSlO9NkDjp9bzmKLEYYH9TEklFUpsvPqOTOcgSLgh21YJXYR"
        + "7dEBXFgRLiNIKRgO5JdXh1hccRUAlyVWxE54PXpnQ==\"," + "\"associated_data\":\"payscore\","
        + "\"nonce\":\"Kj7QIyUiYx1q\"}" + "}"
    static let data =
        "{" + "\"mchid\":\"1234567890\"," + "\"appid\":\"054aa7d7a2a54ab5898df65bd96f001c\","
        + "\"create_time\":\"2020-06-30T12:12:00+08:00\","
        + "\"out_contract_code\":\"21640bdbd08e473e828f3206a2741c6e\"" + "}"

    func weChatVerifier() throws -> WeChatPayV3Verifier {
        let cert = try PEMKeys.certificate(pem: Self.certificate)
        #expect(cert.serial == "D7CE59D1F522D701")
        // The vector's APIv3 key is 16 bytes (AES-128-GCM in Go); the memberwise init takes it as is.
        let merchant = WeChatPayV3Merchant(
            id: "vector", mchID: "1234567890", appID: "054aa7d7a2a54ab5898df65bd96f001c",
            apiV3Key: SymmetricKey(data: Array("testMchAPIv3Key0".utf8)), verificationKeys: [cert.serial: cert.publicKey])
        return WeChatPayV3Verifier(merchant: merchant)
    }

    @Test func weChatPayGoVector() throws {
        let verifier = try weChatVerifier()
        let request = ChannelRequest(headers: Self.headers, body: Array(Self.body.utf8))
        let now = Date(timeIntervalSince1970: 1_624_523_846)
        let opened = try verifier.open(request, now: now)
        #expect(opened.plaintext == Self.data)
        #expect(opened.id == "3119dfba-e649-5eec-ab1e-3412bc4d2e17")
        #expect(opened.eventType == "PAYSCORE.USER_OPEN_SERVICE")
        #expect(opened.summary == "签约成功")
        #expect(opened.originalType == "payscore")
        #expect(try verifier.verify(request, now: now) == .ignored(reason: "WeChat Pay event PAYSCORE.USER_OPEN_SERVICE is not handled"))
        #expect(throws: ChannelError.self) { try verifier.verify(request, now: Date()) }
        var tampered = request
        tampered.body[20] ^= 1
        #expect(throws: ChannelError.self) { try verifier.verify(tampered, now: now) }
    }

    // alipay-sdk-nodejs-all test/alipay.test.ts 'verify sign should delete sign_type' / 'with sign_type arguments verify success'
    static let alipayKey = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqObrdC7hrgAVM98tK0nv3hSQRGGKT4lBsQjHiGjeYZjOPIPHR5knm2jnnz/YGIXIofVHkA/tAlBAd5DrY7YpvI4tP5EONLtZKC2ghBMx7McI2wRD0xiqzxOQr1FuhZGJ8/AUokBzJrzY+aGX2xcOrxFYRlFilvVLTXg4LWjR1tdPkO6+i7wQZAIVMClPkwVRZEbaERRHlKqTzv2gGv5rDU8gRoe1LeaN+6BlbTqHWkQcNCUNrA8C6l17XAXGKDsm/9TFWwO8EPHHHCaQdjtV5/FdcWIt+L8SR1ss7EXTjYDFtxcKVv9rEoY1lX8T4mX+GbXfZHraG5NCF1+XioL5JwIDAQAB"
    static let alipayParams: [(key: String, value: String)] = [
        ("gmt_create", "2019-08-15 15:56:22"),
        ("charset", "utf-8"),
        ("seller_email", "z97-yuquerevenue@service.aliyun.com"),
        ("subject", "语雀空间 500人规模"),
        ("sign", "QfTb8tqE1BMhS5qAnXtvsF3/jBkEvu9q9en0pdbBUDDjvKycZhQb7h8GDs4FKfi049PynaNuatxSgLb/nLWZpXyyh0LEWdK2S6Ri7nPwrVgOs08zugLO20vOQz44y3ti2Ncm8/wZts1Fr2gZ7pShnVX3d1B50hbsXnObT1r/U8ONNQjWXd0HIul4TG+Q3fm3svmSvFEy0WnzuhcyHPX5Gm4ELNctL6Qd5YniGJFNcc7kopHYtI/XD9YCKCH6Ct02rzUs9i11C9CsadtZn+WhxF26Dqt9sGEFajkJ8cxUTLi8+VCpLHsgPE8P0y095uQcDdK0YjCh4x7wVSov+lrmOQ=="),
        ("buyer_id", "2088102534368455"),
        ("invoice_amount", "0.10"),
        ("notify_id", "2019081500222155624068450559358070"),
        ("fund_bill_list", #"[{"amount":"0.10","fundChannel":"ALIPAYACCOUNT"}]"#),
        ("notify_type", "trade_status_sync"),
        ("trade_status", "TRADE_SUCCESS"),
        ("receipt_amount", "0.10"),
        ("buyer_pay_amount", "0.10"),
        ("sign_type", "RSA2"),
        ("app_id", "2019073166072302"),
        ("seller_id", "2088531891668739"),
        ("gmt_payment", "2019-08-15 15:56:24"),
        ("notify_time", "2019-08-15 15:56:25"),
        ("version", "1.0"),
        ("out_trade_no", "20190815155618536-564-57"),
        ("total_amount", "0.10"),
        ("trade_no", "2019081522001468450512505578"),
        ("auth_app_id", "2019073166072302"),
        ("buyer_logon_id", "xud***@126.com"),
        ("point_amount", "0.00"),
    ]

    @Test func alipayNodeSDKVector() throws {
        let key = try PEMKeys.rsaPublicKey(pem: Self.alipayKey)
        let verifier = AlipayVerifier(
            merchant: AlipayMerchant(id: "vector", appID: "2019073166072302", sellerID: "2088531891668739", publicKeys: [key]))
        let body = Array(FormCodec.encode(Self.alipayParams).utf8)
        let result = try verifier.verify(
            ChannelRequest(headers: ["content-type": "application/x-www-form-urlencoded; charset=utf-8"], body: body), now: Date())
        guard case .payment(let payment) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(payment.id == "2019081500222155624068450559358070")
        #expect(payment.paymentNo == "20190815155618536-564-57")
        #expect(payment.channelTradeNo == "2019081522001468450512505578")
        #expect(payment.amountMinor == 10)
        #expect(payment.currency == "CNY")
        #expect(payment.occurredAt == ISO8601.parse("2019-08-15T15:56:24+08:00"))
        // With %20 instead of + for the subject's space, and a tampered amount.
        let percent = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "+500", with: "%20500")
        #expect(percent != String(decoding: body, as: UTF8.self))
        #expect(throws: Never.self) {
            try verifier.verify(ChannelRequest(headers: [:], body: Array(percent.utf8)), now: Date())
        }
        let tampered = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "total_amount=0.10", with: "total_amount=1.10")
        #expect(throws: ChannelError.self) {
            try verifier.verify(ChannelRequest(headers: [:], body: Array(tampered.utf8)), now: Date())
        }
    }

    /// Baidu's "签名与验签" page (smartprogram.baidu.com): the orderInfo example `appKey=MMMabc&dealId=470193086&
    /// totalAmount=11300&tpOrderId=3028903626` signed with the example key of its "密钥生成" page (the fixture
    /// holds the public half). The content ``BaiduRequestSigner`` builds from an orderInfo's four signed fields
    /// (`rsaSign` left out) must be Baidu's, byte for byte, for Baidu's signature to verify over it.
    @Test func baiduDocumentedOrderInfoVector() throws {
        let content = BaiduRequestSigner.signContent([
            "tpOrderId": "3028903626", "totalAmount": "11300", "dealId": "470193086", "appKey": "MMMabc",
        ])
        #expect(content == "appKey=MMMabc&dealId=470193086&totalAmount=11300&tpOrderId=3028903626")
        let url = try #require(
            Bundle.module.url(
                forResource: "baidu-docs-example-public-key", withExtension: "pem", subdirectory: "Fixtures"))
        let key = try _RSA.Signing.PublicKey(unsafePEMRepresentation: try String(contentsOf: url, encoding: .utf8))
        let documented = try #require(
            Data(
                base64Encoded:
                    "TN0ZNPyQeTnPjCN5hUa7JwrXOhR8uDASXPazidVQHFSiGCH5aouBkVvJxtf8PeqzGYWAASwS2oOt2eJfunzC5dTFd/pWJeJT"
                    + "oMgCSgRY7KtQUCCDnMrtpqiMAf+dLiXps3HpWhVB4CK6MXfHc64ejP5a2fu5bg8B0BTcHrqaGc0="))
        let signature = _RSA.Signing.RSASignature(rawRepresentation: documented)
        #expect(
            key.isValidSignature(
                signature, for: Insecure.SHA1.hash(data: Array(content.utf8)), padding: .insecurePKCS1v1_5))
        // rsaSign itself and the unsigned orderInfo fields stay out of the content.
        #expect(
            BaiduRequestSigner.signContent([
                "tpOrderId": "3028903626", "totalAmount": "11300", "dealId": "470193086", "appKey": "MMMabc",
                "rsaSign": documented.base64EncodedString(),
            ]) == content)
    }

    /// The payment callback of Baidu's own smart-program pay demo (baidu-smart-app/auth-demo-backend,
    /// `model/pay/common_test.go`): the sorted parameters, empty `promoDetail` and `returnData` included, and the
    /// `rsaSign` Baidu's platform made over them, verified with the demo's platform public key.
    @Test func baiduDemoSignedNotification() throws {
        let url = try #require(
            Bundle.module.url(forResource: "baidu-demo-platform-public-key", withExtension: "pem", subdirectory: "Fixtures"))
        // Baidu's platform keys are RSA 1024, which BaiduMerchant accepts (PEMKeys' loader wants 2048).
        let key = try _RSA.Signing.PublicKey(unsafePEMRepresentation: try String(contentsOf: url, encoding: .utf8))
        let verifier = BaiduVerifier(
            merchant: BaiduMerchant(id: "demo", appKey: "MMMdemo", dealID: "2500207776", platformPublicKeys: [key]))
        let signed =
            "count=1&dealId=2500207776&giftCardMoney=0&hbBalanceMoney=0&hbMoney=0&orderId=2645985458&partnerId=0"
            + "&payMoney=1&payTime=1542124311&payType=1117&promoDetail=&promoMoney=0&returnData=&status=2&totalMoney=1"
            + "&tpOrderId=18607895241&unitPrice=1&userId=3269234686470"
        let rsaSign =
            "oOFlK3oOlVSbfLfgL%2FbgqO2rDIxt%2FVFQdxYeoZlj9WHXMrAW4hzyGwlplNJ%2FZzip9h0MRUSDwLQxDDhkFF1s59%2FzY%2BInhB6e"
            + "%2FNyR%2Bpaurl2Sj1%2Fdj4Q0rbkuqMdKhU1A4A4jmG3fxTTx7FqExOcBjSxz6peLtmXyHDKhshoYYKc%3D"
        let form = ["content-type": "application/x-www-form-urlencoded"]
        let result = try verifier.verify(ChannelRequest(headers: form, body: Array((signed + "&rsaSign=" + rsaSign).utf8)), now: Date())
        guard case .payment(let payment) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(payment.kind == .succeeded)
        #expect(payment.paymentNo == "18607895241")
        #expect(payment.channelTradeNo == "2645985458")
        #expect(payment.amountMinor == 1 && payment.currency == "CNY")
        // One fen more, and Baidu's signature no longer holds.
        let tampered = signed.replacingOccurrences(of: "&totalMoney=1&", with: "&totalMoney=2&")
        #expect(throws: ChannelError.self) {
            try verifier.verify(ChannelRequest(headers: form, body: Array((tampered + "&rsaSign=" + rsaSign).utf8)), now: Date())
        }
    }
}
