import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PostgresNIO
import Testing

/// Refunds end to end on every channel: refund.create through the real refund-worker processes, the channel-sandbox's
/// refund APIs and its signed refund notifications back through the receiver. Money is checked where a double would
/// show: the payment's refunded_minor (a refund applied twice counts twice) and the sandbox's own ledger (a refund_no
/// sent twice is a second request, a second refund a second entry) — never by counting uniquely keyed rows.
@Suite(.serialized, .enabled(if: TestServices.integrationEnabled))
struct RefundFlowTests {
    static let roles: [TestFleet.Role] = [
        .receiver, .paymentWorker, .fulfilmentWorker, .eventsWorker, .retryWorker, .refundWorker,
    ]
    /// Short retry delays, so a refund notification that overtakes its call's answer is tried again at once.
    static let environment = [
        "PAYFLEET_RETRY_DEFAULT_BASE_MS": "100", "PAYFLEET_RETRY_DEFAULT_CAP_MS": "400",
    ]

    @Test(arguments: ChannelFlowTests.channels.map(\.0.rawValue))
    func partThenAllRefundedExactlyOnce(channel: String) async throws {
        let (_, _, notifyEndpoint) = try #require(ChannelFlowTests.channels.first { $0.0.rawValue == channel })
        // One refund message at a time: the second refund.create queues behind the first refund's notifications,
        // so its success proves they were consumed first.
        try await TestFleet.with(Self.roles.filter { $0 != .refundWorker }, environment: Self.environment) { fleet in
            try await fleet.start(.refundWorker, arguments: ["--concurrency", "1"])
            let paymentNo = "RF\(Fixture.unique())"
            try await Self.paid(fleet, channel, paymentNo, amount: 2599)

            // Part, with the channel delivering its refund notification twice.
            try await fleet.sandboxFault(notifyEndpoint, "duplicate")
            let first = "R1-\(paymentNo)"
            try await Self.enqueueRefund(fleet, first, paymentNo, 1000)
            try await Self.waitRefund(first, .succeeded, fleet)
            try await Self.waitNotificationsDelivered(fleet, channel, paymentNo)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await Self.money(db, paymentNo) == Money(refunded: 1000, pending: 0, status: "partially_refunded"))
            }

