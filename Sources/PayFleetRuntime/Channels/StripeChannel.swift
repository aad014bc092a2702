import Configuration
import PayFleetMessages
import PaymentChannels

/// Stripe. Account keys (`channels.stripe.<id>`): `endpoint_secret_files` (several during secret rotation). API
/// (`api.*`): `secret_key_file` (the `sk_…` secret key, a file holding only it), optional `publishable_key`
/// (handed to the payer with the client secret) and `api_version` (`Stripe-Version`).
public enum StripeChannel: ChannelDescriptor {
    public static let channel = ChannelID.stripe
    public static let apiCredentialKey = "secret_key_file"
    public static let notificationMediaType = "application/json"

    public static func merchant(reader: ConfigReader, id: String) throws -> StripeMerchant {
        let m = reader.scoped(to: ConfigKey(["channels", configKey, id]))
        return try loading(id) {
            try StripeMerchant.load(id: id, endpointSecretFiles: m.stringArray(forKey: "endpoint_secret_files", default: []))
        }
    }

    public static func verifier(for merchant: StripeMerchant, timestampTolerance: Duration) -> any NotificationVerifier {
        StripeVerifier(merchant: merchant, timestampTolerance: timestampTolerance)
    }

    public static func gateway(for merchant: StripeMerchant, id: String, loading: GatewayLoading) throws
        -> any PaymentGateway
    {
        let api = loading.api(configKey, id)
        let secretKey = try StripeSecretKey.load(path: try api.requiredSetting("secret_key_file"))
        let configuration = StripeClientConfiguration(
            baseURL: loading.baseURL(configKey, id, default: StripeClientConfiguration.productionBaseURL),
            apiVersion: api.string(forKey: "api_version").flatMap { $0.isEmpty ? nil : $0 }
                ?? StripeClientConfiguration.defaultAPIVersion,
            publishableKey: api.string(forKey: "publishable_key").flatMap { $0.isEmpty ? nil : $0 },
            timeout: loading.timeout(configKey, id))
        return StripeGateway(
            client: try StripeClient(
                merchantID: merchant.id, secretKey: secretKey, configuration: configuration, transport: loading.transport))
    }
}
