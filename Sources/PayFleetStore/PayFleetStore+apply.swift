import Foundation
import Logging
import PayFleetMessages
import PostgresNIO

extension PayFleetStore {
    /// Unit of work of a payment notification, in ONE transaction.
    ///
    /// The notification's dedup key goes into the inbox first: a key already there ⇒
    /// `.duplicate` (a concurrent duplicate waits on the key until the first commits).
    /// Then the payment and its order are locked (`FOR UPDATE`) and:
    ///
    /// - no such payment ⇒ anomaly `unknown_payment`;
    /// - another channel or merchant than the payment's ⇒ `channel_mismatch`;
    /// - `succeeded`: another currency ⇒ `currency_mismatch`, another amount ⇒ `amount_mismatch`;
    ///   already paid under the same channel trade number ⇒ `.alreadyInState`, under another
    ///   ⇒ `duplicate_payment`; pending, or closed (the money came after the close: it is the payer's money and
    ///   the order's, so it is settled, and inventory-worker takes the stock from what is free or refunds it) ⇒
    ///   payment and order paid at `occurred_at`, the payer's id kept, `order.paid` outbox row ⇒ `.settled`;
    /// - `closed`: pending ⇒ payment and order closed, the reservation released (stock rows
    ///   locked in sku order), `payment.closed` outbox row ⇒ `.closed`; otherwise `.alreadyInState`.
    ///
    /// An anomaly writes an `anomalies` row (detail: expected and notified amount and currency)
    /// and a `payment.anomaly` outbox row, and leaves the payment as it was. It is final: the
    /// notification is in the inbox and is not retried.
    public func apply(_ notification: PaymentNotification) async throws -> NotificationOutcome {
        if notification.kind == .succeeded, let settled = try await settleInOneStatement([notification])[0] {
            logOutcome(settled, of: notification)
            return settled
        }
        let outcome = try await withTransaction { connection in
            try await self.apply(notification, on: connection)
        }
        logOutcome(outcome, of: notification)
        return outcome
    }

    /// Group commit: the notifications' common cases in ONE transaction, one result per notification in the
    /// order given.
    ///
    /// Every notification `payfleet_settle_payments` can decide (a pending payment settled, a duplicate, a repeat)
    /// is decided in one statement, so the batch costs one commit instead of one per notification; they are
    /// locked in payment_no order, so two batches cannot deadlock on each other. The rest (anomalies, closes, late
    /// money) then run their full unit of work one by one after that commit. When the batch statement fails,
    /// nothing of it was committed: after a deadlock with another role or a constraint one notification broke,
    /// every notification is applied alone, so one bad notification cannot fail the others; when the database is
    /// unreachable, every notification fails with that error at once (alone, each would wait for it in turn).
    /// Each gets its own outcome or error, and the caller acks exactly the ones that succeeded.
    public func apply(batch notifications: [PaymentNotification]) async -> [Result<NotificationOutcome, any Error>] {
        var results = [Result<NotificationOutcome, any Error>?](repeating: nil, count: notifications.count)
        let succeeded = notifications.indices.filter { notifications[$0].kind == .succeeded }
        if succeeded.count > 1 {
            do {
                // The statement locks the payments in payment_no order itself.
                let answers = try await settleInOneStatement(succeeded.map { notifications[$0] })
                for (index, answer) in zip(succeeded, answers) {
                    guard let answer else { continue }
                    logOutcome(answer, of: notifications[index])
                    results[index] = .success(answer)
                }
            } catch where Self.isTransient(error) && !["40P01", "40001"].contains(Self.sqlState(of: error)) {
                // The database is unreachable or going away: every notification would fail alone too, each
                // after its own wait. They all fail now, and their deliveries go back to the queue.
                return notifications.map { _ in .failure(error) }
            } catch {
                logger.warning(
                    "group commit failed; applying its notifications one by one",
                    metadata: ["notifications": "\(succeeded.count)", "error": "\(error)"])
            }
        }
        for index in notifications.indices where results[index] == nil {
            do {
                results[index] = .success(try await apply(notifications[index]))
            } catch {
                results[index] = .failure(error)
            }
        }
        return results.map { $0! }
    }

