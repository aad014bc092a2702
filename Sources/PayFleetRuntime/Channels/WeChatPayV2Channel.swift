import Configuration
import PayFleetMessages
import PaymentChannels

/// WeChat Pay v2 (notifications at `/notify/wechatpay-v2/<merchant>`). Merchant keys (`channels.wechatpay_v2.<id>`):
/// `mch_id`, `app_id`, `api_key_file`. API (`api.*`):
/// - `sign_type` (required, `MD5` or `HMAC-SHA256`): as set at the merchant platform; requests are signed and
///   replies must be signed so.
/// - `client_certificate_file`, `client_private_key_file` (both or neither): the merchant's API client
///   certificate (`apiclient_cert.pem`, `apiclient_key.pem`) presented over mutual TLS to
///   `/secapi/pay/refund`; without them refunds fail with a configuration error.
/// - `trust_roots_file`: PEM CA certificates that replace the system roots for the refund call; TEST-ONLY
///   (the sandbox's CA), never set in production.
/// - `refund_base_url`: where refunds go (the sandbox's TLS port); else `channels.wechatpay_v2.api_refund_base_url`,
///   else the base URL.
/// - `refund_notify_url`: `notify_url` of refunds; default the one set at the merchant platform.
/// - `server_ip` (127.0.0.1): `spbill_create_ip` when the job's client context has no `client_ip`.
public enum WeChatPayV2Channel: ChannelDescriptor {
    public static let channel = ChannelID.wechatpayV2
    public static let apiCredentialKey = "sign_type"
    public static let notificationMediaType = "xml"

    public static func merchant(reader: ConfigReader, id: String) throws -> WeChatPayV2Merchant {
        let m = reader.scoped(to: ConfigKey(["channels", configKey, id]))
        return try loading(id) {
            try WeChatPayV2Merchant.load(
                id: id, mchID: try m.requiredSetting("mch_id"), appID: try m.requiredSetting("app_id"),
                apiKeyFile: try m.requiredSetting("api_key_file"))
        }
    }

    public static func verifier(for merchant: WeChatPayV2Merchant, timestampTolerance: Duration) -> any NotificationVerifier {
        WeChatPayV2Verifier(merchant: merchant)
    }

    public static func gateway(for merchant: WeChatPayV2Merchant, id: String, loading: GatewayLoading) throws
        -> any PaymentGateway
    {
        let api = loading.api(configKey, id)
        let signTypeText = try api.requiredSetting(
            "sign_type", hint: "MD5 or HMAC-SHA256, as the merchant platform is set")
        guard let signType = WeChatPayV2SignType(rawValue: signTypeText.uppercased()) else {
            throw PayFleetError(
                .invalidSetting, "api.sign_type must be MD5 or HMAC-SHA256, not \(signTypeText.prefix(20))")
        }
        let certificate = api.string(forKey: "client_certificate_file").flatMap { $0.isEmpty ? nil : $0 }
        let privateKey = api.string(forKey: "client_private_key_file").flatMap { $0.isEmpty ? nil : $0 }
        var refundTransport: HTTPClientTransport?
        switch (certificate, privateKey) {
        case (let certificate?, let privateKey?):
            refundTransport = try HTTPClientTransport.mutualTLS(
                certificateFile: certificate, privateKeyFile: privateKey,
                trustRootsFile: api.string(forKey: "trust_roots_file").flatMap { $0.isEmpty ? nil : $0 })
        case (nil, nil):
            refundTransport = nil
        default:
            throw PayFleetError(
                .invalidSetting, "api.client_certificate_file and api.client_private_key_file go together")
        }
        let configuration = WeChatPayV2ClientConfiguration(
            baseURL: loading.baseURL(
                configKey, id, default: WeChatPayV2ClientConfiguration.productionBaseURL),
            refundBaseURL: api.string(forKey: "refund_base_url").flatMap { $0.isEmpty ? nil : $0 }
                ?? loading.reader.string(forKey: "channels.wechatpay_v2.api_refund_base_url").flatMap {
                    $0.isEmpty ? nil : $0
                },
            notifyURL: try loading.notifyURL(configKey, id, path: channel.rawValue),
            refundNotifyURL: api.string(forKey: "refund_notify_url").flatMap { $0.isEmpty ? nil : $0 },
            signType: signType, defaultClientIP: api.string(forKey: "server_ip", default: "127.0.0.1"),
            timeout: loading.timeout(configKey, id))
        return WeChatPayV2Gateway(
            client: try WeChatPayV2Client(
                merchant: merchant, configuration: configuration, transport: loading.transport,
                refundTransport: refundTransport))
    }
}
