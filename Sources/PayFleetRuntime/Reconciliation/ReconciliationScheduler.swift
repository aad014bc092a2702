import Configuration
import Foundation
import Logging
import Metrics
import PayFleetMessages
import PayFleetStore
import PaymentChannels
import ServiceLifecycle

/// The daily reconciliation's settings.
///
/// Keys: `reconciliation.schedule_interval_ms` (how often payment-worker looks for a day still to reconcile,
/// default 600000; 0 turns the schedule off in this process), `reconciliation.after_hour` (the hour of the
/// channel's day from which yesterday's bill is asked for, default 10 — WeChat Pay publishes its bills from
/// 10:00 CST, Alipay from 09:00), `reconciliation.stale_after_seconds` (a run claimed this long ago and not
/// finished is taken over: its claimer died, default 1800).
public struct ReconciliationSettings: Sendable {
    public var interval: Duration?
    public var afterHour: Int
    public var staleAfter: Duration

    public init(reader: ConfigReader) {
        let interval = reader.int(forKey: "reconciliation.schedule_interval_ms", default: 600_000)
        self.interval = interval > 0 ? .milliseconds(interval) : nil
        afterHour = min(23, max(0, reader.int(forKey: "reconciliation.after_hour", default: 10)))
        staleAfter = .seconds(max(60, reader.int(forKey: "reconciliation.stale_after_seconds", default: 1800)))
    }
}

/// payment-worker's daily reconciliation: once the channel's day has passed `after_hour`, yesterday's bill of
/// every merchant with API credentials is reconciled (``Reconciler``) — once, however many payment-workers run:
/// each claims the day's `reconciliation_runs` row first (``PayFleetStore/claimReconciliation``), and only the
/// one whose claim wrote the row downloads the bill. A failed day is claimed again on the next round.
struct ReconciliationScheduler: Service, CustomStringConvertible {
    let reconciler: Reconciler
    let settings: ReconciliationSettings
    let logger: Logger
    let now: @Sendable () -> Date

    init(reconciler: Reconciler, settings: ReconciliationSettings, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.reconciler = reconciler
        self.settings = settings
        self.logger = logger
        self.now = now
    }

    /// What service-lifecycle prints about it: never the gateways' configuration (keys included).
    var description: String { "ReconciliationScheduler" }

    func run() async throws {
        guard let interval = settings.interval else { return await waitForShutdown() }
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            await round()
            await pauseUnlessShuttingDown(for: interval)
        }
    }

    /// One look at every merchant; what is due and unclaimed is run.
    func round() async {
        for name in reconciler.gateways.names {
            guard !Task.isShuttingDownGracefully else { return }
            let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let channel = ChannelID(rawValue: parts[0]),
                reconciler.gateways.gateway(channel: channel, merchant: parts[1])?.offersBill == true
            else { continue }
            let merchant = parts[1]
            let zone = channel.billTimeZone
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let instant = now()
            guard calendar.component(.hour, from: instant) >= settings.afterHour else { continue }
            let day = BillDay(containing: instant, in: zone).previous
            do {
                let claimed = try await reconciler.store.claimReconciliation(
                    channel: channel.rawValue, merchant: merchant, billDate: day.description,
                    claimant: reconciler.claimant, staleAfter: settings.staleAfter)
                Counter(
                    label: "payfleet_reconciliation_claims_total",
                    dimensions: [("channel", channel.rawValue), ("outcome", claimed ? "claimed" : "taken")]
                ).increment()
                guard claimed else { continue }
                _ = try await reconciler.reconcile(channel: channel, merchant: merchant, day: day)
            } catch {
                logger.warning(
                    "scheduled reconciliation failed; it is tried again next round",
                    metadata: ["channel": "\(channel.rawValue)", "merchant": "\(merchant)", "day": "\(day)", "error": "\(error)"])
            }
        }
    }
}
