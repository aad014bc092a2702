import AMQP
import Foundation
import Logging
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PostgresNIO
import Synchronization
import Testing

/// The fleet under fire (DESIGN §2.6), audited from the ground truth: payments created through payment.create jobs
/// and paid at the channel-sandbox on every channel, with its real signed notifications (a share delivered twice),
/// refunds on a share of them, while every role is killed with SIGKILL in turn and restarted, two copies of every
/// worker run, and RabbitMQ and PostgreSQL are stopped and started mid-stream. Then: drained, and checked against
/// what the sandbox (the channel) and a spy queue saw, never against PayFleet's own counters.
///
/// Sized by the environment, so `scripts/chaos` runs the long version with the same code:
/// `PAYFLEET_CHAOS_SIZE` (payments, default 2000), `PAYFLEET_CHAOS_KILL_ROUNDS` (kills per role, default 1),
/// `PAYFLEET_CHAOS_SERVER_RESTARTS` (restarts of each server, default 1), `PAYFLEET_CHAOS_FAULT_SPACING_MS`
/// (between faults, default 2500), `PAYFLEET_CHAOS_DRAIN_SECONDS` (bound on the drain, default 600).
@Suite(.serialized, .enabled(if: TestServices.integrationEnabled && TestServices.brokerRestartEnabled))
struct ChaosTests {
    struct Plan: CustomStringConvertible {
        var size: Int
        var killRounds: Int
        var serverRestarts: Int
        var spacing: Duration
        var drain: Duration
        var refundEvery = 10
        var duplicateShare = 0.2
        /// How roles are stopped: SIGKILL (a crash) or SIGTERM (a deploy), after which each must exit 0 within its
        /// shutdown grace, having finished and acked its in-flight work.
        var signal: StopSignal = .kill
        /// The roles' `shutdown.grace_seconds` in this run.
        var grace: Duration = .seconds(15)

        enum StopSignal: String { case kill, term }

        static func fromEnvironment() -> Plan {
            let env = TestServices.environment
            func int(_ key: String, _ fallback: Int) -> Int { env[key].flatMap { Int($0) } ?? fallback }
            return Plan(
                size: int("PAYFLEET_CHAOS_SIZE", 2000), killRounds: int("PAYFLEET_CHAOS_KILL_ROUNDS", 1),
                serverRestarts: int("PAYFLEET_CHAOS_SERVER_RESTARTS", 1),
                spacing: .milliseconds(int("PAYFLEET_CHAOS_FAULT_SPACING_MS", 2500)),
                drain: .seconds(int("PAYFLEET_CHAOS_DRAIN_SECONDS", 600)),
                signal: env["PAYFLEET_CHAOS_SIGNAL"].flatMap(StopSignal.init(rawValue:)) ?? .kill)
        }

        var description: String {
            "\(size) payments, \(killRounds) SIG\(signal.rawValue.uppercased())(s) per role, \(serverRestarts) restart(s) of each server, "
                + "faults every \(spacing), refunds on every \(refundEvery)th payment, "
                + "\(Int(duplicateShare * 100))% of notification attempts sent twice"
        }
    }

    static let workerRoles: [TestFleet.Role] = [
        .paymentWorker, .fulfilmentWorker, .eventsWorker, .retryWorker, .refundWorker, .inventoryWorker,
    ]
    static let channels: [ChannelID] = [.wechatpay, .wechatpayV2, .alipay, .baidu, .stripe]

    @Test func theFleetUnderFireLosesNothingAndDoublesNothing() async throws {
        try await Self.underFire(Plan.fromEnvironment())
    }

    /// A rolling deploy: every role, receiver included, gets SIGTERM mid-stream in turn and is started again. Each
    /// must stop consuming, finish and ack what it holds, and exit 0 within its grace; the audit is the same.
    @Test func everyRoleStopsCleanlyOnSIGTERMMidStream() async throws {
        try await Self.underFire(
            Plan(size: 500, killRounds: 1, serverRestarts: 0, spacing: .milliseconds(1500), drain: .seconds(300), signal: .term))
    }

