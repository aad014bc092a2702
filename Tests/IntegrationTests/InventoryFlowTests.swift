import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PostgresNIO
import Testing

/// inventory-worker end to end: 300 order.paid events over 10 skus with scarce stock, consumed by two
/// inventory-worker processes at once. Some orders were closed (their reservation released) and then paid late, so
/// free stock must cover them or they are oversold and refunded automatically.
@Suite(.serialized, .enabled(if: TestServices.integrationEnabled))
struct InventoryFlowTests {
    static let roles: [TestFleet.Role] = [
        .receiver, .paymentWorker, .fulfilmentWorker, .eventsWorker, .retryWorker, .refundWorker, .inventoryWorker,
    ]

    @Test func scarceStockUnderTwoInventoryWorkers() async throws {
        let environment = ["PAYFLEET_RETRY_DEFAULT_BASE_MS": "100", "PAYFLEET_RETRY_DEFAULT_CAP_MS": "400"]
        try await TestFleet.with(Self.roles, environment: environment) { fleet in
            try await fleet.start(.inventoryWorker, instance: 1)
            let run = "IV" + Fixture.unique()
            let skus = (0..<10).map { "SKU-\(run)-\($0)" }
            // 27 on hand per sku: 25 orders reserve 25; 5 of them close (5 free again); 5 new orders reserve those;
            // the 5 closed ones are then paid late with 2 free: per sku 27 confirmed (25 + 2 from free stock) and
            // 3 oversold, whatever order the events come in.
            for sku in skus { try await fleet.runCLI(["stock", "set", "--sku", sku, "--on-hand", "27"]) }
            func paymentNo(_ sku: Int, _ index: Int) -> String { "\(run)S\(sku)N\(index)" }
            let first = (0..<10).flatMap { sku in (0..<25).map { (sku, paymentNo(sku, $0)) } }
            let closing = (0..<10).flatMap { sku in (0..<5).map { paymentNo(sku, $0) } }
            let second = (0..<10).flatMap { sku in (25..<30).map { (sku, paymentNo(sku, $0)) } }

            try await Self.create(first, skus: skus, fleet)
            try await JobPublisher.publish(
                closing.map { (try PayFleetJSON.encode(ClosePayment(paymentNo: $0)), "payment.close:\($0)", RoutingKey.paymentClose) })
            try await Self.waitCount("50 payments closed", fleet, closing, status: "closed")
            try await Self.create(second, skus: skus, fleet)

            // The open 250 are paid; the closed 50 are paid late, at the sandbox that had closed them.
            let open = (first + second).map(\.1).filter { !closing.contains($0) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, number) in open.enumerated() {
                    if index >= 16 { try await group.next() }
                    group.addTask {
                        let notification = try fleet.notifier.paymentSucceeded(
                            channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: number, amountMinor: 1000))
                        let reply = try await fleet.notifier.post(notification)
                        guard (200..<300).contains(reply.status) else { throw TestServicesError("notify \(number): \(reply)") }
                    }
                }
                try await group.waitForAll()
            }
            for number in closing {
                let (status, body) = try await fleet.sandbox("POST", "/sandbox/wechatpay/pay/\(number)?late=1")
                guard status == 200 else { throw TestServicesError("late pay \(number): HTTP \(status) \(body)") }
            }

