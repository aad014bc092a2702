import Foundation

/// Identifies one order at one channel: the channel, the merchant account there (WeChat Pay `mchid`, Alipay
/// `app_id`) and our `out_trade_no`.
public struct SandboxPaymentKey: Hashable, Sendable, CustomStringConvertible {
    public var channel: String
    public var account: String
    public var outTradeNo: String

    public init(channel: String, account: String, outTradeNo: String) {
        self.channel = channel
        self.account = account
        self.outTradeNo = outTradeNo
    }

    public var description: String { "\(channel)/\(account)/\(outTradeNo)" }
}

/// An order as the sandbox channel keeps it. Channel-neutral; each channel names the states its own way.
public struct SandboxPayment: Sendable {
    public enum Status: String, Sendable {
        /// Created, not paid (WeChat Pay `NOTPAY`, Alipay `WAIT_BUYER_PAY`).
        case unpaid
        /// Paid (WeChat Pay `SUCCESS`, or `REFUND` once refunded; Alipay `TRADE_SUCCESS`).
        case paid
        /// Closed unpaid, or (Alipay) fully refunded (WeChat Pay `CLOSED`, Alipay `TRADE_CLOSED`).
        case closed
    }

    public var key: SandboxPaymentKey
    /// Our merchant id (the `<merchant>` of `/notify/<channel>/<merchant>`).
    public var merchantID: String
    public var appID: String
    /// The channel's own number for the order (WeChat Pay `transaction_id`, Alipay `trade_no`).
    public var tradeNo: String
    /// What the prepay handed back: `prepay_id`, `code_url` or `qr_code`.
    public var credential: String?
    /// JSAPI, NATIVE, or the Alipay method that created it.
    public var tradeType: String
    public var amountMinor: Int64
    public var currency: String
    public var subject: String
    public var attach: String?
    public var payer: String?
    public var notifyURL: String
    public var status: Status
    public var createdAt: Date
    public var paidAt: Date?
    public var closedAt: Date?
    public var refunds: [SandboxRefund] = []
    public var notifications: [SandboxDelivery] = []

    /// What the refunds take from the order: every refund that has not failed (processing ones included), which is
    /// what a new refund must fit beside.
    public var refundedMinor: Int64 { refunds.filter { $0.status != .failed }.reduce(0) { $0 + $1.amountMinor } }

    /// The money back with the payer: the refunds that succeeded.
    public var refundedSuccessMinor: Int64 {
        refunds.filter { $0.status == .success }.reduce(0) { $0 + $1.amountMinor }
    }

    public var outTradeNo: String { key.outTradeNo }
}

/// A refund as the sandbox channel keeps it.
public struct SandboxRefund: Sendable {
    public enum Status: String, Sendable {
        /// Accepted, money not back yet (WeChat Pay `PROCESSING`).
        case processing
        /// Done (WeChat Pay `SUCCESS`, Alipay `REFUND_SUCCESS`).
        case success
        /// Given up after it was accepted (WeChat Pay `ABNORMAL`, v2 `CHANGE`, Baidu refundStatus 2/3, Stripe
        /// `failed`): the `abnormal` fault.
        case failed
    }

    /// Who made it.
    public enum Origin: String, Sendable {
        /// The merchant's API call.
        case api
        /// The merchant's console (`POST /sandbox/<channel>/console-refund/<no>`): none of the merchant's numbers.
        case console
    }

    /// `out_refund_no` (WeChat Pay) or `out_request_no` (Alipay).
    public var outRefundNo: String
    public var refundID: String
    public var amountMinor: Int64
    public var reason: String?
    public var notifyURL: String?
    public var status: Status
    public var createdAt: Date
    public var succeededAt: Date?
    public var origin: Origin = .api
    /// Refund API calls under this number, the first included: a second call is a replay, never a second refund.
    public var requests: Int = 1
    /// Every distinct amount asked under this number (one, unless a caller sent the number with another amount).
    public var amountsRequested: [Int64] = []
    /// Completes as failed (the `abnormal` fault).
    public var failsOnCompletion = false
    public var failedAt: Date?
    /// Its completion was announced (by the explicit act or the scheduled completion): the scheduled completion
    /// does not announce it a second time.
    public var announced = false

    init(
        outRefundNo: String, refundID: String, amountMinor: Int64, reason: String?, notifyURL: String?, status: Status,
        createdAt: Date, succeededAt: Date? = nil, origin: Origin = .api, failsOnCompletion: Bool = false
    ) {
        self.outRefundNo = outRefundNo
        self.refundID = refundID
        self.amountMinor = amountMinor
        self.reason = reason
        self.notifyURL = notifyURL
        self.status = status
        self.createdAt = createdAt
        self.succeededAt = succeededAt
        self.origin = origin
        self.amountsRequested = [amountMinor]
        self.failsOnCompletion = failsOnCompletion
    }
}

/// One notification the sandbox sends (with its retries) and what became of each attempt.
public struct SandboxDelivery: Sendable {
    public struct Attempt: Sendable {
        public var number: Int
        public var at: Date
        /// `HTTP 200 accepted`, `HTTP 500`, `dropped (fault)`, `error: …`.
        public var outcome: String
        public var accepted: Bool
    }

    /// The notification's id (WeChat Pay `id`, Alipay `notify_id`): the same on every attempt.
    public var id: String
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `TRADE_SUCCESS`, `TRADE_CLOSED`, …
    public var event: String
    public var url: String
    public var attempts: [Attempt] = []
    /// Some attempt was accepted by the merchant.
    public var delivered: Bool = false
    /// No more attempts will be made (delivered, schedule exhausted, or the sandbox stopped).
    public var finished: Bool = false
}

extension SandboxPayment {
    /// The sandbox's view of the order for `GET /sandbox/state/…`, `state` in the channel's words.
    func stateJSON(state: String, refundState: (SandboxRefund) -> String) -> [String: Any] {
        var object: [String: Any] = [
            "channel": key.channel, "account": key.account, "merchant": merchantID, "out_trade_no": key.outTradeNo,
            "trade_no": tradeNo, "trade_type": tradeType, "status": state, "amount": amountMinor, "currency": currency,
            "refunded": refundedMinor, "notify_url": notifyURL, "created_at": Self.iso(createdAt),
            "refunds": refunds.map { refund -> [String: Any] in
                var item: [String: Any] = [
                    "out_refund_no": refund.outRefundNo, "refund_id": refund.refundID, "amount": refund.amountMinor,
                    "status": refundState(refund), "created_at": Self.iso(refund.createdAt),
                ]
                if let at = refund.succeededAt { item["succeeded_at"] = Self.iso(at) }
                return item
            },
            "notifications": notifications.map(\.json),
        ]
        if let paidAt { object["paid_at"] = Self.iso(paidAt) }
        if let closedAt { object["closed_at"] = Self.iso(closedAt) }
        if let credential { object["credential"] = credential }
        return object
    }

    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }
}

extension SandboxDelivery {
    var json: [String: Any] {
        [
            "id": id, "event": event, "url": url, "delivered": delivered, "finished": finished,
            "attempts": attempts.count,
            "log": attempts.map { ["attempt": $0.number, "at": SandboxPayment.iso($0.at), "outcome": $0.outcome] },
        ]
    }
}
