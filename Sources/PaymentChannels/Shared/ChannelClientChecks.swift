import PayFleetMessages

/// What every channel's API client says no with, in one place: a request it will not send (``invalid(_:_:detail:)``),
/// a merchant-chosen number out of bounds (``requireNumber(_:_:_:max:)``), an answer it cannot read
/// (``malformed(_:_:_:)``, naming the channel's request id when the response carries one).
struct ChannelClientChecks: Sendable {
    let channel: ChannelID
    /// The response header with the channel's request id (`Request-ID`, `Request-Id`), if it sends one.
    var requestIDHeader: String?

    init(channel: ChannelID, requestIDHeader: String? = nil) {
        self.channel = channel
        self.requestIDHeader = requestIDHeader
    }

    /// An out_trade_no, out_refund_no, … of 1 to `max` bytes.
    func requireNumber(_ value: String, _ field: String, _ operation: String, max: Int = 64) throws(ChannelAPIError) {
        guard (1...max).contains(value.utf8.count) else {
            throw invalid(operation, "\(field) must be 1 to \(max) characters", detail: "\(value.utf8.count) bytes")
        }
    }

    func invalid(_ operation: String, _ message: String, detail: String? = nil) -> ChannelAPIError {
        ChannelAPIError(code: .invalidRequest, channel: channel, operation: operation, message: message, detail: detail)
    }

    /// A response that is not what the channel documents: HTTP 200 unless `response` says otherwise.
    func malformed(_ operation: String, _ message: String, _ response: ChannelHTTPResponse? = nil) -> ChannelAPIError {
        ChannelAPIError(
            code: .malformedResponse, channel: channel, operation: operation, httpStatus: response?.status ?? 200,
            message: message, detail: requestID(response))
    }

    /// `Request-ID …` from `response`, for an error's detail.
    func requestID(_ response: ChannelHTTPResponse?) -> String? {
        guard let header = requestIDHeader, let value = response?.header(header) else { return nil }
        return "\(header) \(value)"
    }
}
