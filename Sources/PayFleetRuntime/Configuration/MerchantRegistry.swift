import Configuration
import Foundation
import PayFleetMessages
import PaymentChannels

/// Every configured merchant account of every channel, keyed by `<channel>/<merchant>`,
/// each with the verifier its notifications go through.
///
/// Keys, per channel: `channels.<channel>.merchants` lists the merchant ids (the `<merchant>`
/// of `/notify/<channel>/<merchant>`); each id is configured under `channels.<channel>.<id>`:
///
/// - wechatpay (API v3): `mch_id`, `app_id`, `apiv3_key_file`, `platform_certificates`
///   (X.509 PEM files; the serial is read from each), `public_keys` (`PUB_KEY_ID_…=path.pem`
///   entries for the WeChat Pay public-key mode). Both key kinds may be live at once.
/// - alipay: `app_id`, `seller_id` (optional), `public_key_files` (several during rotation)
///   and/or `public_cert_files` (certificate mode: the key is read from each Alipay
///   public-key certificate).
/// - wechatpay_v2 (path `/notify/wechatpay-v2/<merchant>`): `mch_id`, `app_id`, `api_key_file`.
/// - baidu: `app_key`, `deal_id`, `platform_public_key_files`.
/// - stripe: `endpoint_secret_files` (several during secret rotation).
///
/// Relative paths resolve against the working directory. A missing or unreadable key file is
/// a start-up error that names the file.
public struct MerchantRegistry: Sendable {
    private var verifiers: [String: any NotificationVerifier]

    public init(verifiers: [any NotificationVerifier]) {
        self.verifiers = Dictionary(verifiers.map { ("\($0.channel.rawValue)/\($0.merchantID)", $0) }, uniquingKeysWith: { a, _ in a })
    }

    public init(reader: ConfigReader, timestampTolerance: Duration = .seconds(300)) throws {
        var verifiers: [any NotificationVerifier] = []
        for id in reader.stringArray(forKey: "channels.wechatpay.merchants", default: []) {
            let merchant = try Self.wechatPayMerchant(reader: reader, id: id)
            verifiers.append(WeChatPayV3Verifier(merchant: merchant, timestampTolerance: timestampTolerance))
        }
        for id in reader.stringArray(forKey: "channels.alipay.merchants", default: []) {
            verifiers.append(AlipayVerifier(merchant: try Self.alipayMerchant(reader: reader, id: id)))
        }
        for id in reader.stringArray(forKey: "channels.wechatpay_v2.merchants", default: []) {
            verifiers.append(WeChatPayV2Verifier(merchant: try Self.wechatPayV2Merchant(reader: reader, id: id)))
        }
        for id in reader.stringArray(forKey: "channels.baidu.merchants", default: []) {
            verifiers.append(BaiduVerifier(merchant: try Self.baiduMerchant(reader: reader, id: id)))
        }
        for id in reader.stringArray(forKey: "channels.stripe.merchants", default: []) {
            verifiers.append(
                StripeVerifier(merchant: try Self.stripeMerchant(reader: reader, id: id), timestampTolerance: timestampTolerance))
        }
        self.init(verifiers: verifiers)
    }

    /// WeChat Pay v2 merchant `id`, from `channels.wechatpay_v2.<id>.*`.
    public static func wechatPayV2Merchant(reader: ConfigReader, id: String) throws -> WeChatPayV2Merchant {
        let m = reader.scoped(to: ConfigKey(["channels", "wechatpay_v2", id]))
        return try loading("wechatpay-v2", id) {
            try WeChatPayV2Merchant.load(
                id: id, mchID: try m.requiredSetting("mch_id"), appID: try m.requiredSetting("app_id"),
                apiKeyFile: try m.requiredSetting("api_key_file"))
        }
    }

    /// Baidu merchant `id`, from `channels.baidu.<id>.*`.
    public static func baiduMerchant(reader: ConfigReader, id: String) throws -> BaiduMerchant {
        let m = reader.scoped(to: ConfigKey(["channels", "baidu", id]))
        return try loading("baidu", id) {
            try BaiduMerchant.load(
                id: id, appKey: try m.requiredSetting("app_key"), dealID: try m.requiredSetting("deal_id"),
                platformPublicKeyFiles: m.stringArray(forKey: "platform_public_key_files", default: []))
        }
    }

    /// Stripe account `id`, from `channels.stripe.<id>.*`.
    public static func stripeMerchant(reader: ConfigReader, id: String) throws -> StripeMerchant {
        let m = reader.scoped(to: ConfigKey(["channels", "stripe", id]))
        return try loading("stripe", id) {
            try StripeMerchant.load(id: id, endpointSecretFiles: m.stringArray(forKey: "endpoint_secret_files", default: []))
        }
    }

    /// Runs a merchant's loader, naming the channel and merchant in any error.
    static func loading<M>(_ channel: String, _ id: String, _ load: () throws -> M) throws -> M {
        do {
            return try load()
        } catch let error as ChannelError {
            throw PayFleetError(.invalidSetting, "\(channel) merchant \(id): \(error.description)")
        } catch let error as PayFleetError {
            throw PayFleetError(error.code, "\(channel) merchant \(id): \(error.description)")
        }
    }

    /// WeChat Pay merchant `id`, keys loaded from `channels.wechatpay.<id>.*`.
    public static func wechatPayMerchant(reader: ConfigReader, id: String) throws -> WeChatPayV3Merchant {
        let m = reader.scoped(to: ConfigKey(["channels", "wechatpay", id]))
        do {
            let publicKeys = try m.stringArray(forKey: "public_keys", default: []).map { entry in
                let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2 else {
                    throw PayFleetError(.invalidSetting, "public_keys entries must be PUB_KEY_ID_…=path.pem")
                }
                return (id: parts[0], path: parts[1])
            }
            return try WeChatPayV3Merchant.load(
                id: id,
                mchID: try m.requiredSetting("mch_id"),
                appID: try m.requiredSetting("app_id"),
                apiV3KeyFile: try m.requiredSetting("apiv3_key_file"),
                platformCertificateFiles: m.stringArray(forKey: "platform_certificates", default: []),
                publicKeys: publicKeys)
        } catch let error as ChannelError {
            throw PayFleetError(.invalidSetting, "wechatpay merchant \(id): \(error.description)")
        } catch let error as PayFleetError {
            throw PayFleetError(error.code, "wechatpay merchant \(id): \(error.description)")
        }
    }

    /// Alipay merchant `id`, keys loaded from `channels.alipay.<id>.*`.
    public static func alipayMerchant(reader: ConfigReader, id: String) throws -> AlipayMerchant {
        let m = reader.scoped(to: ConfigKey(["channels", "alipay", id]))
        do {
            return try AlipayMerchant.load(
                id: id,
                appID: try m.requiredSetting("app_id"),
                sellerID: m.string(forKey: "seller_id"),
                publicKeyFiles: m.stringArray(forKey: "public_key_files", default: []),
                alipayPublicCertFiles: m.stringArray(forKey: "public_cert_files", default: []))
        } catch let error as ChannelError {
            throw PayFleetError(.invalidSetting, "alipay merchant \(id): \(error.description)")
        } catch let error as PayFleetError {
            throw PayFleetError(error.code, "alipay merchant \(id): \(error.description)")
        }
    }

    public func verifier(channel: ChannelID, merchant: String) -> (any NotificationVerifier)? {
        verifiers["\(channel.rawValue)/\(merchant)"]
    }

    public var count: Int { verifiers.count }
}
