import AMQP
import Configuration
import Foundation
import Logging
import Metrics
import PayFleetMessages
import PayFleetStore
import ServiceLifecycle

/// events-worker settings.
///
/// Keys: `events.batch_size` (outbox rows claimed per transaction, default 100),
/// `events.poll_interval_ms` (sleep when the outbox is empty, default 200).
public struct OutboxRelaySettings: Sendable {
    public var batchSize: Int
    public var pollInterval: Duration

    public init(reader: ConfigReader) {
        batchSize = max(1, reader.int(forKey: "events.batch_size", default: 100))
        pollInterval = .milliseconds(max(10, reader.int(forKey: "events.poll_interval_ms", default: 200)))
    }
}

/// The events-worker's loop (DESIGN §1, the transactional outbox): claims unpublished rows
/// of `outbox` with `FOR UPDATE SKIP LOCKED`, publishes each to its exchange (payfleet.events)
/// with a publisher confirm, and marks the confirmed ones published in the claiming
/// transaction. An event no queue is bound to yet was still delivered to the exchange:
/// subscribers bind their own queues, so it counts as published. Anything else (broker down,
/// nack, timeout) leaves the row for the next claim.
public struct OutboxRelay: Service {
    let store: PayFleetStore
    let connection: AMQPConnection
    let settings: OutboxRelaySettings
    let publishTimeout: Duration
    let logger: Logger

    public init(
        store: PayFleetStore, connection: AMQPConnection, settings: OutboxRelaySettings, publishTimeout: Duration,
        logger: Logger
    ) {
        self.store = store
        self.connection = connection
        self.settings = settings
        self.publishTimeout = publishTimeout
        self.logger = logger
    }

    public func run() async throws {
        let published = Counter(label: "payfleet_outbox_published_total")
        let claimErrors = Counter(label: "payfleet_outbox_claim_errors_total")
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            guard connection.isConnected else {
                await pauseUnlessShuttingDown(for: settings.pollInterval)
                continue
            }
            do {
                let report = try await store.relayOutbox(limit: settings.batchSize) { events in
                    await publish(events)
                }
                published.increment(by: report.published)
                if report.claimed == settings.batchSize, report.published == report.claimed { continue }
                if report.claimed == 0 || report.published < report.claimed {
                    await pauseUnlessShuttingDown(for: settings.pollInterval)
                }
            } catch {
                claimErrors.increment()
                logger.warning("could not relay the outbox; trying again", metadata: ["error": "\(error)"])
                await pauseUnlessShuttingDown(for: settings.pollInterval)
            }
        }
    }

    /// Publishes the events concurrently (confirms are pipelined); returns the confirmed ids.
    func publish(_ events: [OutboxEvent]) async -> Set<Int64> {
        let (connection, timeout, logger) = (connection, publishTimeout, logger)
        return await withTaskGroup(of: Int64?.self) { group in
            for event in events {
                group.addTask {
                    do {
                        try await connection.publish(
                            .payfleet(body: event.payload, messageID: event.messageID, type: event.routingKey),
                            exchange: event.exchange, routingKey: event.routingKey, timeout: timeout)
                        return event.id
                    } catch let error as AMQPError where error.code == .unroutable {
                        logger.debug("event has no subscriber yet", metadata: ["routing_key": "\(event.routingKey)"])
                        return event.id
                    } catch {
                        logger.warning(
                            "event not confirmed; it stays in the outbox",
                            metadata: ["message_id": "\(event.messageID)", "error": "\(error)"])
                        return nil
                    }
                }
            }
            var confirmed = Set<Int64>()
            for await id in group { if let id { confirmed.insert(id) } }
            return confirmed
        }
    }
}
