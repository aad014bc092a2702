import Foundation
import Logging
import PayFleetMessages
import PostgresNIO

extension PayFleetStore {
    /// At most this many `reconciliation.diff` events per run; every diff is in `reconciliation_diffs` anyway.
    public static let maxAnnouncedDiffs = 1_000

    /// The local side of a day's reconciliation: payments of `channel`/`merchant` paid within `interval` or named
    /// in `paymentNos`, and their refunds finished within `interval` or named in `refundNos`.
    public func localBooks(
        channel: String, merchant: String, interval: Range<Date>, paymentNos: [String], refundNos: [String]
    ) async throws -> LocalBooks {
        let logger = self.logger
        let (start, end) = (interval.lowerBound, interval.upperBound)
        return try await withConnection { connection in
            var payments: [LocalBooks.Payment] = []
            let paymentRows = try await connection.query(
                """
                SELECT payment_no, status, amount_minor, currency, paid_at, channel_trade_no FROM payments
                WHERE channel = \(channel) AND merchant = \(merchant)
                  AND ((paid_at >= \(start) AND paid_at < \(end)) OR payment_no = ANY(\(paymentNos)::text[]))
                """, logger: logger)
            for try await row in paymentRows.decode((String, String, Int64, String, Date?, String?).self) {
                payments.append(
                    LocalBooks.Payment(
                        paymentNo: row.0, status: try PaymentStatus(stored: row.1, paymentNo: row.0), amountMinor: row.2,
                        currency: row.3, paidAt: row.4, channelTradeNo: row.5))
            }
            var refunds: [LocalBooks.Refund] = []
            let refundRows = try await connection.query(
                """
                SELECT r.refund_no, p.payment_no, r.status, r.amount_minor, coalesce(r.succeeded_at, r.failed_at)
                FROM refunds r JOIN payments p ON p.id = r.payment_id
                WHERE p.channel = \(channel) AND p.merchant = \(merchant)
                  AND ((r.succeeded_at >= \(start) AND r.succeeded_at < \(end))
                       OR (r.failed_at >= \(start) AND r.failed_at < \(end))
                       OR r.refund_no = ANY(\(refundNos)::text[]))
                """, logger: logger)
            for try await row in refundRows.decode((String, String, String, Int64, Date?).self) {
                refunds.append(
                    LocalBooks.Refund(
                        refundNo: row.0, paymentNo: row.1, status: try RefundStatus(stored: row.2, refundNo: row.0),
                        amountMinor: row.3, finishedAt: row.4))
            }
            return LocalBooks(payments: payments, refunds: refunds)
        }
    }

