/// Where and how an ``AlipayClient`` calls the Alipay open platform gateway.
public struct AlipayClientConfiguration: Sendable {
    /// Alipay's production gateway.
    public static let productionGatewayURL = "https://openapi.alipay.com/gateway.do"
    /// Alipay's developer sandbox gateway (sandbox apps and keys only).
    public static let sandboxGatewayURL = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"

    /// The gateway: scheme, host, optional port and path, no query; e.g. the production gateway, Alipay's
    /// sandbox, or the channel sandbox's address in tests and demos.
    public var gatewayURL: String
    /// Where Alipay sends trade notifications (`notify_url`), e.g. `https://pay.example.com/notify/alipay/ali-main`;
    /// nil to send the one configured in the Alipay console.
    public var notifyURL: String?
    /// The deadline of one request, connection included.
    public var timeout: Duration

    public init(
        gatewayURL: String = AlipayClientConfiguration.productionGatewayURL, notifyURL: String? = nil,
        timeout: Duration = .seconds(10)
    ) {
        self.gatewayURL = gatewayURL
        self.notifyURL = notifyURL
        self.timeout = timeout
    }
}
