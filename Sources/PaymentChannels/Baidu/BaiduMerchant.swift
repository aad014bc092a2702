import Crypto
import _CryptoExtras

/// One Baidu smart-program cashier ("百度收银台") app: its payment ids and the Baidu platform public keys
/// ("平台公钥") that verify its notifications.
public struct BaiduMerchant: Sendable {
    /// Our merchant account id (the `<merchant>` of `/notify/baidu/<merchant>`).
    public var id: String
    /// The payment `appKey` assigned when the cashier was enabled (e.g. `MMMabc`); checked when a
    /// notification carries `appKey`.
    public var appKey: String
    /// The `dealId` (settlement agreement) payments are made under; payment notifications must carry it.
    public var dealID: String
    /// Baidu platform public keys; any of them may verify, so several can be live during a rotation.
    /// Baidu's are RSA 1024, so keys of 1024 bits or more are accepted.
    public var platformPublicKeys: [_RSA.Signing.PublicKey]

    public init(id: String, appKey: String, dealID: String, platformPublicKeys: [_RSA.Signing.PublicKey]) {
        self.id = id
        self.appKey = appKey
        self.dealID = dealID
        self.platformPublicKeys = platformPublicKeys
    }

    /// Loads the platform public keys: PEM `PUBLIC KEY` or `RSA PUBLIC KEY`, or the bare base64 the
    /// developer console shows; RSA of 1024 bits or more. At least one is required.
    public static func load(
        id: String, appKey: String, dealID: String, platformPublicKeyFiles: [String]
    ) throws(ChannelError) -> BaiduMerchant {
        guard !appKey.isEmpty, !dealID.isEmpty else {
            throw .keyFile("Baidu merchant \(id) needs both appKey and dealId")
        }
        guard !platformPublicKeyFiles.isEmpty else {
            throw .keyFile("Baidu merchant \(id) has no platform public key file to verify notifications")
        }
        var keys: [_RSA.Signing.PublicKey] = []
        for path in platformPublicKeyFiles {
            keys.append(try loadPlatformPublicKey(path: path))
        }
        return BaiduMerchant(id: id, appKey: appKey, dealID: dealID, platformPublicKeys: keys)
    }

    /// Reads one platform public key of 1024 bits or more (Baidu's platform keys are RSA 1024).
    static func loadPlatformPublicKey(path: String) throws(ChannelError) -> _RSA.Signing.PublicKey {
        let text = try PEMKeys.readText(path)
        guard let der = PEMKeys.derBytes(in: text, labels: ["PUBLIC KEY", "RSA PUBLIC KEY"]) else {
            throw .keyFile("key file \(path): no PEM PUBLIC KEY or RSA PUBLIC KEY block found")
        }
        do {
            return try _RSA.Signing.PublicKey(unsafeDERRepresentation: der)
        } catch {
            throw .keyFile("key file \(path): not an RSA public key of 1024 bits or more")
        }
    }
}
