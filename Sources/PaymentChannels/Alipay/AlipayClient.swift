import Crypto
import Foundation
import PayFleetMessages
import _CryptoExtras

/// Calls the Alipay open platform gateway for one app: `alipay.trade.create`, `alipay.trade.precreate`,
/// `alipay.trade.query`, `alipay.trade.close`, `alipay.trade.refund`, `alipay.trade.fastpay.refund.query` and
/// `alipay.data.dataservice.bill.downloadurl.query` (with the bill's download), and builds the signed order strings
/// of `alipay.trade.app.pay` and `alipay.trade.wap.pay`.
///
/// Requests are POSTed as alipay-sdk-java does: the common parameters and `sign` in the URL query,
/// `biz_content` in an `application/x-www-form-urlencoded` UTF-8 body. Responses: the exact text of the
/// `<method>_response` member is checked against `sign` with the merchant's Alipay public keys (any may verify)
/// before anything is read; an unsigned success fails with ``ChannelAPIError/Code/responseSignature``. An
/// `error_response`, and a business error Alipay sent unsigned, are classified without verification, as the
/// Alipay SDKs do. Amounts are decimal strings converted with ``Money``. No retries.
public struct AlipayClient: Sendable {
    private let checks = ChannelClientChecks(channel: .alipay)
    public let merchant: AlipayMerchant
    public let signer: AlipayRequestSigner
    public let configuration: AlipayClientConfiguration
    private let transport: any ChannelHTTPTransport
    private let gateway: APIBaseURL
    private let now: @Sendable () -> Date

    /// `now` is for tests; by default the system clock.
    ///
    /// Throws ``ChannelAPIError/Code/configuration`` when the gateway is not an http(s) URL without query, or when
    /// the signer's app id is not the merchant's.
    public init(
        merchant: AlipayMerchant, signer: AlipayRequestSigner, configuration: AlipayClientConfiguration,
        transport: any ChannelHTTPTransport, now: (@Sendable () -> Date)? = nil
    ) throws(ChannelAPIError) {
        let gateway = try APIBaseURL(
            configured: configuration.gatewayURL, setting: "Alipay gateway URL", channel: .alipay,
            example: AlipayClientConfiguration.productionGatewayURL)
        guard signer.appID == merchant.appID else {
            throw ChannelAPIError(
                code: .configuration, channel: .alipay,
                message: "the request signer's app id is not merchant \(merchant.id)'s app id",
                detail: "signer \(signer.appID), merchant \(merchant.appID)")
        }
        self.merchant = merchant
        self.signer = signer
        self.configuration = configuration
        self.transport = transport
        self.gateway = gateway
        self.now = now ?? { Date() }
    }

    // MARK: Operations

    /// Creates a trade for a known buyer (`alipay.trade.create`, e.g. a mini program's JSAPI payment) and returns
    /// Alipay's `trade_no`, which the client side pays with.
    public func createTrade(_ order: AlipayOrderRequest) async throws(ChannelAPIError) -> String {
        let method = "alipay.trade.create"
        guard order.buyerID?.isEmpty == false || order.buyerOpenID?.isEmpty == false else {
            throw checks.invalid(method, "alipay.trade.create needs the buyer's buyer_id or buyer_open_id")
        }
        let (reply, _) = try await call(
            method, bizContent: try orderBizContent(order, productCode: order.productCode, method: method),
            notifyURL: order.notifyURL ?? configuration.notifyURL, as: TradeReply.self)
        guard let tradeNo = reply.tradeNo, !tradeNo.isEmpty else {
            throw checks.malformed(method, "the response has no trade_no")
        }
        return tradeNo
    }

    /// Creates a QR-code trade (`alipay.trade.precreate`) and returns its `qr_code` URL, to show as a QR code.
    public func precreateTrade(_ order: AlipayOrderRequest) async throws(ChannelAPIError) -> String {
        let method = "alipay.trade.precreate"
        let (reply, _) = try await call(
            method, bizContent: try orderBizContent(order, productCode: order.productCode, method: method),
            notifyURL: order.notifyURL ?? configuration.notifyURL, as: TradeReply.self)
        guard let qrCode = reply.qrCode, !qrCode.isEmpty else {
            throw checks.malformed(method, "the response has no qr_code")
        }
        return qrCode
    }

