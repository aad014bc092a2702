import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PostgresNIO
import Testing

/// The spine, end to end, with every role running as its own process against the real
/// PostgreSQL and RabbitMQ: upstream job → pending payment → signed channel notification →
/// receiver reply → settled payment and paid order, exactly once.
@Suite(.serialized, .enabled(if: TestServices.integrationEnabled))
struct FleetEndToEndTests {
    @Test func wechatPayAndAlipayNotificationsSettleTheirOrdersExactlyOnce() async throws {
        try await TestFleet.with { fleet in
            let run = Fixture.unique()
            let sku = "SKU-E2E-\(run)"
            try await fleet.runCLI(["stock", "set", "--sku", sku, "--on-hand", "10"])
            let orders: [(ChannelID, String, Int64)] = [(.wechatpay, "WX\(run)", 8888), (.alipay, "ALI\(run)", 1999)]
            for (channel, paymentNo, amount) in orders {
                try await fleet.runCLI([
                    "enqueue", "payment.create", "--order-no", "ORD-\(paymentNo)", "--amount", "\(amount)",
                    "--currency", "CNY", "--channel", channel.rawValue, "--merchant", "demo", "--payment-no", paymentNo,
                    "--item", "\(sku):2",
                ])
            }
            for (_, paymentNo, _) in orders {
                try await Fixture.waitFor("payment \(paymentNo) pending", fleet) { db in
                    try await Fixture.paymentStatus(db, paymentNo) == "pending"
                }
            }
            // Stock is reserved for both orders, not yet deducted.
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await TestDatabase.scalar(db, "SELECT reserved FROM stock WHERE sku = \(sku)") == 4)
            }

