import AMQP
import ArgumentParser
import Configuration
import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetStore

struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue", abstract: "Publish a job exactly as an upstream service would.",
        subcommands: [
            PaymentCreate.self, PaymentQuery.self, PaymentClose.self, RefundCreate.self, RefundQueryJob.self,
        ])

    struct PaymentCreate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "payment.create",
            abstract: "Create an order with its items, reserve stock and open a pending payment (docs/messages.md).")

        @Option(name: .customLong("order-no")) var orderNo: String
        @Option(name: .customLong("user-id")) var userID: String = "demo-user"
        @Option(help: "Amount in minor units (fen, cents): 8888 is 88.88.") var amount: Int64
        @Option var currency: String = "CNY"
        @Option(help: "wechatpay, alipay, …") var channel: String
        @Option var merchant: String
        @Option(name: .customLong("payment-no"), help: "The out_trade_no the channel sees; generated when absent.")
        var paymentNo: String?
        @Option(name: .customLong("item"), help: "SKU:QTY, repeatable.") var items: [String] = []
        @Option var description: String = "PayFleet order"
        @Option(name: .customLong("expires-in"), help: "Seconds until the payment expires.") var expiresIn: Int = 7200
        @Option(
            name: .customLong("client"),
            help: "KEY=VALUE of the client context the channel's prepay needs (trade_type=native, openid=…), repeatable.")
        var client: [String] = []
        @Flag(help: "Print the job's JSON instead of publishing it.") var dryRun = false

        func job() throws -> CreatePayment {
            guard let channel = ChannelID(rawValue: channel) else {
                throw ValidationError(
                    "unknown channel \(channel); one of \(ChannelID.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let parsed = try items.map { item -> OrderItem in
                let parts = item.split(separator: ":")
                guard parts.count == 2, let quantity = Int32(parts[1]), quantity > 0 else {
                    throw ValidationError("--item \(item): expected SKU:QTY with QTY > 0")
                }
                return OrderItem(sku: String(parts[0]), quantity: quantity)
            }
            guard !parsed.isEmpty else { throw ValidationError("at least one --item SKU:QTY") }
            guard amount > 0 else { throw ValidationError("--amount must be > 0 (minor units)") }
            var context: [String: String] = [:]
            for entry in client {
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else { throw ValidationError("--client \(entry): expected KEY=VALUE") }
                context[parts[0]] = parts[1]
            }
            return CreatePayment(
                orderNo: orderNo, userID: userID, channel: channel, merchant: merchant, amountMinor: amount,
                currency: currency.uppercased(), items: parsed, description: description,
                expiresAt: Date().addingTimeInterval(TimeInterval(expiresIn)), paymentNo: paymentNo, client: context)
        }

        func run() async throws {
            let job = try job()
            let body = try PayFleetJSON.encode(job)
            if dryRun {
                print(String(decoding: body, as: UTF8.self))
                return
            }
            try await publishJob(body, messageID: job.dedupKey, routingKey: RoutingKey.paymentCreate)
            print("enqueued payment.create for order \(job.orderNo) (confirmed by the broker)")
        }
    }

    struct PaymentQuery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "payment.query",
            abstract: "Ask the payment's channel about it and settle it if paid (recovers a missed notification).")

        @Option(name: .customLong("payment-no")) var paymentNo: String

        func run() async throws {
            let job = QueryPayment(paymentNo: paymentNo)
            try await publishJob(try PayFleetJSON.encode(job), messageID: job.dedupKey, routingKey: RoutingKey.paymentQuery)
            print("enqueued payment.query for payment \(paymentNo) (confirmed by the broker)")
        }
    }

    struct PaymentClose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "payment.close",
            abstract: "Close a pending payment at its channel and locally, releasing its stock (settled instead if paid).")

        @Option(name: .customLong("payment-no")) var paymentNo: String

        func run() async throws {
            let job = ClosePayment(paymentNo: paymentNo, reason: .requested)
            try await publishJob(try PayFleetJSON.encode(job), messageID: job.dedupKey, routingKey: RoutingKey.paymentClose)
            print("enqueued payment.close for payment \(paymentNo) (confirmed by the broker)")
        }
    }
}

extension EnqueueCommand {
    struct RefundCreate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "refund.create",
            abstract: "Give part or all of a paid payment back through its channel (docs/messages.md).")

        @Option(name: .customLong("refund-no"), help: "Your refund number: the idempotency key the channel sees too.")
        var refundNo: String
        @Option(name: .customLong("payment-no")) var paymentNo: String?
        @Option(name: .customLong("order-no")) var orderNo: String?
        @Option(help: "Amount in minor units (fen, cents): 8888 is 88.88.") var amount: Int64
        @Option var currency: String = "CNY"
        @Option var reason: String = ""
        @Flag(help: "Print the job's JSON instead of publishing it.") var dryRun = false

        func run() async throws {
            guard paymentNo != nil || orderNo != nil else { throw ValidationError("--payment-no or --order-no") }
            guard amount > 0 else { throw ValidationError("--amount must be > 0 (minor units)") }
            let job = CreateRefund(
                refundNo: refundNo, paymentNo: paymentNo, orderNo: orderNo, amountMinor: amount,
                currency: currency.uppercased(), reason: reason)
            if let problem = job.validationProblem() { throw ValidationError(problem) }
            let body = try PayFleetJSON.encode(job)
            if dryRun {
                print(String(decoding: body, as: UTF8.self))
                return
            }
            try await publishJob(body, messageID: job.dedupKey, routingKey: RoutingKey.refundCreate)
            print("enqueued refund.create \(refundNo) (confirmed by the broker)")
        }
    }

    struct RefundQueryJob: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "refund.query",
            abstract: "Ask the refund's channel about it and settle it (recovers a missed refund notification).")

        @Option(name: .customLong("refund-no")) var refundNo: String

        func run() async throws {
            let job = QueryRefund(refundNo: refundNo)
            try await publishJob(try PayFleetJSON.encode(job), messageID: job.dedupKey, routingKey: RoutingKey.refundQuery)
            print("enqueued refund.query for refund \(refundNo) (confirmed by the broker)")
        }
    }
}

/// Publishes one job to payfleet.jobs with a publisher confirm.
private func publishJob(_ body: [UInt8], messageID: String, routingKey: String) async throws {
    let reader = try await ConfigReader.payfleet()
    let logger = commandLogger(reader)
    try await Dependencies.withBroker(reader: reader, logger: logger, connectionName: "payfleet-enqueue") {
        connection, settings in
        try await connection.publish(
            .payfleet(body: body, messageID: messageID, type: routingKey),
            exchange: Exchange.jobs, routingKey: routingKey, timeout: settings.publishTimeout)
    }
}
