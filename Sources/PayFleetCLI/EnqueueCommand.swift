import AMQP
import ArgumentParser
import Configuration
import Foundation
import PayFleetMessages
import PayFleetRuntime

struct EnqueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue", abstract: "Publish a job exactly as an upstream service would.",
        subcommands: [PaymentCreate.self])

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
            return CreatePayment(
                orderNo: orderNo, userID: userID, channel: channel, merchant: merchant, amountMinor: amount,
                currency: currency.uppercased(), items: parsed, description: description,
                expiresAt: Date().addingTimeInterval(TimeInterval(expiresIn)), paymentNo: paymentNo)
        }

        func run() async throws {
            let job = try job()
            let body = try PayFleetJSON.encode(job)
            if dryRun {
                print(String(decoding: body, as: UTF8.self))
                return
            }
            let reader = try await ConfigReader.payfleet()
            let logger = commandLogger(reader)
            try await Dependencies.withBroker(reader: reader, logger: logger, connectionName: "payfleet-enqueue") {
                connection, settings in
                try await connection.publish(
                    .payfleet(body: body, messageID: job.dedupKey, type: RoutingKey.paymentCreate),
                    exchange: Exchange.jobs, routingKey: RoutingKey.paymentCreate, timeout: settings.publishTimeout)
            }
            print("enqueued payment.create for order \(job.orderNo) (confirmed by the broker)")
        }
    }
}
