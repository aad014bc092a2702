extension OrderPaid {
    /// The same bytes as `PayFleetJSON.encode(self)`, without Foundation's encoder: fulfilment-worker writes one per
    /// settlement into the outbox, and `JSONEncoder` was ~7% of the worker's CPU (`scripts/bench --profile`).
    public func encodedJSON() -> [UInt8] {
        var writer = JSONObjectWriter(capacity: 192)
        writer.int64("amount_minor", amountMinor)
        writer.string("channel", channel.rawValue)
        writer.string("channel_trade_no", channelTradeNo)
        writer.string("currency", currency)
        writer.string("order_no", orderNo)
        writer.string("paid_at", ISO8601.format(paidAt))
        writer.string("payment_no", paymentNo)
        return writer.finish()
    }
}
