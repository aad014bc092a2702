import Foundation
import PayFleetMessages

extension ChannelID {
    /// The channel's own failure reply, for failures found before a merchant's verifier is
    /// known (unknown merchant, oversized body, wrong content type) and for the verifiers'
    /// own failures, so every failure a channel sees is in its format.
    public func failureReply(status: Int, message: String) -> ChannelReply {
        switch self {
        case .wechatpay, .stripe:
            ChannelReply(
                status: status, contentType: "application/json",
                body: #"{"code":"FAIL","message":"# + JSONText.quote(message) + "}")
        case .wechatpayV2:
            ChannelReply(
                status: status, contentType: "application/xml",
                body: "<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA["
                    + message.replacingOccurrences(of: "]]>", with: "]]]]><![CDATA[>") + "]]></return_msg></xml>")
        case .alipay:
            ChannelReply(status: status, contentType: "text/plain", body: "fail")
        case .baidu:
            ChannelReply(
                status: status, contentType: "application/json",
                body: #"{"errno":1,"msg":"# + JSONText.quote(message) + #","data":{}}"#)
        }
    }
}