    private func logOutcome(_ outcome: NotificationOutcome, of notification: PaymentNotification) {
        var metadata: Logger.Metadata = [
            "payment_no": "\(notification.paymentNo)", "notification": "\(notification.dedupKey)",
        ]
        switch outcome {
        case .settled(let event):
            metadata["order_no"] = "\(event.orderNo)"
            logger.info("payment settled", metadata: metadata)
        case .closed:
            logger.info("payment closed", metadata: metadata)
        case .duplicate:
            logger.debug("notification already applied", metadata: metadata)
        case .alreadyInState:
            logger.debug("payment already in the notified state", metadata: metadata)
        case .anomaly(let anomaly):
            metadata["anomaly"] = "\(anomaly.kind.rawValue)"
            logger.warning("payment notification anomaly", metadata: metadata)
        }
    }

    /// The common case in one statement: `payfleet_settle_payments` (migration 0007), given the notifications as
    /// arrays in the order given, settles a pending payment whose channel, merchant, amount and currency match, or
    /// recognises a duplicate or a repeat of a settlement, with the same locks, inbox and outbox rows as the full
    /// unit of work. One statement is one transaction, however many notifications it carries. An element is nil
    /// when the function wrote nothing for that notification and the full unit of work must decide (anomalies,
    /// late money for a closed payment).
    private func settleInOneStatement(_ notifications: [PaymentNotification]) async throws -> [NotificationOutcome?] {
        // order.paid as the full path writes it; the function fills in the order number it locked.
        let templates = notifications.map { notification in
            OrderPaid(
                orderNo: "", paymentNo: notification.paymentNo, channel: notification.channel,
                channelTradeNo: notification.channelTradeNo, amountMinor: notification.amountMinor,
                currency: notification.currency, paidAt: notification.occurredAt)
        }
        let events = templates.map { String(decoding: $0.encodedJSON(), as: UTF8.self) }
        let logger = self.logger
        let answers = try await withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT out_outcome, out_order_no
                FROM payfleet_settle_payments(
                    \(notifications.map(\.dedupKey))::text[], \(notifications.map(\.routingKey))::text[],
                    \(notifications.map(\.paymentNo))::text[], \(notifications.map(\.channel.rawValue))::text[],
                    \(notifications.map(\.merchant))::text[], \(notifications.map(\.amountMinor))::int8[],
                    \(notifications.map(\.currency))::text[], \(notifications.map(\.channelTradeNo))::text[],
                    \(notifications.map(\.occurredAt))::timestamptz[], \(notifications.map { $0.payerID ?? "" })::text[],
                    \(events)::text[], \(Exchange.events), \(RoutingKey.orderPaid), \(OrderPaid.messageIDPrefix))
                ORDER BY out_position
                """, logger: logger)
            var answers: [(String, String?)] = []
            answers.reserveCapacity(notifications.count)
            for try await row in rows.decode((String, String?).self) { answers.append(row) }
            return answers
        }
        guard answers.count == notifications.count else {
            throw StoreError(
                code: .inconsistentData,
                message: "payfleet_settle_payments answered \(answers.count) rows for \(notifications.count) notifications")
        }
        return zip(templates, answers).map { template, answer in
            switch answer {
            case ("settled", let orderNo?):
                var settled = template
                settled.orderNo = orderNo
                return .settled(settled)
            case ("duplicate", _):
                return .duplicate
            case ("already", _):
                return .alreadyInState(paymentNo: template.paymentNo)
            default:
                return nil
            }
        }
    }

    private struct LockedPayment {
        var paymentID: Int64
        var status: PaymentStatus
        var channel: String
        var merchant: String
        var amountMinor: Int64
        var currency: String
        var channelTradeNo: String?
        var orderID: Int64
        var orderNo: String
    }

    private func apply(_ notification: PaymentNotification, on connection: PostgresConnection) async throws
        -> NotificationOutcome
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

        let paymentRows = try await connection.query(
            """
            SELECT p.id, p.status, p.channel, p.merchant, p.amount_minor, p.currency, p.channel_trade_no,
                   o.id, o.order_no
            FROM payments p JOIN orders o ON o.id = p.order_id
            WHERE p.payment_no = \(notification.paymentNo)
            FOR UPDATE OF p, o
            """, logger: logger)
        var locked: LockedPayment?
        for try await row in paymentRows.decode(
            (Int64, String, String, String, Int64, String, String?, Int64, String).self)
        {
            locked = LockedPayment(
                paymentID: row.0, status: try PaymentStatus(stored: row.1, paymentNo: notification.paymentNo),
                channel: row.2, merchant: row.3, amountMinor: row.4,
                currency: row.5, channelTradeNo: row.6, orderID: row.7, orderNo: row.8)
        }
        guard let payment = locked else {
            return try await anomaly(
                .unknownPayment, notification, payment: nil, detail: "no payment has this payment_no",
                on: connection)
        }
        if payment.channel != notification.channel.rawValue {
            return try await anomaly(
                .channelMismatch, notification, payment: payment,
                detail: "the payment was made with channel \(payment.channel)", on: connection)
        }
        if payment.merchant != notification.merchant {
            return try await anomaly(
                .channelMismatch, notification, payment: payment,
                detail: "the payment belongs to another merchant account of \(payment.channel)", on: connection)
        }

        switch notification.kind {
        case .succeeded:
            return try await settle(notification, payment: payment, on: connection)
        case .closed:
            return try await close(notification, payment: payment, on: connection)
        }
    }

    private func settle(_ notification: PaymentNotification, payment: LockedPayment, on connection: PostgresConnection)
        async throws -> NotificationOutcome
    {
        if notification.currency != payment.currency {
            return try await anomaly(
                .currencyMismatch, notification, payment: payment,
                detail: "notified currency \(notification.currency), payment currency \(payment.currency)",
                on: connection)
        }
        if notification.amountMinor != payment.amountMinor {
            return try await anomaly(
                .amountMismatch, notification, payment: payment,
                detail: "notified \(notification.amountMinor), payment amount \(payment.amountMinor) (minor units)",
                on: connection)
        }
        switch payment.status {
        case .pending:
            break
        case .closed:
            logger.notice(
                "money arrived for a closed payment; settling it, inventory-worker decides the stock",
                metadata: ["payment_no": "\(notification.paymentNo)"])
        case .paid, .refunded, .partiallyRefunded:
            if payment.channelTradeNo == notification.channelTradeNo {
                return .alreadyInState(paymentNo: notification.paymentNo)
            }
            return try await anomaly(
                .duplicatePayment, notification, payment: payment,
                detail: "the payment is already paid under another channel trade number", on: connection)
        }

        try await connection.query(
            """
            UPDATE payments SET status = \(PaymentStatus.paid.rawValue), channel_trade_no = \(notification.channelTradeNo),
                   paid_at = \(notification.occurredAt), payer_id = coalesce(\(notification.payerID), payer_id)
            WHERE id = \(payment.paymentID)
            """, logger: logger)
        try await connection.query(
            "UPDATE orders SET status = 'paid', paid_at = \(notification.occurredAt) WHERE id = \(payment.orderID)",
            logger: logger)
        let event = OrderPaid(
            orderNo: payment.orderNo, paymentNo: notification.paymentNo, channel: notification.channel,
            channelTradeNo: notification.channelTradeNo, amountMinor: payment.amountMinor,
            currency: payment.currency, paidAt: notification.occurredAt)
        // message_id is unique per order: order.paid can only ever be written once per order.
        try await Self.writeOutbox(
            routingKey: RoutingKey.orderPaid, messageID: event.messageID, payload: event, on: connection,
            logger: logger)
        return .settled(event)
    }

    private func close(_ notification: PaymentNotification, payment: LockedPayment, on connection: PostgresConnection)
        async throws -> NotificationOutcome
    {
        guard payment.status == .pending else {
            return .alreadyInState(paymentNo: notification.paymentNo)
        }
        try await connection.query(
            """
            UPDATE payments SET status = \(PaymentStatus.closed.rawValue), closed_at = \(notification.occurredAt)
            WHERE id = \(payment.paymentID)
            """, logger: logger)
        try await connection.query(
            "UPDATE orders SET status = 'closed' WHERE id = \(payment.orderID) AND status = 'pending'", logger: logger)
        try await releaseReservation(orderID: payment.orderID, on: connection)
        let event = PaymentClosed(
            orderNo: payment.orderNo, paymentNo: notification.paymentNo, channel: notification.channel,
            closedAt: notification.occurredAt)
        try await Self.writeOutbox(
            routingKey: RoutingKey.paymentClosedEvent, messageID: event.messageID, payload: event, on: connection,
            logger: logger)
        return .closed(paymentNo: notification.paymentNo)
    }

    /// Gives an order's reserved quantities back, once: the order's inventory_status moves from reserved to
    /// released (an order whose stock was already released or deducted is left alone), then its stock rows are
    /// locked in sku order and updated.
    func releaseReservation(orderID: Int64, on connection: PostgresConnection) async throws {
        let reserved = try await connection.query(
            """
            UPDATE orders SET inventory_status = \(InventoryStatus.released.rawValue)
            WHERE id = \(orderID) AND inventory_status = \(InventoryStatus.reserved.rawValue)
            RETURNING 1
            """, logger: logger)
        var holdsReservation = false
        for try await _ in reserved { holdsReservation = true }
        guard holdsReservation else { return }
        var skus: [String] = []
        var quantities: [Int64] = []
        let itemRows = try await connection.query(
            """
            SELECT sku, sum(quantity)::int8 FROM order_items WHERE order_id = \(orderID)
            GROUP BY sku ORDER BY sku COLLATE "C"
            """, logger: logger)
        for try await (sku, quantity) in itemRows.decode((String, Int64).self) {
            skus.append(sku)
            quantities.append(quantity)
        }
        try await connection.query(
            "SELECT sku FROM stock WHERE sku = ANY(\(skus)::text[]) ORDER BY sku FOR UPDATE", logger: logger)
        try await connection.query(
            """
            UPDATE stock SET reserved = stock.reserved - item.quantity, updated_at = now()
            FROM unnest(\(skus)::text[], \(quantities)::int8[]) AS item(sku, quantity)
            WHERE stock.sku = item.sku
            """, logger: logger)
    }

    private func anomaly(
        _ kind: PaymentAnomaly.Kind, _ notification: PaymentNotification, payment: LockedPayment?, detail: String,
        on connection: PostgresConnection
    ) async throws -> NotificationOutcome {
        let event = PaymentAnomaly(
            kind: kind, paymentNo: notification.paymentNo, notificationID: notification.id,
            channel: notification.channel, expectedAmountMinor: payment?.amountMinor,
            notifiedAmountMinor: notification.amountMinor, expectedCurrency: payment?.currency,
            notifiedCurrency: notification.currency, detail: detail)
        let record = AnomalyDetail(
            event: event, notificationKind: notification.kind.rawValue, notifiedMerchant: notification.merchant,
            channelTradeNo: notification.channelTradeNo, occurredAt: notification.occurredAt,
            paymentStatus: payment?.status.rawValue, paymentChannel: payment?.channel, paymentMerchant: payment?.merchant,
            raw: notification.raw)
        let detailJSON = try PayFleetJSON.jsonText(record)
        try await connection.query(
            """
            INSERT INTO anomalies (kind, payment_no, channel, notification_id, detail)
            VALUES (\(kind.rawValue), \(notification.paymentNo), \(notification.channel.rawValue),
                    \(notification.id), \(detailJSON)::jsonb)
            ON CONFLICT (channel, notification_id, kind) DO NOTHING
            """, logger: logger)
        try await Self.writeOutbox(
            routingKey: RoutingKey.paymentAnomaly, messageID: event.messageID, payload: event, on: connection,
            logger: logger)
        return .anomaly(event)
    }
}

/// `anomalies.detail`: what the operator needs to investigate, including the verified
/// original body. Stays in the database; the event carries only ``PaymentAnomaly``.
struct AnomalyDetail: Encodable {
    var event: PaymentAnomaly
    var notificationKind: String
    var notifiedMerchant: String
    var channelTradeNo: String
    var occurredAt: Date
    var paymentStatus: String?
    var paymentChannel: String?
    var paymentMerchant: String?
    var raw: String

    enum CodingKeys: String, CodingKey {
        case raw
        case expectedAmountMinor = "expected_amount_minor"
        case expectedCurrency = "expected_currency"
        case notificationKind = "notification_kind"
        case notifiedMerchant = "notified_merchant"
        case channelTradeNo = "channel_trade_no"
        case occurredAt = "occurred_at"
        case paymentStatus = "payment_status"
        case paymentChannel = "payment_channel"
        case paymentMerchant = "payment_merchant"
    }

    func encode(to encoder: any Encoder) throws {
        // The event's fields (expected/notified amount and currency, …) at the top level.
        try event.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        // Unknown when there is no payment: an explicit null rather than a missing key.
        if event.expectedAmountMinor == nil { try container.encodeNil(forKey: .expectedAmountMinor) }
        if event.expectedCurrency == nil { try container.encodeNil(forKey: .expectedCurrency) }
        try container.encode(notificationKind, forKey: .notificationKind)
        try container.encode(notifiedMerchant, forKey: .notifiedMerchant)
        try container.encode(channelTradeNo, forKey: .channelTradeNo)
        try container.encode(occurredAt, forKey: .occurredAt)
        try container.encodeIfPresent(paymentStatus, forKey: .paymentStatus)
        try container.encodeIfPresent(paymentChannel, forKey: .paymentChannel)
        try container.encodeIfPresent(paymentMerchant, forKey: .paymentMerchant)
        try container.encode(raw, forKey: .raw)
    }
}
