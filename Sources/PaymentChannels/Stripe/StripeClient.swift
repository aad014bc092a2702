import Foundation
import PayFleetMessages

/// Calls the Stripe API for one account: PaymentIntent create, retrieve, cancel and search, Refund create, and the
/// day's PaymentIntents and Refunds lists that reconciliation reads.
///
/// Every request carries `Authorization: Bearer <secret key>`, the pinned `Stripe-Version`, and POSTs an
/// `application/x-www-form-urlencoded` body (nested keys as `metadata[out_trade_no]`) with an `Idempotency-Key`
/// derived from our numbers, so a retried job never creates, cancels or refunds twice (Stripe keeps keys for at
/// least 24 hours). Errors are Stripe's error object, classified by
/// ``ChannelAPIError/stripe(status:type:code:message:operation:requestID:)``. No retries.
///
/// Request shapes follow the Stripe API reference: "Create a PaymentIntent" (`POST /v1/payment_intents`:
/// `amount`, `currency` lower-case, `description`, `metadata[out_trade_no]`,
/// `automatic_payment_methods[enabled]=true`), "Retrieve a PaymentIntent" (`GET /v1/payment_intents/:id`), "Cancel
/// a PaymentIntent" (`POST /v1/payment_intents/:id/cancel`, `cancellation_reason=abandoned`), "Search
/// PaymentIntents" (`GET /v1/payment_intents/search?query=metadata['out_trade_no']:'…'`), "Create a refund"
/// (`POST /v1/refunds`: `payment_intent`, `amount`, `reason`, `metadata[…]`), "Idempotent requests" and "Errors".
public struct StripeClient: Sendable {
    private let checks = ChannelClientChecks(channel: .stripe, requestIDHeader: "Request-Id")
    public let configuration: StripeClientConfiguration
    /// Our merchant account id (`channels.stripe.<id>`).
    public let merchantID: String
    private let secretKey: StripeSecretKey
    private let transport: any ChannelHTTPTransport
    private let baseURL: APIBaseURL

    /// Throws ``ChannelAPIError/Code/configuration`` when the base URL is not an http(s) URL without query.
    public init(
        merchantID: String, secretKey: StripeSecretKey, configuration: StripeClientConfiguration,
        transport: any ChannelHTTPTransport
    ) throws(ChannelAPIError) {
        self.baseURL = try APIBaseURL(
            configured: configuration.baseURL, setting: "Stripe base URL", channel: .stripe,
            example: StripeClientConfiguration.productionBaseURL)
        self.merchantID = merchantID
        self.secretKey = secretKey
        self.configuration = configuration
        self.transport = transport
    }

    /// The `Idempotency-Key` of the PaymentIntent create for payment `outTradeNo`.
    public static func createKey(outTradeNo: String) -> String { "payfleet-create-\(outTradeNo)" }

    /// The `Idempotency-Key` of the cancel of PaymentIntent `id` of payment `outTradeNo`.
    public static func cancelKey(outTradeNo: String, paymentIntentID: String) -> String {
        "payfleet-cancel-\(outTradeNo)-\(paymentIntentID)"
    }

    // MARK: Operations

