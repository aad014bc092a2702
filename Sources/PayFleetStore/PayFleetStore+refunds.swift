import Foundation
import Logging
import PayFleetMessages
import PostgresNIO

/// What ``PayFleetStore/requestRefund(_:)`` did with a `refund.create` job.
public enum RefundRequestOutcome: Sendable, Equatable {
    /// The refund is recorded as `requested` with its amount reserved on the payment — now, or by an earlier
    /// delivery of the same job whose channel call never got an answer recorded: call the channel with it.
    case callChannel(RefundRow)
    /// The same job was honoured before and the channel answered (processing, succeeded or failed): nothing to do.
    case alreadyRequested(RefundRow)
    /// The job was refused; a `refund.failed` outbox row was written and no money was reserved.
    case refused(RefundFailed)
}

/// What the channel said about one of our refunds, after a refund call or a refund query.
public enum RefundAnswer: Sendable, Equatable {
    /// Accepted: the money is on its way (WeChat Pay PROCESSING, Baidu's batch, Stripe `pending`).
    case accepted(channelRefundNo: String?)
    /// The money is back with the payer. `amountMinor` is what the channel says it refunded, when it says so.
    case succeeded(channelRefundNo: String, amountMinor: Int64?, at: Date)
    /// Refused (`channel_rejected`) or given up (`channel_failed`).
    case failed(channelRefundNo: String?, reason: RefundFailed.Reason, detail: String)
}

/// What a refund unit of work did.
public enum RefundOutcome: Sendable, Equatable {
    /// requested → processing.
    case processing(refundNo: String)
    /// The refund succeeded: the payment's refunded amount grew and `refund.succeeded` was written.
    case succeeded(RefundSucceeded)
    /// The refund failed: its reservation (or, after a success, its amount) went back to the payment and
    /// `refund.failed` was written.
    case failed(RefundFailed)
    /// The refund is already in the reported state: nothing changed.
    case alreadyInState(refundNo: String, status: RefundStatus)
    /// This notification (same dedup key) was applied before: nothing changed.
    case duplicate
    /// Not settled as reported: an `anomalies` row and a `payment.anomaly` outbox row were written. For a refund
    /// PayFleet never asked for whose amount fits, the refund was also recorded (origin `channel`) and the
    /// payment's refunded amount grew, with a `refund.succeeded` event.
    case anomaly(PaymentAnomaly)
    /// No refund has this number.
    case unknownRefund(refundNo: String)
}

extension PayFleetStore {
    /// Unit of work of `refund.create`, in ONE transaction, idempotent on `refund_no`.
    ///
    /// The payment (named by payment_no or order_no) is locked `FOR UPDATE`; then:
    /// - an invalid job, an unknown payment, or a refund_no already used by a refund of another payment, amount or
    ///   currency ⇒ `.refused` (`invalid_job`, `unknown_payment`, `refund_no_conflict`), nothing stored but the
    ///   `refund.failed` event (its message id carries a digest of the job, so a different job is never swallowed);
    /// - the same job again ⇒ `.callChannel` while the refund is still `requested` (the channel call of an earlier
    ///   delivery never got its answer recorded: calling again under the same refund_no is safe), else
    ///   `.alreadyRequested`;
    /// - a payment that is not paid ⇒ the refund recorded `failed` (`not_refundable`); refunded + pending + amount
    ///   beyond what was paid ⇒ recorded `failed` (`exceeds_refundable`); both with `refund.failed:<refund_no>`;
    /// - otherwise the refund is inserted `requested` and its amount added to `refund_pending_minor` ⇒
    ///   `.callChannel`. The CHECK `refunded_minor + refund_pending_minor <= amount_minor` backs the check.
    public func requestRefund(_ job: CreateRefund) async throws -> RefundRequestOutcome {
        if let problem = job.validationProblem() {
            let event = RefundFailed(
                refundNo: Self.printable(job.refundNo), paymentNo: job.paymentNo.map(Self.printable),
                orderNo: job.orderNo.map(Self.printable), amountMinor: job.amountMinor, reason: .invalidJob,
                detail: problem)
            let logger = self.logger
            _ = try await withConnection { connection in
                try await Self.writeOutbox(
                    routingKey: RoutingKey.refundFailedEvent, messageID: Self.refusalMessageID(job, .invalidJob),
                    payload: event, on: connection, logger: logger)
            }
            logger.notice("refund.create refused", metadata: ["reason": "invalid_job", "detail": "\(problem)"])
            return .refused(event)
        }
        let outcome = try await withTransaction { connection in
            try await self.requestRefund(job, on: connection)
        }
        var metadata: Logger.Metadata = ["refund_no": "\(job.refundNo)"]
        switch outcome {
        case .callChannel(let row):
            metadata["payment_no"] = "\(row.paymentNo)"
            logger.info("refund requested; amount reserved", metadata: metadata)
        case .alreadyRequested(let row):
            logger.debug("refund.create repeated", metadata: metadata.merging(["status": "\(row.status.rawValue)"]) { a, _ in a })
        case .refused(let event):
            metadata["reason"] = "\(event.reason.rawValue)"
            logger.notice("refund.create refused", metadata: metadata)
        }
        return outcome
    }

