import Crypto
import Foundation
import PayFleetMessages

/// Calls WeChat Pay API v3 for one merchant: JSAPI and Native prepay, order query and close, refund and refund
/// query.
///
/// Every request carries a `WECHATPAY2-SHA256-RSA2048` `Authorization` signed with the merchant API private
/// key; every 2xx response must carry a valid `Wechatpay-Signature` by one of the merchant's verification keys
/// (platform certificates or WeChat Pay public keys, as for notifications) within the timestamp window, or the
/// call fails with ``ChannelAPIError/Code/responseSignature``. Error replies (4xx/5xx) are classified but not
/// verified, as WeChat Pay's own SDKs do. No retries: every failure is thrown, transient or permanent.
public struct WeChatPayV3Client: Sendable {
    private let checks = ChannelClientChecks(channel: .wechatpay, requestIDHeader: "Request-ID")
    public let merchant: WeChatPayV3Merchant
    public let signer: WeChatPayV3RequestSigner
    public let configuration: WeChatPayV3ClientConfiguration
    private let transport: any ChannelHTTPTransport
    private let baseURL: APIBaseURL
    private let now: @Sendable () -> Date
    private let makeNonce: @Sendable () -> String

    /// `now` and `nonce` are for tests; by default the system clock and 32 random letters and digits.
    ///
    /// Throws ``ChannelAPIError/Code/configuration`` when the base URL is not an http(s) URL without query, or
    /// when the signer's mchid is not the merchant's.
    public init(
        merchant: WeChatPayV3Merchant, signer: WeChatPayV3RequestSigner,
        configuration: WeChatPayV3ClientConfiguration, transport: any ChannelHTTPTransport,
        now: (@Sendable () -> Date)? = nil, nonce: (@Sendable () -> String)? = nil
    ) throws(ChannelAPIError) {
        let baseURL = try APIBaseURL(
            configured: configuration.baseURL, setting: "WeChat Pay base URL", channel: .wechatpay,
            example: WeChatPayV3ClientConfiguration.productionBaseURL)
        guard signer.mchID == merchant.mchID else {
            throw ChannelAPIError(
                code: .configuration, channel: .wechatpay,
                message: "the request signer's mchid is not merchant \(merchant.id)'s mchid",
                detail: "signer \(signer.mchID), merchant \(merchant.mchID)")
        }
        self.merchant = merchant
        self.signer = signer
        self.configuration = configuration
        self.transport = transport
        self.baseURL = baseURL
        self.now = now ?? { Date() }
        self.makeNonce = nonce ?? { WeChatPayV3NotificationSigner.randomToken(length: 32) }
    }

    // MARK: Operations

    /// Places a JSAPI order (`POST /v3/pay/transactions/jsapi`) and returns its `prepay_id`, valid for two hours;
    /// hand it to the payer with ``jsapiPayParameters(prepayID:)``.
    public func jsapiPrepay(_ order: WeChatPayV3PrepayRequest) async throws(ChannelAPIError) -> String {
        let operation = "jsapi_prepay"
        guard let openID = order.payerOpenID, !openID.isEmpty else {
            throw checks.invalid(operation, "a JSAPI order needs the payer's openid")
        }
        let body = try prepayBody(order, payer: openID, operation: operation)
        let response = try await call(operation, method: "POST", pathAndQuery: "/v3/pay/transactions/jsapi", body: body)
        let reply = try decode(PrepayReply.self, response, operation: operation)
        guard let prepayID = reply.prepayID, !prepayID.isEmpty else {
            throw checks.malformed(operation, "the prepay response has no prepay_id", response)
        }
        return prepayID
    }

