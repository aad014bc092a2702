import Foundation
import PayFleetMessages
import PayFleetRuntime
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

    /// Waits until `paymentNo` has been settled at least once (the settlement's log line follows its commit), then
    /// returns how many times: a double settlement shows as 2.
    static func settlements(of paymentNo: String, _ fleet: TestFleet, timeout: Duration = .seconds(30)) async throws -> Int {
        try await waitFor("\(paymentNo) settled", timeout: timeout) { fleet.settlements(of: paymentNo) >= 1 }
        return fleet.settlements(of: paymentNo)
    }

    /// Polls `condition` (no database) until it holds, or fails after `timeout`.
    static func waitFor(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestServicesError("timed out after \(timeout) waiting for \(what)")
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
        try await waitOpened(paymentNo, fleet)
    }

    /// Waits until payment-worker has opened the payment at its channel (the prepay is recorded).
    static func waitOpened(_ paymentNo: String, _ fleet: TestFleet) async throws {
        try await waitFor("payment \(paymentNo) opened at its channel", fleet) { db in
            try await TestDatabase.scalar(
                db, "SELECT count(*) FROM payments WHERE payment_no = \(paymentNo) AND prepaid_at IS NOT NULL") == 1
        }
    }
}

/// Many pending payments created through payment.create jobs, for the load-and-failure tests.
struct PaymentBatch {
    let run: String
    let paymentNos: [String]
    let amount: Int64
    var count: Int { paymentNos.count }
    /// `LIKE` pattern matching this batch's payment numbers.
    var pattern: String { "\(run)N%" }

    /// Posts every payment's signed notification, `concurrency` at a time; returns the statuses.
    func postNotifications(_ fleet: TestFleet, channel: ChannelID, concurrency: Int) async throws -> [Int] {
        try await withThrowingTaskGroup(of: Int.self) { group in
            var statuses: [Int] = []
            for (index, paymentNo) in paymentNos.enumerated() {
                if index >= concurrency, let status = try await group.next() { statuses.append(status) }
                let amount = amount
                group.addTask {
                    let notification = try fleet.notifier.paymentSucceeded(
                        channel: channel, merchant: "demo", payment: .init(paymentNo: paymentNo, amountMinor: amount))
                    return try await fleet.notifier.post(notification).status
                }
            }
            for try await status in group { statuses.append(status) }
            return statuses
        }
    }

    func waitUntilPaid(atLeast target: Int, _ fleet: TestFleet, timeout: Duration = .seconds(120)) async throws {
        let pattern = pattern
        try await Fixture.waitFor("\(target) of \(count) payments paid", fleet, timeout: timeout) { db in
            try await TestDatabase.scalar(
                db, "SELECT count(*) FROM payments WHERE payment_no LIKE \(pattern) AND status = 'paid'") >= target
        }
    }

    /// Every payment paid, every order paid, each settled exactly once (counted from the settlements' log lines,
    /// where a double would show), no anomalies.
    func expectSettledExactlyOnce(_ fleet: TestFleet) async throws {
        let (pattern, count) = (pattern, count)
        try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
            #expect(
                try await TestDatabase.scalar(
                    db, "SELECT count(*) FROM payments WHERE payment_no LIKE \(pattern) AND status = 'paid'") == count)
            #expect(
                try await TestDatabase.scalar(
                    db, "SELECT count(*) FROM orders WHERE order_no LIKE \("ORD-" + pattern) AND status = 'paid'") == count)
            #expect(try await TestDatabase.scalar(db, "SELECT count(*) FROM anomalies WHERE payment_no LIKE \(pattern)") == 0)
        }
        let prefix = "payment_no=\(run)N"
        var settled: [Substring: Int] = [:]
        for line in fleet.logLines(where: { $0.hasSuffix("] payment settled") && $0.contains(prefix) }) {
            guard let range = line.range(of: prefix) else { continue }
            settled[line[range.lowerBound...].prefix { !$0.isWhitespace }, default: 0] += 1
        }
        #expect(settled.values.allSatisfy { $0 == 1 }, "settled twice: \(settled.filter { $0.value > 1 }.keys.prefix(10))")
        // A settlement whose process was killed before it logged is not counted: fewer lines is no loss (the rows
        // say paid), more would be a double.
        #expect(settled.count <= count)
    }
}

extension Fixture {
    /// `count` pending payments of `amount`, created by payment-worker from payment.create jobs
    /// published as an upstream service would.
    static func pendingPayments(_ fleet: TestFleet, count: Int, tag: String, amount: Int64) async throws -> PaymentBatch {
        let run = tag + unique()
        let sku = "SKU-\(run)"
        try await fleet.runCLI(["stock", "set", "--sku", sku, "--on-hand", "\(count)"])
        let batch = PaymentBatch(run: run, paymentNos: (0..<count).map { "\(run)N\($0)" }, amount: amount)
        try await JobPublisher.publishCreatePayments(paymentNos: batch.paymentNos, sku: sku, amount: amount)
        let pattern = batch.pattern
        try await waitFor("\(count) pending payments", fleet, timeout: .seconds(120)) { db in
            try await TestDatabase.scalar(
                db, "SELECT count(*) FROM payments WHERE payment_no LIKE \(pattern) AND status = 'pending'") == count
        }
        return batch
    }
}

extension Fixture {
    /// The secrets the sandbox config holds: every TEST-ONLY key file's secret material (API keys, APIv3 keys, Stripe
    /// keys and endpoint secrets, and a stretch of every private key's base64).
    static func configuredSecrets() throws -> [(name: String, value: String)] {
        let folder = TestServices.repositoryRoot.appendingPathComponent("config/sandbox")
        var secrets: [(String, String)] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            if file.hasSuffix(".txt") {
                secrets.append((file, text.trimmingCharacters(in: .whitespacesAndNewlines)))
            } else if text.contains("PRIVATE KEY-----") {
                // A line from the middle of the key's base64: long enough to be unique to it.
                let lines = text.split(separator: "\n").filter { !$0.hasPrefix("-----") }
                if lines.count > 4 { secrets.append((file, String(lines[lines.count / 2]))) }
            }
        }
        return secrets
    }

    /// No log line of any process of `fleet` carries a configured secret, nor a signed body's signature or ciphertext
    /// (`sign=…`, `"ciphertext"`, `rsaSign=`, `Stripe-Signature`: what logging a full body or header would leak).
    static func expectNoSecretsInLogs(_ fleet: TestFleet, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let secrets = try configuredSecrets()
        #expect(secrets.count >= 10, "the TEST-ONLY secrets were not found", sourceLocation: sourceLocation)
        let lines = fleet.logLines { _ in true }
        #expect(!lines.isEmpty, sourceLocation: sourceLocation)
        for (name, value) in secrets {
            let leaks = lines.filter { $0.contains(value) }
            #expect(leaks.isEmpty, "\(name) in the logs: \(leaks.first?.prefix(200) ?? "")", sourceLocation: sourceLocation)
        }
        for marker in ["\"ciphertext\"", "rsaSign=", "&sign=", "Stripe-Signature", "-----BEGIN", "req_info"] {
            let leaks = lines.filter { $0.contains(marker) }
            #expect(leaks.isEmpty, "\(marker) in the logs: \(leaks.first?.prefix(200) ?? "")", sourceLocation: sourceLocation)
        }
    }
}
