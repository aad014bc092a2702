import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOSSL
import PayFleetMessages

/// A ``ChannelHTTPTransport`` over AsyncHTTPClient: sends the request's exact bytes and returns the response's
/// exact bytes, whatever the status.
///
/// A deadline passing (connect, pool, read or the overall `timeout`) throws ``ChannelAPIError/Code/timeout``;
/// a failed connection (refused, reset, DNS, TLS, closed early, a body over `maxResponseBytes`) throws
/// ``ChannelAPIError/Code/network``; cancellation is rethrown as `CancellationError`. No retries.
///
/// With a `tlsConfiguration` every request carries it (AsyncHTTPClient keeps such connections in their own pool):
/// that is how a client certificate is presented, see ``mutualTLS(certificateFile:privateKeyFile:trustRootsFile:client:)``.
public struct HTTPClientTransport: ChannelHTTPTransport {
    public let client: HTTPClient
    /// The TLS configuration of every request (client certificate, trust roots); nil for the client's own.
    public let tlsConfiguration: TLSConfiguration?
    /// The largest response body accepted.
    public let maxResponseBytes: Int

    public init(
        client: HTTPClient = .shared, tlsConfiguration: TLSConfiguration? = nil, maxResponseBytes: Int = 1 << 20
    ) {
        self.client = client
        self.tlsConfiguration = tlsConfiguration
        self.maxResponseBytes = maxResponseBytes
    }

    /// A transport that presents a client certificate (mutual TLS), as WeChat Pay v2's `/secapi/…` endpoints
    /// require: the PEM certificate chain in `certificateFile` with the PEM private key in `privateKeyFile`.
    /// `trustRootsFile` (PEM certificates) replaces the system trust roots: only for a test CA (the sandbox);
    /// production leaves it nil.
    ///
    /// The files are read and checked now (the key must match the certificate); throws
    /// ``ChannelError/Code/keyFile`` naming the file otherwise. Nothing secret is logged.
    public static func mutualTLS(
        certificateFile: String, privateKeyFile: String, trustRootsFile: String? = nil, client: HTTPClient = .shared
    ) throws(ChannelError) -> HTTPClientTransport {
        var configuration = TLSConfiguration.makeClientConfiguration()
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
            guard !chain.isEmpty else { throw ChannelError.keyFile("\(certificateFile) holds no PEM certificate") }
            configuration.certificateChain = chain.map { .certificate($0) }
        } catch let error as ChannelError {
            throw error
        } catch {
            throw .keyFile("client certificate file \(certificateFile) cannot be read as PEM certificates")
        }
        do {
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKeyFile, format: .pem))
        } catch {
            throw .keyFile("client private key file \(privateKeyFile) cannot be read as a PEM private key")
        }
        if let trustRootsFile {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(trustRootsFile)
                guard !roots.isEmpty else { throw ChannelError.keyFile("\(trustRootsFile) holds no PEM certificate") }
                configuration.trustRoots = .certificates(roots)
            } catch let error as ChannelError {
                throw error
            } catch {
                throw .keyFile("trust roots file \(trustRootsFile) cannot be read as PEM certificates")
            }
        }
        do {
            // Builds the context once, which checks that the private key belongs to the certificate.
            _ = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .keyFile(
                "client private key \(privateKeyFile) does not belong to certificate \(certificateFile), or "
                    + "either is unusable for TLS")
        }
        return HTTPClientTransport(client: client, tlsConfiguration: configuration)
    }

    public func send(_ request: ChannelHTTPRequest, timeout: Duration) async throws -> ChannelHTTPResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        outgoing.tlsConfiguration = tlsConfiguration
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if !request.body.isEmpty { outgoing.body = .bytes(ByteBuffer(bytes: request.body)) }
        let deadline = NIODeadline.now() + .nanoseconds(Self.nanoseconds(timeout))
        do {
            let response = try await client.execute(outgoing, deadline: deadline)
            let body = try await response.body.collect(upTo: request.maxResponseBytes ?? maxResponseBytes)
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
