import Configuration
import Foundation
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import PaymentChannels
import Testing

/// Answers nothing: the registry's gateways are only built here, never called.
private struct NoTransport: ChannelHTTPTransport {
    struct Unused: Error {}
    func send(_ request: ChannelHTTPRequest, timeout: Duration) async throws -> ChannelHTTPResponse { throw Unused() }
}

@Suite struct GatewayRegistryBaiduStripeTests {
    @Test func theSandboxConfigBuildsTheBaiduAndStripeGateways() async throws {
        let file = TestServices.repositoryRoot.appendingPathComponent("config/sandbox/payfleet.sandbox.yaml").path
        // receiver.public_url: what the other channels' gateways in the file fall back to for their notify URLs.
        let reader = try await ConfigReader.payfleet(environment: [
            "PAYFLEET_CONFIG": file, "PAYFLEET_RECEIVER_PUBLIC_URL": "https://pay.example.com",
        ])
        let registry = try GatewayRegistry(reader: reader, transport: NoTransport())
        #expect(registry.names.contains("baidu/demo"))
        #expect(registry.names.contains("stripe/demo"))
        let baidu = try #require(registry.underlying(.baidu, "demo") as? BaiduGateway)
        #expect(baidu.client.configuration.openAPIBaseURL == "http://127.0.0.1:8090")
        #expect(baidu.client.configuration.tradeBaseURL == "http://127.0.0.1:8090")
        #expect(baidu.client.merchant.dealID == "470193086")
        #expect(baidu.client.configuration.notifyURL == "https://pay.example.com/notify/baidu/demo")
        let stripe = try #require(registry.underlying(.stripe, "demo") as? StripeGateway)
        #expect(stripe.client.configuration.baseURL == "http://127.0.0.1:8090")
        #expect(stripe.client.configuration.apiVersion == StripeClientConfiguration.defaultAPIVersion)
        #expect(stripe.client.configuration.publishableKey?.hasPrefix("pk_test_") == true)
    }

    @Test func aMissingStripeSecretKeyFileNamesTheFileAndTheMerchant() throws {
        let secret = TestServices.repositoryRoot.appendingPathComponent(
            "config/sandbox/stripe-endpoint-secret-TEST-ONLY.txt")
        let reader = ConfigReader(
            provider: InMemoryProvider(values: [
                "channels.stripe.merchants": .init(.stringArray(["shop"]), isSecret: false),
                "channels.stripe.shop.endpoint_secret_files": .init(.stringArray([secret.path]), isSecret: false),
                "channels.stripe.shop.api.secret_key_file": "/nonexistent/stripe-secret-key.txt",
            ]))
        let error = #expect(throws: PayFleetError.self) {
            try GatewayRegistry(reader: reader, transport: NoTransport())
        }
        #expect(error?.description.contains("stripe merchant shop") == true)
        #expect(error?.description.contains("/nonexistent/stripe-secret-key.txt") == true)
    }

    @Test func aBaiduKeyThatIsNotAPrivateKeyNamesTheFile() throws {
        let root = TestServices.repositoryRoot.appendingPathComponent("config/sandbox")
        let publicKey = root.appendingPathComponent("baidu-platform-public-key-TEST-ONLY.pem").path
        let reader = ConfigReader(
            provider: InMemoryProvider(values: [
                "channels.baidu.merchants": .init(.stringArray(["mini"]), isSecret: false),
                "channels.baidu.mini.app_key": "MMMabc",
                "channels.baidu.mini.deal_id": "470193086",
                "channels.baidu.mini.platform_public_key_files": .init(.stringArray([publicKey]), isSecret: false),
                "channels.baidu.mini.api.private_key_file": .init(.string(publicKey), isSecret: false),
            ]))
        let error = #expect(throws: PayFleetError.self) {
            try GatewayRegistry(reader: reader, transport: NoTransport())
        }
        #expect(error?.description.contains("baidu merchant mini") == true)
        #expect(error?.description.contains(publicKey) == true)
    }
}
