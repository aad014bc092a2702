import Foundation
import PayFleetMessages

/// One difference between a channel's bill and these books.
public struct ReconciliationDiff: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Paid here that day, not on the channel's bill.
        case localOnly = "local_only"
        /// Paid on the bill; no such payment here.
        case channelOnly = "channel_only"
        /// On both, with other amounts (or currencies).
        case amountMismatch = "amount_mismatch"
        /// Paid on the bill, not paid here (pending or closed): repaired by payment.query.
        case statusMismatch = "status_mismatch"
        /// A refund that succeeded here that day, not on the bill.
        case refundLocalOnly = "refund_local_only"
        /// A refund on the bill that these books do not have.
        case refundChannelOnly = "refund_channel_only"
        case refundAmountMismatch = "refund_amount_mismatch"
        /// A refund whose outcome here is not the bill's: repaired by refund.query.
        case refundStatusMismatch = "refund_status_mismatch"
    }

    /// The job that repairs a difference through PayFleet's own paths (never by editing rows).
    public enum Repair: String, Sendable, Codable {
        case paymentQuery = "payment.query"
        case refundQuery = "refund.query"
    }

    public var kind: Kind
    public var paymentNo: String
    public var refundNo: String?
    public var localAmountMinor: Int64?
    public var channelAmountMinor: Int64?
    public var localStatus: String?
    public var channelStatus: String?
    /// nil: an operator must look at it (and a `reconciliation.diff` event says so).
    public var repair: Repair?
    public var detail: String

    public init(
        kind: Kind, paymentNo: String, refundNo: String? = nil, localAmountMinor: Int64? = nil,
        channelAmountMinor: Int64? = nil, localStatus: String? = nil, channelStatus: String? = nil,
        repair: Repair? = nil, detail: String = ""
    ) {
        self.kind = kind
        self.paymentNo = paymentNo
        self.refundNo = refundNo
        self.localAmountMinor = localAmountMinor
        self.channelAmountMinor = channelAmountMinor
        self.localStatus = localStatus
        self.channelStatus = channelStatus
        self.repair = repair
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case kind, repair, detail
        case paymentNo = "payment_no"
        case refundNo = "refund_no"
        case localAmountMinor = "local_amount_minor"
        case channelAmountMinor = "channel_amount_minor"
        case localStatus = "local_status"
        case channelStatus = "channel_status"
    }
}

/// What these books hold for one channel, merchant and day: the payments paid in the day or named on the bill,
/// and the refunds finished in the day or named on the bill.
public struct LocalBooks: Sendable, Equatable {
    public struct Payment: Sendable, Equatable {
        public var paymentNo: String
        public var status: PaymentStatus
        public var amountMinor: Int64
        public var currency: String
        public var paidAt: Date?
        public var channelTradeNo: String?

        public init(
            paymentNo: String, status: PaymentStatus, amountMinor: Int64, currency: String, paidAt: Date?,
            channelTradeNo: String?
        ) {
            self.paymentNo = paymentNo
            self.status = status
            self.amountMinor = amountMinor
            self.currency = currency
            self.paidAt = paidAt
            self.channelTradeNo = channelTradeNo
        }
    }

    public struct Refund: Sendable, Equatable {
        public var refundNo: String
        public var paymentNo: String
        public var status: RefundStatus
        public var amountMinor: Int64
        /// When it succeeded or failed; nil while pending.
        public var finishedAt: Date?

        public init(refundNo: String, paymentNo: String, status: RefundStatus, amountMinor: Int64, finishedAt: Date?) {
            self.refundNo = refundNo
            self.paymentNo = paymentNo
            self.status = status
            self.amountMinor = amountMinor
            self.finishedAt = finishedAt
        }
    }

    public var payments: [Payment]
    public var refunds: [Refund]

    public init(payments: [Payment], refunds: [Refund]) {
        self.payments = payments
        self.refunds = refunds
    }
}

/// A day's reconciliation as stored: counts, then the diffs.
public struct ReconciliationOutcome: Sendable, Equatable {
    public var billPayments: Int
    public var billRefunds: Int
    public var matched: Int
    public var diffs: [ReconciliationDiff]

    public init(billPayments: Int, billRefunds: Int, matched: Int, diffs: [ReconciliationDiff]) {
        self.billPayments = billPayments
        self.billRefunds = billRefunds
        self.matched = matched
        self.diffs = diffs
    }
}

/// One `reconciliation_runs` row, for `payfleet status` and the CLI's summary.
public struct ReconciliationRunRow: Sendable, Equatable, Codable {
    public var id: Int64
    public var channel: String
    public var merchant: String
    /// `YYYY-MM-DD`.
    public var billDate: String
    public var status: String
    public var executions: Int
    public var billPayments: Int
    public var billRefunds: Int
    public var matched: Int
    public var diffCount: Int
    public var repairsRequested: Int
    public var finishedAt: Date?
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case id, channel, merchant, status, executions, matched, error
        case billDate = "bill_date"
        case billPayments = "bill_payments"
        case billRefunds = "bill_refunds"
        case diffCount = "diffs"
        case repairsRequested = "repairs_requested"
        case finishedAt = "finished_at"
    }
}

/// Event `reconciliation.diff` on payfleet.events: a difference no job can repair, for an operator.
public struct ReconciliationDiffEvent: Codable, Sendable, Equatable {
    public var channel: String
    public var merchant: String
    public var billDate: String
    public var diff: ReconciliationDiff

    enum CodingKeys: String, CodingKey {
        case channel, merchant, diff
        case billDate = "bill_date"
    }
}
