import AMQP
import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import Synchronization

/// A throwaway queue bound to `payfleet.events`, recording every delivery: what a test counts to see a double
/// (two deliveries of one message id), not PayFleet's own rows.
enum SpyQueue {
    struct Delivery: Sendable {
        var messageID: String?
        var body: String
    }

    /// Runs `body` while a spy queue bound for `routingKeys` records; `received()` is every delivery so far,
    /// duplicates included. The queue is deleted afterwards.
    static func with(
        _ routingKeys: [String], _ body: (_ received: @escaping @Sendable () -> [Delivery]) async throws -> Void
    ) async throws {
        let configuration = try AMQPConfiguration(url: try TestServices.requireAMQPURL(), connectionName: "test-spy")
        let connection = AMQPConnection(configuration: configuration, topology: .payfleet())
        let spy = "test-spy-\(Fixture.unique())"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await connection.run() }
            defer { group.cancelAll() }
            try await connection.waitUntilConnected(timeout: .seconds(10))
            try await connection.declare(
                AMQPTopology(
                    queues: [.init(name: spy, quorum: false, durable: false)],
                    bindings: routingKeys.map { .init(queue: spy, exchange: Exchange.events, routingKey: $0) }))
            let received = Mutex<[Delivery]>([])
            let consumer = try await connection.consume(queue: spy, prefetch: 50)
            group.addTask {
                for try await delivery in consumer {
                    let recorded = Delivery(messageID: delivery.messageID, body: String(decoding: delivery.body, as: UTF8.self))
                    received.withLock { $0.append(recorded) }
                    try await delivery.ack()
                }
            }
            try await body { received.withLock { $0 } }
            await consumer.cancel()
            try await connection.deleteQueue(spy)
        }
    }
}
