/// What Baidu says about one cashier order (`findByTpOrderId`'s `data`).
public struct BaiduOrderQueryResult: Sendable, Equatable {
    /// `status`: Baidu's order state. Known values: 1 unpaid, 2 paid, -1 cancelled (the payment callback's
    /// table); others are kept as they are.
    public struct Status: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: Int

        public init(rawValue: Int) {
            self.rawValue = rawValue
        }

        /// Created, not paid.
        public static let unpaid = Status(rawValue: 1)
        /// Paid.
        public static let paid = Status(rawValue: 2)
        /// Cancelled unpaid.
        public static let cancelled = Status(rawValue: -1)

        public var description: String { String(rawValue) }
    }

    /// Our payment number (`tpOrderId`).
    public var tpOrderID: String
    /// Baidu's order id (`orderId`): the channel trade number, as in the payment callback.
    public var orderID: String?
    public var status: Status
    /// `totalMoney` in fen.
    public var totalMoneyMinor: Int64?
    /// `payMoney` in fen: what the payer paid after promotions.
    public var payMoneyMinor: Int64?
    /// `dealId`, when sent; checked against the merchant's.
    public var dealID: String?
    /// The response body, for the audit trail.
    public var raw: String
    /// The payer's Baidu `userId`, when sent: what a refund application needs.
    public var userID: String?

    public init(
        tpOrderID: String, orderID: String?, status: Status, totalMoneyMinor: Int64?, payMoneyMinor: Int64?,
        dealID: String?, raw: String, userID: String? = nil
    ) {
        self.tpOrderID = tpOrderID
        self.orderID = orderID
        self.status = status
        self.totalMoneyMinor = totalMoneyMinor
        self.payMoneyMinor = payMoneyMinor
        self.dealID = dealID
        self.raw = raw
        self.userID = userID
    }
}
