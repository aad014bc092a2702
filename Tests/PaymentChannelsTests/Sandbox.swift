import Crypto
import Foundation
import PaymentChannels
import Testing
import _CryptoExtras

/// The test-only keys in config/sandbox and the sandbox merchants built from them.
enum Sandbox {
    /// config/sandbox, found from this file's path: Tests/PaymentChannelsTests/Sandbox.swift.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/sandbox")

    static func path(_ name: String) -> String {
        directory.appendingPathComponent(name).path
    }

    static let platformCertificate = path("wechatpay-platform-cert-TEST-ONLY.pem")
    static let platformPrivateKey = path("wechatpay-platform-private-key-TEST-ONLY.pem")
    static let platformSerial = "6F2C1E0A3B4D5E6F708192A3B4C5D6E7F8091A2B"
    static let publicKeyID = "PUB_KEY_ID_0114232134912410000000000000000001"
    static let publicKey = path("wechatpay-public-key-\(publicKeyID)-TEST-ONLY.pem")
    static let publicKeyPrivateKey = path("wechatpay-public-key-\(publicKeyID)-private-TEST-ONLY.pem")
    static let apiV3KeyFile = path("wechatpay-apiv3-key-TEST-ONLY.txt")
    static let merchantAPIPrivateKey = path("wechatpay-merchant-api-private-key-TEST-ONLY.pem")
    static let merchantAPICertificate = path("wechatpay-merchant-api-cert-TEST-ONLY.pem")
    static let merchantAPISerial = "1DA3C6B4E2F7085A9C3D4E5F60718293A4B5C6D7"
    static let alipayPublicKey = path("alipay-public-key-TEST-ONLY.pem")
    static let alipayPrivateKey = path("alipay-private-key-TEST-ONLY.pem")
    static let alipayPublicCertificate = path("alipay-public-cert-TEST-ONLY.pem")
    static let weChatV2APIKeyFile = path("wechatpay-v2-api-key-TEST-ONLY.txt")
    static let baiduPlatformPublicKey = path("baidu-platform-public-key-TEST-ONLY.pem")
    static let baiduPlatformPrivateKey = path("baidu-platform-private-key-TEST-ONLY.pem")
    static let stripeEndpointSecretFile = path("stripe-endpoint-secret-TEST-ONLY.txt")

    static let mchID = "1900000109"
    static let appID = "wxd678efh567hg6787"
    static let alipayAppID = "2021000000000001"
    static let alipaySellerID = "2088000000000001"
    static let baiduAppKey = "MMMabc"
    static let baiduDealID = "470193086"

    /// A fixed clock: 2026-11-18T11:06:40Z.
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    static func apiV3Key() throws -> SymmetricKey {
        SymmetricKey(data: Array(try String(contentsOfFile: apiV3KeyFile, encoding: .utf8).utf8))
    }

    /// The WeChat Pay merchant with both a platform certificate and a public key live.
    static func weChatMerchant() throws -> WeChatPayV3Merchant {
        try WeChatPayV3Merchant.load(
            id: "wx-main", mchID: mchID, appID: appID, apiV3KeyFile: apiV3KeyFile,
            platformCertificateFiles: [platformCertificate], publicKeys: [(id: publicKeyID, path: publicKey)])
    }

    static func platformSigner() throws -> WeChatPayV3NotificationSigner {
        WeChatPayV3NotificationSigner(
            platformPrivateKey: try PEMKeys.loadRSAPrivateKey(path: platformPrivateKey), serial: platformSerial,
            apiV3Key: try apiV3Key())
    }

    static func publicKeySigner() throws -> WeChatPayV3NotificationSigner {
        WeChatPayV3NotificationSigner(
            platformPrivateKey: try PEMKeys.loadRSAPrivateKey(path: publicKeyPrivateKey), serial: publicKeyID,
            apiV3Key: try apiV3Key())
    }

    static func alipayMerchant(sellerID: String? = alipaySellerID) throws -> AlipayMerchant {
        try AlipayMerchant.load(
            id: "ali-main", appID: alipayAppID, sellerID: sellerID, publicKeyFiles: [alipayPublicKey])
    }

    static func alipaySigner() throws -> AlipayNotificationSigner {
        AlipayNotificationSigner(privateKey: try PEMKeys.loadRSAPrivateKey(path: alipayPrivateKey))
    }

    static func weChatV2Merchant() throws -> WeChatPayV2Merchant {
        try WeChatPayV2Merchant.load(id: "wx2-main", mchID: mchID, appID: appID, apiKeyFile: weChatV2APIKeyFile)
    }

    static func weChatV2Signer() throws -> WeChatPayV2NotificationSigner {
        WeChatPayV2NotificationSigner(apiKey: try weChatV2Merchant().apiKey)
    }

    static func baiduMerchant() throws -> BaiduMerchant {
        try BaiduMerchant.load(
            id: "bd-main", appKey: baiduAppKey, dealID: baiduDealID, platformPublicKeyFiles: [baiduPlatformPublicKey])
    }

    static func baiduSigner() throws -> BaiduNotificationSigner {
        BaiduNotificationSigner(platformPrivateKey: try PEMKeys.loadRSAPrivateKey(path: baiduPlatformPrivateKey))
    }

    static func stripeMerchant() throws -> StripeMerchant {
        try StripeMerchant.load(id: "stripe-main", endpointSecretFiles: [stripeEndpointSecretFile])
    }

    static func stripeSigner() throws -> StripeNotificationSigner {
        StripeNotificationSigner(endpointSecret: try stripeMerchant().endpointSecrets[0])
    }
}

/// Verifies `request` with `verifier` and expects a ``ChannelError`` with `code`; returns
/// the error for further checks. The verifier suites' `expectError` helpers all call this.
func expectChannelError(
    _ code: ChannelError.Code, _ request: ChannelRequest, verifier: some NotificationVerifier, now: Date = Sandbox.now,
    sourceLocation: SourceLocation
) -> ChannelError? {
    let error = #expect(throws: ChannelError.self, sourceLocation: sourceLocation) {
        try verifier.verify(request, now: now)
    }
    #expect(error?.code == code, "\(String(describing: error))", sourceLocation: sourceLocation)
    return error
}

/// Runs `body` and expects a ``ChannelAPIError`` with `code` and the given transience; returns the error for
/// further checks. Every API client suite uses this.
@discardableResult
func expectAPIError(
    _ code: ChannelAPIError.Code, transient: Bool, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> ChannelAPIError? {
    do {
        try await body()
        Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as ChannelAPIError {
        #expect(error.code == code, "\(error.debugDescription)", sourceLocation: sourceLocation)
        #expect(error.isTransient == transient, sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected ChannelAPIError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