    /// The signed, form-encoded order string of `alipay.trade.app.pay` (product `QUICK_MSECURITY_PAY` unless the
    /// order names another), handed as-is to the Alipay app SDK. No network.
    public func appPayOrderString(_ order: AlipayOrderRequest) throws(ChannelAPIError) -> String {
        let method = "alipay.trade.app.pay"
        return signer.orderString(
            method: method,
            bizContent: try orderBizContent(
                order, productCode: order.productCode ?? "QUICK_MSECURITY_PAY", method: method),
            timestamp: now(), notifyURL: order.notifyURL ?? configuration.notifyURL)
    }

    /// The gateway URL that starts an `alipay.trade.wap.pay` in a mobile browser (product `QUICK_WAP_WAY` unless
    /// the order names another), with `returnURL` as the page Alipay returns the payer to. No network.
    public func wapPayURL(_ order: AlipayOrderRequest, returnURL: String? = nil) throws(ChannelAPIError) -> String {
        let method = "alipay.trade.wap.pay"
        let query = signer.orderString(
            method: method,
            bizContent: try orderBizContent(order, productCode: order.productCode ?? "QUICK_WAP_WAY", method: method),
            timestamp: now(), notifyURL: order.notifyURL ?? configuration.notifyURL, returnURL: returnURL)
        return gateway.url("") + "?" + query
    }

    /// Queries a trade by our payment number (`alipay.trade.query`). A trade Alipay never saw (the buyer never
    /// scanned or paid) fails with ``ChannelAPIError/Code/notFound`` (`ACQ.TRADE_NOT_EXIST`).
    public func queryTrade(outTradeNo: String) async throws(ChannelAPIError) -> AlipayTradeQueryResult {
        let method = "alipay.trade.query"
        try checks.requireNumber(outTradeNo, "out_trade_no", method)
        let (reply, raw) = try await call(
            method, bizContent: try json(TradeKey(outTradeNo: outTradeNo), method: method), notifyURL: nil,
            as: TradeReply.self)
        guard let status = reply.tradeStatus, !status.isEmpty else {
            throw checks.malformed(method, "the response has no trade_status")
        }
        guard reply.outTradeNo == nil || reply.outTradeNo == outTradeNo else {
            throw checks.malformed(method, "the trade's out_trade_no is not the one queried")
        }
        var sendPayDate: Date?
        if let text = reply.sendPayDate, !text.isEmpty {
            guard let date = ChinaStandardTime.parse(text) else {
                throw checks.malformed(method, "send_pay_date is not yyyy-MM-dd HH:mm:ss")
            }
            sendPayDate = date
        }
        return AlipayTradeQueryResult(
            outTradeNo: outTradeNo, tradeNo: reply.tradeNo, tradeStatus: .init(rawValue: status),
            totalAmountMinor: try amount(reply.totalAmount, "total_amount", method),
            buyerPayAmountMinor: try amount(reply.buyerPayAmount, "buyer_pay_amount", method),
            sendPayDate: sendPayDate, raw: raw)
    }

    /// Closes an unpaid trade (`alipay.trade.close`). A trade the buyer never scanned does not exist at Alipay
    /// yet: that fails with ``ChannelAPIError/Code/notFound``.
    public func closeTrade(outTradeNo: String) async throws(ChannelAPIError) {
        let method = "alipay.trade.close"
        try checks.requireNumber(outTradeNo, "out_trade_no", method)
        _ = try await call(
            method, bizContent: try json(TradeKey(outTradeNo: outTradeNo), method: method), notifyURL: nil,
            as: TradeReply.self)
    }

    /// Refunds part or all of a trade (`alipay.trade.refund`); `out_request_no` makes a repeated call safe.
    public func refund(_ refund: AlipayRefundRequest) async throws(ChannelAPIError) -> AlipayRefundResult {
        let method = "alipay.trade.refund"
        try checks.requireNumber(refund.outTradeNo, "out_trade_no", method)
        try checks.requireNumber(refund.outRequestNo, "out_request_no", method)
        guard refund.refundAmountMinor > 0 else { throw checks.invalid(method, "a refund's amount must be more than 0") }
        let (reply, raw) = try await call(
            method,
            bizContent: try json(
                RefundBiz(
                    outTradeNo: refund.outTradeNo, outRequestNo: refund.outRequestNo,
                    refundAmount: Money.formatDecimal(refund.refundAmountMinor), refundReason: refund.reason),
                method: method),
            notifyURL: nil, as: TradeReply.self)
        guard let refundFee = try amount(reply.refundFee, "refund_fee", method) else {
            throw checks.malformed(method, "the response has no refund_fee")
        }
        return AlipayRefundResult(
            outTradeNo: reply.outTradeNo ?? refund.outTradeNo, tradeNo: reply.tradeNo, refundFeeMinor: refundFee,
            fundChange: reply.fundChange == "Y", refundedAt: reply.gmtRefundPay.flatMap(ChinaStandardTime.parse), raw: raw)
    }

