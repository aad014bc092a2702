import PayFleetMessages

extension ChannelAPIError {
    /// The classification of an Alipay error (`code` other than `10000`, in a method response or an
    /// `error_response`): its `sub_code` first, then its `code`.
    ///
    /// Transient: `20000` (`isp.unknow-error`, `aop.unknow-error`) and `ACQ.SYSTEM_ERROR` (also as
    /// `aop.ACQ.SYSTEM_ERROR`) are ``Code/serverError``. Permanent: `ACQ.TRADE_NOT_EXIST` is ``Code/notFound``,
    /// `ACQ.SELLER_BALANCE_NOT_ENOUGH` / `ACQ.BUYER_BALANCE_NOT_ENOUGH` ``Code/insufficientBalance``,
    /// `ACQ.INVALID_PARAMETER`, `40001` and `40002` ``Code/invalidRequest`` (but `isv.invalid-signature`,
    /// `isv.invalid-app-id` and friends ``Code/authentication``), `20001` and `40006` ``Code/authentication``, any
    /// other `40004` business error ``Code/rejected``.
    public static func alipay(
        code: String, subCode: String?, subMessage: String?, operation: String, httpStatus: Int? = 200
    ) -> ChannelAPIError {
        let sub = subCode.flatMap { $0.isEmpty ? nil : $0 }
        let classified = sub.flatMap { alipaySubCodes[$0.uppercased()] } ?? alipayCodes[code] ?? alipayFallback(code)
        return ChannelAPIError(
            code: classified, channel: .alipay, operation: operation, httpStatus: httpStatus,
            channelCode: sub ?? code, channelMessage: subMessage, message: alipayMessage(classified),
            detail: "code \(code.prefix(16))")
    }

    private static let alipaySubCodes: [String: Code] = [
        "ACQ.SYSTEM_ERROR": .serverError,
        "AOP.ACQ.SYSTEM_ERROR": .serverError,
        "ISP.UNKNOW-ERROR": .serverError,
        "AOP.UNKNOW-ERROR": .serverError,
        "ISP.UNKNOWN-ERROR": .serverError,
        "ACQ.TRADE_NOT_EXIST": .notFound,
        "ACQ.SELLER_BALANCE_NOT_ENOUGH": .insufficientBalance,
        "ACQ.BUYER_BALANCE_NOT_ENOUGH": .insufficientBalance,
        "ACQ.INVALID_PARAMETER": .invalidRequest,
        "ISV.INVALID-SIGNATURE": .authentication,
        "ISV.INVALID-SIGNATURE-TYPE": .authentication,
        "ISV.MISSING-SIGNATURE": .authentication,
        "ISV.MISSING-SIGNATURE-KEY": .authentication,
        "ISV.INVALID-APP-ID": .authentication,
        "ISV.INSUFFICIENT-ISV-PERMISSIONS": .authentication,
        "ISV.INSUFFICIENT-USER-PERMISSIONS": .authentication,
    ]

    private static let alipayCodes: [String: Code] = [
        "20000": .serverError,
        "20001": .authentication,
        "40001": .invalidRequest,
        "40002": .invalidRequest,
        "40004": .rejected,
        "40006": .authentication,
    ]

    private static func alipayFallback(_ code: String) -> Code {
        code.hasPrefix("2") ? .serverError : .rejected
    }

    private static func alipayMessage(_ code: Code) -> String {
        switch code {
        case .serverError: "Alipay reported a system error; try again later"
        case .notFound: "Alipay knows no such trade"
        case .insufficientBalance: "the balance is too low for the refund"
        case .invalidRequest: "Alipay refused the request's parameters"
        case .authentication:
            "Alipay refused our app id, signature or permissions; check the app id, app private key and the "
                + "key uploaded to the Alipay console"
        default: "Alipay refused the request"
        }
    }
}
