import Foundation
import Synchronization

/// The sandbox channels' memory: every order and refund, consistent across calls. One `Mutex`; every change is
/// one closure under the lock, so a query never sees half of a pay or a refund.
final class SandboxLedger: Sendable {
    private let payments = Mutex<[SandboxPaymentKey: SandboxPayment]>([:])
    /// Refund API calls refused, for the audit of `GET /sandbox/refunds`.
    private let refused = Mutex<[RefusedRefund]>([])
    /// The bills' edits, downloads and files (see `SandboxLedger+bills.swift`).
    let bills = SandboxBillBook()

    /// A refund API call the channel refused.
    struct RefusedRefund: Sendable {
        var key: SandboxPaymentKey
        var outRefundNo: String
        var amountMinor: Int64
        var reason: String
    }

    /// Why a refund API call was refused; each channel words it its own way.
    enum RefundRefusal: Error, Equatable {
        /// No such order.
        case noOrder
        /// The order was never paid.
        case notPaid
        /// The number names an earlier refund of another amount.
        case amountDiffers(existing: Int64)
        /// More than the order has left.
        case exceeds(left: Int64)
        /// The channel's own check failed (a total that is not the order's, a user id that is not the payer's, …).
        case invalid(String)
        /// The `refuse` fault.
        case refused

        var text: String {
            switch self {
            case .noOrder: "no such order"
            case .notPaid: "the order is not paid"
            case .amountDiffers(let existing): "the number was used for a refund of \(existing)"
            case .exceeds(let left): "more than the \(left) left"
            case .invalid(let why): why
            case .refused: "refused (fault)"
            }
        }
    }

    /// Runs `body` on the order `key` (nil when there is none) and stores what it leaves there.
    func update<T>(_ key: SandboxPaymentKey, _ body: (inout SandboxPayment?) throws -> T) rethrows -> T {
        try payments.withLock { all in
            var payment = all[key]
            defer { all[key] = payment }
            return try body(&payment)
        }
    }

    func payment(_ key: SandboxPaymentKey) -> SandboxPayment? {
        payments.withLock { $0[key] }
    }

    /// Every order of `channel` under `account`.
    func all(channel: String, account: String) -> [SandboxPayment] {
        payments.withLock { all in all.values.filter { $0.key.channel == channel && $0.key.account == account } }
    }

    /// The orders of `channel` numbered `outTradeNo`, under any account unless `account` is given.
    func find(channel: String, outTradeNo: String, account: String? = nil) -> [SandboxPayment] {
        payments.withLock { all in
            all.values.filter {
                $0.key.channel == channel && $0.key.outTradeNo == outTradeNo && (account == nil || $0.key.account == account)
            }
        }
    }

    /// The orders of `channel` whose channel number (`transaction_id`, `trade_no`) is `tradeNo`, under any account
    /// unless `account` is given.
    func find(channel: String, tradeNo: String, account: String? = nil) -> [SandboxPayment] {
        payments.withLock { all in
            all.values.filter {
                $0.key.channel == channel && $0.tradeNo == tradeNo && (account == nil || $0.key.account == account)
            }
        }
    }

    /// The orders of `channel` holding a refund whose channel id is `refundID`, under any account unless `account` is
    /// given.
    func find(channel: String, refundID: String, account: String? = nil) -> [SandboxPayment] {
        payments.withLock { all in
            all.values.filter {
                $0.key.channel == channel && (account == nil || $0.key.account == account)
                    && $0.refunds.contains { $0.refundID == refundID }
            }
        }
    }

    /// The orders of `channel` holding a refund numbered `outRefundNo`, under any account unless `account` is
    /// given.
    func findRefund(channel: String, outRefundNo: String, account: String? = nil) -> [SandboxPayment] {
        payments.withLock { all in
            all.values.filter {
                $0.key.channel == channel && (account == nil || $0.key.account == account)
                    && $0.refunds.contains { $0.outRefundNo == outRefundNo }
            }
        }
    }

