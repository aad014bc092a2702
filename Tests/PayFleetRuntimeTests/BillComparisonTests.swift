import Foundation
import PayFleetMessages
import PayFleetStore
import PaymentChannels
import Testing

@testable import PayFleetRuntime

/// ``BillComparison`` on its own: every kind of difference, and what matches.
struct BillComparisonTests {
    static let day = BillDay(year: 2026, month: 12, day: 4)
    /// 12:00 CST of the day.
    static let noon = Date(timeIntervalSince1970: 1_796_356_800)
    static let nextDay = noon.addingTimeInterval(86_400)

    static func paid(_ number: String, _ amount: Int64, at: Date = noon) -> BillRecord {
        BillRecord(
            kind: .payment, paymentNo: number, channelTradeNo: "T\(number)", amountMinor: amount, currency: "CNY",
            channelStatus: "SUCCESS", at: at)
    }

    static func refund(_ number: String, _ refundNo: String, _ amount: Int64, succeeded: Bool = true) -> BillRecord {
        BillRecord(
            kind: .refund, paymentNo: number, channelTradeNo: "T\(number)", refundNo: refundNo, amountMinor: amount,
            currency: "CNY", succeeded: succeeded, channelStatus: succeeded ? "SUCCESS" : "FAIL", at: noon)
    }

    static func local(_ number: String, _ status: PaymentStatus, _ amount: Int64, paidAt: Date? = noon) -> LocalBooks.Payment {
        LocalBooks.Payment(
            paymentNo: number, status: status, amountMinor: amount, currency: "CNY", paidAt: paidAt, channelTradeNo: nil)
    }

    @Test func theDayIsNoonInChinaStandardTime() {
        #expect(BillDay(containing: Self.noon, in: ChannelID.wechatpay.billTimeZone) == Self.day)
        #expect(BillDay("2026-12-04") == Self.day)
        #expect(BillDay("2026-02-30") == nil)
        #expect(BillDay("2026-12-4") == nil)
        #expect(Self.day.previous == BillDay(year: 2026, month: 12, day: 3))
        #expect(BillDay(year: 2026, month: 1, day: 1).previous == BillDay(year: 2025, month: 12, day: 31))
    }

    @Test func matchingBooksHaveNoDiffs() {
        let bill = ChannelBill(
            channel: .wechatpay, merchantID: "demo", day: Self.day,
            records: [Self.paid("P1", 100), Self.paid("P2", 200), Self.refund("P2", "R1", 50)])
        let books = LocalBooks(
            payments: [Self.local("P1", .paid, 100), Self.local("P2", .partiallyRefunded, 200)],
            refunds: [LocalBooks.Refund(refundNo: "R1", paymentNo: "P2", status: .succeeded, amountMinor: 50, finishedAt: Self.noon)])
        let outcome = BillComparison.compare(bill, with: books)
        #expect(outcome.diffs.isEmpty)
        #expect(outcome.matched == 3)
        #expect(outcome.billPayments == 2 && outcome.billRefunds == 1)
    }

    @Test func everyKindOfDifference() {
        let bill = ChannelBill(
            channel: .wechatpay, merchantID: "demo", day: Self.day,
            records: [
                Self.paid("PENDING", 100), Self.paid("OTHER", 999), Self.paid("UNKNOWN", 300),
                Self.refund("P9", "RPROC", 40), Self.refund("P9", "RAMT", 41), Self.refund("P9", "RNONE", 42),
                Self.refund("P9", "RFAILED", 43, succeeded: false),
            ])
        let books = LocalBooks(
            payments: [
                Self.local("PENDING", .pending, 100, paidAt: nil), Self.local("OTHER", .paid, 1000),
                Self.local("MISSING", .paid, 500), Self.local("TOMORROW", .paid, 600, paidAt: Self.nextDay),
            ],
            refunds: [
                LocalBooks.Refund(refundNo: "RPROC", paymentNo: "P9", status: .processing, amountMinor: 40, finishedAt: nil),
                LocalBooks.Refund(refundNo: "RAMT", paymentNo: "P9", status: .succeeded, amountMinor: 14, finishedAt: Self.noon),
                LocalBooks.Refund(refundNo: "RFAILED", paymentNo: "P9", status: .succeeded, amountMinor: 43, finishedAt: Self.noon),
                LocalBooks.Refund(refundNo: "RLOCAL", paymentNo: "P9", status: .succeeded, amountMinor: 44, finishedAt: Self.noon),
            ])
        let outcome = BillComparison.compare(bill, with: books)
        let seen = outcome.diffs.map { "\($0.kind.rawValue) \($0.refundNo ?? $0.paymentNo) \($0.repair?.rawValue ?? "-")" }
        #expect(
            seen == [
                "status_mismatch PENDING payment.query", "amount_mismatch OTHER -", "channel_only UNKNOWN -",
                "local_only MISSING -", "refund_status_mismatch RPROC refund.query", "refund_amount_mismatch RAMT -",
                "refund_channel_only RNONE -", "refund_status_mismatch RFAILED refund.query", "refund_local_only RLOCAL -",
            ])
        #expect(outcome.matched == 0)
        let other = outcome.diffs.first { $0.paymentNo == "OTHER" }
        #expect(other?.localAmountMinor == 1000 && other?.channelAmountMinor == 999)
    }

    @Test func aPendingPaymentBilledWithAnotherAmountIsNotRepairedByAQuery() {
        let bill = ChannelBill(channel: .wechatpay, merchantID: "demo", day: Self.day, records: [Self.paid("P", 90)])
        let books = LocalBooks(payments: [Self.local("P", .pending, 100, paidAt: nil)], refunds: [])
        let diff = BillComparison.compare(bill, with: books).diffs
        #expect(diff.count == 1 && diff[0].kind == .statusMismatch && diff[0].repair == nil)
    }
}
