import Foundation
import Logging
import PayFleetMessages
import PayFleetStore
import PostgresNIO
import Testing

/// The test database (PAYFLEET_TEST_POSTGRES_URL, never the dev one), a client shared by the
/// whole test process, and helpers to read rows.
///
/// Suites are enabled when the URL is set, and always under CI=true, where a missing URL
/// makes every test fail instead of skipping.
enum TestDatabase {
    static let url = ProcessInfo.processInfo.environment["PAYFLEET_TEST_POSTGRES_URL"]
    static let isCI = ProcessInfo.processInfo.environment["CI"]?.lowercased() == "true"  // as TestServices.isCI
    static let enabled = url != nil || isCI

    static let logger: Logger = {
        var logger = Logger(label: "PayFleetStoreTests")
        logger.logLevel =
            ProcessInfo.processInfo.environment["PAYFLEET_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            ?? .error
        return logger
    }()

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "PAYFLEET_TEST_POSTGRES_URL is not set; run `eval \"$(scripts/services start postgres)\"` first"
        }
    }

    static func configuration(searchPath: String? = nil) throws -> PostgresClient.Configuration {
        guard let url else { throw Missing() }
        var configuration = try PayFleetStore.clientConfiguration(url: url)
        configuration.options.maximumConnections = 24
        if let searchPath {
            configuration.options.additionalStartupParameters = [("search_path", searchPath)]
        }
        return configuration
    }

    /// One client for the process, running until the process exits, and the schema migrated once.
    private static let shared: Task<(PostgresClient, PayFleetStore), any Error> = Task {
        let client = PostgresClient(configuration: try configuration(), backgroundLogger: logger)
        Task.detached { await client.run() }
        let store = PayFleetStore(client: client, logger: logger)
        _ = try await store.migrate()
        return (client, store)
    }

    static func store() async throws -> PayFleetStore { try await shared.value.1 }
    static func client() async throws -> PostgresClient { try await shared.value.0 }

    /// Runs `body` with a client of its own, whose connections use `searchPath`.
    static func withClient<T>(searchPath: String? = nil, _ body: (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: try configuration(searchPath: searchPath), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Runs `body` against a new, empty schema that is dropped afterwards.
    static func withFreshSchema<T>(_ body: (_ schema: String) async throws -> T) async throws -> T {
        let schema = "payfleet_t_" + unique().lowercased()
        let admin = try await client()
        try await admin.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: logger)
        do {
            let result = try await body(schema)
            try await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"), logger: logger)
            return result
        } catch {
            _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE"), logger: logger)
            throw error
        }
    }

    /// 12 random base-36 characters: order numbers, skus and ids that no other test uses.
    static func unique() -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        return String((0..<12).map { _ in alphabet.randomElement()! })
    }

    // MARK: - Reading rows

    static func count(_ query: PostgresQuery) async throws -> Int {
        let rows = try await client().query(query, logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    struct OutboxRow: Sendable {
        var routingKey: String
        var messageID: String
        var payload: String
    }

    /// Outbox rows whose payload has this order_no or payment_no, oldest first.
    static func outbox(orderNo: String? = nil, paymentNo: String? = nil) async throws -> [OutboxRow] {
        let rows = try await client().query(
            """
            SELECT routing_key, message_id, payload::text FROM outbox
            WHERE (\(orderNo)::text IS NOT NULL AND payload->>'order_no' = \(orderNo))
               OR (\(paymentNo)::text IS NOT NULL AND payload->>'payment_no' = \(paymentNo))
            ORDER BY id
            """, logger: logger)
        var result: [OutboxRow] = []
        for try await (routingKey, messageID, payload) in rows.decode((String, String, String).self) {
            result.append(OutboxRow(routingKey: routingKey, messageID: messageID, payload: payload))
        }
        return result
    }

    /// [on_hand, reserved] of a sku, or nil when it has no stock row.
    static func stock(_ sku: String) async throws -> [Int64]? {
        let rows = try await client().query(
            "SELECT on_hand, reserved FROM stock WHERE sku = \(sku)", logger: logger)
        for try await (onHand, reserved) in rows.decode((Int64, Int64).self) { return [onHand, reserved] }
        return nil
    }

    static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try PayFleetJSON.decode(type, from: Array(json.utf8))
    }
}

/// Builders for the tests' jobs and notifications.
enum Fixture {
    /// A whole-second "now": PostgreSQL keeps microseconds, so whole seconds compare exactly.
    static func now() -> Date { Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)) }

    /// Creates skus with stock and returns their names.
    static func skus(_ onHand: [Int64]) async throws -> [String] {
        let store = try await TestDatabase.store()
        var skus: [String] = []
        for amount in onHand {
            let sku = "SKU-" + TestDatabase.unique()
            try await store.setStock(sku: sku, onHand: amount)
            skus.append(sku)
        }
        return skus
    }

    static func job(
        orderNo: String = "ORD-" + TestDatabase.unique(), items: [OrderItem], amountMinor: Int64 = 8888,
        currency: String = "CNY", channel: ChannelID = .wechatpay, merchant: String = "m1", paymentNo: String? = nil,
        userID: String = "user-1"
    ) -> CreatePayment {
        CreatePayment(
            orderNo: orderNo, userID: userID, channel: channel, merchant: merchant, amountMinor: amountMinor,
            currency: currency, items: items, description: "test order", paymentNo: paymentNo,
            client: ["openid": "o-test"])
    }

    /// Creates a pending payment for one unit of a new sku; returns the event.
    static func pendingPayment(amountMinor: Int64 = 8888, channel: ChannelID = .wechatpay) async throws
        -> PaymentCreated
    {
        let sku = try await skus([5])[0]
        let outcome = try await TestDatabase.store().createPayment(
            job(items: [OrderItem(sku: sku, quantity: 1)], amountMinor: amountMinor, channel: channel))
        guard case .created(let event) = outcome else {
            throw FixtureError(description: "expected a created payment, got \(outcome)")
        }
        return event
    }

    static func notification(
        for payment: PaymentCreated, kind: PaymentNotification.Kind = .succeeded,
        id: String = "N" + TestDatabase.unique(),
        channelTradeNo: String = "T" + TestDatabase.unique(), amountMinor: Int64? = nil, currency: String? = nil,
        channel: ChannelID? = nil, occurredAt: Date = now()
    ) -> PaymentNotification {
        PaymentNotification(
            id: id, channel: channel ?? payment.channel, merchant: payment.merchant, kind: kind,
            paymentNo: payment.paymentNo, channelTradeNo: channelTradeNo,
            amountMinor: amountMinor ?? payment.amountMinor,
            currency: currency ?? payment.currency, occurredAt: occurredAt, raw: #"{"test":true}"#)
    }

    struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }
}
