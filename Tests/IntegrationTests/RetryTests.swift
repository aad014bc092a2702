import AMQP
import Configuration
import Foundation
import Logging
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PostgresNIO
import Synchronization
import Testing

/// The retry path end to end (DESIGN §6): an in-process QueueConsumerService with the real
/// RetryScheduler on a queue of its own, the real database and broker, and real retry-worker
/// processes republishing what it parks.
@Suite(.serialized, .enabled(if: TestServices.integrationEnabled))
struct RetryTests {
    /// Small delays so the test runs in seconds; the jitter draw is fixed at 1 in-process so
    /// each delay is exactly min(cap, base·2^(n−1)).
    static let retryEnvironment = [
        "PAYFLEET_RETRY_DEFAULT_BASE_MS": "250",
        "PAYFLEET_RETRY_DEFAULT_CAP_MS": "5000",
        "PAYFLEET_RETRY_DEFAULT_MAX_ATTEMPTS": "6",
    ]

    @Test func aTransientFailureComesBackWithGrowingDelaysUntilItSucceeds() async throws {
        let fleet = try await TestFleet.start([.retryWorker])
        do {
            let routingKey = "test.retry.\(Fixture.unique().lowercased())"
            let messageID = "RETRY-\(Fixture.unique())"
            let failures = 3
            let recorder = Recorder()
            let reader = try await ConfigReader.payfleet(environment: fleet.environment.merging(Self.retryEnvironment) { $1 })
            let settings = try RetrySettings(reader: reader)
            #expect(settings.policy(for: routingKey) == RetryPolicy(base: .milliseconds(250), cap: .seconds(5), maxAttempts: 6))

            try await RetryHarness.withConsumer(routingKey: routingKey, reader: reader, settings: settings) {
                delivery, _ in
                let count = recorder.record(delivery)
                if RetryHarness.isMarker(delivery) { return .ack }
                return count <= failures ? .retryLater(reason: "channel API answered 503 (delivery \(count))") : .ack
            } _: { connection in
                try await RetryHarness.publish(connection, routingKey: routingKey, messageID: messageID)
                try await RetryHarness.waitFor("delivery \(failures + 1)", timeout: .seconds(30)) {
                    recorder.deliveries(of: messageID).count >= failures + 1
                }
                try await RetryHarness.marker(connection, routingKey: routingKey, recorder: recorder)
            }

            let deliveries = recorder.deliveries(of: messageID)
            #expect(deliveries.count == failures + 1)
            #expect(deliveries.map(\.attempt) == Array(1...(failures + 1)))
            // The error history travels with the message: delivery n carries n−1 errors.
            #expect(deliveries.map(\.errorCount) == Array(0...failures))
            let gaps = zip(deliveries.dropFirst(), deliveries).map { $0.at - $1.at }
            let expected: [Duration] = [.milliseconds(250), .milliseconds(500), .milliseconds(1000)]
            for (gap, delay) in zip(gaps, expected) {
                #expect(gap >= delay - .milliseconds(30), "gap \(gap) shorter than its backoff \(delay)")
                #expect(gap < delay + .seconds(1), "gap \(gap) far longer than its backoff \(delay)")
            }
            #expect(zip(gaps.dropFirst(), gaps).allSatisfy { $0 > $1 }, "gaps \(gaps) do not grow")
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await TestDatabase.scalar(db, "SELECT count(*) FROM retries WHERE message_id = \(messageID)") == 0)
                #expect(
                    try await TestDatabase.scalar(db, "SELECT count(*) FROM dead_letters WHERE message_id = \(messageID)") == 0)
            }
        } catch {
            Issue.record("fleet logs:\n\(fleet.logs)")
            await fleet.stop()
            throw error
        }
        await fleet.stop()
    }

    @Test func pastItsLastAttemptAMessageIsADeadLetterThatReplayAppliesOnce() async throws {
        let fleet = try await TestFleet.start([.retryWorker])
        do {
            let unique = Fixture.unique().lowercased()
            let routingKey = "test.dead.\(unique)"
            let messageID = "DEAD-\(Fixture.unique())"
            let recorder = Recorder()
            let dependencyDown = Flag(true)
            // The route's own limit (3) overrides the default (6).
            let environment = Self.retryEnvironment.merging(["PAYFLEET_RETRY_ROUTES_TEST_DEAD_\(unique.uppercased())_MAX_ATTEMPTS": "3"]) { $1 }
            let reader = try await ConfigReader.payfleet(environment: fleet.environment.merging(environment) { $1 })
            let settings = try RetrySettings(reader: reader, routingKeys: [routingKey])
            #expect(settings.policy(for: routingKey).maxAttempts == 3)
            let applied = Recorder()

            try await RetryHarness.withConsumer(routingKey: routingKey, reader: reader, settings: settings) {
                delivery, _ in
                let count = recorder.record(delivery)
                if RetryHarness.isMarker(delivery) { return .ack }
                if dependencyDown.value { return .retryLater(reason: "channel API timed out (delivery \(count))") }
                applied.record(delivery)
                return .ack
            } _: { connection in
                try await RetryHarness.publish(connection, routingKey: routingKey, messageID: messageID)
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    try await RetryHarness.waitFor("the dead letter", timeout: .seconds(30)) {
                        (try? await TestDatabase.scalar(
                            db, "SELECT count(*) FROM dead_letters WHERE message_id = \(messageID)")) == 1
                    }
                }
                #expect(recorder.deliveries(of: messageID).count == 3)
                let id = try await TestDatabase.withClient { (db: PostgresClient) async throws -> Int64 in
                    try await TestDatabase.scalar(db, "SELECT id FROM dead_letters WHERE message_id = \(messageID)")
                }
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    #expect(try await TestDatabase.scalar(db, "SELECT attempt FROM dead_letters WHERE id = \(id)") == 3)
                    #expect(
                        try await TestDatabase.scalar(db, "SELECT jsonb_array_length(errors) FROM dead_letters WHERE id = \(id)")
                            == 3)
                    #expect(try await TestDatabase.scalar(db, "SELECT count(*) FROM retries WHERE message_id = \(messageID)") == 0)
                }

                let list = try await fleet.runCLI(["dead-letters", "list", "--limit", "100000"])
                #expect(list.contains(messageID))
                #expect(list.contains("payfleet.dead queue:"))
                let shown = try await fleet.runCLI(["dead-letters", "show", "\(id)"])
                for delivery in 1...3 {
                    #expect(shown.contains("attempt \(delivery) at"))
                    #expect(shown.contains("channel API timed out (delivery \(delivery))"))
                }
                #expect(shown.contains(#"{"test":"retry"}"#))

                // The channel is back: an operator replays it, and it applies exactly once.
                dependencyDown.value = false
                let replayed = try await fleet.runCLI(["dead-letters", "replay", "\(id)"])
                #expect(replayed.contains("replayed dead letter \(id)"))
                try await RetryHarness.waitFor("the replay applied", timeout: .seconds(15)) {
                    applied.deliveries(of: messageID).count >= 1
                }
                await #expect(throws: (any Error).self) { try await fleet.runCLI(["dead-letters", "replay", "\(id)"]) }
                try await RetryHarness.marker(connection, routingKey: routingKey, recorder: recorder)
                #expect(applied.deliveries(of: messageID).count == 1)
                #expect(applied.deliveries(of: messageID).first?.attempt == 1)
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    #expect(try await TestDatabase.scalar(db, "SELECT count(*) FROM dead_letters WHERE id = \(id)") == 0)
                }
            }
        } catch {
            Issue.record("fleet logs:\n\(fleet.logs)")
            await fleet.stop()
            throw error
        }
        await fleet.stop()
    }

    @Test func aPoisonMessageInThePayfleetDeadQueueIsDrainedIntoDeadLettersAndReplayed() async throws {
        let fleet = try await TestFleet.start([])
        do {
            let routingKey = "test.poison.\(Fixture.unique().lowercased())"
            let messageID = "POISON-\(Fixture.unique())"
            let poisoned = Flag(true)
            let applied = Recorder()
            let reader = try await ConfigReader.payfleet(environment: fleet.environment)

            try await RetryHarness.withConsumer(routingKey: routingKey, reader: reader, settings: RetrySettings()) {
                delivery, _ in
                if poisoned.value { return .reject(reason: "unreadable") }
                applied.record(delivery)
                return .ack
            } _: { connection in
                try await RetryHarness.publish(connection, routingKey: routingKey, messageID: messageID)
                // Rejected without requeue: the broker dead-letters it to payfleet.dead.
                try await RetryHarness.waitFor("the poison message in payfleet.dead", timeout: .seconds(15)) {
                    ((try? await connection.queueInfo(QueueName.dead).messageCount) ?? 0) > 0
                }
                let listed = try await fleet.runCLI(["dead-letters", "list"])
                #expect(listed.contains("payfleet.dead queue:"))
                let drained = try await fleet.runCLI(["dead-letters", "drain", "--idle-ms", "500"])
                #expect(drained.contains("moved"))
                let id = try await TestDatabase.withClient { (db: PostgresClient) async throws -> Int64 in
                    try await TestDatabase.scalar(db, "SELECT id FROM dead_letters WHERE message_id = \(messageID)")
                }
                #expect(id > 0)
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    // The original exchange, from the broker's x-first-death-exchange header.
                    #expect(try await TestDatabase.text(db, "SELECT exchange FROM dead_letters WHERE id = \(id)") == Exchange.jobs)
                    #expect(
                        try await TestDatabase.text(db, "SELECT routing_key FROM dead_letters WHERE id = \(id)") == routingKey)
                }
                let shown = try await fleet.runCLI(["dead-letters", "show", "\(id)"])
                #expect(shown.contains("dead-lettered by queue test-\(routingKey) (rejected)"))

                poisoned.value = false
                try await fleet.runCLI(["dead-letters", "replay", "\(id)"])
                try await RetryHarness.waitFor("the replay applied", timeout: .seconds(15)) {
                    applied.deliveries(of: messageID).count >= 1
                }
                try await Task.sleep(for: .milliseconds(500))
                #expect(applied.deliveries(of: messageID).count == 1)
            }
            // discard: gone, and a second discard says so.
            let extra = try await TestDatabase.withClient { (db: PostgresClient) async throws -> Int64 in
                try await TestDatabase.scalar(
                    db,
                    """
                    INSERT INTO dead_letters (exchange, routing_key, message_id, payload, attempt)
                    VALUES ('payfleet.jobs', 'test.discard', \(messageID + "-X"), '\\x7b7d', 1) RETURNING id
                    """)
            }
            #expect(try await fleet.runCLI(["dead-letters", "discard", "\(extra)"]).contains("discarded \(extra)"))
            await #expect(throws: (any Error).self) { try await fleet.runCLI(["dead-letters", "discard", "\(extra)"]) }
        } catch {
            Issue.record("fleet logs:\n\(fleet.logs)")
            await fleet.stop()
            throw error
        }
        await fleet.stop()
    }

    @Test func twoRetryWorkersNeverRepublishTheSameRow() async throws {
        let fleet = try await TestFleet.start([])
        var workers: [FleetProcess] = []
        do {
            let routingKey = "test.multi.\(Fixture.unique().lowercased())"
            let prefix = "MULTI-\(Fixture.unique())-"
            let rows = 200
            let recorder = Recorder()
            let reader = try await ConfigReader.payfleet(environment: fleet.environment)

            // Two copies, small batches so that they interleave; debug logs report each claim.
            let environment = fleet.environment.merging(["PAYFLEET_RETRY_BATCH_SIZE": "10", "PAYFLEET_LOG_LEVEL": "debug"]) { $1 }
            for _ in 0..<2 {
                let port = try FreePort.pick()
                let worker = try FleetProcess(
                    "retry-worker", arguments: ["--ops-port", "\(port)"], environment: environment,
                    logDirectory: fleet.directory)
                workers.append(worker)
                try await RetryHarness.waitFor("retry-worker ready", timeout: .seconds(30)) {
                    (try? await TestFleet.httpStatus("http://127.0.0.1:\(port)/health/ready")) == 200
                }
            }

            try await RetryHarness.withConsumer(routingKey: routingKey, reader: reader, settings: RetrySettings()) {
                delivery, _ in
                recorder.record(delivery)
                return .ack
            } _: { connection in
                // 200 rows due in one second: both workers wake for them at once.
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    _ = try await db.query(
                        """
                        INSERT INTO retries (exchange, routing_key, message_id, message_type, payload, attempt, run_at)
                        SELECT \(Exchange.jobs), \(routingKey), \(prefix) || g, \(routingKey),
                               convert_to('{"test":"multi"}', 'UTF8'), 2, now() + interval '1 second'
                        FROM generate_series(1, \(rows)) AS g
                        """)
                }
                try await RetryHarness.waitFor("\(rows) republished messages", timeout: .seconds(30)) {
                    recorder.all.count >= rows
                }
                // Every row is gone from retries (deleted in the publishing transaction), then a marker behind them
                // arrives: a second copy of any row would have been delivered before it.
                try await RetryHarness.waitFor("every row republished and deleted", timeout: .seconds(30)) {
                    (try? await TestDatabase.withClient { db in
                        try await TestDatabase.scalar(db, "SELECT count(*) FROM retries WHERE message_id LIKE \(prefix + "%")")
                    }) == 0
                }
                try await RetryHarness.marker(connection, routingKey: routingKey, recorder: recorder)
            }

            let all = recorder.all.filter { !$0.messageID.hasPrefix("MARKER-") }
            let perMessage = Dictionary(grouping: all, by: \.messageID).mapValues(\.count)
            #expect(perMessage.count == rows)
            #expect(perMessage.values.allSatisfy { $0 == 1 }, "duplicates: \(perMessage.filter { $0.value > 1 })")
            #expect(all.allSatisfy { $0.attempt == 2 })
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await TestDatabase.scalar(db, "SELECT count(*) FROM retries WHERE message_id LIKE \(prefix + "%")") == 0)
            }
            let published = workers.map { RetryHarness.publishedCount(inLog: $0.output) }
            #expect(published.reduce(0, +) == rows, "published per worker: \(published)")
            #expect(published.allSatisfy { $0 > 0 }, "one worker did all the work: \(published)")
        } catch {
            Issue.record("retry-worker logs:\n\(workers.map { $0.output.suffix(3000) }.joined(separator: "\n"))")
            for worker in workers { await worker.terminate() }
            await fleet.stop()
            throw error
        }
        for worker in workers { await worker.terminate() }
        await fleet.stop()
    }
}