    /// Places a Native order (`POST /v3/pay/transactions/native`) and returns its `code_url`
    /// (`weixin://wxpay/bizpayurl?pr=…`), to show as a QR code.
    public func nativePrepay(_ order: WeChatPayV3PrepayRequest) async throws(ChannelAPIError) -> String {
        let operation = "native_prepay"
        let body = try prepayBody(order, payer: nil, operation: operation)
        let response = try await call(
            operation, method: "POST", pathAndQuery: "/v3/pay/transactions/native", body: body)
        let reply = try decode(PrepayReply.self, response, operation: operation)
        guard let codeURL = reply.codeURL, !codeURL.isEmpty else {
            throw checks.malformed(operation, "the prepay response has no code_url", response)
        }
        return codeURL
    }

    /// Queries an order by our payment number (`GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…`).
    /// An order WeChat Pay never saw fails with ``ChannelAPIError/Code/notFound`` (`ORDER_NOT_EXIST`).
    public func queryTransaction(
        outTradeNo: String
    ) async throws(ChannelAPIError) -> WeChatPayV3TransactionQueryResult {
        let operation = "query_transaction"
        try checks.requireNumber(outTradeNo, "out_trade_no", operation)
        let path =
            "/v3/pay/transactions/out-trade-no/\(APIBaseURL.encodeComponent(outTradeNo))"
            + "?mchid=\(APIBaseURL.encodeComponent(merchant.mchID))"
        let response = try await call(operation, method: "GET", pathAndQuery: path, body: [])
        let reply = try decode(WeChatPayV3Transaction.self, response, operation: operation)
        guard reply.outTradeNo == outTradeNo else {
            throw checks.malformed(operation, "the order's out_trade_no is not the one queried", response)
        }
        return try transactionResult(reply, outTradeNo: outTradeNo, response, operation: operation)
    }

    /// Queries an order by WeChat Pay's number (`GET /v3/pay/transactions/id/{transaction_id}?mchid=…`), e.g. one
    /// found in a bill or a notification; the same result and checks as ``queryTransaction(outTradeNo:)``, the
    /// reply's `transaction_id` being the one queried. An unknown one fails with ``ChannelAPIError/Code/notFound``.
    public func queryTransaction(
        transactionID: String
    ) async throws(ChannelAPIError) -> WeChatPayV3TransactionQueryResult {
        let operation = "query_transaction_by_id"
        try checks.requireNumber(transactionID, "transaction_id", operation)
        let path =
            "/v3/pay/transactions/id/\(APIBaseURL.encodeComponent(transactionID))"
            + "?mchid=\(APIBaseURL.encodeComponent(merchant.mchID))"
        let response = try await call(operation, method: "GET", pathAndQuery: path, body: [])
        let reply = try decode(WeChatPayV3Transaction.self, response, operation: operation)
        guard reply.transactionID == transactionID else {
            throw checks.malformed(operation, "the order's transaction_id is not the one queried", response)
        }
        guard let outTradeNo = reply.outTradeNo, !outTradeNo.isEmpty else {
            throw checks.malformed(operation, "the order has no out_trade_no", response)
        }
        return try transactionResult(reply, outTradeNo: outTradeNo, response, operation: operation)
    }

    /// Closes an unpaid order (`POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`, 204 No Content),
    /// so it can no longer be paid.
    public func closeTransaction(outTradeNo: String) async throws(ChannelAPIError) {
        let operation = "close_transaction"
        try checks.requireNumber(outTradeNo, "out_trade_no", operation)
        let body = try encode(CloseBody(mchid: merchant.mchID), operation: operation)
        _ = try await call(
            operation, method: "POST",
            pathAndQuery: "/v3/pay/transactions/out-trade-no/\(APIBaseURL.encodeComponent(outTradeNo))/close",
            body: body)
    }