    static func underFire(_ plan: Plan) async throws {
        let run = "CH" + Fixture.unique().prefix(8)
        let environment = [
            "PAYFLEET_SANDBOX_DUPLICATE_SHARE": "\(plan.duplicateShare)",
            "PAYFLEET_SANDBOX_REFUND_COMPLETE_MS": "200",
            // The channels' real retry schedules, 20 times faster: Baidu's three payment-callback retries still span
            // 48 s, longer than a broker restart, as their real 16 minutes do.
            "PAYFLEET_SANDBOX_TIME_COMPRESSION": "20",
            "PAYFLEET_RETRY_DEFAULT_BASE_MS": "200", "PAYFLEET_RETRY_DEFAULT_CAP_MS": "3000",
            "PAYFLEET_RETRY_DEFAULT_MAX_ATTEMPTS": "60",
            "PAYFLEET_REFUNDS_QUERY_AFTER_SECONDS": "15", "PAYFLEET_REFUNDS_QUERY_SWEEP_INTERVAL_MS": "2000",
            "PAYFLEET_WORKER_CONCURRENCY": "16", "PAYFLEET_LOG_LEVEL": "info",
            "PAYFLEET_SHUTDOWN_GRACE_SECONDS": "\(plan.grace.components.seconds)",
        ]
        let report = ChaosReport(plan: plan)
        print("chaos \(run): \(plan)")
        try await TestFleet.with([.sandbox, .receiver], environment: environment) { fleet in
            for role in Self.workerRoles {
                for instance in 0..<2 { try await fleet.start(role, instance: instance) }
            }
            let sku = "SKU-\(run)"
            try await fleet.runCLI(["stock", "set", "--sku", sku, "--on-hand", "\(plan.size)"])
            let broker = try await ChaosBroker.open(spyQueue: "chaos.spy.\(run.lowercased())")
            do {
                let started = ContinuousClock.now
                // The faults and the workload at once; either failing stops the other.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await Self.fire(plan, at: fleet, report: report, since: started) }
                    group.addTask {
                        try await Self.work(plan, run: run, sku: sku, fleet: fleet, broker: broker, report: report)
                    }
                    try await group.waitForAll()
                }
                try await Self.drain(plan, run: run, fleet: fleet, broker: broker)
                report.drained()
                try await Self.audit(plan, run: run, sku: sku, fleet: fleet, broker: broker, report: report)
                print(report.table)
                await broker.close()
            } catch {
                print(report.table)
                await broker.close()
                throw error
            }
        }
    }

    // MARK: The workload

    /// Three streams at once, so that every fault lands mid-stream: payment.create jobs published in slices spread
    /// over the fault schedule, the payer paying each payment at the sandbox as soon as its channel opened it, and
    /// refund.create jobs for a share of the payments as soon as they are paid.
    static func work(
        _ plan: Plan, run: String, sku: String, fleet: TestFleet, broker: ChaosBroker, report: ChaosReport
    ) async throws {
        let numbers = (0..<plan.size).map { "\(run)P\($0)" }
        @Sendable func channel(_ index: Int) -> ChannelID { channels[index % channels.count] }
        let jobs = numbers.enumerated().map { index, number in
            CreatePayment(
                orderNo: "ORD-\(number)", userID: "chaos", channel: channel(index), merchant: "demo",
                amountMinor: Int64(100 + (index * 7919) % 9900), currency: "CNY", items: [OrderItem(sku: sku, quantity: 1)],
                description: "chaos", paymentNo: number)
        }
        let channelOf = Dictionary(uniqueKeysWithValues: jobs.map { ($0.paymentNo!, $0.channel) })
        var refunds: [CreateRefund] = []
        for (index, job) in jobs.enumerated() where index % plan.refundEvery == 0 {
            let half = job.amountMinor / 2
            refunds.append(
                CreateRefund(refundNo: "\(job.paymentNo!)R1", paymentNo: job.paymentNo, amountMinor: half, currency: "CNY"))
            if index % (plan.refundEvery * 2) == 0 {
                refunds.append(
                    CreateRefund(
                        refundNo: "\(job.paymentNo!)R2", paymentNo: job.paymentNo, amountMinor: job.amountMinor - half,
                        currency: "CNY"))
            }
        }
        report.refundJobs = refunds.count
        let allRefunds = refunds
        let window = plan.spacing * schedule(plan).count

        try await withThrowingTaskGroup(of: Void.self) { group in
            // payment.create, as an upstream service publishes it, in 20 slices over the fault window.
            group.addTask {
                let slices = 20
                let per = (jobs.count + slices - 1) / slices
                for (slice, start) in stride(from: 0, to: jobs.count, by: per).enumerated() {
                    let chunk = jobs[start..<min(start + per, jobs.count)]
                    try await broker.publishAll(chunk.map { (try PayFleetJSON.encode($0), $0.dedupKey, RoutingKey.paymentCreate) })
                    if slice < slices - 1 { try await Task.sleep(for: window / slices) }
                }
                report.note("published \(jobs.count) payment.create jobs")
            }
            // The payers pay at the sandbox as soon as their payment is open; the sandbox sends each channel's signed
            // notification and retries it on the channel's schedule.
            group.addTask {
                var paid = Set<String>()
                while paid.count < numbers.count {
                    let opened = (try? await TestDatabase.withClient { db in
                        try await TestDatabase.texts(
                            db, "SELECT payment_no FROM payments WHERE payment_no LIKE \(run + "P%") AND prepaid_at IS NOT NULL")
                    }) ?? []
                    let fresh = opened.filter { !paid.contains($0) }
                    if fresh.isEmpty {
                        try await Task.sleep(for: .milliseconds(300))
                        continue
                    }
                    try await forEach(fresh, concurrency: 12) { number in
                        try await Self.pay(number, channel: channelOf[number]!, fleet: fleet)
                    }
                    paid.formUnion(fresh)
                }
                report.note("the sandbox paid \(paid.count) payments")
            }
            // Refunds on a share: half of the amount, and for every other one the rest too, once the payment is paid.
            group.addTask {
                var pending = allRefunds
                while !pending.isEmpty {
                    let numbers = Array(Set(pending.compactMap(\.paymentNo)))
                    let settled = Set(
                        (try? await TestDatabase.withClient { db in
                            try await TestDatabase.texts(
                                db, "SELECT payment_no FROM payments WHERE payment_no = ANY(\(numbers)) AND status <> 'pending'")
                        }) ?? [])
                    let ready = pending.filter { settled.contains($0.paymentNo ?? "") }
                    if !ready.isEmpty {
                        try await broker.publishAll(
                            ready.map { (try PayFleetJSON.encode($0), $0.dedupKey, RoutingKey.refundCreate) })
                        pending.removeAll { settled.contains($0.paymentNo ?? "") }
                    }
                    try await Task.sleep(for: .milliseconds(500))
                }
                report.note("published \(allRefunds.count) refund.create jobs")
            }
            try await group.waitForAll()
        }
    }

    /// The payer pays: Baidu's mini program opens the cashier with the signed orderInfo first.
    static func pay(_ number: String, channel: ChannelID, fleet: TestFleet) async throws {
        if channel == .baidu {
            let info = try await retrying { try await Self.payParameters(number) }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: info), as: UTF8.self)
            _ = try await fleet.sandbox("POST", "/sandbox/baidu/cashier", json: json)
        }
        let (status, body) = try await fleet.sandbox("POST", "/sandbox/\(channel.rawValue)/pay/\(number)")
        guard status == 200 else { throw TestServicesError("sandbox pay \(number): HTTP \(status) \(body.prefix(300))") }
    }

    static func payParameters(_ paymentNo: String) async throws -> [String: String] {
        let text = try await TestDatabase.withClient { (db: PostgresClient) async throws -> String? in
            try await TestDatabase.text(db, "SELECT pay_parameters::text FROM payments WHERE payment_no = \(paymentNo)")
        }
        return try PayFleetJSON.decode([String: String].self, from: Array(try #require(text).utf8))
    }

    // MARK: The faults

    enum Fault: CustomStringConvertible {
        case kill(TestFleet.Role, instance: Int)
        case restart(String)

        var description: String {
            switch self {
            case .kill(let role, let instance): "stop \(role.rawValue)#\(instance)"
            case .restart(let server): "stop and start \(server)"
            }
        }
    }

    /// Every role killed `killRounds` times (alternating its two copies), each server restarted `serverRestarts`
    /// times, interleaved.
    static func schedule(_ plan: Plan) -> [Fault] {
        var kills: [Fault] = []
        for round in 0..<plan.killRounds {
            kills.append(.kill(.receiver, instance: 0))
            for role in workerRoles { kills.append(.kill(role, instance: round % 2)) }
        }
        var restarts: [Fault] = []
        for _ in 0..<plan.serverRestarts { restarts += [.restart("rabbitmq"), .restart("postgres")] }
        var faults: [Fault] = []
        let every = max(1, kills.count / max(1, restarts.count + 1))
        for (index, kill) in kills.enumerated() {
            faults.append(kill)
            if (index + 1) % every == 0, !restarts.isEmpty { faults.append(restarts.removeFirst()) }
        }
        return faults + restarts
    }

    static func fire(_ plan: Plan, at fleet: TestFleet, report: ChaosReport, since start: ContinuousClock.Instant)
        async throws
    {
        for fault in schedule(plan) {
            try await Task.sleep(for: plan.spacing)
            let at = ContinuousClock.now - start
            switch fault {
            case .kill(let role, let instance):
                let process = fleet.process(role, instance: instance)
                switch plan.signal {
                case .kill:
                    process?.kill()
                    try await fleet.start(role, instance: instance)
                    report.fault("kill -9 \(role.rawValue)#\(instance) (pid \(process?.pid ?? 0)), restarted", at: at, kill: true)
                case .term:
                    let sent = ContinuousClock.now
                    // Past the grace the process is cancelled and may still exit 0; the time taken tells them apart.
                    let status = await process?.terminate(timeout: plan.grace + .seconds(15)) ?? -1
                    let took = ContinuousClock.now - sent
                    try await fleet.start(role, instance: instance)
                    report.stopped("\(role.rawValue)#\(instance)", status: status, took: took)
                    report.fault(
                        "kill -TERM \(role.rawValue)#\(instance) (pid \(process?.pid ?? 0)): exit \(status) after \(took), restarted",
                        at: at, kill: true)
                }
            case .restart(let server):
                try Services.run("stop", server)
                try await Task.sleep(for: .seconds(2))
                try Services.run("start", server)
                report.fault(fault.description, at: at, kill: false)
            }
        }
    }

    // MARK: Drain and audit

    static func drain(_ plan: Plan, run: String, fleet: TestFleet, broker: ChaosBroker) async throws {
        let pattern = run + "P%"
        try await waitTolerant("the fleet to drain", timeout: plan.drain) { db in
            let row = try await TestDatabase.text(
                db,
                """
                SELECT (SELECT count(*) FROM payments WHERE payment_no LIKE \(pattern) AND status = 'pending') || ':' ||
                       (SELECT count(*) FROM orders WHERE order_no LIKE \("ORD-" + pattern)
                          AND inventory_status <> 'confirmed') || ':' ||
                       (SELECT count(*) FROM refunds WHERE refund_no LIKE \(pattern) AND status IN ('requested', 'processing'))
                       || ':' || (SELECT count(*) FROM outbox WHERE published_at IS NULL AND payload::text LIKE \("%" + run + "%"))
                       || ':' ||
                       (SELECT count(*) FROM retries WHERE message_id LIKE \("%" + run + "%"))
                """)
            guard row == "0:0:0:0:0" else { return false }
            for queue in [QueueName.payments, QueueName.fulfilment, QueueName.refunds, QueueName.inventory] {
                guard (try? await broker.connection.queueInfo(queue).messageCount) == 0 else { return false }
            }
            return true
        }
    }

    static func audit(
        _ plan: Plan, run: String, sku: String, fleet: TestFleet, broker: ChaosBroker, report: ChaosReport
    ) async throws {
        let pattern = run + "P%"
        let stats = try await SandboxStats.read(fleet)
        report.notifications = stats
        let ledger = try await SandboxRefundLedger.read(fleet)
        let paidAtChannel = ledger.payments.filter { $0.outTradeNo.hasPrefix(run + "P") }
        // Settlements, counted where a double would show: every settlement logs once after its commit.
        let settled = try Self.settlementsInLogs(fleet.directory, run: run)
        let spy = try await broker.drainSpy()
        try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
            let rows = try await db.query(
                """
                SELECT payment_no, status, channel_trade_no, amount_minor, refunded_minor, refund_pending_minor
                FROM payments WHERE payment_no LIKE \(pattern)
                """)
            var stored: [String: (String, String?, Int64, Int64, Int64)] = [:]
            for try await row in rows.decode((String, String, String?, Int64, Int64, Int64).self) {
                stored[row.0] = (row.1, row.2, row.3, row.4, row.5)
            }
            var lost: [String] = []
            var doubled: [String] = []
            var disagree: [String] = []
            for payment in paidAtChannel {
                guard let (status, tradeNo, amount, refunded, pending) = stored[payment.outTradeNo], status != "pending"
                else {
                    lost.append(payment.outTradeNo)
                    continue
                }
                if tradeNo != payment.tradeNo || amount != payment.amount || refunded != payment.refunded || pending != 0 {
                    disagree.append(
                        "\(payment.outTradeNo): channel \(payment.tradeNo)/\(payment.amount)/\(payment.refunded), "
                            + "PayFleet \(tradeNo ?? "-")/\(amount)/\(refunded)+\(pending)")
                }
                if (settled[payment.outTradeNo] ?? 0) > 1 { doubled.append(payment.outTradeNo) }
            }
            report.paidAtChannel = paidAtChannel.count
            report.settledInPostgres = stored.values.filter { $0.0 != "pending" }.count
            report.lost = lost
            report.doubledSettlements = doubled
            report.booksDisagree = disagree

            // order.paid on the spy queue: each order's once; a repeat is counted, not deduplicated.
            let orderPaid = spy.filter { $0.key.hasPrefix("order.paid:ORD-\(run)P") }
            report.orderPaidMissing = plan.size - orderPaid.count
            report.orderPaidRepeated = orderPaid.filter { $0.value > 1 }.map { "\($0.key) ×\($0.value)" }.sorted()

            // Stock: one unit per order, deducted once, nothing left reserved.
            let stock = try await TestDatabase.text(db, "SELECT on_hand || '/' || reserved FROM stock WHERE sku = \(sku)")
            report.stock = stock ?? "?"
            #expect(stock == "0/0", "on_hand/reserved of \(sku): every order deducted once")

            // Refunds: the channel made each refund number once, with one amount.
            let refundEntries = ledger.refunds.filter { $0.outTradeNo.hasPrefix(run + "P") }
            report.refundsAtChannel = refundEntries.count
            report.refundDoubles = refundEntries.filter { $0.amountsRequested.count > 1 || ledger.refund($0.outRefundNo).count > 1 }
                .map(\.outRefundNo)
            report.refundsSucceeded = Int(
                try await TestDatabase.scalar(
                    db, "SELECT count(*) FROM refunds WHERE refund_no LIKE \(pattern) AND status = 'succeeded'"))

            report.anomalies = Int(
                try await TestDatabase.scalar(db, "SELECT count(*) FROM anomalies WHERE payment_no LIKE \(pattern)"))
            report.deadLetters = Int(
                try await TestDatabase.scalar(
                    db,
                    """
                    SELECT count(*) FROM dead_letters
                    WHERE message_id LIKE \("%" + run + "%") OR convert_from(payload, 'UTF8') LIKE \("%" + run + "%")
                    """))
        }
        // payfleet.dead: moved into dead_letters, where each is attributed to this run or not (other suites' rows,
        // such as store tests' merchants without API credentials, end there when this fleet's sweeps meet them).
        try await fleet.runCLI(["dead-letters", "drain"])
        try await TestDatabase.withClient { (db: PostgresClient) async throws -> Void in
            report.deadQueue = Int(
                try await TestDatabase.scalar(
                    db,
                    """
                    SELECT count(*) FROM dead_letters
                    WHERE message_id LIKE \("%" + run + "%") OR convert_from(payload, 'UTF8') LIKE \("%" + run + "%")
                    """))
        }

        #expect(report.paidAtChannel == plan.size, "the sandbox paid every payment")
        #expect(report.lost.isEmpty, "paid at the channel, not in PostgreSQL: \(report.lost.prefix(20))")
        #expect(report.doubledSettlements.isEmpty, "settled twice: \(report.doubledSettlements.prefix(20))")
        #expect(report.booksDisagree.isEmpty, "the channel's books and PayFleet's differ: \(report.booksDisagree.prefix(10))")
        #expect(report.orderPaidMissing == 0, "order.paid never reached the spy for \(report.orderPaidMissing) orders")
        #expect(report.refundDoubles.isEmpty, "refunded twice at the channel: \(report.refundDoubles.prefix(20))")
        #expect(report.refundsAtChannel == report.refundsSucceeded, "the channel's refunds and PayFleet's differ")
        #expect(report.anomalies == 0, "anomalies nobody injected")
        #expect(report.deadLetters == 0, "dead letters of this run")
        #expect(report.deadQueue == 0, "messages of this run dead-lettered to payfleet.dead")
        if plan.signal == .term {
            let stops = report.stops
            #expect(stops.count == schedule(plan).filter { if case .kill = $0 { true } else { false } }.count)
            for stop in stops {
                #expect(stop.status == 0 && stop.took < plan.grace, "\(stop.process): exit \(stop.status) after \(stop.took)")
            }
        }
    }

    /// How many times each payment of the run was settled, from every process's log of this fleet (killed ones
    /// included): PayFleetStore logs `payment settled` once per settling commit.
    static func settlementsInLogs(_ directory: URL, run: String) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".log") {
            let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasSuffix("] payment settled") {
                guard let range = line.range(of: "payment_no=\(run)P") else { continue }
                let number = line[range.lowerBound...].dropFirst("payment_no=".count).prefix { !$0.isWhitespace }
                counts[String(number), default: 0] += 1
            }
        }
        return counts
    }

    // MARK: Tolerant helpers

    /// Polls `condition` until it holds, riding out database outages (a failing query counts as not yet).
    static func waitTolerant(
        _ what: String, timeout: Duration, _ condition: @escaping @Sendable (PostgresClient) async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let done = (try? await TestDatabase.withClient { db in try await condition(db) }) ?? false
            if done { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw TestServicesError("timed out after \(timeout) waiting for \(what)")
    }

    static func retrying<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        var lastError: (any Error)?
        for _ in 0..<240 {
            do { return try await body() } catch { lastError = error }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw lastError ?? TestServicesError("gave up")
    }

    static func forEach<T: Sendable>(
        _ items: [T], concurrency: Int, _ body: @escaping @Sendable (T) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, item) in items.enumerated() {
                if index >= concurrency { try await group.next() }
                group.addTask { try await body(item) }
            }
            try await group.waitForAll()
        }
    }
}