/// A flag a handler reads and the test flips.
final class Flag: Sendable {
    private let state: Mutex<Bool>
    init(_ value: Bool) { state = Mutex(value) }
    var value: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}

/// Deliveries a handler saw, with when and which attempt.
final class Recorder: Sendable {
    struct Delivery: Sendable {
        var messageID: String
        var attempt: Int
        var errorCount: Int
        var at: ContinuousClock.Instant
    }

    private let state = Mutex<[Delivery]>([])

    /// Records a delivery; returns how many of its message id have been seen, this one included.
    @discardableResult
    func record(_ delivery: AMQPDelivery) -> Int {
        let history = delivery.headers[MessageHeader.errors]?.stringValue.map { Array($0.utf8) } ?? []
        let errors = (try? JSONSerialization.jsonObject(with: Data(history)) as? [Any])?.count ?? 0
        let entry = Delivery(
            messageID: delivery.messageID ?? "", attempt: Int(delivery.headers[MessageHeader.attempt]?.intValue ?? 0),
            errorCount: errors, at: .now)
        return state.withLock { state in
            state.append(entry)
            return state.filter { $0.messageID == entry.messageID }.count
        }
    }

    func deliveries(of messageID: String) -> [Delivery] { state.withLock { $0.filter { $0.messageID == messageID } } }
    var all: [Delivery] { state.withLock { $0 } }
}

