import Configuration
import Logging
import Metrics
import PayFleetStore
import ServiceLifecycle

/// The expiry sweep's settings.
///
/// Keys: `payments.expiry_sweep_interval_ms` (how often pending payments past `expires_at` are looked for,
/// default 30000; 0 turns the sweep off in this process), `payments.expiry_sweep_batch` (payments claimed per
/// transaction, default 100), `payments.close_request_again_seconds` (when a requested close has not happened,
/// ask again after this long, default 300).
public struct ExpirySweepSettings: Sendable {
    public var interval: Duration?
    public var batchSize: Int
    public var again: Duration

    public init(reader: ConfigReader) {
        let interval = reader.int(forKey: "payments.expiry_sweep_interval_ms", default: 30_000)
        self.interval = interval > 0 ? .milliseconds(interval) : nil
        batchSize = max(1, reader.int(forKey: "payments.expiry_sweep_batch", default: 100))
        again = .seconds(max(1, reader.int(forKey: "payments.close_request_again_seconds", default: 300)))
    }
}

/// payment-worker's periodic sweep: pending payments past `expires_at` get a `payment.close` job through the
/// outbox (``PayFleetStore/requestExpiredCloses(limit:again:)``, `FOR UPDATE SKIP LOCKED`), so any number of
/// payment-workers can sweep side by side and each payment is asked to close once.
struct ExpirySweeper: Service {
    let store: PayFleetStore
    let settings: ExpirySweepSettings
    let logger: Logger

    func run() async throws {
        guard let interval = settings.interval else { return await waitForShutdown() }
        let requested = Counter(label: "payfleet_expired_close_requests_total")
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            do {
                // Drain the backlog a batch per transaction, then wait.
                while !Task.isShuttingDownGracefully {
                    let claimed = try await store.requestExpiredCloses(limit: settings.batchSize, again: settings.again)
                    requested.increment(by: claimed.count)
                    if claimed.count < settings.batchSize { break }
                }
            } catch {
                logger.warning("expiry sweep failed; trying again next round", metadata: ["error": "\(error)"])
            }
            await pauseUnlessShuttingDown(for: interval)
        }
    }
}
