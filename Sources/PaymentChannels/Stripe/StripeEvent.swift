/// A Stripe event as posted to a webhook endpoint (the fields PayFleet reads; unknown fields are ignored).
struct StripeEvent: Decodable {
    /// `data.object`: a PaymentIntent, a Charge, a Refund or a Checkout Session, told apart by `object`.
    struct Object: Decodable {
        var id: String?
        var object: String?
        var amount: Int64?
        var amountReceived: Int64?
        var currency: String?
        var status: String?
        var metadata: [String: String]?
        var created: Int64?
        var canceledAt: Int64?
        /// A PaymentIntent id, or the id of an expanded PaymentIntent.
        var paymentIntent: String?
        /// A Charge's refunds, when the API version still embeds them.
        var refunds: List?
        /// A Checkout Session's `payment_status` (`paid`, `unpaid`, `no_payment_required`).
        var paymentStatus: String?
        /// A Checkout Session's `amount_total`.
        var amountTotal: Int64?
        /// A Checkout Session's `client_reference_id`.
        var clientReferenceID: String?
        /// A Checkout Session's `mode` (`payment`, `subscription`, `setup`).
        var mode: String?

        enum CodingKeys: String, CodingKey {
            case id, object, amount, currency, status, metadata, created, refunds, mode
            case amountReceived = "amount_received"
            case canceledAt = "canceled_at"
            case paymentIntent = "payment_intent"
            case paymentStatus = "payment_status"
            case amountTotal = "amount_total"
            case clientReferenceID = "client_reference_id"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            id = try container.decodeIfPresent(String.self, forKey: .id)
            object = try container.decodeIfPresent(String.self, forKey: .object)
            amount = try container.decodeIfPresent(Int64.self, forKey: .amount)
            amountReceived = try container.decodeIfPresent(Int64.self, forKey: .amountReceived)
            currency = try container.decodeIfPresent(String.self, forKey: .currency)
            status = try container.decodeIfPresent(String.self, forKey: .status)
            metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata)
            created = try container.decodeIfPresent(Int64.self, forKey: .created)
            canceledAt = try container.decodeIfPresent(Int64.self, forKey: .canceledAt)
            refunds = try container.decodeIfPresent(List.self, forKey: .refunds)
            paymentStatus = try container.decodeIfPresent(String.self, forKey: .paymentStatus)
            amountTotal = try container.decodeIfPresent(Int64.self, forKey: .amountTotal)
            clientReferenceID = try container.decodeIfPresent(String.self, forKey: .clientReferenceID)
            mode = try container.decodeIfPresent(String.self, forKey: .mode)
            if let text = try? container.decodeIfPresent(String.self, forKey: .paymentIntent) {
                paymentIntent = text
            } else {
                paymentIntent = try? container.decodeIfPresent(Expanded.self, forKey: .paymentIntent)?.id
            }
        }
    }

    struct List: Decodable {
        var data: [Object]?
    }

    struct Expanded: Decodable {
        var id: String?
    }

    struct Payload: Decodable {
        var object: Object?
    }

    var id: String?
    var type: String?
    var created: Int64?
    var livemode: Bool?
    var data: Payload?
}
