import ArgumentParser
import Configuration
import AMQP
import Foundation
import Logging
import PayFleetMessages
import PayFleetRuntime
import PayFleetStore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show what an operator looks at before scaling.")

    @Option(help: "Show one payment by its payment_no instead.")
    var payment: String?

    @Option(help: "Show one refund by its refund_no instead.")
    var refund: String?

    @Flag(help: "Print the fleet's state as one JSON object (for scripts) instead of the text report.")
    var json = false

    func run() async throws {
        let reader = try await ConfigReader.payfleet()
        let logger = commandLogger(reader)
        let payment = self.payment
        let refund = self.refund
        try await Dependencies.withStore(reader: reader, logger: logger) { store, _ in
            if let refund {
                guard let row = try await store.refund(refundNo: refund) else { throw ValidationError("no refund \(refund)") }
                print(row.report)
                return
            }
            if let payment {
                guard let row = try await store.paymentStatus(paymentNo: payment) else {
                    throw ValidationError("no payment \(payment)")
                }
                print("payment \(payment): \(row.status.rawValue), order \(row.orderNo): \(row.orderStatus)")
                print("  \(row.channel)/\(row.merchant), amount_minor \(row.amountMinor) \(row.currency)")
                if row.refundedMinor > 0 || row.refundPendingMinor > 0 {
                    print("  refunded_minor \(row.refundedMinor), refund pending \(row.refundPendingMinor)")
                }
                print("  stock: \(row.inventoryStatus.rawValue)")
                if let prepaidAt = row.prepaidAt {
                    let keys = (row.payParameters ?? [:]).keys.sorted().joined(separator: ", ")
                    print("  opened at the channel \(prepaidAt.formatted(.iso8601)); pay parameters: \(keys)")
                } else if row.status == .pending {
                    print("  not opened at the channel yet")
                }
                if let tradeNo = row.channelTradeNo { print("  channel trade no \(tradeNo)") }
                let events = try await store.eventCounts(paymentNo: payment)
                if !events.isEmpty {
                    print("  events: " + events.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
                }
                for refund in try await store.refunds(paymentNo: payment) {
                    print("  refund \(refund.refundNo): \(refund.status.rawValue), amount_minor \(refund.amountMinor)")
                }
                return
            }
            let summary = try await store.statusSummary()
            var reconciliation: [StatusDocument.Reconciliation] = []
            for run in try await store.lastReconciliations() {
                reconciliation.append(
                    StatusDocument.Reconciliation(run: run, diffs: try await store.reconciliationDiffs(runID: run.id)))
            }
            let queues = await Self.queues(reader: reader, logger: logger)
            let document = StatusDocument(summary: summary, queues: queues, reconciliation: reconciliation)
            if json {
                print(document.json)
            } else {
                print(summary.report)
                print(document.reconciliationReport)
                print(document.queueReport)
            }
        }
    }

    static let queueNames = [QueueName.payments, QueueName.fulfilment, QueueName.refunds, QueueName.inventory, QueueName.dead]

    /// Depths, consumers and rates from RabbitMQ's management API; without it, depths and consumers over AMQP; a
    /// broker that is down is reported, not fatal: the database's view is still worth having.
    static func queues(reader: ConfigReader, logger: Logger) async -> StatusDocument.Queues {
        var managementError = "amqp.management_url is not usable"
        if let management = try? RabbitMQManagement(reader: reader) {
            do {
                return StatusDocument.Queues(source: "management", queues: try await management.queues(queueNames))
            } catch {
                managementError = "\(management.endpoint): \(error)"
            }
        }
        do {
            let queues = try await Dependencies.withBroker(
                reader: reader, logger: logger, connectionName: "payfleet-status", timeout: .seconds(3)
            ) { connection, _ in
                var found: [QueueActivity] = []
                for queue in queueNames {
                    guard let info = try? await connection.queueInfo(queue) else { continue }
                    found.append(
                        QueueActivity(
                            name: queue, messages: Int(info.messageCount), ready: Int(info.messageCount), unacked: 0,
                            consumers: Int(info.consumerCount), publishRate: nil, ackRate: nil))
                }
                return found
            }
            return StatusDocument.Queues(source: "amqp", error: managementError, queues: queues)
        } catch {
            return StatusDocument.Queues(source: "unavailable", error: "\(error)", queues: [])
        }
    }
}
