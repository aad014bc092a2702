import Foundation

/// Stripe's side of a day's reconciliation. Stripe has no bill file: the day is the PaymentIntents and the
/// Refunds created in it (UTC), listed a page at a time — "List all PaymentIntents" (`GET /v1/payment_intents`)
/// and "List all refunds" (`GET /v1/refunds`), each with `created[gte]`, `created[lt]`, `limit=100` and, after
/// the first page, `starting_after=<the last id>`, answering a list object
/// `{"object":"list","url":…,"has_more":…,"data":[…]}` (docs.stripe.com/api/payment_intents/list,
/// docs.stripe.com/api/refunds/list, docs.stripe.com/api/pagination).
///
/// Decoding follows ``StripeClient``: amounts are Stripe's integers in the currency's smallest unit, taken as
/// they are (zero-decimal currencies such as JPY included, no scaling), currency upper-cased, `metadata` read
/// leniently. What becomes a record:
/// - a PaymentIntent with status `succeeded`: a payment of `amount_received`, paymentNo `metadata.out_trade_no`,
///   channelTradeNo its `pi_…` id, at `created` (Stripe records no success time on the PaymentIntent; the day is
///   the day it was created). PaymentIntents in any other status are left out: no money moved.
/// - a Refund: a refund of `amount`, paymentNo and refundNo `metadata.out_trade_no` and
///   `metadata.out_refund_no` (what ``StripeClient/refundRequest(_:)`` sets), channelTradeNo its
///   `payment_intent`, `succeeded` when its status is `succeeded` (`pending`, `requires_action`, `failed` and
///   `canceled` give false), channelStatus the status, at `created`.
/// Objects without our metadata (made outside PayFleet, e.g. in the Dashboard) are skipped and counted.
public enum StripeBill {
    /// One page of a list, decoded.
    public struct Page: Sendable, Equatable {
        public var records: [BillRecord]
        /// `has_more`: another page follows; ask for it with `starting_after` = ``lastID``.
        public var hasMore: Bool
        /// The id of the page's last object (whether or not it became a record); nil for an empty page.
        public var lastID: String?
        /// Objects without our `metadata.out_trade_no` (refunds: or without `out_refund_no`), left out.
        public var skipped: Int

        public init(records: [BillRecord], hasMore: Bool, lastID: String?, skipped: Int) {
            self.records = records
            self.hasMore = hasMore
            self.lastID = lastID
            self.skipped = skipped
        }
    }

    /// The most objects Stripe returns on a page.
    public static let pageLimit = 100

    // MARK: Requests

    /// `/v1/payment_intents?created[gte]=…&created[lt]=…&limit=100[&starting_after=…]` for `day` (UTC), to append to
    /// the API base URL.
    public static func paymentIntentsPath(day: BillDay, startingAfter: String? = nil) -> String {
        "/v1/payment_intents?" + query(day: day, startingAfter: startingAfter)
    }

    /// `/v1/refunds?created[gte]=…&created[lt]=…&limit=100[&starting_after=…]` for `day` (UTC).
    public static func refundsPath(day: BillDay, startingAfter: String? = nil) -> String {
        "/v1/refunds?" + query(day: day, startingAfter: startingAfter)
    }

    private static func query(day: BillDay, startingAfter: String?) -> String {
        let interval = day.interval(in: TimeZone(identifier: "UTC")!)!
        var pairs: [(key: String, value: String)] = [
            (key: "created[gte]", value: String(Int64(interval.lowerBound.timeIntervalSince1970))),
            (key: "created[lt]", value: String(Int64(interval.upperBound.timeIntervalSince1970))),
            (key: "limit", value: String(pageLimit)),
        ]
        if let startingAfter { pairs.append((key: "starting_after", value: startingAfter)) }
        return FormCodec.encode(pairs)
    }

    // MARK: Decoding