    /// Creates a PaymentIntent (automatic payment methods) for our payment; repeating the call for the same
    /// payment within Stripe's idempotency window returns the same PaymentIntent.
    public func createPaymentIntent(
        _ request: StripePaymentIntentRequest
    ) async throws(ChannelAPIError) -> StripePaymentIntent {
        let operation = "create_payment_intent"
        try checks.requireNumber(request.outTradeNo, "out_trade_no", operation)
        guard request.amountMinor > 0 else { throw checks.invalid(operation, "a PaymentIntent's amount must be more than 0") }
        guard request.currency.utf8.count == 3, request.currency.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw checks.invalid(operation, "currency must be a three-letter ISO 4217 code")
        }
        let response = try await send(createRequest(request), operation: operation)
        return try paymentIntent(response.body, operation: operation)
    }

    /// Retrieves a PaymentIntent by id; an unknown id fails with ``ChannelAPIError/Code/notFound``.
    public func retrievePaymentIntent(id: String) async throws(ChannelAPIError) -> StripePaymentIntent {
        let operation = "retrieve_payment_intent"
        try requireID(id, operation)
        let response = try await send(
            request("GET", "/v1/payment_intents/\(APIBaseURL.encodeComponent(id))", form: nil, idempotencyKey: nil),
            operation: operation)
        return try paymentIntent(response.body, operation: operation)
    }

    /// Cancels a PaymentIntent (`cancellation_reason=abandoned`). One that succeeded or is already canceled fails
    /// with ``ChannelAPIError/Code/rejected`` (`payment_intent_unexpected_state`).
    public func cancelPaymentIntent(
        id: String, outTradeNo: String
    ) async throws(ChannelAPIError) -> StripePaymentIntent {
        let operation = "cancel_payment_intent"
        try requireID(id, operation)
        let response = try await send(
            request(
                "POST", "/v1/payment_intents/\(APIBaseURL.encodeComponent(id))/cancel",
                form: [(key: "cancellation_reason", value: "abandoned")],
                idempotencyKey: Self.cancelKey(outTradeNo: outTradeNo, paymentIntentID: id)),
            operation: operation)
        return try paymentIntent(response.body, operation: operation)
    }

    /// The PaymentIntents whose `metadata.out_trade_no` is `outTradeNo` (at most 10, newest first). Stripe's
    /// search is eventually consistent: a PaymentIntent created less than about a minute ago may be missing yet.
    public func searchPaymentIntents(outTradeNo: String) async throws(ChannelAPIError) -> [StripePaymentIntent] {
        let operation = "search_payment_intents"
        try checks.requireNumber(outTradeNo, "out_trade_no", operation)
        let response = try await send(searchRequest(outTradeNo: outTradeNo), operation: operation)
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let items = object["data"] as? [Any]
        else {
            throw checks.malformed(operation, "the search result has no data list", response)
        }
        var found: [StripePaymentIntent] = []
        for item in items {
            guard let data = try? JSONSerialization.data(withJSONObject: item, options: [.sortedKeys]) else {
                throw checks.malformed(operation, "a search result entry is not an object", response)
            }
            let intent = try paymentIntent(Array(data), operation: operation)
            // The search matches the metadata; a result for another payment is not trusted.
            if intent.outTradeNo == outTradeNo { found.append(intent) }
        }
        return found
    }

    /// Creates a refund; its `Idempotency-Key` is our refund number, so a repeated call never refunds twice.
    public func createRefund(_ refund: StripeRefundRequest) async throws(ChannelAPIError) -> StripeRefund {
        let operation = "create_refund"
        try requireID(refund.paymentIntentID, operation)
        try checks.requireNumber(refund.outRefundNo, "out_refund_no", operation)
        guard refund.amountMinor > 0 else { throw checks.invalid(operation, "a refund's amount must be more than 0") }
        let response = try await send(refundRequest(refund), operation: operation)
        return try decodeRefund(response.body, response, operation: operation)
    }

    /// Retrieves a refund by its id (`GET /v1/refunds/{id}`). An unknown id fails with ``ChannelAPIError/Code/notFound``.
    public func retrieveRefund(id: String) async throws(ChannelAPIError) -> StripeRefund {
        let operation = "retrieve_refund"
        try requireID(id, operation)
        let response = try await send(
            request("GET", "/v1/refunds/\(APIBaseURL.encodeComponent(id))", form: nil, idempotencyKey: nil),
            operation: operation)
        return try decodeRefund(response.body, response, operation: operation)
    }

    /// The refunds of a PaymentIntent, newest first (`GET /v1/refunds?payment_intent=…&limit=100`).
    public func listRefunds(paymentIntentID: String) async throws(ChannelAPIError) -> [StripeRefund] {
        let operation = "list_refunds"
        try requireID(paymentIntentID, operation)
        let query = FormCodec.encode([(key: "payment_intent", value: paymentIntentID), (key: "limit", value: "100")])
        let response = try await send(
            request("GET", "/v1/refunds?" + query, form: nil, idempotencyKey: nil), operation: operation)
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let items = object["data"] as? [Any]
        else {
            throw checks.malformed(operation, "the refund list has no data list", response)
        }
        var refunds: [StripeRefund] = []
        for item in items {
            guard let data = try? JSONSerialization.data(withJSONObject: item, options: [.sortedKeys]) else {
                throw checks.malformed(operation, "a refund list entry is not an object", response)
            }
            let refund = try decodeRefund(Array(data), response, operation: operation)
            // The list is filtered by the PaymentIntent; an entry of another is not trusted.
            if refund.paymentIntentID == nil || refund.paymentIntentID == paymentIntentID { refunds.append(refund) }
        }
        return refunds
    }

    /// The day's side of Stripe for reconciliation (see ``StripeBill``): the PaymentIntents and the Refunds created in
    /// `day` (UTC), every page of each list followed through `has_more` and `starting_after`. Returns their records
    /// and how many objects were skipped for lacking our metadata. A list that says `has_more` but repeats its last
    /// id or ends empty is ``ChannelAPIError/Code/malformedResponse``, as is an object the parser cannot read.
    public func listBill(day: BillDay) async throws(ChannelAPIError) -> (records: [BillRecord], skipped: Int) {
        var records: [BillRecord] = []
        var skipped = 0
        for list in [BillList.paymentIntents, .refunds] {
            var after: String?
            var pages = 0
            while true {
                let page = try await billPage(list, day: day, startingAfter: after)
                records += page.records
                skipped += page.skipped
                pages += 1
                guard page.hasMore else { break }
                guard let last = page.lastID, last != after, pages < Self.maxBillPages else {
                    throw ChannelAPIError(
                        code: .malformedResponse, channel: .stripe, operation: list.operation, httpStatus: 200,
                        message: "the Stripe list says has_more but gives no new last id to continue after",
                        detail: "page \(pages)")
                }
                after = last
            }
        }
        return (records, skipped)
    }

    /// The lists a day's bill reads.
    public enum BillList: Sendable {
        case paymentIntents
        case refunds

        var operation: String {
            switch self {
            case .paymentIntents: "list_payment_intents"
            case .refunds: "list_refunds_of_day"
            }
        }
    }

    /// One page of a day's list (`limit=100`), decoded by ``StripeBill``.
    public func billPage(
        _ list: BillList, day: BillDay, startingAfter: String?
    ) async throws(ChannelAPIError) -> StripeBill.Page {
        let path =
            switch list {
            case .paymentIntents: StripeBill.paymentIntentsPath(day: day, startingAfter: startingAfter)
            case .refunds: StripeBill.refundsPath(day: day, startingAfter: startingAfter)
            }
        var request = request("GET", path, form: nil, idempotencyKey: nil)
        request.maxResponseBytes = Self.maxBillPageBytes
        let response = try await send(request, operation: list.operation)
        do throws(ChannelError) {
            switch list {
            case .paymentIntents: return try StripeBill.paymentIntents(response.body)
            case .refunds: return try StripeBill.refunds(response.body)
            }
        } catch {
            throw .unreadableBill(error, channel: .stripe, operation: list.operation)
        }
    }

    /// A page of 100 objects is a few hundred kilobytes; this leaves room for large metadata.
    static let maxBillPageBytes = 16 << 20
    /// 2 million objects a day per list: more is taken for a list that never ends.
    static let maxBillPages = 20_000

    private func decodeRefund(
        _ body: [UInt8], _ response: ChannelHTTPResponse, operation: String
    ) throws(ChannelAPIError) -> StripeRefund {
        let reply = try decode(RefundReply.self, body, operation: operation)
        guard let id = reply.id, !id.isEmpty, let status = reply.status, let amount = reply.amount,
            let currency = reply.currency
        else {
            throw checks.malformed(operation, "the refund has no id, status, amount or currency", response)
        }
        return StripeRefund(
            id: id, status: status, amountMinor: amount, currency: currency.uppercased(),
            paymentIntentID: reply.paymentIntent, outRefundNo: reply.metadata?["out_refund_no"],
            raw: String(decoding: body, as: UTF8.self))
    }

    /// The values Stripe's Refund `reason` takes.
    public static let refundReasons: Set<String> = ["duplicate", "fraudulent", "requested_by_customer"]

    // MARK: Requests (pure)

    /// The create request: its form body and `Idempotency-Key` (``createKey(outTradeNo:)``). Pure.
    public func createRequest(_ order: StripePaymentIntentRequest) -> ChannelHTTPRequest {
        var form: [(key: String, value: String)] = [
            (key: "amount", value: String(order.amountMinor)),
            (key: "currency", value: order.currency.lowercased()),
        ]
        if let description = order.description, !description.isEmpty {
            form.append((key: "description", value: description))
        }
        form.append((key: "metadata[out_trade_no]", value: order.outTradeNo))
        form.append((key: "automatic_payment_methods[enabled]", value: "true"))
        return request(
            "POST", "/v1/payment_intents", form: form, idempotencyKey: Self.createKey(outTradeNo: order.outTradeNo))
    }

    /// The search request for payment `outTradeNo`. Pure.
    public func searchRequest(outTradeNo: String) -> ChannelHTTPRequest {
        let escaped = outTradeNo.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        let query = FormCodec.encode([
            (key: "query", value: "metadata['out_trade_no']:'\(escaped)'"), (key: "limit", value: "10"),
        ])
        return request("GET", "/v1/payment_intents/search?" + query, form: nil, idempotencyKey: nil)
    }

    /// The refund request; its `Idempotency-Key` is the refund number. Pure.
    public func refundRequest(_ refund: StripeRefundRequest) -> ChannelHTTPRequest {
        var form: [(key: String, value: String)] = [
            (key: "payment_intent", value: refund.paymentIntentID),
            (key: "amount", value: String(refund.amountMinor)),
        ]
        if let reason = refund.reason, !reason.isEmpty {
            // Stripe's `reason` takes three words; anything else travels as metadata.
            if Self.refundReasons.contains(reason) {
                form.append((key: "reason", value: reason))
            } else {
                form.append((key: "reason", value: "requested_by_customer"))
                form.append((key: "metadata[reason]", value: String(reason.prefix(500))))
            }
        }
        form.append((key: "metadata[out_trade_no]", value: refund.outTradeNo))
        form.append((key: "metadata[out_refund_no]", value: refund.outRefundNo))
        return request("POST", "/v1/refunds", form: form, idempotencyKey: refund.outRefundNo)
    }

    // MARK: Internals

    private func request(
        _ method: String, _ pathAndQuery: String, form: [(key: String, value: String)]?, idempotencyKey: String?
    ) -> ChannelHTTPRequest {
        var headers: [(String, String)] = [
            ("Authorization", secretKey.authorization),
            ("Stripe-Version", configuration.apiVersion),
            ("Accept", "application/json"),
            ("User-Agent", configuration.userAgent),
        ]
        var body: [UInt8] = []
        if let form {
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            body = Array(FormCodec.encode(form).utf8)
        }
        if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
        return ChannelHTTPRequest(method: method, url: baseURL.url(pathAndQuery), headers: headers, body: body)
    }

    private func send(
        _ request: ChannelHTTPRequest, operation: String
    ) async throws(ChannelAPIError) -> ChannelHTTPResponse {
        let response = try await transport.exchange(
            request, timeout: configuration.timeout, channel: .stripe, operation: operation)
        guard (200...299).contains(response.status) else {
            let error = (try? JSONDecoder().decode(ErrorReply.self, from: Data(response.body)))?.error
            throw ChannelAPIError.stripe(
                status: response.status, type: error?.type, code: error?.code, message: error?.message,
                operation: operation, requestID: response.header("Request-Id"))
        }
        return response
    }

    private func paymentIntent(_ body: [UInt8], operation: String) throws(ChannelAPIError) -> StripePaymentIntent {
        let reply = try decode(IntentReply.self, body, operation: operation)
        guard let id = reply.id, !id.isEmpty, let status = reply.status, !status.isEmpty, let amount = reply.amount,
            let currency = reply.currency, !currency.isEmpty
        else {
            throw ChannelAPIError(
                code: .malformedResponse, channel: .stripe, operation: operation, httpStatus: 200,
                message: "the PaymentIntent has no id, status, amount or currency")
        }
        return StripePaymentIntent(
            id: id, status: .init(rawValue: status), amountMinor: amount,
            amountReceivedMinor: reply.amountReceived ?? 0,
            currency: currency.uppercased(), clientSecret: reply.clientSecret,
            outTradeNo: reply.metadata?["out_trade_no"], latestCharge: reply.latestCharge,
            created: reply.created.map { Date(timeIntervalSince1970: TimeInterval($0)) },
            canceledAt: reply.canceledAt.map { Date(timeIntervalSince1970: TimeInterval($0)) },
            raw: String(decoding: body, as: UTF8.self))
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8], operation: String) throws(ChannelAPIError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw ChannelAPIError(
                code: .malformedResponse, channel: .stripe, operation: operation, httpStatus: 200,
                message: "the response body is not the JSON expected")
        }
    }

    private func requireID(_ id: String, _ operation: String) throws(ChannelAPIError) {
        guard (1...255).contains(id.utf8.count) else { throw checks.invalid(operation, "a Stripe object id is required") }
    }
}

