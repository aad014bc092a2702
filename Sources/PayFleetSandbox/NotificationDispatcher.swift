import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Sends the sandbox channels' notifications to merchants the way the channels do: a first attempt at once,
/// then a retry after each failure on the channel's schedule (compressed), until one is accepted or the
/// schedule runs out. Every attempt goes into the order's ``SandboxDelivery`` log; faults on
/// `<channel>.notify` apply per attempt.
final class NotificationDispatcher: Sendable {
    /// One attempt's request, signed afresh for each attempt (same notification id, new timestamp).
    struct Outgoing: Sendable {
        var headers: [(String, String)]
        var body: [UInt8]
    }

    /// What a channel needs to deliver one notification.
    struct Job: Sendable {
        var key: SandboxPaymentKey
        var delivery: SandboxDelivery
        var faultEndpoint: String
        var schedule: [Duration]
        /// Whether the merchant's reply (status, body) acknowledges the notification.
        var accepts: @Sendable (Int, String) -> Bool
        /// Signs the notification at `now`; with `tampered`, so that its signature does not verify.
        var sign: @Sendable (_ now: Date, _ tampered: Bool) throws -> Outgoing
    }

    private let client: HTTPClient
    private let ledger: SandboxLedger
    private let faults: FaultInjector
    private let compression: Double
    private let timeout: Duration
    /// The share of attempts delivered twice without any fault (`sandbox.duplicate_share`): channels do that.
    private let duplicateShare: Double
    private let logger: Logger
    private let retries = Mutex<(next: Int, tasks: [Int: Task<Void, Never>])>((0, [:]))

    init(
        client: HTTPClient, ledger: SandboxLedger, faults: FaultInjector, compression: Double, timeout: Duration,
        duplicateShare: Double = 0, logger: Logger
    ) {
        self.duplicateShare = duplicateShare
        self.client = client
        self.ledger = ledger
        self.faults = faults
        self.compression = compression
        self.timeout = timeout
        self.logger = logger
    }

    /// Records the delivery, makes the first attempt and returns once it is done (with the delivery as it then
    /// stands); retries continue in the background.
    func deliver(_ job: Job) async -> SandboxDelivery {
        guard let index = ledger.addDelivery(job.delivery, to: job.key) else { return job.delivery }
        let accepted = await attempt(job, index: index, number: 1)
        if accepted || job.schedule.isEmpty {
            ledger.updateDelivery(job.key, index) { $0.finished = true }
        } else {
            startRetries(job, index: index)
        }
        return ledger.delivery(job.key, index) ?? job.delivery
    }

    /// Cancels every pending retry (at shutdown). The deliveries stay unfinished in the log.
    func cancelRetries() {
        let tasks = retries.withLock { state in
            defer { state.tasks.removeAll() }
            return Array(state.tasks.values)
        }
        for task in tasks { task.cancel() }
    }

    private func startRetries(_ job: Job, index: Int) {
        retries.withLock { state in
            let id = state.next
            state.next += 1
            state.tasks[id] = Task {
                defer { _ = self.retries.withLock { $0.tasks.removeValue(forKey: id) } }
                for (offset, delay) in job.schedule.enumerated() {
                    do {
                        try await Task.sleep(for: NotificationRetrySchedule.compressed(delay, by: self.compression))
                    } catch {
                        return
                    }
                    if await self.attempt(job, index: index, number: offset + 2) {
                        break
                    }
                }
                self.ledger.updateDelivery(job.key, index) { $0.finished = true }
            }
        }
    }

    /// One attempt, faults applied; true when the merchant accepted it.
    private func attempt(_ job: Job, index: Int, number: Int) async -> Bool {
        let fault = faults.take(job.faultEndpoint)
        var sends = 1
        var tampered = false
        switch fault?.mode {
        case .drop?:
            record(job, index, number, outcome: "dropped (fault)", accepted: false)
            return false
        case .delay?:
            try? await Task.sleep(for: .milliseconds(fault?.delayMilliseconds ?? 1000))
        case .duplicate?:
            sends = 2
        case .tamper?:
            tampered = true
        case .error5xx?, .refuse?, .abnormal?, nil:
            if duplicateShare > 0, Double.random(in: 0..<1) < duplicateShare { sends = 2 }
        }
        var accepted = false
        for copy in 0..<sends {
            let (ok, outcome) = await send(job, tampered: tampered)
            let note = (tampered ? " (tampered signature)" : "") + (copy > 0 ? " (duplicate)" : "")
            record(job, index, number, outcome: outcome + note, accepted: ok)
            accepted = accepted || ok
        }
        return accepted
    }

    private func record(_ job: Job, _ index: Int, _ number: Int, outcome: String, accepted: Bool) {
        logger.info(
            "notification attempt",
            metadata: [
                "order": "\(job.key)", "event": "\(job.delivery.event)", "attempt": "\(number)", "outcome": "\(outcome)",
            ])
        ledger.updateDelivery(job.key, index) {
            $0.attempts.append(.init(number: number, at: Date(), outcome: outcome, accepted: accepted))
            if accepted { $0.delivered = true }
        }
    }

    private func send(_ job: Job, tampered: Bool) async -> (Bool, String) {
        let outgoing: Outgoing
        do {
            outgoing = try job.sign(Date(), tampered)
        } catch {
            return (false, "error: cannot sign (\(type(of: error)))")
        }
        var request = HTTPClientRequest(url: job.delivery.url)
        request.method = .POST
        for (name, value) in outgoing.headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: outgoing.body))
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.nanoseconds)))
            let body = try await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            let ok = job.accepts(status, String(buffer: body))
            return (ok, "HTTP \(status)" + (ok ? " accepted" : " refused"))
        } catch {
            return (false, "error: \(error)".prefix(200).description)
        }
    }
}

extension Duration {
    /// The whole duration in nanoseconds, saturating.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole + attoseconds / 1_000_000_000
    }
}
