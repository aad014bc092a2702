import Foundation
import PayFleetMessages

/// Calls Baidu's smart-program cashier ("百度收银台") for one app: builds the signed `orderInfo` of
/// `swan.requestPolymerPayment` (no network), queries an order by our `tpOrderId`, and applies for refunds.
///
/// Every request is signed with the developer private key (``BaiduRequestSigner``: SHA1withRSA over the sorted
/// parameters, `rsaSign`). Replies are Baidu's `{"errno":…,"msg":…,"data":…}`: `errno` 0 is success, anything
/// else is classified by ``ChannelAPIError/baidu(errno:message:operation:httpStatus:)``. Baidu does not sign its
/// replies, so they are read as TLS delivers them. No retries.
///
/// Request shapes:
/// - orderInfo: "调起百度收银台" (`swan.requestPolymerPayment`): `dealId`, `appKey`, `totalAmount` (fen),
///   `tpOrderId`, `dealTitle`, `signFieldsRange` `1`, `rsaSign` over `appKey`+`dealId`+`totalAmount`+`tpOrderId`,
///   `bizInfo` (a JSON object as a string), optional `notifyUrl`.
/// - query: "查询订单" (`GET /rest/2.0/smartapp/pay/paymentservice/findByTpOrderId`, `tpOrderId`, `pmAppKey`),
///   whose `data` carries `orderId`, `status` (1 unpaid, 2 paid), `totalMoney`, `payMoney`, `dealId`. Baidu
///   documents that endpoint with an OAuth `access_token`; PayFleet authenticates it as the cashier's other
///   server APIs, with `rsaSign` by the developer key.
/// - refund: "申请退款" (`POST /cashier/applyOrderRefund` on etrade-api.baidu.com, form-encoded: `orderId`,
///   `userId`, `refundType`, `refundReason`, `tpOrderId`, `appKey`, `applyRefundMoney`, `bizRefundBatchId`,
///   `rsaSign`), answering `data.refundBatchId` and `data.refundPayMoney`.
/// - refund query: "查询退款" (`GET /rest/2.0/smartapp/pay/paymentservice/findOrderRefund`, `tpOrderId`, `userId`,
///   `pmAppKey`), whose `data` lists the order's refund batches: `bizRefundBatchId`, `refundBatchId`, `orderId`,
///   `userId`, `refundStatus` (1 退款中, 2 退款成功, 3 退款失败). Documented with an `access_token`; authenticated
///   like the order query.
public struct BaiduClient: Sendable {
    private let checks = ChannelClientChecks(channel: .baidu)
    public static let queryPath = "/rest/2.0/smartapp/pay/paymentservice/findByTpOrderId"
    public static let refundPath = "/cashier/applyOrderRefund"
    public static let refundQueryPath = "/rest/2.0/smartapp/pay/paymentservice/findOrderRefund"

    public let merchant: BaiduMerchant
    public let signer: BaiduRequestSigner
    public let configuration: BaiduClientConfiguration
    private let transport: any ChannelHTTPTransport
    private let openAPI: APIBaseURL
    private let trade: APIBaseURL

    /// Throws ``ChannelAPIError/Code/configuration`` when a base URL is not an http(s) URL without query, or
    /// when the signer's appKey is not the merchant's.
    public init(
        merchant: BaiduMerchant, signer: BaiduRequestSigner, configuration: BaiduClientConfiguration,
        transport: any ChannelHTTPTransport
    ) throws(ChannelAPIError) {
        let openAPI = try APIBaseURL(
            configured: configuration.openAPIBaseURL, setting: "Baidu openapi base URL", channel: .baidu,
            example: BaiduClientConfiguration.productionOpenAPIBaseURL)
        let trade = try APIBaseURL(
            configured: configuration.tradeBaseURL, setting: "Baidu trade base URL", channel: .baidu,
            example: BaiduClientConfiguration.productionTradeBaseURL)
        guard signer.appKey == merchant.appKey else {
            throw ChannelAPIError(
                code: .configuration, channel: .baidu,
                message: "the request signer's appKey is not merchant \(merchant.id)'s appKey",
                detail: "signer \(signer.appKey), merchant \(merchant.appKey)")
        }
        self.merchant = merchant
        self.signer = signer
        self.configuration = configuration
        self.transport = transport
        self.openAPI = openAPI
        self.trade = trade
    }