// MARK: Wire formats

private struct IntentReply: Decodable {
    var id: String?
    var status: String?
    var amount: Int64?
    var amountReceived: Int64?
    var currency: String?
    var clientSecret: String?
    var metadata: [String: String]?
    var latestCharge: String?
    var created: Int64?
    var canceledAt: Int64?

    enum CodingKeys: String, CodingKey {
        case id, status, amount, currency, metadata, created
        case amountReceived = "amount_received"
        case clientSecret = "client_secret"
        case latestCharge = "latest_charge"
        case canceledAt = "canceled_at"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id)
        status = try container.decodeIfPresent(String.self, forKey: .status)
        amount = try container.decodeIfPresent(Int64.self, forKey: .amount)
        amountReceived = try container.decodeIfPresent(Int64.self, forKey: .amountReceived)
        currency = try container.decodeIfPresent(String.self, forKey: .currency)
        clientSecret = try container.decodeIfPresent(String.self, forKey: .clientSecret)
        metadata = try? container.decodeIfPresent([String: String].self, forKey: .metadata)
        created = try container.decodeIfPresent(Int64.self, forKey: .created)
        canceledAt = try container.decodeIfPresent(Int64.self, forKey: .canceledAt)
        // An id, or an expanded Charge.
        if let text = try? container.decodeIfPresent(String.self, forKey: .latestCharge) {
            latestCharge = text
        } else {
            latestCharge = try? container.decodeIfPresent(StripeEvent.Expanded.self, forKey: .latestCharge)?.id
        }
    }
}

private struct RefundReply: Decodable {
    var id: String?
    var status: String?
    var amount: Int64?
    var currency: String?
    var paymentIntent: String?
    var metadata: [String: String]?

    enum CodingKeys: String, CodingKey {
        case id, status, amount, currency, metadata
        case paymentIntent = "payment_intent"
    }
}

private struct ErrorReply: Decodable {
    struct Body: Decodable {
        var type: String?
        var code: String?
        var message: String?
    }

    var error: Body?
}
