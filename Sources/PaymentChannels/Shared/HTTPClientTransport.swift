import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import PayFleetMessages

/// A ``ChannelHTTPTransport`` over AsyncHTTPClient: sends the request's exact bytes and returns the response's
/// exact bytes, whatever the status.
///
/// A deadline passing (connect, pool, read or the overall `timeout`) throws ``ChannelAPIError/Code/timeout``;
/// a failed connection (refused, reset, DNS, TLS, closed early, a body over `maxResponseBytes`) throws
/// ``ChannelAPIError/Code/network``; cancellation is rethrown as `CancellationError`. No retries.
public struct HTTPClientTransport: ChannelHTTPTransport {
    public let client: HTTPClient
    /// The largest response body accepted.
    public let maxResponseBytes: Int

    public init(client: HTTPClient = .shared, maxResponseBytes: Int = 1 << 20) {
        self.client = client
        self.maxResponseBytes = maxResponseBytes
    }

    public func send(_ request: ChannelHTTPRequest, timeout: Duration) async throws -> ChannelHTTPResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if !request.body.isEmpty { outgoing.body = .bytes(ByteBuffer(bytes: request.body)) }
        let deadline = NIODeadline.now() + .nanoseconds(Self.nanoseconds(timeout))
        do {
            let response = try await client.execute(outgoing, deadline: deadline)
            let body = try await response.body.collect(upTo: maxResponseBytes)
            return ChannelHTTPResponse(
                status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                body: Array(buffer: body))
        } catch let error as ChannelAPIError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw Self.classify(error, timeout: timeout)
        }
    }

    /// The transport error for an AsyncHTTPClient or NIO error.
    static func classify(_ error: any Error, timeout: Duration) -> ChannelAPIError {
        let timeouts: [HTTPClientError] = [
            .deadlineExceeded, .readTimeout, .connectTimeout, .getConnectionFromPoolTimeout, .writeTimeout,
        ]
        if let clientError = error as? HTTPClientError, timeouts.contains(clientError) {
            return .timeout("no response within \(timeout)", detail: "\(clientError)")
        }
        if let channelError = error as? NIOCore.ChannelError, case .connectTimeout = channelError {
            return .timeout("the connection was not made within \(timeout)", detail: "\(channelError)")
        }
        if error is NIOTooManyBytesError {
            return .network("the response body is larger than the transport accepts", detail: "\(type(of: error))")
        }
        return .network("the request failed before a response arrived", detail: "\(type(of: error)): \(error)")
    }

    /// `duration` in whole nanoseconds, saturating.
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : whole + attoseconds / 1_000_000_000
    }
}
