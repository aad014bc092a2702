import Foundation
import Hummingbird
import PayFleetMessages

/// One channel played by the sandbox: its API routes, and the acts of the payer and the channel that
/// `POST /sandbox/<channel>/…` simulates: WeChat Pay v3 and v2, Alipay, Baidu and Stripe, each a type conforming
/// to this, built from its settings by ``ChannelID/sandbox(_:context:)`` and registered in ``SandboxServer``.
protocol SandboxChannel: Sendable {
    /// The channel played.
    static var channel: ChannelID { get }
    /// What every channel shares: the ledger, faults, the notification dispatcher and the refund completer.
    var context: SandboxContext { get }
    /// The `<channel>` of `/sandbox/<channel>/…` and of `/notify/<channel>/<merchant>`.
    var name: String { get }
    /// The endpoint names a fault may target (`wechatpay.prepay`, …, `wechatpay.notify`).
    var faultEndpoints: [String] { get }
    func addRoutes(to router: Router<BasicRequestContext>)
    /// The payer pays: the order becomes paid and the payment notification is sent. `late`: even an order the
    /// channel closed (the payer paid in the instant before the close).
    func pay(outTradeNo: String, account: String?, late: Bool) async -> SandboxReply
    /// The order closes unpaid (e.g. it expired), with the notification the channel sends for that, if any.
    func close(outTradeNo: String, account: String?) async -> SandboxReply
    /// The refund completes (or fails, under the `abnormal` fault) and its notification is sent. `outRefundNo`: our
    /// number, or the channel's refund id (which tells apart refunds that share a number).
    func refund(outRefundNo: String, account: String?) async -> SandboxReply
    /// The refund numbers the channel gives a refund made in its merchant console: the out_refund_no it records
    /// (none of the merchant's) and its own refund id.
    func consoleRefundNumbers() -> (outRefundNo: String, refundID: String)
    /// The sandbox's view of the order.
    func state(outTradeNo: String, account: String?) -> SandboxReply
}

/// What every channel sandbox is built with besides its own settings: one ledger, fault injector, notification
/// dispatcher and refund completer for all of them (the control API and the stats read them across channels), and
/// the server-wide settings the channels apply. One value, so that adding a shared piece touches no channel's init.
struct SandboxContext: Sendable {
    let ledger: SandboxLedger
    let faults: FaultInjector
    let dispatcher: NotificationDispatcher
    /// `sandbox.notify_base_url`: where notifications go when the order named no URL.
    let notifyBaseURL: String
    /// `sandbox.drop_hold_ms`: how long a `drop` fault holds a request.
    let dropHold: Duration
    /// Completes accepted refunds by themselves (`sandbox.refund_complete_ms`).
    let completer: RefundCompleter
}

extension ChannelID {
    /// The channel's sandbox, built from its part of `settings`; nil when its sandbox keys are absent (the channel
    /// is not played). The one place that knows which type plays which channel.
    func sandbox(_ settings: SandboxSettings, context: SandboxContext) -> (any SandboxChannel)? {
        switch self {
        case .wechatpay: settings.wechatpay.map { WeChatPayV3Sandbox(settings: $0, context: context) }
        case .wechatpayV2: settings.wechatpayV2.map { WeChatPayV2Sandbox(settings: $0, context: context) }
        case .alipay: settings.alipay.map { AlipaySandbox(settings: $0, context: context) }
        case .baidu: settings.baidu.map { BaiduSandbox(settings: $0, context: context) }
        case .stripe: settings.stripe.map { StripeSandbox(settings: $0, context: context) }
        }
    }
}

extension SandboxChannel {
    var name: String { Self.channel.rawValue }
    var ledger: SandboxLedger { context.ledger }
    var faults: FaultInjector { context.faults }
    var dispatcher: NotificationDispatcher { context.dispatcher }
    var notifyBaseURL: String { context.notifyBaseURL }
    var dropHold: Duration { context.dropHold }
    var completer: RefundCompleter { context.completer }
}

// MARK: The acts' shared steps

/// The acts (`POST /sandbox/<channel>/…`) of every channel find the order or refund the same way, schedule refund
/// completions the same way and answer the same summary; only the notification each sends is the channel's own.
extension SandboxChannel {
    /// `act` on this channel's one order numbered `outTradeNo`, or the reply that says why there is none.
    func onOrder(
        _ outTradeNo: String, account: String?, _ act: (SandboxPayment) async -> SandboxReply
    ) async -> SandboxReply {
        switch ledger.unique(channel: name, outTradeNo: outTradeNo, account: account) {
        case .success(let payment): await act(payment)
        case .failure(let error): error.reply
        }
    }

