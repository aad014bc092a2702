/// The payment channels PayFleet speaks. The raw value is the path segment of
/// `/notify/<channel>/<merchant>` and the suffix of notify routing keys.
public enum ChannelID: String, Codable, Sendable, CaseIterable {
    case wechatpay
    case wechatpayV2 = "wechatpay-v2"
    case alipay
    case baidu
    case stripe
}