    private func requestRefund(_ job: CreateRefund, on connection: PostgresConnection) async throws
        -> RefundRequestOutcome
    {
        guard let payment = try await lockPayment(paymentNo: job.paymentNo, orderNo: job.orderNo, on: connection) else {
            return try await refuse(job, .unknownPayment, "no payment has this payment_no or order_no", on: connection)
        }
        if let orderNo = job.orderNo, orderNo != payment.orderNo {
            return try await refuse(job, .invalidJob, "payment_no and order_no name different orders", on: connection)
        }
        if let existing = try await lockRefund(refundNo: job.refundNo, on: connection) {
            guard existing.paymentID == payment.id, existing.amountMinor == job.amountMinor,
                existing.currency == job.currency
            else {
                return try await refuse(
                    job, .refundNoConflict, "refund_no is already used by a refund of another payment or amount",
                    on: connection)
            }
            let row = try await refundRow(refundNo: job.refundNo, on: connection)
            return existing.status == .requested ? .callChannel(row) : .alreadyRequested(row)
        }
        if job.currency != payment.currency {
            return try await refuse(
                job, .invalidJob, "currency \(job.currency) is not the payment's (\(payment.currency))", on: connection)
        }

        var refusal: (RefundFailed.Reason, String)?
        if !payment.status.isSettled {
            refusal = (.notRefundable, "the payment is \(payment.status.rawValue): nothing was paid to give back")
        } else if payment.refundedMinor + payment.pendingMinor + job.amountMinor > payment.amountMinor {
            refusal = (
                .exceedsRefundable,
                "refunded \(payment.refundedMinor) + pending \(payment.pendingMinor) + \(job.amountMinor) exceeds the "
                    + "\(payment.amountMinor) paid (minor units)"
            )
        }
        let status: RefundStatus = refusal == nil ? .requested : .failed
        let inserted = try await connection.query(
            """
            INSERT INTO refunds (refund_no, payment_id, amount_minor, currency, status, reason, last_error, failed_at)
            VALUES (\(job.refundNo), \(payment.id), \(job.amountMinor), \(job.currency), \(status.rawValue),
                    \(job.reason), \(refusal?.1), CASE WHEN \(status.rawValue) = 'failed' THEN now() END)
            ON CONFLICT (refund_no) DO NOTHING
            RETURNING id
            """, logger: logger)
        var didInsert = false
        for try await _ in inserted { didInsert = true }
        guard didInsert else {
            // A transaction refunding another payment took the number first (this insert waited for its commit).
            return try await refuse(
                job, .refundNoConflict, "refund_no is already used by a refund of another payment", on: connection)
        }
        if let (reason, detail) = refusal {
            let event = RefundFailed(
                refundNo: job.refundNo, paymentNo: payment.paymentNo, orderNo: payment.orderNo,
                amountMinor: job.amountMinor, reason: reason, detail: detail)
            try await Self.writeOutbox(
                routingKey: RoutingKey.refundFailedEvent, messageID: event.messageID, payload: event, on: connection,
                logger: logger)
            return .refused(event)
        }
        try await connection.query(
            """
            UPDATE payments SET refund_pending_minor = refund_pending_minor + \(job.amountMinor)
            WHERE id = \(payment.id)
            """, logger: logger)
        return .callChannel(try await refundRow(refundNo: job.refundNo, on: connection))
    }

    /// Records what the channel answered to a refund call or a refund query, in ONE transaction (payment, then
    /// refund, locked `FOR UPDATE`): the same unit of work as a refund notification's, without the inbox.
    ///
    /// `.accepted` moves `requested` to `processing` and keeps the channel's refund number; `.succeeded` and
    /// `.failed` settle the refund (see ``applyRefund(_:)``). An amount that differs from ours is an anomaly.
    public func recordRefundAnswer(refundNo: String, _ answer: RefundAnswer) async throws -> RefundOutcome {
        let outcome = try await withTransaction { connection in
            guard let paymentID = try await self.paymentID(ofRefund: refundNo, on: connection),
                let payment = try await self.lockPayment(id: paymentID, on: connection),
                let refund = try await self.lockRefund(refundNo: refundNo, on: connection)
            else { return RefundOutcome.unknownRefund(refundNo: refundNo) }
            switch answer {
            case .accepted(let channelRefundNo):
                guard refund.status == .requested else {
                    try await self.keepChannelRefundNo(channelRefundNo, of: refund, on: connection)
                    return .alreadyInState(refundNo: refundNo, status: refund.status)
                }
                try await connection.query(
                    """
                    UPDATE refunds SET status = \(RefundStatus.processing.rawValue), processing_at = now(),
                           updated_at = now(), channel_refund_no = coalesce(\(channelRefundNo), channel_refund_no)
                    WHERE id = \(refund.id)
                    """, logger: self.logger)
                return .processing(refundNo: refundNo)
            case .succeeded(let channelRefundNo, let amount, let at):
                let report = RefundReport(
                    id: "answer:\(refundNo)", channelRefundNo: channelRefundNo, amountMinor: amount, at: at,
                    raw: "", source: "channel answer")
                return try await self.succeed(refund, of: payment, report, on: connection)
            case .failed(let channelRefundNo, let reason, let detail):
                try await self.keepChannelRefundNo(channelRefundNo, of: refund, on: connection)
                return try await self.fail(refund, of: payment, reason: reason, detail: detail, on: connection)
            }
        }
        log(outcome, refundNo: refundNo)
        return outcome
    }

