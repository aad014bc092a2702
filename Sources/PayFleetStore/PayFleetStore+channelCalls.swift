import Foundation
import Logging
import PayFleetMessages
import PostgresNIO

/// What ``PayFleetStore/recordPrepay(paymentNo:payParameters:)`` did.
public enum PrepayRecording: Sendable, Equatable {
    /// The pay parameters were stored and `payment.created` written to the outbox.
    case announced(PaymentCreated)
    /// An earlier prepay of this payment was already recorded and announced; nothing changed.
    case alreadyAnnounced
    /// The payment is no longer pending (paid, closed, …): nothing changed.
    case notPending(status: PaymentStatus)
    /// No payment has this number.
    case unknownPayment
}

/// What ``PayFleetStore/rejectPayment(paymentNo:detail:)`` did.
public enum PaymentRejection: Sendable, Equatable {
    /// Payment closed, order cancelled, reservation released, `payment.rejected` written.
    case rejected(PaymentRejected)
    /// The payment is no longer pending: nothing changed.
    case notPending(status: PaymentStatus)
    case unknownPayment
}

extension PayFleetStore {
    /// Records a successful prepay, in ONE transaction: the payment (locked) keeps the first `payParameters`
    /// it is given and `prepaid_at`, and `payment.created` carrying them goes to the outbox (message id
    /// `payment.created:<payment_no>`, so a repeated prepay is announced once).
    public func recordPrepay(paymentNo: String, payParameters: [String: String]) async throws -> PrepayRecording {
        let logger = self.logger
        let parameters = try PayFleetJSON.jsonText(payParameters)
        return try await withTransaction { connection in
            let rows = try await connection.query(
                """
                SELECT p.status, p.prepaid_at IS NOT NULL, o.order_no, p.channel, p.merchant, p.amount_minor,
                       p.currency, p.expires_at
                FROM payments p JOIN orders o ON o.id = p.order_id
                WHERE p.payment_no = \(paymentNo)
                FOR UPDATE OF p
                """, logger: logger)
            var found: (String, Bool, String, String, String, Int64, String, Date?)?
            for try await row in rows.decode((String, Bool, String, String, String, Int64, String, Date?).self) {
                found = row
            }
            guard let (stored, prepaid, orderNo, channel, merchant, amount, currency, expiresAt) = found else {
                return .unknownPayment
            }
            let status = try PaymentStatus(stored: stored, paymentNo: paymentNo)
            guard status == .pending else { return .notPending(status: status) }
            if prepaid { return .alreadyAnnounced }
            guard let channelID = ChannelID(rawValue: channel) else {
                throw StoreError(
                    code: .inconsistentData, message: "payment \(paymentNo) has an unknown channel",
                    detail: "channel \(channel)")
            }
            try await connection.query(
                """
                UPDATE payments SET pay_parameters = \(parameters)::jsonb, prepaid_at = now()
                WHERE payment_no = \(paymentNo)
                """, logger: logger)
            let event = PaymentCreated(
                orderNo: orderNo, paymentNo: paymentNo, channel: channelID, merchant: merchant, amountMinor: amount,
                currency: currency, expiresAt: expiresAt, payParameters: payParameters)
            try await Self.writeOutbox(
                routingKey: RoutingKey.paymentCreated, messageID: event.messageID, payload: event, on: connection,
                logger: logger)
            return .announced(event)
        }
    }

