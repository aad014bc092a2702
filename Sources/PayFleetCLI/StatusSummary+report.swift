import Foundation
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
        lines.append("retries:             \(retries) (\(retriesDue) due)")
        lines.append("dead letters:        \(deadLetters)")
        lines.append("anomalies:           \(anomalies)")
        return lines.joined(separator: "\n")
    }
}
