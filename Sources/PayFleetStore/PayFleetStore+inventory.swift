import Foundation
import Logging
import PayFleetMessages
import PostgresNIO

/// What ``PayFleetStore/confirmInventory(_:messageID:)`` did with an `order.paid` event.
public enum InventoryOutcome: Sendable, Equatable {
    /// The order's stock was deducted once; `inventory.confirmed` was written.
    case confirmed(InventoryConfirmed)
    /// Its reservation was gone and the free stock could not cover it: nothing deducted; `order.oversold` and a
    /// `refund.create` job for the payment were written.
    case oversold(OrderOversold)
    /// This event (same message id) was applied before: nothing changed.
    case duplicate
    /// The order's stock was already confirmed or found oversold: nothing changed.
    case alreadyInState(orderNo: String, status: InventoryStatus)
    /// The order is not paid (or unknown): nothing to confirm.
    case notPaid(orderNo: String)
}

extension PayFleetStore {
    /// Unit of work of inventory confirmation for one `order.paid` event, in ONE transaction.
    ///
    /// The event's message id goes into the inbox (`.duplicate` when there). The order is locked `FOR UPDATE`, then
    /// its stock rows in sku order (the order every unit of work locks them in, so none waits on another in a
    /// cycle). Then, by the order's `inventory_status`:
    /// - `reserved` ⇒ the reservation becomes a deduction: `on_hand` and `reserved` both decrease;
    /// - `released` (its payment closed and gave the reservation back, then the money came) ⇒ taken from free
    ///   stock (`on_hand − reserved`) when that covers every sku; otherwise the order is `oversold`: nothing is
    ///   deducted, `order.oversold` is written, and so is a `refund.create` job (refund_no `OVS<payment_no>`, for
    ///   what is left of the payment) on `payfleet.jobs`, through the outbox in the same transaction, so it is
    ///   asked for exactly once;
    /// - `confirmed` / `oversold` ⇒ `.alreadyInState`.
    ///
    /// Stock never goes negative: the CHECKs `on_hand >= 0`, `reserved >= 0`, `reserved <= on_hand` back the locks.
    public func confirmInventory(_ event: OrderPaid, messageID: String) async throws -> InventoryOutcome {
        let outcome = try await withTransaction { connection in
            try await self.confirmInventory(event, messageID: messageID, on: connection)
        }
        return outcome
    }

