import Crypto
import Foundation
import Hummingbird
import PayFleetMessages
import PaymentChannels
import _CryptoExtras

/// The Alipay open platform gateway played locally (`POST /gateway.do`): `alipay.trade.create`, `precreate`,
/// `query`, `close`, `refund`, `fastpay.refund.query` and `alipay.data.dataservice.bill.downloadurl.query` (the
/// ledger's trade bill, downloaded from `/sandbox/alipay/billfile`). Requests must carry an RSA2 `sign` by the app
/// key (over every parameter but `sign`, as `rsaCheckV2`); replies are `{"<method>_response":{…},"sign":"…"}`
/// signed over the member's exact text with the Alipay key; a refused signature is an unsigned `error_response`
/// with `sub_code` `isv.invalid-signature`, as the gateway answers.
struct AlipaySandbox: SandboxChannel {
    static let methods = [
        "alipay.trade.create", "alipay.trade.precreate", "alipay.trade.query", "alipay.trade.close",
        "alipay.trade.refund", "alipay.trade.fastpay.refund.query", AlipayClient.billMethod,
    ]

    static let channel = ChannelID.alipay
    let settings: SandboxSettings.Alipay
    let context: SandboxContext

    var faultEndpoints: [String] { Self.methods + ["alipay.notify"] }

    /// A method response's member before signing: `code` `10000` for success, else a business error.
    struct Member {
        var object: [String: Any]

        static func success(_ fields: [String: Any]) -> Member {
            Member(object: fields.merging(["code": "10000", "msg": "Success"]) { a, _ in a })
        }

        static func failure(_ subCode: String, _ subMessage: String, code: String = "40004") -> Member {
            let messages = ["40004": "Business Failed", "40002": "Invalid Arguments", "20000": "Service Currently Unavailable"]
            return Member(
                object: ["code": code, "msg": messages[code] ?? "Failed", "sub_code": subCode, "sub_msg": subMessage])
        }
    }

    struct Call {
        var merchant: SandboxSettings.AlipayMerchant
        var method: String
        var parameters: [String: String]
        var biz: [String: Any]
        /// The fault taken for this call, if any.
        var fault: SandboxFault?
    }