    /// Requests a refund (`POST /v3/refund/domestic/refunds`). The outcome is often
    /// ``WeChatPayV3RefundResult/Status/processing``: query it with ``queryRefund(outRefundNo:)``. Repeating the
    /// call with the same `out_refund_no` never refunds twice.
    public func refund(_ refund: WeChatPayV3RefundRequest) async throws(ChannelAPIError) -> WeChatPayV3RefundResult {
        let operation = "refund"
        try checks.requireNumber(refund.outTradeNo, "out_trade_no", operation)
        try checks.requireNumber(refund.outRefundNo, "out_refund_no", operation)
        guard refund.refundMinor > 0, refund.totalMinor > 0, refund.refundMinor <= refund.totalMinor else {
            throw checks.invalid(operation, "a refund needs 0 < refund ≤ total")
        }
        let body = try encode(
            RefundBody(
                outTradeNo: refund.outTradeNo, outRefundNo: refund.outRefundNo, reason: refund.reason,
                notifyURL: refund.notifyURL ?? configuration.refundNotifyURL,
                amount: .init(refund: refund.refundMinor, total: refund.totalMinor, currency: refund.currency)),
            operation: operation)
        let response = try await call(
            operation, method: "POST", pathAndQuery: "/v3/refund/domestic/refunds", body: body)
        return try refundResult(response, expecting: refund.outRefundNo, operation: operation)
    }

    /// Queries a refund by our refund number (`GET /v3/refund/domestic/refunds/{out_refund_no}`).
    public func queryRefund(outRefundNo: String) async throws(ChannelAPIError) -> WeChatPayV3RefundResult {
        let operation = "query_refund"
        try checks.requireNumber(outRefundNo, "out_refund_no", operation)
        let response = try await call(
            operation, method: "GET",
            pathAndQuery: "/v3/refund/domestic/refunds/\(APIBaseURL.encodeComponent(outRefundNo))", body: [])
        return try refundResult(response, expecting: outRefundNo, operation: operation)
    }

    /// The JSAPI pay parameters for `prepayID` under the merchant's app id, signed now with a fresh nonce: what
    /// the `payment.created` event carries to the payer's WeChat client. See
    /// ``WeChatPayV3RequestSigner/jsapiPayParameters(appID:prepayID:timestamp:nonce:)``.
    public func jsapiPayParameters(prepayID: String) -> [String: String] {
        signer.jsapiPayParameters(
            appID: merchant.appID, prepayID: prepayID, timestamp: unixSeconds(now()), nonce: makeNonce())
    }

    /// Downloads the trade bill (bill_type `ALL`) of `day`, China Standard Time: `GET /v3/bill/tradebill` answers
    /// with a `download_url` and the file's `hash_value`; the file itself (`GET` on that URL, signed like any call)
    /// is not signed by WeChat Pay, so its SHA1 is checked against the signed reply's hash. The URL must be on
    /// the API's own origin — the merchant's `Authorization` is never sent elsewhere. Returns the file's bytes (the
    /// back-tick CSV, see ``WeChatPayBill``), or nil when WeChat Pay has no bill for that day
    /// (`NO_STATEMENT_EXIST`: no trade happened).
    public func tradeBill(day: BillDay) async throws(ChannelAPIError) -> [UInt8]? {
        let operation = "trade_bill"
        let reply: BillReply
        do {
            let response = try await call(
                operation, method: "GET", pathAndQuery: "/v3/bill/tradebill?bill_date=\(day)&bill_type=ALL", body: [])
            reply = try decode(BillReply.self, response, operation: operation)
        } catch where error.channelCode == "NO_STATEMENT_EXIST" {
            return nil
        }
        guard let url = reply.downloadURL, let expected = reply.hashValue, !expected.isEmpty,
            (reply.hashType ?? "SHA1").uppercased() == "SHA1"
        else {
            throw ChannelAPIError(
                code: .malformedResponse, channel: .wechatpay, operation: operation,
                message: "the bill reply has no download_url or SHA1 hash_value")
        }
        guard url.hasPrefix(baseURL.origin + "/") else {
            throw ChannelAPIError(
                code: .malformedResponse, channel: .wechatpay, operation: operation,
                message: "the bill's download_url is not on the API's origin; the merchant's credentials are not sent there",
                detail: "origin \(baseURL.origin)")
        }
        let pathAndQuery = String(url.dropFirst(baseURL.origin.count + baseURL.pathPrefix.count))
        var request = signedRequest(
            method: "GET", pathAndQuery: pathAndQuery, body: [], timestamp: unixSeconds(now()), nonce: makeNonce())
        request.maxResponseBytes = Self.maxBillBytes
        let download = "download_bill"
        let response = try await transport.exchange(
            request, timeout: configuration.timeout * 6, channel: .wechatpay, operation: download)
        guard (200...299).contains(response.status) else {
            let error = try? JSONDecoder().decode(ErrorReply.self, from: Data(response.body))
            throw ChannelAPIError.weChatPayV3(
                status: response.status, code: error?.code, message: error?.message, operation: download,
                requestID: response.header("Request-ID"))
        }
        let actual = Insecure.SHA1.hash(data: response.body).map { String(format: "%02x", $0) }.joined()
        guard ConstantTime.equals(Array(actual.utf8), Array(expected.lowercased().utf8)) else {
            throw ChannelAPIError(
                code: .responseSignature, channel: .wechatpay, operation: download,
                message: "the downloaded bill's SHA1 is not the hash_value of the signed bill reply")
        }
        return response.body
    }

