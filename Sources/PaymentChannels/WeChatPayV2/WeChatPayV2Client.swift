import Foundation
import PayFleetMessages

/// Calls WeChat Pay API v2 for one merchant: `unifiedorder` (JSAPI and NATIVE), `orderquery`, `closeorder`,
/// `refund` (over mutual TLS with the merchant's API client certificate) and `refundquery`.
///
/// Requests are flat XML carrying `appid`, `mch_id`, `nonce_str` and `sign` (MD5, or HMAC-SHA256 with
/// `sign_type`, as the merchant platform is set), amounts in fen. Replies are parsed with ``SimpleXML`` (no DTD, no
/// entities). A `return_code` FAIL is classified from its message; a `return_code` SUCCESS must carry a `sign` that
/// verifies with the API key (constant-time), else the call fails with ``ChannelAPIError/Code/responseSignature``;
/// then a `result_code` FAIL is classified by its `err_code` (see ``ChannelAPIError/weChatPayV2(errCode:message:operation:returnCodeFailed:)``).
/// No retries: every failure is thrown, transient or permanent.
public struct WeChatPayV2Client: Sendable {
    private let checks = ChannelClientChecks(channel: .wechatpayV2)
    public let merchant: WeChatPayV2Merchant
    public let configuration: WeChatPayV2ClientConfiguration
    private let transport: any ChannelHTTPTransport
    private let refundTransport: (any ChannelHTTPTransport)?
    private let baseURL: APIBaseURL
    private let refundBaseURL: APIBaseURL
    private let now: @Sendable () -> Date
    private let makeNonce: @Sendable () -> String

    /// `refundTransport` presents the merchant's API client certificate (see
    /// ``HTTPClientTransport/mutualTLS(certificateFile:privateKeyFile:trustRootsFile:client:)``); without it,
    /// ``refund(_:)`` fails with ``ChannelAPIError/Code/configuration``. `now` and `nonce` are for tests; by
    /// default the system clock and 32 random letters and digits.
    ///
    /// Throws ``ChannelAPIError/Code/configuration`` when a base URL is not an http(s) URL without query.
    public init(
        merchant: WeChatPayV2Merchant, configuration: WeChatPayV2ClientConfiguration,
        transport: any ChannelHTTPTransport, refundTransport: (any ChannelHTTPTransport)? = nil,
        now: (@Sendable () -> Date)? = nil, nonce: (@Sendable () -> String)? = nil
    ) throws(ChannelAPIError) {
        func parse(_ text: String, _ name: String) throws(ChannelAPIError) -> APIBaseURL {
            try APIBaseURL(
                configured: text, setting: "WeChat Pay v2 \(name)", channel: .wechatpayV2,
                example: WeChatPayV2ClientConfiguration.productionBaseURL)
        }
        self.baseURL = try parse(configuration.baseURL, "base URL")
        self.refundBaseURL = try parse(configuration.refundBaseURL ?? configuration.baseURL, "refund base URL")
        self.merchant = merchant
        self.configuration = configuration
        self.transport = transport
        self.refundTransport = refundTransport
        self.now = now ?? { Date() }
        self.makeNonce = nonce ?? { WeChatPayV3NotificationSigner.randomToken(length: 32) }
    }

    // MARK: Operations

