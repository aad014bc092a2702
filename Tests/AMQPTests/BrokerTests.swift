import AMQP
import Foundation
import Synchronization
import Testing

/// Tests against the real RabbitMQ of `scripts/services` (see ``IntegrationEnvironment``).
/// Every test uses its own uniquely named exchanges and queues and deletes them afterwards.
@Suite(
    "RabbitMQ integration",
    .enabled(if: IntegrationEnvironment.brokerTestsEnabled, IntegrationEnvironment.skipReason),
    .timeLimit(.minutes(2)))
struct BrokerTests {
    @Test func topologyIsIdempotentAndQueuesAreQuorumWithDeliveryLimitAndDeadLettering() async throws {
        let (topology, names) = AMQPTopology.testTopology("topology", deliveryLimit: 1)
        try await withConnection(try IntegrationEnvironment.configuration()) { connection in
            try await connection.declare(topology)
            try await connection.declare(topology)  // idempotent

            // A quorum queue with other arguments cannot be re-declared as a classic one: 406.
            var classic = topology
            classic.queues[0].quorum = false
            classic.queues[0].deliveryLimit = nil
            let conflict = await #expect(throws: AMQPError.self) { try await connection.declare(classic) }
            #expect(conflict?.code == .protocolError)
            #expect(conflict?.replyCode == 406)

            // The declaration channel failed, publishing and consuming still work.
            try await connection.publish(message("once"), exchange: names.exchange, routingKey: "test.once")
            try await connection.publish(message("rejected"), exchange: names.exchange, routingKey: "test.rejected")
            let consumer = try await connection.consume(queue: names.queue, prefetch: 10)
            var seen: [String: Int] = [:]
            // "once": nacked with requeue twice; the delivery limit of 1 dead-letters it on the second.
            // "rejected": nacked without requeue, dead-lettered at once.
            while seen["once", default: 0] < 2 || seen["rejected", default: 0] < 1 {
                let delivery = try #require(await nextDelivery(consumer))
                let id = try #require(delivery.messageID)
                seen[id, default: 0] += 1
                try await delivery.nack(requeue: id == "once")
            }
            await consumer.cancel()

            let dead = try await connection.consume(queue: names.deadQueue, prefetch: 10)
            var deadIDs: Set<String> = []
            while deadIDs.count < 2, let delivery = try await nextDelivery(dead) {
                deadIDs.insert(delivery.messageID ?? "")
                try await delivery.ack()
            }
            #expect(deadIDs == ["once", "rejected"])
            #expect(try await connection.queueInfo(names.queue).messageCount == 0)
            await dead.cancel()

            await connection.deleteTestTopology(names)
        }
    }

