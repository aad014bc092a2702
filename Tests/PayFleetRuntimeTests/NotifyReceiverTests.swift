import Configuration
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Logging
import PayFleetMessages
import PayFleetRuntime
import PayFleetTestSupport
import Synchronization
import Testing

/// The receiver's HTTP contract with each channel, driven in-process. The broker is
/// replaced by a recording publisher here, so these tests can say exactly what would have
/// been published; the integration suites run the same code against the real broker.
struct NotifyReceiverTests {
    final class RecordingPublisher: NotificationPublisher {
        let published = Mutex<[VerifiedMessage]>([])
        let failure: String?
        init(failure: String? = nil) { self.failure = failure }

        func publish(_ message: VerifiedMessage) async throws {
            if let failure { throw PayFleetError(.dependencyUnavailable, failure) }
            published.withLock { $0.append(message) }
        }

        var unavailableReason: String? { failure }
        var messages: [VerifiedMessage] { published.withLock { $0 } }
    }

    static func sandboxReader() async throws -> ConfigReader {
        _ = FileManager.default.changeCurrentDirectoryPath(TestServices.repositoryRoot.path)
        return try await ConfigReader.payfleet(environment: [
            "PAYFLEET_CONFIG": TestServices.repositoryRoot.appendingPathComponent("config/sandbox/payfleet.sandbox.yaml").path,
            "PAYFLEET_RECEIVER_MAX_BODY_BYTES": "8192",
        ])
    }

    static func withReceiver(
        publisher: RecordingPublisher, _ body: @Sendable (any TestClientProtocol, SandboxNotifier) async throws -> Void
    ) async throws {
        let reader = try await sandboxReader()
        let app = NotifyReceiverApp.application(
            settings: ReceiverSettings(reader: reader), merchants: try MerchantRegistry(reader: reader),
            publisher: publisher, logger: Logger(label: "test"))
        try await app.test(.router) { client in
            try await body(client, SandboxNotifier(reader: reader))
        }
    }

    static func execute(
        _ client: any TestClientProtocol, _ notification: SandboxNotifier.SignedNotification, path: String? = nil
    ) async throws -> (status: Int, body: String, contentType: String?) {
        var headers = HTTPFields()
        for (name, value) in notification.headers { headers[HTTPField.Name(name)!] = value }
        return try await client.execute(
            uri: path ?? notification.path, method: .post, headers: headers, body: ByteBuffer(bytes: notification.body)
        ) { response in
            (Int(response.status.code), String(buffer: response.body), response.headers[.contentType])
        }
    }

    @Test func aVerifiedWeChatPayNotificationIsPublishedThenAnswered204() async throws {
        let publisher = RecordingPublisher()
        try await Self.withReceiver(publisher: publisher) { client, sandbox in
            let notification = try sandbox.paymentSucceeded(
                channel: .wechatpay, merchant: "demo",
                payment: .init(paymentNo: "P1", amountMinor: 8888, notificationID: "EV-1", paidAt: Date()))
            let reply = try await Self.execute(client, notification)
            #expect(reply.status == 204)
            #expect(reply.body == "")
        }
        let messages = publisher.messages
        try #require(messages.count == 1)
        #expect(messages[0].routingKey == "payment.succeeded.wechatpay")
        #expect(messages[0].messageID == "wechatpay:EV-1")
        let published = try PayFleetJSON.decode(PaymentNotification.self, from: messages[0].body)
        #expect(published.paymentNo == "P1")
        #expect(published.amountMinor == 8888)
        #expect(published.currency == "CNY")
        #expect(published.merchant == "demo")
    }

