import AMQP
import Foundation
import Testing

/// Where the integration tests find RabbitMQ, and the skip-or-fail policy of CONVENTIONS.md:
/// without a broker URL the tests are skipped on a developer's machine and fail in CI (`CI=true`).
enum IntegrationEnvironment {
    /// `PAYFLEET_TEST_AMQP_URL` (the test vhost of `scripts/services`) if set, else `PAYFLEET_AMQP_URL`.
    static var amqpURL: String? {
        let environment = ProcessInfo.processInfo.environment
        for key in ["PAYFLEET_TEST_AMQP_URL", "PAYFLEET_AMQP_URL"] {
            if let value = environment[key], !value.isEmpty { return value }
        }
        return nil
    }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"]?.lowercased() == "true" }  // as TestServices.isCI

    /// Runs a broker test when a URL is set, and always in CI (where a missing broker must fail).
    static var brokerTestsEnabled: Bool { amqpURL != nil || isCI }

    /// Tests that stop and start the shared broker run only when nothing else runs beside them.
    static var brokerRestartEnabled: Bool {
        isCI || ProcessInfo.processInfo.environment["PAYFLEET_TEST_BROKER_RESTART"] == "1"
    }

    static let skipReason: Comment =
        "PAYFLEET_AMQP_URL is not set; run `eval \"$(scripts/services start rabbitmq)\"` to run the RabbitMQ tests"

    struct MissingBroker: Error, CustomStringConvertible {
        var description: String {
            "PAYFLEET_AMQP_URL is not set (CI=true, so this is a failure, not a skip); run "
                + "`eval \"$(scripts/services start rabbitmq)\"` before the tests"
        }
    }

    static func configuration(name: String = #function) throws -> AMQPConfiguration {
        guard let url = amqpURL else { throw MissingBroker() }
        var configuration = try AMQPConfiguration(url: url, connectionName: "amqp-tests \(name)")
        configuration.reconnectMaxBackoff = .milliseconds(500)
        configuration.shutdownDrainTimeout = .seconds(2)
        return configuration
    }

    /// `scripts/services`, found from this file's location in the repository.
    static var servicesScript: URL {
        if let path = ProcessInfo.processInfo.environment["PAYFLEET_SERVICES_SCRIPT"] {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/services")
    }

    /// A name no other test run uses.
    static func uniqueName(_ base: String) -> String {
        "amqp-test.\(base).\(UUID().uuidString.prefix(8).lowercased())"
    }
}

/// Runs `body` with a connected ``AMQPConnection`` whose `run()` goes on in a task, then shuts it down.
func withConnection<T>(
    _ configuration: AMQPConfiguration,
    topology: AMQPTopology = .init(),
    _ body: (AMQPConnection) async throws -> T
) async throws -> T {
    let connection = AMQPConnection(configuration: configuration, topology: topology)
    let runTask = Task { try await connection.run() }
    do {
        try await connection.waitUntilConnected(timeout: .seconds(15))
        let result = try await body(connection)
        runTask.cancel()
        try await runTask.value
        return result
    } catch {
        runTask.cancel()
        try? await runTask.value
        throw error
    }
}

/// The next delivery, or `nil` if none arrives within `timeout`.
func nextDelivery(_ consumer: AMQPConsumer, timeout: Duration = .seconds(5)) async throws -> AMQPDelivery? {
    try await withThrowingTaskGroup(of: AMQPDelivery?.self) { group in
        group.addTask {
            var iterator = consumer.makeAsyncIterator()
            return try await iterator.next()
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        let first = try await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

extension AMQPTopology {
    /// A work queue bound to a topic exchange, with a dead-letter fanout and its queue, all uniquely named.
    static func testTopology(_ base: String, deliveryLimit: Int? = 20) -> (AMQPTopology, Names) {
        let names = Names(
            exchange: IntegrationEnvironment.uniqueName("\(base).x"),
            queue: IntegrationEnvironment.uniqueName("\(base).q"),
            deadExchange: IntegrationEnvironment.uniqueName("\(base).dlx"),
            deadQueue: IntegrationEnvironment.uniqueName("\(base).dlq"))
        let topology = AMQPTopology(
            exchanges: [
                .init(name: names.exchange, kind: .topic),
                .init(name: names.deadExchange, kind: .fanout),
            ],
            queues: [
                .init(name: names.queue, quorum: true, deliveryLimit: deliveryLimit, deadLetterExchange: names.deadExchange),
                .init(name: names.deadQueue, quorum: true),
            ],
            bindings: [
                .init(queue: names.queue, exchange: names.exchange, routingKey: "test.#"),
                .init(queue: names.deadQueue, exchange: names.deadExchange, routingKey: ""),
            ])
        return (topology, names)
    }

    struct Names {
        var exchange: String
        var queue: String
        var deadExchange: String
        var deadQueue: String
    }
}

extension AMQPConnection {
    /// Deletes what `testTopology` declared.
    func deleteTestTopology(_ names: AMQPTopology.Names) async {
        try? await deleteQueue(names.queue)
        try? await deleteQueue(names.deadQueue)
        try? await deleteExchange(names.exchange)
        try? await deleteExchange(names.deadExchange)
    }
}

func message(_ id: String, body: String = "{}", headers: [String: AMQPHeaderValue] = [:]) -> AMQPOutboundMessage {
    AMQPOutboundMessage(body: Array(body.utf8), messageID: id, type: "test.message", headers: headers)
}
