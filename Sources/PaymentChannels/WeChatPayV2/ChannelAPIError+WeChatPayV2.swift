import PayFleetMessages

extension ChannelAPIError {
    /// The classification of a WeChat Pay API v2 failure: a `result_code` FAIL by its `err_code`, a `return_code`
    /// FAIL by its `return_msg`.
    ///
    /// `err_code` `SYSTEMERROR` and `BANKERROR` are ``Code/serverError`` and `FREQUENCY_LIMITED`
    /// ``Code/rateLimited`` (transient); `ORDERNOTEXIST` and `REFUNDNOTEXIST` ``Code/notFound``; `NOTENOUGH`
    /// ``Code/insufficientBalance``; `SIGNERROR`, `NOAUTH` and the like ``Code/authentication``; `PARAM_ERROR`,
    /// `INVALID_REQUEST`, `OUT_TRADE_NO_USED` and the request-format codes ``Code/invalidRequest``; `ORDERPAID`,
    /// `ORDERCLOSED` and any other code ``Code/rejected`` (all permanent).
    ///
    /// A `return_code` FAIL carries no code: a `return_msg` about the signature (签名错误) is
    /// ``Code/authentication``, one about a busy or failing system (系统繁忙) ``Code/serverError``, anything else
    /// (parameter format, unknown mch_id) ``Code/invalidRequest``.
    public static func weChatPayV2(
        errCode: String?, message: String?, operation: String, returnCodeFailed: Bool = false
    ) -> ChannelAPIError {
        let errCode = errCode.flatMap { $0.isEmpty ? nil : $0 }
        let classified: Code
        if returnCodeFailed {
            classified = returnMessageCode(message ?? "")
        } else {
            classified = errCode.flatMap { weChatPayV2Codes[$0.uppercased()] } ?? .rejected
        }
        return ChannelAPIError(
            code: classified, channel: .wechatpayV2, operation: operation, httpStatus: 200,
            channelCode: returnCodeFailed ? "FAIL" : errCode, channelMessage: message,
            message: weChatPayV2Message(classified, returnCodeFailed: returnCodeFailed))
    }

    /// The classification of a non-200 HTTP status from WeChat Pay v2 (which answers every business outcome with
    /// 200): 5xx ``Code/serverError``, the rest by status alone.
    public static func weChatPayV2(status: Int, operation: String) -> ChannelAPIError {
        let classified = codeForStatus(status, hasChannelCode: false)
        return ChannelAPIError(
            code: classified, channel: .wechatpayV2, operation: operation, httpStatus: status,
            message: classified == .serverError
                ? "WeChat Pay v2 answered HTTP \(status); try again later"
                : "WeChat Pay v2 answered HTTP \(status) instead of its XML; check the base URL")
    }

    private static let weChatPayV2Codes: [String: Code] = [
        "SYSTEMERROR": .serverError,
        "BANKERROR": .serverError,
        "FREQUENCY_LIMITED": .rateLimited,
        "ORDERNOTEXIST": .notFound,
        "REFUNDNOTEXIST": .notFound,
        "NOTENOUGH": .insufficientBalance,
        "SIGNERROR": .authentication,
        "NOAUTH": .authentication,
        "APPID_MCHID_NOT_MATCH": .authentication,
        "PARAM_ERROR": .invalidRequest,
        "INVALID_REQUEST": .invalidRequest,
        "OUT_TRADE_NO_USED": .invalidRequest,
        "LACK_PARAMS": .invalidRequest,
        "XML_FORMAT_ERROR": .invalidRequest,
        "REQUIRE_POST_METHOD": .invalidRequest,
        "POST_DATA_EMPTY": .invalidRequest,
        "NOT_UTF8": .invalidRequest,
        "APPID_NOT_EXIST": .invalidRequest,
        "MCHID_NOT_EXIST": .invalidRequest,
        "INVALID_TRANSACTIONID": .invalidRequest,
        "ORDERPAID": .rejected,
        "ORDERCLOSED": .rejected,
    ]

    private static func returnMessageCode(_ message: String) -> Code {
        let lowered = message.lowercased()
        if message.contains("签名") || lowered.contains("sign") { return .authentication }
        if message.contains("系统") || message.contains("繁忙") || lowered.contains("systemerror") {
            return .serverError
        }
        return .invalidRequest
    }

    private static func weChatPayV2Message(_ code: Code, returnCodeFailed: Bool) -> String {
        switch code {
        case .serverError: "WeChat Pay v2 reported a system error; try again later"
        case .rateLimited: "WeChat Pay v2 throttled the request; try again later"
        case .invalidRequest: "WeChat Pay v2 refused the request's parameters"
        case .notFound: "WeChat Pay v2 knows no such order or refund"
        case .insufficientBalance: "the merchant's WeChat Pay balance is too low for the refund"
        case .authentication:
            "WeChat Pay v2 refused our signature or permissions; check the merchant API key, sign type and mch_id"
        default:
            returnCodeFailed ? "WeChat Pay v2 refused the request" : "WeChat Pay v2 refused the operation"
        }
    }
}