    // MARK: Operations

    /// The signed `orderInfo` the mini program passes to `swan.requestPolymerPayment`. No network: Baidu's cashier
    /// has no server-side prepay; the order exists at Baidu once the payer opens the cashier with this.
    public func orderInfo(_ order: BaiduOrderRequest) throws(ChannelAPIError) -> [String: String] {
        let operation = "order_info"
        try checks.requireNumber(order.tpOrderID, "tpOrderId", operation)
        guard order.totalAmountMinor > 0 else { throw checks.invalid(operation, "an order's amount must be more than 0") }
        guard !order.dealTitle.isEmpty else { throw checks.invalid(operation, "an order needs a dealTitle") }
        let signed = [
            "appKey": merchant.appKey, "dealId": merchant.dealID, "totalAmount": String(order.totalAmountMinor),
            "tpOrderId": order.tpOrderID,
        ]
        var info = signed
        info["rsaSign"] = signer.sign(signed)
        info["dealTitle"] = order.dealTitle
        info["signFieldsRange"] = "1"
        info["bizInfo"] =
            "{\"tpData\":{\"appKey\":\(JSONText.quote(merchant.appKey)),\"dealId\":\(JSONText.quote(merchant.dealID)),"
            + "\"dealTitle\":\(JSONText.quote(order.dealTitle)),\"totalAmount\":\"\(order.totalAmountMinor)\","
            + "\"tpOrderId\":\(JSONText.quote(order.tpOrderID))}}"
        if let notifyURL = order.notifyURL ?? configuration.notifyURL, !notifyURL.isEmpty {
            info["notifyUrl"] = notifyURL
        }
        return info
    }

    /// Queries an order by our payment number. An order Baidu never saw (the payer never opened the cashier)
    /// fails with ``ChannelAPIError/Code/notFound``.
    public func queryOrder(tpOrderID: String) async throws(ChannelAPIError) -> BaiduOrderQueryResult {
        let operation = "find_by_tp_order_id"
        try checks.requireNumber(tpOrderID, "tpOrderId", operation)
        let (data, raw) = try await call(signedQueryRequest(tpOrderID: tpOrderID), operation: operation)
        let order = try decode(OrderData.self, data, operation: operation)
        guard let status = order.status?.text.flatMap({ Int($0) }) else {
            throw checks.malformed(operation, "the order has no numeric status")
        }
        guard order.tpOrderId?.text == nil || order.tpOrderId?.text == tpOrderID else {
            throw checks.malformed(operation, "the order's tpOrderId is not the one queried")
        }
        if let dealID = order.dealId?.text, dealID != merchant.dealID {
            throw checks.malformed(operation, "the order's dealId is not merchant \(merchant.id)'s")
        }
        return BaiduOrderQueryResult(
            tpOrderID: tpOrderID, orderID: order.orderId?.text.flatMap { $0.isEmpty || $0 == "0" ? nil : $0 },
            status: .init(rawValue: status), totalMoneyMinor: try fen(order.totalMoney, "totalMoney", operation),
            payMoneyMinor: try fen(order.payMoney, "payMoney", operation), dealID: order.dealId?.text, raw: raw,
            userID: order.userId?.text.flatMap { $0.isEmpty || $0 == "0" ? nil : $0 })
    }

