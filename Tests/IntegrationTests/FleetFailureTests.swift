import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PostgresNIO
import Testing

/// What happens when a dependency or a process dies mid-flow: nothing is lost, nothing is
/// applied twice, and the channel is told to retry whenever its notification is not safe.
@Suite(.serialized, .enabled(if: TestServices.integrationEnabled))
struct FleetFailureTests {
    /// Stops the shared broker, so it runs only when tests run one at a time (scripts/test, CI).
    @Test(.enabled(if: TestServices.brokerRestartEnabled))
    func brokerDownMeansAFailureReplyAndTheChannelsRetrySucceedsAfterRestart() async throws {
        let fleet = try await TestFleet.start()
        var brokerStopped = false
        do {
            let paymentNo = "OUT\(Fixture.unique())"
            try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 4200)
            let notification = try fleet.notifier.paymentSucceeded(
                channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: paymentNo, amountMinor: 4200))

            try Services.run("stop", "rabbitmq")
            brokerStopped = true
            let failed = try await fleet.notifier.post(notification)
            #expect(failed.status == 503)
            #expect(failed.body == #"{"code":"FAIL","message":"temporarily unavailable, retry later"}"#)
            #expect(try await TestFleet.httpStatus("http://127.0.0.1:\(fleet.receiverPort)/health/ready") == 503)

            try Services.run("start", "rabbitmq")
            brokerStopped = false
            try await fleet.waitReady(.receiver, timeout: .seconds(60))
            // The channel retries the very same notification.
            let retried = try await fleet.notifier.post(notification)
            #expect(retried.status == 204)
            try await Fixture.waitFor("payment \(paymentNo) paid after the broker came back", fleet, timeout: .seconds(60)) { db in
                try await Fixture.paymentStatus(db, paymentNo) == "paid"
            }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await TestDatabase.scalar(db, "SELECT count(*) FROM outbox WHERE message_id = \("order.paid:ORD-" + paymentNo)")
                        == 1)
            }
        } catch {
            if brokerStopped { try? Services.run("start", "rabbitmq") }
            Issue.record("fleet logs:\n\(fleet.logs)")
            await fleet.stop()
            throw error
        }
        await fleet.stop()
    }

    @Test func fulfilmentWorkerKilledWhileAThousandNotificationsFlowLosesAndDuplicatesNothing() async throws {
        let fleet = try await TestFleet.start([.receiver, .paymentWorker])
        try await fleet.start(.fulfilmentWorker, arguments: ["--concurrency", "16"])
        do {
            let run = Fixture.unique()
            let count = 1000
            let sku = "SKU-KILL-\(run)"
            try await fleet.runCLI(["stock", "set", "--sku", sku, "--on-hand", "\(count)"])
            let paymentNos = (0..<count).map { "K\(run)N\($0)" }

            // 1,000 payment.create jobs, published as an upstream service would, applied by payment-worker.
            try await JobPublisher.publishCreatePayments(paymentNos: paymentNos, sku: sku, amount: 100)
            try await Fixture.waitFor("\(count) pending payments", fleet, timeout: .seconds(120)) { db in
                try await TestDatabase.scalar(
                    db, "SELECT count(*) FROM payments WHERE payment_no LIKE \("K\(run)N%") AND status = 'pending'") == count
            }

            // 1,000 signed notifications, 32 in flight; the fulfilment-worker is killed with
            // SIGKILL part-way and restarted.
            let killer = Task {
                try await Fixture.waitFor("some payments settled", fleet, timeout: .seconds(120)) { db in
                    try await TestDatabase.scalar(
                        db, "SELECT count(*) FROM payments WHERE payment_no LIKE \("K\(run)N%") AND status = 'paid'") >= 150
                }
                fleet.process(.fulfilmentWorker)?.kill()
                try await Task.sleep(for: .milliseconds(500))
                try await fleet.start(.fulfilmentWorker, arguments: ["--concurrency", "16"])
            }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                var statuses: [Int] = []
                for (index, paymentNo) in paymentNos.enumerated() {
                    if index >= 32, let status = try await group.next() { statuses.append(status) }
                    group.addTask {
                        let notification = try fleet.notifier.paymentSucceeded(
                            channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: paymentNo, amountMinor: 100))
                        return try await fleet.notifier.post(notification).status
                    }
                }
                for try await status in group { statuses.append(status) }
                return statuses
            }
            try await killer.value
            #expect(statuses.count == count)
            #expect(statuses.allSatisfy { $0 == 204 })

            try await Fixture.waitFor("all \(count) payments paid", fleet, timeout: .seconds(180)) { db in
                try await TestDatabase.scalar(
                    db, "SELECT count(*) FROM payments WHERE payment_no LIKE \("K\(run)N%") AND status = 'paid'") == count
            }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await TestDatabase.scalar(
                        db, "SELECT count(*) FROM outbox WHERE routing_key = 'order.paid' AND message_id LIKE \("order.paid:ORD-K\(run)N%")")
                        == count)
                #expect(
                    try await TestDatabase.scalar(
                        db, "SELECT count(*) FROM orders WHERE order_no LIKE \("ORD-K\(run)N%") AND status = 'paid'") == count)
                #expect(
                    try await TestDatabase.scalar(db, "SELECT count(*) FROM anomalies WHERE payment_no LIKE \("K\(run)N%")") == 0)
            }
        } catch {
            Issue.record("fleet logs:\n\(fleet.logs)")
            await fleet.stop()
            throw error
        }
        await fleet.stop()
    }
}

