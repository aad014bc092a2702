import Foundation

/// A refund to request with `POST /secapi/pay/refund` (mutual TLS).
public struct WeChatPayV2RefundRequest: Sendable, Equatable {
    public var outTradeNo: String
    /// Our refund number (`out_refund_no`): the idempotency key; repeating it never refunds twice.
    public var outRefundNo: String
    /// `total_fee` of the order, in fen.
    public var totalFee: Int64
    /// `refund_fee`, in fen: 0 < refund ≤ total.
    public var refundFee: Int64
    /// `refund_desc`, shown to the payer.
    public var reason: String?
    /// nil for ``WeChatPayV2ClientConfiguration/refundNotifyURL``.
    public var notifyURL: String?

    public init(
        outTradeNo: String, outRefundNo: String, totalFee: Int64, refundFee: Int64, reason: String? = nil,
        notifyURL: String? = nil
    ) {
        self.outTradeNo = outTradeNo
        self.outRefundNo = outRefundNo
        self.totalFee = totalFee
        self.refundFee = refundFee
        self.reason = reason
        self.notifyURL = notifyURL
    }
}

/// A refund as WeChat Pay v2 reports it: accepted by `refund`, or its state from `refundquery`.
public struct WeChatPayV2RefundResult: Sendable, Equatable {
    /// `refund_status`; unknown values are kept as they are.
    public struct Status: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// Accepted, money on its way (what `refund` itself means).
        public static let processing = Status(rawValue: "PROCESSING")
        /// The money is back.
        public static let success = Status(rawValue: "SUCCESS")
        /// The refund failed; an operator acts at the merchant platform.
        public static let change = Status(rawValue: "CHANGE")
        /// Closed without refunding.
        public static let refundClose = Status(rawValue: "REFUNDCLOSE")

        public var description: String { rawValue }
    }

    public var outRefundNo: String
    /// WeChat Pay's refund number (`refund_id`).
    public var refundID: String
    public var outTradeNo: String?
    public var transactionID: String?
    public var status: Status
    /// `refund_fee` in fen.
    public var refundFee: Int64?
    /// `total_fee` of the order in fen.
    public var totalFee: Int64?
    /// `refund_success_time`; present once the money is back.
    public var successTime: Date?
    /// The verified response body, for the audit trail.
    public var raw: String

    public init(
        outRefundNo: String, refundID: String, outTradeNo: String?, transactionID: String?, status: Status,
        refundFee: Int64?, totalFee: Int64?, successTime: Date?, raw: String
    ) {
        self.outRefundNo = outRefundNo
        self.refundID = refundID
        self.outTradeNo = outTradeNo
        self.transactionID = transactionID
        self.status = status
        self.refundFee = refundFee
        self.totalFee = totalFee
        self.successTime = successTime
        self.raw = raw
    }
}
