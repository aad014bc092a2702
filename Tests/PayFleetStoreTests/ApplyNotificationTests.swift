import Foundation
import PayFleetMessages
import PayFleetStore
import PostgresNIO
import Testing

@Suite("payment notifications", .enabled(if: TestDatabase.enabled, "PAYFLEET_TEST_POSTGRES_URL is not set"))
struct ApplyNotificationTests {
    @Test("a success notification settles the payment and the order once, with one order.paid")
    func settlesOnce() async throws {
        let store = try await TestDatabase.store()
        let payment = try await Fixture.pendingPayment()
        let notification = Fixture.notification(for: payment)

        let outcome = try await store.apply(notification)
        let expected = OrderPaid(
            orderNo: payment.orderNo, paymentNo: payment.paymentNo, channel: payment.channel,
            channelTradeNo: notification.channelTradeNo, amountMinor: payment.amountMinor, currency: payment.currency,
            paidAt: notification.occurredAt)
        #expect(outcome == .settled(expected))

        let row = try #require(try await store.paymentStatus(paymentNo: payment.paymentNo))
        #expect(row.status == .paid && row.orderStatus == "paid")
        #expect(row.channelTradeNo == notification.channelTradeNo)
        #expect(row.paidAt == notification.occurredAt)
        let orderPaidAt = try await TestDatabase.count(
            "SELECT count(*) FROM orders WHERE order_no = \(payment.orderNo) AND paid_at = \(notification.occurredAt)")
        #expect(orderPaidAt == 1)

        // The same notification again, and another one for the same trade: nothing more.
        #expect(try await store.apply(notification) == .duplicate)
        let resent = Fixture.notification(for: payment, channelTradeNo: notification.channelTradeNo)
        #expect(try await store.apply(resent) == .alreadyInState(paymentNo: payment.paymentNo))

        let paidRows = try await TestDatabase.outbox(orderNo: payment.orderNo).filter { $0.routingKey == "order.paid" }
        #expect(paidRows.count == 1)
        #expect(paidRows.first?.messageID == "order.paid:\(payment.orderNo)")
        #expect(try TestDatabase.decode(OrderPaid.self, try #require(paidRows.first).payload) == expected)
        #expect(
            try await TestDatabase.count("SELECT count(*) FROM inbox WHERE dedup_key = \(notification.dedupKey)") == 1)
    }

    @Test("the same notification ten times at once: one settled, nine duplicates, one order.paid")
    func concurrentDuplicates() async throws {
        let store = try await TestDatabase.store()
        let payment = try await Fixture.pendingPayment()
        let notification = Fixture.notification(for: payment)
        let outcomes = try await withThrowingTaskGroup(of: NotificationOutcome.self) { group in
            for _ in 0..<10 { group.addTask { try await store.apply(notification) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { if case .settled = $0 { true } else { false } }.count == 1)
        #expect(outcomes.filter { $0 == .duplicate }.count == 9)
        let paidRows = try await TestDatabase.outbox(orderNo: payment.orderNo).filter { $0.routingKey == "order.paid" }
        #expect(paidRows.count == 1)
    }

    @Test("distinct notifications of one payment racing: it settles once")
    func concurrentDistinctNotifications() async throws {
        let store = try await TestDatabase.store()
        let payment = try await Fixture.pendingPayment()
        let tradeNo = "T" + TestDatabase.unique()
        let outcomes = try await withThrowingTaskGroup(of: NotificationOutcome.self) { group in
            for _ in 0..<6 {
                let notification = Fixture.notification(for: payment, channelTradeNo: tradeNo)
                group.addTask { try await store.apply(notification) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.filter { if case .settled = $0 { true } else { false } }.count == 1)
        #expect(outcomes.filter { $0 == .alreadyInState(paymentNo: payment.paymentNo) }.count == 5)
        #expect(
            try await TestDatabase.outbox(orderNo: payment.orderNo).filter { $0.routingKey == "order.paid" }.count == 1)
    }

    @Test("an amount mismatch is an anomaly: anomalies row, payment.anomaly row, payment still pending")
    func amountMismatch() async throws {
        let store = try await TestDatabase.store()
        let payment = try await Fixture.pendingPayment(amountMinor: 8888)
        let notification = Fixture.notification(for: payment, amountMinor: 1)

        let outcome = try await store.apply(notification)
        guard case .anomaly(let anomaly) = outcome else {
            Issue.record("expected .anomaly, got \(outcome)")
            return
        }
        #expect(anomaly.kind == .amountMismatch)
        #expect(anomaly.expectedAmountMinor == 8888 && anomaly.notifiedAmountMinor == 1)
        #expect(anomaly.expectedCurrency == "CNY" && anomaly.notifiedCurrency == "CNY")
        #expect(anomaly.paymentNo == payment.paymentNo && anomaly.notificationID == notification.id)

        let row = try #require(try await store.paymentStatus(paymentNo: payment.paymentNo))
        #expect(row.status == .pending && row.orderStatus == "pending" && row.channelTradeNo == nil)

        let details = try await anomalyDetails(notification)
        #expect(details.count == 1)
        let detail = try #require(details.first)
        #expect(detail.kind == "amount_mismatch")
        #expect(detail.expectedAmount == 8888 && detail.notifiedAmount == 1)
        #expect(detail.expectedCurrency == "CNY" && detail.notifiedCurrency == "CNY")

        let outbox = try await TestDatabase.outbox(paymentNo: payment.paymentNo).filter {
            $0.routingKey == "payment.anomaly"
        }
        #expect(outbox.count == 1)
        #expect(outbox.first?.messageID == anomaly.messageID)
        #expect(try TestDatabase.decode(PaymentAnomaly.self, try #require(outbox.first).payload) == anomaly)
        #expect(
            try await TestDatabase.outbox(orderNo: payment.orderNo).filter { $0.routingKey == "order.paid" }.isEmpty)

        // Redelivered: a duplicate, no second anomaly.
        #expect(try await store.apply(notification) == .duplicate)
        #expect(try await anomalyDetails(notification).count == 1)
    }

    @Test("a currency mismatch is an anomaly and the payment stays pending")
    func currencyMismatch() async throws {
        let store = try await TestDatabase.store()
        let payment = try await Fixture.pendingPayment()
        let notification = Fixture.notification(for: payment, currency: "USD")
        guard case .anomaly(let anomaly) = try await store.apply(notification) else {
            Issue.record("expected an anomaly")
            return
        }
        #expect(anomaly.kind == .currencyMismatch)
        #expect(try await store.paymentStatus(paymentNo: payment.paymentNo)?.status == .pending)
        let detail = try #require(try await anomalyDetails(notification).first)
        #expect(detail.expectedCurrency == "CNY" && detail.notifiedCurrency == "USD")
    }

    @Test("an unknown payment is an anomaly")
    func unknownPayment() async throws {
        let store = try await TestDatabase.store()
        let notification = PaymentNotification(
            id: "N" + TestDatabase.unique(), channel: .alipay, merchant: "m1", kind: .succeeded,
            paymentNo: "NOSUCH" + TestDatabase.unique(), channelTradeNo: "T1", amountMinor: 100, currency: "CNY",
            occurredAt: Fixture.now(), raw: "trade_status=TRADE_SUCCESS")
        let outcome = try await store.apply(notification)
        guard case .anomaly(let anomaly) = outcome else {
            Issue.record("expected .anomaly, got \(outcome)")
            return
        }
        #expect(anomaly.kind == .unknownPayment)
        #expect(anomaly.expectedAmountMinor == nil && anomaly.notifiedAmountMinor == 100)
        let detail = try #require(try await anomalyDetails(notification).first)
        #expect(detail.kind == "unknown_payment" && detail.notifiedAmount == 100 && detail.expectedAmount == nil)
        #expect(
            try await TestDatabase.outbox(paymentNo: notification.paymentNo).map(\.routingKey) == ["payment.anomaly"])
    }

    @Test("a notification from another channel is a channel_mismatch anomaly")
    func channelMismatch() async throws {
        let store = try await TestDatabase.store()
        let payment = try await Fixture.pendingPayment(channel: .wechatpay)
        let notification = Fixture.notification(for: payment, channel: .stripe)
        guard case .anomaly(let anomaly) = try await store.apply(notification) else {
            Issue.record("expected an anomaly")
            return
        }
        #expect(anomaly.kind == .channelMismatch)
        #expect(try await store.paymentStatus(paymentNo: payment.paymentNo)?.status == .pending)
    }

    @Test("paid under another trade number: duplicate_payment anomaly, first payment kept")
    func duplicatePayment() async throws {
        let store = try await TestDatabase.store()
        let payment = try await Fixture.pendingPayment()
        let first = Fixture.notification(for: payment)
        _ = try await store.apply(first)
        guard case .anomaly(let anomaly) = try await store.apply(Fixture.notification(for: payment)) else {
            Issue.record("expected an anomaly")
            return
        }
        #expect(anomaly.kind == .duplicatePayment)
        #expect(try await store.paymentStatus(paymentNo: payment.paymentNo)?.channelTradeNo == first.channelTradeNo)
    }

    @Test("closed: payment and order closed, reservation released, payment.closed; money after that settles it")
    func closed() async throws {
        let store = try await TestDatabase.store()
        let skus = try await Fixture.skus([10, 10])
        let job = Fixture.job(items: [OrderItem(sku: skus[1], quantity: 2), OrderItem(sku: skus[0], quantity: 3)])
        guard case .created(let payment) = try await store.createPayment(job) else {
            Issue.record("payment not created")
            return
        }
        #expect(try await TestDatabase.stock(skus[0]) == [10, 3])

        let closing = Fixture.notification(for: payment, kind: .closed)
        #expect(try await store.apply(closing) == .closed(paymentNo: payment.paymentNo))
        let row = try #require(try await store.paymentStatus(paymentNo: payment.paymentNo))
        #expect(row.status == .closed && row.orderStatus == "closed" && row.closedAt == closing.occurredAt)
        #expect(try await TestDatabase.stock(skus[0]) == [10, 0])
        #expect(try await TestDatabase.stock(skus[1]) == [10, 0])
        let closedRows = try await TestDatabase.outbox(orderNo: payment.orderNo).filter {
            $0.routingKey == "payment.closed"
        }
        #expect(closedRows.map(\.messageID) == ["payment.closed:\(payment.paymentNo)"])

        // Closed again (another notification id): nothing more is released.
        let again = Fixture.notification(for: payment, kind: .closed)
        #expect(try await store.apply(again) == .alreadyInState(paymentNo: payment.paymentNo))
        #expect(try await TestDatabase.stock(skus[0]) == [10, 0])

        // The money comes after all (the payer paid in the instant before the close reached the channel): it is
        // settled, once, and the order is paid with its reservation gone — inventory-worker decides the stock.
        let late = Fixture.notification(for: payment)
        guard case .settled(let event) = try await store.apply(late) else {
            Issue.record("money for a closed payment was not settled")
            return
        }
        #expect(event.orderNo == payment.orderNo)
        let paid = try #require(try await store.paymentStatus(paymentNo: payment.paymentNo))
        #expect(paid.status == .paid && paid.orderStatus == "paid" && paid.inventoryStatus == .released)
        #expect(paid.channelTradeNo == late.channelTradeNo)
        #expect(try await TestDatabase.stock(skus[0]) == [10, 0])
        #expect(
            try await store.apply(Fixture.notification(for: payment, channelTradeNo: late.channelTradeNo))
                == .alreadyInState(paymentNo: payment.paymentNo))
        #expect(
            try await TestDatabase.count("SELECT count(*) FROM anomalies WHERE payment_no = \(payment.paymentNo)") == 0)
    }

    @Test("paymentStatus of an unknown payment is nil; statusSummary sees pending payments and the outbox")
    func status() async throws {
        let store = try await TestDatabase.store()
        #expect(try await store.paymentStatus(paymentNo: "NOSUCH" + TestDatabase.unique()) == nil)
        _ = try await Fixture.pendingPayment()
        let summary = try await store.statusSummary()
        #expect((summary.paymentsByStatus["pending"] ?? 0) >= 1)
        #expect(summary.outboxUnpublished >= 1)
        #expect((summary.oldestUnpublishedAgeSeconds ?? -1) >= 0)
        #expect(summary.oldestPendingPaymentCreatedAt != nil)
        #expect(summary.retries >= summary.retriesDue && summary.deadLetters >= 0 && summary.anomalies >= 0)
    }

    struct AnomalyRecord {
        var kind: String
        var expectedAmount: Int64?
        var notifiedAmount: Int64?
        var expectedCurrency: String?
        var notifiedCurrency: String?
    }

    func anomalyDetails(_ notification: PaymentNotification) async throws -> [AnomalyRecord] {
        let rows = try await TestDatabase.client().query(
            """
            SELECT kind, (detail->>'expected_amount_minor')::int8, (detail->>'notified_amount_minor')::int8,
                   detail->>'expected_currency', detail->>'notified_currency'
            FROM anomalies WHERE channel = \(notification.channel.rawValue) AND notification_id = \(notification.id)
            """, logger: TestDatabase.logger)
        var records: [AnomalyRecord] = []
        for try await row in rows.decode((String, Int64?, Int64?, String?, String?).self) {
            records.append(
                AnomalyRecord(
                    kind: row.0, expectedAmount: row.1, notifiedAmount: row.2, expectedCurrency: row.3,
                    notifiedCurrency: row.4))
        }
        return records
    }
}
