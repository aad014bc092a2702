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
/// The channel's own keys: its ``ChannelDescriptor`` (``WeChatPayV3Channel``, ``WeChatPayV2Channel``,
/// ``AlipayChannel``, ``BaiduChannel``, ``StripeChannel``).
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

    /// Every configured gateway, calling out through `transport`: each channel's merchants with API credentials,
    /// built by the channel's ``ChannelDescriptor``.
    public init(reader: ConfigReader, transport: any ChannelHTTPTransport = HTTPClientTransport()) throws {
        let loading = GatewayLoading(reader: reader, transport: transport)
        var gateways: [any PaymentGateway] = []
        for channel in ChannelID.allCases {
            let descriptor = channel.descriptor
            for id in loading.merchantsWithAPI(descriptor.configKey, requiredKey: descriptor.apiCredentialKey) {
                gateways.append(try descriptor.gateway(id: id, loading: loading))
            }
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
}

/// What every channel's gateway loader shares: the config reader, the HTTP transport, and the keys every
/// channel reads the same way.
public struct GatewayLoading: Sendable {
    public let reader: ConfigReader
    public let transport: any ChannelHTTPTransport

    /// The merchants listed in `channels.<channelKey>.merchants` whose `api.<requiredKey>` is set.
    public func merchantsWithAPI(_ channelKey: String, requiredKey: String) -> [String] {
        reader.stringArray(forKey: ConfigKey(["channels", channelKey, "merchants"]), default: []).filter {
            api(channelKey, $0).string(forKey: ConfigKey(requiredKey)).map { !$0.isEmpty } ?? false
        }
    }

    /// `channels.<channelKey>.<id>.api`.
    public func api(_ channelKey: String, _ id: String) -> ConfigReader {
        reader.scoped(to: ConfigKey(["channels", channelKey, id, "api"]))
    }

    /// `api.base_url`, else `channels.<channelKey>.api_base_url`, else `production`.
    public func baseURL(_ channelKey: String, _ id: String, default production: String) -> String {
        api(channelKey, id).string(forKey: "base_url").flatMap { $0.isEmpty ? nil : $0 }
            ?? reader.string(forKey: ConfigKey(["channels", channelKey, "api_base_url"])).flatMap {
                $0.isEmpty ? nil : $0
            }
            ?? production
    }

    /// `api.notify_url`, else `receiver.public_url` + `/notify/<path>/<id>`.
    public func notifyURL(_ channelKey: String, _ id: String, path: String) throws -> String {
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
    public func timeout(_ channelKey: String, _ id: String) -> Duration {
        .milliseconds(max(1, api(channelKey, id).int(forKey: "timeout_ms", default: 10_000)))
    }

    /// Runs a gateway's builder, naming the channel and merchant in any error.
    public func building<G>(_ channelKey: String, _ id: String, _ build: () throws -> G) throws -> G {
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