    @Test func aVerifiedAlipayNotificationIsAnsweredSuccessWithItsAmountInMinorUnits() async throws {
        let publisher = RecordingPublisher()
        try await Self.withReceiver(publisher: publisher) { client, sandbox in
            let notification = try sandbox.paymentSucceeded(
                channel: .alipay, merchant: "demo", payment: .init(paymentNo: "P2", amountMinor: 8888, notificationID: "N-2"))
            let reply = try await Self.execute(client, notification)
            #expect(reply.status == 200)
            #expect(reply.body == "success")
        }
        let messages = publisher.messages
        try #require(messages.count == 1)
        #expect(messages[0].routingKey == "payment.succeeded.alipay")
        #expect(try PayFleetJSON.decode(PaymentNotification.self, from: messages[0].body).amountMinor == 8888)
    }

    @Test(arguments: [
        (ChannelID.wechatpayV2, 200, "<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>"),
        (ChannelID.baidu, 200, #"{"errno":0,"msg":"success","data":{"isConsumed":2}}"#),
        (ChannelID.stripe, 200, #"{"received":true}"#),
    ])
    func everyConfiguredChannelIsVerifiedPublishedAndAnsweredInItsOwnFormat(
        channel: ChannelID, status: Int, body: String
    ) async throws {
        let publisher = RecordingPublisher()
        try await Self.withReceiver(publisher: publisher) { client, sandbox in
            let notification = try sandbox.paymentSucceeded(
                channel: channel, merchant: "demo", payment: .init(paymentNo: "PX\(channel.rawValue.count)", amountMinor: 4321))
            let reply = try await Self.execute(client, notification)
            #expect(reply.status == status)
            #expect(reply.body == body)

            var tampered = notification
            tampered.body = Array(String(decoding: notification.body, as: UTF8.self)
                .replacingOccurrences(of: "4321", with: "4322").utf8)
            #expect(try await Self.execute(client, tampered).status >= 400)
        }
        let messages = publisher.messages
        try #require(messages.count == 1)
        #expect(messages[0].routingKey == "payment.succeeded.\(channel.rawValue)")
        let published = try PayFleetJSON.decode(PaymentNotification.self, from: messages[0].body)
        #expect(published.amountMinor == 4321)
        #expect(published.currency == "CNY")
        #expect(published.channel == channel)
    }

    @Test func theBrokerNotConfirmingMeansTheChannelsFailureReplySoItRetries() async throws {
        let publisher = RecordingPublisher(failure: "broker not connected")
        try await Self.withReceiver(publisher: publisher) { client, sandbox in
            let wechat = try sandbox.paymentSucceeded(
                channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: "P3", amountMinor: 1))
            let wechatReply = try await Self.execute(client, wechat)
            #expect(wechatReply.status == 503)
            #expect(wechatReply.body == #"{"code":"FAIL","message":"temporarily unavailable, retry later"}"#)

            let alipay = try sandbox.paymentSucceeded(channel: .alipay, merchant: "demo", payment: .init(paymentNo: "P3", amountMinor: 1))
            let alipayReply = try await Self.execute(client, alipay)
            #expect(alipayReply.status == 503)
            #expect(alipayReply.body == "fail")

            let ready = try await client.execute(uri: "/health/ready", method: .get) { Int($0.status.code) }
            #expect(ready == 503)
        }
    }

    @Test func anUnknownMerchantOrChannelIs404InTheChannelsFormatAndPublishesNothing() async throws {
        let publisher = RecordingPublisher()
        try await Self.withReceiver(publisher: publisher) { client, sandbox in
            let wechat = try sandbox.paymentSucceeded(channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: "P4", amountMinor: 1))
            let unknownMerchant = try await Self.execute(client, wechat, path: "/notify/wechatpay/nobody")
            #expect(unknownMerchant.status == 404)
            #expect(unknownMerchant.body == #"{"code":"FAIL","message":"unknown merchant"}"#)

            let alipay = try sandbox.paymentSucceeded(channel: .alipay, merchant: "demo", payment: .init(paymentNo: "P4", amountMinor: 1))
            let unknownAlipay = try await Self.execute(client, alipay, path: "/notify/alipay/nobody")
            #expect(unknownAlipay.status == 404)
            #expect(unknownAlipay.body == "fail")

            let unknownChannel = try await Self.execute(client, wechat, path: "/notify/paypal/demo")
            #expect(unknownChannel.status == 404)
        }
        #expect(publisher.messages.isEmpty)
    }

