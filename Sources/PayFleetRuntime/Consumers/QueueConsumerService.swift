import AMQP
import Logging
import Metrics
import ServiceLifecycle

/// Consumes one queue with `concurrency` units of work in flight (the prefetch is the same
/// number) and acks each delivery only after its unit of work has returned.
///
/// On graceful shutdown it stops fetching (basic.cancel), lets the in-flight units finish,
/// acks them and returns, so the connection closes with nothing unacknowledged that was done.
///
/// A ``DeliveryDisposition/retryLater(reason:)`` is handed to the ``RetryScheduler``: the
/// delivery is parked in `retries` (or `dead_letters`), that insert commits, and only then is
/// the delivery acked. Without a scheduler, or when PostgreSQL cannot take the row, the
/// delivery is requeued after the pause instead.
public struct QueueConsumerService: Service {
    public typealias Handler = @Sendable (AMQPDelivery, Logger) async -> DeliveryDisposition

    let connection: AMQPConnection
    let queue: String
    let concurrency: Int
    let pause: Duration
    let logger: Logger
    let handler: Handler
    let retryScheduler: RetryScheduler?

    public init(
        connection: AMQPConnection, queue: String, concurrency: Int, pauseBeforeRequeue: Duration = .seconds(1),
        retryScheduler: RetryScheduler? = nil, logger: Logger, handler: @escaping Handler
    ) {
        self.retryScheduler = retryScheduler
        self.connection = connection
        self.queue = queue
        self.concurrency = max(1, min(concurrency, Int(UInt16.max)))
        self.pause = pauseBeforeRequeue
        self.logger = logger
        self.handler = handler
    }

    public func run() async throws {
        let processed = Counter(label: "payfleet_deliveries_total", dimensions: [("queue", queue), ("outcome", "ack")])
        let requeued = Counter(label: "payfleet_deliveries_total", dimensions: [("queue", queue), ("outcome", "requeue")])
        let rejected = Counter(label: "payfleet_deliveries_total", dimensions: [("queue", queue), ("outcome", "reject")])
        let retried = Counter(label: "payfleet_deliveries_total", dimensions: [("queue", queue), ("outcome", "retry")])
        let deadLettered = Counter(
            label: "payfleet_deliveries_total", dimensions: [("queue", queue), ("outcome", "dead_letter")])
        let retryScheduler = self.retryScheduler
        let duration = Timer(label: "payfleet_unit_of_work_seconds", dimensions: [("queue", queue)])
        // Units of work running now (at most the prefetch), and deliveries the broker sent again (a consumer died or
        // requeued before its ack): what tells a stuck or crash-looping role from a busy one.
        let inFlight = Meter(label: "payfleet_deliveries_in_flight", dimensions: [("queue", queue)])
        let redelivered = Counter(label: "payfleet_deliveries_redelivered_total", dimensions: [("queue", queue)])

        // Wait for the broker rather than failing the whole process at start-up.
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                try await connection.waitUntilConnected(timeout: .seconds(5))
                break
            } catch {
                logger.warning("waiting for the broker before consuming", metadata: ["queue": "\(queue)"])
            }
        }
        if Task.isCancelled || Task.isShuttingDownGracefully { return }

        let consumer = try await connection.consume(queue: queue, prefetch: UInt16(concurrency))
        logger.info("consuming", metadata: ["queue": "\(queue)", "concurrency": "\(concurrency)"])

        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                // The prefetch (= concurrency) bounds what the broker sends before an ack, so at
                // most `concurrency` units of work are ever in flight.
                for try await delivery in consumer {
                    group.addTask {
                        inFlight.increment()
                        defer { inFlight.decrement() }
                        if delivery.redelivered { redelivered.increment() }
                        var log = logger
                        log[metadataKey: "message_id"] = "\(delivery.messageID ?? "-")"
                        log[metadataKey: "routing_key"] = "\(delivery.routingKey)"
                        let start = ContinuousClock.now
                        let disposition = await handler(delivery, log)
                        duration.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
                        do {
                            switch disposition {
                            case .ack:
                                try await delivery.ack()
                                processed.increment()
                            case .requeueAfterPause:
                                try? await Task.sleep(for: pause)
                                try await delivery.nack(requeue: true)
                                requeued.increment()
                            case .retryLater(let reason):
                                guard let retryScheduler else {
                                    log.warning(
                                        "transient failure and no retry scheduler; requeueing",
                                        metadata: ["reason": "\(reason)"])
                                    try? await Task.sleep(for: pause)
                                    try await delivery.nack(requeue: true)
                                    requeued.increment()
                                    break
                                }
                                let outcome: RetryScheduler.Outcome
                                do {
                                    outcome = try await retryScheduler.schedule(delivery, reason: reason)
                                } catch {
                                    // PostgreSQL is down too: let the message wait in the broker.
                                    log.warning(
                                        "could not park the message for a retry; requeueing",
                                        metadata: ["reason": "\(reason)", "error": "\(error)"])
                                    try? await Task.sleep(for: pause)
                                    try await delivery.nack(requeue: true)
                                    requeued.increment()
                                    break
                                }
                                // The row is committed: now the broker may forget the delivery.
                                try await delivery.ack()
                                switch outcome {
                                case .scheduled(let attempt, let delay):
                                    log.info(
                                        "transient failure; retry scheduled",
                                        metadata: ["reason": "\(reason)", "next_attempt": "\(attempt)", "delay": "\(delay)"])
                                    retried.increment()
                                case .deadLettered(let id):
                                    log.error(
                                        "transient failure on the last attempt; parked in dead_letters",
                                        metadata: ["reason": "\(reason)", "dead_letter_id": "\(id)"])
                                    deadLettered.increment()
                                }
                            case .reject(let reason):
                                log.error("rejected to the dead-letter exchange", metadata: ["reason": "\(reason)"])
                                try await delivery.nack(requeue: false)
                                rejected.increment()
                            }
                        } catch {
                            // The connection dropped: the broker redelivers, and the unit of work is idempotent.
                            log.warning("could not settle the delivery; the broker will redeliver it", metadata: ["error": "\(error)"])
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            Task { await consumer.cancel() }
        }
        logger.info("stopped consuming", metadata: ["queue": "\(queue)"])
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