    /// Places an order (`POST /pay/unifiedorder`) and returns its `prepay_id` (and `code_url` for NATIVE). The same
    /// `out_trade_no` with the same parameters answers the same prepay; with other parameters `OUT_TRADE_NO_USED`.
    public func unifiedOrder(_ order: WeChatPayV2OrderRequest) async throws(ChannelAPIError) -> WeChatPayV2PrepayResult
    {
        let operation = "unifiedorder"
        try checks.requireNumber(order.outTradeNo, "out_trade_no", operation, max: 32)
        guard order.totalFee > 0 else { throw checks.invalid(operation, "an order's total_fee must be more than 0") }
        guard order.feeType.uppercased() == "CNY" else {
            throw checks.invalid(operation, "WeChat Pay v2 orders are in CNY", detail: "fee_type \(order.feeType.prefix(8))")
        }
        let notifyURL = order.notifyURL ?? configuration.notifyURL
        guard !notifyURL.isEmpty else {
            throw ChannelAPIError(
                code: .configuration, channel: .wechatpayV2, operation: operation,
                message: "no notify URL is configured for WeChat Pay v2 merchant \(merchant.id)")
        }
        var parameters: [(key: String, value: String)] = [
            (key: "body", value: order.description.isEmpty ? order.outTradeNo : order.description),
            (key: "out_trade_no", value: order.outTradeNo),
            (key: "total_fee", value: String(order.totalFee)),
            (key: "fee_type", value: "CNY"),
            (
                key: "spbill_create_ip",
                value: order.clientIP.flatMap { $0.isEmpty ? nil : $0 } ?? configuration.defaultClientIP
            ),
            (key: "notify_url", value: notifyURL),
            (key: "trade_type", value: order.tradeType.rawValue),
        ]
        switch order.tradeType {
        case .jsapi:
            guard let openID = order.openID, !openID.isEmpty else {
                throw checks.invalid(operation, "a JSAPI order needs the payer's openid")
            }
            parameters.append((key: "openid", value: openID))
        case .native:
            parameters.append((key: "product_id", value: order.outTradeNo))
        }
        if let timeExpire = order.timeExpire {
            parameters.append((key: "time_expire", value: WeChatPayV2NotificationSigner.compactTime(timeExpire)))
        }
        if let attach = order.attach, !attach.isEmpty { parameters.append((key: "attach", value: attach)) }
        let reply = try await call(operation, path: "/pay/unifiedorder", parameters: parameters)
        guard let prepayID = reply.fields["prepay_id"], !prepayID.isEmpty else {
            throw checks.malformed(operation, "the unifiedorder reply has no prepay_id")
        }
        var codeURL: String?
        if order.tradeType == .native {
            guard let url = reply.fields["code_url"], !url.isEmpty else {
                throw checks.malformed(operation, "the NATIVE unifiedorder reply has no code_url")
            }
            codeURL = url
        }
        return WeChatPayV2PrepayResult(prepayID: prepayID, codeURL: codeURL)
    }

    /// Queries an order by our payment number (`POST /pay/orderquery`). One WeChat Pay never saw fails with
    /// ``ChannelAPIError/Code/notFound`` (`ORDERNOTEXIST`).
    public func queryOrder(outTradeNo: String) async throws(ChannelAPIError) -> WeChatPayV2OrderQueryResult {
        let operation = "orderquery"
        try checks.requireNumber(outTradeNo, "out_trade_no", operation, max: 32)
        let reply = try await call(
            operation, path: "/pay/orderquery", parameters: [(key: "out_trade_no", value: outTradeNo)])
        let fields = reply.fields
        guard let state = fields["trade_state"], !state.isEmpty else {
            throw checks.malformed(operation, "the order has no trade_state")
        }
        guard fields["out_trade_no"] == outTradeNo else {
            throw checks.malformed(operation, "the order's out_trade_no is not the one queried")
        }
        var timeEnd: Date?
        if let text = fields["time_end"], !text.isEmpty {
            guard let date = WeChatPayV2Verifier.parseCompactTime(text) else {
                throw checks.malformed(operation, "time_end is not yyyyMMddHHmmss")
            }
            timeEnd = date
        }
        return WeChatPayV2OrderQueryResult(
            outTradeNo: outTradeNo, transactionID: fields["transaction_id"].flatMap { $0.isEmpty ? nil : $0 },
            tradeState: .init(rawValue: state), tradeStateDescription: fields["trade_state_desc"],
            totalFee: try fee(fields, "total_fee", operation), feeType: fields["fee_type"]?.uppercased(),
            timeEnd: timeEnd, raw: reply.raw)
    }

    /// Closes an unpaid order (`POST /pay/closeorder`). A paid one fails with `ORDERPAID`, a closed one with
    /// `ORDERCLOSED` (both ``ChannelAPIError/Code/rejected``).
    public func closeOrder(outTradeNo: String) async throws(ChannelAPIError) {
        let operation = "closeorder"
        try checks.requireNumber(outTradeNo, "out_trade_no", operation, max: 32)
        _ = try await call(operation, path: "/pay/closeorder", parameters: [(key: "out_trade_no", value: outTradeNo)])
    }

