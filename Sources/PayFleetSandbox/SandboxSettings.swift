import Configuration
import Crypto
import Foundation
import PaymentChannels
import _CryptoExtras

/// The channel sandbox's configuration: where it listens, where notifications go, how fast time runs, and the
/// TEST-ONLY keys it plays the channels with.
///
/// Keys (all under `sandbox.`; config/payfleet.example.yaml documents them):
/// - `host` (127.0.0.1), `port` (8090): where the stand-in channel APIs listen.
/// - `notify_base_url`: where notifications go when a prepay named no `notify_url`, as
///   `<base>/notify/<channel>/<merchant>`; default `sandbox.receiver_url`, else http://127.0.0.1:8080.
/// - `time_compression` (60): the channels' notification retry delays are divided by it (15 s → 0.25 s).
/// - `notify_timeout_ms` (5000): how long one notification delivery waits for the merchant's reply.
/// - `drop_hold_ms` (30000): how long a `drop` fault holds a request unanswered before closing the connection.
/// - `duplicate_share` (0): the share of notification attempts delivered twice without any fault, as channels
///   sometimes do (0 to 1).
/// - `refund_complete_ms` (300): how long after a refund API call accepts a refund the channel completes it by
///   itself and notifies (Alipay: sends its refund notification); 0 leaves it processing until
///   `POST /sandbox/<channel>/refund/<no>`.
/// - `wechatpay.platform_private_key`, `wechatpay.platform_certificate`: sign API responses and notifications
///   (the certificate's serial is the `Wechatpay-Serial` sent).
/// - `wechatpay.merchant_api_certificate`: the merchant API certificate whose key must sign our requests.
/// - `alipay.private_key`: the "Alipay" private key that signs gateway responses and notifications.
/// - `alipay.app_public_key`: the app public key our requests must verify with.
/// - `baidu.platform_private_key`: the Baidu platform private key that signs notifications (`rsaSign`).
/// - `baidu.developer_public_key`: the developer public key our requests' and orderInfo's `rsaSign` must verify
///   with.
/// - `stripe.secret_key_file`: the secret key (`sk_test_…`) the stand-in Stripe account accepts as
///   `Authorization: Bearer`, for every Stripe merchant whose `channels.stripe.<id>.api.secret_key_file` names
///   no other.
/// - `wechatpay_v2.server_certificate`, `wechatpay_v2.server_private_key`: the TLS listener of
///   `/secapi/pay/refund`; `wechatpay_v2.client_ca`: the CA whose client certificates it requires;
///   `wechatpay_v2.tls_port` (8091). `wechatpay_v2.refund_over_plain_http` (false) also serves the refund on the
///   plain port without a client certificate (demos without TLS keys only). Merchants: `channels.wechatpay_v2`
///   with `mch_id`, `app_id`, `api_key_file`.
///
/// Merchants come from the same keys the receiver reads: `channels.wechatpay.merchants` with each one's
/// `mch_id`, `app_id`, `apiv3_key_file`, `channels.alipay.merchants` with `app_id`, `seller_id`,
/// `channels.baidu.merchants` with `app_key`, `deal_id`, and `channels.stripe.merchants` with
/// `endpoint_secret_files` (the first signs the webhooks) and `api.secret_key_file`. A channel
/// whose sandbox keys are absent is not played (its endpoints answer as for an unknown merchant).
public struct SandboxSettings: Sendable {
    /// A WeChat Pay v3 merchant as the sandbox knows it.
    public struct WeChatPayMerchant: Sendable {
        public var id: String
        public var mchID: String
        public var appID: String
        public var apiV3Key: SymmetricKey

        public init(id: String, mchID: String, appID: String, apiV3Key: SymmetricKey) {
            self.id = id
            self.mchID = mchID
            self.appID = appID
            self.apiV3Key = apiV3Key
        }
    }

    /// The WeChat Pay side: merchants and keys.
    public struct WeChatPay: Sendable {
        public var merchants: [WeChatPayMerchant]
        /// Signs responses and notifications.
        public var platformPrivateKey: _RSA.Signing.PrivateKey
        /// Sent as `Wechatpay-Serial`.
        public var platformSerial: String
        /// Verifies our requests' `Authorization`.
        public var merchantAPIPublicKey: _RSA.Signing.PublicKey
        /// The `serial_no` our requests must name.
        public var merchantAPISerial: String

        public init(
            merchants: [WeChatPayMerchant], platformPrivateKey: _RSA.Signing.PrivateKey, platformSerial: String,
            merchantAPIPublicKey: _RSA.Signing.PublicKey, merchantAPISerial: String
        ) {
            self.merchants = merchants
            self.platformPrivateKey = platformPrivateKey
            self.platformSerial = platformSerial
            self.merchantAPIPublicKey = merchantAPIPublicKey
            self.merchantAPISerial = merchantAPISerial
        }

