import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import PayFleetMessages
import PaymentChannels
import Synchronization

/// The Stripe API played locally, under the paths the real API uses: `POST /v1/payment_intents`,
/// `GET /v1/payment_intents/:id`, `POST /v1/payment_intents/:id/cancel`, `GET /v1/payment_intents/search`
/// (`query=metadata['out_trade_no']:'…'` only), `POST /v1/refunds` (created `pending`; it succeeds after
/// `sandbox.refund_complete_ms`), `GET /v1/refunds/:id` and `GET /v1/refunds?payment_intent=…`, and the lists of a
/// day that reconciliation reads (`GET /v1/payment_intents` and `GET /v1/refunds` with `created[gte]`/`created[lt]`,
/// paginated; see ``dayList(_:_:query:)``).
///
/// Requests must carry `Authorization: Bearer <secret key>` of a configured account (compared in constant time;
/// otherwise 401 with Stripe's error object). POST bodies are form-encoded with `metadata[…]` keys. Every POST
/// honours `Idempotency-Key` as Stripe does: the same key with the same path and body replays the first reply
/// (`Idempotent-Replayed: true`); the same key with another path or body is a 400 `idempotency_error`, and while the
/// key's first request is being answered a 409 `idempotency_key_in_use`. Errors are
/// `{"error":{"type":…,"code":…,"message":…,"param":…}}` with a `Request-Id` header.
///
/// One PaymentIntent per `metadata[out_trade_no]` (the ledger's key): a second create for the same payment number
/// with another idempotency key is refused with a 400 naming this sandbox limit. Acts: pay confirms the
/// PaymentIntent (`succeeded`, a `ch_…` charge) and sends `payment_intent.succeeded`; close cancels it and sends
/// `payment_intent.canceled`; a refund's completion sends `refund.updated` (the Refund, as current API versions
/// send it) and `charge.refunded` with the refund embedded in `refunds` (the charge shape of API versions before
/// 2022-11-15, newest first): two events naming one refund when it is the charge's only one; a failed one
/// (`abnormal`) sends `refund.updated` and `refund.failed`. Refunds are idempotent on the `Idempotency-Key` alone, as
/// at Stripe: `metadata[out_refund_no]` reused under another key makes a second refund. Webhooks are signed with the
/// account's endpoint secret (`Stripe-Signature`), go to `<notify_base_url>/notify/stripe/<merchant>` (Stripe's
/// endpoints are configured per account), and are retried on ``NotificationRetrySchedule/stripe``.
///
/// Faults: `stripe.create`, `stripe.retrieve`, `stripe.cancel`, `stripe.search`, `stripe.refund`,
/// `stripe.refund_query`, `stripe.list` (`error5xx` is a 500 `api_error`; `tamper` has no effect, Stripe's replies
/// are unsigned; `refuse` and `abnormal` on the refund), `stripe.notify`.
struct StripeSandbox: SandboxChannel {
    static let channel = ChannelID.stripe
    let settings: SandboxSettings.Stripe
    let context: SandboxContext
    let memory = StripeSandboxMemory()

    var faultEndpoints: [String] {
        ["create", "retrieve", "cancel", "search", "refund", "refund_query", "list", "notify"].map { "stripe.\($0)" }
    }

    /// A reply before faults: status and JSON body.
    struct Plain: Error, Sendable {
        var status: Int
        var body: [UInt8]

        init(status: Int, object: [String: Any]) {
            self.status = status
            self.body = SandboxJSON.encode(object)
        }

        static func ok(_ object: [String: Any]) -> Plain { Plain(status: 200, object: object) }

        static func error(
            _ status: Int, type: String, code: String? = nil, param: String? = nil, _ message: String
        ) -> Plain {
            var error: [String: Any] = ["type": type, "message": message]
            if let code {
                error["code"] = code
                error["doc_url"] =
                    "https://stripe.com/docs/error-codes/\(code.replacingOccurrences(of: "_", with: "-"))"
            }
            if let param { error["param"] = param }
            return Plain(status: status, object: ["error": error])
        }

        func reply(replayed: Bool = false) -> SandboxReply {
            var headers: [(String, String)] = [
                ("Content-Type", "application/json"), ("Request-Id", "req_" + SandboxIDs.token(14)),
                ("Stripe-Version", StripeClientConfiguration.defaultAPIVersion),
            ]
            if replayed { headers.append(("Idempotent-Replayed", "true")) }
            return SandboxReply(status: status, headers: headers, body: body)
        }
    }

    struct Call {
        var merchant: SandboxSettings.StripeMerchant
        var form: [String: String]
        /// The fault taken for this call, if any.
        var fault: SandboxFault?
    }

