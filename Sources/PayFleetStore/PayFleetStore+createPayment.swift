import Foundation
import Logging
import PayFleetMessages
import PostgresNIO

extension PayFleetStore {
    /// How long a payment stays open when the job gives no `expires_at`.
    public static let defaultPaymentLifetime: TimeInterval = 2 * 60 * 60

    /// Unit of work of `payment.create`, in ONE transaction; idempotent on `order_no`.
    ///
    /// - An invalid job ⇒ `.rejected(.invalidJob)`.
    /// - `order_no` already used by the same job ⇒ `.alreadyCreated`, nothing changes; by a
    ///   different job (user, channel, merchant, amount, currency, items or payment_no
    ///   differ) ⇒ `.rejected(.conflictingJob)`, the existing order untouched.
    /// - Not enough stock (on_hand − reserved, unknown skus count as 0) ⇒
    ///   `.rejected(.insufficientStock)`: no order, no reservation, no payment.
    /// - A caller-chosen `payment_no` already taken ⇒ `.rejected(.conflictingJob)`.
    /// - Otherwise the order, its items, the reservation (stock rows locked in sku order), the
    ///   pending payment and a `payment.created` outbox row ⇒ `.created`.
    ///
    /// With `announce` false the `payment.created` row is not written: payment-worker announces the payment
    /// with ``recordPrepay(paymentNo:payParameters:)`` once its channel has opened it.
    ///
    /// Every rejection writes one `payment.rejected` outbox row. Its message id is
    /// `payment.rejected:<order_no>` for insufficient stock (the event's own `messageID`) and
    /// `payment.rejected:<order_no>:<reason>:<digest of the job>` for invalid and conflicting
    /// jobs, so a redelivered job is announced once and a different job is never swallowed.
    public func createPayment(_ job: CreatePayment, announce: Bool = true) async throws -> CreatePaymentOutcome {
        if let problem = job.validationProblem() {
            let event = PaymentRejected(orderNo: Self.printable(job.orderNo), reason: .invalidJob, detail: problem)
            let messageID = Self.rejectionMessageID(job, reason: .invalidJob)
            let logger = self.logger
            _ = try await withConnection { connection in
                try await Self.writeOutbox(
                    routingKey: RoutingKey.paymentRejected, messageID: messageID, payload: event, on: connection,
                    logger: logger)
            }
            logger.notice(
                "payment.create rejected", metadata: ["reason": "\(event.reason.rawValue)", "detail": "\(problem)"])
            return .rejected(event)
        }

        let outcome = try await withTransaction { connection in
            try await self.createPayment(job, announce: announce, on: connection)
        }
        switch outcome {
        case .created(let event):
            logger.info(
                "payment created", metadata: ["order_no": "\(event.orderNo)", "payment_no": "\(event.paymentNo)"])
        case .alreadyCreated(let paymentNo):
            logger.debug(
                "payment.create repeated", metadata: ["order_no": "\(job.orderNo)", "payment_no": "\(paymentNo)"])
        case .rejected(let event):
            logger.notice(
                "payment.create rejected",
                metadata: ["order_no": "\(event.orderNo)", "reason": "\(event.reason.rawValue)"])
        }
        return outcome
    }