    /// Queries a refund (`alipay.trade.fastpay.refund.query`) by the trade and our refund number.
    public func queryRefund(
        outTradeNo: String, outRequestNo: String
    ) async throws(ChannelAPIError) -> AlipayRefundQueryResult {
        let method = "alipay.trade.fastpay.refund.query"
        try checks.requireNumber(outTradeNo, "out_trade_no", method)
        try checks.requireNumber(outRequestNo, "out_request_no", method)
        let (reply, raw) = try await call(
            method,
            bizContent: try json(RefundKey(outTradeNo: outTradeNo, outRequestNo: outRequestNo), method: method),
            notifyURL: nil, as: TradeReply.self)
        return AlipayRefundQueryResult(
            outTradeNo: outTradeNo, outRequestNo: outRequestNo, tradeNo: reply.tradeNo,
            refundAmountMinor: try amount(reply.refundAmount, "refund_amount", method),
            refundStatus: reply.refundStatus.flatMap { $0.isEmpty ? nil : $0 }, raw: raw)
    }

    /// The short-lived URL of the trade bill of `day`, China Standard Time
    /// (`alipay.data.dataservice.bill.downloadurl.query`, `bill_type` `trade`, `bill_date` `YYYY-MM-DD`), signed and
    /// verified like every call; nil when Alipay has no bill for the day (`isp.bill_not_exist`).
    public func billDownloadURL(day: BillDay) async throws(ChannelAPIError) -> String? {
        let method = Self.billMethod
        let reply: BillURLReply
        do {
            (reply, _) = try await call(
                method, bizContent: try json(BillBiz(billType: "trade", billDate: day.description), method: method),
                notifyURL: nil, as: BillURLReply.self)
        } catch where error.channelCode?.lowercased() == "isp.bill_not_exist" {
            return nil
        }
        guard let url = reply.billDownloadURL, !url.isEmpty else {
            throw checks.malformed(method, "the response has no bill_download_url")
        }
        return url
    }

    /// Downloads the trade bill of `day` (China Standard Time): ``billDownloadURL(day:)``, then a plain `GET` of that
    /// URL, which must be http(s) — no credential is sent there, the URL itself is the permission (valid for 30
    /// seconds). Returns the zip (see ``AlipayBill/parse(zip:)``), or nil when Alipay has no bill for the day.
    public func downloadBill(day: BillDay) async throws(ChannelAPIError) -> [UInt8]? {
        guard let url = try await billDownloadURL(day: day) else { return nil }
        let operation = "bill_download"
        guard let components = URLComponents(string: url),
            let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = components.host, !host.isEmpty, components.user == nil, components.password == nil
        else {
            throw checks.malformed(operation, "bill_download_url is not an http(s) URL")
        }
        let request = ChannelHTTPRequest(
            method: "GET", url: url, headers: [("Accept", "*/*")], body: [], maxResponseBytes: Self.maxBillBytes)
        let response = try await transport.exchange(
            request, timeout: configuration.timeout * 6, channel: .alipay, operation: operation)
        guard (200...299).contains(response.status) else {
            // Most likely the URL expired (it lasts 30 seconds): a rerun asks for a fresh one.
            throw ChannelAPIError(
                code: (500...599).contains(response.status) ? .serverError : .malformedResponse, channel: .alipay,
                operation: operation, httpStatus: response.status,
                message: "Alipay's bill download answered HTTP \(response.status); the URL lasts 30 seconds, a rerun "
                    + "asks for a fresh one",
                detail: "host \(host.prefix(100))")
        }
        return response.body
    }

    /// The method that names a bill's download URL.
    public static let billMethod = "alipay.data.dataservice.bill.downloadurl.query"

    /// The largest bill zip accepted.
    static let maxBillBytes = 256 << 20

