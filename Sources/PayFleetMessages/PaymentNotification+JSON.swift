import Foundation

/// PaymentNotification's JSON without Foundation's coders: the receiver encodes one per notification and the
/// fulfilment-worker decodes one per delivery, and `JSONEncoder`/`JSONDecoder` were ~6% and ~10% of the receiver's
/// CPU (`scripts/bench --profile`). The bytes are those of ``PayFleetJSON/encode(_:)`` and decoding accepts what
/// ``PayFleetJSON/decode(_:from:)`` accepts of a well-formed message (tests hold both to the Codable conformance).
extension PaymentNotification {
    /// The same bytes as `PayFleetJSON.encode(self)`.
    public func encodedJSON() -> [UInt8] {
        var writer = JSONObjectWriter(capacity: 256 + raw.utf8.count + raw.utf8.count / 8)
        writer.int64("amount_minor", amountMinor)
        writer.string("channel", channel.rawValue)
        writer.string("channel_trade_no", channelTradeNo)
        writer.string("currency", currency)
        writer.string("id", id)
        writer.string("kind", kind.rawValue)
        writer.string("merchant", merchant)
        writer.string("occurred_at", ISO8601.format(occurredAt))
        if let payerID { writer.string("payer_id", payerID) }
        writer.string("payment_no", paymentNo)
        writer.string("raw", raw)
        return writer.finish()
    }

    /// Decodes a message body as `PayFleetJSON.decode(PaymentNotification.self, from:)` does; unknown fields are
    /// ignored, a missing or mistyped field is an error naming it.
    public init(json bytes: some Collection<UInt8>) throws(PayFleetJSON.DecodeError) {
        let object: JSONValue
        do {
            object = try JSONValue.parse(bytes)
        } catch {
            throw PayFleetJSON.DecodeError(description: "not JSON: \(error)")
        }
        guard case .object = object else { throw PayFleetJSON.DecodeError(description: "not a JSON object") }
        do {
            let channelName = try object.requiredString("channel")
            guard let channel = ChannelID(rawValue: channelName) else {
                throw PayFleetJSON.DecodeError(description: "channel '\(channelName.prefix(40))' is not a PayFleet channel")
            }
            let kindName = try object.requiredString("kind")
            guard let kind = Kind(rawValue: kindName) else {
                throw PayFleetJSON.DecodeError(description: "kind '\(kindName.prefix(40))' is not succeeded or closed")
            }
            let occurredAtText = try object.requiredString("occurred_at")
            guard let occurredAt = ISO8601.parse(occurredAtText) else {
                throw PayFleetJSON.DecodeError(description: "occurred_at '\(occurredAtText.prefix(40))' is not an ISO 8601 date-time")
            }
            self.init(
                id: try object.requiredString("id"), channel: channel, merchant: try object.requiredString("merchant"),
                kind: kind, paymentNo: try object.requiredString("payment_no"),
                channelTradeNo: try object.requiredString("channel_trade_no"),
                amountMinor: try object.requiredInt64("amount_minor"), currency: try object.requiredString("currency"),
                occurredAt: occurredAt, raw: try object.requiredString("raw"),
                payerID: try object.optionalString("payer_id"))
        } catch let error as JSONValue.FieldError {
            throw PayFleetJSON.DecodeError(description: error.description)
        } catch let error as PayFleetJSON.DecodeError {
            throw error
        } catch {
            throw PayFleetJSON.DecodeError(description: "\(error)")
        }
    }
}

extension PayFleetJSON {
    /// Why a message body is not the message expected.
    public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }
}
