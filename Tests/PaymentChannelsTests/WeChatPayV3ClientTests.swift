import Crypto
import Foundation
import PayFleetMessages
import PaymentChannels
import Testing
import _CryptoExtras

@Suite("WeChat Pay v3 API client")
struct WeChatPayV3ClientTests {
    static let nonce = "593BEC0C930BF1AFEB40B4A08C8FB242"
    static let timestamp: Int64 = 1_795_000_000
    static let notifyURL = "https://pay.example.com/notify/wechatpay/wx-main"
    /// The body the client sends for ``order``: keys sorted, no escaped slashes, UTF-8 as is.
    static let jsapiBody =
        #"{"amount":{"currency":"CNY","total":8888},"appid":"wxd678efh567hg6787","description":"PayFleet 测试订单","#
        + #""mchid":"1900000109","notify_url":"https://pay.example.com/notify/wechatpay/wx-main","#
        + #""out_trade_no":"PF20261118000043","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}"#
    /// Computed once with this module and checked independently with
    /// `printf 'POST\n/v3/pay/transactions/jsapi\n1795000000\n593BEC0C930BF1AFEB40B4A08C8FB242\n%s\n' "$body" |
    /// openssl dgst -sha256 -sign config/sandbox/wechatpay-merchant-api-private-key-TEST-ONLY.pem | base64 -w0`.
    static let jsapiAuthorization =
        #"WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242","#
        + #"timestamp="1795000000",serial_no="1DA3C6B4E2F7085A9C3D4E5F60718293A4B5C6D7",signature=""#
        + "TQdPkLNwcXmtJb/cojEZX/tcH345NP8QvrJ8graEHF/hq+9M5d0mxKtzpSTVX9ai981IFgHf2Y93Om6ttVFqRIaOlSqcFzrc"
        + "8NY6+QtyQT5iuggMJGRsYCGMH4oTdXVKi1KhTPA7fALQX6DXq5iurrK3tqghM/5F4YcXsZrpb3XSQ66fIbZB4nMEMl32/Xf2"
        + "zZMmqvZ4Wo0dPUwavkoBYxXZEagvcxvL4bUXWalo81/QitaJTKnq8lNyVGBV0BKSgPOJEkKqlk4m7m33HPTjUHZsDT0gFSJ7"
        + "J21pQtYh1xFhTGm9BWe9Tpb/936QD+lVIC7NOWa/vdBQtwucDGykGw==" + #"""#

    static let order = WeChatPayV3PrepayRequest(
        outTradeNo: "PF20261118000043", description: "PayFleet 测试订单", amountMinor: 8888,
        payerOpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")

    let merchant: WeChatPayV3Merchant
    let signer: WeChatPayV3RequestSigner
    let platformKey: _RSA.Signing.PrivateKey
    let publicKeyModeKey: _RSA.Signing.PrivateKey

    init() throws {
        merchant = try Sandbox.weChatMerchant()
        signer = try WeChatPayV3RequestSigner.load(
            mchID: Sandbox.mchID, privateKeyFile: Sandbox.merchantAPIPrivateKey,
            certificateFile: Sandbox.merchantAPICertificate)
        platformKey = try PEMKeys.loadRSAPrivateKey(path: Sandbox.platformPrivateKey)
        publicKeyModeKey = try PEMKeys.loadRSAPrivateKey(path: Sandbox.publicKeyPrivateKey)
    }

    func client(
        _ transport: StubTransport, baseURL: String = WeChatPayV3ClientConfiguration.productionBaseURL
    ) throws -> WeChatPayV3Client {
        try WeChatPayV3Client(
            merchant: merchant, signer: signer,
            configuration: WeChatPayV3ClientConfiguration(
                baseURL: baseURL, notifyURL: Self.notifyURL, timeout: .seconds(7)),
            transport: transport, now: { Sandbox.now }, nonce: { Self.nonce })
    }

    func signed(
        _ body: String, status: Int = 200, serial: String = Sandbox.platformSerial
    ) throws -> ChannelHTTPResponse {
        try SignedResponses.weChat(status: status, body: body, key: platformKey, serial: serial)
    }

    func merchantPublicKey() throws -> _RSA.Signing.PublicKey {
        try PEMKeys.loadCertificate(path: Sandbox.merchantAPICertificate).publicKey
    }


    // MARK: Request signing

    @Test(
        "the signature message is METHOD\\nPATH?QUERY\\ntimestamp\\nnonce\\nbody\\n (WeChat Pay's documented example)")
    func documentedMessage() {
        // The example of WeChat Pay's "签名生成" guide: GET /v3/certificates at 1554208460 with nonce
        // 593BEC0C930BF1AFEB40B4A08C8FB242; an empty body still ends with its own "\n".
        let message = WeChatPayV3RequestSigner.message(
            method: "GET", pathAndQuery: "/v3/certificates", timestamp: 1_554_208_460,
            nonce: "593BEC0C930BF1AFEB40B4A08C8FB242", body: [])
        #expect(
            String(decoding: message, as: UTF8.self)
                == "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n")
    }

