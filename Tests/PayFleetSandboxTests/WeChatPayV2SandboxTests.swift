import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOSSL
import PayFleetMessages
import PayFleetSandbox
import PaymentChannels
import Testing

extension Keys {
    static let weChatV2APIKeyFile = path("wechatpay-v2-api-key-TEST-ONLY.txt")
    static let weChatV2CA = path("wechatpay-v2-ca-cert-TEST-ONLY.pem")
    static let weChatV2ServerCertificate = path("wechatpay-v2-sandbox-server-cert-TEST-ONLY.pem")
    static let weChatV2ServerPrivateKey = path("wechatpay-v2-sandbox-server-private-key-TEST-ONLY.pem")
    static let weChatV2ClientCertificate = path("wechatpay-v2-merchant-client-cert-TEST-ONLY.pem")
    static let weChatV2ClientPrivateKey = path("wechatpay-v2-merchant-client-private-key-TEST-ONLY.pem")
    static let weChatV2UntrustedCertificate = path("wechatpay-v2-untrusted-client-cert-TEST-ONLY.pem")
    static let weChatV2UntrustedPrivateKey = path("wechatpay-v2-untrusted-client-private-key-TEST-ONLY.pem")

    static func weChatV2Merchant() throws -> WeChatPayV2Merchant {
        try WeChatPayV2Merchant.load(id: "demo", mchID: mchID, appID: appID, apiKeyFile: weChatV2APIKeyFile)
    }

    /// WeChat Pay v2 in the sandbox: the demo merchant, refunds on a TLS listener on a free port.
    static func weChatV2Settings() throws -> SandboxSettings.WeChatPayV2 {
        SandboxSettings.WeChatPayV2(
            merchants: [try weChatV2Merchant()],
            refundTLS: try SandboxSettings.WeChatPayV2.refundTLS(
                certificateFile: weChatV2ServerCertificate, privateKeyFile: weChatV2ServerPrivateKey,
                clientCAFile: weChatV2CA),
            refundTLSPort: 0)
    }
}

/// The sandbox with WeChat Pay v2 played, its refund TLS listener running beside its HTTP port.
struct WeChatPayV2Harness {
    let harness: Harness
    let refundTLSPort: Int

    var notifyURL: String { "http://127.0.0.1:\(harness.receiverPort)/notify/wechatpay-v2/demo" }
    var receiver: Receiver { harness.receiver }

