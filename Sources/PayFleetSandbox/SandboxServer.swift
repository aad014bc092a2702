import AsyncHTTPClient
import Configuration
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import PayFleetMessages
import ServiceLifecycle
import UnixSignals

/// The channel sandbox: an HTTP server that stands in for the channels' APIs (WeChat Pay v3 under `/v3/…`,
/// Alipay's gateway at `/gateway.do`, Baidu's cashier at `/rest/2.0/smartapp/pay/paymentservice/…` and
/// `/cashier/applyOrderRefund`, Stripe under `/v1/…`), keeps their orders and refunds in memory, and plays the
/// payer and the channel on `/sandbox/…` — paying, closing and refunding, and sending the signed notifications with the
/// channels' retry schedules. TEST-ONLY keys; never point production at it.
///
/// WeChat Pay v2 answers `/pay/unifiedorder`, `/pay/orderquery`, `/pay/closeorder` and `/pay/refundquery` on the
/// same port, and `/secapi/pay/refund` on a second, TLS listener (``refundTLSApplication()``,
/// `sandbox.wechatpay_v2.tls_port`) that requires a client certificate issued by the sandbox's TEST-ONLY CA.
///
/// Control API (JSON):
/// - `POST /sandbox/<channel>/pay/<out_trade_no>` (`?late=1`: even an order the channel closed),
///   `…/close/<out_trade_no>`, `…/refund/<out_refund_no or the channel's refund id>` (`?account=<mchid|app_id>` when
///   several merchants share a number): acts and answers a summary with the notification's attempts so far. Refunds
///   the API accepts complete by themselves after `sandbox.refund_complete_ms` and notify, as the channels do; one
///   the refund act completed (and announced) first is not announced again.
/// - `POST /sandbox/<channel>/console-refund/<out_trade_no>?amount=N`: the merchant refunds in the channel's console
///   (none of its numbers on the refund); completed and notified like the others.
/// - `GET /sandbox/stats`: the notifications sent (deliveries, attempts, accepted, retried, duplicated) and the
///   orders paid, per channel.
/// - `GET /sandbox/refunds[?channel=…]`: every refund with how many calls asked for its number and with which
///   amounts, every refused refund call, and per paid order what it took and what went back.
/// - `GET /sandbox/state/<channel>/<out_trade_no>`: the sandbox's view of the order.
/// - `POST /sandbox/baidu/cashier`: the payer opens Baidu's cashier with a signed orderInfo (see ``BaiduSandbox``).
/// - `POST /sandbox/<channel>/pay/<out_trade_no>?paid_at=<ISO 8601>`: paid at that time instead of now (its bill day).
/// - `POST /sandbox/bills/refunded_at {"out_refund_no":…,"refunded_at":<ISO 8601>}`: that refund, when the channel
///   completes it, completes at that time (its bill day): asynchronously (WeChat Pay, Stripe, Baidu) or as it is
///   made (Alipay); Stripe's refund is also created at that time, since Stripe lists refunds by `created`.
/// - `POST /sandbox/bills/edits` `{"channel":…,"out_trade_no":…,"edit":"drop|amount|add","amount":N,
///   "out_refund_no":…}`: every bill served afterwards drops, changes or adds that line; `GET`/`DELETE` list and
///   clear them. `GET /sandbox/bills/downloads`: how often each `<channel>/<account>/<day>` bill was downloaded.
/// - `POST /sandbox/bills/created_at` `{"out_trade_no":…,"created_at":<ISO 8601>}`: the next Stripe PaymentIntent
///   made for that number is created at that time (Stripe lists a PaymentIntent on the day of its `created`).
/// - `POST /sandbox/faults`
///   `{"endpoint":…,"mode":"drop|delay|error5xx|duplicate|tamper|refuse|abnormal","count":N,"delay_ms":…}`,
///   `GET /sandbox/faults`, `DELETE /sandbox/faults`.
public final class SandboxServer: Sendable {
    public let settings: SandboxSettings
    let faults: FaultInjector
    let ledger: SandboxLedger
    let dispatcher: NotificationDispatcher
    /// Completes accepted refunds by themselves (`sandbox.refund_complete_ms`).
    let completer: RefundCompleter
    let channels: [any SandboxChannel]
    /// WeChat Pay v2, also served on its refund TLS listener.
    let weChatPayV2: WeChatPayV2Sandbox?
    let logger: Logger

