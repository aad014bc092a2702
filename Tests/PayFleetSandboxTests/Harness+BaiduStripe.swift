import Foundation
import PayFleetSandbox
import PaymentChannels
import Testing

/// The Baidu and Stripe TEST-ONLY keys of config/sandbox and clients pointed at the sandbox.
extension Keys {
    static let baiduAppKey = "MMMabc"
    static let baiduDealID = "470193086"
    static let baiduPlatformPrivateKey = path("baidu-platform-private-key-TEST-ONLY.pem")
    static let baiduPlatformPublicKey = path("baidu-platform-public-key-TEST-ONLY.pem")
    static let baiduDeveloperPrivateKey = path("baidu-developer-private-key-TEST-ONLY.pem")
    static let baiduDeveloperPublicKey = path("baidu-developer-public-key-TEST-ONLY.pem")
    static let stripeSecretKeyFile = path("stripe-secret-key-TEST-ONLY.txt")
    static let stripeEndpointSecretFile = path("stripe-endpoint-secret-TEST-ONLY.txt")

    static func baiduMerchant() throws -> BaiduMerchant {
        try BaiduMerchant.load(
            id: "demo", appKey: baiduAppKey, dealID: baiduDealID, platformPublicKeyFiles: [baiduPlatformPublicKey])
    }

    static func stripeMerchant() throws -> StripeMerchant {
        try StripeMerchant.load(id: "demo", endpointSecretFiles: [stripeEndpointSecretFile])
    }

    /// The sandbox's Baidu side: the demo app, the platform key that signs callbacks, the developer public key.
    static func baiduSettings() throws -> SandboxSettings.Baidu {
        SandboxSettings.Baidu(
            merchants: [.init(id: "demo", appKey: baiduAppKey, dealID: baiduDealID)],
            platformPrivateKey: try PEMKeys.loadRSAPrivateKey(path: baiduPlatformPrivateKey),
            developerPublicKey: try PEMKeys.loadRSAPublicKey(path: baiduDeveloperPublicKey))
    }

    /// The sandbox's Stripe side: one account accepting the TEST-ONLY secret key.
    static func stripeSettings() throws -> SandboxSettings.Stripe {
        SandboxSettings.Stripe(merchants: [
            .init(
                id: "demo", secretKey: try StripeSecretKey.load(path: stripeSecretKeyFile),
                endpointSecret: try stripeMerchant().endpointSecrets[0])
        ])
    }
}

extension Harness {
    func baiduClient(
        transport: any ChannelHTTPTransport = HTTPClientTransport(),
        privateKeyFile: String = Keys.baiduDeveloperPrivateKey
    ) throws -> BaiduClient {
        try BaiduClient(
            merchant: try Keys.baiduMerchant(),
            signer: try BaiduRequestSigner.load(appKey: Keys.baiduAppKey, privateKeyFile: privateKeyFile),
            configuration: .init(baseURL: baseURL, timeout: .seconds(5)), transport: transport)
    }

    func stripeClient(
        transport: any ChannelHTTPTransport = HTTPClientTransport(), secretKey: StripeSecretKey? = nil
    ) throws -> StripeClient {
        try StripeClient(
            merchantID: "demo", secretKey: try secretKey ?? StripeSecretKey.load(path: Keys.stripeSecretKeyFile),
            configuration: .init(baseURL: baseURL, publishableKey: "pk_test_51PayFleetDemo", timeout: .seconds(5)),
            transport: transport)
    }

    /// Plays the payer's mini program: `swan.requestPolymerPayment` with `orderInfo`, as JSON.
    func openBaiduCashier(_ orderInfo: [String: String]) async throws -> (Int, [String: Any]) {
        let data = try JSONSerialization.data(withJSONObject: orderInfo, options: [.sortedKeys])
        return try await control("POST", "/sandbox/baidu/cashier", json: String(decoding: data, as: UTF8.self))
    }
}
