import Configuration
import PayFleetMessages
import PaymentChannels

/// Baidu's cashier. Merchant keys (`channels.baidu.<id>`): `app_key`, `deal_id`, `platform_public_key_files`. API
/// (`api.*`): `private_key_file` (the developer private key that signs `rsaSign`; its public half is uploaded in
/// the smart-program console); `api.base_url` serves both of Baidu's API hosts.
public enum BaiduChannel: ChannelDescriptor {
    public static let channel = ChannelID.baidu
    public static let apiCredentialKey = "private_key_file"
    public static let notificationMediaType = "application/x-www-form-urlencoded"

    public static func merchant(reader: ConfigReader, id: String) throws -> BaiduMerchant {
        let m = reader.scoped(to: ConfigKey(["channels", configKey, id]))
        return try loading(id) {
            try BaiduMerchant.load(
                id: id, appKey: try m.requiredSetting("app_key"), dealID: try m.requiredSetting("deal_id"),
                platformPublicKeyFiles: m.stringArray(forKey: "platform_public_key_files", default: []))
        }
    }

    public static func verifier(for merchant: BaiduMerchant, timestampTolerance: Duration) -> any NotificationVerifier {
        BaiduVerifier(merchant: merchant)
    }

    public static func gateway(for merchant: BaiduMerchant, id: String, loading: GatewayLoading) throws
        -> any PaymentGateway
    {
        let api = loading.api(configKey, id)
        let signer = try BaiduRequestSigner.load(
            appKey: merchant.appKey, privateKeyFile: try api.requiredSetting("private_key_file"))
        let notifyURL = try? loading.notifyURL(configKey, id, path: channel.rawValue)
        let base = loading.baseURL(configKey, id, default: "")
        let configuration =
            base.isEmpty
            ? BaiduClientConfiguration(notifyURL: notifyURL, timeout: loading.timeout(configKey, id))
            : BaiduClientConfiguration(baseURL: base, notifyURL: notifyURL, timeout: loading.timeout(configKey, id))
        return BaiduGateway(
            client: try BaiduClient(
                merchant: merchant, signer: signer, configuration: configuration, transport: loading.transport))
    }
}
