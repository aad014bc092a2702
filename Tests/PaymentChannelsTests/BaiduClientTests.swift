import Crypto
import Foundation
import PayFleetMessages
import PaymentChannels
import Testing
import _CryptoExtras

@Suite("Baidu cashier API client")
struct BaiduClientTests {
    static let developerPrivateKey = Sandbox.path("baidu-developer-private-key-TEST-ONLY.pem")
    static let developerPublicKey = Sandbox.path("baidu-developer-public-key-TEST-ONLY.pem")

    /// The vectors below were computed with openssl, not with this module:
    /// `printf '%s' '<content>' | openssl dgst -sha1 -sign config/sandbox/baidu-developer-private-key-TEST-ONLY.pem
    /// | base64 -w0`, and the bodies with Python's `urllib.parse.quote_plus(v, safe='*')` over the sorted keys.
    static let orderInfoSign = [
        "doA6Grh1KaIcjUvPasQ5k7exjzko4Gyq/rbOq0FmmpjUPFM63B+p2gMrxis2+tMVNmsv90Rrg2cM8z6vQhKqTqw0ffI14QMxT/8zGSg1",
        "uD4pdCAeyCHfw3BqW/ZEeMgpAxxLzxnxkNBWXNWlKiQcYEhpPwYLWhgYefnw/DmoGSpbeJbYkxwQVXlGh+QrpERIDQZ1a38WmQUT+e+3",
        "ENB/onQj/KEtqVYYiFrTJ+aRATW46yvOkZoqiJtNEtvojV5cfpKA3R4tQQTEf3VPU0QvWIhBOp0PLwBL/vmFazHdwK+W1wZnmGd4RSIm",
        "VqnLKc+kcjPZL34l1coEqcVVUHdg/A==",
    ].joined()
    static let queryURL = [
        "https://openapi.baidu.com/rest/2.0/smartapp/pay/paymentservice/findByTpOrderId?pmAppKey=MMMabc&rsaSign=",
        "wZdw78fwEyOaoMyn2anIO7GGQCkGVp%2FSfvPlpFqNDGU%2BCwBxYM7R1iYcvjIrpTS18089BRcHCtzNx6AvpQlXVQ%2FgRt6cSyojTn0",
        "shyRYif1aXdE2huKio4zHsiamApX%2B4RiPoo57AkIZPU8GUapPihzfqx9tjGceCF7rGIx0zpRaczK9r30TH2W1kn6qFRj99ulHw33kb0",
        "CeHogdBemaC%2Bptgw9YbWmXl8JAVFOMlLyJS1w6FFjkqJduwrAMmDXf%2Fm0kzwSMaHP4pYcm46g5GFYi7eVHYbAUyt82QAHZLFdeHE3",
        "KycWKeqUS6u2YnQydC4L4F0W75vNtOwGAhbVUnw%3D%3D&tpOrderId=PF20261118000045",
    ].joined()
    static let refundBody = [
        "appKey=MMMabc&applyRefundMoney=300&bizRefundBatchId=RF20261118000001&orderId=81288776562801",
        "&refundReason=%E9%80%80%E8%B4%A7+a%2Bb%26c&refundType=2&rsaSign=LF0FU7Vq1shfIet0A2jkHowE9vlZBTdeUwIE1Tm3o",
        "lxmorFMfES%2FtNjBbbCeR5rDN8eGraPnMZ%2B3WtNLhsMsVT03t0yqP8PQkyu0sao9SQRIkjdDD1i7IfEOsjmMj7vwhtVfkwCO5m6A7EH",
        "JvljsORLhnYdtmGtLWIeUTx1cOUEOme9XrJN%2Fn%2B4gFTsATGKNEYq865EODPy0mGBOJ95cVMdZ5%2F3BNYll3AEYDpRrrwSET%2B%2B",
        "mg%2F38n0F%2Fc5XDLgZ2TQo14bSUQSIoKdl%2BB4860qDuvt3D0VajSa6mQr4qSRYUcrHRbvcQjvry3sN675Ov%2BTdl1zIrwurVX8Bi%2",
        "FM5HZA%3D%3D&tpOrderId=PF20261118000045&userId=2250333905",
    ].joined()

