import AMQP
import Foundation
import Logging
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PostgresNIO
import Testing

/// The broker is up but does not take the notification: it nacks the publish (the queue refuses it) or returns it
/// (no queue is bound). Either way the receiver has not handed the notification over, so every channel is answered
/// with its own failure reply, nothing is left on the queue, and the channel's retry after the fault is stored once.
/// They change the shared broker's policies and queues, so they run only one test at a time (scripts/test, CI).
@Suite(.serialized, .enabled(if: TestServices.integrationEnabled && TestServices.brokerRestartEnabled))
struct BrokerRefusalTests {
    /// Each channel's exact reply when its notification is not safe yet: HTTP 503 and the channel's failure body.
    static let failureBodies: [ChannelID: String] = [
        .wechatpay: #"{"code":"FAIL","message":"temporarily unavailable, retry later"}"#,
        .stripe: #"{"code":"FAIL","message":"temporarily unavailable, retry later"}"#,
        .wechatpayV2:
            "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[temporarily unavailable, retry later]]></return_msg></xml>",
        .alipay: "fail",
        .baidu: #"{"errno":1,"msg":"temporarily unavailable, retry later","data":{}}"#,
    ]

    @Test func aNackedPublishIsAFailureReplyOnEveryChannelAndTheRetryIsStoredOnce() async throws {
        try await Self.refused(
            by: "a reject-publish policy of max-length 0 on the fulfilment queue (basic.nack)", logged: "nacked",
            fault: Self.refuseAtTheQueue, repair: Self.acceptAtTheQueue)
    }

    @Test func anUnroutablePublishIsAFailureReplyOnEveryChannelAndTheRetryIsStoredOnce() async throws {
        try await Self.refused(
            by: "the fulfilment queue deleted, so payment.# is bound nowhere (basic.return)", logged: "unroutable",
            fault: Self.deleteTheQueue, repair: Self.migrate)
    }

    static func refuseAtTheQueue(_ probe: Probe) async throws {
        let policy = #"{"max-length":0,"overflow":"reject-publish"}"#
        try Services.run(
            "rabbitmqctl", "set_policy", "-p", try vhost(), "--apply-to", "queues", "--priority", "900",
            "payfleet-test-refuse", "^" + QueueName.fulfilment + "$", policy)
        // A policy applies asynchronously, and a quorum queue takes the message that reaches the limit: filler
        // messages until one is nacked, the positive signal that the queue refuses.
        try await probe.publishFillers(untilAccepted: false)
    }

    static func acceptAtTheQueue(_ fleet: TestFleet, _ probe: Probe) async throws {
        try Services.run("rabbitmqctl", "clear_policy", "-p", try vhost(), "payfleet-test-refuse")
        // A quorum queue that entered its reject-publish state stays there after the policy is cleared, even emptied
        // (RabbitMQ 3.x, seen here): the test's queue is deleted and declared afresh, as `payfleet migrate` does.
        try Services.run("rabbitmqctl", "delete_queue", "-p", try vhost(), QueueName.fulfilment)
        try await fleet.runCLI(["migrate"])
        try await probe.publishFillers(untilAccepted: true)
        _ = try await probe.connection.purgeQueue(QueueName.fulfilment)
    }

    static func deleteTheQueue(_ probe: Probe) async throws {
        try Services.run("rabbitmqctl", "delete_queue", "-p", try vhost(), QueueName.fulfilment)
    }

    /// What an operator does: declare the topology again.
    static func migrate(_ fleet: TestFleet, _ probe: Probe) async throws {
        try await fleet.runCLI(["migrate"])
    }

