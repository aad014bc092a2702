import Crypto
import Foundation
import Hummingbird
import PayFleetMessages
import PaymentChannels
import _CryptoExtras

/// WeChat Pay API v3 played locally: JSAPI and Native prepay, query by `out_trade_no`, close, refund and refund
/// query, with the channel's request authentication (`WECHATPAY2-SHA256-RSA2048` by the merchant API
/// certificate's key), its error replies (`{"code":…,"message":…}`), and responses and notifications signed with
/// the platform key.
struct WeChatPayV3Sandbox: WeChatPaySandbox {
    static let scheme = "WECHATPAY2-SHA256-RSA2048"

    static let channel = ChannelID.wechatpay
    let settings: SandboxSettings.WeChatPay
    let context: SandboxContext

    var faultEndpoints: [String] {
        ["prepay", "query", "close", "refund", "refund_query", "notify", "bill"].map { "wechatpay.\($0)" }
    }

    /// The authenticated call: whose it is and what it carries.
    struct Call {
        var merchant: SandboxSettings.WeChatPayMerchant
        var body: [UInt8]
        var request: Request
        var context: BasicRequestContext
        /// The fault taken for this call, if any.
        var fault: SandboxFault?
    }

    /// A reply before signing.
    struct Plain: Error {
        var status: Int
        var body: [UInt8]

        static func json(_ status: Int, _ object: [String: Any]) -> Plain {
            Plain(status: status, body: SandboxJSON.encode(object))
        }

        static func error(_ status: Int, _ code: String, _ message: String) -> Plain {
            json(status, ["code": code, "message": message])
        }
    }

