/// A refund to create (`POST /v1/refunds`).
public struct StripeRefundRequest: Sendable, Equatable {
    /// The PaymentIntent refunded (`payment_intent`).
    public var paymentIntentID: String
    /// Our payment number, sent as `metadata[out_trade_no]`.
    public var outTradeNo: String
    /// Our refund number: the `Idempotency-Key`, and `metadata[out_refund_no]` (where the refund events carry it).
    public var outRefundNo: String
    /// In the currency's smallest unit; more than 0.
    public var amountMinor: Int64
    /// `reason`: `duplicate`, `fraudulent` or `requested_by_customer` as Stripe takes them; any other text is sent as
    /// `metadata[reason]` with `reason` `requested_by_customer`; nil for none.
    public var reason: String?

    public init(
        paymentIntentID: String, outTradeNo: String, outRefundNo: String, amountMinor: Int64, reason: String? = nil
    ) {
        self.paymentIntentID = paymentIntentID
        self.outTradeNo = outTradeNo
        self.outRefundNo = outRefundNo
        self.amountMinor = amountMinor
        self.reason = reason
    }
}
