import ArgumentParser
import Configuration
import Foundation
import PayFleetMessages
import PayFleetRuntime

struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Play a payment channel locally, signing with the TEST-ONLY sandbox keys.",
        subcommands: [Pay.self])

    struct Pay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send the signed 'paid' notification a channel would send for a payment, and print the reply.")

        @Option(help: "wechatpay or alipay.") var channel: String
        @Option var merchant: String = "demo"
        @Option(name: .customLong("payment-no"), help: "The payment's out_trade_no.") var paymentNo: String
        @Option(help: "Amount paid, in minor units.") var amount: Int64
        @Option var currency: String = "CNY"
        @Option(name: .customLong("notification-id"), help: "Reuse an id to play the channel's retry of one notification.")
        var notificationID: String?
        @Option(name: .customLong("receiver"), help: "The receiver's base URL (default: sandbox.receiver_url).")
        var receiverURL: String?

        func run() async throws {
            guard let channel = ChannelID(rawValue: channel) else {
                throw ValidationError("unknown channel \(channel)")
            }
            let reader = try await ConfigReader.payfleet()
            let notifier = SandboxNotifier(reader: reader, receiverURL: receiverURL)
            let notification = try notifier.paymentSucceeded(
                channel: channel, merchant: merchant,
                payment: .init(paymentNo: paymentNo, amountMinor: amount, currency: currency, notificationID: notificationID))
            let reply = try await notifier.post(notification)
            print("\(channel.rawValue) notification for \(paymentNo) → HTTP \(reply.status) \(reply.body)")
            if !(200..<300).contains(reply.status) { throw ExitCode(2) }
        }
    }
}