            let wechat = try fleet.notifier.paymentSucceeded(
                channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: orders[0].1, amountMinor: 8888))
            let wechatReply = try await fleet.notifier.post(wechat)
            #expect(wechatReply == .init(status: 204, body: ""))

            let alipay = try fleet.notifier.paymentSucceeded(
                channel: .alipay, merchant: "demo", payment: .init(paymentNo: orders[1].1, amountMinor: 1999))
            let alipayReply = try await fleet.notifier.post(alipay)
            #expect(alipayReply == .init(status: 200, body: "success"))

            for (_, paymentNo, _) in orders {
                try await Fixture.waitFor("payment \(paymentNo) paid", fleet) { db in
                    try await Fixture.paymentStatus(db, paymentNo) == "paid"
                }
            }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                for (channel, paymentNo, amount) in orders {
                    let orderNo = "ORD-\(paymentNo)"
                    #expect(try await TestDatabase.text(db, "SELECT status FROM orders WHERE order_no = \(orderNo)") == "paid")
                    #expect(
                        try await TestDatabase.scalar(
                            db,
                            "SELECT amount_minor FROM payments WHERE payment_no = \(paymentNo) AND channel = \(channel.rawValue) AND channel_trade_no IS NOT NULL AND paid_at IS NOT NULL"
                        ) == amount)
                }
            }
            for (_, paymentNo, _) in orders {
                #expect(try await Fixture.settlements(of: paymentNo, fleet) == 1)
            }
        }
    }

    @Test func theSameNotificationPostedTenTimesConcurrentlySettlesOnce() async throws {
        try await TestFleet.with { fleet in
            let paymentNo = "DUP\(Fixture.unique())"
            try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 500)
            let notification = try fleet.notifier.paymentSucceeded(
                channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: paymentNo, amountMinor: 500))
            let replies = try await withThrowingTaskGroup(of: SandboxNotifier.Reply.self) { group in
                for _ in 0..<10 { group.addTask { try await fleet.notifier.post(notification) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // Every copy is acknowledged (the channel must stop retrying), but only one settles.
            #expect(replies.allSatisfy { $0.status == 204 })
            try await Fixture.waitFor("payment \(paymentNo) paid", fleet) { db in
                try await Fixture.paymentStatus(db, paymentNo) == "paid"
            }
            // Every copy was handled (one line per delivery: a positive signal, not a sleep), and one settled.
            try await Fixture.waitFor("all 10 deliveries handled") { fleet.fulfilmentOutcomes(of: paymentNo) == 10 }
            #expect(fleet.settlements(of: paymentNo) == 1)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await TestDatabase.scalar(db, "SELECT count(*) FROM anomalies WHERE payment_no = \(paymentNo)") == 0)
            }
        }
    }

    @Test func tamperedAndStaleNotificationsAreRejectedAndChangeNothing() async throws {
        try await TestFleet.with { fleet in
            let paymentNo = "BAD\(Fixture.unique())"
            try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 700)

            // One byte of the body changed after signing.
            var tampered = try fleet.notifier.paymentSucceeded(
                channel: .wechatpay, merchant: "demo",
                payment: .init(paymentNo: paymentNo, amountMinor: 700, notificationID: "EV-TAMPERED-\(paymentNo)"))
            let index = tampered.body.firstIndex(of: UInt8(ascii: "S"))!
            tampered.body[index] = UInt8(ascii: "T")
            let tamperedReply = try await fleet.notifier.post(tampered)
            #expect(tamperedReply.status == 401)
            #expect(tamperedReply.body.hasPrefix(#"{"code":"FAIL","message":"#))

            // Signed six minutes ago: outside WeChat Pay's five-minute window.
            let stale = try fleet.notifier.paymentSucceeded(
                channel: .wechatpay, merchant: "demo",
                payment: .init(paymentNo: paymentNo, amountMinor: 700, notificationID: "EV-STALE-\(paymentNo)"),
                signedAt: Date().addingTimeInterval(-360))
            let staleReply = try await fleet.notifier.post(stale)
            #expect(staleReply.status == 401)
            #expect(staleReply.body.contains("FAIL"))

            // An Alipay form whose amount was changed after signing.
            var forged = try fleet.notifier.paymentSucceeded(
                channel: .alipay, merchant: "demo",
                payment: .init(paymentNo: paymentNo, amountMinor: 700, notificationID: "NT-FORGED-\(paymentNo)"))
            forged.body = Array(String(decoding: forged.body, as: UTF8.self)
                .replacingOccurrences(of: "total_amount=7.00", with: "total_amount=0.01").utf8)
            let forgedReply = try await fleet.notifier.post(forged)
            #expect(forgedReply == .init(status: 401, body: "fail"))

            // A genuine notification posted after them: once it has been applied, anything
            // published before it would have been applied too.
            let genuine = try fleet.notifier.paymentSucceeded(
                channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: paymentNo, amountMinor: 700))
            #expect(try await fleet.notifier.post(genuine).status == 204)
            try await Fixture.waitFor("payment \(paymentNo) paid", fleet) { db in
                try await Fixture.paymentStatus(db, paymentNo) == "paid"
            }
            // The receiver published only the genuine one (its own count), and fulfilment-worker handled one delivery.
            #expect(try await fleet.metric(.receiver, #"payfleet_notify_requests_total{channel="wechatpay",outcome="accepted"}"#) == 1)
            #expect(try await fleet.metric(.receiver, #"payfleet_notify_requests_total{channel="alipay",outcome="accepted"}"#) == 0)
            #expect(try await Fixture.settlements(of: paymentNo, fleet) == 1)
            #expect(fleet.fulfilmentOutcomes(of: paymentNo) == 1)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                let rejectedKeys = [
                    "wechatpay:EV-TAMPERED-\(paymentNo)", "wechatpay:EV-STALE-\(paymentNo)", "alipay:NT-FORGED-\(paymentNo)",
                ]
                for key in rejectedKeys {
                    #expect(try await TestDatabase.scalar(db, "SELECT count(*) FROM inbox WHERE dedup_key = \(key)") == 0)
                }
                #expect(
                    try await TestDatabase.scalar(db, "SELECT count(*) FROM anomalies WHERE payment_no = \(paymentNo)") == 0)
            }
        }
    }

    @Test func anAmountMismatchIsAnAnomalyAndThePaymentStaysPending() async throws {
        try await TestFleet.with { fleet in
            let paymentNo = "MIS\(Fixture.unique())"
            try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 10000, channel: "alipay")
            let notification = try fleet.notifier.paymentSucceeded(
                channel: .alipay, merchant: "demo", payment: .init(paymentNo: paymentNo, amountMinor: 1))
            // Authentic, so the channel is told it was received; it is not settled.
            #expect(try await fleet.notifier.post(notification) == .init(status: 200, body: "success"))
            try await Fixture.waitFor("anomaly for \(paymentNo)", fleet) { db in
                try await TestDatabase.scalar(db, "SELECT count(*) FROM anomalies WHERE payment_no = \(paymentNo)") == 1
            }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await TestDatabase.text(db, "SELECT kind FROM anomalies WHERE payment_no = \(paymentNo)") == "amount_mismatch")
                #expect(try await Fixture.paymentStatus(db, paymentNo) == "pending")
                #expect(
                    try await TestDatabase.text(db, "SELECT status FROM orders WHERE order_no = \("ORD-" + paymentNo)") == "pending")
                #expect(
                    try await TestDatabase.scalar(
                        db, "SELECT count(*) FROM outbox WHERE routing_key = 'payment.anomaly' AND payload->>'payment_no' = \(paymentNo)")
                        == 1)
            }
            #expect(fleet.fulfilmentOutcomes(of: paymentNo) == 1)
            #expect(fleet.settlements(of: paymentNo) == 0)
        }
    }
}