            // The rest. Had the duplicate counted twice, 1000 + 1000 + 1599 would exceed what was paid and this
            // refund would be refused.
            let rest = "R2-\(paymentNo)"
            try await Self.enqueueRefund(fleet, rest, paymentNo, 1599)
            try await Self.waitRefund(rest, .succeeded, fleet)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await Self.money(db, paymentNo) == Money(refunded: 2599, pending: 0, status: "refunded"))
                #expect(try await TestDatabase.scalar(db, "SELECT count(*) FROM anomalies WHERE payment_no = \(paymentNo)") == 0)
            }
            let ledger = try await SandboxRefundLedger.read(fleet, channel: channel)
            #expect(ledger.refunded(paymentNo) == 2599)
            // refund-worker's /metrics: two refunds succeeded (a notification or the channel's own answer).
            #expect(try await fleet.metric(.refundWorker, #"payfleet_refunds_total{outcome="succeeded"}"#) == 2)
            // A whole payment and refund flow on this channel, every process's log read: no secret, no signed body.
            try Fixture.expectNoSecretsInLogs(fleet)
            for (number, amount) in [(first, Int64(1000)), (rest, Int64(1599))] {
                let entries = ledger.refund(number)
                #expect(entries.count == 1, "\(number): \(entries)")
                #expect(entries.first?.amountsRequested == [amount])
                #expect(entries.first?.requests == 1)
            }
        }
    }

    /// 1,000 refund.create jobs with random amounts and reused refund_nos over 100 paid payments, consumed by two
    /// refund-worker processes at once: no payment ever gives back more than it took, and the channel saw each
    /// refund_no once, with one amount.
    @Test func neverMoreThanPaidUnderTwoWorkers() async throws {
        try await TestFleet.with(Self.roles, environment: Self.environment) { fleet in
            try await fleet.start(.refundWorker, instance: 1)
            let batch = try await Fixture.pendingPayments(fleet, count: 100, tag: "RN", amount: 1000)
            try await Self.payAtTheSandbox(fleet, batch.paymentNos, channel: "wechatpay")
            try await batch.waitUntilPaid(atLeast: batch.count, fleet)

            var jobs: [CreateRefund] = []
            var numbers: [String] = []
            for index in 0..<1000 {
                let paymentNo = batch.paymentNos.randomElement()!
                if index > 50, Int.random(in: 0..<10) < 3, let reused = jobs.randomElement() {
                    // A reused refund_no: the same job again, or the number for another amount or payment.
                    jobs.append(
                        Bool.random()
                            ? reused
                            : CreateRefund(
                                refundNo: reused.refundNo, paymentNo: paymentNo, amountMinor: Int64.random(in: 1...400),
                                currency: "CNY"))
                } else {
                    let number = "\(batch.run)R\(index)"
                    numbers.append(number)
                    jobs.append(
                        CreateRefund(
                            refundNo: number, paymentNo: paymentNo, amountMinor: Int64.random(in: 1...400), currency: "CNY"))
                }
            }
            try await JobPublisher.publish(jobs)
            let pattern = "\(batch.run)R%"
            let distinct = numbers.count
            try await Fixture.waitFor("every refund settled", fleet, timeout: .seconds(240)) { db in
                try await TestDatabase.scalar(
                    db,
                    "SELECT count(*) FROM refunds WHERE refund_no LIKE \(pattern) AND status IN ('succeeded', 'failed')")
                    == distinct
            }
            let ledger = try await SandboxRefundLedger.read(fleet, channel: "wechatpay")
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                for paymentNo in batch.paymentNos {
                    let money = try await Self.money(db, paymentNo)
                    let succeeded = try await TestDatabase.scalar(
                        db,
                        """
                        SELECT coalesce(sum(r.amount_minor), 0)::int8 FROM refunds r JOIN payments p ON p.id = r.payment_id
                        WHERE p.payment_no = \(paymentNo) AND r.status = 'succeeded'
                        """)
                    #expect(money.refunded == succeeded && money.refunded <= 1000 && money.pending == 0, "\(paymentNo)")
                    #expect(ledger.refunded(paymentNo) == money.refunded, "\(paymentNo): the channel's books differ")
                }
                // Every refund the channel made is one of ours, made once, with the one amount we recorded.
                for refund in ledger.refunds where refund.outTradeNo.hasPrefix(batch.run) {
                    #expect(refund.amountsRequested.count == 1, "\(refund.outRefundNo) was sent with several amounts")
                    #expect(ledger.refund(refund.outRefundNo).count == 1)
                    let stored = try await TestDatabase.text(
                        db, "SELECT status || ':' || amount_minor FROM refunds WHERE refund_no = \(refund.outRefundNo)")
                    #expect(stored == "succeeded:\(refund.amount)", "\(refund.outRefundNo)")
                }
            }
        }
    }

    /// refund-worker dies (SIGKILL) after the channel made the refund and before its answer was recorded: the
    /// redelivered job calls again under the same refund_no, and the refund completes once at the channel.
    @Test func killedBetweenTheChannelCallAndItsCommit() async throws {
        try await TestFleet.with(Self.roles, environment: Self.environment) { fleet in
            let paymentNo = "RK\(Fixture.unique())"
            try await Self.paid(fleet, "wechatpay", paymentNo, amount: 5000)
            // The channel acts at once but its answer takes 5 s to come back.
            let (status, body) = try await fleet.sandbox(
                "POST", "/sandbox/faults", json: #"{"endpoint":"wechatpay.refund","mode":"delay","delay_ms":5000}"#)
            #expect(status == 200, "\(body)")
            let refundNo = "RK-\(paymentNo)"
            try await Self.enqueueRefund(fleet, refundNo, paymentNo, 3000)
            // The channel has it (a positive signal, not a sleep); its answer is still on the way.
            try await Self.waitUntil("the sandbox holds \(refundNo)") {
                try await SandboxRefundLedger.read(fleet, channel: "wechatpay").refund(refundNo).isEmpty == false
            }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await TestDatabase.text(db, "SELECT status FROM refunds WHERE refund_no = \(refundNo)") == "requested")
            }
            fleet.process(.refundWorker)?.kill()
            try await fleet.start(.refundWorker)
            try await Self.waitRefund(refundNo, .succeeded, fleet)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await Self.money(db, paymentNo) == Money(refunded: 3000, pending: 0, status: "partially_refunded"))
            }
            let entries = try await SandboxRefundLedger.read(fleet, channel: "wechatpay").refund(refundNo)
            #expect(entries.count == 1, "\(entries)")
            #expect(entries.first?.amount == 3000 && entries.first?.amountsRequested == [3000])
            #expect(try await SandboxRefundLedger.read(fleet, channel: "wechatpay").refunded(paymentNo) == 3000)
        }
    }

    @Test func channelServerErrorsAreRetriedUnderTheSameRefundNo() async throws {
        try await TestFleet.with(Self.roles, environment: Self.environment) { fleet in
            let paymentNo = "RE\(Fixture.unique())"
            try await Self.paid(fleet, "wechatpay", paymentNo, amount: 4000)
            try await fleet.sandboxFault("wechatpay.refund", "error5xx", count: 2)
            let refundNo = "RE-\(paymentNo)"
            try await Self.enqueueRefund(fleet, refundNo, paymentNo, 4000)
            try await Self.waitRefund(refundNo, .succeeded, fleet)
            let (_, faults) = try await fleet.sandbox("GET", "/sandbox/faults")
            #expect(!faults.contains("wechatpay.refund"), "both injected 5xx answers were consumed: \(faults)")
            let entries = try await SandboxRefundLedger.read(fleet, channel: "wechatpay").refund(refundNo)
            #expect(entries.count == 1 && entries.first?.amount == 4000, "\(entries)")
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await Self.money(db, paymentNo) == Money(refunded: 4000, pending: 0, status: "refunded"))
            }
        }
    }

    @Test func aPermanentRefusalFailsTheRefundAndReleasesTheReservation() async throws {
        try await TestFleet.with(Self.roles, environment: Self.environment) { fleet in
            let paymentNo = "RX\(Fixture.unique())"
            try await Self.paid(fleet, "wechatpay", paymentNo, amount: 4000)
            try await fleet.sandboxFault("wechatpay.refund", "refuse")
            let refundNo = "RX-\(paymentNo)"
            try await Self.enqueueRefund(fleet, refundNo, paymentNo, 1500)
            try await Self.waitRefund(refundNo, .failed, fleet)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await Self.money(db, paymentNo) == Money(refunded: 0, pending: 0, status: "paid"))
                let payload = try #require(
                    try await TestDatabase.text(
                        db, "SELECT payload::text FROM outbox WHERE message_id = \("refund.failed:" + refundNo)"))
                #expect(try PayFleetJSON.decode(RefundFailed.self, from: Array(payload.utf8)).reason == .channelRejected)
                #expect(
                    try await TestDatabase.scalar(db, "SELECT count(*) FROM retries WHERE message_id = \("refund.create:" + refundNo)")
                        == 0)
            }
            #expect(try await SandboxRefundLedger.read(fleet, channel: "wechatpay").refund(refundNo).isEmpty)
            // The money is still refundable: a new refund goes through.
            try await Self.enqueueRefund(fleet, "RY-\(paymentNo)", paymentNo, 4000)
            try await Self.waitRefund("RY-\(paymentNo)", .succeeded, fleet)
        }
    }

    @Test func aLostRefundNotificationIsRecoveredByTheQuerySweep() async throws {
        let environment = Self.environment.merging([
            "PAYFLEET_REFUNDS_QUERY_AFTER_SECONDS": "1", "PAYFLEET_REFUNDS_QUERY_SWEEP_INTERVAL_MS": "300",
        ]) { _, new in new }
        try await TestFleet.with(Self.roles, environment: environment) { fleet in
            let paymentNo = "RL\(Fixture.unique())"
            try await Self.paid(fleet, "wechatpay", paymentNo, amount: 3000)
            // Every notification attempt is lost until the fault is cleared.
            try await fleet.sandboxFault("wechatpay.notify", "drop", count: -1)
            let refundNo = "RL-\(paymentNo)"
            try await Self.enqueueRefund(fleet, refundNo, paymentNo, 1200)
            try await Self.waitRefund(refundNo, .succeeded, fleet)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await Self.money(db, paymentNo) == Money(refunded: 1200, pending: 0, status: "partially_refunded"))
                // Recovered by a refund.query from the sweep, not by the notification, which never arrived.
                #expect(
                    try await TestDatabase.scalar(
                        db, "SELECT count(*) FROM outbox WHERE routing_key = 'refund.query' AND payload->>'refund_no' = \(refundNo)")
                        >= 1)
            }
            let state = try await ChannelFlowTests.sandboxState(fleet, "wechatpay", paymentNo)
            let notifications = state["notifications"] as? [[String: Any]] ?? []
            #expect(
                notifications.filter { ($0["event"] as? String ?? "").hasPrefix("REFUND") }
                    .allSatisfy { $0["delivered"] as? Bool == false },
                "the refund notification was meant to be lost: \(notifications)")
        }
    }

    // MARK: Helpers

    struct Money: Equatable, CustomStringConvertible {
        var refunded: Int64
        var pending: Int64
        var status: String
        var description: String { "refunded \(refunded), pending \(pending), \(status)" }
    }

    static func money(_ db: PostgresClient, _ paymentNo: String) async throws -> Money {
        let rows = try await db.query(
            "SELECT refunded_minor, refund_pending_minor, status FROM payments WHERE payment_no = \(paymentNo)")
        for try await (refunded, pending, status) in rows.decode((Int64, Int64, String).self) {
            return Money(refunded: refunded, pending: pending, status: status)
        }
        throw TestServicesError("no payment \(paymentNo)")
    }

    /// A payment created through payment.create, opened at its channel, paid by the sandbox's payer.
    static func paid(_ fleet: TestFleet, _ channel: String, _ paymentNo: String, amount: Int64) async throws {
        try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: amount, channel: channel)
        try await ChannelFlowTests.openAtThePayer(fleet, channel, paymentNo)
        let (status, body) = try await fleet.sandbox("POST", "/sandbox/\(channel)/pay/\(paymentNo)")
        guard status == 200 else { throw TestServicesError("sandbox pay \(paymentNo): HTTP \(status) \(body)") }
        try await Fixture.waitFor("payment \(paymentNo) paid", fleet) { db in
            try await Fixture.paymentStatus(db, paymentNo) == "paid"
        }
    }

    static func payAtTheSandbox(_ fleet: TestFleet, _ paymentNos: [String], channel: String) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, paymentNo) in paymentNos.enumerated() {
                if index >= 8 { try await group.next() }
                group.addTask {
                    let (status, body) = try await fleet.sandbox("POST", "/sandbox/\(channel)/pay/\(paymentNo)")
                    guard status == 200 else { throw TestServicesError("sandbox pay \(paymentNo): HTTP \(status) \(body)") }
                }
            }
            try await group.waitForAll()
        }
    }

    static func enqueueRefund(
        _ fleet: TestFleet, _ refundNo: String, _ paymentNo: String, _ amount: Int64
    ) async throws {
        try await fleet.runCLI([
            "enqueue", "refund.create", "--refund-no", refundNo, "--payment-no", paymentNo, "--amount", "\(amount)",
            "--currency", "CNY", "--reason", "test refund",
        ])
    }

    static func waitRefund(
        _ refundNo: String, _ status: RefundStatus, _ fleet: TestFleet, timeout: Duration = .seconds(40)
    ) async throws {
        try await Fixture.waitFor("refund \(refundNo) \(status.rawValue)", fleet, timeout: timeout) { db in
            try await TestDatabase.text(db, "SELECT status FROM refunds WHERE refund_no = \(refundNo)") == status.rawValue
        }
    }

    /// Waits until the sandbox has delivered every notification it sent about the payment.
    static func waitNotificationsDelivered(_ fleet: TestFleet, _ channel: String, _ paymentNo: String) async throws {
        try await waitUntil("every \(channel) notification of \(paymentNo) delivered") {
            let state = try await ChannelFlowTests.sandboxState(fleet, channel, paymentNo)
            let notifications = state["notifications"] as? [[String: Any]] ?? []
            return !notifications.isEmpty && notifications.allSatisfy { $0["delivered"] as? Bool == true }
        }
    }

    static func waitUntil(
        _ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestServicesError("timed out after \(timeout) waiting for \(what)")
    }
}
