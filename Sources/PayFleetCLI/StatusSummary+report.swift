import Foundation
import PayFleetMessages
import PayFleetStore

extension StatusSummary {
    /// The operator's view, one fact a line.
    var report: String {
        var lines: [String] = []
        let statuses = paymentsByStatus.keys.sorted().map { "\($0) \(paymentsByStatus[$0]!)" }
        lines.append("payments:            " + (statuses.isEmpty ? "none" : statuses.joined(separator: ", ")))
        if let oldest = oldestPendingPaymentCreatedAt {
            lines.append("oldest pending:      created \(Int(Date().timeIntervalSince(oldest))) s ago")
        }
        if awaitingPrepay > 0 {
            let age = oldestAwaitingPrepayCreatedAt.map { ", oldest created \(Int(Date().timeIntervalSince($0))) s ago" } ?? ""
            lines.append("not yet opened:      \(awaitingPrepay) pending payments wait for their channel's prepay\(age)")
        }
        let lag = oldestUnpublishedAgeSeconds.map { ", oldest \(Int($0)) s" } ?? ""
        lines.append("outbox unpublished:  \(outboxUnpublished)\(lag)")
        let dueAge = oldestDueRetryAgeSeconds.map { ", oldest due \(Int($0)) s ago" } ?? ""
        lines.append("retries:             \(retries) (\(retriesDue) due\(dueAge))")
        lines.append("dead letters:        \(deadLetters)")
        let kinds = anomaliesByKind.keys.sorted().map { "\($0) \(anomaliesByKind[$0]!)" }
        lines.append("anomalies:           \(anomalies)" + (kinds.isEmpty ? "" : " (" + kinds.joined(separator: ", ") + ")"))
        let refunds = refundsByStatus.keys.sorted().map { "\($0) \(refundsByStatus[$0]!)" }
        lines.append("refunds:             " + (refunds.isEmpty ? "none" : refunds.joined(separator: ", ")))
        if !refundedMinorByCurrency.isEmpty || !refundPendingMinorByCurrency.isEmpty {
            lines.append("money refunded:      " + Self.amounts(refundedMinorByCurrency))
            lines.append("money pending:       " + Self.amounts(refundPendingMinorByCurrency))
        }
        if let oldest = oldestProcessingRefundAt {
            lines.append("oldest processing:   accepted \(Int(Date().timeIntervalSince(oldest))) s ago")
        }
        lines.append("stock to confirm:    \(awaitingInventory) paid orders")
        lines.append("oversold orders:     \(oversoldOrders)")
        let low = lowStock.map { "\($0.sku) \($0.free) free" }
        lines.append(
            "low stock (≤\(lowStockThreshold) free): " + (low.isEmpty ? "none" : low.joined(separator: ", ")))
        return lines.joined(separator: "\n")
    }

    /// `12345 CNY, 900 USD` (minor units), or `0`.
    static func amounts(_ byCurrency: [String: Int64]) -> String {
        byCurrency.isEmpty ? "0" : byCurrency.keys.sorted().map { "\(byCurrency[$0]!) \($0)" }.joined(separator: ", ")
    }
}

extension RefundRow {
    /// `payfleet status --refund NO`.
    var report: String {
        var lines = ["refund \(refundNo): \(status.rawValue) (\(origin.rawValue)), amount_minor \(amountMinor) \(currency)"]
        lines.append("  payment \(paymentNo) (\(paymentStatus.rawValue)), order \(orderNo), \(channel)/\(merchant)")
        if let channelRefundNo { lines.append("  channel refund no \(channelRefundNo)") }
        if !reason.isEmpty { lines.append("  reason: \(reason)") }
        lines.append("  requested \(createdAt.formatted(.iso8601))")
        if let processingAt { lines.append("  accepted by the channel \(processingAt.formatted(.iso8601))") }
        if let succeededAt { lines.append("  succeeded \(succeededAt.formatted(.iso8601))") }
        if let failedAt { lines.append("  failed \(failedAt.formatted(.iso8601)): \(lastError ?? "")") }
        return lines.joined(separator: "\n")
    }
}
