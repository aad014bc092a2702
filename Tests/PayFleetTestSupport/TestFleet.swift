import AsyncHTTPClient
import Configuration
import Foundation
import NIOCore
import NIOHTTP1
import PayFleetRuntime
// Every suite that plays a channel reaches SandboxNotifier through the test support.
@_exported import PayFleetSandboxNotifier
import Synchronization

/// A fleet of real PayFleet processes (the built executables) against the test database
/// and vhost, for end-to-end tests. Stop it with ``stop()``; killed processes can be
/// restarted with ``start(_:arguments:instance:)``, and a worker role can run as several
/// processes at once (`instance: 1`, `2`, …), as operators scale it.
public final class TestFleet: Sendable {
    public enum Role: String, Sendable, CaseIterable {
        case receiver = "notify-receiver"
        case paymentWorker = "payment-worker"
        case fulfilmentWorker = "fulfilment-worker"
        case retryWorker = "retry-worker"
        case eventsWorker = "events-worker"
        case refundWorker = "refund-worker"
        case inventoryWorker = "inventory-worker"
        /// The stand-in channels; started first whenever payment-worker or refund-worker is: they call it.
        case sandbox = "channel-sandbox"

        /// What ``TestFleet/start(_:)`` starts unless told otherwise.
        public static let standard: [Role] = [.receiver, .paymentWorker, .fulfilmentWorker]
    }

    public let directory: URL
    public let receiverPort: Int
    /// Where the channel-sandbox listens (the merchants' API base URLs point there).
    public let sandboxPort: Int
    public let environment: [String: String]
    public let notifier: SandboxNotifier
    /// One running process of a role: instance 0 is the one ``start(_:)`` starts.
    private struct Key: Hashable {
        var role: Role
        var instance: Int
    }

    private let processes = Mutex<[Key: (FleetProcess, Int)]>([:])

    /// Migrates the test database, then starts `roles` and waits until each is ready.
    /// `environment` adds to (or overrides) the fleet's `PAYFLEET_*` settings for every process.
    public static func start(_ roles: [Role] = Role.standard, environment: [String: String] = [:]) async throws
        -> TestFleet
    {
        let fleet = try await TestFleet(extra: environment)
        try await fleet.runCLI(["migrate"])
        var roles = roles
        if roles.contains(.paymentWorker) || roles.contains(.refundWorker), !roles.contains(.sandbox) {
            roles.insert(.sandbox, at: 0)
        }
        for role in roles { try await fleet.start(role) }
        return fleet
    }

    private init(extra: [String: String]) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("payfleet-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        receiverPort = try FreePort.pick()
        sandboxPort = try FreePort.pick()
        let sandboxTLSPort = try FreePort.pick()
        let root = TestServices.repositoryRoot.path
        let receiverURL = "http://127.0.0.1:\(receiverPort)"
        let sandboxURL = "http://127.0.0.1:\(sandboxPort)"
        environment = [
            "PAYFLEET_CONFIG": "\(root)/config/sandbox/payfleet.sandbox.yaml",
            "PAYFLEET_POSTGRES_URL": try TestServices.requirePostgresURL(),
            "PAYFLEET_AMQP_URL": try TestServices.requireAMQPURL(),
            "PAYFLEET_RECEIVER_PORT": "\(receiverPort)",
            "PAYFLEET_SHUTDOWN_GRACE_SECONDS": "10",
            "PAYFLEET_WORKER_REQUEUE_PAUSE_MS": "200",
            // The daily reconciliation runs only where a test asks for it (ReconciliationTests).
            "PAYFLEET_RECONCILIATION_SCHEDULE_INTERVAL_MS": "0",
            // The channels reach this fleet's receiver; its merchants' APIs are this fleet's sandbox.
            "PAYFLEET_RECEIVER_PUBLIC_URL": receiverURL,
            "PAYFLEET_SANDBOX_PORT": "\(sandboxPort)",
            "PAYFLEET_SANDBOX_RECEIVER_URL": receiverURL,
            "PAYFLEET_SANDBOX_NOTIFY_BASE_URL": receiverURL,
            "PAYFLEET_CHANNELS_WECHATPAY_API_BASE_URL": sandboxURL,
            "PAYFLEET_CHANNELS_ALIPAY_API_BASE_URL": "\(sandboxURL)/gateway.do",
            "PAYFLEET_CHANNELS_WECHATPAY_V2_API_BASE_URL": sandboxURL,
            "PAYFLEET_CHANNELS_BAIDU_API_BASE_URL": sandboxURL,
            "PAYFLEET_CHANNELS_STRIPE_API_BASE_URL": sandboxURL,
            // WeChat Pay v2 refunds: the sandbox's mutual-TLS listener.
            "PAYFLEET_SANDBOX_WECHATPAY_V2_TLS_PORT": "\(sandboxTLSPort)",
            "PAYFLEET_CHANNELS_WECHATPAY_V2_API_REFUND_BASE_URL": "https://127.0.0.1:\(sandboxTLSPort)",
        ]
        .merging(
            // RabbitMQ's management API (scripts/services enables it), for `payfleet status`'s rates.
            ProcessInfo.processInfo.environment["PAYFLEET_AMQP_MANAGEMENT_URL"].map {
                ["PAYFLEET_AMQP_MANAGEMENT_URL": $0]
            } ?? [:]
        ) { first, _ in first }
        .merging(extra) { _, override in override }
        // Key paths in the sandbox config are relative to the repository root.
        _ = FileManager.default.changeCurrentDirectoryPath(root)
        let reader = try await ConfigReader.payfleet(environment: environment)
        notifier = SandboxNotifier(reader: reader, receiverURL: "http://127.0.0.1:\(receiverPort)")
    }