/// A broker connection of the test's own: publishes jobs as an upstream service does (retrying while the broker is
/// down), and owns the spy queue bound to `payfleet.events` for `order.paid`.
final class ChaosBroker: Sendable {
    let connection: AMQPConnection
    let spyQueue: String
    private let runner: Task<Void, any Error>

    private init(connection: AMQPConnection, spyQueue: String, runner: Task<Void, any Error>) {
        self.connection = connection
        self.spyQueue = spyQueue
        self.runner = runner
    }

    static func open(spyQueue: String) async throws -> ChaosBroker {
        let configuration = try AMQPConfiguration(url: try TestServices.requireAMQPURL(), connectionName: "chaos-upstream")
        var topology = AMQPTopology.payfleet()
        topology.queues.append(.init(name: spyQueue, quorum: true))
        topology.bindings.append(.init(queue: spyQueue, exchange: Exchange.events, routingKey: RoutingKey.orderPaid))
        var logger = Logger(label: "chaos-upstream")
        logger.logLevel = .error
        let connection = AMQPConnection(configuration: configuration, topology: topology, logger: logger)
        let runner = Task { try await connection.run() }
        try await connection.waitUntilConnected(timeout: .seconds(20))
        return ChaosBroker(connection: connection, spyQueue: spyQueue, runner: runner)
    }

