/// One refund batch of an order, as Baidu's refund query ("查询退款", `findOrderRefund`) reports it.
public struct BaiduRefundQueryResult: Sendable, Equatable {
    /// `refundStatus`: 1 退款中 (processing), 2 退款成功 (succeeded), 3 退款失败 (failed); others kept as they are.
    /// (The refund callback numbers them differently: 1 succeeded, 2 failed.)
    public struct Status: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: Int

        public init(rawValue: Int) {
            self.rawValue = rawValue
        }

        public static let processing = Status(rawValue: 1)
        public static let succeeded = Status(rawValue: 2)
        public static let failed = Status(rawValue: 3)

        public var description: String { String(rawValue) }
    }

    /// Our refund number (`bizRefundBatchId`), when Baidu reports it.
    public var refundNo: String?
    /// Baidu's refund batch (`refundBatchId`).
    public var refundBatchID: String
    public var status: Status
    /// The whole reply body, for the audit trail.
    public var raw: String

    public init(refundNo: String?, refundBatchID: String, status: Status, raw: String) {
        self.refundNo = refundNo
        self.refundBatchID = refundBatchID
        self.status = status
        self.raw = raw
    }
}