    /// Starts (or restarts) process `instance` of `role` and waits for its `/health/ready`. Several instances of a
    /// worker role run side by side as separate processes; the receiver and the sandbox have one.
    @discardableResult
    public func start(_ role: Role, arguments: [String] = [], instance: Int = 0) async throws -> FleetProcess {
        // The port of its /health/* and /metrics: the ops port of every role (the receiver's channels' port serves
        // no /metrics), the sandbox's one port.
        let port = role == .sandbox ? sandboxPort : try FreePort.pick()
        precondition(instance == 0 || (role != .receiver && role != .sandbox), "one \(role.rawValue) per fleet")
        let args = role == .sandbox ? arguments : arguments + ["--ops-port", "\(port)"]
        let process = try FleetProcess(role.rawValue, arguments: args, environment: environment, logDirectory: directory)
        processes.withLock { $0[Key(role: role, instance: instance)] = (process, port) }
        try await waitReady(role, instance: instance, timeout: .seconds(30))
        return process
    }

    public func process(_ role: Role, instance: Int = 0) -> FleetProcess? {
        processes.withLock { $0[Key(role: role, instance: instance)]?.0 }
    }

    /// Every process of `role` started so far, by instance.
    public func processes(_ role: Role) -> [FleetProcess] {
        processes.withLock { all in
            all.filter { $0.key.role == role }.sorted { $0.key.instance < $1.key.instance }.map(\.value.0)
        }
    }

    /// `GET /metrics` of every running process of `role`: the value of `sample` (a metric name with its labels, as
    /// Prometheus prints it) in each, summed; 0 where a process has not recorded it.
    public func metric(_ role: Role, _ sample: String) async throws -> Double {
        let ports = processes.withLock { all in all.filter { $0.key.role == role && $0.value.0.isRunning }.map(\.value.1) }
        var total = 0.0
        for port in ports {
            let response = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(5))
            let text = String(buffer: try await response.body.collect(upTo: 4 << 20))
            for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
                total += Double(line.dropFirst(sample.count + 1).trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
        return total
    }

    /// `GET /health/ready` of `role`'s ops port (the sandbox's port): its status code.
    public func readiness(_ role: Role, instance: Int = 0) async throws -> Int {
        guard let port = processes.withLock({ $0[Key(role: role, instance: instance)]?.1 }) else {
            throw TestServicesError("\(role.rawValue) is not running")
        }
        return try await Self.httpStatus("http://127.0.0.1:\(port)/health/ready")
    }

    /// Polls `/health/ready` until it answers 200.
    public func waitReady(_ role: Role, instance: Int = 0, timeout: Duration) async throws {
        guard let (process, port) = processes.withLock({ $0[Key(role: role, instance: instance)] }) else { return }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                throw TestServicesError("\(role.rawValue) exited at start-up:\n\(process.output.suffix(4000))")
            }
            if (try? await Self.httpStatus("http://127.0.0.1:\(port)/health/ready")) == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestServicesError("\(role.rawValue) not ready after \(timeout):\n\(process.output.suffix(4000))")
    }