    /// Requests a refund (`POST /secapi/pay/refund`, mutual TLS with the merchant's API client certificate). The
    /// outcome is ``WeChatPayV2RefundResult/Status/processing``: query it with ``queryRefund(outRefundNo:)``.
    /// Repeating the call with the same `out_refund_no` never refunds twice.
    public func refund(_ refund: WeChatPayV2RefundRequest) async throws(ChannelAPIError) -> WeChatPayV2RefundResult {
        let operation = "refund"
        try checks.requireNumber(refund.outTradeNo, "out_trade_no", operation, max: 32)
        try checks.requireNumber(refund.outRefundNo, "out_refund_no", operation, max: 64)
        guard refund.refundFee > 0, refund.totalFee > 0, refund.refundFee <= refund.totalFee else {
            throw checks.invalid(operation, "a refund needs 0 < refund_fee ≤ total_fee")
        }
        guard let refundTransport else {
            throw ChannelAPIError(
                code: .configuration, channel: .wechatpayV2, operation: operation,
                message: "WeChat Pay v2 refunds need the merchant's API client certificate (mutual TLS); configure "
                    + "client_certificate_file and client_private_key_file for merchant \(merchant.id)")
        }
        var parameters: [(key: String, value: String)] = [
            (key: "out_trade_no", value: refund.outTradeNo),
            (key: "out_refund_no", value: refund.outRefundNo),
            (key: "total_fee", value: String(refund.totalFee)),
            (key: "refund_fee", value: String(refund.refundFee)),
            (key: "refund_fee_type", value: "CNY"),
        ]
        if let reason = refund.reason, !reason.isEmpty { parameters.append((key: "refund_desc", value: reason)) }
        if let url = refund.notifyURL ?? configuration.refundNotifyURL, !url.isEmpty {
            parameters.append((key: "notify_url", value: url))
        }
        let reply = try await call(
            operation, path: "/secapi/pay/refund", parameters: parameters, transport: refundTransport,
            base: refundBaseURL)
        let fields = reply.fields
        guard let refundID = fields["refund_id"], !refundID.isEmpty else {
            throw checks.malformed(operation, "the refund reply has no refund_id")
        }
        guard fields["out_refund_no"] == refund.outRefundNo else {
            throw checks.malformed(operation, "the refund's out_refund_no is not the one requested")
        }
        return WeChatPayV2RefundResult(
            outRefundNo: refund.outRefundNo, refundID: refundID, outTradeNo: fields["out_trade_no"],
            transactionID: fields["transaction_id"], status: .processing,
            refundFee: try fee(fields, "refund_fee", operation), totalFee: try fee(fields, "total_fee", operation),
            successTime: nil, raw: reply.raw)
    }

    /// Queries a refund by our refund number (`POST /pay/refundquery`); the reply's `…_$n` entry for it.
    public func queryRefund(outRefundNo: String) async throws(ChannelAPIError) -> WeChatPayV2RefundResult {
        let operation = "refundquery"
        try checks.requireNumber(outRefundNo, "out_refund_no", operation, max: 64)
        let reply = try await call(
            operation, path: "/pay/refundquery", parameters: [(key: "out_refund_no", value: outRefundNo)])
        let fields = reply.fields
        let count = fields["refund_count"].flatMap { Int($0) } ?? 0
        guard let index = (0..<min(count, 50)).first(where: { fields["out_refund_no_\($0)"] == outRefundNo }) else {
            throw checks.malformed(operation, "the refundquery reply does not list the refund queried")
        }
        guard let refundID = fields["refund_id_\(index)"], !refundID.isEmpty,
            let status = fields["refund_status_\(index)"], !status.isEmpty
        else {
            throw checks.malformed(operation, "the refund has no refund_id or refund_status")
        }
        var successTime: Date?
        if let text = fields["refund_success_time_\(index)"], !text.isEmpty {
            guard let date = ChinaStandardTime.parse(text) else {
                throw checks.malformed(operation, "refund_success_time is not yyyy-MM-dd HH:mm:ss")
            }
            successTime = date
        }
        return WeChatPayV2RefundResult(
            outRefundNo: outRefundNo, refundID: refundID, outTradeNo: fields["out_trade_no"],
            transactionID: fields["transaction_id"], status: .init(rawValue: status),
            refundFee: try fee(fields, "refund_fee_\(index)", operation),
            totalFee: try fee(fields, "total_fee", operation), successTime: successTime, raw: reply.raw)
    }

