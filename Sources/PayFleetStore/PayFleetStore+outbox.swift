import Foundation
import Logging
import PostgresNIO

/// One unpublished row of `outbox`: an event written in the same transaction as the change
/// it announces, waiting for the events-worker to publish it.
public struct OutboxEvent: Sendable, Equatable {
    public var id: Int64
    public var exchange: String
    public var routingKey: String
    public var messageID: String
    /// The event's JSON, as stored.
    public var payload: [UInt8]
    public var createdAt: Date
}

extension PayFleetStore {
    /// What one claim of the outbox did.
    public struct OutboxRelayReport: Sendable, Equatable {
        public var claimed = 0
        public var published = 0
    }

    /// Claims up to `limit` unpublished outbox rows (oldest first, `FOR UPDATE SKIP LOCKED`),
    /// hands them to `publish`, and — in the same transaction, committed after `publish`
    /// returned — marks the ones it reports published (`published_at = now()`).
    ///
    /// Any number of events-workers may claim at once: SKIP LOCKED hands each row to one claim.
    /// A process that dies between the broker's confirm and the commit leaves its rows
    /// unpublished, so they are published again: consumers dedupe on `message_id`.
    /// Published rows leave the partial index the claim reads, so it stays small.
    public func relayOutbox(
        limit: Int, publish: @escaping @Sendable ([OutboxEvent]) async -> Set<Int64>
    ) async throws -> OutboxRelayReport {
        let logger = self.logger
        let limit = Int64(max(1, limit))
        return try await withTransaction { connection in
            let rows = try await connection.query(
                """
                SELECT id, exchange, routing_key, message_id, payload::text, created_at
                FROM outbox
                WHERE published_at IS NULL
                ORDER BY id
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var events: [OutboxEvent] = []
            for try await (id, exchange, routingKey, messageID, payload, createdAt) in rows.decode(
                (Int64, String, String, String, String, Date).self)
            {
                events.append(
                    OutboxEvent(
                        id: id, exchange: exchange, routingKey: routingKey, messageID: messageID,
                        payload: Array(payload.utf8), createdAt: createdAt))
            }
            var report = OutboxRelayReport()
            report.claimed = events.count
            guard !events.isEmpty else { return report }
            let published = Array(await publish(events))
            if !published.isEmpty {
                try await connection.query(
                    "UPDATE outbox SET published_at = now() WHERE id = ANY(\(published))", logger: logger)
            }
            report.published = published.count
            return report
        }
    }
}
