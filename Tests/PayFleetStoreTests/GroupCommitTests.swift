import Foundation
import PayFleetMessages
import PayFleetStore
import PostgresNIO
import Testing

/// Group commit (fulfilment-worker): many notifications per transaction, each with its own outcome.
@Suite("group commit", .enabled(if: TestDatabase.enabled, "PAYFLEET_TEST_POSTGRES_URL is not set"))
struct GroupCommitTests {
    @Test("one batch with every case: each notification gets the outcome it gets alone")
    func mixedBatch() async throws {
        let store = try await TestDatabase.store()
        let settles = try await Fixture.pendingPayment()
        let mismatched = try await Fixture.pendingPayment(amountMinor: 8888)
        let closes = try await Fixture.pendingPayment()
        let first = Fixture.notification(for: settles)
        let repeatOfFirst = Fixture.notification(for: settles, channelTradeNo: first.channelTradeNo)
        let wrongAmount = Fixture.notification(for: mismatched, amountMinor: 1)
        let closing = Fixture.notification(for: closes, kind: .closed)
        var unknown = Fixture.notification(for: settles)
        unknown.paymentNo = "NOSUCH" + TestDatabase.unique()

        let results = await store.apply(batch: [first, wrongAmount, first, closing, repeatOfFirst, unknown])
        let outcomes = try results.map { try $0.get() }

        guard case .settled(let event) = outcomes[0] else {
            Issue.record("expected the first notification to settle, got \(outcomes[0])")
            return
        }
        #expect(event.orderNo == settles.orderNo && event.amountMinor == settles.amountMinor)
        guard case .anomaly(let mismatch) = outcomes[1], case .anomaly(let missing) = outcomes[5] else {
            Issue.record("expected anomalies, got \(outcomes[1]) and \(outcomes[5])")
            return
        }
        #expect(mismatch.kind == .amountMismatch && missing.kind == .unknownPayment)
        #expect(outcomes[2] == .duplicate)
        #expect(outcomes[3] == .closed(paymentNo: closes.paymentNo))
        #expect(outcomes[4] == .alreadyInState(paymentNo: settles.paymentNo))

        #expect(try await store.paymentStatus(paymentNo: settles.paymentNo)?.status == .paid)
        #expect(try await store.paymentStatus(paymentNo: mismatched.paymentNo)?.status == .pending)
        #expect(try await store.paymentStatus(paymentNo: closes.paymentNo)?.status == .closed)
        // The settlement's inbox key, outbox row and paid_at were written once, in the batch's transaction.
        #expect(
            try await TestDatabase.outbox(orderNo: settles.orderNo).filter { $0.routingKey == "order.paid" }.count == 1)
        #expect(try await TestDatabase.count("SELECT count(*) FROM inbox WHERE dedup_key = \(first.dedupKey)") == 1)
    }

    @Test("in one batch: a payment notified under two trade numbers settles once, under the first, the other is duplicate_payment; a paid payment's repeat is already; a repeated key is a duplicate")
    func batchOrderDecides() async throws {
        let store = try await TestDatabase.store()
        let contested = try await Fixture.pendingPayment()
        let paidBefore = try await Fixture.pendingPayment()
        let settledBefore = Fixture.notification(for: paidBefore)
        guard case .settled = try await store.apply(settledBefore) else {
            Issue.record("expected the earlier notification to settle")
            return
        }
        let (tradeA, tradeB) = (Fixture.notification(for: contested), Fixture.notification(for: contested))
        let resent = Fixture.notification(for: paidBefore, channelTradeNo: settledBefore.channelTradeNo)

        let outcomes = try await store.apply(batch: [tradeA, resent, tradeB, resent, settledBefore]).map { try $0.get() }

        guard case .settled(let event) = outcomes[0], event.channelTradeNo == tradeA.channelTradeNo else {
            Issue.record("expected the first trade number to settle, got \(outcomes[0])")
            return
        }
        #expect(outcomes[1] == .alreadyInState(paymentNo: paidBefore.paymentNo))
        guard case .anomaly(let anomaly) = outcomes[2] else {
            Issue.record("expected a duplicate_payment anomaly, got \(outcomes[2])")
            return
        }
        #expect(anomaly.kind == .duplicatePayment)
        #expect(outcomes[3] == .duplicate && outcomes[4] == .duplicate)
        #expect(try await store.paymentStatus(paymentNo: contested.paymentNo)?.channelTradeNo == tradeA.channelTradeNo)
        // One order.paid for each payment, however many notifications the batch carried.
        #expect(try await TestDatabase.outbox(orderNo: contested.orderNo).filter { $0.routingKey == "order.paid" }.count == 1)
        #expect(try await TestDatabase.outbox(orderNo: paidBefore.orderNo).filter { $0.routingKey == "order.paid" }.count == 1)
        #expect(try await TestDatabase.count("SELECT count(*) FROM inbox WHERE dedup_key = \(resent.dedupKey)") == 1)
    }

    @Test("a notification that fails does not fail the rest of its batch")
    func failureIsIsolated() async throws {
        let store = try await TestDatabase.store()
        let (a, b, c) = (
            try await Fixture.pendingPayment(), try await Fixture.pendingPayment(), try await Fixture.pendingPayment()
        )
        // Two payments notified with one channel trade number: the second breaks UNIQUE (channel,
        // channel_trade_no) and so fails the batch's statement; applied alone, only it fails.
        let tradeNo = "T" + TestDatabase.unique()
        let results = await store.apply(batch: [
            Fixture.notification(for: a, channelTradeNo: tradeNo),
            Fixture.notification(for: b),
            Fixture.notification(for: c, channelTradeNo: tradeNo),
        ])

        guard case .success(.settled) = results[0], case .success(.settled) = results[1] else {
            Issue.record("expected the first two to settle, got \(results[0]) and \(results[1])")
            return
        }
        guard case .failure(let error) = results[2] else {
            Issue.record("expected the third to fail, got \(results[2])")
            return
        }
        #expect(!PayFleetStore.isTransient(error))
        #expect(try await store.paymentStatus(paymentNo: a.paymentNo)?.status == .paid)
        #expect(try await store.paymentStatus(paymentNo: b.paymentNo)?.status == .paid)
        #expect(try await store.paymentStatus(paymentNo: c.paymentNo)?.status == .pending)
    }

    @Test("many callers at once share transactions, and every payment settles exactly once")
    func concurrentCallersShareTransactions() async throws {
        let store = try await TestDatabase.store()
        let groupCommit = GroupCommit(store: store, maxBatch: 8, transactions: 2)
        var payments: [PaymentCreated] = []
        for _ in 0..<20 { payments.append(try await Fixture.pendingPayment()) }
        // Each payment notified twice (a redelivery) and once more under the same trade (the channel's resend).
        var notifications: [PaymentNotification] = []
        for payment in payments {
            let first = Fixture.notification(for: payment)
            notifications += [first, first, Fixture.notification(for: payment, channelTradeNo: first.channelTradeNo)]
        }
        notifications.shuffle()

        let outcomes = try await withThrowingTaskGroup(of: NotificationOutcome.self) { group in
            for notification in notifications { group.addTask { try await groupCommit.apply(notification) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }

        // A double would show here: two .settled for one payment.
        var settledPerPayment: [String: Int] = [:]
        for case .settled(let event) in outcomes { settledPerPayment[event.paymentNo, default: 0] += 1 }
        #expect(settledPerPayment.count == payments.count && settledPerPayment.values.allSatisfy { $0 == 1 })
        #expect(outcomes.filter { $0 == .duplicate }.count == payments.count)
        #expect(outcomes.filter { if case .alreadyInState = $0 { true } else { false } }.count == payments.count)
        for payment in payments {
            #expect(try await store.paymentStatus(paymentNo: payment.paymentNo)?.status == .paid)
        }
        // The inbox keys carry their transaction's start time: fewer distinct times than keys ⇒ shared commits.
        let keys = notifications.map(\.dedupKey)
        let inboxRows = try await TestDatabase.count("SELECT count(*) FROM inbox WHERE dedup_key = ANY(\(keys))")
        let transactions = try await TestDatabase.count(
            "SELECT count(DISTINCT received_at) FROM inbox WHERE dedup_key = ANY(\(keys))")
        #expect(inboxRows == 2 * payments.count)
        #expect(transactions < inboxRows)
    }
}
