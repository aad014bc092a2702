import Foundation

/// One WeChat Pay API v2 merchant account: its ids and its API key ("API密钥"), which both signs
/// notifications and keys the encryption of refund notifications.
public struct WeChatPayV2Merchant: Sendable {
    /// Our merchant account id (the `<merchant>` of `/notify/wechatpay-v2/<merchant>`).
    public var id: String
    /// WeChat Pay's merchant number (`mch_id`).
    public var mchID: String
    /// The app id the payments are made under (`appid`).
    public var appID: String
    /// The API key's bytes (32 ASCII characters).
    public var apiKey: [UInt8]

    public init(id: String, mchID: String, appID: String, apiKey: [UInt8]) {
        self.id = id
        self.mchID = mchID
        self.appID = appID
        self.apiKey = apiKey
    }

    /// Loads the API key from a file: exactly 32 printable ASCII characters, surrounding whitespace ignored.
    public static func load(
        id: String, mchID: String, appID: String, apiKeyFile: String
    ) throws(ChannelError) -> WeChatPayV2Merchant {
        guard !mchID.isEmpty, !appID.isEmpty else {
            throw .keyFile("WeChat Pay v2 merchant \(id) needs both mch_id and appid")
        }
        let keyText = try PEMKeys.readText(apiKeyFile).trimmingCharacters(in: .whitespacesAndNewlines)
        let keyBytes = Array(keyText.utf8)
        guard keyBytes.count == 32, keyBytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw .keyFile(
                "API key file \(apiKeyFile) must hold exactly 32 ASCII characters (found \(keyBytes.count) bytes)")
        }
        return WeChatPayV2Merchant(id: id, mchID: mchID, appID: appID, apiKey: keyBytes)
    }
}