    static let refund = BaiduRefundRequest(
        tpOrderID: "PF20261118000045", orderID: "81288776562801", userID: "2250333905", refundNo: "RF20261118000001",
        amountMinor: 300, refundType: .merchantService, reason: "退货 a+b&c")

    let merchant: BaiduMerchant
    let signer: BaiduRequestSigner

    init() throws {
        merchant = try Sandbox.baiduMerchant()
        signer = try BaiduRequestSigner.load(appKey: Sandbox.baiduAppKey, privateKeyFile: Self.developerPrivateKey)
    }

    func client(
        _ transport: StubTransport, configuration: BaiduClientConfiguration = .init(timeout: .seconds(7))
    ) throws -> BaiduClient {
        try BaiduClient(merchant: merchant, signer: signer, configuration: configuration, transport: transport)
    }

    func reply(_ text: String, status: Int = 200) -> ChannelHTTPResponse {
        ChannelHTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(text.utf8))
    }


    // MARK: orderInfo (no network)

    @Test("orderInfo is exact for fixed inputs: rsaSign over appKey, dealId, totalAmount, tpOrderId; no request")
    func orderInfo() async throws {
        let transport = StubTransport(always: reply("{}"))
        let gateway = BaiduGateway(client: try client(transport))
        let info = try await gateway.prepay(
            PrepayOrder(paymentNo: "PF20261118000045", amountMinor: 8888, currency: "CNY", description: "PayFleet 测试"))
        #expect(
            info == [
                "dealId": "470193086", "appKey": "MMMabc", "totalAmount": "8888", "tpOrderId": "PF20261118000045",
                "dealTitle": "PayFleet 测试", "signFieldsRange": "1", "rsaSign": Self.orderInfoSign,
                "bizInfo":
                    #"{"tpData":{"appKey":"MMMabc","dealId":"470193086","dealTitle":"PayFleet 测试","#
                    + #""totalAmount":"8888","tpOrderId":"PF20261118000045"}}"#,
            ])
        #expect(transport.requests.isEmpty)
        // The developer public key verifies it over exactly the documented four fields.
        let key = try PEMKeys.loadRSAPublicKey(path: Self.developerPublicKey)
        let signature = try #require(Data(base64Encoded: Self.orderInfoSign))
        #expect(
            key.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature),
                for: Insecure.SHA1.hash(
                    data: Array("appKey=MMMabc&dealId=470193086&totalAmount=8888&tpOrderId=PF20261118000045".utf8)),
                padding: .insecurePKCS1v1_5))

        let withNotify = try client(
            transport, configuration: .init(notifyURL: "https://pay.example.com/notify/baidu/bd-main")
        ).orderInfo(.init(tpOrderID: "PF1", totalAmountMinor: 1, dealTitle: "t"))
        #expect(withNotify["notifyUrl"] == "https://pay.example.com/notify/baidu/bd-main")
        let usd = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await gateway.prepay(
                PrepayOrder(paymentNo: "PF1", amountMinor: 1, currency: "USD", description: ""))
        }
        #expect(usd?.channel == .baidu)
        _ = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await gateway.prepay(
                PrepayOrder(paymentNo: "PF1", amountMinor: 0, currency: "CNY", description: ""))
        }
    }

    // MARK: Requests

    @Test("the order query is a GET with exact signed query parameters; the reply maps to a typed result")
    func query() async throws {
        let body =
            #"{"data":{"bizInfo":"","count":1,"createTime":1795000000,"dealId":470193086,"orderId":81288776562801,"#
            + #""oriPrice":8888,"parentOrderId":0,"parentType":0,"payMoney":8888,"settlePrice":8888,"status":2,"#
            + #""subStatus":0,"totalMoney":8888,"tpId":0,"tpOrderId":"PF20261118000045","tradeNo":"20261118001","#
            + #""type":0,"appKey":"MMMabc"},"errno":0,"msg":"success"}"#
        let transport = StubTransport(always: reply(body))
        let result = try await client(transport).queryOrder(tpOrderID: "PF20261118000045")
        #expect(
            result
                == BaiduOrderQueryResult(
                    tpOrderID: "PF20261118000045", orderID: "81288776562801", status: .paid, totalMoneyMinor: 8888,
                    payMoneyMinor: 8888, dealID: "470193086", raw: body))
        let request = try #require(transport.requests.first)
        #expect(request.method == "GET")
        #expect(request.url == Self.queryURL)
        #expect(request.body.isEmpty)
        #expect(transport.timeouts == [.seconds(7)])
    }

    @Test("the refund application's form body is exact; refundBatchId and refundPayMoney are read")
    func refund() async throws {
        let transport = StubTransport(
            always: reply(#"{"errno":0,"msg":"success","data":{"refundBatchId":"152713835","refundPayMoney":"300"}}"#))
        let client = try client(transport, configuration: .init(baseURL: "http://127.0.0.1:8090/prefix"))
        let result = try await client.applyRefund(Self.refund)
        #expect(result.refundBatchID == "152713835")
        #expect(result.refundPayMoneyMinor == 300)
        #expect(result.refundNo == "RF20261118000001")
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url == "http://127.0.0.1:8090/prefix/cashier/applyOrderRefund")
        #expect(request.header("Content-Type") == "application/x-www-form-urlencoded")
        #expect(String(decoding: request.body, as: UTF8.self) == Self.refundBody)

        _ = await expectAPIError(.invalidRequest, transient: false) {
            var missing = Self.refund
            missing.userID = ""
            _ = try await client.applyRefund(missing)
        }
        #expect(transport.requests.count == 1)
    }

    // MARK: Gateway

    @Test(
        "query maps Baidu's status: 2 paid (orderId, totalMoney, CNY), 1 pending, -1 closed, errno 2100 not found",
        arguments: [
            (
                "2",
                ChannelPaymentState.paid(
                    ChannelPayment(
                        paymentNo: "PF1", channelTradeNo: "81288776562801", amountMinor: 8888, currency: "CNY",
                        paidAt: Sandbox.now, raw: ""))
            ),
            ("1", .pending(detail: "status 1")),
            ("-1", .closed(detail: "status -1")),
            ("2100", .notFound),
        ])
    func gatewayStates(status: String, expected: ChannelPaymentState) async throws {
        let body =
            status == "2100"
            ? #"{"errno":2100,"msg":"order no exists","data":{}}"#
            : #"{"errno":0,"msg":"success","data":{"orderId":81288776562801,"tpOrderId":"PF1","status":"# + status
                + #","totalMoney":8888,"payMoney":8888,"dealId":470193086}}"#
        let gateway = BaiduGateway(client: try client(StubTransport(always: reply(body))), now: { Sandbox.now })
        var state = try await gateway.query(paymentNo: "PF1")
        if case .paid(var payment) = state {
            #expect(payment.raw == body)
            payment.raw = ""
            state = .paid(payment)
        }
        #expect(state == expected)
    }

    @Test("close calls nothing at Baidu and succeeds")
    func close() async throws {
        let transport = StubTransport(always: reply("{}", status: 500))
        let gateway = BaiduGateway(client: try client(transport))
        try await gateway.close(paymentNo: "PF1")
        #expect(transport.requests.isEmpty)
        #expect(gateway.channel == .baidu)
        #expect(gateway.merchantID == "bd-main")
    }

    // MARK: Errors

    @Test(
        "errno classification: system errors and limits transient, the rest permanent",
        arguments: [
            ("1", ChannelAPIError.Code.serverError, true),
            ("2", .serverError, true),
            ("4", .rateLimited, true),
            ("18", .rateLimited, true),
            ("2100", .notFound, false),
            ("10003", .insufficientBalance, false),
            ("1000", .invalidRequest, false),
            ("10002", .invalidRequest, false),
            ("6", .authentication, false),
            ("110", .authentication, false),
            ("10001", .rejected, false),
            ("424242", .rejected, false),
        ] as [(String, ChannelAPIError.Code, Bool)])
    func classification(errno: String, expected: ChannelAPIError.Code, transient: Bool) async throws {
        let error = await expectAPIError(expected, transient: transient) {
            _ = try await client(StubTransport(always: reply(#"{"errno":"# + errno + #","msg":"m","data":{}}"#)))
                .queryOrder(tpOrderID: "PF1")
        }
        #expect(error?.channelCode == errno)
        #expect(error?.channelMessage == "m")
        #expect(error?.channel == .baidu)
        #expect(error?.operation == "find_by_tp_order_id")
    }

    @Test("HTTP 5xx, network failures and unreadable replies are transient; a bare 404 is configuration")
    func transportFailures() async throws {
        _ = await expectAPIError(.serverError, transient: true) {
            _ = try await client(StubTransport(always: reply("<html>502</html>", status: 502))).applyRefund(Self.refund)
        }
        _ = await expectAPIError(.serverError, transient: true) {
            _ = try await client(StubTransport(always: reply(#"{"errno":1000,"msg":"busy"}"#, status: 503)))
                .queryOrder(tpOrderID: "PF1")
        }
        _ = await expectAPIError(.network, transient: true) {
            struct Reset: Error {}
            _ = try await client(StubTransport { _ in throw Reset() }).queryOrder(tpOrderID: "PF1")
        }
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await client(StubTransport(always: reply("<html>ok</html>"))).queryOrder(tpOrderID: "PF1")
        }
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await client(StubTransport(always: reply(#"{"errno":0,"msg":"success","data":{"status":"x"}}"#)))
                .queryOrder(tpOrderID: "PF1")
        }
        _ = await expectAPIError(.malformedResponse, transient: true) {
            let other = #"{"errno":0,"msg":"success","data":{"status":2,"tpOrderId":"PF2","orderId":1}}"#
            _ = try await client(StubTransport(always: reply(other))).queryOrder(tpOrderID: "PF1")
        }
        _ = await expectAPIError(.configuration, transient: false) {
            _ = try await client(StubTransport(always: reply("", status: 404))).queryOrder(tpOrderID: "PF1")
        }
    }

    @Test("configuration mistakes are refused at construction; the signer's description has no key")
    func configuration() throws {
        let transport = StubTransport(always: reply("{}"))
        let wrongApp = #expect(throws: ChannelAPIError.self) {
            try BaiduClient(
                merchant: merchant,
                signer: try BaiduRequestSigner.load(appKey: "MMMother", privateKeyFile: Self.developerPrivateKey),
                configuration: .init(), transport: transport)
        }
        #expect(wrongApp?.code == .configuration)
        let badURL = #expect(throws: ChannelAPIError.self) {
            try client(transport, configuration: .init(baseURL: "ftp://example.com"))
        }
        #expect(badURL?.code == .configuration)
        #expect(signer.description == "BaiduRequestSigner(appKey: MMMabc)")
        #expect(throws: ChannelError.self) {
            try BaiduRequestSigner.load(appKey: "MMMabc", privateKeyFile: Sandbox.baiduPlatformPublicKey)
        }
    }
}

extension BaiduClientTests {
    static let refundOrder = RefundOrder(
        refundNo: "RF20261118000001", paymentNo: "PF20261118000045", channelTradeNo: "81288776562801",
        payerID: "2250333905", paymentAmountMinor: 8888, amountMinor: 300, currency: "CNY", reason: "退货 a+b&c")

    @Test("gateway refund: applyOrderRefund with Baidu's orderId and the payer's userId; the batch is processing")
    func gatewayRefund() async throws {
        let transport = StubTransport(
            always: reply(#"{"errno":0,"msg":"success","data":{"refundBatchId":"152713835","refundPayMoney":"300"}}"#))
        let state = try await BaiduGateway(client: try client(transport)).refund(Self.refundOrder)
        guard case .processing(let batch, _) = state else {
            Issue.record("an applied refund is processing, got \(state)")
            return
        }
        #expect(batch == "152713835")
        #expect(String(decoding: try #require(transport.requests.first).body, as: UTF8.self) == Self.refundBody)
        // Without the payer's userId (never recorded) Baidu cannot be asked: a permanent refusal, nothing sent.
        var anonymous = Self.refundOrder
        anonymous.payerID = nil
        let silent = StubTransport(always: reply("{}"))
        _ = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await BaiduGateway(client: try client(silent)).refund(anonymous)
        }
        #expect(silent.requests.isEmpty)
    }

    @Test("refund query: GET findOrderRefund signed with the developer key; numbers as numbers or strings")
    func refundQuery() async throws {
        let numbers = reply(
            #"{"errno":0,"msg":"success","data":[{"bizRefundBatchId":"RF0","orderId":81288776562801,"#
                + #""refundBatchId":152713800,"refundStatus":3,"userId":2250333905},{"bizRefundBatchId":"RF20261118000001","#
                + #""orderId":81288776562801,"refundBatchId":152713835,"refundStatus":2,"userId":2250333905}]}"#)
        let transport = StubTransport(always: numbers)
        let gateway = BaiduGateway(client: try client(transport))
        let state = try await gateway.queryRefund(Self.refundOrder.lookup(channelRefundNo: "152713835"))
        guard case .succeeded(let refund) = state else {
            Issue.record("refundStatus 2 is succeeded, got \(state)")
            return
        }
        #expect(refund.channelRefundNo == "152713835" && refund.amountMinor == nil)
        let request = try #require(transport.requests.first)
        #expect(request.method == "GET")
        let url = try #require(URLComponents(string: request.url))
        #expect(url.path == BaiduClient.refundQueryPath)
        let query = Dictionary(uniqueKeysWithValues: (url.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(query["tpOrderId"] == "PF20261118000045" && query["userId"] == "2250333905")
        #expect(query["pmAppKey"] == Sandbox.baiduAppKey)
        let signature = try #require(query["rsaSign"])
        #expect(
            signer.sign(["tpOrderId": "PF20261118000045", "userId": "2250333905", "pmAppKey": Sandbox.baiduAppKey])
                == signature)

        let strings = reply(
            #"{"errno":0,"msg":"success","data":[{"bizRefundBatchId":"RF20261118000001","orderId":"81288776562801","#
                + #""refundBatchId":"152713835","refundStatus":"1","userId":"2250333905"}]}"#)
        guard
            case .processing(let batch, _) = try await BaiduGateway(client: try client(StubTransport(always: strings)))
                .queryRefund(Self.refundOrder.lookup(channelRefundNo: nil))
        else {
            Issue.record("refundStatus 1 is processing")
            return
        }
        #expect(batch == "152713835")
        let failed = reply(
            #"{"errno":0,"msg":"success","data":[{"bizRefundBatchId":"RF20261118000001","refundBatchId":1,"refundStatus":3}]}"#)
        guard
            case .failed = try await BaiduGateway(client: try client(StubTransport(always: failed)))
                .queryRefund(Self.refundOrder.lookup(channelRefundNo: nil))
        else {
            Issue.record("refundStatus 3 is failed")
            return
        }
        let none = reply(#"{"errno":0,"msg":"success","data":[]}"#)
        #expect(
            try await BaiduGateway(client: try client(StubTransport(always: none)))
                .queryRefund(Self.refundOrder.lookup(channelRefundNo: nil)) == .notFound)
    }
}
