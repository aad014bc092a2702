import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import PayFleetMessages
import PaymentChannels

/// `POST /notify/<channel>/<merchant>`: verify, normalise, publish with a confirm, and only
/// then answer the channel's success reply. Touches no database.
///
/// Every failure is answered in the channel's own format with a status that makes the
/// channel retry when retrying can help (5xx when the broker did not confirm) and not when
/// it cannot (4xx for bad signatures, stale timestamps, malformed bodies, unknown merchants).
/// Logs carry channel, merchant, outcome and ids — never a body, a header value or a key.
public struct NotifyController: Sendable {
    let merchants: MerchantRegistry
    let publisher: any NotificationPublisher
    let maxBodyBytes: Int
    let logger: Logger
    let now: @Sendable () -> Date
    /// The handles every accepted notification records, made once per channel instead of per request (a handle
    /// made per request is a registry lookup under a lock each time).
    let hot: [ChannelID: HotMetrics]

    struct HotMetrics: Sendable {
        let accepted: Counter
        let verify: Timer
        let publish: Timer

        init(_ channel: ChannelID) {
            accepted = Counter(
                label: "payfleet_notify_requests_total", dimensions: [("channel", channel.rawValue), ("outcome", "accepted")])
            verify = Timer(label: "payfleet_notify_verify_seconds", dimensions: [("channel", channel.rawValue)])
            publish = Timer(label: "payfleet_notify_publish_seconds", dimensions: [("channel", channel.rawValue)])
        }
    }

    public init(
        merchants: MerchantRegistry, publisher: any NotificationPublisher, maxBodyBytes: Int, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.merchants = merchants
        self.publisher = publisher
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
        self.now = now
        hot = Dictionary(uniqueKeysWithValues: ChannelID.allCases.map { ($0, HotMetrics($0)) })
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/notify/:channel/:merchant") { request, context in
            await self.handle(request: request, context: context)
        }
    }

    /// The content type each channel posts with.
    static func expectedMediaType(_ channel: ChannelID) -> String {
        channel.descriptor.notificationMediaType
    }

    func handle<Context: RequestContext>(request: Request, context: Context) async -> Response {
        let channelName = context.parameters.get("channel") ?? ""
        let merchantID = context.parameters.get("merchant") ?? ""
        guard let channel = ChannelID(rawValue: channelName) else {
            count("unknown", "unknown_channel")
            return Self.response(
                ChannelReply(status: 404, contentType: "application/json", body: #"{"code":"FAIL","message":"unknown channel"}"#))
        }
        var log = logger
        log[metadataKey: "channel"] = "\(channel.rawValue)"
        log[metadataKey: "merchant"] = "\(merchantID)"

        guard let verifier = merchants.verifier(channel: channel, merchant: merchantID) else {
            log.warning("notification for an unknown merchant")
            count(channel.rawValue, "unknown_merchant")
            return Self.response(channel.failureReply(status: 404, message: "unknown merchant"))
        }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.contains(Self.expectedMediaType(channel)) else {
            log.warning("notification with an unexpected content type", metadata: ["content_type": "\(contentType.prefix(64))"])
            count(channel.rawValue, "bad_content_type")
            return Self.response(verifier.failureReply(status: 415, message: "unsupported content type"))
        }
        let body: [UInt8]
        do {
            var request = request
            let buffer = try await request.collectBody(upTo: maxBodyBytes)
            body = Array(buffer.readableBytesView)
        } catch {
            log.warning("notification body over the size cap or unreadable", metadata: ["max_body_bytes": "\(maxBodyBytes)"])
            count(channel.rawValue, "body_too_large")
            return Self.response(verifier.failureReply(status: 413, message: "body too large"))
        }

        var headers: [String: String] = [:]
        for field in request.headers {
            headers[field.name.canonicalName.lowercased()] = field.value
        }
        let verifyStart = ContinuousClock.now
        let verified: VerifiedNotification
        do {
            verified = try verifier.verify(ChannelRequest(headers: headers, body: body), now: now())
            hot[channel]?.verify.recordNanoseconds((ContinuousClock.now - verifyStart).nanoseconds)
        } catch {
            if error.isProbe {
                log.debug("signature probe answered with a failure, as the channel expects", metadata: ["code": "\(error.code)"])
            } else {
                log.warning(
                    "notification rejected", metadata: ["code": "\(error.code)", "reason": "\(error.description)"])
            }
            count(channel.rawValue, "rejected_\(error.code)")
            return Self.response(verifier.failureReply(status: error.httpStatus, message: error.description))
        }

        let message: VerifiedMessage
        do {
            switch verified {
            case .ignored(let reason):
                log.info("authentic notification with nothing to do", metadata: ["reason": "\(reason)"])
                count(channel.rawValue, "ignored")
                return Self.response(verifier.successReply(for: verified))
            case .payment(let notification):
                log[metadataKey: "payment_no"] = "\(notification.paymentNo)"
                log[metadataKey: "notification_id"] = "\(notification.id)"
                message = try VerifiedMessage(notification)
            case .refund(let notification):
                log[metadataKey: "refund_no"] = "\(notification.refundNo)"
                log[metadataKey: "notification_id"] = "\(notification.id)"
                message = try VerifiedMessage(notification)
            }
        } catch {
            log.error("could not encode the normalised notification", metadata: ["error": "\(error)"])
            count(channel.rawValue, "encode_failed")
            return Self.response(verifier.failureReply(status: 500, message: "internal error, retry later"))
        }

        let publishStart = ContinuousClock.now
        do {
            try await publisher.publish(message)
            hot[channel]?.publish.recordNanoseconds((ContinuousClock.now - publishStart).nanoseconds)
        } catch {
            log.error(
                "broker did not confirm the notification; answering failure so the channel retries",
                metadata: ["error": "\(error)"])
            count(channel.rawValue, "publish_failed")
            return Self.response(verifier.failureReply(status: 503, message: "temporarily unavailable, retry later"))
        }
        log.info("notification accepted", metadata: ["routing_key": "\(message.routingKey)"])
        hot[channel]?.accepted.increment()
        return Self.response(verifier.successReply(for: verified))
    }

    func count(_ channel: String, _ outcome: String) {
        Counter(label: "payfleet_notify_requests_total", dimensions: [("channel", channel), ("outcome", outcome)]).increment()
    }

    static func response(_ reply: ChannelReply) -> Response {
        Response(
            status: HTTPResponse.Status(code: reply.status),
            headers: [.contentType: reply.contentType],
            body: .init(byteBuffer: ByteBuffer(string: reply.body)))
    }
}
