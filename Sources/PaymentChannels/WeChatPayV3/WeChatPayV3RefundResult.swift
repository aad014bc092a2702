import Foundation

/// What WeChat Pay says about one refund, after requesting it or querying it
/// (`GET /v3/refund/domestic/refunds/{out_refund_no}`).
public struct WeChatPayV3RefundResult: Sendable, Equatable {
    /// The refund's `status`; unknown values are kept as they are.
    public struct Status: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// The money is back with the payer.
        public static let success = Status(rawValue: "SUCCESS")
        /// Closed without refunding.
        public static let closed = Status(rawValue: "CLOSED")
        /// Accepted, not finished yet: query again later or wait for the notification.
        public static let processing = Status(rawValue: "PROCESSING")
        /// Failed at the payer's side (e.g. a closed bank card); needs the merchant platform.
        public static let abnormal = Status(rawValue: "ABNORMAL")

        public var description: String { rawValue }
    }

    /// WeChat Pay's refund number (`refund_id`).
    public var refundID: String
    public var outRefundNo: String
    public var outTradeNo: String?
    public var transactionID: String?
    public var status: Status
    /// `amount.refund` in minor units.
    public var refundMinor: Int64?
    /// `amount.total` in minor units.
    public var totalMinor: Int64?
    /// `amount.currency`, upper-cased.
    public var currency: String?
    /// `success_time`; present once ``Status/success``.
    public var successTime: Date?
    /// The verified response body, for the audit trail.
    public var raw: String

    public init(
        refundID: String, outRefundNo: String, outTradeNo: String?, transactionID: String?, status: Status,
        refundMinor: Int64?, totalMinor: Int64?, currency: String?, successTime: Date?, raw: String
    ) {
        self.refundID = refundID
        self.outRefundNo = outRefundNo
        self.outTradeNo = outTradeNo
        self.transactionID = transactionID
        self.status = status
        self.refundMinor = refundMinor
        self.totalMinor = totalMinor
        self.currency = currency
        self.successTime = successTime
        self.raw = raw
    }
}
