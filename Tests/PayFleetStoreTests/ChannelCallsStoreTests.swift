import Foundation
import PayFleetMessages
import PayFleetStore
import PostgresNIO
import Testing

@Suite("channel calls: prepay, rejection, expiry", .enabled(if: TestDatabase.enabled, "PAYFLEET_TEST_POSTGRES_URL is not set"))
struct ChannelCallsStoreTests {
    @Test("an unannounced payment is announced once its prepay is recorded, with the pay parameters")
    func prepayAnnouncesOnce() async throws {
        let store = try await TestDatabase.store()
        let sku = try await Fixture.skus([3])[0]
        let job = Fixture.job(items: [OrderItem(sku: sku, quantity: 1)])
        guard case .created(let created) = try await store.createPayment(job, announce: false) else {
            Issue.record("expected .created")
            return
        }
        #expect(try await TestDatabase.outbox(orderNo: job.orderNo).isEmpty)
        // payfleet status counts it as waiting for its channel.
        let waiting = try await store.statusSummary()
        #expect(waiting.awaitingPrepay >= 1)
        #expect(try #require(waiting.oldestAwaitingPrepayCreatedAt) <= Date())

        let parameters = ["code_url": "weixin://wxpay/bizpayurl?pr=abc"]
        let first = try await store.recordPrepay(paymentNo: created.paymentNo, payParameters: parameters)
        guard case .announced(let event) = first else {
            Issue.record("expected .announced, got \(first)")
            return
        }
        #expect(event.payParameters == parameters && event.amountMinor == created.amountMinor)
        // A second prepay (a redelivered job) changes nothing and announces nothing more.
        #expect(
            try await store.recordPrepay(paymentNo: created.paymentNo, payParameters: ["code_url": "other"])
                == .alreadyAnnounced)

        let outbox = try await TestDatabase.outbox(orderNo: job.orderNo)
        #expect(outbox.map(\.routingKey) == ["payment.created"])
        #expect(try TestDatabase.decode(PaymentCreated.self, outbox[0].payload).payParameters == parameters)
        let row = try #require(try await store.paymentStatus(paymentNo: created.paymentNo))
        #expect(row.payParameters == parameters && row.prepaidAt != nil)
        #expect(try await store.recordPrepay(paymentNo: "P-none", payParameters: [:]) == .unknownPayment)
    }

    @Test("a channel refusal closes the payment, cancels the order, releases stock and says payment.rejected once")
    func rejection() async throws {
        let store = try await TestDatabase.store()
        let sku = try await Fixture.skus([4])[0]
        let job = Fixture.job(items: [OrderItem(sku: sku, quantity: 3)])
        guard case .created(let created) = try await store.createPayment(job, announce: false) else {
            Issue.record("expected .created")
            return
        }
        #expect(try await TestDatabase.stock(sku) == [4, 3])

        let outcome = try await store.rejectPayment(paymentNo: created.paymentNo, detail: "rejected from wechatpay: PARAM_ERROR")
        guard case .rejected(let event) = outcome else {
            Issue.record("expected .rejected, got \(outcome)")
            return
        }
        #expect(event.reason == .channelRejected && event.orderNo == job.orderNo)
        #expect(try await TestDatabase.stock(sku) == [4, 0])
        let row = try #require(try await store.paymentStatus(paymentNo: created.paymentNo))
        #expect(row.status == .closed && row.orderStatus == "cancelled")
        // Again: nothing changes, nothing more is written.
        #expect(try await store.rejectPayment(paymentNo: created.paymentNo, detail: "again") == .notPending(status: .closed))
        #expect(try await TestDatabase.stock(sku) == [4, 0])
        #expect(try await TestDatabase.outbox(orderNo: job.orderNo).map(\.routingKey) == ["payment.rejected"])
        // A late prepay of a rejected payment announces nothing.
        #expect(
            try await store.recordPrepay(paymentNo: created.paymentNo, payParameters: [:]) == .notPending(status: .closed))
    }

    @Test("the expiry sweep asks once per payment, never twice from concurrent sweeps, and again only after the pause")
    func expirySweep() async throws {
        let store = try await TestDatabase.store()
        let sku = try await Fixture.skus([20])[0]
        var expired: [String] = []
        for _ in 0..<6 {
            var job = Fixture.job(items: [OrderItem(sku: sku, quantity: 1)])
            job.expiresAt = Fixture.now().addingTimeInterval(-5)
            guard case .created(let event) = try await store.createPayment(job) else { throw Fixture.FixtureError(description: "not created") }
            expired.append(event.paymentNo)
        }
        var fresh = Fixture.job(items: [OrderItem(sku: sku, quantity: 1)])
        fresh.expiresAt = Fixture.now().addingTimeInterval(3600)
        guard case .created(let open) = try await store.createPayment(fresh) else { throw Fixture.FixtureError(description: "not created") }

        // Two sweeps at once, small batches: together they claim each expired payment exactly once.
        async let first = Self.sweepAll(store)
        async let second = Self.sweepAll(store)
        let claimed = try await first + second
        let mine = claimed.filter { expired.contains($0) }
        #expect(mine.sorted() == expired.sorted())
        #expect(!claimed.contains(open.paymentNo))

        for paymentNo in expired {
            let jobs = try await TestDatabase.count(
                """
                SELECT count(*) FROM outbox WHERE exchange = 'payfleet.jobs' AND routing_key = 'payment.close'
                AND payload->>'payment_no' = \(paymentNo) AND payload->>'reason' = 'expired'
                """)
            #expect(jobs == 1, "payment \(paymentNo)")
        }
        // Asked already: not again before the pause; after it, yes.
        // (The shared test database holds other tests' expired payments too: sweep them all, then look.)
        #expect(try await Self.sweepAll(store).filter { expired.contains($0) }.isEmpty)
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await Self.sweepAll(store, again: .seconds(1)).filter { expired.contains($0) }.count == 6)
    }

    static func sweepAll(_ store: PayFleetStore, again: Duration = .seconds(3600)) async throws -> [String] {
        var all: [String] = []
        while true {
            let batch = try await store.requestExpiredCloses(limit: 50, again: again)
            all += batch
            if batch.isEmpty { return all }
        }
    }
}
