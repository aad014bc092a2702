/// Where and how a ``WeChatPayV3Client`` calls WeChat Pay API v3.
public struct WeChatPayV3ClientConfiguration: Sendable {
    /// WeChat Pay's production API (the nearest access point).
    public static let productionBaseURL = "https://api.mch.weixin.qq.com"
    /// WeChat Pay's backup domain (a distant access point), for a failover configuration.
    public static let backupBaseURL = "https://api2.mch.weixin.qq.com"

    /// Scheme, host, optional port and optional path prefix, without a trailing `/`; e.g. the production URL, or
    /// the channel sandbox's address in tests and demos.
    public var baseURL: String
    /// Where WeChat Pay sends payment notifications (`notify_url` of a prepay), e.g.
    /// `https://pay.example.com/notify/wechatpay/wx-main`. Must be HTTPS for the real WeChat Pay.
    public var notifyURL: String
    /// Where WeChat Pay sends refund notifications; nil to send none (the refund query tells the outcome).
    public var refundNotifyURL: String?
    /// The deadline of one request, connection included.
    public var timeout: Duration
    /// How far a response's `Wechatpay-Timestamp` may be from our clock, either way.
    public var responseTimestampTolerance: Duration
    /// Sent as `User-Agent` (WeChat Pay refuses requests without one).
    public var userAgent: String

    public init(
        baseURL: String = WeChatPayV3ClientConfiguration.productionBaseURL, notifyURL: String,
        refundNotifyURL: String? = nil, timeout: Duration = .seconds(10),
        responseTimestampTolerance: Duration = .seconds(300), userAgent: String = "PayFleet PaymentChannels"
    ) {
        self.baseURL = baseURL
        self.notifyURL = notifyURL
        self.refundNotifyURL = refundNotifyURL
        self.timeout = timeout
        self.responseTimestampTolerance = responseTimestampTolerance
        self.userAgent = userAgent
    }
}
