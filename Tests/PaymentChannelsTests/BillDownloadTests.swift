import Foundation
import PayFleetMessages
@testable import PaymentChannels
import Testing
import _CryptoExtras

/// Each gateway's `bill(for:)` over a stub transport: the requests it sends (path, signed fields, the bill date's
/// format, no credentials where the channel wants none), an empty day as an empty bill, and a file that is not a bill
/// as `malformed_response`.
@Suite("Bill downloads")
struct BillDownloadTests {
    static let day = BillDay(year: 2026, month: 11, day: 18)
    /// 2026-11-18 12:00:00 at +08:00.
    static let noonCST = Date(timeIntervalSince1970: 1_794_960_000 + 4 * 3600)

    static func payment(_ number: String, _ amount: Int64, currency: String = "CNY", status: String) -> BillRecord {
        BillRecord(
            kind: .payment, paymentNo: number, channelTradeNo: "T" + number, amountMinor: amount, currency: currency,
            channelStatus: status, at: noonCST)
    }

    static func text(_ response: String, status: Int = 200) -> ChannelHTTPResponse {
        ChannelHTTPResponse(status: status, headers: [], body: Array(response.utf8))
    }

    // MARK: WeChat Pay v2

    func weChatV2(_ transport: StubTransport, signType: WeChatPayV2SignType = .md5) throws -> WeChatPayV2Gateway {
        WeChatPayV2Gateway(
            client: try WeChatPayV2Client(
                merchant: WeChatPayV2ClientTests.merchant,
                configuration: WeChatPayV2ClientConfiguration(
                    notifyURL: WeChatPayV2ClientTests.notifyURL, signType: signType, timeout: .seconds(7)),
                transport: transport, now: { Sandbox.now }, nonce: { WeChatPayV2ClientTests.nonce }))
    }

    @Test("WeChat Pay v2: downloadbill posts bill_date YYYYMMDD and bill_type ALL, signed; the CSV is the bill")
    func weChatV2Bill() async throws {
        let records = [Self.payment("PF1", 8888, status: "SUCCESS"), Self.payment("PF2", 1, status: "SUCCESS")]
        let file = WeChatPayBill.render(
            records, appID: WeChatPayV2ClientTests.appID, mchID: WeChatPayV2ClientTests.mchID)
        for signType in [WeChatPayV2SignType.md5, .hmacSHA256] {
            let transport = StubTransport(always: ChannelHTTPResponse(status: 200, headers: [], body: file))
            let bill = try await weChatV2(transport, signType: signType).bill(for: Self.day)
            #expect(bill.channel == .wechatpayV2)
            #expect(bill.merchantID == "wx2-main")
            #expect(bill.records.map(\.paymentNo) == ["PF1", "PF2"])
            #expect(bill.records.map(\.amountMinor) == [8888, 1])
            let request = try #require(transport.requests.first)
            #expect(request.method == "POST")
            #expect(request.url == "https://api.mch.weixin.qq.com/pay/downloadbill")
            #expect(request.maxResponseBytes == 256 << 20)
            #expect(transport.timeouts == [.seconds(42)])
            let document = try SimpleXML.parse(request.body)
            var fields = Dictionary(document.fields, uniquingKeysWith: { first, _ in first })
            #expect(fields["bill_date"] == "20261118")
            #expect(fields["bill_type"] == "ALL")
            #expect(fields["appid"] == WeChatPayV2ClientTests.appID)
            #expect(fields["mch_id"] == WeChatPayV2ClientTests.mchID)
            #expect(fields["nonce_str"] == WeChatPayV2ClientTests.nonce)
            #expect(fields["sign_type"] == (signType == .md5 ? nil : "HMAC-SHA256"))
            let sign = try #require(fields["sign"])
            fields["sign"] = nil
            #expect(sign == WeChatPayV2ClientTests.signer.sign(fields, signType: signType))
        }
    }

    @Test("WeChat Pay v2: No Bill Exist is an empty day; Bill Creating transient; a bad signature authentication")
    func weChatV2Failures() async throws {
        func fail(_ message: String) -> ChannelHTTPResponse {
            Self.text(
                "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[\(message)]]></return_msg>"
                    + "<error_code><![CDATA[20002]]></error_code></xml>")
        }
        let empty = try await weChatV2(StubTransport(always: fail("No Bill Exist"))).bill(for: Self.day)
        #expect(empty.records.isEmpty)
        await expectAPIError(.serverError, transient: true) {
            _ = try await weChatV2(StubTransport(always: fail("Bill Creating"))).bill(for: Self.day)
        }
        await expectAPIError(.authentication, transient: false) {
            _ = try await weChatV2(StubTransport(always: fail("签名错误"))).bill(for: Self.day)
        }
    }

