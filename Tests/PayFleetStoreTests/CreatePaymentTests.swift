import Foundation
import PayFleetMessages
import PayFleetStore
import PostgresNIO
import Testing

@Suite("payment.create", .enabled(if: TestDatabase.enabled, "PAYFLEET_TEST_POSTGRES_URL is not set"))
struct CreatePaymentTests {
    @Test("creates the order, its items, the reservation, a pending payment and one payment.created")
    func happyPath() async throws {
        let store = try await TestDatabase.store()
        let skus = try await Fixture.skus([10, 5])
        let expiresAt = Fixture.now().addingTimeInterval(900)
        var job = Fixture.job(
            items: [
                OrderItem(sku: skus[0], quantity: 2), OrderItem(sku: skus[1], quantity: 1),
                OrderItem(sku: skus[0], quantity: 1),
            ])
        job.expiresAt = expiresAt

        let outcome = try await store.createPayment(job)
        guard case .created(let event) = outcome else {
            Issue.record("expected .created, got \(outcome)")
            return
        }
        #expect(event.orderNo == job.orderNo)
        #expect(event.amountMinor == 8888 && event.currency == "CNY" && event.channel == .wechatpay)
        #expect(event.merchant == "m1")
        #expect(event.expiresAt == expiresAt)

        let payment = try #require(try await store.paymentStatus(paymentNo: event.paymentNo))
        #expect(payment.status == .pending)
        #expect(payment.orderNo == job.orderNo && payment.orderStatus == "pending")
        #expect(payment.amountMinor == 8888 && payment.currency == "CNY")
        #expect(payment.channel == "wechatpay" && payment.merchant == "m1")
        #expect(payment.channelTradeNo == nil && payment.paidAt == nil)
        #expect(payment.expiresAt == expiresAt)

        let orders = try await TestDatabase.count(
            "SELECT count(*) FROM orders WHERE order_no = \(job.orderNo) AND user_id = 'user-1' AND amount_minor = 8888"
        )
        #expect(orders == 1)
        let items = try await TestDatabase.count(
            """
            SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE o.order_no = \(job.orderNo)
            """)
        #expect(items == 3)
        #expect(try await TestDatabase.stock(skus[0]) == [10, 3])
        #expect(try await TestDatabase.stock(skus[1]) == [5, 1])

        let outbox = try await TestDatabase.outbox(orderNo: job.orderNo)
        #expect(outbox.count == 1)
        #expect(outbox.first?.routingKey == "payment.created")
        #expect(outbox.first?.messageID == event.messageID)
        #expect(try TestDatabase.decode(PaymentCreated.self, outbox[0].payload) == event)
    }

    @Test("expires_at defaults to two hours from now")
    func defaultExpiry() async throws {
        let sku = try await Fixture.skus([1])[0]
        let outcome = try await TestDatabase.store().createPayment(
            Fixture.job(items: [OrderItem(sku: sku, quantity: 1)]))
        guard case .created(let event) = outcome, let expiresAt = event.expiresAt else {
            Issue.record("expected .created with expires_at, got \(outcome)")
            return
        }
        #expect(abs(expiresAt.timeIntervalSinceNow - 7200) < 60)
    }

    @Test("the same job again is alreadyCreated and changes nothing")
    func repeatedJob() async throws {
        let store = try await TestDatabase.store()
        let sku = try await Fixture.skus([10])[0]
        let job = Fixture.job(items: [OrderItem(sku: sku, quantity: 2)])
        guard case .created(let event) = try await store.createPayment(job) else {
            Issue.record("first job not created")
            return
        }
        for _ in 0..<3 {
            #expect(try await store.createPayment(job) == .alreadyCreated(paymentNo: event.paymentNo))
        }
        #expect(try await TestDatabase.count("SELECT count(*) FROM orders WHERE order_no = \(job.orderNo)") == 1)
        #expect(try await TestDatabase.stock(sku) == [10, 2])
        #expect(try await TestDatabase.outbox(orderNo: job.orderNo).map(\.routingKey) == ["payment.created"])
    }

