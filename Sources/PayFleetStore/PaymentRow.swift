import Foundation
import PayFleetMessages

/// A payment and its order as stored, for `payfleet status` and tests.
public struct PaymentRow: Sendable, Equatable {
    public var paymentNo: String
    public var status: PaymentStatus
    public var channel: String
    public var merchant: String
    public var amountMinor: Int64
    public var currency: String
    public var refundedMinor: Int64
    /// Refunds requested or processing at the channel: reserved, not yet given back.
    public var refundPendingMinor: Int64
    public var channelTradeNo: String?
    public var createdAt: Date
    public var paidAt: Date?
    public var expiresAt: Date?
    public var closedAt: Date?
    public var orderNo: String
    /// `pending`, `paid`, `closed` or `cancelled`.
    public var orderStatus: String
    /// When the channel's prepay was recorded; nil while the payment was never opened at its channel.
    public var prepaidAt: Date?
    /// What the prepay returned for the payer's client.
    public var payParameters: [String: String]?
    /// Where the order's stock is.
    public var inventoryStatus: InventoryStatus
    /// The payer's id at the channel where its refund API needs it (Baidu's userId).
    public var payerID: String?

    public init(
        paymentNo: String, status: PaymentStatus, channel: String, merchant: String, amountMinor: Int64,
        currency: String, refundedMinor: Int64, refundPendingMinor: Int64 = 0, channelTradeNo: String?,
        createdAt: Date, paidAt: Date?, expiresAt: Date?, closedAt: Date?, orderNo: String, orderStatus: String,
        prepaidAt: Date? = nil, payParameters: [String: String]? = nil, inventoryStatus: InventoryStatus = .reserved,
        payerID: String? = nil
    ) {
        self.paymentNo = paymentNo
        self.status = status
        self.channel = channel
        self.merchant = merchant
        self.amountMinor = amountMinor
        self.currency = currency
        self.refundedMinor = refundedMinor
        self.refundPendingMinor = refundPendingMinor
        self.channelTradeNo = channelTradeNo
        self.createdAt = createdAt
        self.paidAt = paidAt
        self.expiresAt = expiresAt
        self.closedAt = closedAt
        self.orderNo = orderNo
        self.orderStatus = orderStatus
        self.prepaidAt = prepaidAt
        self.payParameters = payParameters
        self.inventoryStatus = inventoryStatus
        self.payerID = payerID
    }
}
