import AMQP
import Configuration
import Logging
import Metrics
import PayFleetMessages
import PayFleetStore
import ServiceLifecycle

/// refund-worker: consumes the `refunds` queue — `refund.create` and `refund.query` jobs and the receiver's refund
/// notifications (see ``RefundJobs``) — calling each merchant's channel through its ``GatewayRegistry`` gateway, and
/// sweeps refunds processing too long (``RefundQuerySweeper``). Run as many copies as needed: the payment's row lock
/// serialises refunds of one payment, and the refund_no keeps the channel from ever seeing two.
public enum RefundWorkerApp {
    public static func build(reader: ConfigReader) async throws -> ServiceGroup {
        let gateways = try GatewayRegistry(reader: reader)
        let sweep = RefundQuerySweepSettings(reader: reader)
        return try await WorkerProcess.build(
            role: "refund-worker", queue: QueueName.refunds, defaultOpsPort: 9105, reader: reader,
            handler: { store in handler(store: store, gateways: gateways) },
            services: { store, logger in
                logger.info(
                    "channel APIs configured", metadata: ["gateways": "\(gateways.names.joined(separator: ", "))"])
                return [RefundQuerySweeper(store: store, settings: sweep, logger: logger)]
            })
    }

    public static func handler(store: PayFleetStore, gateways: GatewayRegistry) -> QueueConsumerService.Handler {
        let jobs = RefundJobs(store: store, gateways: gateways)
        return { delivery, log in await jobs.handle(delivery, log: log) }
    }
}

/// The refund.query sweep's settings.
///
/// Keys: `refunds.query_sweep_interval_ms` (how often refunds processing too long are looked for, default 30000; 0
/// turns the sweep off in this process), `refunds.query_after_seconds` (a refund processing this long is queried at
/// its channel, default 600), `refunds.query_again_seconds` (asked again after this long if still processing,
/// default 600), `refunds.query_sweep_batch` (refunds claimed per transaction, default 100).
public struct RefundQuerySweepSettings: Sendable {
    public var interval: Duration?
    public var olderThan: Duration
    public var again: Duration
    public var batchSize: Int

    public init(reader: ConfigReader) {
        let interval = reader.int(forKey: "refunds.query_sweep_interval_ms", default: 30_000)
        self.interval = interval > 0 ? .milliseconds(interval) : nil
        olderThan = .seconds(max(0, reader.int(forKey: "refunds.query_after_seconds", default: 600)))
        again = .seconds(max(1, reader.int(forKey: "refunds.query_again_seconds", default: 600)))
        batchSize = max(1, reader.int(forKey: "refunds.query_sweep_batch", default: 100))
    }
}

/// refund-worker's periodic sweep: refunds processing at their channel longer than `refunds.query_after_seconds`
/// get a `refund.query` job through the outbox (``PayFleetStore/requestRefundQueries(olderThan:again:limit:)``,
/// `FOR UPDATE SKIP LOCKED`), so a lost refund notification is recovered and copies of refund-worker each ask once.
struct RefundQuerySweeper: Service {
    let store: PayFleetStore
    let settings: RefundQuerySweepSettings
    let logger: Logger

    func run() async throws {
        guard let interval = settings.interval else { return }
        let requested = Counter(label: "payfleet_refund_queries_requested_total")
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                while !Task.isShuttingDownGracefully {
                    let claimed = try await store.requestRefundQueries(
                        olderThan: settings.olderThan, again: settings.again, limit: settings.batchSize)
                    requested.increment(by: claimed.count)
                    if claimed.count < settings.batchSize { break }
                }
            } catch {
                logger.warning("refund query sweep failed; trying again next round", metadata: ["error": "\(error)"])
            }
            await pauseUnlessShuttingDown(for: interval)
        }
    }
}