    private func createPayment(_ job: CreatePayment, announce: Bool, on connection: PostgresConnection) async throws
        -> CreatePaymentOutcome
    {
        // Everything up to the payment row can be undone without undoing the rejection's outbox row.
        try await connection.query("SAVEPOINT create_payment", logger: logger)

        // A concurrent transaction inserting the same order_no makes this wait for its commit,
        // then do nothing: exactly one order per order_no.
        let orderRows = try await connection.query(
            """
            INSERT INTO orders (order_no, user_id, amount_minor, currency, description)
            VALUES (\(job.orderNo), \(job.userID), \(job.amountMinor), \(job.currency), \(job.description))
            ON CONFLICT (order_no) DO NOTHING
            RETURNING id
            """, logger: logger)
        var insertedOrderID: Int64?
        for try await id in orderRows.decode(Int64.self) { insertedOrderID = id }
        guard let orderID = insertedOrderID else {
            return try await existingOrder(for: job, on: connection)
        }

        try await connection.query(
            """
            INSERT INTO order_items (order_id, sku, quantity)
            SELECT \(orderID), item.sku, item.quantity
            FROM unnest(\(job.items.map(\.sku))::text[], \(job.items.map(\.quantity))::int4[]) AS item(sku, quantity)
            """, logger: logger)

        // Reserve: lock the stock rows in sku order, check them all, then add to reserved.
        let needed = job.quantitiesBySKU
        let skus = needed.map(\.sku)
        var available: [String: Int64] = [:]
        let stockRows = try await connection.query(
            """
            SELECT sku, on_hand - reserved FROM stock
            WHERE sku = ANY(\(skus)::text[])
            ORDER BY sku
            FOR UPDATE
            """, logger: logger)
        for try await (sku, free) in stockRows.decode((String, Int64).self) { available[sku] = free }
        let short = needed.filter { (available[$0.sku] ?? 0) < $0.quantity }
        if !short.isEmpty {
            try await connection.query("ROLLBACK TO SAVEPOINT create_payment", logger: logger)
            let detail =
                "not enough stock for " + short.map { "\($0.sku) (\($0.quantity) wanted)" }.joined(separator: ", ")
            let event = PaymentRejected(orderNo: job.orderNo, reason: .insufficientStock, detail: detail)
            try await Self.writeOutbox(
                routingKey: RoutingKey.paymentRejected, messageID: event.messageID, payload: event, on: connection,
                logger: logger)
            return .rejected(event)
        }
        try await connection.query(
            """
            UPDATE stock SET reserved = stock.reserved + item.quantity, updated_at = now()
            FROM unnest(\(skus)::text[], \(needed.map(\.quantity))::int8[]) AS item(sku, quantity)
            WHERE stock.sku = item.sku
            """, logger: logger)

        let expiresAt =
            job.expiresAt
            ?? Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + Self.defaultPaymentLifetime).rounded(.down))
        var paymentNo: String?
        for _ in 0..<5 where paymentNo == nil {
            let candidate = job.paymentNo ?? PaymentNumber.generate()
            let paymentRows = try await connection.query(
                """
                INSERT INTO payments (payment_no, order_id, channel, merchant, amount_minor, currency, expires_at)
                VALUES (\(candidate), \(orderID), \(job.channel.rawValue), \(job.merchant), \(job.amountMinor),
                        \(job.currency), \(expiresAt))
                ON CONFLICT (payment_no) DO NOTHING
                RETURNING payment_no
                """, logger: logger)
            for try await inserted in paymentRows.decode(String.self) { paymentNo = inserted }
            if paymentNo == nil, job.paymentNo != nil {
                try await connection.query("ROLLBACK TO SAVEPOINT create_payment", logger: logger)
                return try await reject(
                    job, reason: .conflictingJob, detail: "payment_no is already used by another order",
                    on: connection)
            }
        }
        guard let paymentNo else {
            throw StoreError(code: .inconsistentData, message: "could not generate an unused payment number")
        }

        let event = PaymentCreated(
            orderNo: job.orderNo, paymentNo: paymentNo, channel: job.channel, merchant: job.merchant,
            amountMinor: job.amountMinor, currency: job.currency, expiresAt: expiresAt)
        if announce {
            try await Self.writeOutbox(
                routingKey: RoutingKey.paymentCreated, messageID: event.messageID, payload: event, on: connection,
                logger: logger)
        }
        try await connection.query("RELEASE SAVEPOINT create_payment", logger: logger)
        return .created(event)
    }

    /// The order_no exists: the same job again, or a different job reusing the order_no.
    private func existingOrder(for job: CreatePayment, on connection: PostgresConnection) async throws
        -> CreatePaymentOutcome
    {
        let orderRows = try await connection.query(
            """
            SELECT o.id, o.user_id, o.amount_minor, o.currency, p.payment_no, p.channel, p.merchant
            FROM orders o JOIN payments p ON p.order_id = o.id
            WHERE o.order_no = \(job.orderNo)
            ORDER BY p.id
            LIMIT 1
            """, logger: logger)
        var found:
            (
                orderID: Int64, userID: String, amount: Int64, currency: String, paymentNo: String, channel: String,
                merchant: String
            )?
        for try await row in orderRows.decode((Int64, String, Int64, String, String, String, String).self) {
            found = row
        }
        guard let existing = found else {
            throw StoreError(
                code: .inconsistentData, message: "order \(job.orderNo) exists without a payment",
                detail: "orders.order_no = \(job.orderNo) has no payments row")
        }

        var stored: [String: Int64] = [:]
        let itemRows = try await connection.query(
            "SELECT sku, sum(quantity)::int8 FROM order_items WHERE order_id = \(existing.orderID) GROUP BY sku",
            logger: logger)
        for try await (sku, quantity) in itemRows.decode((String, Int64).self) { stored[sku] = quantity }
        let wanted = Dictionary(uniqueKeysWithValues: job.quantitiesBySKU.map { ($0.sku, $0.quantity) })

        var differences: [String] = []
        if existing.userID != job.userID { differences.append("user_id") }
        if existing.channel != job.channel.rawValue { differences.append("channel") }
        if existing.merchant != job.merchant { differences.append("merchant") }
        if existing.amount != job.amountMinor { differences.append("amount_minor") }
        if existing.currency != job.currency { differences.append("currency") }
        if stored != wanted { differences.append("items") }
        if let paymentNo = job.paymentNo, paymentNo != existing.paymentNo { differences.append("payment_no") }

        if differences.isEmpty {
            return .alreadyCreated(paymentNo: existing.paymentNo)
        }
        return try await reject(
            job, reason: .conflictingJob,
            detail: "order_no is already used by a different job (differs in \(differences.joined(separator: ", ")))",
            on: connection)
    }

    private func reject(
        _ job: CreatePayment, reason: PaymentRejected.Reason, detail: String, on connection: PostgresConnection
    ) async throws -> CreatePaymentOutcome {
        let event = PaymentRejected(orderNo: job.orderNo, reason: reason, detail: detail)
        try await Self.writeOutbox(
            routingKey: RoutingKey.paymentRejected, messageID: Self.rejectionMessageID(job, reason: reason),
            payload: event, on: connection, logger: logger)
        return .rejected(event)
    }

    /// `payment.rejected:<order_no>:<reason>:<digest>` — one per distinct job. An order_no
    /// that is itself invalid is replaced by `invalid`, keeping the id short and printable.
    static func rejectionMessageID(_ job: CreatePayment, reason: PaymentRejected.Reason) -> String {
        let digest = (try? PayFleetJSON.encode(job)).map(Fingerprint.hex) ?? Fingerprint.hex(Array(job.orderNo.utf8))
        let orderPart = CreatePayment.isValidIdentifier(job.orderNo, maxLength: 64) ? job.orderNo : "invalid"
        return "payment.rejected:\(orderPart):\(reason.rawValue):\(digest)"
    }

    /// A string safe to put in an event: control characters replaced, at most 256 characters.
    static func printable(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars.prefix(256) {
            scalars.append(CreatePayment.isControl(scalar) ? "\u{FFFD}" : scalar)
        }
        return String(scalars)
    }
}

/// FNV-1a, 64 bits: a stable digest to tell jobs apart in message ids (not a security hash).
enum Fingerprint {
    static func hex(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let text = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}
