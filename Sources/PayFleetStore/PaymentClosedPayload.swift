import Foundation
import PayFleetMessages

/// The payload of the `payment.closed` event.
///
/// PayFleetMessages has no `PaymentClosed` type yet (DESIGN §4 lists one); this is its JSON
/// until it does, and should then be replaced by it.
struct PaymentClosedPayload: Codable, Sendable, Equatable {
    var orderNo: String
    var paymentNo: String
    var channel: ChannelID
    var closedAt: Date

    var messageID: String { "payment.closed:\(paymentNo)" }

    enum CodingKeys: String, CodingKey {
        case channel
        case orderNo = "order_no"
        case paymentNo = "payment_no"
        case closedAt = "closed_at"
    }
}
