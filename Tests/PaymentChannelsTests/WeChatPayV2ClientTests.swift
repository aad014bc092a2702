import Foundation
import PayFleetMessages
import PaymentChannels
import Testing

@Suite("WeChat Pay v2 API client")
struct WeChatPayV2ClientTests {
    /// The key, appid, mch_id and nonce of WeChat Pay's documented v2 signing example ("安全规范 / 签名算法"),
    /// also a vector in WeChatPayV2VerifierTests.
    static let apiKey = Array("192006250b4c09247ec02edce69f6a2d".utf8)
    static let appID = "wxd930ea5d5a258f4f"
    static let mchID = "10000100"
    static let nonce = "ibuaiVcKdpRxkhJA"
    static let notifyURL = "https://pay.example.com/notify/wechatpay-v2/wx2-main"
    static let merchant = WeChatPayV2Merchant(id: "wx2-main", mchID: mchID, appID: appID, apiKey: apiKey)

    /// Computed independently (Python hashlib over `appid=…&mch_id=…&nonce_str=…&out_trade_no=…&key=…`).
    static let orderQueryBody =
        "<xml><appid><![CDATA[wxd930ea5d5a258f4f]]></appid><mch_id><![CDATA[10000100]]></mch_id>"
        + "<nonce_str><![CDATA[ibuaiVcKdpRxkhJA]]></nonce_str><out_trade_no><![CDATA[PF20261118000043]]></out_trade_no>"
        + "<sign><![CDATA[6C540C4C3A7982840920ABD49509D731]]></sign></xml>"
    /// The HMAC-SHA256 JSAPI unifiedorder, also computed independently (Python hmac).
    static let unifiedOrderBody =
        "<xml><appid><![CDATA[wxd930ea5d5a258f4f]]></appid><body><![CDATA[PayFleet 测试订单]]></body>"
        + "<fee_type><![CDATA[CNY]]></fee_type><mch_id><![CDATA[10000100]]></mch_id>"
        + "<nonce_str><![CDATA[ibuaiVcKdpRxkhJA]]></nonce_str>"
        + "<notify_url><![CDATA[https://pay.example.com/notify/wechatpay-v2/wx2-main]]></notify_url>"
        + "<openid><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></openid>"
        + "<out_trade_no><![CDATA[PF20261118000043]]></out_trade_no><sign_type><![CDATA[HMAC-SHA256]]></sign_type>"
        + "<spbill_create_ip><![CDATA[203.0.113.7]]></spbill_create_ip><total_fee><![CDATA[8888]]></total_fee>"
        + "<trade_type><![CDATA[JSAPI]]></trade_type>"
        + "<sign><![CDATA[43077816F9A9231C07D3EE09DEC11BA5973CBA84DC96E5EAEB6942FDDB9D8094]]></sign></xml>"

    static let signer = WeChatPayV2NotificationSigner(apiKey: apiKey)

    func client(
        _ transport: StubTransport, signType: WeChatPayV2SignType = .md5, refundTransport: StubTransport? = nil
    ) throws -> WeChatPayV2Client {
        try WeChatPayV2Client(
            merchant: Self.merchant,
            configuration: WeChatPayV2ClientConfiguration(
                refundBaseURL: "https://refund.example.com:8443", notifyURL: Self.notifyURL, signType: signType,
                defaultClientIP: "198.51.100.1", timeout: .seconds(7)),
            transport: transport, refundTransport: refundTransport, now: { Sandbox.now }, nonce: { Self.nonce })
    }

    /// A reply signed with the documented key, `appid`, `mch_id`, `nonce_str`, `return_code` and
    /// `result_code` SUCCESS filled in.
    static func reply(
        _ fields: [String: String], signType: WeChatPayV2SignType = .md5, status: Int = 200
    ) -> ChannelHTTPResponse {
        var all = [
            "return_code": "SUCCESS", "return_msg": "OK", "result_code": "SUCCESS", "appid": appID,
            "mch_id": mchID, "nonce_str": "Zq3hTvSZ2ZHbMh3W",
        ]
        all.merge(fields) { _, new in new }
        return ChannelHTTPResponse(
            status: status, headers: [("Content-Type", "text/plain")],
            body: signer.signedBody(params: all, signType: signType))
    }