    /// Downloads the trade bill (`bill_type` `ALL`) of `day`, China Standard Time (`POST /pay/downloadbill`,
    /// `bill_date` `YYYYMMDD`, signed like every call). Success is the bill itself — the back-tick CSV of
    /// ``WeChatPayBill``, not XML and not signed; failure is a `return_code` FAIL reply in its place. Returns the
    /// file's bytes, or nil when WeChat Pay has no bill for the day (`No Bill Exist`: no trade happened). `Bill
    /// Creating` (the day's bill is not ready yet, before about 10:00 of the next day) is
    /// ``ChannelAPIError/Code/serverError``, to try again later; other FAIL replies are classified by their message.
    public func downloadBill(day: BillDay) async throws(ChannelAPIError) -> [UInt8]? {
        let operation = "downloadbill"
        var request = signedRequest(
            path: "/pay/downloadbill",
            parameters: [(key: "bill_date", value: day.compact), (key: "bill_type", value: "ALL")], nonce: makeNonce())
        request.maxResponseBytes = Self.maxBillBytes
        let response = try await transport.exchange(
            request, timeout: configuration.timeout * 6, channel: .wechatpayV2, operation: operation)
        guard (200...299).contains(response.status) else {
            throw .weChatPayV2(status: response.status, operation: operation)
        }
        guard Self.isXMLReply(response.body) else { return response.body }
        let document: (root: String, fields: [(key: String, value: String)])
        do {
            document = try SimpleXML.parse(response.body)
        } catch {
            throw ChannelAPIError(
                code: .malformedResponse, channel: .wechatpayV2, operation: operation, httpStatus: response.status,
                message: "the downloadbill reply is neither a bill nor the flat XML of a failure",
                detail: error.message)
        }
        let fields = Dictionary(document.fields, uniquingKeysWith: { first, _ in first })
        guard fields["return_code"] == "FAIL" else {
            throw checks.malformed(operation, "the downloadbill reply is XML without return_code FAIL instead of the bill")
        }
        let message = fields["return_msg"] ?? ""
        switch message.lowercased() {
        case "no bill exist":
            return nil
        case "bill creating":
            throw ChannelAPIError(
                code: .serverError, channel: .wechatpayV2, operation: operation, httpStatus: response.status,
                channelCode: "FAIL", channelMessage: message,
                message: "WeChat Pay v2 has not made the day's bill yet; try again later (after 10:00 CST)")
        default:
            throw .weChatPayV2(errCode: nil, message: message, operation: operation, returnCodeFailed: true)
        }
    }

    /// The largest bill file accepted: about a million lines.
    static let maxBillBytes = 256 << 20

    /// Whether a downloadbill reply is XML (a failure) rather than the bill, whose first line is its CSV header.
    static func isXMLReply(_ body: [UInt8]) -> Bool {
        let start = body.prefix(64).drop { [0x20, 0x09, 0x0D, 0x0A, 0xEF, 0xBB, 0xBF].contains($0) }
        return start.starts(with: Array("<xml".utf8)) || start.starts(with: Array("<?xml".utf8))
    }

    /// The JSAPI pay parameters for `prepayID`, signed now with a fresh nonce: what the `payment.created` event
    /// carries to the payer's WeChat client. See ``jsapiPayParameters(prepayID:timestamp:nonce:)``.
    public func jsapiPayParameters(prepayID: String) -> [String: String] {
        jsapiPayParameters(
            prepayID: prepayID, timestamp: Int64(now().timeIntervalSince1970.rounded(.down)), nonce: makeNonce())
    }

    // MARK: Signing and verification (pure)

    /// `appId`, `timeStamp`, `nonceStr`, `package` (`prepay_id=…`), `signType` (`MD5` or `HMAC-SHA256`) and
    /// `paySign`, the v2 signature of those five with the API key. Pure.
    public func jsapiPayParameters(prepayID: String, timestamp: Int64, nonce: String) -> [String: String] {
        var parameters = [
            "appId": merchant.appID, "timeStamp": String(timestamp), "nonceStr": nonce,
            "package": "prepay_id=\(prepayID)", "signType": configuration.signType.rawValue,
        ]
        parameters["paySign"] = WeChatPayV2Signature.sign(
            parameters.map { (key: $0.key, value: $0.value) }, type: configuration.signType, apiKey: merchant.apiKey)
        return parameters
    }

    /// The signed request to `path` (relative to `refund ? refund base URL : base URL`) with `parameters` plus
    /// `appid`, `mch_id`, `nonce_str`, `sign_type` (HMAC-SHA256 only) and `sign`: `<xml>` with keys in byte order,
    /// `sign` last. Pure.
    public func signedRequest(
        path: String, parameters: [(key: String, value: String)], nonce: String, refund: Bool = false
    ) -> ChannelHTTPRequest {
        var all =
            parameters + [
                (key: "appid", value: merchant.appID), (key: "mch_id", value: merchant.mchID),
                (key: "nonce_str", value: nonce),
            ]
        if configuration.signType == .hmacSHA256 {
            all.append((key: "sign_type", value: configuration.signType.rawValue))
        }
        all = all.filter { !$0.value.isEmpty }.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        let sign = WeChatPayV2Signature.sign(all, type: configuration.signType, apiKey: merchant.apiKey)
        let body = Array(SimpleXML.render(all + [(key: "sign", value: sign)]).utf8)
        return ChannelHTTPRequest(
            method: "POST", url: (refund ? refundBaseURL : baseURL).url(path),
            headers: [("Content-Type", "text/xml; charset=utf-8"), ("User-Agent", configuration.userAgent)],
            body: body)
    }

