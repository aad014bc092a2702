import ArgumentParser
import Configuration
import Foundation
import PayFleetRuntime
import PayFleetStore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show what an operator looks at before scaling.")

    @Option(help: "Show one payment by its payment_no instead.")
    var payment: String?

    func run() async throws {
        let reader = try await ConfigReader.payfleet()
        let logger = commandLogger(reader)
        let payment = self.payment
        try await Dependencies.withStore(reader: reader, logger: logger) { store, _ in
            if let payment {
                guard let row = try await store.paymentStatus(paymentNo: payment) else {
                    throw ValidationError("no payment \(payment)")
                }
                print("payment \(payment): \(row.status), order \(row.orderNo): \(row.orderStatus)")
                print("  amount_minor \(row.amountMinor) \(row.currency), channel_trade_no \(row.channelTradeNo ?? "-")")
                return
            }
            let summary = try await store.statusSummary()
            print(summary.report)
        }
    }
}
