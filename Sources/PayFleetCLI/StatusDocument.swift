import Foundation
import PayFleetRuntime
import PayFleetStore

/// `payfleet status --json`: the fleet's state as one object, for scripts. Durations in seconds, money in minor
/// units per currency, rates in messages per second over the last minute.
struct StatusDocument: Encodable {
    struct Queues: Encodable {
        /// `management` (RabbitMQ's management API: rates included), `amqp` (depth and consumers only) or
        /// `unavailable`.
        var source: String
        var error: String?
        var queues: [QueueActivity]
    }

    struct Outbox: Encodable {
        var unpublished: Int
        var lagSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case unpublished
            case lagSeconds = "lag_seconds"
        }
    }

    struct Retries: Encodable {
        var parked: Int
        var due: Int
        var oldestDueSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case parked, due
            case oldestDueSeconds = "oldest_due_seconds"
        }
    }

    struct Refunds: Encodable {
        var byStatus: [String: Int]
        var pendingMinor: [String: Int64]
        var refundedMinor: [String: Int64]
        var oldestProcessingSeconds: Double?

        enum CodingKeys: String, CodingKey {
            case byStatus = "by_status"
            case pendingMinor = "pending_minor"
            case refundedMinor = "refunded_minor"
            case oldestProcessingSeconds = "oldest_processing_seconds"
        }
    }

    struct Reconciliation: Encodable {
        var run: ReconciliationRunRow
        var diffs: [ReconciliationDiff]
    }

    var generatedAt: Date
    var payments: [String: Int]
    var oldestPendingSeconds: Double?
    var awaitingPrepay: Int
    var queues: Queues
    var outbox: Outbox
    var retries: Retries
    var deadLetters: Int
    var anomalies: [String: Int]
    var refunds: Refunds
    var awaitingInventory: Int
    var oversoldOrders: Int
    var reconciliation: [Reconciliation]

    enum CodingKeys: String, CodingKey {
        case payments, queues, outbox, retries, anomalies, refunds, reconciliation
        case generatedAt = "generated_at"
        case oldestPendingSeconds = "oldest_pending_seconds"
        case awaitingPrepay = "awaiting_prepay"
        case deadLetters = "dead_letters"
        case awaitingInventory = "awaiting_inventory"
        case oversoldOrders = "oversold_orders"
    }

    init(summary: StatusSummary, queues: Queues, reconciliation: [Reconciliation], now: Date = Date()) {
        generatedAt = now
        payments = summary.paymentsByStatus
        oldestPendingSeconds = summary.oldestPendingPaymentCreatedAt.map { now.timeIntervalSince($0) }
        awaitingPrepay = summary.awaitingPrepay
        self.queues = queues
        outbox = Outbox(unpublished: summary.outboxUnpublished, lagSeconds: summary.oldestUnpublishedAgeSeconds)
        retries = Retries(parked: summary.retries, due: summary.retriesDue, oldestDueSeconds: summary.oldestDueRetryAgeSeconds)
        deadLetters = summary.deadLetters
        anomalies = summary.anomaliesByKind
        refunds = Refunds(
            byStatus: summary.refundsByStatus, pendingMinor: summary.refundPendingMinorByCurrency,
            refundedMinor: summary.refundedMinorByCurrency,
            oldestProcessingSeconds: summary.oldestProcessingRefundAt.map { now.timeIntervalSince($0) })
        awaitingInventory = summary.awaitingInventory
        oversoldOrders = summary.oversoldOrders
        self.reconciliation = reconciliation
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        do {
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            return "{\"error\": \"the status could not be encoded\"}"
        }
    }

    /// The broker's side of the text report: a table that fits 80 columns.
    var queueReport: String {
        var lines: [String] = []
        switch queues.source {
        case "unavailable":
            lines.append("queues: broker unavailable (\(queues.error ?? "no answer"))")
        default:
            lines.append("queue              ready  unacked  consumers   in/s  acks/s  drains in")
            for queue in queues.queues {
                let drain: String
                if let seconds = queue.drainSeconds {
                    drain = seconds == 0 ? "empty" : Self.duration(seconds)
                } else {
                    drain = queues.source == "management" ? "not draining" : "-"
                }
                lines.append(
                    queue.name.padding(toLength: 17, withPad: " ", startingAt: 0)
                        + Self.right(queue.ready, 7) + Self.right(queue.unacked, 9) + Self.right(queue.consumers, 11)
                        + Self.right(Self.rate(queue.publishRate), 7) + Self.right(Self.rate(queue.ackRate), 8)
                        + "  " + drain)
            }
            if queues.source == "amqp" {
                lines.append("  (no rates: RabbitMQ's management API did not answer — \(queues.error ?? ""))")
            }
            let idle = queues.queues.filter { $0.consumers == 0 && $0.name != "payfleet.dead" }.map(\.name)
            if !idle.isEmpty { lines.append("  no consumer on: \(idle.joined(separator: ", ")) — start that role") }
        }
        return lines.joined(separator: "\n")
    }

    var reconciliationReport: String {
        guard !reconciliation.isEmpty else { return "reconciliation:      none run yet" }
        var lines = ["reconciliation (last day per merchant):"]
        for entry in reconciliation {
            let run = entry.run
            let name = "\(run.channel)/\(run.merchant)".padding(toLength: 22, withPad: " ", startingAt: 0)
            let result =
                run.status == "failed"
                ? "failed: \((run.error ?? "").prefix(30))"
                : "\(run.status), \(run.matched) matched, \(run.diffCount) diffs (\(run.repairsRequested) repairing)"
            lines.append("  \(name) \(run.billDate)  \(result)")
        }
        return lines.joined(separator: "\n")
    }

    static func right(_ value: Int, _ width: Int) -> String { right(String(value), width) }

    static func right(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    static func rate(_ value: Double?) -> String {
        guard let value else { return "-" }
        return value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 120 ? "\(Int(seconds.rounded())) s" : seconds < 7200 ? "\(Int((seconds / 60).rounded())) min" : "\(Int((seconds / 3600).rounded())) h"
    }
}