enum RetryHarness {
    /// Publishes a marker behind everything sent so far and waits until the consumer recorded it: with one consumer
    /// on the queue, every message published before it has been delivered by then.
    static func marker(_ connection: AMQPConnection, routingKey: String, recorder: Recorder) async throws {
        let marker = "MARKER-\(Fixture.unique())"
        try await publish(connection, routingKey: routingKey, messageID: marker)
        try await waitFor("the marker", timeout: .seconds(30)) { !recorder.deliveries(of: marker).isEmpty }
    }

    static func isMarker(_ delivery: AMQPDelivery) -> Bool { delivery.messageID?.hasPrefix("MARKER-") == true }

    /// Runs a QueueConsumerService with the real retry path on a new queue bound to
    /// `routingKey` on payfleet.jobs, runs `body`, then deletes the queue.
    static func withConsumer<T: Sendable>(
        routingKey: String, reader: ConfigReader, settings: RetrySettings,
        handler: @escaping QueueConsumerService.Handler,
        _ body: @escaping @Sendable (AMQPConnection) async throws -> T
    ) async throws -> T {
        let queue = "test-" + routingKey
        let logger = {
            var logger = Logger(label: "retry-test")
            logger.logLevel = .warning
            return logger
        }()
        let configuration = try AMQPConfiguration(url: try TestServices.requireAMQPURL(), connectionName: "retry-test")
        let connection = AMQPConnection(configuration: configuration, topology: .payfleet(), logger: logger)
        return try await Dependencies.withStore(reader: reader, logger: logger) { store, _ in
            try await withThrowingTaskGroup(of: Void.self, returning: T.self) { group in
                group.addTask { try await connection.run() }
                try await connection.waitUntilConnected(timeout: .seconds(10))
                try await connection.declare(
                    AMQPTopology(
                        queues: [.init(name: queue, quorum: true, deliveryLimit: 20, deadLetterExchange: Exchange.dead)],
                        bindings: [.init(queue: queue, exchange: Exchange.jobs, routingKey: routingKey)]))
                let consumer = QueueConsumerService(
                    connection: connection, queue: queue, concurrency: 4, pauseBeforeRequeue: .milliseconds(200),
                    retryScheduler: RetryScheduler(store: store, settings: settings, jitter: { 1.0 }), logger: logger,
                    handler: handler)
                group.addTask { try await consumer.run() }
                let result: Result<T, any Error>
                do {
                    result = .success(try await body(connection))
                } catch {
                    result = .failure(error)
                }
                try? await connection.deleteQueue(queue)
                group.cancelAll()
                return try result.get()
            }
        }
    }