    // MARK: Routes

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v1/payment_intents") { request, _ in
            try await handle(request, endpoint: "stripe.create", path: "/v1/payment_intents", create).response
        }
        router.get("/v1/payment_intents") { request, _ in
            try await handle(request, endpoint: "stripe.list", path: "/v1/payment_intents") {
                dayList($0, .paymentIntents, query: request.uri.query)
            }.response
        }
        router.get("/v1/payment_intents/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            if id == "search" {
                return try await handle(request, endpoint: "stripe.search", path: "/v1/payment_intents/search") {
                    search($0, query: request.uri.queryParameters.get("query") ?? "")
                }.response
            }
            return try await handle(request, endpoint: "stripe.retrieve", path: "/v1/payment_intents/\(id)") {
                retrieve($0, id: id)
            }.response
        }
        router.post("/v1/payment_intents/:id/cancel") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await handle(request, endpoint: "stripe.cancel", path: "/v1/payment_intents/\(id)/cancel") {
                cancel($0, id: id)
            }.response
        }
        router.post("/v1/refunds") { request, _ in
            try await handle(request, endpoint: "stripe.refund", path: "/v1/refunds", createRefund).response
        }
        router.get("/v1/refunds/:id") { request, context in
            let id = context.parameters.get("id") ?? ""
            return try await handle(request, endpoint: "stripe.refund_query", path: "/v1/refunds/\(id)") {
                retrieveRefund($0, id: id)
            }.response
        }
        router.get("/v1/refunds") { request, _ in
            let query = request.uri.query ?? ""
            if query.contains("created") {
                return try await handle(request, endpoint: "stripe.list", path: "/v1/refunds") {
                    dayList($0, .refunds, query: query)
                }.response
            }
            return try await handle(request, endpoint: "stripe.refund_query", path: "/v1/refunds") {
                listRefunds(
                    $0, paymentIntent: request.uri.queryParameters.get("payment_intent"),
                    limit: request.uri.queryParameters.get("limit"))
            }.response
        }
    }

    private func handle(
        _ request: Request, endpoint: String, path: String, _ operation: (Call) -> Plain
    ) async throws -> SandboxReply {
        let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            let merchant = settings.merchant(secretKey: Array(header.dropFirst("Bearer ".count).utf8))
        else {
            return Plain.error(
                401, type: "invalid_request_error",
                "Invalid API Key provided. You did not provide a valid API key in the Authorization header "
                    + "(Authorization: Bearer YOUR_SECRET_KEY)."
            ).reply()
        }
        var form: [String: String] = [:]
        do {
            for pair in try FormCodec.decode(body) { form[pair.key] = pair.value }
        } catch {
            return Plain.error(400, type: "invalid_request_error", "Invalid request body: not form-encoded").reply()
        }
        let fault = faults.take(endpoint)
        if fault?.mode == .error5xx {
            return Plain.error(500, type: "api_error", "An unknown error occurred").reply()
        }
        let method = request.method.rawValue
        let idempotencyKey = method == "POST" ? request.headers[HTTPField.Name("Idempotency-Key")!] : nil
        let fingerprint = Array(SHA256.hash(data: Array("\(method) \(path)\n".utf8) + body))
        if let idempotencyKey {
            switch memory.begin(account: merchant.id, key: idempotencyKey, fingerprint: fingerprint) {
            case .new: break
            case .inFlight:
                return Plain.error(
                    409, type: "invalid_request_error", code: "idempotency_key_in_use",
                    "There is currently another in-progress request using this Idempotent Key (that probably means "
                        + "you submitted twice, and the other request is still going through): "
                        + "\(idempotencyKey.prefix(80)). Please try again later."
                ).reply()
            case .replay(let plain):
                if path == "/v1/refunds" { auditRemembered(plain, merchant, form, mismatch: false) }
                return await plain.reply(replayed: true).applying(fault, dropHold: dropHold)
            case .mismatch(let original):
                if path == "/v1/refunds" { auditRemembered(original, merchant, form, mismatch: true) }
                return Plain.error(
                    400, type: "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they were first used "
                        + "with. Try using a key other than '\(idempotencyKey.prefix(80))' if you meant to execute a "
                        + "different request."
                ).reply()
            }
        }
        let plain = operation(Call(merchant: merchant, form: form, fault: fault))
        if let idempotencyKey {
            // Stripe keeps what the request did, not a failure of its own: a 5xx or 429 may be retried afresh.
            let kept = plain.status < 500 && plain.status != 429
            memory.finish(account: merchant.id, key: idempotencyKey, plain: kept ? plain : nil)
        }
        return await plain.reply().applying(fault, dropHold: dropHold)
    }

    // MARK: PaymentIntents

    private func key(_ merchant: SandboxSettings.StripeMerchant, _ outTradeNo: String) -> SandboxPaymentKey {
        SandboxPaymentKey(channel: name, account: merchant.id, outTradeNo: outTradeNo)
    }

    func create(_ call: Call) -> Plain {
        guard let amountText = call.form["amount"] else {
            return .error(
                400, type: "invalid_request_error", code: "parameter_missing", param: "amount",
                "Missing required param: amount.")
        }
        guard let amount = Int64(amountText), amount > 0 else {
            return .error(
                400, type: "invalid_request_error", code: "parameter_invalid_integer", param: "amount",
                "Invalid integer: \(amountText.prefix(20))")
        }
        guard let currency = call.form["currency"], currency.utf8.count == 3,
            currency == currency.lowercased(), currency.allSatisfy(\.isLetter)
        else {
            return .error(
                400, type: "invalid_request_error", code: "parameter_missing", param: "currency",
                "Missing or invalid param: currency (a lower-case ISO currency code).")
        }
        let id = "pi_3" + SandboxIDs.token(23)
        let outTradeNo = call.form["metadata[out_trade_no]"].flatMap { $0.isEmpty ? nil : $0 } ?? id
        let created = ledger.update(key(call.merchant, outTradeNo)) { payment -> SandboxPayment? in
            guard payment == nil else { return nil }
            payment = SandboxPayment(
                key: key(call.merchant, outTradeNo), merchantID: call.merchant.id, appID: call.merchant.id,
                tradeNo: id, credential: id + "_secret_" + SandboxIDs.token(25), tradeType: "payment_intent",
                amountMinor: amount, currency: currency, subject: call.form["description"] ?? "", attach: nil,
                payer: nil, notifyURL: "\(notifyBaseURL)/notify/stripe/\(call.merchant.id)", status: .unpaid,
                createdAt: ledger.bills.takeCreatedAt(outTradeNo) ?? Date())
            return payment
        }
        guard let created else {
            return .error(
                400, type: "invalid_request_error", param: "metadata[out_trade_no]",
                "PayFleet sandbox: a PaymentIntent for metadata[out_trade_no]=\(outTradeNo.prefix(64)) exists already; "
                    + "the sandbox keeps one per payment number (repeat the create with its Idempotency-Key).")
        }
        memory.index(id, created.key)
        return .ok(intentJSON(created))
    }

    func retrieve(_ call: Call, id: String) -> Plain {
        guard let payment = intent(id, of: call.merchant) else { return missing("payment_intent", id) }
        return .ok(intentJSON(payment))
    }

    func cancel(_ call: Call, id: String) -> Plain {
        guard let found = intent(id, of: call.merchant) else { return missing("payment_intent", id) }
        let reason = call.form["cancellation_reason"]
        let result = ledger.update(found.key) { payment -> Result<SandboxPayment, Plain> in
            guard payment!.status == .unpaid else {
                let status = payment!.status == .paid ? "succeeded" : "canceled"
                return .failure(
                    .error(
                        400, type: "invalid_request_error", code: "payment_intent_unexpected_state",
                        "You cannot cancel this PaymentIntent because it has a status of \(status). Only a "
                            + "PaymentIntent with one of the following statuses may be canceled: "
                            + "requires_payment_method, requires_capture, requires_confirmation, requires_action, "
                            + "processing."))
            }
            payment!.status = .closed
            payment!.closedAt = Date()
            payment!.attach = reason
            return .success(payment!)
        }
        switch result {
        case .success(let payment): return .ok(intentJSON(payment))
        case .failure(let plain): return plain
        }
    }

    func search(_ call: Call, query: String) -> Plain {
        let prefix = "metadata['out_trade_no']:'"
        guard query.hasPrefix(prefix), query.hasSuffix("'"), query.count > prefix.count else {
            return .error(
                400, type: "invalid_request_error", param: "query",
                "PayFleet sandbox: the search supports only metadata['out_trade_no']:'…'.")
        }
        let value = String(query.dropFirst(prefix.count).dropLast())
            .replacingOccurrences(of: "\\'", with: "'").replacingOccurrences(of: "\\\\", with: "\\")
        let found = ledger.find(channel: name, outTradeNo: value, account: call.merchant.id)
        return .ok([
            "object": "search_result", "url": "/v1/payment_intents/search", "has_more": false,
            "next_page": NSNull(), "data": found.map(intentJSON),
        ])
    }

    func createRefund(_ call: Call) -> Plain {
        guard let intentID = call.form["payment_intent"] ?? call.form["charge"] else {
            return .error(
                400, type: "invalid_request_error", code: "parameter_missing", param: "payment_intent",
                "Missing required param: payment_intent.")
        }
        guard let found = intent(intentID, of: call.merchant) ?? chargeIntent(intentID, of: call.merchant) else {
            ledger.recordRefusal(
                unknownKey(call.merchant, call.form), outRefundNo: call.form["metadata[out_refund_no]"] ?? "",
                amount: call.form["amount"].flatMap { Int64($0) } ?? 0, reason: "no such payment_intent")
            return missing("payment_intent", intentID)
        }
        let requested = call.form["amount"].flatMap { Int64($0) }
        if let amount = call.form["amount"], requested == nil || requested! <= 0 {
            return .error(
                400, type: "invalid_request_error", code: "parameter_invalid_integer", param: "amount",
                "Invalid positive integer: \(amount.prefix(20))")
        }
        let refundID = "re_3" + SandboxIDs.token(23)
        let outRefundNo = call.form["metadata[out_refund_no]"].flatMap { $0.isEmpty ? nil : $0 } ?? refundID
        let amount = requested ?? (found.amountMinor - found.refundedMinor)
        // Stripe is idempotent on the Idempotency-Key only (handled above): a number reused in the metadata under
        // another key is a second refund there, and so here.
        let result = ledger.requestRefund(
            found.key, outRefundNo: outRefundNo, amount: amount, refuse: call.fault?.mode == .refuse, byNumber: false
        ) { _ in
            SandboxRefund(
                outRefundNo: outRefundNo, refundID: refundID, amountMinor: amount, reason: call.form["reason"],
                notifyURL: nil, status: .processing, createdAt: ledger.bills.finishedAt(outRefundNo) ?? Date(),
                failsOnCompletion: call.fault?.mode == .abnormal)
        }
        switch result {
        case .failure(.noOrder): return missing("payment_intent", intentID)
        case .failure(.notPaid):
            return .error(
                400, type: "invalid_request_error", "This PaymentIntent does not have a successful charge to refund.")
        case .failure(.exceeds(let left)) where left <= 0:
            return .error(
                400, type: "invalid_request_error", code: "charge_already_refunded",
                "Charge \(memory.charge(of: found.tradeNo) ?? "") has already been refunded.")
        case .failure(.exceeds(let left)):
            return .error(
                400, type: "invalid_request_error", param: "amount",
                "Refund amount (\(amount)) is greater than unrefunded amount on charge (\(left))")
        case .failure(.refused):
            return .error(
                400, type: "invalid_request_error", code: "charge_disputed",
                "Charge \(memory.charge(of: found.tradeNo) ?? "") has been charged back; cannot issue a refund.")
        case .failure(.amountDiffers), .failure(.invalid):
            return .error(400, type: "invalid_request_error", "The refund's parameters are not the first ones'.")
        case .success(let made):
            completeLater(made)
            return .ok(refundJSON(made.refund, of: made.payment))
        }
    }

    func retrieveRefund(_ call: Call, id: String) -> Plain {
        for payment in ledger.find(channel: name, refundID: id, account: call.merchant.id) {
            if let refund = payment.refunds.first(where: { $0.refundID == id }) { return .ok(refundJSON(refund, of: payment)) }
        }
        return missing("refund", id)
    }

    /// `GET /v1/refunds`: the refunds of the PaymentIntent named (else of the account), newest first, `limit` of
    /// them (1 to 100, default 10) with `has_more`. No cursors: the sandbox's lists are short.
    func listRefunds(_ call: Call, paymentIntent: String?, limit: String?) -> Plain {
        let count = limit.map { Int($0) } ?? 10
        guard let count, (1...100).contains(count) else {
            return .error(
                400, type: "invalid_request_error", code: "parameter_invalid_integer", param: "limit",
                "Invalid integer: \(limit?.prefix(20) ?? "")")
        }
        let payments: [SandboxPayment]
        if let paymentIntent {
            guard let payment = intent(paymentIntent, of: call.merchant) else {
                return missing("payment_intent", paymentIntent)
            }
            payments = [payment]
        } else {
            payments = ledger.all(channel: name, account: call.merchant.id)
        }
        let refunds = payments.flatMap { payment in payment.refunds.map { (payment, $0) } }
            .enumerated().sorted { ($0.element.1.createdAt, $0.offset) > ($1.element.1.createdAt, $1.offset) }
            .map(\.element)
        return .ok([
            "object": "list", "url": "/v1/refunds", "has_more": refunds.count > count,
            "data": refunds.prefix(count).map { refundJSON($0.1, of: $0.0) },
        ])
    }

    enum DayList {
        case paymentIntents
        case refunds
    }

    /// `GET /v1/payment_intents` and `GET /v1/refunds` with `created[gte]`/`created[lt]`: what reconciliation reads
    /// of a day. The sandbox lists the day's bill lines
    /// (``SandboxLedger/billRecords(channel:account:day:zone:timing:)`` by creation time, with the bill edits):
    /// PaymentIntents that succeeded and Refunds that finished, created in the window — not the ones still open,
    /// which reconciliation skips anyway. Newest first, `limit` (1 to 100, default 10) a page, `has_more`,
    /// `starting_after` an id of the list as at Stripe. The first page of a day's PaymentIntents counts as one
    /// download of the day's bill.
    func dayList(_ call: Call, _ list: DayList, query: String?) -> Plain {
        var parameters: [String: String] = [:]
        for pair in (try? FormCodec.decode(Array((query ?? "").utf8))) ?? [] { parameters[pair.key] = pair.value }
        let limitText = parameters["limit"]
        guard let limit = limitText.map({ Int($0) }) ?? 10, (1...100).contains(limit) else {
            return .error(
                400, type: "invalid_request_error", code: "parameter_invalid_integer", param: "limit",
                "Invalid integer: \(limitText?.prefix(20) ?? "")")
        }
        guard let gte = parameters["created[gte]"].flatMap({ Int64($0) }),
            let lt = parameters["created[lt]"].flatMap({ Int64($0) }), gte < lt
        else {
            return .error(
                400, type: "invalid_request_error", param: "created",
                "PayFleet sandbox: a list by day needs created[gte] and created[lt] (unix seconds, gte < lt).")
        }
        let window = Date(timeIntervalSince1970: TimeInterval(gte))..<Date(timeIntervalSince1970: TimeInterval(lt))
        let utc = Self.channel.billTimeZone
        let day = BillDay(containing: window.lowerBound, in: utc)
        let startingAfter = parameters["starting_after"].flatMap { $0.isEmpty ? nil : $0 }
        if list == .paymentIntents, startingAfter == nil {
            ledger.bills.counted(name, account: call.merchant.id, day: day)
        }
        var records: [BillRecord] = []
        var listed = day
        // Every day the window touches (a whole UTC day in reconciliation's case).
        while let start = listed.start(in: utc), start < window.upperBound {
            records += ledger.billRecords(
                channel: name, account: call.merchant.id, day: listed, zone: utc, timing: .created)
            listed = BillDay(containing: start.addingTimeInterval(36 * 3600), in: utc)
        }
        records = records.filter { window.contains($0.at) && $0.kind == (list == .paymentIntents ? .payment : .refund) }
        for index in records.indices where records[index].kind == .refund {
            records[index].channelStatus = records[index].succeeded ? "succeeded" : "failed"
        }
        func id(_ record: BillRecord) -> String {
            record.kind == .payment ? record.channelTradeNo : "re_" + (record.refundNo ?? "")
        }
        records.sort { ($0.at, id($0)) > ($1.at, id($1)) }
        var rest = records[...]
        if let startingAfter {
            guard let index = records.firstIndex(where: { id($0) == startingAfter }) else {
                return missing(list == .paymentIntents ? "payment_intent" : "refund", startingAfter)
            }
            rest = records[(index + 1)...]
        }
        let page = Array(rest.prefix(limit))
        let hasMore = rest.count > limit
        let body =
            list == .paymentIntents
            ? StripeBill.renderPaymentIntents(page, hasMore: hasMore) : StripeBill.renderRefunds(page, hasMore: hasMore)
        var plain = Plain.ok([:])
        plain.body = body
        return plain
    }

    /// A refund call answered from the idempotency memory is still a refund call, for the audit: counted under the
    /// refund its key made (with the amount it asked, which differs when the key was reused with other
    /// parameters), or recorded as refused when the key's first call was refused or this one is.
    private func auditRemembered(
        _ remembered: Plain, _ merchant: SandboxSettings.StripeMerchant, _ form: [String: String], mismatch: Bool
    ) {
        let number = form["metadata[out_refund_no]"] ?? ""
        let asked = form["amount"].flatMap { Int64($0) }
        let made = remembered.status == 200 ? SandboxJSON.decode(remembered.body) : nil
        if let made, let refundID = SandboxJSON.string(made, "id"),
            let paymentIntent = SandboxJSON.string(made, "payment_intent"),
            let found = intent(paymentIntent, of: merchant)
        {
            let amount = asked ?? SandboxJSON.int(made, "amount") ?? 0
            ledger.countRefundCall(found.key, refundID: refundID, amount: amount)
            guard mismatch else { return }
            ledger.recordRefusal(
                found.key, outRefundNo: number, amount: amount,
                reason: "Idempotency-Key of refund \(refundID) reused with other parameters")
            return
        }
        let message = SandboxJSON.string(SandboxJSON.object(SandboxJSON.decode(remembered.body), "error"), "message")
        ledger.recordRefusal(
            unknownKey(merchant, form), outRefundNo: number, amount: asked ?? 0,
            reason: mismatch
                ? "Idempotency-Key reused with other parameters" : "replayed refusal: \(message ?? "an error")")
    }

    /// The order a refund call names, for the audit, when it may be unknown.
    private func unknownKey(_ merchant: SandboxSettings.StripeMerchant, _ form: [String: String]) -> SandboxPaymentKey {
        if let intentID = form["payment_intent"], let found = intent(intentID, of: merchant) { return found.key }
        let number = form["metadata[out_trade_no]"] ?? form["payment_intent"] ?? form["charge"] ?? ""
        return key(merchant, number)
    }

    private func missing(_ kind: String, _ id: String) -> Plain {
        .error(
            404, type: "invalid_request_error", code: "resource_missing", param: "id",
            "No such \(kind): '\(id.prefix(64))'")
    }

    private func intent(_ id: String, of merchant: SandboxSettings.StripeMerchant) -> SandboxPayment? {
        guard let key = memory.key(of: id), key.account == merchant.id else { return nil }
        return ledger.payment(key)
    }

    private func chargeIntent(_ chargeID: String, of merchant: SandboxSettings.StripeMerchant) -> SandboxPayment? {
        memory.intent(ofCharge: chargeID).flatMap { intent($0, of: merchant) }
    }

    /// Stripe's PaymentIntent status of the order.
    func status(_ payment: SandboxPayment) -> String {
        switch payment.status {
        case .unpaid: "requires_payment_method"
        case .paid: "succeeded"
        case .closed: payment.paidAt == nil ? "canceled" : "succeeded"
        }
    }

    func intentJSON(_ payment: SandboxPayment) -> [String: Any] {
        let canceled = payment.paidAt == nil && payment.status == .closed
        var metadata: [String: Any] = [:]
        if payment.outTradeNo != payment.tradeNo { metadata["out_trade_no"] = payment.outTradeNo }
        return [
            "id": payment.tradeNo, "object": "payment_intent", "amount": payment.amountMinor, "amount_capturable": 0,
            "amount_received": payment.paidAt == nil ? 0 : payment.amountMinor,
            "automatic_payment_methods": ["enabled": true], "capture_method": "automatic",
            "canceled_at": canceled ? Int64(payment.closedAt?.timeIntervalSince1970 ?? 0) as Any : NSNull(),
            "cancellation_reason": canceled ? (payment.attach ?? "abandoned") as Any : NSNull(),
            "client_secret": payment.credential ?? "", "confirmation_method": "automatic",
            "created": Int64(payment.createdAt.timeIntervalSince1970), "currency": payment.currency,
            "description": payment.subject.isEmpty ? NSNull() : payment.subject as Any,
            "latest_charge": memory.charge(of: payment.tradeNo).map { $0 as Any } ?? NSNull(), "livemode": false,
            "metadata": metadata, "payment_method_types": ["card"], "status": status(payment),
        ]
    }

    /// A Refund as Stripe shows it: `pending` until it completes; a Dashboard (console) refund carries no metadata.
    func refundJSON(_ refund: SandboxRefund, of payment: SandboxPayment) -> [String: Any] {
        var metadata: [String: Any] = [:]
        if refund.origin == .api {
            metadata["out_trade_no"] = payment.outTradeNo
            if refund.outRefundNo != refund.refundID { metadata["out_refund_no"] = refund.outRefundNo }
        }
        let status: String
        switch refund.status {
        case .processing: status = "pending"
        case .success: status = "succeeded"
        case .failed: status = "failed"
        }
        var object: [String: Any] = [
            "id": refund.refundID, "object": "refund", "amount": refund.amountMinor,
            "charge": memory.charge(of: payment.tradeNo) ?? "",
            "created": Int64(refund.createdAt.timeIntervalSince1970),
            "currency": payment.currency, "metadata": metadata, "payment_intent": payment.tradeNo,
            "reason": refund.reason.map { $0 as Any } ?? NSNull(), "status": status,
        ]
        // A failed refund says why, as Stripe's do.
        if refund.status == .failed { object["failure_reason"] = "expired_or_canceled_card" }
        return object
    }

    func consoleRefundNumbers() -> (outRefundNo: String, refundID: String) {
        let id = "re_3" + SandboxIDs.token(23)
        return (id, id)
    }

    // MARK: Acts (POST /sandbox/stripe/…)

    func pay(outTradeNo: String, account: String?, late: Bool) async -> SandboxReply {
        await onOrder(outTradeNo, account: account) { found in
            let paid = ledger.payUnpaid(found.key, late: late)
            guard let paid, let paidAt = paid.paidAt else {
                return .error(409, "stripe PaymentIntent for \(outTradeNo) is canceled; it cannot be paid")
            }
            memory.charge(paid.tradeNo)
            let event = StripeNotificationSigner.paymentIntentEvent(
                eventID: "evt_3" + SandboxIDs.token(23), paymentIntentID: paid.tradeNo, outTradeNo: paid.outTradeNo,
                amount: paid.amountMinor, currency: paid.currency, created: paidAt)
            return await notify(paid, event: "payment_intent.succeeded", body: event)
        }
    }

    func close(outTradeNo: String, account: String?) async -> SandboxReply {
        await onOrder(outTradeNo, account: account) { found in
            let closed = ledger.closeUnpaid(found.key) { $0.attach = "abandoned" }
            guard let closed, let closedAt = closed.closedAt else {
                return .error(409, "stripe PaymentIntent for \(outTradeNo) succeeded; it cannot be canceled")
            }
            let event = StripeNotificationSigner.paymentIntentEvent(
                type: "payment_intent.canceled", eventID: "evt_3" + SandboxIDs.token(23),
                paymentIntentID: closed.tradeNo, outTradeNo: closed.outTradeNo, amount: closed.amountMinor,
                currency: closed.currency, created: closedAt)
            return await notify(closed, event: "payment_intent.canceled", body: event)
        }
    }

    /// The refund completes (succeeded, or failed under `abnormal`) and Stripe sends its events: `refund.updated`
    /// (the current shape), then `charge.refunded` embedding it (the pre-2022 shape) — or `refund.failed`.
    func refund(outRefundNo: String, account: String?) async -> SandboxReply {
        await completingRefund(outRefundNo, account: account) { payment, refund in
            guard let paidAt = payment.paidAt else { return noRefund(outRefundNo) }
            return await announce(refund, of: payment, paidAt: paidAt)
        }
    }

    /// The events of the refund just completed, as ``refund(outRefundNo:account:)`` describes them.
    private func announce(_ refund: SandboxRefund, of payment: SandboxPayment, paidAt: Date) async -> SandboxReply {
        let created = Int64((refund.succeededAt ?? refund.failedAt ?? Date()).timeIntervalSince1970)
        let refundObject = String(decoding: SandboxJSON.encode(refundJSON(refund, of: payment)), as: UTF8.self)
        _ = await notify(
            payment, event: "refund.updated",
            body: StripeNotificationSigner.envelope(
                type: "refund.updated", eventID: "evt_3" + SandboxIDs.token(23), object: refundObject, created: created))
        guard refund.status == .success else {
            return await notify(
                payment, event: "refund.failed",
                body: StripeNotificationSigner.envelope(
                    type: "refund.failed", eventID: "evt_3" + SandboxIDs.token(23), object: refundObject,
                    created: created))
        }
        let chargeID = memory.charge(of: payment.tradeNo) ?? memory.charge(payment.tradeNo)
        var metadata: [String: Any] = [:]
        if payment.outTradeNo != payment.tradeNo { metadata["out_trade_no"] = payment.outTradeNo }
        let charge: [String: Any] = [
            "id": chargeID, "object": "charge", "amount": payment.amountMinor, "amount_captured": payment.amountMinor,
            "amount_refunded": payment.refundedSuccessMinor, "captured": true,
            "created": Int64(paidAt.timeIntervalSince1970), "currency": payment.currency, "livemode": false,
            "metadata": metadata, "paid": true, "payment_intent": payment.tradeNo,
            "refunded": payment.refundedSuccessMinor == payment.amountMinor, "status": "succeeded",
            // The charge's refunds as Stripe embedded them before 2022-11-15: newest first, ten at most. The newest
            // need not be the one this event is about.
            "refunds": [
                "object": "list", "data": payment.refunds.reversed().prefix(10).map { refundJSON($0, of: payment) },
                "has_more": payment.refunds.count > 10, "total_count": payment.refunds.count,
                "url": "/v1/charges/\(chargeID)/refunds",
            ] as [String: Any],
        ]
        let body = StripeNotificationSigner.envelope(
            type: "charge.refunded", eventID: "evt_3" + SandboxIDs.token(23),
            object: String(decoding: SandboxJSON.encode(charge), as: UTF8.self), created: created)
        return await notify(payment, event: "charge.refunded", body: body)
    }

    func state(outTradeNo: String, account: String?) -> SandboxReply {
        onOrder(outTradeNo, account: account) { payment in
            var object = payment.stateJSON(
                state: status(payment), refundState: { refundJSON($0, of: payment)["status"] as? String ?? "" })
            object["latest_charge"] = memory.charge(of: payment.tradeNo)
            return .json(200, object)
        }
    }

    /// Posts `body` signed with the account's endpoint secret, expecting a 2xx.
    private func notify(_ payment: SandboxPayment, event: String, body: [UInt8]) async -> SandboxReply {
        guard let merchant = settings.merchants.first(where: { $0.id == payment.merchantID }) else {
            return .error(500, "stripe account \(payment.merchantID) is not configured")
        }
        let signer = StripeNotificationSigner(endpointSecret: merchant.endpointSecret)
        let eventID = (SandboxJSON.decode(body)?["id"] as? String) ?? event
        let job = NotificationDispatcher.Job(
            key: payment.key, delivery: SandboxDelivery(id: eventID, event: event, url: payment.notifyURL),
            faultEndpoint: "stripe.notify", schedule: NotificationRetrySchedule.stripe,
            accepts: { status, _ in (200...299).contains(status) },
            sign: { now, tampered in
                var header = signer.signatureHeader(body: body, timestamp: now)
                if tampered {
                    // Flip the last hex digit of v1: well-formed, and it does not verify.
                    let last = header.removeLast()
                    header.append(last == "0" ? "1" : "0")
                }
                return .init(
                    headers: [
                        ("Content-Type", StripeNotificationSigner.contentType), ("Stripe-Signature", header),
                        ("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"),
                    ],
                    body: body)
            })
        var reply = summary(payment, status: status, delivery: await dispatcher.deliver(job))
        reply["payment_intent"] = payment.tradeNo
        return .json(200, reply)
    }
}