    /// Applies for a refund. `bizRefundBatchId` is our refund number, so applying again for the same number
    /// returns the same batch instead of refunding twice.
    public func applyRefund(_ refund: BaiduRefundRequest) async throws(ChannelAPIError) -> BaiduRefundResult {
        let operation = "apply_order_refund"
        try checks.requireNumber(refund.tpOrderID, "tpOrderId", operation)
        try checks.requireNumber(refund.refundNo, "bizRefundBatchId", operation)
        guard !refund.orderID.isEmpty, !refund.userID.isEmpty else {
            throw checks.invalid(operation, "a Baidu refund needs Baidu's orderId and userId (from the payment callback)")
        }
        guard refund.amountMinor > 0 else { throw checks.invalid(operation, "a refund's amount must be more than 0") }
        let (data, raw) = try await call(signedRefundRequest(refund), operation: operation)
        let reply = try decode(RefundData.self, data, operation: operation)
        guard let batchID = reply.refundBatchId?.text, !batchID.isEmpty else {
            throw checks.malformed(operation, "the reply has no refundBatchId")
        }
        return BaiduRefundResult(
            refundNo: refund.refundNo, refundBatchID: batchID,
            refundPayMoneyMinor: try fen(reply.refundPayMoney, "refundPayMoney", operation), raw: raw)
    }

    /// Queries the refund batches of an order by our payment number and the payer's Baidu userId.
    public func queryRefunds(tpOrderID: String, userID: String) async throws(ChannelAPIError) -> [BaiduRefundQueryResult] {
        let operation = "find_order_refund"
        try checks.requireNumber(tpOrderID, "tpOrderId", operation)
        guard !userID.isEmpty else {
            throw checks.invalid(operation, "a Baidu refund query needs the payer's userId (from the payment callback)")
        }
        let (data, raw) = try await call(signedRefundQueryRequest(tpOrderID: tpOrderID, userID: userID), operation: operation)
        if data == Array("null".utf8) { return [] }
        let entries = try decode([RefundQueryEntry].self, data, operation: operation)
        var results: [BaiduRefundQueryResult] = []
        for entry in entries {
            guard let batchID = entry.refundBatchId?.text, !batchID.isEmpty,
                let status = entry.refundStatus?.text.flatMap({ Int($0) })
            else {
                throw checks.malformed(operation, "a refund entry has no refundBatchId or numeric refundStatus")
            }
            results.append(
                BaiduRefundQueryResult(
                    refundNo: entry.bizRefundBatchId?.text.flatMap { $0.isEmpty ? nil : $0 }, refundBatchID: batchID,
                    status: .init(rawValue: status), raw: raw))
        }
        return results
    }

    // MARK: Requests (pure)

    /// The signed refund query request: `GET …/findOrderRefund?pmAppKey=…&rsaSign=…&tpOrderId=…&userId=…`. Pure.
    public func signedRefundQueryRequest(tpOrderID: String, userID: String) -> ChannelHTTPRequest {
        let parameters = signer.signed(["tpOrderId": tpOrderID, "userId": userID, "pmAppKey": merchant.appKey])
        return ChannelHTTPRequest(
            method: "GET", url: openAPI.url(Self.refundQueryPath) + "?" + FormCodec.encode(parameters),
            headers: [("Accept", "application/json")], body: [])
    }

    /// The signed query request: `GET …/findByTpOrderId?pmAppKey=…&rsaSign=…&tpOrderId=…`. Pure.
    public func signedQueryRequest(tpOrderID: String) -> ChannelHTTPRequest {
        let parameters = signer.signed(["tpOrderId": tpOrderID, "pmAppKey": merchant.appKey])
        return ChannelHTTPRequest(
            method: "GET", url: openAPI.url(Self.queryPath) + "?" + FormCodec.encode(parameters),
            headers: [("Accept", "application/json")], body: [])
    }

