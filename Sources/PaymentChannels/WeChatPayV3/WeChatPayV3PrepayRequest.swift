import Foundation

/// An order to place with WeChat Pay: the body of a JSAPI or Native prepay.
public struct WeChatPayV3PrepayRequest: Sendable, Equatable {
    /// Our payment number (`out_trade_no`): 6–32 characters of letters, digits, `_`, `-`, `|`, `*`; the
    /// idempotency key of the order at WeChat Pay.
    public var outTradeNo: String
    /// What is bought, shown to the payer (`description`, at most 127 characters).
    public var description: String
    /// The amount in minor units (fen for CNY); more than 0.
    public var amountMinor: Int64
    /// ISO 4217 code; WeChat Pay domestic API v3 takes `CNY`.
    public var currency: String
    /// The payer's `openid` under the merchant's app id; required for JSAPI, ignored for Native.
    public var payerOpenID: String?
    /// When the order stops accepting payment (`time_expire`), sent as RFC 3339 at +08:00.
    public var timeExpire: Date?
    /// Free text WeChat Pay returns unchanged in the query and the notification (`attach`, at most 128 bytes).
    public var attach: String?
    /// Overrides ``WeChatPayV3ClientConfiguration/notifyURL`` for this order.
    public var notifyURL: String?

    public init(
        outTradeNo: String, description: String, amountMinor: Int64, currency: String = "CNY",
        payerOpenID: String? = nil, timeExpire: Date? = nil, attach: String? = nil, notifyURL: String? = nil
    ) {
        self.outTradeNo = outTradeNo
        self.description = description
        self.amountMinor = amountMinor
        self.currency = currency
        self.payerOpenID = payerOpenID
        self.timeExpire = timeExpire
        self.attach = attach
        self.notifyURL = notifyURL
    }
}
