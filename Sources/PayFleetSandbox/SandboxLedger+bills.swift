import Foundation
import PaymentChannels
import Synchronization

/// What the sandbox's bills need besides the orders: the edits a test asks for (a bill that drops, adds or
/// changes rows, so reconciliation meets every kind of difference), how often each day's bill was downloaded
/// (two schedulers must download a day once), and the files handed out by download URL.
final class SandboxBillBook: Sendable {
    /// One change to what the ledger says, applied to every bill built afterwards.
    struct Edit: Sendable {
        enum Kind: String, Sendable {
            /// The payment's line (or, with a refund number, the refund's line) is missing from the bill.
            case drop
            /// The payment's (or refund's) line carries `amount` instead.
            case amount
            /// The bill carries a paid line for a payment the ledger does not have (`amount`, at noon of the day
            /// asked for), or for one it has but that is unpaid.
            case add
        }

        var channel: String
        var outTradeNo: String
        var outRefundNo: String?
        var kind: Kind
        var amountMinor: Int64?

        var json: [String: Any] {
            var object: [String: Any] = ["channel": channel, "out_trade_no": outTradeNo, "edit": kind.rawValue]
            if let outRefundNo { object["out_refund_no"] = outRefundNo }
            if let amountMinor { object["amount"] = amountMinor }
            return object
        }
    }

    private let edits = Mutex<[Edit]>([])
    private let downloads = Mutex<[String: Int]>([:])
    private let files = Mutex<[String: [UInt8]]>([:])
    private let paidAt = Mutex<[String: Date]>([:])
    private let createdAt = Mutex<[String: Date]>([:])

    /// The next pay of `outTradeNo` happens at `date` instead of now (`POST /sandbox/<channel>/pay/<no>?paid_at=…`),
    /// so a test's payments fall on a day of their own and its bill holds only them.
    func pay(_ outTradeNo: String, at date: Date) { paidAt.withLock { $0[outTradeNo] = date } }

    /// The time asked for the pay of `outTradeNo`, once.
    func takePaidAt(_ outTradeNo: String) -> Date? { paidAt.withLock { $0.removeValue(forKey: outTradeNo) } }

    /// The next order created under `outTradeNo` is created at `date` instead of now
    /// (`POST /sandbox/bills/created_at`): Stripe lists a PaymentIntent on the day of its `created`, so a test that
    /// pays on a day of its own creates there too.
    func create(_ outTradeNo: String, at date: Date) { createdAt.withLock { $0[outTradeNo] = date } }

    /// The creation time asked for `outTradeNo`, once.
    func takeCreatedAt(_ outTradeNo: String) -> Date? { createdAt.withLock { $0.removeValue(forKey: outTradeNo) } }

    private let finishedAt = Mutex<[String: Date]>([:])

    /// The refund `outRefundNo` completes (succeeds or fails) at `date` instead of when it completes
    /// (`POST /sandbox/bills/refunded_at`), so a test's refunds fall on its own bill day.
    func finishRefund(_ outRefundNo: String, at date: Date) { finishedAt.withLock { $0[outRefundNo] = date } }

    /// The time asked for the completion of `outRefundNo`, once.
    func takeFinishedAt(_ outRefundNo: String) -> Date? { finishedAt.withLock { $0.removeValue(forKey: outRefundNo) } }

    /// The time asked for the completion of `outRefundNo`, left in place for the completion to take: Stripe lists a
    /// refund on the day it was created, so a refund meant for a test's day is also created at that time.
    func finishedAt(_ outRefundNo: String) -> Date? { finishedAt.withLock { $0[outRefundNo] } }

    func add(_ edit: Edit) { edits.withLock { $0.append(edit) } }
    func clear() { edits.withLock { $0.removeAll() } }
    var all: [Edit] { edits.withLock { $0 } }

