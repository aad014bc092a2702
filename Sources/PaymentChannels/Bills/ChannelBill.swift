import Foundation
import PayFleetMessages

/// One day's bill of one merchant account at one channel, as the channel's bill download reports it: every
/// payment that succeeded and every refund that succeeded (or failed) that day, in the channel's own day — China
/// Standard Time for WeChat Pay, Alipay and Baidu, UTC for Stripe.
///
/// Built by each channel's bill parser from the channel's real format (WeChat Pay's back-tick CSV, Alipay's zip
/// of GBK CSVs, Stripe's paginated lists, …); reconciliation compares it with the local books.
public struct ChannelBill: Sendable, Equatable {
    public var channel: ChannelID
    /// Our merchant account id (`channels.<channel>.merchants`).
    public var merchantID: String
    public var day: BillDay
    public var records: [BillRecord]

    public init(channel: ChannelID, merchantID: String, day: BillDay, records: [BillRecord]) {
        self.channel = channel
        self.merchantID = merchantID
        self.day = day
        self.records = records
    }
}

/// A calendar day, `YYYY-MM-DD`, in the channel's own time zone.
public struct BillDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`; nil for anything else, including days that do not exist (2026-02-30).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        self.init(year: year, month: month, day: day)
        guard let start = start(in: TimeZone(identifier: "UTC")!),
            BillDay(containing: start, in: TimeZone(identifier: "UTC")!) == self
        else { return nil }
    }

    /// The day that `instant` falls on in `zone`.
    public init(containing instant: Date, in zone: TimeZone) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month, .day], from: instant)
        self.init(year: parts.year!, month: parts.month!, day: parts.day!)
    }

    /// Midnight at the start of the day in `zone`.
    public func start(in zone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.date(from: DateComponents(year: year, month: month, day: day))
    }

    /// `[start, start of the next day)` in `zone`.
    public func interval(in zone: TimeZone) -> Range<Date>? {
        guard let start = start(in: zone) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        guard let end = calendar.date(byAdding: .day, value: 1, to: start) else { return nil }
        return start..<end
    }

    /// The day before.
    public var previous: BillDay {
        let utc = TimeZone(identifier: "UTC")!
        let start = self.start(in: utc)!
        return BillDay(containing: start.addingTimeInterval(-12 * 3600), in: utc)
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }

    /// `YYYYMMDD`, as WeChat Pay v2 and Baidu spell a bill date.
    public var compact: String {
        String(format: "%04d%02d%02d", year, month, day)
    }

    public static func < (lhs: BillDay, rhs: BillDay) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

/// One line of a channel's bill that reconciliation looks at: a payment or a refund.
public struct BillRecord: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case payment
        case refund
    }

    public var kind: Kind
    /// Our payment number (the channel's out_trade_no / merchant order number).
    public var paymentNo: String
    /// The channel's own trade number (transaction_id, trade_no, PaymentIntent id, …); empty where the bill has none.
    public var channelTradeNo: String
    /// Our refund number (out_refund_no, out_request_no, …); only for refunds.
    public var refundNo: String?
    /// For a payment the amount paid, for a refund the amount refunded; minor units, more than 0.
    public var amountMinor: Int64
    /// ISO 4217, upper case.
    public var currency: String
    /// Whether the money moved: a payment that succeeded, a refund that succeeded. A bill line for a refund the
    /// channel reports as failed or still processing has `succeeded == false`.
    public var succeeded: Bool
    /// The channel's own status word, kept for the diff an operator reads (`SUCCESS`, `REFUND`, `交易`, …).
    public var channelStatus: String
    /// When the channel says it happened.
    public var at: Date

    public init(
        kind: Kind, paymentNo: String, channelTradeNo: String, refundNo: String? = nil, amountMinor: Int64,
        currency: String, succeeded: Bool = true, channelStatus: String, at: Date
    ) {
        self.kind = kind
        self.paymentNo = paymentNo
        self.channelTradeNo = channelTradeNo
        self.refundNo = refundNo
        self.amountMinor = amountMinor
        self.currency = currency
        self.succeeded = succeeded
        self.channelStatus = channelStatus
        self.at = at
    }
}

extension ChannelAPIError {
    /// A downloaded bill that its parser cannot read: the channel's answer is malformed, not our request.
    static func unreadableBill(_ error: ChannelError, channel: ChannelID, operation: String) -> ChannelAPIError {
        ChannelAPIError(
            code: .malformedResponse, channel: channel, operation: operation,
            message: "the bill cannot be read: \(error.message)", detail: error.detail)
    }
}
