/// A payment to open in Baidu's cashier: what becomes the `orderInfo` of `swan.requestPolymerPayment`.
public struct BaiduOrderRequest: Sendable, Equatable {
    /// Our payment number (`tpOrderId`, at most 64 characters).
    public var tpOrderID: String
    /// In fen (`totalAmount`); more than 0.
    public var totalAmountMinor: Int64
    /// The order's name (`dealTitle`).
    public var dealTitle: String
    /// Overrides ``BaiduClientConfiguration/notifyURL`` for this order.
    public var notifyURL: String?

    public init(tpOrderID: String, totalAmountMinor: Int64, dealTitle: String, notifyURL: String? = nil) {
        self.tpOrderID = tpOrderID
        self.totalAmountMinor = totalAmountMinor
        self.dealTitle = dealTitle
        self.notifyURL = notifyURL
    }
}