    /// Parses a 200 reply and checks it as described on the type: `return_code` FAIL is thrown classified; a
    /// SUCCESS reply's `sign` must verify with the API key under the configured sign type (a reply naming another
    /// `sign_type` does not verify) and its `appid` / `mch_id`, when present, must be the merchant's. Returns the
    /// fields; `result_code` is left to the caller.
    public func verifiedFields(
        _ response: ChannelHTTPResponse, operation: String
    ) throws(ChannelAPIError) -> [String: String] {
        let document: (root: String, fields: [(key: String, value: String)])
        do {
            document = try SimpleXML.parse(response.body)
        } catch {
            throw ChannelAPIError(
                code: .malformedResponse, channel: .wechatpayV2, operation: operation, httpStatus: response.status,
                message: "the WeChat Pay v2 reply is not the flat XML expected", detail: error.message)
        }
        guard document.root == "xml" else { throw checks.malformed(operation, "the reply's root element is not <xml>") }
        let fields = Dictionary(document.fields, uniquingKeysWith: { first, _ in first })
        guard let returnCode = fields["return_code"], !returnCode.isEmpty else {
            throw checks.malformed(operation, "the reply has no return_code")
        }
        guard returnCode == "SUCCESS" else {
            throw .weChatPayV2(
                errCode: nil, message: fields["return_msg"], operation: operation, returnCodeFailed: true)
        }
        func refuse(_ message: String) -> ChannelAPIError {
            ChannelAPIError(
                code: .responseSignature, channel: .wechatpayV2, operation: operation, httpStatus: response.status,
                message: message, detail: "\(document.fields.count) fields")
        }
        guard let sign = fields["sign"], !sign.isEmpty else {
            throw refuse("the WeChat Pay v2 reply has no sign; it cannot be trusted")
        }
        if let named = fields["sign_type"], !named.isEmpty, named != configuration.signType.rawValue {
            throw refuse(
                "the WeChat Pay v2 reply is signed \(named.prefix(16)), not \(configuration.signType.rawValue)")
        }
        let expected = WeChatPayV2Signature.sign(document.fields, type: configuration.signType, apiKey: merchant.apiKey)
        guard ConstantTime.equals(Array(expected.utf8), Array(sign.uppercased().utf8)) else {
            throw refuse(
                "the WeChat Pay v2 reply's sign does not verify with merchant \(merchant.id)'s API key; the outcome "
                    + "is unknown (check the API key and sign type, or tampering)")
        }
        if let appID = fields["appid"], !appID.isEmpty, appID != merchant.appID {
            throw checks.malformed(operation, "the reply's appid is not merchant \(merchant.id)'s")
        }
        if let mchID = fields["mch_id"], !mchID.isEmpty, mchID != merchant.mchID {
            throw checks.malformed(operation, "the reply's mch_id is not merchant \(merchant.id)'s")
        }
        return fields
    }

    // MARK: Internals

    private func call(
        _ operation: String, path: String, parameters: [(key: String, value: String)],
        transport: (any ChannelHTTPTransport)? = nil, base: APIBaseURL? = nil
    ) async throws(ChannelAPIError) -> (fields: [String: String], raw: String) {
        let request = signedRequest(
            path: path, parameters: parameters, nonce: makeNonce(), refund: base != nil)
        let response = try await (transport ?? self.transport).exchange(
            request, timeout: configuration.timeout, channel: .wechatpayV2, operation: operation)
        guard (200...299).contains(response.status) else {
            throw .weChatPayV2(status: response.status, operation: operation)
        }
        let fields = try verifiedFields(response, operation: operation)
        guard fields["result_code"] == "SUCCESS" else {
            throw .weChatPayV2(errCode: fields["err_code"], message: fields["err_code_des"], operation: operation)
        }
        return (fields, String(decoding: response.body, as: UTF8.self))
    }

    private func fee(_ fields: [String: String], _ name: String, _ operation: String) throws(ChannelAPIError) -> Int64?
    {
        guard let text = fields[name], !text.isEmpty else { return nil }
        guard text.utf8.count <= 18, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int64(text)
        else {
            throw checks.malformed(operation, "\(name) is not a whole number of fen")
        }
        return value
    }
}
