import Configuration
import Foundation
import PayFleetMessages
import PaymentChannels

/// One payment channel's wiring, in one place: how its merchants are configured and what PayFleet builds from
/// them — the receiver's verifier, payment-worker's and refund-worker's gateway (which also downloads the bill),
/// the media type its notifications arrive in. ``MerchantRegistry`` and ``GatewayRegistry`` are loops over
/// `ChannelID.allCases` through ``ChannelID/descriptor``; a new channel is one more descriptor.
public protocol ChannelDescriptor: Sendable {
    associatedtype Merchant: Sendable

    static var channel: ChannelID { get }
    /// The `channels.<channel>.<id>.api.<key>` whose presence gives a merchant a gateway.
    static var apiCredentialKey: String { get }
    /// What the channel's notifications' `Content-Type` contains.
    static var notificationMediaType: String { get }

    /// Merchant `id` from `channels.<channel>.<id>`; a missing setting or an unreadable key file is an error that
    /// names the channel and the merchant.
    static func merchant(reader: ConfigReader, id: String) throws -> Merchant

    /// The receiver's verifier of the merchant's notifications.
    static func verifier(for merchant: Merchant, timestampTolerance: Duration) -> any NotificationVerifier

    /// The merchant's API gateway, from `channels.<channel>.<id>.api.*`.
    static func gateway(for merchant: Merchant, id: String, loading: GatewayLoading) throws -> any PaymentGateway
}

extension ChannelDescriptor {
    /// `channels.<configKey>`.
    public static var configKey: String { channel.configKey }

    /// The ids in `channels.<configKey>.merchants`.
    static func merchantIDs(_ reader: ConfigReader) -> [String] {
        reader.stringArray(forKey: ConfigKey(["channels", configKey, "merchants"]), default: [])
    }

    static func verifier(reader: ConfigReader, id: String, timestampTolerance: Duration) throws -> any NotificationVerifier {
        verifier(for: try merchant(reader: reader, id: id), timestampTolerance: timestampTolerance)
    }

    static func gateway(id: String, loading: GatewayLoading) throws -> any PaymentGateway {
        let merchant = try merchant(reader: loading.reader, id: id)
        return try loading.building(configKey, id) { try gateway(for: merchant, id: id, loading: loading) }
    }

    /// Runs a merchant loader, naming the channel and merchant in any error.
    static func loading<M>(_ id: String, _ load: () throws -> M) throws -> M {
        do {
            return try load()
        } catch let error as ChannelError {
            throw PayFleetError(.invalidSetting, "\(channel.rawValue) merchant \(id): \(error.description)")
        } catch let error as PayFleetError {
            throw PayFleetError(error.code, "\(channel.rawValue) merchant \(id): \(error.description)")
        }
    }
}

extension ChannelID {
    /// The channel's wiring.
    public var descriptor: any ChannelDescriptor.Type {
        switch self {
        case .wechatpay: WeChatPayV3Channel.self
        case .wechatpayV2: WeChatPayV2Channel.self
        case .alipay: AlipayChannel.self
        case .baidu: BaiduChannel.self
        case .stripe: StripeChannel.self
        }
    }
}
