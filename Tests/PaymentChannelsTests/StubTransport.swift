import Crypto
import Foundation
import PaymentChannels
import Synchronization
import _CryptoExtras

/// A ``ChannelHTTPTransport`` for tests: records every request with its timeout and answers with `respond`
/// (which may throw, to play a network failure). No network.
final class StubTransport: ChannelHTTPTransport {
    private let respond: @Sendable (ChannelHTTPRequest) throws -> ChannelHTTPResponse
    private let recorded = Mutex<[(request: ChannelHTTPRequest, timeout: Duration)]>([])

    init(_ respond: @escaping @Sendable (ChannelHTTPRequest) throws -> ChannelHTTPResponse) {
        self.respond = respond
    }

    /// Answers every request with `response`.
    convenience init(always response: ChannelHTTPResponse) {
        self.init { _ in response }
    }

    func send(_ request: ChannelHTTPRequest, timeout: Duration) async throws -> ChannelHTTPResponse {
        recorded.withLock { $0.append((request, timeout)) }
        return try respond(request)
    }

    var requests: [ChannelHTTPRequest] { recorded.withLock { $0.map(\.request) } }
    var timeouts: [Duration] { recorded.withLock { $0.map(\.timeout) } }
}

/// Responses signed the way the channels sign them, with the test-only keys.
enum SignedResponses {
    /// A WeChat Pay API v3 response whose `Wechatpay-Signature` covers `timestamp\nnonce\nbody\n`.
    static func weChat(
        status: Int = 200, body: String, key: _RSA.Signing.PrivateKey, serial: String, timestamp: Date = Sandbox.now,
        nonce: String = "E1B1F1C1D1A1B1C1D1E1F1A1B1C1D1E1"
    ) throws -> ChannelHTTPResponse {
        let seconds = String(Int64(timestamp.timeIntervalSince1970))
        let message = Array("\(seconds)\n\(nonce)\n\(body)\n".utf8)
        let signature = try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
        return ChannelHTTPResponse(
            status: status,
            headers: [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Request-ID", "08F4D8ABC5061010A3B1C2D3E4F5061818"),
                ("Wechatpay-Nonce", nonce),
                ("Wechatpay-Serial", serial),
                ("Wechatpay-Signature", signature.rawRepresentation.base64EncodedString()),
                ("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048"),
                ("Wechatpay-Timestamp", seconds),
            ],
            body: Array(body.utf8))
    }

    /// The base64 RSA2 signature Alipay puts in `sign`, over `content`'s exact bytes.
    static func alipaySign(_ content: String, key: _RSA.Signing.PrivateKey) throws -> String {
        try key.signature(for: SHA256.hash(data: Array(content.utf8)), padding: .insecurePKCS1v1_5)
            .rawRepresentation.base64EncodedString()
    }

    /// An Alipay gateway response `{"<method>_response":<member>,"sign":"…"}` (or with `sign` first), signed
    /// over `member` exactly.
    static func alipay(
        method: String, member: String, key: _RSA.Signing.PrivateKey, signFirst: Bool = false
    ) throws -> ChannelHTTPResponse {
        let name = AlipayResponseExtractor.responseKey(method: method)
        let sign = try alipaySign(member, key: key)
        let body =
            signFirst
            ? "{\"sign\":\"\(sign)\",\"\(name)\":\(member)}"
            : "{\"\(name)\":\(member),\"sign\":\"\(sign)\"}"
        return ChannelHTTPResponse(
            status: 200, headers: [("Content-Type", "text/html;charset=utf-8")], body: Array(body.utf8))
    }
}