    // MARK: Signing and verification (pure)

    /// The signed gateway request of `method` with `bizContent` (JSON text) at `timestamp`. Pure.
    public func signedRequest(
        method: String, bizContent: String, timestamp: Date, notifyURL: String? = nil
    ) -> ChannelHTTPRequest {
        var parameters = signer.signedParameters(
            method: method, bizContent: bizContent, timestamp: timestamp, notifyURL: notifyURL)
        parameters["biz_content"] = nil
        let body = FormCodec.encode([(key: "biz_content", value: bizContent)])
        return ChannelHTTPRequest(
            method: "POST", url: gateway.url("") + "?" + FormCodec.encode(parameters),
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded;charset=utf-8"),
                ("Accept", "application/json"),
            ],
            body: Array(body.utf8))
    }

    /// Checks a gateway response to `method` and returns the exact, verified text of its `<method>_response`
    /// when Alipay answered `code` `10000`. Throws the classified error for an `error_response` or a business
    /// error, ``ChannelAPIError/Code/responseSignature`` when the text does not verify (or a success is
    /// unsigned), ``ChannelAPIError/Code/malformedResponse`` when the body is not the JSON expected.
    public func verifyResponse(_ response: ChannelHTTPResponse, method: String) throws(ChannelAPIError) -> [UInt8] {
        guard (200...299).contains(response.status) else {
            throw ChannelAPIError(
                code: ChannelAPIError.codeForStatus(response.status, hasChannelCode: false), channel: .alipay,
                operation: method, httpStatus: response.status,
                message: "Alipay's gateway answered HTTP \(response.status)")
        }
        let extract = try AlipayResponseExtractor.extract(response.body, method: method)
        // Verify before reading anything of a signed member.
        if extract.kind == .response, let sign = extract.sign {
            try checkSignature(sign, over: extract.content, method: method)
        }
        let status = try decode(StatusReply.self, extract.content, method: method)
        guard let code = status.code, !code.isEmpty else {
            throw checks.malformed(method, "the response member has no code")
        }
        if extract.kind == .response, extract.sign == nil, code == "10000" {
            throw ChannelAPIError(
                code: .responseSignature, channel: .alipay, operation: method, httpStatus: response.status,
                message: "Alipay answered success without a sign; it cannot be trusted")
        }
        guard extract.kind == .response, code == "10000" else {
            throw ChannelAPIError.alipay(
                code: code, subCode: status.subCode, subMessage: status.subMsg, operation: method,
                httpStatus: response.status)
        }
        return extract.content
    }

    // MARK: Internals

    private func call<Reply: Decodable>(
        _ method: String, bizContent: String, notifyURL: String?, as type: Reply.Type
    ) async throws(ChannelAPIError) -> (reply: Reply, raw: String) {
        let request = signedRequest(method: method, bizContent: bizContent, timestamp: now(), notifyURL: notifyURL)
        let response = try await transport.exchange(
            request, timeout: configuration.timeout, channel: .alipay, operation: method)
        let content = try verifyResponse(response, method: method)
        return (try decode(type, content, method: method), String(decoding: content, as: UTF8.self))
    }

    private func checkSignature(_ sign: String, over content: [UInt8], method: String) throws(ChannelAPIError) {
        // Base64 has no spaces: a '+' mangled into a space on the way is restored.
        let signature = Data(base64Encoded: sign.replacingOccurrences(of: " ", with: "+"))
        let digest = SHA256.hash(data: content)
        let valid = signature.map { bytes in
            merchant.publicKeys.contains {
                $0.isValidSignature(
                    _RSA.Signing.RSASignature(rawRepresentation: bytes), for: digest, padding: .insecurePKCS1v1_5)
            }
        }
        guard valid == true else {
            throw ChannelAPIError(
                code: .responseSignature, channel: .alipay, operation: method, httpStatus: 200,
                message: "Alipay response signature does not verify with merchant \(merchant.id)'s Alipay public "
                    + "keys; the outcome is unknown (check the keys, or tampering)",
                detail: signature == nil
                    ? "sign is not base64" : "\(merchant.publicKeys.count) keys tried, \(content.count) bytes signed")
        }
    }

    private func orderBizContent(
        _ order: AlipayOrderRequest, productCode: String?, method: String
    ) throws(ChannelAPIError) -> String {
        try checks.requireNumber(order.outTradeNo, "out_trade_no", method)
        guard order.totalAmountMinor > 0 else { throw checks.invalid(method, "an order's amount must be more than 0") }
        guard !order.subject.isEmpty else { throw checks.invalid(method, "an order needs a subject") }
        return try json(
            OrderBiz(
                outTradeNo: order.outTradeNo, totalAmount: Money.formatDecimal(order.totalAmountMinor),
                subject: order.subject, body: order.body, timeExpire: order.timeExpire.map(ChinaStandardTime.format),
                buyerID: order.buyerID, buyerOpenID: order.buyerOpenID, productCode: productCode,
                passbackParams: order.passbackParams),
            method: method)
    }

    private func json(_ value: some Encodable, method: String) throws(ChannelAPIError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw checks.invalid(method, "biz_content cannot be encoded as JSON")
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ content: [UInt8], method: String) throws(ChannelAPIError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(content))
        } catch {
            throw checks.malformed(method, "the response member is not the JSON expected")
        }
    }

    private func amount(_ text: String?, _ field: String, _ method: String) throws(ChannelAPIError) -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        do {
            return try Money.parseDecimal(text)
        } catch {
            throw checks.malformed(method, "\(field) is not a decimal amount")
        }
    }
}