    @Test("a job reusing an order_no with other terms is rejected and changes nothing")
    func conflictingJob() async throws {
        let store = try await TestDatabase.store()
        let sku = try await Fixture.skus([10])[0]
        let job = Fixture.job(items: [OrderItem(sku: sku, quantity: 2)])
        guard case .created(let event) = try await store.createPayment(job) else {
            Issue.record("first job not created")
            return
        }
        var otherAmount = job
        otherAmount.amountMinor += 1
        var otherItems = job
        otherItems.items = [OrderItem(sku: sku, quantity: 3)]

        for conflicting in [otherAmount, otherItems, otherAmount] {
            let outcome = try await store.createPayment(conflicting)
            guard case .rejected(let rejected) = outcome else {
                Issue.record("expected .rejected, got \(outcome)")
                continue
            }
            #expect(rejected.reason == .conflictingJob)
            #expect(rejected.orderNo == job.orderNo)
        }

        let payment = try #require(try await store.paymentStatus(paymentNo: event.paymentNo))
        #expect(payment.amountMinor == job.amountMinor && payment.status == .pending)
        #expect(try await TestDatabase.count("SELECT count(*) FROM orders WHERE order_no = \(job.orderNo)") == 1)
        #expect(try await TestDatabase.stock(sku) == [10, 2])
        let outbox = try await TestDatabase.outbox(orderNo: job.orderNo)
        // One payment.created, then one payment.rejected per distinct conflicting job (the
        // repeated one is not announced twice), none under the order's plain rejection id.
        #expect(outbox.map(\.routingKey) == ["payment.created", "payment.rejected", "payment.rejected"])
        #expect(Set(outbox.map(\.messageID)).count == 3)
        #expect(!outbox.map(\.messageID).contains("payment.rejected:\(job.orderNo)"))
    }

