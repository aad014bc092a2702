import Configuration
import PaymentChannels

extension GatewayRegistry {
    /// Stripe account `id`: `channels.stripe.<id>.api.secret_key_file` (a file holding only the `sk_…` / `rk_…`
    /// key, read as a secret), optional `api.publishable_key` (handed to the payer's client) and `api.api_version`
    /// (`Stripe-Version`, default ``StripeClientConfiguration/defaultAPIVersion``). Stripe takes no per-request
    /// notify URL: webhooks go to the endpoint configured in the Dashboard (`/notify/stripe/<id>`), whose signing
    /// secrets ``MerchantRegistry/stripeMerchant(reader:id:)`` loads.
    static func stripeGateway(_ loading: GatewayLoading, id: String) throws -> StripeGateway {
        let merchant = try MerchantRegistry.stripeMerchant(reader: loading.reader, id: id)
        let api = loading.api("stripe", id)
        return try loading.building("stripe", id) {
            let secretKey = try StripeSecretKey.load(path: try api.requiredSetting("secret_key_file"))
            let configuration = StripeClientConfiguration(
                baseURL: loading.baseURL("stripe", id, default: StripeClientConfiguration.productionBaseURL),
                apiVersion: api.string(forKey: "api_version").flatMap { $0.isEmpty ? nil : $0 }
                    ?? StripeClientConfiguration.defaultAPIVersion,
                publishableKey: api.string(forKey: "publishable_key").flatMap { $0.isEmpty ? nil : $0 },
                timeout: loading.timeout("stripe", id))
            return StripeGateway(
                client: try StripeClient(
                    merchantID: merchant.id, secretKey: secretKey, configuration: configuration,
                    transport: loading.transport))
        }
    }
}
