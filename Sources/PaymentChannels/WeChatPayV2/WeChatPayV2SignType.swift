/// How a WeChat Pay v2 message is signed: its `sign_type`, MD5 when absent.
public enum WeChatPayV2SignType: String, Sendable, CaseIterable {
    case md5 = "MD5"
    case hmacSHA256 = "HMAC-SHA256"
}