    /// Appends a delivery to the order's notifications and returns its index.
    func addDelivery(_ delivery: SandboxDelivery, to key: SandboxPaymentKey) -> Int? {
        update(key) { payment in
            guard payment != nil else { return nil }
            payment!.notifications.append(delivery)
            return payment!.notifications.count - 1
        }
    }

    /// Changes delivery `index` of the order.
    func updateDelivery(_ key: SandboxPaymentKey, _ index: Int, _ body: (inout SandboxDelivery) -> Void) {
        update(key) { payment in
            guard payment != nil, payment!.notifications.indices.contains(index) else { return }
            body(&payment!.notifications[index])
        }
    }

    func delivery(_ key: SandboxPaymentKey, _ index: Int) -> SandboxDelivery? {
        payment(key).flatMap { $0.notifications.indices.contains(index) ? $0.notifications[index] : nil }
    }
}

extension SandboxLedger {
    /// The payer pays an unpaid order: unpaid → paid now (a paid order stays as it was). The order as it is then,
    /// or nil when it is unknown or was closed unpaid: a closed order cannot be paid — unless `late`, the payer
    /// having paid in the instant before the close reached the channel (a race real channels have).
    func payUnpaid(_ key: SandboxPaymentKey, late: Bool = false) -> SandboxPayment? {
        update(key) { payment -> SandboxPayment? in
            guard var found = payment else { return nil }
            if late, found.status == .closed, found.paidAt == nil {
                found.status = .unpaid
                found.closedAt = nil
            }
            guard found.status != .closed || found.paidAt != nil else { return nil }
            if found.status == .unpaid {
                found.status = .paid
                found.paidAt = bills.takePaidAt(found.key.outTradeNo) ?? Date()
            }
            payment = found
            return found
        }
    }

    /// The payer or the channel closes an unpaid order: unpaid → closed now, `closing` applied (a closed order
    /// stays as it was). The order as it is then, or nil when it is unknown or was paid: a paid order cannot be
    /// closed.
    func closeUnpaid(_ key: SandboxPaymentKey, closing: (inout SandboxPayment) -> Void = { _ in }) -> SandboxPayment? {
        update(key) { payment -> SandboxPayment? in
            guard var found = payment, found.paidAt == nil else { return nil }
            if found.status == .unpaid {
                found.status = .closed
                found.closedAt = Date()
                closing(&found)
            }
            payment = found
            return found
        }
    }

    /// The channel completes refund `refundID` of the order: processing → success now, or failed for one made under
    /// the `abnormal` fault (a finished refund stays as it was). The order and the refund, or nil when either is
    /// unknown.
    func completeRefund(_ key: SandboxPaymentKey, refundID: String) -> (SandboxPayment, SandboxRefund)? {
        update(key) { payment -> (SandboxPayment, SandboxRefund)? in
            guard var found = payment, let index = found.refunds.firstIndex(where: { $0.refundID == refundID })
            else { return nil }
            if found.refunds[index].status == .processing {
                let at = bills.takeFinishedAt(found.refunds[index].outRefundNo) ?? Date()
                if found.refunds[index].failsOnCompletion {
                    found.refunds[index].status = .failed
                    found.refunds[index].failedAt = at
                } else {
                    found.refunds[index].status = .success
                    found.refunds[index].succeededAt = at
                }
            }
            payment = found
            return (found, found.refunds[index])
        }
    }

    /// Marks the completion of refund `refundID` as announced. True the first time: the scheduled completion
    /// announces only a refund that no explicit act announced before it.
    func claimAnnouncement(_ key: SandboxPaymentKey, refundID: String) -> Bool {
        update(key) { payment in
            guard let index = payment?.refunds.firstIndex(where: { $0.refundID == refundID }),
                !payment!.refunds[index].announced
            else { return false }
            payment!.refunds[index].announced = true
            return true
        }
    }