    /// `httpClient` sends the notifications.
    public init(settings: SandboxSettings, httpClient: HTTPClient = .shared, logger: Logger) {
        self.settings = settings
        self.logger = logger
        let ledger = SandboxLedger()
        var endpoints: Set<String> = []
        let faults = FaultInjector(endpoints: [])
        let dispatcher = NotificationDispatcher(
            client: httpClient, ledger: ledger, faults: faults, compression: settings.timeCompression,
            timeout: settings.notifyTimeout, duplicateShare: settings.duplicateShare, logger: logger)
        let completer = RefundCompleter(delay: settings.refundComplete, ledger: ledger)
        let context = SandboxContext(
            ledger: ledger, faults: faults, dispatcher: dispatcher, notifyBaseURL: settings.notifyBaseURL,
            dropHold: settings.dropHold, completer: completer)
        let channels = Self.listed.compactMap { $0.sandbox(settings, context: context) }
        self.weChatPayV2 = channels.lazy.compactMap { $0 as? WeChatPayV2Sandbox }.first
        for channel in channels { endpoints.formUnion(channel.faultEndpoints) }
        faults.allow(endpoints)
        self.ledger = ledger
        self.faults = faults
        self.dispatcher = dispatcher
        self.completer = completer
        self.channels = channels
    }

    /// Reads ``SandboxSettings`` from `reader`.
    public convenience init(reader: ConfigReader, httpClient: HTTPClient = .shared) throws {
        let settings = try SandboxSettings(reader: reader)
        self.init(settings: settings, httpClient: httpClient, logger: Self.logger(level: settings.logLevel))
    }

    /// Every channel, in the order the sandbox lists the ones it plays (its start-up line, the reply to an unknown
    /// channel): WeChat Pay v2, the last one added, stays last.
    static let listed: [ChannelID] = ChannelID.allCases.filter { $0 != .wechatpayV2 } + [.wechatpayV2]

    /// The process's logger, `channel-sandbox`, at `level` (`log.level`; info when unknown).
    public static func logger(level: String) -> Logger {
        var logger = Logger(label: "channel-sandbox")
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }

    /// The names of the channels played (`wechatpay`, `wechatpay-v2`, `alipay`, `baidu`, `stripe`).
    public var channelNames: [String] { channels.map(\.name) }

    /// Every route: the channels' APIs and the control API.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        for channel in channels { channel.addRoutes(to: router) }
        SandboxControlRoutes(channels: channels, faults: faults, ledger: ledger, completer: completer)
            .addRoutes(to: router)
        // Liveness and readiness, like every PayFleet process: the sandbox has no dependencies,
        // so it is ready as soon as it serves.
        for path in ["/health/live", "/health/ready"] {
            router.get(RouterPath(path)) { _, _ in "ok\n" }
        }
        return router
    }

    /// The HTTP application, listening on `sandbox.host`:`sandbox.port`.
    public func application() -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(
                address: .hostname(settings.host, port: settings.port), serverName: "payfleet-channel-sandbox"),
            logger: logger)
    }

    /// The TLS application of WeChat Pay v2's `/secapi/pay/refund`, listening on `sandbox.host`:
    /// `sandbox.wechatpay_v2.tls_port` and requiring a client certificate from `sandbox.wechatpay_v2.client_ca`;
    /// nil when WeChat Pay v2 is not played over TLS.
    public func refundTLSApplication() throws -> Application<RouterResponder<BasicRequestContext>>? {
        guard let weChatPayV2, let tls = weChatPayV2.settings.refundTLS else { return nil }
        let router = Router()
        weChatPayV2.addRefundRoute(to: router)
        return Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(
                address: .hostname(settings.host, port: weChatPayV2.settings.refundTLSPort),
                serverName: "payfleet-channel-sandbox"),
            logger: logger)
    }

    /// Serves (with the refund TLS listener, if any) until SIGTERM or SIGINT, then cancels the pending
    /// notification retries.
    public func run() async throws {
        defer { shutdown() }
        guard let secure = try refundTLSApplication() else {
            try await application().runService()
            return
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: application()), .init(service: secure)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// Cancels the notification retries still pending; call after the application stops.
    public func shutdown() {
        dispatcher.cancelRetries()
        completer.cancelAll()
    }
}
