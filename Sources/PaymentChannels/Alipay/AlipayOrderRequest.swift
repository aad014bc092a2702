import Foundation

/// An order to place with Alipay: the `biz_content` of `alipay.trade.create`, `alipay.trade.precreate`,
/// `alipay.trade.app.pay` and `alipay.trade.wap.pay`.
public struct AlipayOrderRequest: Sendable, Equatable {
    /// Our payment number (`out_trade_no`, at most 64 characters): the idempotency key of the trade.
    public var outTradeNo: String
    /// The amount in minor units (fen), sent as a decimal string (`total_amount`); more than 0.
    public var totalAmountMinor: Int64
    /// What is bought (`subject`, at most 256 characters).
    public var subject: String
    /// A longer description (`body`), optional.
    public var body: String?
    /// When the trade stops accepting payment (`time_expire`, `yyyy-MM-dd HH:mm:ss` at +08:00).
    public var timeExpire: Date?
    /// The buyer's Alipay user id (`buyer_id`, 2088…); `alipay.trade.create` needs it or ``buyerOpenID``.
    public var buyerID: String?
    /// The buyer's `open_id` under the app (`buyer_open_id`).
    public var buyerOpenID: String?
    /// `product_code`; nil for the method's default (`QUICK_MSECURITY_PAY` for app pay, `QUICK_WAP_WAY` for wap
    /// pay, none for create and precreate).
    public var productCode: String?
    /// Returned unchanged in the notification (`passback_params`).
    public var passbackParams: String?
    /// Overrides ``AlipayClientConfiguration/notifyURL`` for this order.
    public var notifyURL: String?

    public init(
        outTradeNo: String, totalAmountMinor: Int64, subject: String, body: String? = nil, timeExpire: Date? = nil,
        buyerID: String? = nil, buyerOpenID: String? = nil, productCode: String? = nil,
        passbackParams: String? = nil, notifyURL: String? = nil
    ) {
        self.outTradeNo = outTradeNo
        self.totalAmountMinor = totalAmountMinor
        self.subject = subject
        self.body = body
        self.timeExpire = timeExpire
        self.buyerID = buyerID
        self.buyerOpenID = buyerOpenID
        self.productCode = productCode
        self.passbackParams = passbackParams
        self.notifyURL = notifyURL
    }
}
