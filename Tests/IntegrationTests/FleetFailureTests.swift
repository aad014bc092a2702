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
    func brokerDownMeansAFailureReplyOnEveryChannelAndTheChannelsRetrySucceedsAfterRestart() async throws {
        try await TestFleet.with { fleet in
            var brokerStopped = false
            do {
                let run = "OUT\(Fixture.unique().prefix(8))"
                var notifications: [(ChannelID, String, SandboxNotifier.SignedNotification)] = []
                for channel in ChannelID.allCases {
                    let paymentNo = run + channel.rawValue.filter { $0.isLetter }
                    try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 4200, channel: channel.rawValue)
                    notifications.append(
                        (channel, paymentNo,
                         try fleet.notifier.paymentSucceeded(
                            channel: channel, merchant: "demo", payment: .init(paymentNo: paymentNo, amountMinor: 4200))))
                }

                #expect(try await fleet.metric(.fulfilmentWorker, "payfleet_broker_connects_total") == 1)
                try Services.run("stop", "rabbitmq")
                brokerStopped = true
                // The worker's /metrics says what its readiness says: no broker.
                try await Fixture.waitFor("fulfilment-worker to see the broker gone") {
                    try await fleet.metric(.fulfilmentWorker, "payfleet_broker_connected") == 0
                }
                for (channel, _, notification) in notifications {
                    let failed = try await fleet.notifier.post(notification)
                    #expect(failed.status == 503, "\(channel): HTTP \(failed.status)")
                    #expect(failed.body == BrokerRefusalTests.failureBodies[channel], "\(channel): \(failed.body)")
                }
                #expect(try await TestFleet.httpStatus("http://127.0.0.1:\(fleet.receiverPort)/health/ready") == 503)

                try Services.run("start", "rabbitmq")
                brokerStopped = false
                try await fleet.waitReady(.receiver, timeout: .seconds(60))
                // The channels retry the very same notifications.
                for (channel, paymentNo, notification) in notifications {
                    let retried = try await fleet.notifier.post(notification)
                    #expect((200..<300).contains(retried.status), "\(channel): HTTP \(retried.status) \(retried.body)")
                    try await Fixture.waitFor("payment \(paymentNo) paid after the broker came back", fleet, timeout: .seconds(60)) { db in
                        try await Fixture.paymentStatus(db, paymentNo) == "paid"
                    }
                    #expect(try await Fixture.settlements(of: paymentNo, fleet) == 1, "\(channel)")
                }
                // It reconnected once, and nothing is left running.
                #expect(try await fleet.metric(.fulfilmentWorker, "payfleet_broker_connected") == 1)
                #expect(try await fleet.metric(.fulfilmentWorker, "payfleet_broker_connects_total") == 2)
                #expect(try await fleet.metric(.fulfilmentWorker, "payfleet_deliveries_in_flight{queue=\"fulfilment\"}") == 0)
            } catch {
                if brokerStopped { try? Services.run("start", "rabbitmq") }
                throw error
            }
        }
    }

    @Test func fulfilmentWorkerKilledWhileAThousandNotificationsFlowLosesAndDuplicatesNothing() async throws {
        try await TestFleet.with([.receiver, .paymentWorker]) { fleet in
            try await fleet.start(.fulfilmentWorker, arguments: ["--concurrency", "16"])
            let batch = try await Fixture.pendingPayments(fleet, count: 1000, tag: "K", amount: 100)

            // 1,000 signed notifications, 32 in flight; the fulfilment-worker is killed with
            // SIGKILL part-way and restarted.
            let killer = Task {
                try await batch.waitUntilPaid(atLeast: 150, fleet)
                fleet.process(.fulfilmentWorker)?.kill()
                try await Task.sleep(for: .milliseconds(500))
                try await fleet.start(.fulfilmentWorker, arguments: ["--concurrency", "16"])
            }
            let statuses = try await batch.postNotifications(fleet, channel: .wechatpay, concurrency: 32)
            try await killer.value
            #expect(statuses.count == batch.count)
            #expect(statuses.allSatisfy { $0 == 204 })

            try await batch.waitUntilPaid(atLeast: batch.count, fleet, timeout: .seconds(180))
            try await batch.expectSettledExactlyOnce(fleet)
        }
    }

}

extension FleetFailureTests {
    /// Stops the shared database, so it runs only when tests run one at a time (scripts/test, CI).
    @Test(.enabled(if: TestServices.brokerRestartEnabled))
    func databaseDownMeansTheNotificationWaitsInTheQueueAndSettlesOnceItIsBack() async throws {
        try await TestFleet.with { fleet in
            let paymentNo = "PGD\(Fixture.unique())"
            try await Fixture.createPayment(fleet, paymentNo: paymentNo, amount: 1234)
            let notification = try fleet.notifier.paymentSucceeded(
                channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: paymentNo, amountMinor: 1234))

            try Services.run("stop", "postgres")
            do {
                // The receiver needs no database: the notification is accepted and waits in
                // RabbitMQ while the fulfilment-worker's unit of work fails and is requeued.
                #expect(try await fleet.notifier.post(notification).status == 204)
                // The worker stays up but says it is not ready while it cannot reach the database.
                var readiness = 200
                for _ in 0..<50 where readiness == 200 {
                    try await Task.sleep(for: .milliseconds(200))
                    readiness = try await fleet.readiness(.fulfilmentWorker)
                }
                #expect(readiness == 503)
                #expect(fleet.process(.fulfilmentWorker)?.isRunning == true)
            } catch {
                try? Services.run("start", "postgres")
                throw error
            }
            try Services.run("start", "postgres")
            try await fleet.waitReady(.fulfilmentWorker, timeout: .seconds(30))

            try await Fixture.waitFor("payment \(paymentNo) paid after the database came back", fleet, timeout: .seconds(60)) { db in
                try await Fixture.paymentStatus(db, paymentNo) == "paid"
            }
            #expect(try await Fixture.settlements(of: paymentNo, fleet) == 1)
        }
    }

    @Test func sigtermStopsTheWorkerGracefullyAndNothingIsLostOrDoubled() async throws {
        try await TestFleet.with([.receiver, .paymentWorker]) { fleet in
            try await fleet.start(.fulfilmentWorker, arguments: ["--concurrency", "8"])
            let batch = try await Fixture.pendingPayments(fleet, count: 300, tag: "T", amount: 250)

            let stopper = Task { () -> Int32? in
                try await batch.waitUntilPaid(atLeast: 50, fleet)
                let status = await fleet.process(.fulfilmentWorker)?.terminate(timeout: .seconds(20))
                try await fleet.start(.fulfilmentWorker, arguments: ["--concurrency", "8"])
                return status
            }
            _ = try await batch.postNotifications(fleet, channel: .wechatpay, concurrency: 16)
            // SIGTERM: stop consuming, finish and ack in-flight work, exit 0 within the grace period.
            #expect(try await stopper.value == 0)

            try await batch.waitUntilPaid(atLeast: batch.count, fleet, timeout: .seconds(120))
            try await batch.expectSettledExactlyOnce(fleet)
        }
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
