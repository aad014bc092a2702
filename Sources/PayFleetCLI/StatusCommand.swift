import ArgumentParser
import Configuration
import AMQP
import Foundation
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
            print(summary.report)
        }
        guard payment == nil, refund == nil else { return }
        // The broker's side: what waits in each queue and who consumes it. A broker that is
        // down is reported, not fatal: the database's view above is still worth having.
        do {
            try await Dependencies.withBroker(
                reader: reader, logger: logger, connectionName: "payfleet-status", timeout: .seconds(3)
            ) { connection, _ in
                print("queues (ready messages / consumers):")
                for queue in [QueueName.payments, QueueName.fulfilment, QueueName.refunds, QueueName.inventory, QueueName.dead] {
                    do {
                        let info = try await connection.queueInfo(queue)
                        let name = queue.padding(toLength: 16, withPad: " ", startingAt: 0)
                        print("  \(name) \(info.messageCount) / \(info.consumerCount)")
                    } catch {
                        print("  \(queue): not declared (run `payfleet migrate`)")
                    }
                }
            }
        } catch {
            print("queues: broker unavailable (\(error))")
        }
    }
}