    /// Unit of work of a refund notification, in ONE transaction.
    ///
    /// The dedup key goes into the inbox first (`.duplicate` when there). The payment is the refund's (by our
    /// refund_no), else the one the notification names (payment_no, else the channel's trade number), else the one
    /// holding the channel's refund number; it is locked, then the refund (by refund_no or channel refund number).
    /// Then:
    /// - the payment's channel or merchant is not the notification's ⇒ anomaly `channel_mismatch`;
    /// - an amount that differs from the refund's ⇒ anomaly `refund_amount_mismatch`, nothing settled;
    /// - succeeded: requested / processing ⇒ `succeeded`, its amount moves from `refund_pending_minor` to
    ///   `refunded_minor`, the payment becomes `partially_refunded` or `refunded`, one `refund.succeeded`; a refund
    ///   that had failed and that the payment can still take succeeds the same way; already succeeded ⇒
    ///   `.alreadyInState`;
    /// - failed: requested / processing ⇒ `failed`, its reservation released, one `refund.failed`; a refund that
    ///   had succeeded (Stripe reverses some) gives its amount back to the payment; already failed ⇒
    ///   `.alreadyInState`.
    ///
    /// A refund PayFleet never asked for (made in the merchant console; found by the payment's number or channel
    /// trade number) is recorded, never lost: when it succeeded and its amount is known and fits, it is inserted
    /// (origin `channel`) and accounted like ours; either way an `unrequested_refund` anomaly tells an operator.
    /// While one of the payment's refunds is still `requested` (its channel call's answer not yet recorded) such a
    /// notification may be that very refund: ``StoreError/Code/refundNotYetRecorded`` is thrown and nothing is
    /// written, so the caller tries again later.
    public func applyRefund(_ notification: RefundNotification) async throws -> RefundOutcome {
        let outcome: RefundOutcome
        do {
            outcome = try await withTransaction { connection in
                try await self.applyRefund(notification, on: connection)
            }
        } catch let error as PostgresTransactionError {
            // Rolled back on purpose: say so plainly rather than as a transaction failure.
            if let inner = error.closureError as? StoreError, inner.code == .refundNotYetRecorded { throw inner }
            throw error
        }
        log(outcome, refundNo: notification.refundNo)
        return outcome
    }

    private func applyRefund(_ notification: RefundNotification, on connection: PostgresConnection) async throws
        -> RefundOutcome
    {
        let inboxRows = try await connection.query(
            """
            INSERT INTO inbox (dedup_key, kind) VALUES (\(notification.dedupKey), \(notification.routingKey))
            ON CONFLICT (dedup_key) DO NOTHING
            RETURNING 1
            """, logger: logger)
        var isNew = false
        for try await _ in inboxRows { isNew = true }
        guard isNew else { return .duplicate }

        // The payment: the refund's, else the one the notification names.
        var found = try await paymentID(ofRefund: notification.refundNo, on: connection)
        if found == nil {
            found = try await paymentID(
                paymentNo: notification.paymentNo, channel: notification.channel,
                channelTradeNo: notification.channelTradeNo, on: connection)
        }
        if found == nil, !notification.channelRefundNo.isEmpty {
            found = try await paymentID(ofChannelRefund: notification.channelRefundNo, notification.channel, on: connection)
        }
        guard let paymentID = found, let payment = try await lockPayment(id: paymentID, on: connection) else {
            return try await refundAnomaly(
                .unknownPayment, notification, payment: nil, refund: nil,
                detail: "no payment has this payment_no or channel trade number", on: connection)
        }
        if payment.channel != notification.channel.rawValue || payment.merchant != notification.merchant {
            return try await refundAnomaly(
                .channelMismatch, notification, payment: payment, refund: nil,
                detail: "the payment belongs to \(payment.channel) merchant account \(payment.merchant)", on: connection)
        }

        var refund = try await lockRefund(refundNo: notification.refundNo, on: connection)
        if refund?.paymentID != paymentID { refund = nil }
        if refund == nil, !notification.channelRefundNo.isEmpty {
            refund = try await lockRefund(channelRefundNo: notification.channelRefundNo, paymentID: paymentID, on: connection)
        }
        guard let refund else {
            return try await unrequestedRefund(notification, payment: payment, on: connection)
        }
        if let amount = notification.amountMinor, amount != refund.amountMinor {
            return try await refundAnomaly(
                .refundAmountMismatch, notification, payment: payment, refund: refund,
                detail: "notified \(amount), refund amount \(refund.amountMinor) (minor units)", on: connection)
        }
        switch notification.status {
        case .succeeded:
            let report = RefundReport(
                id: notification.id, channelRefundNo: notification.channelRefundNo, amountMinor: notification.amountMinor,
                at: notification.occurredAt, raw: notification.raw, source: "notification")
            return try await succeed(refund, of: payment, report, on: connection)
        case .failed:
            try await keepChannelRefundNo(notification.channelRefundNo, of: refund, on: connection)
            return try await fail(
                refund, of: payment, reason: .channelFailed, detail: "the channel reports the refund failed or closed",
                on: connection)
        }
    }