    /// The signed refund application, form-encoded in the body with keys in byte order. Pure.
    public func signedRefundRequest(_ refund: BaiduRefundRequest) -> ChannelHTTPRequest {
        let parameters = signer.signed([
            "orderId": refund.orderID, "userId": refund.userID, "refundType": String(refund.refundType.rawValue),
            "refundReason": refund.reason.isEmpty ? refund.refundNo : refund.reason, "tpOrderId": refund.tpOrderID,
            "appKey": merchant.appKey, "applyRefundMoney": String(refund.amountMinor),
            "bizRefundBatchId": refund.refundNo,
        ])
        return ChannelHTTPRequest(
            method: "POST", url: trade.url(Self.refundPath),
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"),
            ],
            body: Array(FormCodec.encode(parameters).utf8))
    }

    /// Reads a reply: HTTP 2xx with `errno` 0 gives `data`'s exact text and the whole body; anything else throws
    /// the classified error (HTTP status first, then `errno`).
    public func readReply(
        _ response: ChannelHTTPResponse, operation: String
    ) throws(ChannelAPIError) -> (data: [UInt8], raw: String) {
        let envelope = try? JSONDecoder().decode(Envelope.self, from: Data(response.body))
        guard (200...299).contains(response.status) else {
            if let errno = envelope?.errno?.text, errno != "0" {
                throw ChannelAPIError.baidu(
                    errno: errno, message: envelope?.msg?.text, operation: operation, httpStatus: response.status)
            }
            throw ChannelAPIError(
                code: ChannelAPIError.codeForStatus(response.status, hasChannelCode: false), channel: .baidu,
                operation: operation, httpStatus: response.status,
                message: "Baidu answered HTTP \(response.status)")
        }
        guard let envelope, let errno = envelope.errno?.text else {
            throw checks.malformed(operation, "the reply is not Baidu's {errno, msg, data} JSON")
        }
        guard errno == "0" else {
            throw ChannelAPIError.baidu(
                errno: errno, message: envelope.msg?.text, operation: operation, httpStatus: response.status)
        }
        return (
            Self.member("data", of: response.body) ?? Array("null".utf8), String(decoding: response.body, as: UTF8.self)
        )
    }

    // MARK: Internals

    private func call(
        _ request: ChannelHTTPRequest, operation: String
    ) async throws(ChannelAPIError) -> (data: [UInt8], raw: String) {
        let response = try await transport.exchange(
            request, timeout: configuration.timeout, channel: .baidu, operation: operation)
        return try readReply(response, operation: operation)
    }

    /// The JSON text of the top-level member `name` of `body`, re-encoded.
    private static func member(_ name: String, of body: [UInt8]) -> [UInt8]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let value = object[name], !(value is NSNull),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
        else { return nil }
        return Array(data)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: [UInt8], operation: String) throws(ChannelAPIError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(data))
        } catch {
            throw checks.malformed(operation, "data is not the JSON object expected")
        }
    }

    private func fen(_ value: FlexibleText?, _ field: String, _ operation: String) throws(ChannelAPIError) -> Int64? {
        guard let text = value?.text, !text.isEmpty else { return nil }
        guard let amount = Int64(text), amount >= 0 else { throw checks.malformed(operation, "\(field) is not fen") }
        return amount
    }
}

// MARK: Wire formats

/// A JSON string or integer, as text: Baidu sends ids and amounts as either.
struct FlexibleText: Decodable {
    var text: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            text = string
        } else if let number = try? container.decode(Int64.self) {
            text = String(number)
        } else {
            text = nil
        }
    }
}

private struct Envelope: Decodable {
    var errno: FlexibleText?
    var msg: FlexibleText?
}

private struct OrderData: Decodable {
    var orderId: FlexibleText?
    var userId: FlexibleText?
    var tpOrderId: FlexibleText?
    var status: FlexibleText?
    var totalMoney: FlexibleText?
    var payMoney: FlexibleText?
    var dealId: FlexibleText?
}

private struct RefundData: Decodable {
    var refundBatchId: FlexibleText?
    var refundPayMoney: FlexibleText?
}

private struct RefundQueryEntry: Decodable {
    var bizRefundBatchId: FlexibleText?
    var orderId: FlexibleText?
    var refundBatchId: FlexibleText?
    var refundStatus: FlexibleText?
    var userId: FlexibleText?
}
