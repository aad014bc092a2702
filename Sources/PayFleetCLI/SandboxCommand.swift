import ArgumentParser
import AsyncHTTPClient
import Configuration
import Foundation
import NIOCore
import NIOHTTP1
import PayFleetMessages
import PayFleetRuntime
import PayFleetSandboxNotifier
import PayFleetStore

struct SandboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox",
        abstract: "Play a payment channel locally, signing with the TEST-ONLY sandbox keys.",
        subcommands: [Pay.self, Act.self, Fault.self, ClearFaults.self])

    /// The channel-sandbox's base URL: `--sandbox`, else http://`sandbox.host`:`sandbox.port`.
    static func sandboxURL(_ explicit: String?) async throws -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        let reader = try await ConfigReader.payfleet()
        let host = reader.string(forKey: "sandbox.host", default: "127.0.0.1")
        return "http://\(host):\(reader.int(forKey: "sandbox.port", default: 8090))"
    }

    /// One call to the channel-sandbox's control API: prints the reply, fails on a non-2xx status.
    static func control(_ method: HTTPMethod, _ url: String, json: String? = nil) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(15))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard (200..<300).contains(Int(response.status.code)) else {
            print("channel-sandbox answered HTTP \(response.status.code): \(body)")
            throw ExitCode(2)
        }
        return body
    }

    struct Act: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the running channel-sandbox to pay, close or refund an order it holds; it sends the "
                + "channel's signed notification (retrying on the channel's schedule) and prints its summary.")

        @Argument(help: "pay, close or refund.") var action: String
        @Option(help: "wechatpay, wechatpay-v2, alipay, baidu or stripe.") var channel: String
        @Option(name: .customLong("no"), help: "out_trade_no for pay and close, out_refund_no for refund.") var number: String
        @Option(name: .customLong("sandbox"), help: "The sandbox's base URL (default: sandbox.host:sandbox.port).")
        var sandboxURL: String?
        @Flag(help: "pay: pay even an order the channel closed (the payer paid in the instant before the close).")
        var late = false

        func run() async throws {
            guard ["pay", "close", "refund"].contains(action) else { throw ValidationError("action: pay, close or refund") }
            let base = try await SandboxCommand.sandboxURL(sandboxURL)
            if action == "pay", channel == ChannelID.baidu.rawValue {
                // Baidu's prepay is the signed orderInfo: the payer's mini program opens the cashier with it first.
                let reader = try await ConfigReader.payfleet()
                let parameters = try await Dependencies.withStore(reader: reader, logger: commandLogger(reader)) {
                    store, _ in try await store.paymentStatus(paymentNo: number)?.payParameters
                }
                guard let parameters, !parameters.isEmpty else {
                    throw ValidationError("payment \(number) has no Baidu orderInfo yet (not opened by payment-worker)")
                }
                let json = String(decoding: try JSONSerialization.data(withJSONObject: parameters), as: UTF8.self)
                _ = try await SandboxCommand.control(.POST, "\(base)/sandbox/baidu/cashier", json: json)
            }
            let query = late && action == "pay" ? "?late=1" : ""
            print(try await SandboxCommand.control(.POST, "\(base)/sandbox/\(channel)/\(action)/\(number)\(query)"))
        }
    }

    struct Fault: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inject a fault into one channel-sandbox endpoint for its next calls (drop, delay, error5xx, "
                + "duplicate, tamper).")

        @Option(help: "e.g. wechatpay.prepay, alipay.trade.query, wechatpay.notify.") var endpoint: String
        @Option var mode: String
        @Option(help: "How many calls it affects; -1 until cleared.") var count: Int = 1
        @Option(name: .customLong("delay-ms")) var delayMS: Int?
        @Option(name: .customLong("sandbox")) var sandboxURL: String?

        func run() async throws {
            let base = try await SandboxCommand.sandboxURL(sandboxURL)
            let object: [String: Any] =
                ["endpoint": endpoint, "mode": mode, "count": count].merging(delayMS.map { ["delay_ms": $0] } ?? [:]) {
                    $1
                }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            print(try await SandboxCommand.control(.POST, "\(base)/sandbox/faults", json: json))
        }
    }

    struct ClearFaults: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clear-faults", abstract: "Remove every fault injected into the channel-sandbox.")

        @Option(name: .customLong("sandbox")) var sandboxURL: String?

        func run() async throws {
            let base = try await SandboxCommand.sandboxURL(sandboxURL)
            _ = try await SandboxCommand.control(.DELETE, "\(base)/sandbox/faults")
            print("faults cleared")
        }
    }

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