    /// Publishes every job with a confirm, 64 in flight, each retried until the broker takes it.
    func publishAll(_ jobs: [([UInt8], String, String)]) async throws {
        let connection = connection
        try await ChaosTests.forEach(jobs, concurrency: 64) { body, messageID, routingKey in
            _ = try await ChaosTests.retrying {
                try await connection.publish(
                    .payfleet(body: body, messageID: messageID, type: routingKey), exchange: Exchange.jobs,
                    routingKey: routingKey)
            }
        }
    }

    /// Every message waiting in the spy queue, consumed and counted by message id (a repeat counts twice).
    func drainSpy() async throws -> [String: Int] {
        let waiting = Int(try await connection.queueInfo(spyQueue).messageCount)
        var counts: [String: Int] = [:]
        guard waiting > 0 else { return counts }
        let consumer = try await connection.consume(queue: spyQueue, prefetch: 500)
        var seen = 0
        for try await delivery in consumer {
            counts[delivery.messageID ?? "?", default: 0] += 1
            try await delivery.ack()
            seen += 1
            if seen == waiting { break }
        }
        await consumer.cancel()
        return counts
    }

    func close() async {
        try? await connection.deleteQueue(spyQueue)
        runner.cancel()
        _ = try? await runner.value
    }
}

/// `GET /sandbox/stats`: what the channels sent.
struct SandboxStats {
    var deliveries = 0
    var attempts = 0
    var accepted = 0
    var retried = 0
    var duplicated = 0