    // MARK: Settling

    /// What the channel reported about a refund that succeeded.
    private struct RefundReport {
        var id: String
        var channelRefundNo: String
        var amountMinor: Int64?
        var at: Date
        var raw: String
        var source: String
    }

    private func succeed(
        _ refund: LockedRefund, of payment: RefundablePayment, _ report: RefundReport, on connection: PostgresConnection
    ) async throws -> RefundOutcome {
        if refund.status == .succeeded {
            try await keepChannelRefundNo(report.channelRefundNo, of: refund, on: connection)
            return .alreadyInState(refundNo: refund.refundNo, status: .succeeded)
        }
        if let amount = report.amountMinor, amount != refund.amountMinor {
            return try await refundAnomaly(
                .refundAmountMismatch, id: report.id, payment: payment, refund: refund, notifiedAmount: amount,
                detail: "the \(report.source) says \(amount), refund amount \(refund.amountMinor) (minor units)",
                raw: report.raw, on: connection)
        }
        var pending = payment.pendingMinor
        if refund.status.isPending { pending -= refund.amountMinor }
        let refunded = payment.refundedMinor + refund.amountMinor
        guard refunded + pending <= payment.amountMinor else {
            // Only a refund that had failed can get here: its amount was released and since taken by others.
            return try await refundAnomaly(
                .refundAmountMismatch, id: report.id, payment: payment, refund: refund,
                notifiedAmount: refund.amountMinor,
                detail: "the channel reports a failed refund succeeded, but the payment has no room left for it",
                raw: report.raw, on: connection)
        }
        let paymentStatus = PaymentStatus.settled(amountMinor: payment.amountMinor, refundedMinor: refunded)
        try await connection.query(
            """
            UPDATE refunds SET status = \(RefundStatus.succeeded.rawValue), succeeded_at = \(report.at),
                   updated_at = now(), last_error = NULL,
                   channel_refund_no = coalesce(nullif(\(report.channelRefundNo), ''), channel_refund_no)
            WHERE id = \(refund.id)
            """, logger: logger)
        try await updateMoney(payment, refunded: refunded, pending: pending, status: paymentStatus, on: connection)
        let event = RefundSucceeded(
            refundNo: refund.refundNo, paymentNo: payment.paymentNo, orderNo: payment.orderNo,
            channel: try payment.channelID(), channelRefundNo: report.channelRefundNo.isEmpty
                ? (refund.channelRefundNo ?? "") : report.channelRefundNo,
            amountMinor: refund.amountMinor, currency: refund.currency, refundedMinor: refunded,
            paymentStatus: paymentStatus, origin: refund.origin == "channel" ? .channel : .requested,
            succeededAt: report.at)
        try await Self.writeOutbox(
            routingKey: RoutingKey.refundSucceededEvent, messageID: event.messageID, payload: event, on: connection,
            logger: logger)
        return .succeeded(event)
    }

    private func fail(
        _ refund: LockedRefund, of payment: RefundablePayment, reason: RefundFailed.Reason, detail: String,
        on connection: PostgresConnection
    ) async throws -> RefundOutcome {
        var refunded = payment.refundedMinor
        var pending = payment.pendingMinor
        var messageID = "refund.failed:\(refund.refundNo)"
        switch refund.status {
        case .failed:
            return .alreadyInState(refundNo: refund.refundNo, status: .failed)
        case .requested, .processing:
            pending -= refund.amountMinor
        case .succeeded:
            // Reversed after succeeding (Stripe): the money is back with the merchant.
            refunded -= refund.amountMinor
            messageID += ":reversed"
        }
        let paymentStatus =
            payment.status.isSettled
            ? PaymentStatus.settled(amountMinor: payment.amountMinor, refundedMinor: refunded) : payment.status
        let text = Self.printable(detail)
        try await connection.query(
            """
            UPDATE refunds SET status = \(RefundStatus.failed.rawValue), failed_at = now(), updated_at = now(),
                   last_error = \(text)
            WHERE id = \(refund.id)
            """, logger: logger)
        try await updateMoney(payment, refunded: refunded, pending: pending, status: paymentStatus, on: connection)
        let event = RefundFailed(
            refundNo: refund.refundNo, paymentNo: payment.paymentNo, orderNo: payment.orderNo,
            amountMinor: refund.amountMinor, reason: reason, detail: text)
        try await Self.writeOutbox(
            routingKey: RoutingKey.refundFailedEvent, messageID: messageID, payload: event, on: connection,
            logger: logger)
        return .failed(event)
    }

