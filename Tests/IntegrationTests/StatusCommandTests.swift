import Foundation
import PayFleetMessages
import PayFleetTestSupport
import PostgresNIO
import Testing

/// `payfleet status --json` against a fleet in a known state: a queue with work and no consumer, a consumed
/// queue, the database's counts at that moment, the last reconciliation of a merchant.
@Suite(.serialized, .enabled(if: TestServices.integrationEnabled))
struct StatusCommandTests {
    static func status(_ fleet: TestFleet) async throws -> [String: Any] {
        let output = try await fleet.runCLI(["status", "--json"])
        guard let start = output.firstIndex(of: "{"),
            let object = try JSONSerialization.jsonObject(with: Data(output[start...].utf8)) as? [String: Any]
        else { throw TestServicesError("status --json printed no JSON object:\n\(output)") }
        return object
    }

    static func queue(_ status: [String: Any], _ name: String) -> [String: Any]? {
        let queues = (status["queues"] as? [String: Any])?["queues"] as? [[String: Any]] ?? []
        return queues.first { $0["name"] as? String == name }
    }

    @Test func statusJSONReportsQueuesBooksAndTheLastReconciliation() async throws {
        // A day later than any other test's: it is the merchant's last reconciliation.
        let day = "2100-01-01"
        try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
            try await db.query("DELETE FROM reconciliation_runs WHERE bill_date >= '2099-01-01'")
        }
        try await TestFleet.with([.receiver, .paymentWorker, .fulfilmentWorker]) { fleet in
            let reconciled = try await fleet.runCLIStatus(["reconcile", "--channel", "wechatpay", "--merchant", "demo", "--date", day])
            #expect(reconciled.status == 0, "\(reconciled.output)")
            // payment-worker stops; three jobs wait for it in `payments`, with no consumer.
            _ = await fleet.process(.paymentWorker)?.terminate()
            for number in 1...3 {
                try await fleet.runCLI(["enqueue", "payment.query", "--payment-no", "ST\(Fixture.unique())\(number)"])
            }
            // RabbitMQ's statistics are sampled every few seconds: wait for them to show the three (a positive signal).
            var status: [String: Any] = [:]
            try await Fixture.waitFor("status to show 3 waiting payment jobs") {
                status = try await Self.status(fleet)
                return Self.queue(status, QueueName.payments)?["ready"] as? Int == 3
            }
            #expect((status["queues"] as? [String: Any])?["source"] as? String == "management")
            let payments = try #require(Self.queue(status, QueueName.payments))
            #expect(payments["consumers"] as? Int == 0)
            #expect(payments["drain_seconds"] == nil, "a queue nobody consumes is not draining: \(payments)")
            #expect(Self.queue(status, QueueName.fulfilment)?["consumers"] as? Int == 1)

            // The books as PostgreSQL has them at that moment (nothing else moves).
            let books = try await TestDatabase.withClient { (db: PostgresClient) async throws -> ([String: Int], [String: Int], Int) in
                var byStatus: [String: Int] = [:]
                for try await (name, count) in try await db.query("SELECT status, count(*)::int8 FROM payments GROUP BY status")
                    .decode((String, Int64).self)
                {
                    byStatus[name] = Int(count)
                }
                var anomalies: [String: Int] = [:]
                for try await (kind, count) in try await db.query(
                    "SELECT kind, count(*)::int8 FROM anomalies WHERE resolved_at IS NULL GROUP BY kind"
                ).decode((String, Int64).self) {
                    anomalies[kind] = Int(count)
                }
                return (byStatus, anomalies, Int(try await TestDatabase.scalar(db, "SELECT count(*) FROM dead_letters")))
            }
            #expect(status["payments"] as? [String: Int] == books.0)
            #expect(status["anomalies"] as? [String: Int] == books.1)
            #expect(status["dead_letters"] as? Int == books.2)
            let reconciliation = status["reconciliation"] as? [[String: Any]] ?? []
            let last = try #require(
                reconciliation.first {
                    let run = $0["run"] as? [String: Any]
                    return run?["channel"] as? String == "wechatpay" && run?["merchant"] as? String == "demo"
                }?["run"] as? [String: Any])
            #expect(last["bill_date"] as? String == day)
            #expect(last["status"] as? String == "agreed")
            #expect(last["diffs"] as? Int == 0)
        }
    }
}