    /// The largest bill file accepted: about a million lines.
    static let maxBillBytes = 256 << 20

    // MARK: Signing and verification (pure)

    /// The signed request for `method` and `pathAndQuery` (relative to the base URL) with `body`, at `timestamp`
    /// with `nonce`. Pure.
    public func signedRequest(
        method: String, pathAndQuery: String, body: [UInt8], timestamp: Int64, nonce: String
    ) -> ChannelHTTPRequest {
        let authorization = signer.authorization(
            method: method, pathAndQuery: baseURL.pathPrefix + pathAndQuery, timestamp: timestamp, nonce: nonce,
            body: body)
        var headers: [(String, String)] = [
            ("Authorization", authorization),
            ("Accept", "application/json"),
            ("User-Agent", configuration.userAgent),
        ]
        if !body.isEmpty { headers.append(("Content-Type", "application/json")) }
        return ChannelHTTPRequest(method: method, url: baseURL.url(pathAndQuery), headers: headers, body: body)
    }

    /// Checks a response's `Wechatpay-*` signature headers against the merchant's verification keys, exactly as
    /// a notification's. Throws ``ChannelAPIError/Code/responseSignature`` (transient, needs attention).
    public func verifyResponse(
        _ response: ChannelHTTPResponse, operation: String, now: Date
    ) throws(ChannelAPIError) {
        func header(_ name: String) throws(ChannelAPIError) -> String {
            guard let value = response.header(name), !value.isEmpty else {
                throw ChannelAPIError(
                    code: .responseSignature, channel: .wechatpay, operation: operation, httpStatus: response.status,
                    message: "WeChat Pay response has no \(name) header; it cannot be trusted",
                    detail: checks.requestID(response))
            }
            return value
        }
        let timestamp = try header("Wechatpay-Timestamp")
        let nonce = try header("Wechatpay-Nonce")
        let signature = try header("Wechatpay-Signature")
        let serial = try header("Wechatpay-Serial")
        do {
            try WeChatPayV3SignatureCheck.verify(
                timestamp: timestamp, nonce: nonce, signature: signature, serial: serial, body: response.body,
                keys: merchant.verificationKeys, merchantID: merchant.id, now: now,
                tolerance: configuration.responseTimestampTolerance)
        } catch {
            var detail = "\(error.code): \(error.message)"
            if let more = error.detail { detail += " (\(more))" }
            if let requestID = response.header("Request-ID") { detail += ", Request-ID \(requestID)" }
            throw ChannelAPIError(
                code: .responseSignature, channel: .wechatpay, operation: operation, httpStatus: response.status,
                message: "WeChat Pay response signature does not verify for merchant \(merchant.id); "
                    + "the outcome is unknown (check the platform keys, or tampering)",
                detail: detail)
        }
    }

