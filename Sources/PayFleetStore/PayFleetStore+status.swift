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
                       p.prepaid_at, p.pay_parameters::text, p.refund_pending_minor, o.inventory_status, p.payer_id
                FROM payments p JOIN orders o ON o.id = p.order_id
                WHERE p.payment_no = \(paymentNo)
                """, logger: logger)
            var result: PaymentRow?
            for try await row in rows.decode(
                (
                    String, String, String, String, Int64, String, Int64, String?, Date, Date?, Date?, Date?, String,
                    String, Date?, String?, Int64, String, String?
                )
                .self)
            {
                result = PaymentRow(
                    paymentNo: row.0, status: try PaymentStatus(stored: row.1, paymentNo: row.0), channel: row.2,
                    merchant: row.3, amountMinor: row.4, currency: row.5, refundedMinor: row.6,
                    refundPendingMinor: row.16, channelTradeNo: row.7, createdAt: row.8, paidAt: row.9,
                    expiresAt: row.10, closedAt: row.11, orderNo: row.12, orderStatus: row.13, prepaidAt: row.14,
                    payParameters: try row.15.map { try PayFleetJSON.decode([String: String].self, from: Array($0.utf8)) },
                    inventoryStatus: try InventoryStatus(stored: row.17, orderNo: row.12), payerID: row.18)
            }
            return result
        }
    }

    /// Counts and ages for `payfleet status`, read in one snapshot. Skus with at most `lowStockThreshold` free
    /// are listed as low.
    public func statusSummary(lowStockThreshold: Int64 = 5) async throws -> StatusSummary {
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
            guard var summary else {
                throw StoreError(code: .inconsistentData, message: "PostgreSQL returned no status row")
            }
            let refundRows = try await connection.query(
                """
                SELECT status, currency::text, count(*)::int8, sum(amount_minor)::int8 FROM refunds
                GROUP BY status, currency
                """, logger: logger)
            for try await (status, currency, count, amount) in refundRows.decode((String, String, Int64, Int64).self) {
                summary.refundsByStatus[status, default: 0] += Int(count)
                if status == RefundStatus.succeeded.rawValue {
                    summary.refundedMinorByCurrency[currency, default: 0] += amount
                } else if RefundStatus(rawValue: status)?.isPending == true {
                    summary.refundPendingMinorByCurrency[currency, default: 0] += amount
                }
            }
            let inventoryRows = try await connection.query(
                """
                SELECT
                    (SELECT min(processing_at) FROM refunds WHERE status = 'processing'),
                    (SELECT count(*) FROM orders WHERE inventory_status = 'oversold'),
                    (SELECT count(*) FROM orders WHERE status = 'paid' AND inventory_status = 'reserved')
                """, logger: logger)
            for try await (oldest, oversold, awaiting) in inventoryRows.decode((Date?, Int, Int).self) {
                summary.oldestProcessingRefundAt = oldest
                summary.oversoldOrders = oversold
                summary.awaitingInventory = awaiting
            }
            let anomalyRows = try await connection.query(
                "SELECT kind, count(*)::int8 FROM anomalies WHERE resolved_at IS NULL GROUP BY kind", logger: logger)
            for try await (kind, count) in anomalyRows.decode((String, Int64).self) {
                summary.anomaliesByKind[kind] = Int(count)
            }
            let dueRows = try await connection.query(
                "SELECT extract(epoch FROM now() - min(run_at))::float8 FROM retries WHERE run_at <= now()",
                logger: logger)
            for try await age in dueRows.decode(Double?.self) { summary.oldestDueRetryAgeSeconds = age }
            summary.lowStockThreshold = lowStockThreshold
            let lowRows = try await connection.query(
                """
                SELECT sku, on_hand, reserved FROM stock WHERE on_hand - reserved <= \(lowStockThreshold)
                ORDER BY on_hand - reserved, sku LIMIT 10
                """, logger: logger)
            for try await (sku, onHand, reserved) in lowRows.decode((String, Int64, Int64).self) {
                summary.lowStock.append(StockLevel(sku: sku, onHand: onHand, reserved: reserved))
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
