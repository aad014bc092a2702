import Foundation
import PayFleetMessages
import PayFleetStore
import PostgresNIO
import Testing

/// The refund units of work against the real database: reservation under the payment's lock, the state machine,
/// notifications, refunds nobody asked for, and the sweep. Money is checked on the payment's own columns, which a
/// double would change (refunded twice shows as twice the amount), not by counting uniquely keyed rows.
@Suite(.enabled(if: TestDatabase.enabled))
struct RefundStoreTests {
    /// A payment of `amount` that was paid; returns it and its channel trade number.
    static func paidPayment(amount: Int64 = 10_000, channel: ChannelID = .wechatpay) async throws
        -> (PaymentCreated, String)
    {
        let payment = try await Fixture.pendingPayment(amountMinor: amount, channel: channel)
        let paid = Fixture.notification(for: payment)
        guard case .settled = try await TestDatabase.store().apply(paid) else {
            throw Fixture.FixtureError(description: "payment not settled")
        }
        return (payment, paid.channelTradeNo)
    }

    static func refundNo() -> String { "RF-" + TestDatabase.unique() }

    static func job(_ payment: PaymentCreated, _ amount: Int64, refundNo: String = refundNo()) -> CreateRefund {
        CreateRefund(refundNo: refundNo, paymentNo: payment.paymentNo, amountMinor: amount, currency: "CNY", reason: "test")
    }

    static func notification(
        _ payment: PaymentCreated, refundNo: String, channelRefundNo: String, status: RefundNotification.Status = .succeeded,
        amount: Int64?, id: String = "RN" + TestDatabase.unique(), tradeNo: String? = nil, paymentNo: String? = nil
    ) -> RefundNotification {
        RefundNotification(
            id: id, channel: payment.channel, merchant: payment.merchant, refundNo: refundNo,
            channelRefundNo: channelRefundNo, paymentNo: paymentNo ?? payment.paymentNo, status: status,
            amountMinor: amount, occurredAt: Fixture.now(), raw: "{}", channelTradeNo: tradeNo)
    }

    /// [refunded_minor, refund_pending_minor] and the status of a payment.
    static func money(_ paymentNo: String) async throws -> ([Int64], PaymentStatus) {
        let row = try #require(try await TestDatabase.store().paymentStatus(paymentNo: paymentNo))
        return ([row.refundedMinor, row.refundPendingMinor], row.status)
    }

    @Test("requested → processing → succeeded: the amount is reserved, then refunded once, whatever repeats")
    func happyPath() async throws {
        let store = try await TestDatabase.store()
        let (payment, _) = try await Self.paidPayment(amount: 10_000)
        let job = Self.job(payment, 3_000)
        guard case .callChannel(let row) = try await store.requestRefund(job) else {
            Issue.record("refund not requested")
            return
        }
        #expect(row.status == .requested && row.paymentNo == payment.paymentNo && row.amountMinor == 3_000)
        #expect(try await Self.money(payment.paymentNo) == ([0, 3_000], .paid))

        // The job again before the channel answered: call the channel again (same refund_no), reserve nothing more.
        guard case .callChannel = try await store.requestRefund(job) else {
            Issue.record("a repeated job for a requested refund must call the channel again")
            return
        }
        #expect(try await Self.money(payment.paymentNo) == ([0, 3_000], .paid))

        #expect(
            try await store.recordRefundAnswer(refundNo: job.refundNo, .accepted(channelRefundNo: "WX-R1"))
                == .processing(refundNo: job.refundNo))
        guard case .alreadyRequested(let processing) = try await store.requestRefund(job) else {
            Issue.record("a repeated job for a processing refund must do nothing")
            return
        }
        #expect(processing.status == .processing && processing.channelRefundNo == "WX-R1")

        let success = Self.notification(payment, refundNo: job.refundNo, channelRefundNo: "WX-R1", amount: 3_000)
        guard case .succeeded(let event) = try await store.applyRefund(success) else {
            Issue.record("refund not settled")
            return
        }
        #expect(event.refundedMinor == 3_000 && event.paymentStatus == .partiallyRefunded && event.origin == .requested)
        #expect(try await Self.money(payment.paymentNo) == ([3_000, 0], .partiallyRefunded))