    @Test func anOversizedBodyOrAWrongContentTypeIsRefusedUnread() async throws {
        let publisher = RecordingPublisher()
        try await Self.withReceiver(publisher: publisher) { client, sandbox in
            var large = try sandbox.paymentSucceeded(channel: .alipay, merchant: "demo", payment: .init(paymentNo: "P5", amountMinor: 1))
            large.body += Array("&padding=".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 9000)
            let tooLarge = try await Self.execute(client, large)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.body == "fail")

            var wrongType = try sandbox.paymentSucceeded(
                channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: "P5", amountMinor: 1))
            wrongType.headers["Content-Type"] = "text/plain"
            let unsupported = try await Self.execute(client, wrongType)
            #expect(unsupported.status == 415)
            #expect(unsupported.body.hasPrefix(#"{"code":"FAIL""#))
        }
        #expect(publisher.messages.isEmpty)
    }

    @Test func metricsCountRequestsByChannelAndOutcomeOnTheOpsPortOnlyNeverOnTheChannelsPort() async throws {
        let reader = try await Self.sandboxReader()
        // The process-wide registry the roles serve, as the receiver's process bootstraps it.
        let (logger, registry) = Observability.bootstrap(label: "test", reader: reader)
        let publisher = RecordingPublisher()
        let app = NotifyReceiverApp.application(
            settings: ReceiverSettings(reader: reader), merchants: try MerchantRegistry(reader: reader),
            publisher: publisher, logger: logger)
        let sandbox = SandboxNotifier(reader: reader)
        try await app.test(.router) { client in
            let accepted = try sandbox.paymentSucceeded(
                channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: "PM1", amountMinor: 1))
            _ = try await Self.execute(client, accepted)
            _ = try await Self.execute(client, accepted, path: "/notify/wechatpay/nobody")
            // The channels' port answers health probes but tells nobody about merchants and volumes.
            let exposed = try await client.execute(uri: "/metrics", method: .get) { ($0.status, String(buffer: $0.body)) }
            #expect(exposed.0 == .notFound)
            #expect(!exposed.1.contains("payfleet_"))
            let ready = try await client.execute(uri: "/health/ready", method: .get) { $0.status }
            #expect(ready == .ok)
        }
        let ops = ProcessSettings(reader: reader, defaultOpsPort: 9100).opsServer(
            role: "notify-receiver", registry: registry, broker: nil, logger: logger
        ) { publisher.unavailableReason }
        try await ops.test(.router) { client in
            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains(#"payfleet_notify_requests_total{channel="wechatpay",outcome="accepted"}"#))
            #expect(metrics.contains(#"payfleet_notify_requests_total{channel="wechatpay",outcome="unknown_merchant"}"#))
            #expect(metrics.contains(#"payfleet_notify_verify_seconds_bucket{channel="wechatpay""#))
            #expect(metrics.contains(#"payfleet_notify_publish_seconds_bucket{channel="wechatpay""#))
        }
    }

    @Test func aStaleWeChatPayNotificationIsRejectedWithoutPublishing() async throws {
        let publisher = RecordingPublisher()
        try await Self.withReceiver(publisher: publisher) { client, sandbox in
            let stale = try sandbox.paymentSucceeded(
                channel: .wechatpay, merchant: "demo", payment: .init(paymentNo: "P6", amountMinor: 1),
                signedAt: Date().addingTimeInterval(-301))
            let reply = try await Self.execute(client, stale)
            #expect(reply.status == 401)
            #expect(reply.body.hasPrefix(#"{"code":"FAIL","message":"#))
        }
        #expect(publisher.messages.isEmpty)
    }
}