    @Test func concurrentPublishesAreConfirmedAndConsumedExactlyOnce() async throws {
        let (topology, names) = AMQPTopology.testTopology("roundtrip")
        let count = 2000
        try await withConnection(try IntegrationEnvironment.configuration(), topology: topology) { connection in
            let sentAt = Date(timeIntervalSince1970: 1_700_000_000)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let outbound = AMQPOutboundMessage(
                            body: Array("{\"n\":\(index)}".utf8), messageID: "m-\(index)", type: "test.roundtrip",
                            timestamp: sentAt,
                            headers: ["x-payfleet-attempt": .int(1), "x-payfleet-schema": "1", "x-flag": true])
                        try await connection.publish(
                            outbound, exchange: names.exchange, routingKey: "test.roundtrip.\(index % 7)")
                    }
                }
                try await group.waitForAll()
            }

            let consumer = try await connection.consume(queue: names.queue, prefetch: 200)
            var seen = Set<String>()
            var duplicates = 0
            for try await delivery in consumer {
                let id = try #require(delivery.messageID)
                if !seen.insert(id).inserted { duplicates += 1 }
                let index = try #require(Int(id.dropFirst(2)))
                #expect(delivery.body == Array("{\"n\":\(index)}".utf8))
                #expect(delivery.type == "test.roundtrip")
                #expect(delivery.contentType == "application/json")
                #expect(delivery.routingKey == "test.roundtrip.\(index % 7)")
                #expect(delivery.exchange == names.exchange)
                #expect(delivery.timestamp == sentAt)
                #expect(delivery.headers["x-payfleet-attempt"] == .int(1))
                #expect(delivery.headers["x-payfleet-schema"] == .string("1"))
                #expect(delivery.headers["x-flag"] == .bool(true))
                #expect(!delivery.redelivered)
                try await delivery.ack()
                if seen.count == count { break }
            }
            #expect(seen.count == count)
            #expect(duplicates == 0)
            await consumer.cancel()
            #expect(try await connection.queueInfo(names.queue).messageCount == 0)
            await connection.deleteTestTopology(names)
        }
    }

    @Test func bodiesOfEverySizeArriveIntactAndAnUnencodablePublishFailsAlone() async throws {
        let (topology, names) = AMQPTopology.testTopology("sizes")
        // Empty, one byte, exactly one body frame (frame_max 131,072 less 8 bytes of framing), one byte over, 3 frames.
        let sizes = [0, 1, 131_064, 131_065, 300_000]
        try await withConnection(try IntegrationEnvironment.configuration(), topology: topology) { connection in
            let tooLong = "test." + String(repeating: "k", count: 251)  // 256 bytes: over a short string's 255
            let refused = await #expect(throws: AMQPError.self) {
                try await connection.publish(message("too-long"), exchange: names.exchange, routingKey: tooLong)
            }
            #expect(refused?.code == .protocolError)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for size in sizes {
                    group.addTask {
                        let body = (0..<size).map { UInt8(truncatingIfNeeded: $0 % 251) }
                        let outbound = AMQPOutboundMessage(
                            body: body, messageID: "size-\(size)", type: "test.sizes", timestamp: Date(),
                            headers: ["x-size": .int(Int64(size))])
                        try await connection.publish(outbound, exchange: names.exchange, routingKey: "test.sizes")
                    }
                }
                try await group.waitForAll()
            }
            let consumer = try await connection.consume(queue: names.queue, prefetch: 10)
            var seen: [Int] = []
            while seen.count < sizes.count, let delivery = try await nextDelivery(consumer) {
                let id = try #require(delivery.messageID)
                let size = try #require(Int(id.dropFirst(5)))
                #expect(delivery.body == (0..<size).map { UInt8(truncatingIfNeeded: $0 % 251) })
                #expect(delivery.headers["x-size"] == .int(Int64(size)))
                seen.append(size)
                try await delivery.ack()
            }
            #expect(seen.sorted() == sizes)
            await consumer.cancel()
            #expect(try await connection.queueInfo(names.queue).messageCount == 0)
            await connection.deleteTestTopology(names)
        }
    }

    @Test func unroutableAndMissingExchangePublishesFailClearly() async throws {
        let (topology, names) = AMQPTopology.testTopology("unroutable")
        try await withConnection(try IntegrationEnvironment.configuration(), topology: topology) { connection in
            let unroutable = await #expect(throws: AMQPError.self) {
                try await connection.publish(message("nowhere"), exchange: names.exchange, routingKey: "no.binding")
            }
            #expect(unroutable?.code == .unroutable)
            #expect(unroutable?.replyCode == 312)

            let missing = await #expect(throws: AMQPError.self) {
                try await connection.publish(
                    message("missing"), exchange: IntegrationEnvironment.uniqueName("missing"), routingKey: "x")
            }
            #expect(missing?.code == .protocolError)
            #expect(missing?.replyCode == 404)

            // Neither broke the publishing channel.
            try await connection.publish(message("fine"), exchange: names.exchange, routingKey: "test.fine")
            #expect(try await connection.queueInfo(names.queue).messageCount == 1)
            await connection.deleteTestTopology(names)
        }
    }

    @Test func nackWithRequeueRedelivers() async throws {
        let (topology, names) = AMQPTopology.testTopology("redeliver")
        try await withConnection(try IntegrationEnvironment.configuration(), topology: topology) { connection in
            try await connection.publish(message("again"), exchange: names.exchange, routingKey: "test.again")
            let consumer = try await connection.consume(queue: names.queue, prefetch: 1)
            let first = try #require(await nextDelivery(consumer))
            #expect(!first.redelivered)
            try await first.nack(requeue: true)
            let second = try #require(await nextDelivery(consumer))
            #expect(second.messageID == "again")
            #expect(second.redelivered)
            #expect(second.headers["x-delivery-count"] == .int(1))
            try await second.ack()

            // Settling twice is refused locally instead of letting the broker close the channel.
            let twice = await #expect(throws: AMQPError.self) { try await second.ack() }
            #expect(twice?.code == .protocolError)
            await consumer.cancel()
            await connection.deleteTestTopology(names)
        }
    }

    @Test func prefetchBoundsUnacknowledgedDeliveries() async throws {
        let (topology, names) = AMQPTopology.testTopology("prefetch")
        try await withConnection(try IntegrationEnvironment.configuration(), topology: topology) { connection in
            for index in 0..<20 {
                try await connection.publish(message("p\(index)"), exchange: names.exchange, routingKey: "test.p")
            }
            let consumer = try await connection.consume(queue: names.queue, prefetch: 5)
            var held: [AMQPDelivery] = []
            for _ in 0..<5 {
                held.append(try #require(await nextDelivery(consumer)))
            }
            #expect(try await nextDelivery(consumer, timeout: .milliseconds(500)) == nil)
            #expect(try await connection.queueInfo(names.queue).messageCount == 15)

            // Acking one opens the window by one.
            try await held.removeFirst().ack()
            held.append(try #require(await nextDelivery(consumer)))
            #expect(try await nextDelivery(consumer, timeout: .milliseconds(300)) == nil)
            #expect(try await connection.queueInfo(names.queue).messageCount == 14)
            for delivery in held { try await delivery.ack() }
            await consumer.cancel()
            await connection.deleteTestTopology(names)
        }
    }

    @Test func cancelStopsDeliveriesAndKeepsInFlightOnesAckable() async throws {
        let (topology, names) = AMQPTopology.testTopology("cancel")
        try await withConnection(try IntegrationEnvironment.configuration(), topology: topology) { connection in
            try await connection.publish(message("before"), exchange: names.exchange, routingKey: "test.c")
            let consumer = try await connection.consume(queue: names.queue, prefetch: 10)
            let inFlight = try #require(await nextDelivery(consumer))
            #expect((try await connection.queueInfo(names.queue)).consumerCount == 1)

            await consumer.cancel()
            for index in 0..<3 {
                try await connection.publish(message("after\(index)"), exchange: names.exchange, routingKey: "test.c")
            }
            // Iteration ends instead of delivering the new messages.
            var iterator = consumer.makeAsyncIterator()
            #expect(try await iterator.next() == nil)
            #expect(try await connection.queueInfo(names.queue).messageCount == 3)
            try await inFlight.ack()
            // A quorum queue counts a cancelled consumer until its deliveries are settled.
            var consumers = try await connection.queueInfo(names.queue).consumerCount
            for _ in 0..<40 where consumers != 0 {
                try await Task.sleep(for: .milliseconds(50))
                consumers = try await connection.queueInfo(names.queue).consumerCount
            }
            #expect(consumers == 0)
            await connection.deleteTestTopology(names)
        }
    }

    @Test func shutdownEndsConsumersAndRefusesWork() async throws {
        let (topology, names) = AMQPTopology.testTopology("shutdown")
        let configuration = try IntegrationEnvironment.configuration()
        let connection = AMQPConnection(configuration: configuration, topology: topology)
        let runTask = Task { try await connection.run() }
        try await connection.waitUntilConnected(timeout: .seconds(15))
        try await connection.publish(message("s1"), exchange: names.exchange, routingKey: "test.s")
        let consumer = try await connection.consume(queue: names.queue, prefetch: 10)
        let delivery = try #require(await nextDelivery(consumer))
        try await delivery.ack()

        runTask.cancel()
        try await runTask.value
        #expect(!connection.isConnected)
        var iterator = consumer.makeAsyncIterator()
        #expect(try await iterator.next() == nil)
        let closed = await #expect(throws: AMQPError.self) {
            try await connection.publish(message("late"), exchange: names.exchange, routingKey: "test.s")
        }
        #expect(closed?.code == .closed)
        try await withConnection(configuration) { await $0.deleteTestTopology(names) }
    }

    @Test func shutdownResolvesEveryPublishInFlight() async throws {
        let (topology, names) = AMQPTopology.testTopology("drain")
        let configuration = try IntegrationEnvironment.configuration()
        let connection = AMQPConnection(configuration: configuration, topology: topology)
        let runTask = Task { try await connection.run() }
        try await connection.waitUntilConnected(timeout: .seconds(15))
        let outcomes = await withTaskGroup(of: AMQPError.Code?.self) { group in
            for index in 0..<1000 {
                group.addTask {
                    do throws(AMQPError) {
                        try await connection.publish(message("d\(index)"), exchange: names.exchange, routingKey: "test.d")
                        return nil
                    } catch {
                        return error.code
                    }
                }
                if index == 500 { runTask.cancel() }
            }
            var outcomes: [AMQPError.Code?] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        try await runTask.value
        #expect(outcomes.count == 1000)
        let failures = Set(outcomes.compactMap { $0 })
        #expect(failures.isSubset(of: Set<AMQPError.Code>([.closed])), "unexpected failures: \(failures)")
        let confirmed = outcomes.filter { $0 == nil }.count
        try await withConnection(configuration) { connection in
            // Every confirmed message is in the queue (more may be: unconfirmed is not the same as lost).
            let stored = try await connection.queueInfo(names.queue).messageCount
            #expect(stored >= UInt32(confirmed))
            await connection.deleteTestTopology(names)
        }
    }

    @Test func deletingTheQueueEndsTheConsumerWithAnError() async throws {
        // The broker cancels the consumer of a deleted queue (consumer_cancel_notify): iteration throws.
        let (topology, names) = AMQPTopology.testTopology("deleted")
        try await withConnection(try IntegrationEnvironment.configuration(), topology: topology) { connection in
            try await connection.publish(message("d1"), exchange: names.exchange, routingKey: "test.d")
            let consumer = try await connection.consume(queue: names.queue, prefetch: 10)
            let inFlight = try #require(await nextDelivery(consumer))
            try await connection.deleteQueue(names.queue)
            let ended = await #expect(throws: AMQPError.self) {
                var iterator = consumer.makeAsyncIterator()
                _ = try await iterator.next()
            }
            #expect(ended?.code == .closed)
            try await inFlight.ack()
            // The connection carries on.
            try await connection.publish(message("d2"), exchange: names.deadExchange, routingKey: "")
            await connection.deleteTestTopology(names)
        }
    }
}