        // The same notification again, another notification of the same outcome, the query's answer: nothing more.
        #expect(try await store.applyRefund(success) == .duplicate)
        #expect(
            try await store.applyRefund(
                Self.notification(payment, refundNo: job.refundNo, channelRefundNo: "WX-R1", amount: nil))
                == .alreadyInState(refundNo: job.refundNo, status: .succeeded))
        #expect(
            try await store.recordRefundAnswer(
                refundNo: job.refundNo, .succeeded(channelRefundNo: "WX-R1", amountMinor: 3_000, at: Date()))
                == .alreadyInState(refundNo: job.refundNo, status: .succeeded))
        #expect(try await Self.money(payment.paymentNo) == ([3_000, 0], .partiallyRefunded))

        // The rest: refunded in full.
        let rest = Self.job(payment, 7_000)
        _ = try await store.requestRefund(rest)
        guard case .succeeded(let last) = try await store.recordRefundAnswer(
            refundNo: rest.refundNo, .succeeded(channelRefundNo: "ALI-1", amountMinor: nil, at: Date()))
        else {
            Issue.record("a synchronous success was not settled")
            return
        }
        #expect(last.paymentStatus == .refunded && last.refundedMinor == 10_000)
        #expect(try await Self.money(payment.paymentNo) == ([10_000, 0], .refunded))

        // Nothing is left: refused, recorded failed, no money reserved.
        let more = Self.job(payment, 1)
        guard case .refused(let refusal) = try await store.requestRefund(more) else {
            Issue.record("a refund beyond what was paid was not refused")
            return
        }
        #expect(refusal.reason == .exceedsRefundable)
        #expect(try await store.refund(refundNo: more.refundNo)?.status == .failed)
        #expect(try await Self.money(payment.paymentNo) == ([10_000, 0], .refunded))
    }

    @Test("refused: unknown payment, unpaid payment, invalid job, refund_no reused for another amount")
    func refusals() async throws {
        let store = try await TestDatabase.store()
        let unknown = CreateRefund(refundNo: Self.refundNo(), paymentNo: "NOSUCH" + TestDatabase.unique(), amountMinor: 1, currency: "CNY")
        guard case .refused(let noPayment) = try await store.requestRefund(unknown) else {
            Issue.record("unknown payment not refused")
            return
        }
        #expect(noPayment.reason == .unknownPayment)

        let pending = try await Fixture.pendingPayment()
        guard case .refused(let unpaid) = try await store.requestRefund(Self.job(pending, 100)) else {
            Issue.record("refund of an unpaid payment not refused")
            return
        }
        #expect(unpaid.reason == .notRefundable)
        #expect(try await Self.money(pending.paymentNo) == ([0, 0], .pending))

        let (payment, _) = try await Self.paidPayment(amount: 5_000)
        var invalid = Self.job(payment, 100)
        invalid.refundNo = "has space"
        guard case .refused(let badJob) = try await store.requestRefund(invalid) else {
            Issue.record("invalid refund_no not refused")
            return
        }
        #expect(badJob.reason == .invalidJob)
        var otherCurrency = Self.job(payment, 100)
        otherCurrency.currency = "USD"
        guard case .refused(let currency) = try await store.requestRefund(otherCurrency) else {
            Issue.record("a refund in another currency was not refused")
            return
        }
        #expect(currency.reason == .invalidJob)

        let first = Self.job(payment, 1_000)
        _ = try await store.requestRefund(first)
        var conflicting = first
        conflicting.amountMinor = 2_000
        guard case .refused(let conflict) = try await store.requestRefund(conflicting) else {
            Issue.record("refund_no reused with another amount not refused")
            return
        }
        #expect(conflict.reason == .refundNoConflict)
        // The first refund is untouched, and only its amount is reserved.
        #expect(try await store.refund(refundNo: first.refundNo)?.amountMinor == 1_000)
        #expect(try await Self.money(payment.paymentNo) == ([0, 1_000], .paid))
        // Its refusal events are distinct from the refund's own refund.failed: a later real failure is not hidden.
        let ids = try await TestDatabase.outbox(paymentNo: payment.paymentNo).filter { $0.routingKey == "refund.failed" }
            .map(\.messageID)
        #expect(ids.count == 3 && !ids.contains("refund.failed:\(first.refundNo)"))
    }

    @Test("a channel refusal or a failure notification releases the reservation; a reversed success gives it back")
    func failures() async throws {
        let store = try await TestDatabase.store()
        let (payment, _) = try await Self.paidPayment(amount: 4_000)
        let refused = Self.job(payment, 1_500)
        _ = try await store.requestRefund(refused)
        guard case .failed(let rejected) = try await store.recordRefundAnswer(
            refundNo: refused.refundNo, .failed(channelRefundNo: nil, reason: .channelRejected, detail: "NOT_ENOUGH"))
        else {
            Issue.record("a refused refund did not fail")
            return
        }
        #expect(rejected.reason == .channelRejected)
        #expect(try await Self.money(payment.paymentNo) == ([0, 0], .paid))

        let abnormal = Self.job(payment, 2_500)
        _ = try await store.requestRefund(abnormal)
        _ = try await store.recordRefundAnswer(refundNo: abnormal.refundNo, .accepted(channelRefundNo: "R-AB"))
        let failure = Self.notification(payment, refundNo: abnormal.refundNo, channelRefundNo: "R-AB", status: .failed, amount: 2_500)
        guard case .failed(let failed) = try await store.applyRefund(failure) else {
            Issue.record("an ABNORMAL refund did not fail")
            return
        }
        #expect(failed.reason == .channelFailed)
        #expect(try await Self.money(payment.paymentNo) == ([0, 0], .paid))
        #expect(
            try await store.applyRefund(
                Self.notification(payment, refundNo: abnormal.refundNo, channelRefundNo: "R-AB", status: .failed, amount: nil))
                == .alreadyInState(refundNo: abnormal.refundNo, status: .failed))

        // Succeeded, then failed (Stripe reverses some refunds): the money is back with the merchant.
        let reversed = Self.job(payment, 4_000)
        _ = try await store.requestRefund(reversed)
        _ = try await store.recordRefundAnswer(
            refundNo: reversed.refundNo, .succeeded(channelRefundNo: "re_1", amountMinor: 4_000, at: Date()))
        #expect(try await Self.money(payment.paymentNo) == ([4_000, 0], .refunded))
        guard case .failed = try await store.applyRefund(
            Self.notification(payment, refundNo: reversed.refundNo, channelRefundNo: "re_1", status: .failed, amount: 4_000))
        else {
            Issue.record("a reversed refund did not fail")
            return
        }
        #expect(try await Self.money(payment.paymentNo) == ([0, 0], .paid))
    }

    @Test("another amount than ours is an anomaly and settles nothing")
    func amountMismatch() async throws {
        let store = try await TestDatabase.store()
        let (payment, _) = try await Self.paidPayment(amount: 3_000)
        let job = Self.job(payment, 1_000)
        _ = try await store.requestRefund(job)
        guard case .anomaly(let anomaly) = try await store.applyRefund(
            Self.notification(payment, refundNo: job.refundNo, channelRefundNo: "R", amount: 1_001))
        else {
            Issue.record("a mismatching amount was settled")
            return
        }
        #expect(anomaly.kind == .refundAmountMismatch && anomaly.expectedAmountMinor == 1_000)
        #expect(try await Self.money(payment.paymentNo) == ([0, 1_000], .paid))
    }

    @Test("a refund made in the merchant console is recorded against the payment found by its trade number")
    func unrequestedRefund() async throws {
        let store = try await TestDatabase.store()
        let (payment, tradeNo) = try await Self.paidPayment(amount: 9_000)
        // Named only by the channel's trade number, as a Stripe Dashboard refund is.
        let console = Self.notification(
            payment, refundNo: "re_console" + TestDatabase.unique(), channelRefundNo: "re_c" + TestDatabase.unique(), amount: 2_000,
            tradeNo: tradeNo, paymentNo: "")
        guard case .anomaly(let anomaly) = try await store.applyRefund(console) else {
            Issue.record("a console refund left no anomaly")
            return
        }
        #expect(anomaly.kind == .unrequestedRefund)
        let recorded = try #require(try await store.refund(refundNo: console.refundNo))
        #expect(recorded.origin == .channel && recorded.status == .succeeded && recorded.amountMinor == 2_000)
        #expect(try await Self.money(payment.paymentNo) == ([2_000, 0], .partiallyRefunded))
        #expect(try await store.applyRefund(console) == .duplicate)

        // Amount unknown (Baidu's callback): only the anomaly; the books are not guessed at.
        let unknownAmount = Self.notification(payment, refundNo: "BD" + TestDatabase.unique(), channelRefundNo: "B1", amount: nil)
        guard case .anomaly = try await store.applyRefund(unknownAmount) else {
            Issue.record("an unrequested refund of unknown amount left no anomaly")
            return
        }
        #expect(try await store.refund(refundNo: unknownAmount.refundNo) == nil)
        #expect(try await Self.money(payment.paymentNo) == ([2_000, 0], .partiallyRefunded))

        // While one of our refunds awaits its channel answer, an unknown refund may be that one: try again later.
        let ours = Self.job(payment, 1_000)
        _ = try await store.requestRefund(ours)
        let batch = "B" + TestDatabase.unique()
        let early = Self.notification(payment, refundNo: "BATCH" + TestDatabase.unique(), channelRefundNo: batch, amount: nil)
        await #expect(throws: StoreError.self) { try await store.applyRefund(early) }
        // Nothing was written: once the answer is recorded, the same notification settles our refund.
        _ = try await store.recordRefundAnswer(refundNo: ours.refundNo, .accepted(channelRefundNo: batch))
        guard case .succeeded = try await store.applyRefund(early) else {
            Issue.record("the notification did not settle our refund once its batch was known")
            return
        }
        #expect(try await Self.money(payment.paymentNo) == ([3_000, 0], .partiallyRefunded))
    }

    @Test("40 refund.create jobs racing on one payment never reserve more than was paid")
    func racingRequests() async throws {
        let store = try await TestDatabase.store()
        let (payment, _) = try await Self.paidPayment(amount: 10_000)
        let amounts: [Int64] = (0..<40).map { _ in Int64.random(in: 1...1_500) }
        let outcomes = try await withThrowingTaskGroup(of: (Int64, RefundRequestOutcome).self) { group in
            for amount in amounts {
                group.addTask { (amount, try await store.requestRefund(Self.job(payment, amount))) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let reserved = outcomes.reduce(Int64(0)) { sum, entry in
            if case .callChannel = entry.1 { return sum + entry.0 }
            return sum
        }
        let (money, _) = try await Self.money(payment.paymentNo)
        #expect(money == [0, reserved])
        #expect(reserved <= 10_000)
        // Every refusal is exceeds_refundable, and only when what was accepted before could not take it.
        for (amount, outcome) in outcomes {
            if case .refused(let event) = outcome {
                #expect(event.reason == .exceedsRefundable)
                #expect(reserved + amount > 10_000)
            }
        }
    }

    @Test("the sweep asks about each refund processing too long once, however many sweep at once")
    func sweep() async throws {
        let store = try await TestDatabase.store()
        let (payment, _) = try await Self.paidPayment(amount: 5_000)
        var numbers: [String] = []
        for _ in 0..<3 {
            let job = Self.job(payment, 100)
            _ = try await store.requestRefund(job)
            _ = try await store.recordRefundAnswer(refundNo: job.refundNo, .accepted(channelRefundNo: nil))
            numbers.append(job.refundNo)
        }
        let claims = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                group.addTask { try await store.requestRefundQueries(olderThan: .zero, again: .seconds(3600), limit: 1000) }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(Set(numbers).isSubset(of: Set(claims)))
        #expect(claims.filter(numbers.contains).count == numbers.count)
        let jobs = try await TestDatabase.count(
            "SELECT count(*) FROM outbox WHERE routing_key = 'refund.query' AND payload->>'refund_no' = ANY(\(numbers))")
        #expect(jobs == 3)
        #expect(try await store.requestRefundQueries(olderThan: .zero, again: .seconds(3600), limit: 1000).filter(numbers.contains).isEmpty)
    }
}