    @Test("WeChat Pay v2: a file that is not a complete bill is malformed_response")
    func weChatV2Malformed() async throws {
        for body in ["交易时间,公众账号ID\r\n`2026-11-18 12:00:00,`wx\r\n", "<xml><return_code>SUCCESS</return_code></xml>"] {
            let error = await expectAPIError(.malformedResponse, transient: true) {
                _ = try await weChatV2(StubTransport(always: Self.text(body))).bill(for: Self.day)
            }
            #expect(error?.channel == .wechatpayV2)
        }
    }

    // MARK: Alipay

    func alipay(_ transport: StubTransport) throws -> AlipayGateway {
        let signer = try AlipayRequestSigner.load(appID: Sandbox.alipayAppID, privateKeyFile: Sandbox.alipayPrivateKey)
        return AlipayGateway(
            client: try AlipayClient(
                merchant: try Sandbox.alipayMerchant(), signer: signer,
                configuration: AlipayClientConfiguration(timeout: .seconds(8)), transport: transport,
                now: { Sandbox.now }))
    }

    static let alipayKey = Result { try PEMKeys.loadRSAPrivateKey(path: Sandbox.alipayPrivateKey) }

    static func urlReply(_ url: String) throws -> ChannelHTTPResponse {
        try SignedResponses.alipay(
            method: AlipayClient.billMethod,
            member: #"{"code":"10000","msg":"Success","bill_download_url":"\#(url)"}"#, key: try alipayKey.get())
    }

    static let fileURL =
        "http://dwbillcenter.alipay.com/downloadBillFile.resource?bizType=trade&userId=20881021778468750156"
        + "&fileType=csv.zip&bizDates=20261118&downloadFileName=20881021778468750156_20261118.csv.zip&fileId=X"

    @Test("Alipay: a signed downloadurl.query with bill_date YYYY-MM-DD, then a GET of the URL without credentials")
    func alipayBill() async throws {
        let records = [
            BillRecord(
                kind: .payment, paymentNo: "PF1", channelTradeNo: "2026111822001", amountMinor: 8888, currency: "CNY",
                channelStatus: "交易", at: Self.noonCST)
        ]
        let zip = AlipayBill.render(records, pid: "2088102177846875", day: Self.day)
        let urlReply = try Self.urlReply(Self.fileURL)
        let transport = StubTransport { request in
            request.url.hasPrefix("https://openapi.alipay.com/gateway.do")
                ? urlReply : ChannelHTTPResponse(status: 200, headers: [], body: zip)
        }
        let bill = try await alipay(transport).bill(for: Self.day)
        #expect(bill.channel == .alipay)
        #expect(bill.records == records)
        #expect(transport.requests.count == 2)
        let query = try #require(transport.requests.first)
        #expect(query.method == "POST")
        let parameters = Dictionary(
            try FormCodec.decode(Array((query.url.split(separator: "?", maxSplits: 1).last ?? "").utf8)),
            uniquingKeysWith: { first, _ in first })
        #expect(parameters["method"] == "alipay.data.dataservice.bill.downloadurl.query")
        #expect(parameters["app_id"] == Sandbox.alipayAppID)
        #expect(parameters["sign_type"] == "RSA2")
        #expect(parameters["sign"]?.isEmpty == false)
        #expect(
            String(decoding: query.body, as: UTF8.self)
                == "biz_content=" + FormCodec.encodeComponent(#"{"bill_date":"2026-11-18","bill_type":"trade"}"#))
        let download = try #require(transport.requests.last)
        #expect(download.method == "GET")
        #expect(download.url == Self.fileURL)
        #expect(download.header("Authorization") == nil)
        #expect(!download.url.contains("sign="))
        #expect(download.maxResponseBytes == 256 << 20)
        #expect(transport.timeouts == [.seconds(8), .seconds(48)])
    }

    @Test("Alipay: isp.bill_not_exist is an empty day, with no download")
    func alipayEmptyDay() async throws {
        let member =
            #"{"code":"40004","msg":"Business Failed","sub_code":"isp.bill_not_exist","sub_msg":"账单不存在"}"#
        let transport = StubTransport(
            always: try SignedResponses.alipay(
                method: AlipayClient.billMethod, member: member, key: Self.alipayKey.get()))
        let bill = try await alipay(transport).bill(for: Self.day)
        #expect(bill.records.isEmpty)
        #expect(transport.requests.count == 1)
    }

    @Test("Alipay: a download that is not a bill zip, or a URL that is not http(s), is malformed_response")
    func alipayMalformed() async throws {
        let urlReply = try Self.urlReply(Self.fileURL)
        let html = StubTransport { request in
            request.method == "POST" ? urlReply : Self.text("<html>expired</html>")
        }
        let error = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await alipay(html).bill(for: Self.day)
        }
        #expect(error?.channel == .alipay)
        #expect(error?.operation == "bill_download")
        let ftp = StubTransport(always: try Self.urlReply("ftp://dwbillcenter.alipay.com/bill.zip"))
        await expectAPIError(.malformedResponse, transient: true) { _ = try await alipay(ftp).bill(for: Self.day) }
        #expect(ftp.requests.count == 1)
        // An expired URL: Alipay's download answers an HTTP error.
        let gone = StubTransport { request in request.method == "POST" ? urlReply : Self.text("", status: 404) }
        await expectAPIError(.malformedResponse, transient: true) { _ = try await alipay(gone).bill(for: Self.day) }
    }

    // MARK: Stripe

    func stripe(_ transport: StubTransport) throws -> StripeGateway {
        StripeGateway(
            client: try StripeClient(
                merchantID: "stripe-main", secretKey: try StripeSecretKey.load(path: StripeClientTests.secretKeyFile),
                configuration: .init(timeout: .seconds(6)), transport: transport))
    }

    static let utcNoon = Date(timeIntervalSince1970: 1_794_960_000 + 12 * 3600)

    static func intent(_ number: String, _ amount: Int64) -> BillRecord {
        BillRecord(
            kind: .payment, paymentNo: number, channelTradeNo: "pi_" + number, amountMinor: amount, currency: "USD",
            channelStatus: "succeeded", at: utcNoon)
    }

    @Test("Stripe: both lists of the UTC day, every page through has_more and starting_after, Bearer key")
    func stripeBill() async throws {
        let refund = BillRecord(
            kind: .refund, paymentNo: "PF1", channelTradeNo: "pi_PF1", refundNo: "RF1", amountMinor: 100,
            currency: "USD", channelStatus: "succeeded", at: Self.utcNoon)
        let transport = StubTransport { request in
            let body: [UInt8]
            if request.url.contains("/v1/refunds") {
                body = StripeBill.renderRefunds([refund], hasMore: false)
            } else if request.url.contains("starting_after=pi_PF2") {
                body = StripeBill.renderPaymentIntents([Self.intent("PF3", 3)], hasMore: false)
            } else {
                body = StripeBill.renderPaymentIntents([Self.intent("PF1", 1), Self.intent("PF2", 2)], hasMore: true)
            }
            return ChannelHTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: body)
        }
        let bill = try await stripe(transport).bill(for: Self.day)
        #expect(bill.channel == .stripe)
        #expect(bill.records == [Self.intent("PF1", 1), Self.intent("PF2", 2), Self.intent("PF3", 3), refund])
        // 2026-11-18T00:00:00Z = 1794960000, the next day 1795046400.
        let window = "created%5Bgte%5D=1794960000&created%5Blt%5D=1795046400&limit=100"
        #expect(
            transport.requests.map(\.url) == [
                "https://api.stripe.com/v1/payment_intents?" + window,
                "https://api.stripe.com/v1/payment_intents?" + window + "&starting_after=pi_PF2",
                "https://api.stripe.com/v1/refunds?" + window,
            ])
        let keyText = try String(contentsOfFile: StripeClientTests.secretKeyFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        for request in transport.requests {
            #expect(request.method == "GET")
            #expect(request.header("Authorization") == "Bearer " + keyText)
            #expect(request.header("Idempotency-Key") == nil)
            #expect(request.body.isEmpty)
        }
    }