@Suite("AMQP without a broker")
struct NoBrokerTests {
    @Test func publishWithoutBrokerFailsFastWithNotConnected() async throws {
        // Port 1 on loopback: nothing listens, connections are refused at once.
        var configuration = try AMQPConfiguration(url: "amqp://u:secretpw@127.0.0.1:1/%2F", connectionName: "down")
        configuration.reconnectMaxBackoff = .milliseconds(200)
        let connection = AMQPConnection(configuration: configuration)

        // Before run() too.
        let early = await #expect(throws: AMQPError.self) {
            try await connection.publish(message("m"), exchange: "x", routingKey: "k")
        }
        #expect(early?.code == .notConnected)

        let runTask = Task { try await connection.run() }
        try await Task.sleep(for: .milliseconds(300))
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: AMQPError.self) {
            try await connection.publish(message("m"), exchange: "x", routingKey: "k")
        }
        #expect(clock.now - start < .milliseconds(100))
        #expect(error?.code == .notConnected)
        #expect(error?.description.contains("secretpw") == false)
        #expect(error?.debugDescription.contains("secretpw") == false)
        #expect(!connection.isConnected)

        let wait = await #expect(throws: AMQPError.self) {
            try await connection.waitUntilConnected(timeout: .milliseconds(300))
        }
        #expect(wait?.code == .timeout)

        // A consumer can be registered while down; shutdown ends it.
        let consumer = try await connection.consume(queue: "q", prefetch: 1)
        runTask.cancel()
        try await runTask.value
        var iterator = consumer.makeAsyncIterator()
        #expect(try await iterator.next() == nil)
        let closed = await #expect(throws: AMQPError.self) {
            try await connection.publish(message("m"), exchange: "x", routingKey: "k")
        }
        #expect(closed?.code == .closed)
    }
}
