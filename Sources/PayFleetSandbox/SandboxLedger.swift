import Foundation
import Synchronization

/// The sandbox channels' memory: every order and refund, consistent across calls. One `Mutex`; every change is
/// one closure under the lock, so a query never sees half of a pay or a refund.
final class SandboxLedger: Sendable {
    private let payments = Mutex<[SandboxPaymentKey: SandboxPayment]>([:])

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
    /// or nil when it is unknown or was closed unpaid: a closed order cannot be paid.
    func payUnpaid(_ key: SandboxPaymentKey) -> SandboxPayment? {
        update(key) { payment -> SandboxPayment? in
            guard var found = payment, found.status != .closed || found.paidAt != nil else { return nil }
            if found.status == .unpaid {
                found.status = .paid
                found.paidAt = Date()
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

    /// The channel completes a refund: processing → success now (a finished refund stays as it was). The order and
    /// the refund, or nil when either is unknown.
    func completeRefund(_ key: SandboxPaymentKey, outRefundNo: String) -> (SandboxPayment, SandboxRefund)? {
        update(key) { payment -> (SandboxPayment, SandboxRefund)? in
            guard var found = payment, let index = found.refunds.firstIndex(where: { $0.outRefundNo == outRefundNo })
            else { return nil }
            if found.refunds[index].status == .processing {
                found.refunds[index].status = .success
                found.refunds[index].succeededAt = Date()
            }
            payment = found
            return (found, found.refunds[index])
        }
    }
}