    // MARK: Gateway

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/gateway.do") { request, _ in
            try await handle(request).response
        }
        // The bill's download URL: no credentials, the token is the permission (Alipay's lasts 30 seconds).
        router.get("/sandbox/alipay/billfile") { request, _ in
            guard let token = request.uri.queryParameters.get("token"), let file = ledger.bills.file(token) else {
                return SandboxReply(
                    status: 404, headers: [("Content-Type", "text/plain;charset=utf-8")],
                    body: Array("bill file not found or expired\n".utf8)
                ).response
            }
            return SandboxReply(
                status: 200, headers: [("Content-Type", "application/oct-stream")], body: file
            ).response
        }
    }

    private func handle(_ request: Request) async throws -> SandboxReply {
        let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
        var parameters: [String: String] = [:]
        do {
            for pair in try FormCodec.decode(Array((request.uri.query ?? "").utf8)) + FormCodec.decode(body) {
                parameters[pair.key] = pair.value
            }
        } catch {
            return errorResponse("40002", "isv.invalid-parameter", "参数无效：请求不是合法的表单编码")
        }
        let method = parameters["method"] ?? ""
        guard Self.methods.contains(method) else {
            return errorResponse("40002", "isv.invalid-method", "不存在的方法名")
        }
        guard let appID = parameters["app_id"], let merchant = settings.merchant(appID: appID) else {
            return errorResponse("40002", "isv.invalid-app-id", "无效的AppID参数")
        }
        guard let sign = parameters["sign"], !sign.isEmpty else {
            return errorResponse("40001", "isv.missing-signature", "缺少签名参数")
        }
        guard parameters["sign_type"] == "RSA2" else {
            return errorResponse("40002", "isv.invalid-signature-type", "无效的签名类型")
        }
        var signed = parameters
        signed["sign"] = nil
        let content = Array(AlipayRequestSigner.signContent(signed).utf8)
        guard let signature = Data(base64Encoded: sign.replacingOccurrences(of: " ", with: "+")),
            settings.appPublicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: content),
                padding: .insecurePKCS1v1_5)
        else {
            return errorResponse(
                "40002", "isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配")
        }
        let fault = faults.take(method)
        if fault?.mode == .error5xx {
            return respond(method, .failure("ACQ.SYSTEM_ERROR", "系统错误", code: "20000"), tampered: false)
        }
        guard let biz = SandboxJSON.decode(Array((parameters["biz_content"] ?? "").utf8)) else {
            return respond(method, .failure("isv.invalid-parameter", "biz_content 不是合法的JSON", code: "40002"), tampered: false)
        }
        let call = Call(merchant: merchant, method: method, parameters: parameters, biz: biz, fault: fault)
        let member: Member
        switch method {
        case "alipay.trade.create", "alipay.trade.precreate": member = create(call)
        case "alipay.trade.query": member = query(call)
        case "alipay.trade.close": member = close(call)
        case "alipay.trade.refund": member = refund(call)
        case AlipayClient.billMethod:
            member = billDownloadURL(call, base: request.head.authority.map { "http://\($0)" } ?? "")
        default: member = queryRefund(call)
        }
        return await respond(method, member, tampered: fault?.mode == .tamper).applying(fault, dropHold: dropHold)
    }

    /// `{"<method>_response":<member>,"sign":"…"}`, the sign over the member's exact bytes.
    func respond(_ method: String, _ member: Member, tampered: Bool) -> SandboxReply {
        let text = SandboxJSON.encode(member.object)
        var sign = rsaSign(text)
        if tampered { sign = SandboxIDs.tamper(sign) }
        let body =
            Array("{\"\(AlipayResponseExtractor.responseKey(method: method))\":".utf8) + text
            + Array(",\"sign\":\"\(sign)\"}".utf8)
        return SandboxReply(status: 200, headers: [("Content-Type", "text/html;charset=utf-8")], body: body)
    }

    private func errorResponse(_ code: String, _ subCode: String, _ subMessage: String) -> SandboxReply {
        let member = Member.failure(subCode, subMessage, code: code)
        let body = Array("{\"error_response\":".utf8) + SandboxJSON.encode(member.object) + Array("}".utf8)
        return SandboxReply(status: 200, headers: [("Content-Type", "text/html;charset=utf-8")], body: body)
    }

    private func rsaSign(_ content: [UInt8]) -> String {
        do {
            return try settings.alipayPrivateKey.signature(for: SHA256.hash(data: content), padding: .insecurePKCS1v1_5)
                .rawRepresentation.base64EncodedString()
        } catch {
            preconditionFailure("RSA signing failed: \(error)")
        }
    }

    // MARK: Methods

    private func key(_ call: Call, _ outTradeNo: String) -> SandboxPaymentKey {
        SandboxPaymentKey(channel: name, account: call.merchant.appID, outTradeNo: outTradeNo)
    }

    func create(_ call: Call) -> Member {
        guard let outTradeNo = SandboxJSON.string(call.biz, "out_trade_no"), !outTradeNo.isEmpty,
            let amountText = SandboxJSON.string(call.biz, "total_amount"),
            let amount = try? Money.parseDecimal(amountText), amount > 0,
            let subject = SandboxJSON.string(call.biz, "subject"), !subject.isEmpty
        else {
            return .failure("ACQ.INVALID_PARAMETER", "参数无效：out_trade_no、total_amount 或 subject")
        }
        let buyer = SandboxJSON.string(call.biz, "buyer_id") ?? SandboxJSON.string(call.biz, "buyer_open_id")
        let precreate = call.method == "alipay.trade.precreate"
        if !precreate, buyer?.isEmpty ?? true {
            return .failure("ACQ.INVALID_PARAMETER", "参数无效：缺少 buyer_id 或 buyer_open_id")
        }
        let notifyURL = call.parameters["notify_url"] ?? "\(notifyBaseURL)/notify/alipay/\(call.merchant.id)"
        return ledger.update(key(call, outTradeNo)) { payment -> Member in
            if let existing = payment {
                switch existing.status {
                case .paid: return .failure("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
                case .closed: return .failure("ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
                case .unpaid: break
                }
                guard existing.amountMinor == amount else { return .failure("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改") }
            } else {
                payment = SandboxPayment(
                    key: key(call, outTradeNo), merchantID: call.merchant.id, appID: call.merchant.appID,
                    tradeNo: WeChatTime.chinaStandard(Date()).filter(\.isNumber).prefix(8) + "22001" + SandboxIDs.digits(15),
                    credential: precreate ? "https://qr.alipay.com/bax0" + SandboxIDs.token(20) : nil,
                    tradeType: call.method, amountMinor: amount, currency: "CNY", subject: subject,
                    attach: SandboxJSON.string(call.biz, "passback_params"), payer: buyer, notifyURL: notifyURL,
                    status: .unpaid, createdAt: Date())
            }
            var fields: [String: Any] = ["out_trade_no": outTradeNo, "trade_no": payment!.tradeNo]
            if precreate { fields["qr_code"] = payment!.credential ?? "" }
            return .success(fields)
        }
    }

    /// `alipay.data.dataservice.bill.downloadurl.query` (`bill_type` trade, `bill_date` YYYY-MM-DD): the day's trade
    /// bill from the ledger (with the bill edits) as Alipay's zip of GBK CSVs, kept for download; the reply's
    /// `bill_download_url` points at `/sandbox/alipay/billfile`. A day without trades is `isp.bill_not_exist`.
    /// Counts the download.
    func billDownloadURL(_ call: Call, base: String) -> Member {
        guard SandboxJSON.string(call.biz, "bill_type") == "trade" else {
            return .failure("isv.invalid-arguments", "参数无效：沙箱只提供 bill_type=trade", code: "40002")
        }
        guard let day = SandboxJSON.string(call.biz, "bill_date").flatMap(BillDay.init) else {
            return .failure("isv.invalid-arguments", "参数无效：bill_date 应为 yyyy-MM-dd", code: "40002")
        }
        ledger.bills.counted(name, account: call.merchant.appID, day: day)
        let records = ledger.billRecords(
            channel: name, account: call.merchant.appID, day: day, zone: Self.channel.billTimeZone)
        guard !records.isEmpty else { return .failure("isp.bill_not_exist", "账单不存在") }
        let zip = AlipayBill.render(records, pid: call.merchant.sellerID ?? "2088102177846875", day: day)
        let token = ledger.bills.keep(zip)
        return .success(["bill_download_url": "\(base)/sandbox/alipay/billfile?token=\(token)"])
    }

    func query(_ call: Call) -> Member {
        guard let outTradeNo = SandboxJSON.string(call.biz, "out_trade_no"),
            let payment = ledger.payment(key(call, outTradeNo))
        else {
            return .failure("ACQ.TRADE_NOT_EXIST", "交易不存在")
        }
        var fields: [String: Any] = [
            "out_trade_no": outTradeNo, "trade_no": payment.tradeNo, "trade_status": tradeStatus(payment),
            "total_amount": Money.formatDecimal(payment.amountMinor), "buyer_logon_id": "sandbox***@example.com",
            "buyer_user_id": payment.payer ?? "2088102177846875",
        ]
        if let paidAt = payment.paidAt {
            fields["buyer_pay_amount"] = Money.formatDecimal(payment.amountMinor)
            fields["send_pay_date"] = WeChatTime.chinaStandard(paidAt)
        } else {
            fields["buyer_pay_amount"] = "0.00"
        }
        return .success(fields)
    }

    func close(_ call: Call) -> Member {
        guard let outTradeNo = SandboxJSON.string(call.biz, "out_trade_no") else {
            return .failure("ACQ.INVALID_PARAMETER", "参数无效：缺少 out_trade_no")
        }
        return ledger.update(key(call, outTradeNo)) { payment -> Member in
            guard payment != nil else { return .failure("ACQ.TRADE_NOT_EXIST", "交易不存在") }
            guard payment!.paidAt == nil else { return .failure("ACQ.TRADE_STATUS_ERROR", "交易状态不合法") }
            if payment!.status == .unpaid {
                payment!.status = .closed
                payment!.closedAt = Date()
            }
            return .success(["out_trade_no": outTradeNo, "trade_no": payment!.tradeNo])
        }
    }

    /// Synchronous, as Alipay's is: a new out_request_no is refunded at once (`fund_change` Y); the same number again
    /// answers `fund_change` N. The trade's refund notification follows after `sandbox.refund_complete_ms`. Under
    /// `refuse` or `abnormal` faults Alipay refuses (it has no asynchronous failure).
    func refund(_ call: Call) -> Member {
        guard let outTradeNo = SandboxJSON.string(call.biz, "out_trade_no"),
            let amountText = SandboxJSON.string(call.biz, "refund_amount"),
            let amount = try? Money.parseDecimal(amountText), amount > 0
        else {
            return .failure("ACQ.INVALID_PARAMETER", "参数无效：out_trade_no 或 refund_amount")
        }
        let requestNo = SandboxJSON.string(call.biz, "out_request_no") ?? outTradeNo
        let refuse = call.fault?.mode == .refuse || call.fault?.mode == .abnormal
        let result = ledger.requestRefund(key(call, outTradeNo), outRefundNo: requestNo, amount: amount, refuse: refuse) {
            _ in
            // Finished as it is made; at the time `POST /sandbox/bills/refunded_at` asked for, if it did.
            let now = ledger.bills.takeFinishedAt(requestNo) ?? Date()
            return SandboxRefund(
                outRefundNo: requestNo, refundID: requestNo, amountMinor: amount,
                reason: SandboxJSON.string(call.biz, "refund_reason"), notifyURL: nil, status: .success,
                createdAt: now, succeededAt: now)
        }
        switch result {
        case .failure(.noOrder): return .failure("ACQ.TRADE_NOT_EXIST", "交易不存在")
        case .failure(.notPaid), .failure(.refused): return .failure("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
        case .failure(.amountDiffers): return .failure("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额与原退款请求不一致")
        case .failure(.exceeds): return .failure("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限")
        case .failure(.invalid(let why)): return .failure("ACQ.INVALID_PARAMETER", why)
        case .success(let made):
            completeLater(made)
            return .success([
                "out_trade_no": outTradeNo, "trade_no": made.payment.tradeNo, "buyer_logon_id": "sandbox***@example.com",
                "fund_change": made.created ? "Y" : "N",
                "refund_fee": Money.formatDecimal(made.payment.refundedSuccessMinor),
                "gmt_refund_pay": WeChatTime.chinaStandard(made.refund.succeededAt ?? Date()),
                "buyer_user_id": made.payment.payer ?? "2088102177846875",
            ])
        }
    }

    func queryRefund(_ call: Call) -> Member {
        guard let outTradeNo = SandboxJSON.string(call.biz, "out_trade_no"),
            let requestNo = SandboxJSON.string(call.biz, "out_request_no")
        else {
            return .failure("ACQ.INVALID_PARAMETER", "参数无效：out_trade_no 或 out_request_no")
        }
        guard let payment = ledger.payment(key(call, outTradeNo)) else {
            return .failure("ACQ.TRADE_NOT_EXIST", "交易不存在")
        }
        var fields: [String: Any] = [
            "out_trade_no": outTradeNo, "trade_no": payment.tradeNo, "out_request_no": requestNo,
            "total_amount": Money.formatDecimal(payment.amountMinor),
        ]
        if let refund = payment.refunds.first(where: { $0.outRefundNo == requestNo && $0.status == .success }) {
            fields["refund_amount"] = Money.formatDecimal(refund.amountMinor)
            fields["refund_status"] = "REFUND_SUCCESS"
        }
        return .success(fields)
    }

    /// A paid trade refunded in full is TRADE_CLOSED, as at Alipay.
    func tradeStatus(_ payment: SandboxPayment) -> String {
        switch payment.status {
        case .unpaid: "WAIT_BUYER_PAY"
        case .paid: payment.refundedSuccessMinor >= payment.amountMinor ? "TRADE_CLOSED" : "TRADE_SUCCESS"
        case .closed: "TRADE_CLOSED"
        }
    }

    func consoleRefundNumbers() -> (outRefundNo: String, refundID: String) {
        let number = "HZ" + SandboxIDs.digits(24)
        return (number, number)
    }

    // MARK: Acts (POST /sandbox/alipay/…)

    func pay(outTradeNo: String, account: String?, late: Bool) async -> SandboxReply {
        await onOrder(outTradeNo, account: account) { found in
            let paid = ledger.payUnpaid(found.key, late: late)
            guard let paid, let paidAt = paid.paidAt else {
                return .error(409, "alipay trade \(outTradeNo) is closed; it cannot be paid")
            }
            var parameters = AlipayNotificationSigner.tradeParameters(
                appID: paid.appID, sellerID: merchantSeller(paid), outTradeNo: paid.outTradeNo, tradeNo: paid.tradeNo,
                totalAmount: paid.amountMinor, notifyID: "", gmtPayment: paidAt, subject: paid.subject,
                tradeStatus: "TRADE_SUCCESS")
            if let attach = paid.attach { parameters["passback_params"] = attach }
            return .json(200, await notify(paid, event: "TRADE_SUCCESS", url: paid.notifyURL, parameters: parameters))
        }
    }

    func close(outTradeNo: String, account: String?) async -> SandboxReply {
        await onOrder(outTradeNo, account: account) { found in
            let closed = ledger.closeUnpaid(found.key)
            guard let closed, let closedAt = closed.closedAt else {
                return .error(409, "alipay trade \(outTradeNo) is paid; it cannot be closed")
            }
            var parameters = AlipayNotificationSigner.tradeParameters(
                appID: closed.appID, sellerID: merchantSeller(closed), outTradeNo: closed.outTradeNo,
                tradeNo: closed.tradeNo, totalAmount: closed.amountMinor, notifyID: "", gmtPayment: closedAt,
                subject: closed.subject, tradeStatus: "TRADE_CLOSED")
            for paidOnly in ["gmt_payment", "fund_bill_list", "receipt_amount", "buyer_pay_amount", "invoice_amount"] {
                parameters[paidOnly] = nil
            }
            parameters["gmt_close"] = WeChatTime.chinaStandard(closedAt)
            return .json(
                200, await notify(closed, event: "TRADE_CLOSED", url: closed.notifyURL, parameters: parameters))
        }
    }

    /// Completes the refund and sends its notification: a console refund is made here; an API refund was made by its
    /// call already.
    func refund(outRefundNo: String, account: String?) async -> SandboxReply {
        await completingRefund(outRefundNo, account: account) { payment, refund in
            guard let paidAt = payment.paidAt else { return noRefund(outRefundNo) }
            return await announce(refund, of: payment, paidAt: paidAt)
        }
    }

    /// Alipay refunds synchronously; this sends the trade_status_sync that announces the refund, with the trade as
    /// this refund left it: refund_fee is everything refunded up to and including it (a later refund does not
    /// count), TRADE_CLOSED once that is the whole amount.
    private func announce(_ refund: SandboxRefund, of payment: SandboxPayment, paidAt: Date) async -> SandboxReply {
        let through = payment.refunds.prefix { $0.refundID != refund.refundID } + [refund]
        let refundedThrough = through.filter { $0.status == .success }.reduce(0) { $0 + $1.amountMinor }
        var parameters = AlipayNotificationSigner.tradeParameters(
            appID: payment.appID, sellerID: merchantSeller(payment), outTradeNo: payment.outTradeNo,
            tradeNo: payment.tradeNo, totalAmount: payment.amountMinor, notifyID: "", gmtPayment: paidAt,
            subject: payment.subject,
            tradeStatus: refundedThrough >= payment.amountMinor ? "TRADE_CLOSED" : "TRADE_SUCCESS")
        parameters["refund_fee"] = Money.formatDecimal(refundedThrough)
        parameters["gmt_refund"] = WeChatTime.chinaStandardMilliseconds(refund.succeededAt ?? Date())
        parameters["send_back_fee"] = Money.formatDecimal(refund.amountMinor)
        parameters["out_biz_no"] = refund.outRefundNo
        var reply = await notify(payment, event: "REFUND", url: payment.notifyURL, parameters: parameters)
        reply["out_refund_no"] = refund.outRefundNo
        reply["refund_status"] = "REFUND_SUCCESS"
        return .json(200, reply)
    }

    func state(outTradeNo: String, account: String?) -> SandboxReply {
        onOrder(outTradeNo, account: account) {
            .json(200, $0.stateJSON(state: tradeStatus($0), refundState: { _ in "REFUND_SUCCESS" }))
        }
    }

    private func merchantSeller(_ payment: SandboxPayment) -> String? {
        settings.merchant(appID: payment.appID)?.sellerID
    }

    /// Sends `parameters` (with a fresh `notify_id`, `notify_time` per attempt) signed RSA2, expecting `success`;
    /// the act's summary.
    private func notify(
        _ payment: SandboxPayment, event: String, url: String, parameters: [String: String]
    ) async -> [String: Any] {
        let notifyID = SandboxIDs.digits(4) + SandboxIDs.token(28).lowercased()
        let key = settings.alipayPrivateKey
        let signer = AlipayNotificationSigner(privateKey: key)
        let job = NotificationDispatcher.Job(
            key: payment.key, delivery: SandboxDelivery(id: notifyID, event: event, url: url),
            faultEndpoint: "alipay.notify", schedule: NotificationRetrySchedule.alipay,
            accepts: { status, body in
                status == 200 && body.trimmingCharacters(in: .whitespacesAndNewlines) == "success"
            },
            sign: { now, tampered in
                var signed = parameters
                signed["notify_id"] = notifyID
                signed["notify_time"] = WeChatTime.chinaStandard(now)
                signed["sign_type"] = "RSA2"
                let sign = signer.sign(signed)
                signed["sign"] = tampered ? SandboxIDs.tamper(sign) : sign
                return .init(
                    headers: [("Content-Type", AlipayNotificationSigner.contentType)],
                    body: Array(FormCodec.encode(signed).utf8))
            })
        return summary(payment, status: tradeStatus, delivery: await dispatcher.deliver(job))
    }
}
