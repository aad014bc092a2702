import Configuration
import Foundation
import PayFleetMessages
import PaymentChannels

/// The channel API gateway of every merchant that has API credentials configured, keyed by
/// `<channel>/<merchant>`: what payment-worker prepays, queries and closes with.
///
/// A merchant has a gateway when its `api` section is configured (`channels.<channel>.<id>.api.*`); one
/// without it only receives notifications. Keys every channel shares (see ``GatewayLoading``):
/// `api.base_url` (else `channels.<channel>.api_base_url`, else the channel's production URL),
/// `api.notify_url` (else `receiver.public_url` + `/notify/<channel>/<id>`), `api.timeout_ms` (10000).
/// Channel keys:
/// - wechatpay: `api.private_key_file` (merchant API private key), `api.certificate_file` (its certificate,
///   whose serial is sent).
/// - alipay: `api.app_private_key_file` (the app private key requests are signed with).
/// - wechatpay_v2: `api.sign_type` (`MD5` or `HMAC-SHA256`, required), `api.client_certificate_file` and
///   `api.client_private_key_file` (mutual TLS for refunds), optional `api.trust_roots_file` (TEST-ONLY CA),
///   `api.refund_base_url`, `api.refund_notify_url`, `api.server_ip` (see ``wechatPayV2Gateway(_:id:)``).
/// - baidu: `api.private_key_file` (the developer private key that signs `rsaSign`; its public half is uploaded
///   in the smart-program console); `api.base_url` serves both of Baidu's API hosts (see ``baiduGateway(_:id:)``).
/// - stripe: `api.secret_key_file` (the `sk_…` secret key, a file holding only it), optional
///   `api.publishable_key` (handed to the payer with the client secret) and `api.api_version` (`Stripe-Version`).
///
/// A missing or unreadable key file is a start-up error that names the file.
public struct GatewayRegistry: Sendable, CustomStringConvertible {
    private var gateways: [String: any PaymentGateway]

    /// Every call through these gateways is counted and timed (``MeteredGateway``).
    public init(gateways: [any PaymentGateway]) {
        self.gateways = Dictionary(
            gateways.map { ("\($0.channel.rawValue)/\($0.merchantID)", MeteredGateway($0)) },
            uniquingKeysWith: { first, _ in first })
    }

    /// Every configured gateway, calling out through `transport`.
    public init(reader: ConfigReader, transport: any ChannelHTTPTransport = HTTPClientTransport()) throws {
        let loading = GatewayLoading(reader: reader, transport: transport)
        var gateways: [any PaymentGateway] = []
        for id in loading.merchantsWithAPI("wechatpay", requiredKey: "private_key_file") {
            gateways.append(try Self.wechatPayGateway(loading, id: id))
        }
        for id in loading.merchantsWithAPI("alipay", requiredKey: "app_private_key_file") {
            gateways.append(try Self.alipayGateway(loading, id: id))
        }
        for id in loading.merchantsWithAPI("wechatpay_v2", requiredKey: "sign_type") {
            gateways.append(try Self.wechatPayV2Gateway(loading, id: id))
        }
        for id in loading.merchantsWithAPI("baidu", requiredKey: "private_key_file") {
            gateways.append(try Self.baiduGateway(loading, id: id))
        }
        for id in loading.merchantsWithAPI("stripe", requiredKey: "secret_key_file") {
            gateways.append(try Self.stripeGateway(loading, id: id))
        }
        self.init(gateways: gateways)
    }

    public func gateway(channel: ChannelID, merchant: String) -> (any PaymentGateway)? {
        gateways["\(channel.rawValue)/\(merchant)"]
    }

    public var count: Int { gateways.count }

    /// The gateways' names only: a registry printed (in an error, a log line) never shows a merchant's keys.
    public var description: String { "GatewayRegistry(\(names.joined(separator: ", ")))" }

    /// `<channel>/<merchant>` of every gateway, sorted: for start-up logs.
    public var names: [String] { gateways.keys.sorted() }