    /// Posts one notification per channel while `fault` holds, then again after `repair`.
    static func refused(
        by what: String, logged: String, fault: (Probe) async throws -> Void,
        repair: (TestFleet, Probe) async throws -> Void
    ) async throws {
        try await TestFleet.with([.receiver]) { fleet in
            let probe = try await Probe.open()
            do {
                _ = try await probe.connection.purgeQueue(QueueName.fulfilment)
                let run = "RF" + Fixture.unique().prefix(8)
                let notifications = try ChannelID.allCases.map { channel in
                    (
                        channel,
                        try fleet.notifier.paymentSucceeded(
                            channel: channel, merchant: "demo", payment: .init(paymentNo: run + channel.rawValue.filter { $0.isLetter }, amountMinor: 990))
                    )
                }
                try await fault(probe)
                var faultHolds = true
                do {
                    for (channel, notification) in notifications {
                        let reply = try await fleet.notifier.post(notification)
                        #expect(reply.status == 503, "\(channel) under \(what): HTTP \(reply.status)")
                        #expect(reply.body == failureBodies[channel], "\(channel) under \(what): \(reply.body)")
                    }
                    try await repair(fleet, probe)
                    faultHolds = false
                } catch {
                    if faultHolds { try? await repair(fleet, probe) }
                    throw error
                }
                // Nothing was stored while the broker refused: the queue the retries land in holds only them.
                #expect(try await probe.connection.queueInfo(QueueName.fulfilment).messageCount == 0)
                let rejected = fleet.process(.receiver)?.output.split(separator: "\n").filter {
                    $0.contains("broker did not confirm the notification") && $0.contains(logged)
                }
                #expect(rejected?.count == notifications.count, "receiver log lines naming \(logged): \(rejected ?? [])")

                // The channels retry the very same notifications: each is confirmed and stored once.
                for (channel, notification) in notifications {
                    let reply = try await fleet.notifier.post(notification)
                    #expect((200..<300).contains(reply.status), "\(channel) retried: HTTP \(reply.status) \(reply.body)")
                }
                let stored = try await probe.drain(QueueName.fulfilment)
                #expect(stored.count == notifications.count, "on the queue after the retries: \(stored)")
                #expect(Set(stored).count == stored.count, "a notification stored twice: \(stored)")
                await probe.close()
            } catch {
                await probe.close()
                throw error
            }
        }
    }

    static func vhost() throws -> String {
        let url = try TestServices.requireAMQPURL()
        guard let components = URLComponents(string: url), components.path.count > 1 else { return "/" }
        return String(components.path.dropFirst()).removingPercentEncoding ?? "/"
    }

    /// The test's own broker connection, declaring nothing (so a deleted queue stays deleted until `migrate`).
    struct Probe {
        let connection: AMQPConnection
        let runner: Task<Void, any Error>

        static func open() async throws -> Probe {
            let configuration = try AMQPConfiguration(url: try TestServices.requireAMQPURL(), connectionName: "refusal-probe")
            var logger = Logger(label: "refusal-probe")
            logger.logLevel = .error
            let connection = AMQPConnection(configuration: configuration, topology: AMQPTopology(), logger: logger)
            let runner = Task { try await connection.run() }
            try await connection.waitUntilConnected(timeout: .seconds(20))
            return Probe(connection: connection, runner: runner)
        }

        /// Publishes filler messages routed to the fulfilment queue until the broker confirms one (`accepted`) or
        /// refuses one (not `accepted`); 20 s at most.
        func publishFillers(untilAccepted accepted: Bool) async throws {
            for attempt in 0..<100 {
                let message = AMQPOutboundMessage.payfleet(body: Array("{}".utf8), messageID: "filler-\(attempt)", type: "payment.filler")
                var taken = true
                do {
                    try await connection.publish(message, exchange: Exchange.notify, routingKey: "payment.filler")
                } catch {
                    guard error.code == AMQPError.Code.nacked else { throw error }
                    taken = false
                }
                if taken == accepted { return }
                try await Task.sleep(for: .milliseconds(200))
            }
            let wanted = accepted ? "accepted" : "refused"
            throw TestServicesError("the broker never " + wanted + " a filler message")
        }

        /// Every message waiting in `queue`, consumed: their message ids.
        func drain(_ queue: String) async throws -> [String] {
            let waiting = Int(try await connection.queueInfo(queue).messageCount)
            guard waiting > 0 else { return [] }
            var ids: [String] = []
            let consumer = try await connection.consume(queue: queue, prefetch: 100)
            for try await delivery in consumer {
                ids.append(delivery.messageID ?? "?")
                try await delivery.ack()
                if ids.count == waiting { break }
            }
            await consumer.cancel()
            return ids
        }

        func close() async {
            runner.cancel()
            _ = try? await runner.value
        }
    }
}
