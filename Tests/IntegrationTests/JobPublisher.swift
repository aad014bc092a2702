import AMQP
import Foundation
import Logging
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport

/// Publishes jobs straight to `payfleet.jobs`, pipelined with confirms, exactly as an upstream
/// order service would.
enum JobPublisher {
    static func publishCreatePayments(paymentNos: [String], sku: String, amount: Int64) async throws {
        let jobs = paymentNos.map { paymentNo in
            CreatePayment(
                orderNo: "ORD-\(paymentNo)", userID: "load", channel: .wechatpay, merchant: "demo",
                amountMinor: amount, currency: "CNY", items: [OrderItem(sku: sku, quantity: 1)],
                description: "load", paymentNo: paymentNo)
        }
        try await publish(jobs.map { (try PayFleetJSON.encode($0), $0.dedupKey, RoutingKey.paymentCreate) })
    }

    /// refund.create jobs.
    static func publish(_ jobs: [CreateRefund]) async throws {
        try await publish(jobs.map { (try PayFleetJSON.encode($0), $0.dedupKey, RoutingKey.refundCreate) })
    }

    /// Jobs (body, message id, routing key) to payfleet.jobs, pipelined with confirms.
    static func publish(_ jobs: [([UInt8], String, String)]) async throws {
        let configuration = try AMQPConfiguration(url: try TestServices.requireAMQPURL(), connectionName: "test-upstream")
        let connection = AMQPConnection(configuration: configuration, topology: .payfleet(), logger: Logger(label: "test-upstream"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            try await connection.waitUntilConnected(timeout: .seconds(10))
            try await withThrowingTaskGroup(of: Void.self) { publishes in
                for (body, messageID, routingKey) in jobs {
                    publishes.addTask {
                        try await connection.publish(
                            .payfleet(body: body, messageID: messageID, type: routingKey),
                            exchange: Exchange.jobs, routingKey: routingKey)
                    }
                }
                try await publishes.waitForAll()
            }
            group.cancelAll()
        }
    }
}