        public func merchant(mchID: String) -> WeChatPayMerchant? {
            merchants.first { $0.mchID == mchID }
        }
    }

    /// An Alipay app as the sandbox knows it.
    public struct AlipayMerchant: Sendable {
        public var id: String
        public var appID: String
        public var sellerID: String?

        public init(id: String, appID: String, sellerID: String?) {
            self.id = id
            self.appID = appID
            self.sellerID = sellerID
        }
    }

    /// The Alipay side: apps and keys.
    public struct Alipay: Sendable {
        public var merchants: [AlipayMerchant]
        /// Signs gateway responses and notifications.
        public var alipayPrivateKey: _RSA.Signing.PrivateKey
        /// Verifies our requests' `sign`.
        public var appPublicKey: _RSA.Signing.PublicKey

        public init(
            merchants: [AlipayMerchant], alipayPrivateKey: _RSA.Signing.PrivateKey, appPublicKey: _RSA.Signing.PublicKey
        ) {
            self.merchants = merchants
            self.alipayPrivateKey = alipayPrivateKey
            self.appPublicKey = appPublicKey
        }

        public func merchant(appID: String) -> AlipayMerchant? {
            merchants.first { $0.appID == appID }
        }
    }

    /// A Baidu cashier app as the sandbox knows it.
    public struct BaiduMerchant: Sendable {
        public var id: String
        public var appKey: String
        public var dealID: String

        public init(id: String, appKey: String, dealID: String) {
            self.id = id
            self.appKey = appKey
            self.dealID = dealID
        }
    }

    /// The Baidu cashier side: apps and keys.
    public struct Baidu: Sendable {
        public var merchants: [BaiduMerchant]
        /// Signs notifications (`rsaSign`).
        public var platformPrivateKey: _RSA.Signing.PrivateKey
        /// Verifies our requests' and orderInfo's `rsaSign`.
        public var developerPublicKey: _RSA.Signing.PublicKey

        public init(
            merchants: [BaiduMerchant], platformPrivateKey: _RSA.Signing.PrivateKey,
            developerPublicKey: _RSA.Signing.PublicKey
        ) {
            self.merchants = merchants
            self.platformPrivateKey = platformPrivateKey
            self.developerPublicKey = developerPublicKey
        }

        public func merchant(appKey: String) -> BaiduMerchant? {
            merchants.first { $0.appKey == appKey }
        }
    }

    /// A Stripe account as the sandbox knows it: the secret key it accepts and the endpoint secret its webhooks
    /// are signed with.
    public struct StripeMerchant: Sendable {
        public var id: String
        public var secretKey: StripeSecretKey
        public var endpointSecret: [UInt8]

        public init(id: String, secretKey: StripeSecretKey, endpointSecret: [UInt8]) {
            self.id = id
            self.secretKey = secretKey
            self.endpointSecret = endpointSecret
        }
    }

    /// The Stripe side: accounts.
    public struct Stripe: Sendable {
        public var merchants: [StripeMerchant]

        public init(merchants: [StripeMerchant]) {
            self.merchants = merchants
        }

        /// The account whose secret key is `key`, compared in constant time.
        public func merchant(secretKey key: [UInt8]) -> StripeMerchant? {
            var found: StripeMerchant?
            for merchant in merchants where merchant.secretKey.matches(key) {
                found = found ?? merchant
            }
            return found
        }
    }

    public var host: String
    public var port: Int
    /// `log.level`: trace … critical.
    public var logLevel: String = "info"
    public var notifyBaseURL: String
    public var timeCompression: Double
    public var notifyTimeout: Duration
    public var dropHold: Duration
    /// nil: refunds complete only when told to.
    public var refundComplete: Duration? = .milliseconds(300)
    /// The share of notification attempts delivered twice.
    public var duplicateShare: Double = 0
    public var wechatpay: WeChatPay?
    public var alipay: Alipay?
    public var baidu: Baidu?
    public var stripe: Stripe?
    public var wechatpayV2: WeChatPayV2?

    public init(
        host: String = "127.0.0.1", port: Int = 8090, notifyBaseURL: String = "http://127.0.0.1:8080",
        timeCompression: Double = 60, notifyTimeout: Duration = .seconds(5), dropHold: Duration = .seconds(30),
        wechatpay: WeChatPay?, alipay: Alipay?, baidu: Baidu? = nil, stripe: Stripe? = nil,
        wechatpayV2: WeChatPayV2? = nil
    ) {
        self.host = host
        self.port = port
        self.notifyBaseURL = notifyBaseURL
        self.timeCompression = timeCompression
        self.notifyTimeout = notifyTimeout
        self.dropHold = dropHold
        self.wechatpay = wechatpay
        self.alipay = alipay
        self.baidu = baidu
        self.stripe = stripe
        self.wechatpayV2 = wechatpayV2
    }

