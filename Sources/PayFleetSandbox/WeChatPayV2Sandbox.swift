import Foundation
import Hummingbird
import PayFleetMessages
import PaymentChannels

/// WeChat Pay API v2 played locally: `/pay/unifiedorder`, `/pay/orderquery`, `/pay/closeorder`,
/// `/pay/refundquery`, `/pay/downloadbill` (the ledger's trade bill) on the sandbox's HTTP port and
/// `/secapi/pay/refund` on a TLS listener that requires a client certificate from the sandbox's TEST-ONLY CA, as
/// WeChat Pay requires the merchant's API certificate.
///
/// Requests are checked as WeChat Pay checks them: flat XML (no DTD), a known `mch_id` with its `appid`, and a
/// `sign` (MD5, or HMAC-SHA256 with `sign_type`) by the merchant's API key; a failure is a `return_code` FAIL
/// (签名错误, …). Replies are signed with the API key under the request's sign type; business failures are
/// `result_code` FAIL with WeChat Pay's `err_code`s. Payment and refund notifications are the signed XML and the
/// encrypted `req_info` the receiver verifies.
struct WeChatPayV2Sandbox: WeChatPaySandbox {
    static let channel = ChannelID.wechatpayV2
    let settings: SandboxSettings.WeChatPayV2
    let context: SandboxContext

    var faultEndpoints: [String] {
        ["unifiedorder", "orderquery", "closeorder", "refund", "refundquery", "downloadbill", "notify"].map {
            "\(name).\($0)"
        }
    }

    /// The authenticated call: whose it is, its fields and the sign type to answer with.
    struct Call {
        var merchant: WeChatPayV2Merchant
        var fields: [String: String]
        var signType: WeChatPayV2SignType
        /// The fault taken for this call, if any.
        var fault: SandboxFault? = nil
    }