    static func raw(_ text: String, status: Int = 200) -> ChannelHTTPResponse {
        ChannelHTTPResponse(status: status, headers: [], body: Array(text.utf8))
    }

    static let paidOrder: [String: String] = [
        "out_trade_no": "PF20261118000043", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
        "transaction_id": "4200000000202611180000000043", "total_fee": "8888", "fee_type": "CNY",
        "time_end": "20261118190635", "trade_type": "JSAPI", "openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
    ]


    // MARK: Requests

    @Test("orderquery: the exact MD5-signed XML for the documented key and nonce, posted to /pay/orderquery")
    func exactOrderQuery() async throws {
        let transport = StubTransport(always: Self.reply(Self.paidOrder))
        let result = try await client(transport).queryOrder(outTradeNo: "PF20261118000043")
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url == "https://api.mch.weixin.qq.com/pay/orderquery")
        #expect(request.header("Content-Type") == "text/xml; charset=utf-8")
        #expect(String(decoding: request.body, as: UTF8.self) == Self.orderQueryBody)
        #expect(transport.timeouts == [.seconds(7)])
        #expect(result.tradeState == .success)
        #expect(result.transactionID == "4200000000202611180000000043")
        #expect(result.totalFee == 8888)
        #expect(result.feeType == "CNY")
        // 2026-11-18 19:06:35 at +08:00.
        #expect(result.timeEnd == Date(timeIntervalSince1970: 1_794_999_995))
    }

    @Test("unifiedorder JSAPI with HMAC-SHA256: exact body with sign_type, fen, CNY, the job's client IP")
    func exactUnifiedOrder() async throws {
        let transport = StubTransport(
            always: Self.reply(
                ["prepay_id": "wx201410272009395522657a690389285100", "trade_type": "JSAPI"], signType: .hmacSHA256))
        let result = try await client(transport, signType: .hmacSHA256).unifiedOrder(
            .init(
                outTradeNo: "PF20261118000043", description: "PayFleet 测试订单", totalFee: 8888, tradeType: .jsapi,
                openID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", clientIP: "203.0.113.7"))
        #expect(result == .init(prepayID: "wx201410272009395522657a690389285100", codeURL: nil))
        let request = try #require(transport.requests.first)
        #expect(request.url == "https://api.mch.weixin.qq.com/pay/unifiedorder")
        #expect(String(decoding: request.body, as: UTF8.self) == Self.unifiedOrderBody)
    }

    @Test("unifiedorder NATIVE: product_id, the default spbill_create_ip, code_url; bad orders refused unsent")
    func nativeOrder() async throws {
        let transport = StubTransport(
            always: Self.reply(["prepay_id": "wx2014", "code_url": "weixin://wxpay/bizpayurl?pr=abc1234"]))
        let client = try client(transport)
        let result = try await client.unifiedOrder(
            .init(outTradeNo: "PF1", description: "QR", totalFee: 1, tradeType: .native))
        #expect(result.codeURL == "weixin://wxpay/bizpayurl?pr=abc1234")
        let body = String(decoding: try #require(transport.requests.first).body, as: UTF8.self)
        #expect(body.contains("<product_id><![CDATA[PF1]]></product_id>"))
        #expect(body.contains("<spbill_create_ip><![CDATA[198.51.100.1]]></spbill_create_ip>"))
        #expect(!body.contains("<openid>"))
        _ = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await client.unifiedOrder(
                .init(outTradeNo: "PF2", description: "x", totalFee: 1, tradeType: .jsapi))
        }
        _ = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await client.unifiedOrder(
                .init(outTradeNo: "PF3", description: "x", totalFee: 100, feeType: "USD", tradeType: .native))
        }
        _ = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await client.unifiedOrder(
                .init(outTradeNo: "PF4", description: "x", totalFee: 0, tradeType: .native))
        }
        #expect(transport.requests.count == 1)
    }

    @Test("JSAPI pay parameters: exact paySign over appId, timeStamp, nonceStr, package, signType (MD5 and HMAC)")
    func jsapiPaySign() throws {
        let transport = StubTransport(always: Self.raw(""))
        let md5 = try client(transport).jsapiPayParameters(
            prepayID: "wx201410272009395522657a690389285100", timestamp: 1_795_000_000, nonce: Self.nonce)
        #expect(
            md5 == [
                "appId": Self.appID, "timeStamp": "1795000000", "nonceStr": Self.nonce,
                "package": "prepay_id=wx201410272009395522657a690389285100", "signType": "MD5",
                "paySign": "192D809DAEED912795E6DCB1749B767A",
            ])
        let hmac = try client(transport, signType: .hmacSHA256).jsapiPayParameters(
            prepayID: "wx201410272009395522657a690389285100", timestamp: 1_795_000_000, nonce: Self.nonce)
        #expect(hmac["signType"] == "HMAC-SHA256")
        #expect(hmac["paySign"] == "C612862A199877CC4C57A9AC327F6BF70B1C525AA98AAAE6EDD990A9D51047B6")
    }

    @Test("refund goes over the mutual-TLS transport to the refund base URL; without one it is a configuration error")
    func refundTransport() async throws {
        let plain = StubTransport(always: Self.raw(""))
        let secure = StubTransport(
            always: Self.reply([
                "out_trade_no": "PF1", "out_refund_no": "RF1", "refund_id": "50000000382019052709732678859",
                "transaction_id": "4200000000", "refund_fee": "60", "total_fee": "100",
            ]))
        let result = try await client(plain, refundTransport: secure).refund(
            .init(outTradeNo: "PF1", outRefundNo: "RF1", totalFee: 100, refundFee: 60, reason: "退货"))
        #expect(result.status == .processing)
        #expect(result.refundID == "50000000382019052709732678859")
        #expect(result.refundFee == 60)
        #expect(plain.requests.isEmpty)
        let request = try #require(secure.requests.first)
        #expect(request.url == "https://refund.example.com:8443/secapi/pay/refund")
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(body.contains("<refund_fee><![CDATA[60]]></refund_fee>"))
        #expect(body.contains("<total_fee><![CDATA[100]]></total_fee>"))

        _ = await expectAPIError(.configuration, transient: false) {
            _ = try await client(plain).refund(
                .init(outTradeNo: "PF1", outRefundNo: "RF1", totalFee: 100, refundFee: 60))
        }
        _ = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await client(plain, refundTransport: secure).refund(
                .init(outTradeNo: "PF1", outRefundNo: "RF2", totalFee: 100, refundFee: 101))
        }
        #expect(plain.requests.isEmpty && secure.requests.count == 1)
    }

    @Test("refundquery picks the entry of the refund queried, with its status and success time")
    func refundQuery() async throws {
        let transport = StubTransport(
            always: Self.reply([
                "out_trade_no": "PF1", "transaction_id": "4200000000", "total_fee": "100", "refund_count": "2",
                "out_refund_no_0": "RF0", "refund_id_0": "500", "refund_status_0": "PROCESSING", "refund_fee_0": "40",
                "out_refund_no_1": "RF1", "refund_id_1": "501", "refund_status_1": "SUCCESS", "refund_fee_1": "60",
                "refund_success_time_1": "2026-11-18 19:06:35",
            ]))
        let result = try await client(transport).queryRefund(outRefundNo: "RF1")
        #expect(result.refundID == "501")
        #expect(result.status == .success)
        #expect(result.refundFee == 60)
        #expect(result.successTime == Date(timeIntervalSince1970: 1_794_999_995))
        #expect(transport.requests.first?.url == "https://api.mch.weixin.qq.com/pay/refundquery")
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await client(transport).queryRefund(outRefundNo: "RF9")
        }
    }

    @Test(
        "mutualTLS loads the committed and a generated client certificate; a foreign key or a missing file is key_file")
    func mutualTLSLoading() throws {
        let transport = try HTTPClientTransport.mutualTLS(
            certificateFile: Sandbox.path("wechatpay-v2-merchant-client-cert-TEST-ONLY.pem"),
            privateKeyFile: Sandbox.path("wechatpay-v2-merchant-client-private-key-TEST-ONLY.pem"),
            trustRootsFile: Sandbox.path("wechatpay-v2-ca-cert-TEST-ONLY.pem"))
        #expect(transport.tlsConfiguration != nil)
        #expect(HTTPClientTransport().tlsConfiguration == nil)
        let foreignKey = #expect(throws: ChannelError.self) {
            try HTTPClientTransport.mutualTLS(
                certificateFile: Sandbox.path("wechatpay-v2-merchant-client-cert-TEST-ONLY.pem"),
                privateKeyFile: Sandbox.path("wechatpay-v2-untrusted-client-private-key-TEST-ONLY.pem"))
        }
        #expect(foreignKey?.code == .keyFile)
        let missing = #expect(throws: ChannelError.self) {
            try HTTPClientTransport.mutualTLS(
                certificateFile: Sandbox.path("no-such-cert-TEST-ONLY.pem"),
                privateKeyFile: Sandbox.path("wechatpay-v2-merchant-client-private-key-TEST-ONLY.pem"))
        }
        #expect(missing?.code == .keyFile)
        #expect(missing?.description.contains("no-such-cert-TEST-ONLY.pem") == true)
        let notARoot = #expect(throws: ChannelError.self) {
            try HTTPClientTransport.mutualTLS(
                certificateFile: Sandbox.path("wechatpay-v2-merchant-client-cert-TEST-ONLY.pem"),
                privateKeyFile: Sandbox.path("wechatpay-v2-merchant-client-private-key-TEST-ONLY.pem"),
                trustRootsFile: Sandbox.weChatV2APIKeyFile)
        }
        #expect(notARoot?.code == .keyFile)

        // `payfleet keys generate` makes a set that loads the same way.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("v2-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for file in try KeySetGenerator.generate() where file.name.hasPrefix("wechatpay-v2-") {
            try file.contents.write(to: directory.appendingPathComponent(file.name), atomically: true, encoding: .utf8)
        }
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        for prefix in ["merchant-client", "untrusted-client", "sandbox-server"] {
            _ = try HTTPClientTransport.mutualTLS(
                certificateFile: path("wechatpay-v2-\(prefix)-cert-TEST-ONLY.pem"),
                privateKeyFile: path("wechatpay-v2-\(prefix)-private-key-TEST-ONLY.pem"),
                trustRootsFile: path("wechatpay-v2-ca-cert-TEST-ONLY.pem"))
        }
    }

    // MARK: Response checks

    @Test("a reply changed after signing, unsigned, signed with another key or sign type is response_signature")
    func responseSignature() async throws {
        let good = Self.reply(Self.paidOrder)
        var tampered = good
        tampered.body = Array(
            String(decoding: good.body, as: UTF8.self).replacingOccurrences(of: "[8888]", with: "[1]").utf8)
        #expect(tampered.body != good.body)
        var unsigned = Self.paidOrder
        unsigned.merge(["return_code": "SUCCESS", "result_code": "SUCCESS"]) { $1 }
        let otherKey = WeChatPayV2NotificationSigner(apiKey: Array("PayFleetSandboxV2APIKey000000001".utf8))
        var forged = unsigned
        forged["sign"] = otherKey.sign(unsigned)
        let hmacSigned = Self.reply(Self.paidOrder, signType: .hmacSHA256)
        for response in [
            tampered, Self.raw(SimpleXML.render(unsigned.sorted { $0.key < $1.key }.map { $0 })),
            Self.raw(SimpleXML.render(forged.sorted { $0.key < $1.key }.map { $0 })), hmacSigned,
        ] {
            let error = await expectAPIError(.responseSignature, transient: true) {
                _ = try await client(StubTransport(always: response)).queryOrder(outTradeNo: "PF20261118000043")
            }
            #expect(error?.needsAttention == true)
        }
        // The genuine one passes, and a lower-case sign is accepted.
        _ = try await client(StubTransport(always: good)).queryOrder(outTradeNo: "PF20261118000043")
        var lower = Self.paidOrder
        lower.merge(["return_code": "SUCCESS", "result_code": "SUCCESS"]) { $1 }
        lower["sign"] = Self.signer.sign(lower).lowercased()
        _ = try await client(
            StubTransport(always: Self.raw(SimpleXML.render(lower.sorted { $0.key < $1.key }.map { $0 })))
        )
        .queryOrder(outTradeNo: "PF20261118000043")
    }

    @Test("a reply with a DOCTYPE or an external entity is refused unread: malformed_response")
    func xxeRefused() async throws {
        let xxe = """
            <?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\
            <xml><return_code>SUCCESS</return_code><trade_state>&xxe;</trade_state></xml>
            """
        let entity = "<xml><return_code>SUCCESS</return_code><trade_state>&xxe;</trade_state></xml>"
        for body in [xxe, entity] {
            let error = await expectAPIError(.malformedResponse, transient: true) {
                _ = try await client(StubTransport(always: Self.raw(body))).queryOrder(outTradeNo: "PF1")
            }
            #expect(error?.description.contains("passwd") == false)
        }
    }

    @Test(
        "result_code FAIL is classified by err_code: transient SYSTEMERROR/BANKERROR, permanent the rest",
        arguments: [
            ("SYSTEMERROR", ChannelAPIError.Code.serverError, true),
            ("BANKERROR", .serverError, true),
            ("ORDERNOTEXIST", .notFound, false),
            ("REFUNDNOTEXIST", .notFound, false),
            ("NOTENOUGH", .insufficientBalance, false),
            ("SIGNERROR", .authentication, false),
            ("NOAUTH", .authentication, false),
            ("PARAM_ERROR", .invalidRequest, false),
            ("INVALID_REQUEST", .invalidRequest, false),
            ("OUT_TRADE_NO_USED", .invalidRequest, false),
            ("ORDERPAID", .rejected, false),
            ("ORDERCLOSED", .rejected, false),
            ("SOMETHING_NEW", .rejected, false),
        ])
    func errorCodes(errCode: String, code: ChannelAPIError.Code, transient: Bool) async throws {
        let response = Self.reply(["result_code": "FAIL", "err_code": errCode, "err_code_des": "商户订单号 PF1 的说明"])
        let error = await expectAPIError(code, transient: transient) {
            _ = try await client(StubTransport(always: response)).queryOrder(outTradeNo: "PF1")
        }
        #expect(error?.channelCode == errCode)
        #expect(error?.channel == .wechatpayV2)
        #expect(error?.operation == "orderquery")
        // The channel's own message stays out of the plain description.
        #expect(error?.description.contains("PF1") == false)
        #expect(error?.debugDescription.contains("PF1") == true)
    }

    @Test("return_code FAIL by message, HTTP 5xx transient, other statuses permanent, a FAIL needs no sign")
    func transportLevelErrors() async throws {
        let signError = Self.raw("<xml><return_code>FAIL</return_code><return_msg>签名错误</return_msg></xml>")
        _ = await expectAPIError(.authentication, transient: false) {
            _ = try await client(StubTransport(always: signError)).queryOrder(outTradeNo: "PF1")
        }
        let busy = Self.raw("<xml><return_code><![CDATA[FAIL]]></return_code><return_msg>系统繁忙,请稍后再试</return_msg></xml>")
        _ = await expectAPIError(.serverError, transient: true) {
            _ = try await client(StubTransport(always: busy)).queryOrder(outTradeNo: "PF1")
        }
        let format = Self.raw("<xml><return_code>FAIL</return_code><return_msg>mch_id参数格式错误</return_msg></xml>")
        _ = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await client(StubTransport(always: format)).queryOrder(outTradeNo: "PF1")
        }
        let error = await expectAPIError(.serverError, transient: true) {
            _ = try await client(StubTransport(always: Self.raw("<html>bad gateway</html>", status: 502)))
                .queryOrder(outTradeNo: "PF1")
        }
        #expect(error?.httpStatus == 502)
        _ = await expectAPIError(.configuration, transient: false) {
            _ = try await client(StubTransport(always: Self.raw("not found", status: 404))).queryOrder(
                outTradeNo: "PF1")
        }
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await client(StubTransport(always: Self.raw("<html>proxy</html>"))).queryOrder(outTradeNo: "PF1")
        }
        _ = await expectAPIError(.network, transient: true) {
            _ = try await client(StubTransport { _ in throw ChannelAPIError.network("reset") }).queryOrder(
                outTradeNo: "PF1")
        }
        // Another merchant's signed reply is not ours.
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await client(StubTransport(always: Self.reply(Self.paidOrder.merging(["mch_id": "999"]) { $1 })))
                .queryOrder(outTradeNo: "PF20261118000043")
        }
    }

    // MARK: Gateway

    @Test(
        "gateway query maps every trade_state",
        arguments: [
            ("SUCCESS", "paid"), ("REFUND", "paid"), ("NOTPAY", "pending"), ("USERPAYING", "pending"),
            ("PAYERROR", "pending"), ("CLOSED", "closed"), ("REVOKED", "closed"),
        ])
    func gatewayQuery(state: String, expected: String) async throws {
        var fields = Self.paidOrder
        fields["trade_state"] = state
        if expected != "paid" {
            fields["transaction_id"] = nil
            fields["time_end"] = nil
        }
        let gateway = WeChatPayV2Gateway(client: try client(StubTransport(always: Self.reply(fields))))
        let result = try await gateway.query(paymentNo: "PF20261118000043")
        switch (expected, result) {
        case ("paid", .paid(let payment)):
            #expect(payment.channelTradeNo == "4200000000202611180000000043")
            #expect(payment.amountMinor == 8888)
            #expect(payment.currency == "CNY")
            #expect(payment.paidAt == Date(timeIntervalSince1970: 1_794_999_995))
            #expect(payment.raw.contains("<trade_state><![CDATA[\(state)]]>"))
        case ("pending", .pending(let detail)), ("closed", .closed(let detail)):
            #expect(detail == state)
        default:
            Issue.record("\(state): expected \(expected), got \(result)")
        }
        #expect(gateway.channel == .wechatpayV2)
        #expect(gateway.merchantID == "wx2-main")
    }

    @Test(
        "gateway: ORDERNOTEXIST is notFound; close counts ORDERNOTEXIST and ORDERCLOSED as closed, ORDERPAID rejected")
    func gatewayNotFoundAndClose() async throws {
        func gateway(_ errCode: String?) throws -> WeChatPayV2Gateway {
            let fields = errCode.map { ["result_code": "FAIL", "err_code": $0] } ?? [:]
            return WeChatPayV2Gateway(client: try client(StubTransport(always: Self.reply(fields))))
        }
        #expect(try await gateway("ORDERNOTEXIST").query(paymentNo: "PF1") == .notFound)
        try await gateway(nil).close(paymentNo: "PF1")
        try await gateway("ORDERNOTEXIST").close(paymentNo: "PF1")
        try await gateway("ORDERCLOSED").close(paymentNo: "PF1")
        let paid = await expectAPIError(.rejected, transient: false) {
            try await gateway("ORDERPAID").close(paymentNo: "PF1")
        }
        #expect(paid?.channelCode == "ORDERPAID")
        _ = await expectAPIError(.serverError, transient: true) {
            try await gateway("SYSTEMERROR").close(paymentNo: "PF1")
        }
        // A paid state without its facts is not trusted as paid.
        var incomplete = Self.paidOrder
        incomplete["time_end"] = nil
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await WeChatPayV2Gateway(client: try client(StubTransport(always: Self.reply(incomplete))))
                .query(paymentNo: "PF20261118000043")
        }
    }

    @Test("gateway prepay: jsapi with openid answers the signed JSAPI set, native without answers code_url")
    func gatewayPrepay() async throws {
        let transport = StubTransport(
            always: Self.reply(["prepay_id": "wx2014", "code_url": "weixin://wxpay/bizpayurl?pr=abc1234"]))
        let gateway = WeChatPayV2Gateway(client: try client(transport))
        let jsapi = try await gateway.prepay(
            .init(
                paymentNo: "PF1", amountMinor: 100, currency: "CNY", description: "x",
                client: ["openid": "o1", "client_ip": "203.0.113.9"]))
        #expect(Set(jsapi.keys) == ["appId", "timeStamp", "nonceStr", "package", "signType", "paySign"])
        #expect(jsapi["package"] == "prepay_id=wx2014")
        #expect(jsapi["timeStamp"] == String(Int64(Sandbox.now.timeIntervalSince1970)))
        #expect(
            jsapi["paySign"]
                == Self.signer.sign(jsapi.filter { $0.key != "paySign" }, signType: .md5))
        let first = String(decoding: try #require(transport.requests.first).body, as: UTF8.self)
        #expect(first.contains("<trade_type><![CDATA[JSAPI]]></trade_type>"))
        #expect(first.contains("<spbill_create_ip><![CDATA[203.0.113.9]]></spbill_create_ip>"))
        let native = try await gateway.prepay(
            .init(paymentNo: "PF2", amountMinor: 100, currency: "CNY", description: "x"))
        #expect(native == ["code_url": "weixin://wxpay/bizpayurl?pr=abc1234"])
        _ = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await gateway.prepay(
                .init(
                    paymentNo: "PF3", amountMinor: 1, currency: "CNY", description: "x", client: ["trade_type": "app"]))
        }
    }
}

