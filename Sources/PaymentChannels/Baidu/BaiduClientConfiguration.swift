/// Where and how a ``BaiduClient`` calls Baidu's cashier ("百度收银台").
///
/// Baidu serves the cashier's server APIs from two hosts: the smart-program OpenAPI (order query,
/// `findByTpOrderId`) and the e-commerce trade API (`cashier/applyOrderRefund`, which replaces the Nuomi
/// gateway's `nuomi.cashier.applyorderrefund`). The sandbox serves both paths on one address, so a test or demo
/// sets both to it.
public struct BaiduClientConfiguration: Sendable {
    /// Baidu's smart-program OpenAPI.
    public static let productionOpenAPIBaseURL = "https://openapi.baidu.com"
    /// The trade API that serves the cashier's refund application ("新正式环境" of 申请退款).
    public static let productionTradeBaseURL = "https://etrade-api.baidu.com"

    /// Scheme, host, optional port and path prefix of the OpenAPI; the order query is
    /// `<base>/rest/2.0/smartapp/pay/paymentservice/findByTpOrderId`.
    public var openAPIBaseURL: String
    /// Scheme, host, optional port and path prefix of the trade API; refunds go to
    /// `<base>/cashier/applyOrderRefund`.
    public var tradeBaseURL: String
    /// Sent as the orderInfo's optional `notifyUrl`, e.g. `https://pay.example.com/notify/baidu/bd-main`; nil to
    /// let Baidu use the payment callback URL registered in the console (the usual setup).
    public var notifyURL: String?
    /// The deadline of one request, connection included.
    public var timeout: Duration

    public init(
        openAPIBaseURL: String = BaiduClientConfiguration.productionOpenAPIBaseURL,
        tradeBaseURL: String = BaiduClientConfiguration.productionTradeBaseURL, notifyURL: String? = nil,
        timeout: Duration = .seconds(10)
    ) {
        self.openAPIBaseURL = openAPIBaseURL
        self.tradeBaseURL = tradeBaseURL
        self.notifyURL = notifyURL
        self.timeout = timeout
    }

    /// Both APIs at one base URL: the channel sandbox's address in tests and demos.
    public init(baseURL: String, notifyURL: String? = nil, timeout: Duration = .seconds(10)) {
        self.init(openAPIBaseURL: baseURL, tradeBaseURL: baseURL, notifyURL: notifyURL, timeout: timeout)
    }
}