    // MARK: Routes

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/pay/unifiedorder") { request, _ in
            try await handle(request, endpoint: "unifiedorder", unifiedOrder)
        }
        router.post("/pay/orderquery") { request, _ in
            try await handle(request, endpoint: "orderquery", queryOrder)
        }
        router.post("/pay/closeorder") { request, _ in
            try await handle(request, endpoint: "closeorder", closeOrder)
        }
        router.post("/pay/refundquery") { request, _ in
            try await handle(request, endpoint: "refundquery", queryRefund)
        }
        router.post("/pay/downloadbill") { request, _ in
            let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            let call: Call
            switch authenticate(body) {
            case .success(let found): call = found
            case .failure(let rejection): return rejection.reply.response
            }
            let fault = faults.take("\(name).downloadbill")
            if fault?.mode == .error5xx {
                return Self.returnFail("系统繁忙,请稍后再试").reply.response
            }
            return await downloadBill(call).applying(fault, dropHold: dropHold).response
        }
        if settings.refundOverPlainHTTP { addRefundRoute(to: router) }
    }

    /// `/secapi/pay/refund`, for the TLS listener (whose handshake already required the client certificate).
    func addRefundRoute(to router: Router<BasicRequestContext>) {
        router.post("/secapi/pay/refund") { request, _ in
            try await handle(request, endpoint: "refund", refund)
        }
    }

    private func handle(
        _ request: Request, endpoint: String, _ operation: (Call) -> [String: String]
    ) async throws -> Response {
        let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
        var call: Call
        switch authenticate(body) {
        case .success(let found): call = found
        case .failure(let rejection): return rejection.reply.response
        }
        let fault = faults.take("\(name).\(endpoint)")
        call.fault = fault
        if fault?.mode == .error5xx {
            return SandboxReply(
                status: 500, headers: [("Content-Type", "text/xml")],
                body: Array(
                    SimpleXML.render([(key: "return_code", value: "FAIL"), (key: "return_msg", value: "系统繁忙,请稍后再试")])
                        .utf8)
            ).response
        }
        let reply = sign(operation(call), call, tampered: fault?.mode == .tamper)
        return await reply.applying(fault, dropHold: dropHold).response
    }

    /// Checks a request as WeChat Pay does; a failure is its `return_code` FAIL with the reason.
    func authenticate(_ body: [UInt8]) -> Result<Call, SandboxReplyError> {
        let document: (root: String, fields: [(key: String, value: String)])
        do {
            document = try SimpleXML.parse(body)
        } catch {
            return .failure(Self.returnFail("XML格式错误"))
        }
        guard document.root == "xml" else { return .failure(Self.returnFail("XML格式错误")) }
        let fields = Dictionary(document.fields, uniquingKeysWith: { first, _ in first })
        guard let mchID = fields["mch_id"], let merchant = settings.merchant(mchID: mchID) else {
            return .failure(Self.returnFail("商户号mch_id不存在"))
        }
        guard fields["appid"] == merchant.appID else { return .failure(Self.returnFail("appid和mch_id不匹配")) }
        let signType: WeChatPayV2SignType
        switch fields["sign_type"] {
        case nil, "": signType = .md5
        case let text?:
            guard let known = WeChatPayV2SignType(rawValue: text) else {
                return .failure(Self.returnFail("sign_type参数格式错误"))
            }
            signType = known
        }
        guard let sign = fields["sign"], !sign.isEmpty, let nonce = fields["nonce_str"], !nonce.isEmpty else {
            return .failure(Self.returnFail("缺少参数sign或nonce_str"))
        }
        let expected = WeChatPayV2NotificationSigner(apiKey: merchant.apiKey).sign(fields, signType: signType)
        guard ConstantTime.equals(Array(expected.utf8), Array(sign.utf8)) else {
            return .failure(Self.returnFail("签名错误"))
        }
        return .success(Call(merchant: merchant, fields: fields, signType: signType))
    }

    /// `<xml><return_code>FAIL</return_code><return_msg>…</return_msg></xml>`, unsigned, HTTP 200.
    static func returnFail(_ message: String) -> SandboxReplyError {
        SandboxReplyError(
            SandboxReply(
                status: 200, headers: [("Content-Type", "text/xml")],
                body: Array(
                    SimpleXML.render([(key: "return_code", value: "FAIL"), (key: "return_msg", value: message)]).utf8)))
    }

    /// Signs a reply's fields as WeChat Pay does, or so that the sign does not verify.
    func sign(_ fields: [String: String], _ call: Call, tampered: Bool) -> SandboxReply {
        var all = [
            "return_code": "SUCCESS", "return_msg": "OK", "appid": call.merchant.appID,
            "mch_id": call.merchant.mchID, "nonce_str": SandboxIDs.token(16),
        ]
        all.merge(fields) { _, new in new }
        var body = WeChatPayV2NotificationSigner(apiKey: call.merchant.apiKey).signedBody(
            params: all, signType: call.signType)
        if tampered {
            // A field changed after signing: the sign no longer verifies.
            body = Array(
                String(decoding: body, as: UTF8.self).replacingOccurrences(
                    of: "<return_msg><![CDATA[OK]]>", with: "<return_msg><![CDATA[OK.]]>"
                ).utf8)
        }
        return SandboxReply(status: 200, headers: [("Content-Type", "text/xml")], body: body)
    }

    private static func ok(_ fields: [String: String]) -> [String: String] {
        fields.merging(["result_code": "SUCCESS"]) { _, new in new }
    }

    private static func fail(_ code: String, _ description: String) -> [String: String] {
        ["result_code": "FAIL", "err_code": code, "err_code_des": description]
    }

    // MARK: API operations

    private func key(_ call: Call, _ outTradeNo: String) -> SandboxPaymentKey {
        SandboxPaymentKey(channel: name, account: call.merchant.mchID, outTradeNo: outTradeNo)
    }

    private func codeURL(_ prepayID: String) -> String {
        "weixin://wxpay/bizpayurl?pr=" + String(prepayID.suffix(7))
    }

    func unifiedOrder(_ call: Call) -> [String: String] {
        let f = call.fields
        guard let body = f["body"], !body.isEmpty, let outTradeNo = f["out_trade_no"], !outTradeNo.isEmpty,
            let totalText = f["total_fee"], let total = Int64(totalText), let ip = f["spbill_create_ip"], !ip.isEmpty,
            let notifyURL = f["notify_url"], !notifyURL.isEmpty, let tradeType = f["trade_type"]
        else {
            return Self.fail("PARAM_ERROR", "缺少参数 body、out_trade_no、total_fee、spbill_create_ip、notify_url 或 trade_type")
        }
        guard total > 0 else { return Self.fail("PARAM_ERROR", "total_fee 必须大于0") }
        guard (f["fee_type"] ?? "CNY") == "CNY" else { return Self.fail("PARAM_ERROR", "fee_type 仅支持 CNY") }
        guard outTradeNo.utf8.count <= 32 else { return Self.fail("PARAM_ERROR", "out_trade_no 长度不能超过32") }
        switch tradeType {
        case "JSAPI":
            guard let openID = f["openid"], !openID.isEmpty else {
                return Self.fail("PARAM_ERROR", "trade_type=JSAPI时（即JSAPI支付），必须传openid")
            }
        case "NATIVE":
            guard let product = f["product_id"], !product.isEmpty else {
                return Self.fail("PARAM_ERROR", "trade_type=NATIVE时，必须传product_id")
            }
        default:
            return Self.fail("PARAM_ERROR", "trade_type 参数错误")
        }
        let fresh = "wx" + SandboxIDs.digits(14) + SandboxIDs.token(20)
        return ledger.update(key(call, outTradeNo)) { payment -> [String: String] in
            if let existing = payment {
                switch existing.status {
                case .paid: return Self.fail("ORDERPAID", "该订单已支付")
                case .closed: return Self.fail("ORDERCLOSED", "该订单已关闭")
                case .unpaid: break
                }
                guard existing.amountMinor == total, existing.tradeType == tradeType else {
                    return Self.fail("OUT_TRADE_NO_USED", "商户订单号重复")
                }
            } else {
                payment = SandboxPayment(
                    key: key(call, outTradeNo), merchantID: call.merchant.id, appID: call.merchant.appID,
                    tradeNo: "4200" + SandboxIDs.digits(24), credential: fresh, tradeType: tradeType,
                    amountMinor: total, currency: "CNY", subject: body, attach: f["attach"], payer: f["openid"],
                    notifyURL: notifyURL, status: .unpaid, createdAt: Date())
            }
            let prepayID = payment?.credential ?? fresh
            var reply = ["trade_type": tradeType, "prepay_id": prepayID]
            if tradeType == "NATIVE" { reply["code_url"] = codeURL(prepayID) }
            return Self.ok(reply)
        }
    }

    /// `/pay/downloadbill` (`bill_date` YYYYMMDD, `bill_type` ALL): the day's trade bill from the ledger (with the
    /// bill edits) as the bare CSV text, unsigned, as WeChat Pay answers; a day without trades is the `return_code`
    /// FAIL `No Bill Exist`. Counts the download.
    func downloadBill(_ call: Call) -> SandboxReply {
        let text = call.fields["bill_date"] ?? ""
        let dashed = text.count == 8 ? "\(text.prefix(4))-\(text.dropFirst(4).prefix(2))-\(text.suffix(2))" : ""
        guard let day = BillDay(dashed) else { return Self.returnFail("invalid bill_date").reply }
        guard (call.fields["bill_type"] ?? "ALL") == "ALL" else {
            return Self.returnFail("invalid bill_type; the sandbox serves ALL").reply
        }
        ledger.bills.counted(name, account: call.merchant.mchID, day: day)
        let records = ledger.billRecords(
            channel: name, account: call.merchant.mchID, day: day, zone: Self.channel.billTimeZone)
        guard !records.isEmpty else { return Self.returnFail("No Bill Exist").reply }
        return SandboxReply(
            status: 200, headers: [("Content-Type", "text/plain;charset=utf-8")],
            body: WeChatPayBill.render(records, appID: call.merchant.appID, mchID: call.merchant.mchID))
    }

    func queryOrder(_ call: Call) -> [String: String] {
        let found: SandboxPayment?
        if let outTradeNo = call.fields["out_trade_no"], !outTradeNo.isEmpty {
            found = ledger.payment(key(call, outTradeNo))
        } else if let transactionID = call.fields["transaction_id"], !transactionID.isEmpty {
            found = ledger.find(channel: name, tradeNo: transactionID, account: call.merchant.mchID).first
        } else {
            return Self.fail("PARAM_ERROR", "out_trade_no 与 transaction_id 不能同时为空")
        }
        guard let payment = found else { return Self.fail("ORDERNOTEXIST", "订单不存在") }
        let state = tradeState(payment)
        var reply = [
            "out_trade_no": payment.outTradeNo, "trade_state": state, "trade_state_desc": tradeStateDescription(state),
            "total_fee": String(payment.amountMinor), "fee_type": payment.currency, "trade_type": payment.tradeType,
            "attach": payment.attach ?? "",
        ]
        if let paidAt = payment.paidAt {
            reply["transaction_id"] = payment.tradeNo
            reply["time_end"] = WeChatPayV2NotificationSigner.compactTime(paidAt)
            reply["cash_fee"] = String(payment.amountMinor)
            reply["bank_type"] = "OTHERS"
            reply["openid"] = payment.payer ?? "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
            reply["is_subscribe"] = "N"
        }
        return Self.ok(reply)
    }

    func closeOrder(_ call: Call) -> [String: String] {
        guard let outTradeNo = call.fields["out_trade_no"], !outTradeNo.isEmpty else {
            return Self.fail("PARAM_ERROR", "缺少参数 out_trade_no")
        }
        return ledger.update(key(call, outTradeNo)) { payment -> [String: String] in
            guard payment != nil else { return Self.fail("ORDERNOTEXIST", "订单不存在") }
            switch payment!.status {
            case .paid: return Self.fail("ORDERPAID", "订单已支付，不能发起关单")
            case .closed: return Self.fail("ORDERCLOSED", "订单已关闭，无法重复关闭")
            case .unpaid:
                payment!.status = .closed
                payment!.closedAt = Date()
                return Self.ok([:])
            }
        }
    }

    func refund(_ call: Call) -> [String: String] {
        let f = call.fields
        guard let outTradeNo = f["out_trade_no"], !outTradeNo.isEmpty, let outRefundNo = f["out_refund_no"],
            !outRefundNo.isEmpty, let total = f["total_fee"].flatMap({ Int64($0) }),
            let refundFee = f["refund_fee"].flatMap({ Int64($0) })
        else {
            return Self.fail("PARAM_ERROR", "缺少参数 out_trade_no、out_refund_no、total_fee 或 refund_fee")
        }
        guard refundFee > 0 else { return Self.fail("PARAM_ERROR", "退款金额必须大于0") }
        let result = ledger.requestRefund(
            key(call, outTradeNo), outRefundNo: outRefundNo, amount: refundFee, refuse: call.fault?.mode == .refuse,
            check: { $0.amountMinor == total ? nil : "订单金额或退款金额与之前请求不一致" }
        ) { _ in
            SandboxRefund(
                outRefundNo: outRefundNo, refundID: "50" + SandboxIDs.digits(27), amountMinor: refundFee,
                reason: f["refund_desc"], notifyURL: f["notify_url"], status: .processing, createdAt: Date(),
                failsOnCompletion: call.fault?.mode == .abnormal)
        }
        switch result {
        case .failure(.noOrder): return Self.fail("ORDERNOTEXIST", "订单不存在")
        case .failure(.notPaid): return Self.fail("INVALID_REQUEST", "订单未支付，不能退款")
        case .failure(.amountDiffers): return Self.fail("INVALID_REQUEST", "同一退款单号多次请求的退款金额不一致")
        case .failure(.exceeds): return Self.fail("INVALID_REQUEST", "退款金额大于支付金额")
        case .failure(.invalid(let why)): return Self.fail("INVALID_REQUEST", why)
        case .failure(.refused): return Self.fail("INVALID_REQUEST", "订单状态不满足退款条件")
        case .success(let made):
            completeLater(made)
            return Self.ok(refundFields(made.refund, of: made.payment))
        }
    }

    func queryRefund(_ call: Call) -> [String: String] {
        let found: SandboxPayment?
        var refunds: [SandboxRefund] = []
        if let outRefundNo = call.fields["out_refund_no"], !outRefundNo.isEmpty {
            found = ledger.findRefund(channel: name, outRefundNo: outRefundNo, account: call.merchant.mchID).first
            refunds = found?.refunds.filter { $0.outRefundNo == outRefundNo } ?? []
        } else if let outTradeNo = call.fields["out_trade_no"], !outTradeNo.isEmpty {
            found = ledger.payment(key(call, outTradeNo))
            refunds = found?.refunds ?? []
        } else {
            return Self.fail("PARAM_ERROR", "out_refund_no 与 out_trade_no 不能同时为空")
        }
        guard let payment = found, !refunds.isEmpty else { return Self.fail("REFUNDNOTEXIST", "退款订单查询失败") }
        var reply = [
            "out_trade_no": payment.outTradeNo, "transaction_id": payment.tradeNo,
            "total_fee": String(payment.amountMinor), "cash_fee": String(payment.amountMinor),
            "refund_fee": String(refunds.reduce(0) { $0 + $1.amountMinor }), "refund_count": String(refunds.count),
        ]
        for (index, refund) in refunds.enumerated() {
            reply["out_refund_no_\(index)"] = refund.outRefundNo
            reply["refund_id_\(index)"] = refund.refundID
            reply["refund_fee_\(index)"] = String(refund.amountMinor)
            reply["refund_status_\(index)"] = refundState(refund)
            reply["refund_channel_\(index)"] = "ORIGINAL"
            reply["refund_recv_accout_\(index)"] = "支付用户零钱"
            if let at = refund.succeededAt { reply["refund_success_time_\(index)"] = WeChatTime.chinaStandard(at) }
        }
        return Self.ok(reply)
    }

    private func refundFields(_ refund: SandboxRefund, of payment: SandboxPayment) -> [String: String] {
        [
            "transaction_id": payment.tradeNo, "out_trade_no": payment.outTradeNo, "out_refund_no": refund.outRefundNo,
            "refund_id": refund.refundID, "refund_fee": String(refund.amountMinor),
            "total_fee": String(payment.amountMinor), "cash_fee": String(payment.amountMinor),
        ]
    }

    // MARK: Wire shapes

    func refundState(_ refund: SandboxRefund) -> String {
        switch refund.status {
        case .success: "SUCCESS"
        case .processing: "PROCESSING"
        case .failed: "CHANGE"
        }
    }

    func consoleRefundNumbers() -> (outRefundNo: String, refundID: String) {
        ("MP" + SandboxIDs.digits(24), "50" + SandboxIDs.digits(27))
    }

    // MARK: Acts (POST /sandbox/wechatpay-v2/…): the notifications; the acts are WeChatPaySandbox's

    func merchant(mchID: String) -> WeChatPayV2Merchant? {
        settings.merchant(mchID: mchID)
    }

    /// The payment notification: the signed XML of the paid order.
    func announcePayment(_ paid: SandboxPayment, paidAt: Date, merchant: WeChatPayV2Merchant) async -> SandboxReply {
        let signer = WeChatPayV2NotificationSigner(apiKey: merchant.apiKey)
        var parameters = WeChatPayV2NotificationSigner.paymentParameters(
            appID: paid.appID, mchID: merchant.mchID, outTradeNo: paid.outTradeNo, transactionID: paid.tradeNo,
            totalFee: paid.amountMinor, feeType: paid.currency, timeEnd: paidAt)
        parameters["trade_type"] = paid.tradeType
        parameters["attach"] = paid.attach ?? ""
        if let payer = paid.payer { parameters["openid"] = payer }
        let fixed = parameters
        let delivery = await dispatcher.deliver(
            job(paid.key, event: "TRANSACTION.SUCCESS", id: paid.tradeNo, url: paid.notifyURL) { tampered in
                var body = signer.signedBody(params: fixed)
                if tampered {
                    body = Array(
                        String(decoding: body, as: UTF8.self).replacingOccurrences(
                            of: "<total_fee><![CDATA[\(paid.amountMinor)]]>", with: "<total_fee><![CDATA[1]]>"
                        ).utf8)
                }
                return body
            })
        return .json(200, summary(paid, status: tradeState, delivery: delivery))
    }

    /// The refund's notification: its `req_info` encrypted with the API key, `SUCCESS`, or `CHANGE` when it failed.
    func announceRefund(
        _ refund: SandboxRefund, of payment: SandboxPayment, merchant: WeChatPayV2Merchant
    ) async -> SandboxReply {
        let signer = WeChatPayV2NotificationSigner(apiKey: merchant.apiKey)
        let url = refund.notifyURL ?? "\(notifyBaseURL)/notify/\(name)/\(payment.merchantID)"
        let status = refundState(refund)
        let delivery = await dispatcher.deliver(
            job(payment.key, event: "REFUND.\(status)", id: "\(refund.refundID):\(status)", url: url) { tampered in
                var body = signer.refundBody(
                    appID: payment.appID, mchID: merchant.mchID, outRefundNo: refund.outRefundNo,
                    refundID: refund.refundID, outTradeNo: payment.outTradeNo, transactionID: payment.tradeNo,
                    refundFee: refund.amountMinor, totalFee: payment.amountMinor, refundStatus: status,
                    successTime: refund.succeededAt)
                if tampered {
                    // req_info encrypted under another key: it does not decrypt at the merchant.
                    let other = WeChatPayV2NotificationSigner(apiKey: Array(merchant.apiKey.reversed()))
                    let text = String(decoding: body, as: UTF8.self)
                    if let start = text.range(of: "<req_info><![CDATA["), let end = text.range(of: "]]></req_info>") {
                        body = Array(
                            text.replacingCharacters(
                                in: start.upperBound..<end.lowerBound, with: other.encryptReqInfo("<root></root>")
                            ).utf8)
                    }
                }
                return body
            })
        return refundSummary(refund, of: payment, delivery: delivery)
    }

    private func job(
        _ key: SandboxPaymentKey, event: String, id: String, url: String,
        body: @escaping @Sendable (_ tampered: Bool) -> [UInt8]
    ) -> NotificationDispatcher.Job {
        NotificationDispatcher.Job(
            key: key, delivery: SandboxDelivery(id: id, event: event, url: url), faultEndpoint: "\(name).notify",
            schedule: NotificationRetrySchedule.weChatPayV2,
            accepts: { status, reply in
                guard status == 200, let document = try? SimpleXML.parse(Array(reply.utf8)) else { return false }
                return document.fields.contains { $0.key == "return_code" && $0.value == "SUCCESS" }
            },
            sign: { _, tampered in
                .init(headers: [("Content-Type", WeChatPayV2NotificationSigner.contentType)], body: body(tampered))
            })
    }
}
