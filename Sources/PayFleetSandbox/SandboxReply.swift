import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// A reply from the sandbox: status, headers and the exact body bytes (which a channel's signature covers), or
/// a connection closed without a reply (the `drop` fault).
struct SandboxReply: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    /// Close the connection instead of replying.
    var dropsConnection = false

    init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON reply of the sandbox's own endpoints (`/sandbox/…`).
    static func json(_ status: Int, _ object: [String: Any]) -> SandboxReply {
        SandboxReply(status: status, headers: [("Content-Type", "application/json")], body: SandboxJSON.encode(object))
    }

    /// `{"error": message}` for the sandbox's own endpoints.
    static func error(_ status: Int, _ message: String) -> SandboxReply {
        json(status, ["error": message])
    }

    /// Applies an API fault taken for this call: `drop` holds the request and closes the connection, `delay`
    /// answers late. Other modes were applied while the reply was made.
    func applying(_ fault: SandboxFault?, dropHold: Duration) async -> SandboxReply {
        switch fault?.mode {
        case .drop?:
            try? await Task.sleep(for: fault?.delayMilliseconds.map { .milliseconds($0) } ?? dropHold)
            var dropped = self
            dropped.dropsConnection = true
            return dropped
        case .delay?:
            try? await Task.sleep(for: .milliseconds(fault?.delayMilliseconds ?? 1000))
            return self
        default:
            return self
        }
    }

    var response: Response {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        if dropsConnection {
            return Response(
                status: .init(code: status), headers: fields, body: ResponseBody { _ in throw DroppedReply() })
        }
        return Response(
            status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Thrown by a dropped reply's body writer so that the server closes the connection without a reply.
struct DroppedReply: Error {}

/// Random numbers and tokens of the shapes channels use, and tampering with signatures.
enum SandboxIDs {
    static func digits(_ count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
    }

    static func token(_ count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet.randomElement(using: &generator)! })
    }

    /// `signature` (base64) with one bit of its last byte flipped: well-formed, and it does not verify.
    static func tamper(_ signature: String) -> String {
        guard var bytes = Data(base64Encoded: signature), !bytes.isEmpty else { return "A" + signature }
        bytes[bytes.count - 1] ^= 0x01
        return bytes.base64EncodedString()
    }
}
