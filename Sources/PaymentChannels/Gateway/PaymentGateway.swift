import Foundation
import PayFleetMessages

/// A payment to open at a channel: what payment-worker passes to ``PaymentGateway/prepay(_:)`` for a
/// `payment.create` job.
public struct PrepayOrder: Sendable, Equatable {
    /// Our payment number: the channel's `out_trade_no` and the idempotency key of the prepay.
    public var paymentNo: String
    /// In minor units (fen, cents); more than 0.
    public var amountMinor: Int64
    /// ISO 4217, upper case.
    public var currency: String
    /// Shown to the payer.
    public var description: String
    /// When the payment stops accepting money; the channel is told so where it can be.
    public var expiresAt: Date?
    /// The job's client context, as sent by the order service. Keys a gateway reads:
    /// `trade_type` (which product: WeChat `jsapi` or `native`, Alipay `precreate`, `app`, `wap` or `create`),
    /// `openid` (WeChat JSAPI's payer), `buyer_id` (Alipay create), `client_ip` (WeChat v2). Unknown keys are
    /// ignored.
    public var client: [String: String]

    public init(
        paymentNo: String, amountMinor: Int64, currency: String, description: String, expiresAt: Date? = nil,
        client: [String: String] = [:]
    ) {
        self.paymentNo = paymentNo
        self.amountMinor = amountMinor
        self.currency = currency
        self.description = description
        self.expiresAt = expiresAt
        self.client = client
    }

    /// `client["trade_type"]` lower-cased, or `fallback`.
    public func tradeType(default fallback: String) -> String {
        client["trade_type"].map { $0.lowercased() }.flatMap { $0.isEmpty ? nil : $0 } ?? fallback
    }
}

/// A payment the channel reports as paid, as ``PaymentGateway/query(paymentNo:)`` found it.
public struct ChannelPayment: Sendable, Equatable {
    public var paymentNo: String
    /// The channel's own trade number.
    public var channelTradeNo: String
    /// What the channel says was paid, in minor units; compared with our amount when settling.
    public var amountMinor: Int64
    /// ISO 4217, upper case.
    public var currency: String
    public var paidAt: Date
    /// The verified response text, kept for the audit trail.
    public var raw: String
    /// The payer's id where a later refund needs it (Baidu's userId); nil elsewhere.
    public var payerID: String?

    public init(
        paymentNo: String, channelTradeNo: String, amountMinor: Int64, currency: String, paidAt: Date, raw: String,
        payerID: String? = nil
    ) {
        self.paymentNo = paymentNo
        self.channelTradeNo = channelTradeNo
        self.amountMinor = amountMinor
        self.currency = currency
        self.paidAt = paidAt
        self.raw = raw
        self.payerID = payerID
    }
}

/// What a channel says about one payment.
public enum ChannelPaymentState: Sendable, Equatable {
    /// The channel knows the payment and no money has arrived yet; `detail` is its own state name.
    case pending(detail: String)
    /// Money arrived (a later refund does not change that).
    case paid(ChannelPayment)
    /// Closed, cancelled or revoked unpaid at the channel; `detail` is its own state name.
    case closed(detail: String)
    /// The channel has no such payment: never opened there, or gone before anyone paid.
    case notFound
}

/// One merchant account of one channel, as payment-worker calls it: open a payment, ask about it, close it.
///
/// Every method is one signed API call (or none, where the channel needs none) with the channel's response
/// verified; failures are ``ChannelAPIError``s whose ``ChannelAPIError/isTransient`` tells a retry from a
/// rejection. No retries inside: retrying is the retry-worker's job. Each call is idempotent on the payment
/// number, so a retried job never opens or closes twice.
public protocol PaymentGateway: Sendable {
    var channel: ChannelID { get }
    /// Our merchant account id (`channels.<channel>.merchants`).
    var merchantID: String { get }

    /// Opens the payment at the channel and returns the parameters the payer's client needs (WeChat JSAPI's
    /// signed set, a QR code URL, an Alipay order string, a Stripe client secret, …).
    func prepay(_ order: PrepayOrder) async throws(ChannelAPIError) -> [String: String]

    /// Asks the channel for the payment's state.
    func query(paymentNo: String) async throws(ChannelAPIError) -> ChannelPaymentState

    /// Closes the payment at the channel so it can no longer be paid. A payment the channel never saw or
    /// already closed counts as closed. One paid meanwhile fails with ``ChannelAPIError/Code/rejected``; the
    /// caller then queries and settles it.
    func close(paymentNo: String) async throws(ChannelAPIError)

    /// Asks the channel to give `order.amountMinor` of the payment back. Idempotent on `order.refundNo` (the
    /// channel's out_refund_no / out_request_no / bizRefundBatchId / Stripe Idempotency-Key): calling again after a
    /// lost answer returns the same refund, never a second one.
    func refund(_ order: RefundOrder) async throws(ChannelAPIError) -> ChannelRefundState

    /// Asks the channel about one refund.
    func queryRefund(_ lookup: RefundLookup) async throws(ChannelAPIError) -> ChannelRefundState

    /// The channel's bill of `day` (its own day: China Standard Time, or UTC for Stripe), downloaded and parsed
    /// from the channel's real format, for reconciliation. A channel whose API has no bill fails with
    /// ``ChannelAPIError/Code/configuration`` saying so.
    func bill(for day: BillDay) async throws(ChannelAPIError) -> ChannelBill

    /// Whether ``bill(for:)`` downloads a bill (false where the channel's API offers none PayFleet reads).
    var offersBill: Bool { get }
}

extension PaymentGateway {
    public var offersBill: Bool { false }

    public func bill(for day: BillDay) async throws(ChannelAPIError) -> ChannelBill {
        throw ChannelAPIError(
            code: .configuration, channel: channel, operation: "bill",
            message: "\(channel.rawValue) offers no bill download PayFleet can read")
    }
}

extension ChannelID {
    /// The day a channel's bill covers: China Standard Time for the Chinese channels, UTC for Stripe.
    public var billTimeZone: TimeZone {
        switch self {
        case .stripe: TimeZone(identifier: "UTC")!
        case .wechatpay, .wechatpayV2, .alipay, .baidu: TimeZone(secondsFromGMT: 8 * 3600)!
        }
    }
}