    /// Claims the day's run for a scheduler: true when this caller must run it — no run exists yet, or the last
    /// one failed, or one has been `running` for longer than `staleAfter` (its claimer died). Exactly one of
    /// several schedulers asking at once gets true.
    public func claimReconciliation(
        channel: String, merchant: String, billDate: String, claimant: String, staleAfter: Duration = .seconds(1800)
    ) async throws -> Bool {
        let logger = self.logger
        let stale = Double(staleAfter.components.seconds)
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                INSERT INTO reconciliation_runs (channel, merchant, bill_date, status, claimed_by, executions)
                VALUES (\(channel), \(merchant), \(billDate)::date, 'running', \(claimant), 0)
                ON CONFLICT (channel, merchant, bill_date) DO UPDATE
                    SET status = 'running', claimed_by = EXCLUDED.claimed_by, claimed_at = now()
                    WHERE reconciliation_runs.status = 'failed'
                       OR (reconciliation_runs.status = 'running'
                           AND reconciliation_runs.claimed_at < now() - make_interval(secs => \(stale)))
                RETURNING id
                """, logger: logger)
            for try await _ in rows { return true }
            return false
        }
    }

    /// Stores a day's outcome in one transaction, replacing the day's earlier diffs: the run row (created, or
    /// counted as one more execution), its diffs, a `payment.query` / `refund.query` job for every repairable
    /// diff and a `reconciliation.diff` event for every other, both through the outbox (events-worker publishes
    /// them), so a repair is never lost and never sent without its run. Returns the run's id.
    @discardableResult
    public func saveReconciliation(
        channel: String, merchant: String, billDate: String, outcome: ReconciliationOutcome, claimant: String
    ) async throws -> Int64 {
        let logger = self.logger
        let status = outcome.diffs.isEmpty ? "agreed" : "diffs"
        let repairs = outcome.diffs.filter { $0.repair != nil }.count
        return try await withTransaction { connection in
            var runID: Int64 = 0
            var execution = 0
            let rows = try await connection.query(
                """
                INSERT INTO reconciliation_runs
                    (channel, merchant, bill_date, status, claimed_by, finished_at, executions, bill_payments,
                     bill_refunds, matched, diff_count, repairs_requested, error)
                VALUES (\(channel), \(merchant), \(billDate)::date, \(status), \(claimant), now(), 1,
                        \(outcome.billPayments), \(outcome.billRefunds), \(outcome.matched), \(outcome.diffs.count),
                        \(repairs), NULL)
                ON CONFLICT (channel, merchant, bill_date) DO UPDATE
                    SET status = EXCLUDED.status, claimed_by = EXCLUDED.claimed_by, finished_at = now(),
                        executions = reconciliation_runs.executions + 1, bill_payments = EXCLUDED.bill_payments,
                        bill_refunds = EXCLUDED.bill_refunds, matched = EXCLUDED.matched,
                        diff_count = EXCLUDED.diff_count, repairs_requested = EXCLUDED.repairs_requested, error = NULL
                RETURNING id, executions
                """, logger: logger)
            for try await (id, executions) in rows.decode((Int64, Int).self) { (runID, execution) = (id, executions) }
            try await connection.query("DELETE FROM reconciliation_diffs WHERE run_id = \(runID)", logger: logger)
            // In bulk, a chunk per statement: a day whose bill went wrong can differ on every one of its rows.
            var announced = 0
            for chunk in stride(from: 0, to: outcome.diffs.count, by: 5_000).map({
                outcome.diffs[$0..<min($0 + 5_000, outcome.diffs.count)]
            }) {
                let none = Int64.min
                try await connection.query(
                    """
                    INSERT INTO reconciliation_diffs
                        (run_id, kind, payment_no, refund_no, local_amount_minor, channel_amount_minor, local_status,
                         channel_status, repair, detail)
                    SELECT \(runID), kind, payment_no, NULLIF(refund_no, ''), NULLIF(local_amount, \(none)),
                           NULLIF(channel_amount, \(none)), NULLIF(local_status, ''), NULLIF(channel_status, ''),
                           NULLIF(repair, ''), detail
                    FROM unnest(\(chunk.map(\.kind.rawValue))::text[], \(chunk.map(\.paymentNo))::text[],
                                \(chunk.map { $0.refundNo ?? "" })::text[], \(chunk.map { $0.localAmountMinor ?? none })::int8[],
                                \(chunk.map { $0.channelAmountMinor ?? none })::int8[], \(chunk.map { $0.localStatus ?? "" })::text[],
                                \(chunk.map { $0.channelStatus ?? "" })::text[], \(chunk.map { $0.repair?.rawValue ?? "" })::text[],
                                \(chunk.map(\.detail))::text[])
                        AS d(kind, payment_no, refund_no, local_amount, channel_amount, local_status, channel_status,
                             repair, detail)
                    """, logger: logger)
                // A repair is asked once per execution (a rerun may ask again, a retried commit cannot); a diff is
                // announced once per day and kind, however often the day is rerun, and at most
                // `maxAnnouncedDiffs` per run (the rest are in reconciliation_diffs).
                var exchanges: [String] = []
                var routingKeys: [String] = []
                var messageIDs: [String] = []
                var payloads: [String] = []
                for diff in chunk {
                    let what = "\(diff.kind.rawValue):\(diff.paymentNo):\(diff.refundNo ?? "")"
                    switch diff.repair {
                    case .paymentQuery:
                        exchanges.append(Exchange.jobs)
                        routingKeys.append(RoutingKey.paymentQuery)
                        payloads.append(try PayFleetJSON.jsonText(QueryPayment(paymentNo: diff.paymentNo)))
                    case .refundQuery:
                        exchanges.append(Exchange.jobs)
                        routingKeys.append(RoutingKey.refundQuery)
                        payloads.append(try PayFleetJSON.jsonText(QueryRefund(refundNo: diff.refundNo ?? "")))
                    case nil:
                        guard announced < Self.maxAnnouncedDiffs else { continue }
                        announced += 1
                        exchanges.append(Exchange.events)
                        routingKeys.append(RoutingKey.reconciliationDiff)
                        payloads.append(
                            try PayFleetJSON.jsonText(
                                ReconciliationDiffEvent(channel: channel, merchant: merchant, billDate: billDate, diff: diff)))
                    }
                    messageIDs.append(
                        diff.repair == nil
                            ? "reconciliation.diff:\(channel):\(merchant):\(billDate):\(what)"
                            : "reconciliation:\(runID):\(execution):\(what)")
                }
                try await connection.query(
                    """
                    INSERT INTO outbox (exchange, routing_key, message_id, payload)
                    SELECT exchange, routing_key, message_id, payload::jsonb
                    FROM unnest(\(exchanges)::text[], \(routingKeys)::text[], \(messageIDs)::text[], \(payloads)::text[])
                        AS o(exchange, routing_key, message_id, payload)
                    ON CONFLICT (message_id) DO NOTHING
                    """, logger: logger)
            }
            return runID
        }
    }

    /// Marks the day's run failed (the bill could not be downloaded or read), keeping its earlier diffs.
    public func failReconciliation(channel: String, merchant: String, billDate: String, error: String, claimant: String)
        async throws
    {
        let logger = self.logger
        try await withConnection { connection in
            try await connection.query(
                """
                INSERT INTO reconciliation_runs (channel, merchant, bill_date, status, claimed_by, finished_at, error)
                VALUES (\(channel), \(merchant), \(billDate)::date, 'failed', \(claimant), now(), \(error))
                ON CONFLICT (channel, merchant, bill_date) DO UPDATE
                    SET status = 'failed', finished_at = now(), error = EXCLUDED.error,
                        executions = reconciliation_runs.executions + 1
                """, logger: logger)
        }
    }

    /// The latest run of every channel and merchant.
    public func lastReconciliations() async throws -> [ReconciliationRunRow] {
        let logger = self.logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT DISTINCT ON (channel, merchant)
                       id, channel, merchant, bill_date::text, status, executions, bill_payments, bill_refunds, matched,
                       diff_count, repairs_requested, finished_at, error
                FROM reconciliation_runs ORDER BY channel, merchant, bill_date DESC
                """, logger: logger)
            var result: [ReconciliationRunRow] = []
            for try await row in rows.decode(
                (Int64, String, String, String, String, Int, Int, Int, Int, Int, Int, Date?, String?).self)
            {
                result.append(
                    ReconciliationRunRow(
                        id: row.0, channel: row.1, merchant: row.2, billDate: row.3, status: row.4, executions: row.5,
                        billPayments: row.6, billRefunds: row.7, matched: row.8, diffCount: row.9,
                        repairsRequested: row.10, finishedAt: row.11, error: row.12))
            }
            return result
        }
    }
}

extension PayFleetStore {
    /// The diffs of run `runID`, first `limit`.
    public func reconciliationDiffs(runID: Int64, limit: Int = 50) async throws -> [ReconciliationDiff] {
        let logger = self.logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT kind, payment_no, refund_no, local_amount_minor, channel_amount_minor, local_status,
                       channel_status, repair, detail
                FROM reconciliation_diffs WHERE run_id = \(runID) ORDER BY id LIMIT \(limit)
                """, logger: logger)
            var diffs: [ReconciliationDiff] = []
            for try await row in rows.decode(
                (String, String, String?, Int64?, Int64?, String?, String?, String?, String).self)
            {
                guard let kind = ReconciliationDiff.Kind(rawValue: row.0) else { continue }
                diffs.append(
                    ReconciliationDiff(
                        kind: kind, paymentNo: row.1, refundNo: row.2, localAmountMinor: row.3, channelAmountMinor: row.4,
                        localStatus: row.5, channelStatus: row.6, repair: row.7.flatMap(ReconciliationDiff.Repair.init),
                        detail: row.8))
            }
            return diffs
        }
    }
}
