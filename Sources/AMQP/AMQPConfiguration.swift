import Foundation

/// Where and how to connect to RabbitMQ.
///
/// Built from a URL of the form `amqp://user:password@host:port/vhost` (or `amqps://` for TLS).
/// User, password and vhost are percent-decoded (`%2F` is `/`); missing parts default to
/// `guest`/`guest`, `localhost`, port 5672 (5671 for `amqps`) and vhost `/`.
/// The configuration never prints its password: `description` is ``redactedURL``.
public struct AMQPConfiguration: Sendable, CustomStringConvertible {
    /// Host name or IP address of the broker.
    public var host: String
    /// TCP port of the broker.
    public var port: Int
    /// User name for PLAIN login.
    public var user: String
    /// Password for PLAIN login; kept out of every description.
    var password: String
    /// The virtual host, decoded (`/` for the default vhost).
    public var virtualHost: String
    /// `true` for `amqps://` URLs: TLS through rabbitmq-c's OpenSSL socket.
    public var useTLS: Bool
    /// Verify the broker's certificate and host name (TLS only). On by default.
    public var tlsVerifyPeer: Bool = true
    /// A PEM file with the CA certificates to trust (TLS only); `nil` uses none beyond OpenSSL's defaults.
    public var tlsCACertificatePath: String?
    /// The name the broker shows for this connection (management UI, `rabbitmqctl list_connections`).
    public var connectionName: String

    /// Heartbeat interval negotiated with the broker; a peer silent for two intervals is considered dead.
    public var heartbeat: Duration = .seconds(10)
    /// First pause before reconnecting; doubles after each failed attempt (with jitter).
    public var reconnectInitialBackoff: Duration = .milliseconds(100)
    /// Longest pause between reconnection attempts.
    public var reconnectMaxBackoff: Duration = .seconds(5)
    /// How long one TCP connect plus AMQP handshake may take.
    public var connectTimeout: Duration = .seconds(5)
    /// How long a synchronous AMQP method (declare, consume, cancel, …) may wait for its reply.
    public var rpcTimeout: Duration = .seconds(15)
    /// On shutdown, how long to wait for outstanding publisher confirms and acknowledgements before closing.
    public var shutdownDrainTimeout: Duration = .seconds(5)

    /// Parses a broker URL.
    /// - Throws: ``AMQPError/Code/invalidURL`` with a message that does not repeat the password.
    public init(url: String, connectionName: String) throws(AMQPError) {
        let parsed = try URLParser.parse(url)
        self.host = parsed.host
        self.port = parsed.port
        self.user = parsed.user
        self.password = parsed.password
        self.virtualHost = parsed.virtualHost
        self.useTLS = parsed.useTLS
        self.connectionName = connectionName
    }

    /// The URL with the password replaced by `***`, for logs: `amqp://user:***@host:port/vhost`.
    public var redactedURL: String {
        let scheme = useTLS ? "amqps" : "amqp"
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(URLParser.encode(user)):***@\(hostPart):\(port)/\(URLParser.encode(virtualHost))"
    }

    public var description: String { redactedURL }
}

/// A small RFC 3986-style parser for AMQP URIs (https://www.rabbitmq.com/docs/uri-spec).
enum URLParser {
    struct Parsed {
        var useTLS: Bool
        var user: String
        var password: String
        var host: String
        var port: Int
        var virtualHost: String
    }

    static func parse(_ url: String) throws(AMQPError) -> Parsed {
        func invalid(_ why: String) -> AMQPError {
            AMQPError(code: .invalidURL, message: "invalid AMQP URL: \(why); expected amqp://user:password@host:port/vhost")
        }
        guard let schemeEnd = url.range(of: "://") else {
            throw invalid("missing scheme")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        let useTLS: Bool
        switch scheme {
        case "amqp": useTLS = false
        case "amqps": useTLS = true
        default: throw invalid("unsupported scheme '\(scheme)'")
        }
        var rest = Substring(url[schemeEnd.upperBound...])
        // Query and fragment are not used.
        if let q = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            rest = rest[..<q]
        }
        let authority: Substring
        var path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        } else {
            authority = rest
        }

        var user = "guest"
        var password = "guest"
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                guard let u = decode(userInfo[..<colon]), let p = decode(userInfo[userInfo.index(after: colon)...]) else {
                    throw invalid("bad percent-encoding in the user info")
                }
                user = u
                password = p
            } else {
                guard let u = decode(userInfo) else { throw invalid("bad percent-encoding in the user name") }
                user = u
            }
        }

        var host: String
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw invalid("unterminated IPv6 address") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = String(hostPort)
        }
        guard let decodedHost = decode(Substring(host)) else { throw invalid("bad percent-encoding in the host") }
        host = decodedHost.isEmpty ? "localhost" : decodedHost

        var port = useTLS ? 5671 : 5672
        if let portText, !portText.isEmpty {
            guard let p = Int(portText), (1...65535).contains(p) else { throw invalid("bad port '\(portText)'") }
            port = p
        }

        var virtualHost = "/"
        if let path, !path.isEmpty {
            guard !path.contains("/") else {
                throw invalid("the vhost must be one path segment (write '/' inside it as %2F)")
            }
            guard let v = decode(path) else { throw invalid("bad percent-encoding in the vhost") }
            virtualHost = v
        }
        return Parsed(useTLS: useTLS, user: user, password: password, host: host, port: port, virtualHost: virtualHost)
    }

    /// Percent-decodes; `nil` for a malformed escape or invalid UTF-8.
    static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let h = iterator.next().flatMap(hexValue), let l = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(h << 4 | l)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%"
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0xF)]))
            }
        }
        return out
    }
}
