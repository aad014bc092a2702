import Logging
import ServiceLifecycle

/// One connection to RabbitMQ, run as a ServiceLifecycle service.
///
/// A dedicated thread owns the rabbitmq-c connection (which is not thread-safe) and does all the
/// I/O in a loop: it connects and reconnects with backoff, declares the topology, re-subscribes
/// consumers, sends what callers queued, and reads confirms, returns and deliveries. Async callers
/// never touch the connection: they queue a command and await its result.
///
/// The connection uses channel 1 for publishing (in confirm mode), channel 2 for declarations and
/// one channel per consumer, so that a broker error on one of them (a missing exchange, a
/// conflicting declaration, a double ack) does not take the others down.
///
/// ```swift
/// let amqp = AMQPConnection(
///     configuration: try AMQPConfiguration(url: url, connectionName: "notify-receiver"),
///     topology: topology, logger: logger)
/// // in a ServiceGroup, or: Task { try await amqp.run() }
/// try await amqp.waitUntilConnected(timeout: .seconds(10))
/// try await amqp.publish(message, exchange: "payfleet.notify", routingKey: "payment.succeeded.stripe")
/// ```
public final class AMQPConnection: Service, Sendable {
    let core: ConnectionCore

    /// - Parameters:
    ///   - topology: declared on every (re)connect, before consumers subscribe.
    public init(
        configuration: AMQPConfiguration,
        topology: AMQPTopology = .init(),
        logger: Logger = Logger(label: "payfleet.amqp")
    ) {
        self.core = ConnectionCore(configuration: configuration, topology: topology, logger: logger)
    }

    public var configuration: AMQPConfiguration { core.configuration }

    /// Runs the I/O thread: connects, and reconnects with backoff, until the task is cancelled or a
    /// graceful shutdown is triggered. On shutdown it cancels the consumers, waits up to
    /// ``AMQPConfiguration/shutdownDrainTimeout`` for outstanding confirms and acks, fails what is
    /// left with ``AMQPError/Code/closed``, closes the connection cleanly and joins the thread.
    /// Call it once.
    public func run() async throws {
        let core = self.core
        await withTaskCancellationOrGracefulShutdownHandler {
            await core.runIOThread()
        } onCancelOrGracefulShutdown: {
            core.requestShutdown()
        }
    }

    /// Whether the connection is up right now (with its publishing channel open).
    public var isConnected: Bool { core.isConnected }

    /// How many times the connection has come up since ``run()`` started: 1 after the first connect, one more per
    /// reconnect (for `payfleet_broker_connects_total`).
    public var linksOpened: Int { core.linksOpened }

    /// Waits until the connection is up.
    /// - Throws: ``AMQPError/Code/timeout`` (also when the waiting task is cancelled),
    ///   ``AMQPError/Code/closed`` after shutdown.
    public func waitUntilConnected(timeout: Duration) async throws(AMQPError) {
        try await core.waitUntilConnected(timeout: timeout)
    }

    /// Declares exchanges, queues and bindings now, and remembers them so that they are declared
    /// again on every reconnect.
    /// - Throws: ``AMQPError/Code/notConnected`` when not connected (see ``waitUntilConnected(timeout:)``),
    ///   ``AMQPError/Code/protocolError`` when the broker refuses (406 for a conflicting declaration).
    public func declare(_ topology: AMQPTopology) async throws(AMQPError) {
        _ = try await admin(.declare(topology))
    }

    /// Deletes a queue (and its messages) if it exists.
    public func deleteQueue(_ name: String) async throws(AMQPError) {
        _ = try await admin(.deleteQueue(name))
    }

    /// Deletes an exchange if it exists.
    public func deleteExchange(_ name: String) async throws(AMQPError) {
        _ = try await admin(.deleteExchange(name))
    }

    /// Removes the ready messages of a queue; returns how many.
    @discardableResult
    public func purgeQueue(_ name: String) async throws(AMQPError) -> UInt32 {
        guard case .purged(let count) = try await admin(.purgeQueue(name)) else { return 0 }
        return count
    }

    /// Depth and consumer count of a queue (passive declare).
    /// - Throws: ``AMQPError/Code/protocolError`` with reply code 404 when the queue does not exist.
    public func queueInfo(_ name: String) async throws(AMQPError) -> AMQPQueueInfo {
        guard case .queueInfo(let info) = try await admin(.queueInfo(name)) else {
            throw AMQPError(code: .protocolError, message: "unexpected reply to a passive queue declaration")
        }
        return info
    }

    private func admin(_ operation: AdminOperation) async throws(AMQPError) -> AdminResult {
        try core.checkUsable()
        return try await core.perform(ifFinished: .closed()) { reply in .admin(operation, reply) }.get()
    }

    /// Publishes with `mandatory` set and returns once the broker confirmed the message (basic.ack).
    /// Many publishes can be in flight at once: confirms are pipelined.
    ///
    /// - Throws: ``AMQPError/Code/notConnected`` at once when not connected;
    ///   ``AMQPError/Code/connectionLost`` when the connection or channel drops before the confirm
    ///   (the message may or may not have been taken); ``AMQPError/Code/nacked`` on basic.nack;
    ///   ``AMQPError/Code/unroutable`` when no queue is bound for the routing key (basic.return);
    ///   ``AMQPError/Code/timeout`` without a confirm within `timeout`; ``AMQPError/Code/closed`` during
    ///   or after shutdown; ``AMQPError/Code/protocolError`` when the broker closed the publishing
    ///   channel (a missing exchange, reply code 404).
    public func publish(
        _ message: AMQPOutboundMessage,
        exchange: String,
        routingKey: String,
        timeout: Duration = .seconds(5)
    ) async throws(AMQPError) {
        try core.checkUsable()
        let deadline = ContinuousClock.now.advanced(by: timeout)
        try await core.perform(ifFinished: .closed()) { reply in
            .publish(
                PublishRequest(
                    message: message, exchange: exchange, routingKey: routingKey, deadline: deadline, reply: reply))
        }.get()
    }

    /// Consumes a queue with manual acknowledgements: basic.qos(`prefetch`) then basic.consume on a
    /// channel of its own. Survives reconnects (subscribes again).
    ///
    /// When connected, this returns once the broker accepted the subscription; when not (yet)
    /// connected, it returns at once and the consumer subscribes when the connection comes up.
    /// - Parameter prefetch: at least 1.
    /// - Throws: ``AMQPError/Code/protocolError`` when the broker refuses (404: no such queue),
    ///   ``AMQPError/Code/closed`` after shutdown.
    public func consume(queue: String, prefetch: UInt16) async throws(AMQPError) -> AMQPConsumer {
        precondition(prefetch > 0, "prefetch must be at least 1 (0 would mean an unbounded window)")
        let consumer = AMQPConsumer(queue: queue, prefetch: prefetch, id: core.makeID(), core: core)
        do {
            try core.checkUsable()
        } catch where error.code == .notConnected {
            // Registered now, subscribed by the I/O thread when the connection comes up.
            guard core.enqueue(.subscribe(consumer, nil)) else { throw .closed() }
            return consumer
        }
        try await core.perform(ifFinished: .closed()) { reply in .subscribe(consumer, reply) }.get()
        return consumer
    }
}