    /// The settings of the process: ``ConfigReader/sandbox(environment:)`` read by ``init(reader:)``.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> SandboxSettings {
        try SandboxSettings(reader: try await ConfigReader.sandbox(environment: environment))
    }

    /// Reads and validates the settings and loads the keys; throws ``SandboxError`` naming the setting or file.
    public init(reader: ConfigReader) throws {
        let sandbox = reader.scoped(to: "sandbox")
        logLevel = reader.string(forKey: "log.level", default: "info")
        host = sandbox.string(forKey: "host", default: "127.0.0.1")
        port = sandbox.int(forKey: "port", default: 8090)
        guard (0...65535).contains(port) else {
            throw SandboxError(.invalidSetting, "sandbox.port must be 0...65535 (0 picks a free port)")
        }
        var base =
            sandbox.string(forKey: "notify_base_url")
            ?? sandbox.string(forKey: "receiver_url", default: "http://127.0.0.1:8080")
        while base.hasSuffix("/") { base.removeLast() }
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw SandboxError(.invalidSetting, "sandbox.notify_base_url must be an http(s) URL, e.g. http://127.0.0.1:8080")
        }
        notifyBaseURL = base
        timeCompression = sandbox.double(forKey: "time_compression", default: 60)
        guard timeCompression > 0 else {
            throw SandboxError(.invalidSetting, "sandbox.time_compression must be more than 0 (1 = real time)")
        }
        let timeoutMS = sandbox.int(forKey: "notify_timeout_ms", default: 5000)
        let holdMS = sandbox.int(forKey: "drop_hold_ms", default: 30000)
        guard timeoutMS > 0, holdMS >= 0 else {
            throw SandboxError(.invalidSetting, "sandbox.notify_timeout_ms must be > 0 and sandbox.drop_hold_ms ≥ 0")
        }
        notifyTimeout = .milliseconds(timeoutMS)
        dropHold = .milliseconds(holdMS)
        let completeMS = sandbox.int(forKey: "refund_complete_ms", default: 300)
        guard completeMS >= 0 else {
            throw SandboxError(.invalidSetting, "sandbox.refund_complete_ms must be ≥ 0 (0: only when told to)")
        }
        refundComplete = completeMS > 0 ? .milliseconds(completeMS) : nil
        duplicateShare = sandbox.double(forKey: "duplicate_share", default: 0)
        guard (0...1).contains(duplicateShare) else {
            throw SandboxError(.invalidSetting, "sandbox.duplicate_share must be between 0 and 1")
        }
        wechatpay = try Self.weChatPay(reader)
        alipay = try Self.alipay(reader)
        baidu = try Self.baidu(reader)
        stripe = try Self.stripe(reader)
        wechatpayV2 = try WeChatPayV2.load(reader)
    }

    private static func weChatPay(_ reader: ConfigReader) throws -> WeChatPay? {
        let keys = reader.scoped(to: "sandbox.wechatpay")
        guard let privateKeyPath = keys.string(forKey: "platform_private_key") else { return nil }
        let certificatePath = try required(keys, "platform_certificate", "sandbox.wechatpay")
        let apiCertificatePath = try required(keys, "merchant_api_certificate", "sandbox.wechatpay")
        let platformKey = try load { () throws(ChannelError) in try PEMKeys.loadRSAPrivateKey(path: privateKeyPath) }
        let platform = try load { () throws(ChannelError) in try PEMKeys.loadCertificate(path: certificatePath) }
        guard platform.publicKey.derRepresentation == platformKey.publicKey.derRepresentation else {
            throw SandboxError(
                .keyFile, "sandbox.wechatpay.platform_certificate does not hold platform_private_key's public key")
        }
        let api = try load { () throws(ChannelError) in try PEMKeys.loadCertificate(path: apiCertificatePath) }
        var merchants: [WeChatPayMerchant] = []
        for id in reader.stringArray(forKey: "channels.wechatpay.merchants", default: []) {
            let m = reader.scoped(to: ConfigKey(["channels", "wechatpay", id]))
            let prefix = "channels.wechatpay.\(id)"
            let keyFile = try required(m, "apiv3_key_file", prefix)
            let keyText: String
            do {
                keyText = try String(contentsOfFile: keyFile, encoding: .utf8)
            } catch {
                throw SandboxError(.keyFile, "\(prefix).apiv3_key_file \(keyFile) cannot be read")
            }
            let keyBytes = Array(keyText.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
            guard keyBytes.count == 32 else {
                throw SandboxError(.keyFile, "\(prefix).apiv3_key_file \(keyFile) must hold exactly 32 characters")
            }
            merchants.append(
                WeChatPayMerchant(
                    id: id, mchID: try required(m, "mch_id", prefix), appID: try required(m, "app_id", prefix),
                    apiV3Key: SymmetricKey(data: keyBytes)))
        }
        return WeChatPay(
            merchants: merchants, platformPrivateKey: platformKey, platformSerial: platform.serial,
            merchantAPIPublicKey: api.publicKey, merchantAPISerial: api.serial)
    }

    private static func alipay(_ reader: ConfigReader) throws -> Alipay? {
        let keys = reader.scoped(to: "sandbox.alipay")
        guard let privateKeyPath = keys.string(forKey: "private_key") else { return nil }
        let appPublicKeyPath = try required(keys, "app_public_key", "sandbox.alipay")
        let privateKey = try load { () throws(ChannelError) in try PEMKeys.loadRSAPrivateKey(path: privateKeyPath) }
        let appKey = try load { () throws(ChannelError) in try PEMKeys.loadRSAPublicKey(path: appPublicKeyPath) }
        var merchants: [AlipayMerchant] = []
        for id in reader.stringArray(forKey: "channels.alipay.merchants", default: []) {
            let m = reader.scoped(to: ConfigKey(["channels", "alipay", id]))
            merchants.append(
                AlipayMerchant(
                    id: id, appID: try required(m, "app_id", "channels.alipay.\(id)"),
                    sellerID: m.string(forKey: "seller_id")))
        }
        return Alipay(merchants: merchants, alipayPrivateKey: privateKey, appPublicKey: appKey)
    }

    private static func baidu(_ reader: ConfigReader) throws -> Baidu? {
        let keys = reader.scoped(to: "sandbox.baidu")
        guard let privateKeyPath = keys.string(forKey: "platform_private_key") else { return nil }
        let developerKeyPath = try required(keys, "developer_public_key", "sandbox.baidu")
        let platformKey = try load { () throws(ChannelError) in try PEMKeys.loadRSAPrivateKey(path: privateKeyPath) }
        let developerKey = try load { () throws(ChannelError) in try PEMKeys.loadRSAPublicKey(path: developerKeyPath) }
        var merchants: [BaiduMerchant] = []
        for id in reader.stringArray(forKey: "channels.baidu.merchants", default: []) {
            let m = reader.scoped(to: ConfigKey(["channels", "baidu", id]))
            let prefix = "channels.baidu.\(id)"
            merchants.append(
                BaiduMerchant(
                    id: id, appKey: try required(m, "app_key", prefix), dealID: try required(m, "deal_id", prefix)))
        }
        return Baidu(merchants: merchants, platformPrivateKey: platformKey, developerPublicKey: developerKey)
    }

    private static func stripe(_ reader: ConfigReader) throws -> Stripe? {
        let keys = reader.scoped(to: "sandbox.stripe")
        guard let secretKeyPath = keys.string(forKey: "secret_key_file") else { return nil }
        let accountKey = try load { () throws(ChannelError) in try StripeSecretKey.load(path: secretKeyPath) }
        var merchants: [StripeMerchant] = []
        for id in reader.stringArray(forKey: "channels.stripe.merchants", default: []) {
            let m = reader.scoped(to: ConfigKey(["channels", "stripe", id]))
            let secretFiles = m.stringArray(forKey: "endpoint_secret_files", default: [])
            let endpoint = try load { () throws(ChannelError) in
                try PaymentChannels.StripeMerchant.load(id: id, endpointSecretFiles: secretFiles)
            }
            var key = accountKey
            if let path = m.string(forKey: "api.secret_key_file"), !path.isEmpty {
                key = try load { () throws(ChannelError) in try StripeSecretKey.load(path: path) }
            }
            merchants.append(StripeMerchant(id: id, secretKey: key, endpointSecret: endpoint.endpointSecrets[0]))
        }
        return Stripe(merchants: merchants)
    }

    private static func required(_ reader: ConfigReader, _ key: String, _ prefix: String) throws -> String {
        guard let value = reader.string(forKey: ConfigKey(key)), !value.isEmpty else {
            let env = "PAYFLEET_" + "\(prefix).\(key)".uppercased().replacingOccurrences(of: ".", with: "_")
            throw SandboxError(.missingSetting, "\(prefix).\(key) is not set (or \(env)); see config/payfleet.example.yaml")
        }
        return value
    }

    private static func load<T>(_ body: () throws(ChannelError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw SandboxError(.keyFile, error.message)
        }
    }
}
