import Crypto
import Foundation
import Hummingbird
import PayFleetMessages
import PaymentChannels
import _CryptoExtras

/// Baidu's smart-program cashier ("百度收银台") played locally.
///
/// - `POST /sandbox/baidu/cashier`: the payer's mini program opening the cashier with the `orderInfo` PayFleet
///   signed (`swan.requestPolymerPayment`; form or JSON body). The `rsaSign` over `appKey`, `dealId`,
///   `totalAmount`, `tpOrderId` must verify with the developer public key; the order then exists, unpaid.
/// - `GET /rest/2.0/smartapp/pay/paymentservice/findByTpOrderId` ("查询订单", with the payer's `userId`),
///   `POST /cashier/applyOrderRefund` ("申请退款") and `GET /rest/2.0/smartapp/pay/paymentservice/findOrderRefund`
///   ("查询退款": the order's refund batches, `refundStatus` 1 processing, 2 succeeded, 3 failed), all under the
///   paths the real APIs use, each request's `rsaSign` (over every other parameter,
///   sorted) checked with the developer public key. Replies are `{"errno":…,"msg":…,"data":…}`: a refused
///   signature or unknown `appKey` is errno 6 (no permission; Baidu documents no signature errno for these
///   APIs), an unknown order errno 2100, wrong `orderId`/`userId` errno 10002, a refund beyond what is left
///   errno 10001.
/// - Acts: pay sends the payment callback (form POST, `rsaSign` by the platform private key) and retries it on
///   ``NotificationRetrySchedule/baidu``; close cancels the unpaid order (status -1) and sends nothing (Baidu
///   documents no callback for it); refund completes a refund and sends the documented refund callback
///   (`userId`, `orderId`, `tpOrderId`, `refundBatchId`, `refundStatus` 1) on
///   ``NotificationRetrySchedule/baiduRefund``. Baidu configures the callback URLs per app in its console, so
///   they go to the orderInfo's `notifyUrl`, else `<notify_base_url>/notify/baidu/<merchant>`.
///
/// Faults: `baidu.cashier`, `baidu.query`, `baidu.refund`, `baidu.refund_query` (`error5xx` answers HTTP 500 errno
/// 2; `tamper` has no effect, Baidu's replies are unsigned; `refuse` on the refund is errno 10001, `abnormal` a
/// refund callback with refundStatus 2), `baidu.notify`.
struct BaiduSandbox: SandboxChannel {
    static let channel = ChannelID.baidu
    let settings: SandboxSettings.Baidu
    let context: SandboxContext

    var faultEndpoints: [String] {
        ["cashier", "query", "refund", "refund_query", "notify"].map { "baidu.\($0)" }
    }

    /// A reply before faults: Baidu's envelope.
    struct Plain {
        var status: Int = 200
        var object: [String: Any]

        static func success(_ data: Any) -> Plain {
            Plain(object: ["errno": 0, "msg": "success", "data": data])
        }

        static func failure(_ errno: Int, _ message: String, status: Int = 200) -> Plain {
            Plain(status: status, object: ["errno": errno, "msg": message, "data": [String: Any]()])
        }

        var reply: SandboxReply {
            SandboxReply(
                status: status, headers: [("Content-Type", "application/json;charset=utf-8")],
                body: SandboxJSON.encode(object))
        }
    }