    @Test("the Authorization header is exact for a fixed nonce, timestamp, body and the sandbox merchant key")
    func exactAuthorization() throws {
        let header = signer.authorization(
            method: "POST", pathAndQuery: "/v3/pay/transactions/jsapi", timestamp: Self.timestamp, nonce: Self.nonce,
            body: Array(Self.jsapiBody.utf8))
        #expect(header == Self.jsapiAuthorization)

        // Independently: the signature verifies with the merchant API certificate's public key over the message
        // built by hand.
        let signature = try #require(header.split(separator: "signature=\"").last?.dropLast())
        let message = Array(
            "POST\n/v3/pay/transactions/jsapi\n1795000000\n593BEC0C930BF1AFEB40B4A08C8FB242\n\(Self.jsapiBody)\n".utf8)
        let bytes = try #require(Data(base64Encoded: String(signature)))
        #expect(
            try merchantPublicKey().isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: bytes), for: SHA256.hash(data: message),
                padding: .insecurePKCS1v1_5))
    }

    @Test("RSA-SHA256 matches wechatpay-go's published signer vector")
    func publicSignerVector() throws {
        // github.com/wechatpay-apiv3/wechatpay-go, core/auth/signers/sha256withrsa_signer_test.go: its test key
        // (a throwaway published in that test) signs "source" to testExpectedSignature; confirmed with openssl.
        let key = try PEMKeys.rsaPrivateKey(pem: Self.wechatpayGoTestKey)
        let vectorSigner = WeChatPayV3RequestSigner(
            mchID: "1234567890", serialNumber: "F5765756002FDD77", privateKey: key)
        #expect(
            vectorSigner.sign(Array("source".utf8))
                == "BKyAfU4iMCuvXMXS0Wzam3V/cnxZ+JaqigPM5OhljS2iOT95OO6Fsuml2JkFANJU9K6q9bLlDhPXuoVz+pp4hAm6"
                + "pHU4ld815U4jsKu1RkyaII+1CYBUYC8TK0XtJ8FwUXXz8vZHh58rrAVN1XwNyvD1vfpxrMT4SL536GLwvpUHlCqIMzoZUguLli/K8V29QiOh"
                + "uH6IEqLNJn8e9b3nwNcQ7be3CzYGpDAKBfDGPCqCv8Rw5zndhlffk2FEA70G4hvMwe51qMN/RAJbknXG23bSlObuTCN7Ndj1aJGH6/L+hdwf"
                + "LpUtJm4QYVazzW7DFD27EpSQEqA8bX9+8m1rLg==")
    }

    @Test("load takes the serial from the merchant API certificate and refuses a certificate of another key")
    func loadSigner() throws {
        #expect(signer.serialNumber == Sandbox.merchantAPISerial)
        #expect(signer.mchID == Sandbox.mchID)
        #expect(!signer.description.contains("PRIVATE"))
        let error = #expect(throws: ChannelError.self) {
            try WeChatPayV3RequestSigner.load(
                mchID: Sandbox.mchID, privateKeyFile: Sandbox.merchantAPIPrivateKey,
                certificateFile: Sandbox.platformCertificate)
        }
        #expect(error?.code == .keyFile)
    }

    @Test("JSAPI pay parameters: package prepay_id=…, signType RSA, paySign verifies with the merchant key")
    func jsapiPayParameters() throws {
        let parameters = signer.jsapiPayParameters(
            appID: Sandbox.appID, prepayID: "wx201410272009395522657a690389285100", timestamp: Self.timestamp,
            nonce: Self.nonce)
        #expect(Set(parameters.keys) == ["appId", "timeStamp", "nonceStr", "package", "signType", "paySign"])
        #expect(parameters["appId"] == Sandbox.appID)
        #expect(parameters["timeStamp"] == "1795000000")
        #expect(parameters["nonceStr"] == Self.nonce)
        #expect(parameters["package"] == "prepay_id=wx201410272009395522657a690389285100")
        #expect(parameters["signType"] == "RSA")
        // Computed once, checked with openssl over "wxd678efh567hg6787\n1795000000\n<nonce>\nprepay_id=…\n".
        #expect(parameters["paySign"] == Self.jsapiPaySign)
        let paySign = try #require(parameters["paySign"].flatMap { Data(base64Encoded: $0) })
        let message = Array(
            "wxd678efh567hg6787\n1795000000\n593BEC0C930BF1AFEB40B4A08C8FB242\nprepay_id=wx201410272009395522657a690389285100\n"
                .utf8)
        #expect(
            try merchantPublicKey().isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: paySign), for: SHA256.hash(data: message),
                padding: .insecurePKCS1v1_5))

        // The client signs with the merchant's app id, its clock and a fresh nonce.
        let fromClient = try client(StubTransport(always: signed("{}"))).jsapiPayParameters(
            prepayID: "wx201410272009395522657a690389285100")
        #expect(fromClient == parameters)
    }

    // MARK: Operations

    @Test("JSAPI prepay: the exact signed request, and prepay_id from a verified response")
    func jsapiPrepay() async throws {
        let transport = StubTransport(always: try signed(#"{"prepay_id":"wx201410272009395522657a690389285100"}"#))
        let prepayID = try await client(transport).jsapiPrepay(Self.order)
        #expect(prepayID == "wx201410272009395522657a690389285100")

        let request = try #require(transport.requests.first)
        #expect(transport.requests.count == 1)
        #expect(transport.timeouts == [.seconds(7)])
        #expect(request.method == "POST")
        #expect(request.url == "https://api.mch.weixin.qq.com/v3/pay/transactions/jsapi")
        #expect(String(decoding: request.body, as: UTF8.self) == Self.jsapiBody)
        #expect(request.header("authorization") == Self.jsapiAuthorization)
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("Accept") == "application/json")
        #expect(request.header("User-Agent")?.isEmpty == false)
    }

    @Test("Native prepay: code_url, from a response signed in public-key mode")
    func nativePrepay() async throws {
        let response = try SignedResponses.weChat(
            body: #"{"code_url":"weixin://wxpay/bizpayurl?pr=p4lpSuKzz"}"#, key: publicKeyModeKey,
            serial: Sandbox.publicKeyID)
        let transport = StubTransport(always: response)
        var order = Self.order
        order.payerOpenID = nil
        order.timeExpire = Sandbox.now.addingTimeInterval(900)
        order.attach = "tenant=42"
        let codeURL = try await client(transport).nativePrepay(order)
        #expect(codeURL == "weixin://wxpay/bizpayurl?pr=p4lpSuKzz")
        let request = try #require(transport.requests.first)
        #expect(request.url == "https://api.mch.weixin.qq.com/v3/pay/transactions/native")
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(!body.contains("payer"))
        #expect(body.contains(#""time_expire":"2026-11-18T19:21:40+08:00""#))
        #expect(body.contains(#""attach":"tenant=42""#))
    }

    @Test("query by out_trade_no: GET with mchid, typed state, amount, time; the signed path is exact")
    func query() async throws {
        let body =
            #"{"amount":{"currency":"CNY","payer_currency":"CNY","payer_total":8888,"total":8888},"#
            + #""appid":"wxd678efh567hg6787","mchid":"1900000109","out_trade_no":"PF 2026/43","#
            + #""payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"success_time":"2026-11-18T19:06:35+08:00","#
            + #""trade_state":"SUCCESS","trade_state_desc":"支付成功","trade_type":"JSAPI","#
            + #""transaction_id":"4200000000202611180000000043","promotion_detail":[{"amount":100}]}"#
        let transport = StubTransport(always: try signed(body))
        let result = try await client(transport).queryTransaction(outTradeNo: "PF 2026/43")
        #expect(
            result
                == WeChatPayV3TransactionQueryResult(
                    outTradeNo: "PF 2026/43", transactionID: "4200000000202611180000000043", tradeState: .success,
                    tradeStateDescription: "支付成功", amountTotalMinor: 8888, currency: "CNY",
                    successTime: Sandbox.now.addingTimeInterval(-5), raw: body))

        let request = try #require(transport.requests.first)
        #expect(request.method == "GET")
        #expect(
            request.url
                == "https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/PF%202026%2F43?mchid=1900000109")
        #expect(request.body.isEmpty)
        #expect(request.header("Content-Type") == nil)
        let expected = signer.authorization(
            method: "GET", pathAndQuery: "/v3/pay/transactions/out-trade-no/PF%202026%2F43?mchid=1900000109",
            timestamp: Self.timestamp, nonce: Self.nonce, body: [])
        #expect(request.header("Authorization") == expected)
    }

    @Test("query by transaction_id: GET …/id/{transaction_id} with mchid; the reply must be that transaction")
    func queryByTransactionID() async throws {
        let body =
            #"{"amount":{"currency":"CNY","payer_currency":"CNY","payer_total":8888,"total":8888},"#
            + #""appid":"wxd678efh567hg6787","mchid":"1900000109","out_trade_no":"PF20261118000043","#
            + #""success_time":"2026-11-18T19:06:35+08:00","trade_state":"REFUND","trade_state_desc":"转入退款","#
            + #""trade_type":"NATIVE","transaction_id":"4200000000202611180000000043"}"#
        let transport = StubTransport(always: try signed(body))
        let result = try await client(transport).queryTransaction(transactionID: "4200000000202611180000000043")
        #expect(
            result
                == WeChatPayV3TransactionQueryResult(
                    outTradeNo: "PF20261118000043", transactionID: "4200000000202611180000000043",
                    tradeState: .refund, tradeStateDescription: "转入退款", amountTotalMinor: 8888, currency: "CNY",
                    successTime: Sandbox.now.addingTimeInterval(-5), raw: body))
        let request = try #require(transport.requests.first)
        #expect(request.method == "GET")
        #expect(
            request.url
                == "https://api.mch.weixin.qq.com/v3/pay/transactions/id/4200000000202611180000000043?mchid=1900000109")
        #expect(
            request.header("Authorization")
                == signer.authorization(
                    method: "GET",
                    pathAndQuery: "/v3/pay/transactions/id/4200000000202611180000000043?mchid=1900000109",
                    timestamp: Self.timestamp, nonce: Self.nonce, body: []))

        // Another transaction, another merchant's, or no out_trade_no: not the order asked about.
        for other in [
            body.replacingOccurrences(of: "0043\"}", with: "0044\"}"),
            body.replacingOccurrences(of: "1900000109", with: "1900000110"),
            body.replacingOccurrences(of: #""out_trade_no":"PF20261118000043","#, with: ""),
        ] {
            #expect(other != body)
            _ = await expectAPIError(.malformedResponse, transient: true) {
                _ = try await client(StubTransport(always: signed(other)))
                    .queryTransaction(transactionID: "4200000000202611180000000043")
            }
        }
        // Unverified, it is not trusted; unknown, it is not found.
        var tampered = try signed(body)
        tampered.body = Array(body.replacingOccurrences(of: "8888", with: "1").utf8)
        _ = await expectAPIError(.responseSignature, transient: true) {
            _ = try await client(StubTransport(always: tampered))
                .queryTransaction(transactionID: "4200000000202611180000000043")
        }
        let missing = ChannelHTTPResponse(
            status: 404, headers: [], body: Array(#"{"code":"ORDER_NOT_EXIST","message":"订单不存在"}"#.utf8))
        let error = await expectAPIError(.notFound, transient: false) {
            _ = try await client(StubTransport(always: missing)).queryTransaction(transactionID: "42000000001")
        }
        #expect(error?.operation == "query_transaction_by_id")
        _ = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await client(StubTransport(always: missing)).queryTransaction(transactionID: "")
        }
    }

    @Test("query of an unpaid order: NOTPAY without transaction_id or success_time")
    func queryNotPaid() async throws {
        let body =
            #"{"amount":{"payer_currency":"CNY","total":100},"appid":"wxd678efh567hg6787","mchid":"1900000109","#
            + #""out_trade_no":"PF1","trade_state":"NOTPAY","trade_state_desc":"订单未支付"}"#
        let result = try await client(StubTransport(always: signed(body))).queryTransaction(outTradeNo: "PF1")
        #expect(result.tradeState == .notPay)
        #expect(result.transactionID == nil)
        #expect(result.successTime == nil)
        #expect(result.amountTotalMinor == 100)
        #expect(result.currency == nil)
    }

    @Test("close: POST {mchid} to …/close, 204 with a signed empty body")
    func close() async throws {
        let transport = StubTransport(always: try signed("", status: 204))
        try await client(transport).closeTransaction(outTradeNo: "PF1")
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url == "https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/PF1/close")
        #expect(String(decoding: request.body, as: UTF8.self) == #"{"mchid":"1900000109"}"#)
    }

    @Test("refund and refund query: out_refund_no as idempotency key, typed status")
    func refund() async throws {
        let body =
            #"{"amount":{"currency":"CNY","discount_refund":0,"from":[],"payer_refund":500,"payer_total":8888,"#
            + #""refund":500,"settlement_refund":500,"settlement_total":8888,"total":8888},"channel":"ORIGINAL","#
            + #""create_time":"2026-11-18T19:06:40+08:00","funds_account":"AVAILABLE","out_refund_no":"RF1","#
            + #""out_trade_no":"PF1","refund_id":"50000000382019052709732678859","status":"PROCESSING","#
            + #""transaction_id":"4200000000202611180000000043","user_received_account":"支付用户零钱"}"#
        let transport = StubTransport(always: try signed(body))
        let client = try client(transport)
        let result = try await client.refund(
            WeChatPayV3RefundRequest(outTradeNo: "PF1", outRefundNo: "RF1", refundMinor: 500, totalMinor: 8888))
        #expect(
            result
                == WeChatPayV3RefundResult(
                    refundID: "50000000382019052709732678859", outRefundNo: "RF1", outTradeNo: "PF1",
                    transactionID: "4200000000202611180000000043", status: .processing, refundMinor: 500,
                    totalMinor: 8888, currency: "CNY", successTime: nil, raw: body))
        let request = try #require(transport.requests.first)
        #expect(request.url == "https://api.mch.weixin.qq.com/v3/refund/domestic/refunds")
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == #"{"amount":{"currency":"CNY","refund":500,"total":8888},"out_refund_no":"RF1","out_trade_no":"PF1"}"#
        )

        let queried = try await client.queryRefund(outRefundNo: "RF1")
        #expect(queried.status == .processing)
        #expect(transport.requests.last?.url == "https://api.mch.weixin.qq.com/v3/refund/domestic/refunds/RF1")
        #expect(transport.requests.last?.method == "GET")
    }

    @Test("a base URL with a path prefix is kept in the URL and in the signed path")
    func pathPrefix() async throws {
        let transport = StubTransport(always: try signed(#"{"prepay_id":"wx1"}"#))
        _ = try await client(transport, baseURL: "http://127.0.0.1:8081/sandbox/wechatpay/").jsapiPrepay(Self.order)
        let request = try #require(transport.requests.first)
        #expect(request.url == "http://127.0.0.1:8081/sandbox/wechatpay/v3/pay/transactions/jsapi")
        #expect(
            request.header("Authorization")
                == signer.authorization(
                    method: "POST", pathAndQuery: "/sandbox/wechatpay/v3/pay/transactions/jsapi",
                    timestamp: Self.timestamp, nonce: Self.nonce, body: request.body))
    }

    // MARK: Response verification

    @Test("a response whose body was changed after signing is a response_signature error: transient, loud")
    func tamperedResponse() async throws {
        var response = try signed(#"{"prepay_id":"wx201410272009395522657a690389285100"}"#)
        response.body = Array(#"{"prepay_id":"wx201410272009395522657a690389285199"}"#.utf8)
        let error = await expectAPIError(.responseSignature, transient: true) {
            _ = try await client(StubTransport(always: response)).jsapiPrepay(Self.order)
        }
        #expect(error?.needsAttention == true)
        #expect(error?.channel == .wechatpay)
        #expect(error?.operation == "jsapi_prepay")
        #expect(error?.detail?.contains("bad_signature") == true)
    }

    @Test("unknown serial, missing headers, a stale timestamp: all response_signature")
    func unverifiableResponses() async throws {
        let client = try client(StubTransport(always: signed("{}")))
        let body = #"{"prepay_id":"wx1"}"#

        let unknown = try SignedResponses.weChat(body: body, key: platformKey, serial: "0123456789ABCDEF")
        let error = await expectAPIError(.responseSignature, transient: true) {
            try client.verifyResponse(unknown, operation: "jsapi_prepay", now: Sandbox.now)
        }
        #expect(error?.detail?.contains("unknown_key") == true)

        var unsigned = try signed(body)
        unsigned.headers.removeAll { $0.0 == "Wechatpay-Signature" }
        _ = await expectAPIError(.responseSignature, transient: true) {
            try client.verifyResponse(unsigned, operation: "jsapi_prepay", now: Sandbox.now)
        }

        let stale = try SignedResponses.weChat(
            body: body, key: platformKey, serial: Sandbox.platformSerial,
            timestamp: Sandbox.now.addingTimeInterval(-301))
        let staleError = await expectAPIError(.responseSignature, transient: true) {
            try client.verifyResponse(stale, operation: "jsapi_prepay", now: Sandbox.now)
        }
        #expect(staleError?.detail?.contains("stale_timestamp") == true)

        // Signed by the merchant's own key under the platform serial: the wrong key.
        let forged = try SignedResponses.weChat(
            body: body, key: try PEMKeys.loadRSAPrivateKey(path: Sandbox.merchantAPIPrivateKey),
            serial: Sandbox.platformSerial)
        _ = await expectAPIError(.responseSignature, transient: true) {
            try client.verifyResponse(forged, operation: "jsapi_prepay", now: Sandbox.now)
        }

        try client.verifyResponse(try signed(body), operation: "jsapi_prepay", now: Sandbox.now)
    }

    @Test("a verified 2xx without the field expected is a malformed_response")
    func malformedSuccess() async throws {
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await client(StubTransport(always: signed(#"{"code_url":"weixin://x"}"#))).jsapiPrepay(Self.order)
        }
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await client(StubTransport(always: signed("<html>"))).queryTransaction(outTradeNo: "PF1")
        }
    }

    // MARK: Errors

    @Test("an error reply is classified by its code, with the channel code kept and the message out of the description")
    func errorReply() async throws {
        let reply = ChannelHTTPResponse(
            status: 404, headers: [("Request-ID", "REQ-1")],
            body: Array(#"{"code":"ORDER_NOT_EXIST","message":"订单不存在 openid=oUpF8u"}"#.utf8))
        let error = await expectAPIError(.notFound, transient: false) {
            _ = try await client(StubTransport(always: reply)).queryTransaction(outTradeNo: "PF1")
        }
        #expect(error?.channelCode == "ORDER_NOT_EXIST")
        #expect(error?.httpStatus == 404)
        #expect(error?.channelMessage == "订单不存在 openid=oUpF8u")
        #expect(error?.description.contains("openid") == false)
        #expect(error?.debugDescription.contains("REQ-1") == true)
        #expect(
            error?.description
                == "not_found from wechatpay query_transaction (ORDER_NOT_EXIST): WeChat Pay knows no such order or refund (HTTP 404)"
        )

        let html = ChannelHTTPResponse(status: 502, headers: [], body: Array("<html>Bad Gateway</html>".utf8))
        _ = await expectAPIError(.serverError, transient: true) {
            _ = try await client(StubTransport(always: html)).queryTransaction(outTradeNo: "PF1")
        }
    }

    @Test(
        "WeChat Pay error classification",
        arguments: [
            (500, "SYSTEM_ERROR", ChannelAPIError.Code.serverError, true),
            (503, nil, .serverError, true),
            (500, "BANK_ERROR", .serverError, true),
            (429, "FREQUENCY_LIMITED", .rateLimited, true),
            (429, nil, .rateLimited, true),
            (408, nil, .timeout, true),
            (400, "PARAM_ERROR", .invalidRequest, false),
            (400, "INVALID_REQUEST", .invalidRequest, false),
            (400, "APPID_MCHID_NOT_MATCH", .invalidRequest, false),
            (404, "ORDER_NOT_EXIST", .notFound, false),
            (404, "ORDERNOTEXIST", .notFound, false),
            (404, "RESOURCE_NOT_EXISTS", .notFound, false),
            (403, "NOT_ENOUGH", .insufficientBalance, false),
            (401, "SIGN_ERROR", .authentication, false),
            (403, "NO_AUTH", .authentication, false),
            (401, nil, .authentication, false),
            (403, "TRADE_ERROR", .rejected, false),
            (400, "ORDER_CLOSED", .invalidRequest, false),
            (302, nil, .configuration, false),
            (404, nil, .configuration, false),
            (404, "", .configuration, false),
            (404, "SOME_FUTURE_CODE", .notFound, false),
        ] as [(Int, String?, ChannelAPIError.Code, Bool)])
    func classification(status: Int, code: String?, expected: ChannelAPIError.Code, transient: Bool) {
        let error = ChannelAPIError.weChatPayV3(status: status, code: code, message: "m", operation: "op")
        #expect(error.code == expected)
        #expect(error.isTransient == transient)
        #expect(error.channel == .wechatpay)
        #expect(error.channelCode == (code?.isEmpty == true ? nil : code))
    }

    @Test("transport failures: network, timeout and cancellation are transient and name the call")
    func transportFailures() async throws {
        struct Refused: Error {}
        let network = await expectAPIError(.network, transient: true) {
            _ = try await client(StubTransport { _ in throw Refused() }).queryTransaction(outTradeNo: "PF1")
        }
        #expect(network?.operation == "query_transaction")
        #expect(network?.detail == "Refused")

        let timeout = await expectAPIError(.timeout, transient: true) {
            _ = try await client(StubTransport { _ in throw ChannelAPIError.timeout("no response in 7 s") })
                .refund(WeChatPayV3RefundRequest(outTradeNo: "PF1", outRefundNo: "RF1", refundMinor: 1, totalMinor: 1))
        }
        #expect(timeout?.channel == .wechatpay)
        #expect(timeout?.operation == "refund")

        _ = await expectAPIError(.cancelled, transient: true) {
            _ = try await client(StubTransport { _ in throw CancellationError() }).closeTransaction(outTradeNo: "PF1")
        }
    }

    @Test("invalid orders and configuration are refused before anything is sent")
    func refusedLocally() async throws {
        let transport = StubTransport(always: try signed("{}"))
        let client = try client(transport)
        var noPayer = Self.order
        noPayer.payerOpenID = nil
        _ = await expectAPIError(.invalidRequest, transient: false) { _ = try await client.jsapiPrepay(noPayer) }
        var zero = Self.order
        zero.amountMinor = 0
        _ = await expectAPIError(.invalidRequest, transient: false) { _ = try await client.nativePrepay(zero) }
        _ = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await client.refund(
                WeChatPayV3RefundRequest(outTradeNo: "PF1", outRefundNo: "RF1", refundMinor: 2, totalMinor: 1))
        }
        _ = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await client.queryTransaction(outTradeNo: "")
        }
        #expect(transport.requests.isEmpty)

        let badURL = #expect(throws: ChannelAPIError.self) {
            try WeChatPayV3Client(
                merchant: merchant, signer: signer,
                configuration: WeChatPayV3ClientConfiguration(
                    baseURL: "api.mch.weixin.qq.com", notifyURL: Self.notifyURL),
                transport: transport)
        }
        #expect(badURL?.code == .configuration)
        #expect(badURL?.needsAttention == true)
        let otherMerchant = #expect(throws: ChannelAPIError.self) {
            try WeChatPayV3Client(
                merchant: merchant,
                signer: WeChatPayV3RequestSigner(
                    mchID: "1900000999", serialNumber: Sandbox.merchantAPISerial,
                    privateKey: try PEMKeys.loadRSAPrivateKey(path: Sandbox.merchantAPIPrivateKey)),
                configuration: WeChatPayV3ClientConfiguration(notifyURL: Self.notifyURL), transport: transport)
        }
        #expect(otherMerchant?.code == .configuration)
    }

    static let jsapiPaySign =
        "LUTduLfYZ4BzRgWyj5FoNsQsfSgqFAj2LECDV+VMjlDMZLbjYOWx17MzkqtyAHopv8EjrTChOH1kDFh2hbjB/DIsYcWnOqWw"
        + "JZdWiRDme46S9I+5de4oQ+kB9w4Kfs2EQWfMNM0hv+jClKwZDZqmotUZO92ImzdxcW1eRhBbgl7083Y8PkffHoxPmH6P0+OR"
        + "KHJH7U3PQLRn93vzP1GPgJzqn4pm1BrQAwpQv+crcLT9iJGHp/QWzy6UNaMeLAclu27X9Ap+tg0zOop0u/gpA2MLT4m4ab8K"
        + "1ATk6aFIHXH+KXI7GDF8N1YdbUthzv8fLV0StvhVyA+6fCK+pLZIhg=="

    /// The throwaway test key of wechatpay-go's sha256withrsa_signer_test.go (published there; test-only).
    static let wechatpayGoTestKey = """
        -----BEGIN PRIVATE KEY-----
        MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDZUJN33V+dSfvd
        fL0Mu+39XrZNXFFMQSy1V15FpncHeV47SmV0TzTqZc7hHB0ddqAdDi8Z5k3TKqb7
        6sOwYr5TcAfuR6PIPaleyE0/0KrljBum2Isa2Nyq7Dgc3ElBQ6YN4l/a+DpvKaz1
        FSKmKrhLNskqokWVSlu4g8OlKlbPXQ9ibII14MZRQrrkTmHYHzfi7GXXM0thAKuR
        0HNvyhTHBh4/lrYM3GaMvmWwkwvsMavnOex6+eioZHBOb1/EIZ/LzC6zuHArPpyW
        3daGaZ1rtQB1vVzTyERAVVFsXXgBHvfFud3w3ShsJYk8JvMwK2RpJ5/gV0QSARcm
        LDRUAlPzAgMBAAECggEBAMc7rDeUaXiWv6bMGbZ3BTXpg1FhdddnWUnYE8HfX/km
        OFI7XtBHXcgYFpcjYz4D5787pcsk7ezPidAj58zqenuclmjKnUmT3pfbI5eCA2v4
        C9HnbYDrmUPK1ZcADtka4D6ScDccpNYNa1g2TFHzkIrEa6H+q7S3O2fqxY/DRVtN
        0JIXalBb8daaqL5QVzSmM2BMVnHy+YITJWIkP2a3pKs9C0W65JGDsnG0wVrHinHF
        +cnhFZIbaPEI//DAFMc9NkrWOKVRTEgcCUxCFaHOZVNxDWZD7A2ZfJB2rK6eg//y
        gEiFDR2h6mTaDowMB4YF2n2dsIO4/dCG8vPHI20jn4ECgYEA/ZGu6lEMlO0XZnam
        AZGtiNgLcCfM/C2ZERZE7QTRPZH1WdK92Al9ndldsswFw4baJrJLCmghjF/iG4zi
        hhBvLnOLksnZUfjdumxoHDWXo2QBWbI5QsWIE7AuTiWgWj1I7X4fCXSQf6i+M/y2
        6TogQ7d0ANpZFyOkTNMn/tiJvLECgYEA22XqlamG/yfAGWery5KNH2DGlTIyd6xJ
        WtJ9j3jU99lZ0bCQ5xhiBbU9ImxCi3zgTsoqLWgA/p00HhNFNoUcTl9ofc0G3zwT
        D1y0ZzcnVKxGJdZ6ohW52V0hJStAigtjYAsUgjm7//FH7PiQDBDP1Wa6xSRkDQU/
        aSbQxvEE8+MCgYEA3bb8krW7opyM0XL9RHH0oqsFlVO30Oit5lrqebS0oHl3Zsr2
        ZGgoBlWBsEzk3UqUhTFwm/DhJLTSJ/TQPRkxnhQ5/mewNhS9C7yua7wQkzVmWN+V
        YeUGTvDGDF6qDz12/vJAgSwDDRym8x4NcXD5tTw7mmNRcwIfL22SkysThIECgYAV
        BgccoEoXWS/HP2/u6fQr9ZIR6eV8Ij5FPbZacTG3LlS1Cz5XZra95UgebFFUHHtC
        EY1JHJY7z8SWvTH8r3Su7eWNaIAoFBGffzqqSVazfm6aYZsOvRY6BfqPHT3p/H1h
        Tq6AbBffxrcltgvXnCTORjHPglU0CjSxVs7awW3AEQKBgB5WtaC8VLROM7rkfVIq
        +RXqE5vtJfa3e3N7W3RqxKp4zHFAPfr82FK5CX2bppEaxY7SEZVvVInKDc5gKdG/
        jWNRBmvvftZhY59PILHO2X5vO4FXh7suEjy6VIh0gsnK36mmRboYIBGsNuDHjXLe
        BDa+8mDLkWu5nHEhOxy2JJZl
        -----END PRIVATE KEY-----
        """
}

