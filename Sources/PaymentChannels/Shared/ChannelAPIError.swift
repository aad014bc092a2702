import PayFleetMessages

/// Why a call to a channel's API (prepay, query, close, refund) failed, and whether trying again later can help.
///
/// ``isTransient`` is what a worker acts on: a transient failure goes to the retry schedule, a permanent one is
/// an anomaly and is never retried. The clients never retry by themselves.
///
/// `description` is plain and safe to log: no key, no signature, no request or response body, and not the
/// channel's own message text (which may echo parameters). `debugDescription` adds the channel's message and
/// detail such as the HTTP status and the channel's request id, still without secrets.
public struct ChannelAPIError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    /// A stable error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Backing: String, Hashable, Sendable {
            case network
            case timeout
            case cancelled
            case serverError = "server_error"
            case rateLimited = "rate_limited"
            case responseSignature = "response_signature"
            case malformedResponse = "malformed_response"
            case invalidRequest = "invalid_request"
            case notFound = "not_found"
            case insufficientBalance = "insufficient_balance"
            case authentication
            case rejected
            case configuration
        }

        private let backing: Backing

        private init(_ backing: Backing) {
            self.backing = backing
        }

        /// The connection failed (refused, reset, DNS, TLS) before a response arrived. Transient.
        public static let network = Code(.network)
        /// No response within the configured timeout. Transient.
        public static let timeout = Code(.timeout)
        /// The calling task was cancelled (e.g. at shutdown). Transient.
        public static let cancelled = Code(.cancelled)
        /// HTTP 5xx, or the channel's own "system error" (WeChat Pay `SYSTEM_ERROR`, Alipay `20000` /
        /// `ACQ.SYSTEM_ERROR`). Transient.
        public static let serverError = Code(.serverError)
        /// The channel throttled us (HTTP 429, WeChat Pay `FREQUENCY_LIMITED`). Transient.
        public static let rateLimited = Code(.rateLimited)
        /// A response that must be signed is unsigned, signed with an unknown key, stale, or does not verify.
        ///
        /// Transient: a proxy may have mangled it, and the call's outcome is unknown (the channel may have acted),
        /// so the retry-worker repeats the idempotent call (same out_trade_no / out_refund_no / out_request_no)
        /// or a query. It also needs an operator (``needsAttention``): it can mean a rotated platform key that is
        /// not configured yet, or tampering.
        public static let responseSignature = Code(.responseSignature)
        /// A response arrived but is not what the API documents (not JSON, a required field missing). Transient:
        /// often an intermediary's error page.
        public static let malformedResponse = Code(.malformedResponse)
        /// The channel refused the request's parameters (WeChat Pay `PARAM_ERROR`, `INVALID_REQUEST`; Alipay
        /// `40001`, `40002`, `ACQ.INVALID_PARAMETER`), or the client refused them before sending. Permanent.
        public static let invalidRequest = Code(.invalidRequest)
        /// The order or refund does not exist at the channel (WeChat Pay `ORDER_NOT_EXIST`,
        /// `RESOURCE_NOT_EXISTS`; Alipay `ACQ.TRADE_NOT_EXIST`). Permanent.
        public static let notFound = Code(.notFound)
        /// Not enough balance for a refund (WeChat Pay `NOT_ENOUGH`; Alipay `ACQ.SELLER_BALANCE_NOT_ENOUGH`).
        /// Permanent for this attempt: an operator tops up and replays.
        public static let insufficientBalance = Code(.insufficientBalance)
        /// The channel refused our credentials: signature, app id, permissions (WeChat Pay `SIGN_ERROR`,
        /// `NO_AUTH`; Alipay `isv.invalid-signature`, `20001`, `40006`). Permanent; needs an operator.
        public static let authentication = Code(.authentication)
        /// Any other business refusal (order already paid or closed, refund amount too large, …). Permanent.
        public static let rejected = Code(.rejected)
        /// Our own configuration is unusable (base URL, keys, notify URL). Permanent; needs an operator.
        public static let configuration = Code(.configuration)

        /// True when the same call may succeed later.
        public var isTransient: Bool {
            switch backing {
            case .network, .timeout, .cancelled, .serverError, .rateLimited, .responseSignature, .malformedResponse:
                true
            case .invalidRequest, .notFound, .insufficientBalance, .authentication, .rejected, .configuration:
                false
            }
        }

        /// The snake_case name of the code, e.g. `server_error`.
        public var description: String { backing.rawValue }
    }

    public var code: Code
    /// The channel called; nil only for an error a transport throws before a client fills it in.
    public var channel: ChannelID?
    /// What was called: `jsapi_prepay`, `query_transaction`, … for WeChat Pay, the method
    /// (`alipay.trade.query`) for Alipay; nil only for an error a transport throws before a client fills it in.
    public var operation: String?
    /// The HTTP status, when a response arrived.
    public var httpStatus: Int?
    /// The channel's own error code: WeChat Pay's `code` (`ORDER_NOT_EXIST`), Alipay's `sub_code`
    /// (`ACQ.TRADE_NOT_EXIST`, or `code` when there is no `sub_code`).
    public var channelCode: String?
    /// The channel's own error message (WeChat Pay `message`, Alipay `sub_msg`); shown only in `debugDescription`.
    public var channelMessage: String?
    /// What was wrong, in plain words; no secrets, no bodies.
    public var message: String
    /// More detail for `debugDescription` (Alipay's `code`, WeChat Pay's `Request-ID`, the underlying check);
    /// no secrets either.
    public var detail: String?

    public init(
        code: Code, channel: ChannelID? = nil, operation: String? = nil, httpStatus: Int? = nil,
        channelCode: String? = nil, channelMessage: String? = nil, message: String, detail: String? = nil
    ) {
        self.code = code
        self.channel = channel
        self.operation = operation
        self.httpStatus = httpStatus
        self.channelCode = channelCode
        self.channelMessage = channelMessage
        self.message = message
        self.detail = detail
    }

    /// True when the same call may succeed later: schedule a retry. False: an anomaly, never retried.
    public var isTransient: Bool { code.isTransient }

    /// True when an operator should look now (log at error level and alert): a response signature that does not
    /// verify, credentials the channel refuses, or an unusable configuration.
    public var needsAttention: Bool {
        code == .responseSignature || code == .authentication || code == .configuration
    }

    public var description: String {
        var text = "\(code)"
        if let channel { text += " from \(channel.rawValue)" }
        if let operation { text += " \(operation)" }
        if let channelCode { text += " (\(channelCode))" }
        return text + ": " + message
    }

    public var debugDescription: String {
        var text = "ChannelAPIError(code: \(code), transient: \(isTransient)"
        if let channel { text += ", channel: \(channel.rawValue)" }
        if let operation { text += ", operation: \(operation)" }
        if let httpStatus { text += ", status: \(httpStatus)" }
        if let channelCode { text += ", channel code: \(channelCode)" }
        if let channelMessage { text += ", channel message: \(channelMessage.prefix(200))" }
        text += ", message: \(message)"
        if let detail { text += ", detail: \(detail)" }
        return text + ")"
    }

    /// For transports: no response within the timeout.
    public static func timeout(_ message: String, detail: String? = nil) -> ChannelAPIError {
        ChannelAPIError(code: .timeout, message: message, detail: detail)
    }

    /// For transports: the connection failed before a response arrived.
    public static func network(_ message: String, detail: String? = nil) -> ChannelAPIError {
        ChannelAPIError(code: .network, message: message, detail: detail)
    }
}

extension ChannelAPIError {
    /// The classification of an HTTP status alone, when the body names no channel code this module knows. A 404
    /// without any channel code is a wrong base URL, not a missing order: `.configuration`, so no worker takes it
    /// for "this order does not exist".
    static func codeForStatus(_ status: Int, hasChannelCode: Bool) -> Code {
        switch status {
        case 400: .invalidRequest
        case 401: .authentication
        case 404: hasChannelCode ? .notFound : .configuration
        case 408: .timeout
        case 429: .rateLimited
        case 500...599: .serverError
        case 300...399: .configuration
        case 402...499: .rejected
        default: .malformedResponse
        }
    }
}