    private func updateMoney(
        _ payment: RefundablePayment, refunded: Int64, pending: Int64, status: PaymentStatus,
        on connection: PostgresConnection
    ) async throws {
        guard payment.status == status || payment.status.canMove(to: status) else {
            throw StoreError(
                code: .inconsistentData, message: "payment \(payment.paymentNo) cannot move to \(status.rawValue)",
                detail: "from \(payment.status.rawValue)")
        }
        try await connection.query(
            """
            UPDATE payments SET refunded_minor = \(refunded), refund_pending_minor = \(pending),
                   status = \(status.rawValue)
            WHERE id = \(payment.id)
            """, logger: logger)
    }

    private func keepChannelRefundNo(_ number: String?, of refund: LockedRefund, on connection: PostgresConnection)
        async throws
    {
        guard let number, !number.isEmpty, refund.channelRefundNo == nil else { return }
        try await connection.query(
            "UPDATE refunds SET channel_refund_no = \(number), updated_at = now() WHERE id = \(refund.id)",
            logger: logger)
    }

    /// A refund notification that matches none of the payment's refunds.
    private func unrequestedRefund(
        _ notification: RefundNotification, payment: RefundablePayment, on connection: PostgresConnection
    ) async throws -> RefundOutcome {
        let awaiting = try await connection.query(
            """
            SELECT count(*)::int8 FROM refunds
            WHERE payment_id = \(payment.id) AND status = \(RefundStatus.requested.rawValue)
              AND channel_refund_no IS NULL
            """, logger: logger)
        for try await count in awaiting.decode(Int64.self) where count > 0 {
            throw StoreError(
                code: .refundNotYetRecorded,
                message: "a refund notification arrived while the payment's refund call is not yet recorded; retry it",
                detail: "payment \(payment.paymentNo), refund \(notification.refundNo)")
        }
        guard notification.status == .succeeded else {
            return try await refundAnomaly(
                .unrequestedRefund, notification, payment: payment, refund: nil,
                detail: "the channel reports a refund PayFleet never asked for, failed: no money moved", on: connection)
        }
        var amount = notification.amountMinor
        if amount == nil, let total = notification.refundedTotalMinor, payment.pendingMinor == 0 {
            amount = total - payment.refundedMinor
        }
        guard let amount, amount > 0, payment.status.isSettled,
            payment.refundedMinor + payment.pendingMinor + amount <= payment.amountMinor
        else {
            return try await refundAnomaly(
                .unrequestedRefund, notification, payment: payment, refund: nil,
                detail: "a refund PayFleet never asked for, whose amount is unknown or more than the payment has "
                    + "left: not recorded; check it at the channel", on: connection)
        }
        let inserted = try await connection.query(
            """
            INSERT INTO refunds (refund_no, payment_id, amount_minor, currency, status, origin, reason,
                                 channel_refund_no, processing_at, succeeded_at)
            VALUES (\(notification.refundNo), \(payment.id), \(amount), \(payment.currency),
                    \(RefundStatus.succeeded.rawValue), 'channel', 'made at the channel',
                    \(notification.channelRefundNo), \(notification.occurredAt), \(notification.occurredAt))
            ON CONFLICT (refund_no) DO NOTHING
            RETURNING id
            """, logger: logger)
        var didInsert = false
        for try await _ in inserted { didInsert = true }
        guard didInsert else {
            return try await refundAnomaly(
                .unrequestedRefund, notification, payment: payment, refund: nil,
                detail: "a refund PayFleet never asked for, numbered like a refund of another payment: not recorded",
                on: connection)
        }
        let refunded = payment.refundedMinor + amount
        let status = PaymentStatus.settled(amountMinor: payment.amountMinor, refundedMinor: refunded)
        try await updateMoney(payment, refunded: refunded, pending: payment.pendingMinor, status: status, on: connection)
        let event = RefundSucceeded(
            refundNo: notification.refundNo, paymentNo: payment.paymentNo, orderNo: payment.orderNo,
            channel: notification.channel, channelRefundNo: notification.channelRefundNo, amountMinor: amount,
            currency: payment.currency, refundedMinor: refunded, paymentStatus: status, origin: .channel,
            succeededAt: notification.occurredAt)
        try await Self.writeOutbox(
            routingKey: RoutingKey.refundSucceededEvent, messageID: event.messageID, payload: event, on: connection,
            logger: logger)
        return try await refundAnomaly(
            .unrequestedRefund, notification, payment: payment, refund: nil,
            detail: "a refund PayFleet never asked for (made at the channel) of \(amount): recorded as refunded",
            on: connection)
    }

    // MARK: The refund.query sweep