    /// One refund API call, idempotent on `outRefundNo` as every channel is: the refund under that number made
    /// before (same amount: a replay, counted in its `requests`), or a new one made by `make` — or a refusal
    /// (another amount under the number, an unpaid order, more than is left, the channel's own `check`). Every call
    /// is recorded for the audit: a repeated number is never a second refund, and never hidden either.
    ///
    /// `byNumber` false: the channel does not know the number as a refund's key (Stripe's `metadata[out_refund_no]`;
    /// Stripe is idempotent on the Idempotency-Key only), so the call makes a new refund even under a number used
    /// before — the double a real channel would make, there for the audit to show. `audited` false: not an API call
    /// (a console refund), so a refusal is not recorded as one.
    func requestRefund(
        _ key: SandboxPaymentKey, outRefundNo: String, amount: Int64, refuse: Bool = false, byNumber: Bool = true,
        audited: Bool = true, check: (SandboxPayment) -> String? = { _ in nil },
        make: (SandboxPayment) -> SandboxRefund
    ) -> Result<(payment: SandboxPayment, refund: SandboxRefund, created: Bool), RefundRefusal> {
        let result: Result<(payment: SandboxPayment, refund: SandboxRefund, created: Bool), RefundRefusal> = update(key) {
            payment in
            guard var found = payment else { return .failure(.noOrder) }
            defer { payment = found }
            if byNumber, let index = found.refunds.firstIndex(where: { $0.outRefundNo == outRefundNo }) {
                found.refunds[index].requests += 1
                if !found.refunds[index].amountsRequested.contains(amount) {
                    found.refunds[index].amountsRequested.append(amount)
                }
                let existing = found.refunds[index]
                guard existing.amountMinor == amount else { return .failure(.amountDiffers(existing: existing.amountMinor)) }
                return .success((found, existing, false))
            }
            if refuse { return .failure(.refused) }
            guard found.paidAt != nil else { return .failure(.notPaid) }
            if let problem = check(found) { return .failure(.invalid(problem)) }
            guard amount > 0, found.refundedMinor + amount <= found.amountMinor else {
                return .failure(.exceeds(left: found.amountMinor - found.refundedMinor))
            }
            let refund = make(found)
            found.refunds.append(refund)
            return .success((found, refund, true))
        }
        if audited, case .failure(let refusal) = result {
            recordRefusal(key, outRefundNo: outRefundNo, amount: amount, reason: refusal.text)
        }
        return result
    }

    /// `GET /sandbox/stats`: per channel, the notifications sent — deliveries (one per notification, its retries
    /// included), attempts, accepted deliveries, deliveries that needed more than one attempt, copies sent twice —
    /// and the orders paid.
    func stats() -> [String: Any] {
        let all = payments.withLock { Array($0.values) }
        var channels: [String: [String: Int]] = [:]
        for payment in all {
            var entry = channels[payment.key.channel] ?? [:]
            if payment.paidAt != nil { entry["paid", default: 0] += 1 }
            for delivery in payment.notifications {
                entry["deliveries", default: 0] += 1
                entry["attempts", default: 0] += delivery.attempts.count
                if delivery.delivered { entry["accepted", default: 0] += 1 }
                if Set(delivery.attempts.map(\.number)).count > 1 { entry["retried", default: 0] += 1 }
                entry["duplicated", default: 0] += delivery.attempts.count - Set(delivery.attempts.map(\.number)).count
            }
            channels[payment.key.channel] = entry
        }
        return ["channels": channels]
    }

    /// Records a refund API call the channel refused before the ledger saw it (an unknown PaymentIntent, a reused
    /// Idempotency-Key, a remembered refusal replayed).
    func recordRefusal(_ key: SandboxPaymentKey, outRefundNo: String, amount: Int64, reason: String) {
        refused.withLock {
            $0.append(RefusedRefund(key: key, outRefundNo: outRefundNo, amountMinor: amount, reason: reason))
        }
    }

    /// A refund call the channel answered from memory (Stripe's idempotency replay, or its refusal of a key reused
    /// with other parameters): counted under the refund `refundID` the key made, never making one.
    func countRefundCall(_ key: SandboxPaymentKey, refundID: String, amount: Int64) {
        update(key) { payment in
            guard let index = payment?.refunds.firstIndex(where: { $0.refundID == refundID }) else { return }
            payment!.refunds[index].requests += 1
            if !payment!.refunds[index].amountsRequested.contains(amount) {
                payment!.refunds[index].amountsRequested.append(amount)
            }
        }
    }

