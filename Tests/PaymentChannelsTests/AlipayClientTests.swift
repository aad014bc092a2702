import Crypto
import Foundation
import PayFleetMessages
import PaymentChannels
import Testing
import _CryptoExtras

@Suite("Alipay API client")
struct AlipayClientTests {
    static let notifyURL = "https://pay.example.com/notify/alipay/ali-main"
    static let order = AlipayOrderRequest(
        outTradeNo: "PF20261118000043", totalAmountMinor: 8888, subject: "PayFleet 测试 a+b&c=d")
    /// The app pay order string of ``order`` at ``Sandbox/now``: computed once with this module and checked
    /// independently (Python: sign content sorted by key, `openssl dgst -sha256 -sign
    /// config/sandbox/alipay-private-key-TEST-ONLY.pem`, `urllib.parse.quote_plus(…, safe='*')`).
    static let appPayOrderString = [
        "app_id=2021000000000001&biz_content=%7B%22out_trade_no%22%3A%22PF20261118000043%22%2C%22product_code",
        "%22%3A%22QUICK_MSECURITY_PAY%22%2C%22subject%22%3A%22PayFleet+%E6%B5%8B%E8%AF%95+a%2Bb%26c%3Dd%22%2C",
        "%22total_amount%22%3A%2288.88%22%7D&charset=utf-8&format=JSON&method=alipay.trade.app.pay&notify_url",
        "=https%3A%2F%2Fpay.example.com%2Fnotify%2Falipay%2Fali-main&sign=cXK1n5R%2Bx1jpf1Z6AAQM1j%2B6Ykc1QPl",
        "TgfECmgXG%2F0DZqJZ1j0Sadp4w3viCOEutbvTP9E4Io9ii20MmxR196p%2F%2FdMPGyeYYmX8hYnEpmhaJgNFSjygdwwZrGTpaE",
        "cH7xzVfG8CodY1bbKU%2FxlRnxPBOUhORAjTleU%2F28ut9mkXkmnSQwAAi%2B8RlO84a2XspfMDwh4C1Szmw%2BU%2FZaMZQdJN",
        "iC1xWwsg1NTTH%2B7oGxsF4zebErF%2FCc7pQEvODVTgBuklgVJ2Vm2VmH6rnOfBiE0b1vRSadqwAcr4z2rzSu%2B80AM7pvuuDb",
        "CVFHQ3ivMqeHoRCEDWCKTaQwCkkKcCUxA%3D%3D&sign_type=RSA2&timestamp=2026-11-18+19%3A06%3A40&version=1.0",
    ].joined()

    let merchant: AlipayMerchant
    /// The sandbox has one Alipay key pair: its private half stands in for the app private key of requests (the
    /// gateway is faked) and signs the faked gateway's responses, which the merchant's Alipay public key checks.
    let key: _RSA.Signing.PrivateKey
    let signer: AlipayRequestSigner

    init() throws {
        merchant = try Sandbox.alipayMerchant()
        key = try PEMKeys.loadRSAPrivateKey(path: Sandbox.alipayPrivateKey)
        signer = try AlipayRequestSigner.load(appID: Sandbox.alipayAppID, privateKeyFile: Sandbox.alipayPrivateKey)
    }

    func client(_ transport: StubTransport, merchant: AlipayMerchant? = nil) throws -> AlipayClient {
        try AlipayClient(
            merchant: merchant ?? self.merchant, signer: signer,
            configuration: AlipayClientConfiguration(notifyURL: Self.notifyURL, timeout: .seconds(8)),
            transport: transport, now: { Sandbox.now })
    }

    func signed(_ method: String, _ member: String, signFirst: Bool = false) throws -> ChannelHTTPResponse {
        try SignedResponses.alipay(method: method, member: member, key: key, signFirst: signFirst)
    }

    func body(_ text: String) -> ChannelHTTPResponse {
        ChannelHTTPResponse(status: 200, headers: [], body: Array(text.utf8))
    }


    // MARK: Request signing

