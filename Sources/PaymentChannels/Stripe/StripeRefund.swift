/// A Refund as the Stripe API returns it (the fields PayFleet reads).
public struct StripeRefund: Sendable, Equatable {
    /// `re_…`.
    public var id: String
    /// `status`: `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    public var status: String
    public var amountMinor: Int64
    /// ISO 4217, upper-cased.
    public var currency: String
    public var paymentIntentID: String?
    /// `metadata.out_refund_no`.
    public var outRefundNo: String?
    /// The response body, for the audit trail.
    public var raw: String

    public init(
        id: String, status: String, amountMinor: Int64, currency: String, paymentIntentID: String?,
        outRefundNo: String?, raw: String
    ) {
        self.id = id
        self.status = status
        self.amountMinor = amountMinor
        self.currency = currency
        self.paymentIntentID = paymentIntentID
        self.outRefundNo = outRefundNo
        self.raw = raw
    }
}