    static func publish(_ connection: AMQPConnection, routingKey: String, messageID: String) async throws {
        try await connection.publish(
            .payfleet(body: Array(#"{"test":"retry"}"#.utf8), messageID: messageID, type: routingKey),
            exchange: Exchange.jobs, routingKey: routingKey)
    }

    static func waitFor(_ what: String, timeout: Duration, _ condition: @Sendable () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestServicesError("timed out after \(timeout) waiting for \(what)")
    }

    /// The sum of `published=N` over a retry-worker's debug "claimed due retries" lines.
    static func publishedCount(inLog log: String) -> Int {
        log.split(separator: "\n").filter { $0.contains("claimed due retries") }.reduce(0) { total, line in
            guard let range = line.range(of: "published=") else { return total }
            return total + (Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0)
        }
    }
}

/// Backoff and configuration of the retry path; no services needed.
@Suite struct RetryPolicyTests {
    @Test func theCeilingDoublesFromBaseUpToTheCap() {
        let policy = RetryPolicy(base: .milliseconds(100), cap: .milliseconds(1000), maxAttempts: 10)
        #expect((1...6).map { policy.ceiling(afterAttempt: $0) } == [100, 200, 400, 800, 1000, 1000].map(Duration.milliseconds))
        #expect(policy.ceiling(afterAttempt: 500) == .milliseconds(1000))
    }

    @Test func fullJitterDrawsBetweenZeroAndTheCeiling() {
        let policy = RetryPolicy(base: .milliseconds(100), cap: .seconds(60), maxAttempts: 10)
        #expect(policy.backoff(afterAttempt: 3, unit: 0) == .zero)
        #expect(policy.backoff(afterAttempt: 3, unit: 1) == .milliseconds(400))
        #expect(policy.backoff(afterAttempt: 3, unit: 0.5) == .milliseconds(200))
        let draws = (0..<1000).map { _ in policy.backoff(afterAttempt: 4, unit: Double.random(in: 0...1)) }
        #expect(draws.allSatisfy { $0 >= .zero && $0 <= .milliseconds(800) })
        #expect(Set(draws).count > 100, "the delays are spread, not all the same")
    }

    @Test func routesOverrideTheDefaultsKeyByKey() async throws {
        let reader = try await ConfigReader.payfleet(environment: [
            "PAYFLEET_RETRY_DEFAULT_BASE_MS": "500",
            "PAYFLEET_RETRY_DEFAULT_MAX_ATTEMPTS": "4",
            "PAYFLEET_RETRY_ROUTES_PAYMENT_QUERY_MAX_ATTEMPTS": "12",
            "PAYFLEET_RETRY_ROUTES_PAYMENT_QUERY_CAP_MS": "600000",
            "PAYFLEET_RETRY_BATCH_SIZE": "25",
        ])
        let settings = try RetrySettings(reader: reader)
        #expect(settings.policy(for: "payment.query") == RetryPolicy(base: .milliseconds(500), cap: .seconds(600), maxAttempts: 12))
        #expect(settings.policy(for: "payment.create") == RetryPolicy(base: .milliseconds(500), cap: .seconds(300), maxAttempts: 4))
        #expect(settings.policy(for: "something.else") == settings.defaultPolicy)
        #expect(settings.batchSize == 25 && settings.pollInterval == .seconds(1))
    }

    @Test func anInvalidSettingIsAnErrorThatNamesItsKey() async throws {
        let reader = try await ConfigReader.payfleet(environment: [
            "PAYFLEET_RETRY_ROUTES_ORDER_PAID_BASE_MS": "9000",
            "PAYFLEET_RETRY_ROUTES_ORDER_PAID_CAP_MS": "10",
        ])
        #expect {
            try RetrySettings(reader: reader)
        } throws: { error in
            "\(error)".contains("retry.routes.order_paid.cap_ms")
        }
    }
}
