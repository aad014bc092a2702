/// Baidu's answer to a refund application: the batch it opened. The outcome arrives later in the refund
/// callback ("通知退款状态").
public struct BaiduRefundResult: Sendable, Equatable {
    /// Our refund number (`bizRefundBatchId`).
    public var refundNo: String
    /// Baidu's refund batch (`refundBatchId`).
    public var refundBatchID: String
    /// `refundPayMoney` in fen: what Baidu will refund.
    public var refundPayMoneyMinor: Int64?
    /// The response body, for the audit trail.
    public var raw: String

    public init(refundNo: String, refundBatchID: String, refundPayMoneyMinor: Int64?, raw: String) {
        self.refundNo = refundNo
        self.refundBatchID = refundBatchID
        self.refundPayMoneyMinor = refundPayMoneyMinor
        self.raw = raw
    }
}