    /// Counts one download of `<channel>/<account>/<day>`.
    func counted(_ channel: String, account: String, day: BillDay) {
        downloads.withLock { $0["\(channel)/\(account)/\(day)", default: 0] += 1 }
    }

    var downloadCounts: [String: Int] { downloads.withLock { $0 } }

    /// Keeps `bytes` under a fresh token for a download URL; a file is served as often as asked.
    func keep(_ bytes: [UInt8]) -> String {
        let token = SandboxIDs.token(32)
        files.withLock { $0[token] = bytes }
        return token
    }

    func file(_ token: String) -> [UInt8]? { files.withLock { $0[token] } }
}

extension SandboxLedger {
    /// Which time puts a line on a bill's day.
    enum BillTiming {
        /// When the payment was paid, the refund finished: the Chinese channels' trade bills.
        case finished
        /// When the order or refund was created: Stripe's lists (`created[gte]`/`created[lt]`). Still only paid
        /// orders and finished refunds are lines, at their creation time.
        case created
    }

    /// The lines of `channel`'s bill for `account` on `day` (in `zone`): every order paid that day (a later refund
    /// does not remove it), every refund that succeeded or failed that day, then the edits. Sorted by time. With
    /// `timing` `.created`, orders and refunds are on the day they were created instead.
    func billRecords(
        channel: String, account: String, day: BillDay, zone: TimeZone, timing: BillTiming = .finished
    ) -> [BillRecord] {
        guard let interval = day.interval(in: zone) else { return [] }
        var records: [BillRecord] = []
        for payment in all(channel: channel, account: account) {
            if let paidAt = payment.paidAt {
                let at = timing == .created ? payment.createdAt : paidAt
                if interval.contains(at) {
                    records.append(
                        BillRecord(
                            kind: .payment, paymentNo: payment.outTradeNo, channelTradeNo: payment.tradeNo,
                            amountMinor: payment.amountMinor, currency: payment.currency, channelStatus: "SUCCESS",
                            at: at))
                }
            }
            for refund in payment.refunds {
                let finished: Date? =
                    refund.status == .success ? refund.succeededAt : refund.status == .failed ? refund.failedAt : nil
                guard let finished else { continue }
                let at = timing == .created ? refund.createdAt : finished
                guard interval.contains(at) else { continue }
                records.append(
                    BillRecord(
                        kind: .refund, paymentNo: payment.outTradeNo, channelTradeNo: payment.tradeNo,
                        refundNo: refund.outRefundNo, amountMinor: refund.amountMinor, currency: payment.currency,
                        succeeded: refund.status == .success, channelStatus: refund.status == .success ? "SUCCESS" : "FAIL",
                        at: at))
            }
        }
        for edit in bills.all where edit.channel == channel {
            let matches = { (record: BillRecord) in
                record.paymentNo == edit.outTradeNo
                    && (edit.outRefundNo == nil ? record.kind == .payment : record.refundNo == edit.outRefundNo)
            }
            switch edit.kind {
            case .drop:
                records.removeAll(where: matches)
            case .amount:
                for index in records.indices where matches(records[index]) {
                    records[index].amountMinor = edit.amountMinor ?? records[index].amountMinor
                }
            case .add:
                guard !records.contains(where: matches) else { continue }
                let noon = interval.lowerBound.addingTimeInterval(12 * 3600)
                let known = find(channel: channel, outTradeNo: edit.outTradeNo, account: account).first
                records.append(
                    BillRecord(
                        kind: .payment, paymentNo: edit.outTradeNo,
                        channelTradeNo: known?.tradeNo ?? "EDIT\(edit.outTradeNo)",
                        amountMinor: edit.amountMinor ?? known?.amountMinor ?? 1, currency: known?.currency ?? "CNY",
                        channelStatus: "SUCCESS", at: noon))
            }
        }
        return records.sorted { ($0.at, $0.paymentNo) < ($1.at, $1.paymentNo) }
    }
}
