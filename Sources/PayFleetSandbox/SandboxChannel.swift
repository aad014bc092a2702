import Hummingbird

/// One channel played by the sandbox: its API routes, and the acts of the payer and the channel that
/// `POST /sandbox/<channel>/…` simulates: WeChat Pay v3 and v2, Alipay, Baidu and Stripe, each a type conforming
/// to this, registered in ``SandboxServer``.
protocol SandboxChannel: Sendable {
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