    /// One page of `GET /v1/payment_intents`. Throws ``ChannelError/Code/malformedBody`` when the body is not a
    /// list object, or an object lacks its id, status, currency or created time, or a succeeded one its
    /// `amount_received` (or that is 0).
    public static func paymentIntents(_ body: [UInt8]) throws(ChannelError) -> Page {
        let list = try decode(ListReply<IntentItem>.self, body)
        var page = Page(records: [], hasMore: list.hasMore, lastID: list.data.last?.id, skipped: 0)
        for (index, item) in list.data.enumerated() {
            guard let id = item.id, !id.isEmpty, let status = item.status, let currency = item.currency,
                let created = item.created
            else {
                throw .malformed(
                    "a PaymentIntent in the list has no id, status, currency or created", detail: "#\(index)")
            }
            guard let outTradeNo = item.metadata?["out_trade_no"], !outTradeNo.isEmpty else {
                page.skipped += 1
                continue
            }
            guard status == "succeeded" else { continue }
            guard let received = item.amountReceived, received > 0 else {
                throw .malformed("a succeeded PaymentIntent has no amount_received", detail: id)
            }
            page.records.append(
                BillRecord(
                    kind: .payment, paymentNo: outTradeNo, channelTradeNo: id, amountMinor: received,
                    currency: try currencyCode(currency, id), succeeded: true, channelStatus: status,
                    at: Date(timeIntervalSince1970: TimeInterval(created))))
        }
        return page
    }

    /// One page of `GET /v1/refunds`. Throws ``ChannelError/Code/malformedBody`` when the body is not a list
    /// object, or a refund lacks its id, status, amount (or it is 0), currency or created time.
    public static func refunds(_ body: [UInt8]) throws(ChannelError) -> Page {
        let list = try decode(ListReply<RefundItem>.self, body)
        var page = Page(records: [], hasMore: list.hasMore, lastID: list.data.last?.id, skipped: 0)
        for (index, item) in list.data.enumerated() {
            guard let id = item.id, !id.isEmpty, let status = item.status, !status.isEmpty, let amount = item.amount,
                let currency = item.currency, let created = item.created
            else {
                throw .malformed(
                    "a refund in the list has no id, status, amount, currency or created", detail: "#\(index)")
            }
            guard let outTradeNo = item.metadata?["out_trade_no"], !outTradeNo.isEmpty,
                let outRefundNo = item.metadata?["out_refund_no"], !outRefundNo.isEmpty
            else {
                page.skipped += 1
                continue
            }
            guard amount > 0 else { throw .malformed("a refund's amount is 0", detail: id) }
            page.records.append(
                BillRecord(
                    kind: .refund, paymentNo: outTradeNo, channelTradeNo: item.paymentIntent ?? "",
                    refundNo: outRefundNo, amountMinor: amount, currency: try currencyCode(currency, id),
                    succeeded: status == "succeeded", channelStatus: status,
                    at: Date(timeIntervalSince1970: TimeInterval(created))))
        }
        return page
    }

    private static func decode<T: Decodable>(_ type: ListReply<T>.Type, _ body: [UInt8]) throws(ChannelError)
        -> ListReply<T>
    {
        let reply: ListReply<T>
        do {
            reply = try JSONDecoder().decode(type, from: Data(body))
        } catch {
            throw .malformed("the Stripe list is not the JSON expected", detail: "\(body.count) bytes")
        }
        guard reply.object == nil || reply.object == "list" else {
            throw .malformed("the Stripe reply is not a list object", detail: "object \(reply.object ?? "")")
        }
        return reply
    }