    // MARK: Internals

    private func call(
        _ operation: String, method: String, pathAndQuery: String, body: [UInt8]
    ) async throws(ChannelAPIError) -> ChannelHTTPResponse {
        let request = signedRequest(
            method: method, pathAndQuery: pathAndQuery, body: body, timestamp: unixSeconds(now()),
            nonce: makeNonce())
        let response = try await transport.exchange(
            request, timeout: configuration.timeout, channel: .wechatpay, operation: operation)
        guard (200...299).contains(response.status) else {
            let reply = try? JSONDecoder().decode(ErrorReply.self, from: Data(response.body))
            throw ChannelAPIError.weChatPayV3(
                status: response.status, code: reply?.code, message: reply?.message, operation: operation,
                requestID: response.header("Request-ID"))
        }
        try verifyResponse(response, operation: operation, now: now())
        return response
    }

    private func prepayBody(
        _ order: WeChatPayV3PrepayRequest, payer: String?, operation: String
    ) throws(ChannelAPIError) -> [UInt8] {
        try checks.requireNumber(order.outTradeNo, "out_trade_no", operation)
        guard order.amountMinor > 0 else { throw checks.invalid(operation, "an order's amount must be more than 0") }
        guard !order.description.isEmpty else { throw checks.invalid(operation, "an order needs a description") }
        let notifyURL = order.notifyURL ?? configuration.notifyURL
        guard !notifyURL.isEmpty else {
            throw ChannelAPIError(
                code: .configuration, channel: .wechatpay, operation: operation,
                message: "no notify URL is configured for WeChat Pay merchant \(merchant.id)")
        }
        return try encode(
            PrepayBody(
                appid: merchant.appID, mchid: merchant.mchID, description: order.description,
                outTradeNo: order.outTradeNo, timeExpire: order.timeExpire.map(ChinaStandardTime.rfc3339),
                attach: order.attach, notifyURL: notifyURL,
                amount: .init(total: order.amountMinor, currency: order.currency),
                payer: payer.map { .init(openid: $0) }),
            operation: operation)
    }

    private func transactionResult(
        _ reply: WeChatPayV3Transaction, outTradeNo: String, _ response: ChannelHTTPResponse, operation: String
    ) throws(ChannelAPIError) -> WeChatPayV3TransactionQueryResult {
        guard let state = reply.tradeState, !state.isEmpty else {
            throw checks.malformed(operation, "the order has no trade_state", response)
        }
        guard reply.mchid == nil || reply.mchid == merchant.mchID else {
            throw checks.malformed(operation, "the order's mchid is not merchant \(merchant.id)'s", response)
        }
        var successTime: Date?
        if let text = reply.successTime, !text.isEmpty {
            guard let date = ISO8601.parse(text) else {
                throw checks.malformed(operation, "success_time is not an RFC 3339 time", response)
            }
            successTime = date
        }
        return WeChatPayV3TransactionQueryResult(
            outTradeNo: outTradeNo, transactionID: reply.transactionID.flatMap { $0.isEmpty ? nil : $0 },
            tradeState: .init(rawValue: state), tradeStateDescription: reply.tradeStateDesc,
            amountTotalMinor: reply.amount?.total, currency: reply.amount?.currency?.uppercased(),
            successTime: successTime, raw: String(decoding: response.body, as: UTF8.self))
    }

