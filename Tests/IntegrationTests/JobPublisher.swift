import AMQP
import Foundation
import Logging
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport

/// Publishes payment.create jobs straight to `payfleet.jobs`, pipelined with confirms,
/// exactly as an upstream order service would.
enum JobPublisher {
    static func publishCreatePayments(paymentNos: [String], sku: String, amount: Int64) async throws {
        let configuration = try AMQPConfiguration(url: try TestServices.requireAMQPURL(), connectionName: "test-upstream")
        let connection = AMQPConnection(configuration: configuration, topology: .payfleet(), logger: Logger(label: "test-upstream"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            try await connection.waitUntilConnected(timeout: .seconds(10))
            try await withThrowingTaskGroup(of: Void.self) { publishes in
                for paymentNo in paymentNos {
                    let job = CreatePayment(
                        orderNo: "ORD-\(paymentNo)", userID: "load", channel: .wechatpay, merchant: "demo",
                        amountMinor: amount, currency: "CNY", items: [OrderItem(sku: sku, quantity: 1)],
                        description: "load", paymentNo: paymentNo)
                    let body = try PayFleetJSON.encode(job)
                    publishes.addTask {
                        try await connection.publish(
                            .payfleet(body: body, messageID: job.dedupKey, type: RoutingKey.paymentCreate),
                            exchange: Exchange.jobs, routingKey: RoutingKey.paymentCreate)
                    }
                }
                try await publishes.waitForAll()
            }
            group.cancelAll()
        }
    }
}