    @Test("insufficient stock: rejected, no order, no reservation, one payment.rejected")
    func insufficientStock() async throws {
        let store = try await TestDatabase.store()
        let skus = try await Fixture.skus([10, 1])
        let unknownSKU = "SKU-NONE-" + TestDatabase.unique()
        let job = Fixture.job(items: [OrderItem(sku: skus[0], quantity: 3), OrderItem(sku: skus[1], quantity: 2)])

        for _ in 0..<2 {
            let outcome = try await store.createPayment(job)
            guard case .rejected(let rejected) = outcome else {
                Issue.record("expected .rejected, got \(outcome)")
                return
            }
            #expect(rejected.reason == .insufficientStock)
            #expect(rejected.detail.contains(skus[1]) && !rejected.detail.contains(skus[0]))
        }
        #expect(try await TestDatabase.count("SELECT count(*) FROM orders WHERE order_no = \(job.orderNo)") == 0)
        #expect(try await TestDatabase.stock(skus[0]) == [10, 0])
        #expect(try await TestDatabase.stock(skus[1]) == [1, 0])
        let outbox = try await TestDatabase.outbox(orderNo: job.orderNo)
        #expect(outbox.map(\.routingKey) == ["payment.rejected"])
        #expect(outbox.first?.messageID == "payment.rejected:\(job.orderNo)")
        let payload = try TestDatabase.decode(PaymentRejected.self, try #require(outbox.first).payload)
        #expect(payload.reason == .insufficientStock && payload.orderNo == job.orderNo)

        // A sku with no stock row counts as no stock.
        let unknown = Fixture.job(items: [OrderItem(sku: unknownSKU, quantity: 1)])
        guard case .rejected(let rejected) = try await store.createPayment(unknown) else {
            Issue.record("unknown sku not rejected")
            return
        }
        #expect(rejected.reason == .insufficientStock)
        #expect(try await TestDatabase.stock(unknownSKU) == nil)
    }

    @Test("the caller's payment_no is used")
    func callerPaymentNo() async throws {
        let store = try await TestDatabase.store()
        let sku = try await Fixture.skus([5])[0]
        let paymentNo = "CALLER" + TestDatabase.unique()
        let outcome = try await store.createPayment(
            Fixture.job(items: [OrderItem(sku: sku, quantity: 1)], paymentNo: paymentNo))
        guard case .created(let event) = outcome else {
            Issue.record("expected .created, got \(outcome)")
            return
        }
        #expect(event.paymentNo == paymentNo)
        #expect(try await store.paymentStatus(paymentNo: paymentNo)?.status == .pending)

        // Another order asking for the same payment_no: rejected, nothing of it written.
        let other = Fixture.job(items: [OrderItem(sku: sku, quantity: 1)], paymentNo: paymentNo)
        guard case .rejected(let rejected) = try await store.createPayment(other) else {
            Issue.record("a taken payment_no was not rejected")
            return
        }
        #expect(rejected.reason == .conflictingJob)
        #expect(try await TestDatabase.count("SELECT count(*) FROM orders WHERE order_no = \(other.orderNo)") == 0)
        #expect(try await TestDatabase.stock(sku) == [5, 1])
        #expect(try await TestDatabase.outbox(orderNo: other.orderNo).map(\.routingKey) == ["payment.rejected"])
    }

    @Test("a generated payment_no is P, the UTC time and random base-36: 31 letters and digits")
    func generatedPaymentNo() async throws {
        let event = try await Fixture.pendingPayment()
        #expect(event.paymentNo.wholeMatch(of: /P20[0-9]{12}[0-9A-Z]{16}/) != nil)
        #expect(PaymentNumber.isValid(event.paymentNo))
        let many = Set((0..<1000).map { _ in PaymentNumber.generate() })
        #expect(many.count == 1000)
    }

    @Test(
        "invalid jobs are rejected with invalid_job and a payment.rejected row",
        arguments: [
            "amount", "currency", "no items", "quantity", "payment_no", "order_no", "sku",
        ])
    func invalidJob(_ defect: String) async throws {
        let store = try await TestDatabase.store()
        var job = Fixture.job(items: [OrderItem(sku: "SKU-" + TestDatabase.unique(), quantity: 1)])
        switch defect {
        case "amount": job.amountMinor = 0
        case "currency": job.currency = "usd"
        case "no items": job.items = []
        case "quantity": job.items = [OrderItem(sku: "SKU-X", quantity: 0)]
        case "payment_no": job.paymentNo = "bad-payment-no!"
        case "order_no": job.orderNo = String(repeating: "9", count: 53) + TestDatabase.unique()
        case "sku": job.items = [OrderItem(sku: "", quantity: 1)]
        default: Issue.record("unknown defect \(defect)")
        }
        let outcome = try await store.createPayment(job)
        guard case .rejected(let rejected) = outcome else {
            Issue.record("expected .rejected, got \(outcome)")
            return
        }
        #expect(rejected.reason == .invalidJob)
        #expect(try await TestDatabase.count("SELECT count(*) FROM orders WHERE order_no = \(job.orderNo)") == 0)
        let rejections: PostgresQuery = """
            SELECT count(*) FROM outbox
            WHERE routing_key = 'payment.rejected' AND payload->>'order_no' = \(job.orderNo)
            """
        #expect(try await TestDatabase.count(rejections) == 1)
        // The same invalid job again is not announced twice.
        _ = try await store.createPayment(job)
        #expect(try await TestDatabase.count(rejections) == 1)
    }

    @Test("concurrent identical jobs create exactly one order")
    func concurrentIdenticalJobs() async throws {
        let store = try await TestDatabase.store()
        let sku = try await Fixture.skus([100])[0]
        let job = Fixture.job(items: [OrderItem(sku: sku, quantity: 3)])
        let outcomes = try await withThrowingTaskGroup(of: CreatePaymentOutcome.self) { group in
            for _ in 0..<8 { group.addTask { try await store.createPayment(job) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let created = outcomes.compactMap { outcome -> PaymentCreated? in
            if case .created(let event) = outcome { return event }
            return nil
        }
        #expect(created.count == 1)
        #expect(outcomes.filter { $0 == .alreadyCreated(paymentNo: created.first?.paymentNo ?? "") }.count == 7)
        #expect(try await TestDatabase.count("SELECT count(*) FROM orders WHERE order_no = \(job.orderNo)") == 1)
        #expect(try await TestDatabase.stock(sku) == [100, 3])
        #expect(try await TestDatabase.outbox(orderNo: job.orderNo).count == 1)
    }

    @Test("concurrent orders never reserve more than is on hand, and opposite sku orders do not deadlock")
    func concurrentReservations() async throws {
        let store = try await TestDatabase.store()
        let skus = try await Fixture.skus([5, 100])
        let outcomes = try await withThrowingTaskGroup(of: CreatePaymentOutcome.self) { group in
            for index in 0..<12 {
                // Half list the skus one way round, half the other.
                let items = [OrderItem(sku: skus[0], quantity: 1), OrderItem(sku: skus[1], quantity: 1)]
                let job = Fixture.job(items: index.isMultiple(of: 2) ? items : items.reversed())
                group.addTask { try await store.createPayment(job) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let created = outcomes.filter { if case .created = $0 { true } else { false } }
        let rejected = outcomes.filter {
            if case .rejected(let event) = $0 { event.reason == .insufficientStock } else { false }
        }
        #expect(created.count == 5)
        #expect(rejected.count == 7)
        #expect(try await TestDatabase.stock(skus[0]) == [5, 5])
        #expect(try await TestDatabase.stock(skus[1]) == [100, 5])
    }

    @Test("setStock cannot go below the reserved quantity")
    func stockBelowReserved() async throws {
        let store = try await TestDatabase.store()
        let sku = try await Fixture.skus([5])[0]
        _ = try await store.createPayment(Fixture.job(items: [OrderItem(sku: sku, quantity: 4)]))
        let error = await #expect(throws: StoreError.self) { try await store.setStock(sku: sku, onHand: 3) }
        #expect(error?.code == .stockBelowReserved)
        try await store.setStock(sku: sku, onHand: 4)
        #expect(try await TestDatabase.stock(sku) == [4, 4])
    }
}
