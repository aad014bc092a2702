import Foundation
import Logging
import PayFleetMessages
import PostgresNIO

extension PayFleetStore {
    /// What became of one claimed retry (see ``claimDueRetries(limit:republish:)``).
    public enum RepublishResult: Sendable, Hashable {
        /// The broker confirmed it: the row is deleted in the claiming transaction.
        case published
        /// It could not be published now (broker down, timeout): the row stays, due, for a
        /// later claim, with the error as its `last_error`.
        case failed(error: String)
        /// It can never be published as it is (no queue bound to its routing key, its
        /// exchange is gone): the row moves to `dead_letters` with the error appended.
        case undeliverable(error: String)
    }

    /// What one claim did.
    public struct ClaimReport: Sendable, Hashable {
        public var claimed = 0
        public var published = 0
        public var failed = 0
        public var deadLettered = 0

        public init() {}
    }

    /// Parks a message in `retries` until `delay` from now (the database's clock), to be
    /// republished with `attempt` in its `x-payfleet-attempt` header. Returns the row id.
    /// The insert NOTIFYs `payfleet_retries` (migration 2), waking idle retry-workers.
    @discardableResult
    public func scheduleRetry(_ message: FailedMessage, attempt: Int, after delay: Duration) async throws -> Int64 {
        guard attempt >= 1 else {
            throw StoreError(code: .invalidArgument, message: "a retry's attempt number starts at 1")
        }
        let logger = self.logger
        let headers = try PayFleetJSON.jsonText(message.headers)
        let errors = try PayFleetJSON.jsonText(message.errors)
        let delayMS = max(Int64(0), delay.milliseconds)
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                INSERT INTO retries
                    (exchange, routing_key, message_id, message_type, payload, headers, attempt, run_at, last_error, errors)
                VALUES (\(message.exchange), \(message.routingKey), \(message.messageID), \(message.type),
                        \(Data(message.body)), \(headers)::jsonb, \(Int32(clamping: attempt)),
                        now() + \(delayMS) * interval '1 millisecond', \(message.errors.last?.error), \(errors)::jsonb)
                RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { return id }
            throw StoreError(code: .inconsistentData, message: "PostgreSQL returned no id for a new retry")
        }
    }

    /// Claims up to `limit` due rows of `retries` (`run_at <= now()`, oldest first,
    /// `FOR UPDATE SKIP LOCKED`), hands them to `republish`, and — in the same transaction,
    /// committed after `republish` returned — deletes the published rows and moves the
    /// undeliverable ones to `dead_letters`.
    ///
    /// Any number of callers (processes) may claim at once: a row locked by one claim is
    /// skipped by the others, and it is gone once that claim commits, so no row is handed
    /// out twice. If the process dies before the commit, the rows unlock and are claimed
    /// again: a republished message may then arrive twice, which the idempotent units of
    /// work absorb.
    ///
    /// - Parameter republish: publishes the rows (with publisher confirms) and returns a
    ///   result per row id; a row without a result counts as failed.
    public func claimDueRetries(
        limit: Int, republish: @escaping @Sendable ([ParkedMessage]) async -> [Int64: RepublishResult]
    ) async throws -> ClaimReport {
        let logger = self.logger
        let limit = Int64(max(1, limit))
        return try await withTransaction { connection in
            let rows = try await connection.query(
                """
                SELECT id, exchange, routing_key, message_id, message_type, payload, headers::text, attempt,
                       errors::text, run_at, created_at
                FROM retries
                WHERE run_at <= now()
                ORDER BY run_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
                """, logger: logger)
            let claimed = try await Self.parkedMessages(rows)
            var report = ClaimReport()
            report.claimed = claimed.count
            guard !claimed.isEmpty else { return report }

            let results = await republish(claimed)
            var published: [Int64] = []
            for message in claimed {
                switch results[message.id] ?? .failed(error: "not republished") {
                case .published:
                    published.append(message.id)
                case .failed(let error):
                    report.failed += 1
                    try await connection.query(
                        "UPDATE retries SET last_error = \(error) WHERE id = \(message.id)", logger: logger)
                case .undeliverable(let error):
                    report.deadLettered += 1
                    let appended = try PayFleetJSON.jsonText([AttemptError(attempt: message.attempt, error: error)])
                    try await connection.query(
                        """
                        WITH moved AS (DELETE FROM retries WHERE id = \(message.id) RETURNING *)
                        INSERT INTO dead_letters
                            (exchange, routing_key, message_id, message_type, payload, headers, attempt, errors)
                        SELECT exchange, routing_key, message_id, message_type, payload, headers, attempt,
                               errors || \(appended)::jsonb
                        FROM moved
                        """, logger: logger)
                }
            }
            if !published.isEmpty {
                try await connection.query("DELETE FROM retries WHERE id = ANY(\(published))", logger: logger)
            }
            report.published = published.count
            return report
        }
    }

    /// How long until the earliest row of `retries` is due (zero when one is due now), or
    /// nil when the table is empty.
    public func nextRetryDue() async throws -> Duration? {
        let logger = self.logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                "SELECT (extract(epoch FROM min(run_at) - now()) * 1000)::bigint FROM retries", logger: logger)
            for try await milliseconds in rows.decode(Int64?.self) {
                return milliseconds.map { .milliseconds(max(0, $0)) }
            }
            return nil
        }
    }

    /// Decodes rows of (id, exchange, routing_key, message_id, message_type, payload,
    /// headers::text, attempt, errors::text, run_at, created_at).
    static func parkedMessages(_ rows: PostgresRowSequence) async throws -> [ParkedMessage] {
        var messages: [ParkedMessage] = []
        for try await row in rows.decode(
            (Int64, String, String, String, String?, Data, String, Int32, String, Date?, Date).self)
        {
            messages.append(
                ParkedMessage(
                    id: row.0, exchange: row.1, routingKey: row.2, messageID: row.3, type: row.4, body: [UInt8](row.5),
                    headers: (try? PayFleetJSON.decode([String: StoredHeaderValue].self, from: Array(row.6.utf8))) ?? [:],
                    attempt: Int(row.7),
                    errors: (try? PayFleetJSON.decode([AttemptError].self, from: Array(row.8.utf8))) ?? [],
                    runAt: row.9, createdAt: row.10))
        }
        return messages
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
