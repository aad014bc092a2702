/// Where and how a ``WeChatPayV2Client`` calls WeChat Pay API v2.
public struct WeChatPayV2ClientConfiguration: Sendable {
    /// WeChat Pay's production API (the nearest access point).
    public static let productionBaseURL = "https://api.mch.weixin.qq.com"
    /// WeChat Pay's backup domain (a distant access point), for a failover configuration.
    public static let backupBaseURL = "https://api2.mch.weixin.qq.com"

    /// Scheme, host, optional port and optional path prefix, without a trailing `/`; e.g. the production URL, or
    /// the channel sandbox's address in tests and demos.
    public var baseURL: String
    /// Where `/secapi/pay/refund` (mutual TLS) is called; nil for ``baseURL``. The sandbox serves it on a separate
    /// TLS port.
    public var refundBaseURL: String?
    /// Where WeChat Pay sends payment notifications (`notify_url` of an order), e.g.
    /// `https://pay.example.com/notify/wechatpay-v2/wx2-main`.
    public var notifyURL: String
    /// Where WeChat Pay sends refund notifications; nil for the one configured at WeChat Pay's merchant platform.
    public var refundNotifyURL: String?
    /// How requests are signed, and how responses must be: the merchant platform's setting. MD5 by default.
    public var signType: WeChatPayV2SignType
    /// `spbill_create_ip` when the order's client context has no `client_ip`: the server's own IP for Native
    /// orders, as WeChat Pay asks.
    public var defaultClientIP: String
    /// The deadline of one request, connection included.
    public var timeout: Duration
    /// Sent as `User-Agent`.
    public var userAgent: String

    public init(
        baseURL: String = WeChatPayV2ClientConfiguration.productionBaseURL, refundBaseURL: String? = nil,
        notifyURL: String, refundNotifyURL: String? = nil, signType: WeChatPayV2SignType = .md5,
        defaultClientIP: String = "127.0.0.1", timeout: Duration = .seconds(10),
        userAgent: String = "PayFleet PaymentChannels"
    ) {
        self.baseURL = baseURL
        self.refundBaseURL = refundBaseURL
        self.notifyURL = notifyURL
        self.refundNotifyURL = refundNotifyURL
        self.signType = signType
        self.defaultClientIP = defaultClientIP
        self.timeout = timeout
        self.userAgent = userAgent
    }
}
