import AsyncHTTPClient
import Configuration
import Foundation
import Hummingbird
import Logging

/// The channel sandbox: an HTTP server that stands in for the channels' APIs (WeChat Pay v3 under `/v3/…`,
/// Alipay's gateway at `/gateway.do`), keeps their orders and refunds in memory, and plays the payer and the
/// channel on `/sandbox/…` — paying, closing and refunding, and sending the signed notifications with the
/// channels' retry schedules. TEST-ONLY keys; never point production at it.
///
/// Control API (JSON):
/// - `POST /sandbox/<channel>/pay/<out_trade_no>`, `…/close/<out_trade_no>`, `…/refund/<out_refund_no>`
///   (`?account=<mchid|app_id>` when several merchants share a number): acts and answers a summary with the
///   notification's attempts so far.
/// - `GET /sandbox/state/<channel>/<out_trade_no>`: the sandbox's view of the order.
/// - `POST /sandbox/faults` `{"endpoint":…,"mode":"drop|delay|error5xx|duplicate|tamper","count":N,"delay_ms":…}`,
///   `GET /sandbox/faults`, `DELETE /sandbox/faults`.
public final class SandboxServer: Sendable {
    public let settings: SandboxSettings
    let faults: FaultInjector
    let ledger: SandboxLedger
    let dispatcher: NotificationDispatcher
    let channels: [any SandboxChannel]
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
            timeout: settings.notifyTimeout, logger: logger)
        var channels: [any SandboxChannel] = []
        if let wechatpay = settings.wechatpay {
            channels.append(
                WeChatPayV3Sandbox(
                    settings: wechatpay, ledger: ledger, faults: faults, dispatcher: dispatcher,
                    notifyBaseURL: settings.notifyBaseURL, dropHold: settings.dropHold))
        }
        if let alipay = settings.alipay {
            channels.append(
                AlipaySandbox(
                    settings: alipay, ledger: ledger, faults: faults, dispatcher: dispatcher,
                    notifyBaseURL: settings.notifyBaseURL, dropHold: settings.dropHold))
        }
        for channel in channels { endpoints.formUnion(channel.faultEndpoints) }
        faults.allow(endpoints)
        self.ledger = ledger
        self.faults = faults
        self.dispatcher = dispatcher
        self.channels = channels
    }

    /// Reads ``SandboxSettings`` from `reader`.
    public convenience init(reader: ConfigReader, httpClient: HTTPClient = .shared) throws {
        let settings = try SandboxSettings(reader: reader)
        self.init(settings: settings, httpClient: httpClient, logger: Self.logger(level: settings.logLevel))
    }

    /// The process's logger, `channel-sandbox`, at `level` (`log.level`; info when unknown).
    public static func logger(level: String) -> Logger {
        var logger = Logger(label: "channel-sandbox")
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }

    /// The names of the channels played (`wechatpay`, `alipay`).
    public var channelNames: [String] { channels.map(\.name) }

    /// Every route: the channels' APIs and the control API.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        for channel in channels { channel.addRoutes(to: router) }
        SandboxControlRoutes(channels: channels, faults: faults).addRoutes(to: router)
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

    /// Serves until SIGTERM or SIGINT, then cancels the pending notification retries.
    public func run() async throws {
        defer { shutdown() }
        try await application().runService()
    }

    /// Cancels the notification retries still pending; call after the application stops.
    public func shutdown() {
        dispatcher.cancelRetries()
    }
}
