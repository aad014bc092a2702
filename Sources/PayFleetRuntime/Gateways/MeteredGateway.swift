import Metrics
import PayFleetMessages
import PaymentChannels

/// A ``PaymentGateway`` that counts and times every call of the one it wraps:
/// `payfleet_channel_calls_total{channel, operation, outcome}` (`ok`, or the error code: `server_error`,
/// `timeout`, `invalid_request`, …) and `payfleet_channel_call_seconds{channel, operation}`. What an operator
/// watches to see a channel degrade before the retry backlog grows.
public struct MeteredGateway: PaymentGateway {
    public let wrapped: any PaymentGateway

    public init(_ wrapped: any PaymentGateway) {
        self.wrapped = wrapped
    }

    public var channel: ChannelID { wrapped.channel }
    public var merchantID: String { wrapped.merchantID }

    public func prepay(_ order: PrepayOrder) async throws(ChannelAPIError) -> [String: String] {
        try await measure("prepay") { () async throws(ChannelAPIError) in try await wrapped.prepay(order) }
    }

    public func query(paymentNo: String) async throws(ChannelAPIError) -> ChannelPaymentState {
        try await measure("query") { () async throws(ChannelAPIError) in try await wrapped.query(paymentNo: paymentNo) }
    }

    public func close(paymentNo: String) async throws(ChannelAPIError) {
        try await measure("close") { () async throws(ChannelAPIError) in try await wrapped.close(paymentNo: paymentNo) }
    }

    public func refund(_ order: RefundOrder) async throws(ChannelAPIError) -> ChannelRefundState {
        try await measure("refund") { () async throws(ChannelAPIError) in try await wrapped.refund(order) }
    }

    public func queryRefund(_ lookup: RefundLookup) async throws(ChannelAPIError) -> ChannelRefundState {
        try await measure("refund_query") { () async throws(ChannelAPIError) in try await wrapped.queryRefund(lookup) }
    }

    public var offersBill: Bool { wrapped.offersBill }

    public func bill(for day: BillDay) async throws(ChannelAPIError) -> ChannelBill {
        try await measure("bill") { () async throws(ChannelAPIError) in try await wrapped.bill(for: day) }
    }

    private func measure<T>(
        _ operation: String, _ call: () async throws(ChannelAPIError) -> T
    ) async throws(ChannelAPIError) -> T {
        let start = ContinuousClock.now
        let outcome: String
        defer {
            let elapsed = ContinuousClock.now - start
            Timer(
                label: "payfleet_channel_call_seconds",
                dimensions: [("channel", channel.rawValue), ("operation", operation)],
                preferredDisplayUnit: .seconds
            ).recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
            Counter(
                label: "payfleet_channel_calls_total",
                dimensions: [("channel", channel.rawValue), ("operation", operation), ("outcome", outcome)]
            ).increment()
        }
        do {
            let result = try await call()
            outcome = "ok"
            return result
        } catch {
            outcome = error.code.description
            throw error
        }
    }
}
