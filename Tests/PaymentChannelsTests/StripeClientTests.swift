import Foundation
import PayFleetMessages
import PaymentChannels
import Testing

@Suite("Stripe API client")
struct StripeClientTests {
    static let secretKeyFile = Sandbox.path("stripe-secret-key-TEST-ONLY.txt")
    static let publishableKey = "pk_test_51PayFleetExample"

    let secretKey: StripeSecretKey
    let keyText: String

    init() throws {
        secretKey = try StripeSecretKey.load(path: Self.secretKeyFile)
        keyText = try String(contentsOfFile: Self.secretKeyFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func client(
        _ transport: StubTransport, configuration: StripeClientConfiguration = .init(timeout: .seconds(6))
    ) throws -> StripeClient {
        try StripeClient(
            merchantID: "stripe-main", secretKey: secretKey, configuration: configuration, transport: transport)
    }

    func reply(_ text: String, status: Int = 200, requestID: String = "req_8fN3kZ1qUu") -> ChannelHTTPResponse {
        ChannelHTTPResponse(
            status: status, headers: [("Content-Type", "application/json"), ("Request-Id", requestID)],
            body: Array(text.utf8))
    }

    static func intent(
        id: String = "pi_3PayFleet0000000000000001", status: String, amount: Int64 = 8888, received: Int64 = 0,
        outTradeNo: String = "PF20261118000046", currency: String = "usd"
    ) -> String {
        #"{"id":"\#(id)","object":"payment_intent","amount":\#(amount),"amount_received":\#(received),"#
            + #""client_secret":"\#(id)_secret_Ab12","created":1795000000,"currency":"\#(currency)","#
            + #""latest_charge":\#(status == "succeeded" ? #""ch_3PayFleet01""# : "null"),"#
            + #""metadata":{"out_trade_no":"\#(outTradeNo)"},"status":"\#(status)"}"#
    }

    static func search(_ intents: [String]) -> String {
        #"{"object":"search_result","url":"/v1/payment_intents/search","has_more":false,"next_page":null,"data":["#
            + intents.joined(separator: ",") + "]}"
    }


    // MARK: Requests

    @Test("create: exact form body, Bearer key, pinned Stripe-Version, Idempotency-Key from the payment number")
    func create() async throws {
        let transport = StubTransport(always: reply(Self.intent(status: "requires_payment_method")))
        let gateway = StripeGateway(
            client: try client(
                transport, configuration: .init(publishableKey: Self.publishableKey, timeout: .seconds(6))))
        let parameters = try await gateway.prepay(
            PrepayOrder(
                paymentNo: "PF20261118000046", amountMinor: 8888, currency: "USD", description: "PayFleet 测试 a+b&c"))
        #expect(
            parameters == [
                "client_secret": "pi_3PayFleet0000000000000001_secret_Ab12",
                "payment_intent": "pi_3PayFleet0000000000000001", "publishable_key": Self.publishableKey,
            ])
        let request = try #require(transport.requests.first)
        #expect(request.method == "POST")
        #expect(request.url == "https://api.stripe.com/v1/payment_intents")
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == "amount=8888&currency=usd&description=PayFleet+%E6%B5%8B%E8%AF%95+a%2Bb%26c"
                + "&metadata%5Bout_trade_no%5D=PF20261118000046&automatic_payment_methods%5Benabled%5D=true")
        #expect(
            request.headers.map(\.0) == [
                "Authorization", "Stripe-Version", "Accept", "User-Agent", "Content-Type", "Idempotency-Key",
            ])
        #expect(request.header("Authorization") == "Bearer " + keyText)
        #expect(request.header("Stripe-Version") == "2024-06-20")
        #expect(request.header("Content-Type") == "application/x-www-form-urlencoded")
        #expect(request.header("Idempotency-Key") == "payfleet-create-PF20261118000046")
        #expect(transport.timeouts == [.seconds(6)])
    }

    @Test("search, retrieve, cancel and refund requests are exact; refund's Idempotency-Key is out_refund_no")
    func otherRequests() async throws {
        let transport = StubTransport { request in
            if request.url.contains("/v1/refunds") {
                return ChannelHTTPResponse(
                    status: 200, headers: [],
                    body: Array(
                        (#"{"id":"re_3PF1","object":"refund","amount":300,"currency":"usd","#
                            + #""payment_intent":"pi_3PayFleet0000000000000001","#
                            + #""metadata":{"out_refund_no":"RF1","out_trade_no":"PF1"},"status":"succeeded"}"#).utf8))
            }
            if request.url.contains("/search") {
                return ChannelHTTPResponse(status: 200, headers: [], body: Array(Self.search([]).utf8))
            }
            return ChannelHTTPResponse(status: 200, headers: [], body: Array(Self.intent(status: "canceled").utf8))
        }
        let client = try client(transport)
        #expect(try await client.searchPaymentIntents(outTradeNo: "PF1'x") == [])
        let search = try #require(transport.requests.last)
        #expect(search.method == "GET")
        #expect(
            search.url
                == "https://api.stripe.com/v1/payment_intents/search"
                + "?query=metadata%5B%27out_trade_no%27%5D%3A%27PF1%5C%27x%27&limit=10")
        #expect(search.header("Idempotency-Key") == nil)
        #expect(search.body.isEmpty)

        _ = try await client.retrievePaymentIntent(id: "pi_3PayFleet0000000000000001")
        #expect(
            transport.requests.last?.url == "https://api.stripe.com/v1/payment_intents/pi_3PayFleet0000000000000001")

        let canceled = try await client.cancelPaymentIntent(
            id: "pi_3PayFleet0000000000000001", outTradeNo: "PF20261118000046")
        #expect(canceled.status == .canceled)
        let cancel = try #require(transport.requests.last)
        #expect(cancel.url == "https://api.stripe.com/v1/payment_intents/pi_3PayFleet0000000000000001/cancel")
        #expect(String(decoding: cancel.body, as: UTF8.self) == "cancellation_reason=abandoned")
        #expect(cancel.header("Idempotency-Key") == "payfleet-cancel-PF20261118000046-pi_3PayFleet0000000000000001")

        let refund = try await client.createRefund(
            StripeRefundRequest(
                paymentIntentID: "pi_3PayFleet0000000000000001", outTradeNo: "PF1", outRefundNo: "RF1",
                amountMinor: 300, reason: "requested_by_customer"))
        #expect(
            refund
                == StripeRefund(
                    id: "re_3PF1", status: "succeeded", amountMinor: 300, currency: "USD",
                    paymentIntentID: "pi_3PayFleet0000000000000001", outRefundNo: "RF1", raw: refund.raw))
        let request = try #require(transport.requests.last)
        #expect(request.url == "https://api.stripe.com/v1/refunds")
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == "payment_intent=pi_3PayFleet0000000000000001&amount=300&reason=requested_by_customer"
                + "&metadata%5Bout_trade_no%5D=PF1&metadata%5Bout_refund_no%5D=RF1")
        #expect(request.header("Idempotency-Key") == "RF1")
        #expect(transport.requests.count == 4)
    }

    // MARK: Gateway

    @Test("query: succeeded is paid exactly as the payment_intent.succeeded webhook normalises it")
    func queryMatchesWebhook() async throws {
        let transport = StubTransport(
            always: reply(
                Self.search([
                    Self.intent(id: "pi_old", status: "canceled"),
                    Self.intent(status: "succeeded", amount: 8888, received: 8888),
                ])))
        let gateway = StripeGateway(client: try client(transport), now: { Sandbox.now })
        guard case .paid(let payment) = try await gateway.query(paymentNo: "PF20261118000046") else {
            Issue.record("not paid")
            return
        }
        #expect(payment.channelTradeNo == "pi_3PayFleet0000000000000001")
        #expect(payment.amountMinor == 8888)
        #expect(payment.currency == "USD")
        #expect(payment.paidAt == Sandbox.now)

        let event = StripeNotificationSigner.paymentIntentEvent(
            eventID: "evt_1", paymentIntentID: "pi_3PayFleet0000000000000001", outTradeNo: "PF20261118000046",
            amount: 8888, created: Sandbox.now)
        let signer = try Sandbox.stripeSigner()
        let signed = signer.sign(body: event, timestamp: Sandbox.now)
        let verified = try StripeVerifier(merchant: try Sandbox.stripeMerchant())
            .verify(ChannelRequest(headers: signed.headers, body: signed.body), now: Sandbox.now)
        guard case .payment(let notification) = verified else {
            Issue.record("the webhook is not a payment: \(verified)")
            return
        }
        #expect(notification.channelTradeNo == payment.channelTradeNo)
        #expect(notification.amountMinor == payment.amountMinor)
        #expect(notification.currency == payment.currency)
        #expect(notification.paymentNo == payment.paymentNo)
    }

    @Test(
        "query maps PaymentIntent states: requires_* and processing pending, all canceled closed, none not found",
        arguments: [
            (["requires_payment_method"], ChannelPaymentState.pending(detail: "requires_payment_method")),
            (["requires_action"], .pending(detail: "requires_action")),
            (["processing"], .pending(detail: "processing")),
            (["canceled", "canceled"], .closed(detail: "canceled")),
            (["canceled", "requires_payment_method"], .pending(detail: "requires_payment_method")),
            ([], .notFound),
        ] as [([String], ChannelPaymentState)])
    func queryStates(statuses: [String], expected: ChannelPaymentState) async throws {
        let intents = statuses.enumerated().map { Self.intent(id: "pi_\($0.offset)", status: $0.element) }
        let gateway = StripeGateway(client: try client(StubTransport(always: reply(Self.search(intents)))))
        #expect(try await gateway.query(paymentNo: "PF20261118000046") == expected)
    }

    @Test("a search result for another payment number is not trusted")
    func foreignResult() async throws {
        let gateway = StripeGateway(
            client: try client(
                StubTransport(always: reply(Self.search([Self.intent(status: "succeeded", outTradeNo: "PF-other")])))))
        #expect(try await gateway.query(paymentNo: "PF20261118000046") == .notFound)
    }

    @Test("close cancels open PaymentIntents; none counts as closed; succeeded is rejected")
    func close() async throws {
        let open = StubTransport { request in
            if request.url.contains("/search") {
                return ChannelHTTPResponse(
                    status: 200, headers: [],
                    body: Array(
                        Self.search([
                            Self.intent(id: "pi_a", status: "canceled"),
                            Self.intent(id: "pi_b", status: "requires_action"),
                        ]).utf8))
            }
            return ChannelHTTPResponse(
                status: 200, headers: [], body: Array(Self.intent(id: "pi_b", status: "canceled").utf8))
        }
        try await StripeGateway(client: try client(open)).close(paymentNo: "PF20261118000046")
        #expect(open.requests.map(\.url).last == "https://api.stripe.com/v1/payment_intents/pi_b/cancel")
        #expect(open.requests.count == 2)

        let none = StubTransport(always: reply(Self.search([])))
        try await StripeGateway(client: try client(none)).close(paymentNo: "PF20261118000046")
        #expect(none.requests.count == 1)

        let paid = StubTransport(always: reply(Self.search([Self.intent(status: "succeeded", received: 8888)])))
        _ = await expectAPIError(.rejected, transient: false) {
            try await StripeGateway(client: try client(paid)).close(paymentNo: "PF20261118000046")
        }
        #expect(paid.requests.count == 1)
    }

    // MARK: Errors

    @Test(
        "error classification from Stripe's error object and status",
        arguments: [
            (429, "invalid_request_error", "rate_limit", ChannelAPIError.Code.rateLimited, true),
            (429, "invalid_request_error", "lock_timeout", .rateLimited, true),
            (409, "idempotency_error", "idempotency_key_in_use", .rateLimited, true),
            (500, "api_error", nil, .serverError, true),
            (502, nil, nil, .serverError, true),
            (400, "api_error", nil, .serverError, true),
            (401, "invalid_request_error", nil, .authentication, false),
            (403, "invalid_request_error", nil, .authentication, false),
            (404, "invalid_request_error", "resource_missing", .notFound, false),
            (404, nil, nil, .configuration, false),
            (400, "idempotency_error", nil, .invalidRequest, false),
            (400, "invalid_request_error", "parameter_missing", .invalidRequest, false),
            (400, "invalid_request_error", "payment_intent_unexpected_state", .rejected, false),
            (402, "card_error", "card_declined", .rejected, false),
        ] as [(Int, String?, String?, ChannelAPIError.Code, Bool)])
    func classification(
        status: Int, type: String?, code: String?, expected: ChannelAPIError.Code, transient: Bool
    ) async throws {
        var fields: [String] = [#""message":"m""#]
        if let type { fields.append(#""type":"\#(type)""#) }
        if let code { fields.append(#""code":"\#(code)""#) }
        let body = type == nil && code == nil ? "" : #"{"error":{"# + fields.joined(separator: ",") + "}}"
        let error = await expectAPIError(expected, transient: transient) {
            _ = try await client(StubTransport(always: reply(body, status: status)))
                .retrievePaymentIntent(id: "pi_1")
        }
        #expect(error?.httpStatus == status)
        #expect(error?.channelCode == (code ?? type))
        #expect(error?.channel == .stripe)
        #expect(error?.debugDescription.contains("Request-Id req_8fN3kZ1qUu") == true)
    }

    @Test("network failures and unreadable bodies are transient")
    func transportFailures() async throws {
        _ = await expectAPIError(.network, transient: true) {
            struct Reset: Error {}
            _ = try await client(StubTransport { _ in throw Reset() }).searchPaymentIntents(outTradeNo: "PF1")
        }
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await client(StubTransport(always: reply("<html>"))).retrievePaymentIntent(id: "pi_1")
        }
        _ = await expectAPIError(.malformedResponse, transient: true) {
            _ = try await client(StubTransport(always: reply(#"{"object":"search_result"}"#)))
                .searchPaymentIntents(outTradeNo: "PF1")
        }
        _ = await expectAPIError(.invalidRequest, transient: false) {
            _ = try await client(StubTransport(always: reply("{}"))).createPaymentIntent(
                .init(outTradeNo: "PF1", amountMinor: 1, currency: "dollars"))
        }
    }

    @Test("the secret key appears in no description, debug description, dump or error")
    func secretKeyHidden() async throws {
        let transport = StubTransport(
            always: reply(#"{"error":{"type":"invalid_request_error","message":"bad"}}"#, status: 401))
        let client = try client(transport)
        var dumped = ""
        dump(client, to: &dumped)
        let texts = [
            String(describing: client), String(reflecting: client), dumped, String(describing: secretKey),
            String(reflecting: secretKey), String(describing: client.configuration),
        ]
        for text in texts {
            #expect(!text.contains(keyText))
            #expect(!text.contains(String(keyText.dropFirst(8).prefix(16))))
        }
        #expect(String(describing: secretKey) == "StripeSecretKey(test, redacted)")
        let error = await expectAPIError(.authentication, transient: false) {
            _ = try await client.retrievePaymentIntent(id: "pi_1")
        }
        #expect(error.map { !$0.description.contains(keyText) && !$0.debugDescription.contains(keyText) } == true)
        #expect(secretKey.matches(Array(keyText.utf8)))
        #expect(!secretKey.matches(Array(keyText.dropLast().utf8)))
        #expect(!secretKey.matches(Array((keyText + "x").utf8)))
        #expect(StripeSecretKey("pk_test_123456789") == nil)
        #expect(StripeSecretKey("sk_test_ with space") == nil)
    }
}

extension StripeClientTests {
    static func refundObject(
        id: String = "re_3PayFleet01", status: String, outRefundNo: String? = "RF1", intent: String = "pi_3PayFleet01"
    ) -> String {
        let metadata = outRefundNo.map { #"{"out_refund_no":"\#($0)","out_trade_no":"PF1"}"# } ?? "{}"
        return #"{"id":"\#(id)","object":"refund","amount":500,"currency":"usd","metadata":\#(metadata),"#
            + #""payment_intent":"\#(intent)","status":"\#(status)"}"#
    }

    static let refundOrder = RefundOrder(
        refundNo: "RF1", paymentNo: "PF1", channelTradeNo: "pi_3PayFleet01", paymentAmountMinor: 8888,
        amountMinor: 500, currency: "USD", reason: "cup broke")

    /// Answers the refund list with `listed` refunds and a refund create with `created`.
    func refunds(listed: [String] = [], created: String) -> StubTransport {
        let list = #"{"object":"list","url":"/v1/refunds","has_more":false,"data":["# + listed.joined(separator: ",") + "]}"
        let (listReply, createReply) = (reply(list), reply(created))
        return StubTransport { request in request.method == "GET" ? listReply : createReply }
    }

    @Test("gateway refund: Idempotency-Key is the refund number; free-text reasons travel as metadata; states mapped")
    func gatewayRefund() async throws {
        let transport = refunds(created: Self.refundObject(status: "pending"))
        let gateway = StripeGateway(client: try client(transport), now: { Sandbox.now })
        #expect(
            try await gateway.refund(Self.refundOrder)
                == .processing(channelRefundNo: "re_3PayFleet01", raw: Self.refundObject(status: "pending")))
        // First the PaymentIntent's refunds are looked at (an Idempotency-Key lasts 24 hours only), then one is made.
        #expect(transport.requests.map(\.method) == ["GET", "POST"])
        #expect(
            transport.requests.first?.url == "https://api.stripe.com/v1/refunds?payment_intent=pi_3PayFleet01&limit=100")
        let request = try #require(transport.requests.last)
        #expect(request.url == "https://api.stripe.com/v1/refunds")
        #expect(request.header("Idempotency-Key") == "RF1")
        #expect(
            String(decoding: request.body, as: UTF8.self)
                == "payment_intent=pi_3PayFleet01&amount=500&reason=requested_by_customer&metadata%5Breason%5D=cup+broke"
                + "&metadata%5Bout_trade_no%5D=PF1&metadata%5Bout_refund_no%5D=RF1")
        for (status, succeeded) in [("succeeded", true), ("failed", false), ("canceled", false)] {
            let body = Self.refundObject(status: status)
            let state = try await StripeGateway(client: try client(refunds(created: body)), now: { Sandbox.now })
                .refund(Self.refundOrder)
            if succeeded {
                #expect(
                    state
                        == .succeeded(
                            ChannelRefund(
                                refundNo: "RF1", channelRefundNo: "re_3PayFleet01", amountMinor: 500,
                                succeededAt: Sandbox.now, raw: body)))
            } else {
                #expect(state == .failed(channelRefundNo: "re_3PayFleet01", detail: status, raw: body))
            }
        }
        // Made the day before (its Idempotency-Key forgotten by Stripe): answered as it is, nothing created.
        let made = Self.refundObject(id: "re_yesterday", status: "succeeded")
        let later = refunds(listed: [Self.refundObject(id: "re_other", status: "succeeded", outRefundNo: "RF0"), made],
            created: Self.refundObject(id: "re_second", status: "pending"))
        guard case .succeeded(let found) = try await StripeGateway(client: try client(later)).refund(Self.refundOrder)
        else {
            Issue.record("the refund made before was not found")
            return
        }
        #expect(found.channelRefundNo == "re_yesterday")
        #expect(later.requests.map(\.method) == ["GET"])
    }

    @Test("gateway refund query: by id when known, else the PaymentIntent's refunds matched by out_refund_no")
    func gatewayRefundQuery() async throws {
        let byID = StubTransport(always: reply(Self.refundObject(status: "succeeded")))
        guard
            case .succeeded = try await StripeGateway(client: try client(byID))
                .queryRefund(Self.refundOrder.lookup(channelRefundNo: "re_3PayFleet01"))
        else {
            Issue.record("a succeeded refund retrieved by id is succeeded")
            return
        }
        #expect(byID.requests.first?.url == "https://api.stripe.com/v1/refunds/re_3PayFleet01")
        #expect(byID.requests.first?.method == "GET")

        let list =
            #"{"object":"list","url":"/v1/refunds","has_more":false,"data":["#
            + Self.refundObject(id: "re_other", status: "succeeded", outRefundNo: "RF0") + ","
            + Self.refundObject(id: "re_ours", status: "failed") + "]}"
        let listed = StubTransport(always: reply(list))
        guard
            case .failed(let id, _, _) = try await StripeGateway(client: try client(listed))
                .queryRefund(Self.refundOrder.lookup(channelRefundNo: nil))
        else {
            Issue.record("our refund in the list is failed")
            return
        }
        #expect(id == "re_ours")
        #expect(listed.requests.first?.url == "https://api.stripe.com/v1/refunds?payment_intent=pi_3PayFleet01&limit=100")

        let empty = StubTransport(always: reply(#"{"object":"list","url":"/v1/refunds","has_more":false,"data":[]}"#))
        #expect(
            try await StripeGateway(client: try client(empty)).queryRefund(Self.refundOrder.lookup(channelRefundNo: nil))
                == .notFound)
        let missing = reply(
            #"{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such refund"}}"#,
            status: 404)
        #expect(
            try await StripeGateway(client: try client(StubTransport(always: missing)))
                .queryRefund(Self.refundOrder.lookup(channelRefundNo: "re_gone")) == .notFound)
    }
}