    static func read(_ fleet: TestFleet) async throws -> SandboxStats {
        let (status, body) = try await fleet.sandbox("GET", "/sandbox/stats")
        guard status == 200, let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let channels = object["channels"] as? [String: [String: Int]]
        else { throw TestServicesError("GET /sandbox/stats: HTTP \(status) \(body.prefix(300))") }
        var stats = SandboxStats()
        for entry in channels.values {
            stats.deliveries += entry["deliveries"] ?? 0
            stats.attempts += entry["attempts"] ?? 0
            stats.accepted += entry["accepted"] ?? 0
            stats.retried += entry["retried"] ?? 0
            stats.duplicated += entry["duplicated"] ?? 0
        }
        return stats
    }
}

/// What the chaos run did and found, printed as one table.
final class ChaosReport: @unchecked Sendable {
    // @unchecked: every field is written under `lock`, or after the concurrent phase ended.
    private let lock = NSLock()
    let plan: ChaosTests.Plan
    private var log: [String] = []
    var kills = 0
    var restarts = 0
    var refundJobs = 0
    var notifications = SandboxStats()
    var paidAtChannel = 0
    var settledInPostgres = 0
    var lost: [String] = []
    var doubledSettlements: [String] = []
    var booksDisagree: [String] = []
    var orderPaidMissing = 0
    var orderPaidRepeated: [String] = []
    var stock = ""
    var refundsAtChannel = 0
    var refundsSucceeded = 0
    var refundDoubles: [String] = []
    var anomalies = 0
    var deadLetters = 0
    var deadQueue = 0
    var drainTime: Duration = .zero
    private var graceful: [(process: String, status: Int32, took: Duration)] = []

