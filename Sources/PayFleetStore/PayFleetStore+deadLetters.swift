import Foundation
import Logging
import PayFleetMessages
import PostgresNIO

extension PayFleetStore {
    /// Parks a message in `dead_letters` for an operator (`payfleet dead-letters`), with its
    /// error history. Returns the row id.
    @discardableResult
    public func deadLetter(_ message: FailedMessage) async throws -> Int64 {
        let logger = self.logger
        let headers = try PayFleetJSON.jsonText(message.headers)
        let errors = try PayFleetJSON.jsonText(message.errors)
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                INSERT INTO dead_letters
                    (exchange, routing_key, message_id, message_type, payload, headers, attempt, errors)
                VALUES (\(message.exchange), \(message.routingKey), \(message.messageID), \(message.type),
                        \(Data(message.body)), \(headers)::jsonb, \(Int32(clamping: message.attempt)), \(errors)::jsonb)
                RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { return id }
            throw StoreError(code: .inconsistentData, message: "PostgreSQL returned no id for a new dead letter")
        }
    }

    /// The oldest `limit` dead letters, oldest first.
    public func deadLetters(limit: Int = 100) async throws -> [ParkedMessage] {
        let logger = self.logger
        let limit = Int64(max(1, limit))
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT id, exchange, routing_key, message_id, message_type, payload, headers::text, attempt,
                       errors::text, NULL::timestamptz, created_at
                FROM dead_letters ORDER BY id LIMIT \(limit)
                """, logger: logger)
            return try await Self.parkedMessages(rows)
        }
    }

    /// One dead letter, or nil when there is no row with this id.
    public func deadLetter(id: Int64) async throws -> ParkedMessage? {
        let logger = self.logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT id, exchange, routing_key, message_id, message_type, payload, headers::text, attempt,
                       errors::text, NULL::timestamptz, created_at
                FROM dead_letters WHERE id = \(id)
                """, logger: logger)
            return try await Self.parkedMessages(rows).first
        }
    }

    /// Replays one dead letter: locks its row, hands it to `publish` (which returns once the
    /// broker confirmed the message) and deletes the row in the same transaction. Returns
    /// false when there is no such row (never was, or replayed or discarded meanwhile —
    /// a concurrent replay of the same id waits for the first and then finds nothing).
    /// When `publish` throws, the row stays.
    public func replayDeadLetter(
        id: Int64, publish: @escaping @Sendable (ParkedMessage) async throws -> Void
    ) async throws -> Bool {
        let logger = self.logger
        do {
            return try await withTransaction { connection in
                let rows = try await connection.query(
                    """
                    SELECT id, exchange, routing_key, message_id, message_type, payload, headers::text, attempt,
                           errors::text, NULL::timestamptz, created_at
                    FROM dead_letters WHERE id = \(id) FOR UPDATE
                    """, logger: logger)
                guard let message = try await Self.parkedMessages(rows).first else { return false }
                try await publish(message)
                try await connection.query("DELETE FROM dead_letters WHERE id = \(id)", logger: logger)
                return true
            }
        } catch let error as PostgresTransactionError
            where error.beginError == nil && error.commitError == nil && error.rollbackError == nil
        {
            // The publish (or a query) failed and the transaction rolled back cleanly:
            // the caller wants that error, not its wrapper.
            throw error.closureError ?? error
        }
    }

    /// Deletes dead letters; returns the ids that existed.
    @discardableResult
    public func discardDeadLetters(ids: [Int64]) async throws -> [Int64] {
        let logger = self.logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                "DELETE FROM dead_letters WHERE id = ANY(\(ids)) RETURNING id", logger: logger)
            var deleted: [Int64] = []
            for try await id in rows.decode(Int64.self) { deleted.append(id) }
            return deleted.sorted()
        }
    }
}