    /// The refund.query sweep, in ONE transaction: claims up to `limit` refunds `processing` for longer than
    /// `olderThan` whose query was never requested or was requested more than `again` ago (`FOR UPDATE SKIP
    /// LOCKED`, so refund-workers sweeping side by side never claim the same row), marks them
    /// `query_requested_at = now()`, and writes a `refund.query` job for each to the outbox, bound for
    /// `payfleet.jobs`. Returns the refund numbers claimed.
    public func requestRefundQueries(olderThan: Duration, again: Duration, limit: Int) async throws -> [String] {
        let logger = self.logger
        let limit = Int64(max(1, limit))
        let age = Self.seconds(olderThan)
        let againSeconds = Self.seconds(again)
        let claimed: [String] = try await withTransaction { connection in
            let rows = try await connection.query(
                """
                SELECT id, refund_no, extract(epoch FROM now())::int8
                FROM refunds
                WHERE status = \(RefundStatus.processing.rawValue)
                  AND processing_at <= now() - make_interval(secs => \(age))
                  AND (query_requested_at IS NULL
                       OR query_requested_at <= now() - make_interval(secs => \(againSeconds)))
                ORDER BY processing_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
                """, logger: logger)
            var ids: [Int64] = []
            var numbers: [String] = []
            var epoch: Int64 = 0
            for try await (id, refundNo, now) in rows.decode((Int64, String, Int64).self) {
                ids.append(id)
                numbers.append(refundNo)
                epoch = now
            }
            guard !ids.isEmpty else { return [] }
            try await connection.query(
                "UPDATE refunds SET query_requested_at = now() WHERE id = ANY(\(ids)::int8[])", logger: logger)
            for refundNo in numbers {
                let job = QueryRefund(refundNo: refundNo)
                try await Self.writeOutbox(
                    exchange: Exchange.jobs, routingKey: RoutingKey.refundQuery,
                    messageID: "\(job.dedupKey):sweep:\(epoch)", payload: job, on: connection, logger: logger)
            }
            return numbers
        }
        if !claimed.isEmpty {
            logger.info(
                "refunds processing too long: query requested", metadata: ["count": "\(claimed.count)", "first": "\(claimed[0])"])
        }
        return claimed
    }

    // MARK: Reading

    /// The refund with this number and its payment, or nil when there is none.
    public func refund(refundNo: String) async throws -> RefundRow? {
        try await withConnection { connection in
            try await self.paymentID(ofRefund: refundNo, on: connection) == nil
                ? nil : try await self.refundRow(refundNo: refundNo, on: connection)
        }
    }