    private func confirmInventory(_ event: OrderPaid, messageID: String, on connection: PostgresConnection) async throws
        -> InventoryOutcome
    {
        let inboxRows = try await connection.query(
            """
            INSERT INTO inbox (dedup_key, kind) VALUES (\(messageID), \(RoutingKey.orderPaid))
            ON CONFLICT (dedup_key) DO NOTHING
            RETURNING 1
            """, logger: logger)
        var isNew = false
        for try await _ in inboxRows { isNew = true }
        guard isNew else { return .duplicate }

        let orderRows = try await connection.query(
            """
            SELECT id, status, inventory_status FROM orders WHERE order_no = \(event.orderNo) FOR UPDATE
            """, logger: logger)
        var found: (Int64, String, String)?
        for try await row in orderRows.decode((Int64, String, String).self) { found = row }
        guard let (orderID, orderStatus, storedInventory) = found, orderStatus == "paid" else {
            return .notPaid(orderNo: event.orderNo)
        }
        let inventory = try InventoryStatus(stored: storedInventory, orderNo: event.orderNo)
        if inventory == .confirmed || inventory == .oversold {
            return .alreadyInState(orderNo: event.orderNo, status: inventory)
        }

        var skus: [String] = []
        var wanted: [Int64] = []
        let itemRows = try await connection.query(
            """
            SELECT sku, sum(quantity)::int8 FROM order_items WHERE order_id = \(orderID)
            GROUP BY sku ORDER BY sku COLLATE "C"
            """, logger: logger)
        for try await (sku, quantity) in itemRows.decode((String, Int64).self) {
            skus.append(sku)
            wanted.append(quantity)
        }
        var free: [String: Int64] = [:]
        let stockRows = try await connection.query(
            "SELECT sku, on_hand - reserved FROM stock WHERE sku = ANY(\(skus)::text[]) ORDER BY sku FOR UPDATE",
            logger: logger)
        for try await (sku, available) in stockRows.decode((String, Int64).self) { free[sku] = available }
        let items = zip(skus, wanted).map { OrderItem(sku: $0, quantity: Int32(clamping: $1)) }

        if inventory == .released {
            let shortages = zip(skus, wanted).compactMap { sku, quantity in
                (free[sku] ?? 0) < quantity
                    ? OrderOversold.Shortage(sku: sku, wanted: quantity, available: max(0, free[sku] ?? 0)) : nil
            }
            if !shortages.isEmpty {
                return try await oversell(event, orderID: orderID, shortages: shortages, on: connection)
            }
            try await connection.query(
                """
                UPDATE stock SET on_hand = stock.on_hand - item.quantity, updated_at = now()
                FROM unnest(\(skus)::text[], \(wanted)::int8[]) AS item(sku, quantity)
                WHERE stock.sku = item.sku
                """, logger: logger)
        } else {
            try await connection.query(
                """
                UPDATE stock SET on_hand = stock.on_hand - item.quantity, reserved = stock.reserved - item.quantity,
                       updated_at = now()
                FROM unnest(\(skus)::text[], \(wanted)::int8[]) AS item(sku, quantity)
                WHERE stock.sku = item.sku
                """, logger: logger)
        }
        let now = Date()
        try await connection.query(
            """
            UPDATE orders SET inventory_status = \(InventoryStatus.confirmed.rawValue), inventory_confirmed_at = \(now)
            WHERE id = \(orderID)
            """, logger: logger)
        let confirmed = InventoryConfirmed(
            orderNo: event.orderNo, items: items, source: inventory == .released ? .freeStock : .reservation,
            confirmedAt: now)
        try await Self.writeOutbox(
            routingKey: RoutingKey.inventoryConfirmed, messageID: confirmed.messageID, payload: confirmed,
            on: connection, logger: logger)
        return .confirmed(confirmed)
    }

    private func oversell(
        _ event: OrderPaid, orderID: Int64, shortages: [OrderOversold.Shortage], on connection: PostgresConnection
    ) async throws -> InventoryOutcome {
        let paymentRows = try await connection.query(
            """
            SELECT payment_no, amount_minor - refunded_minor - refund_pending_minor, currency::text FROM payments
            WHERE order_id = \(orderID) AND status IN ('paid', 'partially_refunded')
            ORDER BY id LIMIT 1
            """, logger: logger)
        var payment: (String, Int64, String)?
        for try await row in paymentRows.decode((String, Int64, String).self) { payment = row }
        try await connection.query(
            "UPDATE orders SET inventory_status = \(InventoryStatus.oversold.rawValue) WHERE id = \(orderID)",
            logger: logger)
        let paymentNo = payment?.0 ?? event.paymentNo
        let refundNo = OrderOversold.refundNo(paymentNo: paymentNo)
        let left = payment?.1 ?? 0
        let oversold = OrderOversold(
            orderNo: event.orderNo, paymentNo: paymentNo, shortages: shortages, refundNo: refundNo,
            refundAmountMinor: left)
        try await Self.writeOutbox(
            routingKey: RoutingKey.orderOversold, messageID: oversold.messageID, payload: oversold, on: connection,
            logger: logger)
        if let (_, amount, currency) = payment, amount > 0 {
            let job = CreateRefund(
                refundNo: refundNo, paymentNo: paymentNo, amountMinor: amount, currency: currency,
                reason: "out of stock")
            try await Self.writeOutbox(
                exchange: Exchange.jobs, routingKey: RoutingKey.refundCreate, messageID: job.dedupKey, payload: job,
                on: connection, logger: logger)
        }
        return .oversold(oversold)
    }
}