    /// A role that was sent SIGTERM: how it exited and how long it took.
    func stopped(_ process: String, status: Int32, took: Duration) {
        lock.withLock { graceful.append((process, status, took)) }
    }

    var stops: [(process: String, status: Int32, took: Duration)] { lock.withLock { graceful } }

    init(plan: ChaosTests.Plan) {
        self.plan = plan
    }

    func note(_ text: String) {
        lock.withLock { log.append(text) }
        print("chaos: \(text)")
    }

    func fault(_ text: String, at: Duration, kill: Bool) {
        lock.withLock {
            if kill { kills += 1 } else { restarts += 1 }
            lastFault = ContinuousClock.now
        }
        let seconds = Double(at.components.seconds) + Double(at.components.attoseconds) / 1e18
        print(String(format: "chaos: [t+%6.1fs] ", seconds) + text)
    }

    /// When the last fault was over.
    private var lastFault = ContinuousClock.now

    /// The fleet drained: the time since the last fault was over.
    func drained() {
        lock.withLock { drainTime = ContinuousClock.now - lastFault }
    }

    var table: String {
        func row(_ name: String, _ value: Any) -> String {
            "| " + name.padding(toLength: 46, withPad: " ", startingAt: 0) + " | " + "\(value)".padding(
                toLength: 30, withPad: " ", startingAt: 0) + " |"
        }
        let ids = { (list: [String]) in list.isEmpty ? "0" : "\(list.count): \(list.prefix(3).joined(separator: ", "))" }
        return [
            "", "chaos: \(plan)",
            row("what", "count"),
            row("notification deliveries (sandbox)", notifications.deliveries),
            row("  attempts sent", notifications.attempts),
            row("  accepted", notifications.accepted),
            row("  retried by the channel (>1 attempt)", notifications.retried),
            row("  sent twice on purpose", notifications.duplicated),
            row("stops (SIG\(plan.signal.rawValue.uppercased())) and restarts of roles", kills),
            row("server restarts (RabbitMQ, PostgreSQL)", restarts),
            row("payments paid at the channel", paidAtChannel),
            row("payments settled in PostgreSQL", settledInPostgres),
            row("lost (paid at channel, not settled)", ids(lost)),
            row("doubled (settled more than once)", ids(doubledSettlements)),
            row("books differ (trade no, amount, refunded)", ids(booksDisagree)),
            row("order.paid missing on the spy queue", orderPaidMissing),
            row("order.paid repeated on the spy (relay)", ids(orderPaidRepeated)),
            row("stock on_hand/reserved after (expect 0/0)", stock),
            row("refund.create jobs", refundJobs),
            row("refunds at the channel / succeeded", "\(refundsAtChannel) / \(refundsSucceeded)"),
            row("refunds doubled at the channel", ids(refundDoubles)),
            row("anomalies / dead letters (run's) / from the queue", "\(anomalies) / \(deadLetters) / \(deadQueue)"),
            row("time to drain after the last fault", drainTime),
        ].joined(separator: "\n")
    }
}
