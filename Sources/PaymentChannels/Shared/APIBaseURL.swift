import Foundation
import PayFleetMessages

/// A configured API base URL split into origin (`https://host:port`) and path prefix (`""` or `/prefix`), so a
/// client can build request URLs and sign their exact path.
struct APIBaseURL: Sendable, Equatable {
    let origin: String
    let pathPrefix: String

    /// Accepts `http` or `https` with a host, an optional port and an optional path; no query, no fragment, no
    /// user info. A trailing `/` is dropped.
    init?(_ text: String) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = components.percentEncodedHost, !host.isEmpty,
            components.percentEncodedQuery == nil, components.percentEncodedFragment == nil,
            components.percentEncodedUser == nil, components.percentEncodedPassword == nil
        else { return nil }
        var origin = "\(scheme)://\(host)"
        if let port = components.port { origin += ":\(port)" }
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        self.origin = origin
        self.pathPrefix = path
    }

    /// `text`, the client setting called `setting` (`WeChat Pay base URL`, …), or the configuration error every
    /// client answers a malformed one with, showing the production URL as the example.
    init(configured text: String, setting: String, channel: ChannelID, example: String) throws(ChannelAPIError) {
        guard let url = APIBaseURL(text) else {
            throw ChannelAPIError(
                code: .configuration, channel: channel,
                message: "\(setting) is not an http(s) URL without query; e.g. \(example)",
                detail: "\(setting): \(text.prefix(100))")
        }
        self = url
    }

    /// The full URL of `pathAndQuery` (which starts with `/`).
    func url(_ pathAndQuery: String) -> String {
        origin + pathPrefix + pathAndQuery
    }

    /// Percent-encodes one path segment or query value: everything but ASCII letters, digits and `-._~`.
    static func encodeComponent(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                output.append(byte)
            default:
                output.append(UInt8(ascii: "%"))
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
