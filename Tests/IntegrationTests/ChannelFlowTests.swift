import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PostgresNIO
import Testing

/// Every channel both ways, against the channel-sandbox and the running fleet: payment.create opens the
/// payment at the channel (prepay) and announces its pay parameters; the sandbox plays the payer and sends
/// the signed notification; payment.query recovers a notification that never came; payment.close and the
/// expiry sweep close at the channel and release stock; channel failures are retried or rejected.
@Suite(.serialized, .enabled(if: TestServices.integrationEnabled))
struct ChannelFlowTests {
    /// Channel, the pay parameter its default prepay answers, the sandbox's notify fault endpoint.
    static let channels: [(ChannelID, String, String)] = [
        (.wechatpay, "code_url", "wechatpay.notify"),
        (.wechatpayV2, "code_url", "wechatpay-v2.notify"),
        (.alipay, "qr_code", "alipay.notify"),
        (.baidu, "rsaSign", "baidu.notify"),
        (.stripe, "client_secret", "stripe.notify"),
    ]

    static let roles: [TestFleet.Role] = [.receiver, .paymentWorker, .fulfilmentWorker, .eventsWorker]

    @Test(arguments: channels.map(\.0.rawValue))
    func createPrepayPayAndSettleExactlyOnce(channel: String) async throws {
        let (_, parameter, notifyEndpoint) = try #require(Self.channels.first { $0.0.rawValue == channel })
        try await TestFleet.with(Self.roles) { fleet in
            let paymentNo = "CF\(Fixture.unique())"
            try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 2599, channel: channel)
            try await Self.openAtThePayer(fleet, channel, paymentNo)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                // payment.created carries what the payer's client needs, written once the prepay succeeded.
                let payload = try #require(
                    try await TestDatabase.text(
                        db, "SELECT payload::text FROM outbox WHERE message_id = \("payment.created:" + paymentNo)"))
                let event = try PayFleetJSON.decode(PaymentCreated.self, from: Array(payload.utf8))
                #expect(event.payParameters[parameter]?.isEmpty == false, "\(event.payParameters)")
                #expect(event.amountMinor == 2599)
            }
            // The channel delivers the notification twice: one settlement, one order.paid.
            try await fleet.sandboxFault(notifyEndpoint, "duplicate")
            let (status, body) = try await fleet.sandbox("POST", "/sandbox/\(channel)/pay/\(paymentNo)")
            #expect(status == 200, "\(body)")
            try await Fixture.waitFor("payment \(paymentNo) paid", fleet) { db in
                try await Fixture.paymentStatus(db, paymentNo) == "paid"
            }
            let tradeNo = try await Self.sandboxTradeNo(fleet, channel, paymentNo)
            try await Self.waitDelivered(fleet, channel, paymentNo)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await TestDatabase.text(db, "SELECT channel_trade_no FROM payments WHERE payment_no = \(paymentNo)")
                        == tradeNo)
                #expect(try await TestDatabase.scalar(db, "SELECT count(*) FROM anomalies WHERE payment_no = \(paymentNo)") == 0)
            }
            // The duplicate was handled too (a positive signal), and the payment settled once.
            try await Fixture.waitFor("both copies handled") { fleet.fulfilmentOutcomes(of: paymentNo) >= 2 }
            #expect(fleet.settlements(of: paymentNo) == 1)
        }
    }

    @Test(arguments: channels.map(\.0.rawValue))
    func droppedNotificationIsRecoveredByPaymentQuery(channel: String) async throws {
        let (_, _, notifyEndpoint) = try #require(Self.channels.first { $0.0.rawValue == channel })
        try await TestFleet.with(Self.roles) { fleet in
            let paymentNo = "CQ\(Fixture.unique())"
            try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 1200, channel: channel)
            try await Self.openAtThePayer(fleet, channel, paymentNo)
            // Every notification attempt is lost until the fault is cleared.
            try await fleet.sandboxFault(notifyEndpoint, "drop", count: -1)
            _ = try await fleet.sandbox("POST", "/sandbox/\(channel)/pay/\(paymentNo)")
            // The sandbox says its attempt was dropped (a positive signal); nothing reached the fleet.
            try await Fixture.waitFor("the notification attempt dropped") {
                let state = try await Self.sandboxState(fleet, channel, paymentNo)
                let notifications = state["notifications"] as? [[String: Any]] ?? []
                return notifications.contains { ($0["log"] as? [[String: Any]] ?? []).contains { "\($0["outcome"] ?? "")".hasPrefix("dropped") } }
            }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await Fixture.paymentStatus(db, paymentNo) == "pending")
            }
            #expect(fleet.fulfilmentOutcomes(of: paymentNo) == 0)

            try await fleet.runCLI(["enqueue", "payment.query", "--payment-no", paymentNo])
            try await Fixture.waitFor("payment \(paymentNo) paid by the query", fleet) { db in
                try await Fixture.paymentStatus(db, paymentNo) == "paid"
            }
            let tradeNo = try await Self.sandboxTradeNo(fleet, channel, paymentNo)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await TestDatabase.text(db, "SELECT channel_trade_no FROM payments WHERE payment_no = \(paymentNo)")
                        == tradeNo)
            }
            #expect(try await Fixture.settlements(of: paymentNo, fleet) == 1)

            // The channel's own retry arrives later: recognised, nothing applied twice.
            _ = try await fleet.sandbox("DELETE", "/sandbox/faults")
            try await Self.waitDelivered(fleet, channel, paymentNo, timeout: .seconds(40))
            try await Fixture.waitFor("the late notification handled") { fleet.fulfilmentOutcomes(of: paymentNo) >= 1 }
            #expect(fleet.settlements(of: paymentNo) == 1)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await TestDatabase.scalar(db, "SELECT count(*) FROM anomalies WHERE payment_no = \(paymentNo)") == 0)
            }
        }
    }

    @Test(arguments: channels.map(\.0.rawValue))
    func closeClosesAtTheChannelAndReleasesStock(channel: String) async throws {
        try await TestFleet.with(Self.roles) { fleet in
            let paymentNo = "CC\(Fixture.unique())"
            let sku = "SKU-\(paymentNo)"
            try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 990, channel: channel)
            try await Self.openAtThePayer(fleet, channel, paymentNo)
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await TestDatabase.scalar(db, "SELECT reserved FROM stock WHERE sku = \(sku)") == 1)
            }
            try await fleet.runCLI(["enqueue", "payment.close", "--payment-no", paymentNo])
            try await Fixture.waitFor("payment \(paymentNo) closed", fleet) { db in
                try await Fixture.paymentStatus(db, paymentNo) == "closed"
            }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await TestDatabase.scalar(db, "SELECT reserved FROM stock WHERE sku = \(sku)") == 0)
                #expect(try await TestDatabase.text(db, "SELECT status FROM orders WHERE order_no = \("ORD-" + paymentNo)") == "closed")
                #expect(
                    try await TestDatabase.scalar(
                        db, "SELECT count(*) FROM outbox WHERE message_id = \("payment.closed:" + paymentNo)") == 1)
            }
            // Closed at the channel too: the payer can no longer pay. (Baidu's cashier has no close API that the
            // developer key may call: there a late payment arrives as paid_after_close, for an operator.)
            if channel != ChannelID.baidu.rawValue {
                let state = try await Self.sandboxState(fleet, channel, paymentNo)
                let (payStatus, _) = try await fleet.sandbox("POST", "/sandbox/\(channel)/pay/\(paymentNo)")
                #expect(payStatus != 200, "the sandbox let a closed \(channel) payment be paid: \(state)")
            }
        }
    }

    @Test func expiredPaymentsAreClosedByTheSweep() async throws {
        try await TestFleet.with(Self.roles, environment: ["PAYFLEET_PAYMENTS_EXPIRY_SWEEP_INTERVAL_MS": "200"]) { fleet in
            let paymentNo = "CE\(Fixture.unique())"
            let sku = "SKU-\(paymentNo)"
            try await fleet.runCLI(["stock", "set", "--sku", sku, "--on-hand", "3"])
            try await fleet.runCLI([
                "enqueue", "payment.create", "--order-no", "ORD-\(paymentNo)", "--amount", "500", "--channel", "wechatpay",
                "--merchant", "demo", "--payment-no", paymentNo, "--item", "\(sku):2", "--expires-in", "2",
            ])
            try await Fixture.waitOpened(paymentNo, fleet)
            try await Fixture.waitFor("expired payment \(paymentNo) closed", fleet) { db in
                try await Fixture.paymentStatus(db, paymentNo) == "closed"
            }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await TestDatabase.scalar(db, "SELECT reserved FROM stock WHERE sku = \(sku)") == 0)
                // Asked to close once, however many sweeps ran meanwhile.
                #expect(
                    try await TestDatabase.scalar(
                        db, "SELECT count(*) FROM outbox WHERE routing_key = 'payment.close' AND payload->>'payment_no' = \(paymentNo)")
                        == 1)
            }
        }
    }

    @Test func prepayServerErrorsAreRetriedUntilTheChannelAnswers() async throws {
        let environment = ["PAYFLEET_RETRY_DEFAULT_BASE_MS": "100", "PAYFLEET_RETRY_DEFAULT_CAP_MS": "400"]
        try await TestFleet.with(Self.roles + [.retryWorker], environment: environment) { fleet in
            let paymentNo = "CR\(Fixture.unique())"
            try await fleet.sandboxFault("wechatpay.prepay", "error5xx", count: 2)
            try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 4321)
            let (_, faults) = try await fleet.sandbox("GET", "/sandbox/faults")
            #expect(!faults.contains("wechatpay.prepay"), "both injected 5xx answers were consumed: \(faults)")
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await TestDatabase.scalar(
                        db, "SELECT count(*) FROM outbox WHERE message_id = \("payment.created:" + paymentNo)") == 1)
                #expect(try await TestDatabase.scalar(db, "SELECT count(*) FROM dead_letters WHERE message_id = \("payment.create:ORD-" + paymentNo)") == 0)
                #expect(try await Fixture.paymentStatus(db, paymentNo) == "pending")
            }
        }
    }

    @Test func aPermanentChannelRefusalRejectsThePaymentAndReleasesStock() async throws {
        try await TestFleet.with(Self.roles) { fleet in
            let paymentNo = "CX\(Fixture.unique())"
            let sku = "SKU-\(paymentNo)"
            try await fleet.runCLI(["stock", "set", "--sku", sku, "--on-hand", "3"])
            // WeChat Pay's domestic API refuses anything but CNY (PARAM_ERROR): no retry can help.
            try await fleet.runCLI([
                "enqueue", "payment.create", "--order-no", "ORD-\(paymentNo)", "--amount", "700", "--currency", "USD",
                "--channel", "wechatpay", "--merchant", "demo", "--payment-no", paymentNo, "--item", "\(sku):2",
            ])
            try await Fixture.waitFor("payment \(paymentNo) rejected", fleet) { db in
                try await Fixture.paymentStatus(db, paymentNo) == "closed"
            }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(try await TestDatabase.text(db, "SELECT status FROM orders WHERE order_no = \("ORD-" + paymentNo)") == "cancelled")
                #expect(try await TestDatabase.scalar(db, "SELECT reserved FROM stock WHERE sku = \(sku)") == 0)
                let payload = try #require(
                    try await TestDatabase.text(
                        db,
                        "SELECT payload::text FROM outbox WHERE routing_key = 'payment.rejected' AND payload->>'order_no' = \("ORD-" + paymentNo)"))
                let event = try PayFleetJSON.decode(PaymentRejected.self, from: Array(payload.utf8))
                #expect(event.reason == .channelRejected)
                #expect(event.detail.contains("PARAM_ERROR"), "\(event.detail)")
                #expect(
                    try await TestDatabase.scalar(db, "SELECT count(*) FROM outbox WHERE message_id = \("payment.created:" + paymentNo)") == 0)
                #expect(try await TestDatabase.scalar(db, "SELECT count(*) FROM retries WHERE message_id = \("payment.create:ORD-" + paymentNo)") == 0)
            }
        }
    }

    // MARK: Helpers

    /// What the payer's client does with the pay parameters before paying, where the channel needs it: Baidu's
    /// mini program opens the cashier with the signed orderInfo (the other channels' prepay already created the
    /// order at the channel).
    static func openAtThePayer(_ fleet: TestFleet, _ channel: String, _ paymentNo: String) async throws {
        guard channel == ChannelID.baidu.rawValue else { return }
        let payload = try await TestDatabase.withClient { (db: PostgresClient) async throws -> String? in
            try await TestDatabase.text(db, "SELECT payload::text FROM outbox WHERE message_id = \("payment.created:" + paymentNo)")
        }
        let event = try PayFleetJSON.decode(PaymentCreated.self, from: Array(try #require(payload).utf8))
        let json = String(decoding: try JSONSerialization.data(withJSONObject: event.payParameters), as: UTF8.self)
        let (status, body) = try await fleet.sandbox("POST", "/sandbox/baidu/cashier", json: json)
        #expect(status == 200 && body.contains("\"errno\":0"), "the Baidu cashier refused the orderInfo: \(body)")
    }

    static func sandboxState(_ fleet: TestFleet, _ channel: String, _ paymentNo: String) async throws -> [String: Any] {
        let (status, body) = try await fleet.sandbox("GET", "/sandbox/state/\(channel)/\(paymentNo)")
        guard status == 200, let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw TestServicesError("sandbox state of \(channel)/\(paymentNo): HTTP \(status) \(body)")
        }
        return object
    }

    static func sandboxTradeNo(_ fleet: TestFleet, _ channel: String, _ paymentNo: String) async throws -> String {
        let state = try await sandboxState(fleet, channel, paymentNo)
        guard let tradeNo = state["trade_no"] as? String, !tradeNo.isEmpty else {
            throw TestServicesError("sandbox has no trade_no for \(paymentNo): \(state)")
        }
        return tradeNo
    }

    /// Waits until the sandbox has delivered the payment's notification (the receiver accepted it).
    static func waitDelivered(
        _ fleet: TestFleet, _ channel: String, _ paymentNo: String, timeout: Duration = .seconds(20)
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let state = try await sandboxState(fleet, channel, paymentNo)
            let notifications = state["notifications"] as? [[String: Any]] ?? []
            if notifications.contains(where: { $0["delivered"] as? Bool == true }) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestServicesError("the sandbox did not deliver \(paymentNo)'s notification within \(timeout)")
    }
}
