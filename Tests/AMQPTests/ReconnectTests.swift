import AMQP
import Foundation
import Testing

@Suite(
    "AMQP reconnect",
    .enabled(if: IntegrationEnvironment.brokerTestsEnabled, IntegrationEnvironment.skipReason),
    .timeLimit(.minutes(3)))
struct ReconnectTests {
    /// Cuts the connection through a proxy (the shared broker keeps running): in-flight work fails
    /// clearly, publishing fails fast while down, and after the way is open again the connection,
    /// the topology and the consumer come back by themselves.
    @Test func reconnectsThroughACutConnection() async throws {
        var configuration = try IntegrationEnvironment.configuration()
        let proxy = TCPProxy(targetPort: UInt16(configuration.port))
        try proxy.start()
        defer { proxy.stop() }
        configuration.host = "127.0.0.1"
        configuration.port = Int(proxy.port)
        configuration.reconnectInitialBackoff = .milliseconds(50)
        configuration.reconnectMaxBackoff = .milliseconds(300)

        let (topology, names) = AMQPTopology.testTopology("reconnect")
        try await withConnection(configuration, topology: topology) { connection in
            try await connection.publish(message("r1"), exchange: names.exchange, routingKey: "test.r")
            let consumer = try await connection.consume(queue: names.queue, prefetch: 10)
            let beforeCut = try #require(await nextDelivery(consumer))
            #expect(beforeCut.messageID == "r1")

            proxy.stop()
            // The loss is noticed at the next read.
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(5)
            while connection.isConnected && clock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(!connection.isConnected)
            let down = await #expect(throws: AMQPError.self) {
                try await connection.publish(message("r2"), exchange: names.exchange, routingKey: "test.r")
            }
            #expect(down?.code == .notConnected)
            // The unacked delivery came on the dead connection: the broker requeues it.
            let stale = await #expect(throws: AMQPError.self) { try await beforeCut.ack() }
            #expect(stale?.code == .staleDelivery)

            try proxy.start()
            try await connection.waitUntilConnected(timeout: .seconds(10))
            try await connection.publish(message("r3"), exchange: names.exchange, routingKey: "test.r")
            // The consumer subscribed again by itself: r1 comes back redelivered, then r3.
            var seen: [String: Bool] = [:]
            while seen.count < 2 {
                let delivery = try #require(await nextDelivery(consumer, timeout: .seconds(10)))
                seen[delivery.messageID ?? ""] = delivery.redelivered
                try await delivery.ack()
            }
            #expect(seen == ["r1": true, "r3": false])
            await consumer.cancel()
            await connection.deleteTestTopology(names)
        }
    }

    /// A broker that goes silent (no FIN, no RST) is detected by missed heartbeats; a publish without
    /// confirm times out, one in flight when the connection is declared dead fails with connectionLost.
    @Test func detectsASilentBrokerByMissedHeartbeats() async throws {
        var configuration = try IntegrationEnvironment.configuration()
        let proxy = TCPProxy(targetPort: UInt16(configuration.port))
        try proxy.start()
        defer { proxy.stop() }
        configuration.host = "127.0.0.1"
        configuration.port = Int(proxy.port)
        configuration.heartbeat = .seconds(1)
        configuration.connectTimeout = .seconds(1)
        configuration.reconnectMaxBackoff = .milliseconds(200)

        try await withConnection(configuration) { connection in
            proxy.pause()
            let timedOut = await #expect(throws: AMQPError.self) {
                try await connection.publish(
                    message("t"), exchange: "", routingKey: "nowhere", timeout: .milliseconds(300))
            }
            #expect(timedOut?.code == .timeout)
            let inFlight = Task {
                try await connection.publish(message("l"), exchange: "", routingKey: "nowhere", timeout: .seconds(30))
            }
            let clock = ContinuousClock()
            let start = clock.now
            while connection.isConnected && clock.now - start < .seconds(10) {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(!connection.isConnected)
            #expect(clock.now - start < .seconds(5))
            let lost = await #expect(throws: AMQPError.self) { try await inFlight.value }
            #expect(lost?.code == .connectionLost)
            proxy.resume()
            try await connection.waitUntilConnected(timeout: .seconds(10))
            let queue = IntegrationEnvironment.uniqueName("heartbeat")
            try await connection.declare(AMQPTopology(queues: [.init(name: queue)]))
            try await connection.deleteQueue(queue)
        }
    }

    /// Stops and starts the real broker with `scripts/services`. It takes ~10 s and breaks every other
    /// test that uses the broker meanwhile, so it runs when the tests run one at a time: under
    /// `scripts/test` (which sets PAYFLEET_TEST_BROKER_RESTART=1 and `--no-parallel`) and always in CI.
    @Test(.enabled(if: IntegrationEnvironment.brokerRestartEnabled, "set PAYFLEET_TEST_BROKER_RESTART=1 (and run with --no-parallel)"))
    func reconnectsAfterTheBrokerRestarts() async throws {
        var configuration = try IntegrationEnvironment.configuration()
        configuration.reconnectMaxBackoff = .seconds(1)
        let (topology, names) = AMQPTopology.testTopology("restart")
        try await withConnection(configuration, topology: topology) { connection in
            let consumer = try await connection.consume(queue: names.queue, prefetch: 10)
            try await connection.publish(message("before"), exchange: names.exchange, routingKey: "test.r")
            let before = try #require(await nextDelivery(consumer))
            try await before.ack()

            try runServices("stop", "rabbitmq")
            let down = await #expect(throws: AMQPError.self) {
                try await connection.publish(message("down"), exchange: names.exchange, routingKey: "test.r")
            }
            #expect(down?.code == .notConnected)
            #expect(down?.description.contains("not connected") == true)

            try runServices("start", "rabbitmq")
            try await connection.waitUntilConnected(timeout: .seconds(30))
            try await connection.publish(message("after"), exchange: names.exchange, routingKey: "test.r")
            let after = try #require(await nextDelivery(consumer, timeout: .seconds(10)))
            #expect(after.messageID == "after")
            try await after.ack()
            await consumer.cancel()
            await connection.deleteTestTopology(names)
        }
    }

    private func runServices(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = IntegrationEnvironment.servicesScript
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "scripts/services \(arguments.joined(separator: " ")) failed")
    }
}