// MARK: Wire formats

private struct OrderBiz: Encodable {
    var outTradeNo: String
    var totalAmount: String
    var subject: String
    var body: String?
    var timeExpire: String?
    var buyerID: String?
    var buyerOpenID: String?
    var productCode: String?
    var passbackParams: String?

    enum CodingKeys: String, CodingKey {
        case subject, body
        case outTradeNo = "out_trade_no"
        case totalAmount = "total_amount"
        case timeExpire = "time_expire"
        case buyerID = "buyer_id"
        case buyerOpenID = "buyer_open_id"
        case productCode = "product_code"
        case passbackParams = "passback_params"
    }
}

private struct TradeKey: Encodable {
    var outTradeNo: String

    enum CodingKeys: String, CodingKey {
        case outTradeNo = "out_trade_no"
    }
}

private struct RefundKey: Encodable {
    var outTradeNo: String
    var outRequestNo: String

    enum CodingKeys: String, CodingKey {
        case outTradeNo = "out_trade_no"
        case outRequestNo = "out_request_no"
    }
}

private struct RefundBiz: Encodable {
    var outTradeNo: String
    var outRequestNo: String
    var refundAmount: String
    var refundReason: String?

    enum CodingKeys: String, CodingKey {
        case outTradeNo = "out_trade_no"
        case outRequestNo = "out_request_no"
        case refundAmount = "refund_amount"
        case refundReason = "refund_reason"
    }
}

private struct BillBiz: Encodable {
    var billType: String
    var billDate: String

    enum CodingKeys: String, CodingKey {
        case billType = "bill_type"
        case billDate = "bill_date"
    }
}

private struct BillURLReply: Decodable {
    var billDownloadURL: String?

    enum CodingKeys: String, CodingKey {
        case billDownloadURL = "bill_download_url"
    }
}

private struct StatusReply: Decodable {
    var code: String?
    var subCode: String?
    var subMsg: String?

    enum CodingKeys: String, CodingKey {
        case code
        case subCode = "sub_code"
        case subMsg = "sub_msg"
    }
}

/// The members of the trade methods' responses PayFleet reads; each method fills some.
private struct TradeReply: Decodable {
    var outTradeNo: String?
    var tradeNo: String?
    var qrCode: String?
    var tradeStatus: String?
    var totalAmount: String?
    var buyerPayAmount: String?
    var sendPayDate: String?
    var refundFee: String?
    var fundChange: String?
    var gmtRefundPay: String?
    var refundAmount: String?
    var refundStatus: String?

    enum CodingKeys: String, CodingKey {
        case outTradeNo = "out_trade_no"
        case tradeNo = "trade_no"
        case qrCode = "qr_code"
        case tradeStatus = "trade_status"
        case totalAmount = "total_amount"
        case buyerPayAmount = "buyer_pay_amount"
        case sendPayDate = "send_pay_date"
        case refundFee = "refund_fee"
        case fundChange = "fund_change"
        case gmtRefundPay = "gmt_refund_pay"
        case refundAmount = "refund_amount"
        case refundStatus = "refund_status"
    }
}