    public static func httpStatus(_ url: String) async throws -> Int {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(2))
        return Int(response.status.code)
    }

    /// Runs `payfleet ARGS` with the fleet's environment; throws with its output on failure.
    @discardableResult
    public func runCLI(_ arguments: [String]) async throws -> String {
        let (status, output) = try await runCLIStatus(arguments)
        guard status == 0 else {
            throw TestServicesError("payfleet \(arguments.joined(separator: " ")) failed (\(status)):\n\(output)")
        }
        return output
    }

    /// `payfleet <arguments>`: its exit status and output, whatever the status (`reconcile` exits 1 on diffs).
    public func runCLIStatus(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = try FleetProcess("payfleet", arguments: arguments, environment: environment, logDirectory: directory)
        let status = await process.terminate(timeout: .seconds(60), signal: false)
        return (status, process.output)
    }

    /// SIGTERM every process and wait for them.
    public func stop() async {
        let all = processes.withLock { state in
            defer { state.removeAll() }
            return state.values.map(\.0)
        }
        for process in all { await process.terminate() }
    }

    /// Every log line of every process this fleet started, killed and restarted ones included, that `matches`.
    public func logLines(where matches: (Substring) -> Bool) -> [Substring] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var lines: [Substring] = []
        for file in files where file.hasSuffix(".log") {
            guard let text = try? String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8) else { continue }
            lines += text.split(separator: "\n").filter(matches)
        }
        return lines
    }

    /// How many times `paymentNo` was settled: PayFleetStore logs `payment settled` once per committed settlement,
    /// whichever process and path (notification or payment.query) did it. A double settlement counts 2; this is what
    /// "exactly once" is checked with, not uniquely keyed rows.
    public func settlements(of paymentNo: String) -> Int {
        logLines { $0.hasSuffix("] payment settled") && $0.contains("payment_no=\(paymentNo) ") }.count
    }

    /// How many deliveries of `paymentNo`'s notifications fulfilment-worker has finished, whatever the outcome (one
    /// line per delivery: settled and closed from PayFleetStore as they commit, the rest from the handler): the
    /// positive signal that duplicates were processed, instead of a sleep.
    public func fulfilmentOutcomes(of paymentNo: String) -> Int {
        let outcomes = [
            "] payment settled", "] payment closed", "] duplicate notification; nothing changed",
            "] payment already in the notified state; nothing changed", "] notification not settled: anomaly recorded",
        ]
        return logLines { line in
            line.contains("fulfilment-worker") && line.contains("payment_no=\(paymentNo) ")
                && outcomes.contains { line.hasSuffix($0) }
        }.count
    }

    /// Logs of every process, for a failing test's report.
    public var logs: String {
        processes.withLock { $0.values.map { "== \($0.0.name)\n\($0.0.output.suffix(3000))" }.joined(separator: "\n") }
    }
}

/// A free TCP port on 127.0.0.1, below Linux's ephemeral range (32768-60999): a process that is killed and restarted
/// on a port inside that range can find it taken by a client that, reconnecting meanwhile, was handed that very port
/// and connected to itself.
public enum FreePort {
    public static func pick() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<32_000)
            if canBind(port) { return port }
        }
        throw TestServicesError("no free port between 20000 and 32000")
    }

    static func canBind(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }
}

extension TestFleet {
    /// Starts a fleet, runs `body` with it and stops it; when `body` fails, the error carries
    /// the tail of every process's log so the test report says what the fleet saw.
    public static func with(
        _ roles: [Role] = Role.standard, environment: [String: String] = [:], _ body: (TestFleet) async throws -> Void
    ) async throws {
        let fleet = try await start(roles, environment: environment)
        do {
            try await body(fleet)
        } catch {
            let logs = fleet.logs
            await fleet.stop()
            throw TestServicesError("\(error)\n-- fleet logs --\n\(logs)")
        }
        await fleet.stop()
    }

    /// Calls the channel-sandbox's control API (`POST /sandbox/<channel>/pay/<no>`, `/sandbox/faults`, …) and
    /// returns the status and body. A whole ledger (`GET /sandbox/refunds` after a long chaos run) needs a longer
    /// `timeout` and a larger `maxBodyBytes` than a control call.
    @discardableResult
    public func sandbox(
        _ method: String, _ path: String, json: String? = nil, timeout: Duration = .seconds(10),
        maxBodyBytes: Int = 1 << 20
    ) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(sandboxPort)\(path)")
        request.method = HTTPMethod(rawValue: method)
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .init(timeout))
        let body = try await response.body.collect(upTo: maxBodyBytes)
        return (Int(response.status.code), String(buffer: body))
    }

    /// Injects a fault at the sandbox: `mode` drop | delay | error5xx | duplicate | tamper on `endpoint`.
    public func sandboxFault(_ endpoint: String, _ mode: String, count: Int = 1) async throws {
        let (status, body) = try await sandbox(
            "POST", "/sandbox/faults", json: "{\"endpoint\":\"\(endpoint)\",\"mode\":\"\(mode)\",\"count\":\(count)}")
        guard status == 200 else { throw TestServicesError("sandbox fault \(endpoint) \(mode): HTTP \(status) \(body)") }
    }
}