            let pattern = "ORD-\(run)%"
            try await Fixture.waitFor("300 orders' stock decided", fleet, timeout: .seconds(180)) { db in
                try await TestDatabase.scalar(
                    db, "SELECT count(*) FROM orders WHERE order_no LIKE \(pattern) AND inventory_status IN ('confirmed', 'oversold')")
                    == 300
            }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                for sku in skus {
                    let stock = try await TestDatabase.text(db, "SELECT on_hand || '/' || reserved FROM stock WHERE sku = \(sku)")
                    // Σ deductions = what was on hand minus what is left = the confirmed orders' quantities.
                    let confirmed = try await TestDatabase.scalar(
                        db,
                        """
                        SELECT coalesce(sum(i.quantity), 0)::int8 FROM order_items i JOIN orders o ON o.id = i.order_id
                        WHERE i.sku = \(sku) AND o.inventory_status = 'confirmed'
                        """)
                    let oversold = try await TestDatabase.scalar(
                        db,
                        """
                        SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id
                        WHERE i.sku = \(sku) AND o.inventory_status = 'oversold'
                        """)
                    #expect(stock == "0/0", "\(sku): on_hand/reserved \(stock ?? "?")")
                    #expect(confirmed == 27 && oversold == 3, "\(sku): confirmed \(confirmed), oversold \(oversold)")
                }
            }
            // Each oversold order's payment is refunded in full, exactly once at the channel.
            let oversold = try await TestDatabase.withClient { (db: PostgresClient) async throws -> [String] in
                try await TestDatabase.texts(
                    db,
                    """
                    SELECT p.payment_no FROM payments p JOIN orders o ON o.id = p.order_id
                    WHERE o.order_no LIKE \(pattern) AND o.inventory_status = 'oversold'
                    """)
            }
            #expect(oversold.count == 30)
            try await Fixture.waitFor("30 automatic refunds succeeded", fleet, timeout: .seconds(60)) { db in
                try await TestDatabase.scalar(
                    db, "SELECT count(*) FROM refunds WHERE refund_no = ANY(\(oversold.map { "OVS" + $0 })) AND status = 'succeeded'")
                    == 30
            }
            let ledger = try await SandboxRefundLedger.read(fleet, channel: "wechatpay")
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                for number in oversold {
                    let refunds = ledger.refunds(of: number)
                    #expect(refunds.count == 1 && refunds.first?.outRefundNo == "OVS\(number)", "\(number): \(refunds)")
                    #expect(refunds.first?.amount == 1000)
                    #expect(
                        try await TestDatabase.text(db, "SELECT refunded_minor || ':' || status FROM payments WHERE payment_no = \(number)")
                            == "1000:refunded")
                }
            }
            // Each order's stock was decided once across both workers: one "stock deducted" or "order oversold" line
            // per order (a double deduction logs twice). The workers' /metrics agree with their logs; they also count
            // order.paid copies other tests left on the queue, hence the comparison with all decisions logged.
            let decisions = fleet.logLines { line in
                line.contains("inventory-worker") && (line.hasSuffix("] stock deducted") || line.hasSuffix("] order oversold; its payment is refunded"))
            }
            var perOrder: [Substring: Int] = [:]
            for line in decisions {
                guard let start = line.range(of: "order_no=")?.upperBound else { continue }
                perOrder[line[start...].prefix { $0 != " " }, default: 0] += 1
            }
            let ours = perOrder.filter { $0.key.hasPrefix("ORD-\(run)") }
            #expect(ours.count == 300 && ours.values.allSatisfy { $0 == 1 }, "decided twice: \(ours.filter { $0.value != 1 })")
            let confirmations = try await fleet.metric(.inventoryWorker, #"payfleet_inventory_confirmations_total{outcome="confirmed"}"#)
            let oversells = try await fleet.metric(.inventoryWorker, #"payfleet_inventory_confirmations_total{outcome="oversold"}"#)
            #expect(Int(confirmations + oversells) == decisions.count, "metrics \(confirmations) + \(oversells), logged \(decisions.count)")
            for process in fleet.processes(.inventoryWorker) {
                #expect(!process.output.contains("deadlock"), "\(process.name) met a deadlock")
                #expect(!process.output.contains("40P01"), "\(process.name) met a deadlock")
            }
        }
    }

    static func create(_ orders: [(Int, String)], skus: [String], _ fleet: TestFleet) async throws {
        let jobs = orders.map { sku, number in
            CreatePayment(
                orderNo: "ORD-\(number)", userID: "inventory", channel: .wechatpay, merchant: "demo", amountMinor: 1000,
                currency: "CNY", items: [OrderItem(sku: skus[sku], quantity: 1)], description: "scarce",
                paymentNo: number)
        }
        try await JobPublisher.publish(jobs.map { (try PayFleetJSON.encode($0), $0.dedupKey, RoutingKey.paymentCreate) })
        try await waitCount("\(orders.count) payments opened", fleet, orders.map(\.1), status: "pending", opened: true)
    }

    static func waitCount(
        _ what: String, _ fleet: TestFleet, _ numbers: [String], status: String, opened: Bool = false
    ) async throws {
        try await Fixture.waitFor(what, fleet, timeout: .seconds(120)) { db in
            let count =
                opened
                ? try await TestDatabase.scalar(
                    db,
                    """
                    SELECT count(*) FROM payments
                    WHERE payment_no = ANY(\(numbers)) AND status = \(status) AND prepaid_at IS NOT NULL
                    """)
                : try await TestDatabase.scalar(
                    db, "SELECT count(*) FROM payments WHERE payment_no = ANY(\(numbers)) AND status = \(status)")
            return count == numbers.count
        }
    }
}
