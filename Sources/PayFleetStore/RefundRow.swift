import Foundation
import PayFleetMessages

/// A refund and the payment it gives money back from, as stored: what refund-worker calls the channel with, and
/// what `payfleet status --refund` shows.
public struct RefundRow: Sendable, Equatable {
    public enum Origin: String, Sendable {
        /// Asked for with `refund.create`.
        case requested
        /// Made in the channel's merchant console; learnt from its notification.
        case channel
    }

    public var refundNo: String
    public var status: RefundStatus
    public var origin: Origin
    public var amountMinor: Int64
    public var currency: String
    public var reason: String
    /// The channel's refund number, once it gave one.
    public var channelRefundNo: String?
    /// Why it failed, when it did.
    public var lastError: String?
    public var createdAt: Date
    /// When the channel accepted it.
    public var processingAt: Date?
    public var succeededAt: Date?
    public var failedAt: Date?

    public var paymentNo: String
    public var orderNo: String
    public var channel: String
    public var merchant: String
    public var paymentStatus: PaymentStatus
    public var paymentAmountMinor: Int64
    /// The payment's channel trade number (nil only for a payment that was never paid).
    public var channelTradeNo: String?
    /// The payer's id where the channel's refund API needs it (Baidu's userId).
    public var payerID: String?
}
