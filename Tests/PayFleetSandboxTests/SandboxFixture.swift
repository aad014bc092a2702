import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PayFleetSandbox
import PaymentChannels
import Synchronization
import Testing
import _CryptoExtras

/// The TEST-ONLY keys of config/sandbox, the sandbox built from them, and clients pointed at it.
enum Keys {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ name: String) -> String {
        root.appendingPathComponent("config/sandbox").appendingPathComponent(name).path
    }

    static let mchID = "1900000109"
    static let appID = "wxd678efh567hg6787"
    static let alipayAppID = "2021000000000001"
    static let alipaySellerID = "2088000000000001"
    static let apiV3KeyFile = path("wechatpay-apiv3-key-TEST-ONLY.txt")
    static let platformCertificate = path("wechatpay-platform-cert-TEST-ONLY.pem")
    static let platformPrivateKey = path("wechatpay-platform-private-key-TEST-ONLY.pem")
    static let merchantAPIPrivateKey = path("wechatpay-merchant-api-private-key-TEST-ONLY.pem")
    static let merchantAPICertificate = path("wechatpay-merchant-api-cert-TEST-ONLY.pem")
    static let alipayPrivateKey = path("alipay-private-key-TEST-ONLY.pem")
    static let alipayPublicKey = path("alipay-public-key-TEST-ONLY.pem")

    static func weChatMerchant() throws -> WeChatPayV3Merchant {
        try WeChatPayV3Merchant.load(
            id: "demo", mchID: mchID, appID: appID, apiV3KeyFile: apiV3KeyFile,
            platformCertificateFiles: [platformCertificate], publicKeys: [])
    }

    static func alipayMerchant() throws -> AlipayMerchant {
        try AlipayMerchant.load(
            id: "demo", appID: alipayAppID, sellerID: alipaySellerID, publicKeyFiles: [alipayPublicKey])
    }

    /// The sandbox's settings: a free port, notifications to `notifyBaseURL`, time compressed `compression`
    /// times, refunds completing by themselves after `refundComplete` (nil: only when the test says so).
    static func settings(
        notifyBaseURL: String, compression: Double = 600, refundComplete: Duration? = nil
    ) throws -> SandboxSettings {
        let platform = try PEMKeys.loadCertificate(path: platformCertificate)
        let api = try PEMKeys.loadCertificate(path: merchantAPICertificate)
        let apiV3Key = try String(contentsOfFile: apiV3KeyFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var settings = SandboxSettings(
            host: "127.0.0.1", port: 0, notifyBaseURL: notifyBaseURL, timeCompression: compression,
            notifyTimeout: .seconds(2), dropHold: .seconds(1),
            wechatpay: .init(
                merchants: [.init(id: "demo", mchID: mchID, appID: appID, apiV3Key: SymmetricKey(data: Array(apiV3Key.utf8)))],
                platformPrivateKey: try PEMKeys.loadRSAPrivateKey(path: platformPrivateKey), platformSerial: platform.serial,
                merchantAPIPublicKey: api.publicKey, merchantAPISerial: api.serial),
            alipay: .init(
                merchants: [.init(id: "demo", appID: alipayAppID, sellerID: alipaySellerID)],
                alipayPrivateKey: try PEMKeys.loadRSAPrivateKey(path: alipayPrivateKey),
                appPublicKey: try PEMKeys.loadRSAPublicKey(path: alipayPublicKey)),
            baidu: try baiduSettings(), stripe: try stripeSettings())
        settings.refundComplete = refundComplete
        return settings
    }
}

/// A merchant's notification endpoint for the tests: verifies with PaymentChannels' verifiers, records what came,
/// and fails the first `failures` deliveries on purpose.
final class Receiver: Sendable {
    struct Received: Sendable {
        var channel: String
        var at: Date
        /// nil when the verifier refused it.
        var notification: VerifiedNotification?
        var error: String?
    }

    let weChat: WeChatPayV3Verifier
    let alipay: AlipayVerifier
    let weChatV2: WeChatPayV2Verifier
    let baidu: BaiduVerifier
    let stripe: StripeVerifier
    private let state = Mutex<(received: [Received], failures: Int)>(([], 0))

    init() throws {
        weChat = WeChatPayV3Verifier(merchant: try Keys.weChatMerchant())
        alipay = AlipayVerifier(merchant: try Keys.alipayMerchant())
        weChatV2 = WeChatPayV2Verifier(merchant: try Keys.weChatV2Merchant())
        baidu = BaiduVerifier(merchant: try Keys.baiduMerchant())
        stripe = StripeVerifier(merchant: try Keys.stripeMerchant())
    }

    /// The verifier of `/notify/<channel>/…`.
    func verifier(_ channel: String) -> any NotificationVerifier {
        switch channel {
        case "alipay": alipay
        case "wechatpay-v2": weChatV2
        case "baidu": baidu
        case "stripe": stripe
        default: weChat
        }
    }

    /// The next `count` authentic deliveries are answered with a failure.
    func failNext(_ count: Int) { state.withLock { $0.failures = count } }

    var received: [Received] { state.withLock { $0.received } }
    var accepted: [VerifiedNotification] { received.compactMap(\.notification) }

