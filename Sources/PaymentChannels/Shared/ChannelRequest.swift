import Foundation

/// An HTTP request as a channel delivered it: header names lower-cased and the body's raw bytes.
///
/// The body must be exactly the bytes received: signatures are computed over them.
public struct ChannelRequest: Sendable {
    /// Header fields keyed by lower-cased name.
    public var headers: [String: String]
    /// The raw body.
    public var body: [UInt8]

    /// Creates a request; header names are lower-cased (a later duplicate name wins).
    public init(headers: [String: String], body: [UInt8]) {
        var lowered: [String: String] = [:]
        lowered.reserveCapacity(headers.count)
        for (name, value) in headers {
            lowered[name.lowercased()] = value
        }
        self.headers = lowered
        self.body = body
    }

    /// The value of the header `name`, matched case-insensitively.
    public func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }

    /// The media type of `Content-Type` without parameters, lower-cased; nil when absent.
    var mediaType: String? {
        guard let value = header("content-type") else { return nil }
        let type = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return type.trimmingCharacters(in: .whitespaces).lowercased()
    }
}
