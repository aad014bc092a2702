import Foundation
import PayFleetMessages
import PayFleetStore
import PaymentChannels

/// Compares a channel's bill of a day with the local books of that day. Pure: the same inputs give the same
/// diffs, in the bill's order then the books'.
///
/// Payments: a paid line for a payment paid here with the same amount and currency matches; paid here but not
/// paid on the bill's day is `local_only`; on the bill but unknown here is `channel_only`; on the bill but pending
/// or closed here is `status_mismatch`, repaired by `payment.query` (which settles it through the notification's
/// unit of work — once); other amounts are `amount_mismatch`. Refunds the same way by refund number, a bill line
/// whose outcome is not ours repaired by `refund.query`.
public enum BillComparison {
    public static func compare(_ bill: ChannelBill, with books: LocalBooks) -> ReconciliationOutcome {
        let payments = Dictionary(books.payments.map { ($0.paymentNo, $0) }, uniquingKeysWith: { first, _ in first })
        let refunds = Dictionary(books.refunds.map { ($0.refundNo, $0) }, uniquingKeysWith: { first, _ in first })
        let zone = bill.channel.billTimeZone
        var diffs: [ReconciliationDiff] = []
        var matched = 0
        var billedPayments = Set<String>()
        var billedRefunds = Set<String>()
        let billPayments = bill.records.filter { $0.kind == .payment && $0.succeeded }
        let billRefunds = bill.records.filter { $0.kind == .refund }

        for line in billPayments {
            billedPayments.insert(line.paymentNo)
            guard let local = payments[line.paymentNo] else {
                diffs.append(
                    ReconciliationDiff(
                        kind: .channelOnly, paymentNo: line.paymentNo, channelAmountMinor: line.amountMinor,
                        channelStatus: line.channelStatus,
                        detail: "paid at the channel (\(line.channelTradeNo)); no such payment here"))
                continue
            }
            if !local.status.isSettled {
                diffs.append(
                    ReconciliationDiff(
                        kind: .statusMismatch, paymentNo: line.paymentNo, localAmountMinor: local.amountMinor,
                        channelAmountMinor: line.amountMinor, localStatus: local.status.rawValue,
                        channelStatus: line.channelStatus, repair: line.amountMinor == local.amountMinor ? .paymentQuery : nil,
                        detail: line.amountMinor == local.amountMinor
                            ? "paid at the channel, \(local.status.rawValue) here: payment.query settles it"
                            : "paid at the channel with another amount, \(local.status.rawValue) here"))
            } else if line.amountMinor != local.amountMinor || line.currency != local.currency {
                diffs.append(
                    ReconciliationDiff(
                        kind: .amountMismatch, paymentNo: line.paymentNo, localAmountMinor: local.amountMinor,
                        channelAmountMinor: line.amountMinor, localStatus: local.status.rawValue,
                        channelStatus: line.channelStatus,
                        detail: "the channel has \(line.amountMinor) \(line.currency), here \(local.amountMinor) \(local.currency)"))
            } else {
                matched += 1
            }
        }
        for local in books.payments where local.status.isSettled && !billedPayments.contains(local.paymentNo) {
            guard let paidAt = local.paidAt, BillDay(containing: paidAt, in: zone) == bill.day else { continue }
            diffs.append(
                ReconciliationDiff(
                    kind: .localOnly, paymentNo: local.paymentNo, localAmountMinor: local.amountMinor,
                    localStatus: local.status.rawValue, detail: "paid here on \(bill.day); not on the channel's bill"))
        }

        for line in billRefunds {
            guard let refundNo = line.refundNo, !refundNo.isEmpty else { continue }
            billedRefunds.insert(refundNo)
            let channelState = line.succeeded ? "succeeded" : "failed"
            guard let local = refunds[refundNo] else {
                guard line.succeeded else { continue }
                diffs.append(
                    ReconciliationDiff(
                        kind: .refundChannelOnly, paymentNo: line.paymentNo, refundNo: refundNo,
                        channelAmountMinor: line.amountMinor, channelStatus: line.channelStatus,
                        detail: "refunded at the channel; no such refund here"))
                continue
            }
            if line.amountMinor != local.amountMinor {
                diffs.append(
                    ReconciliationDiff(
                        kind: .refundAmountMismatch, paymentNo: line.paymentNo, refundNo: refundNo,
                        localAmountMinor: local.amountMinor, channelAmountMinor: line.amountMinor,
                        localStatus: local.status.rawValue, channelStatus: line.channelStatus,
                        detail: "the channel refunded \(line.amountMinor), here \(local.amountMinor)"))
            } else if local.status.rawValue != channelState {
                diffs.append(
                    ReconciliationDiff(
                        kind: .refundStatusMismatch, paymentNo: line.paymentNo, refundNo: refundNo,
                        localAmountMinor: local.amountMinor, channelAmountMinor: line.amountMinor,
                        localStatus: local.status.rawValue, channelStatus: line.channelStatus, repair: .refundQuery,
                        detail: "\(channelState) at the channel, \(local.status.rawValue) here: refund.query settles it"))
            } else {
                matched += 1
            }
        }
        for local in books.refunds where local.status == .succeeded && !billedRefunds.contains(local.refundNo) {
            guard let finishedAt = local.finishedAt, BillDay(containing: finishedAt, in: zone) == bill.day else { continue }
            diffs.append(
                ReconciliationDiff(
                    kind: .refundLocalOnly, paymentNo: local.paymentNo, refundNo: local.refundNo,
                    localAmountMinor: local.amountMinor, localStatus: local.status.rawValue,
                    detail: "succeeded here on \(bill.day); not on the channel's bill"))
        }
        return ReconciliationOutcome(
            billPayments: billPayments.count, billRefunds: billRefunds.count, matched: matched, diffs: diffs)
    }
}