    func application() -> some ApplicationProtocol {
        let router = Router()
        router.post("/notify/:channel/:merchant") { request, context in
            let channel = context.parameters.get("channel") ?? ""
            let body = Array(buffer: try await request.body.collect(upTo: 1 << 20))
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let verifier = self.verifier(channel)
            let reply: ChannelReply
            do {
                let notification = try verifier.verify(ChannelRequest(headers: headers, body: body), now: Date())
                let fail = self.state.withLock { state -> Bool in
                    state.received.append(.init(channel: channel, at: Date(), notification: notification))
                    guard state.failures > 0 else { return false }
                    state.failures -= 1
                    return true
                }
                reply = fail ? verifier.failureReply(status: 500, message: "try later") : verifier.successReply()
            } catch {
                self.state.withLock {
                    $0.received.append(.init(channel: channel, at: Date(), error: "\((error as? ChannelError)?.code.description ?? "\(error)")"))
                }
                reply = verifier.failureReply(status: 401, message: "bad signature")
            }
            var fields = HTTPFields()
            fields[.contentType] = reply.contentType
            return Response(
                status: .init(code: reply.status), headers: fields,
                body: .init(byteBuffer: ByteBuffer(string: reply.body)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    /// Waits until `condition` holds (up to `timeout`).
    func wait(
        timeout: Duration = .seconds(10), until condition: ([Received]) -> Bool
    ) async throws -> [Received] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let now = received
            if condition(now) { return now }
            try await Task.sleep(for: .milliseconds(20))
        }
        return received
    }
}

/// A running receiver and sandbox, with clients for both channels pointed at the sandbox.
struct Harness {
    let receiver: Receiver
    let sandbox: any TestClientProtocol
    let receiverPort: Int
    let sandboxPort: Int

    var baseURL: String { "http://127.0.0.1:\(sandboxPort)" }
    var notifyURL: String { "http://127.0.0.1:\(receiverPort)/notify/wechatpay/demo" }

    static func run(
        compression: Double = 600, refundComplete: Duration? = nil, _ body: @Sendable (Harness) async throws -> Void
    ) async throws {
        let receiver = try Receiver()
        try await receiver.application().test(.live) { receiverClient in
            let receiverPort = try #require(receiverClient.port)
            let server = SandboxServer(
                settings: try Keys.settings(
                    notifyBaseURL: "http://127.0.0.1:\(receiverPort)", compression: compression,
                    refundComplete: refundComplete),
                logger: Logger(label: "sandbox-test"))
            defer { server.shutdown() }
            try await server.application().test(.live) { client in
                try await body(
                    Harness(
                        receiver: receiver, sandbox: client, receiverPort: receiverPort,
                        sandboxPort: try #require(client.port)))
            }
        }
    }

    func weChatClient(
        transport: any ChannelHTTPTransport = HTTPClientTransport(), timeout: Duration = .seconds(5)
    ) throws -> WeChatPayV3Client {
        try WeChatPayV3Client(
            merchant: try Keys.weChatMerchant(),
            signer: try WeChatPayV3RequestSigner.load(
                mchID: Keys.mchID, privateKeyFile: Keys.merchantAPIPrivateKey, certificateFile: Keys.merchantAPICertificate),
            configuration: .init(baseURL: baseURL, notifyURL: notifyURL, timeout: timeout), transport: transport)
    }

    func alipayClient(transport: any ChannelHTTPTransport = HTTPClientTransport()) throws -> AlipayClient {
        try AlipayClient(
            merchant: try Keys.alipayMerchant(),
            signer: try AlipayRequestSigner.load(appID: Keys.alipayAppID, privateKeyFile: Keys.alipayPrivateKey),
            configuration: .init(gatewayURL: baseURL + "/gateway.do", timeout: .seconds(5)), transport: transport)
    }

    /// Calls the sandbox's control API and returns the status and JSON object.
    @discardableResult
    func control(_ method: String, _ uri: String, json: String? = nil) async throws -> (Int, [String: Any]) {
        try await sandbox.execute(
            uri: uri, method: try #require(HTTPRequest.Method(method)), headers: [.contentType: "application/json"],
            body: json.map { ByteBuffer(string: $0) }
        ) { response in
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))) as? [String: Any]
            return (Int(response.status.code), object ?? [:])
        }
    }

    func fault(_ endpoint: String, _ mode: String, count: Int = 1, delayMS: Int? = nil) async throws {
        let delay = delayMS.map { ",\"delay_ms\":\($0)" } ?? ""
        let (status, body) = try await control(
                "POST", "/sandbox/faults", json: "{\"endpoint\":\"\(endpoint)\",\"mode\":\"\(mode)\",\"count\":\(count)\(delay)}")
        #expect(status == 200, "\(body)")
    }
}

/// Forwards to another transport after changing the request: a tampered signature on the way.
struct RewritingTransport: ChannelHTTPTransport {
    let upstream: any ChannelHTTPTransport
    let rewrite: @Sendable (inout ChannelHTTPRequest) -> Void

    func send(_ request: ChannelHTTPRequest, timeout: Duration) async throws -> ChannelHTTPResponse {
        var request = request
        rewrite(&request)
        return try await upstream.send(request, timeout: timeout)
    }
}

/// The error `body` throws, as a ChannelAPIError.
func apiError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> ChannelAPIError? {
    do {
        try await body()
        Issue.record("expected a ChannelAPIError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as ChannelAPIError {
        return error
    } catch {
        Issue.record("expected a ChannelAPIError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// A fresh order number.
func orderNo(_ prefix: String = "PF") -> String {
    prefix + String(UInt64.random(in: 100_000_000_000...999_999_999_999))
}