    @Test("Stripe: an empty day is an empty bill; an unreadable page or a list that never ends is malformed_response")
    func stripeEmptyAndMalformed() async throws {
        let empty = StubTransport(
            always: ChannelHTTPResponse(
                status: 200, headers: [], body: StripeBill.renderPaymentIntents([], hasMore: false)))
        #expect(try await stripe(empty).bill(for: Self.day).records.isEmpty)
        #expect(empty.requests.count == 2)

        for body in [
            #"{"object":"list","has_more":false,"data":[{"id":"pi_1","status":"succeeded","metadata":{"out_trade_no":"PF1"}}]}"#,
            #"{"object":"search_result","has_more":false,"data":[]}"#, "<html>",
            // has_more without anything to continue after
            #"{"object":"list","has_more":true,"data":[]}"#,
        ] {
            let error = await expectAPIError(.malformedResponse, transient: true) {
                _ = try await stripe(StubTransport(always: Self.text(body))).bill(for: Self.day)
            }
            #expect(error?.channel == .stripe, "\(body)")
        }
        // A list that repeats its last id forever is stopped at the second page.
        let stuck = StubTransport(
            always: ChannelHTTPResponse(
                status: 200, headers: [], body: StripeBill.renderPaymentIntents([Self.intent("PF1", 1)], hasMore: true))
        )
        await expectAPIError(.malformedResponse, transient: true) { _ = try await stripe(stuck).bill(for: Self.day) }
        #expect(stuck.requests.count == 2)
    }

    @Test("the gateways that download a bill say so")
    func offersBill() throws {
        #expect(try weChatV2(StubTransport(always: Self.text(""))).offersBill)
        #expect(try alipay(StubTransport(always: Self.text(""))).offersBill)
        #expect(try stripe(StubTransport(always: Self.text(""))).offersBill)
    }
}