    static func wechatPayGateway(_ loading: GatewayLoading, id: String) throws -> WeChatPayV3Gateway {
        let merchant = try MerchantRegistry.wechatPayMerchant(reader: loading.reader, id: id)
        let api = loading.api("wechatpay", id)
        return try loading.building("wechatpay", id) {
            let signer = try WeChatPayV3RequestSigner.load(
                mchID: merchant.mchID, privateKeyFile: try api.requiredSetting("private_key_file"),
                certificateFile: try api.requiredSetting("certificate_file"))
            let configuration = WeChatPayV3ClientConfiguration(
                baseURL: loading.baseURL("wechatpay", id, default: WeChatPayV3ClientConfiguration.productionBaseURL),
                notifyURL: try loading.notifyURL("wechatpay", id, path: ChannelID.wechatpay.rawValue),
                timeout: loading.timeout("wechatpay", id))
            return WeChatPayV3Gateway(
                client: try WeChatPayV3Client(
                    merchant: merchant, signer: signer, configuration: configuration, transport: loading.transport))
        }
    }

    static func alipayGateway(_ loading: GatewayLoading, id: String) throws -> AlipayGateway {
        let merchant = try MerchantRegistry.alipayMerchant(reader: loading.reader, id: id)
        let api = loading.api("alipay", id)
        return try loading.building("alipay", id) {
            let signer = try AlipayRequestSigner.load(
                appID: merchant.appID, privateKeyFile: try api.requiredSetting("app_private_key_file"))
            let configuration = AlipayClientConfiguration(
                gatewayURL: loading.baseURL("alipay", id, default: AlipayClientConfiguration.productionGatewayURL),
                notifyURL: try loading.notifyURL("alipay", id, path: ChannelID.alipay.rawValue),
                timeout: loading.timeout("alipay", id))
            return AlipayGateway(
                client: try AlipayClient(
                    merchant: merchant, signer: signer, configuration: configuration, transport: loading.transport))
        }
    }
}

/// What every channel's gateway loader shares: the config reader, the HTTP transport, and the keys every
/// channel reads the same way.
struct GatewayLoading: Sendable {
    let reader: ConfigReader
    let transport: any ChannelHTTPTransport

    /// The merchants listed in `channels.<channelKey>.merchants` whose `api.<requiredKey>` is set.
    func merchantsWithAPI(_ channelKey: String, requiredKey: String) -> [String] {
        reader.stringArray(forKey: ConfigKey(["channels", channelKey, "merchants"]), default: []).filter {
            api(channelKey, $0).string(forKey: ConfigKey(requiredKey)).map { !$0.isEmpty } ?? false
        }
    }

    /// `channels.<channelKey>.<id>.api`.
    func api(_ channelKey: String, _ id: String) -> ConfigReader {
        reader.scoped(to: ConfigKey(["channels", channelKey, id, "api"]))
    }

    /// `api.base_url`, else `channels.<channelKey>.api_base_url`, else `production`.
    func baseURL(_ channelKey: String, _ id: String, default production: String) -> String {
        api(channelKey, id).string(forKey: "base_url").flatMap { $0.isEmpty ? nil : $0 }
            ?? reader.string(forKey: ConfigKey(["channels", channelKey, "api_base_url"])).flatMap {
                $0.isEmpty ? nil : $0
            }
            ?? production
    }

    /// `api.notify_url`, else `receiver.public_url` + `/notify/<path>/<id>`.
    func notifyURL(_ channelKey: String, _ id: String, path: String) throws -> String {
        if let url = api(channelKey, id).string(forKey: "notify_url"), !url.isEmpty { return url }
        guard var base = reader.string(forKey: "receiver.public_url"), !base.isEmpty else {
            throw PayFleetError(
                .missingSetting,
                "neither channels.\(channelKey).\(id).api.notify_url nor receiver.public_url is set; the channel "
                    + "must be told where to send notifications (e.g. receiver.public_url: https://pay.example.com)")
        }
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/notify/\(path)/\(id)"
    }

    /// `api.timeout_ms` (10000).
    func timeout(_ channelKey: String, _ id: String) -> Duration {
        .milliseconds(max(1, api(channelKey, id).int(forKey: "timeout_ms", default: 10_000)))
    }

    /// Runs a gateway's builder, naming the channel and merchant in any error.
    func building<G>(_ channelKey: String, _ id: String, _ build: () throws -> G) throws -> G {
        do {
            return try build()
        } catch let error as ChannelError {
            throw PayFleetError(.invalidSetting, "\(channelKey) merchant \(id) api: \(error.description)")
        } catch let error as ChannelAPIError {
            throw PayFleetError(.invalidSetting, "\(channelKey) merchant \(id) api: \(error.description)")
        } catch let error as PayFleetError {
            throw PayFleetError(error.code, "\(channelKey) merchant \(id) api: \(error.description)")
        }
    }
}
