import Foundation

/// An order to place with `POST /pay/unifiedorder`.
public struct WeChatPayV2OrderRequest: Sendable, Equatable {
    /// `trade_type`: JSAPI (in WeChat, needs the payer's `openid`) or NATIVE (a QR code).
    public enum TradeType: String, Sendable, CaseIterable {
        case jsapi = "JSAPI"
        case native = "NATIVE"
    }

    /// Our payment number (`out_trade_no`), 1 to 32 characters.
    public var outTradeNo: String
    /// Shown to the payer (`body`).
    public var description: String
    /// `total_fee` in fen; more than 0.
    public var totalFee: Int64
    /// `fee_type`; WeChat Pay v2 domestic orders are CNY.
    public var feeType: String
    public var tradeType: TradeType
    /// The payer's `openid` under the merchant's app id; required for JSAPI.
    public var openID: String?
    /// `spbill_create_ip`; nil for ``WeChatPayV2ClientConfiguration/defaultClientIP``.
    public var clientIP: String?
    /// `time_expire`, sent as `yyyyMMddHHmmss` at +08:00.
    public var timeExpire: Date?
    /// `attach`, returned in the notification.
    public var attach: String?
    /// nil for ``WeChatPayV2ClientConfiguration/notifyURL``.
    public var notifyURL: String?

    public init(
        outTradeNo: String, description: String, totalFee: Int64, feeType: String = "CNY", tradeType: TradeType,
        openID: String? = nil, clientIP: String? = nil, timeExpire: Date? = nil, attach: String? = nil,
        notifyURL: String? = nil
    ) {
        self.outTradeNo = outTradeNo
        self.description = description
        self.totalFee = totalFee
        self.feeType = feeType
        self.tradeType = tradeType
        self.openID = openID
        self.clientIP = clientIP
        self.timeExpire = timeExpire
        self.attach = attach
        self.notifyURL = notifyURL
    }
}

/// What `unifiedorder` answered: the `prepay_id` (valid two hours) and, for NATIVE, the `code_url`.
public struct WeChatPayV2PrepayResult: Sendable, Equatable {
    public var prepayID: String
    /// `weixin://wxpay/bizpayurl?pr=…` for NATIVE; nil for JSAPI.
    public var codeURL: String?

    public init(prepayID: String, codeURL: String?) {
        self.prepayID = prepayID
        self.codeURL = codeURL
    }
}
