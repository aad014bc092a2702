import AMQP
import Foundation
import Logging
import PayFleetMessages
import PayFleetStore
import Synchronization

/// Moves the poison messages of the `payfleet.dead` queue (dead-lettered by a work queue
/// past its delivery limit, or rejected as unreadable) into the `dead_letters` table, so that
/// `payfleet dead-letters list|show|replay|discard` apply to them as well.
///
/// Each message is inserted (committed) and then acked; a crash in between leaves it in
/// the queue as well as the table, and a replay of both copies is absorbed by the idempotent
/// units of work. The original exchange comes from the broker's `x-first-death-exchange`
/// header; the routing key is the original one.
public enum DeadQueueDrain {
    /// Drains what the queue holds when called (and whatever arrives meanwhile), stopping once
    /// no delivery came for `idleTimeout`. Returns how many messages moved.
    public static func run(
        connection: AMQPConnection, store: PayFleetStore, queue: String = QueueName.dead,
        idleTimeout: Duration = .seconds(2), logger: Logger
    ) async throws -> Int {
        let ready = try await connection.queueInfo(queue).messageCount
        guard ready > 0 else { return 0 }
        let consumer = try await connection.consume(queue: queue, prefetch: 100)
        let activity = Activity()
        return try await withThrowingTaskGroup(of: Void.self, returning: Int.self) { group in
            group.addTask {
                // Stop fetching once the queue has been quiet for idleTimeout.
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(100))
                    if activity.idle(longerThan: idleTimeout) {
                        await consumer.cancel()
                        return
                    }
                }
            }
            var moved = 0
            for try await delivery in consumer {
                activity.touch()
                let message = failedMessage(delivery, queue: queue)
                let id = try await store.deadLetter(message)
                try await delivery.ack()
                moved += 1
                logger.info(
                    "moved a poison message into dead_letters",
                    metadata: ["dead_letter_id": "\(id)", "message_id": "\(message.messageID)"])
            }
            group.cancelAll()
            return moved
        }
    }

    static func failedMessage(_ delivery: AMQPDelivery, queue: String) -> FailedMessage {
        let headers = delivery.headers
        let attempt = max(1, Int(headers[MessageHeader.attempt]?.intValue ?? 1))
        let origin = headers["x-first-death-queue"]?.stringValue ?? "?"
        let reason = headers["x-first-death-reason"]?.stringValue ?? "unknown"
        var message = RetryScheduler.failedMessage(
            delivery, attempt: attempt,
            reason: "dead-lettered by queue \(origin) (\(reason)); drained from \(queue)")
        message.exchange = headers["x-first-death-exchange"]?.stringValue ?? delivery.exchange
        return message
    }

    /// When the last delivery arrived.
    final class Activity: Sendable {
        private let last = Mutex(ContinuousClock.now)

        func touch() { last.withLock { $0 = .now } }

        func idle(longerThan timeout: Duration) -> Bool {
            last.withLock { ContinuousClock.now - $0 > timeout }
        }
    }
}