    // MARK: Routes

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/v3/pay/transactions/jsapi") { request, context in
            try await handle(request, context, endpoint: "wechatpay.prepay") { prepay($0, tradeType: "JSAPI") }
        }
        router.post("/v3/pay/transactions/native") { request, context in
            try await handle(request, context, endpoint: "wechatpay.prepay") { prepay($0, tradeType: "NATIVE") }
        }
        router.get("/v3/pay/transactions/out-trade-no/:no") { request, context in
            try await handle(request, context, endpoint: "wechatpay.query", query)
        }
        router.get("/v3/pay/transactions/id/:id") { request, context in
            try await handle(request, context, endpoint: "wechatpay.query", queryByTransactionID)
        }
        router.post("/v3/pay/transactions/out-trade-no/:no/close") { request, context in
            try await handle(request, context, endpoint: "wechatpay.close", close)
        }
        router.post("/v3/refund/domestic/refunds") { request, context in
            try await handle(request, context, endpoint: "wechatpay.refund", refund)
        }
        router.get("/v3/refund/domestic/refunds/:no") { request, context in
            try await handle(request, context, endpoint: "wechatpay.refund_query", queryRefund)
        }
        router.get("/v3/bill/tradebill") { request, context in
            try await handle(request, context, endpoint: "wechatpay.bill", tradeBill)
        }
        // The file itself: authenticated like any call, not signed (its SHA1 is in the signed bill reply).
        router.get("/v3/billdownload/file") { request, context in
            let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            if case .failure(let rejection) = authenticate(request, body: body) {
                return sign(rejection, tampered: false).response
            }
            guard let token = request.uri.queryParameters.get("token"), let file = ledger.bills.file(token) else {
                return sign(.error(404, "RESOURCE_NOT_EXISTS", "账单文件不存在"), tampered: false).response
            }
            return Response(
                status: .ok, headers: [.contentType: "application/octet-stream"],
                body: .init(byteBuffer: ByteBuffer(bytes: file)))
        }
    }

    private func handle(
        _ request: Request, _ context: BasicRequestContext, endpoint: String, _ operation: (Call) -> Plain
    ) async throws -> Response {
        let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
        let merchant: SandboxSettings.WeChatPayMerchant
        switch authenticate(request, body: body) {
        case .success(let found): merchant = found
        case .failure(let rejection): return sign(rejection, tampered: false).response
        }
        let fault = faults.take(endpoint)
        if fault?.mode == .error5xx {
            return sign(.error(500, "SYSTEM_ERROR", "系统错误"), tampered: false).response
        }
        let plain = operation(Call(merchant: merchant, body: body, request: request, context: context, fault: fault))
        return await sign(plain, tampered: fault?.mode == .tamper).applying(fault, dropHold: dropHold).response
    }

    /// `GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL`: the day's trade bill from the ledger (with the
    /// bill edits), kept for download; the reply names its URL and SHA1. A day without trades is WeChat Pay's 400
    /// `NO_STATEMENT_EXIST`.
    private func tradeBill(_ call: Call) -> Plain {
        let query = call.request.uri.queryParameters
        guard let day = query.get("bill_date").flatMap(BillDay.init) else {
            return .error(400, "PARAM_ERROR", "bill_date 格式错误")
        }
        guard (query.get("bill_type") ?? "ALL") == "ALL" else {
            return .error(400, "PARAM_ERROR", "沙箱只提供 bill_type=ALL")
        }
        ledger.bills.counted(name, account: call.merchant.mchID, day: day)
        let records = ledger.billRecords(
            channel: name, account: call.merchant.mchID, day: day, zone: Self.channel.billTimeZone)
        guard !records.isEmpty else { return .error(400, "NO_STATEMENT_EXIST", "账单文件不存在") }
        let file = WeChatPayBill.render(records, appID: call.merchant.appID, mchID: call.merchant.mchID)
        let token = ledger.bills.keep(file)
        let hash = Insecure.SHA1.hash(data: file).map { String(format: "%02x", $0) }.joined()
        let base = call.request.head.authority.map { "http://\($0)" } ?? ""
        return .json(
            200,
            ["hash_type": "SHA1", "hash_value": hash, "download_url": "\(base)/v3/billdownload/file?token=\(token)"])
    }

    /// Checks `Authorization` as WeChat Pay does; a failure is its 401 `SIGN_ERROR` (400 `MCH_NOT_EXISTS` for an
    /// unknown mchid).
    func authenticate(_ request: Request, body: [UInt8]) -> Result<SandboxSettings.WeChatPayMerchant, Plain> {
        let signError = { (message: String) in Plain.error(401, "SIGN_ERROR", message) }
        guard let header = request.headers[.authorization], header.hasPrefix(Self.scheme + " ") else {
            return .failure(signError("Authorization 缺失或认证类型不是 \(Self.scheme)"))
        }
        var fields: [String: String] = [:]
        for part in header.dropFirst(Self.scheme.count + 1).split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            fields[pair[0]] = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        guard let mchID = fields["mchid"], let nonce = fields["nonce_str"], let timestampText = fields["timestamp"],
            let serial = fields["serial_no"], let signatureText = fields["signature"],
            let timestamp = Int64(timestampText)
        else {
            return .failure(signError("Authorization 缺少 mchid、nonce_str、timestamp、serial_no 或 signature"))
        }
        guard let merchant = settings.merchant(mchID: mchID) else {
            return .failure(.error(400, "MCH_NOT_EXISTS", "商户号不存在"))
        }
        guard serial == settings.merchantAPISerial else {
            return .failure(signError("商户证书序列号有误"))
        }
        guard abs(Date().timeIntervalSince1970 - Double(timestamp)) <= 300 else {
            return .failure(signError("请求的时间戳已过期或与服务器时间相差过大"))
        }
        let message = WeChatPayV3RequestSigner.message(
            method: request.method.rawValue, pathAndQuery: request.head.path ?? request.uri.description,
            timestamp: timestamp, nonce: nonce, body: body)
        guard let signature = Data(base64Encoded: signatureText),
            settings.merchantAPIPublicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: message),
                padding: .insecurePKCS1v1_5)
        else {
            return .failure(signError("签名错误，请检查后再试"))
        }
        return .success(merchant)
    }

    /// Signs a reply as WeChat Pay does (`Wechatpay-Signature` over `timestamp\nnonce\nbody\n`), or so that it
    /// does not verify.
    func sign(_ plain: Plain, tampered: Bool) -> SandboxReply {
        let timestamp = String(Int64(Date().timeIntervalSince1970))
        let nonce = SandboxIDs.token(32)
        var signature = rsaSign(Array("\(timestamp)\n\(nonce)\n".utf8) + plain.body + [0x0A])
        if tampered { signature = SandboxIDs.tamper(signature) }
        var headers: [(String, String)] = [
            ("Request-ID", "08" + SandboxIDs.digits(30)),
            ("Wechatpay-Nonce", nonce),
            ("Wechatpay-Serial", settings.platformSerial),
            ("Wechatpay-Signature", signature),
            ("Wechatpay-Signature-Type", Self.scheme),
            ("Wechatpay-Timestamp", timestamp),
        ]
        if !plain.body.isEmpty { headers.insert(("Content-Type", "application/json; charset=utf-8"), at: 0) }
        return SandboxReply(status: plain.status, headers: headers, body: plain.body)
    }

    private func rsaSign(_ message: [UInt8]) -> String {
        do {
            return try settings.platformPrivateKey.signature(
                for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5
            ).rawRepresentation.base64EncodedString()
        } catch {
            preconditionFailure("RSA signing failed: \(error)")
        }
    }

    // MARK: API operations

    private func key(_ call: Call, _ outTradeNo: String) -> SandboxPaymentKey {
        SandboxPaymentKey(channel: name, account: call.merchant.mchID, outTradeNo: outTradeNo)
    }

    func prepay(_ call: Call, tradeType: String) -> Plain {
        guard let json = SandboxJSON.decode(call.body) else { return .error(400, "PARAM_ERROR", "请求体不是合法的JSON") }
        let amount = SandboxJSON.object(json, "amount")
        guard let appID = SandboxJSON.string(json, "appid"), let mchID = SandboxJSON.string(json, "mchid"),
            let description = SandboxJSON.string(json, "description"), !description.isEmpty,
            let outTradeNo = SandboxJSON.string(json, "out_trade_no"),
            let notifyURL = SandboxJSON.string(json, "notify_url"), !notifyURL.isEmpty,
            let total = SandboxJSON.int(amount, "total")
        else {
            return .error(400, "PARAM_ERROR", "缺少必填参数 appid、mchid、description、out_trade_no、notify_url 或 amount.total")
        }
        guard mchID == call.merchant.mchID else { return .error(400, "PARAM_ERROR", "请求体的 mchid 与请求头不一致") }
        guard appID == call.merchant.appID else { return .error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配") }
        guard (6...32).contains(outTradeNo.utf8.count) else {
            return .error(400, "PARAM_ERROR", "out_trade_no 长度须为 6 到 32 个字符")
        }
        guard total > 0 else { return .error(400, "PARAM_ERROR", "amount.total 必须大于0") }
        let payer = SandboxJSON.string(SandboxJSON.object(json, "payer"), "openid")
        if tradeType == "JSAPI", payer?.isEmpty ?? true {
            return .error(400, "PARAM_ERROR", "JSAPI 下单缺少 payer.openid")
        }
        let currency = SandboxJSON.string(amount, "currency") ?? "CNY"
        // The domestic API takes renminbi only, as the real one does.
        guard currency == "CNY" else { return .error(400, "PARAM_ERROR", "amount.currency 仅支持 CNY") }
        let fresh =
            tradeType == "JSAPI"
            ? "wx" + SandboxIDs.digits(14) + SandboxIDs.token(20) : "weixin://wxpay/bizpayurl?pr=" + SandboxIDs.token(7)
        return ledger.update(key(call, outTradeNo)) { payment -> Plain in
            if let existing = payment {
                switch existing.status {
                case .paid: return .error(400, "ORDERPAID", "该订单已支付")
                case .closed: return .error(400, "ORDER_CLOSED", "该订单已关闭")
                case .unpaid: break
                }
                guard existing.amountMinor == total, existing.tradeType == tradeType else {
                    return .error(400, "OUT_TRADE_NO_USED", "商户订单号重复")
                }
            } else {
                payment = SandboxPayment(
                    key: key(call, outTradeNo), merchantID: call.merchant.id, appID: appID,
                    tradeNo: "4200" + SandboxIDs.digits(24), credential: fresh, tradeType: tradeType,
                    amountMinor: total, currency: currency, subject: description,
                    attach: SandboxJSON.string(json, "attach"), payer: payer, notifyURL: notifyURL, status: .unpaid,
                    createdAt: Date())
            }
            let credential = payment?.credential ?? fresh
            return .json(200, tradeType == "JSAPI" ? ["prepay_id": credential] : ["code_url": credential])
        }
    }

    func query(_ call: Call) -> Plain {
        guard let outTradeNo = call.context.parameters.get("no") else { return .error(400, "PARAM_ERROR", "缺少 out_trade_no") }
        guard let mchID = call.request.uri.queryParameters.get("mchid"), mchID == call.merchant.mchID else {
            return .error(400, "PARAM_ERROR", "查询参数 mchid 缺失或与请求头不一致")
        }
        guard let payment = ledger.payment(key(call, outTradeNo)) else {
            return .error(404, "ORDER_NOT_EXIST", "订单不存在")
        }
        return .json(200, transactionJSON(payment))
    }

    /// `GET /v3/pay/transactions/id/{transaction_id}`: only a paid order has a transaction_id.
    func queryByTransactionID(_ call: Call) -> Plain {
        guard let transactionID = call.context.parameters.get("id") else {
            return .error(400, "PARAM_ERROR", "缺少 transaction_id")
        }
        guard let mchID = call.request.uri.queryParameters.get("mchid"), mchID == call.merchant.mchID else {
            return .error(400, "PARAM_ERROR", "查询参数 mchid 缺失或与请求头不一致")
        }
        guard let payment = ledger.find(channel: name, tradeNo: transactionID, account: mchID).first,
            payment.paidAt != nil
        else {
            return .error(404, "ORDER_NOT_EXIST", "订单不存在")
        }
        return .json(200, transactionJSON(payment))
    }

    func close(_ call: Call) -> Plain {
        guard let outTradeNo = call.context.parameters.get("no") else { return .error(400, "PARAM_ERROR", "缺少 out_trade_no") }
        guard SandboxJSON.string(SandboxJSON.decode(call.body), "mchid") == call.merchant.mchID else {
            return .error(400, "PARAM_ERROR", "请求体的 mchid 缺失或与请求头不一致")
        }
        return ledger.update(key(call, outTradeNo)) { payment -> Plain in
            guard payment != nil else { return .error(404, "ORDER_NOT_EXIST", "订单不存在") }
            switch payment!.status {
            case .paid: return .error(400, "ORDERPAID", "该订单已支付")
            case .closed: return Plain(status: 204, body: [])
            case .unpaid:
                payment!.status = .closed
                payment!.closedAt = Date()
                return Plain(status: 204, body: [])
            }
        }
    }

    func refund(_ call: Call) -> Plain {
        guard let json = SandboxJSON.decode(call.body) else { return .error(400, "PARAM_ERROR", "请求体不是合法的JSON") }
        let amount = SandboxJSON.object(json, "amount")
        guard let outTradeNo = SandboxJSON.string(json, "out_trade_no"),
            let outRefundNo = SandboxJSON.string(json, "out_refund_no"), !outRefundNo.isEmpty,
            let refundAmount = SandboxJSON.int(amount, "refund"), let total = SandboxJSON.int(amount, "total")
        else {
            return .error(400, "PARAM_ERROR", "缺少必填参数 out_trade_no、out_refund_no、amount.refund 或 amount.total")
        }
        guard refundAmount > 0 else { return .error(400, "PARAM_ERROR", "退款金额必须大于0") }
        let result = ledger.requestRefund(
            key(call, outTradeNo), outRefundNo: outRefundNo, amount: refundAmount, refuse: call.fault?.mode == .refuse,
            check: { $0.amountMinor == total ? nil : "订单金额与退款请求中的原订单金额不一致" }
        ) { _ in
            SandboxRefund(
                outRefundNo: outRefundNo, refundID: "50" + SandboxIDs.digits(30), amountMinor: refundAmount,
                reason: SandboxJSON.string(json, "reason"), notifyURL: SandboxJSON.string(json, "notify_url"),
                status: .processing, createdAt: Date(), failsOnCompletion: call.fault?.mode == .abnormal)
        }
        switch result {
        case .failure(.noOrder): return .error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        case .failure(.notPaid): return .error(400, "INVALID_REQUEST", "订单未支付，不能退款")
        case .failure(.amountDiffers): return .error(400, "INVALID_REQUEST", "同一退款单号多次请求的退款金额不一致")
        case .failure(.exceeds): return .error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        case .failure(.invalid(let why)): return .error(400, "INVALID_REQUEST", why)
        case .failure(.refused): return .error(400, "INVALID_REQUEST", "订单已全额退款或不满足退款条件")
        case .success(let made):
            completeLater(made)
            return .json(200, refundJSON(made.refund, of: made.payment))
        }
    }

    func queryRefund(_ call: Call) -> Plain {
        guard let outRefundNo = call.context.parameters.get("no") else {
            return .error(400, "PARAM_ERROR", "缺少 out_refund_no")
        }
        let found = ledger.findRefund(channel: name, outRefundNo: outRefundNo, account: call.merchant.mchID)
        guard let payment = found.first, let refund = payment.refunds.first(where: { $0.outRefundNo == outRefundNo })
        else {
            return .error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        }
        return .json(200, refundJSON(refund, of: payment))
    }

    // MARK: Wire shapes

    private func transactionJSON(_ payment: SandboxPayment) -> [String: Any] {
        let state = tradeState(payment)
        var object: [String: Any] = [
            "appid": payment.appID, "mchid": payment.key.account, "out_trade_no": payment.outTradeNo,
            "trade_state": state, "trade_state_desc": tradeStateDescription(state), "attach": payment.attach ?? "",
            "amount": ["total": payment.amountMinor, "currency": payment.currency] as [String: Any],
        ]
        if let paidAt = payment.paidAt {
            object["transaction_id"] = payment.tradeNo
            object["trade_type"] = payment.tradeType
            object["bank_type"] = "OTHERS"
            object["success_time"] = WeChatTime.rfc3339(paidAt)
            object["payer"] = ["openid": payment.payer ?? "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"]
            object["amount"] = [
                "total": payment.amountMinor, "payer_total": payment.amountMinor, "currency": payment.currency,
                "payer_currency": payment.currency,
            ] as [String: Any]
        }
        return object
    }

    private func refundJSON(_ refund: SandboxRefund, of payment: SandboxPayment) -> [String: Any] {
        var object: [String: Any] = [
            "refund_id": refund.refundID, "out_refund_no": refund.outRefundNo, "transaction_id": payment.tradeNo,
            "out_trade_no": payment.outTradeNo, "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
            "create_time": WeChatTime.rfc3339(refund.createdAt), "status": refundState(refund),
            "funds_account": "AVAILABLE",
            "amount": [
                "total": payment.amountMinor, "refund": refund.amountMinor, "payer_total": payment.amountMinor,
                "payer_refund": refund.amountMinor, "settlement_refund": refund.amountMinor,
                "settlement_total": payment.amountMinor, "discount_refund": 0, "currency": payment.currency,
            ] as [String: Any],
        ]
        if let at = refund.succeededAt { object["success_time"] = WeChatTime.rfc3339(at) }
        return object
    }

    func refundState(_ refund: SandboxRefund) -> String {
        switch refund.status {
        case .success: "SUCCESS"
        case .processing: "PROCESSING"
        case .failed: "ABNORMAL"
        }
    }

    func consoleRefundNumbers() -> (outRefundNo: String, refundID: String) {
        ("MP" + SandboxIDs.digits(24), "50" + SandboxIDs.digits(30))
    }

    // MARK: Acts (POST /sandbox/wechatpay/…): the notifications; the acts are WeChatPaySandbox's

    func merchant(mchID: String) -> SandboxSettings.WeChatPayMerchant? {
        settings.merchant(mchID: mchID)
    }

    /// The payment notification: `TRANSACTION.SUCCESS`, its resource encrypted with the merchant's APIv3 key.
    func announcePayment(
        _ paid: SandboxPayment, paidAt: Date, merchant: SandboxSettings.WeChatPayMerchant
    ) async -> SandboxReply {
        let signer = notificationSigner(merchant)
        let id = UUID().uuidString.lowercased()
        let delivery = await dispatcher.deliver(
            job(paid.key, event: "TRANSACTION.SUCCESS", id: id, url: paid.notifyURL) { now in
                try signer.signTransactionSuccess(
                    mchID: merchant.mchID, appID: paid.appID, outTradeNo: paid.outTradeNo, transactionID: paid.tradeNo,
                    amountMinor: paid.amountMinor, currency: paid.currency, successTime: paidAt, id: id, now: now)
            })
        return .json(200, summary(paid, status: tradeState, delivery: delivery))
    }

    /// The refund's notification: `REFUND.SUCCESS`, or `REFUND.ABNORMAL` when it failed.
    func announceRefund(
        _ refund: SandboxRefund, of payment: SandboxPayment, merchant: SandboxSettings.WeChatPayMerchant
    ) async -> SandboxReply {
        let signer = notificationSigner(merchant)
        let id = UUID().uuidString.lowercased()
        let url = refund.notifyURL ?? "\(notifyBaseURL)/notify/wechatpay/\(payment.merchantID)"
        let event = refund.status == .failed ? "REFUND.ABNORMAL" : "REFUND.SUCCESS"
        let delivery = await dispatcher.deliver(
            job(payment.key, event: event, id: id, url: url) { now in
                guard refund.status == .failed else {
                    return try signer.signRefund(
                        eventType: event, mchID: merchant.mchID, outTradeNo: payment.outTradeNo,
                        transactionID: payment.tradeNo, outRefundNo: refund.outRefundNo, refundID: refund.refundID,
                        refundMinor: refund.amountMinor, totalMinor: payment.amountMinor,
                        successTime: refund.succeededAt ?? Date(), id: id, now: now)
                }
                // REFUND.ABNORMAL: the same resource with refund_status ABNORMAL and, as WeChat Pay's, no
                // success_time (the money never went back).
                let resource: [String: Any] = [
                    "mchid": merchant.mchID, "transaction_id": payment.tradeNo, "out_trade_no": payment.outTradeNo,
                    "refund_id": refund.refundID, "out_refund_no": refund.outRefundNo, "refund_status": "ABNORMAL",
                    "user_received_account": "支付用户零钱",
                    "amount": [
                        "total": payment.amountMinor, "refund": refund.amountMinor, "payer_total": payment.amountMinor,
                        "payer_refund": refund.amountMinor,
                    ],
                ]
                return try signer.sign(
                    eventType: event, id: id, resource: SandboxJSON.encode(resource), now: now,
                    nonce: SandboxIDs.token(32))
            })
        return refundSummary(refund, of: payment, delivery: delivery)
    }

    private func notificationSigner(_ merchant: SandboxSettings.WeChatPayMerchant) -> WeChatPayV3NotificationSigner {
        WeChatPayV3NotificationSigner(
            platformPrivateKey: settings.platformPrivateKey, serial: settings.platformSerial,
            apiV3Key: merchant.apiV3Key)
    }

    private func job(
        _ key: SandboxPaymentKey, event: String, id: String, url: String,
        sign: @escaping @Sendable (Date) throws -> (headers: [String: String], body: [UInt8])
    ) -> NotificationDispatcher.Job {
        NotificationDispatcher.Job(
            key: key, delivery: SandboxDelivery(id: id, event: event, url: url), faultEndpoint: "wechatpay.notify",
            schedule: NotificationRetrySchedule.weChatPayV3, accepts: { status, _ in (200...299).contains(status) },
            sign: { now, tampered in
                var signed = try sign(now)
                if tampered, let signature = signed.headers["Wechatpay-Signature"] {
                    signed.headers["Wechatpay-Signature"] = SandboxIDs.tamper(signature)
                }
                return .init(headers: signed.headers.sorted { $0.key < $1.key }, body: signed.body)
            })
    }
}

/// Times as the Chinese channels write them, at +08:00, whole seconds.
enum WeChatTime {
    private static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        return calendar
    }()

    /// RFC 3339 at +08:00 (WeChat Pay's `success_time`).
    static func rfc3339(_ date: Date) -> String {
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d+08:00", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0,
            c.minute ?? 0, c.second ?? 0)
    }

    /// `yyyy-MM-dd HH:mm:ss` at +08:00 (Alipay).
    static func chinaStandard(_ date: Date) -> String {
        String(rfc3339(date).prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    /// `yyyy-MM-dd HH:mm:ss.SSS` at +08:00 (Alipay's `gmt_refund`).
    static func chinaStandardMilliseconds(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let fraction = (milliseconds % 1000 + 1000) % 1000
        let seconds = Date(timeIntervalSince1970: TimeInterval(milliseconds - fraction) / 1000)
        return chinaStandard(seconds) + "." + String(String(fraction + 1000).dropFirst())
    }
}
