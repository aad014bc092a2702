import Configuration
import NIOSSL
import PaymentChannels

extension SandboxSettings {
    /// The WeChat Pay v2 side: merchants (their API keys sign and verify everything) and the TLS listener of
    /// `/secapi/pay/refund`, which, as WeChat Pay's, requires a client certificate.
    public struct WeChatPayV2: Sendable {
        public var merchants: [WeChatPayV2Merchant]
        /// The refund listener's server certificate and key, with the TEST-ONLY CA client certificates must be
        /// issued by; nil when refunds are not served over TLS.
        public var refundTLS: TLSConfiguration?
        /// The refund listener's port on `sandbox.host`; 0 picks a free one.
        public var refundTLSPort: Int
        /// Also serve `/secapi/pay/refund` on the plain HTTP port, without a client certificate: a fallback for
        /// demos without the TLS keys, never what WeChat Pay does.
        public var refundOverPlainHTTP: Bool

        public init(
            merchants: [WeChatPayV2Merchant], refundTLS: TLSConfiguration?, refundTLSPort: Int = 8091,
            refundOverPlainHTTP: Bool = false
        ) {
            self.merchants = merchants
            self.refundTLS = refundTLS
            self.refundTLSPort = refundTLSPort
            self.refundOverPlainHTTP = refundOverPlainHTTP
        }

        public func merchant(mchID: String) -> WeChatPayV2Merchant? {
            merchants.first { $0.mchID == mchID }
        }

        /// The TLS server configuration of the refund listener: `certificateFile` (PEM chain) and
        /// `privateKeyFile` serve it; a client must present a certificate issued by a CA in `clientCAFile` (no
        /// host name is checked on client certificates).
        public static func refundTLS(
            certificateFile: String, privateKeyFile: String, clientCAFile: String
        ) throws -> TLSConfiguration {
            func read<T>(_ what: String, _ path: String, _ body: () throws -> T) throws -> T {
                do {
                    return try body()
                } catch {
                    throw SandboxError(.keyFile, "sandbox.wechatpay_v2.\(what) \(path) cannot be read as PEM")
                }
            }
            let chain = try read("server_certificate", certificateFile) {
                try NIOSSLCertificate.fromPEMFile(certificateFile)
            }
            let key = try read("server_private_key", privateKeyFile) {
                try NIOSSLPrivateKey(file: privateKeyFile, format: .pem)
            }
            let roots = try read("client_ca", clientCAFile) { try NIOSSLCertificate.fromPEMFile(clientCAFile) }
            guard !chain.isEmpty, !roots.isEmpty else {
                throw SandboxError(
                    .keyFile, "sandbox.wechatpay_v2.server_certificate and client_ca must hold certificates")
            }
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .certificates(roots)
            do {
                _ = try NIOSSLContext(configuration: configuration)
            } catch {
                throw SandboxError(
                    .keyFile, "sandbox.wechatpay_v2.server_private_key does not belong to server_certificate")
            }
            return configuration
        }

        /// `sandbox.wechatpay_v2.*` and the merchants of `channels.wechatpay_v2`; nil when neither
        /// `server_certificate` nor `refund_over_plain_http` is set (the channel is not played).
        static func load(_ reader: ConfigReader) throws -> WeChatPayV2? {
            let keys = reader.scoped(to: "sandbox.wechatpay_v2")
            let plain = keys.bool(forKey: "refund_over_plain_http", default: false)
            let certificate = keys.string(forKey: "server_certificate").flatMap { $0.isEmpty ? nil : $0 }
            guard certificate != nil || plain else { return nil }
            var tls: TLSConfiguration?
            if let certificate {
                func required(_ key: String) throws -> String {
                    guard let value = keys.string(forKey: ConfigKey(key)), !value.isEmpty else {
                        throw SandboxError(
                            .invalidSetting, "sandbox.wechatpay_v2.\(key) is required with server_certificate")
                    }
                    return value
                }
                tls = try refundTLS(
                    certificateFile: certificate, privateKeyFile: try required("server_private_key"),
                    clientCAFile: try required("client_ca"))
            }
            let port = keys.int(forKey: "tls_port", default: 8091)
            guard (0...65535).contains(port) else {
                throw SandboxError(
                    .invalidSetting, "sandbox.wechatpay_v2.tls_port must be 0...65535 (0 picks a free port)")
            }
            var merchants: [WeChatPayV2Merchant] = []
            for id in reader.stringArray(forKey: "channels.wechatpay_v2.merchants", default: []) {
                let m = reader.scoped(to: ConfigKey(["channels", "wechatpay_v2", id]))
                let prefix = "channels.wechatpay_v2.\(id)"
                do {
                    merchants.append(
                        try WeChatPayV2Merchant.load(
                            id: id, mchID: m.string(forKey: "mch_id", default: ""),
                            appID: m.string(forKey: "app_id", default: ""),
                            apiKeyFile: m.string(forKey: "api_key_file", default: "")))
                } catch {
                    throw SandboxError(.keyFile, "\(prefix): \(error.description)")
                }
            }
            return WeChatPayV2(merchants: merchants, refundTLS: tls, refundTLSPort: port, refundOverPlainHTTP: plain)
        }
    }
}
