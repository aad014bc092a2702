import PayFleetMessages

extension ChannelAPIError {
    /// The classification of a Baidu cashier reply whose `errno` is not 0.
    ///
    /// Transient: `1` (unknown error), `2` (service temporarily unavailable) and any errno answered with HTTP 5xx
    /// are ``Code/serverError``; `4`, `17`, `18` (request limits of Baidu's open APIs) ``Code/rateLimited``.
    /// Permanent: `2100` (order does not exist) ``Code/notFound``; `10003` (企业余额 too low for the refund)
    /// ``Code/insufficientBalance``; `100`, `1000` (parameter error) and `10002` (orderId / userId not the
    /// callback's) ``Code/invalidRequest``; `6` (no permission: the signature or appKey is refused), `110`, `111`
    /// (access token invalid or expired) ``Code/authentication``; any other errno ``Code/rejected``.
    public static func baidu(
        errno: String, message: String?, operation: String, httpStatus: Int? = 200
    ) -> ChannelAPIError {
        let classified: Code =
            if let status = httpStatus, (500...599).contains(status) { .serverError } else {
                baiduErrnos[errno] ?? .rejected
            }
        return ChannelAPIError(
            code: classified, channel: .baidu, operation: operation, httpStatus: httpStatus,
            channelCode: String(errno.prefix(16)), channelMessage: message, message: baiduMessage(classified))
    }

    private static let baiduErrnos: [String: Code] = [
        "1": .serverError,
        "2": .serverError,
        "4": .rateLimited,
        "17": .rateLimited,
        "18": .rateLimited,
        "2100": .notFound,
        "10003": .insufficientBalance,
        "100": .invalidRequest,
        "1000": .invalidRequest,
        "10002": .invalidRequest,
        "6": .authentication,
        "110": .authentication,
        "111": .authentication,
    ]

    private static func baiduMessage(_ code: Code) -> String {
        switch code {
        case .serverError: "Baidu reported a system error; try again later"
        case .rateLimited: "Baidu throttled the request; try again later"
        case .notFound: "Baidu knows no such order"
        case .insufficientBalance: "the Baidu cashier balance is too low for the refund"
        case .invalidRequest: "Baidu refused the request's parameters"
        case .authentication:
            "Baidu refused our signature or permissions; check the appKey and that the developer public key in "
                + "the console matches the configured developer private key"
        default: "Baidu refused the request"
        }
    }
}
