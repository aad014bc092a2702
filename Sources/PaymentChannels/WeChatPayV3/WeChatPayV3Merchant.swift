import Crypto
import Foundation
import _CryptoExtras

/// One WeChat Pay API v3 merchant account: its ids, its APIv3 key and the keys that verify WeChat Pay's
/// signatures.
public struct WeChatPayV3Merchant: Sendable {
    /// Our merchant account id (the `<merchant>` of `/notify/wechatpay/<merchant>`).
    public var id: String
    /// WeChat Pay's merchant number (`mchid`).
    public var mchID: String
    /// The app id the payments are made under (`appid`).
    public var appID: String
    /// The APIv3 key that decrypts notification resources (32 bytes: AES-256-GCM).
    public var apiV3Key: SymmetricKey
    /// Verification keys by the value WeChat Pay sends in `Wechatpay-Serial`: a platform certificate's
    /// serial number or a `PUB_KEY_ID_…` public key id. Both kinds may be live at once during a migration.
    public var verificationKeys: [String: _RSA.Signing.PublicKey]

    public init(
        id: String, mchID: String, appID: String, apiV3Key: SymmetricKey,
        verificationKeys: [String: _RSA.Signing.PublicKey]
    ) {
        self.id = id
        self.mchID = mchID
        self.appID = appID
        self.apiV3Key = apiV3Key
        self.verificationKeys = verificationKeys
    }

    /// Loads a merchant from files: the APIv3 key (32 ASCII characters; surrounding whitespace is
    /// ignored), WeChat Pay platform certificates (PEM, keyed by serial number) and WeChat Pay public keys
    /// (PEM, keyed by their `PUB_KEY_ID_…` id). At least one certificate or public key is required.
    public static func load(
        id: String, mchID: String, appID: String, apiV3KeyFile: String, platformCertificateFiles: [String],
        publicKeys: [(id: String, path: String)]
    ) throws(ChannelError) -> WeChatPayV3Merchant {
        let keyText = try PEMKeys.readText(apiV3KeyFile).trimmingCharacters(in: .whitespacesAndNewlines)
        let keyBytes = Array(keyText.utf8)
        guard keyBytes.count == 32, keyBytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw .keyFile(
                "APIv3 key file \(apiV3KeyFile) must hold exactly 32 ASCII characters (found \(keyBytes.count) bytes)")
        }

        var keys: [String: _RSA.Signing.PublicKey] = [:]
        for path in platformCertificateFiles {
            let certificate = try PEMKeys.loadCertificate(path: path)
            guard keys[certificate.serial] == nil else {
                throw .keyFile("platform certificate \(path) repeats serial \(certificate.serial)")
            }
            keys[certificate.serial] = certificate.publicKey
        }
        for publicKey in publicKeys {
            guard !publicKey.id.isEmpty else {
                throw .keyFile("WeChat Pay public key \(publicKey.path) has an empty id; use its PUB_KEY_ID_… id")
            }
            guard keys[publicKey.id] == nil else {
                throw .keyFile("WeChat Pay public key id \(publicKey.id) is configured twice")
            }
            keys[publicKey.id] = try PEMKeys.loadRSAPublicKey(path: publicKey.path)
        }
        guard !keys.isEmpty else {
            throw .keyFile(
                "WeChat Pay merchant \(id) has no platform certificate and no public key to verify notifications")
        }
        return WeChatPayV3Merchant(
            id: id, mchID: mchID, appID: appID, apiV3Key: SymmetricKey(data: keyBytes), verificationKeys: keys)
    }
}