/// What the Stripe stand-in keeps beside the ledger: PaymentIntent ids, charges, and idempotent replies.
final class StripeSandboxMemory: Sendable {
    enum Replay {
        case new
        /// Another request with the key is still being answered.
        case inFlight
        case replay(StripeSandbox.Plain)
        /// The key was used with other parameters; its first reply.
        case mismatch(StripeSandbox.Plain)
    }

    private struct Remembered: Sendable {
        var fingerprint: [UInt8]
        /// nil while the first request is being answered.
        var plain: StripeSandbox.Plain?
    }

    private struct State {
        var keys: [String: SandboxPaymentKey] = [:]
        var charges: [String: String] = [:]
        var replies: [String: Remembered] = [:]
    }

    private let state = Mutex(State())

    func index(_ id: String, _ key: SandboxPaymentKey) {
        state.withLock { $0.keys[id] = key }
    }

    func key(of id: String) -> SandboxPaymentKey? {
        state.withLock { $0.keys[id] }
    }

    /// The charge of PaymentIntent `id`, made now if it has none.
    @discardableResult
    func charge(_ id: String) -> String {
        state.withLock { state in
            if let existing = state.charges[id] { return existing }
            let charge = "ch_3" + SandboxIDs.token(23)
            state.charges[id] = charge
            return charge
        }
    }

    func charge(of id: String) -> String? {
        state.withLock { $0.charges[id] }
    }

    func intent(ofCharge charge: String) -> String? {
        state.withLock { $0.charges.first { $0.value == charge }?.key }
    }

    /// Claims idempotency key `key` for a request (`.new`: answer it, then ``finish(account:key:plain:)``), or
    /// says what Stripe answers instead.
    func begin(account: String, key: String, fingerprint: [UInt8]) -> Replay {
        state.withLock { state in
            let id = "\(account)\n\(key)"
            guard let remembered = state.replies[id] else {
                state.replies[id] = Remembered(fingerprint: fingerprint, plain: nil)
                return .new
            }
            guard let plain = remembered.plain else { return .inFlight }
            return remembered.fingerprint == fingerprint ? .replay(plain) : .mismatch(plain)
        }
    }

    /// Keeps the reply of the key's request for replays, or (nil) forgets the key so that it may be used afresh.
    func finish(account: String, key: String, plain: StripeSandbox.Plain?) {
        state.withLock { state in
            let id = "\(account)\n\(key)"
            if let plain {
                state.replies[id]?.plain = plain
            } else {
                state.replies[id] = nil
            }
        }
    }
}
