import Foundation
import PostgresNIO
import PayFleetMessages

extension PayFleetStore {
    /// The payment with this payment number and its order, or nil when there is none.
    public func paymentStatus(paymentNo: String) async throws -> PaymentRow? {
        let logger = self.logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT p.payment_no, p.status, p.channel, p.merchant, p.amount_minor, p.currency, p.refunded_minor,
                       p.channel_trade_no, p.created_at, p.paid_at, p.expires_at, p.closed_at, o.order_no, o.status,
                       p.prepaid_at, p.pay_parameters::text
                FROM payments p JOIN orders o ON o.id = p.order_id
                WHERE p.payment_no = \(paymentNo)
                """, logger: logger)
            var result: PaymentRow?
            for try await row in rows.decode(
                (
                    String, String, String, String, Int64, String, Int64, String?, Date, Date?, Date?, Date?, String,
                    String, Date?, String?
                )
                .self)
            {
                result = PaymentRow(
                    paymentNo: row.0, status: row.1, channel: row.2, merchant: row.3, amountMinor: row.4,
                    currency: row.5,
                    refundedMinor: row.6, channelTradeNo: row.7, createdAt: row.8, paidAt: row.9, expiresAt: row.10,
                    closedAt: row.11, orderNo: row.12, orderStatus: row.13, prepaidAt: row.14,
                    payParameters: try row.15.map { try PayFleetJSON.decode([String: String].self, from: Array($0.utf8)) })
            }
            return result
        }
    }

    /// Counts and ages for `payfleet status`, read in one snapshot.
    public func statusSummary() async throws -> StatusSummary {
        let logger = self.logger
        return try await withTransaction { connection in
            try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            var byStatus: [String: Int] = [:]
            let statusRows = try await connection.query(
                "SELECT status, count(*) FROM payments GROUP BY status", logger: logger)
            for try await (status, count) in statusRows.decode((String, Int).self) { byStatus[status] = count }

            let rows = try await connection.query(
                """
                SELECT
                    (SELECT count(*) FROM outbox WHERE published_at IS NULL),
                    (SELECT extract(epoch FROM now() - created_at)::float8 FROM outbox
                     WHERE published_at IS NULL ORDER BY id LIMIT 1),
                    (SELECT count(*) FROM anomalies WHERE resolved_at IS NULL),
                    (SELECT min(created_at) FROM payments WHERE status = 'pending'),
                    (SELECT count(*) FROM retries),
                    (SELECT count(*) FROM retries WHERE run_at <= now()),
                    (SELECT count(*) FROM dead_letters),
                    (SELECT count(*) FROM payments WHERE status = 'pending' AND prepaid_at IS NULL),
                    (SELECT min(created_at) FROM payments WHERE status = 'pending' AND prepaid_at IS NULL)
                """, logger: logger)
            var summary: StatusSummary?
            for try await row in rows.decode((Int, Double?, Int, Date?, Int, Int, Int, Int, Date?).self) {
                summary = StatusSummary(
                    paymentsByStatus: byStatus, outboxUnpublished: row.0, oldestUnpublishedAgeSeconds: row.1,
                    anomalies: row.2, oldestPendingPaymentCreatedAt: row.3, retries: row.4, retriesDue: row.5,
                    deadLetters: row.6, awaitingPrepay: row.7, oldestAwaitingPrepayCreatedAt: row.8)
            }
            guard let summary else {
                throw StoreError(code: .inconsistentData, message: "PostgreSQL returned no status row")
            }
            return summary
        }
    }
}

extension PayFleetStore {
    /// How many events of each routing key the outbox holds for a payment (its `payment_no` or its order's
    /// `order_no`): what `payfleet status --payment` shows, e.g. `order.paid: 1`.
    public func eventCounts(paymentNo: String) async throws -> [String: Int] {
        let logger = self.logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT routing_key, count(*)::int8 FROM outbox
                WHERE payload->>'payment_no' = \(paymentNo)
                   OR payload->>'order_no' = (SELECT o.order_no FROM payments p JOIN orders o ON o.id = p.order_id
                                              WHERE p.payment_no = \(paymentNo))
                GROUP BY routing_key ORDER BY routing_key
                """, logger: logger)
            var counts: [String: Int] = [:]
            for try await (key, count) in rows.decode((String, Int64).self) { counts[key] = Int(count) }
            return counts
        }
    }
}