    /// `GET /sandbox/refunds`: every refund (with how often and with which amounts its number was asked for), every
    /// refused call, and per paid order what it took and what went back — the ground truth a test audits PayFleet's
    /// books against.
    func refundAudit(channel: String?) -> [String: Any] {
        let all = payments.withLock { all in
            all.values.filter { channel == nil || $0.key.channel == channel }.sorted { $0.key.description < $1.key.description }
        }
        var refunds: [[String: Any]] = []
        var orders: [[String: Any]] = []
        for payment in all where payment.paidAt != nil || !payment.refunds.isEmpty {
            var order: [String: Any] = [
                "channel": payment.key.channel, "account": payment.key.account, "out_trade_no": payment.outTradeNo,
                "trade_no": payment.tradeNo, "amount": payment.amountMinor, "refunded": payment.refundedSuccessMinor,
            ]
            if let paidAt = payment.paidAt { order["paid_at"] = SandboxPayment.iso(paidAt) }
            orders.append(order)
            for refund in payment.refunds {
                var item: [String: Any] = [
                    "channel": payment.key.channel, "account": payment.key.account, "out_trade_no": payment.outTradeNo,
                    "out_refund_no": refund.outRefundNo, "refund_id": refund.refundID, "amount": refund.amountMinor,
                    "status": refund.status.rawValue, "origin": refund.origin.rawValue, "requests": refund.requests,
                    "amounts_requested": refund.amountsRequested, "created_at": SandboxPayment.iso(refund.createdAt),
                ]
                if let at = refund.succeededAt { item["succeeded_at"] = SandboxPayment.iso(at) }
                if let at = refund.failedAt { item["failed_at"] = SandboxPayment.iso(at) }
                refunds.append(item)
            }
        }
        let refusals = refused.withLock { list in
            list.filter { channel == nil || $0.key.channel == channel }.map { item -> [String: Any] in
                [
                    "channel": item.key.channel, "account": item.key.account, "out_trade_no": item.key.outTradeNo,
                    "out_refund_no": item.outRefundNo, "amount": item.amountMinor, "reason": item.reason,
                ]
            }
        }
        return ["refunds": refunds, "refused": refusals, "payments": orders]
    }
}

/// Completes accepted refunds by themselves after `sandbox.refund_complete_ms`, as a channel does: each completion
/// is the channel's own refund act (the refund succeeds, or fails under the `abnormal` fault, and its notification
/// is sent) — unless an explicit act announced the refund first, which the channel would not announce twice.
/// Cancelled at shutdown.
final class RefundCompleter: Sendable {
    /// nil: refunds complete only when `POST /sandbox/<channel>/refund/<no>` says so.
    let delay: Duration?
    private let ledger: SandboxLedger
    private let tasks = Mutex<(next: Int, running: [Int: Task<Void, Never>])>((0, [:]))

    init(delay: Duration?, ledger: SandboxLedger) {
        self.delay = delay
        self.ledger = ledger
    }

    /// After the delay, runs `completion` (the channel's refund act) for refund `refundID` of the order `key`, if
    /// nothing announced that refund meanwhile.
    func schedule(_ key: SandboxPaymentKey, refundID: String, _ completion: @escaping @Sendable () async -> Void) {
        guard let delay else { return }
        let ledger = self.ledger
        tasks.withLock { state in
            let id = state.next
            state.next += 1
            state.running[id] = Task {
                defer { _ = self.tasks.withLock { $0.running.removeValue(forKey: id) } }
                try? await Task.sleep(for: delay)
                if Task.isCancelled { return }
                guard ledger.claimAnnouncement(key, refundID: refundID) else { return }
                await completion()
            }
        }
    }

    func cancelAll() {
        let running = tasks.withLock { state in
            defer { state.running.removeAll() }
            return Array(state.running.values)
        }
        for task in running { task.cancel() }
    }
}
