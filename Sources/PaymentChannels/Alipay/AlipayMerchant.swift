import Crypto
import _CryptoExtras

/// One Alipay app: its ids and the Alipay public keys that verify its notifications.
public struct AlipayMerchant: Sendable {
    /// Our merchant account id (the `<merchant>` of `/notify/alipay/<merchant>`).
    public var id: String
    /// The Alipay app id notifications must carry in `app_id`.
    public var appID: String
    /// When set, notifications must carry it in `seller_id` (the 2088… partner id).
    public var sellerID: String?
    /// Alipay public keys ("支付宝公钥"); any of them may verify, so several can be live during a rotation.
    public var publicKeys: [_RSA.Signing.PublicKey]

    public init(id: String, appID: String, sellerID: String?, publicKeys: [_RSA.Signing.PublicKey]) {
        self.id = id
        self.appID = appID
        self.sellerID = sellerID
        self.publicKeys = publicKeys
    }

    /// Loads the Alipay public keys (PEM or the console's bare base64); at least one is required.
    public static func load(
        id: String, appID: String, sellerID: String?, publicKeyFiles: [String]
    ) throws(ChannelError) -> AlipayMerchant {
        guard !appID.isEmpty else { throw .keyFile("Alipay merchant \(id) has an empty app id") }
        guard !publicKeyFiles.isEmpty else {
            throw .keyFile("Alipay merchant \(id) has no Alipay public key file to verify notifications")
        }
        var keys: [_RSA.Signing.PublicKey] = []
        for path in publicKeyFiles {
            keys.append(try PEMKeys.loadRSAPublicKey(path: path))
        }
        return AlipayMerchant(id: id, appID: appID, sellerID: sellerID, publicKeys: keys)
    }
}
