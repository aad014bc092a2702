import Foundation
import PayFleetMessages
import PayFleetStore
import PostgresNIO
import Testing

/// Inventory confirmation against the real database: a reservation deducted once, free stock for a payment paid
/// after its close, oversold orders refunded automatically, and many orders over few skus at once.
@Suite(.enabled(if: TestDatabase.enabled))
struct InventoryStoreTests {
    /// A paid order of `items`; returns its order.paid event.
    static func paidOrder(_ items: [OrderItem], amount: Int64 = 5_000, closeFirst: Bool = false) async throws -> OrderPaid {
        let store = try await TestDatabase.store()
        guard case .created(let payment) = try await store.createPayment(Fixture.job(items: items, amountMinor: amount)) else {
            throw Fixture.FixtureError(description: "payment not created")
        }
        if closeFirst { _ = try await store.apply(Fixture.notification(for: payment, kind: .closed)) }
        guard case .settled(let event) = try await store.apply(Fixture.notification(for: payment)) else {
            throw Fixture.FixtureError(description: "payment not settled")
        }
        return event
    }

    @Test("the reservation becomes a deduction once, whatever repeats")
    func reservationDeducted() async throws {
        let store = try await TestDatabase.store()
        let skus = try await Fixture.skus([10, 4])
        let paid = try await Self.paidOrder([OrderItem(sku: skus[0], quantity: 3), OrderItem(sku: skus[1], quantity: 4)])
        #expect(try await TestDatabase.stock(skus[0]) == [10, 3])
        guard case .confirmed(let confirmed) = try await store.confirmInventory(paid, messageID: paid.messageID) else {
            Issue.record("inventory not confirmed")
            return
        }
        #expect(confirmed.source == .reservation && confirmed.items.count == 2)
        #expect(try await TestDatabase.stock(skus[0]) == [7, 0])
        #expect(try await TestDatabase.stock(skus[1]) == [0, 0])
        // The same event again, or a replayed copy under another message id: nothing more leaves the warehouse.
        #expect(try await store.confirmInventory(paid, messageID: paid.messageID) == .duplicate)
        #expect(
            try await store.confirmInventory(paid, messageID: "replayed:" + TestDatabase.unique())
                == .alreadyInState(orderNo: paid.orderNo, status: .confirmed))
        #expect(try await TestDatabase.stock(skus[0]) == [7, 0])
        #expect(try await TestDatabase.stock(skus[1]) == [0, 0])
    }

    @Test("paid after its close: free stock covers it, or the order is oversold and its payment refunded once")
    func releasedReservation() async throws {
        let store = try await TestDatabase.store()
        let skus = try await Fixture.skus([5])
        let covered = try await Self.paidOrder([OrderItem(sku: skus[0], quantity: 2)], closeFirst: true)
        #expect(try await TestDatabase.stock(skus[0]) == [5, 0])
        guard case .confirmed(let confirmed) = try await store.confirmInventory(covered, messageID: covered.messageID) else {
            Issue.record("free stock did not cover the late order")
            return
        }
        #expect(confirmed.source == .freeStock)
        #expect(try await TestDatabase.stock(skus[0]) == [3, 0])

        // A late order of 2 closes (its 2 go back), a pending order then reserves 2 of the 3: 1 free when the
        // late order's money comes, so it is oversold.
        guard case .created(let latePayment) = try await store.createPayment(
            Fixture.job(items: [OrderItem(sku: skus[0], quantity: 2)], amountMinor: 7_700))
        else {
            Issue.record("late payment not created")
            return
        }
        _ = try await store.apply(Fixture.notification(for: latePayment, kind: .closed))
        _ = try await store.createPayment(Fixture.job(items: [OrderItem(sku: skus[0], quantity: 2)]))
        guard case .settled(let late) = try await store.apply(Fixture.notification(for: latePayment)) else {
            Issue.record("late payment not settled")
            return
        }
        guard case .oversold(let oversold) = try await store.confirmInventory(late, messageID: late.messageID) else {
            Issue.record("the late order was not oversold")
            return
        }
        #expect(oversold.shortages == [.init(sku: skus[0], wanted: 2, available: 1)])
        #expect(oversold.refundNo == "OVS\(late.paymentNo)" && oversold.refundAmountMinor == 7_700)
        #expect(try await TestDatabase.stock(skus[0]) == [3, 2])
        #expect(try await store.paymentStatus(paymentNo: late.paymentNo)?.inventoryStatus == .oversold)
        // One refund.create job for the whole payment, bound for payfleet.jobs.
        let jobs = try await TestDatabase.client().query(
            "SELECT exchange, payload::text FROM outbox WHERE routing_key = 'refund.create' AND payload->>'payment_no' = \(late.paymentNo)",
            logger: TestDatabase.logger)
        var found: [(String, CreateRefund)] = []
        for try await (exchange, payload) in jobs.decode((String, String).self) {
            found.append((exchange, try TestDatabase.decode(CreateRefund.self, payload)))
        }
        #expect(found.count == 1)
        #expect(found.first?.0 == "payfleet.jobs")
        #expect(found.first?.1 == CreateRefund(
            refundNo: "OVS\(late.paymentNo)", paymentNo: late.paymentNo, amountMinor: 7_700, currency: "CNY",
            reason: "out of stock"))
        #expect(
            try await store.confirmInventory(late, messageID: "again:" + TestDatabase.unique())
                == .alreadyInState(orderNo: late.orderNo, status: .oversold))
    }

    @Test("60 orders over 3 skus confirmed by 12 tasks at once: every deduction once, stock never negative")
    func concurrentConfirmations() async throws {
        let store = try await TestDatabase.store()
        let skus = try await Fixture.skus([200, 200, 200])
        var events: [OrderPaid] = []
        var expected: [String: Int64] = [:]
        for index in 0..<60 {
            // Each order wants two skus, listed in either order: the store must lock them in sku order regardless.
            let first = skus[index % 3]
            let second = skus[(index + 1) % 3]
            let items = [OrderItem(sku: second, quantity: Int32(1 + index % 2)), OrderItem(sku: first, quantity: 1)]
            for item in items { expected[item.sku, default: 0] += Int64(item.quantity) }
            events.append(try await Self.paidOrder(items))
        }
        let all = events
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<12 {
                group.addTask {
                    for event in all.shuffled() where Int.random(in: 0..<12) == worker || Bool.random() {
                        _ = try await store.confirmInventory(event, messageID: event.messageID)
                    }
                }
            }
            try await group.waitForAll()
        }
        for event in events { _ = try await store.confirmInventory(event, messageID: event.messageID) }
        for sku in skus {
            #expect(try await TestDatabase.stock(sku) == [200 - expected[sku]!, 0])
        }
    }
}
