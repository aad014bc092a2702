import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PostgresNIO
import Testing

/// `payfleet reconcile` and payment-worker's daily schedule against the channel-sandbox's bills, built from its
/// own ledger in the channel's real format and edited to drop, add or change lines. Each test pays its payments
/// on a bill day of its own (the sandbox's `paid_at`), so the day's books hold only them.
@Suite(.serialized, .enabled(if: TestServices.integrationEnabled))
struct ReconciliationTests {
    static let roles: [TestFleet.Role] = [.receiver, .paymentWorker, .fulfilmentWorker, .eventsWorker]

    /// A day of its own in the past, and noon of it in China Standard Time as the sandbox's `paid_at`.
    static func ownDay() -> (day: String, noon: String) {
        let days = Int.random(in: 0..<7000)
        let start = Date(timeIntervalSince1970: 978_307_200 + Double(days) * 86_400)  // 2001-01-01 UTC onwards
        let day = ISO8601DateFormatter.string(from: start, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
        return (day, "\(day)T04:00:00Z")  // 12:00 CST
    }

    static func pay(_ fleet: TestFleet, _ paymentNo: String, at noon: String) async throws {
        let (status, body) = try await fleet.sandbox("POST", "/sandbox/wechatpay/pay/\(paymentNo)?paid_at=\(noon)")
        #expect(status == 200, "\(body)")
    }

    /// Every bill of `channel` served from now on drops, changes or adds the line of `paymentNo` (with `refundNo`:
    /// of that refund of it).
    static func editBill(
        _ fleet: TestFleet, _ paymentNo: String, _ edit: String, amount: Int64? = nil, refundNo: String? = nil,
        channel: String = "wechatpay"
    ) async throws {
        let amountField = amount.map { ",\"amount\":\($0)" } ?? ""
        let refundField = refundNo.map { ",\"out_refund_no\":\"\($0)\"" } ?? ""
        let (status, body) = try await fleet.sandbox(
            "POST", "/sandbox/bills/edits",
            json: "{\"channel\":\"\(channel)\",\"out_trade_no\":\"\(paymentNo)\",\"edit\":\"\(edit)\"\(amountField)\(refundField)}")
        #expect(status == 200, "\(body)")
    }

    /// (kind, payment_no, repair) of the day's stored diffs, sorted.
    static func storedDiffs(_ db: PostgresClient, channel: String = "wechatpay", day: String) async throws -> [String] {
        let rows = try await db.query(
            """
            SELECT d.kind, d.payment_no, coalesce(d.repair, '-') FROM reconciliation_diffs d
            JOIN reconciliation_runs r ON r.id = d.run_id
            WHERE r.channel = \(channel) AND r.merchant = 'demo' AND r.bill_date = \(day)::date
            ORDER BY d.kind, d.payment_no
            """)
        var result: [String] = []
        for try await (kind, number, repair) in rows.decode((String, String, String).self) {
            result.append("\(kind) \(number) \(repair)")
        }
        return result
    }

    /// How many payment.query jobs reconciliation ever asked for `paymentNo` (outbox rows are kept once relayed).
    static func paymentQueries(_ db: PostgresClient, _ paymentNo: String) async throws -> Int64 {
        try await TestDatabase.scalar(
            db, "SELECT count(*) FROM outbox WHERE routing_key = 'payment.query' AND payload->>'payment_no' = \(paymentNo)")
    }

    @Test func wechatPayDayAgreesThenEveryPaymentDiffIsReportedAndTheRepairableOneRepairedOnce() async throws {
        try await SpyQueue.with([RoutingKey.reconciliationDiff]) { spied in
            let announced = { spied().map(\.body) }
            try await TestFleet.with(Self.roles) { fleet in
                let (day, noon) = Self.ownDay()
                let run = Fixture.unique()
                let numbers = (1...6).map { "RC\(run)\($0)" }
                for number in numbers { try await Fixture.createPayment(fleet, paymentNo: number, amount: 1000, channel: "wechatpay") }

                // Two payments paid and settled: the books agree.
                for number in numbers[0...1] { try await Self.pay(fleet, number, at: noon) }
                for number in numbers[0...1] { #expect(try await Fixture.settlements(of: number, fleet) == 1) }
                let agreed = try await fleet.runCLIStatus(["reconcile", "--channel", "wechatpay", "--merchant", "demo", "--date", day])
                #expect(agreed.status == 0, "\(agreed.output)")
                #expect(agreed.output.contains("wechatpay/demo"), "\(agreed.output)")
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    #expect(
                        try await TestDatabase.text(
                            db,
                            "SELECT status || ' ' || bill_payments || ' ' || matched FROM reconciliation_runs WHERE channel = 'wechatpay' AND merchant = 'demo' AND bill_date = \(day)::date"
                        ) == "agreed 2 2")
                    #expect(try await Self.storedDiffs(db, day: day).isEmpty)
                }

                // #3 and #4 and #6 paid; #3's notification never arrives (pending here, paid at the channel), the bill
                // carries another amount for #4, a line for #5 which nobody paid here, and misses #6.
                for number in [numbers[3], numbers[5]] { try await Self.pay(fleet, number, at: noon) }
                for number in [numbers[3], numbers[5]] { #expect(try await Fixture.settlements(of: number, fleet) == 1) }
                try await fleet.sandboxFault("wechatpay.notify", "drop", count: -1)
                try await Self.pay(fleet, numbers[2], at: noon)
                try await Self.editBill(fleet, numbers[3], "amount", amount: 999)
                try await Self.editBill(fleet, "RX\(run)5", "add", amount: 4321)
                try await Self.editBill(fleet, numbers[5], "drop")
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    #expect(try await Fixture.paymentStatus(db, numbers[2]) == "pending")
                }

                let found = try await fleet.runCLIStatus(["reconcile", "--channel", "wechatpay", "--merchant", "demo", "--date", day])
                #expect(found.status == 1, "diffs remain, so the exit status is 1:\n\(found.output)")
                #expect(found.output.contains("status_mismatch \(numbers[2])"), "\(found.output)")
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    #expect(
                        try await Self.storedDiffs(db, day: day) == [
                            "amount_mismatch \(numbers[3]) -", "channel_only RX\(run)5 -", "local_only \(numbers[5]) -",
                            "status_mismatch \(numbers[2]) payment.query",
                        ])
                }
                // The repair goes through payment.query: #3 settles from the channel's answer, once.
                try await Fixture.waitFor("\(numbers[2]) paid through the repair", fleet) { db in
                    try await Fixture.paymentStatus(db, numbers[2]) == "paid"
                }
                #expect(try await Fixture.settlements(of: numbers[2], fleet) == 1)

                // A rerun of the day: #3 now matches, the other diffs stay as they were, nothing is asked again.
                let again = try await fleet.runCLIStatus(["reconcile", "--channel", "wechatpay", "--merchant", "demo", "--date", day])
                #expect(again.status == 1, "\(again.output)")
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    #expect(
                        try await Self.storedDiffs(db, day: day) == [
                            "amount_mismatch \(numbers[3]) -", "channel_only RX\(run)5 -", "local_only \(numbers[5]) -",
                        ])
                    #expect(
                        try await TestDatabase.text(
                            db,
                            "SELECT status || ' ' || executions || ' ' || matched FROM reconciliation_runs WHERE channel = 'wechatpay' AND merchant = 'demo' AND bill_date = \(day)::date"
                        ) == "diffs 3 3")
                    // One payment.query was ever asked for #3 (by the second run), none by the third.
                    #expect(try await Self.paymentQueries(db, numbers[2]) == 1)
                }
                #expect(fleet.settlements(of: numbers[2]) == 1)
                // What no job can repair is announced for an operator, once however often the day is rerun: counted on
                // the spy queue, where a second announcement (under any message id) would show. A marker written after
                // them is relayed after them, so once it arrived nothing else is on its way.
                let marker = "reconciliation-marker-\(Fixture.unique())"
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    _ = try await db.query(
                        """
                        INSERT INTO outbox (routing_key, message_id, payload)
                        VALUES (\(RoutingKey.reconciliationDiff), \(marker), \("{\"marker\":\"" + marker + "\"}")::jsonb)
                        """)
                }
                try await Fixture.waitFor("the marker on the spy queue") { announced().contains { $0.contains(marker) } }
                let ours = announced().filter { $0.contains(run) }
                #expect(ours.count == 3, "\(ours)")
                for (kind, number) in [("amount_mismatch", numbers[3]), ("channel_only", "RX\(run)5"), ("local_only", numbers[5])] {
                    #expect(ours.filter { $0.contains(kind) && $0.contains(number) }.count == 1, "\(kind) \(number): \(ours)")
                }
            }
        }
    }

    /// Every channel that offers a bill, end to end through its real download path and the sandbox's bill in the
    /// channel's format: a day that agrees, then one edit of each kind reported as exactly its diff, a payment whose
    /// notification was lost repaired through payment.query once, and a rerun that changes nothing. Stripe's day is
    /// UTC and Stripe lists a PaymentIntent on the day it was created, so its PaymentIntents are created on the day
    /// too (the sandbox's `created_at`), an hour before they are paid.
    @Test(arguments: ["wechatpay", "wechatpay-v2", "alipay", "stripe"])
    func everyChannelsBillAgreesThenEachDiffIsReportedAndTheRepairableOneRepairedOnce(channel: String) async throws {
        try await TestFleet.with(Self.roles) { fleet in
            let (day, noonCST) = Self.ownDay()
            let stripe = channel == "stripe"
            let paidAt = stripe ? "\(day)T12:00:00Z" : noonCST
            let run = Fixture.unique()
            let numbers = (1...3).map { "RB\(run)\($0)" }
            for number in numbers {
                if stripe {
                    let (status, body) = try await fleet.sandbox(
                        "POST", "/sandbox/bills/created_at",
                        json: "{\"out_trade_no\":\"\(number)\",\"created_at\":\"\(day)T11:00:00Z\"}")
                    #expect(status == 200, "\(body)")
                }
                try await Fixture.createPayment(fleet, paymentNo: number, amount: 1000, channel: channel)
            }
            func pay(_ number: String) async throws {
                let (status, body) = try await fleet.sandbox("POST", "/sandbox/\(channel)/pay/\(number)?paid_at=\(paidAt)")
                #expect(status == 200, "\(body)")
            }
            for number in numbers[0...1] { try await pay(number) }
            for number in numbers[0...1] { #expect(try await Fixture.settlements(of: number, fleet) == 1) }
            let arguments = ["reconcile", "--channel", channel, "--merchant", "demo", "--date", day]

            let agreed = try await fleet.runCLIStatus(arguments)
            #expect(agreed.status == 0, "\(agreed.output)")
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await TestDatabase.text(
                        db,
                        "SELECT status || ' ' || bill_payments || ' ' || matched FROM reconciliation_runs WHERE channel = \(channel) AND merchant = 'demo' AND bill_date = \(day)::date"
                    ) == "agreed 2 2")
                #expect(try await Self.storedDiffs(db, channel: channel, day: day).isEmpty)
            }

            // #3 is paid but its notification never arrives (paid there, pending here); the bill misses #1, carries
            // another amount for #2 and a line for a payment nobody made here.
            try await fleet.sandboxFault("\(channel).notify", "drop", count: -1)
            try await pay(numbers[2])
            try await Self.editBill(fleet, numbers[0], "drop", channel: channel)
            try await Self.editBill(fleet, numbers[1], "amount", amount: 999, channel: channel)
            try await Self.editBill(fleet, "RY\(run)", "add", amount: 4321, channel: channel)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await Fixture.paymentStatus(db, numbers[2]) == "pending")
            }
            let found = try await fleet.runCLIStatus(arguments)
            #expect(found.status == 1, "diffs remain, so the exit status is 1:\n\(found.output)")
            let unrepairable = ["amount_mismatch \(numbers[1]) -", "channel_only RY\(run) -", "local_only \(numbers[0]) -"]
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await Self.storedDiffs(db, channel: channel, day: day)
                        == unrepairable + ["status_mismatch \(numbers[2]) payment.query"])
            }
            // The repair goes through payment.query: #3 settles from the channel's answer, once.
            try await Fixture.waitFor("\(numbers[2]) paid through the repair", fleet) { db in
                try await Fixture.paymentStatus(db, numbers[2]) == "paid"
            }
            #expect(try await Fixture.settlements(of: numbers[2], fleet) == 1)

            // A rerun: #3 now matches, the rest stays as it was, and no second payment.query is asked for.
            let again = try await fleet.runCLIStatus(arguments)
            #expect(again.status == 1, "\(again.output)")
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await Self.storedDiffs(db, channel: channel, day: day) == unrepairable)
                #expect(try await Self.paymentQueries(db, numbers[2]) == 1)
            }
            #expect(fleet.settlements(of: numbers[2]) == 1)
            // Downloaded once per run, through the channel's own bill path.
            let (_, body) = try await fleet.sandbox("GET", "/sandbox/bills/downloads")
            let downloads = try #require(
                (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["downloads"] as? [String: Int])
            #expect(
                downloads.filter { $0.key.hasPrefix("\(channel)/") && $0.key.hasSuffix("/\(day)") }.values.reduce(0, +) == 3,
                "\(downloads)")
        }
    }

    /// The channel completes refund `refundNo` at `at` (its bill day), when it completes it.
    static func refundAt(_ fleet: TestFleet, _ refundNo: String, _ at: String) async throws {
        let (status, body) = try await fleet.sandbox(
            "POST", "/sandbox/bills/refunded_at", json: "{\"out_refund_no\":\"\(refundNo)\",\"refunded_at\":\"\(at)\"}")
        #expect(status == 200, "\(body)")
    }

    static func refundStatus(_ db: PostgresClient, _ refundNo: String) async throws -> String? {
        try await TestDatabase.text(db, "SELECT status FROM refunds WHERE refund_no = \(refundNo)")
    }

    /// Refunds on every channel with a bill. A refund completed on the day agrees; the bill's other amount for it
    /// is `refund_amount_mismatch`, for an operator. Where the channel completes refunds asynchronously (WeChat Pay,
    /// Stripe), a refund whose notification never arrived — succeeded there, processing here — is
    /// `refund_status_mismatch`, repaired by refund.query once. Alipay refunds as it is asked (nothing stays
    /// processing), so there the refund the bill lacks is `refund_local_only`.
    @Test(arguments: ["wechatpay", "wechatpay-v2", "alipay", "stripe"])
    func refundsOnTheBillAgreeThenEachRefundDiffIsReportedAndTheMissedOneRepairedOnce(channel: String) async throws {
        try await TestFleet.with(Self.roles + [.refundWorker]) { fleet in
            let (day, noonCST) = Self.ownDay()
            let stripe = channel == "stripe"
            let asynchronous = channel != "alipay"
            let paymentNo = "RR\(Fixture.unique())"
            let (first, second) = (paymentNo + "R1", paymentNo + "R2")
            let reconcile = ["reconcile", "--channel", channel, "--merchant", "demo", "--date", day]
            if stripe {
                let (status, body) = try await fleet.sandbox(
                    "POST", "/sandbox/bills/created_at",
                    json: "{\"out_trade_no\":\"\(paymentNo)\",\"created_at\":\"\(day)T11:00:00Z\"}")
                #expect(status == 200, "\(body)")
            }
            try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 1000, channel: channel)
            let paidAt = stripe ? "\(day)T12:00:00Z" : noonCST
            let (paid, paidBody) = try await fleet.sandbox("POST", "/sandbox/\(channel)/pay/\(paymentNo)?paid_at=\(paidAt)")
            #expect(paid == 200, "\(paidBody)")
            #expect(try await Fixture.settlements(of: paymentNo, fleet) == 1)

            // A refund of 300 completed on the day (13:00 UTC: the same day in UTC and in CST), its notification
            // delivered: the books agree.
            try await Self.refundAt(fleet, first, "\(day)T13:00:00Z")
            try await fleet.runCLI(["enqueue", "refund.create", "--refund-no", first, "--payment-no", paymentNo, "--amount", "300"])
            try await Fixture.waitFor("\(first) succeeded", fleet) { db in try await Self.refundStatus(db, first) == "succeeded" }
            let agreed = try await fleet.runCLIStatus(reconcile)
            #expect(agreed.status == 0, "\(agreed.output)")
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await TestDatabase.text(
                        db,
                        "SELECT status || ' ' || bill_payments || ' ' || bill_refunds || ' ' || matched FROM reconciliation_runs WHERE channel = \(channel) AND merchant = 'demo' AND bill_date = \(day)::date"
                    ) == "agreed 1 1 2")
            }

            // A second refund of 200: where refunds complete later, its notification never arrives; and the bill
            // carries another amount for the first one.
            if asynchronous { try await fleet.sandboxFault("\(channel).notify", "drop", count: -1) }
            try await Self.refundAt(fleet, second, "\(day)T14:00:00Z")
            try await fleet.runCLI(["enqueue", "refund.create", "--refund-no", second, "--payment-no", paymentNo, "--amount", "200"])
            try await Fixture.waitFor("the channel completed \(second)") {
                let state = try await ChannelFlowTests.sandboxState(fleet, channel, paymentNo)
                let refunds = state["refunds"] as? [[String: Any]] ?? []
                return refunds.contains { $0["out_refund_no"] as? String == second && $0["succeeded_at"] != nil }
            }
            if asynchronous {
                try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                    #expect(try await Self.refundStatus(db, second) == "processing")
                }
            } else {
                try await Fixture.waitFor("\(second) succeeded", fleet) { db in try await Self.refundStatus(db, second) == "succeeded" }
                try await Self.editBill(fleet, paymentNo, "drop", refundNo: second, channel: channel)
            }
            try await Self.editBill(fleet, paymentNo, "amount", amount: 299, refundNo: first, channel: channel)

            let found = try await fleet.runCLIStatus(reconcile)
            #expect(found.status == 1, "\(found.output)")
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await Self.storedDiffs(db, channel: channel, day: day) == [
                        "refund_amount_mismatch \(paymentNo) -",
                        asynchronous ? "refund_status_mismatch \(paymentNo) refund.query" : "refund_local_only \(paymentNo) -",
                    ])
            }
            // refund.query settles it from the channel's answer — once: the payment's refunded_minor counts every
            // application, so a double would show as 700.
            try await Fixture.waitFor("\(second) succeeded", fleet) { db in try await Self.refundStatus(db, second) == "succeeded" }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await RefundFlowTests.money(db, paymentNo) == RefundFlowTests.Money(refunded: 500, pending: 0, status: "partially_refunded"))
            }

            // Rerun: the repaired refund matches; what the bill itself changed stays for an operator, nothing more.
            let again = try await fleet.runCLIStatus(reconcile)
            #expect(again.status == 1, "\(again.output)")
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await Self.storedDiffs(db, channel: channel, day: day)
                        == ["refund_amount_mismatch \(paymentNo) -"] + (asynchronous ? [] : ["refund_local_only \(paymentNo) -"]))
                #expect(try await RefundFlowTests.money(db, paymentNo) == RefundFlowTests.Money(refunded: 500, pending: 0, status: "partially_refunded"))
            }
        }
    }

    @Test func twoSchedulersReconcileADayOnce() async throws {
        let environment = [
            "PAYFLEET_RECONCILIATION_SCHEDULE_INTERVAL_MS": "300", "PAYFLEET_RECONCILIATION_AFTER_HOUR": "0",
        ]
        // Yesterday in China Standard Time is the day the schedule reconciles; forget any earlier run of it.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3600)!
        let yesterday = calendar.date(byAdding: .day, value: -1, to: Date())!
        let parts = calendar.dateComponents([.year, .month, .day], from: yesterday)
        let day = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
        try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
            try await db.query(
                "DELETE FROM reconciliation_runs WHERE channel = 'wechatpay' AND merchant = 'demo' AND bill_date = \(day)::date")
        }
        try await TestFleet.with([.paymentWorker], environment: environment) { fleet in
            try await fleet.start(.paymentWorker, instance: 1)
            try await Fixture.waitFor("the day reconciled", fleet) { db in
                try await TestDatabase.scalar(
                    db,
                    "SELECT count(*) FROM reconciliation_runs WHERE channel = 'wechatpay' AND merchant = 'demo' AND bill_date = \(day)::date AND status IN ('agreed', 'diffs')")
                    == 1
            }
            // Both schedulers went on looking (a positive signal that the second one had its chances), and found the
            // day taken.
            try await Fixture.waitFor("both schedulers saw the day taken") {
                try await fleet.metric(.paymentWorker, "payfleet_reconciliation_claims_total{channel=\"wechatpay\",outcome=\"taken\"}") >= 6
            }
            #expect(
                try await fleet.metric(.paymentWorker, "payfleet_reconciliation_claims_total{channel=\"wechatpay\",outcome=\"claimed\"}") == 1)
            // The sandbox saw the bill downloaded once, and the run executed once.
            let (_, body) = try await fleet.sandbox("GET", "/sandbox/bills/downloads")
            let downloads = try #require(
                (try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["downloads"] as? [String: Int])
            #expect(downloads.filter { $0.key.hasPrefix("wechatpay/") && $0.key.hasSuffix("/\(day)") }.values.reduce(0, +) == 1, "\(downloads)")
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await TestDatabase.scalar(
                        db,
                        "SELECT executions FROM reconciliation_runs WHERE channel = 'wechatpay' AND merchant = 'demo' AND bill_date = \(day)::date")
                        == 1)
            }
        }
    }
}