    // MARK: Routes

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/sandbox/baidu/cashier") { request, _ in
            let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            let parameters = Self.parameters(body: body, contentType: request.headers[.contentType])
            return await handle(endpoint: "baidu.cashier") { _ in cashier(parameters ?? [:]) }.response
        }
        router.get(RouterPath(BaiduClient.queryPath)) { request, _ in
            let parameters = (try? FormCodec.decode(Array((request.uri.query ?? "").utf8))).map(Self.dictionary)
            return await handle(endpoint: "baidu.query") { _ in
                authenticated(parameters, appKeyField: "pmAppKey") { query($0, $1) }
            }.response
        }
        router.post(RouterPath(BaiduClient.refundPath)) { request, _ in
            let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            let parameters = (try? FormCodec.decode(body)).map(Self.dictionary)
            return await handle(endpoint: "baidu.refund") { fault in
                authenticated(parameters, appKeyField: "appKey") { refund($0, $1, fault: fault) }
            }.response
        }
        router.get(RouterPath(BaiduClient.refundQueryPath)) { request, _ in
            let parameters = (try? FormCodec.decode(Array((request.uri.query ?? "").utf8))).map(Self.dictionary)
            return await handle(endpoint: "baidu.refund_query") { _ in
                authenticated(parameters, appKeyField: "pmAppKey") { queryRefunds($0, $1) }
            }.response
        }
    }

    private func handle(endpoint: String, _ operation: (SandboxFault?) -> Plain) async -> SandboxReply {
        let fault = faults.take(endpoint)
        if fault?.mode == .error5xx {
            return Plain.failure(2, "service temporarily unavailable", status: 500).reply
        }
        return await operation(fault).reply.applying(fault, dropHold: dropHold)
    }

    /// Checks the request's `rsaSign` over every other parameter with the developer public key.
    private func authenticated(
        _ parameters: [String: String]?, appKeyField: String,
        _ operation: (SandboxSettings.BaiduMerchant, [String: String]) -> Plain
    ) -> Plain {
        guard let parameters else { return .failure(1000, "参数错误：请求不是合法的表单编码") }
        guard let appKey = parameters[appKeyField], let merchant = settings.merchant(appKey: appKey) else {
            return .failure(6, "no permission: unknown appKey")
        }
        guard verifies(parameters) else { return .failure(6, "no permission: rsaSign 验签失败") }
        return operation(merchant, parameters)
    }

    private func verifies(_ parameters: [String: String]) -> Bool {
        guard let sign = parameters["rsaSign"],
            let signature = Data(base64Encoded: sign.replacingOccurrences(of: " ", with: "+"))
        else { return false }
        var signed = parameters
        signed["rsaSign"] = nil
        let content = Array(BaiduRequestSigner.signContent(signed).utf8)
        return settings.developerPublicKey.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signature), for: Insecure.SHA1.hash(data: content),
            padding: .insecurePKCS1v1_5)
    }

    // MARK: Cashier and API

    private func key(_ merchant: SandboxSettings.BaiduMerchant, _ tpOrderID: String) -> SandboxPaymentKey {
        SandboxPaymentKey(channel: name, account: merchant.appKey, outTradeNo: tpOrderID)
    }

    /// The payer opens the cashier with an orderInfo.
    func cashier(_ info: [String: String]) -> Plain {
        guard let appKey = info["appKey"], let merchant = settings.merchant(appKey: appKey) else {
            return .failure(6, "no permission: unknown appKey")
        }
        guard info["dealId"] == merchant.dealID else { return .failure(1000, "参数错误：dealId 与 appKey 不匹配") }
        guard info["signFieldsRange"] == "1" else { return .failure(1000, "参数错误：signFieldsRange 须为 1") }
        let signedFields = ["appKey", "dealId", "totalAmount", "tpOrderId"]
        var signed: [String: String] = [:]
        for field in signedFields { signed[field] = info[field] ?? "" }
        signed["rsaSign"] = info["rsaSign"]
        guard verifies(signed) else { return .failure(6, "签名错误：rsaSign 验签失败") }
        guard let tpOrderID = info["tpOrderId"], !tpOrderID.isEmpty, let amountText = info["totalAmount"],
            let amount = Int64(amountText), amount > 0, let title = info["dealTitle"], !title.isEmpty
        else {
            return .failure(1000, "参数错误：tpOrderId、totalAmount 或 dealTitle")
        }
        if let bizInfo = info["bizInfo"], SandboxJSON.decode(Array(bizInfo.utf8)) == nil {
            return .failure(1000, "参数错误：bizInfo 不是 JSON 对象")
        }
        let notifyURL =
            info["notifyUrl"].flatMap { $0.isEmpty ? nil : $0 } ?? "\(notifyBaseURL)/notify/baidu/\(merchant.id)"
        return ledger.update(key(merchant, tpOrderID)) { payment -> Plain in
            if let existing = payment {
                guard existing.amountMinor == amount else { return .failure(1000, "参数错误：订单金额与原订单不一致") }
                guard existing.status == .unpaid else { return .failure(10001, "订单状态不可支付") }
            } else {
                payment = SandboxPayment(
                    key: key(merchant, tpOrderID), merchantID: merchant.id, appID: merchant.appKey,
                    tradeNo: "8" + SandboxIDs.digits(13), credential: nil, tradeType: "requestPolymerPayment",
                    amountMinor: amount, currency: "CNY", subject: title, attach: nil,
                    payer: "2" + SandboxIDs.digits(9), notifyURL: notifyURL, status: .unpaid, createdAt: Date())
            }
            return .success(["orderId": Int64(payment!.tradeNo) ?? 0, "tpOrderId": tpOrderID])
        }
    }

    func query(_ merchant: SandboxSettings.BaiduMerchant, _ parameters: [String: String]) -> Plain {
        guard let tpOrderID = parameters["tpOrderId"], let payment = ledger.payment(key(merchant, tpOrderID)) else {
            return .failure(2100, "order no exists")
        }
        let data: [String: Any] = [
            "orderId": Int64(payment.tradeNo) ?? 0, "tpOrderId": tpOrderID, "status": status(payment),
            "subStatus": 0, "totalMoney": payment.amountMinor,
            "payMoney": payment.paidAt == nil ? 0 : payment.amountMinor,
            "oriPrice": payment.amountMinor, "settlePrice": payment.amountMinor, "count": 1,
            "dealId": Int64(merchant.dealID) ?? 0, "createTime": Int64(payment.createdAt.timeIntervalSince1970),
            "bizInfo": "", "parentOrderId": 0, "parentType": 0, "tpId": 0, "type": 0,
            "tradeNo": payment.paidAt == nil ? "" : "2026" + payment.tradeNo, "appKey": merchant.appKey,
            "userId": Int64(payment.payer ?? "") ?? 0,
        ]
        return .success(data)
    }

    /// "查询退款": the refund batches of the order `tpOrderId` of the payer `userId`.
    func queryRefunds(_ merchant: SandboxSettings.BaiduMerchant, _ parameters: [String: String]) -> Plain {
        guard let tpOrderID = parameters["tpOrderId"], let userID = parameters["userId"] else {
            return .failure(1000, "参数错误：tpOrderId 或 userId")
        }
        guard let payment = ledger.payment(key(merchant, tpOrderID)) else { return .failure(2100, "order no exists") }
        guard payment.payer == userID else { return .failure(10002, "userId 与支付回调不一致") }
        let batches = payment.refunds.map { refund -> [String: Any] in
            let status: Int
            switch refund.status {
            case .processing: status = 1
            case .success: status = 2
            case .failed: status = 3
            }
            return [
                // A refund made in the console carries no batch number of the merchant's.
                "bizRefundBatchId": refund.origin == .console ? "" : refund.outRefundNo,
                "orderId": Int64(payment.tradeNo) ?? 0,
                "refundBatchId": Int64(refund.refundID) ?? 0, "refundStatus": status,
                "userId": Int64(payment.payer ?? "") ?? 0,
            ]
        }
        return .success(batches)
    }

    func refund(
        _ merchant: SandboxSettings.BaiduMerchant, _ parameters: [String: String], fault: SandboxFault?
    ) -> Plain {
        guard let tpOrderID = parameters["tpOrderId"], let orderID = parameters["orderId"],
            let userID = parameters["userId"], let reason = parameters["refundReason"], !reason.isEmpty,
            ["1", "2", "3"].contains(parameters["refundType"] ?? "")
        else {
            return .failure(1000, "参数错误：tpOrderId、orderId、userId、refundType 或 refundReason")
        }
        let key = key(merchant, tpOrderID)
        let left = ledger.payment(key).map { $0.amountMinor - $0.refundedMinor } ?? 0
        let amount = parameters["applyRefundMoney"].flatMap { Int64($0) } ?? left
        let number = parameters["bizRefundBatchId"].flatMap { $0.isEmpty ? nil : $0 } ?? tpOrderID
        let result = ledger.requestRefund(
            key, outRefundNo: number, amount: amount, refuse: fault?.mode == .refuse,
            check: { $0.tradeNo == orderID && $0.payer == userID ? nil : "orderId 或 userId 与支付回调不一致" }
        ) { _ in
            SandboxRefund(
                outRefundNo: number, refundID: "1" + SandboxIDs.digits(8), amountMinor: amount, reason: reason,
                notifyURL: nil, status: .processing, createdAt: Date(), failsOnCompletion: fault?.mode == .abnormal)
        }
        switch result {
        case .failure(.noOrder): return .failure(2100, "order no exists")
        case .failure(.notPaid): return .failure(10001, "订单未支付，不可退款")
        case .failure(.amountDiffers): return .failure(1000, "参数错误：同一退款批次金额不一致")
        case .failure(.exceeds): return .failure(10001, "退款金额超过可退金额")
        case .failure(.refused): return .failure(10001, "订单不满足退款条件，退款申请被拒绝")
        case .failure(.invalid(let why)): return .failure(10002, why)
        case .success(let made):
            completeLater(made)
            return .success(["refundBatchId": made.refund.refundID, "refundPayMoney": String(made.refund.amountMinor)])
        }
    }

    /// Baidu's order status: 1 unpaid, 2 paid, -1 cancelled.
    func status(_ payment: SandboxPayment) -> Int {
        switch payment.status {
        case .unpaid: 1
        case .paid: 2
        case .closed: payment.paidAt == nil ? -1 : 2
        }
    }

    // MARK: Acts (POST /sandbox/baidu/…)

    func pay(outTradeNo: String, account: String?, late: Bool) async -> SandboxReply {
        await onOrder(outTradeNo, account: account) { found in
            let paid = ledger.payUnpaid(found.key, late: late)
            guard let paid, let paidAt = paid.paidAt, let merchant = settings.merchant(appKey: paid.appID) else {
                return .error(409, "baidu order \(outTradeNo) is cancelled; it cannot be paid")
            }
            var parameters = BaiduNotificationSigner.paymentParameters(
                dealID: merchant.dealID, orderID: paid.tradeNo, tpOrderID: paid.outTradeNo,
                totalMoney: paid.amountMinor, payTime: paidAt)
            parameters["userId"] = paid.payer ?? parameters["userId"]
            return await notify(
                paid, event: "PAY_SUCCESS", parameters: parameters, schedule: NotificationRetrySchedule.baidu)
        }
    }

    func close(outTradeNo: String, account: String?) async -> SandboxReply {
        onOrder(outTradeNo, account: account) { found in
            let closed = ledger.closeUnpaid(found.key)
            guard let closed else { return .error(409, "baidu order \(outTradeNo) is paid; it cannot be cancelled") }
            var reply = summary(closed, status: status, delivery: nil)
            reply["notification"] = NSNull()
            return .json(200, reply)
        }
    }

    func refund(outRefundNo: String, account: String?) async -> SandboxReply {
        await completingRefund(outRefundNo, account: account) { payment, refund in
            // The callback numbers refundStatus 1 succeeded, 2 failed.
            let failed = refund.status == .failed
            var parameters = BaiduNotificationSigner.refundParameters(
                orderID: payment.tradeNo, tpOrderID: payment.outTradeNo, refundBatchID: refund.refundID,
                refundStatus: failed ? "2" : "1")
            parameters["userId"] = payment.payer ?? parameters["userId"]
            return await notify(
                payment, event: failed ? "REFUND_FAILED" : "REFUND_SUCCESS", parameters: parameters,
                schedule: NotificationRetrySchedule.baiduRefund)
        }
    }

    func consoleRefundNumbers() -> (outRefundNo: String, refundID: String) {
        let batch = "1" + SandboxIDs.digits(8)
        return (batch, batch)
    }

    func state(outTradeNo: String, account: String?) -> SandboxReply {
        onOrder(outTradeNo, account: account) { payment in
            var object = payment.stateJSON(state: String(status(payment)), refundState: { $0.status.rawValue })
            object["user_id"] = payment.payer
            return .json(200, object)
        }
    }

    /// Posts `parameters` signed with the platform key, expecting `errno` 0.
    private func notify(
        _ payment: SandboxPayment, event: String, parameters: [String: String], schedule: [Duration]
    ) async -> SandboxReply {
        let signer = BaiduNotificationSigner(platformPrivateKey: settings.platformPrivateKey)
        let job = NotificationDispatcher.Job(
            key: payment.key,
            delivery: SandboxDelivery(
                id: "\(event.lowercased()):\(parameters["refundBatchId"] ?? payment.tradeNo)", event: event,
                url: payment.notifyURL),
            faultEndpoint: "baidu.notify", schedule: schedule,
            accepts: { status, body in
                guard status == 200, let reply = SandboxJSON.decode(Array(body.utf8)) else { return false }
                // Not SandboxJSON.int: a JSON 0 bridges to Bool too.
                return (reply["errno"] as? NSNumber)?.intValue == 0
            },
            sign: { _, tampered in
                var signed = parameters
                let sign = signer.sign(parameters)
                signed["rsaSign"] = tampered ? SandboxIDs.tamper(sign) : sign
                return .init(
                    headers: [("Content-Type", BaiduNotificationSigner.contentType)],
                    body: Array(FormCodec.encode(signed).utf8))
            })
        var reply = summary(payment, status: status, delivery: await dispatcher.deliver(job))
        reply["order_id"] = payment.tradeNo
        reply["user_id"] = payment.payer ?? ""
        return .json(200, reply)
    }

    // MARK: Parsing

    /// The orderInfo of the cashier act: a form body, or a JSON object of strings.
    static func parameters(body: [UInt8], contentType: String?) -> [String: String]? {
        if contentType?.lowercased().hasPrefix("application/json") == true {
            guard let object = SandboxJSON.decode(body) else { return nil }
            var parameters: [String: String] = [:]
            for (key, value) in object {
                parameters[key] = (value as? String) ?? (value as? NSNumber)?.stringValue
            }
            return parameters
        }
        return (try? FormCodec.decode(body)).map(dictionary)
    }

    static func dictionary(_ pairs: [(key: String, value: String)]) -> [String: String] {
        Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
    }
}