extension WeChatPayV3ClientTests {
    static func refundBody(status: String, successTime: String? = nil) -> String {
        #"{"amount":{"currency":"CNY","payer_refund":500,"payer_total":8888,"refund":500,"total":8888},"#
            + #""create_time":"2026-11-18T19:06:40+08:00","out_refund_no":"RF1","out_trade_no":"PF1","#
            + #""refund_id":"50000000382019052709732678859","status":"\#(status)","#
            + (successTime.map { #""success_time":"\#($0)","# } ?? "")
            + #""transaction_id":"4200000000202611180000000043"}"#
    }

    static let refundOrder = RefundOrder(
        refundNo: "RF1", paymentNo: "PF1", channelTradeNo: "4200000000202611180000000043", paymentAmountMinor: 8888,
        amountMinor: 500, currency: "CNY", reason: "破损")

    @Test("gateway refund: the refund's numbers and amounts; PROCESSING processing, SUCCESS succeeded with amount and time")
    func gatewayRefund() async throws {
        let accepted = Self.refundBody(status: "PROCESSING")
        let transport = StubTransport(always: try signed(accepted))
        let gateway = WeChatPayV3Gateway(client: try client(transport))
        #expect(
            try await gateway.refund(Self.refundOrder)
                == .processing(channelRefundNo: "50000000382019052709732678859", raw: accepted))
        #expect(
            String(decoding: try #require(transport.requests.first).body, as: UTF8.self)
                == #"{"amount":{"currency":"CNY","refund":500,"total":8888},"out_refund_no":"RF1","out_trade_no":"PF1","#
                + #""reason":"破损"}"#)

        let done = Self.refundBody(status: "SUCCESS", successTime: "2026-11-18T19:07:00+08:00")
        let queried = try await WeChatPayV3Gateway(client: try client(StubTransport(always: try signed(done))))
            .queryRefund(Self.refundOrder.lookup(channelRefundNo: nil))
        #expect(
            queried
                == .succeeded(
                    ChannelRefund(
                        refundNo: "RF1", channelRefundNo: "50000000382019052709732678859", amountMinor: 500,
                        succeededAt: Date(timeIntervalSince1970: 1_795_000_020), raw: done)))
    }

    @Test("gateway refund query: ABNORMAL and CLOSED failed, RESOURCE_NOT_EXISTS not found, a 5xx transient")
    func gatewayRefundFailures() async throws {
        for status in ["ABNORMAL", "CLOSED"] {
            let body = Self.refundBody(status: status)
            let state = try await WeChatPayV3Gateway(client: try client(StubTransport(always: try signed(body))))
                .queryRefund(Self.refundOrder.lookup(channelRefundNo: nil))
            #expect(state == .failed(channelRefundNo: "50000000382019052709732678859", detail: status, raw: body))
        }
        let missing = ChannelHTTPResponse(
            status: 404, headers: [], body: Array(#"{"code":"RESOURCE_NOT_EXISTS","message":"退款单不存在"}"#.utf8))
        #expect(
            try await WeChatPayV3Gateway(client: try client(StubTransport(always: missing)))
                .queryRefund(Self.refundOrder.lookup(channelRefundNo: nil)) == .notFound)
        let busy = ChannelHTTPResponse(
            status: 500, headers: [], body: Array(#"{"code":"SYSTEM_ERROR","message":"系统繁忙"}"#.utf8))
        _ = await expectAPIError(.serverError, transient: true) {
            _ = try await WeChatPayV3Gateway(client: try client(StubTransport(always: busy))).refund(Self.refundOrder)
        }
    }
}
