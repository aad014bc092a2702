/// Where and how a ``StripeClient`` calls the Stripe API.
public struct StripeClientConfiguration: Sendable {
    /// Stripe's API.
    public static let productionBaseURL = "https://api.stripe.com"
    /// The API version every request pins (`Stripe-Version`), so an account upgrade changes nothing under us;
    /// the version of the event shapes ``StripeVerifier`` reads.
    public static let defaultAPIVersion = "2024-06-20"

    /// Scheme, host, optional port and path prefix; e.g. the production URL, or the channel sandbox's address in
    /// tests and demos.
    public var baseURL: String
    /// Sent as `Stripe-Version`.
    public var apiVersion: String
    /// The publishable key (`pk_live_…`, `pk_test_…`) handed to the payer's client with the client secret; not a
    /// secret. Nil to hand none.
    public var publishableKey: String?
    /// The deadline of one request, connection included.
    public var timeout: Duration
    /// Sent as `User-Agent`.
    public var userAgent: String

    public init(
        baseURL: String = StripeClientConfiguration.productionBaseURL,
        apiVersion: String = StripeClientConfiguration.defaultAPIVersion, publishableKey: String? = nil,
        timeout: Duration = .seconds(10), userAgent: String = "PayFleet PaymentChannels"
    ) {
        self.baseURL = baseURL
        self.apiVersion = apiVersion
        self.publishableKey = publishableKey
        self.timeout = timeout
        self.userAgent = userAgent
    }
}
