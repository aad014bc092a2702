import Configuration
import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PaymentChannels
import Testing

@Suite struct GatewayRegistryWeChatPayV2Tests {
    /// Answers nothing: the registry's gateways are only built here, never called.
    struct NoTransport: ChannelHTTPTransport {
        struct Unused: Error {}
        func send(_ request: ChannelHTTPRequest, timeout: Duration) async throws -> ChannelHTTPResponse {
            throw Unused()
        }
    }

    static let sandbox = TestServices.repositoryRoot.appendingPathComponent("config/sandbox")

    static func path(_ name: String) -> String { sandbox.appendingPathComponent(name).path }

    /// Merchant `shop` with the sandbox's v2 API key and `api` settings.
    static func reader(_ api: [String: String]) -> ConfigReader {
        var values: [AbsoluteConfigKey: ConfigValue] = [
            "channels.wechatpay_v2.merchants": .init(.stringArray(["shop"]), isSecret: false),
            "channels.wechatpay_v2.shop.mch_id": "1900000109",
            "channels.wechatpay_v2.shop.app_id": "wxd678efh567hg6787",
            "channels.wechatpay_v2.shop.api_key_file": .init(
                .string(path("wechatpay-v2-api-key-TEST-ONLY.txt")), isSecret: false),
            "receiver.public_url": "https://pay.example.com",
        ]
        for (key, value) in api {
            values[AbsoluteConfigKey(["channels", "wechatpay_v2", "shop", "api", key])] = .init(
                .string(value), isSecret: false)
        }
        return ConfigReader(provider: InMemoryProvider(values: values))
    }

    @Test func theSandboxConfigBuildsTheWeChatPayV2GatewayWithMutualTLS() async throws {
        let reader = try await ConfigReader.payfleet(
            environment: ["PAYFLEET_CONFIG": Self.sandbox.appendingPathComponent("payfleet.sandbox.yaml").path])
        let registry = try GatewayRegistry(reader: reader, transport: NoTransport())
        let gateway = try #require(registry.underlying(.wechatpayV2, "demo") as? WeChatPayV2Gateway)
        #expect(registry.names.contains("wechatpay-v2/demo"))
        #expect(gateway.client.configuration.baseURL == "http://127.0.0.1:8090")
        #expect(gateway.client.configuration.refundBaseURL == "https://127.0.0.1:8091")
        #expect(gateway.client.configuration.signType == .md5)
        #expect(gateway.client.configuration.notifyURL == "http://127.0.0.1:8080/notify/wechatpay-v2/demo")
        #expect(gateway.client.merchant.mchID == "1900000109")
    }

    @Test func apiSettingsAreReadAndANotifyURLIsDerived() throws {
        let registry = try GatewayRegistry(
            reader: Self.reader(["sign_type": "HMAC-SHA256", "server_ip": "203.0.113.10"]), transport: NoTransport())
        let gateway = try #require(registry.underlying(.wechatpayV2, "shop") as? WeChatPayV2Gateway)
        let configuration = gateway.client.configuration
        #expect(configuration.signType == .hmacSHA256)
        #expect(configuration.baseURL == WeChatPayV2ClientConfiguration.productionBaseURL)
        #expect(configuration.refundBaseURL == nil)
        #expect(configuration.notifyURL == "https://pay.example.com/notify/wechatpay-v2/shop")
        #expect(configuration.defaultClientIP == "203.0.113.10")
        // Without sign_type there is no api section: the merchant only receives notifications.
        #expect(try GatewayRegistry(reader: Self.reader([:]), transport: NoTransport()).count == 0)
    }

    @Test func unusableAPISettingsAreStartUpErrorsThatNameThem() throws {
        let cases: [([String: String], String)] = [
            (["sign_type": "SHA1"], "sign_type"),
            (
                [
                    "sign_type": "MD5",
                    "client_certificate_file": Self.path("wechatpay-v2-merchant-client-cert-TEST-ONLY.pem"),
                ],
                "client_private_key_file"
            ),
            (
                [
                    "sign_type": "MD5", "client_certificate_file": "/nonexistent/apiclient_cert.pem",
                    "client_private_key_file": Self.path("wechatpay-v2-merchant-client-private-key-TEST-ONLY.pem"),
                ],
                "/nonexistent/apiclient_cert.pem"
            ),
            (
                [
                    "sign_type": "MD5",
                    "client_certificate_file": Self.path("wechatpay-v2-merchant-client-cert-TEST-ONLY.pem"),
                    "client_private_key_file": Self.path("wechatpay-v2-untrusted-client-private-key-TEST-ONLY.pem"),
                ],
                "does not belong"
            ),
        ]
        for (api, named) in cases {
            let error = #expect(throws: PayFleetError.self) {
                try GatewayRegistry(reader: Self.reader(api), transport: NoTransport())
            }
            #expect(error?.description.contains("wechatpay_v2 merchant shop") == true, "\(api)")
            #expect(error?.description.contains(named) == true, "\(error?.description ?? "") should name \(named)")
        }
    }
}
