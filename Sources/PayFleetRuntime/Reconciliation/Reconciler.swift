import Foundation
import Logging
import Metrics
import PayFleetMessages
import PayFleetStore
import PaymentChannels

/// Runs one day's reconciliation of one merchant: downloads the channel's bill through the merchant's gateway,
/// reads the local books of that day, compares them (``BillComparison``) and stores the run, its diffs, its
/// repair jobs and its `reconciliation.diff` events in one transaction (``PayFleetStore/saveReconciliation``).
/// Rerunning a day replaces its diffs. Sets `payfleet_reconciliation_diffs{channel, merchant, kind}`.
public struct Reconciler: Sendable {
    public let gateways: GatewayRegistry
    public let store: PayFleetStore
    public let logger: Logger
    /// Who runs it, stored on the run row (`payfleet@host`, `payment-worker@host:pid`).
    public let claimant: String

    public init(gateways: GatewayRegistry, store: PayFleetStore, logger: Logger, claimant: String) {
        self.gateways = gateways
        self.store = store
        self.logger = logger
        self.claimant = claimant
    }

    public struct Result: Sendable {
        public var runID: Int64
        public var bill: ChannelBill
        public var outcome: ReconciliationOutcome
    }

    /// `progress` hears what is happening, for a terminal.
    public func reconcile(
        channel: ChannelID, merchant: String, day: BillDay, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> Result {
        let billDate = day.description
        guard let gateway = gateways.gateway(channel: channel, merchant: merchant) else {
            throw PayFleetError(
                .invalidSetting,
                "\(channel.rawValue) merchant \(merchant) has no API credentials configured "
                    + "(channels.\(channel.configKey).\(merchant).api), so its bill cannot be downloaded")
        }
        let bill: ChannelBill
        do {
            progress("\(channel.rawValue)/\(merchant) \(billDate): downloading the bill")
            bill = try await gateway.bill(for: day)
        } catch {
            try? await store.failReconciliation(
                channel: channel.rawValue, merchant: merchant, billDate: billDate, error: "\(error)", claimant: claimant)
            logger.error(
                "reconciliation failed: the bill could not be downloaded",
                metadata: ["channel": "\(channel.rawValue)", "merchant": "\(merchant)", "day": "\(billDate)", "error": "\(error)"])
            throw error
        }
        progress("\(channel.rawValue)/\(merchant) \(billDate): \(bill.records.count) bill rows read; comparing")
        guard let interval = day.interval(in: channel.billTimeZone) else {
            throw PayFleetError(.invalidSetting, "\(billDate) is not a day")
        }
        let books = try await store.localBooks(
            channel: channel.rawValue, merchant: merchant, interval: interval,
            paymentNos: Array(Set(bill.records.map(\.paymentNo))), refundNos: Array(Set(bill.records.compactMap(\.refundNo))))
        let outcome = BillComparison.compare(bill, with: books)
        let runID = try await store.saveReconciliation(
            channel: channel.rawValue, merchant: merchant, billDate: billDate, outcome: outcome, claimant: claimant)
        progress(
            "\(channel.rawValue)/\(merchant) \(billDate): \(outcome.matched) matched, \(outcome.diffs.count) diffs "
                + "(\(outcome.diffs.filter { $0.repair != nil }.count) being repaired)")
        for kind in ReconciliationDiff.Kind.allCases {
            Gauge(
                label: "payfleet_reconciliation_diffs",
                dimensions: [("channel", channel.rawValue), ("merchant", merchant), ("kind", kind.rawValue)]
            ).record(outcome.diffs.filter { $0.kind == kind }.count)
        }
        logger.info(
            "reconciled",
            metadata: [
                "channel": "\(channel.rawValue)", "merchant": "\(merchant)", "day": "\(billDate)", "run": "\(runID)",
                "bill_rows": "\(bill.records.count)", "matched": "\(outcome.matched)", "diffs": "\(outcome.diffs.count)",
            ])
        return Result(runID: runID, bill: bill, outcome: outcome)
    }
}

extension ChannelID {
    /// The key of the channel's section in the configuration (`channels.<key>`): `wechatpay_v2` for WeChat Pay v2.
    public var configKey: String {
        self == .wechatpayV2 ? "wechatpay_v2" : rawValue
    }
}