    /// `act` on this channel's one order numbered `outTradeNo`, or the reply that says why there is none.
    func onOrder(_ outTradeNo: String, account: String?, _ act: (SandboxPayment) -> SandboxReply) -> SandboxReply {
        switch ledger.unique(channel: name, outTradeNo: outTradeNo, account: account) {
        case .success(let payment): act(payment)
        case .failure(let error): error.reply
        }
    }

    /// Completes this channel's one refund that `number` names (its refund id, or our out_refund_no) — it succeeds,
    /// or fails under the `abnormal` fault — and runs `announce` on it and its order as they then stand; or the
    /// reply that says why there is none.
    func completingRefund(
        _ number: String, account: String?, _ announce: (SandboxPayment, SandboxRefund) async -> SandboxReply
    ) async -> SandboxReply {
        let found: (payment: SandboxPayment, refund: SandboxRefund)
        switch ledger.uniqueRefund(channel: name, number: number, account: account) {
        case .success(let refund): found = refund
        case .failure(let error): return error.reply
        }
        guard let (payment, refund) = ledger.completeRefund(found.payment.key, refundID: found.refund.refundID) else {
            return noRefund(number)
        }
        return await announce(payment, refund)
    }

    /// The act's reply when the refund `number` names is not there to complete.
    func noRefund(_ number: String) -> SandboxReply {
        .error(404, "no \(name) refund \(number)")
    }

    /// A refund the API call just made completes by itself after `sandbox.refund_complete_ms`, as the channel's own
    /// refund act (with its notification); a repeated call, which made nothing, schedules nothing.
    func completeLater(_ made: (payment: SandboxPayment, refund: SandboxRefund, created: Bool)) {
        guard made.created else { return }
        let account = made.payment.key.account
        let refundID = made.refund.refundID
        completer.schedule(made.payment.key, refundID: refundID) {
            _ = await refund(outRefundNo: refundID, account: account)
        }
    }

    /// An act's reply: the order as it now stands (`status`, in the channel's words) and the notification the act
    /// sent, if any.
    func summary(
        _ payment: SandboxPayment, status: (SandboxPayment) -> Any, delivery: SandboxDelivery?
    ) -> [String: Any] {
        let current = ledger.payment(payment.key) ?? payment
        var object: [String: Any] = [
            "channel": name, "account": payment.key.account, "out_trade_no": payment.outTradeNo,
            "status": status(current), "notification_attempts": delivery?.attempts.count ?? 0,
        ]
        if let delivery { object["notification"] = delivery.json }
        return object
    }
}

extension SandboxLedger {
    /// The one order of `channel` numbered `outTradeNo`, or the reply that says why there is none.
    func unique(channel: String, outTradeNo: String, account: String?) -> Result<SandboxPayment, SandboxReplyError> {
        let found = find(channel: channel, outTradeNo: outTradeNo, account: account)
        switch found.count {
        case 1: return .success(found[0])
        case 0: return .failure(.init(.error(404, "no \(channel) order \(outTradeNo)")))
        default:
            return .failure(
                .init(.error(409, "\(found.count) \(channel) orders are numbered \(outTradeNo); add ?account=<mchid|app_id>")))
        }
    }

    /// The one refund of `channel` that `number` names — its channel id (`refund_id`, `re_…`, Baidu's batch id) or
    /// else our out_refund_no — with its order, or the reply that says why there is none. Refunds sharing one number
    /// (Stripe makes a second one for a reused `metadata[out_refund_no]` under another Idempotency-Key) are named
    /// by their ids.
    func uniqueRefund(
        channel: String, number: String, account: String?
    ) -> Result<(payment: SandboxPayment, refund: SandboxRefund), SandboxReplyError> {
        for payment in find(channel: channel, refundID: number, account: account) {
            if let refund = payment.refunds.first(where: { $0.refundID == number }) {
                return .success((payment, refund))
            }
        }
        let found = findRefund(channel: channel, outRefundNo: number, account: account).flatMap { payment in
            payment.refunds.filter { $0.outRefundNo == number }.map { (payment: payment, refund: $0) }
        }
        switch found.count {
        case 1: return .success(found[0])
        case 0: return .failure(.init(.error(404, "no \(channel) refund \(number)")))
        default:
            let ids = found.map { "\($0.payment.key.account)/\($0.refund.refundID)" }.joined(separator: ", ")
            return .failure(
                .init(
                    .error(
                        409,
                        "\(found.count) \(channel) refunds are numbered \(number) (\(ids)); name one by its refund id "
                            + "and add ?account=<mchid|app_id> if needed")))
        }
    }
}

/// A reply carried as an error, to leave a handler early.
struct SandboxReplyError: Error {
    var reply: SandboxReply
    init(_ reply: SandboxReply) { self.reply = reply }
}