    private static func currencyCode(_ currency: String, _ id: String) throws(ChannelError) -> String {
        guard currency.utf8.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw .malformed("a Stripe object's currency is not a currency code", detail: id)
        }
        return currency.uppercased()
    }

    // MARK: Rendering

    /// A `GET /v1/payment_intents` page for the sandbox: each payment in `records` as a succeeded PaymentIntent
    /// (id channelTradeNo, `amount` = `amount_received` = amountMinor, `metadata.out_trade_no`); refunds are
    /// ignored. ``paymentIntents(_:)`` gives the payments back unchanged when their channelStatus is
    /// `succeeded`, their currency a three-letter code and their time whole seconds.
    public static func renderPaymentIntents(_ records: [BillRecord], hasMore: Bool) -> [UInt8] {
        let objects = records.filter { $0.kind == .payment }.map { record in
            "{\"id\":\(JSONText.quote(record.channelTradeNo)),\"object\":\"payment_intent\","
                + "\"amount\":\(record.amountMinor),\"amount_received\":\(record.amountMinor),"
                + "\"created\":\(Int64(record.at.timeIntervalSince1970.rounded(.down))),"
                + "\"currency\":\(JSONText.quote(record.currency.lowercased())),"
                + "\"metadata\":{\"out_trade_no\":\(JSONText.quote(record.paymentNo))},\"status\":\"succeeded\"}"
        }
        return list(objects, url: "/v1/payment_intents", hasMore: hasMore)
    }

    /// A `GET /v1/refunds` page for the sandbox: each refund in `records` (id `re_` + refundNo, `payment_intent`
    /// channelTradeNo or null, status `succeeded` when it succeeded, else its channelStatus or `pending`);
    /// payments are ignored. ``refunds(_:)`` gives them back unchanged when their channelStatus is the Stripe
    /// status (`succeeded` exactly when they succeeded).
    public static func renderRefunds(_ records: [BillRecord], hasMore: Bool) -> [UInt8] {
        let objects = records.filter { $0.kind == .refund }.map { record in
            let status =
                record.succeeded
                ? "succeeded" : (["", "succeeded"].contains(record.channelStatus) ? "pending" : record.channelStatus)
            let refundNo = record.refundNo ?? ""
            let paymentIntent = record.channelTradeNo.isEmpty ? "null" : JSONText.quote(record.channelTradeNo)
            return "{\"id\":\(JSONText.quote("re_" + refundNo)),\"object\":\"refund\","
                + "\"amount\":\(record.amountMinor),\"created\":\(Int64(record.at.timeIntervalSince1970.rounded(.down))),"
                + "\"currency\":\(JSONText.quote(record.currency.lowercased())),"
                + "\"metadata\":{\"out_refund_no\":\(JSONText.quote(refundNo)),"
                + "\"out_trade_no\":\(JSONText.quote(record.paymentNo))},"
                + "\"payment_intent\":\(paymentIntent),\"status\":\(JSONText.quote(status))}"
        }
        return list(objects, url: "/v1/refunds", hasMore: hasMore)
    }

    private static func list(_ objects: [String], url: String, hasMore: Bool) -> [UInt8] {
        Array(
            "{\"object\":\"list\",\"url\":\(JSONText.quote(url)),\"has_more\":\(hasMore),\"data\":["
                .utf8) + Array(objects.joined(separator: ",").utf8) + Array("]}".utf8)
    }
}

// MARK: Wire formats

private struct ListReply<Item: Decodable>: Decodable {
    var object: String?
    var data: [Item]
    var hasMore: Bool

    enum CodingKeys: String, CodingKey {
        case object, data
        case hasMore = "has_more"
    }
}

private struct IntentItem: Decodable {
    var id: String?
    var status: String?
    var amountReceived: Int64?
    var currency: String?
    var metadata: [String: String]?
    var created: Int64?

    enum CodingKeys: String, CodingKey {
        case id, status, currency, metadata, created
        case amountReceived = "amount_received"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id)
        status = try container.decodeIfPresent(String.self, forKey: .status)
        amountReceived = try container.decodeIfPresent(Int64.self, forKey: .amountReceived)
        currency = try container.decodeIfPresent(String.self, forKey: .currency)
        metadata = try? container.decodeIfPresent([String: String].self, forKey: .metadata)
        created = try container.decodeIfPresent(Int64.self, forKey: .created)
    }
}

private struct RefundItem: Decodable {
    var id: String?
    var status: String?
    var amount: Int64?
    var currency: String?
    var metadata: [String: String]?
    var paymentIntent: String?
    var created: Int64?

    enum CodingKeys: String, CodingKey {
        case id, status, amount, currency, metadata, created
        case paymentIntent = "payment_intent"
    }

    private struct Expanded: Decodable {
        var id: String?
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decodeIfPresent(String.self, forKey: .id)
        status = try container.decodeIfPresent(String.self, forKey: .status)
        amount = try container.decodeIfPresent(Int64.self, forKey: .amount)
        currency = try container.decodeIfPresent(String.self, forKey: .currency)
        metadata = try? container.decodeIfPresent([String: String].self, forKey: .metadata)
        created = try container.decodeIfPresent(Int64.self, forKey: .created)
        // An id, or an expanded PaymentIntent.
        if let text = try? container.decodeIfPresent(String.self, forKey: .paymentIntent) {
            paymentIntent = text
        } else {
            paymentIntent = try? container.decodeIfPresent(Expanded.self, forKey: .paymentIntent)?.id
        }
    }
}