    /// The refunds of a payment (by payment_no or its order's order_no), oldest first.
    public func refunds(paymentNo: String) async throws -> [RefundRow] {
        let logger = self.logger
        return try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT r.refund_no FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN orders o ON o.id = p.order_id
                WHERE p.payment_no = \(paymentNo) OR o.order_no = \(paymentNo)
                ORDER BY r.id
                """, logger: logger)
            var numbers: [String] = []
            for try await number in rows.decode(String.self) { numbers.append(number) }
            var result: [RefundRow] = []
            for number in numbers { result.append(try await self.refundRow(refundNo: number, on: connection)) }
            return result
        }
    }

    private func refundRow(refundNo: String, on connection: PostgresConnection) async throws -> RefundRow {
        let rows = try await connection.query(
            """
            SELECT r.refund_no, r.status, r.origin, r.amount_minor, r.currency::text, r.reason, r.channel_refund_no,
                   r.last_error, r.created_at, r.processing_at, r.succeeded_at, r.failed_at,
                   p.payment_no, o.order_no, p.channel, p.merchant, p.status, p.amount_minor, p.channel_trade_no,
                   p.payer_id
            FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN orders o ON o.id = p.order_id
            WHERE r.refund_no = \(refundNo)
            """, logger: logger)
        for try await row in rows.decode(
            (
                String, String, String, Int64, String, String, String?, String?, Date, Date?, Date?, Date?, String,
                String, String, String, String, Int64, String?, String?
            ).self)
        {
            return RefundRow(
                refundNo: row.0, status: try RefundStatus(stored: row.1, refundNo: row.0),
                origin: RefundRow.Origin(rawValue: row.2) ?? .requested, amountMinor: row.3, currency: row.4,
                reason: row.5, channelRefundNo: row.6, lastError: row.7, createdAt: row.8, processingAt: row.9,
                succeededAt: row.10, failedAt: row.11, paymentNo: row.12, orderNo: row.13, channel: row.14,
                merchant: row.15, paymentStatus: try PaymentStatus(stored: row.16, paymentNo: row.12),
                paymentAmountMinor: row.17, channelTradeNo: row.18, payerID: row.19)
        }
        throw StoreError(code: .inconsistentData, message: "refund \(refundNo) vanished inside its own transaction")
    }

    // MARK: Locking

    struct RefundablePayment {
        var id: Int64
        var paymentNo: String
        var status: PaymentStatus
        var channel: String
        var merchant: String
        var amountMinor: Int64
        var currency: String
        var refundedMinor: Int64
        var pendingMinor: Int64
        var orderNo: String

        func channelID() throws -> ChannelID {
            guard let channel = ChannelID(rawValue: channel) else {
                throw StoreError(
                    code: .inconsistentData, message: "payment \(paymentNo) has an unknown channel",
                    detail: "channel \(channel)")
            }
            return channel
        }
    }

    struct LockedRefund {
        var id: Int64
        var refundNo: String
        var paymentID: Int64
        var amountMinor: Int64
        var currency: String
        var status: RefundStatus
        var origin: String
        var channelRefundNo: String?
    }

    private static let lockedPaymentColumns = """
        SELECT p.id, p.payment_no, p.status, p.channel, p.merchant, p.amount_minor, p.currency::text, p.refunded_minor,
               p.refund_pending_minor, o.order_no
        FROM payments p JOIN orders o ON o.id = p.order_id
        """

    private func lockedPayment(_ rows: PostgresRowSequence) async throws -> RefundablePayment? {
        for try await row in rows.decode((Int64, String, String, String, String, Int64, String, Int64, Int64, String).self)
        {
            return RefundablePayment(
                id: row.0, paymentNo: row.1, status: try PaymentStatus(stored: row.2, paymentNo: row.1), channel: row.3,
                merchant: row.4, amountMinor: row.5, currency: row.6, refundedMinor: row.7, pendingMinor: row.8,
                orderNo: row.9)
        }
        return nil
    }

    /// Locks the payment named by `paymentNo` (preferred) or by its order's `orderNo`.
    private func lockPayment(paymentNo: String?, orderNo: String?, on connection: PostgresConnection) async throws
        -> RefundablePayment?
    {
        let query: PostgresQuery
        if let paymentNo {
            query = "\(unescaped: Self.lockedPaymentColumns) WHERE p.payment_no = \(paymentNo) FOR UPDATE OF p"
        } else if let orderNo {
            query = "\(unescaped: Self.lockedPaymentColumns) WHERE o.order_no = \(orderNo) ORDER BY p.id LIMIT 1 FOR UPDATE OF p"
        } else {
            return nil
        }
        return try await lockedPayment(try await connection.query(query, logger: logger))
    }

    private func lockPayment(id: Int64, on connection: PostgresConnection) async throws -> RefundablePayment? {
        try await lockedPayment(
            try await connection.query(
                "\(unescaped: Self.lockedPaymentColumns) WHERE p.id = \(id) FOR UPDATE OF p", logger: logger))
    }

    private static let lockedRefundColumns = """
        SELECT id, refund_no, payment_id, amount_minor, currency::text, status, origin, channel_refund_no FROM refunds
        """

    private func lockedRefund(_ rows: PostgresRowSequence) async throws -> LockedRefund? {
        for try await row in rows.decode((Int64, String, Int64, Int64, String, String, String, String?).self) {
            return LockedRefund(
                id: row.0, refundNo: row.1, paymentID: row.2, amountMinor: row.3, currency: row.4,
                status: try RefundStatus(stored: row.5, refundNo: row.1), origin: row.6, channelRefundNo: row.7)
        }
        return nil
    }

    private func lockRefund(refundNo: String, on connection: PostgresConnection) async throws -> LockedRefund? {
        try await lockedRefund(
            try await connection.query(
                "\(unescaped: Self.lockedRefundColumns) WHERE refund_no = \(refundNo) FOR UPDATE", logger: logger))
    }

    private func lockRefund(channelRefundNo: String, paymentID: Int64, on connection: PostgresConnection) async throws
        -> LockedRefund?
    {
        try await lockedRefund(
            try await connection.query(
                """
                \(unescaped: Self.lockedRefundColumns)
                WHERE channel_refund_no = \(channelRefundNo) AND payment_id = \(paymentID)
                ORDER BY id LIMIT 1 FOR UPDATE
                """, logger: logger))
    }

    private func paymentID(ofRefund refundNo: String, on connection: PostgresConnection) async throws -> Int64? {
        let rows = try await connection.query(
            "SELECT payment_id FROM refunds WHERE refund_no = \(refundNo)", logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        return nil
    }

    private func paymentID(
        ofChannelRefund channelRefundNo: String, _ channel: ChannelID, on connection: PostgresConnection
    ) async throws -> Int64? {
        let rows = try await connection.query(
            """
            SELECT r.payment_id FROM refunds r JOIN payments p ON p.id = r.payment_id
            WHERE r.channel_refund_no = \(channelRefundNo) AND p.channel = \(channel.rawValue)
            ORDER BY r.id LIMIT 1
            """, logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        return nil
    }

    private func paymentID(
        paymentNo: String, channel: ChannelID, channelTradeNo: String?, on connection: PostgresConnection
    ) async throws -> Int64? {
        if !paymentNo.isEmpty {
            let rows = try await connection.query(
                "SELECT id FROM payments WHERE payment_no = \(paymentNo)", logger: logger)
            for try await id in rows.decode(Int64.self) { return id }
        }
        if let channelTradeNo, !channelTradeNo.isEmpty {
            let rows = try await connection.query(
                "SELECT id FROM payments WHERE channel = \(channel.rawValue) AND channel_trade_no = \(channelTradeNo)",
                logger: logger)
            for try await id in rows.decode(Int64.self) { return id }
        }
        return nil
    }

    // MARK: Refusals and anomalies

    private func refuse(
        _ job: CreateRefund, _ reason: RefundFailed.Reason, _ detail: String, on connection: PostgresConnection
    ) async throws -> RefundRequestOutcome {
        let event = RefundFailed(
            refundNo: job.refundNo, paymentNo: job.paymentNo, orderNo: job.orderNo, amountMinor: job.amountMinor,
            reason: reason, detail: detail)
        try await Self.writeOutbox(
            routingKey: RoutingKey.refundFailedEvent, messageID: Self.refusalMessageID(job, reason), payload: event,
            on: connection, logger: logger)
        return .refused(event)
    }

    /// `refund.failed:<refund_no>:<reason>:<digest of the job>` — for refusals that store no refund (invalid job,
    /// unknown payment, refund_no conflict): one event per distinct job, never hiding the refund_no's own
    /// `refund.failed:<refund_no>`.
    static func refusalMessageID(_ job: CreateRefund, _ reason: RefundFailed.Reason) -> String {
        let digest = (try? PayFleetJSON.encode(job)).map(Fingerprint.hex) ?? Fingerprint.hex(Array(job.refundNo.utf8))
        let numberPart = CreateRefund.isValidRefundNo(job.refundNo) ? job.refundNo : "invalid"
        return "refund.failed:\(numberPart):\(reason.rawValue):\(digest)"
    }

    private func refundAnomaly(
        _ kind: PaymentAnomaly.Kind, _ notification: RefundNotification, payment: RefundablePayment?, refund: LockedRefund?,
        detail: String, on connection: PostgresConnection
    ) async throws -> RefundOutcome {
        try await refundAnomaly(
            kind, id: notification.id, channel: notification.channel,
            paymentNo: payment?.paymentNo ?? notification.paymentNo, payment: payment, refund: refund,
            refundNo: notification.refundNo, notifiedAmount: notification.amountMinor ?? 0, detail: detail,
            raw: notification.raw, on: connection)
    }

    private func refundAnomaly(
        _ kind: PaymentAnomaly.Kind, id: String, payment: RefundablePayment, refund: LockedRefund, notifiedAmount: Int64,
        detail: String, raw: String, on connection: PostgresConnection
    ) async throws -> RefundOutcome {
        try await refundAnomaly(
            kind, id: id, channel: try payment.channelID(), paymentNo: payment.paymentNo, payment: payment,
            refund: refund, refundNo: refund.refundNo, notifiedAmount: notifiedAmount, detail: detail, raw: raw,
            on: connection)
    }

    private func refundAnomaly(
        _ kind: PaymentAnomaly.Kind, id: String, channel: ChannelID, paymentNo: String, payment: RefundablePayment?,
        refund: LockedRefund?, refundNo: String, notifiedAmount: Int64, detail: String, raw: String,
        on connection: PostgresConnection
    ) async throws -> RefundOutcome {
        let event = PaymentAnomaly(
            kind: kind, paymentNo: paymentNo, notificationID: id, channel: channel,
            expectedAmountMinor: refund?.amountMinor, notifiedAmountMinor: notifiedAmount,
            expectedCurrency: payment?.currency, notifiedCurrency: payment?.currency ?? "", detail: detail)
        let record = RefundAnomalyDetail(
            event: event, refundNo: refundNo, refundStatus: refund?.status.rawValue,
            paymentStatus: payment?.status.rawValue, raw: raw)
        try await connection.query(
            """
            INSERT INTO anomalies (kind, payment_no, channel, notification_id, detail)
            VALUES (\(kind.rawValue), \(paymentNo), \(channel.rawValue), \(id), \(try PayFleetJSON.jsonText(record))::jsonb)
            ON CONFLICT (channel, notification_id, kind) DO NOTHING
            """, logger: logger)
        try await Self.writeOutbox(
            routingKey: RoutingKey.paymentAnomaly, messageID: event.messageID, payload: event, on: connection,
            logger: logger)
        return .anomaly(event)
    }

    private func log(_ outcome: RefundOutcome, refundNo: String) {
        let metadata: Logger.Metadata = ["refund_no": "\(refundNo)"]
        switch outcome {
        case .processing: logger.info("refund accepted by the channel", metadata: metadata)
        case .succeeded(let event):
            logger.info("refund succeeded", metadata: metadata.merging(["payment_no": "\(event.paymentNo)"]) { a, _ in a })
        case .failed(let event):
            logger.notice("refund failed", metadata: metadata.merging(["reason": "\(event.reason.rawValue)"]) { a, _ in a })
        case .alreadyInState, .duplicate: logger.debug("refund already in the reported state", metadata: metadata)
        case .anomaly(let anomaly):
            logger.warning("refund anomaly", metadata: metadata.merging(["anomaly": "\(anomaly.kind.rawValue)"]) { a, _ in a })
        case .unknownRefund: logger.notice("no refund has this number", metadata: metadata)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// `anomalies.detail` of a refund anomaly: the event's fields, the refund and payment states, the verified body.
struct RefundAnomalyDetail: Encodable {
    var event: PaymentAnomaly
    var refundNo: String
    var refundStatus: String?
    var paymentStatus: String?
    var raw: String

    enum CodingKeys: String, CodingKey {
        case raw
        case refundNo = "refund_no"
        case refundStatus = "refund_status"
        case paymentStatus = "payment_status"
    }

    func encode(to encoder: any Encoder) throws {
        try event.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(refundNo, forKey: .refundNo)
        try container.encodeIfPresent(refundStatus, forKey: .refundStatus)
        try container.encodeIfPresent(paymentStatus, forKey: .paymentStatus)
        try container.encode(raw, forKey: .raw)
    }
}
