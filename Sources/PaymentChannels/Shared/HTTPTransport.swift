import PayFleetMessages

/// An HTTP request an API client wants sent: method, absolute URL, headers in order and the exact body bytes.
///
/// The body must go on the wire unchanged: it is what the request signature covers.
public struct ChannelHTTPRequest: Sendable {
    /// `GET`, `POST`, …
    public var method: String
    /// The absolute URL, query included, already percent-encoded.
    public var url: String
    /// Header fields in order; names as written.
    public var headers: [(String, String)]
    /// The raw body; empty for none.
    public var body: [UInt8]
    /// The largest response body this request accepts, when it is not the transport's own limit (a day's bill
    /// is tens of megabytes; an API reply a few kilobytes).
    public var maxResponseBytes: Int?

    public init(
        method: String, url: String, headers: [(String, String)], body: [UInt8], maxResponseBytes: Int? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.maxResponseBytes = maxResponseBytes
    }

    /// The value of the first header named `name`, matched case-insensitively.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.0.lowercased() == lowered }?.1
    }
}

/// An HTTP response as received: status, headers and the exact body bytes (response signatures cover them).
public struct ChannelHTTPResponse: Sendable {
    public var status: Int
    /// Header fields in order; names as received.
    public var headers: [(String, String)]
    /// The raw body.
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the first header named `name`, matched case-insensitively.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.0.lowercased() == lowered }?.1
    }
}

/// Sends one HTTP request and returns the response, whatever its status. No retries: retrying is the
/// retry-worker's job.
///
/// Implementations throw ``ChannelAPIError`` with code ``ChannelAPIError/Code/timeout`` when `timeout` passes
/// (connect, read or overall deadline) and ``ChannelAPIError/Code/network`` when the connection fails (refused,
/// reset, DNS, TLS); see ``ChannelAPIError/timeout(_:detail:)`` and ``ChannelAPIError/network(_:detail:)``.
/// The API clients treat any other thrown error as a network failure and `CancellationError` as cancellation;
/// both are transient.
public protocol ChannelHTTPTransport: Sendable {
    func send(_ request: ChannelHTTPRequest, timeout: Duration) async throws -> ChannelHTTPResponse
}

extension ChannelHTTPTransport {
    /// Sends `request` and turns whatever is thrown into a ``ChannelAPIError`` for `channel` and `operation`.
    func exchange(
        _ request: ChannelHTTPRequest, timeout: Duration, channel: ChannelID, operation: String
    ) async throws(ChannelAPIError) -> ChannelHTTPResponse {
        do {
            return try await send(request, timeout: timeout)
        } catch let error as ChannelAPIError {
            var error = error
            error.channel = error.channel ?? channel
            error.operation = error.operation ?? operation
            throw error
        } catch is CancellationError {
            throw ChannelAPIError(
                code: .cancelled, channel: channel, operation: operation,
                message: "the request was cancelled; whether the channel acted on it is unknown")
        } catch {
            throw ChannelAPIError(
                code: .network, channel: channel, operation: operation,
                message: "the request failed before a response arrived; whether the channel acted on it is unknown",
                detail: "\(type(of: error))")
        }
    }
}
