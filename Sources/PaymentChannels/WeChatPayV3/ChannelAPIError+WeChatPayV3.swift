import Foundation
import PayFleetMessages

extension ChannelAPIError {
    /// The classification of a WeChat Pay API v3 error reply: its `code` first, then the HTTP status.
    ///
    /// `SYSTEM_ERROR` / `SYSTEMERROR` / `BANK_ERROR` and any 5xx are ``Code/serverError``, `FREQUENCY_LIMITED`
    /// and 429 ``Code/rateLimited`` (transient); a 3xx, or a 404 without a code, is ``Code/configuration`` (a wrong
    /// base URL, never "no such order"); `PARAM_ERROR`, `INVALID_REQUEST`, `APPID_MCHID_NOT_MATCH`,
    /// `MCH_NOT_EXISTS` are ``Code/invalidRequest``; `ORDER_NOT_EXIST` / `ORDERNOTEXIST` / `RESOURCE_NOT_EXISTS`
    /// ``Code/notFound``; `NOT_ENOUGH` ``Code/insufficientBalance``; `SIGN_ERROR` and `NO_AUTH`
    /// ``Code/authentication``; any other code of a 4xx is ``Code/rejected`` (all permanent).
    public static func weChatPayV3(
        status: Int, code: String?, message: String?, operation: String, requestID: String? = nil
    ) -> ChannelAPIError {
        let code = code.flatMap { $0.isEmpty ? nil : $0 }
        let classified =
            code.flatMap { weChatPayV3Codes[$0.uppercased()] } ?? codeForStatus(status, hasChannelCode: code != nil)
        return ChannelAPIError(
            code: classified, channel: .wechatpay, operation: operation, httpStatus: status, channelCode: code,
            channelMessage: message, message: weChatPayV3Message(classified, status: status),
            detail: requestID.map { "Request-ID \($0)" })
    }

    private static let weChatPayV3Codes: [String: Code] = [
        "SYSTEM_ERROR": .serverError,
        "SYSTEMERROR": .serverError,
        "BANK_ERROR": .serverError,
        "BANKERROR": .serverError,
        "FREQUENCY_LIMITED": .rateLimited,
        "FREQUENCY_LIMIT_EXCEED": .rateLimited,
        "RATELIMIT_EXCEED": .rateLimited,
        "RATELIMIT_EXCEEDED": .rateLimited,
        "PARAM_ERROR": .invalidRequest,
        "INVALID_REQUEST": .invalidRequest,
        "APPID_MCHID_NOT_MATCH": .invalidRequest,
        "MCH_NOT_EXISTS": .invalidRequest,
        "ORDER_NOT_EXIST": .notFound,
        "ORDERNOTEXIST": .notFound,
        "RESOURCE_NOT_EXISTS": .notFound,
        "NOT_ENOUGH": .insufficientBalance,
        "NOTENOUGH": .insufficientBalance,
        "SIGN_ERROR": .authentication,
        "NO_AUTH": .authentication,
    ]

    private static func weChatPayV3Message(_ code: Code, status: Int) -> String {
        switch code {
        case .serverError: "WeChat Pay reported a system error (HTTP \(status)); try again later"
        case .rateLimited: "WeChat Pay throttled the request (HTTP \(status)); try again later"
        case .invalidRequest: "WeChat Pay refused the request's parameters (HTTP \(status))"
        case .notFound: "WeChat Pay knows no such order or refund (HTTP \(status))"
        case .insufficientBalance: "the merchant's WeChat Pay balance is too low for the refund (HTTP \(status))"
        case .authentication:
            "WeChat Pay refused our signature or permissions (HTTP \(status)); check the merchant API key, "
                + "certificate serial and mchid"
        case .timeout: "WeChat Pay answered HTTP \(status) (request timeout); try again later"
        case .configuration: "WeChat Pay answered HTTP \(status) without an error code; check the base URL"
        case .malformedResponse: "WeChat Pay answered an unexpected HTTP status \(status)"
        default: "WeChat Pay refused the request (HTTP \(status))"
        }
    }
}