    static func run(
        refundComplete: Duration? = nil, _ body: @Sendable (WeChatPayV2Harness) async throws -> Void
    ) async throws {
        let receiver = try Receiver()
        try await receiver.application().test(.live) { receiverClient in
            let receiverPort = try #require(receiverClient.port)
            var settings = try Keys.settings(
                notifyBaseURL: "http://127.0.0.1:\(receiverPort)", refundComplete: refundComplete)
            settings.wechatpayV2 = try Keys.weChatV2Settings()
            let server = SandboxServer(settings: settings, logger: Logger(label: "sandbox-test"))
            defer { server.shutdown() }
            let secure = try #require(try server.refundTLSApplication())
            try await server.application().test(.live) { client in
                try await secure.test(.live) { secureClient in
                    try await body(
                        WeChatPayV2Harness(
                            harness: Harness(
                                receiver: receiver, sandbox: client, receiverPort: receiverPort,
                                sandboxPort: try #require(client.port)),
                            refundTLSPort: try #require(secureClient.port)))
                }
            }
        }
    }

    /// Presents the merchant's client certificate and trusts the sandbox's TEST-ONLY CA.
    static func mutualTLS() throws -> HTTPClientTransport {
        try HTTPClientTransport.mutualTLS(
            certificateFile: Keys.weChatV2ClientCertificate, privateKeyFile: Keys.weChatV2ClientPrivateKey,
            trustRootsFile: Keys.weChatV2CA)
    }

    func client(
        apiKey: [UInt8]? = nil, signType: WeChatPayV2SignType = .md5, refundTransport: (any ChannelHTTPTransport)? = nil
    ) throws -> WeChatPayV2Client {
        var merchant = try Keys.weChatV2Merchant()
        if let apiKey { merchant.apiKey = apiKey }
        return try WeChatPayV2Client(
            merchant: merchant,
            configuration: .init(
                baseURL: harness.baseURL, refundBaseURL: "https://127.0.0.1:\(refundTLSPort)", notifyURL: notifyURL,
                signType: signType, timeout: .seconds(5)),
            transport: HTTPClientTransport(), refundTransport: try refundTransport ?? Self.mutualTLS())
    }
}

@Suite("channel sandbox: WeChat Pay v2 over HTTP and mutual TLS")
struct WeChatPayV2SandboxTests {
    @Test("the sandbox config plays WeChat Pay v2 with its refund TLS listener and the demo merchant")
    func sandboxConfig() async throws {
        let settings = try await SandboxSettings.load(
            environment: [
                "PAYFLEET_CONFIG": Keys.root.appendingPathComponent("config/sandbox/payfleet.sandbox.yaml").path
            ])
        let v2 = try #require(settings.wechatpayV2)
        #expect(v2.refundTLS != nil)
        #expect(v2.refundTLSPort == 8091)
        #expect(!v2.refundOverPlainHTTP)
        #expect(v2.merchant(mchID: Keys.mchID)?.apiKey == (try Keys.weChatV2Merchant()).apiKey)
        let server = SandboxServer(settings: settings, logger: Logger(label: "sandbox-test"))
        defer { server.shutdown() }
        #expect(server.channelNames.contains("wechatpay-v2"))
        #expect(try server.refundTLSApplication() != nil)
        // A server key that is not the certificate's is refused at start-up.
        #expect(throws: SandboxError.self) {
            try SandboxSettings.WeChatPayV2.refundTLS(
                certificateFile: Keys.weChatV2ServerCertificate, privateKeyFile: Keys.weChatV2ClientPrivateKey,
                clientCAFile: Keys.weChatV2CA)
        }
    }

    @Test("refund_over_plain_http serves the refund on the plain port; without it that port has no refund")
    func refundOverPlainHTTP() async throws {
        let merchant = try Keys.weChatV2Merchant()
        let signer = WeChatPayV2NotificationSigner(apiKey: merchant.apiKey)
        let request = signer.signedBody(params: [
            "appid": Keys.appID, "mch_id": Keys.mchID, "nonce_str": "n1", "out_trade_no": "V2NONE",
            "out_refund_no": "RV2NONE", "total_fee": "100", "refund_fee": "1",
        ])
        for plain in [true, false] {
            var settings = try Keys.settings(notifyBaseURL: "http://127.0.0.1:9")
            settings.wechatpayV2 = .init(merchants: [merchant], refundTLS: nil, refundOverPlainHTTP: plain)
            let server = SandboxServer(settings: settings, logger: Logger(label: "sandbox-test"))
            defer { server.shutdown() }
            #expect(try server.refundTLSApplication() == nil)
            try await server.application().test(.router) { client in
                try await client.execute(uri: "/secapi/pay/refund", method: .post, body: ByteBuffer(bytes: request)) {
                    response in
                    let text = String(decoding: response.body.readableBytesView, as: UTF8.self)
                    if plain {
                        #expect(response.status == .ok)
                        #expect(text.contains("<err_code><![CDATA[ORDERNOTEXIST]]></err_code>"), "\(text)")
                    } else {
                        #expect(response.status == .notFound)
                    }
                }
            }
        }
    }

    @Test("unifiedorder → pay → a verified notification at the merchant → orderquery says SUCCESS")
    func prepayPayQuery() async throws {
        try await WeChatPayV2Harness.run { h in
            let client = try h.client()
            let no = orderNo("V2")
            let order = WeChatPayV2OrderRequest(
                outTradeNo: no, description: "PayFleet 测试", totalFee: 8888, tradeType: .jsapi,
                openID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", clientIP: "203.0.113.7")
            let prepay = try await client.unifiedOrder(order)
            #expect(prepay.prepayID.hasPrefix("wx"))
            #expect(try await client.unifiedOrder(order) == prepay)
            let reused = await apiError {
                _ = try await client.unifiedOrder(
                    .init(outTradeNo: no, description: "x", totalFee: 1, tradeType: .native))
            }
            #expect(reused?.channelCode == "OUT_TRADE_NO_USED")
            #expect(reused?.code == .invalidRequest)
            #expect(try await client.queryOrder(outTradeNo: no).tradeState == .notPay)

            let (status, summary) = try await h.harness.control("POST", "/sandbox/wechatpay-v2/pay/\(no)")
            #expect(status == 200)
            #expect(summary["status"] as? String == "SUCCESS")
            #expect((summary["notification"] as? [String: Any])?["delivered"] as? Bool == true)

            let paid = try await client.queryOrder(outTradeNo: no)
            #expect(paid.tradeState == .success)
            #expect(paid.totalFee == 8888)
            #expect(paid.feeType == "CNY")
            let timeEnd = try #require(paid.timeEnd)
            #expect(abs(timeEnd.timeIntervalSinceNow) < 60)

            let received = h.receiver.received.filter { $0.channel == "wechatpay-v2" }
            #expect(received.count == 1)
            guard case .payment(let payment)? = received.first?.notification else {
                Issue.record("no verified payment notification: \(h.receiver.received)")
                return
            }
            #expect(payment.paymentNo == no)
            #expect(payment.amountMinor == 8888)
            #expect(payment.channel == .wechatpayV2)
            #expect(payment.channelTradeNo == paid.transactionID)

            // Through the gateway too: paid, with WeChat Pay's facts.
            let gateway = WeChatPayV2Gateway(client: client)
            guard case .paid(let found) = try await gateway.query(paymentNo: no) else {
                Issue.record("the gateway does not see the order paid")
                return
            }
            #expect(found.amountMinor == 8888 && found.channelTradeNo == payment.channelTradeNo)
            let again = await apiError { try await gateway.close(paymentNo: no) }
            #expect(again?.channelCode == "ORDERPAID")
            #expect(again?.code == .rejected)
        }
    }

    @Test("closeorder → CLOSED; closed again still counts as closed; an unknown order is not found")
    func close() async throws {
        try await WeChatPayV2Harness.run { h in
            let client = try h.client(signType: .hmacSHA256)
            let no = orderNo("V2")
            let prepay = try await client.unifiedOrder(
                .init(outTradeNo: no, description: "Native", totalFee: 100, tradeType: .native))
            #expect(prepay.codeURL?.hasPrefix("weixin://wxpay/bizpayurl?pr=") == true)
            try await client.closeOrder(outTradeNo: no)
            #expect(try await client.queryOrder(outTradeNo: no).tradeState == .closed)
            let (status, _) = try await h.harness.control("POST", "/sandbox/wechatpay-v2/pay/\(no)")
            #expect(status == 409)
            let gateway = WeChatPayV2Gateway(client: client)
            try await gateway.close(paymentNo: no)
            #expect(try await gateway.query(paymentNo: no) == .closed(detail: "CLOSED"))
            #expect(try await gateway.query(paymentNo: orderNo("V2")) == .notFound)
            try await gateway.close(paymentNo: orderNo("V2"))
        }
    }

    @Test("refund over mutual TLS with the client certificate; refused without one or with an untrusted one")
    func refundMutualTLS() async throws {
        try await WeChatPayV2Harness.run { h in
            let client = try h.client()
            let no = orderNo("V2")
            _ = try await client.unifiedOrder(
                .init(outTradeNo: no, description: "Refund me", totalFee: 100, tradeType: .native))
            try await h.harness.control("POST", "/sandbox/wechatpay-v2/pay/\(no)")

            // No client certificate: the TLS handshake is refused, nothing is refunded.
            var noCertificate = TLSConfiguration.makeClientConfiguration()
            noCertificate.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(Keys.weChatV2CA))
            let bare = try h.client(refundTransport: HTTPClientTransport(tlsConfiguration: noCertificate))
            let refused = await apiError {
                _ = try await bare.refund(.init(outTradeNo: no, outRefundNo: "R" + no, totalFee: 100, refundFee: 60))
            }
            #expect(refused?.code == .network)
            #expect(refused?.detail?.contains("CERTIFICATE_REQUIRED") == true, "\(refused?.debugDescription ?? "")")
            // A certificate the sandbox's CA did not issue: refused too.
            let untrusted = try h.client(
                refundTransport: try HTTPClientTransport.mutualTLS(
                    certificateFile: Keys.weChatV2UntrustedCertificate,
                    privateKeyFile: Keys.weChatV2UntrustedPrivateKey,
                    trustRootsFile: Keys.weChatV2CA))
            let alsoRefused = await apiError {
                _ = try await untrusted.refund(
                    .init(outTradeNo: no, outRefundNo: "R" + no, totalFee: 100, refundFee: 60))
            }
            #expect(alsoRefused?.code == .network)
            #expect(alsoRefused?.detail?.contains("UNKNOWN_CA") == true, "\(alsoRefused?.debugDescription ?? "")")
            let (_, before) = try await h.harness.control("GET", "/sandbox/state/wechatpay-v2/\(no)")
            #expect(before["refunded"] as? Int == 0)

            let refund = try await client.refund(
                .init(outTradeNo: no, outRefundNo: "R" + no, totalFee: 100, refundFee: 60))
            #expect(refund.status == .processing)
            #expect(refund.refundFee == 60)
            // The same refund number never refunds twice.
            #expect(
                try await client.refund(.init(outTradeNo: no, outRefundNo: "R" + no, totalFee: 100, refundFee: 60))
                    .refundID
                    == refund.refundID)
            let tooMuch = await apiError {
                _ = try await client.refund(.init(outTradeNo: no, outRefundNo: "S" + no, totalFee: 100, refundFee: 50))
            }
            #expect(tooMuch?.code == .invalidRequest)
            #expect(try await client.queryRefund(outRefundNo: "R" + no).status == .processing)
            #expect(try await client.queryOrder(outTradeNo: no).tradeState == .refund)

            let (status, summary) = try await h.harness.control("POST", "/sandbox/wechatpay-v2/refund/R\(no)")
            #expect(status == 200)
            #expect(summary["refund_status"] as? String == "SUCCESS")
            let done = try await client.queryRefund(outRefundNo: "R" + no)
            #expect(done.status == .success)
            #expect(done.successTime != nil)
            let refunds = h.receiver.accepted.compactMap { notification -> RefundNotification? in
                if case .refund(let refund) = notification { return refund }
                return nil
            }
            #expect(refunds.count == 1)
            #expect(refunds.first?.amountMinor == 60)
            #expect(refunds.first?.channelRefundNo == refund.refundID)
            let missing = await apiError { _ = try await client.queryRefund(outRefundNo: "Q" + no) }
            #expect(missing?.code == .notFound)
        }
    }

    @Test("a request signed with the wrong API key is refused: return_code FAIL 签名错误, authentication")
    func wrongAPIKey() async throws {
        try await WeChatPayV2Harness.run { h in
            let wrong = try h.client(apiKey: Array("PayFleetSandboxV2APIKey000000002".utf8))
            let error = await apiError {
                _ = try await wrong.unifiedOrder(
                    .init(outTradeNo: orderNo("V2"), description: "x", totalFee: 1, tradeType: .native))
            }
            #expect(error?.code == .authentication)
            #expect(error?.isTransient == false)
            #expect(error?.channelMessage == "签名错误")
            // A body changed after signing is refused the same way.
            let changed = RewritingTransport(upstream: HTTPClientTransport()) { request in
                request.body = Array(
                    String(decoding: request.body, as: UTF8.self)
                        .replacingOccurrences(of: "<total_fee><![CDATA[1]]>", with: "<total_fee><![CDATA[2]]>").utf8)
            }
            let merchant = try Keys.weChatV2Merchant()
            let tampering = try WeChatPayV2Client(
                merchant: merchant, configuration: .init(baseURL: h.harness.baseURL, notifyURL: h.notifyURL),
                transport: changed)
            let second = await apiError {
                _ = try await tampering.unifiedOrder(
                    .init(outTradeNo: orderNo("V2"), description: "x", totalFee: 1, tradeType: .native))
            }
            #expect(second?.code == .authentication)
        }
    }

    @Test(
        "faults: a 5xx is a transient server error; a tampered reply fails verification; a refused notification is retried"
    )
    func faults() async throws {
        try await WeChatPayV2Harness.run { h in
            let client = try h.client()
            let no = orderNo("V2")
            try await h.harness.fault("wechatpay-v2.unifiedorder", "error5xx")
            let failed = await apiError {
                _ = try await client.unifiedOrder(
                    .init(outTradeNo: no, description: "x", totalFee: 5, tradeType: .native))
            }
            #expect(failed?.code == .serverError)
            #expect(failed?.isTransient == true)
            #expect(failed?.httpStatus == 500)
            // The channel did not act: the order is new now.
            _ = try await client.unifiedOrder(.init(outTradeNo: no, description: "x", totalFee: 5, tradeType: .native))

            try await h.harness.fault("wechatpay-v2.orderquery", "error5xx")
            let query = await apiError { _ = try await client.queryOrder(outTradeNo: no) }
            #expect(query?.code == .serverError && query?.isTransient == true)

            try await h.harness.fault("wechatpay-v2.orderquery", "tamper")
            let tampered = await apiError { _ = try await client.queryOrder(outTradeNo: no) }
            #expect(tampered?.code == .responseSignature)
            #expect(tampered?.isTransient == true)
            #expect(try await client.queryOrder(outTradeNo: no).tradeState == .notPay)

            // 15 s / 600 = 25 ms: the refused first delivery is retried and accepted.
            h.receiver.failNext(1)
            try await h.harness.control("POST", "/sandbox/wechatpay-v2/pay/\(no)")
            let received = try await h.receiver.wait { $0.count >= 2 }
            #expect(received.count == 2)
            #expect(received.allSatisfy { $0.channel == "wechatpay-v2" && $0.notification != nil })
        }
    }
}
