/// A PaymentIntent to create (`POST /v1/payment_intents`).
public struct StripePaymentIntentRequest: Sendable, Equatable {
    /// Our payment number: sent as `metadata[out_trade_no]`, where ``StripeVerifier`` finds it in the events,
    /// and the root of the request's `Idempotency-Key`.
    public var outTradeNo: String
    /// In the currency's smallest unit (cents; yen for JPY), as Stripe counts; more than 0.
    public var amountMinor: Int64
    /// ISO 4217, any case; sent lower-case.
    public var currency: String
    /// `description`, shown in the Dashboard and on receipts; optional.
    public var description: String?

    public init(outTradeNo: String, amountMinor: Int64, currency: String, description: String? = nil) {
        self.outTradeNo = outTradeNo
        self.amountMinor = amountMinor
        self.currency = currency
        self.description = description
    }
}