    /// The channel refused to open a payment (a permanent error), in ONE transaction: the pending payment is
    /// closed, its order cancelled, its stock reservation released (stock rows locked in sku order) and
    /// `payment.rejected` (reason `channel_rejected`, message id `payment.rejected:<order_no>:channel_rejected`)
    /// written. A payment that is no longer pending is left alone.
    public func rejectPayment(paymentNo: String, detail: String) async throws -> PaymentRejection {
        let logger = self.logger
        let outcome: PaymentRejection = try await withTransaction { connection in
            let rows = try await connection.query(
                """
                SELECT p.id, p.status, o.id, o.order_no
                FROM payments p JOIN orders o ON o.id = p.order_id
                WHERE p.payment_no = \(paymentNo)
                FOR UPDATE OF p, o
                """, logger: logger)
            var found: (Int64, String, Int64, String)?
            for try await row in rows.decode((Int64, String, Int64, String).self) { found = row }
            guard let (paymentID, stored, orderID, orderNo) = found else { return .unknownPayment }
            let status = try PaymentStatus(stored: stored, paymentNo: paymentNo)
            guard status == .pending else { return .notPending(status: status) }
            try await connection.query(
                "UPDATE payments SET status = \(PaymentStatus.closed.rawValue), closed_at = now() WHERE id = \(paymentID)",
                logger: logger)
            try await connection.query(
                "UPDATE orders SET status = 'cancelled' WHERE id = \(orderID) AND status = 'pending'", logger: logger)
            try await releaseReservation(orderID: orderID, on: connection)
            let event = PaymentRejected(
                orderNo: orderNo, reason: .channelRejected, detail: Self.printable(detail))
            try await Self.writeOutbox(
                routingKey: RoutingKey.paymentRejected,
                messageID: "payment.rejected:\(orderNo):\(PaymentRejected.Reason.channelRejected.rawValue)",
                payload: event, on: connection, logger: logger)
            return .rejected(event)
        }
        if case .rejected(let event) = outcome {
            logger.notice(
                "payment rejected by its channel; stock released",
                metadata: ["payment_no": "\(paymentNo)", "order_no": "\(event.orderNo)"])
        }
        return outcome
    }

    /// The expiry sweep, in ONE transaction: claims up to `limit` pending payments past `expires_at`
    /// (`FOR UPDATE SKIP LOCKED`, so copies of payment-worker never claim the same row) whose close was never
    /// requested or was requested more than `again` ago, marks them `close_requested_at = now()`, and writes
    /// a `payment.close` job (reason `expired`) for each to the outbox, bound for `payfleet.jobs`. The
    /// events-worker publishes it; payment-worker closes the payment at its channel and locally.
    ///
    /// Returns the payment numbers claimed.
    public func requestExpiredCloses(limit: Int, again: Duration) async throws -> [String] {
        let logger = self.logger
        let limit = Int64(max(1, limit))
        let againSeconds = Double(again.components.seconds) + Double(again.components.attoseconds) / 1e18
        let claimed: [String] = try await withTransaction { connection in
            let rows = try await connection.query(
                """
                SELECT id, payment_no, extract(epoch FROM now())::int8
                FROM payments
                WHERE status = 'pending' AND expires_at <= now()
                  AND (close_requested_at IS NULL
                       OR close_requested_at <= now() - make_interval(secs => \(againSeconds)))
                ORDER BY expires_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var ids: [Int64] = []
            var numbers: [String] = []
            var epoch: Int64 = 0
            for try await (id, paymentNo, now) in rows.decode((Int64, String, Int64).self) {
                ids.append(id)
                numbers.append(paymentNo)
                epoch = now
            }
            guard !ids.isEmpty else { return [] }
            try await connection.query(
                "UPDATE payments SET close_requested_at = now() WHERE id = ANY(\(ids)::int8[])", logger: logger)
            for paymentNo in numbers {
                let job = ClosePayment(paymentNo: paymentNo, reason: .expired)
                // One job per request: a close asked for again after `again` is a new message.
                try await Self.writeOutbox(
                    exchange: Exchange.jobs, routingKey: RoutingKey.paymentClose,
                    messageID: "\(job.dedupKey):expired:\(epoch)", payload: job, on: connection, logger: logger)
            }
            return numbers
        }
        if !claimed.isEmpty {
            logger.info(
                "expired payments: close requested",
                metadata: ["count": "\(claimed.count)", "first": "\(claimed[0])"])
        }
        return claimed
    }
}
