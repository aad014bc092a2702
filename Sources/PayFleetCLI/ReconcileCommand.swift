import ArgumentParser
import Configuration
import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetStore
import PaymentChannels

/// `payfleet reconcile`: a day's bills against the books (对账).
struct ReconcileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile", abstract: "Compare a day's channel bill with the books; repair what can be repaired.",
        discussion: """
            Downloads the channel's bill of the day (its own day: China Standard Time, UTC for Stripe), compares it with \
            the payments and refunds of that day, stores the run and its diffs (a rerun of a day replaces them), and \
            asks payment.query / refund.query to repair a payment or refund the channel settled and PayFleet did not. \
            What no job can repair (amounts that differ, payments only the channel knows) stays as a diff with a \
            reconciliation.diff event. Progress goes to stderr, the summary to stdout. Exit status 0 when the books \
            agree, 1 when diffs remain or a bill could not be read.
            """)

    @Option(help: "The channel: wechatpay, wechatpay-v2, alipay, baidu or stripe.")
    var channel: String?

    @Option(help: "The merchant id (channels.<channel>.merchants).")
    var merchant: String?

    @Option(help: "The bill day, YYYY-MM-DD (default: yesterday in the channel's day).")
    var date: String?

    @Flag(help: "Every merchant with API credentials configured, instead of --channel and --merchant.")
    var all = false

    func validate() throws {
        if all {
            guard channel == nil, merchant == nil else { throw ValidationError("--all takes no --channel or --merchant") }
        } else {
            guard let channel, ChannelID(rawValue: channel) != nil else {
                throw ValidationError(
                    "--channel is one of \(ChannelID.allCases.map(\.rawValue).joined(separator: ", ")) (or use --all)")
            }
            guard let merchant, !merchant.isEmpty else { throw ValidationError("--merchant is required (or use --all)") }
        }
        if let date, BillDay(date) == nil { throw ValidationError("--date is a day, YYYY-MM-DD; got '\(date)'") }
    }

    func run() async throws {
        let reader = try await ConfigReader.payfleet()
        let logger = commandLogger(reader)
        let gateways = try GatewayRegistry(reader: reader)
        let targets: [(ChannelID, String)]
        if all {
            targets = gateways.names.compactMap { name in
                let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
                return ChannelID(rawValue: parts[0]).map { ($0, parts[1]) }
            }
            guard !targets.isEmpty else { throw ValidationError("no merchant has API credentials configured") }
        } else {
            targets = [(ChannelID(rawValue: channel!)!, merchant!)]
        }
        let fixedDay = date.flatMap(BillDay.init)
        let host = ProcessInfo.processInfo.hostName
        let results = try await Dependencies.withStore(reader: reader, logger: logger) { store, _ in
            let reconciler = Reconciler(
                gateways: gateways, store: store, logger: logger, claimant: "payfleet@\(host)")
            var results: [Row] = []
            for (channel, merchant) in targets {
                let day = fixedDay ?? BillDay(containing: Date(), in: channel.billTimeZone).previous
                do {
                    let result = try await reconciler.reconcile(channel: channel, merchant: merchant, day: day) {
                        FileHandle.standardError.write(Data("reconcile: \($0)\n".utf8))
                    }
                    results.append(Row(channel: channel, merchant: merchant, day: day, outcome: result.outcome))
                } catch {
                    FileHandle.standardError.write(Data("reconcile: \(channel.rawValue)/\(merchant) \(day): \(error)\n".utf8))
                    results.append(Row(channel: channel, merchant: merchant, day: day, error: "\(error)"))
                }
            }
            return results
        }
        var agreed = true
        print("channel/merchant          day         bill  matched  diffs  repairing")
        for row in results {
            let (channel, merchant, day) = (row.channel, row.merchant, row.day)
            let name = "\(channel.rawValue)/\(merchant)".padding(toLength: 25, withPad: " ", startingAt: 0)
            if let outcome = row.outcome {
                let repairing = outcome.diffs.filter { $0.repair != nil }.count
                print(
                    "\(name) \(day)  \(pad(outcome.billPayments + outcome.billRefunds, 5))  \(pad(outcome.matched, 7))"
                        + "  \(pad(outcome.diffs.count, 5))  \(pad(repairing, 9))")
                agreed = agreed && outcome.diffs.isEmpty
            } else {
                print("\(name) \(day)  failed: \((row.error ?? "").prefix(48))")
                agreed = false
            }
        }
        for row in results {
            guard let outcome = row.outcome, !outcome.diffs.isEmpty else { continue }
            print("\ndiffs of \(row.channel.rawValue)/\(row.merchant):")
            for diff in outcome.diffs {
                let number = diff.refundNo.map { "\(diff.paymentNo) refund \($0)" } ?? diff.paymentNo
                print("  \(diff.kind.rawValue) \(number): \(diff.detail)")
            }
        }
        if !agreed { throw ExitCode(1) }
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}

/// One merchant's day, as the summary prints it.
private struct Row: Sendable {
    var channel: ChannelID
    var merchant: String
    var day: BillDay
    var outcome: ReconciliationOutcome?
    var error: String?
}
