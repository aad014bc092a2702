import Foundation

/// A PaymentIntent as the Stripe API returns it (the fields PayFleet reads).
public struct StripePaymentIntent: Sendable, Equatable {
    /// `status`; unknown values are kept as they are.
    public struct Status: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        public static let requiresPaymentMethod = Status(rawValue: "requires_payment_method")
        public static let requiresConfirmation = Status(rawValue: "requires_confirmation")
        public static let requiresAction = Status(rawValue: "requires_action")
        public static let processing = Status(rawValue: "processing")
        public static let requiresCapture = Status(rawValue: "requires_capture")
        public static let canceled = Status(rawValue: "canceled")
        public static let succeeded = Status(rawValue: "succeeded")

        public var description: String { rawValue }
    }

    /// `pi_…`.
    public var id: String
    public var status: Status
    /// `amount`, in the currency's smallest unit.
    public var amountMinor: Int64
    /// `amount_received`.
    public var amountReceivedMinor: Int64
    /// ISO 4217, upper-cased from Stripe's lower case.
    public var currency: String
    /// `client_secret`: what the payer's client confirms the payment with. A secret of the payer's session, so
    /// it is kept out of ``description``-like output by callers.
    public var clientSecret: String?
    /// `metadata.out_trade_no`.
    public var outTradeNo: String?
    /// `latest_charge` (`ch_…`), when there is one.
    public var latestCharge: String?
    public var created: Date?
    public var canceledAt: Date?
    /// The response body (or this object's part of a search result), for the audit trail.
    public var raw: String

    public init(
        id: String, status: Status, amountMinor: Int64, amountReceivedMinor: Int64, currency: String,
        clientSecret: String?, outTradeNo: String?, latestCharge: String?, created: Date?, canceledAt: Date?,
        raw: String
    ) {
        self.id = id
        self.status = status
        self.amountMinor = amountMinor
        self.amountReceivedMinor = amountReceivedMinor
        self.currency = currency
        self.clientSecret = clientSecret
        self.outTradeNo = outTradeNo
        self.latestCharge = latestCharge
        self.created = created
        self.canceledAt = canceledAt
        self.raw = raw
    }
}
