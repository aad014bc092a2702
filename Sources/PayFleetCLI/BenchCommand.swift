import AMQP
import ArgumentParser
import AsyncHTTPClient
import Configuration
import Foundation
import Logging
import NIOCore
import PayFleetMessages
import PayFleetRuntime

/// Load generators for `scripts/bench`. Loopback only; each stops by itself after `--count`.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Load generators used by scripts/bench (loopback only).",
        subcommands: [Jobs.self, Notify.self])

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

    /// Posts `count` pre-signed notifications to the receiver, then `count` GETs of
    /// /health/live (the baseline: the same HTTP server doing no work), at the same concurrency.
    struct Notify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Post N signed notifications; compare with /health/live.")
        @Option var count: Int
        @Option var prefix: String
        @Option var amount: Int64 = 100
        @Option var channel: String = "wechatpay"
        @Option var concurrency: Int = 32
        @Option(name: .customLong("receiver")) var receiverURL: String?

        func run() async throws {
            guard let channel = ChannelID(rawValue: channel) else { throw ValidationError("unknown channel") }
            let reader = try await ConfigReader.payfleet()
            let notifier = SandboxNotifier(reader: reader, receiverURL: receiverURL)
            let notifications = try (0..<count).map { index in
                try notifier.paymentSucceeded(
                    channel: channel, merchant: "demo", payment: .init(paymentNo: "\(prefix)\(index)", amountMinor: amount))
            }
            let (concurrency, base) = (concurrency, notifier.receiverURL)
            let notifyRate = try await Self.drive(count: count, concurrency: concurrency) { index in
                let reply = try await notifier.post(notifications[index])
                guard (200..<300).contains(reply.status) else { throw ValidationError("HTTP \(reply.status) \(reply.body)") }
            }
            let baselineRate = try await Self.drive(count: count, concurrency: concurrency) { _ in
                let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/health/live"), timeout: .seconds(10))
                _ = try await response.body.collect(upTo: 1024)
            }
            print(String(format: "receiver: %.0f notifications/s (verify + publish confirmed + reply), concurrency %d", notifyRate, concurrency))
            print(String(format: "baseline: %.0f requests/s of GET /health/live on the same server", baselineRate))
            print(String(format: "ratio:    %.2f of the bare HTTP baseline", notifyRate / baselineRate))
        }

        /// Runs `body(0..<count)` with `concurrency` in flight; returns operations per second.
        static func drive(count: Int, concurrency: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws -> Double {
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    if index >= concurrency { try await group.next() }
                    group.addTask { try await body(index) }
                }
                try await group.waitForAll()
            }
            return Double(count) / (ContinuousClock.now - start).seconds
        }
    }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
