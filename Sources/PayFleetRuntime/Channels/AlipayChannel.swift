import Configuration
import PayFleetMessages
import PaymentChannels

/// Alipay. Merchant keys (`channels.alipay.<id>`): `app_id`, `seller_id` (optional), `public_key_files` (several
/// during rotation) and/or `public_cert_files` (certificate mode: the key is read from each Alipay public-key
/// certificate). API (`api.*`): `app_private_key_file` (the app private key requests are signed with).
public enum AlipayChannel: ChannelDescriptor {
    public static let channel = ChannelID.alipay
    public static let apiCredentialKey = "app_private_key_file"
    public static let notificationMediaType = "application/x-www-form-urlencoded"

    public static func merchant(reader: ConfigReader, id: String) throws -> AlipayMerchant {
        let m = reader.scoped(to: ConfigKey(["channels", configKey, id]))
        return try loading(id) {
            try AlipayMerchant.load(
                id: id, appID: try m.requiredSetting("app_id"), sellerID: m.string(forKey: "seller_id"),
                publicKeyFiles: m.stringArray(forKey: "public_key_files", default: []),
                alipayPublicCertFiles: m.stringArray(forKey: "public_cert_files", default: []))
        }
    }

    public static func verifier(for merchant: AlipayMerchant, timestampTolerance: Duration) -> any NotificationVerifier {
        AlipayVerifier(merchant: merchant)
    }

    public static func gateway(for merchant: AlipayMerchant, id: String, loading: GatewayLoading) throws
        -> any PaymentGateway
    {
        let api = loading.api(configKey, id)
        let signer = try AlipayRequestSigner.load(
            appID: merchant.appID, privateKeyFile: try api.requiredSetting("app_private_key_file"))
        let configuration = AlipayClientConfiguration(
            gatewayURL: loading.baseURL(configKey, id, default: AlipayClientConfiguration.productionGatewayURL),
            notifyURL: try loading.notifyURL(configKey, id, path: channel.rawValue),
            timeout: loading.timeout(configKey, id))
        return AlipayGateway(
            client: try AlipayClient(
                merchant: merchant, signer: signer, configuration: configuration, transport: loading.transport))
    }
}
