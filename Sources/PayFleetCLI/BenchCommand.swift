import AMQP
import ArgumentParser
import AsyncHTTPClient
import Configuration
import Foundation
import Logging
import NIOCore
import PayFleetMessages
import PayFleetRuntime
import PayFleetSandboxNotifier
import PaymentChannels

/// Load generators for `scripts/bench`. Loopback only; each stops by itself after `--count`.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Load generators used by scripts/bench (loopback only).",
        subcommands: [Jobs.self, Sign.self, Notifications.self])

    /// Publishes `count` payment.create jobs, pipelined with confirms.
    struct Jobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish N payment.create jobs for <prefix>0…<prefix>N-1.")
        @Option var count: Int
        @Option var prefix: String
        @Option var sku: String
        @Option var amount: Int64 = 100
        @Option var channel: String = "wechatpay"

        func run() async throws {
            guard let channel = ChannelID(rawValue: channel) else { throw ValidationError("unknown channel") }
            let reader = try await ConfigReader.payfleet()
            let logger = commandLogger(reader, label: "payfleet-bench")
            let (count, prefix, sku, amount) = (count, prefix, sku, amount)
            let start = ContinuousClock.now
            try await Dependencies.withBroker(reader: reader, logger: logger, connectionName: "payfleet-bench") { connection, settings in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<count {
                        if index >= 2000 { try await group.next() }
                        let job = CreatePayment(
                            orderNo: "ORD-\(prefix)\(index)", userID: "bench", channel: channel, merchant: "demo",
                            amountMinor: amount, currency: "CNY", items: [OrderItem(sku: sku, quantity: 1)],
                            description: "bench", paymentNo: "\(prefix)\(index)")
                        let body = try PayFleetJSON.encode(job)
                        group.addTask {
                            try await connection.publish(
                                .payfleet(body: body, messageID: job.dedupKey, type: RoutingKey.paymentCreate),
                                exchange: Exchange.jobs, routingKey: RoutingKey.paymentCreate, timeout: settings.publishTimeout)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let seconds = (ContinuousClock.now - start).seconds
            print("jobs: published \(count) payment.create jobs (confirmed) in \(String(format: "%.2f", seconds)) s")
        }
    }
}

extension BenchCommand {
    /// Signs `count` WeChat Pay v3 TRANSACTION.SUCCESS notifications for <prefix>0…<prefix>N-1 and writes them for
    /// wrk (scripts/lib/wrk-notify.lua), one per line: path, timestamp, nonce, signature, serial, body, tab-separated.
    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write N signed WeChat Pay v3 notifications for wrk.")
        @Option var count: Int
        @Option var prefix: String
        @Option var amount: Int64 = 100
        @Option var merchant: String = "demo"
        @Option var out: String

        func run() async throws {
            let reader = try await ConfigReader.payfleet()
            let (signer, m) = try SandboxNotifier(reader: reader).wechatPaySigner(merchant: merchant)
            let (count, prefix, amount, path) = (count, prefix, amount, "/notify/wechatpay/\(merchant)")
            let start = ContinuousClock.now
            let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
            // RSA signing is the cost: one slice per core.
            let lines = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
                for worker in 0..<workers {
                    group.addTask {
                        var lines: [String] = []
                        for index in stride(from: worker, to: count, by: workers) {
                            let now = Date()
                            let signed = try signer.signTransactionSuccess(
                                mchID: m.mchID, appID: m.appID, outTradeNo: "\(prefix)\(index)",
                                transactionID: "4200B\(prefix)\(index)", amountMinor: amount, successTime: now,
                                id: "EV-\(prefix)-\(index)", now: now)
                            let h = signed.headers
                            lines.append(
                                [path, h["Wechatpay-Timestamp"]!, h["Wechatpay-Nonce"]!, h["Wechatpay-Signature"]!,
                                 h["Wechatpay-Serial"]!, String(decoding: signed.body, as: UTF8.self)].joined(separator: "\t"))
                        }
                        return (worker, lines)
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }.sorted { $0.key < $1.key }.flatMap(\.value)
            }
            try (lines.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
            let seconds = (ContinuousClock.now - start).seconds
            print("sign: \(count) notifications signed in \(String(format: "%.1f", seconds)) s → \(out)")
        }
    }

    /// Publishes what the receiver would have published for <prefix>0…<prefix>N-1 (normalised WeChat Pay
    /// payment.succeeded messages) plus `duplicates` second deliveries of some of them, pipelined with confirms.
    struct Notifications: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish N normalised payment notifications (+ duplicates) straight to payfleet.notify.")
        @Option var count: Int
        @Option var duplicates: Int = 0
        @Option var prefix: String
        @Option var amount: Int64 = 100
        @Option var merchant: String = "demo"

        func run() async throws {
            let reader = try await ConfigReader.payfleet()
            let logger = commandLogger(reader, label: "payfleet-bench")
            let (count, duplicates, prefix, amount, merchant) = (count, duplicates, prefix, amount, merchant)
            let paidAt = Date()
            func message(_ index: Int) throws -> VerifiedMessage {
                // A raw body of the size WeChat Pay's decrypted resource has.
                let raw = #"{"mchid":"1900000109","appid":"wxd678efh567hg6787","out_trade_no":"\#(prefix)\#(index)","#
                    + #""transaction_id":"4200B\#(prefix)\#(index)","trade_type":"JSAPI","trade_state":"SUCCESS","#
                    + #""trade_state_desc":"支付成功","bank_type":"OTHERS","attach":"","success_time":"2026-12-05T12:00:00+08:00","#
                    + #""payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":\#(amount),"payer_total":\#(amount),"#
                    + #""currency":"CNY","payer_currency":"CNY"}}"#
                return try VerifiedMessage(
                    PaymentNotification(
                        id: "EV-\(prefix)-\(index)", channel: .wechatpay, merchant: merchant, kind: .succeeded,
                        paymentNo: "\(prefix)\(index)", channelTradeNo: "4200B\(prefix)\(index)", amountMinor: amount,
                        currency: "CNY", occurredAt: paidAt, raw: raw, payerID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"))
            }
            // Every tenth (or so) payment delivered a second time, spread through the queue.
            let step = duplicates > 0 ? max(1, count / duplicates) : 0
            var order = Array(0..<count)
            if duplicates > 0 {
                for copy in 0..<min(duplicates, count) { order.insert(copy * step, at: min(order.count, copy * step + copy * 10 + 5)) }
            }
            let messages = try order.map(message)
            let start = ContinuousClock.now
            try await Dependencies.withBroker(reader: reader, logger: logger, connectionName: "payfleet-bench") { connection, settings in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (index, message) in messages.enumerated() {
                        if index >= 2000 { try await group.next() }
                        group.addTask {
                            try await connection.publish(
                                .payfleet(body: message.body, messageID: message.messageID, type: message.routingKey),
                                exchange: Exchange.notify, routingKey: message.routingKey, timeout: settings.publishTimeout)
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let seconds = (ContinuousClock.now - start).seconds
            print("notifications: published \(messages.count) (\(count) payments, \(messages.count - count) duplicates) in \(String(format: "%.2f", seconds)) s")
        }
    }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