    @Test("the app pay order string is exact for fixed parameters, timestamp and key, and its sign verifies")
    func exactOrderString() throws {
        let orderString = try client(StubTransport(always: body("{}"))).appPayOrderString(Self.order)
        #expect(orderString == Self.appPayOrderString)

        // Independently: decode the string, rebuild the content by hand and verify with the Alipay public key.
        let pairs = try FormCodec.decode(Array(orderString.utf8))
        let parameters = Dictionary(uniqueKeysWithValues: pairs.map { ($0.key, $0.value) })
        #expect(parameters["sign_type"] == "RSA2")
        #expect(parameters["timestamp"] == "2026-11-18 19:06:40")
        let content =
            "app_id=2021000000000001&biz_content=" + (parameters["biz_content"] ?? "")
            + "&charset=utf-8&format=JSON&method=alipay.trade.app.pay&notify_url=\(Self.notifyURL)"
            + "&sign_type=RSA2&timestamp=2026-11-18 19:06:40&version=1.0"
        #expect(
            parameters["biz_content"]
                == #"{"out_trade_no":"PF20261118000043","product_code":"QUICK_MSECURITY_PAY","#
                + #""subject":"PayFleet 测试 a+b&c=d","total_amount":"88.88"}"#)
        let sign = try #require(parameters["sign"].flatMap { Data(base64Encoded: $0) })
        #expect(
            merchant.publicKeys[0].isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: sign), for: SHA256.hash(data: Array(content.utf8)),
                padding: .insecurePKCS1v1_5))
    }

    @Test("sign content: every parameter but sign, sign_type included, empty values skipped, sorted, raw values")
    func signContent() {
        let content = AlipayRequestSigner.signContent([
            "sign": "ignored", "sign_type": "RSA2", "b": "2 & 3", "a": "中文=x", "empty": "", "B": "upper",
            "biz_content": #"{"k":"v"}"#,
        ])
        #expect(content == #"B=upper&a=中文=x&b=2 & 3&biz_content={"k":"v"}&sign_type=RSA2"#)
    }

    @Test("RSA2 request signing matches alipay-sdk-java-all's published rsaCheckV2 vector")
    func publicVector() throws {
        // github.com/alipay/alipay-sdk-java-all, src/test/java/com/alipay/api/RSACheckTest.java,
        // should_pass_rsa_check_when_charset_is_utf8: the parameters and expected sign; the key is that repo's
        // test key (src/test/resources/fixture/privateKey.json, "ProdCert") and its certificate
        // appCertPublicKey_2019091767145019.crt. Reproduced with openssl before use.
        let vectorSigner = AlipayRequestSigner(
            appID: "2019090366875133", privateKey: try PEMKeys.rsaPrivateKey(pem: Self.alipaySDKTestKey))
        let parameters = [
            "method": "koubei.marketing.data.indicator.query", "app_id": "2019090366875133", "extra": "中文测试",
            "sign_type": "RSA2",
        ]
        let expected = [
            "KrRGUY3/2JX3KtlLgus8CbK0xuUIBDCpOdJkVzJDefez6HvlA8RA6uCVj2rrMd7DgVfarG5SROdSnkZbf8MLKHbVoFqi9w0QCvto9mc8",
            "n3ezfWejZECJVCZhbJ3OslB+4gij9+F70usrnCNEJZm02ntyNdVzcqMbgdRMB93BJIRC1jjmCotpXgXWrRdTb/SfhIAkoHqgGi2aCUHu",
            "LDInLGZCn8NeziGWMnFOic6/sE/nMpwriOmwLb2nyzD0fGiolwuuxlOGMcBHAb22J8XqchFHyCpbs2A/rWdJMjhUfqsErbtZQM93fi1x",
            "fL2pUa9RMWX0Q81Qk7iSEeHCR+NGyQ==",
        ].joined()
        #expect(vectorSigner.sign(parameters) == expected)
        let certificate = try PEMKeys.certificate(pem: Self.alipaySDKTestCertificate)
        let signature = try #require(Data(base64Encoded: expected))
        #expect(
            certificate.publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature),
                for: SHA256.hash(
                    data: Array(
                        "app_id=2019090366875133&extra=中文测试&method=koubei.marketing.data.indicator.query&sign_type=RSA2"
                            .utf8)),
                padding: .insecurePKCS1v1_5))
    }

    // MARK: Operations

    @Test("query: common parameters and sign in the query, biz_content in the form body; typed, verified result")
    func query() async throws {
        let member =
            #"{"code":"10000","msg":"Success","buyer_logon_id":"sandbox***@example.com","buyer_pay_amount":"88.88","#
            + #""out_trade_no":"PF20261118000043","point_amount":"0.00","receipt_amount":"88.88","#
            + #""send_pay_date":"2026-11-18 19:06:35","total_amount":"88.88","trade_no":"2026111822001400000000000043","#
            + #""trade_status":"TRADE_SUCCESS","fund_bill_list":[{"amount":"88.88","fund_channel":"ALIPAYACCOUNT"}]}"#
        let transport = StubTransport(always: try signed("alipay.trade.query", member))
        let result = try await client(transport).queryTrade(outTradeNo: "PF20261118000043")
        #expect(
            result
                == AlipayTradeQueryResult(
                    outTradeNo: "PF20261118000043", tradeNo: "2026111822001400000000000043", tradeStatus: .success,
                    totalAmountMinor: 8888, buyerPayAmountMinor: 8888, sendPayDate: Sandbox.now.addingTimeInterval(-5),
                    raw: member))

        let request = try #require(transport.requests.first)
        #expect(transport.timeouts == [.seconds(8)])
        #expect(request.method == "POST")
        #expect(request.header("Content-Type") == "application/x-www-form-urlencoded;charset=utf-8")
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == "biz_content=%7B%22out_trade_no%22%3A%22PF20261118000043%22%7D")
        let query = try #require(request.url.split(separator: "?", maxSplits: 1).last)
        #expect(request.url.hasPrefix(AlipayClientConfiguration.productionGatewayURL + "?"))
        let parameters = Dictionary(
            uniqueKeysWithValues: try FormCodec.decode(Array(query.utf8)).map { ($0.key, $0.value) })
        #expect(parameters["method"] == "alipay.trade.query")
        #expect(parameters["app_id"] == Sandbox.alipayAppID)
        #expect(parameters["biz_content"] == nil)
        #expect(parameters["notify_url"] == nil)
        var signedParameters = parameters
        signedParameters["biz_content"] = #"{"out_trade_no":"PF20261118000043"}"#
        #expect(
            parameters["sign"]
                == signer.signedParameters(
                    method: "alipay.trade.query", bizContent: #"{"out_trade_no":"PF20261118000043"}"#,
                    timestamp: Sandbox.now)["sign"])
        #expect(signer.sign(signedParameters) == parameters["sign"])
    }

    @Test("the response member may come after sign; a key rotation's second public key verifies")
    func signFirstAndRotation() async throws {
        let member =
            #"{"code":"10000","msg":"Success","out_trade_no":"PF1","trade_status":"WAIT_BUYER_PAY","total_amount":"0.01"}"#
        let rotated = AlipayMerchant(
            id: "ali-main", appID: Sandbox.alipayAppID, sellerID: nil,
            publicKeys: [
                try PEMKeys.loadCertificate(path: Sandbox.platformCertificate).publicKey, merchant.publicKeys[0],
            ])
        let result = try await client(
            StubTransport(always: signed("alipay.trade.query", member, signFirst: true)), merchant: rotated
        ).queryTrade(outTradeNo: "PF1")
        #expect(result.tradeStatus == .waitBuyerPay)
        #expect(result.totalAmountMinor == 1)
        #expect(result.tradeNo == nil)
        #expect(result.sendPayDate == nil)
    }

    @Test("create (trade_no), precreate (qr_code), close, wap pay URL")
    func orders() async throws {
        let key = self.key
        let transport = StubTransport { request in
            let method =
                try FormCodec.decode(Array((request.url.split(separator: "?").last ?? "").utf8))
                .first { $0.key == "method" }?.value ?? ""
            let member =
                switch method {
                case "alipay.trade.create":
                    #"{"code":"10000","msg":"Success","out_trade_no":"PF1","trade_no":"2026111822001400000000000001"}"#
                case "alipay.trade.precreate":
                    #"{"code":"10000","msg":"Success","out_trade_no":"PF1","qr_code":"https:\/\/qr.alipay.com\/bax0"}"#
                default:
                    #"{"code":"10000","msg":"Success","out_trade_no":"PF1","trade_no":"2026111822001400000000000001"}"#
                }
            return try SignedResponses.alipay(method: method, member: member, key: key)
        }
        let client = try client(transport)
        var order = AlipayOrderRequest(
            outTradeNo: "PF1", totalAmountMinor: 1, subject: "s", timeExpire: Sandbox.now.addingTimeInterval(900),
            buyerID: "2088102177846875", productCode: "JSAPI_PAY")
        #expect(try await client.createTrade(order) == "2026111822001400000000000001")
        let create = try #require(transport.requests.last)
        let createQuery = try FormCodec.decode(Array((create.url.split(separator: "?").last ?? "").utf8))
        #expect(createQuery.contains { $0.key == "notify_url" && $0.value == Self.notifyURL })
        let biz = try FormCodec.decode(create.body).first?.value
        #expect(
            biz
                == #"{"buyer_id":"2088102177846875","out_trade_no":"PF1","product_code":"JSAPI_PAY","#
                + #""subject":"s","time_expire":"2026-11-18 19:21:40","total_amount":"0.01"}"#)

        order.buyerID = nil
        order.productCode = nil
        #expect(try await client.precreateTrade(order) == "https://qr.alipay.com/bax0")
        try await client.closeTrade(outTradeNo: "PF1")
        #expect(transport.requests.count == 3)

        _ = await expectAPIError(.invalidRequest, transient: false) { _ = try await client.createTrade(order) }
        #expect(transport.requests.count == 3)

        let url = try client.wapPayURL(order, returnURL: "https://shop.example.com/paid")
        #expect(url.hasPrefix("https://openapi.alipay.com/gateway.do?app_id=2021000000000001&biz_content="))
        #expect(url.contains("method=alipay.trade.wap.pay"))
        #expect(url.contains("QUICK_WAP_WAY"))
        #expect(url.contains("return_url=https%3A%2F%2Fshop.example.com%2Fpaid"))
    }

    @Test("refund with out_request_no, and refund query; amounts through Money")
    func refund() async throws {
        let key = self.key
        let transport = StubTransport { request in
            let method =
                try FormCodec.decode(Array((request.url.split(separator: "?").last ?? "").utf8))
                .first { $0.key == "method" }?.value ?? ""
            let member =
                method == "alipay.trade.refund"
                ? #"{"code":"10000","msg":"Success","buyer_logon_id":"san***@example.com","fund_change":"Y","#
                    + #""gmt_refund_pay":"2014-11-27 15:45:57","#
                    + #""out_trade_no":"PF1","refund_fee":"12.30","trade_no":"2026111822001400000000000001"}"#
                : #"{"code":"10000","msg":"Success","out_request_no":"RF1","out_trade_no":"PF1","#
                    + #""refund_amount":"5.00","refund_status":"REFUND_SUCCESS","total_amount":"88.88"}"#
            return try SignedResponses.alipay(method: method, member: member, key: key)
        }
        let client = try client(transport)
        let result = try await client.refund(
            AlipayRefundRequest(outTradeNo: "PF1", outRequestNo: "RF1", refundAmountMinor: 500, reason: "退货"))
        #expect(result.refundFeeMinor == 1230)
        #expect(result.fundChange)
        // gmt_refund_pay, as in Alipay's alipay.trade.refund response sample, is 15:45:57 in China Standard Time.
        #expect(result.refundedAt == Date(timeIntervalSince1970: 1_417_074_357))
        #expect(result.tradeNo == "2026111822001400000000000001")
        #expect(
            try FormCodec.decode(try #require(transport.requests.last).body).first?.value
                == #"{"out_request_no":"RF1","out_trade_no":"PF1","refund_amount":"5.00","refund_reason":"退货"}"#)

        let queried = try await client.queryRefund(outTradeNo: "PF1", outRequestNo: "RF1")
        #expect(queried.succeeded)
        #expect(queried.refundAmountMinor == 500)
        #expect(queried.outRequestNo == "RF1")
    }

    // MARK: Response verification and errors

    @Test("a member changed after signing is a response_signature error: transient, loud")
    func tampered() async throws {
        let member =
            #"{"code":"10000","msg":"Success","out_trade_no":"PF1","trade_status":"TRADE_SUCCESS","total_amount":"0.01"}"#
        var response = try signed("alipay.trade.query", member)
        response.body = Array(
            String(decoding: response.body, as: UTF8.self).replacingOccurrences(of: "\"0.01\"", with: "\"100.01\"").utf8
        )
        let error = await expectAPIError(.responseSignature, transient: true) {
            _ = try await client(StubTransport(always: response)).queryTrade(outTradeNo: "PF1")
        }
        #expect(error?.needsAttention == true)
        #expect(error?.operation == "alipay.trade.query")

        let unsigned = body(#"{"alipay_trade_query_response":"# + member + "}")
        _ = await expectAPIError(.responseSignature, transient: true) {
            _ = try await client(StubTransport(always: unsigned)).queryTrade(outTradeNo: "PF1")
        }
        let notBase64 = body(#"{"alipay_trade_query_response":"# + member + #","sign":"!!"}"#)
        _ = await expectAPIError(.responseSignature, transient: true) {
            _ = try await client(StubTransport(always: notBase64)).queryTrade(outTradeNo: "PF1")
        }
    }

    @Test("business errors: signed ACQ.TRADE_NOT_EXIST is not_found; unsigned ACQ.SYSTEM_ERROR is transient")
    func businessErrors() async throws {
        let notFound = try signed(
            "alipay.trade.query",
            #"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在","#
                + #""out_trade_no":"PF1"}"#)
        let error = await expectAPIError(.notFound, transient: false) {
            _ = try await client(StubTransport(always: notFound)).queryTrade(outTradeNo: "PF1")
        }
        #expect(error?.channelCode == "ACQ.TRADE_NOT_EXIST")
        #expect(error?.channelMessage == "交易不存在")
        #expect(error?.debugDescription.contains("code 40004") == true)

        let busy = body(
            #"{"alipay_trade_refund_response":{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR","#
                + #""sub_msg":"系统错误"}}"#)
        _ = await expectAPIError(.serverError, transient: true) {
            _ = try await client(StubTransport(always: busy)).refund(
                AlipayRefundRequest(outTradeNo: "PF1", outRequestNo: "RF1", refundAmountMinor: 1))
        }

        // A business error whose sign does not verify is still a signature failure.
        let forged = body(
            #"{"alipay_trade_query_response":{"code":"40004","msg":"Business Failed","#
                + #""sub_code":"ACQ.TRADE_NOT_EXIST"},"sign":"AAAA"}"#)
        _ = await expectAPIError(.responseSignature, transient: true) {
            _ = try await client(StubTransport(always: forged)).queryTrade(outTradeNo: "PF1")
        }
    }

    @Test("error_response is unsigned and classified: 20000 transient, isv.invalid-signature permanent")
    func errorResponse() async throws {
        let unknown = body(
            #"{"error_response":{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","#
                + #""sub_msg":"系统繁忙"}}"#)
        _ = await expectAPIError(.serverError, transient: true) {
            _ = try await client(StubTransport(always: unknown)).queryTrade(outTradeNo: "PF1")
        }
        let badSign = body(
            #"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","#
                + #""sub_msg":"验签出错"},"sign":"ERITJKEIJKJHKKKKKKKHJEREEEEEEEEEEE"}"#)
        let error = await expectAPIError(.authentication, transient: false) {
            _ = try await client(StubTransport(always: badSign)).queryTrade(outTradeNo: "PF1")
        }
        #expect(error?.needsAttention == true)
        #expect(error?.channelCode == "isv.invalid-signature")
    }

    @Test("HTTP failures and unreadable bodies")
    func httpFailures() async throws {
        _ = await expectAPIError(.serverError, transient: true) {
            _ = try await client(StubTransport(always: ChannelHTTPResponse(status: 502, headers: [], body: [])))
                .queryTrade(outTradeNo: "PF1")
        }
        let notFound = await expectAPIError(.configuration, transient: false) {
            _ = try await client(StubTransport(always: ChannelHTTPResponse(status: 404, headers: [], body: [])))
                .queryTrade(outTradeNo: "PF1")
        }
        #expect(notFound?.needsAttention == true)
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await client(StubTransport(always: body("<html>busy</html>"))).queryTrade(outTradeNo: "PF1")
        }
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await client(StubTransport(always: signed("alipay.trade.query", #"{"msg":"Success"}"#)))
                .queryTrade(outTradeNo: "PF1")
        }
        _ = await expectAPIError(.network, transient: true) {
            struct Reset: Error {}
            _ = try await client(StubTransport { _ in throw Reset() }).closeTrade(outTradeNo: "PF1")
        }
        let badAmount = try signed(
            "alipay.trade.query",
            #"{"code":"10000","msg":"Success","trade_status":"TRADE_SUCCESS","total_amount":"1e3"}"#)
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await client(StubTransport(always: badAmount)).queryTrade(outTradeNo: "PF1")
        }
    }

    @Test(
        "Alipay error classification",
        arguments: [
            ("20000", "isp.unknow-error", ChannelAPIError.Code.serverError, true),
            ("20000", "aop.unknow-error", .serverError, true),
            ("20000", nil, .serverError, true),
            ("40004", "ACQ.SYSTEM_ERROR", .serverError, true),
            ("40004", "aop.ACQ.SYSTEM_ERROR", .serverError, true),
            ("40004", "ACQ.TRADE_NOT_EXIST", .notFound, false),
            ("40004", "acq.trade_not_exist", .notFound, false),
            ("40004", "ACQ.SELLER_BALANCE_NOT_ENOUGH", .insufficientBalance, false),
            ("40004", "ACQ.INVALID_PARAMETER", .invalidRequest, false),
            ("40004", "ACQ.TRADE_HAS_CLOSE", .rejected, false),
            ("40004", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", .rejected, false),
            ("40001", "isv.missing-method", .invalidRequest, false),
            ("40002", "isv.invalid-parameter", .invalidRequest, false),
            ("40002", "isv.invalid-signature", .authentication, false),
            ("40002", "isv.invalid-app-id", .authentication, false),
            ("20001", "aop.invalid-auth-token", .authentication, false),
            ("40006", "isv.insufficient-isv-permissions", .authentication, false),
        ] as [(String, String?, ChannelAPIError.Code, Bool)])
    func classification(code: String, subCode: String?, expected: ChannelAPIError.Code, transient: Bool) {
        let error = ChannelAPIError.alipay(
            code: code, subCode: subCode, subMessage: "m", operation: "alipay.trade.query")
        #expect(error.code == expected)
        #expect(error.isTransient == transient)
        #expect(error.channel == .alipay)
        #expect(error.channelCode == (subCode ?? code))
    }

    @Test("configuration mistakes are refused at construction")
    func configuration() throws {
        let transport = StubTransport(always: body("{}"))
        let wrongApp = #expect(throws: ChannelAPIError.self) {
            try AlipayClient(
                merchant: merchant, signer: AlipayRequestSigner(appID: "2021000000000999", privateKey: key),
                configuration: AlipayClientConfiguration(), transport: transport)
        }
        #expect(wrongApp?.code == .configuration)
        let badGateway = #expect(throws: ChannelAPIError.self) {
            try AlipayClient(
                merchant: merchant, signer: signer,
                configuration: AlipayClientConfiguration(
                    gatewayURL: "https://openapi.alipay.com/gateway.do?charset=utf-8"),
                transport: transport)
        }
        #expect(badGateway?.code == .configuration)
        #expect(!signer.description.contains("PRIVATE"))
    }

    /// alipay-sdk-java-all's published test key "ProdCert" (src/test/resources/fixture/privateKey.json): test-only.
    static let alipaySDKTestKey = [
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCO5ajRITPs5rqH3bsMUQvx3gHGFtUtf2JqERBe9RFdm7eMXsXLNKd4",
        "TxhMTNSF7q+xxGX3NY7Kvu1NpIUaDRFbGnQWTLFT07XN2oroh1jf4FIkm+LjP4ZwEUElLdTO5hF8aSUc9JFibElKo3MdgaL7tNHBhWyG",
        "Rl7/x/OkMwXz6UXfagE99K30omW9wo7YnlTE6utMJliHXfP9a2aRsvhBFwRhpFzkKBkwYFF6H0CM8K1ooAEzbf/jYMetLjjTHiUy5NUW",
        "KPtRf1doljYLBAqoVOtvN4kOknI5lIazlVbodtEzkmhcdsXMzQtQsOaj/oRrSE52LhiEw1cUoaNZPtOFAgMBAAECggEAYwQ4alE7jdiD",
        "QEogpnQydrKDQCPqK9Cs/Ro94c6m7dpM4XN6U0h1EySbjaNfUD8Id4HDtfziqRKLlNV/dYHAmQRHlHwoFBILVE0vG9lNeDQUN1HdceI+",
        "4cDTB1Qutf8t9qtVEC9X3n9yecmwpq2BpjCxeAtgG9r/UPXYmdrRMSVWGp/bpGjmbhm1EtEtCPKjkzSC0WdALvFosK1xnjHFwCcT+R4r",
        "2N7GKE0HyvjP0PQFRuR4/7oA4MuLhgzLfxbeWS8sDci1PhW7PolSVb1jp0v7HQ85qtx3NCgezBqAc+OtpmM3ZN/DUz062IxJFs9Rhl77",
        "PiRyJegULSuOBoYtsQKBgQDFDThfBLzByYCV7Oca5IUODyT7wiKBUhC6qBuNWmfEsGfGMw06d2twemFG98/KBDV8kcYGK5XL/6dpsPDE",
        "ZFPV65vc7A9f2KnglaFyaPKduA8msRaxxLp5Oj/Nwuvnd0rTL2TPK0t8JH1oo8LDdAvh449P89yzTqB3L8+ioq7XTwKBgQC5pSE0hUYF",
        "sx/9bgMHB4PuN4r1WJNhGy5J5SQABmklnnUWiiCtt0rE23//tT7UICB4AqePt+Qa7zjEjV1DTIZccmPuX2yje9ayZbPXJLJT/tGawBlz",
        "uO5aLjbfkMDQy67nV8NE8rZ7c5aQLNsv3XA1fucwLauc2XJkvwHJ88Jy6wKBgQC5hhvn4ibxcQ0emwBvom3fccTJP9uK1EAp7TKboF2I",
        "ounhgplWza6bJK3HynOZaOMO2JSPpKORgK8XZF8bGLaR9xU1KA/FltFCQL7TYBnlArFJJXwPfQBwOLZvvLCsqfUJ5lpMbx/Pzu9AAMbT",
        "jMPPNpfsl9XYABQ2gw5DulVRIwKBgF0x7I11KkXKOpD7HUH2H+ECuRuZr8Lb5kzqXzwz+60K8zSxet46WaqhloxD7JqI1kPo8T1Qz45F",
        "8XWakesrC3h1ZH1SIjOgA5PjQnkKzwsjrQ3GygAyIlXbRWjOPj2TQuaYRErknX8z863FFvPccmwonN6uzqwa7TZuPPOpD0CpAoGAG8Hp",
        "nPrWT93skha2o9CT2ISnptlAts6a2wcMGrKgM77zQiFpR/P/eHcJTyJdlp8ap6sEGIwQM430CqR41Za/0L/uRkbGi2gjBcdz+2OlyvsW",
        "IhPAWAGqI4lYB7K/NWtzSBvI8Zdzw4brAgH9GrbIBqd/VV81KXf13kBnsRjBwA0=",
    ].joined()

    /// alipay-sdk-java-all's src/test/resources/fixture/appCertPublicKey_2019091767145019.crt.
    static let alipaySDKTestCertificate = """
        -----BEGIN CERTIFICATE-----
        MIIDejCCAmKgAwIBAgIQIBkJF4/u3N03Ui3OAdhIszANBgkqhkiG9w0BAQsFADCBgjELMAkGA1UE
        BhMCQ04xFjAUBgNVBAoMDUFudCBGaW5hbmNpYWwxIDAeBgNVBAsMF0NlcnRpZmljYXRpb24gQXV0
        aG9yaXR5MTkwNwYDVQQDDDBBbnQgRmluYW5jaWFsIENlcnRpZmljYXRpb24gQXV0aG9yaXR5IENs
        YXNzIDIgUjEwHhcNMTkwOTE3MTI1NDI0WhcNMjEwOTE2MTI1NDI0WjBbMQswCQYDVQQGEwJDTjEP
        MA0GA1UECgwG6ZKf6ZuoMQ8wDQYDVQQLDAZBbGlwYXkxKjAoBgNVBAMMITIwODgwMDI2NTY3MTg5
        MjAtMjAxOTA5MTc2NzE0NTAxOTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAI7lqNEh
        M+zmuofduwxRC/HeAcYW1S1/YmoREF71EV2bt4xexcs0p3hPGExM1IXur7HEZfc1jsq+7U2khRoN
        EVsadBZMsVPTtc3aiuiHWN/gUiSb4uM/hnARQSUt1M7mEXxpJRz0kWJsSUqjcx2Bovu00cGFbIZG
        Xv/H86QzBfPpRd9qAT30rfSiZb3CjtieVMTq60wmWIdd8/1rZpGy+EEXBGGkXOQoGTBgUXofQIzw
        rWigATNt/+Ngx60uONMeJTLk1RYo+1F/V2iWNgsECqhU6283iQ6ScjmUhrOVVuh20TOSaFx2xczN
        C1Cw5qP+hGtITnYuGITDVxSho1k+04UCAwEAAaMSMBAwDgYDVR0PAQH/BAQDAgP4MA0GCSqGSIb3
        DQEBCwUAA4IBAQA3EhSYXqVMWw9VJiLGigBgbSDJdrX0lMa2uRNB2X1n+SsRLK5MzXNx5oGZykgO
        WFoCH1rTO7mP7hCOjWROCgdn7mcttkyWHUFKaQjuAXh2UjmKiKkfzkDBe47DwpWtMNZI6d4aosxB
        asoNhXY8k2WtJvlGfdgsNYDIKpamjL3XAKRohSn6kNmTOaRsrOethJWsgClKIe7FDGLO8XBOSdyd
        7KClfLY8AEg7sCvIUjA5FhIpZML8SoClD11zb5ENH43vONQveQACzFkkYu4DiyCFCBfxt5uALVGs
        vV1qhwcQX35kmhYxuTdXwU5xJ8owS9abd5fu3dY1k34fY2L5M8oa
        -----END CERTIFICATE-----
        """
}

extension AlipayClientTests {
    static let refundOrder = RefundOrder(
        refundNo: "RF1", paymentNo: "PF1", channelTradeNo: "2026111822001400000000000001", paymentAmountMinor: 8888,
        amountMinor: 500, currency: "CNY")

    /// Answers alipay.trade.refund with `refund` and the refund query with `query`.
    func alipay(refund: String, query: String) -> StubTransport {
        let key = self.key
        return StubTransport { request in
            let method =
                try FormCodec.decode(Array((request.url.split(separator: "?").last ?? "").utf8))
                .first { $0.key == "method" }?.value ?? ""
            return try SignedResponses.alipay(method: method, member: method == "alipay.trade.refund" ? refund : query, key: key)
        }
    }

    static let refunded =
        #"{"code":"10000","msg":"Success","fund_change":"Y","out_trade_no":"PF1","refund_fee":"5.00","#
        + #""trade_no":"2026111822001400000000000001"}"#
    static let refundedBefore =
        #"{"code":"10000","msg":"Success","fund_change":"N","out_trade_no":"PF1","refund_fee":"5.00","#
        + #""trade_no":"2026111822001400000000000001"}"#
    static let querySucceeded =
        #"{"code":"10000","msg":"Success","out_request_no":"RF1","out_trade_no":"PF1","refund_amount":"5.00","#
        + #""refund_status":"REFUND_SUCCESS","total_amount":"88.88","trade_no":"2026111822001400000000000001"}"#
    static let queryNothing = #"{"code":"10000","msg":"Success","out_request_no":"RF1","out_trade_no":"PF1"}"#

    @Test("gateway refund is synchronous: fund_change Y succeeded at once, one call, our amount")
    func gatewayRefund() async throws {
        let transport = alipay(refund: Self.refunded, query: Self.queryNothing)
        guard case .succeeded(let refund) = try await AlipayGateway(client: try client(transport)).refund(Self.refundOrder)
        else {
            Issue.record("fund_change Y is a success")
            return
        }
        #expect(refund.refundNo == "RF1" && refund.amountMinor == 500)
        #expect(refund.channelRefundNo == "2026111822001400000000000001")
        #expect(transport.requests.count == 1)
    }

    @Test("fund_change N (refunded by an earlier call) is settled by the refund query; not received is not found")
    func gatewayRefundRepeated() async throws {
        let transport = alipay(refund: Self.refundedBefore, query: Self.querySucceeded)
        guard case .succeeded(let refund) = try await AlipayGateway(client: try client(transport)).refund(Self.refundOrder)
        else {
            Issue.record("a repeated refund that Alipay reports done is a success")
            return
        }
        #expect(refund.amountMinor == 500)
        #expect(transport.requests.count == 2)
        #expect(
            try await AlipayGateway(client: try client(alipay(refund: Self.refunded, query: Self.queryNothing)))
                .queryRefund(Self.refundOrder.lookup(channelRefundNo: nil)) == .notFound)
    }
}
