import PayFleetMessages

extension ChannelAPIError {
    /// The classification of a Stripe error reply (its error object's `type` and `code`, and the HTTP status).
    ///
    /// Transient: HTTP 429 and the codes `rate_limit`, `lock_timeout` (another request holds the object) and
    /// `idempotency_key_in_use` (a concurrent request with the same key) are ``Code/rateLimited``; type
    /// `api_error`, HTTP 5xx, 409 (a conflicting request) and 424 (a dependency of Stripe failed)
    /// ``Code/serverError``. Permanent: HTTP 401 and 403 ``Code/authentication`` (the secret key is wrong, revoked
    /// or lacks permission); 404 with an error object and `resource_missing` ``Code/notFound`` (a 404 without one is
    /// ``Code/configuration``: a wrong base URL); `idempotency_error` (the key was used
    /// with other parameters) and other `invalid_request_error`s ``Code/invalidRequest``;
    /// `payment_intent_unexpected_state`, `charge_already_refunded` and `card_error`s ``Code/rejected``.
    public static func stripe(
        status: Int, type: String?, code: String?, message: String?, operation: String, requestID: String? = nil
    ) -> ChannelAPIError {
        let type = type.flatMap { $0.isEmpty ? nil : $0 }
        let code = code.flatMap { $0.isEmpty ? nil : $0 }
        let classified = stripeCode(status: status, type: type, code: code)
        var detail: [String] = []
        if let type { detail.append("type \(type.prefix(40))") }
        if let requestID { detail.append("Request-Id \(requestID.prefix(64))") }
        return ChannelAPIError(
            code: classified, channel: .stripe, operation: operation, httpStatus: status,
            channelCode: code ?? type, channelMessage: message, message: stripeMessage(classified, status: status),
            detail: detail.isEmpty ? nil : detail.joined(separator: ", "))
    }

    private static func stripeCode(status: Int, type: String?, code: String?) -> Code {
        switch code {
        case "rate_limit", "lock_timeout", "idempotency_key_in_use": return .rateLimited
        case "resource_missing": return .notFound
        case "payment_intent_unexpected_state", "charge_already_refunded": return .rejected
        default: break
        }
        switch status {
        case 429: return .rateLimited
        case 500...599, 409, 424: return .serverError
        case 401, 403: return .authentication
        case 404: return type == nil ? .configuration : .notFound
        default: break
        }
        switch type {
        case "api_error": return .serverError
        case "idempotency_error", "invalid_request_error": return .invalidRequest
        case "card_error": return .rejected
        default: return codeForStatus(status, hasChannelCode: type != nil)
        }
    }

    private static func stripeMessage(_ code: Code, status: Int) -> String {
        switch code {
        case .serverError: "Stripe reported a server error (HTTP \(status)); try again later"
        case .rateLimited: "Stripe throttled the request or the object is busy (HTTP \(status)); try again later"
        case .notFound: "Stripe knows no such object (HTTP \(status))"
        case .invalidRequest: "Stripe refused the request's parameters (HTTP \(status))"
        case .authentication:
            "Stripe refused our secret key (HTTP \(status)); check the key file and the key's permissions"
        case .configuration: "Stripe answered HTTP \(status) without an error object; check the base URL"
        case .malformedResponse: "Stripe answered an unexpected HTTP status \(status)"
        default: "Stripe refused the request (HTTP \(status))"
        }
    }
}