    private func refundResult(
        _ response: ChannelHTTPResponse, expecting outRefundNo: String, operation: String
    ) throws(ChannelAPIError) -> WeChatPayV3RefundResult {
        let reply = try decode(RefundReply.self, response, operation: operation)
        guard let refundID = reply.refundID, !refundID.isEmpty else {
            throw checks.malformed(operation, "the refund has no refund_id", response)
        }
        guard let status = reply.status, !status.isEmpty else {
            throw checks.malformed(operation, "the refund has no status", response)
        }
        guard reply.outRefundNo == outRefundNo else {
            throw checks.malformed(operation, "the refund's out_refund_no is not the one requested", response)
        }
        var successTime: Date?
        if let text = reply.successTime, !text.isEmpty {
            guard let date = ISO8601.parse(text) else {
                throw checks.malformed(operation, "success_time is not an RFC 3339 time", response)
            }
            successTime = date
        }
        return WeChatPayV3RefundResult(
            refundID: refundID, outRefundNo: outRefundNo, outTradeNo: reply.outTradeNo,
            transactionID: reply.transactionID, status: .init(rawValue: status), refundMinor: reply.amount?.refund,
            totalMinor: reply.amount?.total, currency: reply.amount?.currency?.uppercased(),
            successTime: successTime, raw: String(decoding: response.body, as: UTF8.self))
    }

    private func encode(_ value: some Encodable, operation: String) throws(ChannelAPIError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(value))
        } catch {
            throw checks.invalid(operation, "the request body cannot be encoded as JSON")
        }
    }

    private func decode<T: Decodable>(
        _ type: T.Type, _ response: ChannelHTTPResponse, operation: String
    ) throws(ChannelAPIError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(response.body))
        } catch {
            throw checks.malformed(operation, "the response body is not the JSON expected", response)
        }
    }

    private func decode<T: JSONObjectDecodable>(
        _ type: T.Type, _ response: ChannelHTTPResponse, operation: String
    ) throws(ChannelAPIError) -> T {
        guard let reply = T.decode(response.body) else {
            throw checks.malformed(operation, "the response body is not the JSON expected", response)
        }
        return reply
    }

    private func unixSeconds(_ date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down))
    }
}

// MARK: Wire formats

private struct PrepayBody: Encodable {
    struct Amount: Encodable {
        var total: Int64
        var currency: String
    }

    struct Payer: Encodable {
        var openid: String
    }

    var appid: String
    var mchid: String
    var description: String
    var outTradeNo: String
    var timeExpire: String?
    var attach: String?
    var notifyURL: String
    var amount: Amount
    var payer: Payer?

    enum CodingKeys: String, CodingKey {
        case appid, mchid, description, attach, amount, payer
        case outTradeNo = "out_trade_no"
        case timeExpire = "time_expire"
        case notifyURL = "notify_url"
    }
}

private struct CloseBody: Encodable {
    var mchid: String
}

private struct RefundBody: Encodable {
    struct Amount: Encodable {
        var refund: Int64
        var total: Int64
        var currency: String
    }

    var outTradeNo: String
    var outRefundNo: String
    var reason: String?
    var notifyURL: String?
    var amount: Amount

    enum CodingKeys: String, CodingKey {
        case reason, amount
        case outTradeNo = "out_trade_no"
        case outRefundNo = "out_refund_no"
        case notifyURL = "notify_url"
    }
}

private struct BillReply: Decodable {
    var hashType: String?
    var hashValue: String?
    var downloadURL: String?

    enum CodingKeys: String, CodingKey {
        case hashType = "hash_type"
        case hashValue = "hash_value"
        case downloadURL = "download_url"
    }
}

private struct PrepayReply: Decodable {
    var prepayID: String?
    var codeURL: String?

    enum CodingKeys: String, CodingKey {
        case prepayID = "prepay_id"
        case codeURL = "code_url"
    }
}

private struct RefundReply: Decodable {
    struct Amount: Decodable {
        var refund: Int64?
        var total: Int64?
        var currency: String?
    }

    var refundID: String?
    var outRefundNo: String?
    var outTradeNo: String?
    var transactionID: String?
    var status: String?
    var successTime: String?
    var amount: Amount?

    enum CodingKeys: String, CodingKey {
        case status, amount
        case refundID = "refund_id"
        case outRefundNo = "out_refund_no"
        case outTradeNo = "out_trade_no"
        case transactionID = "transaction_id"
        case successTime = "success_time"
    }
}

private struct ErrorReply: Decodable {
    var code: String?
    var message: String?
}
