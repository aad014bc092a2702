/// A refund to apply for at Baidu's cashier (`nuomi.cashier.applyorderrefund`).
public struct BaiduRefundRequest: Sendable, Equatable {
    /// Baidu's refund types (`refundType`).
    public enum RefundType: Int, Sendable {
        /// 用户发起退款.
        case userRequested = 1
        /// 业务方客服退款.
        case merchantService = 2
        /// 业务方服务异常退款.
        case serviceFailure = 3
    }

    /// Our payment number (`tpOrderId`).
    public var tpOrderID: String
    /// Baidu's order id (`orderId`), from the payment callback or the order query.
    public var orderID: String
    /// Baidu's user id (`userId`), from the payment callback.
    public var userID: String
    /// Our refund number (`bizRefundBatchId`): Baidu's refund batch is unique on it, so applying again with the
    /// same number never refunds twice.
    public var refundNo: String
    /// In fen (`applyRefundMoney`); more than 0.
    public var amountMinor: Int64
    public var refundType: RefundType
    /// `refundReason` (required by Baidu; the refund number when empty).
    public var reason: String

    public init(
        tpOrderID: String, orderID: String, userID: String, refundNo: String, amountMinor: Int64,
        refundType: RefundType = .merchantService, reason: String
    ) {
        self.tpOrderID = tpOrderID
        self.orderID = orderID
        self.userID = userID
        self.refundNo = refundNo
        self.amountMinor = amountMinor
        self.refundType = refundType
        self.reason = reason
    }
}