extension WeChatPayV2ClientTests {
    static let refundOrder = RefundOrder(
        refundNo: "RF1", paymentNo: "PF1", channelTradeNo: "4200000000", paymentAmountMinor: 100, amountMinor: 60,
        currency: "CNY", reason: "退货")

    static func refundQuery(status: String) -> ChannelHTTPResponse {
        reply([
            "out_trade_no": "PF1", "transaction_id": "4200000000", "total_fee": "100", "refund_count": "2",
            "out_refund_no_0": "RF0", "refund_id_0": "50000000000000000000000000000", "refund_status_0": "SUCCESS",
            "refund_fee_0": "10", "out_refund_no_1": "RF1", "refund_id_1": "50000000382019052709732678859",
            "refund_status_1": status, "refund_fee_1": "60", "refund_success_time_1": "2026-11-18 19:07:00",
        ])
    }

    @Test("gateway refund: over mutual TLS with out_refund_no and both fees; accepted is processing")
    func gatewayRefund() async throws {
        let secure = StubTransport(
            always: Self.reply([
                "out_trade_no": "PF1", "out_refund_no": "RF1", "refund_id": "50000000382019052709732678859",
                "transaction_id": "4200000000", "refund_fee": "60", "total_fee": "100",
            ]))
        let gateway = WeChatPayV2Gateway(client: try client(StubTransport(always: Self.raw("")), refundTransport: secure))
        guard case .processing(let refundID, _) = try await gateway.refund(Self.refundOrder) else {
            Issue.record("an accepted refund is processing")
            return
        }
        #expect(refundID == "50000000382019052709732678859")
        let body = String(decoding: try #require(secure.requests.first).body, as: UTF8.self)
        #expect(body.contains("<out_refund_no><![CDATA[RF1]]></out_refund_no>"))
        #expect(body.contains("<refund_fee><![CDATA[60]]></refund_fee>") && body.contains("<total_fee><![CDATA[100]]></total_fee>"))
    }

    @Test("gateway refund query: picks our refund; SUCCESS succeeded, CHANGE and REFUNDCLOSE failed, REFUNDNOTEXIST not found")
    func gatewayRefundQuery() async throws {
        let lookup = Self.refundOrder.lookup(channelRefundNo: nil)
        guard
            case .succeeded(let refund) = try await WeChatPayV2Gateway(
                client: try client(StubTransport(always: Self.refundQuery(status: "SUCCESS")))
            ).queryRefund(lookup)
        else {
            Issue.record("SUCCESS is succeeded")
            return
        }
        #expect(refund.channelRefundNo == "50000000382019052709732678859" && refund.amountMinor == 60)
        #expect(refund.succeededAt == Date(timeIntervalSince1970: 1_795_000_020))
        for status in ["CHANGE", "REFUNDCLOSE"] {
            guard
                case .failed(_, let detail, _) = try await WeChatPayV2Gateway(
                    client: try client(StubTransport(always: Self.refundQuery(status: status)))
                ).queryRefund(lookup)
            else {
                Issue.record("\(status) is failed")
                continue
            }
            #expect(detail == status)
        }
        guard
            case .processing = try await WeChatPayV2Gateway(
                client: try client(StubTransport(always: Self.refundQuery(status: "PROCESSING")))
            ).queryRefund(lookup)
        else {
            Issue.record("PROCESSING is processing")
            return
        }
        let missing = Self.reply(["result_code": "FAIL", "err_code": "REFUNDNOTEXIST", "err_code_des": "退款订单查询失败"])
        #expect(
            try await WeChatPayV2Gateway(client: try client(StubTransport(always: missing))).queryRefund(lookup)
                == .notFound)
    }
}
