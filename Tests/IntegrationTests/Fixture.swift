import Foundation
import PayFleetTestSupport
import PostgresNIO
import Testing

/// Small helpers the end-to-end suites share.
enum Fixture {
    /// Letters and digits unique to this run, for order and payment numbers.
    static func unique() -> String {
        String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12))
    }

    static func paymentStatus(_ db: PostgresClient, _ paymentNo: String) async throws -> String? {
        try await TestDatabase.text(db, "SELECT status FROM payments WHERE payment_no = \(paymentNo)")
    }

    /// Polls `condition` against the database until it holds, or fails after `timeout`.
    static func waitFor(
        _ what: String, _ fleet: TestFleet, timeout: Duration = .seconds(30),
        _ condition: @escaping @Sendable (PostgresClient) async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
            while ContinuousClock.now < deadline {
                if try await condition(db) { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw TestServicesError("timed out after \(timeout) waiting for \(what)")
        }
    }

    /// A pending payment created the way upstream services create them: a payment.create
    /// job through the CLI, applied by the running payment-worker.
    static func createPayment(
        _ fleet: TestFleet, paymentNo: String, amount: Int64, channel: String = "wechatpay"
    ) async throws {
        let sku = "SKU-\(paymentNo)"
        try await fleet.runCLI(["stock", "set", "--sku", sku, "--on-hand", "5"])
        try await fleet.runCLI([
            "enqueue", "payment.create", "--order-no", "ORD-\(paymentNo)", "--amount", "\(amount)", "--channel", channel,
            "--merchant", "demo", "--payment-no", paymentNo, "--item", "\(sku):1",
        ])
        try await waitFor("payment \(paymentNo) pending", fleet) { db in
            try await paymentStatus(db, paymentNo) == "pending"
        }
    }
}