extension FleetFailureTests {
    /// Stops the shared database, so it runs only when tests run one at a time (scripts/test, CI).
    @Test(.enabled(if: TestServices.brokerRestartEnabled))
    func databaseDownMeansTheNotificationWaitsInTheQueueAndSettlesOnceItIsBack() async throws {
        let fleet = try await TestFleet.start()
        var databaseStopped = false
        do {
            let paymentNo = "PGD\(Fixture.unique())"
            try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 1234)
            let notification = try fleet.notifier.paymentSucceeded(
                channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: paymentNo, amountMinor: 1234))

            try Services.run("stop", "postgres")
            databaseStopped = true
            // The receiver needs no database: the notification is accepted and waits in RabbitMQ
            // while the fulfilment-worker's unit of work fails and the message is requeued.
            #expect(try await fleet.notifier.post(notification).status == 204)
            try await Task.sleep(for: .seconds(2))
            #expect(fleet.process(.fulfilmentWorker)?.isRunning == true)

            try Services.run("start", "postgres")
            databaseStopped = false
            try await Fixture.waitFor("payment \(paymentNo) paid after the database came back", fleet, timeout: .seconds(60)) { db in
                try await Fixture.paymentStatus(db, paymentNo) == "paid"
            }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await TestDatabase.scalar(db, "SELECT count(*) FROM outbox WHERE message_id = \("order.paid:ORD-" + paymentNo)")
                        == 1)
            }
        } catch {
            if databaseStopped { try? Services.run("start", "postgres") }
            Issue.record("fleet logs:\n\(fleet.logs)")
            await fleet.stop()
            throw error
        }
        await fleet.stop()
    }

    @Test func sigtermStopsTheWorkerGracefullyAndNothingIsLostOrDoubled() async throws {
        let fleet = try await TestFleet.start([.receiver, .paymentWorker])
        try await fleet.start(.fulfilmentWorker, arguments: ["--concurrency", "8"])
        do {
            let run = Fixture.unique()
            let count = 300
            let sku = "SKU-TERM-\(run)"
            try await fleet.runCLI(["stock", "set", "--sku", sku, "--on-hand", "\(count)"])
            let paymentNos = (0..<count).map { "T\(run)N\($0)" }
            try await JobPublisher.publishCreatePayments(paymentNos: paymentNos, sku: sku, amount: 250)
            try await Fixture.waitFor("\(count) pending payments", fleet, timeout: .seconds(120)) { db in
                try await TestDatabase.scalar(
                    db, "SELECT count(*) FROM payments WHERE payment_no LIKE \("T\(run)N%") AND status = 'pending'") == count
            }
            let stopper = Task { () -> Int32? in
                try await Fixture.waitFor("some payments settled", fleet, timeout: .seconds(120)) { db in
                    try await TestDatabase.scalar(
                        db, "SELECT count(*) FROM payments WHERE payment_no LIKE \("T\(run)N%") AND status = 'paid'") >= 50
                }
                let status = await fleet.process(.fulfilmentWorker)?.terminate(timeout: .seconds(20))
                try await fleet.start(.fulfilmentWorker, arguments: ["--concurrency", "8"])
                return status
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, paymentNo) in paymentNos.enumerated() {
                    if index >= 16 { try await group.next() }
                    group.addTask {
                        let notification = try fleet.notifier.paymentSucceeded(
                            channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: paymentNo, amountMinor: 250))
                        _ = try await fleet.notifier.post(notification)
                    }
                }
                try await group.waitForAll()
            }
            // SIGTERM: stop consuming, finish and ack in-flight work, exit 0 within the grace period.
            let exitStatus = try await stopper.value
            #expect(exitStatus == 0)
            try await Fixture.waitFor("all \(count) payments paid", fleet, timeout: .seconds(120)) { db in
                try await TestDatabase.scalar(
                    db, "SELECT count(*) FROM payments WHERE payment_no LIKE \("T\(run)N%") AND status = 'paid'") == count
            }
            try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
                #expect(
                    try await TestDatabase.scalar(
                        db, "SELECT count(*) FROM outbox WHERE message_id LIKE \("order.paid:ORD-T\(run)N%")") == count)
                #expect(
                    try await TestDatabase.scalar(db, "SELECT count(*) FROM anomalies WHERE payment_no LIKE \("T\(run)N%")") == 0)
            }
        } catch {
            Issue.record("fleet logs:\n\(fleet.logs)")
            await fleet.stop()
            throw error
        }
        await fleet.stop()
    }
}

/// `scripts/services` from the tests, to stop and start the broker.
enum Services {
    static func run(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = TestServices.repositoryRoot.appendingPathComponent("scripts/services")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestServicesError("scripts/services \(arguments.joined(separator: " ")) failed")
        }
    }
}
