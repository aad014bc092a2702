import Foundation
import Hummingbird

/// `/sandbox/…`: the payer's and the channel's acts, the sandbox's view of an order, and fault injection.
struct SandboxControlRoutes: Sendable {
    let channels: [any SandboxChannel]
    let faults: FaultInjector
    let ledger: SandboxLedger
    let completer: RefundCompleter

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/sandbox/faults") { request, _ in
            let body = Array(buffer: try await request.body.collect(upTo: 64 * 1024))
            return setFault(body).response
        }
        router.get("/sandbox/faults") { _, _ in
            SandboxReply.json(200, ["faults": faults.all.map(\.json)]).response
        }
        router.delete("/sandbox/faults") { _, _ in
            faults.clear()
            return SandboxReply.json(200, ["faults": [Any]()]).response
        }
        router.post("/sandbox/bills/edits") { request, _ in
            let body = Array(buffer: try await request.body.collect(upTo: 64 * 1024))
            return addBillEdit(body).response
        }
        // A number and the time its order was created or its refund finished, for a test's bill day.
        func postTime(_ path: String, number numberKey: String, time timeKey: String, _ record: @escaping @Sendable (String, Date) -> Void) {
            router.post(RouterPath(path)) { request, _ in
                let body = Array(buffer: try await request.body.collect(upTo: 64 * 1024))
                guard let json = SandboxJSON.decode(body), let number = SandboxJSON.string(json, numberKey),
                    !number.isEmpty, let text = SandboxJSON.string(json, timeKey),
                    let at = try? Date(text, strategy: .iso8601)
                else {
                    return SandboxReply.error(
                        400, "expected {\"\(numberKey)\": …, \"\(timeKey)\": an ISO 8601 time, e.g. 2021-03-04T10:00:00Z}"
                    ).response
                }
                record(number, at)
                return SandboxReply.json(200, [numberKey: number, timeKey: text]).response
            }
        }
        postTime("/sandbox/bills/created_at", number: "out_trade_no", time: "created_at") { ledger.bills.create($0, at: $1) }
        postTime("/sandbox/bills/refunded_at", number: "out_refund_no", time: "refunded_at") {
            ledger.bills.finishRefund($0, at: $1)
        }
        router.get("/sandbox/bills/edits") { _, _ in
            SandboxReply.json(200, ["edits": ledger.bills.all.map(\.json)]).response
        }
        router.delete("/sandbox/bills/edits") { _, _ in
            ledger.bills.clear()
            return SandboxReply.json(200, ["edits": [Any]()]).response
        }
        router.get("/sandbox/bills/downloads") { _, _ in
            SandboxReply.json(200, ["downloads": ledger.bills.downloadCounts]).response
        }
        router.get("/sandbox/state/:channel/:no") { request, context in
            guard let (channel, number) = target(context) else { return unknownChannel(context).response }
            return channel.state(outTradeNo: number, account: request.uri.queryParameters.get("account")).response
        }
        router.get("/sandbox/stats") { _, _ in
            SandboxReply.json(200, ledger.stats()).response
        }
        router.get("/sandbox/refunds") { request, _ in
            SandboxReply.json(200, ledger.refundAudit(channel: request.uri.queryParameters.get("channel"))).response
        }
        router.post("/sandbox/:channel/:act/:no") { request, context in
            guard let (channel, number) = target(context) else { return unknownChannel(context).response }
            let account = request.uri.queryParameters.get("account")
            switch context.parameters.get("act") {
            case "pay":
                let late = ["1", "true"].contains(request.uri.queryParameters.get("late") ?? "")
                if let text = request.uri.queryParameters.get("paid_at") {
                    guard let at = try? Date(text, strategy: .iso8601) else {
                        return SandboxReply.error(400, "paid_at is an ISO 8601 time, e.g. 2021-03-04T10:00:00Z").response
                    }
                    ledger.bills.pay(number, at: at)
                }
                return await channel.pay(outTradeNo: number, account: account, late: late).response
            case "close": return await channel.close(outTradeNo: number, account: account).response
            case "refund":
                // Announced now: its scheduled completion, if still to come, does not announce it again.
                let found = ledger.uniqueRefund(channel: channel.name, number: number, account: account)
                if case .success(let refund) = found {
                    _ = ledger.claimAnnouncement(refund.payment.key, refundID: refund.refund.refundID)
                }
                return await channel.refund(outRefundNo: number, account: account).response
            case "console-refund":
                let amount = request.uri.queryParameters.get("amount").flatMap { Int64($0) }
                return await consoleRefund(channel, outTradeNo: number, account: account, amount: amount).response
            default: return SandboxReply.error(404, "unknown act; use pay, close, refund or console-refund").response
            }
        }
    }

    /// `{"channel":…,"out_trade_no":…,"edit":"drop|amount|add","amount":N,"out_refund_no":…}`: every bill built
    /// from now on carries the edit.
    private func addBillEdit(_ body: [UInt8]) -> SandboxReply {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let channel = object["channel"] as? String, channels.contains(where: { $0.name == channel }),
            let outTradeNo = object["out_trade_no"] as? String, !outTradeNo.isEmpty,
            let kind = (object["edit"] as? String).flatMap(SandboxBillBook.Edit.Kind.init(rawValue:))
        else {
            return .error(
                400, "expected {\"channel\": a played channel, \"out_trade_no\": …, \"edit\": \"drop|amount|add\"}")
        }
        let amount = (object["amount"] as? NSNumber).map { $0.int64Value }
        if kind == .amount, (amount ?? 0) <= 0 { return .error(400, "an amount edit needs \"amount\" > 0") }
        let edit = SandboxBillBook.Edit(
            channel: channel, outTradeNo: outTradeNo, outRefundNo: object["out_refund_no"] as? String, kind: kind,
            amountMinor: amount)
        ledger.bills.add(edit)
        return .json(200, ["edit": edit.json])
    }

    /// The merchant refunds in the channel's console: a refund under the channel's own numbers (none of the
    /// merchant's), `amount` or all that is left, completed and notified like any other.
    private func consoleRefund(
        _ channel: any SandboxChannel, outTradeNo: String, account: String?, amount: Int64?
    ) async -> SandboxReply {
        let payment: SandboxPayment
        switch ledger.unique(channel: channel.name, outTradeNo: outTradeNo, account: account) {
        case .success(let found): payment = found
        case .failure(let error): return error.reply
        }
        let (outRefundNo, refundID) = channel.consoleRefundNumbers()
        let asked = amount ?? (payment.amountMinor - payment.refundedMinor)
        // Not a refund API call: a refusal here is the console's, not one for the audit's `refused`.
        let result = ledger.requestRefund(payment.key, outRefundNo: outRefundNo, amount: asked, audited: false) { _ in
            SandboxRefund(
                outRefundNo: outRefundNo, refundID: refundID, amountMinor: asked, reason: "console", notifyURL: nil,
                status: .processing, createdAt: Date(), origin: .console)
        }
        switch result {
        case .failure(let refusal):
            return .error(409, "the \(channel.name) console refuses the refund: \(refusal.text)")
        case .success(let made):
            let key = payment.key
            if completer.delay == nil {
                _ = ledger.claimAnnouncement(key, refundID: refundID)
                _ = await channel.refund(outRefundNo: refundID, account: key.account)
            } else {
                completer.schedule(key, refundID: refundID) {
                    _ = await channel.refund(outRefundNo: refundID, account: key.account)
                }
            }
            return .json(
                200,
                [
                    "channel": channel.name, "out_trade_no": outTradeNo, "out_refund_no": made.refund.outRefundNo,
                    "refund_id": made.refund.refundID, "amount": made.refund.amountMinor, "origin": "console",
                ])
        }
    }

    private func target(_ context: BasicRequestContext) -> (any SandboxChannel, String)? {
        guard let name = context.parameters.get("channel"), let number = context.parameters.get("no"),
            let channel = channels.first(where: { $0.name == name })
        else { return nil }
        return (channel, number.removingPercentEncoding ?? number)
    }

    private func unknownChannel(_ context: BasicRequestContext) -> SandboxReply {
        let names = channels.map(\.name).joined(separator: ", ")
        return .error(404, "the sandbox plays \(names.isEmpty ? "no channel" : names), not \(context.parameters.get("channel") ?? "?")")
    }

    private func setFault(_ body: [UInt8]) -> SandboxReply {
        guard let json = SandboxJSON.decode(body), let endpoint = SandboxJSON.string(json, "endpoint"),
            let modeName = SandboxJSON.string(json, "mode")
        else {
            return .error(400, "expected {\"endpoint\": …, \"mode\": …, \"count\": N, \"delay_ms\": …}")
        }
        guard let mode = SandboxFault.Mode(rawValue: modeName) else {
            return .error(400, "mode must be one of " + SandboxFault.Mode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let fault = SandboxFault(
            endpoint: endpoint, mode: mode, count: SandboxJSON.int(json, "count").map(Int.init) ?? 1,
            delayMilliseconds: SandboxJSON.int(json, "delay_ms").map(Int.init))
        if let problem = faults.set(fault) { return .error(400, problem) }
        return .json(200, ["fault": fault.json])
    }
}
