import Configuration
import Foundation
import PayFleetMessages
import PaymentChannels

/// Every configured merchant account of every channel, keyed by `<channel>/<merchant>`,
/// each with the verifier its notifications go through.
///
/// Keys, per channel: `channels.<channel>.merchants` lists the merchant ids (the `<merchant>`
/// of `/notify/<channel>/<merchant>`); each id is configured under `channels.<channel>.<id>`, as the channel's
/// ``ChannelDescriptor`` reads it:
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
        for channel in ChannelID.allCases {
            let descriptor = channel.descriptor
            for id in descriptor.merchantIDs(reader) {
                verifiers.append(try descriptor.verifier(reader: reader, id: id, timestampTolerance: timestampTolerance))
            }
        }
        self.init(verifiers: verifiers)
    }

    public func verifier(channel: ChannelID, merchant: String) -> (any NotificationVerifier)? {
        verifiers["\(channel.rawValue)/\(merchant)"]
    }

    public var count: Int { verifiers.count }
}
