import Configuration
import PayFleetMessages
import PaymentChannels

/// WeChat Pay API v3. Merchant keys (`channels.wechatpay.<id>`): `mch_id`, `app_id`, `apiv3_key_file`,
/// `platform_certificates` (X.509 PEM files; the serial is read from each), `public_keys` (`PUB_KEY_ID_…=path.pem`
/// entries for the public-key mode; both kinds may be live at once). API (`api.*`): `private_key_file` (the
/// merchant API private key), `certificate_file` (its certificate, whose serial is sent).
public enum WeChatPayV3Channel: ChannelDescriptor {
    public static let channel = ChannelID.wechatpay
    public static let apiCredentialKey = "private_key_file"
    public static let notificationMediaType = "application/json"

    public static func merchant(reader: ConfigReader, id: String) throws -> WeChatPayV3Merchant {
        let m = reader.scoped(to: ConfigKey(["channels", configKey, id]))
        return try loading(id) {
            let publicKeys = try m.stringArray(forKey: "public_keys", default: []).map { entry in
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else {
                    throw PayFleetError(.invalidSetting, "public_keys entries must be PUB_KEY_ID_…=path.pem")
                }
                return (id: parts[0], path: parts[1])
            }
            return try WeChatPayV3Merchant.load(
                id: id, mchID: try m.requiredSetting("mch_id"), appID: try m.requiredSetting("app_id"),
                apiV3KeyFile: try m.requiredSetting("apiv3_key_file"),
                platformCertificateFiles: m.stringArray(forKey: "platform_certificates", default: []),
                publicKeys: publicKeys)
        }
    }

    public static func verifier(for merchant: WeChatPayV3Merchant, timestampTolerance: Duration) -> any NotificationVerifier {
        WeChatPayV3Verifier(merchant: merchant, timestampTolerance: timestampTolerance)
    }

    public static func gateway(for merchant: WeChatPayV3Merchant, id: String, loading: GatewayLoading) throws
        -> any PaymentGateway
    {
        let api = loading.api(configKey, id)
        let signer = try WeChatPayV3RequestSigner.load(
            mchID: merchant.mchID, privateKeyFile: try api.requiredSetting("private_key_file"),
            certificateFile: try api.requiredSetting("certificate_file"))
        let configuration = WeChatPayV3ClientConfiguration(
            baseURL: loading.baseURL(configKey, id, default: WeChatPayV3ClientConfiguration.productionBaseURL),
            notifyURL: try loading.notifyURL(configKey, id, path: channel.rawValue),
            timeout: loading.timeout(configKey, id))
        return WeChatPayV3Gateway(
            client: try WeChatPayV3Client(
                merchant: merchant, signer: signer, configuration: configuration, transport: loading.transport))
    }
}
